/* SPDX-License-Identifier: MIT */
/* fuzz_mcp.c: the parsers of MCP authorization's outside input: a
 * WWW-Authenticate challenge (and step-up on it), protected-resource
 * metadata, a dynamic registration answer, a resource URL. The first byte
 * picks the parser; the rest is the input. Every acceptance keeps the
 * parser's promises: printable fields, a canonical resource, endpoints
 * that parse as origins. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

#define RESOURCE "https://mcp.localhost/mcp"

static int printable(const char *s)
{
	return !kai_has_ctl(s);
}

static void challenge(const char *text, size_t len)
{
	struct kai_bearer_challenge ch;
	ka_error err;

	if (kai_bearer_challenge_parse(text, len, &ch) != KA_OK)
		return;
	fuzz_assert(printable(ch.error) && printable(ch.scope) &&
		    printable(ch.resource_metadata) && printable(ch.realm) &&
		    printable(ch.error_description));
	/* The scope is the server's words, not yet a list we would ask for:
	 * whoever uses it checks it with kai_scope_list_ok (step-up,
	 * resource metadata), as the loop below exercises. */
	/* Step-up on it never asks for more than a capped number of sends. */
	for (unsigned attempt = 0; attempt < 4; attempt++) {
		ka_error_clear(&err);
		if (kai_step_up("svc", "default", NULL, 403, text, attempt,
				&err) == KAI_STEP_UP_RETRY)
			fuzz_assert(attempt < 2);
	}
}

static void metadata(const char *text, size_t len)
{
	struct ka_resource_metadata rm;
	char canon[KA_URL_MAX];
	ka_error err;

	ka_error_clear(&err);
	if (kai_resource_metadata_parse(text, len, RESOURCE, &rm, &err) != KA_OK) {
		fuzz_assert(err.text[0] != '\0');
		return;
	}
	ka_error_clear(&err);
	fuzz_assert(kai_resource_canon(RESOURCE, canon, sizeof(canon), &err) ==
		    KA_OK && strcmp(rm.resource, canon) == 0);
	fuzz_assert(printable(rm.as.issuer) && printable(rm.scope));
}

static void registration(const char *text, size_t len)
{
	struct ka_oauth_client c;
	ka_error err;

	memset(&c, 0, sizeof(c));
	ka_error_clear(&err);
	if (kai_registration_parse(text, len, &c, &err) == KA_OK)
		fuzz_assert(c.client_id[0] != '\0' && printable(c.client_id));
	else
		fuzz_assert(err.text[0] != '\0');
	kai_oauth_client_clear(&c);
}

static void resource(const char *text)
{
	char out[KA_URL_MAX], again[KA_URL_MAX];
	struct kai_origin o;
	ka_error err;

	ka_error_clear(&err);
	if (kai_resource_canon(text, out, sizeof(out), &err) != KA_OK)
		return;
	/* Canonical is a fixed point, and its origin parses. */
	ka_error_clear(&err);
	fuzz_assert(kai_resource_canon(out, again, sizeof(again), &err) == KA_OK &&
		    strcmp(out, again) == 0);
	ka_error_clear(&err);
	fuzz_assert(kai_origin_parse(out, &o, NULL, &err) == KA_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || (text = fuzz_string(data + 1, size - 1)) == NULL)
		return 0;
	switch (data[0] % 4) {
	case 0: challenge(text, size - 1); break;
	case 1: metadata(text, size - 1); break;
	case 2: registration(text, size - 1); break;
	default: resource(text); break;
	}
	free(text);
	return 0;
}
