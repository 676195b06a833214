/* SPDX-License-Identifier: MIT */
/* refresher.c: run one refresh in kiwi-auth-refresher, a program of its
 * own session, so that the refresh and its durable store finish even when
 * the caller is killed: find the program (checked as modules are), start
 * it with posix_spawn and an allow-listed environment, send the request on
 * a socket, wait for its answer, and read the stored record back from its
 * source. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kai.h"

/* Longer than the refresher's own wait for the lock plus a refresh. */
#define ANSWER_WAIT_MS (200 * 1000)

/* ---- finding the program -------------------------------------------------- */

/* path, its file and every directory above it as modules must be. */
static int trusted_program(struct ka_ctx *ctx, const char *path)
{
	char dir[PATH_MAX], *slash, *real = NULL;
	ka_error e;
	int fd;

	ka_error_clear(&e);
	if (path[0] != '/' || strlen(path) >= sizeof(dir)) {
		kai_log(ctx, 4, "the refresher %s is not an absolute path; "
			"refreshing in this process", path);
		return 0;
	}
	if (kai_open_checked(path, KAI_OWNER_USER, &fd, &e) != KA_OK) {
		kai_log(ctx, 4, "refresher: %s; refreshing in this process",
			e.text);
		return 0;
	}
	close(fd);
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (kai_dir_trusted(dir, "refresher directory", &real, &e) != KA_OK) {
		kai_log(ctx, 4, "refresher: %s; refreshing in this process",
			e.text);
		return 0;
	}
	free(real);
	if (access(path, X_OK) != 0) {
		kai_log(ctx, 4, "the refresher %s is not executable; refreshing "
			"in this process", path);
		return 0;
	}
	return 1;
}

int kai_refresher_find(struct ka_ctx *ctx, char *buf, size_t n)
{
	const char *env = getenv("KIWI_AUTH_REFRESHER"), *path = KA_REFRESHER;
	struct stat st;

	if (ctx->flags & KA_CTX_REFRESH_IN_PROCESS)
		return 0;
	if (env != NULL && secure_getenv("KIWI_AUTH_REFRESHER") == NULL) {
		kai_log(ctx, 4, "KIWI_AUTH_REFRESHER is ignored in a setuid, "
			"setgid or otherwise privileged process");
		env = NULL;
	}
	if (env != NULL && (env[0] == '\0' || strcmp(env, "none") == 0))
		return 0;
	if (env != NULL)
		path = env;
	else if (stat(path, &st) != 0)
		return 0;	/* not installed: in-process, as before */
	if (strlen(path) >= n || !trusted_program(ctx, path))
		return 0;
	memcpy(buf, path, strlen(path) + 1);
	return 1;
}

/* ---- the child's environment -------------------------------------------- */

/* What the library, its modules and libcurl read, and nothing else: no
 * variable an env source may name, no token. */
