/* SPDX-License-Identifier: MIT */
/* fuzz_origin.c: request URLs (kai_origin_parse) and host patterns
 * (kai_hostpat_parse, kai_origin_match). Input: a URL, a newline, a
 * pattern. An accepted URL's origin, formatted and parsed again, is the
 * same origin; so is libcurl's normalised URL; the origin, written as a
 * pattern, matches itself; both ways of matching agree. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

static int same_origin(const struct kai_origin *a, const struct kai_origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	       strcmp(a->host, b->host) == 0 && a->port == b->port &&
	       a->loopback == b->loopback && a->ip == b->ip;
}

/* Format o, parse that again: the same origin and the same text. */
static void check_reparse(const struct kai_origin *o, const char *canon)
{
	struct kai_origin again;
	char buf[KAI_HOST_MAX + 32], buf2[KAI_HOST_MAX + 32];
	ka_error err;

	kai_origin_format(o, buf, sizeof(buf));
	ka_error_clear(&err);
	fuzz_assert(kai_origin_parse(buf, &again, NULL, &err) == KA_OK);
	fuzz_assert(same_origin(o, &again));
	kai_origin_format(&again, buf2, sizeof(buf2));
	fuzz_assert(strcmp(buf, buf2) == 0);
	ka_error_clear(&err);
	fuzz_assert(kai_origin_parse(canon, &again, NULL, &err) == KA_OK);
	fuzz_assert(same_origin(o, &again));
	/* The origin as a pattern matches the origin. */
	struct kai_hostpat p;
	const char *why = NULL;

	if (kai_hostpat_parse(buf, &p, &why) == KA_OK) {
		fuzz_assert(kai_origin_match(o, buf));
		kai_hostpat_clear(&p);
	}
}

static void check_pattern(const struct kai_origin *o, const char *pat)
{
	struct ka_service svc;
	struct kai_hostpat p;
	const char *why = NULL;

	if (kai_hostpat_parse(pat, &p, &why) != KA_OK) {
		fuzz_assert(why != NULL);
		fuzz_assert(o == NULL || !kai_origin_match(o, pat));
		return;
	}
	if (o != NULL) {
		memset(&svc, 0, sizeof(svc));
		svc.hostpat = &p;
		svc.nhostpat = 1;
		fuzz_assert(kai_origin_match(o, pat) ==
			    kai_origin_allowed(o, &svc));
	}
	kai_hostpat_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_string(data, size), *pat, *canon = NULL;
	struct kai_origin o;
	int ok;
	ka_error err;

	if (in == NULL)
		return 0;
	pat = strchr(in, '\n');
	if (pat != NULL)
		*pat++ = '\0';
	ka_error_clear(&err);
	ok = kai_origin_parse(in, &o, &canon, &err) == KA_OK;
	if (ok)
		check_reparse(&o, canon);
	else
		fuzz_assert(err.code == KA_ERR_INVALID || err.code == KA_ERR_DENIED ||
			    err.code == KA_ERR_NOMEM);
	if (pat != NULL)
		check_pattern(ok ? &o : NULL, pat);
	free(canon);
	free(in);
	return 0;
}
