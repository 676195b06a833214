/* SPDX-License-Identifier: MIT */
/* authorize.c: the executor API: pick the service, bind the URL's origin,
 * check the token, inject the header; what an executor may know of it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "kai.h"

/* Headers up to this size are built on the stack (wiped after use). */
#define HEADER_STACK 4096

/* State of one authorization. */
struct authz {
	const struct ka_request *req;
	/* The header line, built while the record is borrowed. */
	char stack[HEADER_STACK];
	char *heap;		/* secure memory when the line is longer */
	char *line;		/* stack or heap */
	size_t len;
	size_t tok_off, tok_len;
	int64_t expires_at;
};

/* ---- checks of the request ---------------------------------------------- */

/* Printable ASCII without spaces, 1 to KAI_WORD_MAX bytes. */
static int word_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n <= KAI_WORD_MAX;
}

enum ka_status kai_request_check(const struct ka_request *req, ka_error *err)
{
	if (req->scope != NULL && !word_ok(req->scope)) {
		kai_error_set(err, KA_ERR_INVALID, "the required scope must be "
			      "1 to %d printable characters without spaces",
			      KAI_WORD_MAX);
		return KA_ERR_INVALID;
	}
	if (req->service != NULL && !kai_is_identifier(req->service)) {
		kai_error_set(err, KA_ERR_INVALID, "a service name is letters, "
			      "digits, '-' and '_', starting with a letter");
		return KA_ERR_INVALID;
	}
	if (req->account != NULL &&
	    (req->account[0] == '\0' || kai_has_ctl(req->account) ||
	     strlen(req->account) > KAI_WORD_MAX)) {
		kai_error_set(err, KA_ERR_INVALID, "account names must be 1 to "
			      "%d printable bytes", KAI_WORD_MAX);
		return KA_ERR_INVALID;
	}
	if ((req->method != NULL && !word_ok(req->method)) ||
	    (req->tool != NULL && kai_has_ctl(req->tool))) {
		kai_error_set(err, KA_ERR_INVALID, "the method and tool name "
			      "must be printable");
		return KA_ERR_INVALID;
	}
	return KA_OK;
}

/* ---- which service ------------------------------------------------------ */

enum ka_status kai_pick_service(struct ka_ctx *ctx,
				const struct ka_request *req,
				struct ka_service **out, ka_error *err)
{
	struct ka_service *s = NULL, *other = NULL;
	const char *acct = req->account;
	enum ka_status st;
	size_t len;

