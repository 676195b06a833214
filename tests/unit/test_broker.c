/* SPDX-License-Identifier: MIT */
/* test_broker.c: the source stack's PAM control flags, the cache, single
 * flight, store routing and erase, through the test_counting module
 * (which appends one line per call to its counter file). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

struct fixture {
	char *dir;
	char *conf;
	char *counter[2];
	struct ka_ctx *ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_sandbox();
	f->counter[0] = tu_path(f->dir, "c0");
	f->counter[1] = tu_path(f->dir, "c1");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_sandbox_free(f->ctx, f->dir);
	free(f->conf);
	free(f->counter[0]);
	free(f->counter[1]);
	free(f);
	return 0;
}

/* A service "svc" whose stack is two counting sources. */
static void two_sources(struct fixture *f, const char *c0, const char *r0,
			const char *c1, const char *r1)
{
	char *text;

	assert_true(asprintf(&text,
		"svc: {\n"
		"  hosts = [\"https://api.example.com\"];\n"
		"  scopes = [\"svc:read\"];\n"
		"  source = (\n"
		"    { module = \"test_counting\"; control = \"%s\"; counter = \"%s\";"
		" result = \"%s\"; token = \"tok-0\"; },\n"
		"    { module = \"test_counting\"; control = \"%s\"; counter = \"%s\";"
		" result = \"%s\"; token = \"tok-1\"; }\n"
		"  );\n"
		"};\n", c0, f->counter[0], r0, c1, f->counter[1], r1) > 0);
	f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	free(text);
	f->ctx = tu_ctx(f->conf, 0);
}

struct stack_case {
	const char *c0, *r0, *c1, *r1;
	enum ka_status want;
	const char *token;	/* expected token when found */
	int second_called;
};

static const struct stack_case cases[] = {
	{ "sufficient", "found", "required", "found", KA_OK, "tok-0", 0 },
	{ "sufficient", "not_found", "required", "found", KA_OK, "tok-1", 1 },
	{ "sufficient", "unavailable", "required", "found", KA_OK, "tok-1", 1 },
	{ "required", "not_found", "sufficient", "found", KA_ERR_NOT_FOUND, NULL, 1 },
	{ "required", "unavailable", "sufficient", "found", KA_ERR_UNAVAILABLE, NULL, 1 },
	{ "requisite", "unavailable", "required", "found", KA_ERR_UNAVAILABLE, NULL, 0 },
	{ "requisite", "found", "required", "not_found", KA_ERR_NOT_FOUND, NULL, 1 },
	{ "required", "found", "required", "found", KA_OK, "tok-0", 1 },
	{ "required", "found", "optional", "found", KA_OK, "tok-0", 0 },
	{ "optional", "not_found", "optional", "found", KA_OK, "tok-1", 1 },
	{ "optional", "unavailable", "optional", "not_found", KA_ERR_UNAVAILABLE, NULL, 1 },
	{ "optional", "not_found", "optional", "not_found", KA_ERR_NOT_FOUND, NULL, 1 },
	{ "required", "try_again", "optional", "found", KA_ERR_TRY_AGAIN, NULL, 1 },
};

static void control_flags(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct stack_case *c = &cases[i];
		struct ka_record *r = NULL;
		ka_error err;
		enum ka_status st;

		unlink(f->counter[0]);
		unlink(f->counter[1]);
		two_sources(f, c->c0, c->r0, c->c1, c->r1);
		ka_error_clear(&err);
		st = ka_load(f->ctx, "svc", NULL, &r, &err);
		if (st != c->want)
			fail_msg("case %zu (%s %s, %s %s): got %s, want %s (%s)", i,
				 c->c0, c->r0, c->c1, c->r1, ka_strerror(st),
				 ka_strerror(c->want), err.text);
		if (c->token != NULL) {
			assert_string_equal(r->access_token, c->token);
			assert_string_equal(ka_record_source(r), "test_counting");
		} else {
			assert_null(r);
			assert_true(err.text[0] != '\0');
			assert_int_equal(err.auth_required,
					 c->want == KA_ERR_NOT_FOUND);
		}
		assert_int_equal(tu_calls(f->counter[0], "load"), 1);
		assert_int_equal(tu_calls(f->counter[1], "load"),
				 c->second_called);
		ka_record_free(r);
		ka_ctx_free(f->ctx);
		f->ctx = NULL;
		free(f->conf);
		f->conf = NULL;
	}
}

