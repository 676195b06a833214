/* SPDX-License-Identifier: MIT */
/* test_keyring.c: the keyring module against a real Secret Service. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libsecret/secret.h>

#include "keyring-schema.h"

#include "testutil.h"
#include "kai.h"

extern char **environ;

/* This program, for helper processes (from /proc/self/exe at start). */
static char self_path[4096];

/* Every token of this test holds CANARY; test-keyring.sh fails if it shows
 * up in the output of this program. */
#define CANARY "kiwiCANARY"
static const char *const tokens[] = {
	CANARY "-0-a8f3e1d2c4b5", CANARY "-1-77e2b4c1d0a9",
	CANARY "-2-1c9d8e7f6a5b", CANARY "-3-0f1e2d3c4b5a",
	CANARY "-4-5a4b3c2d1e0f", CANARY "-5-9e8d7c6b5a4f",
	CANARY "-6-3b2a1f0e9d8c", CANARY "-7-c0ffee15bad0",
};
#define NTOKENS (sizeof(tokens) / sizeof(tokens[0]))

static const char config_text[] =
	"alpha: {\n"
	"  hosts = [ \"https://alpha.example\" ];\n"
	"  scopes = [ \"alpha:read\" ];\n"
	"  source = ( { module = \"keyring\"; } );\n"
	"};\n"
	"beta: {\n"
	"  hosts = [ \"https://beta.example\" ];\n"
	"  scopes = [ \"beta:read\" ];\n"
	"  source = ( { module = \"keyring\"; collection = \"session\"; } );\n"
	"};\n"
	"fast: {\n"
	"  hosts = [ \"https://fast.example\" ];\n"
	"  scopes = [ \"fast:read\" ];\n"
	"  source = ( { module = \"keyring\"; timeout_ms = 300; } );\n"
	"};\n"
	"badcoll: {\n"
	"  hosts = [ \"https://badcoll.example\" ];\n"
	"  source = ( { module = \"keyring\"; collection = \"login\"; } );\n"
	"};\n"
	"badtime: {\n"
	"  hosts = [ \"https://badtime.example\" ];\n"
	"  source = ( { module = \"keyring\"; timeout_ms = 0; } );\n"
	"};\n";

struct fixture {
	char *dir;
	char *config;
	struct ka_ctx *ctx;
};
static struct fixture fx;

/* Everything the library logs, at every level, to check for the canary. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_buf;
static size_t log_len;

static void log_sink(int level, const char *message, void *data)
{
	(void)data;
	pthread_mutex_lock(&log_lock);
	log_buf = realloc(log_buf, log_len + strlen(message) + 16);
	log_len += (size_t)sprintf(log_buf + log_len, "%d %s\n", level,
				   message);
	pthread_mutex_unlock(&log_lock);
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static struct ka_record *make_record(size_t tok)
{
	struct ka_record *r = NULL;

	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, tokens[tok]), KA_OK);
	assert_int_equal(ka_record_set_refresh_token(r,
			 tokens[(tok + 1) % NTOKENS]), KA_OK);
	assert_int_equal(ka_record_set_token_type(r, "Bearer"), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "alpha:read"), KA_OK);
	ka_record_set_expires_at(r, kai_now() + 3600);
	return r;
}

static void no_canary(const char *text)
{
	if (text != NULL && strstr(text, CANARY) != NULL)
		fail_msg("a token appeared in a message or log line");
}

static struct ka_service *svc(const char *name)
{
	struct ka_service *s = kai_service_lookup(fx.ctx, name);

	assert_non_null(s);
	return s;
}

/* Drop the broker's cache so the next load reads the keyring. */
static void uncache(const char *service)
{
	struct ka_service *s = svc(service);

	kai_cache_forget(s);
}

static void store_ok(const char *service, const char *account, size_t tok)
{
	struct ka_record *r = make_record(tok);
	ka_error err;

	ka_error_clear(&err);
	if (ka_store(fx.ctx, service, account, r, &err) != KA_OK)
		fail_msg("store %s/%s: %s", service, account, err.text);
	no_canary(err.text);
	ka_record_free(r);
}

