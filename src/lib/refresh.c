/* refresh.c: refresh coordination for every refresh module: single flight
 * per (service, account) in a process, an exclusive lock file across
 * processes, and the rotated record stored durably before anyone uses it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kai.h"

/* How long a thread waits for another's refresh, and a process for the
 * lock: longer than a refresh with its retries can take. */
#define REFRESH_WAIT_S 90
#define LOCK_POLL_MS 5

void (*kai_refresh_hook)(const char *point);

static void hook(const char *point)
{
	if (kai_refresh_hook != NULL)
		kai_refresh_hook(point);
}

/* ---- the cross-process lock -------------------------------------------- */

/* dir must be a directory we own that nobody else can enter. */
static int private_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Where the refresh locks live. Every process of the user must pick the
 * same place whatever its environment (a cron job has no
 * XDG_RUNTIME_DIR, a session shell has), so the choice goes by what
 * exists, in this order:
 *   $XDG_RUNTIME_DIR/kiwi-auth      (a login session's runtime dir)
 *   /run/user/UID/kiwi-auth         (the same dir, found without the env)
 *   $XDG_CACHE_HOME or ~/.cache, /kiwi-auth-locks  (no session at all)
 *   $TMPDIR or /tmp, /kiwi-auth-UID (no home either)
 * so a session (XDG_RUNTIME_DIR=/run/user/UID) and a cron job agree
 * whenever a session exists, and agree on the cache dir when none does. */
static int lock_dir(ka_error *err)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const char *cache = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	const char *tmp = getenv("TMPDIR");
	char run[64], path[4096];
	struct stat st;
	int fd = -1;

	snprintf(run, sizeof(run), "/run/user/%u", (unsigned)geteuid());
	if (xdg != NULL && xdg[0] == '/') {
		snprintf(path, sizeof(path), "%s/kiwi-auth", xdg);
		if ((fd = private_dir(path)) >= 0)
			return fd;
	}
	if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid()) {
		snprintf(path, sizeof(path), "%s/kiwi-auth", run);
		if ((fd = private_dir(path)) >= 0)
			return fd;
	}
	if (cache == NULL || cache[0] != '/')
		cache = NULL;
	if (cache != NULL || (home != NULL && home[0] == '/')) {
		if (cache == NULL) {
			snprintf(path, sizeof(path), "%s/.cache", home);
			(void)mkdir(path, 0700);
		}
		snprintf(path, sizeof(path), "%s%s/kiwi-auth-locks",
			 cache != NULL ? cache : home,
			 cache != NULL ? "" : "/.cache");
		if ((fd = private_dir(path)) >= 0)
			return fd;
	}
	snprintf(path, sizeof(path), "%s/kiwi-auth-%u",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp",
		 (unsigned)geteuid());
	if ((fd = private_dir(path)) >= 0)
		return fd;
	kai_error_set(err, KA_ERR_IO, "cannot use the lock directory %s: %s "
		      "(it must be a directory of yours with mode 0700)", path,
		      strerror(errno));
	return -1;
}

/* "SERVICE@<hash of account>.lock": short and free of odd bytes. */
static void lock_name(const char *service, const char *account, char *buf,
		      size_t n)
{
	uint8_t d[KAI_SHA256_LEN];
	char hex[33];

	kai_sha256(account, strlen(account), d);
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	snprintf(buf, n, "%s@%s.lock", service, hex);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Take the exclusive lock of (service, account); returns its fd, or -1
 * with err set. Closing the fd (or dying) releases it. */
static int lock_take(const char *service, const char *account, ka_error *err)
{
	char name[128];
	int64_t deadline = mono_ms() + REFRESH_WAIT_S * 1000L;
	int dfd, fd;

	if ((dfd = lock_dir(err)) < 0)
		return -1;
	lock_name(service, account, name, sizeof(name));
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0) {
		kai_error_set(err, KA_ERR_IO, "cannot open the refresh lock of "
			      "%s: %s", service, strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    mono_ms() >= deadline) {
			kai_error_set(err, KA_ERR_TIMEOUT, "another process has "
				      "been refreshing %s for over %d s; try "
				      "again", service, REFRESH_WAIT_S);
			close(fd);
			return -1;
		}
		usleep(LOCK_POLL_MS * 1000);
	}
	return fd;
}

