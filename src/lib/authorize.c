/* authorize.c: the executor API: pick the service, bind the URL's origin, check the token, inject the header. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kai.h"

/* Headers up to this size are built on the stack (wiped after use). */
#define HEADER_STACK 4096
#define WORD_MAX 256

/* State of one ka_authorize call. */
struct authz {
	const struct ka_request *req;
	const struct ka_service *svc;
	struct kai_origin origin;
	int have_origin;
	char origin_text[KAI_HOST_MAX + 24];	/* formatted when needed */
	/* The header line, built while the record is borrowed. */
	char stack[HEADER_STACK];
	char *heap;		/* secure memory when the line is longer */
	char *line;		/* stack or heap */
	size_t len;
	size_t tok_off, tok_len;
};

/* ---- checks of the request ---------------------------------------------- */

/* Printable ASCII without spaces, 1 to WORD_MAX bytes. */
static int word_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= WORD_MAX;
}

static enum ka_status check_request(const struct ka_request *req,
				    struct curl_slist *headers, ka_error *err)
{
	size_t i = 0;

	if (req->scope != NULL && !word_ok(req->scope)) {
		kai_error_set(err, KA_ERR_INVALID, "the required scope must be "
			      "1 to %d printable characters without spaces",
			      WORD_MAX);
		return KA_ERR_INVALID;
	}
	if (req->service != NULL && !kai_is_identifier(req->service)) {
		kai_error_set(err, KA_ERR_INVALID, "a service name is letters, "
			      "digits, '-' and '_', starting with a letter");
		return KA_ERR_INVALID;
	}
	if ((req->method != NULL && !word_ok(req->method)) ||
	    (req->tool != NULL && kai_has_ctl(req->tool))) {
		kai_error_set(err, KA_ERR_INVALID, "the method and tool name "
			      "must be printable");
		return KA_ERR_INVALID;
	}
	for (const struct curl_slist *h = headers; h != NULL; h = h->next, i++) {
		if (h->data == NULL || kai_ctl_scan(h->data, NULL)) {
			kai_error_set(err, KA_ERR_INVALID, "refusing the tool's "
				      "headers: header %zu holds a control "
				      "character (CR, LF, ...)", i + 1);
			return KA_ERR_INVALID;
		}
	}
	return KA_OK;
}

/* ---- which service ------------------------------------------------------ */

static enum ka_status usable_service(const struct ka_service *s,
				     const char *name, ka_error *err)
{
	if (s == NULL) {
		kai_error_set(err, KA_ERR_NO_SERVICE, "no service '%s' in the "
			      "configuration; run 'kiwi-auth services' to list "
			      "them", name);
		return KA_ERR_NO_SERVICE;
	}
	if (s->error != NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "service '%s' is disabled by a "
			      "configuration error: %s", s->name, s->error);
		return KA_ERR_CONFIG;
	}
	return KA_OK;
}

static enum ka_status pick_service(const struct ka_ctx *ctx,
				   const struct ka_request *req,
				   const struct ka_service **out, ka_error *err)
{
	const struct ka_service *s = NULL, *other = NULL;
	enum ka_status st;

	*out = NULL;
	if (req->service != NULL) {
		s = ka_service_find(ctx, req->service);
		if ((st = usable_service(s, req->service, err)) != KA_OK)
			return st;
		if (req->scope != NULL && s->scopes.n > 0 &&
		    !kai_strv_contains(&s->scopes, req->scope)) {
			kai_error_set(err, KA_ERR_DENIED, "service %s does not "
				      "grant scope %s (add it to the service's "
				      "scopes, or use the service that does)",
				      s->name, req->scope);
			return KA_ERR_DENIED;
		}
		*out = s;
		return KA_OK;
	}
	for (size_t i = 0; i < ctx->nservices; i++) {
		if (!kai_strv_contains(&ctx->services[i]->scopes, req->scope))
			continue;
		if (s == NULL)
			s = ctx->services[i];
		else if (other == NULL)
			other = ctx->services[i];
	}
	if (s == NULL) {
		kai_error_set(err, KA_ERR_NO_SERVICE, "no service grants scope "
			      "%s: list it in the scopes of one service stanza, "
			      "or name the service (auth_service)", req->scope);
		return KA_ERR_NO_SERVICE;
	}
	if (other != NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "scope %s is granted by more "
			      "than one service (%s, %s): name the service "
			      "(auth_service)", req->scope, s->name, other->name);
		return KA_ERR_CONFIG;
	}
	if ((st = usable_service(s, s->name, err)) != KA_OK)
		return st;
	*out = s;
	return KA_OK;
}

/* ---- the header --------------------------------------------------------- */

/* Runs with the record borrowed (under the cache's read lock on a hit):
 * no allocation unless the header is longer than HEADER_STACK. */
