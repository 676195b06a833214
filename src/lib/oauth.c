/* SPDX-License-Identifier: MIT */
/* oauth.c: OAuth 2.0 protocol pieces every refresh module shares: token
 * requests and answers (RFC 6749), the device grant (RFC 8628) and
 * revocation (RFC 7009). Discovery is in discover.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kai.h"

#define RETRIES 3
#define BACKOFF_MS 200
#define DEVICE_MAX_WAIT 1800	/* never poll longer than 30 min */
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- JSON answers, secrets wiped --------------------------------------- */

/* jansson keeps copies of every string: wipe them all before the free. */
void kai_json_wipe_free(json_t *o)
{
	const char *k;
	json_t *v;

	if (o == NULL)
		return;
	if (json_is_object(o)) {
		json_object_foreach(o, k, v)
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v),
					       json_string_length(v));
	}
	json_decref(o);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

ssize_t kai_form_decode(char *s, size_t n)
{
	size_t i, j;

	for (i = j = 0; i < n; i++, j++) {
		if (s[i] == '+') {
			s[j] = ' ';
		} else if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			s[j] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			s[j] = s[i];
		}
	}
	return (ssize_t)j;
}

/* A form answer (a=b&c=d) as a JSON object of strings. */
static json_t *form_to_json(const char *body, size_t len)
{
	json_t *o = json_object();
	char *copy = kai_secure_alloc(len + 1);
	char *p, *save = NULL;

	if (o == NULL || copy == NULL)
		goto fail;
	memcpy(copy, body, len);
	for (p = strtok_r(copy, "&", &save); p != NULL;
	     p = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(p, '=');
		ssize_t kn, vn;

		if (eq == NULL)
			continue;
		*eq = '\0';
		kn = kai_form_decode(p, strlen(p));
		vn = kai_form_decode(eq + 1, strlen(eq + 1));
		if (kn <= 0 || vn < 0)
			goto fail;
		p[kn] = '\0';
		if (json_object_set_new(o, p, json_stringn(eq + 1, (size_t)vn)) != 0)
			goto fail;
	}
	kai_secure_free(copy);
	return o;
fail:
	kai_secure_free(copy);
	kai_json_wipe_free(o);
	return NULL;
}

/* The answer as a JSON object, or NULL when it is neither a JSON object
 * nor (for GitHub) a form. */
static json_t *answer_object(const struct ka_http_response *r)
{
	json_t *o;

	if (strcmp(r->content_type, "application/x-www-form-urlencoded") == 0)
		return form_to_json(r->body, r->len);
	o = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL && !json_is_object(o)) {
		kai_json_wipe_free(o);
		return NULL;
	}
	return o;
}

const char *kai_json_str(json_t *o, const char *key)
{
	json_t *v = o != NULL ? json_object_get(o, key) : NULL;

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* A number of seconds (a JSON number or a numeric string) into *out,
 * clamped to +-SECS_MAX so that any value converts without overflow.
 * 1 when key holds one, 0 when it is absent or not a number. */
#define SECS_MAX (100LL * 365 * 86400)	/* 100 years */
static int jsecs(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	char *end;
	double d;

	*out = 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		/* Compared as doubles: the cast below is then defined. */
		*out = d >= (double)SECS_MAX ? SECS_MAX :
		       d <= (double)-SECS_MAX ? -SECS_MAX : (long long)d;
	} else if ((s = kai_json_str(o, key)) != NULL) {
		errno = 0;
		*out = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0' || end == s)
			return 0;
	} else {
		return 0;
	}
	if (*out > SECS_MAX)
		*out = SECS_MAX;
	else if (*out < -SECS_MAX)
		*out = -SECS_MAX;
	return 1;
}

/* An expiry from an answer's "expires_in" (seconds): absent is never,
 * and 0 or less is already expired (said in the log, as a server that
 * means "never" should omit the field). */
static int64_t expiry_of(const struct ka_mctx *m, json_t *o, const char *key,
			 const char *what, int64_t now)
{
	long long n;

	if (!jsecs(o, key, &n))
		return KA_EXPIRES_NEVER;
	if (n <= 0) {
		kai_log(m != NULL ? m->ctx : NULL, 4, "%s%sthe token endpoint "
			"answered %s %lld: the %s is stored as already "
			"expired", m != NULL ? m->svc->name : "",
			m != NULL ? ": " : "", key, n, what);
		return now;
	}
	return now + n;
}

