/* SPDX-License-Identifier: MIT */
/* http.c: the host's HTTP client for refresh modules: libcurl with safe
 * defaults, answers kept in wiped memory, form encoding. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "kai.h"

#define HTTP_TIMEOUT_MS 30000L
#define HTTP_CONNECT_MS 10000L
#define HTTP_USER_AGENT "kiwi-auth/" PACKAGE_VERSION

/* ---- the answer, grown in secure memory ------------------------------- */

struct sink {
	struct kai_buf b;	/* secure */
	int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *data)
{
	struct sink *s = data;
	int rc = kai_buf_append(&s->b, p, size * n, KAI_HTTP_MAX_RESPONSE);

	s->too_big = rc == -1;
	return rc == 0 ? size * n : 0;	/* 0 aborts the transfer */
}

/* Keep the WWW-Authenticate challenges (RFC 7235) of the answer, joined
 * with ", "; nothing else of the headers (a Set-Cookie may be a secret). */
static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	static const char name[] = "www-authenticate:";
	struct ka_http_response *r = data;
	size_t len = size * n, used = strlen(r->www_authenticate);

	if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
		r->www_authenticate[0] = '\0';	/* a new answer (1xx first) */
		return len;
	}
	if (len <= sizeof(name) - 1 || strncasecmp(p, name, sizeof(name) - 1) != 0)
		return len;
	p += sizeof(name) - 1;
	len -= sizeof(name) - 1;
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
			   p[len - 1] == ' '))
		len--;
	snprintf(r->www_authenticate + used, sizeof(r->www_authenticate) - used,
		 "%s%.*s", used > 0 ? ", " : "", (int)len, p);
	return size * n;
}

void kai_http_response_free(struct ka_http_response *r)
{
	if (r == NULL)
		return;
	kai_secure_free(r->body);
	free(r);
}

/* ---- headers ----------------------------------------------------------- */

/* curl copies header lines into its own list: wipe them before freeing. */
static void slist_free_wiped(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	return colon != NULL && colon != h && !kai_has_ctl(h);
}

static enum ka_status build_headers(const struct ka_http_request *req,
				    struct curl_slist **out, ka_error *err)
{
	struct curl_slist *l = NULL, *n;
	const char *ct = req->content_type;
	char line[160];

	*out = NULL;
	if (req->body != NULL) {
		if (ct == NULL)
			ct = "application/x-www-form-urlencoded";
		if (kai_has_ctl(ct) || strlen(ct) > 100) {
			kai_error_set(err, KA_ERR_INVALID, "bad content type");
			return KA_ERR_INVALID;
		}
		snprintf(line, sizeof(line), "Content-Type: %s", ct);
		if ((l = curl_slist_append(l, line)) == NULL)
			return KA_ERR_NOMEM;
	}
	if ((n = curl_slist_append(l, "Accept: application/json")) == NULL)
		goto nomem;
	l = n;
	/* No "Expect: 100-continue" round trip. */
	if ((n = curl_slist_append(l, "Expect:")) == NULL)
		goto nomem;
	l = n;
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (!header_ok(req->headers[i])) {
			slist_free_wiped(l);
			kai_error_set(err, KA_ERR_INVALID,
				      "a request header is not \"Name: value\" "
				      "or holds control bytes");
			return KA_ERR_INVALID;
		}
		if ((n = curl_slist_append(l, req->headers[i])) == NULL)
			goto nomem;
		l = n;
	}
	*out = l;
	return KA_OK;
nomem:
	slist_free_wiped(l);
	return KA_ERR_NOMEM;
}

/* ---- the transfer ------------------------------------------------------- */

static enum ka_status curl_status(CURLcode rc, const struct sink *s,
				  const char *origin, ka_error *err)
{
	switch (rc) {
	case CURLE_OK:
		return KA_OK;
	case CURLE_OPERATION_TIMEDOUT:
		kai_error_set(err, KA_ERR_TIMEOUT, "%s did not answer in time",
			      origin);
		return KA_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			kai_error_set(err, KA_ERR_PROTOCOL,
				      "%s answered more than %d bytes",
				      origin, KAI_HTTP_MAX_RESPONSE);
			return KA_ERR_PROTOCOL;
		}
		return KA_ERR_NOMEM;
	case CURLE_OUT_OF_MEMORY:
		return KA_ERR_NOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		kai_error_set(err, KA_ERR_NETWORK,
			      "TLS with %s failed: %s (certificates are always "
			      "verified; set ca_file for a private CA)", origin,
			      curl_easy_strerror(rc));
		return KA_ERR_NETWORK;
	default:
		kai_error_set(err, KA_ERR_NETWORK, "request to %s failed: %s",
			      origin, curl_easy_strerror(rc));
		return KA_ERR_NETWORK;
	}
}

