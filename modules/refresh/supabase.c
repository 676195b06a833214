/* SPDX-License-Identifier: MIT */
/* supabase.c: refresh module `supabase`: Supabase Auth (GoTrue) sign-in
 * with email and password, refresh with rotation, and logout. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kiwiauth-module.h"

#define FIELD_MAX 1024		/* email, password */
#define TRIES 3
#define BACKOFF_MS 200
#define AUTH_PATH "/auth/v1"

static const struct ka_arg_spec supabase_args[] = {
	{ "url", KA_ARG_STRING, 1 },
	{ "anon_key", KA_ARG_STRING, 0 },
	{ "anon_key_file", KA_ARG_STRING, 0 },
	{ "anon_key_env", KA_ARG_STRING, 0 },
	{ "email", KA_ARG_STRING, 0 },
	{ "timeout", KA_ARG_INT, 0, 1, 600 },
	{ "ca_file", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

struct supabase {
	const struct ka_host *h;
	const char *email;		/* or NULL: asked at sign-in */
	const char *ca_file;
	long timeout_ms;
	char base[KA_URL_MAX];		/* https://REF.supabase.co/auth/v1 */
	char *apikey;			/* "apikey: KEY", secure */
	char *anon_bearer;		/* "Authorization: Bearer KEY", secure */
};

static struct supabase *self(const struct ka_mctx *m)
{
	return ka_host_of(m)->data(m);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- configuration ------------------------------------------------------ */

/* The anon key is public in a browser app, yet it names the project: keep
 * it out of logs, and take it from a file or a variable when given so. */
static enum ka_status load_key(const struct ka_mctx *m, struct supabase *s,
			       ka_error *err)
{
	const struct ka_host *h = s->h;
	char *key = NULL;
	size_t n;
	enum ka_status st;

	if ((st = h->secret_arg(m, "anon_key", KA_SECRET_REQUIRED |
				KA_SECRET_PUBLIC, &key, err)) != KA_OK)
		return st;
	n = strlen(key);
	if (strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
		   "klmnopqrstuvwxyz0123456789-_.=+/") != n) {
		h->error(err, KA_ERR_CONFIG, "the anon key is not a project API "
			 "key (copy it from the project's API settings)");
		st = KA_ERR_CONFIG;
	} else if ((s->apikey = h->secure_alloc(n + 16)) == NULL ||
		   (s->anon_bearer = h->secure_alloc(n + 32)) == NULL) {
		st = KA_ERR_NOMEM;
	} else {
		snprintf(s->apikey, n + 16, "apikey: %s", key);
		snprintf(s->anon_bearer, n + 32, "Authorization: Bearer %s", key);
	}
	h->secure_free(key);
	return st;
}

/* url is the project URL (https://REF.supabase.co, or a self-hosted one);
 * "/auth/v1" at its end is accepted too. */
static enum ka_status read_url(const struct ka_mctx *m, struct supabase *s,
			       ka_error *err)
{
	const char *url = s->h->arg_string(m, "url");
	size_t n = strlen(url), al = strlen(AUTH_PATH);

	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= al && strncmp(url + n - al, AUTH_PATH, al) == 0)
		n -= al;
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n + al + 64 >= sizeof(s->base) ||
	    (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
	    strpbrk(url, "?#@ \t\r\n") != NULL) {
		s->h->error(err, KA_ERR_CONFIG, "url must be the project URL, "
			    "e.g. https://abcd.supabase.co");
		return KA_ERR_CONFIG;
	}
	snprintf(s->base, sizeof(s->base), "%.*s%s", (int)n, url, AUTH_PATH);
	return KA_OK;
}

static void supabase_free(const struct ka_host *h, struct supabase *s)
{
	h->secure_free(s->apikey);
	h->secure_free(s->anon_bearer);
	free(s);
}

static enum ka_status supabase_init(struct ka_mctx *m, const struct ka_host *h,
				    ka_error *err)
{
	struct supabase *s;
	enum ka_status st;
	long long v;

	if (h->size < sizeof(struct ka_host)) {
		h->error(err, KA_ERR_MODULE, "the supabase module needs a newer "
			 "libkiwiauth (module ABI 2.0)");
		return KA_ERR_MODULE;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KA_ERR_NOMEM;
	s->h = h;
	s->email = h->arg_string(m, "email");
	s->ca_file = h->arg_string(m, "ca_file");
	s->timeout_ms = h->arg_int(m, "timeout", &v) ? (long)v * 1000 : 30000;
	if ((st = read_url(m, s, err)) != KA_OK ||
	    (st = load_key(m, s, err)) != KA_OK) {
		supabase_free(h, s);
		return st;
	}
	h->set_data(m, s);
	return KA_OK;
}

static void supabase_fini(struct ka_mctx *m, const struct ka_host *h)
{
	struct supabase *s = h->data(m);

	if (s != NULL)
		supabase_free(h, s);
	h->set_data(m, NULL);
}

/* ---- JSON in secure memory ------------------------------------------------ */

/* Append "key":"value" (escaped) to the object in buf (size n). */
static int json_put(char *buf, size_t n, const char *key, const char *value)
{
	size_t j = strlen(buf);
	const char *parts[2] = { key, value };

	if (j + 2 >= n)
		return -1;
	buf[j] = j > 0 ? ',' : '{';
	j++;
	for (int p = 0; p < 2; p++) {
		buf[j++] = '"';
		for (const unsigned char *c = (const unsigned char *)parts[p];
		     *c != '\0'; c++) {
			if (j + 8 >= n)
				return -1;
			if (*c == '"' || *c == '\\')
				j += (size_t)snprintf(buf + j, n - j, "\\%c", *c);
			else if (*c < 0x20 || *c == 0x7f)
				j += (size_t)snprintf(buf + j, n - j, "\\u%04x", *c);
			else
				buf[j++] = (char)*c;
		}
		if (j + 3 >= n)
			return -1;
		buf[j++] = '"';
		if (p == 0)
			buf[j++] = ':';
	}
	buf[j] = '\0';
	return 0;
}

/* {"k1":"v1"[,"k2":"v2"]} in secure memory. */
static char *json_body(const struct ka_host *h, const char *k1,
		       const char *v1, const char *k2, const char *v2)
{
	size_t n = 16 + 6 * (strlen(k1) + strlen(v1) +
			     (k2 != NULL ? strlen(k2) + strlen(v2) : 0));
	char *b = h->secure_alloc(n);

	if (b == NULL || json_put(b, n, k1, v1) != 0 ||
	    (k2 != NULL && json_put(b, n, k2, v2) != 0)) {
		h->secure_free(b);
		return NULL;
	}
	memcpy(b + strlen(b), "}", 2);	/* json_put left room for it */
	return b;
}

/* jansson copies every string: wipe them before the free. */
static void json_wipe_free(json_t *o)
{
	const char *k;
	json_t *v;

	if (json_is_object(o)) {
		json_object_foreach(o, k, v) {
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v),
					       json_string_length(v));
			else if (json_is_object(v))
				json_wipe_free(json_incref(v));
		}
	}
	json_decref(o);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

/* ---- HTTP ------------------------------------------------------------------ */

/* POST body to base + path, retrying refused connections, network errors
 * and 5xx answers (GoTrue accepts a just-rotated refresh token again for
 * a few seconds, so a retried refresh is safe). bearer NULL: the anon
 * key. */
static enum ka_status post(const struct ka_mctx *m, const char *path,
			   const char *body, const char *bearer,
			   struct ka_http_response **out, ka_error *err)
{
	struct supabase *s = self(m);
	const struct ka_host *h = s->h;
	const char *headers[3] = { s->apikey, bearer != NULL ? bearer :
				   s->anon_bearer, NULL };
	char url[KA_URL_MAX + 64];
	enum ka_status st = KA_ERR_NETWORK;
	ka_error e;
	int i;

	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	for (i = 0; i < TRIES; i++) {
		if (i > 0)
			sleep_ms(BACKOFF_MS << (i - 1));
		memset(&e, 0, sizeof(e));
		h->http_response_free(*out);
		*out = NULL;
		st = h->http(m, &(struct ka_http_request){
			.method = "POST", .url = url,
			.content_type = "application/json", .body = body,
			.body_len = body != NULL ? strlen(body) : 0,
			.headers = headers, .ca_file = s->ca_file,
			.timeout_ms = s->timeout_ms,
		}, out, &e);
		if ((st == KA_OK && (*out)->status < 500) ||
		    (st != KA_OK && st != KA_ERR_NETWORK))
			break;
	}
	/* The attempts actually made: the loop ends early on a final answer. */
	i = i < TRIES ? i + 1 : TRIES;
	if (st != KA_OK && i > 1) {
		h->error(err, st, "%s (tried %d times)", e.text, i);
	} else if (st != KA_OK) {
		h->error(err, st, "%s", e.text);
	} else if ((*out)->status >= 500) {
		h->error(err, KA_ERR_NETWORK, "the Supabase Auth server of %s "
			 "answered HTTP %ld (tried %d times)",
			 h->service(m), (*out)->status, i);
		st = KA_ERR_NETWORK;
	}
	if (st != KA_OK) {
		h->http_response_free(*out);
		*out = NULL;
	}
	return st;
}

/* ---- answers ---------------------------------------------------------------- */

/* GoTrue's error shapes: {"error","error_description"} (older),
 * {"code":400,"error_code","msg"}, {"code":"...","message"} (API
 * version 2024-01-01). */
struct gt_error {
	char code[64];
	char text[200];
};

static void copy_printable(char *dst, size_t n, const char *s)
{
	size_t j = 0;

	for (; s != NULL && *s != '\0' && j + 1 < n; s++)
		dst[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ||
			   (unsigned char)*s >= 0x80 ? '?' : *s;
	dst[j] = '\0';
}

static void error_of(json_t *o, struct gt_error *ge)
{
	const char *c = jstr(o, "error_code");

	if (c == NULL)
		c = jstr(o, "code");
	if (c == NULL)
		c = jstr(o, "error");
	copy_printable(ge->code, sizeof(ge->code), c);
	c = jstr(o, "msg");
	if (c == NULL)
		c = jstr(o, "message");
	if (c == NULL)
		c = jstr(o, "error_description");
	copy_printable(ge->text, sizeof(ge->text), c);
}

static int is(const struct gt_error *ge, const char *code)
{
	return strcmp(ge->code, code) == 0;
}

static enum ka_status signed_out(const struct ka_mctx *m, const char *account,
				 const struct gt_error *ge, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);

	return h->signin_required(m, account, err, "signed out of %s (the "
				  "server ended the session: %s)", h->service(m),
				  ge->code[0] ? ge->code : "refresh token refused");
}

static enum ka_status answer_error(const struct ka_mctx *m, long status,
				   json_t *o, int refreshing,
				   const char *account, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *svc = h->service(m);
	struct gt_error ge = { "", "" };

	if (o != NULL)
		error_of(o, &ge);
	if (refreshing && (is(&ge, "refresh_token_already_used") ||
			   is(&ge, "refresh_token_not_found") ||
			   is(&ge, "invalid_grant") ||
			   is(&ge, "session_not_found") ||
			   is(&ge, "session_expired") ||
			   is(&ge, "user_not_found") || is(&ge, "user_banned")))
		return signed_out(m, account, &ge, err);
	if (!refreshing && (is(&ge, "invalid_credentials") ||
			    is(&ge, "invalid_grant"))) {
		h->error(err, KA_ERR_DENIED, "%s refused the sign-in: wrong "
			 "email or password", svc);
		return KA_ERR_DENIED;
	}
	if (is(&ge, "email_not_confirmed")) {
		h->error(err, KA_ERR_DENIED, "%s refused the sign-in: the email "
			 "address is not confirmed yet", svc);
		return KA_ERR_DENIED;
	}
	if (status == 401 && ge.code[0] == '\0') {
		h->error(err, KA_ERR_CONFIG, "%s refused the API key (HTTP 401%s"
			 "%s): check anon_key in its refresh stanza", svc,
			 ge.text[0] ? ": " : "", ge.text);
		return KA_ERR_CONFIG;
	}
	if (status == 429 || is(&ge, "over_request_rate_limit")) {
		h->error(err, KA_ERR_TRY_AGAIN, "%s is rate limiting sign-ins "
			 "and refreshes; try again later", svc);
		return KA_ERR_TRY_AGAIN;
	}
	h->error(err, KA_ERR_PROTOCOL, "the Supabase Auth server of %s answered "
		 "HTTP %ld%s%s%s%s", svc, status, ge.code[0] ? ": " : "",
		 ge.code, ge.text[0] ? ": " : "", ge.text);
	return KA_ERR_PROTOCOL;
}

/* A number of seconds into *out, clamped to +-SECS_MAX so that any
 * value (1e300 too) converts without overflow; 0 when key is absent or
 * not a number. */
#define SECS_MAX (100LL * 365 * 86400)	/* 100 years */
static int jint(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	double d;

	*out = 0;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);

		*out = n > SECS_MAX ? SECS_MAX : n < -SECS_MAX ? -SECS_MAX : n;
		return 1;
	}
	if (!json_is_real(v))
		return 0;
	/* Compared as doubles: the cast is then defined. */
	d = json_real_value(v);
	*out = d >= (double)SECS_MAX ? SECS_MAX :
	       d <= (double)-SECS_MAX ? -SECS_MAX : (long long)d;
	return 1;
}