/* Copy a printable, shortened version of s (a server's words). */
static void printable(char *dst, size_t n, const char *s)
{
	size_t j = 0;

	for (; s != NULL && *s != '\0' && j + 1 < n; s++)
		dst[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ||
			   (unsigned char)*s >= 0x80 ? '?' : *s;
	dst[j] = '\0';
}

/* 1 (and oerr filled) when o is an OAuth error answer. */
static int oauth_error_of(json_t *o, long status, struct ka_oauth_error *oerr)
{
	const char *e = o != NULL ? kai_json_str(o, "error") : NULL;

	if (e == NULL)
		return 0;
	oerr->status = status;
	printable(oerr->error, sizeof(oerr->error), e);
	printable(oerr->description, sizeof(oerr->description),
		  kai_json_str(o, "error_description"));
	return 1;
}

/* ---- token answers -------------------------------------------------------- */

/* RFC 6749 separates scopes with spaces; GitHub answers with commas. */
static enum ka_status add_scopes(struct ka_record *r, const char *list)
{
	char *copy = kai_strdup(list), *p, *save = NULL;
	enum ka_status st = copy != NULL ? KA_OK : KA_ERR_NOMEM;

	for (p = copy != NULL ? strtok_r(copy, " ,", &save) : NULL;
	     p != NULL && st == KA_OK; p = strtok_r(NULL, " ,", &save))
		if (!ka_record_has_scope(r, p))
			st = ka_record_add_scope(r, p);
	free(copy);
	return st;
}

static enum ka_status fallback_scopes(struct ka_record *r,
				      const struct ka_oauth_request *req)
{
	enum ka_status st = KA_OK;

	if (req->prev != NULL && req->prev->scopes.n > 0) {
		for (size_t i = 0; i < req->prev->scopes.n && st == KA_OK; i++)
			st = ka_record_add_scope(r, req->prev->scopes.v[i]);
		return st;
	}
	for (size_t i = 0; req->scopes != NULL && req->scopes[i] != NULL &&
		    st == KA_OK; i++)
		st = ka_record_add_scope(r, req->scopes[i]);
	return st;
}

static enum ka_status record_of(const struct ka_mctx *m, json_t *o,
				const struct ka_oauth_request *req,
				struct ka_record **out, ka_error *err)
{
	struct ka_record *r = NULL;
	const char *at = kai_json_str(o, "access_token"), *rt = kai_json_str(o, "refresh_token");
	const char *tt = kai_json_str(o, "token_type"), *scope = kai_json_str(o, "scope");
	int64_t now = kai_now();
	enum ka_status st;

	*out = NULL;
	if (at == NULL || kai_has_ctl(at) || (rt != NULL && kai_has_ctl(rt)) ||
	    (tt != NULL && kai_has_ctl(tt)) || (scope != NULL && kai_has_ctl(scope))) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the token endpoint's "
			      "answer has no usable access_token");
		return KA_ERR_PROTOCOL;
	}
	if (rt == NULL && req->prev != NULL)
		rt = req->prev->refresh_token;
	if ((st = ka_record_new(&r)) != KA_OK ||
	    (st = ka_record_set_access_token(r, at)) != KA_OK ||
	    (rt != NULL && (st = ka_record_set_refresh_token(r, rt)) != KA_OK) ||
	    (st = ka_record_set_token_type(r, tt != NULL ? tt : "Bearer")) != KA_OK ||
	    (st = scope != NULL ? add_scopes(r, scope) :
		  fallback_scopes(r, req)) != KA_OK)
		goto out;
	r->obtained_at = now;
	r->expires_at = expiry_of(m, o, "expires_in", "access token", now);
	r->refresh_expires_at = expiry_of(m, o, "refresh_token_expires_in",
					  "refresh token", now);
	if (r->refresh_expires_at == KA_EXPIRES_NEVER && req->prev != NULL &&
	    rt == req->prev->refresh_token)
		r->refresh_expires_at = req->prev->refresh_expires_at;
	if (req->prev != NULL && req->prev->account != NULL)
		st = ka_record_set_account(r, req->prev->account);
	if (st == KA_OK) {
		*out = r;
		r = NULL;
	}
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	else if (st != KA_OK)
		kai_error_set(err, KA_ERR_PROTOCOL, "the token endpoint's "
			      "answer holds a token or scope that cannot be "
			      "stored");
	ka_record_free(r);
	return st == KA_OK ? st : st == KA_ERR_NOMEM ? st : KA_ERR_PROTOCOL;
}

static void origin_of(const char *url, char *buf, size_t n)
{
	struct kai_origin o;
	ka_error ignored;

	ka_error_clear(&ignored);
	if (kai_origin_parse(url, &o, NULL, &ignored) == KA_OK)
		kai_origin_format(&o, buf, n);
	else
		snprintf(buf, n, "the endpoint");
}