/* Load uncached; returns the token index it holds, or fails. */
static size_t load_tok(const char *service, const char *account)
{
	struct ka_record *r = NULL;
	ka_error err;

	uncache(service);
	ka_error_clear(&err);
	if (ka_load(fx.ctx, service, account, &r, &err) != KA_OK)
		fail_msg("load %s/%s: %s", service, account, err.text);
	assert_non_null(r->access_token);
	for (size_t i = 0; i < NTOKENS; i++) {
		if (strcmp(r->access_token, tokens[i]) == 0) {
			assert_string_equal(ka_record_source(r), "keyring");
			ka_record_free(r);
			return i;
		}
	}
	fail_msg("load %s/%s: unexpected token", service, account);
	return 0;
}

static enum ka_status load_status(const char *service, const char *account,
				  ka_error *err)
{
	struct ka_record *r = NULL;
	enum ka_status st;

	uncache(service);
	ka_error_clear(err);
	st = ka_load(fx.ctx, service, account, &r, err);
	ka_record_free(r);
	no_canary(err->text);
	return st;
}

static SecretService *service_get(void)
{
	GError *e = NULL;
	SecretService *s = secret_service_get_sync(SECRET_SERVICE_NONE, NULL,
						   &e);

	if (s == NULL)
		fail_msg("no Secret Service: %s", e->message);
	return s;
}

/* Items of our schema for (service, account), locked ones included. */
static GList *items_of(const char *service, const char *account)
{
	const SecretSchema *anyp = &kiwiauth_keyring_schema;
	GHashTable *a = g_hash_table_new(g_str_hash, g_str_equal);
	GError *e = NULL;
	SecretService *s = service_get();
	GList *items;

	g_hash_table_insert(a, (gpointer)"service", (gpointer)service);
	if (account != NULL)
		g_hash_table_insert(a, (gpointer)"account", (gpointer)account);
	items = secret_service_search_sync(s, anyp, a, SECRET_SEARCH_ALL,
					   NULL, &e);
	if (e != NULL)
		fail_msg("search: %s", e->message);
	g_object_unref(s);
	g_hash_table_unref(a);
	return items;
}

static size_t count_items(const char *service, const char *account)
{
	GList *items = items_of(service, account);
	size_t n = g_list_length(items);

	g_list_free_full(items, g_object_unref);
	return n;
}

/* ---- locking and unlocking the login collection over D-Bus ------------ */

static SecretCollection *login_collection(void)
{
	SecretService *s = service_get();
	GError *e = NULL;
	SecretCollection *c = secret_collection_for_alias_sync(s, "default",
			SECRET_COLLECTION_NONE, NULL, &e);

	if (c == NULL)
		fail_msg("no default collection: %s", e ? e->message : "none");
	g_object_unref(s);
	return c;
}

static void lock_login(void)
{
	SecretService *s = service_get();
	GList *l = g_list_append(NULL, login_collection());
	GError *e = NULL;

	if (secret_service_lock_sync(s, l, NULL, NULL, &e) != 1)
		fail_msg("lock: %s", e ? e->message : "nothing locked");
	g_list_free_full(l, g_object_unref);
	g_object_unref(s);
}

/* gnome-keyring unlocks without a prompt through its internal interface,
 * given the password over a "plain" session. */
static void unlock_login(void)
{
	const char *pw = getenv("KA_KEYRING_PASSWORD");
	GDBusConnection *bus;
	GVariant *res, *secret, *done;
	GError *e = NULL;
	const char *session;

	assert_non_null(pw);
	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &e);
	assert_non_null(bus);
	res = g_dbus_connection_call_sync(bus, "org.freedesktop.secrets",
		"/org/freedesktop/secrets", "org.freedesktop.Secret.Service",
		"OpenSession", g_variant_new("(sv)", "plain",
					     g_variant_new_string("")),
		G_VARIANT_TYPE("(vo)"), 0, 5000, NULL, &e);
	if (res == NULL)
		fail_msg("OpenSession: %s", e->message);
	g_variant_get(res, "(v&o)", NULL, &session);
	secret = g_variant_new("(o@ay@ays)", session,
		g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1),
		g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, pw, strlen(pw),
					  1), "text/plain");
	done = g_dbus_connection_call_sync(bus, "org.freedesktop.secrets",
		"/org/freedesktop/secrets",
		"org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
		"UnlockWithMasterPassword",
		g_variant_new("(o@(oayays))",
			      "/org/freedesktop/secrets/collection/login",
			      secret),
		NULL, 0, 5000, NULL, &e);
	if (done == NULL)
		fail_msg("UnlockWithMasterPassword: %s", e->message);
	g_variant_unref(done);
	g_variant_unref(res);
	g_object_unref(bus);
}