/* The record's expiry: expires_at (absolute) when it is in the future,
 * else expires_in; a session answer without either never expires, and
 * one that says it has expired is stored so (and the log says it). */
static int64_t expiry_of(const struct ka_mctx *m, json_t *o, int64_t now)
{
	const struct ka_host *h = ka_host_of(m);
	long long in = 0, at = 0;
	int has_in = jint(o, "expires_in", &in);
	int has_at = jint(o, "expires_at", &at);

	/* A clamped (or implausible) expires_at is left to expires_in. */
	if (has_at && at > now && at < SECS_MAX)
		return at;
	if (has_in && in > 0)
		return now + in;
	if (!has_in && !has_at)
		return KA_EXPIRES_NEVER;
	h->log(m, 4, "the Supabase Auth answer says the access token has "
	       "expired (expires_in %lld, expires_at %lld): it is stored as "
	       "expired", in, at);
	return now;
}

/* A session answer: access_token, refresh_token, token_type, expires_in,
 * expires_at, user. */
static enum ka_status record_of(const struct ka_mctx *m, json_t *o,
				struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *at = jstr(o, "access_token"), *rt = jstr(o, "refresh_token");
	const char *tt = jstr(o, "token_type");
	int64_t now = h->now();
	struct ka_record *r = NULL;
	enum ka_status st;

	*out = NULL;
	if (at == NULL) {
		h->error(err, KA_ERR_PROTOCOL, "the Supabase Auth answer has no "
			 "access_token");
		return KA_ERR_PROTOCOL;
	}
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = h->record_set_access_token(r, at)) != KA_OK ||
	    (rt != NULL && (st = h->record_set_refresh_token(r, rt)) != KA_OK) ||
	    (st = h->record_set_token_type(r, tt != NULL &&
					   strcmp(tt, "bearer") != 0 ?
					   tt : "Bearer")) != KA_OK) {
		h->error(err, st == KA_ERR_NOMEM ? st : KA_ERR_PROTOCOL,
			 st == KA_ERR_NOMEM ? "out of memory" : "the Supabase "
			 "Auth answer holds a token that cannot be stored");
		h->record_free(r);
		return st == KA_ERR_NOMEM ? st : KA_ERR_PROTOCOL;
	}
	h->record_set_expires_at(r, expiry_of(m, o, now));
	h->record_set_obtained_at(r, now);
	*out = r;
	return KA_OK;
}

