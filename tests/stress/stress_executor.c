/* SPDX-License-Identifier: MIT */
/* stress_executor.c: the smallest executor of the kill test: one context,
 * one ka_perform GET of URL with scope SCOPE (which refreshes an expired
 * token first), the HTTP status on stdout; 0 when it was 200.
 *
 *   stress_executor CONFIG SCOPE URL */
#include "config.h"

#include <stdio.h>

#include "kiwiauth.h"

int main(int argc, char **argv)
{
	struct ka_options o = { 0 };
	struct ka_ctx *ctx = NULL;
	struct ka_response *r = NULL;
	struct ka_perform_request pr = { 0 };
	ka_error err;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: stress_executor CONFIG SCOPE URL\n");
		return 2;
	}
	ka_error_clear(&err);
	o.config = argv[1];
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK) {
		fprintf(stderr, "stress_executor: %s\n", err.text);
		return 2;
	}
	pr.req.scope = argv[2];
	pr.req.url = argv[3];
	if (ka_perform(ctx, &pr, &r, &err) != KA_OK) {
		fprintf(stderr, "stress_executor: %s\n", err.text);
	} else {
		printf("HTTP %ld\n", ka_response_status(r));
		rc = ka_response_status(r) == 200 ? 0 : 1;
	}
	ka_response_free(r);
	ka_ctx_free(ctx);
	return rc;
}