/* ---- helper processes ---------------------------------------------------- */

/* Run this program as a helper ("--helper OP ...") with an environment in
 * which DBUS_SESSION_BUS_ADDRESS is replaced (bus), or removed (bus ""),
 * or kept (bus NULL). Returns the exit status; out gets its stdout. */
static int run_helper(const char *bus, const char *const *args, char *out,
		      size_t outlen)
{
	char *argv[16], **envp, *busvar = NULL;
	posix_spawn_file_actions_t fa;
	size_t n = 0, k = 0, got = 0;
	int fds[2], status;
	pid_t pid;
	ssize_t r;

	argv[k++] = self_path;
	argv[k++] = (char *)"--helper";
	for (size_t i = 0; args[i] != NULL && k < 15; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	while (environ[n] != NULL)
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	assert_non_null(envp);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (bus == NULL || strncmp(environ[i],
				"DBUS_SESSION_BUS_ADDRESS=", 25) != 0)
			envp[k++] = environ[i];
	if (bus != NULL && *bus != '\0') {
		assert_true(asprintf(&busvar, "DBUS_SESSION_BUS_ADDRESS=%s",
				     bus) > 0);
		envp[k++] = busvar;
	}
	assert_int_equal(pipe(fds), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((r = read(fds[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(envp);
	free(busvar);
	no_canary(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* --helper load CONFIG SERVICE ACCOUNT TOK: exit 0 if the record holds
 * token TOK, 3 if another one, else 10 + status.
 * --helper store CONFIG SERVICE ACCOUNT TOK: store token TOK.
 * --helper probe CONFIG SERVICE ACCOUNT: load, then store; print
 * "load STATUS MS TEXT" and "store STATUS MS TEXT" lines. */
static int helper(int argc, char **argv)
{
	struct ka_options o = { 0 };
	struct ka_ctx *ctx = NULL;
	struct ka_record *r = NULL;
	ka_error err;
	enum ka_status st;
	double t0;
	size_t tok;

	if (argc < 6)
		return 2;
	o.config = argv[3];
	o.flags = KA_CTX_LENIENT;
	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK) {
		printf("ctx %s\n", err.text);
		return 2;
	}
	tok = argc > 6 ? strtoul(argv[6], NULL, 10) % NTOKENS : 0;
	if (strcmp(argv[2], "load") == 0) {
		st = ka_load(ctx, argv[4], argv[5], &r, &err);
		if (st == KA_OK)
			st = strcmp(r->access_token, tokens[tok]) == 0 ? 0 : 3;
		else
			st = 10 + st;
	} else if (strcmp(argv[2], "store") == 0) {
		assert_int_equal(ka_record_new(&r), KA_OK);
		ka_record_set_access_token(r, tokens[tok]);
		st = ka_store(ctx, argv[4], argv[5], r, &err);
		if (st != KA_OK)
			printf("store %s\n", err.text);
	} else {
		t0 = now_ms();
		st = ka_load(ctx, argv[4], argv[5], &r, &err);
		printf("load %d %.0f %s\n", st, now_ms() - t0, err.text);
		ka_record_free(r);
		r = make_record(0);
		ka_error_clear(&err);
		t0 = now_ms();
		st = ka_store(ctx, argv[4], argv[5], r, &err);
		printf("store %d %.0f %s\n", st, now_ms() - t0, err.text);
		st = 0;
	}
	ka_record_free(r);
	ka_ctx_free(ctx);
	return (int)st;
}

/* ---- setup --------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	fx.dir = tu_tmpdir();
	fx.config = tu_write(fx.dir, "kiwi-auth.conf", config_text, 0600);
	fx.ctx = tu_ctx(fx.config, KA_CTX_LENIENT);
	ka_ctx_set_log(fx.ctx, log_sink, NULL);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ka_ctx_free(fx.ctx);
	tu_rmrf(fx.dir);
	free(fx.config);
	free(fx.dir);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_args_checked(void **state)
{
	const struct ka_service *s;

	(void)state;
	s = ka_service_find(fx.ctx, "badcoll");
	assert_non_null(s);
	assert_non_null(ka_service_error(s));
	assert_true(tu_contains(ka_service_error(s), "collection must be"));
	s = ka_service_find(fx.ctx, "badtime");
	assert_non_null(s);
	assert_non_null(ka_service_error(s));
	assert_true(tu_contains(ka_service_error(s), "timeout_ms"));
	assert_null(ka_service_error(ka_service_find(fx.ctx, "alpha")));
	assert_null(ka_service_error(ka_service_find(fx.ctx, "beta")));
}

static void test_store_load_replace_erase(void **state)
{
	ka_error err;
	unsigned erased = 9;

	(void)state;
	store_ok("alpha", "cycle", 0);
	assert_int_equal(load_tok("alpha", "cycle"), 0);
	assert_int_equal(count_items("alpha", "cycle"), 1);

	store_ok("alpha", "cycle", 1);
	assert_int_equal(load_tok("alpha", "cycle"), 1);
	assert_int_equal(count_items("alpha", "cycle"), 1);

	ka_error_clear(&err);
	assert_int_equal(ka_erase(fx.ctx, "alpha", "cycle", &erased, &err),
			 KA_OK);
	assert_int_equal(erased, 1);
	assert_int_equal(count_items("alpha", "cycle"), 0);
	assert_int_equal(load_status("alpha", "cycle", &err),
			 KA_ERR_NOT_FOUND);
	assert_true(err.auth_required);

	ka_error_clear(&err);
	assert_int_equal(ka_erase(fx.ctx, "alpha", "cycle", &erased, &err),
			 KA_OK);
	assert_int_equal(erased, 0);
}

static void record_account(const char *account, void *data)
{
	GString *s = data;

	g_string_append_printf(s, "[%s]", account);
}

static void test_side_by_side(void **state)
{
	static const char *const accts[] = { "default", "work", "home" };
	GString *seen = g_string_new("");
	ka_error err;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		store_ok("alpha", accts[i], i);
		store_ok("beta", accts[i], i + 3);
	}
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(load_tok("alpha", accts[i]), i);
		assert_int_equal(load_tok("beta", accts[i]), i + 3);
		assert_int_equal(count_items("alpha", accts[i]), 1);
		assert_int_equal(count_items("beta", accts[i]), 1);
	}
	/* account NULL is the default account */
	assert_int_equal(load_tok("alpha", NULL), 0);

	ka_error_clear(&err);
	assert_int_equal(ka_accounts(fx.ctx, "alpha", record_account, seen,
				     &err), KA_OK);
	for (size_t i = 0; i < 3; i++) {
		char want[32];

		snprintf(want, sizeof(want), "[%s]", accts[i]);
		assert_true(tu_contains(seen->str, want));
	}
	g_string_free(seen, TRUE);
}

static void test_cross_process(void **state)
{
	const char *load7[] = { "load", fx.config, "alpha", "xproc", "7",
				NULL };
	const char *store5[] = { "store", fx.config, "alpha", "xproc", "5",
				 NULL };
	char out[4096];

	(void)state;
	store_ok("alpha", "xproc", 7);
	assert_int_equal(run_helper(NULL, load7, out, sizeof(out)), 0);
	assert_int_equal(run_helper(NULL, store5, out, sizeof(out)), 0);
	assert_int_equal(load_tok("alpha", "xproc"), 5);
}

static char *run_capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	GString *s = g_string_new("");
	char buf[1024];
	size_t n;

	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		g_string_append_len(s, buf, (gssize)n);
	assert_int_equal(pclose(p), 0);
	return g_string_free(s, FALSE);
}

/* secret-tool shows our items: readable label, our attributes, and the
 * record as the secret; the token is in the secret and nowhere else. */
static void test_secret_tool_sees_items(void **state)
{
	struct ka_record *r = NULL;
	ka_error err;
	char *out, *line, *save = NULL;
	int label = 0, secret = 0, schema = 0;

	(void)state;
	store_ok("alpha", "tool", 2);
	out = run_capture("secret-tool search --all service alpha account tool "
			  "2>&1");
	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "secret = ", 9) == 0) {
			secret++;
			ka_error_clear(&err);
			assert_int_equal(kai_record_from_json(line + 9,
					 strlen(line + 9), &r, &err), KA_OK);
			assert_string_equal(r->access_token, tokens[2]);
			ka_record_free(r);
			continue;
		}
		no_canary(line);
		if (strcmp(line, "label = kiwi-auth: alpha (tool)") == 0)
			label++;
		if (strcmp(line, "schema = org.kiwiauth.Token") == 0 ||
		    strcmp(line, "attribute.xdg:schema = org.kiwiauth.Token")
		    == 0)
			schema++;
	}
	g_free(out);
	assert_int_equal(secret, 1);
	assert_int_equal(label, 1);
	assert_int_equal(schema, 1);

	out = run_capture("secret-tool lookup service alpha account tool");
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(out, strlen(out), &r, &err),
			 KA_OK);
	assert_string_equal(r->access_token, tokens[2]);
	assert_string_equal(r->refresh_token, tokens[3]);
	ka_record_free(r);
	g_free(out);
}

/* Labels and attributes of every item we wrote hold no token. */
static void test_canary_not_in_labels_or_attributes(void **state)
{
	GList *items;
	GHashTableIter it;
	gpointer k, v;

	(void)state;
	store_ok("alpha", "canary", 4);
	items = items_of("alpha", NULL);
	assert_true(g_list_length(items) >= 1);
	for (GList *l = items; l != NULL; l = l->next) {
		GHashTable *a = secret_item_get_attributes(l->data);
		char *label = secret_item_get_label(l->data);

		no_canary(label);
		assert_true(tu_contains(label, "kiwi-auth: alpha ("));
		g_hash_table_iter_init(&it, a);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			no_canary(k);
			no_canary(v);
		}
		g_hash_table_unref(a);
		g_free(label);
	}
	g_list_free_full(items, g_object_unref);
}