/* POST to the token endpoint and turn the answer into a record. */
static enum ka_status token_call(const struct ka_mctx *m, const char *grant,
				 const char *body, const char *account,
				 struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct ka_http_response *r = NULL;
	char path[64];
	json_t *o = NULL;
	enum ka_status st;
	int refreshing = strcmp(grant, "refresh_token") == 0;

	*out = NULL;
	snprintf(path, sizeof(path), "/token?grant_type=%s", grant);
	if ((st = post(m, path, body, NULL, &r, err)) != KA_OK)
		return st;
	o = json_loadb(r->body, r->len, 0, NULL);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	if (r->status == 200 && o != NULL)
		st = record_of(m, o, out, err);
	else if (r->status == 200)
		h->error(err, st = KA_ERR_PROTOCOL, "the Supabase Auth server of "
			 "%s answered something that is not JSON",
			 h->service(m));
	else
		st = answer_error(m, r->status, o, refreshing, account, err);
	json_wipe_free(o);
	h->http_response_free(r);
	return st;
}

/* ---- operations ------------------------------------------------------------- */

static enum ka_status supabase_refresh(struct ka_mctx *m,
				       const struct ka_record *cur,
				       struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *rt = h->record_refresh_token(cur);
	const char *account = h->record_account(cur);
	struct gt_error none = { "no refresh token", "" };
	char *body;
	enum ka_status st;

	*out = NULL;
	if (rt == NULL)
		return signed_out(m, account, &none, err);
	if ((body = json_body(h, "refresh_token", rt, NULL, NULL)) == NULL) {
		h->error(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	st = token_call(m, "refresh_token", body, account, out, err);
	h->secure_free(body);
	if (st == KA_OK)
		h->log(m, 7, "refresh: new access token of %zu bytes%s",
		       strlen(h->record_access_token(*out)),
		       h->record_refresh_token(*out) != NULL ?
		       ", refresh token rotated" : "");
	return st;
}

static enum ka_status ask(const struct ka_mctx *m, enum ka_conv_style style,
			  const char *text, const char *what, char *answer,
			  ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	enum ka_status st = h->converse(m, &(struct ka_conv_msg){
		.style = style, .text = text }, answer, FIELD_MAX, err);

	if (st == KA_OK && answer[0] == '\0') {
		h->error(err, KA_ERR_INVALID, "no %s was given", what);
		st = KA_ERR_INVALID;
	}
	return st;
}

static enum ka_status supabase_signin(struct ka_mctx *m,
				      const struct ka_signin *req,
				      struct ka_record **out, ka_error *err)
{
	struct supabase *s = self(m);
	const struct ka_host *h = s->h;
	char *email = h->secure_alloc(FIELD_MAX), *pw = h->secure_alloc(FIELD_MAX);
	char *body = NULL, text[FIELD_MAX + 64];
	enum ka_status st = KA_ERR_NOMEM;

	*out = NULL;
	if (email == NULL || pw == NULL)
		goto out;
	if (req->flow != NULL && strcmp(req->flow, "password") != 0) {
		h->error(err, KA_ERR_UNSUPPORTED, "Supabase sign-in takes an "
			 "email and a password; --flow %s is not supported",
			 req->flow);
		st = KA_ERR_UNSUPPORTED;
		goto out;
	}
	if (s->email != NULL)
		snprintf(email, FIELD_MAX, "%s", s->email);
	else if (req->account != NULL && strchr(req->account, '@') != NULL)
		snprintf(email, FIELD_MAX, "%s", req->account);
	else if ((st = ask(m, KA_CONV_PROMPT, "Email:", "email", email,
			   err)) != KA_OK)
		goto out;
	/* Never echo what was typed: it may be a password in the wrong place. */
	if (strchr(email, '@') == NULL || strpbrk(email, " \t") != NULL) {
		h->error(err, KA_ERR_INVALID, "that is not an email address; "
			 "give it with --account EMAIL or `email` in the "
			 "refresh stanza of %s", h->service(m));
		st = KA_ERR_INVALID;
		goto out;
	}
	snprintf(text, sizeof(text), "Password for %s at %s:", email,
		 h->service(m));
	if ((st = ask(m, KA_CONV_PROMPT_SECRET, text, "password", pw,
		      err)) != KA_OK)
		goto out;
	if ((body = json_body(h, "email", email, "password", pw)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	st = token_call(m, "password", body, req->account, out, err);
out:
	if (st == KA_ERR_NOMEM)
		h->error(err, st, "out of memory");
	h->secure_free(email);
	h->secure_free(pw);
	h->secure_free(body);
	return st;
}

/* End the session at the server (this session only: scope=local). An
 * expired access token is renewed first so the logout is accepted; the
 * renewed tokens are thrown away with the session. */
static enum ka_status supabase_revoke(struct ka_mctx *m,
				      const struct ka_record *cur,
				      ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct ka_record *fresh = NULL;
	struct ka_http_response *r = NULL;
	const char *at = h->record_access_token(cur);
	int64_t exp = h->record_expires_at(cur);
	char *bearer = NULL;
	size_t n;
	enum ka_status st;

	if (exp != 0 && exp <= h->now() + 5 &&
	    h->record_refresh_token(cur) != NULL) {
		ka_error ignored;

		memset(&ignored, 0, sizeof(ignored));
		if (supabase_refresh(m, cur, &fresh, &ignored) == KA_OK)
			at = h->record_access_token(fresh);
		else
			return KA_ERR_UNSUPPORTED;	/* already ended */
	}
	if (at == NULL) {
		h->record_free(fresh);
		return KA_ERR_UNSUPPORTED;
	}
	n = strlen(at) + sizeof("Authorization: Bearer ");
	if ((bearer = h->secure_alloc(n)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	snprintf(bearer, n, "Authorization: Bearer %s", at);
	if ((st = post(m, "/logout?scope=local", NULL, bearer, &r, err)) != KA_OK)
		goto out;
	/* 401/403/404: the session is gone already. */
	if (r->status != 204 && r->status != 200 && r->status != 401 &&
	    r->status != 403 && r->status != 404) {
		h->error(err, KA_ERR_PROTOCOL, "the Supabase Auth server of %s "
			 "answered HTTP %ld to the logout", h->service(m),
			 r->status);
		st = KA_ERR_PROTOCOL;
	}
out:
	if (st == KA_ERR_NOMEM)
		h->error(err, st, "out of memory");
	h->http_response_free(r);
	h->secure_free(bearer);
	h->record_free(fresh);
	return st;
}

static const struct ka_refresh_ops supabase_ops = {
	.refresh = supabase_refresh,
	.signin = supabase_signin,
	.revoke = supabase_revoke,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_REFRESH,
	.name = "supabase",
	.description = "Supabase Auth (GoTrue): email and password sign-in, "
		       "refresh with rotation, logout",
	.args = supabase_args,
	.init = supabase_init,
	.fini = supabase_fini,
	.refresh = &supabase_ops,
};
