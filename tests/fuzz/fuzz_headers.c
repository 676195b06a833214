/* SPDX-License-Identifier: MIT */
/* fuzz_headers.c: a tool's own request headers (headers.c): one header a
 * line. A line the checker accepts has a token for a name, ':' or ';'
 * after it and no control byte but TAB; a refusal never quotes a value;
 * setting the credential's line leaves exactly one line of its name. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fuzz.h"
#include "kai.h"

#define CRED "X-Fuzz-Key: fuzz-credential-canary"
#define CRED_NAME_LEN 10

static int accepted_shape(const char *line)
{
	size_t n = kai_header_name_len(line);

	if (n == 0 || (line[n] != ':' && line[n] != ';'))
		return 0;
	for (const char *p = line + n; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 0;
	return 1;
}

/* A refusal never quotes the value: with every printable byte after the
 * name changed (control bytes, which decide the refusal, kept), the
 * refusal reads the same. Comparing texts would not do: the message's
 * own "Name: value" hint can spell what a value holds. */
static int refusal_ignores_value(const char *line, size_t i,
				 const ka_error *err)
{
	size_t n = kai_header_name_len(line);
	char *other = strdup(line);
	ka_error again;
	int same;

	if (other == NULL)
		return 1;
	if (other[n] != '\0')
		for (char *p = other + n + 1; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x20 && *p != 0x7f)
				*p = *p == 'Z' ? 'Y' : 'Z';
	ka_error_clear(&again);
	same = kai_header_check(other, i, &again) != KA_OK &&
	       strcmp(again.text, err->text) == 0;
	free(other);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *line, *save = NULL;
	struct curl_slist *l = NULL, *node = NULL;
	size_t count = 0;
	ka_error err;

	if (text == NULL)
		return 0;
	for (line = strtok_r(text, "\n", &save); line != NULL && count < 64;
	     line = strtok_r(NULL, "\n", &save), count++) {
		ka_error_clear(&err);
		if (kai_header_check(line, count + 1, &err) == KA_OK) {
			fuzz_assert(accepted_shape(line));
		} else {
			fuzz_assert(err.text[0] != '\0');
			fuzz_assert(refusal_ignores_value(line, count + 1, &err));
			continue;
		}
		fuzz_assert(kai_header_routing(line) == NULL ||
			    kai_header_name_len(line) <= 18);
		if ((l = curl_slist_append(node = l, line)) == NULL) {
			l = node;
			break;
		}
	}
	ka_error_clear(&err);
	(void)kai_headers_check(l, "X-Fuzz-Key", CRED_NAME_LEN, &err);
	if (kai_headers_set(&l, CRED, strlen(CRED), CRED_NAME_LEN, &node) ==
	    KA_OK) {
		size_t same = 0;

		for (struct curl_slist *e = l; e != NULL; e = e->next)
			same += kai_header_name_len(e->data) == CRED_NAME_LEN &&
				strncasecmp(e->data, CRED, CRED_NAME_LEN) == 0;
		fuzz_assert(same == 1 && strcmp(node->data, CRED) == 0);
	}
	ka_headers_free(l);
	free(text);
	return 0;
}
