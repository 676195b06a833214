/* SPDX-License-Identifier: MIT */
/* fuzzhost.c: the input as an HTTP answer, and a refresh module instance
 * on a host table of the fuzz target's (fuzzhost.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzzhost.h"

struct ka_http_response *fuzz_response(unsigned sel, const uint8_t *body,
				       size_t len)
{
	static const long statuses[] = { 200, 400, 401, 500 };
	struct ka_http_response *r = calloc(1, sizeof(*r));

	/* Secure memory with a NUL after the last byte, as kai_http gives. */
	if (r == NULL || (r->body = kai_secure_alloc(len + 1)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->body, body, len);
	r->len = len;
	r->status = statuses[(sel >> 2) % 4];
	snprintf(r->content_type, sizeof(r->content_type), "%s", sel & 0x10 ?
		 "application/x-www-form-urlencoded" : "application/json");
	return r;
}

static void quiet(int level, const char *msg, void *data)
{
	(void)level;
	(void)msg;
	(void)data;
}

static struct ka_ctx *open_conf(const char *conf)
{
	const char *tmp = getenv("TMPDIR");
	char dir[2048], path[2100];
	struct ka_options o = { .log = quiet, .flags = KA_CTX_NO_MODULES };
	struct ka_ctx *ctx = NULL;
	ka_error err;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/ka-fuzz.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	fuzz_assert(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/kiwi-auth.conf", dir);
	fuzz_assert((f = fopen(path, "w")) != NULL);
	fuzz_assert(fputs(conf, f) >= 0 && fclose(f) == 0);
	o.config = path;
	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK) {
		fprintf(stderr, "fuzz config: %s\n", err.text);
		abort();
	}
	unlink(path);
	rmdir(dir);
	return ctx;
}

struct ka_mctx *fuzz_instance(const char *conf, const struct ka_module *mod,
			      const struct ka_host *host)
{
	static struct ka_ctx *ctx;	/* reachable to the end */
	struct ka_mctx *m;
	ka_error err;

	ctx = open_conf(conf);
	fuzz_assert(ctx->nservices == 1 && ctx->services[0]->refresh != NULL);
	m = ctx->services[0]->refresh;
	m->head.host = host;
	m->mod = mod;
	ka_error_clear(&err);
	if (mod->init != NULL && mod->init(m, host, &err) != KA_OK) {
		fprintf(stderr, "fuzz module init: %s\n", err.text);
		abort();
	}
	m->initialized = 1;
	return m;
}

struct ka_record *fuzz_current(const char *access, const char *refresh)
{
	struct ka_record *cur = NULL;

	fuzz_assert(ka_record_new(&cur) == KA_OK);
	fuzz_assert(ka_record_set_access_token(cur, access) == KA_OK);
	fuzz_assert(ka_record_set_refresh_token(cur, refresh) == KA_OK);
	return cur;
}

void fuzz_check_outcome(enum ka_status st, int want_record,
			const struct ka_record *out, const ka_error *err,
			const uint8_t *data, size_t size, const char *rt)
{
	if (st == KA_OK && want_record)
		fuzz_assert(out != NULL && out->access_token != NULL &&
			    !kai_has_ctl(out->access_token));
	if (st != KA_OK)
		fuzz_assert(out == NULL && err->text[0] != '\0');
	fuzz_assert(strstr(err->text, rt) == NULL ||
		    memmem(data, size, rt, strlen(rt)) != NULL);
}
