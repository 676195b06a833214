/* SPDX-License-Identifier: MIT */
/* test_perform.c: ka_perform against two recording HTTP servers on two
 * ports of 127.0.0.1 (tests/servers/recorder.py, two origins): redirects
 * of every kind with every credential-bearing tool header, routing
 * headers, loops, size and time limits, echoes of the credential, public
 * tools. The service `api` allows only the first origin; its header has a
 * custom name, which libcurl would not strip on a redirect by itself. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"
#include "kai.h"

#define CANARY "kiwiCANARY-perform-7f3e9a1c55d0b2"

struct fixture {
	char *dir;
	pid_t pid[2];
	char *log[2];
	unsigned port[2];
	char a[64], b[64];	/* the two origins */
	char *counter;
	struct ka_ctx *ctx;
};

static const char conf_fmt[] =
	"api: {\n"
	"  hosts = [ \"%s\" ];\n"
	"  scopes = [ \"api:read\" ];\n"
	"  header = \"X-Kiwi-Key: %%s\";\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"               token = \"" CANARY "\"; expires_in = 3600; } );\n"
	"};\n"
	"gone: {\n"
	"  hosts = [ \"%s\" ];\n"
	"  scopes = [ \"gone:use\" ];\n"
	"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
	"               result = \"not_found\"; } );\n"
	"};\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *text, *conf;

	*state = f;
	f->dir = tu_sandbox();
	f->counter = tu_path(f->dir, "counter");
	/* python3 is a build dependency: a server that does not start is a
	 * failure, never a skip. */
	for (int i = 0; i < 2; i++)
		if ((f->port[i] = tu_server(f->dir, "recorder.py", i ? "b" : "a",
					    &f->pid[i], &f->log[i])) == 0)
			return -1;
	snprintf(f->a, sizeof(f->a), "http://127.0.0.1:%u", f->port[0]);
	snprintf(f->b, sizeof(f->b), "http://127.0.0.1:%u", f->port[1]);
	assert_true(asprintf(&text, conf_fmt, f->a, f->counter, f->a,
			     f->counter) > 0);
	conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	f->ctx = tu_ctx(conf, 0);
	free(conf);
	free(text);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 2; i++) {
		tu_server_stop(f->pid[i]);
		free(f->log[i]);
	}
	free(f->counter);
	tu_sandbox_free(f->ctx, f->dir);
	free(f);
	return 0;
}

/* The requests server i logged for path (exact, query included). */
static json_t *requests(const struct fixture *f, int i, const char *path)
{
	json_t *all = json_array();
	char *text = tu_read(f->log[i]), *line, *save = NULL;

	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL;
	     line != NULL; line = strtok_r(NULL, "\n", &save)) {
		json_t *e = json_loads(line, 0, NULL);

		if (e != NULL && strcmp(json_string_value(json_object_get(e, "path")),
					path) == 0)
			json_array_append(all, e);
		json_decref(e);
	}
	free(text);
	return all;
}

/* The value of header name in request e, or NULL. */
static const char *header_of(json_t *e, const char *name)
{
	json_t *h = json_object_get(e, "headers"), *pair;
	size_t i;

	json_array_foreach(h, i, pair)
		if (strcasecmp(json_string_value(json_array_get(pair, 0)), name) == 0)
			return json_string_value(json_array_get(pair, 1));
	return NULL;
}

static int log_holds(const struct fixture *f, int i, const char *needle)
{
	char *text = tu_read(f->log[i]);
	int yes = text != NULL && strstr(text, needle) != NULL;

	free(text);
	return yes;
}

static enum ka_status perform(struct fixture *f, struct ka_perform_request *pr,
			      struct ka_response **r, ka_error *err)
{
	ka_error_clear(err);
	*r = NULL;
	return ka_perform(f->ctx, pr, r, err);
}

