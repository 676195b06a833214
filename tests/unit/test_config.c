/* SPDX-License-Identifier: MIT */
/* test_config.c: the configuration reader: stanzas, errors with file:line,
 * file safety, services.d, layering. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

static int setup(void **state)
{
	*state = tu_sandbox();
	return 0;
}

static int teardown(void **state)
{
	tu_sandbox_free(NULL, *state);
	return 0;
}

/* Load config (file or dir) into a bare context without modules. */
static struct ka_ctx *load(const char *config, enum ka_status want)
{
	struct ka_ctx *ctx = calloc(1, sizeof(*ctx));
	ka_error err;

	assert_non_null(ctx);
	ka_error_clear(&err);
	assert_int_equal(kai_config_load(ctx, config, &err), want);
	if (want == KA_ERR_CONFIG) {
		assert_int_equal(err.code, KA_ERR_CONFIG);
		assert_true(ka_ctx_diag_count(ctx) > 0);
	}
	return ctx;
}

/* Write text as DIR/kiwi-auth.conf and open it leniently. */
static struct ka_ctx *load_text(const char *dir, const char *text,
				char **path_out)
{
	struct ka_ctx *ctx;
	char *p = tu_write(dir, "kiwi-auth.conf", text, 0600);

	ctx = tu_ctx(p, KA_CTX_LENIENT | KA_CTX_NO_MODULES);
	if (path_out != NULL)
		*path_out = p;
	else
		free(p);
	return ctx;
}

/* 1 if a diagnostic contains "...FILE:LINE: ...needle". */
static int has_diag(const struct ka_ctx *ctx, const char *file, int line,
		    const char *needle)
{
	char *where;
	int found = 0;

	assert_true(asprintf(&where, "%s:%d: ", file, line) > 0);
	for (size_t i = 0; i < ka_ctx_diag_count(ctx); i++) {
		const char *d = ka_ctx_diag(ctx, i);
		const char *w = strstr(d, where);

		if (w != NULL && tu_contains(w, needle))
			found = 1;
	}
	if (!found) {
		for (size_t i = 0; i < ka_ctx_diag_count(ctx); i++)
			print_message("  diag: %s\n", ka_ctx_diag(ctx, i));
		print_message("  wanted %s%s\n", where, needle);
	}
	free(where);
	return found;
}

static const char full_conf[] =
	"# a complete stanza\n"					/* 1 */
	"global = { audit_file = \"/var/log/ka.log\"; audit_syslog = true; };\n"
	"demo = {\n"						/* 3 */
	"  description = \"Demo API\";\n"
	"  hosts = [ \"https://API.Example.com\", \"https://*.example.org:8443\",\n"
	"            \"http://127.0.0.1:*\", \"http://[::1]:8080\", \"http://localhost\" ];\n"
	"  scopes = [ \"demo:read\", \"demo:write\" ];\n"	/* 7 */
	"  header = \"X-Api-Key: %s\";\n"
	"  min_valid = 120;\n"
	"  locked = true;\n"					/* 10 */
	"  source = (\n"
	"    { module = \"env\"; control = \"sufficient\"; variable = \"DEMO_TOKEN\"; },\n"
	"    { module = \"file\";\n"				/* 13 */
	"      path = \"/x/y\";\n"
	"      retries = 3;\n"
	"      big = 5000000000L;\n"
	"      strict = false;\n"				/* 17 */
	"      names = [ \"a\", \"b\" ];\n"
	"      empty = [];\n"
	"    }\n"
	"  );\n"
	"  refresh = { module = \"oauth2\"; url = \"https://id.example.com\"; };\n"
	"};\n"							/* 23 */
	"other = { hosts = [\"https://o.example.net\"]; source = ({ module = \"file\"; }); };\n";

static void valid_stanza_round_trip(void **state)
{
	char *path;
	struct ka_ctx *ctx = load_text(*state, full_conf, &path);
	const struct ka_service *s, *o;
	char *origin;

	assert_int_equal(ka_ctx_diag_count(ctx), 0);
	assert_int_equal(ka_service_count(ctx), 2);
	s = ka_service_at(ctx, 0);
	assert_ptr_equal(ka_service_find(ctx, "demo"), s);
	assert_string_equal(ka_service_name(s), "demo");
	assert_string_equal(ka_service_description(s), "Demo API");
	assert_true(asprintf(&origin, "%s:3", path) > 0);
	assert_string_equal(ka_service_origin(s), origin);
	assert_null(ka_service_error(s));
	assert_int_equal(ka_service_host_count(s), 5);
	assert_string_equal(ka_service_host(s, 0), "https://api.example.com");
	assert_string_equal(ka_service_host(s, 1), "https://*.example.org:8443");
	assert_string_equal(ka_service_host(s, 2), "http://127.0.0.1:*");
	assert_string_equal(ka_service_host(s, 3), "http://[::1]:8080");
	assert_string_equal(ka_service_host(s, 4), "http://localhost");
	assert_int_equal(ka_service_scope_count(s), 2);
	assert_string_equal(ka_service_scope(s, 0), "demo:read");
	assert_string_equal(ka_service_scope(s, 1), "demo:write");
	assert_string_equal(ka_service_header(s), "X-Api-Key: %s");
	assert_int_equal(ka_service_min_valid(s), 120);
	assert_true(ka_service_locked(s));
	assert_int_equal(ka_service_source_count(s), 2);
	assert_string_equal(ka_service_source_module(s, 0), "env");
	assert_int_equal(ka_service_source_control(s, 0), KA_CONTROL_SUFFICIENT);
	assert_string_equal(ka_service_source_module(s, 1), "file");
	assert_int_equal(ka_service_source_control(s, 1), KA_CONTROL_REQUIRED);
	assert_string_equal(ka_service_refresh_module(s), "oauth2");

	o = ka_service_at(ctx, 1);
	assert_string_equal(ka_service_name(o), "other");
	assert_null(ka_service_description(o));
	assert_string_equal(ka_service_header(o), KAI_HEADER_DEFAULT);
	assert_int_equal(ka_service_min_valid(o), KAI_MIN_VALID_DEFAULT);
	assert_false(ka_service_locked(o));
	assert_int_equal(ka_service_scope_count(o), 0);
	assert_null(ka_service_refresh_module(o));

	assert_string_equal(ctx->audit_file, "/var/log/ka.log");
	assert_true(ctx->audit_syslog);
	free(origin);
	free(path);
	ka_ctx_free(ctx);
}

