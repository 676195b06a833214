/* SPDX-License-Identifier: MIT */
/* fuzz_supabase.c: the supabase module's reading of Supabase Auth (GoTrue)
 * answers, through its own refresh and logout operations: the module is
 * linked in and its host's HTTP client returns the input (byte 0: status
 * and operation, then the body). A token taken is one a record can hold;
 * a refusal says why and never repeats the refresh token. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "fuzzhost.h"

extern const struct ka_module ka_module;	/* modules/refresh/supabase.c */

static struct ka_host host;
static struct ka_mctx *inst;
static const uint8_t *in;
static size_t in_len;

#define RT "fuzz-refresh-token-0123456789"

/* The answer: the input, with any 5xx made a 429 (5xx is retried after
 * a pause, which fuzzing cannot afford). */
static enum ka_status fake_http(const struct ka_mctx *m,
				const struct ka_http_request *req,
				struct ka_http_response **out, ka_error *err)
{
	(void)m;
	(void)req;
	(void)err;
	*out = fuzz_response(in[0] & ~0x10u, in + 1, in_len - 1);
	if (*out == NULL)
		return KA_ERR_NOMEM;
	if ((*out)->status >= 500)
		(*out)->status = 429;
	return KA_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	host = kai_host;
	host.http = fake_http;
	inst = fuzz_instance("sb: {\n"
		"  hosts = [ \"http://127.0.0.1:9\" ];\n"
		"  source = ( { module = \"file\"; } );\n"
		"  refresh = { module = \"supabase\"; url = \"http://127.0.0.1:9\";\n"
		"              anon_key = \"fuzz-anon.eyJyb2xlIjoiYW5vbiJ9.sig\"; };\n"
		"};\n", &ka_module, &host);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_record *cur, *out = NULL;
	enum ka_status st;
	ka_error err;
	int logout;

	if (size < 1)
		return 0;
	in = data;
	in_len = size;
	logout = data[0] & 0x20;
	cur = fuzz_current("fuzz-access", RT);
	ka_error_clear(&err);
	st = logout ? ka_module.refresh->revoke(inst, cur, &err) :
	     ka_module.refresh->refresh(inst, cur, &out, &err);
	fuzz_check_outcome(st, !logout, out, &err, data, size, RT);
	ka_record_free(out);
	ka_record_free(cur);
	return 0;
}