static void allowed_request(void **state)
{
	struct fixture *f = *state;
	const char *hdrs[] = { "X-Kiwi-Key: tool-value", "Accept: text/plain",
			       NULL };
	struct ka_perform_request pr = { .req = { .scope = "api:read" },
					 .headers = hdrs };
	struct ka_response *r;
	char url[128];
	ka_error err;
	json_t *got;
	size_t len;

	snprintf(url, sizeof(url), "%s/items", f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	assert_int_equal(ka_response_status(r), 200);
	assert_true(tu_contains(ka_response_body(r, &len), "/items"));
	assert_int_equal(len, strlen(ka_response_body(r, NULL)));
	assert_string_equal(ka_response_header(r, "x-recorder"), "yes");
	assert_string_equal(ka_response_service(r), "api");
	assert_string_equal(ka_response_scope(r), "api:read");
	assert_string_equal(ka_response_account(r), "default");
	assert_int_equal(ka_response_injected(r), 1);
	assert_int_equal(ka_response_redirects(r), 0);
	assert_string_equal(ka_response_url(r), url);
	got = requests(f, 0, "/items");
	assert_int_equal(json_array_size(got), 1);
	/* The tool's header of the credential's name was replaced. */
	assert_string_equal(header_of(json_array_get(got, 0), "X-Kiwi-Key"),
			    CANARY);
	assert_string_equal(header_of(json_array_get(got, 0), "Accept"),
			    "text/plain");
	json_decref(got);
	ka_response_free(r);
}

/* Every redirect code to another origin: no credential and none of the
 * tool's credential-bearing headers arrive there; the method changes as
 * curl and browsers change it. */
static void cross_origin_redirects(void **state)
{
	static const struct {
		int code;
		const char *method;	/* at the second origin, after a POST */
		int body;
	} codes[] = {
		{ 301, "GET", 0 }, { 302, "GET", 0 }, { 303, "GET", 0 },
		{ 307, "POST", 1 }, { 308, "POST", 1 },
	};
	struct fixture *f = *state;
	const char *hdrs[] = { "Authorization: Bearer tool-auth",
			       "Cookie: session=tool-cookie",
			       "Proxy-Authorization: Basic tool-proxy",
			       "X-Trace: keep-me", NULL };
	struct ka_perform_request pr = { .req = { .scope = "api:read",
						  .method = "POST" },
					 .headers = hdrs, .body = "payload=1",
					 .body_len = 9 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct ka_response *r;
		char url[256], landing[64], to[128];
		ka_error err;
		json_t *got, *e;

		snprintf(landing, sizeof(landing), "/landing%d", codes[i].code);
		snprintf(to, sizeof(to), "%s%s", f->b, landing);
		snprintf(url, sizeof(url), "%s/redirect?code=%d&to=%s", f->a,
			 codes[i].code, to);
		pr.req.url = url;
		assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
		assert_int_equal(ka_response_status(r), 200);
		assert_int_equal(ka_response_redirects(r), 1);
		assert_string_equal(ka_response_url(r), to);
		got = requests(f, 1, landing);
		assert_int_equal(json_array_size(got), 1);
		e = json_array_get(got, 0);
		assert_string_equal(json_string_value(json_object_get(e, "method")),
				    codes[i].method);
		assert_string_equal(json_string_value(json_object_get(e, "body")),
				    codes[i].body ? "payload=1" : "");
		assert_null(header_of(e, "X-Kiwi-Key"));
		assert_null(header_of(e, "Authorization"));
		assert_null(header_of(e, "Cookie"));
		assert_null(header_of(e, "Proxy-Authorization"));
		assert_string_equal(header_of(e, "X-Trace"), "keep-me");
		json_decref(got);
		ka_response_free(r);
	}
	assert_false(log_holds(f, 1, CANARY));
	assert_false(log_holds(f, 1, "tool-auth"));
	assert_false(log_holds(f, 1, "tool-cookie"));
	assert_false(log_holds(f, 1, "tool-proxy"));
}

/* Calls on one context reuse the connection of the call before. */
static void connections_reused(void **state)
{
	struct fixture *f = *state;
	struct ka_perform_request pr = { .req = { .scope = "api:read" } };
	struct ka_response *r;
	char url[128];
	ka_error err;
	json_t *got;

	snprintf(url, sizeof(url), "%s/again", f->a);
	pr.req.url = url;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
		ka_response_free(r);
	}
	got = requests(f, 0, "/again");
	assert_int_equal(json_array_size(got), 3);
	for (size_t i = 1; i < 3; i++)
		assert_int_equal(json_integer_value(json_object_get(
			json_array_get(got, i), "peer")),
			json_integer_value(json_object_get(json_array_get(got, 0),
							   "peer")));
	json_decref(got);
}

