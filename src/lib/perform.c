/* SPDX-License-Identifier: MIT */
/* perform.c: the request performer: authorize a tool's request, send it
 * with libcurl, follow redirects hop by hop under the origin rules, mask
 * echoes of the credential, and hand back the answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "kai.h"

#define MAX_RESPONSE_DEFAULT (16UL * 1024 * 1024)
#define MAX_HEADER_BYTES (256 * 1024)
#define CONNECT_MS_DEFAULT 10000L
#define TIMEOUT_MS_DEFAULT 30000L
#define REDIRECTS_DEFAULT 10

struct kai_resp_header {
	char *name;
	char *value;
};

struct ka_response {
	long status;
	struct kai_buf body;	/* NUL-terminated, never NULL once done */
	struct kai_resp_header *h;
	size_t nh, header_bytes;
	char *url;
	unsigned redirects;
	const struct ka_service *svc;
	char account[KAI_WORD_MAX + 1];
	char scope[KAI_WORD_MAX + 1];
	int injected;
	size_t masked;
};

/* One call of ka_perform. */
struct perform {
	struct ka_ctx *ctx;
	struct ka_request req;		/* with chain and defaults applied */
	const struct ka_perform_request *in;
	struct ka_service *svc;		/* NULL: a public tool */
	struct kai_origin first;
	const char *cred_name;		/* the service's header name */
	size_t cred_name_len;
	size_t max_response;
	int too_big;
	int64_t deadline_ms;
	/* Every credential this call sent, kept (in secure memory) until the
	 * answer is masked. */
	char *creds[(REDIRECTS_DEFAULT + 1) * (KAI_STEP_UP_MAX + 1)];
	size_t ncreds;
	struct ka_response *r;
	CURL *curl;
	CURLSH *share;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the answer ------------------------------------------------------------- */

static void headers_clear(struct ka_response *r)
{
	for (size_t i = 0; i < r->nh; i++) {
		free(r->h[i].name);
		free(r->h[i].value);
	}
	free(r->h);
	r->h = NULL;
	r->nh = r->header_bytes = 0;
}

KAI_API void ka_response_free(struct ka_response *r)
{
	if (r == NULL)
		return;
	kai_buf_free(&r->body);
	headers_clear(r);
	free(r->url);
	free(r);
}

/* The body grows by copy and wipe (kai_buf): an echoed credential must
 * not stay behind in freed memory before it is masked. */
static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct perform *pf = data;
	int rc = kai_buf_append(&pf->r->body, p, size * n, pf->max_response);

	pf->too_big = rc == -1;
	return rc == 0 ? size * n : 0;
}

static int header_add(struct ka_response *r, const char *name, size_t nl,
		      const char *value, size_t vl)
{
	struct kai_resp_header *v;

	if ((v = realloc(r->h, (r->nh + 1) * sizeof(*v))) == NULL)
		return -1;
	r->h = v;
	v[r->nh].name = strndup(name, nl);
	v[r->nh].value = strndup(value, vl);
	if (v[r->nh].name == NULL || v[r->nh].value == NULL) {
		free(v[r->nh].name);
		free(v[r->nh].value);
		return -1;
	}
	r->nh++;
	return 0;
}

/* One header line of the answer. A status line starts a new answer (an
 * interim 1xx, or the next hop), so the list starts again. */
static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	struct perform *pf = data;
	struct ka_response *r = pf->r;
	size_t k = size * n, nl, vs, ve;

	r->header_bytes += k;
	if (r->header_bytes > MAX_HEADER_BYTES)
		return 0;
	if (k >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		size_t keep = r->header_bytes;

		headers_clear(r);
		r->header_bytes = keep;
		return k;
	}
	nl = kai_header_name_len(p);
	if (nl == 0 || nl >= k || p[nl] != ':')
		return k;	/* blank line or junk */
	for (vs = nl + 1; vs < k && (p[vs] == ' ' || p[vs] == '\t'); vs++)
		;
	for (ve = k; ve > vs && (p[ve - 1] == '\r' || p[ve - 1] == '\n' ||
				 p[ve - 1] == ' ' || p[ve - 1] == '\t'); ve--)
		;
	return header_add(r, p, nl, p + vs, ve - vs) == 0 ? k : 0;
}

/* Every credential this request carried, in the body and in each header
 * value, overwritten with one byte none of them holds (so masking one
 * cannot form a copy of another), chosen once for the whole answer. */
