/* SPDX-License-Identifier: MIT */
/* refresh.c: one refresh of one record, for every refresh module: an
 * exclusive lock file across processes, a re-read under it, and the
 * rotated record stored durably in its own source before anyone uses it.
 * (In a process, the broker core's flight makes it one at a time.) */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kai.h"

/* How long a process waits for the lock: longer than a refresh with its
 * retries can take. */
#define REFRESH_WAIT_S 90
#define LOCK_POLL_MS 5

static void hook(const char *point)
{
	kai_test_point(point);
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

int kai_refreshable(const struct ka_service *s)
{
	return s->refresh != NULL && s->refresh->mod != NULL &&
	       s->refresh->mod->refresh != NULL &&
	       s->refresh->mod->refresh->refresh != NULL;
}

/* The record as the sources hold it now (under the lock, another process
 * may have refreshed while we waited; after the refresher answered, what
 * it stored): from the source of the cached copy
 * when there is one, else by walking the stack, which then happens once
 * for the whole refresh. */
enum ka_status kai_refresh_reread(struct ka_service *s, const char *account,
				  const struct ka_record *cached,
				  struct ka_record **out, ka_error *err)
{
	if (cached != NULL && cached->src != NULL)
		return kai_source_load(s, cached->src, account, out, err);
	return kai_stack_load(s, account, out, err);
}

static enum ka_status refresh_locked(struct ka_ctx *ctx, struct ka_service *s,
				     const char *account,
				     const struct ka_record *cached, int force,
				     struct ka_record **out, int *refreshed,
				     ka_error *err)
{
	struct ka_record *now = NULL, *next = NULL;
	struct ka_mctx *m = s->refresh;
	enum ka_status st;

	if ((st = kai_refresh_reread(s, account, cached, &now, err)) != KA_OK)
		return st;
	*out = now;
	if (!force && kai_record_usable(s, now, kai_now()))
		return KA_OK;
	st = m->mod->refresh->refresh(m, now, &next, err);
	if (st == KA_OK && next == NULL)
		st = KA_ERR_MODULE;
	if (st != KA_OK) {
		if (err->code == KA_OK)
			kai_error_set(err, st, "refreshing %s failed: %s",
				      s->name, ka_strerror(st));
		return st;
	}
	hook("answered");
	/* Durable before it is used or cached, and in the source the old
	 * record lives in: a crash after this point leaves the rotated
	 * refresh token in the store. */
	kai_record_place(next, now->src);
	if ((st = kai_stack_store(s, account, now->src, next, err)) != KA_OK) {
		kai_log(ctx, 3, "%s: the server issued new tokens but storing "
			"them failed; the sign-in may be lost", s->name);
		ka_record_free(next);
		return st;
	}
	hook("stored");
	*refreshed = 1;
	*out = next;
	ka_record_free(now);
	kai_log(ctx, 6, "%s: refreshed the token of %s", s->name, account);
	return KA_OK;
}

enum ka_status kai_refresh_record(struct ka_ctx *ctx, struct ka_service *s,
				  const char *account,
				  const struct ka_record *cached, int force,
				  struct ka_record **out, int *refreshed,
				  ka_error *err)
{
	char prog[PATH_MAX];
	enum ka_status st;
	int spawned = 0;

	if (kai_refresher_find(ctx, prog, sizeof(prog))) {
		st = kai_refresher_run(ctx, prog, s, account, cached, force,
				       out, refreshed, &spawned, err);
		if (spawned)
			return st;
		kai_log(ctx, 4, "%s: cannot run the refresher %s (%s); "
			"refreshing in this process", s->name, prog, err->text);
		ka_error_clear(err);
	}
	return kai_refresh_here(ctx, s, account, cached, force, out, refreshed,
				err);
}

enum ka_status kai_refresh_here(struct ka_ctx *ctx, struct ka_service *s,
				const char *account,
				const struct ka_record *cached, int force,
				struct ka_record **out, int *refreshed,
				ka_error *err)
{
	enum ka_status st;
	int fd;

	*out = NULL;
	*refreshed = 0;
	if ((fd = lock_take(s->name, account, err)) < 0)
		return err->code != KA_OK ? err->code : KA_ERR_IO;
	hook("locked");
	st = refresh_locked(ctx, s, account, cached, force, out, refreshed, err);
	kai_refresh_unlock(fd);
	return st;
}

/* ---- the public entry point ---------------------------------------------- */

KAI_API enum ka_status ka_refresh(struct ka_ctx *ctx, const char *service,
				  const char *account, unsigned flags,
				  int *refreshed, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st;

	if (refreshed != NULL)
		*refreshed = 0;
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	if (!kai_refreshable(s)) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "service '%s' has no "
			      "refresh module", s->name);
		return KA_ERR_UNSUPPORTED;
	}
	return kai_core(ctx, s, account, flags & KA_REFRESH_FORCE ?
			KAI_WANT_FORCE : KAI_WANT_REFRESH, NULL, NULL,
			refreshed, err);
}
