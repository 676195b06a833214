/* SPDX-License-Identifier: MIT */
/* test_authorize.c: header injection and replacement, every failure message, scope and freshness checks, audit, threads. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"
#include "kai.h"

#define CANARY "canary-tok-4b1d9e07"
#define CANARY2 "canary-key-88c2f1aa"

static const char conf_fmt[] =
	"items: {\n"
	"  hosts = [ \"https://api.good.com\", \"https://*.good.com:8443\",\n"
	"            \"http://127.0.0.1:*\" ];\n"
	"  scopes = [ \"items:read\", \"items:write\", \"items:admin\" ];\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"    token = \"" CANARY "\"; expires_in = 3600;\n"
	"    scopes = [ \"items:read\", \"items:write\" ]; } );\n"
	"};\n"
	"custom: {\n"
	"  hosts = [ \"https://custom.example\" ];\n"
	"  scopes = [ \"custom:use\" ];\n"
	"  header = \"X-Api-Key: key=%%s; v=1\";\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"    token = \"" CANARY2 "\"; } );\n"
	"};\n"
	"stale: {\n"
	"  hosts = [ \"https://stale.example\" ];\n"
	"  scopes = [ \"stale:use\" ];\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"    token = \"" CANARY "\"; expires_in = 30; } );\n"
	"};\n"
	"gone: {\n"
	"  hosts = [ \"https://gone.example\" ];\n"
	"  scopes = [ \"gone:use\" ];\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"    result = \"not_found\"; } );\n"
	"};\n"
	"broken: {\n"
	"  hosts = [ \"https://broken.example\" ];\n"
	"  scopes = [ \"broken:use\" ];\n"
	"  colour = \"blue\";\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\"; } );\n"
	"};\n";

static int setup(void **state)
{
	struct tu_fixture *f = tu_fixture_new();
	char *conf, *text;
	const char *c;

	c = f->counter;
	assert_true(asprintf(&text, conf_fmt, c, c, c, c, c) > 0);
	conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	f->ctx = tu_ctx(conf, KA_CTX_LENIENT);
	ka_ctx_set_log(f->ctx, NULL, NULL);
	free(conf);
	free(text);
	*state = f;
	return 0;
}

static struct curl_slist *list(const char *const *h)
{
	struct curl_slist *l = NULL;

	for (; *h != NULL; h++)
		assert_non_null(l = curl_slist_append(l, *h));
	return l;
}

static size_t count(const struct curl_slist *l)
{
	size_t n = 0;

	for (; l != NULL; l = l->next)
		n++;
	return n;
}

static int has(const struct curl_slist *l, const char *line)
{
	for (; l != NULL; l = l->next)
		if (strcmp(l->data, line) == 0)
			return 1;
	return 0;
}

/* Authorize url for scope (and service), expecting st. */
static void expect(struct tu_fixture *f, const char *url, const char *scope,
		   const char *service, enum ka_status st,
		   const char *message, int auth_required)
{
	static const char *const tool[] = { "Accept: application/json",
					    "Authorization: Bearer tool-own",
					    NULL };
	struct curl_slist *h = list(tool);
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = url,
		.scope = scope, .service = service, .tool = "t",
	};
	struct ka_auth_info info;
	ka_error err;

	enum ka_status got;

	ka_error_clear(&err);
	got = ka_authorize(f->ctx, &req, &h, &info, &err);
	if (got != st)
		fail_msg("%s %s: status %d, expected %d (%s)", url,
			 scope ? scope : "-", got, st, err.text);
	if (st == KA_OK) {
		assert_int_equal(ka_auth_info_injected(&info), 1);
		ka_headers_free(h);
		return;
	}
	assert_int_equal(err.code, st);
	assert_int_equal(ka_auth_info_injected(&info), 0);
	if (message != NULL && strcmp(err.text, message) != 0)
		fail_msg("%s %s: got '%s'\n  expected '%s'", url,
			 scope ? scope : "-", err.text, message);
	assert_int_equal(err.auth_required, auth_required);
	assert_false(tu_contains(err.text, CANARY));
	assert_false(tu_contains(err.text, CANARY2));
	/* A refused request keeps the tool's headers as they were. */
	assert_int_equal(count(h), 2);
	assert_true(has(h, "Authorization: Bearer tool-own"));
	ka_headers_free(h);
}