static void mask_answer(struct perform *pf)
{
	struct ka_response *r = pf->r;
	size_t k[sizeof(pf->creds) / sizeof(pf->creds[0])];
	unsigned char with;

	for (size_t i = 0; i < pf->ncreds; i++)
		k[i] = strlen(pf->creds[i]);
	with = kai_mask_byte((const char *const *)pf->creds, k, pf->ncreds);
	for (size_t i = 0; i < pf->ncreds; i++) {
		if (r->body.p != NULL)
			r->masked += kai_redact(pf->creds[i], k[i], with,
						r->body.p, r->body.len);
		for (size_t j = 0; j < r->nh; j++)
			r->masked += kai_redact(pf->creds[i], k[i], with,
						r->h[j].value,
						strlen(r->h[j].value));
	}
	if (r->masked > 0 && pf->svc != NULL)
		kai_log(pf->ctx, 6, "%s: the answer held the credential %zu "
			"time(s); it was masked", pf->svc->name, r->masked);
}

/* ---- checks ---------------------------------------------------------------- */

static int method_ok(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return 0;
	return 1;
}

static enum ka_status check_input(struct perform *pf, ka_error *err)
{
	const struct ka_perform_request *in = pf->in;
	const char *const *h = in->headers;
	enum ka_status st;

	if (pf->req.primitive != NULL &&
	    strcmp(pf->req.primitive, KA_PRIMITIVE_HTTP) != 0) {
		kai_error_set(err, KA_ERR_INVALID, "ka_perform sends HTTP "
			      "requests only: the primitive must be %s",
			      KA_PRIMITIVE_HTTP);
		return KA_ERR_INVALID;
	}
	if (pf->req.url == NULL || (in->body == NULL && in->body_len != 0) ||
	    !method_ok(pf->req.method)) {
		kai_error_set(err, KA_ERR_INVALID, "a request needs a URL, and a "
			      "method in capitals (GET, POST, PUT, ...)");
		return KA_ERR_INVALID;
	}
	for (size_t i = 0; h != NULL && h[i] != NULL; i++) {
		const char *r;

		if ((st = kai_header_check(h[i], i + 1, err)) != KA_OK)
			return st;
		if ((r = kai_header_routing(h[i])) != NULL) {
			kai_error_set(err, KA_ERR_INVALID, "header %zu ('%s') "
				      "would change where or how the request "
				      "goes; the library sends a request to its "
				      "URL's origin only: leave it out", i + 1, r);
			return KA_ERR_INVALID;
		}
	}
	return KA_OK;
}

/* The request with the chain's scope, service and tool name where the
 * caller left them out, and the default method. */
static void fill_request(struct perform *pf)
{
	const struct ka_perform_request *in = pf->in;

	pf->req = in->req;
	if (in->chain != NULL) {
		if (pf->req.scope == NULL)
			pf->req.scope = ka_tool_scope_scope(in->chain);
		if (pf->req.service == NULL)
			pf->req.service = ka_tool_scope_service(in->chain);
		if (pf->req.tool == NULL)
			pf->req.tool = ka_tool_scope_tool(in->chain);
	}
	if (pf->req.method == NULL)
		pf->req.method = in->body != NULL ? "POST" : "GET";
	pf->max_response = in->max_response > 0 ? in->max_response :
			   MAX_RESPONSE_DEFAULT;
}

/* ---- one hop ------------------------------------------------------------------ */

static int same_origin(const struct kai_origin *a, const struct kai_origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	       strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* The tool's headers for a hop; on a hop to another origin than the
 * first, those that carry credentials are left out. */
static enum ka_status hop_headers(const struct perform *pf, int foreign,
				  struct curl_slist **out)
{
	const char *const *h = pf->in->headers;
	struct curl_slist *l = NULL, *nl;

	*out = NULL;
	for (size_t i = 0; h != NULL && h[i] != NULL; i++) {
		if (foreign && kai_header_credential(h[i], pf->cred_name,
						     pf->cred_name_len))
			continue;
		if ((nl = curl_slist_append(l, h[i])) == NULL) {
			ka_headers_free(l);
			return KA_ERR_NOMEM;
		}
		l = nl;
	}
	*out = l;
	return KA_OK;
}

static enum ka_status keep_cred(struct perform *pf,
				const struct ka_auth_info *info)
{
	char *c;

	for (size_t i = 0; i < pf->ncreds; i++)
		if (strlen(pf->creds[i]) == info->cred_len &&
		    memcmp(pf->creds[i], info->cred, info->cred_len) == 0)
			return KA_OK;
	if (pf->ncreds == sizeof(pf->creds) / sizeof(pf->creds[0]))
		return KA_OK;	/* cannot happen: one per hop at most */
	if ((c = kai_secure_alloc(info->cred_len + 1)) == NULL)
		return KA_ERR_NOMEM;
	memcpy(c, info->cred, info->cred_len);
	pf->creds[pf->ncreds++] = c;
	return KA_OK;
}

static int set_method(CURL *c, const char *method, const void *body,
		      size_t blen)
{
	int bad = 0;

	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(c, CURLOPT_NOBODY, 1L) != CURLE_OK;
	if (body != NULL) {
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)blen) != CURLE_OK;
		bad |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	} else {
		bad |= curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	}
	if (strcmp(method, body != NULL ? "POST" : "GET") != 0)
		bad |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
	return bad;
}