/* Whether a form asks for the refresh token grant: a server that rotates
 * refresh tokens may have rotated this one as soon as it read the
 * request, whatever it answered after. */
static int refresh_grant(const char *form, size_t len)
{
	static const char field[] = "grant_type=refresh_token";
	size_t n = sizeof(field) - 1;

	for (size_t i = 0; i + n <= len; i++) {
		if ((i == 0 || form[i - 1] == '&') &&
		    memcmp(form + i, field, n) == 0 &&
		    (i + n == len || form[i + n] == '&'))
			return 1;
	}
	return 0;
}

/* One POST; with KA_OAUTH_RETRY, retries of refused connections (never
 * sent) and, except for a refresh grant, of 5xx answers. A request that
 * was sent and timed out is never retried. *made gets the attempts. */
static enum ka_status post_form(const struct ka_mctx *m,
				const struct ka_oauth_request *req,
				const char *form, size_t len,
				struct ka_http_response **out, int *made,
				ka_error *err)
{
	struct ka_http_request hr = {
		.method = "POST", .url = req->url, .body = form,
		.body_len = len, .headers = req->headers,
		.ca_file = req->ca_file, .timeout_ms = req->timeout_ms,
	};
	int tries = req->flags & KA_OAUTH_RETRY ? RETRIES : 1;
	int retry_5xx = !refresh_grant(form, len);
	enum ka_status st = KA_ERR_NETWORK;
	ka_error e;
	int i;

	*out = NULL;
	for (i = 0; i < tries; i++) {
		int unsent = 0;

		if (i > 0)
			sleep_ms((BACKOFF_MS << (i - 1)) + (long)(kai_now() % 50));
		ka_error_clear(&e);
		kai_http_response_free(*out);
		*out = NULL;
		st = kai_http_ex(m != NULL ? m->ctx : NULL, &hr, out, &unsent, &e);
		if (st == KA_OK && (*out)->status >= 500 && retry_5xx)
			continue;
		if (st != KA_OK && unsent)
			continue;
		break;
	}
	*made = i < tries ? i + 1 : tries;
	if (st != KA_OK) {
		if (*made > 1 && e.code == KA_ERR_NETWORK)
			kai_error_set(err, st, "%s (tried %d times)", e.text,
				      *made);
		else
			kai_error_copy(err, &e);
	}
	return st;
}

static enum ka_status token_answer(const struct ka_mctx *m,
				   const struct ka_oauth_request *req,
				   const struct ka_http_response *r, int made,
				   struct ka_record **out,
				   struct ka_oauth_error *oerr, ka_error *err)
{
	char origin[KAI_HOST_MAX + 32];
	json_t *o = answer_object(r);
	enum ka_status st;

	*out = NULL;
	memset(oerr, 0, sizeof(*oerr));
	origin_of(req->url, origin, sizeof(origin));
	if (oauth_error_of(o, r->status, oerr)) {
		st = KA_ERR_DENIED;	/* the module words it */
	} else if (r->status >= 500) {
		if (made > 1)
			kai_error_set(err, KA_ERR_NETWORK, "%s answered HTTP "
				      "%ld (tried %d times)", origin, r->status,
				      made);
		else
			kai_error_set(err, KA_ERR_NETWORK, "%s answered HTTP "
				      "%ld", origin, r->status);
		st = KA_ERR_NETWORK;
	} else if (r->status < 200 || r->status > 299 || o == NULL) {
		oerr->status = r->status;
		kai_error_set(err, KA_ERR_PROTOCOL, "%s answered HTTP %ld with "
			      "%s, not an OAuth token answer", origin, r->status,
			      r->content_type[0] != '\0' ? r->content_type :
			      "no content type");
		st = KA_ERR_PROTOCOL;
	} else {
		oerr->status = r->status;
		st = record_of(m, o, req, out, err);
	}
	kai_json_wipe_free(o);
	return st;
}

enum ka_status kai_oauth_token_answer(const struct ka_mctx *m,
				      const struct ka_oauth_request *req,
				      const struct ka_http_response *r,
				      struct ka_record **out,
				      struct ka_oauth_error *oerr, ka_error *err)
{
	return token_answer(m, req, r, 1, out, oerr, err);
}

enum ka_status kai_oauth_token(const struct ka_mctx *m,
			       const struct ka_oauth_request *req,
			       struct ka_record **out,
			       struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_error dummy;
	struct ka_http_response *r = NULL;
	int made = 0;
	enum ka_status st;

	*out = NULL;
	if (oerr == NULL)
		oerr = &dummy;
	memset(oerr, 0, sizeof(*oerr));
	if ((st = post_form(m, req, req->form, req->form_len, &r, &made,
			    err)) == KA_OK)
		st = token_answer(m, req, r, made, out, oerr, err);
	kai_http_response_free(r);
	return st;
}