static void test_inject(void **state)
{
	struct tu_fixture *f = *state;
	struct curl_slist *h = NULL;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET",
		.url = "https://api.good.com/v1/items", .scope = "items:read",
	};
	struct ka_auth_info info;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	assert_int_equal(count(h), 1);
	assert_string_equal(h->data, "Authorization: Bearer " CANARY);
	assert_string_equal(ka_auth_info_service(&info), "items");
	assert_int_equal(ka_auth_info_injected(&info), 1);
	/* Authorizing again replaces, never duplicates. */
	req.url = "https://x.y.good.com:8443/";
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	assert_int_equal(count(h), 1);
	/* A service named without a scope: no scope check. */
	req.scope = NULL;
	req.service = "items";
	req.url = "http://127.0.0.1:9/";
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	assert_int_equal(count(h), 1);
	ka_headers_free(h);
	ka_headers_free(NULL);
}

static void test_replace(void **state)
{
	static const char *const tool[] = {
		"authorization: Bearer tool-own", "Accept: */*",
		"AUTHORIZATION;", "Authorization:", "X-Authorization: keep",
		"Authorizationx: keep", NULL,
	};
	static const char *const tool2[] = {
		"x-api-key: mine", "X-API-KEY;", "Authorization: Basic keep",
		NULL,
	};
	struct tu_fixture *f = *state;
	struct curl_slist *h = list(tool);
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "POST",
		.url = "https://api.good.com/", .scope = "items:write",
	};
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err), KA_OK);
	assert_int_equal(count(h), 4);
	assert_true(has(h, "Accept: */*"));
	assert_true(has(h, "X-Authorization: keep"));
	assert_true(has(h, "Authorizationx: keep"));
	assert_true(has(h, "Authorization: Bearer " CANARY));
	ka_headers_free(h);

	/* A custom header name, its value built around the token. */
	h = list(tool2);
	req.url = "https://custom.example/x";
	req.scope = "custom:use";
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err), KA_OK);
	assert_int_equal(count(h), 2);
	assert_true(has(h, "X-Api-Key: key=" CANARY2 "; v=1"));
	assert_true(has(h, "Authorization: Basic keep"));
	ka_headers_free(h);
}

static void test_passthrough(void **state)
{
	static const char *const tool[] = { "Authorization: Bearer own", NULL };
	struct tu_fixture *f = *state;
	struct curl_slist *h = list(tool);
	struct ka_request req = {
		.primitive = "filesystem", .url = "https://api.good.com/",
		.scope = "items:read",
	};
	struct ka_auth_info info;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	assert_int_equal(ka_auth_info_injected(&info), 0);
	req.primitive = NULL;
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	/* A public tool: no scope, no service. */
	req.primitive = KA_PRIMITIVE_HTTP;
	req.scope = NULL;
	req.url = "https://anywhere.example/";
	assert_int_equal(ka_authorize(f->ctx, &req, &h, &info, &err), KA_OK);
	assert_int_equal(ka_auth_info_injected(&info), 0);
	assert_int_equal(count(h), 1);
	assert_string_equal(h->data, "Authorization: Bearer own");
	ka_headers_free(h);
}