static int unlock_teardown(void **state)
{
	(void)state;
	unlock_login();
	return 0;
}

static void test_locked_collection(void **state)
{
	const char *probe[] = { "probe", fx.config, "alpha", "default", NULL };
	char out[4096], want[32];
	ka_error err;
	unsigned erased = 9;

	(void)state;
	store_ok("alpha", "locked", 6);
	store_ok("beta", "locked", 5);
	lock_login();

	assert_int_equal(load_status("alpha", "locked", &err),
			 KA_ERR_UNAVAILABLE);
	assert_false(err.auth_required);
	if (strncmp(err.text, "keyring is locked: ", 19) != 0)
		fail_msg("load: %s", err.text);
	/* An account that was never stored: still "locked", not "not
	 * signed in", because nobody can tell. */
	assert_int_equal(load_status("alpha", "never", &err),
			 KA_ERR_UNAVAILABLE);
	assert_true(tu_contains(err.text, "keyring is locked: "));

	ka_error_clear(&err);
	{
		struct ka_record *r = make_record(1);

		assert_int_equal(ka_store(fx.ctx, "alpha", "locked", r, &err),
				 KA_ERR_UNAVAILABLE);
		ka_record_free(r);
	}
	assert_true(tu_contains(err.text, "keyring is locked: "));
	no_canary(err.text);

	ka_error_clear(&err);
	assert_int_not_equal(ka_erase(fx.ctx, "alpha", "locked", &erased,
				      &err), KA_OK);
	assert_int_equal(erased, 0);
	assert_true(tu_contains(err.text, "keyring is locked: "));

	/* Another process says the same. */
	assert_int_equal(run_helper(NULL, probe, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "load %d ", KA_ERR_UNAVAILABLE);
	assert_true(tu_contains(out, want));
	assert_true(tu_contains(out, "keyring is locked: "));

	/* The session collection is not locked. */
	assert_int_equal(load_tok("beta", "locked"), 5);

	unlock_login();
	assert_int_equal(load_tok("alpha", "locked"), 6);
}

static void check_probe(const char *out, const char *want, double limit)
{
	const char *ops[] = { "load ", "store " };

	for (size_t i = 0; i < 2; i++) {
		const char *p = strstr(out, ops[i]);
		int st = -1;
		double ms = -1;
		int off = 0;

		assert_non_null(p);
		assert_int_equal(sscanf(p + strlen(ops[i]), "%d %lf %n", &st,
					&ms, &off), 2);
		assert_int_equal(st, KA_ERR_UNAVAILABLE);
		if (strncmp(p + strlen(ops[i]) + off, want, strlen(want)) != 0)
			fail_msg("%s: want '%s...', got: %s", ops[i], want, out);
		if (ms > limit)
			fail_msg("%s took %.0f ms (limit %.0f)", ops[i], ms,
				 limit);
	}
}

static void test_no_daemon(void **state)
{
	const char *probe[] = { "probe", fx.config, "alpha", "default", NULL };
	const char *bus = getenv("KA_KEYRING_EMPTY_BUS");
	char out[4096];

	(void)state;
	assert_non_null(bus);
	assert_int_equal(run_helper(bus, probe, out, sizeof(out)), 0);
	check_probe(out, "keyring unavailable: no Secret Service on the "
		    "session bus (start gnome-keyring-daemon", 2000);
}

static void test_no_bus(void **state)
{
	const char *probe[] = { "probe", fx.config, "alpha", "default", NULL };
	char out[4096];

	(void)state;
	assert_int_equal(run_helper("unix:path=/nonexistent/ka-no-bus", probe,
				    out, sizeof(out)), 0);
	check_probe(out, "keyring unavailable: cannot reach the D-Bus session "
		    "bus", 2000);
	/* No address at all (and no display to autolaunch with). */
	assert_int_equal(run_helper("", probe, out, sizeof(out)), 0);
	check_probe(out, "keyring unavailable: cannot reach the D-Bus session "
		    "bus", 2000);
}

static pid_t daemon_pid(void)
{
	const char *p = getenv("KA_KEYRING_PID");

	assert_non_null(p);
	return (pid_t)strtol(p, NULL, 10);
}

static int cont_teardown(void **state)
{
	(void)state;
	kill(daemon_pid(), SIGCONT);
	return 0;
}

static void test_stopped_daemon(void **state)
{
	struct ka_record *r = make_record(3), *got = NULL;
	struct ka_mctx *m = svc("fast")->sources[0];
	ka_error err;
	double t0, ms;
	size_t tok;

	(void)state;
	store_ok("fast", "stop", 2);
	assert_int_equal(kill(daemon_pid(), SIGSTOP), 0);

	/* The module says "timeout"; the broker reports it as a source
	 * that could not be consulted, with the module's message. */
	t0 = now_ms();
	ka_error_clear(&err);
	assert_int_equal(m->mod->source->load(m, "fast", "stop", &got, &err),
			 KA_ERR_TIMEOUT);
	ms = now_ms() - t0;
	assert_null(got);
	assert_string_equal(err.text, "keyring did not answer within 300 ms "
			    "(is the Secret Service daemon stopped or stuck?)");
	if (ms < 250 || ms > 1000)
		fail_msg("timed out after %.0f ms, want about 300", ms);

	t0 = now_ms();
	assert_int_not_equal(load_status("fast", "stop", &err), KA_OK);
	ms = now_ms() - t0;
	assert_false(err.auth_required);
	assert_true(tu_contains(err.text, "did not answer within 300 ms"));
	if (ms < 250 || ms > 1000)
		fail_msg("ka_load timed out after %.0f ms", ms);

	ka_error_clear(&err);
	t0 = now_ms();
	assert_int_equal(ka_store(fx.ctx, "fast", "stop", r, &err),
			 KA_ERR_TIMEOUT);
	ms = now_ms() - t0;
	no_canary(err.text);
	assert_true(tu_contains(err.text, "did not answer within 300 ms"));
	assert_true(tu_contains(err.text, "may still have been stored"));
	if (ms > 1500)
		fail_msg("store timed out after %.0f ms", ms);
	ka_record_free(r);

	/* The store request was already sent: the daemon may carry it out
	 * once it runs again, so either record is right, but one must be. */
	assert_int_equal(kill(daemon_pid(), SIGCONT), 0);
	tok = load_tok("fast", "stop");
	assert_true(tok == 2 || tok == 3);
}

/* ---- threads ------------------------------------------------------------- */

#define NTHREADS 4
#define NLOOPS 15

struct worker {
	pthread_t t;
	int id;
	int bad;
};

static struct ka_mctx *alpha_source(void)
{
	return svc("alpha")->sources[0];
}

/* Loads through the one instance of the module, never the cache. */
static int module_load(const char *account, const char **tok)
{
	struct ka_mctx *m = alpha_source();
	struct ka_record *r = NULL;
	ka_error err;
	enum ka_status st;

	ka_error_clear(&err);
	st = m->mod->source->load(m, "alpha", account, &r, &err);
	*tok = NULL;
	if (st == KA_OK) {
		for (size_t i = 0; i < NTOKENS; i++)
			if (strcmp(r->access_token, tokens[i]) == 0)
				*tok = tokens[i];
		ka_record_free(r);
	}
	return st;
}

static void *load_worker(void *arg)
{
	struct worker *w = arg;
	char acct[32];
	const char *tok;

	snprintf(acct, sizeof(acct), "thread%d", w->id);
	for (int i = 0; i < NLOOPS; i++) {
		if (module_load(acct, &tok) != KA_OK || tok != tokens[w->id])
			w->bad++;
		if (module_load("shared", &tok) != KA_OK || tok != tokens[7])
			w->bad++;
	}
	return NULL;
}

static void test_threads_load(void **state)
{
	struct worker w[NTHREADS];
	char acct[32];

	(void)state;
	for (int i = 0; i < NTHREADS; i++) {
		snprintf(acct, sizeof(acct), "thread%d", i);
		store_ok("alpha", acct, (size_t)i);
	}
	store_ok("alpha", "shared", 7);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&w[i].t, NULL, load_worker,
						&w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].bad, 0);
	}
}