static int set_options(struct perform *pf, const struct kai_origin *o,
		       const char *url, struct curl_slist *headers,
		       const char *method, const void *body, size_t blen,
		       long left)
{
	CURL *c = pf->curl;
	long conn = pf->in->connect_timeout_ms > 0 ?
		    pf->in->connect_timeout_ms : CONNECT_MS_DEFAULT;
	int bad = 0;

	curl_easy_reset(c);
	bad |= kai_curl_safe(c, o, url, left, conn) != 0;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, pf) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, pf) != CURLE_OK;
	bad |= set_method(c, method, body, blen);
	if (pf->share != NULL)
		bad |= curl_easy_setopt(c, CURLOPT_SHARE, pf->share) != CURLE_OK;
	return bad;
}

static enum ka_status transfer_status(struct perform *pf, CURLcode rc,
				      const char *origin, ka_error *err)
{
	switch (rc) {
	case CURLE_OK:
		return KA_OK;
	case CURLE_OPERATION_TIMEDOUT:
		kai_error_set(err, KA_ERR_TIMEOUT, "%s did not answer within the "
			      "deadline; give the request a longer timeout if the "
			      "server is slow", origin);
		return KA_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
		if (pf->too_big) {
			kai_error_set(err, KA_ERR_PROTOCOL, "%s answered more than "
				      "%zu bytes (raise the request's "
				      "max_response)", origin, pf->max_response);
			return KA_ERR_PROTOCOL;
		}
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	case CURLE_OUT_OF_MEMORY:
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	default:
		kai_error_set(err, KA_ERR_NETWORK, "request to %s failed: %s",
			      origin, curl_easy_strerror(rc));
		return KA_ERR_NETWORK;
	}
}

/* Authorize (when the service allows the origin) and send one hop. */
static enum ka_status hop(struct perform *pf, unsigned n, const char *url,
			  const char *method, const void *body, size_t blen,
			  ka_error *err)
{
	struct ka_response *r = pf->r;
	struct curl_slist *headers = NULL;
	struct ka_auth_info info = { 0 };
	struct kai_origin o;
	char origin[KAI_HOST_MAX + 24], *canon = NULL;
	long left = (long)(pf->deadline_ms - now_ms());
	enum ka_status st;

	if ((st = kai_origin_parse(url, &o, &canon, err)) != KA_OK)
		return st;
	kai_origin_format(&o, origin, sizeof(origin));
	if (left <= 0) {
		kai_error_set(err, KA_ERR_TIMEOUT, "the deadline passed before "
			      "the request to %s could be sent", origin);
		st = KA_ERR_TIMEOUT;
		goto out;
	}
	if ((st = hop_headers(pf, !same_origin(&o, &pf->first), &headers)) !=
	    KA_OK) {
		kai_error_set(err, st, "out of memory");
		goto out;
	}
	if (pf->svc != NULL && kai_origin_allowed(&o, pf->svc)) {
		st = kai_authorize_origin(pf->ctx, pf->svc, &pf->req, &o,
					  &headers, &info, err);
		if (st != KA_OK || (st = keep_cred(pf, &info)) != KA_OK)
			goto out;
		if (n == 0)
			r->injected = 1;
	} else if (pf->svc != NULL) {
		kai_log(pf->ctx, 6, "%s: redirect %u leaves the service's hosts "
			"for %s: sent without the credential", pf->svc->name, n,
			origin);
	}
	kai_buf_free(&r->body);
	headers_clear(r);
	pf->too_big = 0;
	if (set_options(pf, &o, canon, headers, method, body, blen, left)) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "libcurl refused a setting");
		st = KA_ERR_UNSUPPORTED;
		goto out;
	}
	if ((st = transfer_status(pf, curl_easy_perform(pf->curl), origin,
				  err)) != KA_OK)
		goto out;
	curl_easy_getinfo(pf->curl, CURLINFO_RESPONSE_CODE, &r->status);
	kai_log(pf->ctx, 7, "%s %s: HTTP %ld, %zu bytes", method, origin,
		r->status, r->body.len);
	free(r->url);
	r->url = canon;
	canon = NULL;
