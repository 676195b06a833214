/* SPDX-License-Identifier: MIT */
/* test_oauth.c: the host HTTP client (http.c) and the shared OAuth pieces
 * (oauth.c) against canned answers from a one-shot loopback server. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

/* ---- a server that answers one request with a canned response ----------- */

struct canned {
	int lfd;
	unsigned port;
	const char *answer;
	size_t filler;		/* extra body bytes of 'x' after answer */
	char request[4096];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct canned *c = arg;
	int fd = accept(c->lfd, NULL, NULL);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, c->request, sizeof(c->request) - 1);
	if (n > 0)
		c->request[n] = '\0';
	if (write(fd, c->answer, strlen(c->answer)) < 0)
		goto out;
	for (size_t i = 0; i < c->filler; i += 4096) {
		char buf[4096];

		memset(buf, 'x', sizeof(buf));
		if (write(fd, buf, sizeof(buf)) < 0)
			break;
	}
out:
	close(fd);
	return NULL;
}

static void canned_start(struct canned *c, const char *answer)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	memset(c, 0, sizeof(*c));
	c->answer = answer;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->lfd >= 0);
	assert_int_equal(bind(c->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(c->lfd, 1), 0);
	assert_int_equal(getsockname(c->lfd, (struct sockaddr *)&a, &al), 0);
	c->port = ntohs(a.sin_port);
}

static void canned_run(struct canned *c)
{
	pthread_create(&c->thread, NULL, serve, c);
}

static void canned_stop(struct canned *c)
{
	pthread_join(c->thread, NULL);
	close(c->lfd);
}

static char *url_of(const struct canned *c, const char *path)
{
	return kai_asprintf("http://127.0.0.1:%u%s", c->port, path);
}

#define JSON_200(body) \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n" \
	"Connection: close\r\n\r\n" body

/* ---- forms, PKCE, randomness -------------------------------------------- */

static void test_form_encoding(void **state)
{
	char *f = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(kai_form_add(&f, &n, "a b&c", "x=y/~é"), KA_OK);
	assert_string_equal(f, "a%20b%26c=x%3Dy%2F~%C3%A9");
	assert_int_equal(kai_form_add(&f, &n, "k", ""), KA_OK);
	assert_string_equal(f, "a%20b%26c=x%3Dy%2F~%C3%A9&k=");
	assert_int_equal(n, strlen(f));
	assert_int_equal(kai_form_add(&f, &n, "", "v"), KA_ERR_INVALID);
	kai_secure_free(f);
}

static void test_pkce_rfc7636(void **state)
{
	char c[48];

	(void)state;
	/* RFC 7636, appendix B. */
	assert_int_equal(kai_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
				       c, sizeof(c)), KA_OK);
	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_int_equal(kai_pkce_s256("x", c, 10), KA_ERR_INVALID);
}

static void test_random_string(void **state)
{
	char a[44], b[44];

	(void)state;
	assert_int_equal(kai_random_string(a, sizeof(a)), KA_OK);
	assert_int_equal(kai_random_string(b, sizeof(b)), KA_OK);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
	assert_string_not_equal(a, b);
}

/* ---- the HTTP client ---------------------------------------------------- */

static void test_http_refuses_plain_http(void **state)
{
	struct ka_http_request r = { .method = "GET", .url = "http://example.com/token" };
	struct ka_http_response *out = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_http(NULL, &r, &out, &err), KA_ERR_DENIED);
	assert_null(out);
	assert_true(tu_contains(err.text, "only for loopback"));
	ka_error_clear(&err);
	r.url = "ftp://127.0.0.1/x";
	assert_int_not_equal(kai_http(NULL, &r, &out, &err), KA_OK);
}

static void test_http_refused_connection(void **state)
{
	struct ka_http_request r = { .method = "GET", .url = "http://127.0.0.1:1/" };
	struct ka_http_response *out = NULL;
	ka_error err;
	int unsent = 0;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_http_ex(NULL, &r, &out, &unsent, &err), KA_ERR_NETWORK);
	assert_int_equal(unsent, 1);
}