static void module_entries_and_args(void **state)
{
	struct ka_ctx *ctx = load_text(*state, full_conf, NULL);
	struct ka_service *s = ctx->services[0];
	struct ka_mctx *env = s->sources[0], *file = s->sources[1];
	const struct kai_arg *a;

	assert_ptr_equal(env->head.host, &kai_host);
	assert_ptr_equal(ka_host_of(env), &kai_host);
	assert_ptr_equal(env->ctx, ctx);
	assert_ptr_equal(env->svc, s);
	assert_ptr_equal(env->file, s->file);
	assert_int_equal(env->line, 12);
	assert_int_equal(env->nargs, 1);
	a = kai_mctx_arg(env, "variable");
	assert_non_null(a);
	assert_int_equal(a->type, KA_ARG_STRING);
	assert_string_equal(a->str, "DEMO_TOKEN");
	assert_null(kai_mctx_arg(env, "module"));
	assert_null(kai_mctx_arg(env, "control"));
	assert_null(kai_mctx_arg(env, "nothing"));

	assert_int_equal(file->line, 13);
	assert_int_equal(file->nargs, 6);
	a = kai_mctx_arg(file, "path");
	assert_int_equal(a->type, KA_ARG_STRING);
	assert_int_equal(a->line, 14);
	a = kai_mctx_arg(file, "retries");
	assert_int_equal(a->type, KA_ARG_INT);
	assert_int_equal(a->num, 3);
	assert_int_equal(a->line, 15);
	a = kai_mctx_arg(file, "big");
	assert_int_equal(a->type, KA_ARG_INT);
	assert_true(a->num == 5000000000LL);
	a = kai_mctx_arg(file, "strict");
	assert_int_equal(a->type, KA_ARG_BOOL);
	assert_int_equal(a->flag, 0);
	assert_int_equal(a->line, 17);
	a = kai_mctx_arg(file, "names");
	assert_int_equal(a->type, KA_ARG_STRING_LIST);
	assert_int_equal(a->list.n, 2);
	assert_string_equal(a->list.v[1], "b");
	a = kai_mctx_arg(file, "empty");
	assert_int_equal(a->type, KA_ARG_STRING_LIST);
	assert_int_equal(a->list.n, 0);

	assert_non_null(s->refresh);
	assert_string_equal(s->refresh->modname, "oauth2");
	assert_int_equal(s->refresh->line, 22);
	assert_int_equal(s->refresh->control, 0);
	assert_string_equal(kai_mctx_arg(s->refresh, "url")->str,
			    "https://id.example.com");
	ka_ctx_free(ctx);
}

/* Each stanza-level problem: the diagnostic names file:line, the service
 * is disabled, and the load itself does not fail. */