/* A redirect within the service's origin keeps the credential and the
 * tool's own headers. */
static void same_origin_redirect(void **state)
{
	struct fixture *f = *state;
	const char *hdrs[] = { "Cookie: session=tool-cookie", NULL };
	struct ka_perform_request pr = { .req = { .scope = "api:read" },
					 .headers = hdrs };
	struct ka_response *r;
	char url[256];
	ka_error err;
	json_t *got;

	snprintf(url, sizeof(url), "%s/redirect?code=307&to=%s/same", f->a, f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	got = requests(f, 0, "/same");
	assert_int_equal(json_array_size(got), 1);
	assert_string_equal(header_of(json_array_get(got, 0), "X-Kiwi-Key"),
			    CANARY);
	assert_string_equal(header_of(json_array_get(got, 0), "Cookie"),
			    "session=tool-cookie");
	json_decref(got);
	ka_response_free(r);
}

/* Headers that would change where the request goes are refused before
 * anything is sent, with words that name them. */
static void routing_headers_refused(void **state)
{
	static const char *const bad[] = {
		"Host: evil.example", "X-Forwarded-Host: evil.example",
		"Forwarded: host=evil.example", "Transfer-Encoding: chunked",
		"Content-Length: 5",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *hdrs[] = { bad[i], NULL };
		struct ka_perform_request pr = { .headers = hdrs };
		struct ka_response *r;
		char url[128];
		ka_error err;
		json_t *got;

		snprintf(url, sizeof(url), "%s/routed%zu", f->a, i);
		pr.req.url = url;
		pr.req.scope = i % 2 ? NULL : "api:read";	/* public tools too */
		assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_INVALID);
		assert_null(r);
		assert_true(tu_contains(err.text, "would change where"));
		assert_false(tu_contains(err.text, "evil"));
		snprintf(url, sizeof(url), "/routed%zu", i);
		got = requests(f, 0, url);
		assert_int_equal(json_array_size(got), 0);
		json_decref(got);
	}
}

static void limits(void **state)
{
	struct fixture *f = *state;
	struct ka_perform_request pr = { .req = { .scope = "api:read" } };
	struct ka_response *r;
	char url[128];
	ka_error err;

	/* A redirect loop. */
	snprintf(url, sizeof(url), "%s/loop", f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_PROTOCOL);
	assert_null(r);
	assert_true(tu_contains(err.text, "more than 10 redirects"));
	/* Redirects turned off: the 3xx itself is the answer. */
	pr.max_redirects = -1;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	assert_int_equal(ka_response_status(r), 302);
	assert_string_equal(ka_response_header(r, "Location"), "/loop");
	ka_response_free(r);
	pr.max_redirects = 0;
	/* A body over the cap. */
	snprintf(url, sizeof(url), "%s/big?n=5000", f->a);
	pr.max_response = 1000;
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "answered more than 1000 bytes"));
	pr.max_response = 5000;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	assert_int_equal(strlen(ka_response_body(r, NULL)), 5000);
	ka_response_free(r);
	pr.max_response = 0;
	/* A server trickling its answer meets the deadline. */
	snprintf(url, sizeof(url), "%s/trickle?n=200", f->a);
	pr.timeout_ms = 1000;
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_TIMEOUT);
	assert_null(r);
	assert_true(tu_contains(err.text, "did not answer within the deadline"));
	assert_false(tu_contains(err.text, "trickle"));	/* origin only */
}

/* The credential echoed by a server is masked in the body and headers,
 * and a redirect whose URL carries it is not followed. */
