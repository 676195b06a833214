/* SPDX-License-Identifier: MIT */
/* test_util.c: string vectors, identifiers, control bytes, secure memory. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kai.h"

static void strv_grows_and_finds(void **state)
{
	struct kai_strv sv = { 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(kai_strv_addf(&sv, "s%d", i), KA_OK);
	assert_int_equal(sv.n, 100);
	assert_null(sv.v[100]);
	assert_true(kai_strv_contains(&sv, "s42"));
	assert_false(kai_strv_contains(&sv, "s100"));
	kai_strv_clear(&sv);
	assert_int_equal(sv.n, 0);
	assert_null(sv.v);
}

static void identifiers(void **state)
{
	(void)state;
	assert_true(kai_is_identifier("supabase"));
	assert_true(kai_is_identifier("internal-api_2"));
	assert_false(kai_is_identifier(""));
	assert_false(kai_is_identifier(NULL));
	assert_false(kai_is_identifier("2fa"));
	assert_false(kai_is_identifier("../file"));
	assert_false(kai_is_identifier("file.so"));
	assert_false(kai_is_identifier("a b"));
	char long_name[80];
	memset(long_name, 'a', 79);
	long_name[79] = '\0';
	assert_false(kai_is_identifier(long_name));
}

static void control_bytes(void **state)
{
	(void)state;
	assert_false(kai_has_ctl("plain text"));
	assert_true(kai_has_ctl("a\nb"));
	assert_true(kai_has_ctl("a\rb"));
	assert_true(kai_has_ctl("\x7f"));
	assert_true(kai_has_ctl("tab\t"));
}

static void secure_memory(void **state)
{
	char *p;

	(void)state;
	p = kai_secure_alloc(64);
	assert_non_null(p);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	memset(p, 'x', 63);
	kai_secure_free(p);
	kai_secure_free(NULL);
	p = kai_secure_strdup("secret-value");
	assert_string_equal(p, "secret-value");
	kai_secure_free(p);
	assert_null(kai_secure_strdup(NULL));
	assert_null(kai_secure_alloc(SIZE_MAX));
}

static void secure_memory_is_reused_wiped(void **state)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 4000, 16368, 16369,
					100000 };

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		unsigned char *p, *q;

		for (int round = 0; round < 3; round++) {
			p = kai_secure_alloc(n);
			assert_non_null(p);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(p[i], 0);
			memset(p, 0xa5, n);
			q = kai_secure_alloc(n);	/* a live neighbour */
			assert_non_null(q);
			assert_ptr_not_equal(p, q);
			memset(q, 0x5a, n);
			kai_secure_free(p);
			kai_secure_free(q);
		}
	}
}

/* Under AddressSanitizer (gcc or clang) secret blocks come from the
 * plain heap, so the byte after a block is poisoned and an overflow is
 * reported. A slab block would have a neighbour there that ASan cannot
 * see (the blind spot clang had, which defines no __SANITIZE_ADDRESS__).
 * The sanitizer's runtime is looked up at run time, not by the macros
 * under test. */
extern void *__asan_region_is_poisoned(void *beg, size_t size)
	__attribute__((weak));

static void secure_memory_visible_to_asan(void **state)
{
	char *p = kai_secure_alloc(16);

	(void)state;
	assert_non_null(p);
	if (__asan_region_is_poisoned != NULL) {
		assert_null(__asan_region_is_poisoned(p, 16));
		assert_ptr_equal(__asan_region_is_poisoned(p + 16, 8), p + 16);
	} else {
		/* Without ASan there is nothing to see: the block is usable. */
		memset(p, 'x', 16);
		assert_int_equal(p[15], 'x');
	}
	kai_secure_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strv_grows_and_finds),
		cmocka_unit_test(identifiers),
		cmocka_unit_test(control_bytes),
		cmocka_unit_test(secure_memory),
		cmocka_unit_test(secure_memory_is_reused_wiped),
		cmocka_unit_test(secure_memory_visible_to_asan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