struct bad_case {
	const char *body;	/* inside "svc = {\n...};" starting at line 2 */
	int line;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "hosts = [\"https://a.example\"];\nsource = ({module=\"file\";});\nfrob = 1;\n",
	  4, "unknown key 'frob'" },
	{ "hosts = \"https://a.example\";\nsource = ({module=\"file\";});\n",
	  2, "'hosts' must be a non-empty list" },
	{ "hosts = [];\nsource = ({module=\"file\";});\n", 2, "'hosts'" },
	{ "hosts = [1];\nsource = ({module=\"file\";});\n", 2, "hosts[0] must be a string" },
	{ "hosts = [\"ftp://a.example\"];\nsource = ({module=\"file\";});\n",
	  2, "must start with https://" },
	{ "hosts = [\"http://a.example\"];\nsource = ({module=\"file\";});\n",
	  2, "not loopback" },
	{ "hosts = [\"http://127.0.0.2\"];\nsource = ({module=\"file\";});\n",
	  2, "not loopback" },
	{ "hosts = [\"https://a.example/path\"];\nsource = ({module=\"file\";});\n",
	  2, "without user, path or query" },
	{ "hosts = [\"https://u@a.example\"];\nsource = ({module=\"file\";});\n",
	  2, "without user, path or query" },
	{ "hosts = [\"https://a.example:443/\"];\nsource = ({module=\"file\";});\n",
	  2, "bad port" },
	{ "hosts = [\"https://a!b.example\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a-.example\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://[::1::2]\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://*.1.2.3.4\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a.example.1\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a.example.\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a.example:0\"];\nsource = ({module=\"file\";});\n",
	  2, "bad port" },
	{ "hosts = [\"https://a.example:65536\"];\nsource = ({module=\"file\";});\n",
	  2, "bad port" },
	{ "hosts = [\"https://*.com\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a.*.example\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://-a.example\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a..example\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://[::1\"];\nsource = ({module=\"file\";});\n",
	  2, "unterminated" },
	{ "hosts = [\"https://\"];\nsource = ({module=\"file\";});\n",
	  2, "bad host name" },
	{ "hosts = [\"https://a.example\"];\nscopes = [\"a b\"];\nsource = ({module=\"file\";});\n",
	  3, "scopes[0]" },
	{ "hosts = [\"https://a.example\"];\nscopes = [\"\"];\nsource = ({module=\"file\";});\n",
	  3, "scopes[0]" },
	{ "hosts = [\"https://a.example\"];\nscopes = \"x\";\nsource = ({module=\"file\";});\n",
	  3, "'scopes' must be a list" },
	{ "hosts = [\"https://a.example\"];\nheader = \"Authorization: Bearer\";\nsource = ({module=\"file\";});\n",
	  3, "exactly one %s" },
	{ "hosts = [\"https://a.example\"];\nheader = \"A: %s %s\";\nsource = ({module=\"file\";});\n",
	  3, "exactly one %s" },
	{ "hosts = [\"https://a.example\"];\nheader = \"A: %d %s\";\nsource = ({module=\"file\";});\n",
	  3, "exactly one %s" },
	{ "hosts = [\"https://a.example\"];\nheader = \"A: %s\\r\\nB: x\";\nsource = ({module=\"file\";});\n",
	  3, "control characters" },
	{ "hosts = [\"https://a.example\"];\nheader = \"Bearer %s\";\nsource = ({module=\"file\";});\n",
	  3, "Name: value" },
	{ "hosts = [\"https://a.example\"];\nheader = \"%s: x\";\nsource = ({module=\"file\";});\n",
	  3, "header" },
	{ "hosts = [\"https://a.example\"];\nheader = 5;\nsource = ({module=\"file\";});\n",
	  3, "'header' must be a string" },
	{ "hosts = [\"https://a.example\"];\nmin_valid = -1;\nsource = ({module=\"file\";});\n",
	  3, "'min_valid' must be from 0 to" },
	{ "hosts = [\"https://a.example\"];\nmin_valid = \"60\";\nsource = ({module=\"file\";});\n",
	  3, "'min_valid' must be an integer" },
	{ "hosts = [\"https://a.example\"];\nlocked = 1;\nsource = ({module=\"file\";});\n",
	  3, "'locked' must be true or false" },
	{ "hosts = [\"https://a.example\"];\ndescription = 1;\nsource = ({module=\"file\";});\n",
	  3, "'description' must be a string" },
	{ "hosts = [\"https://a.example\"];\nsource = ();\n", 3, "at least one module" },
	{ "hosts = [\"https://a.example\"];\nsource = { module = \"file\"; };\n",
	  3, "'source' must be a list" },
	{ "hosts = [\"https://a.example\"];\nsource = ( \"file\" );\n",
	  3, "source entry 1 must be a group" },
	{ "hosts = [\"https://a.example\"];\nsource = (\n{ control = \"required\"; });\n",
	  4, "source entry 1 has no 'module'" },
	{ "hosts = [\"https://a.example\"];\nsource = ({ module = \"../x\"; });\n",
	  3, "'module' must be a module name" },
	{ "hosts = [\"https://a.example\"];\nsource = ({ module = 3; });\n",
	  3, "'module' must be a module name" },
	{ "hosts = [\"https://a.example\"];\nsource = ({module=\"file\";},\n{ module = \"env\";\ncontrol = \"maybe\"; });\n",
	  5, "source entry 2: 'control' must be one of" },
	{ "hosts = [\"https://a.example\"];\nsource = ({ module = \"file\";\nratio = 1.5; });\n",
	  4, "'ratio' must be a string, an integer" },
	{ "hosts = [\"https://a.example\"];\nsource = ({ module = \"file\";\nsub = { a = 1; }; });\n",
	  4, "'sub' must be a string, an integer" },
	{ "hosts = [\"https://a.example\"];\nsource = ({ module = \"file\";\nl = [1, 2]; });\n",
	  4, "'l' must be a list of strings" },
	{ "hosts = [\"https://a.example\"];\nsource = ({module=\"file\";});\nrefresh = \"oauth2\";\n",
	  4, "'refresh' must be a group" },
	{ "hosts = [\"https://a.example\"];\nsource = ({module=\"file\";});\nrefresh = {\n};\n",
	  4, "refresh has no 'module'" },
	{ "hosts = [\"https://a.example\"];\nsource = ({module=\"file\";});\nrefresh = { module = \"oauth2\";\ncontrol = \"required\"; };\n",
	  5, "'control' applies only to source entries" },
	{ "source = ({module=\"file\";});\n", 1, "has no 'hosts'" },
	{ "hosts = [\"https://a.example\"];\n", 1, "has no 'source'" },
};

