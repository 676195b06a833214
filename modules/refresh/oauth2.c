/* SPDX-License-Identifier: MIT */
/* oauth2.c: refresh module `oauth2`: a generic OAuth 2.0 client (RFC 6749)
 * with device, code + PKCE, client credentials and pasted-token sign-in,
 * refresh with rotation, and revocation; its server found from an issuer,
 * from explicit endpoints, or from a protected resource alone
 * (oauth2-resource.c). */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oauth2.h"

static const struct ka_arg_spec oauth2_args[] = {
	{ "issuer", KA_ARG_STRING, 0 },
	{ "token_url", KA_ARG_STRING, 0 },
	{ "device_authorization_url", KA_ARG_STRING, 0 },
	{ "authorization_url", KA_ARG_STRING, 0 },
	{ "revocation_url", KA_ARG_STRING, 0 },
	{ "client_id", KA_ARG_STRING, 0 },
	{ "client_metadata_url", KA_ARG_STRING, 0 },
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
	o->doc_url = h->arg_string(m, "client_metadata_url");
	o->discover = o->issuer == NULL && h->arg_string(m, "token_url") == NULL &&
		      o->resource != NULL;
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
	if (o->issuer == NULL && h->arg_string(m, "token_url") == NULL &&
	    o->resource == NULL) {
		h->error(err, KA_ERR_CONFIG, "give `issuer` (for discovery), "
			 "`token_url`, or `resource` alone (to discover "
			 "everything from the resource, as for an MCP server)");
		return KA_ERR_CONFIG;
	}
	if (o->client_id == NULL && !o->discover) {
		h->error(err, KA_ERR_CONFIG, "client_id is required (only a "
			 "service discovered from `resource` alone registers "
			 "its own client)");
		return KA_ERR_CONFIG;
	}
	if (o->doc_url != NULL && (!o->discover ||
				   strncmp(o->doc_url, "https://", 8) != 0)) {
		h->error(err, KA_ERR_CONFIG, "client_metadata_url must be an "
			 "https:// URL, and is used only with `resource` alone");
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
			 "libkiwiauth (module ABI 2.0)");
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
	o->known = o->issuer == NULL && !o->discover;
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
	h->oauth_client_clear(&o->client);
	free(o);
	h->set_data(m, NULL);
}

static void merge(char *dst, const char *found)
{
	if (dst[0] == '\0')
		memcpy(dst, found, KA_URL_MAX);
}

/* Endpoints from the issuer's metadata: explicit ones win. */
static enum ka_status issuer_resolve(const struct ka_mctx *m, struct oauth2 *o,
				     ka_error *err)
{
	struct ka_oauth_metadata md;
	enum ka_status st;

	st = o->h->oauth_metadata(m, o->issuer, o->ca_file, 0, &md, err);
	if (st != KA_OK)
		return st;
	merge(o->ep.token, md.ep.token);
	merge(o->ep.device_authorization, md.ep.device_authorization);
	merge(o->ep.authorization, md.ep.authorization);
	merge(o->ep.revocation, md.ep.revocation);
	memcpy(o->iss, md.issuer, KA_URL_MAX);
	o->iss_required = (md.flags & KA_META_ISS_RESPONSE) != 0;
	o->meta_flags = md.flags;
	o->known = 1;
	return KA_OK;
}

static void view_free(const struct ka_host *h, struct view *v)
{
	h->oauth_client_clear(&v->client);
	memset(v, 0, sizeof(*v));
}

/* The server and client one request uses. Discovery happens on first
 * use, never while the configuration is read. */
