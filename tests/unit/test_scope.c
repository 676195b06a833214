/* SPDX-License-Identifier: MIT */
/* test_scope.c: scope lookup over tool chains; a public tool never touches the broker. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

static struct ka_tool_scope *chain(const char *json)
{
	struct ka_tool_scope *ts = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_tool_scope_new(json, strlen(json), &ts, &err) != KA_OK)
		fail_msg("chain %s: %s", json, err.text);
	return ts;
}

static void refused(const char *json, const char *needle)
{
	struct ka_tool_scope *ts = (void *)1;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(ka_tool_scope_new(json, strlen(json), &ts, &err),
			 KA_ERR_INVALID);
	assert_null(ts);
	if (!tu_contains(err.text, needle))
		fail_msg("chain %s: message '%s' lacks '%s'", json, err.text,
			 needle);
}

static void test_leaf_overrides_parent(void **state)
{
	struct ka_tool_scope *ts;

	(void)state;
	ts = chain("[{\"name\":\"put_item\",\"required_scope\":\"items:write\"},"
		   " {\"name\":\"items\",\"required_scope\":\"items:read\","
		   "  \"auth_service\":\"items\"},"
		   " {\"auth_service\":\"outer\"}]");
	assert_string_equal(ka_tool_scope_scope(ts), "items:write");
	assert_string_equal(ka_tool_scope_service(ts), "items");
	assert_string_equal(ka_tool_scope_tool(ts), "put_item");
	ka_tool_scope_free(ts);

	ts = chain("[{\"name\":\"get_item\",\"auth_service\":\"leafsvc\"},"
		   " {\"required_scope\":\"items:read\",\"auth_service\":\"p\"}]");
	assert_string_equal(ka_tool_scope_scope(ts), "items:read");
	assert_string_equal(ka_tool_scope_service(ts), "leafsvc");
	ka_tool_scope_free(ts);

	ts = chain("[{}, {}, {\"required_scope\":\"root:scope\"}]");
	assert_string_equal(ka_tool_scope_scope(ts), "root:scope");
	assert_null(ka_tool_scope_service(ts));
	assert_null(ka_tool_scope_tool(ts));
	ka_tool_scope_free(ts);
}

static void test_public_tool(void **state)
{
	struct ka_tool_scope *ts;

	(void)state;
	ts = chain("[{\"name\":\"weather\"}, {\"auth_service\":\"items\"}]");
	assert_null(ka_tool_scope_scope(ts));
	assert_null(ka_tool_scope_service(ts));
	assert_string_equal(ka_tool_scope_tool(ts), "weather");
	ka_tool_scope_free(ts);
	ka_tool_scope_free(NULL);
	assert_null(ka_tool_scope_scope(NULL));
}

static void test_malformed(void **state)
{
	ka_error err;
	struct ka_tool_scope *ts = NULL;

	(void)state;
	refused("{\"required_scope\":\"a\"}", "must be a JSON array");
	refused("[]", "1 to 64 manifests");
	refused("[1]", "manifest 0 is not a JSON object");
	refused("[{}, \"x\"]", "manifest 1 is not a JSON object");
	refused("[{\"required_scope\":7}]", "manifest 0: 'required_scope' "
		"must be a non-empty string");
	refused("[{\"required_scope\":\"\"}]", "'required_scope' must be");
	refused("[{\"required_scope\":null}]", "'required_scope' must be");
	refused("[{\"required_scope\":\"two words\"}]", "without spaces");
	refused("[{\"required_scope\":\"a\\nb\"}]", "'required_scope'");
	refused("[{\"required_scope\":\"a\\u0000b\"}]", "not valid JSON");
	refused("[{}, {\"required_scope\":[\"a\"]}]", "manifest 1");
	refused("[{\"required_scope\":\"a\",\"auth_service\":\"no spaces\"}]",
		"'auth_service' must be a non-empty string naming a service");
	refused("[{\"auth_service\":\"1abc\"}]", "'auth_service'");
	refused("[{\"name\":\"x\"", "not valid JSON");
	refused("[{\"required_scope\":\"a\",\"required_scope\":\"b\"}]",
		"not valid JSON");
	refused("", "not valid JSON");

	ka_error_clear(&err);
	assert_int_equal(ka_tool_scope_new(NULL, 0, &ts, &err), KA_ERR_INVALID);
	assert_null(ts);
}

/* ---- the broker is not touched for a public tool ------------------------ */

static int setup(void **state)
{
	struct tu_fixture *f = tu_fixture_new();
	char *conf, *text;

	assert_true(asprintf(&text,
		"items: {\n"
		"  hosts = [ \"https://api.good.com\" ];\n"
		"  scopes = [ \"items:read\", \"items:write\" ];\n"
		"  source = ( { module = \"test_counting\"; counter = \"%s\";\n"
		"               token = \"scope-canary-7f3e\"; } );\n"
		"};\n", f->counter) > 0);
	conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	f->ctx = tu_ctx(conf, 0);
	free(conf);
	free(text);
	*state = f;
	return 0;
}

static enum ka_status authorize_chain(struct tu_fixture *f, const char *json,
				      const char *primitive,
				      struct curl_slist **headers)
{
	struct ka_tool_scope *ts = chain(json);
	struct ka_request req = {
		.primitive = primitive,
		.method = "GET",
		.url = "https://api.good.com/items",
		.scope = ka_tool_scope_scope(ts),
		.service = ka_tool_scope_service(ts),
		.tool = ka_tool_scope_tool(ts),
	};
	struct ka_auth_info info;
	enum ka_status st;
	ka_error err;

	ka_error_clear(&err);
	st = ka_authorize(f->ctx, &req, headers, &info, &err);
	assert_int_equal(ka_auth_info_injected(&info), st == KA_OK && req.scope != NULL &&
			 strcmp(primitive, KA_PRIMITIVE_HTTP) == 0);
	ka_tool_scope_free(ts);
	return st;
}

static void test_public_tool_skips_broker(void **state)
{
	struct tu_fixture *f = *state;
	struct curl_slist *headers = NULL;
	char *log;

	/* Public tool: nothing is read, nothing is set. */
	assert_int_equal(authorize_chain(f, "[{\"name\":\"weather\"},"
					 "{\"auth_service\":\"items\"}]",
					 KA_PRIMITIVE_HTTP, &headers), KA_OK);
	assert_null(headers);
	/* A tool that is not an HTTP client gets no header either. */
	assert_int_equal(authorize_chain(f, "[{\"required_scope\":"
					 "\"items:read\"}]", "shell", &headers),
			 KA_OK);
	assert_null(headers);
	assert_int_equal(access(f->counter, F_OK), -1);

	/* A scoped tool does read the source stack: once. */
	assert_int_equal(authorize_chain(f, "[{\"name\":\"get\"},"
					 "{\"required_scope\":\"items:read\"}]",
					 KA_PRIMITIVE_HTTP, &headers), KA_OK);
	assert_non_null(headers);
	log = tu_read(f->counter);
	assert_non_null(log);
	assert_string_equal(log, "load items default\n");
	free(log);
	ka_headers_free(headers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_overrides_parent),
		cmocka_unit_test(test_public_tool),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test_setup_teardown(test_public_tool_skips_broker,
						setup, tu_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