static void stanza_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text, *path;
		struct ka_ctx *ctx;
		const struct ka_service *s;

		print_message("case %zu: %s\n", i, c->msg);
		assert_true(asprintf(&text, "svc = {\n%s};\nok = { hosts = "
				     "[\"https://ok.example\"]; source = "
				     "({ module = \"file\"; }); };\n",
				     c->body) > 0);
		ctx = load_text(*state, text, &path);
		assert_true(has_diag(ctx, path, c->line, c->msg));
		s = ka_service_find(ctx, "svc");
		assert_non_null(s);
		assert_non_null(ka_service_error(s));
		/* The broken stanza leaves the other service usable. */
		assert_null(ka_service_error(ka_service_find(ctx, "ok")));
		ka_ctx_free(ctx);
		free(text);
		free(path);
	}
}

static void error_text_never_echoes_values(void **state)
{
	char *path;
	struct ka_ctx *ctx = load_text(*state,
		"svc = {\n hosts = [\"https://x.example\"];\n"
		" header = \"Authorization: Bearer sekr1t-tok3n\";\n"
		" source = ({ module = \"file\"; control = \"sekr1t-tok3n\";"
		" f = 1.5; });\n};\n", &path);

	assert_true(ka_ctx_diag_count(ctx) >= 2);
	for (size_t i = 0; i < ka_ctx_diag_count(ctx); i++)
		assert_false(tu_contains(ka_ctx_diag(ctx, i), "sekr1t"));
	assert_false(tu_contains(ka_service_error(ka_service_at(ctx, 0)),
				 "sekr1t"));
	free(path);
	ka_ctx_free(ctx);
}

static void first_reason_wins(void **state)
{
	char *path;
	struct ka_ctx *ctx = load_text(*state,
		"svc = {\n hosts = [];\n source = ();\n};\n", &path);
	const char *why = ka_service_error(ka_service_at(ctx, 0));
	char *want;

	assert_int_equal(ka_ctx_diag_count(ctx), 2);
	assert_true(asprintf(&want, "%s:2: ", path) > 0);
	assert_true(strncmp(why, want, strlen(want)) == 0);
	/* A later failure (as the loader reports) adds a diagnostic only. */
	kai_service_fail(ctx, ctx->services[0], "x.conf", 9, "later %d", 1);
	assert_int_equal(ka_ctx_diag_count(ctx), 3);
	assert_string_equal(ka_ctx_diag(ctx, 2), "x.conf:9: later 1");
	assert_ptr_equal(ka_service_error(ka_service_at(ctx, 0)), why);
	kai_service_fail(ctx, NULL, "y.conf", 0, "no line");
	assert_string_equal(ka_ctx_diag(ctx, 3), "y.conf: no line");
	free(want);
	free(path);
	ka_ctx_free(ctx);
}

/* File-level problems fail the load with KA_ERR_CONFIG. */
struct file_case {
	const char *text;
	int line;
	const char *msg;
};

static const struct file_case file_cases[] = {
	{ "a = {\n hosts = [\"https://a.example\"]\n", 3, "syntax error" },
	{ "# x\n  @include \"other.conf\"\n", 2, "@include is not supported" },
	{ "token = \"abc\";\n", 1, "top-level setting 'token' is not a service" },
	{ "global = {\n audit_syslog = \"yes\";\n};\n", 2, "'audit_syslog' must be" },
	{ "global = {\n audit_file = \"rel/path\";\n};\n", 2, "'audit_file' must be an absolute" },
	{ "global = {\n colour = 1;\n};\n", 2, "unknown key 'colour' in 'global'" },
	{ "global = 1;\n", 1, "top-level setting 'global'" },
	{ "a = {};\na = {};\n", 2, "duplicate setting name" },
};

static void file_errors(void **state)
{
	for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]); i++) {
		const struct file_case *c = &file_cases[i];
		char *p = tu_write(*state, "kiwi-auth.conf", c->text, 0600);
		struct ka_ctx *ctx;
		struct ka_options o = { .config = p, .flags = KA_CTX_NO_MODULES };
		ka_error err;

		print_message("case %zu: %s\n", i, c->msg);
		ctx = load(p, KA_ERR_CONFIG);
		assert_true(has_diag(ctx, p, c->line, c->msg));
		ka_ctx_free(ctx);
		/* Without KA_CTX_LENIENT the context does not open. */
		ctx = NULL;
		ka_error_clear(&err);
		assert_int_equal(ka_ctx_new(&o, &ctx, &err), KA_ERR_CONFIG);
		assert_null(ctx);
		assert_true(tu_contains(err.text, c->msg));
		free(p);
	}
}

static void include_is_not_followed(void **state)
{
	char *dir = *state, *p;
	struct ka_ctx *ctx;

	free(tu_write(dir, "other.conf",
		      "x = { hosts = [\"https://a.example\"]; "
		      "source = ({module=\"file\";}); };\n", 0600));
	assert_int_equal(chdir(dir), 0);
	p = tu_write(dir, "kiwi-auth.conf", "@include \"other.conf\"\n", 0600);
	ctx = load(p, KA_ERR_CONFIG);
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);
	free(p);
	assert_int_equal(chdir("/"), 0);
}

