/* SPDX-License-Identifier: MIT */
/* exec.c: read-only source module `exec`: a token record from a command. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "kiwiauth-module.h"
#include "exec-output.h"

#define EXEC_TIMEOUT_DEFAULT 5000
#define EXEC_TIMEOUT_MAX 600000
#define EXEC_PATH "/usr/bin:/bin"
#define SHORT_MAX 128		/* kind, apiVersion, expirationTimestamp */
#define EXPIRES_IN_MAX (100LL * 365 * 86400)	/* 100 years */

struct exec_src {
	char **argv;		/* NULL-terminated; argv[0] is the command */
	size_t nnames;
	char **names;		/* variables passed through, NULL-terminated */
	char *account;		/* the one account served, or NULL: any */
	long timeout_ms;
	size_t max_output;
};

static const struct ka_arg_spec exec_args[] = {
	{ "command", KA_ARG_STRING_LIST, 1 },
	{ "timeout_ms", KA_ARG_INT, 0, 1, EXEC_TIMEOUT_MAX },
	{ "max_output", KA_ARG_INT, 0, 1, KA_RECORD_MAX_JSON },
	{ "env", KA_ARG_STRING_LIST, 0 },
	{ "account", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

static int has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static int valid_name(const char *s)
{
	static const char word[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "abcdefghijklmnopqrstuvwxyz_0123456789";

	return *s != '\0' && (*s < '0' || *s > '9') &&
	       s[strspn(s, word)] == '\0';
}

/* ---- the command's file --------------------------------------------------- */

static int owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Every directory above path: owned by root or us, and not writable by
 * others unless sticky (as /tmp), so nobody else can swap the file. */
static enum ka_status check_dirs(const struct ka_host *h, const char *cmd,
				 const char *path, ka_error *err)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (stat(*dir ? dir : "/", &st) != 0 || !S_ISDIR(st.st_mode) ||
		    !owner_ok(&st) ||
		    ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)) {
			h->error(err, KA_ERR_PERMISSION, "exec: a directory "
				 "above %s (%s) is writable by others or owned "
				 "by another user; refusing to run it", cmd,
				 *dir ? dir : "/");
			return KA_ERR_PERMISSION;
		}
	}
	return KA_OK;
}

/* Resolve cmd and check it is safe to run: *real is the path to exec. */
static enum ka_status check_command(const struct ka_host *h, const char *cmd,
				    char **real, ka_error *err)
{
	struct stat st;
	char *path;
	enum ka_status st_ = KA_ERR_PERMISSION;

	*real = NULL;
	if ((path = realpath(cmd, NULL)) == NULL) {
		h->error(err, KA_ERR_UNAVAILABLE, "exec: cannot find command "
			 "%s: %s", cmd, strerror(errno));
		return KA_ERR_UNAVAILABLE;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		h->error(err, st_, "exec: command %s is not a regular file", cmd);
	else if ((st.st_mode & 022) != 0)
		h->error(err, st_, "exec: command %s is writable by group or "
			 "others; make it writable by its owner only (chmod "
			 "go-w)", cmd);
	else if (!owner_ok(&st))
		h->error(err, st_, "exec: command %s is owned by uid %ld, "
			 "neither root nor this user", cmd, (long)st.st_uid);
	else if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0)
		h->error(err, st_, "exec: command %s is not executable", cmd);
	else if ((st_ = check_dirs(h, cmd, path, err)) == KA_OK) {
		*real = path;
		return KA_OK;
	}
	free(path);
	return st_;
}

/* ---- the child's environment ------------------------------------------- */

static void strv_free(char **v, int wipe)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++) {
		if (wipe)
			explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	free(v);
}

static int listed(const struct exec_src *es, const char *name)
{
	for (size_t i = 0; i < es->nnames; i++)
		if (strcmp(es->names[i], name) == 0)
			return 1;
	return 0;
}

static int env_add(char **env, size_t *n, const char *name, const char *val)
{
	if (val == NULL)
		return 0;
	if (asprintf(&env[*n], "%s=%s", name, val) < 0) {
		env[*n] = NULL;
		return -1;
	}
	(*n)++;
	return 0;
}

/* PATH, HOME, LANG, the allow-listed variables that are set, and the
 * service and account; never anything else of ours. Freed (wiped) with
 * strv_free(env, 1). */