/* Replacing never opens a window without a record. */
static volatile int writer_done;

static void *read_worker(void *arg)
{
	struct worker *w = arg;
	const char *tok;

	while (!writer_done) {
		if (module_load("swap", &tok) != KA_OK ||
		    (tok != tokens[0] && tok != tokens[1]))
			w->bad++;
	}
	return NULL;
}

static void test_replace_is_atomic(void **state)
{
	struct worker w[2];
	struct ka_mctx *m = alpha_source();
	ka_error err;

	(void)state;
	store_ok("alpha", "swap", 0);
	writer_done = 0;
	for (int i = 0; i < 2; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&w[i].t, NULL, read_worker,
						&w[i]), 0);
	}
	for (int i = 0; i < 30; i++) {
		struct ka_record *r = make_record((size_t)(i % 2));

		ka_error_clear(&err);
		assert_int_equal(m->mod->source->store(m, "alpha", "swap", r,
						       &err), KA_OK);
		ka_record_free(r);
	}
	writer_done = 1;
	for (int i = 0; i < 2; i++) {
		pthread_join(w[i].t, NULL);
		assert_int_equal(w[i].bad, 0);
	}
	assert_int_equal(count_items("alpha", "swap"), 1);
}

/* Last: nothing any test did put a token into a log line. */
static void test_logs_hold_no_token(void **state)
{
	(void)state;
	pthread_mutex_lock(&log_lock);
	no_canary(log_buf);
	pthread_mutex_unlock(&log_lock);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_checked),
		cmocka_unit_test(test_store_load_replace_erase),
		cmocka_unit_test(test_side_by_side),
		cmocka_unit_test(test_cross_process),
		cmocka_unit_test(test_secret_tool_sees_items),
		cmocka_unit_test(test_canary_not_in_labels_or_attributes),
		cmocka_unit_test_teardown(test_locked_collection,
					  unlock_teardown),
		cmocka_unit_test(test_no_daemon),
		cmocka_unit_test(test_no_bus),
		cmocka_unit_test_teardown(test_stopped_daemon, cont_teardown),
		cmocka_unit_test(test_threads_load),
		cmocka_unit_test(test_replace_is_atomic),
		cmocka_unit_test(test_logs_hold_no_token),
	};

	if (argc > 1 && strcmp(argv[1], "--helper") == 0)
		return helper(argc, argv);
	if (readlink("/proc/self/exe", self_path, sizeof(self_path) - 1) <= 0)
		snprintf(self_path, sizeof(self_path), "%s", argv[0]);
	/* Never touch a real keyring: only the harness's private one. */
	if (getenv("KA_KEYRING_PID") == NULL) {
		printf("SKIP: run under tests/keyring/with-keyring.sh\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
