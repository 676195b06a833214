/* SPDX-License-Identifier: MIT */
/* oidc_helper.c: drives libkiwiauth for the OAuth2 integration tests: many
 * threads needing one token at once, an authorized request through the
 * executor API, and refreshes with the test-only hook that pauses them.
 *
 *   oidc_helper use CONFIG SERVICE THREADS
 *   oidc_helper me CONFIG SERVICE URL
 *   oidc_helper refresh CONFIG SERVICE [POINT MARKER MS]
 *
 * Prints results and error texts only; never a token. */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kai.h"

static struct ka_ctx *ctx;
static const char *service;
static pthread_barrier_t barrier;

static struct ka_ctx *open_ctx(const char *config, unsigned flags)
{
	struct ka_options o = { .config = config, .flags = flags };
	struct ka_ctx *c = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_ctx_new(&o, &c, &err) != KA_OK) {
		fprintf(stderr, "oidc_helper: %s\n", err.text);
		exit(2);
	}
	return c;
}

/* ---- use: N threads at once ------------------------------------------- */

static enum ka_status check_fresh(const struct ka_service *s,
				  const struct ka_record *r, void *data,
				  ka_error *err)
{
	(void)s;
	(void)data;
	if (r->access_token == NULL || r->expires_at <= kai_now()) {
		kai_error_set(err, KA_ERR_EXPIRED, "handed an expired token");
		return KA_ERR_EXPIRED;
	}
	return KA_OK;
}

static void *use_one(void *arg)
{
	ka_error err;
	enum ka_status st;

	ka_error_clear(&err);
	pthread_barrier_wait(&barrier);
	st = kai_with_record(ctx, service, NULL, check_fresh, NULL, &err);
	if (st != KA_OK)
		fprintf(stderr, "oidc_helper: thread: %s\n", err.text);
	*(enum ka_status *)arg = st;
	return NULL;
}

static int cmd_use(int threads)
{
	pthread_t t[64];
	enum ka_status st[64];
	int ok = 0;

	if (threads < 1 || threads > 64)
		return 2;
	pthread_barrier_init(&barrier, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, use_one, &st[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ok += st[i] == KA_OK;
	}
	printf("%d/%d threads got a fresh token\n", ok, threads);
	return ok == threads ? 0 : 1;
}

/* ---- me: one authorized request ----------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *data)
{
	(void)p;
	(void)data;
	return size * n;
}

static int cmd_me(const char *url)
{
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = url,
		.scope = "api:read", .service = service,
	};
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long code = 0;
	ka_error err;
	enum ka_status st;

	ka_error_clear(&err);
	st = ka_authorize(ctx, &req, &h, NULL, &err);
	if (st == KA_OK)
		st = ka_curl_apply(c, &req, h, &err);
	if (st != KA_OK) {
		fprintf(stderr, "oidc_helper: %s\n", err.text);
		curl_easy_cleanup(c);
		return 4;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	printf("HTTP %ld\n", code);
	curl_easy_cleanup(c);
	ka_headers_free(h);
	return code == 200 ? 0 : 1;
}

/* ---- refresh, paused at a point ------------------------------------------ */

static const char *hook_point, *hook_marker;
static long hook_ms;

static void pause_at(const char *point)
{
	int fd;

	if (hook_point == NULL || strcmp(point, hook_point) != 0)
		return;
	fd = open(hook_marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	usleep((useconds_t)hook_ms * 1000);
}

static int cmd_refresh(void)
{
	ka_error err;
	enum ka_status st;
	int did = 0;

	ka_error_clear(&err);
	kai_test_hook = pause_at;
	st = ka_refresh(ctx, service, NULL, KA_REFRESH_FORCE, &did, &err);
	if (st != KA_OK) {
		fprintf(stderr, "oidc_helper: %s\n", err.text);
		return 1;
	}
	printf("refreshed=%d\n", did);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: oidc_helper use|me|refresh CONFIG SERVICE ...\n");
		return 2;
	}
	/* A refresh paused at a point of this process's refresh path: the
	 * test hooks are in this process, so the refresh runs here. */
	ctx = open_ctx(argv[2], strcmp(argv[1], "refresh") == 0 && argc == 7 ?
		       KA_CTX_REFRESH_IN_PROCESS : 0);
	service = argv[3];
	if (strcmp(argv[1], "use") == 0 && argc == 5)
		rc = cmd_use(atoi(argv[4]));
	else if (strcmp(argv[1], "me") == 0 && argc == 5)
		rc = cmd_me(argv[4]);
	else if (strcmp(argv[1], "refresh") == 0 && (argc == 4 || argc == 7)) {
		if (argc == 7) {
			hook_point = argv[4];
			hook_marker = argv[5];
			hook_ms = atol(argv[6]);
		}
		rc = cmd_refresh();
	} else {
		fprintf(stderr, "oidc_helper: bad arguments\n");
		rc = 2;
	}
	ka_ctx_free(ctx);
	return rc;
}