static void not_signed_in_says_what_to_run(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	ka_error err;

	two_sources(f, "optional", "not_found", "optional", "not_found");
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", "work", &r, &err),
			 KA_ERR_NOT_FOUND);
	assert_string_equal(err.text, "not signed in to svc (account work): run "
			    "'kiwi-auth token set svc --account work'");
	assert_true(err.auth_required);
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "nosuch", NULL, &r, &err),
			 KA_ERR_NO_SERVICE);
	assert_true(tu_contains(err.text, "kiwi-auth services"));
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", "bad\naccount", &r, &err),
			 KA_ERR_INVALID);
}

static void cache_serves_second_load(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	ka_error err;

	two_sources(f, "sufficient", "found", "required", "found");
	for (int i = 0; i < 5; i++) {
		ka_error_clear(&err);
		assert_int_equal(ka_load(f->ctx, "svc", NULL, &r, &err), KA_OK);
		ka_record_free(r);
	}
	assert_int_equal(tu_calls(f->counter[0], "load"), 1);
	/* Another account is another cache entry. */
	assert_int_equal(ka_load(f->ctx, "svc", "other", &r, &err), KA_OK);
	ka_record_free(r);
	assert_int_equal(tu_calls(f->counter[0], "load"), 2);
}

static void *load_thread(void *arg)
{
	struct ka_ctx *ctx = arg;
	struct ka_record *r = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_load(ctx, "svc", NULL, &r, &err) != KA_OK)
		return (void *)1;
	ka_record_free(r);
	return NULL;
}

static void single_flight(void **state)
{
	struct fixture *f = *state;
	pthread_t t[8];

	two_sources(f, "sufficient", "found", "required", "found");
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, load_thread, f->ctx), 0);
	for (int i = 0; i < 8; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		assert_null(ret);
	}
	assert_int_equal(tu_calls(f->counter[0], "load"), 1);
}

static void store_goes_to_provider_else_first_writable(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL, *back = NULL;
	char *text;
	ka_error err;

	/* env provides the record but is read-only: the file source gets it. */
	setenv("KA_TEST_ENV_TOKEN", "env-token", 1);
	assert_true(asprintf(&text,
		"svc: {\n  hosts = [\"https://a.example.com\"];\n"
		"  source = (\n"
		"    { module = \"env\"; control = \"sufficient\"; variable = \"KA_TEST_ENV_TOKEN\"; },\n"
		"    { module = \"test_counting\"; control = \"optional\"; counter = \"%s\"; result = \"not_found\"; },\n"
		"    { module = \"file\"; directory = \"%s/tokens\"; }\n"
		"  );\n};\n", f->counter[0], f->dir) > 0);
	f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	free(text);
	f->ctx = tu_ctx(f->conf, 0);
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, "stored-token"), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(ka_store(f->ctx, "svc", NULL, r, &err), KA_OK);
	/* The first writable source is test_counting (env is read-only). */
	assert_int_equal(tu_calls(f->counter[0], "store"), 1);
	/* Erase reaches every writable source. */
	unsigned n = 0;
	ka_error_clear(&err);
	assert_int_equal(ka_erase(f->ctx, "svc", NULL, &n, &err), KA_OK);
	assert_int_equal(tu_calls(f->counter[0], "erase"), 1);
	/* env still answers: erase cannot remove an environment variable. */
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", NULL, &back, &err), KA_OK);
	assert_string_equal(back->access_token, "env-token");
	assert_string_equal(ka_record_source(back), "env");
	ka_record_free(back);
	ka_record_free(r);
	unsetenv("KA_TEST_ENV_TOKEN");
}