/* ---- revocation (RFC 7009) ---------------------------------------------- */

enum ka_status kai_oauth_revoke(const struct ka_mctx *m,
				const struct ka_oauth_request *req,
				const char *token, const char *hint,
				struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_error dummy;
	struct ka_http_response *r = NULL;
	int made = 0;
	char origin[KAI_HOST_MAX + 32];
	size_t len = 0;
	char *form = NULL;
	json_t *o = NULL;
	enum ka_status st;

	if (oerr == NULL)
		oerr = &dummy;
	memset(oerr, 0, sizeof(*oerr));
	origin_of(req->url, origin, sizeof(origin));
	if (req->form != NULL && req->form_len > 0) {
		if ((form = kai_secure_alloc(req->form_len + 1)) == NULL)
			return KA_ERR_NOMEM;
		memcpy(form, req->form, req->form_len);
		len = req->form_len;
	}
	if ((st = kai_form_add(&form, &len, "token", token)) != KA_OK ||
	    (hint != NULL &&
	     (st = kai_form_add(&form, &len, "token_type_hint", hint)) != KA_OK))
		goto out;
	if ((st = post_form(m, req, form, len, &r, &made, err)) != KA_OK)
		goto out;
	if (r->status == 200)
		goto out;
	o = answer_object(r);
	if (oauth_error_of(o, r->status, oerr))
		kai_error_set(err, KA_ERR_DENIED, "%s refused to revoke the "
			      "token: %s%s%s", origin, oerr->error,
			      oerr->description[0] ? ": " : "", oerr->description);
	else
		kai_error_set(err, KA_ERR_PROTOCOL, "%s answered HTTP %ld to "
			      "the revocation", origin, r->status);
	st = o != NULL && oerr->error[0] ? KA_ERR_DENIED : KA_ERR_PROTOCOL;
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	kai_json_wipe_free(o);
	kai_http_response_free(r);
	kai_secure_free(form);
	return st;
}

/* ---- the device authorization grant (RFC 8628) -------------------------- */

struct device_state {
	char *device_code;	/* secure */
	long interval;
	int64_t deadline;
};

enum ka_status kai_oauth_device_answer(const struct ka_http_response *r,
				       struct kai_device_answer *out,
				       struct ka_oauth_error *oerr,
				       ka_error *err)
{
	json_t *o = answer_object(r);
	const char *uri, *code, *complete;
	enum ka_status st = KA_ERR_PROTOCOL;

	memset(out, 0, sizeof(*out));
	if (oauth_error_of(o, r->status, oerr)) {
		kai_error_set(err, KA_ERR_DENIED, "the device authorization "
			      "endpoint refused: %s%s%s", oerr->error,
			      oerr->description[0] ? ": " : "", oerr->description);
		st = KA_ERR_DENIED;
		goto out;
	}
	uri = o != NULL ? kai_json_str(o, "verification_uri") : NULL;
	if (uri == NULL && o != NULL)
		uri = kai_json_str(o, "verification_url");	/* older drafts */
	code = o != NULL ? kai_json_str(o, "user_code") : NULL;
	if (r->status != 200 || o == NULL || kai_json_str(o, "device_code") == NULL ||
	    uri == NULL || code == NULL || kai_has_ctl(uri) || kai_has_ctl(code) ||
	    strlen(uri) >= sizeof(out->uri) || strlen(code) >= sizeof(out->code)) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the device authorization "
			      "endpoint answered HTTP %ld without a usable "
			      "device code", r->status);
		goto out;
	}
	if ((out->device_code = kai_secure_strdup(kai_json_str(o, "device_code"))) == NULL) {
		kai_error_set(err, st = KA_ERR_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out->uri, uri, strlen(uri) + 1);
	memcpy(out->code, code, strlen(code) + 1);
	complete = kai_json_str(o, "verification_uri_complete");
	if (complete != NULL && !kai_has_ctl(complete) &&
	    strlen(complete) < sizeof(out->complete))
		memcpy(out->complete, complete, strlen(complete) + 1);
	(void)jsecs(o, "expires_in", &out->expires_in);
	(void)jsecs(o, "interval", &out->interval);
	st = KA_OK;
out:
	kai_json_wipe_free(o);
	return st;
}

