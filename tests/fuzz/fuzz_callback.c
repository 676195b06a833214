/* SPDX-License-Identifier: MIT */
/* fuzz_callback.c: the request line the browser sends to the loopback
 * redirect listener (kai_callback_parse). A code is taken only from a
 * GET of /callback whose state (and, when expected, iss) matches, and is
 * printable. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

#define STATE "fuzzstate0123456789"
#define ISSUER "http://127.0.0.1:9/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *req = fuzz_string(data, size), code[2048], oerr[64];
	char *copy;
	/* Half the inputs also expect an issuer, by their first byte. */
	struct kai_cb_expect x = { STATE, size > 0 && data[0] & 1 ? ISSUER : NULL,
				   size > 0 && data[0] & 2 };
	struct kai_cb_reply rep;
	enum kai_cb_result r;

	if (req == NULL || (copy = strdup(req)) == NULL) {
		free(req);
		return 0;
	}
	code[0] = oerr[0] = '\0';
	r = kai_callback_parse(req, &x, code, sizeof(code), oerr,
			       sizeof(oerr), &rep);
	fuzz_assert(rep.text != NULL &&
		    (rep.status == 200 || rep.status == 400 || rep.status == 404));
	if (r == KAI_CB_MIXUP)	/* only with an issuer, and nothing taken */
		fuzz_assert(x.issuer != NULL && code[0] == '\0' &&
			    oerr[0] == '\0' && rep.status == 400);
	else if (r != KAI_CB_AGAIN) {
		fuzz_assert(strncmp(copy, "GET /callback", 13) == 0);
		fuzz_assert(strstr(copy, "state=") != NULL);
		fuzz_assert(rep.status == 200);
	}
	if (r == KAI_CB_CODE)
		fuzz_assert(code[0] != '\0' && !kai_has_ctl(code));
	if (r == KAI_CB_ERROR)
		fuzz_assert(oerr[0] != '\0' && !kai_has_ctl(oerr));
	free(copy);
	free(req);
	return 0;
}
