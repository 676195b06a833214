/* SPDX-License-Identifier: MIT */
/* fuzz_refresher.c: the refresher's pipe protocol (rfproto.c), both ways:
 * a request as kiwi-auth-refresher reads it, an answer as the library
 * reads it. What is accepted writes out to the same bytes; every field
 * is free of control bytes and within its limit. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "kai.h"

static void check_log(int level, const char *text, void *data)
{
	(void)data;
	fuzz_assert(level >= 0 && level <= 7 && !kai_has_ctl(text) &&
		    strlen(text) < KAI_RF_LINE_MAX);
}

static void request(const uint8_t *data, size_t size)
{
	static struct kai_rf_request rq;
	static char out[KAI_RF_REQUEST_MAX + 1];
	size_t len = 0;

	if (kai_rf_request_parse((const char *)data, size, &rq) != 0)
		return;
	fuzz_assert(rq.service[0] != '\0' && rq.account[0] != '\0');
	fuzz_assert(!kai_has_ctl(rq.config) && !kai_has_ctl(rq.module_dir) &&
		    !kai_has_ctl(rq.service) && !kai_has_ctl(rq.account));
	fuzz_assert(kai_rf_request_format(&rq, out, sizeof(out), &len) == 0);
	fuzz_assert(len == size && memcmp(out, data, size) == 0);
}

static void answer(const uint8_t *data, size_t size)
{
	struct kai_rf_answer an;
	char out[KA_ERROR_TEXT_LENGTH + 128];
	ka_error err;
	int n;

	if (kai_rf_answer_parse((const char *)data, size, &an, check_log,
				NULL) != 0)
		return;
	fuzz_assert(an.status >= KA_OK && an.status <= KA_ERR_PROTOCOL);
	fuzz_assert((an.status == KA_OK) == (an.message[0] == '\0'));
	fuzz_assert(!kai_has_ctl(an.message));
	/* The outcome (without its log lines) writes out and reads back. */
	ka_error_clear(&err);
	memcpy(err.text, an.message, sizeof(err.text));
	err.auth_required = an.auth_required;
	n = kai_rf_answer_format(an.status, &err, an.refreshed, out,
				 sizeof(out));
	fuzz_assert(n > 0);
	{
		struct kai_rf_answer again;

		fuzz_assert(kai_rf_answer_parse(out, (size_t)n, &again, NULL,
						NULL) == 0);
		fuzz_assert(again.status == an.status &&
			    again.refreshed == an.refreshed &&
			    strcmp(again.message, an.message) == 0);
		fuzz_assert(an.status == KA_OK ||
			    again.auth_required == an.auth_required);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	request(data, size);
	answer(data, size);
	return 0;
}
