/* SPDX-License-Identifier: MIT */
/* executor-curl.c: a tool executor that drives its own libcurl handle:
 * libkiwiauth authorizes the request and puts the credential on the
 * header list; the executor sends it. (Most executors should call
 * ka_perform instead, as executor.c does: it follows redirects safely and
 * keeps the token out of the executor's memory.)
 *
 * Build against an installed libkiwiauth:
 *   cc executor-curl.c $(pkg-config --cflags --libs libkiwiauth libcurl) -o executor-curl
 * Run:   ./executor-curl SCOPE URL   (e.g. ./executor-curl items:read https://api.example.com/items)
 */
#include <stdio.h>

#include <curl/curl.h>
#include <kiwiauth.h>

int main(int argc, char **argv)
{
	struct ka_request req = { .primitive = KA_PRIMITIVE_HTTP, .method = "GET" };
	struct curl_slist *headers = NULL;
	struct ka_auth_info *info = NULL;
	struct ka_ctx *ctx = NULL;
	CURL *curl = NULL;
	ka_error err;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SCOPE URL\n", argv[0]);
		return 2;
	}
	req.scope = argv[1];
	req.url = argv[2];
	ka_error_clear(&err);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (ka_ctx_new(NULL, &ctx, &err) != KA_OK ||
	    ka_auth_info_new(&info) != KA_OK ||
	    ka_authorize(ctx, &req, &headers, info, &err) != KA_OK ||
	    (curl = curl_easy_init()) == NULL ||
	    ka_curl_apply(curl, &req, headers, &err) != KA_OK) {
		/* err.auth_required: tell the user to sign in. */
		fprintf(stderr, "denied: %s%s\n", err.text,
			err.auth_required ? " (sign-in required)" : "");
		goto out;
	}
	/* ka_curl_apply turned redirects off: a 3xx comes back as it is. The
	 * body goes to stdout unmasked here; an executor that keeps it for a
	 * tool runs ka_redact(info, ...) on it first. */
	rc = curl_easy_perform(curl) == CURLE_OK ? 0 : 1;
	fprintf(stderr, "service %s, credential sent: %s\n",
		ka_auth_info_service(info) ? ka_auth_info_service(info) : "-",
		ka_auth_info_injected(info) ? "yes" : "no");
out:
	curl_easy_cleanup(curl);
	ka_headers_free(headers);
	ka_auth_info_free(info);
	ka_ctx_free(ctx);
	curl_global_cleanup();
	return rc;
}
