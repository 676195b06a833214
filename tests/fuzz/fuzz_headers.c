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
			const char *v = strchr(line, ':');

			fuzz_assert(err.text[0] != '\0');
			/* The value is never quoted back (the name may be, and
			 * a value spelled inside the name says nothing). */
			fuzz_assert(v == NULL || strlen(v) < 8 ||
				    memmem(line, (size_t)(v - line), v + 1,
					   strlen(v + 1)) != NULL ||
				    strstr(err.text, v + 1) == NULL);
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