static void read_only_stack_refuses_store(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	ka_error err;

	f->conf = tu_write(f->dir, "kiwi-auth.conf",
		"svc: {\n  hosts = [\"https://a.example.com\"];\n"
		"  source = ( { module = \"env\"; variable = \"KA_NOPE\"; } );\n};\n",
		0600);
	f->ctx = tu_ctx(f->conf, 0);
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, "x"), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(ka_store(f->ctx, "svc", NULL, r, &err), KA_ERR_READ_ONLY);
	assert_true(tu_contains(err.text, "no writable source"));
	ka_record_free(r);
	r = NULL;
	/* Nothing to sign in with or store into: say where the token goes. */
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_string_equal(err.text, "not signed in to svc: its sources are "
			    "read-only (env): provide the token there, see "
			    "kiwi-auth-env(8)");
}

static void no_modules_context_refuses_use(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	ka_error err;
	unsigned n;

	two_sources(f, "sufficient", "found", "required", "found");
	ka_ctx_free(f->ctx);
	f->ctx = tu_ctx(f->conf, KA_CTX_NO_MODULES);
	assert_int_equal(ka_service_count(f->ctx), 1);
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", NULL, &r, &err), KA_ERR_MODULE);
	assert_true(tu_contains(err.text, "not loaded"));
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, "x"), KA_OK);
	assert_int_equal(ka_store(f->ctx, "svc", NULL, r, NULL), KA_ERR_MODULE);
	assert_int_equal(ka_erase(f->ctx, "svc", NULL, &n, NULL), KA_ERR_MODULE);
	ka_record_free(r);
	assert_null(tu_read(f->counter[0]));
}

static enum ka_status copy_token(const struct ka_service *s,
				 const struct ka_record *r, void *data,
				 ka_error *err)
{
	(void)s; (void)err;
	*(char **)data = strdup(r->access_token);
	return KA_OK;
}

/* A token inside min_valid but not expired: a refresh that fails for a
 * passing reason leaves it in use; a sign-out does not. */
static void refresh_failure_keeps_a_valid_token(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *result;
		enum ka_status want;
		const char *token;
	} rcases[] = {
		{ "ok", KA_OK, "refreshed-token" },
		{ "network", KA_OK, "old-token" },
		{ "signed_out", KA_ERR_EXPIRED, NULL },
	};

	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		char *text, *seen = NULL;
		ka_error err;

		unlink(f->counter[0]);
		unlink(f->counter[1]);
		assert_true(asprintf(&text,
			"svc: {\n  hosts = [\"https://a.example.com\"];\n"
			"  source = ( { module = \"test_counting\"; counter = \"%s\";"
			" token = \"old-token\"; expires_in = 30; } );\n"
			"  refresh = { module = \"test_refresh\"; counter = \"%s\";"
			" result = \"%s\"; };\n};\n", f->counter[0],
			f->counter[1], rcases[i].result) > 0);
		free(f->conf);
		f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
		free(text);
		ka_ctx_free(f->ctx);
		f->ctx = tu_ctx(f->conf, 0);
		ka_error_clear(&err);
		assert_int_equal(kai_with_record(f->ctx, "svc", NULL, copy_token,
						 &seen, &err), rcases[i].want);
		assert_int_equal(tu_calls(f->counter[1], "refresh"), 1);
		if (rcases[i].token != NULL)
			assert_string_equal(seen, rcases[i].token);
		else
			assert_true(err.auth_required);
		/* Only a successful refresh stores a record. */
		assert_int_equal(tu_calls(f->counter[0], "store"),
				 strcmp(rcases[i].result, "ok") == 0);
		free(seen);
	}
}

