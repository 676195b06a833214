/* SPDX-License-Identifier: MIT */
/* fuzz_oauth.c: the OAuth answers a refresh module gets (oauth.c): token
 * answers (JSON, or a form as GitHub may send it; success or error),
 * device authorization answers and discovery documents. Input: one
 * byte that picks the answer kind, content type and HTTP status, then the
 * body. Whatever the body, a token taken is one the record can hold, an
 * endpoint taken is a URL the origin parser accepts, an error code or text
 * is printable. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzzhost.h"

static void check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		fuzz_assert((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
}

static void token(const struct ka_http_response *r, int with_prev)
{
	struct ka_record *prev = NULL, *out = NULL;
	struct ka_oauth_request req = { .url = "https://127.0.0.1:9/token" };
	struct ka_oauth_error oe;
	enum ka_status st;
	ka_error err;

	if (with_prev) {
		fuzz_assert(ka_record_new(&prev) == KA_OK);
		fuzz_assert(ka_record_set_refresh_token(prev, "prev-rt") == KA_OK);
		fuzz_assert(ka_record_add_scope(prev, "prev:scope") == KA_OK);
		req.prev = prev;
	}
	ka_error_clear(&err);
	st = kai_oauth_token_answer(NULL, &req, r, &out, &oe, &err);
	check_printable(oe.error);
	check_printable(oe.description);
	if (st == KA_OK) {
		fuzz_assert(out != NULL && out->access_token != NULL);
		fuzz_assert(!kai_has_ctl(out->access_token));
		fuzz_assert(out->refresh_token == NULL ||
			    !kai_has_ctl(out->refresh_token));
		fuzz_assert(out->expires_at == KA_EXPIRES_NEVER ||
			    out->expires_at <= kai_now() + 100LL * 365 * 86400 + 5);
	} else {
		fuzz_assert(out == NULL);
		fuzz_assert(st == KA_ERR_DENIED || err.text[0] != '\0');
	}
	ka_record_free(out);
	ka_record_free(prev);
}

static void device(const struct ka_http_response *r)
{
	struct kai_device_answer da;
	struct ka_oauth_error oe;
	ka_error err;

	memset(&oe, 0, sizeof(oe));
	ka_error_clear(&err);
	if (kai_oauth_device_answer(r, &da, &oe, &err) != KA_OK) {
		fuzz_assert(da.device_code == NULL && err.text[0] != '\0');
		return;
	}
	fuzz_assert(da.device_code != NULL);
	fuzz_assert(!kai_has_ctl(da.uri) && !kai_has_ctl(da.code) &&
		    !kai_has_ctl(da.complete));
	kai_secure_free(da.device_code);
}

static void check_endpoint(const char *url)
{
	struct kai_origin o;
	ka_error err;

	ka_error_clear(&err);
	fuzz_assert(url[0] == '\0' || kai_origin_parse(url, &o, NULL, &err) == KA_OK);
}

/* Authorization server metadata (discover.c), lenient and strict. */
static void discovery(const struct ka_http_response *r)
{
	struct ka_oauth_metadata md;
	ka_error err;

	for (int strict = 0; strict < 2; strict++) {
		ka_error_clear(&err);
		if (kai_as_metadata_parse(r->body, r->len, "https://as.localhost",
					  strict, &md, &err) != KA_OK) {
			fuzz_assert(err.text[0] != '\0');
			continue;
		}
		fuzz_assert(md.ep.token[0] != '\0');
		check_endpoint(md.ep.token);
		check_endpoint(md.ep.authorization);
		check_endpoint(md.ep.device_authorization);
		check_endpoint(md.ep.revocation);
		check_endpoint(md.ep.userinfo);
		check_endpoint(md.registration);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_http_response *r;

	if (size < 1 || (r = fuzz_response(data[0], data + 1, size - 1)) == NULL)
		return 0;
	switch (data[0] & 3) {
	case 0: token(r, 0); break;
	case 1: token(r, 1); break;
	case 2: device(r); break;
	default: discovery(r); break;
	}
	kai_http_response_free(r);
	return 0;
}