static void scope_granted_twice(void **state)
{
	char *path;
	struct ka_ctx *ctx = load_text(*state,
		"a = { hosts = [\"https://a.example\"]; scopes = [\"x\", \"y\"];\n"
		"      source = ({module=\"file\";}); };\n"
		"b = { hosts = [\"https://b.example\"]; scopes = [\"z\", \"y\"];\n"
		"      source = ({module=\"file\";}); };\n"
		"c = { hosts = [\"https://c.example\"]; scopes = [\"x2\", \"x2\"];\n"
		"      source = ({module=\"file\";}); };\n", &path);
	char *origin_a, *origin_b;

	assert_true(asprintf(&origin_a, "%s:1", path) > 0);
	assert_true(asprintf(&origin_b, "%s:3", path) > 0);
	assert_true(has_diag(ctx, path, 1, "scope 'y' is also granted by service 'b'"));
	assert_true(has_diag(ctx, path, 1, origin_b));
	assert_true(has_diag(ctx, path, 3, "scope 'y' is also granted by service 'a'"));
	assert_true(has_diag(ctx, path, 3, origin_a));
	assert_non_null(ka_service_error(ka_service_find(ctx, "a")));
	assert_non_null(ka_service_error(ka_service_find(ctx, "b")));
	/* Listing a scope twice in one stanza is no conflict. */
	assert_null(ka_service_error(ka_service_find(ctx, "c")));
	assert_int_equal(ka_service_scope_count(ka_service_find(ctx, "c")), 1);
	free(origin_a);
	free(origin_b);
	free(path);
	ka_ctx_free(ctx);
}

static void bad_service_names(void **state)
{
	char name[80];
	char *text, *path;
	struct ka_ctx *ctx;

	memset(name, 'a', 65);
	name[65] = '\0';
	assert_true(asprintf(&text, "a*b = { hosts = [\"https://a.example\"];"
			     " source = ({module=\"file\";}); };\n"
			     "%s = { hosts = [\"https://b.example\"];"
			     " source = ({module=\"file\";}); };\n", name) > 0);
	ctx = load_text(*state, text, &path);
	assert_true(has_diag(ctx, path, 1, "service name is not valid"));
	assert_true(has_diag(ctx, path, 2, "service name is not valid"));
	assert_int_equal(ka_service_count(ctx), 2);
	assert_non_null(ka_service_error(ka_service_at(ctx, 0)));
	assert_non_null(ka_service_error(ka_service_at(ctx, 1)));
	free(text);
	free(path);
	ka_ctx_free(ctx);
}

#define SVC(name, host) \
	name " = { hosts = [\"https://" host "\"]; source = ({module=\"file\";}); };\n"

static void services_d_order_and_filter(void **state)
{
	char *dir = *state, *cfg;
	struct ka_ctx *ctx;

	assert_true(asprintf(&cfg, "%s/cfg", dir) > 0);
	free(tu_write(cfg, "kiwi-auth.conf", SVC("main", "m.example"), 0600));
	free(tu_write(cfg, "services.d/20-b.conf", SVC("b", "b.example"), 0600));
	free(tu_write(cfg, "services.d/10-a.conf",
		      SVC("a1", "a.example") SVC("a2", "a.example"), 0600));
	free(tu_write(cfg, "services.d/README", "not config", 0600));
	free(tu_write(cfg, "services.d/.hidden.conf", SVC("h", "h.example"), 0600));
	free(tu_write(cfg, "services.d/x.conf~", SVC("t", "t.example"), 0600));
	ctx = load(cfg, KA_OK);
	assert_int_equal(ka_ctx_diag_count(ctx), 0);
	assert_int_equal(ka_service_count(ctx), 4);
	assert_string_equal(ka_service_name(ka_service_at(ctx, 0)), "main");
	assert_string_equal(ka_service_name(ka_service_at(ctx, 1)), "a1");
	assert_string_equal(ka_service_name(ka_service_at(ctx, 2)), "a2");
	assert_string_equal(ka_service_name(ka_service_at(ctx, 3)), "b");
	assert_true(tu_contains(ka_service_origin(ka_service_at(ctx, 3)),
				"/services.d/20-b.conf:1"));
	ka_ctx_free(ctx);
	free(cfg);
}

static void directory_without_main_file(void **state)
{
	char *dir = *state, *cfg;
	struct ka_ctx *ctx;

	assert_true(asprintf(&cfg, "%s/cfg/", dir) > 0);
	free(tu_write(cfg, "services.d/a.conf", SVC("a", "a.example"), 0600));
	ctx = load(cfg, KA_OK);
	assert_int_equal(ka_service_count(ctx), 1);
	assert_false(tu_contains(ka_service_origin(ka_service_at(ctx, 0)), "//"));
	ka_ctx_free(ctx);
	/* An empty directory is an empty configuration. */
	free(cfg);
	assert_true(asprintf(&cfg, "%s/empty", dir) > 0);
	assert_int_equal(mkdir(cfg, 0700), 0);
	ctx = load(cfg, KA_OK);
	assert_int_equal(ka_service_count(ctx), 0);
	assert_int_equal(ka_ctx_diag_count(ctx), 0);
	ka_ctx_free(ctx);
	free(cfg);
}

/* A file larger than one libconfig piece: every line number is the
 * file's, in the last piece as in the first, for stanza errors and for a
 * syntax error that fails the whole file. */
