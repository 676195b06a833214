/* SPDX-License-Identifier: MIT */
/* test_record.c: token records, their JSON round trip, hostile JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kai.h"

static struct ka_record *sample(void)
{
	struct ka_record *r = NULL;

	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, "at-123"), KA_OK);
	assert_int_equal(ka_record_set_refresh_token(r, "rt-456"), KA_OK);
	assert_int_equal(ka_record_set_account(r, "me@example.org"), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "registry:read"), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "registry:write"), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "registry:read"), KA_OK);
	ka_record_set_expires_at(r, 2000000000);
	ka_record_set_refresh_expires_at(r, 2100000000);
	ka_record_set_obtained_at(r, 1900000000);
	return r;
}

static void round_trip(void **state)
{
	struct ka_record *r = sample(), *back = NULL;
	char *json = NULL;
	size_t len = 0;
	ka_error err;

	(void)state;
	assert_int_equal(kai_record_to_json(r, &json, &len), KA_OK);
	assert_int_equal(strlen(json), len);
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(json, len, &back, &err), KA_OK);
	assert_string_equal(back->access_token, "at-123");
	assert_string_equal(back->refresh_token, "rt-456");
	assert_string_equal(ka_record_account(back), "me@example.org");
	assert_string_equal(ka_record_token_type(back), "Bearer");
	assert_int_equal(ka_record_scope_count(back), 2);
	assert_true(ka_record_has_scope(back, "registry:write"));
	assert_false(ka_record_has_scope(back, "registry:admin"));
	assert_int_equal(ka_record_expires_at(back), 2000000000);
	assert_int_equal(ka_record_refresh_expires_at(back), 2100000000);
	assert_int_equal(ka_record_obtained_at(back), 1900000000);
	kai_secure_free(json);
	ka_record_free(back);
	ka_record_free(r);
}

static void dup_is_deep(void **state)
{
	struct ka_record *r = sample(), *c = NULL;

	(void)state;
	assert_int_equal(kai_record_dup(r, &c), KA_OK);
	ka_record_free(r);
	assert_string_equal(c->access_token, "at-123");
	assert_int_equal(ka_record_scope_count(c), 2);
	ka_record_free(c);
}

static void setters_refuse_control_bytes(void **state)
{
	struct ka_record *r = NULL;

	(void)state;
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, "a\nb"), KA_ERR_INVALID);
	assert_int_equal(ka_record_set_access_token(r, ""), KA_ERR_INVALID);
	assert_int_equal(ka_record_set_account(r, "x\ry"), KA_ERR_INVALID);
	assert_int_equal(ka_record_add_scope(r, "two words"), KA_ERR_INVALID);
	assert_false(ka_record_has_access_token(r));
	ka_record_free(r);
	ka_record_free(NULL);
}

static void hostile_json(void **state)
{
	static const char *bad[] = {
		"", "null", "[]", "\"str\"", "{", "{}",
		"{\"access_token\": 5}",
		"{\"access_token\": \"\"}",
		"{\"access_token\": \"a\\nb\"}",
		"{\"access_token\": \"a\\u0000b\"}",
		"{\"access_token\": \"x\", \"expires_at\": \"soon\"}",
		"{\"access_token\": \"x\", \"expires_at\": -5}",
		"{\"access_token\": \"x\", \"scopes\": \"a b\"}",
		"{\"access_token\": \"x\", \"scopes\": [1]}",
		"{\"access_token\": \"x\", \"access_token\": \"y\"}",
		"{\"refresh_token\": null}",
	};
	ka_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ka_record *r = NULL;

		ka_error_clear(&err);
		assert_int_equal(kai_record_from_json(bad[i], strlen(bad[i]),
						      &r, &err), KA_ERR_CORRUPT);
		assert_null(r);
		assert_true(err.text[0] != '\0');
	}
}

static void error_text_never_quotes_input(void **state)
{
	const char *j = "{\"access_token\": \"CANARYsecret\" oops}";
	struct ka_record *r = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(j, strlen(j), &r, &err),
			 KA_ERR_CORRUPT);
	assert_false(tu_contains(err.text, "CANARY"));
}

static void oversized_json(void **state)
{
	size_t n = KA_RECORD_MAX_JSON + 10;
	char *big = malloc(n + 1);
	struct ka_record *r = NULL;
	ka_error err;

	(void)state;
	memset(big, ' ', n);
	big[n] = '\0';
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(big, n, &r, &err), KA_ERR_CORRUPT);
	assert_true(tu_contains(err.text, "larger than"));
	free(big);
}

static void unknown_fields_are_ignored(void **state)
{
	const char *j = "{\"access_token\":\"x\",\"future\":{\"a\":1}}";
	struct ka_record *r = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(j, strlen(j), &r, &err), KA_OK);
	assert_true(ka_record_has_access_token(r));
	assert_false(ka_record_has_refresh_token(r));
	assert_true(ka_record_expires_at(r) == KA_EXPIRES_NEVER);
	ka_record_free(r);
}

/* No expiry has its own value; 0 is the epoch, long expired. */
static void never_and_the_epoch(void **state)
{
	const char *j0 = "{\"access_token\":\"x\",\"expires_at\":0}";
	struct ka_service svc = { .min_valid = 60 };
	struct ka_record *r = NULL, *back = NULL;
	int64_t now = kai_now();
	char *json = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_true(ka_record_expires_at(r) == KA_EXPIRES_NEVER);
	assert_true(ka_record_refresh_expires_at(r) == KA_EXPIRES_NEVER);
	assert_int_equal(ka_record_set_access_token(r, "x"), KA_OK);
	assert_true(kai_record_usable(&svc, r, now));
	assert_int_equal(kai_record_to_json(r, &json, NULL), KA_OK);
	assert_false(tu_contains(json, "expires_at"));
	kai_secure_free(json);
	ka_record_free(r);

	assert_int_equal(kai_record_from_json(j0, strlen(j0), &back, &err), KA_OK);
	assert_int_equal(ka_record_expires_at(back), 0);
	assert_false(kai_record_usable(&svc, back, now));
	assert_int_equal(kai_record_to_json(back, &json, NULL), KA_OK);
	assert_true(tu_contains(json, "\"expires_at\":0"));
	kai_secure_free(json);
	ka_record_free(back);
}

