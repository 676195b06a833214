/* oauth2.c: refresh module `oauth2`: a generic OAuth 2.0 client (RFC 6749)
 * with device, code + PKCE, client credentials and pasted-token sign-in,
 * refresh with rotation, and revocation. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiwiauth-module.h"

#define MAX_SCOPES 64

static const struct ka_arg_spec oauth2_args[] = {
	{ "issuer", KA_ARG_STRING, 0 },
	{ "token_url", KA_ARG_STRING, 0 },
	{ "device_authorization_url", KA_ARG_STRING, 0 },
	{ "authorization_url", KA_ARG_STRING, 0 },
	{ "revocation_url", KA_ARG_STRING, 0 },
	{ "client_id", KA_ARG_STRING, 1 },
	{ "client_secret_file", KA_ARG_STRING, 0 },
	{ "client_secret_env", KA_ARG_STRING, 0 },
	{ "client_secret", KA_ARG_STRING, 0 },	/* refused by secret_arg */
	{ "client_auth", KA_ARG_STRING, 0 },	/* "basic" or "post" */
	{ "scopes", KA_ARG_STRING_LIST, 0 },
	{ "audience", KA_ARG_STRING, 0 },
	{ "resource", KA_ARG_STRING, 0 },
	{ "flow", KA_ARG_STRING, 0 },
	{ "timeout", KA_ARG_INT, 0, 1, 600 },
	{ "device_interval", KA_ARG_INT, 0, 1, 60 },
	{ "ca_file", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

static const char *const flows[] = {
	"device", "code", "client-credentials", "token", NULL,
};

struct oauth2 {
	const struct ka_host *h;
	const char *issuer, *client_id, *audience, *resource, *ca_file;
	const char *flow;		/* default flow or NULL */
	const char *scopes[MAX_SCOPES + 1];
	char *secret;			/* secure memory, or NULL */
	int basic;			/* client_secret_basic */
	long timeout_ms;
	long interval;
	pthread_mutex_t lock;		/* guards ep and known */
	struct ka_oauth_endpoints ep;
	int known;			/* endpoints resolved */
};

static struct oauth2 *self(const struct ka_mctx *m)
{
	return ka_host_of(m)->data(m);
}

/* ---- configuration ------------------------------------------------------ */

static int known_flow(const char *f)
{
	for (size_t i = 0; flows[i] != NULL; i++)
		if (strcmp(flows[i], f) == 0)
			return 1;
	return 0;
}

static const char *const url_args[] = {
	"token_url", "device_authorization_url", "authorization_url",
	"revocation_url",
};

static enum ka_status read_args(const struct ka_mctx *m, struct oauth2 *o,
				ka_error *err)
{
	const struct ka_host *h = o->h;
	const char *auth = h->arg_string(m, "client_auth");
	size_t n = h->arg_list_count(m, "scopes");
	long long v;

	o->issuer = h->arg_string(m, "issuer");
	o->client_id = h->arg_string(m, "client_id");
	o->audience = h->arg_string(m, "audience");
	o->resource = h->arg_string(m, "resource");
	o->ca_file = h->arg_string(m, "ca_file");
	o->flow = h->arg_string(m, "flow");
	/* Ranges are checked by the loader (the argument table). */
	o->timeout_ms = h->arg_int(m, "timeout", &v) ? (long)v * 1000 : 30000;
	o->interval = h->arg_int(m, "device_interval", &v) ? (long)v : 5;
	for (size_t i = 0; i < sizeof(url_args) / sizeof(url_args[0]); i++) {
		const char *u = h->arg_string(m, url_args[i]);

		if (u != NULL && strlen(u) >= KA_URL_MAX) {
			h->error(err, KA_ERR_CONFIG, "%s is longer than %d bytes",
				 url_args[i], KA_URL_MAX - 1);
			return KA_ERR_CONFIG;
		}
	}
	if (o->issuer == NULL && h->arg_string(m, "token_url") == NULL) {
		h->error(err, KA_ERR_CONFIG, "give `issuer` (for discovery) or "
			 "`token_url`");
		return KA_ERR_CONFIG;
	}
	if (o->flow != NULL && !known_flow(o->flow)) {
		h->error(err, KA_ERR_CONFIG, "flow must be device, code, "
			 "client-credentials or token");
		return KA_ERR_CONFIG;
	}
	if (auth != NULL && strcmp(auth, "basic") != 0 &&
	    strcmp(auth, "post") != 0) {
		h->error(err, KA_ERR_CONFIG, "client_auth must be basic or post");
		return KA_ERR_CONFIG;
	}
	o->basic = auth == NULL || strcmp(auth, "basic") == 0;
	if (n > MAX_SCOPES) {
		h->error(err, KA_ERR_CONFIG, "at most %d scopes", MAX_SCOPES);
		return KA_ERR_CONFIG;
	}
	for (size_t i = 0; i < n; i++)
		o->scopes[i] = h->arg_list_at(m, "scopes", i);
	return KA_OK;
}

/* Lengths were checked in read_args. */
static void copy_url(char *dst, const char *src)
{
	if (src != NULL)
		memcpy(dst, src, strlen(src) + 1);
}

static enum ka_status oauth2_init(struct ka_mctx *m, const struct ka_host *h,
				  ka_error *err)
{
	struct oauth2 *o;
	enum ka_status st;

	if (h->size < sizeof(struct ka_host)) {
		h->error(err, KA_ERR_MODULE, "the oauth2 module needs a newer "
			 "libkiwiauth (module ABI 1.1)");
		return KA_ERR_MODULE;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return KA_ERR_NOMEM;
	o->h = h;
	pthread_mutex_init(&o->lock, NULL);
	if ((st = read_args(m, o, err)) != KA_OK ||
	    (st = h->secret_arg(m, "client_secret", 0, &o->secret,
				err)) != KA_OK) {
		pthread_mutex_destroy(&o->lock);
		h->secure_free(o->secret);
		free(o);
		return st;
	}
	copy_url(o->ep.token, h->arg_string(m, "token_url"));
	copy_url(o->ep.device_authorization,
		 h->arg_string(m, "device_authorization_url"));
	copy_url(o->ep.authorization, h->arg_string(m, "authorization_url"));
	copy_url(o->ep.revocation, h->arg_string(m, "revocation_url"));
	o->known = o->issuer == NULL;
	h->set_data(m, o);
	return KA_OK;
}

static void oauth2_fini(struct ka_mctx *m, const struct ka_host *h)
{
	struct oauth2 *o = h->data(m);

	if (o == NULL)
		return;
	pthread_mutex_destroy(&o->lock);
	h->secure_free(o->secret);
	free(o);
	h->set_data(m, NULL);
}

/* Endpoints: explicit ones win over discovered ones. Discovery happens on
 * first use, never while the configuration is read. */
static enum ka_status endpoints(const struct ka_mctx *m,
				struct ka_oauth_endpoints *out, ka_error *err)
{
	struct oauth2 *o = self(m);
	struct ka_oauth_endpoints d;
	enum ka_status st = KA_OK;

	pthread_mutex_lock(&o->lock);
	if (!o->known) {
		st = o->h->oauth_discover(m, o->issuer, o->ca_file, &d, err);
		if (st == KA_OK) {
			if (o->ep.token[0] == '\0')
				memcpy(o->ep.token, d.token, KA_URL_MAX);
			if (o->ep.device_authorization[0] == '\0')
				memcpy(o->ep.device_authorization,
				       d.device_authorization, KA_URL_MAX);
			if (o->ep.authorization[0] == '\0')
				memcpy(o->ep.authorization, d.authorization,
				       KA_URL_MAX);
			if (o->ep.revocation[0] == '\0')
				memcpy(o->ep.revocation, d.revocation, KA_URL_MAX);
			o->known = 1;
		}
	}
	*out = o->ep;
	pthread_mutex_unlock(&o->lock);
	return st;
}

/* ---- client authentication ------------------------------------------------ */

/* What identifies the client: a form part and maybe a Basic header, both
 * in secure memory. */
struct client_auth {
	char *form;
	size_t form_len;
	char *basic;		/* "Authorization: Basic ..." or NULL */
	const char *headers[2];
};

static void client_auth_free(const struct ka_host *h, struct client_auth *ca)
{
	h->secure_free(ca->form);
	h->secure_free(ca->basic);
	memset(ca, 0, sizeof(*ca));
}

static enum ka_status client_auth(const struct oauth2 *o,
				  struct client_auth *ca)
{
	const struct ka_host *h = o->h;
	enum ka_status st;

	memset(ca, 0, sizeof(*ca));
	if ((st = h->form_add(&ca->form, &ca->form_len, "client_id",
			      o->client_id)) != KA_OK)
		return st;
	if (o->secret == NULL)
		return KA_OK;
	if (!o->basic)
		return h->form_add(&ca->form, &ca->form_len, "client_secret",
				   o->secret);
	if ((st = h->oauth_basic_auth(o->client_id, o->secret,
				      &ca->basic)) != KA_OK)
		return st;
	ca->headers[0] = ca->basic;
	return KA_OK;
}

/* ---- requests -------------------------------------------------------------- */

static const char *const *want_scopes(const struct oauth2 *o,
				      const struct ka_signin *req)
{
	return req != NULL && req->scopes != NULL && req->nscopes > 0 ?
	       req->scopes : o->scopes;
}

/* scope, audience and resource as a form part. */
static enum ka_status scope_form(const struct oauth2 *o,
				 const char *const *scopes, char **form,
				 size_t *len)
{
	const struct ka_host *h = o->h;
	enum ka_status st = h->form_add_list(form, len, "scope", scopes);

	if (st == KA_OK && o->audience != NULL)
		st = h->form_add(form, len, "audience", o->audience);
	if (st == KA_OK && o->resource != NULL)
		st = h->form_add(form, len, "resource", o->resource);
	return st;
}

/* POST grant-specific form parts plus the client's to the token endpoint. */
static enum ka_status token_call(const struct ka_mctx *m, char *form,
				 size_t len, const struct ka_record *prev,
				 const char *const *scopes, unsigned flags,
				 const char *account, const char *what,
				 struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	struct ka_oauth_endpoints ep;
	struct ka_oauth_error oe;
	struct client_auth ca;
	char *all = NULL;
	size_t n;
	enum ka_status st;

	*out = NULL;
	if ((st = endpoints(m, &ep, err)) != KA_OK)
		return st;
	if ((st = client_auth(o, &ca)) != KA_OK)
		goto out;
	n = len + 1 + ca.form_len;
	if ((all = h->secure_alloc(n + 1)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	snprintf(all, n + 1, "%s&%s", form, ca.form);
	st = h->oauth_token(m, &(struct ka_oauth_request){
		.url = ep.token, .form = all, .form_len = n,
		.headers = ca.basic != NULL ? ca.headers : NULL,
		.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
		.flags = flags, .prev = prev, .scopes = scopes,
	}, out, &oe, err);
	if (st == KA_ERR_DENIED)
		st = h->oauth_error(m, &oe, o->client_id, account, what, err);
out:
	if (st == KA_ERR_NOMEM)
		h->error(err, st, "out of memory");
	h->secure_free(all);
	client_auth_free(h, &ca);
	return st;
}

static enum ka_status client_credentials(const struct ka_mctx *m,
					 const char *const *scopes,
					 const struct ka_record *prev,
					 const char *account,
					 struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	char *form = NULL;
	size_t len = 0;
	enum ka_status st;

	if (o->secret == NULL) {
		o->h->error(err, KA_ERR_CONFIG, "client credentials need a "
			    "client secret: set client_secret_file or "
			    "client_secret_env");
		return KA_ERR_CONFIG;
	}
	if ((st = o->h->form_add(&form, &len, "grant_type",
				 "client_credentials")) == KA_OK &&
	    (st = scope_form(o, scopes, &form, &len)) == KA_OK)
		st = token_call(m, form, len, prev, scopes, KA_OAUTH_RETRY,
				account, "client credentials", out, err);
	o->h->secure_free(form);
	return st;
}

/* ---- refresh ---------------------------------------------------------------- */

static enum ka_status oauth2_refresh(struct ka_mctx *m,
				     const struct ka_record *cur,
				     struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	const char *rt = h->record_refresh_token(cur);
	const char *account = h->record_account(cur);
	char *form = NULL;
	size_t len = 0;
	enum ka_status st;

	*out = NULL;
	if (rt == NULL) {
		/* Client credentials are re-acquired, not refreshed. */
		if (o->flow != NULL && strcmp(o->flow, "client-credentials") == 0)
			return client_credentials(m, o->scopes, cur, account,
						  out, err);
		return h->signin_required(m, account, err, "the token of %s "
					  "expired and there is no refresh "
					  "token", h->service(m));
	}
	if ((st = h->form_add(&form, &len, "grant_type", "refresh_token")) == KA_OK &&
	    (st = h->form_add(&form, &len, "refresh_token", rt)) == KA_OK)
		st = token_call(m, form, len, cur, o->scopes, KA_OAUTH_RETRY,
				account, "refresh token", out, err);
	h->secure_free(form);
	if (st == KA_OK)
		h->log(m, 7, "refresh: new access token of %zu bytes%s",
		       strlen(h->record_access_token(*out)),
		       h->record_refresh_token(*out) != NULL &&
		       strcmp(h->record_refresh_token(*out), rt) != 0 ?
		       ", refresh token rotated" : "");
	return st;
}

/* ---- device and code + PKCE flows (run by the host) ------------------------ */

/* The device grant (RFC 8628), or with code set the authorization code
 * grant with PKCE through the host's loopback listener (RFC 8252). */
static enum ka_status person_flow(const struct ka_mctx *m,
				  const struct ka_signin *req, int code,
				  struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	const char *const *scopes = want_scopes(o, req);
	struct ka_oauth_endpoints ep;
	struct ka_oauth_request tr;
	struct ka_oauth_error oe;
	struct client_auth ca;
	char *sf = NULL;
	size_t sl = 0;
	enum ka_status st;

	if ((st = endpoints(m, &ep, err)) != KA_OK)
		return st;
	if ((code ? ep.authorization : ep.device_authorization)[0] == '\0') {
		h->error(err, KA_ERR_UNSUPPORTED, "%s has no %s endpoint: set "
			 "%s or use --flow %s", h->service(m),
			 code ? "authorization" : "device authorization",
			 code ? "authorization_url" : "device_authorization_url",
			 code ? "device" : "code");
		return KA_ERR_UNSUPPORTED;
	}
	if ((st = client_auth(o, &ca)) != KA_OK ||
	    (st = scope_form(o, scopes, &sf, &sl)) != KA_OK)
		goto out;
	tr = (struct ka_oauth_request){
		.url = ep.token, .headers = ca.basic != NULL ? ca.headers : NULL,
		.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
		.scopes = scopes,
	};
	if (code)
		st = h->oauth_code(m, &(struct ka_oauth_code){
			.auth_url = ep.authorization, .client_id = o->client_id,
			.client_form = ca.form, .client_form_len = ca.form_len,
			.scope_form = sf, .scope_form_len = sl, .token = tr,
		}, out, &oe, err);
	else
		st = h->oauth_device(m, &(struct ka_oauth_device){
			.device_url = ep.device_authorization,
			.client_form = ca.form, .client_form_len = ca.form_len,
			.scope_form = sf, .scope_form_len = sl,
			.interval = o->interval, .token = tr,
		}, out, &oe, err);
	if (st == KA_ERR_DENIED && err != NULL && err->code == KA_OK)
		st = h->oauth_error(m, &oe, o->client_id, req->account, code ?
				    "authorization code" : "device code", err);
out:
	if (st == KA_ERR_INVALID)
		h->error(err, st, "too many or too long scopes");
	h->secure_free(sf);
	client_auth_free(h, &ca);
	return st;
}

/* ---- sign-in and revocation ---------------------------------------------- */

static const char *default_flow(const struct ka_mctx *m)
{
	struct oauth2 *o = self(m);
	struct ka_oauth_endpoints ep;
	ka_error ignored;

	if (o->flow != NULL)
		return o->flow;
	memset(&ignored, 0, sizeof(ignored));
	if (endpoints(m, &ep, &ignored) == KA_OK &&
	    ep.device_authorization[0] == '\0' && ep.authorization[0] != '\0')
		return "code";
	return "device";
}

static enum ka_status oauth2_signin(struct ka_mctx *m,
				    const struct ka_signin *req,
				    struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *flow = req->flow != NULL ? req->flow : default_flow(m);

	*out = NULL;
	if (strcmp(flow, "device") == 0 || strcmp(flow, "code") == 0)
		return person_flow(m, req, strcmp(flow, "code") == 0, out, err);
	if (strcmp(flow, "client-credentials") == 0)
		return client_credentials(m, want_scopes(self(m), req), NULL,
					  req->account, out, err);
	if (strcmp(flow, "token") == 0) {
		char text[160];

		snprintf(text, sizeof(text), "Paste the access token for %s:",
			 h->service(m));
		return h->token_prompt(m, text, want_scopes(self(m), req), out,
				       err);
	}
	h->error(err, KA_ERR_INVALID, "unknown flow '%s': use device, code, "
		 "client-credentials or token", flow);
	return KA_ERR_INVALID;
}

static enum ka_status oauth2_revoke(struct ka_mctx *m,
				    const struct ka_record *cur, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	const char *rt = h->record_refresh_token(cur);
	const char *tok = rt != NULL ? rt : h->record_access_token(cur);
	struct ka_oauth_endpoints ep;
	struct client_auth ca;
	enum ka_status st;

	if (tok == NULL)
		return KA_ERR_UNSUPPORTED;	/* nothing to revoke */
	if ((st = endpoints(m, &ep, err)) != KA_OK)
		return st;
	if (ep.revocation[0] == '\0')
		return KA_ERR_UNSUPPORTED;
	if ((st = client_auth(o, &ca)) == KA_OK)
		st = h->oauth_revoke(m, &(struct ka_oauth_request){
			.url = ep.revocation, .form = ca.form,
			.form_len = ca.form_len,
			.headers = ca.basic != NULL ? ca.headers : NULL,
			.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
			.flags = KA_OAUTH_RETRY,
		}, tok, rt != NULL ? "refresh_token" : "access_token", NULL, err);
	client_auth_free(h, &ca);
	return st;
}

static const struct ka_refresh_ops oauth2_ops = {
	.refresh = oauth2_refresh,
	.signin = oauth2_signin,
	.revoke = oauth2_revoke,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = 1,
	.kind = KA_MODULE_REFRESH,
	.name = "oauth2",
	.description = "generic OAuth 2.0 client: device, code + PKCE, client "
		       "credentials, refresh with rotation, revocation",
	.args = oauth2_args,
	.init = oauth2_init,
	.fini = oauth2_fini,
	.refresh = &oauth2_ops,
};