static char **build_env(const struct exec_src *es, const char *service,
			const char *account)
{
	static const char *const base[][2] = {
		{ "PATH", EXEC_PATH }, { "HOME", NULL }, { "LANG", "C" },
	};
	char **env = calloc(es->nnames + 6, sizeof(*env));
	size_t n = 0;

	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(base[i][0]);

		if (base[i][1] != NULL && (v == NULL || !listed(es, base[i][0])))
			v = base[i][1];
		if (env_add(env, &n, base[i][0], v) < 0)
			goto fail;
	}
	for (size_t i = 0; i < es->nnames; i++) {
		const char *name = es->names[i];

		if (strcmp(name, "PATH") == 0 || strcmp(name, "HOME") == 0 ||
		    strcmp(name, "LANG") == 0)
			continue;
		if (env_add(env, &n, name, getenv(name)) < 0)
			goto fail;
	}
	if (env_add(env, &n, "KIWI_AUTH_SERVICE", service) < 0 ||
	    env_add(env, &n, "KIWI_AUTH_ACCOUNT", account) < 0)
		goto fail;
	return env;
 fail:
	strv_free(env, 1);
	return NULL;
}

/* ---- running the command ------------------------------------------------ */

struct run {
	pid_t pid;
	int fd[3];		/* stdout, stderr, exec report; -1 closed */
	char *out;		/* secure, max_output + 2 bytes */
	size_t len;
	size_t errbytes;
	int exec_errno;
	int status;
	int timed_out;
	int overflow;
	int lost;		/* no exit status (someone else reaped it) */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Move fd above 2, so the child's dup2 onto 0-2 cannot clobber it. */
static int high_fd(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static void close_from(int lo, int max)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lo, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lo; fd < max; fd++)
		close(fd);
}

/* In the child: only async-signal-safe calls until execve. stdin is
 * devnull; stdout, stderr and the exec report are the pipes' write ends. */
__attribute__((noreturn))
static void child(const char *path, char *const argv[], char *const envp[],
		  int devnull, int p[3][2], int maxfd)
{
	int rep = p[2][1];
	struct sigaction sa;
	sigset_t none;
	int e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setpgid(0, 0) == 0 && dup2(devnull, 0) == 0 &&
	    dup2(p[0][1], 1) == 1 && dup2(p[1][1], 2) == 2 &&
	    dup2(rep, 3) == 3 && fcntl(3, F_SETFD, FD_CLOEXEC) == 0) {
		rep = 3;
		close_from(4, maxfd);
		execve(path, argv, envp);
	}
	e = errno;
	if (write(rep, &e, sizeof(e)) < 0)
		e = 0;
	_exit(127);
}

static int max_fd(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > 1 << 20)
		return 1 << 20;
	return (int)rl.rlim_cur;
}

/* Fork and exec; fills r->pid and r->fd. */
static enum ka_status spawn(const struct ka_host *h, const char *path,
			    const struct exec_src *es, char *const envp[],
			    struct run *r, ka_error *err)
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int devnull = high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int maxfd = max_fd(), ok = devnull >= 0;
	enum ka_status st = KA_ERR_IO;

	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) == 0) {
			p[i][0] = high_fd(p[i][0]);
			p[i][1] = high_fd(p[i][1]);
		}
		ok = ok && p[i][0] >= 0 && p[i][1] >= 0;
	}
	if (!ok) {
		h->error(err, st, "exec: cannot set up pipes for %s: %s",
			 es->argv[0], strerror(errno));
		goto out;
	}
	if ((r->pid = fork()) < 0) {
		h->error(err, st, "exec: cannot start %s: %s", es->argv[0],
			 strerror(errno));
		goto out;
	}
	if (r->pid == 0)
		child(path, es->argv, envp, devnull, p, maxfd);
	setpgid(r->pid, r->pid);	/* either side may win the race */
	for (int i = 0; i < 3; i++) {
		r->fd[i] = p[i][0];
		fcntl(p[i][0], F_SETFL, O_NONBLOCK);
		p[i][0] = -1;
	}
	st = KA_OK;
 out:
	close_fd(&devnull);
	for (int i = 0; i < 3; i++) {
		close_fd(&p[i][0]);
		close_fd(&p[i][1]);
	}
	return st;
}