static void disabled_service_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct ka_options o = { 0 };
	struct ka_record *r = NULL;
	ka_error err;

	f->conf = tu_write(f->dir, "kiwi-auth.conf",
		"bad: {\n  hosts = [\"https://a.example.com\"];\n"
		"  source = ( { module = \"nosuchmodule\"; } );\n};\n"
		"good: {\n  hosts = [\"https://b.example.com\"];\n"
		"  source = ( { module = \"env\"; variable = \"KA_GOOD\"; } );\n};\n",
		0600);
	o.config = f->conf;
	ka_error_clear(&err);
	/* Strict opening refuses the whole configuration... */
	assert_int_equal(ka_ctx_new(&o, &f->ctx, &err), KA_ERR_CONFIG);
	assert_null(f->ctx);
	assert_true(tu_contains(err.text, "nosuchmodule"));
	/* ...lenient opening keeps the good service and fails the bad one. */
	f->ctx = tu_ctx(f->conf, KA_CTX_LENIENT);
	assert_true(ka_ctx_diag_count(f->ctx) >= 1);
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "bad", NULL, &r, &err), KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "disabled"));
	setenv("KA_GOOD", "g", 1);
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "good", NULL, &r, &err), KA_OK);
	ka_record_free(r);
	unsetenv("KA_GOOD");
}

static enum ka_status seen(const struct ka_service *s,
			   const struct ka_record *r, void *data, ka_error *err)
{
	(void)s; (void)err;
	*(int *)data += 1;
	return r->access_token != NULL ? KA_OK : KA_ERR_INVALID;
}

