/* SPDX-License-Identifier: MIT */
/* test_exec_source.c: the read-only `exec` source, with small scripts. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

#define TOKEN "exec-token-0123456789abcdef"
#define CANARY "CANARY-exec-7f3a9c"
#define SVC "execsvc"

struct fx {
	char *tmp;
	char *conf;
	char *script;
	char *path;		/* the caller's PATH, restored afterwards */
	struct ka_ctx *ctx;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->tmp = tu_sandbox();
	fx->path = strdup(getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin:/bin");
	assert_non_null(fx->path);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	unsetenv("KA_TEST_EXEC_SECRET");
	unsetenv("KA_TEST_EXEC_ALLOWED");
	setenv("PATH", fx->path, 1);
	free(fx->path);
	tu_sandbox_free(fx->ctx, fx->tmp);
	free(fx->conf);
	free(fx->script);
	free(fx);
	return 0;
}

/* A /bin/sh script at bin/tok.sh (mode 0700), then a config whose one
 * service runs it with the extra source arguments args. */
static void prepare(struct fx *fx, const char *body, const char *args)
{
	char *text, *conf;

	free(fx->script);
	assert_true(asprintf(&text, "#!/bin/sh\n%s\n", body) > 0);
	fx->script = tu_write(fx->tmp, "bin/tok.sh", text, 0700);
	free(text);
	assert_int_equal(chmod(fx->tmp, 0700), 0);
	assert_true(asprintf(&conf, SVC ": {\n"
		"  hosts = [ \"https://api.example.com\" ];\n"
		"  scopes = [ \"exec:read\" ];\n"
		"  source = ( { module = \"exec\";\n"
		"               command = [ \"%s\", \"--flag\", \"arg two\" ];\n"
		"               %s } );\n"
		"};\n", fx->script, args != NULL ? args : "") > 0);
	free(fx->conf);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", conf, 0600);
	free(conf);
}

/* Load in a context opened now (the broker caches per context). */
static enum ka_status load(struct fx *fx, const char *account,
			   struct ka_record **out, ka_error *err)
{
	ka_ctx_free(fx->ctx);
	fx->ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(err);
	*out = NULL;
	return ka_load(fx->ctx, SVC, account, out, err);
}

/* The stanza's error when the context is opened leniently. */
static char *stanza_error(struct fx *fx)
{
	const struct ka_service *s;
	struct ka_ctx *ctx = tu_ctx(fx->conf, KA_CTX_LENIENT);
	char *e;

	s = ka_service_find(ctx, SVC);
	assert_non_null(s);
	assert_non_null(ka_service_error(s));
	e = strdup(ka_service_error(s));
	ka_ctx_free(ctx);
	return e;
}

