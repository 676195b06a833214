/* SPDX-License-Identifier: MIT */
/* fuzz_github.c: the github module's refresh on GitHub's token answers,
 * JSON or form-encoded: the module is linked in and its host's OAuth token
 * call reads the input as the answer (byte 0: status and content type,
 * then the body) with the library's reader. A token taken is one a record
 * can hold; a refusal says why and never repeats the refresh token. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "fuzzhost.h"

extern const struct ka_module ka_module;	/* modules/refresh/github.c */

static struct ka_host host;
static struct ka_mctx *inst;
static const uint8_t *in;
static size_t in_len;

#define RT "ghr_fuzzrefreshtoken0123456789"

static enum ka_status fake_token(const struct ka_mctx *m,
				 const struct ka_oauth_request *req,
				 struct ka_record **out,
				 struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_error dummy;
	struct ka_http_response *r = fuzz_response(in[0], in + 1, in_len - 1);
	enum ka_status st;

	*out = NULL;
	if (r == NULL)
		return KA_ERR_NOMEM;
	st = kai_oauth_token_answer(m, req, r, out, oerr != NULL ? oerr :
				    &dummy, err);
	kai_http_response_free(r);
	return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	host = kai_host;
	host.oauth_token = fake_token;
	inst = fuzz_instance("gh: {\n"
		"  hosts = [ \"http://127.0.0.1:9\" ];\n"
		"  source = ( { module = \"file\"; } );\n"
		"  refresh = { module = \"github\"; client_id = \"Iv1.fuzz\";\n"
		"              base_url = \"http://127.0.0.1:9\"; };\n"
		"};\n", &ka_module, &host);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_record *cur, *out = NULL;
	enum ka_status st;
	ka_error err;

	if (size < 1)
		return 0;
	in = data;
	in_len = size;
	cur = fuzz_current("ghu_fuzzaccess", RT);
	ka_record_set_expires_at(cur, 1);
	ka_error_clear(&err);
	st = ka_module.refresh->refresh(inst, cur, &out, &err);
	fuzz_check_outcome(st, 1, out, &err, data, size, RT);
	ka_record_free(out);
	ka_record_free(cur);
	return 0;
}