static void echoes_masked(void **state)
{
	struct fixture *f = *state;
	struct ka_perform_request pr = { .req = { .scope = "api:read" } };
	struct ka_response *r;
	char url[256];
	ka_error err;

	snprintf(url, sizeof(url), "%s/echo", f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	assert_false(tu_contains(ka_response_body(r, NULL), CANARY));
	assert_true(tu_contains(ka_response_body(r, NULL), "X-Kiwi-Key: *****"));
	assert_false(tu_contains(ka_response_header(r, "X-Echo"), CANARY));
	assert_true(ka_response_masked(r) >= 2);
	for (size_t i = 0; i < ka_response_header_count(r); i++)
		assert_false(tu_contains(ka_response_header_value(r, i), CANARY));
	ka_response_free(r);
	assert_true(log_holds(f, 0, CANARY));	/* it did reach the server */

	snprintf(url, sizeof(url), "%s/leak?to=%s/caught", f->a, f->b);
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "holds the credential"));
	assert_false(tu_contains(err.text, CANARY));
	assert_false(log_holds(f, 1, CANARY));
}

/* A public tool is sent as it is; the broker is never asked. */
static void public_tool(void **state)
{
	struct fixture *f = *state;
	const char chain_json[] = "[{\"name\": \"ping\"}, "
				  "{\"auth_service\": \"api\"}]";
	struct ka_tool_scope *chain = NULL;
	struct ka_perform_request pr = { 0 };
	struct ka_response *r;
	char url[128];
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_tool_scope_new(chain_json, strlen(chain_json),
					   &chain, &err), KA_OK);
	pr.chain = chain;
	snprintf(url, sizeof(url), "%s/public", f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_OK);
	assert_int_equal(ka_response_status(r), 200);
	assert_int_equal(ka_response_injected(r), 0);
	assert_null(ka_response_service(r));
	assert_null(ka_response_scope(r));
	ka_response_free(r);
	assert_int_equal(tu_calls(f->counter, "load"), 0);
	assert_false(log_holds(f, 0, CANARY));
	ka_tool_scope_free(chain);
}

/* Refusals carry words a person can act on, and auth_required. */
static void refusals(void **state)
{
	struct fixture *f = *state;
	const char chain_json[] = "[{\"required_scope\": \"gone:use\"}]";
	struct ka_tool_scope *chain = NULL;
	struct ka_perform_request pr = { 0 };
	struct ka_response *r;
	char url[128];
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_tool_scope_new(chain_json, strlen(chain_json),
					   &chain, &err), KA_OK);
	pr.chain = chain;
	snprintf(url, sizeof(url), "%s/x", f->a);
	pr.req.url = url;
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
	assert_true(err.auth_required);
	assert_true(tu_contains(err.text, "kiwi-auth token set gone"));
	ka_tool_scope_free(chain);
	pr.chain = NULL;
	/* The first origin is not the service's. */
	pr.req.scope = "api:read";
	snprintf(url, sizeof(url), "%s/x", f->b);
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_DENIED);
	assert_true(tu_contains(err.text, "is not allowed for service api"));
	/* Not HTTP, not a method, not a URL. */
	pr.req.primitive = "shell";
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_INVALID);
	pr.req.primitive = NULL;
	pr.req.method = "get";
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_INVALID);
	pr.req.method = NULL;
	pr.req.url = "ftp://127.0.0.1/x";
	assert_int_equal(perform(f, &pr, &r, &err), KA_ERR_DENIED);
	assert_int_equal(ka_perform(NULL, &pr, &r, &err), KA_ERR_INVALID);
	assert_false(log_holds(f, 1, CANARY));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(allowed_request, setup, teardown),
		cmocka_unit_test_setup_teardown(cross_origin_redirects, setup, teardown),
		cmocka_unit_test_setup_teardown(same_origin_redirect, setup, teardown),
		cmocka_unit_test_setup_teardown(connections_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(routing_headers_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup, teardown),
		cmocka_unit_test_setup_teardown(echoes_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(public_tool, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals, setup, teardown),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