static void hot_path_refuses_expiring_tokens(void **state)
{
	struct fixture *f = *state;
	char *text;
	ka_error err;
	int n = 0;

	/* expires_in 30 s is inside the default 60 s min_valid window. */
	assert_true(asprintf(&text,
		"soon: {\n  hosts = [\"https://a.example.com\"];\n"
		"  source = ( { module = \"test_counting\"; counter = \"%s\"; expires_in = 30; } );\n};\n"
		"later: {\n  hosts = [\"https://b.example.com\"];\n"
		"  source = ( { module = \"test_counting\"; counter = \"%s\"; expires_in = 3600; } );\n};\n",
		f->counter[0], f->counter[1]) > 0);
	f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	free(text);
	f->ctx = tu_ctx(f->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(kai_with_record(f->ctx, "soon", NULL, seen, &n, &err),
			 KA_ERR_EXPIRED);
	assert_true(err.auth_required);
	assert_true(tu_contains(err.text, "kiwi-auth token set soon"));
	assert_int_equal(n, 0);
	for (int i = 0; i < 3; i++) {
		ka_error_clear(&err);
		assert_int_equal(kai_with_record(f->ctx, "later", NULL, seen, &n,
						 &err), KA_OK);
	}
	assert_int_equal(n, 3);
	assert_int_equal(tu_calls(f->counter[1], "load"), 1);
}


/* ---- the core: one walk, one store, per-account flights ------------------ */

/* svc with two counting sources (c0 first, c1 second) whose found record
 * expires in 30 s, inside the default 60 s window, and test_refresh
 * counting into c2. */
static void refreshing_stack(struct fixture *f, const char *r0,
			     const char *r1, char **c2)
{
	char *text;

	*c2 = tu_path(f->dir, "c2");
	assert_true(asprintf(&text,
		"svc: {\n  hosts = [\"https://api.example.com\"];\n"
		"  scopes = [\"svc:read\"];\n"
		"  source = (\n"
		"    { module = \"test_counting\"; control = \"sufficient\"; counter = \"%s\";"
		" result = \"%s\"; token = \"tok-0\"; expires_in = 30; },\n"
		"    { module = \"test_counting\"; control = \"required\"; counter = \"%s\";"
		" result = \"%s\"; token = \"tok-1\"; expires_in = 30; }\n"
		"  );\n"
		"  refresh = { module = \"test_refresh\"; counter = \"%s\"; };\n"
		"};\n", f->counter[0], r0, f->counter[1], r1, *c2) > 0);
	free(f->conf);
	f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	free(text);
	ka_ctx_free(f->ctx);
	f->ctx = tu_ctx(f->conf, 0);
	unlink(f->counter[0]);
	unlink(f->counter[1]);
	unlink(*c2);
}

/* A refreshing request on a cold cache walks the stack once (under the
 * refresh lock) and stores once, in the source the record came from. */
static void refresh_walks_once_and_stores_in_place(void **state)
{
	static const struct {
		const char *r0, *r1;
		int store0, store1;
	} places[] = {
		{ "not_found", "found", 0, 1 },	/* c1 provides: it gets the store */
		{ "found", "found", 1, 0 },	/* c0 provides */
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		char *c2, *seen = NULL;
		ka_error err;

		refreshing_stack(f, places[i].r0, places[i].r1, &c2);
		ka_error_clear(&err);
		assert_int_equal(kai_with_record(f->ctx, "svc", NULL, copy_token,
						 &seen, &err), KA_OK);
		assert_string_equal(seen, "refreshed-token");
		free(seen);
		assert_int_equal(tu_calls(c2, "refresh"), 1);
		/* One walk: each source read once at most. */
		assert_int_equal(tu_calls(f->counter[0], "load"), 1);
		assert_int_equal(tu_calls(f->counter[1], "load"), places[i].store1);
		assert_int_equal(tu_calls(f->counter[0], "store"), places[i].store0);
		assert_int_equal(tu_calls(f->counter[1], "store"), places[i].store1);
		/* The refreshed record is cached: no more I/O. */
		seen = NULL;
		assert_int_equal(kai_with_record(f->ctx, "svc", NULL, copy_token,
						 &seen, &err), KA_OK);
		free(seen);
		assert_int_equal(tu_calls(f->counter[0], "load"), 1);
		assert_int_equal(tu_calls(c2, "refresh"), 1);
		free(c2);
	}
}

/* With the expiring record in the cache, a refresh does not walk the
 * stack: it reads the record's own source once, under the lock (another
 * process may have refreshed), and stores there. */
static void warm_refresh_reads_its_source_only(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	char *c2, *seen = NULL;
	ka_error err;

	refreshing_stack(f, "not_found", "found", &c2);
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", NULL, &r, &err), KA_OK);
	ka_record_free(r);
	assert_int_equal(tu_calls(f->counter[0], "load"), 1);
	assert_int_equal(tu_calls(f->counter[1], "load"), 1);
	assert_int_equal(kai_with_record(f->ctx, "svc", NULL, copy_token, &seen,
					 &err), KA_OK);
	assert_string_equal(seen, "refreshed-token");
	free(seen);
	assert_int_equal(tu_calls(f->counter[0], "load"), 1);
	assert_int_equal(tu_calls(f->counter[1], "load"), 2);
	assert_int_equal(tu_calls(f->counter[1], "store"), 1);
	assert_int_equal(tu_calls(f->counter[0], "store"), 0);
	assert_int_equal(tu_calls(c2, "refresh"), 1);
	free(c2);
}

/* A store of a record whose holder is cached reads nothing. */
static void store_after_load_reads_nothing(void **state)
{
	struct fixture *f = *state;
	struct ka_record *r = NULL;
	ka_error err;

	two_sources(f, "optional", "not_found", "sufficient", "found");
	ka_error_clear(&err);
	assert_int_equal(ka_load(f->ctx, "svc", NULL, &r, &err), KA_OK);
	assert_string_equal(ka_record_source(r), "test_counting");
	assert_int_equal(ka_record_set_access_token(r, "new-token"), KA_OK);
	assert_int_equal(ka_store(f->ctx, "svc", NULL, r, &err), KA_OK);
	ka_record_free(r);
	assert_int_equal(tu_calls(f->counter[0], "load"), 1);
	assert_int_equal(tu_calls(f->counter[1], "load"), 1);
	assert_int_equal(tu_calls(f->counter[1], "store"), 1);
	assert_int_equal(tu_calls(f->counter[0], "store"), 0);
	/* A record from another context, long gone, is routed the same way
	 * and its source pointer never followed. */
	{
		struct ka_ctx *other = tu_ctx(f->conf, 0);

		assert_int_equal(ka_load(other, "svc", "x", &r, &err), KA_OK);
		ka_ctx_free(other);
		assert_string_equal(ka_record_source(r), "test_counting");
		assert_int_equal(ka_store(f->ctx, "svc", "x", r, &err), KA_OK);
		ka_record_free(r);
	}
}

/* Two accounts of one service load and refresh at the same time: "a"
 * stops inside its source's load, in its flight and under its refresh
 * lock, until "b" has been served; "b" must not wait for it. */
static __thread int is_a;
static pthread_mutex_t ab_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ab_cond = PTHREAD_COND_INITIALIZER;
static int a_waiting, b_done, a_saw_b;

static void hold_a(const char *point)
{
	struct timespec until;

	if (!is_a || strcmp(point, "load") != 0)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&ab_mu);
	a_waiting = 1;
	pthread_cond_broadcast(&ab_cond);
	while (!b_done &&
	       pthread_cond_timedwait(&ab_cond, &ab_mu, &until) == 0)
		;
	a_saw_b = b_done;
	pthread_mutex_unlock(&ab_mu);
}