static enum ka_status device_start(const struct ka_mctx *m,
				   const struct ka_oauth_device *req,
				   struct device_state *ds,
				   struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_request pr = req->token;
	struct ka_http_response *r = NULL;
	int made = 0;
	struct kai_device_answer da = { NULL };
	long long exp, iv;
	size_t len = 0;
	char *form = NULL, text[KA_URL_MAX * 2 + 160];
	enum ka_status st = KA_ERR_NOMEM;

	if ((form = kai_secure_alloc(req->client_form_len + req->scope_form_len + 2)) == NULL)
		return st;
	memcpy(form, req->client_form, req->client_form_len);
	len = req->client_form_len;
	if (req->scope_form != NULL && req->scope_form_len > 0) {
		form[len++] = '&';
		memcpy(form + len, req->scope_form, req->scope_form_len);
		len += req->scope_form_len;
	}
	pr.url = req->device_url;
	if ((st = post_form(m, &pr, form, len, &r, &made, err)) != KA_OK ||
	    (st = kai_oauth_device_answer(r, &da, oerr, err)) != KA_OK)
		goto out;
	ds->device_code = da.device_code;
	exp = da.expires_in;
	iv = da.interval;
	ds->deadline = kai_now() + (exp > 0 && exp < DEVICE_MAX_WAIT ? exp : DEVICE_MAX_WAIT);
	if (iv > 0 && iv <= 60)
		ds->interval = (long)iv;
	snprintf(text, sizeof(text), "To sign in to %s, open %s and enter "
		 "the code %s%s%s%s", m->svc->name, da.uri, da.code,
		 da.complete[0] ? " (or open " : "", da.complete,
		 da.complete[0] ? ")" : "");
	st = kai_converse(m, &(struct ka_conv_msg){ .style = KA_CONV_INFO,
			  .text = text, .url = da.uri, .code = da.code }, NULL, 0, err);
out:
	kai_http_response_free(r);
	kai_secure_free(form);
	return st;
}

static enum ka_status device_poll(const struct ka_mctx *m,
				  const struct ka_oauth_device *req,
				  struct device_state *ds, struct ka_record **out,
				  struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_request tr = req->token;
	size_t len = 0;
	char *form = NULL;
	enum ka_status st;

	tr.prev = NULL;
	if ((form = kai_secure_alloc(req->client_form_len + 1)) == NULL)
		return KA_ERR_NOMEM;
	memcpy(form, req->client_form, req->client_form_len);
	len = req->client_form_len;
	if ((st = kai_form_add(&form, &len, "grant_type", DEVICE_GRANT)) != KA_OK ||
	    (st = kai_form_add(&form, &len, "device_code", ds->device_code)) != KA_OK)
		goto out;
	tr.form = form;
	tr.form_len = len;
	for (;;) {
		sleep_ms(ds->interval * 1000L);
		if (kai_now() >= ds->deadline) {
			kai_error_set(err, KA_ERR_TIMEOUT, "the code expired "
				      "before the sign-in was finished; run the "
				      "sign-in again");
			st = KA_ERR_TIMEOUT;
			break;
		}
		st = kai_oauth_token(m, &tr, out, oerr, err);
		if (st != KA_ERR_DENIED)
			break;
		if (strcmp(oerr->error, "authorization_pending") == 0)
			continue;
		if (strcmp(oerr->error, "slow_down") == 0) {
			ds->interval += 5;
			continue;
		}
		if (strcmp(oerr->error, "access_denied") == 0)
			kai_error_set(err, KA_ERR_DENIED, "the sign-in was "
				      "denied at the server");
		else if (strcmp(oerr->error, "expired_token") == 0)
			kai_error_set(err, KA_ERR_TIMEOUT, "the code expired "
				      "before the sign-in was finished; run the "
				      "sign-in again"), st = KA_ERR_TIMEOUT;
		break;
	}
out:
	kai_secure_free(form);
	return st;
}

enum ka_status kai_oauth_device(const struct ka_mctx *m,
				const struct ka_oauth_device *req,
				struct ka_record **out,
				struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_error dummy;
	struct device_state ds = { NULL, req->interval > 0 ? req->interval : 5, 0 };
	enum ka_status st;

	*out = NULL;
	if (oerr == NULL)
		oerr = &dummy;
	memset(oerr, 0, sizeof(*oerr));
	if (req->device_url == NULL || req->token.url == NULL ||
	    req->client_form == NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "no device authorization "
			      "endpoint is known for this service");
		return KA_ERR_CONFIG;
	}
	if ((st = device_start(m, req, &ds, oerr, err)) == KA_OK)
		st = device_poll(m, req, &ds, out, oerr, err);
	kai_secure_free(ds.device_code);
	return st;
}
