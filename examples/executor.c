/* SPDX-License-Identifier: MIT */
/* executor.c: a minimal tool executor: the tool's chain of manifests names
 * the scope it needs, and libkiwiauth performs its request (authorize,
 * send, follow redirects, mask echoes) without the token ever entering
 * this program's memory. The result carries the metadata an agent's
 * executor reports with a tool's output.
 *
 * Build against an installed libkiwiauth:
 *   cc executor.c $(pkg-config --cflags --libs libkiwiauth) -o executor
 * Run:   ./executor CHAIN.json URL
 *   CHAIN.json: [ {"name": "list_items", "required_scope": "items:read"},
 *                 {"name": "items", "auth_service": "internal-api"} ]
 */
#include <stdio.h>
#include <stdlib.h>

#include <kiwiauth.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct ka_perform_request pr = { .req = { .primitive = KA_PRIMITIVE_HTTP } };
	struct ka_tool_scope *chain = NULL;
	struct ka_response *resp = NULL;
	struct ka_ctx *ctx = NULL;
	char *json = NULL;
	size_t len = 0;
	ka_error err;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CHAIN.json URL\n", argv[0]);
		return 2;
	}
	ka_error_clear(&err);
	if ((json = slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "cannot read %s\n", argv[1]);
		return 2;
	}
	if (ka_tool_scope_new(json, len, &chain, &err) != KA_OK ||
	    ka_ctx_new(NULL, &ctx, &err) != KA_OK)
		goto report;
	pr.chain = chain;	/* scope, service and tool name come from it */
	pr.req.url = argv[2];
	if (ka_perform(ctx, &pr, &resp, &err) != KA_OK)
		goto report;
	/* The body as the tool sees it (any echo of the token masked). */
	fwrite(ka_response_body(resp, &len), 1, len, stdout);
	/* The metadata the executor reports with the tool's result. */
	fprintf(stderr, "status %ld, auth_required no, service %s, scope %s, "
		"credential sent %s\n", ka_response_status(resp),
		ka_response_service(resp) ? ka_response_service(resp) : "-",
		ka_response_scope(resp) ? ka_response_scope(resp) : "-",
		ka_response_injected(resp) ? "yes" : "no");
	rc = ka_response_status(resp) < 400 ? 0 : 1;
	goto out;
report:
	/* err.text says what to do; err.auth_required goes into the tool's
	 * result metadata so the agent can ask its user to sign in. */
	fprintf(stderr, "%s\nstatus -, auth_required %s\n", err.text,
		err.auth_required ? "yes" : "no");
out:
	ka_response_free(resp);
	ka_ctx_free(ctx);
	ka_tool_scope_free(chain);
	free(json);
	return rc;
}