int kai_refresh_lock(const char *service, const char *account, ka_error *err)
{
	return lock_take(service, account, err);
}

void kai_refresh_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* releases the flock */
}

/* ---- one refresh, under the lock ---------------------------------------- */


static int refreshable(const struct ka_service *s)
{
	return s->refresh != NULL && s->refresh->mod != NULL &&
	       s->refresh->mod->refresh != NULL &&
	       s->refresh->mod->refresh->refresh != NULL;
}

static enum ka_status refresh_locked(struct ka_ctx *ctx, struct ka_service *s,
				     const char *account, unsigned flags,
				     struct ka_record **out, int *refreshed,
				     ka_error *err)
{
	struct ka_record *cur = NULL, *next = NULL;
	struct ka_mctx *m = s->refresh;
	enum ka_status st;

	*out = NULL;
	/* Another process may have refreshed while we waited. */
	if ((st = kai_load_fresh(ctx, s->name, account, &cur, err)) != KA_OK)
		return st;
	if (!(flags & KA_REFRESH_FORCE) && kai_record_usable(s, cur, kai_now())) {
		*out = cur;
		return KA_OK;
	}
	st = m->mod->refresh->refresh(m, cur, &next, err);
	if (st == KA_OK && next == NULL)
		st = KA_ERR_MODULE;
	if (st != KA_OK) {
		if (err != NULL && err->code == KA_OK)
			kai_error_set(err, st, "refreshing %s failed: %s",
				      s->name, ka_strerror(st));
		goto out;
	}
	hook("answered");
	if (next->obtained_at == 0)
		next->obtained_at = kai_now();
	/* Durable before it is used or cached: a crash after this point
	 * leaves the rotated refresh token in the store. */
	if ((st = ka_record_set_account(next, account)) != KA_OK ||
	    (st = ka_store(ctx, s->name, account, next, err)) != KA_OK) {
		kai_log(ctx, 3, "%s: the server issued new tokens but storing "
			"them failed; the sign-in may be lost", s->name);
		goto out;
	}
	hook("stored");
	*refreshed = 1;
	*out = next;
	next = NULL;
	kai_log(ctx, 6, "%s: refreshed the token of %s", s->name, account);
out:
	ka_record_free(cur);
	ka_record_free(next);
	return st;
}

static enum ka_status refresh_now(struct ka_ctx *ctx, struct ka_service *s,
				  const char *account, unsigned flags,
				  struct ka_record **out, int *refreshed,
				  ka_error *err)
{
	enum ka_status st;
	int fd;

	if ((fd = lock_take(s->name, account, err)) < 0)
		return err != NULL && err->code != KA_OK ? err->code : KA_ERR_IO;
	hook("locked");
	st = refresh_locked(ctx, s, account, flags, out, refreshed, err);
	kai_refresh_unlock(fd);
	return st;
}

/* ---- single flight in this process -------------------------------------- */

struct flight {
	const struct ka_ctx *ctx;
	char *service;
	char *account;
	int done;
	unsigned refs;
	enum ka_status st;
	ka_error err;
	struct ka_record *rec;
	pthread_cond_t cond;
	struct flight *next;
};

static pthread_mutex_t flights_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flight *flights;

static void flight_free(struct flight *f)
{
	pthread_cond_destroy(&f->cond);
	free(f->service);
	free(f->account);
	ka_record_free(f->rec);
	free(f);
}