/* Milliseconds on the monotonic clock. */
static long long mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Read what is ready on r->fd[i]; closes it at end of file. */
static void drain(struct run *r, int i, size_t cap)
{
	char scratch[512];
	ssize_t n;

	for (;;) {
		if (i == 0)
			n = read(r->fd[0], r->out + r->len, cap + 1 - r->len);
		else
			n = read(r->fd[i], scratch, sizeof(scratch));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			close_fd(&r->fd[i]);
			break;
		}
		if (i == 0 && (r->len += (size_t)n) > cap) {
			r->overflow = 1;
			break;
		}
		if (i == 1)
			r->errbytes += (size_t)n;
		if (i == 2 && n == sizeof(int))
			memcpy(&r->exec_errno, scratch, sizeof(int));
	}
	explicit_bzero(scratch, sizeof(scratch));
}

/* Collect output until all pipes close, the cap or the deadline. */
static void collect(struct run *r, size_t cap, long long deadline)
{
	while (!r->overflow && (r->fd[0] >= 0 || r->fd[1] >= 0 || r->fd[2] >= 0)) {
		struct pollfd pfd[3];
		long long left = deadline - mono_ms();
		int n;

		if (left <= 0) {
			r->timed_out = 1;
			return;
		}
		for (int i = 0; i < 3; i++)
			pfd[i] = (struct pollfd){ .fd = r->fd[i], .events = POLLIN };
		n = poll(pfd, 3, (int)left);
		if (n < 0 && errno != EINTR) {
			r->timed_out = 1;	/* cannot wait: stop it */
			return;
		}
		for (int i = 0; n > 0 && i < 3; i++)
			if (pfd[i].revents != 0)
				drain(r, i, cap);
	}
}

/* Wait for the command's exit (up to the deadline), then kill whatever is
 * left of its process group and reap it. WNOWAIT keeps the group leader
 * unreaped, so its group id cannot be reused before the kill. */
static void finish(struct run *r, long long deadline)
{
	siginfo_t si;

	while (!r->timed_out && !r->overflow) {
		struct timespec nap = { 0, 2000000 };

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)r->pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (si.si_pid == r->pid)
			break;
		if (mono_ms() >= deadline)
			r->timed_out = 1;
		else
			nanosleep(&nap, NULL);
	}
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &r->status, 0) != r->pid) {
		if (errno != EINTR) {
			r->status = 0;
			r->lost = 1;
			break;
		}
	}
	for (int i = 0; i < 3; i++)
		close_fd(&r->fd[i]);
}

/* Run the command; KA_OK when it exited with status 0, r->out holding its
 * output. Errors never hold a word of the output (it may hold a token). */
static enum ka_status run_command(const struct ka_host *h,
				  const struct exec_src *es, const char *path,
				  char *const envp[], struct run *r,
				  ka_error *err)
{
	const char *cmd = es->argv[0];
	long long deadline = mono_ms() + es->timeout_ms;
	char note[96] = "";
	enum ka_status st;

	if ((st = spawn(h, path, es, envp, r, err)) != KA_OK)
		return st;
	collect(r, es->max_output, deadline);
	finish(r, deadline);
	if (r->errbytes > 0)
		snprintf(note, sizeof(note), " (it wrote %zu bytes to stderr, "
			 "not shown)", r->errbytes);
	if (r->timed_out) {
		h->error(err, KA_ERR_TIMEOUT, "exec: command %s did not finish "
			 "within %ld ms and was killed", cmd, es->timeout_ms);
		return KA_ERR_TIMEOUT;
	}
	if (r->overflow)
		h->error(err, KA_ERR_UNAVAILABLE, "exec: command %s printed "
			 "more than %zu bytes (max_output) and was killed",
			 cmd, es->max_output);
	else if (r->exec_errno != 0)
		h->error(err, KA_ERR_UNAVAILABLE, "exec: cannot run command "
			 "%s: %s", cmd, strerror(r->exec_errno));
	else if (r->lost)
		h->error(err, KA_ERR_UNAVAILABLE, "exec: cannot learn how "
			 "command %s ended (is SIGCHLD ignored?)", cmd);
	else if (WIFSIGNALED(r->status))
		h->error(err, KA_ERR_UNAVAILABLE, "exec: command %s was "
			 "killed by signal %d%s", cmd, WTERMSIG(r->status),
			 note);
	else if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
		h->error(err, KA_ERR_UNAVAILABLE, "exec: command %s failed "
			 "with exit status %d%s", cmd, WEXITSTATUS(r->status),
			 note);
	else
		return KA_OK;
	return KA_ERR_UNAVAILABLE;
}

/* ---- RFC 3339 ------------------------------------------------------------ */

static int num(const char **s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return 0;
		*out = *out * 10 + (**s - '0');
	}
	return 1;
}