static void freshness_never_overflows(void **state)
{
	(void)state;
	assert_true(kai_fresh_for(KA_EXPIRES_NEVER, INT64_MAX - 1, INT64_MAX));
	assert_true(kai_fresh_for(KA_EXPIRES_NEVER, INT64_MIN, 0));
	assert_false(kai_fresh_for(INT64_MIN, 0, 0));
	assert_false(kai_fresh_for(INT64_MIN, INT64_MIN, 0));
	assert_false(kai_fresh_for(0, 0, 0));
	assert_false(kai_fresh_for(100, 40, 60));
	assert_true(kai_fresh_for(101, 40, 60));
	assert_true(kai_fresh_for(INT64_MAX - 1, INT64_MIN, INT64_MAX));
	assert_false(kai_fresh_for(INT64_MAX - 1, -1, INT64_MAX));
}

static void longest_tokens_fit_a_record(void **state)
{
	char *tok = malloc(KA_TOKEN_MAX + 2), *json = NULL;
	struct ka_record *r = NULL, *back = NULL;
	size_t len = 0;
	ka_error err;

	(void)state;
	memset(tok, 'a', KA_TOKEN_MAX + 1);
	tok[KA_TOKEN_MAX + 1] = '\0';
	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, tok), KA_ERR_INVALID);
	tok[KA_TOKEN_MAX] = '\0';
	assert_int_equal(ka_record_set_access_token(r, tok), KA_OK);
	assert_int_equal(ka_record_set_refresh_token(r, tok), KA_OK);
	for (int i = 0; i < 50; i++) {
		char scope[40];

		snprintf(scope, sizeof(scope), "some-service:scope-number-%d", i);
		assert_int_equal(ka_record_add_scope(r, scope), KA_OK);
	}
	assert_int_equal(kai_record_to_json(r, &json, &len), KA_OK);
	ka_error_clear(&err);
	assert_int_equal(kai_record_from_json(json, len, &back, &err), KA_OK);
	assert_int_equal(strlen(back->refresh_token), KA_TOKEN_MAX);
	kai_secure_free(json);
	ka_record_free(back);
	ka_record_free(r);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(dup_is_deep),
		cmocka_unit_test(setters_refuse_control_bytes),
		cmocka_unit_test(hostile_json),
		cmocka_unit_test(error_text_never_quotes_input),
		cmocka_unit_test(oversized_json),
		cmocka_unit_test(unknown_fields_are_ignored),
		cmocka_unit_test(longest_tokens_fit_a_record),
		cmocka_unit_test(never_and_the_epoch),
		cmocka_unit_test(freshness_never_overflows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
