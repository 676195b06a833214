/* SPDX-License-Identifier: MIT */
/* test_error.c: status names and first-error-wins error struct. */
#include "config.h"

#include <string.h>

#include "testutil.h"
#include "kai.h"

static void every_status_has_a_name(void **state)
{
	(void)state;
	for (int s = KA_OK; s <= KA_ERR_PROTOCOL; s++) {
		const char *t = ka_strerror((enum ka_status)s);
		assert_non_null(t);
		assert_string_not_equal(t, "unknown status");
	}
	assert_string_equal(ka_strerror((enum ka_status)9999), "unknown status");
	assert_string_equal(ka_strerror(KA_ERR_NOT_FOUND), "not signed in");
}

static void first_error_wins(void **state)
{
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(err.code, KA_OK);
	kai_error_set(&err, KA_ERR_CONFIG, "first %d", 1);
	kai_error_set(&err, KA_ERR_IO, "second");
	assert_int_equal(err.code, KA_ERR_CONFIG);
	assert_string_equal(err.text, "first 1");
	assert_int_equal(err.auth_required, 0);
	ka_error_clear(&err);
	kai_error_set(&err, KA_ERR_NOT_FOUND, "x");
	assert_int_equal(err.auth_required, 1);
	kai_error_set(NULL, KA_ERR_IO, "no crash");
}

static void long_text_is_truncated(void **state)
{
	char big[2000];
	ka_error err;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ka_error_clear(&err);
	kai_error_set(&err, KA_ERR_IO, "%s", big);
	assert_int_equal(strlen(err.text), KA_ERROR_TEXT_LENGTH - 1);
}

static void copy_respects_first(void **state)
{
	ka_error a, b;

	(void)state;
	ka_error_clear(&a);
	ka_error_clear(&b);
	kai_error_set(&b, KA_ERR_TIMEOUT, "late");
	kai_error_copy(&a, &b);
	assert_int_equal(a.code, KA_ERR_TIMEOUT);
	ka_error_clear(&b);
	kai_error_set(&b, KA_ERR_IO, "ignored");
	kai_error_copy(&a, &b);
	assert_string_equal(a.text, "late");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_status_has_a_name),
		cmocka_unit_test(first_error_wins),
		cmocka_unit_test(long_text_is_truncated),
		cmocka_unit_test(copy_respects_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
