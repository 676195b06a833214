/* SPDX-License-Identifier: MIT */
/* test_safefile.c: config files are checked through the fd we read. */
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
	*state = tu_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	tu_rmrf(*state);
	free(*state);
	return 0;
}

static void reads_a_private_file(void **state)
{
	char *p = tu_write(*state, "a.conf", "hello\n", 0600);
	char *buf = NULL;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_USER, 100, &buf, &err),
			 KA_OK);
	assert_string_equal(buf, "hello\n");
	free(buf);
	free(p);
}

static void refuses_group_writable(void **state)
{
	char *p = tu_write(*state, "a.conf", "x", 0664);
	char *buf = NULL;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_USER, 100, &buf, &err),
			 KA_ERR_PERMISSION);
	assert_null(buf);
	assert_true(tu_contains(err.text, "chmod go-w"));
	assert_true(tu_contains(err.text, p));
	free(p);
}

static void refuses_symlink(void **state)
{
	char *p = tu_write(*state, "real.conf", "x", 0600);
	char *l;
	char *buf = NULL;
	ka_error err;

	assert_true(asprintf(&l, "%s/link.conf", (char *)*state) > 0);
	assert_int_equal(symlink(p, l), 0);
	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(l, KAI_OWNER_USER, 100, &buf, &err),
			 KA_ERR_PERMISSION);
	assert_true(tu_contains(err.text, "symbolic link"));
	free(p);
	free(l);
}

static void refuses_directory_and_missing(void **state)
{
	char *buf = NULL;
	char *missing;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(*state, KAI_OWNER_USER, 100, &buf,
					  &err), KA_ERR_PERMISSION);
	assert_true(asprintf(&missing, "%s/nope", (char *)*state) > 0);
	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(missing, KAI_OWNER_USER, 100, &buf,
					  &err), KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "cannot open"));
	free(missing);
}

static void refuses_oversized_and_nul(void **state)
{
	char *p = tu_write(*state, "big.conf", "0123456789", 0600);
	char *buf = NULL;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_USER, 5, &buf, &err),
			 KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "larger than"));
	free(p);
	p = tu_write(*state, "nul.conf", "", 0600);
	FILE *f = fopen(p, "w");
	fwrite("a\0b", 1, 3, f);
	fclose(f);
	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_USER, 100, &buf, &err),
			 KA_ERR_CONFIG);
	assert_true(tu_contains(err.text, "NUL"));
	free(p);
}

static void refuses_wrong_owner(void **state)
{
	char *p = tu_write(*state, "o.conf", "x", 0600);
	char *buf = NULL;
	ka_error err;

	if (geteuid() != 0) {
		free(p);
		skip();
	}
	assert_int_equal(chown(p, 65534, 65534), 0);
	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_USER, 100, &buf, &err),
			 KA_ERR_PERMISSION);
	assert_true(tu_contains(err.text, "owned by uid 65534"));
	ka_error_clear(&err);
	assert_int_equal(kai_read_checked(p, KAI_OWNER_ROOT, 100, &buf, &err),
			 KA_ERR_PERMISSION);
	assert_true(tu_contains(err.text, "chown root"));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads_a_private_file, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_group_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_directory_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_oversized_and_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_wrong_owner, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