int kai_curl_safe(CURL *c, const struct kai_origin *o, const char *url,
		  long total_ms, long connect_ms)
{
	long conn = total_ms < connect_ms ? total_ms : connect_ms;
	int bad = 0;

	bad |= curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
				o->loopback ? "http,https" : "https") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (o->loopback)	/* never through a proxy */
		bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, HTTP_USER_AGENT) != CURLE_OK;
	/* No cookies, no credentials from ~/.netrc, no compression bombs. */
	bad |= curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK;
	return bad ? -1 : 0;
}

static int set_options(CURL *c, const struct ka_http_request *req,
		       const struct kai_origin *o, const char *url,
		       struct curl_slist *headers, struct sink *s,
		       struct ka_http_response *r)
{
	long total = req->timeout_ms > 0 ? req->timeout_ms : HTTP_TIMEOUT_MS;
	int bad = kai_curl_safe(c, o, url, total, HTTP_CONNECT_MS) != 0;

	if (req->ca_file != NULL)
		bad |= curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
				(curl_off_t)KAI_HTTP_MAX_RESPONSE) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, r) != CURLE_OK;
	if (req->body != NULL) {
		bad |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
		/* Not copied by libcurl: the body stays in the caller's memory. */
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)req->body_len) != CURLE_OK;
	} else if (strcmp(req->method, "GET") != 0) {
		bad |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static void media_type(CURL *c, char *out, size_t n)
{
	char *ct = NULL;
	size_t i;

	out[0] = '\0';
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK ||
	    ct == NULL)
		return;
	for (i = 0; i + 1 < n && ct[i] != '\0' && ct[i] != ';' &&
		    ct[i] != ' '; i++)
		out[i] = (char)(ct[i] >= 'A' && ct[i] <= 'Z' ? ct[i] + 32 : ct[i]);
	out[i] = '\0';
}

static enum ka_status check_request(const struct ka_http_request *req,
				    struct kai_origin *o, char **canon,
				    ka_error *err)
{
	enum ka_status st;

	if (req == NULL || req->url == NULL || req->method == NULL ||
	    (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) ||
	    (req->body == NULL && req->body_len != 0)) {
		kai_error_set(err, KA_ERR_INVALID, "bad HTTP request");
		return KA_ERR_INVALID;
	}
	st = kai_origin_parse(req->url, o, canon, err);
	if (st != KA_OK)
		return st;
	if (strchr(*canon, '#') != NULL) {
		kai_error_set(err, KA_ERR_INVALID,
			      "an endpoint URL must not have a fragment");
		free(*canon);
		*canon = NULL;
		return KA_ERR_INVALID;
	}
	return KA_OK;
}

enum ka_status kai_http_ex(const struct ka_ctx *ctx,
			   const struct ka_http_request *req,
			   struct ka_http_response **out, int *unsent,
			   ka_error *err)
{
	struct ka_http_response *r = NULL;
	struct curl_slist *headers = NULL;
	struct sink s = { .b = { .secure = 1 } };
	struct kai_origin o;
	char origin[KAI_HOST_MAX + 32];
	char *canon = NULL;
	CURL *c = NULL;
	enum ka_status st;
	CURLcode rc;

	*out = NULL;
	if (unsent != NULL)
		*unsent = 0;
	if ((st = check_request(req, &o, &canon, err)) != KA_OK)
		return st;
	kai_origin_format(&o, origin, sizeof(origin));
	if ((st = build_headers(req, &headers, err)) != KA_OK)
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (c = curl_easy_init()) == NULL ||
	    set_options(c, req, &o, canon, headers, &s, r) != 0) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	rc = curl_easy_perform(c);
	if (unsent != NULL)
		*unsent = rc == CURLE_COULDNT_RESOLVE_HOST ||
			  rc == CURLE_COULDNT_RESOLVE_PROXY ||
			  rc == CURLE_COULDNT_CONNECT;
	if ((st = curl_status(rc, &s, origin, err)) != KA_OK)
		goto out;
	if (s.b.p == NULL && kai_buf_append(&s.b, "", 0, 1) != 0) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	media_type(c, r->content_type, sizeof(r->content_type));
	r->body = s.b.p;
	r->len = s.b.len;
	s.b.p = NULL;
	/* Method, origin, status and size: never a path, query or body. */
	kai_log(ctx, 7, "%s %s: HTTP %ld, %zu bytes", req->method, origin,
		r->status, r->len);
	*out = r;
	r = NULL;
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	kai_buf_free(&s.b);
	free(r);
	if (c != NULL)
		curl_easy_cleanup(c);
	slist_free_wiped(headers);
	free(canon);
	return st;
}

enum ka_status kai_http(const struct ka_ctx *ctx,
			const struct ka_http_request *req,
			struct ka_http_response **out, ka_error *err)
{
	return kai_http_ex(ctx, req, out, NULL, err);
}