static enum ka_status view_get(const struct ka_mctx *m, int signin,
			       const char *account, struct view *v,
			       ka_error *err)
{
	struct oauth2 *o = self(m);
	enum ka_status st = KA_OK;

	memset(v, 0, sizeof(*v));
	pthread_mutex_lock(&o->lock);
	if (o->discover)
		st = resource_resolve(m, o, signin, account, v, err);
	else if (!o->known)
		st = issuer_resolve(m, o, err);
	if (st == KA_OK && !o->discover) {
		v->ep = o->ep;
		v->client_id = o->client_id;
		v->secret = o->secret;
		v->resource = o->resource;
		v->meta_flags = o->meta_flags;
		if (o->iss[0] != '\0') {
			memcpy(v->issuer_buf, o->iss, KA_URL_MAX);
			v->issuer = v->issuer_buf;
			v->iss_required = o->iss_required;
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (st != KA_OK)
		view_free(o->h, v);
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

/* with_resource: the RFC 8707 resource too, which every token request
 * carries (RFC 8707 section 2.2; the MCP authorization specification). */
static enum ka_status client_auth(const struct oauth2 *o, const struct view *v,
				  int with_resource, struct client_auth *ca)
{
	const struct ka_host *h = o->h;
	enum ka_status st;

	memset(ca, 0, sizeof(*ca));
	if ((st = h->form_add(&ca->form, &ca->form_len, "client_id",
			      v->client_id)) != KA_OK ||
	    (with_resource && v->resource != NULL &&
	     (st = h->form_add(&ca->form, &ca->form_len, "resource",
			       v->resource)) != KA_OK))
		return st;
	if (v->secret == NULL)
		return KA_OK;
	if (!o->basic)
		return h->form_add(&ca->form, &ca->form_len, "client_secret",
				   v->secret);
	if ((st = h->oauth_basic_auth(v->client_id, v->secret,
				      &ca->basic)) != KA_OK)
		return st;
	ca->headers[0] = ca->basic;
	return KA_OK;
}

/* ---- requests -------------------------------------------------------------- */

/* The scopes to ask for: the request's, else the stanza's, else (discover
 * mode) the server's; out holds MAX_SCOPES + 2 pointers. */
static const char *const *want_scopes(const struct oauth2 *o,
				      const struct view *v,
				      const struct ka_signin *req,
				      const char **out)
{
	const char *const *base = req != NULL && req->scopes != NULL &&
				  req->nscopes > 0 ? req->scopes : o->scopes;
	size_t n = 0;

	if (!o->discover || v == NULL)
		return base;
	for (; base[n] != NULL && n < MAX_SCOPES; n++)
		out[n] = base[n];
	out[n] = NULL;
	if (n == 0)
		resource_scopes(v, out, MAX_SCOPES + 1);
	for (n = 0; out[n] != NULL; n++)
		if (strcmp(out[n], "offline_access") == 0)
			return out;
	/* Refresh tokens come with offline_access where it is offered. */
	if (v->meta_flags & KA_META_OFFLINE_ACCESS) {
		out[n++] = "offline_access";
		out[n] = NULL;
	}
	return out;
}

/* scope, audience and (with_resource) resource as a form part. */
static enum ka_status scope_form(const struct oauth2 *o, const struct view *v,
				 const char *const *scopes, int with_resource,
				 char **form, size_t *len)
{
	const struct ka_host *h = o->h;
	enum ka_status st = h->form_add_list(form, len, "scope", scopes);

	if (st == KA_OK && o->audience != NULL)
		st = h->form_add(form, len, "audience", o->audience);
	if (st == KA_OK && with_resource && v->resource != NULL)
		st = h->form_add(form, len, "resource", v->resource);
	return st;
}

/* Words for an OAuth error answer; a dynamic registration the server no
 * longer knows is forgotten. */
static enum ka_status refused(const struct ka_mctx *m, const struct view *v,
			      const struct ka_oauth_error *oe,
			      const char *account, const char *what,
			      ka_error *err)
{
	if (self(m)->discover && strcmp(oe->error, "invalid_client") == 0)
		return resource_client_rejected(m, v, account, err);
	return self(m)->h->oauth_error(m, oe, v->client_id, account, what, err);
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
	struct ka_oauth_error oe;
	struct client_auth ca = { 0 };
	struct view v;
	char *all = NULL;
	size_t n;
	enum ka_status st;

	*out = NULL;
	if ((st = view_get(m, prev == NULL, account, &v, err)) != KA_OK)
		return st;
	if ((st = client_auth(o, &v, 1, &ca)) != KA_OK)
		goto out;
	n = len + 1 + ca.form_len;
	if ((all = h->secure_alloc(n + 1)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	snprintf(all, n + 1, "%s&%s", form, ca.form);
	st = h->oauth_token(m, &(struct ka_oauth_request){
		.url = v.ep.token, .form = all, .form_len = n,
		.headers = ca.basic != NULL ? ca.headers : NULL,
		.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
		.flags = flags, .prev = prev, .scopes = scopes,
	}, out, &oe, err);
	if (st == KA_ERR_DENIED)
		st = refused(m, &v, &oe, account, what, err);
out:
	if (st == KA_ERR_NOMEM)
		h->error(err, st, "out of memory");
	h->secure_free(all);
	client_auth_free(h, &ca);
	view_free(h, &v);
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
	    (st = scope_form(o, NULL, scopes, 0, &form, &len)) == KA_OK)
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

/* Run the code or the device grant through the host. */
static enum ka_status run_grant(const struct ka_mctx *m, const struct view *v,
				int code, const struct client_auth *ca,
				const char *sf, size_t sl,
				const char *const *scopes,
				struct ka_record **out,
				struct ka_oauth_error *oe, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	struct ka_oauth_request tr = {
		.url = v->ep.token, .headers = ca->basic != NULL ? ca->headers : NULL,
		.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
		.scopes = scopes,
	};

	if (code)
		return h->oauth_code_iss(m, &(struct ka_oauth_code){
			.auth_url = v->ep.authorization, .client_id = v->client_id,
			.client_form = ca->form, .client_form_len = ca->form_len,
			.scope_form = sf, .scope_form_len = sl, .token = tr,
		}, v->issuer, v->iss_required, out, oe, err);
	return h->oauth_device(m, &(struct ka_oauth_device){
		.device_url = v->ep.device_authorization,
		.client_form = ca->form, .client_form_len = ca->form_len,
		.scope_form = sf, .scope_form_len = sl,
		.interval = o->interval, .token = tr,
	}, out, oe, err);
}

/* The device grant (RFC 8628), or with code set the authorization code
 * grant with PKCE through the host's loopback listener (RFC 8252). The
 * resource goes into the authorization request (code) and into every
 * token request (both). */
static enum ka_status person_flow(const struct ka_mctx *m,
				  const struct ka_signin *req, int code,
				  struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	const char *buf[MAX_SCOPES + 2];
	const char *const *scopes;
	struct ka_oauth_error oe;
	struct client_auth ca = { 0 };
	struct view v;
	char *sf = NULL;
	size_t sl = 0;
	enum ka_status st;

	if ((st = view_get(m, 1, req->account, &v, err)) != KA_OK)
		return st;
	scopes = want_scopes(o, &v, req, buf);
	if ((code ? v.ep.authorization : v.ep.device_authorization)[0] == '\0') {
		h->error(err, KA_ERR_UNSUPPORTED, "%s has no %s endpoint: set "
			 "%s or use --flow %s", h->service(m),
			 code ? "authorization" : "device authorization",
			 code ? "authorization_url" : "device_authorization_url",
			 code ? "device" : "code");
		st = KA_ERR_UNSUPPORTED;
		goto out;
	}
	if ((st = client_auth(o, &v, 1, &ca)) != KA_OK ||
	    (st = scope_form(o, &v, scopes, code, &sf, &sl)) != KA_OK)
		goto out;
	st = run_grant(m, &v, code, &ca, sf, sl, scopes, out, &oe, err);
	if (st == KA_ERR_DENIED && err != NULL && err->code == KA_OK)
		st = refused(m, &v, &oe, req->account, code ?
			     "authorization code" : "device code", err);
out:
	if (st == KA_ERR_INVALID)
		h->error(err, st, "too many or too long scopes");
	h->secure_free(sf);
	client_auth_free(h, &ca);
	view_free(h, &v);
	return st;
}

/* ---- sign-in and revocation ---------------------------------------------- */

static const char *default_flow(const struct ka_mctx *m)
{
	struct oauth2 *o = self(m);
	struct view v;
	const char *flow = "device";
	ka_error ignored;

	if (o->flow != NULL)
		return o->flow;
	memset(&ignored, 0, sizeof(ignored));
	if (view_get(m, 1, NULL, &v, &ignored) == KA_OK) {
		/* The code flow where there is no device endpoint, and for
		 * discovered servers (their PKCE support was checked). */
		if (v.ep.authorization[0] != '\0' &&
		    (o->discover || v.ep.device_authorization[0] == '\0'))
			flow = "code";
		view_free(o->h, &v);
	}
	return flow;
}

static enum ka_status oauth2_signin(struct ka_mctx *m,
				    const struct ka_signin *req,
				    struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *flow = req->flow != NULL ? req->flow : default_flow(m);
	const char *buf[MAX_SCOPES + 2];

	*out = NULL;
	if (strcmp(flow, "device") == 0 || strcmp(flow, "code") == 0)
		return person_flow(m, req, strcmp(flow, "code") == 0, out, err);
	if (strcmp(flow, "client-credentials") == 0)
		return client_credentials(m, want_scopes(self(m), NULL, req, buf),
					  NULL, req->account, out, err);
	if (strcmp(flow, "token") == 0) {
		char text[160];

		snprintf(text, sizeof(text), "Paste the access token for %s:",
			 h->service(m));
		return h->token_prompt(m, text, want_scopes(self(m), NULL, req,
							    buf), out, err);
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
	struct client_auth ca = { 0 };
	struct view v;
	enum ka_status st;

	if (tok == NULL)
		return KA_ERR_UNSUPPORTED;	/* nothing to revoke */
	if ((st = view_get(m, 0, h->record_account(cur), &v, err)) != KA_OK)
		return st;
	if (v.ep.revocation[0] == '\0')
		st = KA_ERR_UNSUPPORTED;
	else if ((st = client_auth(o, &v, 0, &ca)) == KA_OK)
		st = h->oauth_revoke(m, &(struct ka_oauth_request){
			.url = v.ep.revocation, .form = ca.form,
			.form_len = ca.form_len,
			.headers = ca.basic != NULL ? ca.headers : NULL,
			.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
			.flags = KA_OAUTH_RETRY,
		}, tok, rt != NULL ? "refresh_token" : "access_token", NULL, err);
	client_auth_free(h, &ca);
	view_free(h, &v);
	return st;
}

static const struct ka_refresh_ops oauth2_ops = {
	.refresh = oauth2_refresh,
	.signin = oauth2_signin,
	.revoke = oauth2_revoke,
	.describe = oauth2_describe,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_REFRESH,
	.name = "oauth2",
	.description = "generic OAuth 2.0 client: device, code + PKCE, client "
		       "credentials, refresh with rotation, revocation",
	.args = oauth2_args,
	.init = oauth2_init,
	.fini = oauth2_fini,
	.refresh = &oauth2_ops,
};
