/* SPDX-License-Identifier: MIT */
/* fuzz_redact.c: ka_redact on any response bytes. Input: one byte n, then
 * a credential of n % 64 + 1 bytes, then the response. Afterwards the
 * credential appears nowhere in the response (when it holds no '*', the
 * byte it is overwritten with), and the count is the number of copies
 * overwritten. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_auth_info info = { .injected = 1 };
	size_t k, len, n, stars_before = 0, stars_after = 0;
	char *cred, *buf;

	if (size < 2)
		return 0;
	k = data[0] % 64 + 1;
	if (size < 1 + k)
		return 0;
	len = size - 1 - k;
	cred = malloc(k);
	buf = malloc(len + 1);
	fuzz_assert(cred != NULL && buf != NULL);
	memcpy(cred, data + 1, k);
	memcpy(buf, data + 1 + k, len);
	info.cred = cred;
	info.cred_len = k;
	for (size_t i = 0; i < len; i++)
		stars_before += buf[i] == '*';
	n = ka_redact(&info, buf, len);
	for (size_t i = 0; i < len; i++)
		stars_after += buf[i] == '*';
	if (memchr(cred, '*', k) == NULL) {
		fuzz_assert(memmem(buf, len, cred, k) == NULL);
		fuzz_assert(stars_after == stars_before + n * k);
	}
	fuzz_assert(ka_redact(NULL, buf, len) == 0);
	free(cred);
	free(buf);
	return 0;
}
