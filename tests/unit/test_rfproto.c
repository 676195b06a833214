/* SPDX-License-Identifier: MIT */
/* test_rfproto.c: the refresher's pipe protocol (rfproto.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kai.h"

static const char good[] = "KIWI-AUTH-REFRESH 1\nconfig /etc/k.conf\n"
	"moduledir \nservice api\naccount ann@example.com\nforce 1\nend\n";

static void request_round_trip(void **state)
{
	static struct kai_rf_request rq;
	char out[KAI_RF_REQUEST_MAX + 1];
	size_t len = 0;

	(void)state;
	assert_int_equal(kai_rf_request_parse(good, strlen(good), &rq), 0);
	assert_string_equal(rq.config, "/etc/k.conf");
	assert_string_equal(rq.module_dir, "");
	assert_string_equal(rq.service, "api");
	assert_string_equal(rq.account, "ann@example.com");
	assert_int_equal(rq.force, 1);
	assert_int_equal(kai_rf_request_format(&rq, out, sizeof(out), &len), 0);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(out, good, len);
}

static void request_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"KIWI-AUTH-REFRESH 2\nconfig \nmoduledir \nservice a\naccount b\nforce 0\nend\n",
		/* order, missing fields, empty service */
		"KIWI-AUTH-REFRESH 1\nmoduledir \nconfig \nservice a\naccount b\nforce 0\nend\n",
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice a\nforce 0\nend\n",
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice \naccount b\nforce 0\nend\n",
		/* force must be 0 or 1; no end; something after end */
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice a\naccount b\nforce 2\nend\n",
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice a\naccount b\nforce 0\n",
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice a\naccount b\nforce 0\nend\nx",
		/* control bytes */
		"KIWI-AUTH-REFRESH 1\nconfig \nmoduledir \nservice a\naccount b\r\nforce 0\nend\n",
		"KIWI-AUTH-REFRESH 1\nconfig \x1b\nmoduledir \nservice a\naccount b\nforce 0\nend\n",
	};
	static struct kai_rf_request rq;
	char *big;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kai_rf_request_parse(bad[i], strlen(bad[i]), &rq) == 0)
			fail_msg("accepted case %zu", i);
		assert_string_equal(rq.service, "");
	}
	/* A line past the limit. */
	big = malloc(KAI_RF_LINE_MAX + 200);
	assert_non_null(big);
	strcpy(big, "KIWI-AUTH-REFRESH 1\nconfig /");
	memset(big + strlen(big), 'a', KAI_RF_LINE_MAX);
	strcpy(big + strlen("KIWI-AUTH-REFRESH 1\nconfig /") + KAI_RF_LINE_MAX,
	       "\nmoduledir \nservice a\naccount b\nforce 0\nend\n");
	assert_int_equal(kai_rf_request_parse(big, strlen(big), &rq), -1);
	free(big);
	/* Nothing unformattable is written either. */
	memset(&rq, 0, sizeof(rq));
	strcpy(rq.service, "a");
	strcpy(rq.account, "b\nforce 1");
	{
		char out[256];
		size_t len;

		assert_int_equal(kai_rf_request_format(&rq, out, sizeof(out),
						       &len), -1);
	}
}

static int logs;

static void count_log(int level, const char *text, void *data)
{
	(void)data;
	assert_true(level >= 0 && level <= 7);
	assert_false(kai_has_ctl(text));
	logs++;
}

static void answers(void **state)
{
	static const char ok[] = "log 6 refreshed\nlog 4 careful\n"
		"result 0 0 1\nmessage \nend\n";
	static const char *const bad[] = {
		"result 0 0 1\nmessage oops\nend\n",	/* OK with a message */
		"result 7 0 0\nmessage \nend\n",	/* error without one */
		"result 99 0 0\nmessage x\nend\n",	/* no such status */
		"result 7 2 0\nmessage x\nend\n",
		"result 7 0 0\nmessage x\n",		/* no end */
		"log 9 x\nresult 0 0 0\nmessage \nend\n",
		"result 0 0 0 \nmessage \nend\n",
	};
	struct kai_rf_answer an;
	char buf[1024];
	ka_error err;
	int n;

	(void)state;
	logs = 0;
	assert_int_equal(kai_rf_answer_parse(ok, strlen(ok), &an, count_log,
					     NULL), 0);
	assert_int_equal(logs, 2);
	assert_int_equal(an.status, KA_OK);
	assert_int_equal(an.refreshed, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (kai_rf_answer_parse(bad[i], strlen(bad[i]), &an, NULL,
					NULL) == 0)
			fail_msg("accepted answer %zu", i);
	/* An error travels with its text and auth_required. */
	ka_error_clear(&err);
	kai_error_set(&err, KA_ERR_EXPIRED, "the token expired:\nrun it");
	err.auth_required = 1;
	n = kai_rf_answer_format(KA_ERR_EXPIRED, &err, 0, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(kai_rf_answer_parse(buf, (size_t)n, &an, NULL, NULL), 0);
	assert_int_equal(an.status, KA_ERR_EXPIRED);
	assert_int_equal(an.auth_required, 1);
	assert_string_equal(an.message, "the token expired:?run it");
	/* Log lines lose their control bytes. */
	n = kai_rf_log_format(6, "a\nb", buf, sizeof(buf));
	assert_string_equal(buf, "log 6 a?b\n");
	assert_int_equal(n, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_round_trip),
		cmocka_unit_test(request_refusals),
		cmocka_unit_test(answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
