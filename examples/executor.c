/* executor.c: a minimal tool executor: authorize one request with libkiwiauth and perform it with libcurl.
 *
 * Build against an installed libkiwiauth:
 *   cc executor.c $(pkg-config --cflags --libs libkiwiauth libcurl) -o executor
 * Run:   ./executor SCOPE URL      (e.g. ./executor items:read https://api.example.com/items)
 */
#include <stdio.h>

#include <curl/curl.h>
#include <kiwiauth.h>

int main(int argc, char **argv)
{
	struct ka_request req = { .primitive = KA_PRIMITIVE_HTTP, .method = "GET" };
	struct curl_slist *headers = NULL;
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
	    ka_authorize(ctx, &req, &headers, NULL, &err) != KA_OK ||
	    (curl = curl_easy_init()) == NULL ||
	    ka_curl_apply(curl, &req, headers, &err) != KA_OK) {
		/* err.auth_required: tell the user to sign in. */
		fprintf(stderr, "denied: %s%s\n", err.text,
			err.auth_required ? " (sign-in required)" : "");
		goto out;
	}
	/* The body goes to stdout; the token never passes through here. */
	rc = curl_easy_perform(curl) == CURLE_OK ? 0 : 1;
out:
	curl_easy_cleanup(curl);
	ka_headers_free(headers);
	ka_ctx_free(ctx);
	curl_global_cleanup();
	return rc;
}