static void test_failures(void **state)
{
	struct tu_fixture *f = *state;

	expect(f, "https://evil.com/", "items:read", NULL, KA_ERR_DENIED,
	       "URL origin https://evil.com is not allowed for service items",
	       0);
	expect(f, "https://api.good.com.evil.com/", "items:read", NULL,
	       KA_ERR_DENIED, "URL origin https://api.good.com.evil.com is "
	       "not allowed for service items", 0);
	expect(f, "https://api.good.com:8444/", "items:read", NULL,
	       KA_ERR_DENIED, "URL origin https://api.good.com:8444 is not "
	       "allowed for service items", 0);
	expect(f, "https://api.good.com/", "items:admin", NULL, KA_ERR_DENIED,
	       "token for items lacks scope items:admin", 0);
	expect(f, "https://api.good.com/", "custom:use", "items",
	       KA_ERR_DENIED, "service items does not grant scope custom:use "
	       "(add it to the service's scopes, or use the service that "
	       "does)", 0);
	expect(f, "https://api.good.com/", "nope:read", NULL,
	       KA_ERR_NO_SERVICE, "no service grants scope nope:read: list it "
	       "in the scopes of one service stanza, or name the service "
	       "(auth_service)", 0);
	expect(f, "https://api.good.com/", "items:read", "nope",
	       KA_ERR_NO_SERVICE, "no service 'nope' in the configuration; "
	       "run 'kiwi-auth services' to list them", 0);
	expect(f, "https://gone.example/", "gone:use", NULL, KA_ERR_NOT_FOUND,
	       "not signed in to gone: run 'kiwi-auth token set gone'", 1);
	expect(f, "https://stale.example/", "stale:use", NULL,
	       KA_ERR_EXPIRED, "the token for stale has expired or expires "
	       "within 60 s: run 'kiwi-auth token set stale'", 1);
	expect(f, "https://broken.example/", "broken:use", NULL,
	       KA_ERR_CONFIG, NULL, 0);
	expect(f, "http://api.good.com/", "items:read", NULL, KA_ERR_DENIED,
	       "refusing http://api.good.com: plain http is allowed only for "
	       "loopback hosts (127.0.0.1, [::1], localhost); use https", 0);
	expect(f, "https://api.good.com@evil.com/", "items:read", NULL,
	       KA_ERR_DENIED, "refusing URL: it holds a user name or password "
	       "(user@host); credentials never go into URLs", 0);
	expect(f, "https://api.good.com%0a.evil.com/", "items:read", NULL,
	       KA_ERR_DENIED, NULL, 0);
	expect(f, "not a url", "items:read", NULL, KA_ERR_DENIED, NULL, 0);
	expect(f, "https://api.good.com/", "bad scope", NULL, KA_ERR_INVALID,
	       "the required scope must be 1 to 256 printable characters "
	       "without spaces", 0);
	expect(f, "https://api.good.com/", "items:read", "bad name",
	       KA_ERR_INVALID, NULL, 0);
}

static void test_broken_message(void **state)
{
	struct tu_fixture *f = *state;
	struct curl_slist *h = NULL;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .url = "https://broken.example/",
		.scope = "broken:use",
	};
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err),
			 KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "service 'broken' is disabled by a "
				"configuration error: "));
	assert_null(h);
}

static void test_bad_tool_headers(void **state)
{
	/* Each refused with words that say what is wrong, naming the header
	 * but never quoting its value. */
	static const struct {
		const char *line, *says;
	} cases[] = {
		{ "X-Foo: a\r\nAuthorization: x", "header 2 ('X-Foo') holds a "
		  "control character (CR, LF, NUL, ...) in its value" },
		{ "Authorization : x", "header 2: no space may stand between "
		  "the name 'Authorization' and the colon: write "
		  "'Authorization: value'" },
		{ "  Accept: x", "header 2 has no name: write it as 'Name: value'" },
		{ "Accept", "header 2: 'Accept' must be followed by a colon" },
		{ "Acc\"ept: x", "header 2: 'Acc' must be followed by a colon" },
		{ "X-Empty; x", "header 2: 'Name;' (an empty header) takes "
		  "nothing after the ';'" },
		{ "Host: evil.example", "header 2 ('Host') would change where or "
		  "how the request goes" },
		{ "x-forwarded-host: evil.example", "header 2 ('X-Forwarded-Host') "
		  "would change where" },
		{ "Content-Length: 0", "header 2 ('Content-Length') would change" },
	};
	struct tu_fixture *f = *state;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .url = "https://api.good.com/",
		.scope = "items:read",
	};
	ka_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tool[] = { "Accept: */*", cases[i].line, NULL };
		struct curl_slist *h = list(tool);

		ka_error_clear(&err);
		assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err),
				 KA_ERR_INVALID);
		if (!tu_contains(err.text, cases[i].says))
			fail_msg("case %zu: '%s'", i, err.text);
		assert_false(tu_contains(err.text, "evil"));
		assert_int_equal(count(h), 2);	/* left as it was */
		ka_headers_free(h);
	}
	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, NULL, NULL, NULL, &err),
			 KA_ERR_INVALID);
}