static void test_http_post_and_headers(void **state)
{
	const char *hdrs[] = { "X-Test: 1", NULL };
	struct ka_http_request r = {
		.method = "POST", .body = "a=b", .body_len = 3, .headers = hdrs,
	};
	struct ka_http_response *out = NULL;
	struct canned c;
	ka_error err;

	(void)state;
	canned_start(&c, JSON_200("{\"ok\":true}"));
	r.url = url_of(&c, "/token");
	canned_run(&c);
	ka_error_clear(&err);
	assert_int_equal(kai_http(NULL, &r, &out, &err), KA_OK);
	canned_stop(&c);
	assert_int_equal(out->status, 200);
	assert_string_equal(out->content_type, "application/json");
	assert_string_equal(out->body, "{\"ok\":true}");
	assert_true(tu_contains(c.request, "POST /token HTTP/1.1"));
	assert_true(tu_contains(c.request, "Accept: application/json"));
	assert_true(tu_contains(c.request, "Content-Type: application/x-www-form-urlencoded"));
	assert_true(tu_contains(c.request, "X-Test: 1"));
	kai_http_response_free(out);
	free((char *)r.url);
}

static void test_http_no_redirects(void **state)
{
	struct ka_http_request r = { .method = "GET" };
	struct ka_http_response *out = NULL;
	struct canned c;
	ka_error err;

	(void)state;
	canned_start(&c, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/"
		     "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	r.url = url_of(&c, "/x");
	canned_run(&c);
	ka_error_clear(&err);
	assert_int_equal(kai_http(NULL, &r, &out, &err), KA_OK);
	canned_stop(&c);
	assert_int_equal(out->status, 302);	/* handed back, not followed */
	kai_http_response_free(out);
	free((char *)r.url);
}

static void test_http_size_cap(void **state)
{
	struct ka_http_request r = { .method = "GET" };
	struct ka_http_response *out = NULL;
	struct canned c;
	ka_error err;

	(void)state;
	canned_start(&c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	c.filler = KAI_HTTP_MAX_RESPONSE + 8192;
	r.url = url_of(&c, "/big");
	canned_run(&c);
	ka_error_clear(&err);
	assert_int_equal(kai_http(NULL, &r, &out, &err), KA_ERR_PROTOCOL);
	canned_stop(&c);
	assert_null(out);
	assert_true(tu_contains(err.text, "answered more than"));
	free((char *)r.url);
}

/* ---- token answers --------------------------------------------------------- */

static enum ka_status token_from(const char *answer, const struct ka_record *prev,
				 struct ka_record **out, struct ka_oauth_error *oe,
				 ka_error *err)
{
	const char *const scopes[] = { "want", NULL };
	struct ka_oauth_request req = {
		.form = "grant_type=x", .form_len = 12, .prev = prev,
		.scopes = scopes,
	};
	struct canned c;
	enum ka_status st;

	canned_start(&c, answer);
	req.url = url_of(&c, "/token");
	canned_run(&c);
	st = kai_oauth_token(NULL, &req, out, oe, err);
	canned_stop(&c);
	free((char *)req.url);
	return st;
}

static void test_token_answer(void **state)
{
	struct ka_record *r = NULL;
	struct ka_oauth_error oe;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(token_from(JSON_200("{\"access_token\":\"kiwiCANARY-at\","
		"\"token_type\":\"bearer\",\"expires_in\":\"60\",\"refresh_token\":"
		"\"kiwiCANARY-rt\",\"scope\":\"a b\"}"), NULL, &r, &oe, &err), KA_OK);
	assert_string_equal(r->access_token, "kiwiCANARY-at");
	assert_string_equal(r->refresh_token, "kiwiCANARY-rt");
	assert_true(r->expires_at >= kai_now() + 59 && r->expires_at <= kai_now() + 60);
	assert_int_equal(ka_record_scope_count(r), 2);
	assert_true(ka_record_has_scope(r, "b"));
	ka_record_free(r);
}

static void test_token_answer_keeps_refresh_token(void **state)
{
	struct ka_record *prev = NULL, *r = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(ka_record_new(&prev), KA_OK);
	assert_int_equal(ka_record_set_refresh_token(prev, "kiwiCANARY-old"), KA_OK);
	assert_int_equal(ka_record_add_scope(prev, "kept"), KA_OK);
	/* A form answer, as GitHub may send it. */
	assert_int_equal(token_from("HTTP/1.1 200 OK\r\nContent-Type: "
		"application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n"
		"access_token=kiwiCANARY%2Bnew&token_type=bearer", prev, &r, NULL,
		&err), KA_OK);
	assert_string_equal(r->access_token, "kiwiCANARY+new");
	assert_string_equal(r->refresh_token, "kiwiCANARY-old");
	assert_true(r->expires_at == KA_EXPIRES_NEVER);
	assert_true(ka_record_has_scope(r, "kept"));
	ka_record_free(r);
	ka_record_free(prev);
}

static void test_token_error_answer(void **state)
{
	struct ka_record *r = NULL;
	struct ka_oauth_error oe;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(token_from("HTTP/1.1 400 Bad Request\r\nContent-Type: "
		"application/json\r\nConnection: close\r\n\r\n{\"error\":"
		"\"invalid_grant\",\"error_description\":\"grant\\nrevoked\"}",
		NULL, &r, &oe, &err), KA_ERR_DENIED);
	assert_null(r);
	assert_int_equal(err.code, KA_OK);	/* the module words it */
	assert_int_equal(oe.status, 400);
	assert_string_equal(oe.error, "invalid_grant");
	assert_string_equal(oe.description, "grant?revoked");
}

static void test_token_garbage(void **state)
{
	struct ka_record *r = NULL;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(token_from("HTTP/1.1 200 OK\r\nContent-Type: text/html"
		"\r\nConnection: close\r\n\r\n<html>portal</html>", NULL, &r,
		NULL, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "text/html"));
	ka_error_clear(&err);
	assert_int_equal(token_from(JSON_200("{\"token_type\":\"bearer\"}"),
		NULL, &r, NULL, &err), KA_ERR_PROTOCOL);
	assert_true(tu_contains(err.text, "no usable access_token"));
	assert_false(tu_contains(err.text, "kiwiCANARY"));
}

/* ---- expiries in answers, read without a server --------------------------- */

/* A context whose one service has a refresh stanza, so the answer
 * readers have a module instance to log through; its log lands in log. */
struct answer_fx {
	char *dir;
	struct ka_ctx *ctx;
	const struct ka_mctx *m;
	char log[2048];
};

static void capture(int level, const char *msg, void *data)
{
	struct answer_fx *fx = data;

	(void)level;
	strncat(fx->log, msg, sizeof(fx->log) - strlen(fx->log) - 2);
	strcat(fx->log, "\n");
}

static void answer_fx_open(struct answer_fx *fx)
{
	char *conf;
	struct ka_service *s;

	memset(fx, 0, sizeof(*fx));
	fx->dir = tu_sandbox();
	conf = tu_write(fx->dir, "kiwi-auth.conf", "api: {\n"
		"  hosts = [ \"https://api.example.com\" ];\n"
		"  source = ( { module = \"file\"; } );\n"
		"  refresh = { module = \"oauth2\"; };\n};\n", 0600);
	fx->ctx = tu_ctx(conf, KA_CTX_NO_MODULES);
	free(conf);
	ka_ctx_set_log(fx->ctx, capture, fx);
	s = kai_service_lookup(fx->ctx, "api");
	assert_non_null(s);
	assert_non_null(s->refresh);
	fx->m = s->refresh;
}

static void answer_fx_close(struct answer_fx *fx)
{
	tu_sandbox_free(fx->ctx, fx->dir);
}

/* The record a JSON token answer (HTTP 200) gives. */
static struct ka_record *answer_record(struct answer_fx *fx, const char *json)
{
	struct ka_http_response r = { .status = 200, .body = (char *)json,
				      .len = strlen(json),
				      .content_type = "application/json" };
	struct ka_oauth_request req = { .url = "https://as.example/token" };
	struct ka_oauth_error oe;
	struct ka_record *rec = NULL;
	ka_error err;

	ka_error_clear(&err);
	assert_int_equal(kai_oauth_token_answer(fx->m, &req, &r, &rec, &oe,
						&err), KA_OK);
	return rec;
}

static void test_expires_in_zero_or_less_is_expired(void **state)
{
	static const char *const answers[] = {
		"{\"access_token\":\"a\",\"expires_in\":0}",
		"{\"access_token\":\"a\",\"expires_in\":-5}",
		"{\"access_token\":\"a\",\"expires_in\":\"0\"}",
		"{\"access_token\":\"a\",\"expires_in\":-1e300}",
	};
	struct answer_fx fx;

	(void)state;
	answer_fx_open(&fx);
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		struct ka_record *r;

		fx.log[0] = '\0';
		r = answer_record(&fx, answers[i]);
		assert_true(r->expires_at <= kai_now());
		assert_false(kai_fresh_for(r->expires_at, kai_now(), 0));
		if (!tu_contains(fx.log, "stored as already expired") ||
		    !tu_contains(fx.log, "api: ") || tu_contains(fx.log, "never"))
			fail_msg("answer %zu logged [%s]", i, fx.log);
		ka_record_free(r);
	}
	answer_fx_close(&fx);
}

static void test_expires_in_huge_or_absent(void **state)
{
	struct answer_fx fx;
	struct ka_record *r;
	int64_t now = kai_now();

	(void)state;
	answer_fx_open(&fx);
	/* A real of 1e300 converts without overflow (UBSan checks the
	 * cast): capped at 100 years, not read as "never". */
	r = answer_record(&fx, "{\"access_token\":\"a\",\"expires_in\":1e300,"
			  "\"refresh_token\":\"b\","
			  "\"refresh_token_expires_in\":1e300}");
	assert_true(r->expires_at != KA_EXPIRES_NEVER);
	assert_true(r->expires_at >= now + 100LL * 365 * 86400);
	assert_true(r->expires_at <= kai_now() + 100LL * 365 * 86400);
	assert_true(r->refresh_expires_at >= now + 100LL * 365 * 86400);
	ka_record_free(r);
	r = answer_record(&fx, "{\"access_token\":\"a\",\"expires_in\":59.9}");
	assert_true(r->expires_at >= now + 59 && r->expires_at <= kai_now() + 59);
	ka_record_free(r);
	r = answer_record(&fx, "{\"access_token\":\"a\"}");
	assert_true(r->expires_at == KA_EXPIRES_NEVER);
	assert_true(r->refresh_expires_at == KA_EXPIRES_NEVER);
	assert_string_equal(fx.log, "");
	ka_record_free(r);
	answer_fx_close(&fx);
}

static void test_device_answer_numbers(void **state)
{
	const char *json = "{\"device_code\":\"d\",\"user_code\":\"U-1\","
		"\"verification_uri\":\"https://as.example/device\","
		"\"expires_in\":1e300,\"interval\":-1e300}";
	struct ka_http_response r = { .status = 200, .body = (char *)json,
				      .len = strlen(json),
				      .content_type = "application/json" };
	struct kai_device_answer da;
	struct ka_oauth_error oe;
	ka_error err;

	(void)state;
	ka_error_clear(&err);
	assert_int_equal(kai_oauth_device_answer(&r, &da, &oe, &err), KA_OK);
	assert_string_equal(da.device_code, "d");
	assert_string_equal(da.code, "U-1");
	assert_true(da.expires_in == 100LL * 365 * 86400);
	assert_true(da.interval == -100LL * 365 * 86400);
	kai_secure_free(da.device_code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_encoding),
		cmocka_unit_test(test_pkce_rfc7636),
		cmocka_unit_test(test_random_string),
		cmocka_unit_test(test_http_refuses_plain_http),
		cmocka_unit_test(test_http_refused_connection),
		cmocka_unit_test(test_http_post_and_headers),
		cmocka_unit_test(test_http_no_redirects),
		cmocka_unit_test(test_http_size_cap),
		cmocka_unit_test(test_token_answer),
		cmocka_unit_test(test_token_answer_keeps_refresh_token),
		cmocka_unit_test(test_token_error_answer),
		cmocka_unit_test(test_token_garbage),
		cmocka_unit_test(test_expires_in_zero_or_less_is_expired),
		cmocka_unit_test(test_expires_in_huge_or_absent),
		cmocka_unit_test(test_device_answer_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
