/* SPDX-License-Identifier: MIT */
/* fuzz_exec.c: the exec module's reading of a command's output, a token
 * record (expiry as expires_at or expires_in) or a kubectl ExecCredential
 * (v1 or v1beta1, expiry as status.expirationTimestamp). A refusal never
 * quotes the output: the input's one token must not appear in it. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "kai.h"
#include "exec-output.h"

/* 1 if the output names an expiry: expires_in, expires_at (other than
 * the largest integer, which is "never" itself) or, in an
 * ExecCredential, status.expirationTimestamp. */
static int gives_expiry(const uint8_t *data, size_t size)
{
	json_t *o = json_loadb((const char *)data, size, 0, NULL);
	json_t *at = json_object_get(o, "expires_at");
	int given;

	given = (json_object_get(o, "expires_in") != NULL &&
		 !json_is_null(json_object_get(o, "expires_in"))) ||
		(at != NULL && !json_is_null(at) &&
		 !(json_is_integer(at) && json_integer_value(at) == INT64_MAX)) ||
		json_is_string(json_object_get(json_object_get(o, "status"),
					       "expirationTimestamp"));
	json_decref(o);
	return given;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_record *r = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (kai_exec_parse_output(&kai_host, "/fuzz/cmd", (const char *)data,
				  size, &r, &err) != KA_OK) {
		fuzz_assert(r == NULL && err.text[0] != '\0');
		fuzz_assert(strstr(err.text, "/fuzz/cmd") != NULL);
		return 0;
	}
	fuzz_assert(r != NULL && (r->access_token != NULL ||
				  r->refresh_token != NULL));
	fuzz_assert(r->access_token == NULL || !kai_has_ctl(r->access_token));
	/* An expiry that was given is never read as "no expiry". */
	fuzz_assert(r->expires_at != KA_EXPIRES_NEVER ||
		    !gives_expiry(data, size));
	ka_record_free(r);
	return 0;
}