/* An expired token never reaches the header list, even when it was
 * cached while fresh. */
static void test_expired_never_injected(void **state)
{
	struct tu_fixture *f = *state;
	struct ka_service *s = kai_service_lookup(f->ctx, "items");
	struct curl_slist *h = NULL;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .url = "https://api.good.com/",
		.scope = "items:read",
	};
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err), KA_OK);
	ka_headers_free(h);
	h = NULL;
	/* Inside the min_valid window now (3600 s left, window bigger). */
	s->min_valid = 7200;
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err),
			 KA_ERR_EXPIRED);
	assert_true(err.auth_required);
	assert_null(h);
	s->min_valid = 60;
}

static void test_sha256(void **state)
{
	static const char abc_hex[] = "ba7816bf8f01cfea414140de5dae2223"
				      "b00361a396177a9cb410ff61f20015ad";
	/* RFC 4231 test case 2. */
	static const char rfc4231_2[] = "5bdcc146bf60754e6a042426089575c7"
					"5a003f089d2739839dec58b964ec3843";
	/* RFC 4231 test case 6: a key longer than the block. */
	static const char rfc4231_6[] = "60e431591ee0b67f0d8a26aacbf5b77f"
					"8e0bc6213728c5140546040f0ee37f54";
	uint8_t out[KAI_SHA256_LEN], key[131];
	char hex[65];

	(void)state;
	kai_sha256("abc", 3, out);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	assert_string_equal(hex, abc_hex);
	kai_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	assert_string_equal(hex, rfc4231_2);
	memset(key, 0xaa, sizeof(key));
	kai_hmac_sha256(key, sizeof(key), "Test Using Larger Than Block-Size "
			"Key - Hash Key First", 54, out);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	assert_string_equal(hex, rfc4231_6);
}