	*out = NULL;
	if (req->service != NULL) {
		if ((st = kai_resolve(ctx, req->service, &acct, &s, err)) != KA_OK)
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
	len = strlen(req->scope);
	s = kai_index_get(&ctx->by_scope, req->scope, len);
	if (ctx->scope_clash.n > 0)
		other = kai_index_get(&ctx->scope_clash, req->scope, len);
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
	if ((st = kai_service_check(s, err)) != KA_OK)
		return st;
	*out = s;
	return KA_OK;
}

/* ---- the header --------------------------------------------------------- */

void kai_service_header_name(const struct ka_service *s, const char **name,
			     size_t *len)
{
	*name = s->header;
	*len = s->hdr_name_len;
}

void kai_service_header_split(struct ka_service *s)
{
	const char *pct = strstr(s->header, "%s");

	s->hdr_len = strlen(s->header);
	s->hdr_name_len = kai_header_name_len(s->header);
	s->hdr_tok_off = pct != NULL ? (size_t)(pct - s->header) : s->hdr_len;
}

/* Runs with the record borrowed (under the cache's read lock on a hit):
 * no allocation unless the header is longer than HEADER_STACK. */
static enum ka_status build_header(const struct ka_service *s,
				   const struct ka_record *r, void *data,
				   ka_error *err)
{
	struct authz *a = data;
	const char *fmt = s->header, *tok = r->access_token;
	size_t flen = s->hdr_len, tlen, need;

	if (a->req->scope != NULL && r->scopes.n > 0 &&
	    !kai_strv_contains(&r->scopes, a->req->scope)) {
		kai_error_set(err, KA_ERR_DENIED, "token for %s lacks scope %s",
			      s->name, a->req->scope);
		return KA_ERR_DENIED;
	}
	/* Record setters refuse control bytes, so the token has none. */
	if (tok == NULL || (tlen = strlen(tok)) == 0 || s->hdr_tok_off >= flen) {
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
	a->tok_off = s->hdr_tok_off;
	a->tok_len = tlen;
	memcpy(a->line, fmt, a->tok_off);
	memcpy(a->line + a->tok_off, tok, tlen);
	memcpy(a->line + a->tok_off + tlen, fmt + a->tok_off + 2,
	       flen - a->tok_off - 2 + 1);
	a->len = need - 1;
	a->expires_at = r->expires_at;
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

/* ---- one authorization -------------------------------------------------- */

static void audit(const struct ka_ctx *ctx, const struct ka_service *s,
		  const struct ka_request *req, const struct kai_origin *o,
		  const struct authz *a, enum ka_status st)
{
	char origin[KAI_HOST_MAX + 24] = "";
	struct kai_audit_event ev;

	if (o != NULL)
		kai_origin_format(o, origin, sizeof(origin));
	ev = (struct kai_audit_event){
		.outcome = st == KA_OK ? "injected" : "refused",
		.service = s != NULL ? s->name : req->service,
		.scope = req->scope,
		.account = kai_account_or_default(s, req->account),
		.origin = origin[0] != '\0' ? origin : NULL,
		.method = req->method,
		.tool = req->tool,
		.reason = st == KA_OK ? NULL : ka_strerror(st),
	};
	if (st == KA_OK && a != NULL && a->line != NULL) {
		ev.token = a->line + a->tok_off;
		ev.token_len = a->tok_len;
	}
	kai_audit(ctx, &ev);
}

static void info_set(struct ka_auth_info *info, const struct ka_service *s,
		     const struct ka_request *req)
{
	if (info == NULL)
		return;
	memset(info, 0, sizeof(*info));
	info->svc = s;
	snprintf(info->account, sizeof(info->account), "%s",
		 kai_account_or_default(s, req->account));
	if (req->scope != NULL)
		snprintf(info->scope, sizeof(info->scope), "%s", req->scope);
}

enum ka_status kai_authorize_origin(struct ka_ctx *ctx, struct ka_service *s,
				    const struct ka_request *req,
				    const struct kai_origin *o,
				    struct curl_slist **headers,
				    struct ka_auth_info *info, ka_error *err)
{
	struct authz a;		/* its 4 KiB line buffer is not zeroed */
	struct curl_slist *node = NULL;
	const char *account = kai_account_or_default(s, req->account);
	enum ka_status st;

	a.req = req;
	a.heap = a.line = NULL;
	a.len = a.tok_off = a.tok_len = 0;
	a.expires_at = 0;
	info_set(info, s, req);
	st = kai_core(ctx, s, account, KAI_WANT_USABLE, build_header, &a, NULL,
		      err);
	if (st == KA_OK && (st = kai_headers_set(headers, a.line, a.len,
						 s->hdr_name_len, &node)) != KA_OK)
		kai_error_set(err, st, "out of memory");
	if (kai_audit_enabled(ctx))
		audit(ctx, s, req, o, &a, st);
	if (st == KA_OK && info != NULL) {
		info->injected = 1;
		info->expires_at = a.expires_at;
		info->cred = node->data + a.tok_off;
		info->cred_len = a.tok_len;
	}
	wipe_line(&a);
	return st;
}

static enum ka_status origin_allowed(const struct ka_service *s,
				     const struct kai_origin *o, ka_error *err)
{
	char text[KAI_HOST_MAX + 24];

	if (kai_origin_allowed(o, s))
		return KA_OK;
	kai_origin_format(o, text, sizeof(text));
	kai_error_set(err, KA_ERR_DENIED, "URL origin %s is not allowed for "
		      "service %s", text, s->name);
	return KA_ERR_DENIED;
}

enum ka_status kai_authorize_prepare(struct ka_ctx *ctx,
				     const struct ka_request *req,
				     struct ka_service **svc,
				     struct kai_origin *o,
				     struct ka_auth_info *info, ka_error *err)
{
	enum ka_status st;
	int parsed = 0;

	*svc = NULL;
	if ((st = kai_request_check(req, err)) != KA_OK ||
	    (st = kai_pick_service(ctx, req, svc, err)) != KA_OK ||
	    (st = kai_origin_parse(req->url, o, NULL, err)) != KA_OK)
		goto refused;
	parsed = 1;
	if ((st = origin_allowed(*svc, o, err)) != KA_OK)
		goto refused;
	return KA_OK;
refused:
	info_set(info, *svc, req);
	if (kai_audit_enabled(ctx))
		audit(ctx, *svc, req, parsed ? o : NULL, NULL, st);
	*svc = NULL;
	return st;
}

KAI_API enum ka_status ka_authorize(struct ka_ctx *ctx,
				    const struct ka_request *req,
				    struct curl_slist **headers,
				    struct ka_auth_info *info, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s = NULL;
	struct kai_origin o;
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
	if ((st = kai_authorize_prepare(ctx, req, &s, &o, info, err)) != KA_OK ||
	    (st = kai_headers_check(*headers, s->header, s->hdr_name_len,
				    err)) != KA_OK)
		return st;
	return kai_authorize_origin(ctx, s, req, &o, headers, info, err);
}

/* A byte that none of the n credentials holds: '*' when it can be, else
 * the first printable, then any other. Overwriting with a byte of the
 * credential could leave (or form, with the bytes around it) a copy. */
unsigned char kai_mask_byte(const char *const *cred, const size_t *len,
			    size_t n)
{
	unsigned char held[256] = { 0 };

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < len[i]; j++)
			held[(unsigned char)cred[i][j]] = 1;
	if (!held['*'])
		return '*';
	for (unsigned c = 0x21; c < 0x7f; c++)
		if (!held[c])
			return (unsigned char)c;
	for (unsigned c = 0x80; c < 0x100; c++)
		if (!held[c])
			return (unsigned char)c;
	for (unsigned c = 0x7f; c-- > 0;)
		if (!held[c])
			return (unsigned char)c;
	return '*';	/* every byte: no credential of a header is that */
}

size_t kai_redact(const char *cred, size_t k, unsigned char with, char *buf,
		  size_t len)
{
	size_t n = 0;
	char *p = buf, *end = buf + len;

	if (k == 0 || buf == NULL)
		return 0;
	/* Leftmost first, each copy overwritten before the next is sought:
	 * with a byte no credential holds, no copy survives or forms. */
	while ((size_t)(end - p) >= k &&
	       (p = memmem(p, (size_t)(end - p), cred, k)) != NULL) {
		memset(p, with, k);
		p += k;
		n++;
	}
	return n;
}

KAI_API size_t ka_redact(const struct ka_auth_info *info, char *buf,
			 size_t len)
{
	if (info == NULL || !info->injected || info->cred == NULL ||
	    info->cred_len == 0)
		return 0;
	return kai_redact(info->cred, info->cred_len,
			  kai_mask_byte(&info->cred, &info->cred_len, 1), buf,
			  len);
}

/* ---- what an executor may know of a decision ------------------------------ */

KAI_API enum ka_status ka_auth_info_new(struct ka_auth_info **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? KA_OK : KA_ERR_NOMEM;
}

KAI_API void ka_auth_info_free(struct ka_auth_info *info)
{
	if (info != NULL)
		explicit_bzero(info, sizeof(*info));
	free(info);
}

KAI_API const char *ka_auth_info_service(const struct ka_auth_info *info)
{
	return info != NULL && info->svc != NULL ? info->svc->name : NULL;
}

KAI_API const char *ka_auth_info_account(const struct ka_auth_info *info)
{
	return info != NULL && info->svc != NULL ? info->account : NULL;
}

KAI_API const char *ka_auth_info_scope(const struct ka_auth_info *info)
{
	return info != NULL && info->scope[0] != '\0' ? info->scope : NULL;
}

KAI_API int ka_auth_info_injected(const struct ka_auth_info *info)
{
	return info != NULL && info->injected;
}

KAI_API int64_t ka_auth_info_expires_at(const struct ka_auth_info *info)
{
	return info != NULL && info->injected ? info->expires_at : 0;
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
	enum ka_status st;

	if (curl == NULL || req == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "ka_curl_apply needs a "
			      "handle and a request");
		return KA_ERR_INVALID;
	}
	/* Checked as ka_authorize checked it (the thread's last origin is
	 * remembered, so this parses nothing twice); libcurl parses the same
	 * text the same way. */
	if ((st = kai_origin_parse(req->url, &o, NULL, err)) != KA_OK)
		return st;
	if ((st = curl_ok(curl_easy_setopt(curl, CURLOPT_URL, req->url), err)) ||
	    (st = curl_ok(set_protocols(curl, o.loopback), err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L),
			  err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L),
			  err)) ||
	    (st = curl_ok(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers),
			  err)))
		return st;
	/* A loopback request never needs a proxy, and a proxy would see a
	 * plain-http header. */
	if (o.loopback)
		st = curl_ok(curl_easy_setopt(curl, CURLOPT_PROXY, ""), err);
	return st;
}