static int sep(const char **s, const char *set)
{
	if (**s == '\0' || strchr(set, **s) == NULL)
		return 0;
	(*s)++;
	return 1;
}

/* "2026-11-05T10:00:00Z", fractions and a numeric offset allowed. */
static int parse_rfc3339(const char *s, int64_t *out)
{
	struct tm chk;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (!num(&s, 4, &y) || !sep(&s, "-") || !num(&s, 2, &mo) ||
	    !sep(&s, "-") || !num(&s, 2, &d) || !sep(&s, "Tt") ||
	    !num(&s, 2, &h) || !sep(&s, ":") || !num(&s, 2, &mi) ||
	    !sep(&s, ":") || !num(&s, 2, &sec))
		return 0;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
		if (s[-1] == '.')
			return 0;
	}
	if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (!num(&s, 2, &oh) || !sep(&s, ":") || !num(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return 0;
	} else if (!sep(&s, "Zz")) {
		return 0;
	}
	if (*s != '\0' || sec > 60 || y < 1970)
		return 0;
	t = timegm(&(struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1,
				 .tm_mday = d, .tm_hour = h, .tm_min = mi,
				 .tm_sec = sec == 60 ? 59 : sec });
	if (t == (time_t)-1 || gmtime_r(&t, &chk) == NULL ||
	    chk.tm_mday != d || chk.tm_mon != mo - 1 || chk.tm_hour != h ||
	    chk.tm_min != mi)
		return 0;
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return 1;
}

/* ---- output to record --------------------------------------------------- */

/* The members of kubectl's ExecCredential shape; NULL when absent. */
struct cred {
	const char *kind, *api, *token, *expiry;
};

/* Wipe jansson's copy of every string value in the tree before it is
 * freed: tokens, or a client key, may be anywhere in the output. */
static void wipe_json_strings(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;

	json_object_foreach(v, key, x)
		wipe_json_strings(x);
	json_array_foreach(v, i, x)
		wipe_json_strings(x);
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
			       json_string_length(v));
}

/* o's member key into *s (NULL when absent); -1 when it is not a string.
 * One of max bytes or more reads as "" (no valid short field is). */
static int get_str(json_t *o, const char *key, size_t max, const char **s)
{
	json_t *v = json_object_get(o, key);

	if ((*s = json_string_value(v)) == NULL && v != NULL)
		return -1;
	if (*s != NULL && json_string_length(v) >= max)
		*s = "";
	return 0;
}

static enum ka_status from_cred(const struct ka_host *h, const char *cmd,
				const struct cred *c, struct ka_record **out,
				ka_error *err)
{
	struct ka_record *r = NULL;
	const char *why = NULL;
	int64_t exp = KA_EXPIRES_NEVER;
	enum ka_status st = KA_ERR_UNAVAILABLE;

	if (c->api == NULL || strncmp(c->api, "client.authentication.k8s.io/",
				      29) != 0)
		why = "without a client.authentication.k8s.io apiVersion";
	else if (c->token == NULL || c->token[0] == '\0')
		why = "without status.token (client certificates are not "
		      "supported)";
	else if (c->expiry != NULL && !parse_rfc3339(c->expiry, &exp))
		why = "whose status.expirationTimestamp is not an RFC 3339 time";
	if (why != NULL) {
		h->error(err, st, "exec: command %s printed an ExecCredential "
			 "%s", cmd, why);
		return st;
	}
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = h->record_set_access_token(r, c->token)) != KA_OK ||
	    (st = h->record_set_token_type(r, "Bearer")) != KA_OK) {
		st = st == KA_ERR_NOMEM ? st : KA_ERR_UNAVAILABLE;
		h->error(err, st, "exec: the token printed by command %s is "
			 "not usable (empty, too long or with control bytes)",
			 cmd);
		goto out;
	}
	h->record_set_expires_at(r, exp);
	*out = r;
	r = NULL;
 out:
	h->record_free(r);
	return st;
}

/* The plain format's "expires_in" (seconds from now, as OAuth answers
 * have it) into r. Absent: r keeps its expires_at. */
static enum ka_status plain_expires_in(const struct ka_host *h,
				       const char *cmd, json_t *o,
				       struct ka_record *r, ka_error *err)
{
	json_t *v = json_object_get(o, "expires_in");
	json_int_t n;