static void large_file_keeps_its_lines(void **state)
{
	char *dir = *state, *path, *text = NULL, *bad;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	struct ka_ctx *ctx;
	int line = 1;

	assert_non_null(m);
	for (int i = 0; i < 1000; i++, line += 3)
		fprintf(m, "s%d = {\n  hosts = [\"https://h%d.example\"];\n"
			"  source = ({module=\"file\";}); };\n", i, i);
	/* line is now that of the next stanza; its third line is wrong. */
	fprintf(m, "late = {\n  hosts = [\"https://late.example\"];\n"
		"  nonsense = 1;\n  source = ({module=\"file\";}); };\n");
	assert_int_equal(fclose(m), 0);
	assert_true(len > 3 * 16384);
	ctx = load_text(dir, text, &path);
	assert_int_equal(ka_service_count(ctx), 1001);
	assert_true(has_diag(ctx, path, line + 2, "unknown key 'nonsense'"));
	ka_ctx_free(ctx);
	free(path);
	/* A syntax error far into the file fails it, at its own line. */
	bad = strstr(text, "nonsense = 1;");
	memcpy(bad, "nonsense = ;", 12);
	ctx = load_text(dir, text, &path);
	assert_int_equal(ka_service_count(ctx), 0);
	assert_true(has_diag(ctx, path, line + 2, "syntax error"));
	ka_ctx_free(ctx);
	free(path);
	free(text);
}

static void duplicate_across_services_d(void **state)
{
	char *dir = *state, *cfg, *b;
	struct ka_ctx *ctx;

	assert_true(asprintf(&cfg, "%s/cfg", dir) > 0);
	free(tu_write(cfg, "services.d/a.conf", SVC("dup", "a.example"), 0600));
	b = tu_write(cfg, "services.d/b.conf", "\n\n" SVC("dup", "b.example"), 0600);
	ctx = load(cfg, KA_OK);
	assert_true(has_diag(ctx, b, 3, "duplicate service 'dup'"));
	assert_true(has_diag(ctx, b, 3, "services.d/a.conf:1"));
	assert_int_equal(ka_service_count(ctx), 1);
	assert_non_null(ka_service_error(ka_service_at(ctx, 0)));
	ka_ctx_free(ctx);
	free(b);
	free(cfg);
}

static void missing_explicit_path(void **state)
{
	char *p;
	struct ka_ctx *ctx;

	assert_true(asprintf(&p, "%s/nope.conf", (char *)*state) > 0);
	ctx = load(p, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), p));
	ka_ctx_free(ctx);
	free(p);
}

static void refuses_group_writable_file(void **state)
{
	char *p = tu_write(*state, "kiwi-auth.conf", SVC("a", "a.example"), 0620);
	struct ka_ctx *ctx = load(p, KA_ERR_CONFIG);

	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "chmod go-w"));
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);
	free(p);
}

static void refuses_writable_services_d(void **state)
{
	char *dir = *state, *cfg, *sd;
	struct ka_ctx *ctx;

	assert_true(asprintf(&cfg, "%s/cfg", dir) > 0);
	assert_true(asprintf(&sd, "%s/services.d", cfg) > 0);
	free(tu_write(cfg, "services.d/a.conf", SVC("a", "a.example"), 0600));
	assert_int_equal(chmod(sd, 0777), 0);
	ctx = load(cfg, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "chmod go-w"));
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);
	free(sd);
	free(cfg);
}

static void refuses_other_owner(void **state)
{
	char *p;
	struct ka_ctx *ctx;

	if (geteuid() != 0) {
		print_message("skipped: chown to another user needs root\n");
		return;
	}
	p = tu_write(*state, "kiwi-auth.conf", SVC("a", "a.example"), 0644);
	assert_int_equal(chown(p, 65534, 65534), 0);
	ctx = load(p, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "owned by uid 65534"));
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);
	free(p);
}

static void refuses_symlinks(void **state)
{
	char *dir = *state, *real, *link, *cfg, *sd;
	struct ka_ctx *ctx;

	real = tu_write(dir, "real.conf", SVC("a", "a.example"), 0600);
	assert_true(asprintf(&link, "%s/link.conf", dir) > 0);
	assert_int_equal(symlink(real, link), 0);
	ctx = load(link, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "symbolic link"));
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);

	/* A symlinked file inside services.d, and a symlinked services.d. */
	assert_true(asprintf(&cfg, "%s/cfg", dir) > 0);
	assert_true(asprintf(&sd, "%s/cfg/services.d", dir) > 0);
	free(tu_write(cfg, "services.d/b.conf", SVC("b", "b.example"), 0600));
	free(link);
	assert_true(asprintf(&link, "%s/a.conf", sd) > 0);
	assert_int_equal(symlink(real, link), 0);
	ctx = load(cfg, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "symbolic link"));
	assert_int_equal(ka_service_count(ctx), 1);	/* b.conf still read */
	ka_ctx_free(ctx);
	free(link);
	assert_true(asprintf(&link, "%s/cfg2", dir) > 0);
	assert_int_equal(mkdir(link, 0700), 0);
	free(cfg);
	assert_true(asprintf(&cfg, "%s/services.d", link) > 0);
	assert_int_equal(symlink(sd, cfg), 0);
	ctx = load(link, KA_ERR_CONFIG);
	assert_true(tu_contains(ka_ctx_diag(ctx, 0), "symbolic link"));
	assert_int_equal(ka_service_count(ctx), 0);
	ka_ctx_free(ctx);
	free(cfg);
	free(sd);
	free(link);
	free(real);
}