static void assert_failed_quietly(enum ka_status st, const ka_error *err,
				  const struct fx *fx, struct ka_record *r)
{
	assert_int_not_equal(st, KA_OK);
	assert_int_not_equal(st, KA_ERR_NOT_FOUND);
	assert_null(r);
	if (!tu_contains(err->text, fx->script))
		fail_msg("error [%s] does not name the command", err->text);
	if (tu_contains(err->text, CANARY) || tu_contains(err->text, "arg two"))
		fail_msg("error \"%s\" quotes output or arguments", err->text);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Each output in docs[n] is refused as unavailable, quietly, with an
 * error that mentions `about` (when not NULL). */
static void refuses_each(struct fx *fx, const char *const *docs, size_t n,
			 const char *about)
{
	for (size_t i = 0; i < n; i++) {
		struct ka_record *r;
		ka_error err;
		enum ka_status st;
		char *body;

		assert_true(asprintf(&body, "cat <<'EOF'\n%s\nEOF", docs[i]) > 0);
		prepare(fx, body, NULL);
		free(body);
		st = load(fx, NULL, &r, &err);
		assert_failed_quietly(st, &err, fx, r);
		assert_int_equal(err.code, KA_ERR_UNAVAILABLE);
		if (about != NULL && !tu_contains(err.text, about))
			fail_msg("output %zu: error [%s] does not mention %s",
				 i, err.text, about);
	}
}

/* ---- outputs ------------------------------------------------------------ */

static void test_record(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	prepare(fx, "echo '{\"access_token\": \"" TOKEN "\", "
		"\"expires_at\": 4102444800, \"scopes\": [\"exec:read\"]}'",
		NULL);
	assert_int_equal(load(fx, NULL, &r, &err), KA_OK);
	assert_string_equal(r->access_token, TOKEN);
	assert_int_equal(ka_record_expires_at(r), 4102444800);
	assert_true(ka_record_has_scope(r, "exec:read"));
	assert_string_equal(ka_record_source(r), "exec");
	assert_string_equal(ka_record_account(r), KA_ACCOUNT_DEFAULT);
	ka_record_free(r);
}

static void test_exec_credential(void **state)
{
	static const char *const stamps[] = {
		"2099-01-02T03:04:05Z", "2099-01-02T05:04:05.25+02:00",
		"2099-01-01T23:34:05-03:30",
	};
	struct fx *fx = *state;
	struct tm tm = { .tm_year = 199, .tm_mon = 0, .tm_mday = 2,
			 .tm_hour = 3, .tm_min = 4, .tm_sec = 5 };
	time_t want = timegm(&tm);

	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		struct ka_record *r;
		ka_error err;
		char *body;

		assert_true(asprintf(&body, "cat <<'EOF'\n{\n"
			"  \"apiVersion\": \"client.authentication.k8s.io/v1\",\n"
			"  \"kind\": \"ExecCredential\", \"spec\": {},\n"
			"  \"status\": {\"token\": \"exec-\\u0074oken-%zu\",\n"
			"    \"expirationTimestamp\": \"%s\"}\n}\nEOF",
			i, stamps[i]) > 0);
		prepare(fx, body, NULL);
		free(body);
		assert_int_equal(load(fx, NULL, &r, &err), KA_OK);
		assert_true(strncmp(r->access_token, "exec-token-", 11) == 0);
		assert_int_equal(ka_record_expires_at(r), (int64_t)want);
		assert_string_equal(ka_record_token_type(r), "Bearer");
		ka_record_free(r);
	}
}

static void test_exec_credential_bad(void **state)
{
	static const char *const docs[] = {
		/* no token (a client certificate instead) */
		"{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": "
		"{\"clientKeyData\": \"" CANARY "\"}}",
		/* not RFC 3339 */
		"{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		CANARY "\", \"expirationTimestamp\": \"tomorrow\"}}",
		/* other API group */
		"{\"apiVersion\": \"example.com/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		CANARY "\"}}",
		/* two tokens */
		"{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		CANARY "\", \"token\": \"" CANARY "\"}}",
	};

	refuses_each(*state, docs, sizeof(docs) / sizeof(docs[0]), NULL);
}

/* An expiry is honoured (the epoch is long past, never "no expiry") or
 * the output is refused: ExecCredential v1 and v1beta1, and the plain
 * record's expires_in. */
static void test_expiry_honoured(void **state)
{
	static const char *const docs[] = {
		"{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		TOKEN "\", \"expirationTimestamp\": \"1970-01-01T00:00:00Z\"}}",
		"{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		TOKEN "\", \"expirationTimestamp\": \"1970-01-01T00:00:00Z\"}}",
		"{\"access_token\": \"" TOKEN "\", \"expires_in\": 0}",
		"{\"access_token\": \"" TOKEN "\", \"expires_at\": 0}",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct ka_record *r = NULL;
		ka_error err;
		char *body;

		assert_true(asprintf(&body, "cat <<'EOF'\n%s\nEOF", docs[i]) > 0);
		prepare(fx, body, NULL);
		free(body);
		assert_int_equal(load(fx, NULL, &r, &err), KA_OK);
		assert_true(ka_record_expires_at(r) <= time(NULL));
		ka_record_free(r);
	}
	prepare(fx, "echo '{\"access_token\": \"" TOKEN "\", \"expires_in\": 600}'",
		NULL);
	{
		struct ka_record *r = NULL;
		ka_error err;
		int64_t now = time(NULL);

		assert_int_equal(load(fx, NULL, &r, &err), KA_OK);
		assert_true(ka_record_expires_at(r) >= now + 600 &&
			    ka_record_expires_at(r) <= time(NULL) + 600);
		ka_record_free(r);
	}
}

