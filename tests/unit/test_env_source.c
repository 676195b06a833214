/* SPDX-License-Identifier: MIT */
/* test_env_source.c: the read-only `env` source through the public API. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kai.h"

#define VAR "KA_TEST_ENV_TOKEN"
#define VAR2 "KA_TEST_ENV_TOKEN_BOT"
#define TOKEN "env-token-0123456789abcdef"

struct fx {
	char *tmp;
	char *conf;
	struct ka_ctx *ctx;
};

static const char config[] =
	"envsvc: {\n"
	"  hosts = [ \"https://api.example.com\" ];\n"
	"  scopes = [ \"env:read\" ];\n"
	"  source = ( { module = \"env\"; variable = \"" VAR "\"; } );\n"
	"};\n"
	"botsvc: {\n"
	"  hosts = [ \"https://bot.example.com\" ];\n"
	"  scopes = [ \"bot:read\" ];\n"
	"  source = ( { module = \"env\"; variable = \"" VAR2 "\";\n"
	"               account = \"bot\"; token_type = \"Token\"; } );\n"
	"};\n";

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->tmp = tu_sandbox();
	unsetenv(VAR);
	unsetenv(VAR2);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", config, 0600);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	unsetenv(VAR);
	unsetenv(VAR2);
	tu_sandbox_free(fx->ctx, fx->tmp);
	free(fx->conf);
	free(fx);
	return 0;
}

/* Load in a context opened now (the broker caches per context). */
static enum ka_status load(struct fx *fx, const char *service,
			   const char *account, struct ka_record **out,
			   ka_error *err)
{
	ka_ctx_free(fx->ctx);
	fx->ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(err);
	*out = NULL;
	return ka_load(fx->ctx, service, account, out, err);
}

static void test_set(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	setenv(VAR, TOKEN, 1);
	assert_int_equal(load(fx, "envsvc", NULL, &r, &err), KA_OK);
	assert_string_equal(r->access_token, TOKEN);
	assert_false(ka_record_has_refresh_token(r));
	assert_true(ka_record_expires_at(r) == KA_EXPIRES_NEVER);
	assert_string_equal(ka_record_token_type(r), "Bearer");
	assert_string_equal(ka_record_account(r), KA_ACCOUNT_DEFAULT);
	assert_string_equal(ka_record_source(r), "env");
	ka_record_free(r);
}

static void test_unset(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	assert_int_equal(load(fx, "envsvc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
	assert_true(err.auth_required);
}

static void test_empty(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	setenv(VAR, "", 1);
	assert_int_equal(load(fx, "envsvc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
}

static void test_control_bytes(void **state)
{
	static const char *const bad[] = {
		"secret-part\nX-Injected: 1", "secret-part\r",
		"secret-part\x7f",
	};
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;
	enum ka_status st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(VAR, bad[i], 1);
		st = load(fx, "envsvc", NULL, &r, &err);
		/* The source is unusable, not the caller's input invalid. */
		assert_int_equal(st, KA_ERR_UNAVAILABLE);
		assert_int_equal(err.code, KA_ERR_UNAVAILABLE);
		assert_null(r);
		assert_true(tu_contains(err.text, VAR));
		assert_false(tu_contains(err.text, "secret-part"));
	}
}

static void test_other_account(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	setenv(VAR, TOKEN, 1);
	setenv(VAR2, TOKEN "-bot", 1);
	assert_int_equal(load(fx, "envsvc", "someone", &r, &err),
			 KA_ERR_NOT_FOUND);
	assert_null(r);
	assert_int_equal(load(fx, "botsvc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_int_equal(load(fx, "botsvc", "bot", &r, &err), KA_OK);
	assert_string_equal(r->access_token, TOKEN "-bot");
	assert_string_equal(ka_record_token_type(r), "Token");
	assert_string_equal(ka_record_account(r), "bot");
	ka_record_free(r);
}

static void test_read_only(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r = NULL;
	ka_error err;

	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, TOKEN), KA_OK);
	fx->ctx = tu_ctx(fx->conf, 0);
	assert_int_equal(ka_service_source_writable(
		ka_service_find(fx->ctx, "envsvc"), 0), 0);
	ka_error_clear(&err);
	assert_int_equal(ka_store(fx->ctx, "envsvc", NULL, r, &err),
			 KA_ERR_READ_ONLY);
	assert_false(tu_contains(err.text, TOKEN));
	ka_record_free(r);
}

static void count_account(const char *account, void *data)
{
	assert_string_equal(account, KA_ACCOUNT_DEFAULT);
	(*(int *)data)++;
}

static void test_accounts(void **state)
{
	struct fx *fx = *state;
	ka_error err;
	int n = 0;

	fx->ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(ka_accounts(fx->ctx, "envsvc", count_account, &n,
				     &err), KA_OK);
	assert_int_equal(n, 0);
	setenv(VAR, TOKEN, 1);
	assert_int_equal(ka_accounts(fx->ctx, "envsvc", count_account, &n,
				     &err), KA_OK);
	assert_int_equal(n, 1);
}

static void test_bad_variable_name(void **state)
{
	static const char *const names[] = { "1BAD", "A-B", "A B", "" };
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ka_service *s;
		struct ka_ctx *ctx;
		char *text, *conf;

		assert_true(asprintf(&text, "bad: {\n"
			"  hosts = [ \"https://bad.example.com\" ];\n"
			"  source = ( { module = \"env\";"
			" variable = \"%s\"; } );\n"
			"};\n", names[i]) > 0);
		conf = tu_write(fx->tmp, "bad.conf", text, 0600);
		ctx = tu_ctx(conf, KA_CTX_LENIENT);
		s = ka_service_find(ctx, "bad");
		assert_non_null(s);
		assert_non_null(ka_service_error(s));
		if (!tu_contains(ka_service_error(s), "variable"))
			fail_msg("error \"%s\" does not name the argument",
				 ka_service_error(s));
		ka_ctx_free(ctx);
		free(conf);
		free(text);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_set),
		T(test_unset),
		T(test_empty),
		T(test_control_bytes),
		T(test_other_account),
		T(test_read_only),
		T(test_accounts),
		T(test_bad_variable_name),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