static void layering_and_locked(void **state)
{
	char *dir = *state, *sys, *usr, *ufile, *sfile, *want;
	struct ka_ctx *ctx = calloc(1, sizeof(*ctx));
	const struct ka_service *s;
	ka_error err;

	if (geteuid() != 0) {
		/* The system layer must be owned by root. */
		print_message("skipped: the system layer needs root-owned files\n");
		free(ctx);
		return;
	}
	assert_true(asprintf(&sys, "%s/sys", dir) > 0);
	assert_true(asprintf(&usr, "%s/usr", dir) > 0);
	free(tu_write(sys, "kiwi-auth.conf",
		      "global = { audit_syslog = true; };\n"
		      SVC("open", "sys.example"), 0644));
	sfile = tu_write(sys, "services.d/locked.conf",
			 "locked = { hosts = [\"https://l.example\"];\n"
			 " source = ({module=\"file\";}); locked = true; };\n", 0644);
	free(tu_write(usr, "kiwi-auth.conf",
		      "global = { audit_file = \"/tmp/audit.log\"; };\n"
		      SVC("mine", "mine.example"), 0600));
	ufile = tu_write(usr, "services.d/over.conf",
			 SVC("open", "user.example") "\n" SVC("locked", "evil.example"),
			 0600);
	ka_error_clear(&err);
	assert_int_equal(kai_config_load_layers(ctx, sys, usr, &err), KA_OK);
	assert_int_equal(ka_service_count(ctx), 3);
	s = ka_service_find(ctx, "open");	/* replaced in place */
	assert_ptr_equal(s, ka_service_at(ctx, 0));
	assert_string_equal(ka_service_host(s, 0), "https://user.example");
	assert_true(ctx->services[0]->user);
	s = ka_service_find(ctx, "locked");
	assert_null(ka_service_error(s));
	assert_string_equal(ka_service_host(s, 0), "https://l.example");
	assert_false(ctx->services[1]->user);
	assert_true(asprintf(&want, "service 'locked' is locked by %s:1; "
			     "this stanza is ignored", sfile) > 0);
	assert_true(has_diag(ctx, ufile, 3, want));
	assert_int_equal(ka_ctx_diag_count(ctx), 1);
	assert_non_null(ka_service_find(ctx, "mine"));
	assert_true(ctx->audit_syslog);
	assert_string_equal(ctx->audit_file, "/tmp/audit.log");
	ka_ctx_free(ctx);

	/* The system layer refuses files not owned by root. */
	assert_int_equal(chown(sfile, 65534, 65534), 0);
	ctx = calloc(1, sizeof(*ctx));
	ka_error_clear(&err);
	assert_int_equal(kai_config_load_layers(ctx, sys, NULL, &err),
			 KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "must be owned by root"));
	ka_ctx_free(ctx);
	free(want);
	free(sfile);
	free(ufile);
	free(sys);
	free(usr);
}

/* A user stanza cannot knock out a locked system stanza by claiming its
 * scope, nor turn the administrator's audit settings off. */
static void locked_scope_and_audit_hold(void **state)
{
	char *dir = *state, *sys, *usr;
	struct ka_ctx *ctx = calloc(1, sizeof(*ctx));
	ka_error err;

	if (geteuid() != 0) {
		print_message("skipped: the system layer needs root-owned files\n");
		free(ctx);
		return;
	}
	assert_true(asprintf(&sys, "%s/sys2", dir) > 0);
	assert_true(asprintf(&usr, "%s/usr2", dir) > 0);
	free(tu_write(sys, "kiwi-auth.conf",
		      "global = { audit_syslog = true; audit_file = \"/var/log/ka.log\"; };\n"
		      "reg = { hosts = [\"https://r.example\"]; scopes = [\"reg:write\"];\n"
		      " source = ({module=\"file\";}); locked = true; };\n", 0644));
	free(tu_write(usr, "kiwi-auth.conf",
		      "global = { audit_syslog = false; audit_file = \"/tmp/mine.log\"; };\n"
		      "thief = { hosts = [\"https://t.example\"]; scopes = [\"reg:write\"];\n"
		      " source = ({module=\"file\";}); };\n", 0600));
	ka_error_clear(&err);
	assert_int_equal(kai_config_load_layers(ctx, sys, usr, &err), KA_OK);
	assert_null(ka_service_error(ka_service_find(ctx, "reg")));
	assert_non_null(ka_service_error(ka_service_find(ctx, "thief")));
	assert_true(tu_contains(ka_service_error(ka_service_find(ctx, "thief")),
				"reg:write"));
	assert_true(ctx->audit_syslog);
	assert_string_equal(ctx->audit_file, "/var/log/ka.log");
	ka_ctx_free(ctx);
	free(sys);
	free(usr);
}