static void test_expiry_unreadable(void **state)
{
	static const char *const docs[] = {
		"{\"access_token\": \"" CANARY "\", \"expires_in\": \"soon\"}",
		"{\"access_token\": \"" CANARY "\", \"expires_in\": 60.5}",
		"{\"access_token\": \"" CANARY "\", \"expires_in\": 1e300}",
		"{\"access_token\": \"" CANARY "\", \"expires_in\": 60, "
		"\"expires_at\": 4102444800}",
		"{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		CANARY "\", \"expirationTimestamp\": 0}}",
		"{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
		"\"kind\": \"ExecCredential\", \"status\": {\"token\": \""
		CANARY "\", \"expirationTimestamp\": \"1969-12-31T23:59:59Z\"}}",
		/* no kind: its expiry would be lost in a token record */
		"{\"access_token\": \"" CANARY "\", \"status\": {\"token\": \""
		CANARY "\", \"expirationTimestamp\": \"2000-01-01T00:00:00Z\"}}",
	};

	refuses_each(*state, docs, sizeof(docs) / sizeof(docs[0]), "expir");
}

static void test_bad_json(void **state)
{
	static const char *const outputs[] = {
		"{\"access_token\": \"" CANARY,
		CANARY,
		"{\"note\": \"" CANARY "\"}",
		"{\"access_token\": \"" CANARY "\"} trailing",
		"[\"" CANARY "\"]",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		struct ka_record *r;
		ka_error err;
		enum ka_status st;
		char *body;

		assert_true(asprintf(&body, "cat <<'EOF'\n%s\nEOF",
				     outputs[i]) > 0);
		prepare(fx, body, NULL);
		free(body);
		st = load(fx, NULL, &r, &err);
		assert_failed_quietly(st, &err, fx, r);
		assert_int_equal(err.code, KA_ERR_UNAVAILABLE);
	}
}