static enum ka_status build_header(const struct ka_service *s,
				   const struct ka_record *r, void *data,
				   ka_error *err)
{
	struct authz *a = data;
	const char *fmt = ka_service_header(s), *pct = strstr(fmt, "%s");
	const char *tok = r->access_token;
	size_t flen = strlen(fmt), tlen, need;

	if (a->req->scope != NULL && r->scopes.n > 0 &&
	    !kai_strv_contains(&r->scopes, a->req->scope)) {
		kai_error_set(err, KA_ERR_DENIED, "token for %s lacks scope %s",
			      s->name, a->req->scope);
		return KA_ERR_DENIED;
	}
	/* Record setters refuse control bytes, so the token has none. */
	if (tok == NULL || (tlen = strlen(tok)) == 0 || pct == NULL) {
		kai_error_set(err, KA_ERR_CORRUPT, "the stored token for %s is "
			      "empty or holds control characters; sign in "
			      "again", s->name);
		return KA_ERR_CORRUPT;
	}
	need = flen - 2 + tlen + 1;
	if (need <= sizeof(a->stack)) {
		a->line = a->stack;
	} else if ((a->line = a->heap = kai_secure_alloc(need)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	a->tok_off = (size_t)(pct - fmt);
	a->tok_len = tlen;
	memcpy(a->line, fmt, a->tok_off);
	memcpy(a->line + a->tok_off, tok, tlen);
	memcpy(a->line + a->tok_off + tlen, pct + 2, flen - a->tok_off - 2 + 1);
	a->len = need - 1;
	return KA_OK;
}

static void wipe_line(struct authz *a)
{
	if (a->line != NULL)
		kai_wipe(a->line, a->len);
	kai_secure_free(a->heap);
	a->heap = a->line = NULL;
	a->len = 0;
}

/* Length of the header name in "Name: value", without trailing blanks. */
static size_t name_len(const char *line)
{
	size_t n = strcspn(line, ":");

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	return n;
}

/* libcurl reads "Name: v", "Name;" (empty) and "Name:" (remove). */
static int same_name(const char *h, const char *name, size_t n)
{
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, name, n) != 0)
		return 0;
	h += n;
	while (*h == ' ' || *h == '\t')
		h++;
	return *h == ':' || *h == ';' || *h == '\0';
}

static void node_free(struct curl_slist *e)
{
	if (e->data != NULL)
		kai_wipe(e->data, strlen(e->data));
	e->next = NULL;
	curl_slist_free_all(e);
}

/* Append line, then drop every other header of the same name, so on
 * failure the list is unchanged. */
static enum ka_status set_header(struct curl_slist **headers, const char *line)
{
	struct curl_slist *l = curl_slist_append(*headers, line), **pp, *e;
	size_t n = name_len(line);

	if (l == NULL)
		return KA_ERR_NOMEM;
	*headers = l;
	for (pp = headers; (e = *pp) != NULL;) {
		if (e->next != NULL && same_name(e->data, line, n)) {
			*pp = e->next;
			node_free(e);
		} else {
			pp = &e->next;
		}
	}
	return KA_OK;
}

KAI_API void ka_headers_free(struct curl_slist *headers)
{
	for (struct curl_slist *h = headers; h != NULL; h = h->next)
		if (h->data != NULL)
			kai_wipe(h->data, strlen(h->data));
	curl_slist_free_all(headers);
}

/* ---- ka_authorize ------------------------------------------------------- */

static void audit(const struct ka_ctx *ctx, struct authz *a,
		  enum ka_status st)
{
	const struct ka_request *req = a->req;
	struct kai_audit_event ev;

	if (a->have_origin)
		kai_origin_format(&a->origin, a->origin_text,
				  sizeof(a->origin_text));
	ev = (struct kai_audit_event){
		.outcome = st == KA_OK ? "injected" : "refused",
		.service = a->svc != NULL ? a->svc->name : req->service,
		.scope = req->scope,
		.account = req->account != NULL ? req->account : KA_ACCOUNT_DEFAULT,
		.origin = a->origin_text[0] != '\0' ? a->origin_text : NULL,
		.method = req->method,
		.tool = req->tool,
		.reason = st == KA_OK ? NULL : ka_strerror(st),
	};

	if (st == KA_OK && a->line != NULL) {
		ev.token = a->line + a->tok_off;
		ev.token_len = a->tok_len;
	}
	kai_audit(ctx, &ev);
}

static enum ka_status decide(struct ka_ctx *ctx, struct authz *a,
			     struct curl_slist **headers, ka_error *err)
{
	const struct ka_request *req = a->req;
	enum ka_status st;