static void default_locations(void **state)
{
	char *dir = *state, *xdg, *home;
	struct ka_ctx *ctx;
	struct ka_options o = { .config = NULL, .flags = KA_CTX_NO_MODULES };
	ka_error err;

	/* $XDG_CONFIG_HOME/kiwi-auth (tu_isolate_env set it). */
	assert_true(asprintf(&xdg, "%s/config/kiwi-auth", dir) > 0);
	free(tu_write(xdg, "services.d/x.conf", SVC("xdg", "x.example"), 0600));
	ctx = load(NULL, KA_OK);
	assert_non_null(ka_service_find(ctx, "xdg"));
	ka_ctx_free(ctx);

	/* Without XDG_CONFIG_HOME: $HOME/.config/kiwi-auth. */
	assert_true(asprintf(&home, "%s/home/.config/kiwi-auth", dir) > 0);
	free(tu_write(home, "kiwi-auth.conf", SVC("home", "h.example"), 0600));
	unsetenv("XDG_CONFIG_HOME");
	ctx = load(NULL, KA_OK);
	assert_non_null(ka_service_find(ctx, "home"));
	assert_null(ka_service_find(ctx, "xdg"));
	ka_ctx_free(ctx);

	/* $KIWI_AUTH_CONFIG names one file instead, through ka_ctx_new. */
	setenv("KIWI_AUTH_CONFIG", xdg, 1);
	ctx = NULL;
	ka_error_clear(&err);
	assert_int_equal(ka_ctx_new(&o, &ctx, &err), KA_OK);
	assert_non_null(ka_service_find(ctx, "xdg"));
	assert_null(ka_service_find(ctx, "home"));
	ka_ctx_free(ctx);
	unsetenv("KIWI_AUTH_CONFIG");
	free(home);
	free(xdg);
}

static void loads_with_modules(void **state)
{
	char *p;
	struct ka_ctx *ctx;

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		print_message("skipped: KIWI_AUTH_MODULE_DIR is not set\n");
		return;
	}
	p = tu_write(*state, "kiwi-auth.conf",
		     "svc = { hosts = [\"https://a.example\"];\n"
		     "  source = ({ module = \"env\"; control = \"sufficient\";"
		     " variable = \"KA_TEST_TOKEN\"; },\n"
		     "            { module = \"nosuchmodule\"; });\n};\n", 0600);
	ctx = tu_ctx(p, KA_CTX_LENIENT);
	/* The loader, not config.c, reports the missing module, at its line. */
	assert_true(has_diag(ctx, p, 3, "nosuchmodule"));
	assert_non_null(ka_service_error(ka_service_at(ctx, 0)));
	ka_ctx_free(ctx);
	free(p);
}

static void frees_accept_null(void **state)
{
	(void)state;
	kai_service_free(NULL);
	kai_mctx_free(NULL);
	assert_null(kai_mctx_arg(NULL, "x"));
}

/* Host patterns are parsed once, with the config, into the normalised
 * form request origins take; '_' is a host name character here as in
 * request URLs. */
static void host_patterns_parsed(void **state)
{
	char *path;
	struct ka_ctx *ctx;
	const struct ka_service *s;
	struct kai_origin o;
	ka_error err;

	ctx = load_text(*state, "svc = { hosts = [ \"https://Build_01.Corp.example\",\n"
			"  \"https://*.CDN.example:*\", \"http://[0::1]:8080\",\n"
			"  \"https://build_01.corp.example\" ];\n"
			"  source = ({ module = \"file\"; }); };\n", &path);
	assert_int_equal(ka_ctx_diag_count(ctx), 0);
	s = ka_service_find(ctx, "svc");
	assert_non_null(s);
	assert_null(ka_service_error(s));
	assert_int_equal(s->hosts.n, 3);	/* the duplicate is dropped */
	assert_int_equal(s->nhostpat, 3);
	assert_string_equal(s->hostpat[0].scheme, "https");
	assert_string_equal(s->hostpat[0].host, "build_01.corp.example");
	assert_int_equal(s->hostpat[0].hostlen, strlen("build_01.corp.example"));
	assert_int_equal(s->hostpat[0].port, 443);
	assert_false(s->hostpat[0].wildcard);
	assert_string_equal(s->hostpat[1].host, ".cdn.example");
	assert_int_equal(s->hostpat[1].port, 0);
	assert_true(s->hostpat[1].wildcard);
	assert_string_equal(s->hostpat[2].scheme, "http");
	assert_string_equal(s->hostpat[2].host, "[::1]");
	assert_int_equal(s->hostpat[2].port, 8080);

	ka_error_clear(&err);
	assert_int_equal(kai_origin_parse("https://BUILD_01.corp.example/x",
					  &o, NULL, &err), KA_OK);
	assert_true(kai_origin_allowed(&o, s));
	assert_int_equal(kai_origin_parse("https://a.cdn.example:8443/", &o,
					  NULL, &err), KA_OK);
	assert_true(kai_origin_allowed(&o, s));
	assert_int_equal(kai_origin_parse("https://cdn.example/", &o, NULL,
					  &err), KA_OK);
	assert_false(kai_origin_allowed(&o, s));
	assert_int_equal(kai_origin_parse("http://[::1]:8080/", &o, NULL,
					  &err), KA_OK);
	assert_true(kai_origin_allowed(&o, s));
	free(path);
	ka_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(valid_stanza_round_trip),
		T(module_entries_and_args),
		T(stanza_errors),
		T(error_text_never_echoes_values),
		T(first_reason_wins),
		T(file_errors),
		T(include_is_not_followed),
		T(scope_granted_twice),
		T(bad_service_names),
		T(host_patterns_parsed),
		T(services_d_order_and_filter),
		T(directory_without_main_file),
		T(duplicate_across_services_d),
		T(large_file_keeps_its_lines),
		T(missing_explicit_path),
		T(refuses_group_writable_file),
		T(refuses_writable_services_d),
		T(refuses_other_owner),
		T(refuses_symlinks),
		T(layering_and_locked),
		T(locked_scope_and_audit_hold),
		T(default_locations),
		T(loads_with_modules),
		T(frees_accept_null),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
