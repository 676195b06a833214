/* SPDX-License-Identifier: MIT */
/* fuzzhost.h: what the fuzz targets of HTTP answers share: the input as an
 * answer, and a refresh module (linked into the target) bound to a
 * service and to a host table of the target's, whose HTTP calls return
 * that answer instead of reaching a network. */
#ifndef KA_FUZZHOST_H
#define KA_FUZZHOST_H

#include "kai.h"

/* body[0..len) as an answer of the host's HTTP client: bits 2-3 of sel
 * pick the status (200, 400, 401, 500), bit 4 a form body instead of
 * JSON. Free with kai_http_response_free. NULL when out of memory. */
struct ka_http_response *fuzz_response(unsigned sel, const uint8_t *body,
				       size_t len);

/* The refresh instance of the one service of config text conf, bound to
 * mod with host (copied from kai_host, the target changing what it
 * fakes) and initialised; aborts if that fails. It lives to the end. */
struct ka_mctx *fuzz_instance(const char *conf, const struct ka_module *mod,
			      const struct ka_host *host);

/* A current record holding these tokens, as a refresh starts from one
 * (aborts when out of memory). */
struct ka_record *fuzz_current(const char *access, const char *refresh);

/* What a refresh (want_record) or a revocation promises whatever the
 * answer: a usable token in *out, or no record and a reason; a reason
 * quotes the refresh token rt only if the answer data[0..size) held it
 * (the server's own words are quoted). */
void fuzz_check_outcome(enum ka_status st, int want_record,
			const struct ka_record *out, const ka_error *err,
			const uint8_t *data, size_t size, const char *rt);

#endif