	if ((st = check_request(req, *headers, err)) != KA_OK ||
	    (st = pick_service(ctx, req, &a->svc, err)) != KA_OK ||
	    (st = kai_origin_parse(req->url, &a->origin, NULL, err)) != KA_OK)
		return st;
	a->have_origin = 1;
	if (!kai_origin_allowed(&a->origin, a->svc)) {
		kai_origin_format(&a->origin, a->origin_text,
				  sizeof(a->origin_text));
		kai_error_set(err, KA_ERR_DENIED, "URL origin %s is not allowed "
			      "for service %s", a->origin_text, a->svc->name);
		return KA_ERR_DENIED;
	}
	st = kai_with_record(ctx, a->svc->name, req->account, build_header, a,
			     err);
	if (st != KA_OK)
		return st;
	if ((st = set_header(headers, a->line)) != KA_OK)
		kai_error_set(err, st, "out of memory");
	return st;
}

KAI_API enum ka_status ka_authorize(struct ka_ctx *ctx,
				    const struct ka_request *req,
				    struct curl_slist **headers,
				    struct ka_auth_info *info, ka_error *err)
{
	struct authz a;
	enum ka_status st;

	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (ctx == NULL || req == NULL || headers == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "ka_authorize needs a "
			      "context, a request and a header list pointer");
		return KA_ERR_INVALID;
	}
	if (req->primitive == NULL ||
	    strcmp(req->primitive, KA_PRIMITIVE_HTTP) != 0 ||
	    (req->scope == NULL && req->service == NULL))
		return KA_OK;
	a.req = req;
	a.svc = NULL;
	a.heap = a.line = NULL;
	a.len = a.tok_off = a.tok_len = 0;
	a.have_origin = 0;
	a.origin_text[0] = '\0';
	st = decide(ctx, &a, headers, err);
	if (kai_audit_enabled(ctx))
		audit(ctx, &a, st);
	wipe_line(&a);
	if (info != NULL) {
		info->service = a.svc != NULL ? a.svc->name : NULL;
		info->injected = st == KA_OK;
		if (st == KA_OK) {
			/* set_header appended the credential last. */
			struct curl_slist *last = *headers;

			while (last->next != NULL)
				last = last->next;
			info->priv_cred = last->data + a.tok_off;
			info->priv_cred_len = a.tok_len;
		}
	}
	return st;
}

KAI_API size_t ka_redact(const struct ka_auth_info *info, char *buf,
			 size_t len)
{
	size_t n = 0, k;
	char *p = buf, *end = buf + len;

	if (info == NULL || !info->injected || info->priv_cred == NULL ||
	    (k = info->priv_cred_len) == 0 || buf == NULL)
		return 0;
	while ((size_t)(end - p) >= k &&
	       (p = memmem(p, (size_t)(end - p), info->priv_cred, k)) != NULL) {
		memset(p, '*', k);
		p += k;
		n++;
	}
	return n;
}

/* ---- applying the result to a libcurl handle ---------------------------- */

static enum ka_status curl_ok(CURLcode rc, ka_error *err)
{
	if (rc == CURLE_OK)
		return KA_OK;
	kai_error_set(err, KA_ERR_UNSUPPORTED, "libcurl refused a setting: %s",
		      curl_easy_strerror(rc));
	return KA_ERR_UNSUPPORTED;
}

static CURLcode set_protocols(CURL *curl, int loopback)
{
	CURLcode rc;

#if LIBCURL_VERSION_NUM >= 0x075500
	const char *p = loopback ? "http,https" : "https";

	if ((rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, p)) != CURLE_OK)
		return rc;
	return curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, p);
#else
	long p = loopback ? (CURLPROTO_HTTP | CURLPROTO_HTTPS) : CURLPROTO_HTTPS;

	if ((rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS, p)) != CURLE_OK)
		return rc;
	return curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, p);
#endif
}

KAI_API enum ka_status ka_curl_apply(CURL *curl, const struct ka_request *req,
				     struct curl_slist *headers, ka_error *err)
{
	struct kai_origin o;
	char *url = NULL;
	enum ka_status st;

	if (curl == NULL || req == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "ka_curl_apply needs a "
			      "handle and a request");
		return KA_ERR_INVALID;
	}
	if ((st = kai_origin_parse(req->url, &o, &url, err)) != KA_OK)
		return st;
	if ((st = curl_ok(curl_easy_setopt(curl, CURLOPT_URL, url), err)) ||
	    (st = curl_ok(set_protocols(curl, o.loopback), err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L),
			  err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L),
			  err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers),
			  err)))
		goto out;
	/* A loopback request never needs a proxy, and a proxy would see a
	 * plain-http header. */
	if (o.loopback)
		st = curl_ok(curl_easy_setopt(curl, CURLOPT_PROXY, ""), err);
out:
	free(url);
	return st;
}