	if (v == NULL || json_is_null(v))
		return KA_OK;
	n = json_integer_value(v);
	if (!json_is_integer(v) || n < -EXPIRES_IN_MAX || n > EXPIRES_IN_MAX) {
		h->error(err, KA_ERR_UNAVAILABLE, "exec: the output of command "
			 "%s has an expires_in that is not a whole number of "
			 "seconds (at most 100 years); print an integer, or "
			 "expires_at in UTC seconds", cmd);
		return KA_ERR_UNAVAILABLE;
	}
	if (json_object_get(o, "expires_at") != NULL) {
		h->error(err, KA_ERR_UNAVAILABLE, "exec: the output of command "
			 "%s has both expires_at and expires_in; print one", cmd);
		return KA_ERR_UNAVAILABLE;
	}
	h->record_set_expires_at(r, h->now() + n);
	return KA_OK;
}

/* A token record or an ExecCredential; never quotes the output. */
enum ka_status kai_exec_parse_output(const struct ka_host *h, const char *cmd,
				     const char *buf, size_t len,
				     struct ka_record **out, ka_error *err)
{
	json_error_t jerr;
	json_t *o, *status;
	struct cred c;
	ka_error perr;
	enum ka_status st = KA_ERR_UNAVAILABLE;

	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		/* jerr.text may quote the output: only the position. */
		h->error(err, st, "exec: the output of command %s cannot be "
			 "read as a JSON object (%zu bytes; stopped at byte %d)",
			 cmd, len, o == NULL ? jerr.position : 0);
		goto out;
	}
	status = json_object_get(o, "status");
	if (get_str(o, "kind", SHORT_MAX, &c.kind) < 0 ||
	    get_str(o, "apiVersion", SHORT_MAX, &c.api) < 0 ||
	    get_str(status, "token", SIZE_MAX, &c.token) < 0 ||
	    get_str(status, "expirationTimestamp", SHORT_MAX, &c.expiry) < 0) {
		h->error(err, st, "exec: the output of command %s has a kind, "
			 "apiVersion, status.token or status.expirationTimestamp "
			 "that is not a string", cmd);
		goto out;
	}
	if (c.kind != NULL && strcmp(c.kind, "ExecCredential") == 0) {
		st = from_cred(h, cmd, &c, out, err);
		goto out;
	}
	/* An ExecCredential's status (its token, its expiry) in what is
	 * otherwise read as a token record: never drop the expiry. */
	if (status != NULL) {
		h->error(err, st, "exec: the output of command %s has a status "
			 "(an ExecCredential's token and expirationTimestamp) "
			 "but its kind is not ExecCredential; print kind "
			 "ExecCredential, or a token record without status",
			 cmd);
		goto out;
	}
	memset(&perr, 0, sizeof(perr));
	if ((st = h->record_from_json(buf, len, out, &perr)) != KA_OK) {
		st = st == KA_ERR_NOMEM ? st : KA_ERR_UNAVAILABLE;
		h->error(err, st, "exec: the output of command %s is neither a "
			 "token record nor an ExecCredential: %s", cmd,
			 perr.text[0] ? perr.text : "unusable");
	} else if ((st = plain_expires_in(h, cmd, o, *out, err)) != KA_OK) {
		h->record_free(*out);
		*out = NULL;
	}
 out:
	wipe_json_strings(o);
	json_decref(o);
	return st;
}

/* ---- operations --------------------------------------------------------- */

static enum ka_status exec_load(struct ka_mctx *m, const char *service,
				const char *account, struct ka_record **out,
				ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct exec_src *es = h->data(m);
	const char *cmd = es->argv[0];
	struct run r = { .fd = { -1, -1, -1 } };
	char **envp = NULL, *path = NULL;
	enum ka_status st;

	*out = NULL;
	if (account == NULL)
		account = KA_ACCOUNT_DEFAULT;
	if (es->account != NULL && strcmp(account, es->account) != 0)
		return KA_ERR_NOT_FOUND;
	/* Checked again: the file may have changed since the config load. */
	if ((st = check_command(h, cmd, &path, err)) != KA_OK)
		return st == KA_ERR_NOMEM ? st : KA_ERR_UNAVAILABLE;
	if ((envp = build_env(es, service, account)) == NULL ||
	    (r.out = h->secure_alloc(es->max_output + 2)) == NULL) {
		h->error(err, st = KA_ERR_NOMEM, "exec: out of memory");
		goto out;
	}
	st = run_command(h, es, path, envp, &r, err);
	if (r.errbytes > 0)
		h->log(m, 7, "%s wrote %zu bytes to stderr", cmd,
		       r.errbytes);
	if (st != KA_OK)
		goto out;
	if (strspn(r.out, " \t\n\r") == r.len)
		st = KA_ERR_NOT_FOUND;	/* the command's "not signed in" */
	else if ((st = kai_exec_parse_output(h, cmd, r.out, r.len, out,
					     err)) == KA_OK)
		h->log(m, 7, "token for %s from %s (%zu bytes of output)",
		       service, cmd, r.len);
 out:
	h->secure_free(r.out);
	strv_free(envp, 1);
	free(path);
	return st;
}

