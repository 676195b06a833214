/* SPDX-License-Identifier: MIT */
/* fuzz_redact.c: masking a credential echoed in a response, one (ka_redact)
 * and two at once (ka_perform's way: kai_mask_byte, kai_redact). Input: a
 * byte a, a byte b, a credential of a % 64 + 1 bytes, a second one of
 * b % 65 bytes (none when 0), then the response. Afterwards no credential
 * appears in the response, whatever bytes it holds ('*' included), every
 * byte changed holds one mask byte that no credential holds, and exactly
 * count * length bytes changed. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

/* The promises, for creds 0..n-1 masked in buf (was: orig) with count
 * copies found. */
static void check(const char *orig, const char *buf, size_t len,
		  const char *const *cred, const size_t *k, size_t n,
		  size_t count_bytes)
{
	size_t changed = 0;
	int with = -1;

	for (size_t i = 0; i < n; i++)
		fuzz_assert(memmem(buf, len, cred[i], k[i]) == NULL);
	for (size_t j = 0; j < len; j++) {
		if (buf[j] == orig[j])
			continue;
		changed++;
		if (with < 0)
			with = (unsigned char)buf[j];
		fuzz_assert((unsigned char)buf[j] == with);
	}
	for (size_t i = 0; with >= 0 && i < n; i++)
		fuzz_assert(memchr(cred[i], with, k[i]) == NULL);
	fuzz_assert(changed == count_bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_auth_info info = { .injected = 1 };
	const char *creds[2];
	size_t k[2], n, len, bytes, ncred;
	char *cred[2], *buf, *orig;
	unsigned char with;

	if (size < 3)
		return 0;
	k[0] = data[0] % 64 + 1;
	k[1] = data[1] % 65;
	ncred = k[1] > 0 ? 2 : 1;
	if (size < 2 + k[0] + k[1])
		return 0;
	len = size - 2 - k[0] - k[1];
	cred[0] = malloc(k[0]);
	cred[1] = malloc(k[1] + 1);
	buf = malloc(len + 1);
	orig = malloc(len + 1);
	fuzz_assert(cred[0] && cred[1] && buf && orig);
	memcpy(cred[0], data + 2, k[0]);
	memcpy(cred[1], data + 2 + k[0], k[1]);
	memcpy(orig, data + 2 + k[0] + k[1], len);
	creds[0] = cred[0];
	creds[1] = cred[1];

	/* One credential, through the public call. */
	memcpy(buf, orig, len);
	info.cred = cred[0];
	info.cred_len = k[0];
	n = ka_redact(&info, buf, len);
	check(orig, buf, len, creds, k, 1, n * k[0]);
	fuzz_assert(ka_redact(NULL, buf, len) == 0);

	/* All of them with one byte, as ka_perform masks an answer. */
	memcpy(buf, orig, len);
	with = kai_mask_byte(creds, k, ncred);
	bytes = 0;
	for (size_t i = 0; i < ncred; i++)
		bytes += kai_redact(creds[i], k[i], with, buf, len) * k[i];
	check(orig, buf, len, creds, k, ncred, bytes);

	free(cred[0]);
	free(cred[1]);
	free(buf);
	free(orig);
	return 0;
}