static struct flight *flight_new(const struct ka_ctx *ctx, const char *service,
				 const char *account)
{
	struct flight *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;

	if (f == NULL)
		return NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&f->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		free(f);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	f->ctx = ctx;
	f->refs = 1;
	f->service = strdup(service);
	f->account = strdup(account);
	if (f->service == NULL || f->account == NULL) {
		flight_free(f);
		return NULL;
	}
	return f;
}

/* Caller holds flights_lock. */
static struct flight *flight_find(const struct ka_ctx *ctx,
				  const char *service, const char *account)
{
	for (struct flight *f = flights; f != NULL; f = f->next)
		if (f->ctx == ctx && strcmp(f->service, service) == 0 &&
		    strcmp(f->account, account) == 0)
			return f;
	return NULL;
}

static void flight_unlink(struct flight *f)
{
	struct flight **pp;

	for (pp = &flights; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			return;
		}
	}
}

/* Wait for the refresh another thread is doing; flights_lock held. */
static enum ka_status flight_wait(struct flight *f, struct ka_record **out,
				  ka_error *err)
{
	struct timespec until;
	enum ka_status st;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += REFRESH_WAIT_S;
	f->refs++;
	while (!f->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&f->cond, &flights_lock, &until);
	if (!f->done) {
		kai_error_set(err, KA_ERR_TIMEOUT, "the refresh of %s in another "
			      "thread did not finish within %d s", f->service,
			      REFRESH_WAIT_S);
		st = KA_ERR_TIMEOUT;
	} else {
		st = f->st;
		kai_error_copy(err, &f->err);
		if (st == KA_OK && f->rec != NULL &&
		    (st = kai_record_dup(f->rec, out)) != KA_OK)
			kai_error_set(err, st, "out of memory");
	}
	if (--f->refs == 0)
		flight_free(f);
	return st;
}

enum ka_status kai_refresh(struct ka_ctx *ctx, struct ka_service *s,
			   const char *account, unsigned flags,
			   struct ka_record **out, int *refreshed,
			   ka_error *err)
{
	struct ka_record *rec = NULL;
	struct flight *f;
	enum ka_status st;
	int did = 0;

	if (out != NULL)
		*out = NULL;
	if (refreshed != NULL)
		*refreshed = 0;
	if (!refreshable(s)) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "service '%s' has no "
			      "refresh module", s->name);
		return KA_ERR_UNSUPPORTED;
	}
	pthread_mutex_lock(&flights_lock);
	if ((f = flight_find(ctx, s->name, account)) != NULL) {
		st = flight_wait(f, out != NULL ? out : &rec, err);
		pthread_mutex_unlock(&flights_lock);
		ka_record_free(rec);
		return st;
	}
	if ((f = flight_new(ctx, s->name, account)) == NULL) {
		pthread_mutex_unlock(&flights_lock);
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	f->next = flights;
	flights = f;
	pthread_mutex_unlock(&flights_lock);

	ka_error_clear(&f->err);
	st = refresh_now(ctx, s, account, flags, &rec, &did, &f->err);

	pthread_mutex_lock(&flights_lock);
	f->st = st;
	f->rec = rec;
	f->done = 1;
	flight_unlink(f);
	pthread_cond_broadcast(&f->cond);
	kai_error_copy(err, &f->err);
	if (st == KA_OK && out != NULL &&
	    (st = kai_record_dup(rec, out)) != KA_OK)
		kai_error_set(err, st, "out of memory");
	if (--f->refs == 0)
		flight_free(f);
	pthread_mutex_unlock(&flights_lock);
	if (refreshed != NULL)
		*refreshed = did;
	return st;
}

/* ---- the public entry point ---------------------------------------------- */

KAI_API enum ka_status ka_refresh(struct ka_ctx *ctx, const char *service,
				  const char *account, unsigned flags,
				  int *refreshed, ka_error *err)
{
	struct ka_service *s;
	enum ka_status st;

	if (refreshed != NULL)
		*refreshed = 0;
	if ((st = kai_service_usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	return kai_refresh(ctx, s, account, flags, NULL, refreshed, err);
}