static int allowed(const char *kv)
{
	static const char *const names[] = {
		"HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_MESSAGES",
		"TMPDIR", "DBUS_SESSION_BUS_ADDRESS", "KIWI_AUTH_CONFIG",
		"KIWI_AUTH_MODULE_DIR",
		/* TLS trust and proxies, as the caller's libcurl sees them */
		"CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
		/* a sanitizer build's settings, so that its reports (which
		 * go to the log_path these name: stderr is /dev/null) and
		 * halt_on_error reach the refresher too */
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
		NULL,
	};
	size_t n;

	if (strncmp(kv, "XDG_", 4) == 0)
		return strchr(kv, '=') != NULL;
	for (size_t i = 0; names[i] != NULL; i++) {
		n = strlen(names[i]);
		if (strncmp(kv, names[i], n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

extern char **environ;

/* A NULL-terminated copy of the allowed entries (pointers into environ),
 * or NULL. Free the array only. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	char **v;

	for (char **e = environ; e != NULL && *e != NULL; e++)
		n++;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (allowed(environ[i]))
			v[k++] = environ[i];
	v[k] = NULL;
	return v;
}

/* ---- spawning and talking ------------------------------------------------- */

static int spawn(const char *path, int fd, char **envp, pid_t *pid)
{
	char *const argv[] = { (char *)"kiwi-auth-refresher", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	if ((rc = posix_spawn_file_actions_adddup2(&fa, fd, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, fd, 1)) == 0 &&
	    (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
						   O_WRONLY, 0)) == 0 &&
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
					   POSIX_SPAWN_SETSIGMASK |
					   POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) == 0)
		rc = posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything the refresher writes until it closes the socket: 0, 1 when
 * it did not end in time, -1 on a read error or an answer too large. */
static int read_answer(int fd, struct kai_buf *b)
{
	int64_t deadline = mono_ms() + ANSWER_WAIT_MS;
	char chunk[4096];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t n;

		if (left <= 0)
			return 1;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (kai_buf_append(b, chunk, (size_t)n, KAI_RF_ANSWER_MAX) != 0)
			return -1;
	}
}

static void replay_log(int level, const char *text, void *data)
{
	kai_log(data, level, "refresher: %s", text);
}

static void describe_end(int status, char *buf, size_t n)
{
	if (status < 0)
		snprintf(buf, n, "ended");
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;	/* SIGCHLD ignored: reaped already */
	}
	return status;
}

/* The refresher answered nothing usable: what the store holds decides. */
static enum ka_status no_answer(struct ka_ctx *ctx, struct ka_service *s,
				const char *account, const char *path,
				const char *how, struct ka_record *now,
				ka_error *err)
{
	/* The commands that fix it name a non-default account. */
	const char *a = account != NULL &&
			strcmp(account, KA_ACCOUNT_DEFAULT) != 0 ? account : NULL;

	if (now != NULL && kai_record_usable(s, now, kai_now())) {
		kai_log(ctx, 4, "%s: the refresher %s %s before it answered; "
			"the record in the store is valid and used", s->name,
			path, how);
		return KA_OK;
	}
	kai_error_set(err, KA_ERR_TRY_AGAIN, "the refresh of %s was "
		      "interrupted: the refresher %s %s before it answered; "
		      "the stored record was kept as it was (run 'kiwi-auth "
		      "refresh %s%s%s' to try again; if the server then "
		      "refuses it, 'kiwi-auth signin %s%s%s')", s->name, path,
		      how, s->name, a ? " --account " : "", a ? a : "",
		      s->name, a ? " --account " : "", a ? a : "");
	return KA_ERR_TRY_AGAIN;
}

enum ka_status kai_refresher_run(struct ka_ctx *ctx, const char *path,
				 struct ka_service *s, const char *account,
				 const struct ka_record *cached, int force,
				 struct ka_record **out, int *refreshed,
				 int *spawned, ka_error *err)
{
	struct kai_rf_request *rq = calloc(1, sizeof(*rq));
	struct kai_rf_answer an;
	struct kai_buf b = { 0 };
	char req[KAI_RF_REQUEST_MAX + 1], how[64];
	char **envp = NULL;
	enum ka_status st;
	ka_error rerr;
	size_t len = 0;
	int sv[2] = { -1, -1 }, rc, waited, status;
	pid_t pid;

	*out = NULL;
	*refreshed = 0;
	*spawned = 0;
	if (rq == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_UNAVAILABLE;
	}
	snprintf(rq->config, sizeof(rq->config), "%s",
		 ctx->config_path != NULL ? ctx->config_path : "");
	snprintf(rq->module_dir, sizeof(rq->module_dir), "%s", ctx->module_dir);
	snprintf(rq->service, sizeof(rq->service), "%s", s->name);
	snprintf(rq->account, sizeof(rq->account), "%s", account);
	rq->force = force;
	rc = kai_rf_request_format(rq, req, sizeof(req), &len);
	free(rq);
	if (rc != 0) {
		kai_error_set(err, KA_ERR_INVALID, "the refresh request of %s "
			      "does not fit the refresher's protocol", s->name);
		return KA_ERR_UNAVAILABLE;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (envp = child_env()) == NULL ||
	    (rc = spawn(path, sv[1], envp, &pid)) != 0) {
		kai_error_set(err, KA_ERR_IO, "%s", strerror(sv[0] < 0 ||
			      envp == NULL ? errno : rc));
		st = KA_ERR_UNAVAILABLE;
		goto out;
	}
	*spawned = 1;
	close(sv[1]);
	sv[1] = -1;
	/* MSG_NOSIGNAL: a refresher that died must not SIGPIPE the caller. */
	if (send(sv[0], req, len, MSG_NOSIGNAL) != (ssize_t)len)
		kai_log(ctx, 4, "%s: cannot send the request to the refresher: "
			"%s", s->name, strerror(errno));
	shutdown(sv[0], SHUT_WR);
	b.secure = 0;
	waited = read_answer(sv[0], &b);
	close(sv[0]);
	sv[0] = -1;
	if (waited == 1) {
		/* Still running: it will finish and store on its own. */
		kai_error_set(err, KA_ERR_TIMEOUT, "the refresher of %s has not "
			      "answered in %d s; try again", s->name,
			      ANSWER_WAIT_MS / 1000);
		st = KA_ERR_TIMEOUT;
		goto out;
	}
	status = reap(pid);
	ka_error_clear(&rerr);
	/* What the refresher stored (or left) is what counts now. */
	st = kai_refresh_reread(s, account, cached, out, &rerr);
	if (waited != 0 || b.p == NULL ||
	    kai_rf_answer_parse(b.p, b.len, &an, replay_log, ctx) != 0) {
		describe_end(status, how, sizeof(how));
		st = no_answer(ctx, s, account, path, how,
			       st == KA_OK ? *out : NULL, err);
		goto out;
	}
	*refreshed = an.refreshed;
	if (status != 0) {
		describe_end(status, how, sizeof(how));
		kai_log(ctx, 4, "%s: the refresher %s %s after it answered",
			s->name, path, how);
	}
	if (an.status != KA_OK) {
		kai_error_set(err, an.status, "%s", an.message);
		err->auth_required = an.auth_required;
		st = an.status;
	} else if (st != KA_OK) {
		kai_error_copy(err, &rerr);
	}
out:
	if (st != KA_OK && *out != NULL && *spawned == 0) {
		ka_record_free(*out);
		*out = NULL;
	}
	kai_buf_free(&b);
	free(envp);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return st;
}