enum ka_status kai_host_http(const struct ka_mctx *m,
			     const struct ka_http_request *req,
			     struct ka_http_response **out, ka_error *err)
{
	return kai_http_ex(m->ctx, req, out, NULL, err);
}

/* ---- forms ------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static size_t encoded_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

static char *encode_into(char *p, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	return p;
}

enum ka_status kai_form_add(char **form, size_t *len, const char *name,
			    const char *value)
{
	size_t old = *form != NULL ? *len : 0;
	size_t need;
	char *nb, *p;

	if (name == NULL || value == NULL || *name == '\0')
		return KA_ERR_INVALID;
	need = old + (old > 0) + encoded_len(name) + 1 + encoded_len(value);
	if (need > KA_RECORD_MAX_JSON * 2 || (nb = kai_secure_alloc(need + 1)) == NULL)
		return KA_ERR_NOMEM;
	p = nb;
	if (old > 0) {
		memcpy(p, *form, old);
		p += old;
		*p++ = '&';
	}
	p = encode_into(p, name);
	*p++ = '=';
	p = encode_into(p, value);
	*p = '\0';
	kai_secure_free(*form);
	*form = nb;
	*len = need;
	return KA_OK;
}

enum ka_status kai_form_add_list(char **form, size_t *len, const char *name,
				 const char *const *values)
{
	char joined[4096];
	size_t n = 0;
	enum ka_status st = KA_OK;

	for (size_t i = 0; values != NULL && values[i] != NULL && st == KA_OK;
	     i++) {
		int w = snprintf(joined + n, sizeof(joined) - n, "%s%s",
				 n > 0 ? " " : "", values[i]);

		if (w < 0 || (size_t)w >= sizeof(joined) - n)
			st = KA_ERR_INVALID;
		else
			n += (size_t)w;
	}
	if (st == KA_OK && n > 0)
		st = kai_form_add(form, len, name, joined);
	kai_wipe(joined, sizeof(joined));
	return st;
}

/* ---- base64, randomness, PKCE and client_secret_basic ----------------- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* in[0..n) in base64 with the alphabet abc, '='-padded when pad; out has
 * room for (n + 2) / 3 * 4 + 1 bytes. */
static void base64(const uint8_t *in, size_t n, const char *abc, int pad,
		   char *out)
{
	size_t j = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[j++] = abc[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[j++] = abc[(acc << (6 - bits)) & 63];
	while (pad && j % 4 != 0)
		out[j++] = '=';
	out[j] = '\0';
}

enum ka_status kai_random_string(char *out, size_t n)
{
	unsigned char rnd[128];
	size_t want;

	if (out == NULL || n < 2 || n - 1 > sizeof(rnd))
		return KA_ERR_INVALID;
	want = n - 1;
	if (getrandom(rnd, want, 0) != (ssize_t)want)
		return KA_ERR_IO;
	for (size_t i = 0; i < want; i++)
		out[i] = b64url[rnd[i] & 63];
	out[want] = '\0';
	kai_wipe(rnd, sizeof(rnd));
	return KA_OK;
}

enum ka_status kai_pkce_s256(const char *verifier, char *out, size_t n)
{
	uint8_t d[KAI_SHA256_LEN];

	if (verifier == NULL || out == NULL || n < 44)
		return KA_ERR_INVALID;
	kai_sha256(verifier, strlen(verifier), d);
	base64(d, sizeof(d), b64url, 0, out);
	return KA_OK;
}

/* RFC 6749 section 2.3.1: id and secret are form-encoded, joined with
 * ':' and base64-encoded. */
enum ka_status kai_basic_auth(const char *client_id, const char *secret,
			      char **out)
{
	static const char prefix[] = "Authorization: Basic ";
	char *id = NULL, *sec = NULL, *pair = NULL, *hdr = NULL;
	size_t il = 0, sl = 0, n;
	enum ka_status st;

	*out = NULL;
	if ((st = kai_form_add(&id, &il, "x", client_id)) != KA_OK ||
	    (st = kai_form_add(&sec, &sl, "x", secret)) != KA_OK)
		goto out;
	n = (il - 2) + 1 + (sl - 2);	/* without the "x=" of each */
	st = KA_ERR_NOMEM;
	if ((pair = kai_secure_alloc(n + 1)) == NULL ||
	    (hdr = kai_secure_alloc(sizeof(prefix) + (n + 2) / 3 * 4)) == NULL)
		goto out;
	snprintf(pair, n + 1, "%s:%s", id + 2, sec + 2);
	memcpy(hdr, prefix, sizeof(prefix) - 1);
	base64((const uint8_t *)pair, n, b64std, 1, hdr + sizeof(prefix) - 1);
	*out = hdr;
	hdr = NULL;
	st = KA_OK;
out:
	kai_secure_free(id);
	kai_secure_free(sec);
	kai_secure_free(pair);
	kai_secure_free(hdr);
	return st;
}