/* ---- instance ----------------------------------------------------------- */

static void exec_free(struct exec_src *es)
{
	if (es == NULL)
		return;
	strv_free(es->argv, 0);
	strv_free(es->names, 0);
	free(es->account);
	free(es);
}

static char **copy_list(const struct ka_mctx *m, const struct ka_host *h,
			const char *name, size_t *n)
{
	char **v;

	*n = h->arg_list_count(m, name);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		if ((v[i] = strdup(h->arg_list_at(m, name, i))) == NULL) {
			strv_free(v, 0);
			return NULL;
		}
	return v;
}

static enum ka_status check_lists(const struct ka_host *h,
				  const struct exec_src *es, ka_error *err)
{
	const char *cmd = es->argv[0];

	if (cmd == NULL || has_ctl(cmd) || cmd[0] != '/') {
		h->error(err, KA_ERR_CONFIG, "exec: command must start with "
			 "an absolute path to the program (no shell is used)%s%s",
			 cmd != NULL && !has_ctl(cmd) ? "; got " : "",
			 cmd != NULL && !has_ctl(cmd) ? cmd : "");
		return KA_ERR_CONFIG;
	}
	for (size_t i = 0; i < es->nnames; i++) {
		const char *n = es->names[i];

		if (!valid_name(n) || strcmp(n, "KIWI_AUTH_SERVICE") == 0 ||
		    strcmp(n, "KIWI_AUTH_ACCOUNT") == 0) {
			h->error(err, KA_ERR_CONFIG, "exec: env entry \"%s\" is "
				 "not a variable name that may be passed "
				 "(letters, digits and _; not KIWI_AUTH_SERVICE "
				 "or KIWI_AUTH_ACCOUNT)", has_ctl(n) ? "?" : n);
			return KA_ERR_CONFIG;
		}
	}
	if (es->account != NULL && (*es->account == '\0' ||
				    has_ctl(es->account))) {
		h->error(err, KA_ERR_CONFIG, "exec: account must be a non-empty "
			 "name without control bytes");
		return KA_ERR_CONFIG;
	}
	return KA_OK;
}

static enum ka_status exec_init(struct ka_mctx *m, const struct ka_host *h,
				ka_error *err)
{
	const char *account = h->arg_string(m, "account");
	struct exec_src *es = calloc(1, sizeof(*es));
	long long timeout = EXEC_TIMEOUT_DEFAULT, max = KA_RECORD_MAX_JSON;
	char *path = NULL;
	size_t argc = 0;
	enum ka_status st = KA_ERR_NOMEM;

	if (es == NULL || (es->argv = copy_list(m, h, "command", &argc)) == NULL ||
	    (es->names = copy_list(m, h, "env", &es->nnames)) == NULL ||
	    (account != NULL && (es->account = strdup(account)) == NULL)) {
		h->error(err, st, "exec: out of memory");
		goto out;
	}
	/* The loader checked both ranges (see the argument table). */
	h->arg_int(m, "timeout_ms", &timeout);
	h->arg_int(m, "max_output", &max);
	if ((st = check_lists(h, es, err)) != KA_OK)
		goto out;
	if ((st = check_command(h, es->argv[0], &path, err)) != KA_OK) {
		st = st == KA_ERR_NOMEM ? st : KA_ERR_CONFIG;
		goto out;
	}
	es->timeout_ms = (long)timeout;
	es->max_output = (size_t)max;
	h->set_data(m, es);
	es = NULL;
 out:
	free(path);
	exec_free(es);
	return st;
}

static void exec_fini(struct ka_mctx *m, const struct ka_host *h)
{
	exec_free(h->data(m));
	h->set_data(m, NULL);
}

/* Read-only: no store, erase or list. */
static const struct ka_source_ops exec_ops = {
	.load = exec_load,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = "exec",
	.description = "a token record printed by an external command",
	.args = exec_args,
	.init = exec_init,
	.fini = exec_fini,
	.source = &exec_ops,
};