static void test_not_signed_in(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	prepare(fx, "echo", NULL);
	assert_int_equal(load(fx, NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
	assert_true(err.auth_required);
}

static void test_exit_status(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;
	enum ka_status st;

	prepare(fx, "echo '{\"access_token\": \"" CANARY "\"}'\n"
		"echo 'error: " CANARY "' >&2\nexit 7", NULL);
	st = load(fx, NULL, &r, &err);
	assert_failed_quietly(st, &err, fx, r);
	assert_int_equal(err.code, KA_ERR_UNAVAILABLE);
	assert_true(tu_contains(err.text, "exit status 7"));
	assert_true(tu_contains(err.text, "bytes to stderr"));
}

static void test_cannot_run(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	char *text;
	ka_error err;
	enum ka_status st;

	prepare(fx, "echo", NULL);
	/* Same file, but an interpreter that does not exist. */
	text = tu_write(fx->tmp, "bin/tok.sh", "#!/nonexistent/sh\necho\n",
			0700);
	free(text);
	st = load(fx, NULL, &r, &err);
	assert_failed_quietly(st, &err, fx, r);
	assert_true(tu_contains(err.text, "cannot run"));
}

/* ---- limits -------------------------------------------------------------- */

/* 1 if pid is gone or a zombie waiting for its parent (init). */
static int dead(pid_t pid)
{
	char path[64], *stat, *p;
	int ret;

	if (kill(pid, 0) != 0)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((stat = tu_read(path)) == NULL)
		return 1;
	p = strrchr(stat, ')');
	ret = p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	free(stat);
	return ret;
}

static pid_t read_pid(const char *path)
{
	char *s = tu_read(path);
	long v;

	assert_non_null(s);
	v = strtol(s, NULL, 10);
	free(s);
	assert_true(v > 1);
	return (pid_t)v;
}

static void test_timeout(void **state)
{
	struct fx *fx = *state;
	char *pidf = tu_path(fx->tmp, "pid"), *kidf = tu_path(fx->tmp, "kid");
	char *body;
	struct ka_record *r;
	struct timespec t0;
	ka_error err;
	long ms;

	assert_true(asprintf(&body, "echo $$ > '%s'\nsleep 30 &\n"
			     "echo $! > '%s'\nwait", pidf, kidf) > 0);
	prepare(fx, body, "timeout_ms = 300;");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(load(fx, NULL, &r, &err), KA_ERR_TIMEOUT);
	ms = ms_since(&t0);
	assert_null(r);
	assert_true(tu_contains(err.text, fx->script));
	assert_true(tu_contains(err.text, "300 ms"));
	if (ms < 250 || ms > 1000)
		fail_msg("timeout of 300 ms took %ld ms", ms);
	/* The command is reaped, and the rest of its group is killed. */
	assert_int_equal(kill(read_pid(pidf), 0), -1);
	assert_int_equal(errno, ESRCH);
	for (int i = 0; i < 100 && !dead(read_pid(kidf)); i++)
		usleep(10000);
	assert_true(dead(read_pid(kidf)));
	free(body);
	free(pidf);
	free(kidf);
}

static void test_huge_output(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	struct timespec t0;
	ka_error err;
	enum ka_status st;

	prepare(fx, "exec yes " CANARY, "max_output = 1000;");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = load(fx, NULL, &r, &err);
	assert_failed_quietly(st, &err, fx, r);
	assert_int_equal(err.code, KA_ERR_UNAVAILABLE);
	assert_true(tu_contains(err.text, "more than 1000 bytes"));
	assert_true(ms_since(&t0) < 2000);
	/* The default cap is the record limit. */
	prepare(fx, "head -c 70000 /dev/zero | tr '\\000' a", NULL);
	st = load(fx, NULL, &r, &err);
	assert_failed_quietly(st, &err, fx, r);
	assert_true(tu_contains(err.text, "more than 65536 bytes"));
}

/* ---- isolation ----------------------------------------------------------- */

static void test_environment(void **state)
{
	struct fx *fx = *state;
	char *envf = tu_path(fx->tmp, "env"), *body, *env;
	struct ka_record *r;
	ka_error err;

	setenv("KA_TEST_EXEC_SECRET", CANARY, 1);
	setenv("KA_TEST_EXEC_ALLOWED", "allowed-value", 1);
	setenv("PATH", "/opt/elsewhere:/usr/bin:/bin", 1);
	assert_true(asprintf(&body, "env > '%s'\n"
		"echo '{\"access_token\": \"" TOKEN "\"}'", envf) > 0);
	prepare(fx, body, "env = [ \"KA_TEST_EXEC_ALLOWED\", \"UNSET_ONE\" ];");
	assert_int_equal(load(fx, "work", &r, &err), KA_OK);
	/* The command answers for any account it is asked about. */
	assert_string_equal(ka_record_account(r), "work");
	ka_record_free(r);
	env = tu_read(envf);
	assert_non_null(env);
	if (tu_contains(env, CANARY) || tu_contains(env, "KA_TEST_EXEC_SECRET"))
		fail_msg("a variable that is not allow-listed reached the "
			 "command");
	assert_true(tu_contains(env, "\nKA_TEST_EXEC_ALLOWED=allowed-value\n") ||
		    strncmp(env, "KA_TEST_EXEC_ALLOWED=", 21) == 0);
	assert_false(tu_contains(env, "UNSET_ONE"));
	assert_true(tu_contains(env, "PATH=/usr/bin:/bin\n"));
	assert_false(tu_contains(env, "elsewhere"));
	assert_true(tu_contains(env, "LANG=C\n"));
	assert_true(tu_contains(env, "KIWI_AUTH_SERVICE=" SVC "\n"));
	assert_true(tu_contains(env, "KIWI_AUTH_ACCOUNT=work\n"));
	free(env);
	free(body);
	free(envf);
}

static void test_descriptors(void **state)
{
	struct fx *fx = *state;
	char *fdf = tu_path(fx->tmp, "fds"), *body, *list, *line, *save;
	struct ka_record *r;
	ka_error err;
	int leak[2], extra = 0;

	/* Descriptors the caller left inheritable must not reach it. */
	assert_int_equal(pipe(leak), 0);
	assert_int_equal(dup2(leak[0], 50), 50);
	assert_int_equal(dup2(leak[1], 51), 51);
	assert_true(asprintf(&body, "ls /proc/self/fd > '%s'\n"
		"echo '{\"access_token\": \"" TOKEN "\"}'", fdf) > 0);
	prepare(fx, body, NULL);
	assert_int_equal(load(fx, NULL, &r, &err), KA_OK);
	ka_record_free(r);
	list = tu_read(fdf);
	assert_non_null(list);
	for (line = strtok_r(list, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strcmp(line, "0") != 0 && strcmp(line, "1") != 0 &&
		    strcmp(line, "2") != 0)
			extra++;	/* ls's own directory descriptor */
	}
	if (extra != 1)
		fail_msg("the command had %d descriptors besides 0-2 and "
			 "the listing's own", extra - 1);
	close(50);
	close(51);
	close(leak[0]);
	close(leak[1]);
	free(list);
	free(body);
	free(fdf);
}

static void test_account_restricted(void **state)
{
	struct fx *fx = *state;
	char *ran = tu_path(fx->tmp, "ran"), *body;
	struct ka_record *r;
	ka_error err;

	assert_true(asprintf(&body, "touch '%s'\n"
		"echo '{\"access_token\": \"" TOKEN "\"}'", ran) > 0);
	prepare(fx, body, "account = \"bot\";");
	assert_int_equal(load(fx, NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_int_equal(access(ran, F_OK), -1);
	assert_int_equal(load(fx, "bot", &r, &err), KA_OK);
	assert_int_equal(access(ran, F_OK), 0);
	ka_record_free(r);
	free(body);
	free(ran);
}

static void test_read_only(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r = NULL;
	ka_error err;

	prepare(fx, "echo", NULL);
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, TOKEN), KA_OK);
	fx->ctx = tu_ctx(fx->conf, 0);
	assert_int_equal(ka_service_source_writable(
		ka_service_find(fx->ctx, SVC), 0), 0);
	ka_error_clear(&err);
	assert_int_equal(ka_store(fx->ctx, SVC, NULL, r, &err),
			 KA_ERR_READ_ONLY);
	assert_false(tu_contains(err.text, TOKEN));
	ka_record_free(r);
}

/* ---- configuration ------------------------------------------------------- */

static void test_relative_path(void **state)
{
	struct fx *fx = *state;
	char *e;

	prepare(fx, "echo", NULL);
	free(fx->conf);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", SVC ": {\n"
		"  hosts = [ \"https://api.example.com\" ];\n"
		"  source = ( { module = \"exec\"; command = [ \"bin/tok.sh\" ]; } );\n"
		"};\n", 0600);
	e = stanza_error(fx);
	if (!tu_contains(e, "absolute"))
		fail_msg("error \"%s\" does not ask for an absolute path", e);
	free(e);
}

static void test_unsafe_file(void **state)
{
	struct fx *fx = *state;
	char *bindir = tu_path(fx->tmp, "bin"), *e;

	prepare(fx, "echo", NULL);
	assert_int_equal(chmod(fx->script, 0720), 0);
	e = stanza_error(fx);
	if (!tu_contains(e, "writable by group or others") ||
	    !tu_contains(e, fx->script))
		fail_msg("error \"%s\" does not refuse the script", e);
	free(e);
	/* A directory others may write into could swap the file. */
	assert_int_equal(chmod(fx->script, 0700), 0);
	assert_int_equal(chmod(bindir, 0777), 0);
	e = stanza_error(fx);
	if (!tu_contains(e, "directory"))
		fail_msg("error \"%s\" does not refuse the directory", e);
	free(e);
	/* Not executable. */
	assert_int_equal(chmod(bindir, 0700), 0);
	assert_int_equal(chmod(fx->script, 0600), 0);
	e = stanza_error(fx);
	if (!tu_contains(e, "not executable"))
		fail_msg("error \"%s\" does not say it cannot run it", e);
	free(e);
	free(bindir);
}

static void test_bad_arguments(void **state)
{
	static const char *const args[] = {
		"timeout_ms = 0;", "timeout_ms = -5;", "max_output = 65537;",
		"max_output = 0;", "env = [ \"1BAD\" ];",
		"env = [ \"KIWI_AUTH_ACCOUNT\" ];", "account = \"\";",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		char *e, name[32];


		/* The message names the module and the argument. */
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(args[i], " "),
			 args[i]);
		prepare(fx, "echo", args[i]);
		e = stanza_error(fx);
		if (!tu_contains(e, "exec") || !tu_contains(e, name))
			fail_msg("%s: error \"%s\"", args[i], e);
		free(e);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_record),
		T(test_exec_credential),
		T(test_exec_credential_bad),
		T(test_expiry_honoured),
		T(test_expiry_unreadable),
		T(test_bad_json),
		T(test_not_signed_in),
		T(test_exit_status),
		T(test_cannot_run),
		T(test_timeout),
		T(test_huge_output),
		T(test_environment),
		T(test_descriptors),
		T(test_account_restricted),
		T(test_read_only),
		T(test_relative_path),
		T(test_unsafe_file),
		T(test_bad_arguments),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
