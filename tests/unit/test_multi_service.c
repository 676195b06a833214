/* SPDX-License-Identifier: MIT */
/* test_multi_service.c: one executor context, three services (supabase and
 * github through their local stand-ins, and an env service), three local
 * origins: each origin gets its own service's token and no other. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

#define CI_TOKEN "ci-env-token-5e0c2a91d7"
#define ANON_KEY "standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.sig"
#define NSERVERS 5

enum { SUPABASE, GITHUB, RECORDER1, RECORDER2, RECORDER3 };

struct fixture {
	char *dir;
	pid_t pid[NSERVERS];
	unsigned port[NSERVERS];
	char *log[NSERVERS];
	struct ka_ctx *ctx;
};

static const char *const scripts[NSERVERS] = {
	"supabase_standin.py", "github_standin.py",
	"recorder.py", "recorder.py", "recorder.py",
};

/* Start server i; 0 when it does not come up. */
static unsigned spawn(struct fixture *f, int i)
{
	char tag[32];

	snprintf(tag, sizeof(tag), "server%d", i);
	return tu_server(f->dir, scripts[i], tag, &f->pid[i], &f->log[i]);
}

static size_t discard(char *p, size_t s, size_t n, void *d)
{
	(void)p;
	(void)d;
	return s * n;
}

/* POST json to a stand-in's control endpoint, or GET its stats into out. */
static void standin(unsigned port, const char *json, char *out, size_t n)
{
	CURL *c = curl_easy_init();
	char url[128];
	FILE *mem = out != NULL ? fmemopen(out, n, "w") : NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/__standin/%s", port,
		 json != NULL ? "config" : "stats");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	if (json != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	if (mem != NULL)
		curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
	else
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	if (mem != NULL)
		fclose(mem);
}

static enum ka_status conv(const struct ka_conv_msg *msg, char *answer,
			   size_t size, void *data)
{
	(void)data;
	if (msg->style == KA_CONV_PROMPT_SECRET)
		snprintf(answer, size, "correct horse");
	else if (msg->style == KA_CONV_PROMPT)
		return KA_ERR_UNSUPPORTED;
	return KA_OK;
}

static const char conf_fmt[] =
	"supabase: {\n"
	"  hosts = [ \"http://127.0.0.1:%u\" ];\n"
	"  scopes = [ \"registry:read\" ];\n"
	"  min_valid = 60;\n"
	"  source = ( { module = \"file\"; directory = \"%s/tokens\"; } );\n"
	"  refresh = { module = \"supabase\"; url = \"http://127.0.0.1:%u\";\n"
	"    anon_key_env = \"KA_MS_ANON\"; email = \"user@example.com\"; };\n"
	"};\n"
	"github: {\n"
	"  hosts = [ \"http://127.0.0.1:%u\" ];\n"
	"  scopes = [ \"repo\" ];\n"
	"  source = ( { module = \"file\"; directory = \"%s/tokens\"; } );\n"
	"  refresh = { module = \"github\"; base_url = \"http://127.0.0.1:%u\";\n"
	"    client_id = \"Iv1.standin0client\"; scopes = [ \"repo\" ]; };\n"
	"};\n"
	"ci: {\n"
	"  hosts = [ \"http://127.0.0.1:%u\" ];\n"
	"  scopes = [ \"ci:deploy\" ];\n"
	"  source = ( { module = \"env\"; variable = \"KA_MS_CI_TOKEN\"; } );\n"
	"};\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	ka_error err;
	char *conf, *text;

	*state = f;
	f->dir = tu_sandbox();
	if (getenv("KA_TOP_SRCDIR") == NULL)
		return 0;
	for (int i = 0; i < NSERVERS; i++)
		if ((f->port[i] = spawn(f, i)) == 0)
			return 0;	/* no python3: the test skips */
	standin(f->port[SUPABASE], "{\"expires_in\": 30}", NULL, 0);
	standin(f->port[GITHUB], "{\"approve_after\": 0, \"scope\": \"repo\"}",
		NULL, 0);
	setenv("KA_MS_ANON", ANON_KEY, 1);
	setenv("KA_MS_CI_TOKEN", CI_TOKEN, 1);
	assert_true(asprintf(&text, conf_fmt, f->port[RECORDER1], f->dir,
			     f->port[SUPABASE], f->port[RECORDER2], f->dir,
			     f->port[GITHUB], f->port[RECORDER3]) > 0);
	conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	f->ctx = tu_ctx(conf, 0);
	ka_ctx_set_conversation(f->ctx, conv, NULL);
	ka_error_clear(&err);
	assert_int_equal(ka_signin(f->ctx, "supabase", NULL, NULL, &err), KA_OK);
	assert_int_equal(ka_signin(f->ctx, "github", NULL, NULL, &err), KA_OK);
	free(conf);
	free(text);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < NSERVERS; i++) {
		tu_server_stop(f->pid[i]);
		free(f->log[i]);
	}
	tu_sandbox_free(f->ctx, f->dir);
	free(f);
	return 0;
}