static void test_audit(void **state)
{
	struct tu_fixture *f = *state;
	struct curl_slist *h = NULL;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET",
		.url = "https://api.good.com/secret-path?q=1",
		.scope = "items:read", .tool = "get \"item\"",
	};
	char fp[KAI_FINGERPRINT_LEN], *text, *key, *want;
	struct stat st;
	ka_error err;

	assert_true(asprintf(&f->ctx->audit_file, "%s/audit.log", f->dir) > 0);
	ka_error_clear(&err);
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err), KA_OK);
	req.url = "https://evil.com/";
	assert_int_equal(ka_authorize(f->ctx, &req, &h, NULL, &err),
			 KA_ERR_DENIED);
	ka_headers_free(h);

	text = tu_read(f->ctx->audit_file);
	assert_non_null(text);
	assert_int_equal(stat(f->ctx->audit_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(tu_contains(text, CANARY));
	assert_false(tu_contains(text, "secret-path"));
	assert_true(tu_contains(text, " outcome=injected service=items "
				"scope=items:read account=default "
				"origin=https://api.good.com method=GET "
				"tool=get__item_ fp="));
	assert_true(tu_contains(text, " outcome=refused service=items "
				"scope=items:read account=default "
				"origin=https://evil.com method=GET "
				"tool=get__item_ reason=request_not_allowed "
				"fp=-\n"));
	ka_error_clear(&err);
	assert_int_equal(kai_audit_fingerprint(CANARY, strlen(CANARY), fp,
					       &err), KA_OK);
	assert_int_equal(strspn(fp, "0123456789abcdef"), 16);
	assert_true(asprintf(&want, "fp=%s\n", fp) > 0);
	assert_true(tu_contains(text, want));
	free(want);
	assert_true(asprintf(&key, "%s/state/kiwi-auth/audit.key", f->dir) > 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	free(key);
	free(text);
}

/* ka_curl_apply: loopback http allowed, anything else refused again. */
static void test_curl_apply(void **state)
{
	struct ka_request req = { .url = "http://127.0.0.1:1/x" };
	CURL *c = curl_easy_init();
	ka_error err;

	(void)state;
	assert_non_null(c);
	ka_error_clear(&err);
	assert_int_equal(ka_curl_apply(c, &req, NULL, &err), KA_OK);
	req.url = "http://example.com/";
	assert_int_equal(ka_curl_apply(c, &req, NULL, &err), KA_ERR_DENIED);
	ka_error_clear(&err);
	req.url = "https://user@example.com/";
	assert_int_equal(ka_curl_apply(c, &req, NULL, &err), KA_ERR_DENIED);
	ka_error_clear(&err);
	req.url = "https://example.com/";
	assert_int_equal(ka_curl_apply(c, &req, NULL, &err), KA_OK);
	curl_easy_cleanup(c);
}

/* ---- threads ------------------------------------------------------------ */

#define THREADS 4
#define ROUNDS 3000

struct worker {
	struct ka_ctx *ctx;
	int failures;
};

static void *work(void *p)
{
	struct worker *w = p;
	struct curl_slist *h = NULL;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .url = "https://api.good.com/",
		.scope = "items:read",
	};
	ka_error err;

	for (int i = 0; i < ROUNDS; i++) {
		ka_error_clear(&err);
		if (ka_authorize(w->ctx, &req, &h, NULL, &err) != KA_OK ||
		    count(h) != 1 ||
		    strcmp(h->data, "Authorization: Bearer " CANARY) != 0)
			w->failures++;
	}
	ka_headers_free(h);
	return NULL;
}

static void test_threads(void **state)
{
	struct tu_fixture *f = *state;
	struct worker w[THREADS];
	pthread_t t[THREADS];
	char *log;

	for (int i = 0; i < THREADS; i++) {
		w[i].ctx = f->ctx;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	/* Single flight and the cache: the source was read once. */
	log = tu_read(f->counter);
	assert_string_equal(log, "load items default\n");
	free(log);
}

/* ka_redact: every copy goes, even of a credential that holds the mask
 * byte itself; overwriting with '*' would leave "**" in "***". */
static void test_redact(void **state)
{
	struct ka_auth_info info = { .injected = 1 };
	char buf[64];

	(void)state;
	info.cred = "tok";
	info.cred_len = 3;
	snprintf(buf, sizeof(buf), "a tok, tok!");
	assert_int_equal(ka_redact(&info, buf, strlen(buf)), 2);
	assert_string_equal(buf, "a ***, ***!");
	info.cred = "**";
	info.cred_len = 2;
	snprintf(buf, sizeof(buf), "*****");
	assert_int_equal(ka_redact(&info, buf, strlen(buf)), 2);
	assert_string_equal(buf, "!!!!*");
	info.cred = "a*!";
	info.cred_len = 3;
	snprintf(buf, sizeof(buf), "a*!a*!");
	assert_int_equal(ka_redact(&info, buf, strlen(buf)), 2);
	assert_string_equal(buf, "\"\"\"\"\"\"");	/* '"': held neither */
	info.injected = 0;
	assert_int_equal(ka_redact(&info, buf, strlen(buf)), 0);
	assert_int_equal(ka_redact(NULL, buf, strlen(buf)), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tu_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_inject),
		T(test_replace),
		T(test_passthrough),
		T(test_failures),
		T(test_broken_message),
		T(test_bad_tool_headers),
		T(test_expired_never_injected),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_redact),
		T(test_audit),
		cmocka_unit_test(test_curl_apply),
		T(test_threads),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