struct ab {
	struct ka_ctx *ctx;
	const char *account;
	enum ka_status st;
};

static void *refresh_account(void *arg)
{
	struct ab *x = arg;
	char *seen = NULL;
	ka_error err;

	is_a = strcmp(x->account, "a") == 0;
	ka_error_clear(&err);
	x->st = kai_with_record(x->ctx, "svc", x->account, copy_token, &seen,
				&err);
	free(seen);
	if (!is_a) {
		pthread_mutex_lock(&ab_mu);
		b_done = 1;
		pthread_cond_broadcast(&ab_cond);
		pthread_mutex_unlock(&ab_mu);
	}
	return NULL;
}

static void accounts_do_not_wait_on_each_other(void **state)
{
	struct fixture *f = *state;
	struct ab a = { 0 }, b = { 0 };
	pthread_t ta, tb;
	char *c2;

	refreshing_stack(f, "not_found", "found", &c2);
	a.ctx = b.ctx = f->ctx;
	a.account = "a";
	b.account = "b";
	kai_test_hook = hold_a;
	assert_int_equal(pthread_create(&ta, NULL, refresh_account, &a), 0);
	/* Let a reach its hook first, so b arrives while a's flight runs. */
	pthread_mutex_lock(&ab_mu);
	while (!a_waiting)
		pthread_cond_wait(&ab_cond, &ab_mu);
	pthread_mutex_unlock(&ab_mu);
	assert_int_equal(pthread_create(&tb, NULL, refresh_account, &b), 0);
	pthread_join(tb, NULL);
	pthread_join(ta, NULL);
	kai_test_hook = NULL;
	assert_int_equal(a.st, KA_OK);
	assert_int_equal(b.st, KA_OK);
	assert_true(a_saw_b);
	assert_int_equal(tu_calls(c2, "refresh"), 2);
	free(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(control_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(not_signed_in_says_what_to_run, setup, teardown),
		cmocka_unit_test_setup_teardown(cache_serves_second_load, setup, teardown),
		cmocka_unit_test_setup_teardown(single_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(store_goes_to_provider_else_first_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_stack_refuses_store, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled_service_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(no_modules_context_refuses_use, setup, teardown),
		cmocka_unit_test_setup_teardown(refresh_failure_keeps_a_valid_token, setup, teardown),
		cmocka_unit_test_setup_teardown(hot_path_refuses_expiring_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(refresh_walks_once_and_stores_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(warm_refresh_reads_its_source_only, setup, teardown),
		cmocka_unit_test_setup_teardown(store_after_load_reads_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(accounts_do_not_wait_on_each_other, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