/* The stored access token of a service (test only: the test reads the
 * private file the file module wrote). Caller frees. */
static char *stored_token(const struct fixture *f, const char *service)
{
	char path[4096];
	json_t *o;
	char *t;

	snprintf(path, sizeof(path), "%s/tokens/%s@default.json", f->dir,
		 service);
	o = json_load_file(path, 0, NULL);
	assert_non_null(o);
	t = strdup(json_string_value(json_object_get(o, "access_token")));
	json_decref(o);
	return t;
}

static void request(const struct fixture *f, const char *url,
		    const char *scope, const char *service)
{
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = url,
		.scope = scope,
	};
	struct ka_auth_info *info = NULL;
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_auth_info_new(&info), KA_OK);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, info, &err), KA_OK);
	assert_string_equal(ka_auth_info_service(info), service);
	assert_int_equal(ka_auth_info_injected(info), 1);
	ka_auth_info_free(info);
	assert_int_equal(ka_curl_apply(c, &req, h, &err), KA_OK);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	ka_headers_free(h);
}

static void three_origins(void **state)
{
	struct fixture *f = *state;
	const char *names[3] = { "supabase", "github", "ci" };
	const char *scopes[3] = { "registry:read", "repo", "ci:deploy" };
	char *tok[3], *log, url[128], stats[512];

	if (f->ctx == NULL)
		skip();
	for (int i = 0; i < 3; i++) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%u/%s/items",
			 f->port[RECORDER1 + i], names[i]);
		request(f, url, scopes[i], names[i]);
	}
	/* The Supabase token was inside min_valid: refreshed on the way. */
	standin(f->port[SUPABASE], NULL, stats, sizeof(stats));
	assert_true(tu_contains(stats, "\"refresh\": 1,"));
	tok[0] = stored_token(f, "supabase");
	tok[1] = stored_token(f, "github");
	tok[2] = strdup(CI_TOKEN);
	for (int i = 0; i < 3; i++) {
		char want[512];

		assert_non_null(log = tu_read(f->log[RECORDER1 + i]));
		snprintf(want, sizeof(want), "[\"Authorization\", \"Bearer %s\"]",
			 tok[i]);
		assert_true(tu_contains(log, want));
		for (int j = 0; j < 3; j++)
			if (j != i)
				assert_false(tu_contains(log, tok[j]));
		assert_int_equal(strchr(log, '\n') - log + 1, (long)strlen(log));
		free(log);
	}
	for (int i = 0; i < 3; i++)
		free(tok[i]);
}

/* A service's token never goes to another service's origin. */
static void crossed_origins(void **state)
{
	struct fixture *f = *state;
	struct curl_slist *h = NULL;
	char url[128];
	ka_error err;

	if (f->ctx == NULL)
		skip();
	for (int i = 0; i < 3; i++) {
		const char *scopes[3] = { "registry:read", "repo", "ci:deploy" };
		struct ka_request req = {
			.primitive = KA_PRIMITIVE_HTTP, .method = "GET",
			.url = url, .scope = scopes[i],
		};

		snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
			 f->port[RECORDER1 + (i + 1) % 3]);
		ka_error_clear(&err);
		assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err),
				 KA_ERR_DENIED);
		assert_null(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_origins),
		cmocka_unit_test(crossed_origins),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
