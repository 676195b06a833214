/* SPDX-License-Identifier: MIT */
/* fuzz_record.c: the token record JSON reader (kai_record_from_json). A
 * record it accepts must write out and read back to the same JSON. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_record *r = NULL, *back = NULL, *dup = NULL;
	char *j1 = NULL, *j2 = NULL, *j3 = NULL;
	size_t n1 = 0, n2 = 0, n3 = 0;
	ka_error err;

	ka_error_clear(&err);
	if (kai_record_from_json((const char *)data, size, &r, &err) != KA_OK) {
		fuzz_assert(r == NULL && err.code != KA_OK && err.text[0] != '\0');
		return 0;
	}
	fuzz_assert(kai_record_to_json(r, &j1, &n1) == KA_OK);
	ka_error_clear(&err);
	fuzz_assert(kai_record_from_json(j1, n1, &back, &err) == KA_OK);
	fuzz_assert(kai_record_to_json(back, &j2, &n2) == KA_OK);
	fuzz_assert(n1 == n2 && memcmp(j1, j2, n1) == 0);
	fuzz_assert(kai_record_dup(back, &dup) == KA_OK);
	fuzz_assert(kai_record_to_json(dup, &j3, &n3) == KA_OK);
	fuzz_assert(n3 == n1 && memcmp(j1, j3, n1) == 0);
	fuzz_assert(ka_record_expires_at(dup) == ka_record_expires_at(r));
	kai_secure_free(j1);
	kai_secure_free(j2);
	kai_secure_free(j3);
	ka_record_free(r);
	ka_record_free(back);
	ka_record_free(dup);
	return 0;
}