out:
	/* The handle keeps a pointer to the list: drop it before freeing. */
	curl_easy_setopt(pf->curl, CURLOPT_HTTPHEADER, NULL);
	ka_headers_free(headers);
	free(canon);
	return st;
}

/* RFC 9110: 303 turns anything but HEAD into GET; 301 and 302 turn POST
 * into GET (as browsers and curl do); 307 and 308 keep method and body. */
static void redirect_method(long code, const char **method,
			    const void **body, size_t *blen)
{
	if ((code == 303 && strcmp(*method, "HEAD") != 0) ||
	    ((code == 301 || code == 302) && strcmp(*method, "POST") == 0)) {
		*method = "GET";
		*body = NULL;
		*blen = 0;
	}
}

/* The next hop's URL (malloc'd), or NULL when this answer is final. */
static enum ka_status next_url(struct perform *pf, char **out, ka_error *err)
{
	long code = pf->r->status;
	char *loc = NULL;

	*out = NULL;
	if (code < 300 || code > 399 || code == 304 ||
	    curl_easy_getinfo(pf->curl, CURLINFO_REDIRECT_URL, &loc) !=
	    CURLE_OK || loc == NULL)
		return KA_OK;
	for (size_t i = 0; i < pf->ncreds; i++) {
		if (strstr(loc, pf->creds[i]) != NULL) {
			kai_error_set(err, KA_ERR_PROTOCOL, "the server redirected "
				      "to a URL that holds the credential; it was "
				      "not followed");
			return KA_ERR_PROTOCOL;
		}
	}
	if ((*out = strdup(loc)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	return KA_OK;
}

static enum ka_status run(struct perform *pf, ka_error *err)
{
	const struct ka_perform_request *in = pf->in;
	int limit = in->max_redirects == 0 ? REDIRECTS_DEFAULT :
		    in->max_redirects > REDIRECTS_DEFAULT ? REDIRECTS_DEFAULT :
		    in->max_redirects;
	const char *method = pf->req.method;
	const void *body = in->body;
	size_t blen = in->body_len;
	char *url = strdup(pf->req.url), *next = NULL;
	enum ka_status st;

	if (url == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	for (unsigned n = 0;; n++) {
		if ((st = hop(pf, n, url, method, body, blen, err)) != KA_OK ||
		    (st = next_url(pf, &next, err)) != KA_OK || next == NULL ||
		    limit < 0)
			break;
		if ((int)n + 1 > limit) {
			kai_error_set(err, KA_ERR_PROTOCOL, "more than %d "
				      "redirects (a redirect loop?)", limit);
			st = KA_ERR_PROTOCOL;
			break;
		}
		free(url);
		url = next;
		next = NULL;
		pf->r->redirects = n + 1;
		redirect_method(pf->r->status, &method, &body, &blen);
	}
	free(next);
	free(url);
	return st;
}

/* ---- step-up (stepup.c) ------------------------------------------------------ */

struct step_up_ask {
	const char *account;
	long status;
	const char *challenge;	/* the answer's WWW-Authenticate */
	unsigned attempt;
	enum kai_step_up what;
};

static enum ka_status step_up_decide(const struct ka_service *s,
				     const struct ka_record *r, void *data,
				     ka_error *err)
{
	struct step_up_ask *a = data;

	a->what = kai_step_up(s->name, a->account, r, a->status, a->challenge,
			      a->attempt, err);
	return KA_OK;
}

/* A 403 insufficient_scope of the service's own server to the request
 * that carried the credential: with the scopes held, send again once
 * with a refreshed token (*again); without them, an auth-required error
 * naming the scopes to add; and never more than KAI_STEP_UP_MAX sends. */
static enum ka_status step_up(struct perform *pf, unsigned attempt, int *again,
			      ka_error *err)
{
	struct step_up_ask a = {
		pf->r->account, pf->r->status,
		ka_response_header(pf->r, "WWW-Authenticate"), attempt,
		KAI_STEP_UP_NONE,
	};
	enum ka_status st;

	*again = 0;
	if (pf->svc == NULL || !pf->r->injected || pf->r->redirects > 0 ||
	    a.status != 403)
		return KA_OK;
	if ((st = kai_core(pf->ctx, pf->svc, a.account, KAI_WANT_ANY,
			   step_up_decide, &a, NULL, err)) != KA_OK)
		return st;
	if (a.what == KAI_STEP_UP_NONE)
		return KA_OK;
	if (a.what != KAI_STEP_UP_RETRY)
		return KA_ERR_DENIED;	/* err says why, and what to run */
	kai_log(pf->ctx, 6, "%s: the server asks for scopes the token holds: "
		"refreshing it and sending again", pf->svc->name);
	st = kai_core(pf->ctx, pf->svc, a.account, KAI_WANT_FORCE, NULL, NULL,
		      NULL, err);
	*again = st == KA_OK;
	return st;
}

static enum ka_status run_step_up(struct perform *pf, ka_error *err)
{
	for (unsigned attempt = 0;; attempt++) {
		int again = 0;
		enum ka_status st = run(pf, err);

		if (st != KA_OK || (st = step_up(pf, attempt, &again, err)) != KA_OK ||
		    !again)
			return st;
		pf->r->redirects = 0;
	}
}

/* ---- connections shared between calls ------------------------------------------ */

enum ka_status kai_share_init(struct ka_ctx *ctx)
{
	size_t i;

	if (pthread_mutex_init(&ctx->share_mu, NULL) != 0)
		return KA_ERR_NOMEM;
	for (i = 0; i < KAI_SHARE_LOCKS; i++)
		if (pthread_mutex_init(&ctx->share_lock[i], NULL) != 0)
			break;
	if (i == KAI_SHARE_LOCKS)
		return KA_OK;
	while (i-- > 0)
		pthread_mutex_destroy(&ctx->share_lock[i]);
	pthread_mutex_destroy(&ctx->share_mu);
	return KA_ERR_NOMEM;
}

/* Every easy handle of ka_perform is cleaned up before its call returns,
 * so nothing uses the share any more when the context is freed. */
void kai_share_free(struct ka_ctx *ctx)
{
	if (ctx->share != NULL)
		curl_share_cleanup(ctx->share);
	ctx->share = NULL;
	for (size_t i = 0; i < KAI_SHARE_LOCKS; i++)
		pthread_mutex_destroy(&ctx->share_lock[i]);
	pthread_mutex_destroy(&ctx->share_mu);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access a,
		       void *p)
{
	struct ka_ctx *ctx = p;

	(void)c;
	(void)a;
	if ((unsigned)data < KAI_SHARE_LOCKS)
		pthread_mutex_lock(&ctx->share_lock[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *p)
{
	struct ka_ctx *ctx = p;

	(void)c;
	if ((unsigned)data < KAI_SHARE_LOCKS)
		pthread_mutex_unlock(&ctx->share_lock[data]);
}

/* The context's share, made on first use; NULL if libcurl cannot make
 * one (each call then connects afresh, which is only slower). */
static CURLSH *share_of(struct ka_ctx *ctx)
{
	CURLSH *sh;

	pthread_mutex_lock(&ctx->share_mu);
	if (ctx->share == NULL && (sh = curl_share_init()) != NULL) {
		if (curl_share_setopt(sh, CURLSHOPT_LOCKFUNC, share_lock) ||
		    curl_share_setopt(sh, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
		    curl_share_setopt(sh, CURLSHOPT_USERDATA, ctx) ||
		    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
		    curl_share_setopt(sh, CURLSHOPT_SHARE,
				      CURL_LOCK_DATA_SSL_SESSION) ||
		    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT))
			curl_share_cleanup(sh);
		else
			ctx->share = sh;
	}
	sh = ctx->share;
	pthread_mutex_unlock(&ctx->share_mu);
	return sh;
}

/* ---- the entry point --------------------------------------------------------- */

static enum ka_status prepare(struct perform *pf, ka_error *err)
{
	struct ka_response *r = pf->r;
	enum ka_status st;
	long timeout;

	fill_request(pf);
	if ((st = check_input(pf, err)) != KA_OK)
		return st;
	/* The first origin: refused outright if it cannot carry a request,
	 * or (an authorized one) if the service does not allow it. */
	if (pf->req.scope == NULL && pf->req.service == NULL &&
	    (st = kai_origin_parse(pf->req.url, &pf->first, NULL, err)) != KA_OK)
		return st;
	if (pf->req.scope != NULL || pf->req.service != NULL) {
		if ((st = kai_authorize_prepare(pf->ctx, &pf->req, &pf->svc,
						&pf->first, NULL, err)) != KA_OK)
			return st;
		kai_service_header_name(pf->svc, &pf->cred_name,
					&pf->cred_name_len);
		r->svc = pf->svc;
		snprintf(r->account, sizeof(r->account), "%s",
			 kai_account_or_default(pf->svc, pf->req.account));
		if (pf->req.scope != NULL)
			snprintf(r->scope, sizeof(r->scope), "%s", pf->req.scope);
	}
	timeout = pf->in->timeout_ms > 0 ? pf->in->timeout_ms :
		  pf->svc != NULL && pf->svc->timeout > 0 ?
		  pf->svc->timeout * 1000L : TIMEOUT_MS_DEFAULT;
	pf->deadline_ms = now_ms() + timeout;
	if ((pf->curl = curl_easy_init()) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "cannot start libcurl");
		return KA_ERR_NOMEM;
	}
	pf->share = share_of(pf->ctx);
	return KA_OK;
}

KAI_API enum ka_status ka_perform(struct ka_ctx *ctx,
				  const struct ka_perform_request *preq,
				  struct ka_response **out, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct perform pf = { .ctx = ctx, .in = preq };
	enum ka_status st;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || preq == NULL || out == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "ka_perform needs a context, "
			      "a request and a place for the answer");
		return KA_ERR_INVALID;
	}
	if ((pf.r = calloc(1, sizeof(*pf.r))) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	if ((st = prepare(&pf, err)) == KA_OK &&
	    (st = run_step_up(&pf, err)) == KA_OK &&
	    pf.r->body.p == NULL && kai_buf_append(&pf.r->body, "", 0, 1) != 0) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		st = KA_ERR_NOMEM;
	}
	if (st == KA_OK) {
		mask_answer(&pf);
		*out = pf.r;
		pf.r = NULL;
	}
	for (size_t i = 0; i < pf.ncreds; i++)
		kai_secure_free(pf.creds[i]);
	if (pf.curl != NULL)
		curl_easy_cleanup(pf.curl);
	ka_response_free(pf.r);
	return st;
}

/* ---- reading the answer ------------------------------------------------------ */

KAI_API long ka_response_status(const struct ka_response *r)
{
	return r->status;
}

KAI_API const char *ka_response_body(const struct ka_response *r, size_t *len)
{
	if (len != NULL)
		*len = r->body.len;
	return r->body.p;
}

KAI_API size_t ka_response_header_count(const struct ka_response *r)
{
	return r->nh;
}

KAI_API const char *ka_response_header_name(const struct ka_response *r,
					    size_t i)
{
	return i < r->nh ? r->h[i].name : NULL;
}

KAI_API const char *ka_response_header_value(const struct ka_response *r,
					     size_t i)
{
	return i < r->nh ? r->h[i].value : NULL;
}

KAI_API const char *ka_response_header(const struct ka_response *r,
				       const char *name)
{
	for (size_t i = 0; name != NULL && i < r->nh; i++)
		if (strcasecmp(r->h[i].name, name) == 0)
			return r->h[i].value;
	return NULL;
}

KAI_API const char *ka_response_url(const struct ka_response *r)
{
	return r->url;
}

KAI_API unsigned ka_response_redirects(const struct ka_response *r)
{
	return r->redirects;
}

KAI_API const char *ka_response_service(const struct ka_response *r)
{
	return r->svc != NULL ? r->svc->name : NULL;
}

KAI_API const char *ka_response_account(const struct ka_response *r)
{
	return r->svc != NULL ? r->account : NULL;
}

KAI_API const char *ka_response_scope(const struct ka_response *r)
{
	return r->scope[0] != '\0' ? r->scope : NULL;
}

KAI_API int ka_response_injected(const struct ka_response *r)
{
	return r->injected;
}

KAI_API size_t ka_response_masked(const struct ka_response *r)
{
	return r->masked;
}
