/* SPDX-License-Identifier: MIT */
/* github.c: refresh module `github`: device-flow sign-in, refresh of
 * expiring user tokens and pasted tokens, for github.com and GitHub
 * Enterprise Server. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiwiauth-module.h"

#define MAX_SCOPES 64
#define DEVICE_PATH "/login/device/code"
#define TOKEN_PATH "/login/oauth/access_token"

static const struct ka_arg_spec github_args[] = {
	{ "host", KA_ARG_STRING, 0 },
	{ "base_url", KA_ARG_STRING, 0 },
	{ "client_id", KA_ARG_STRING, 0 },
	{ "client_secret_file", KA_ARG_STRING, 0 },
	{ "client_secret_env", KA_ARG_STRING, 0 },
	{ "client_secret", KA_ARG_STRING, 0 },	/* refused by secret_arg */
	{ "scopes", KA_ARG_STRING_LIST, 0 },
	{ "flow", KA_ARG_STRING, 0 },
	{ "timeout", KA_ARG_INT, 0, 1, 600 },
	{ "ca_file", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

struct github {
	const struct ka_host *h;
	const char *client_id;		/* or NULL: only pasted tokens */
	const char *ca_file;
	const char *flow;		/* "device", "token" or NULL */
	const char *scopes[MAX_SCOPES + 1];
	char *secret;			/* secure memory, or NULL */
	long timeout_ms;
	char device_url[KA_URL_MAX];
	char token_url[KA_URL_MAX];
};

static struct github *self(const struct ka_mctx *m)
{
	return ka_host_of(m)->data(m);
}

/* ---- configuration ------------------------------------------------------ */

/* A host name, optionally with :PORT; nothing that could end the
 * authority part of a URL. */
static int host_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") == n;
}

static enum ka_status endpoints(const struct ka_mctx *m, struct github *g,
				ka_error *err)
{
	const struct ka_host *h = g->h;
	const char *host = h->arg_string(m, "host");
	const char *base = h->arg_string(m, "base_url");
	char b[KA_URL_MAX - 32];
	size_t n;

	if (host != NULL && base != NULL) {
		h->error(err, KA_ERR_CONFIG, "give host or base_url, not both");
		return KA_ERR_CONFIG;
	}
	if (base == NULL) {
		host = host != NULL ? host : "github.com";
		if (!host_ok(host)) {
			h->error(err, KA_ERR_CONFIG, "host must be a host name "
				 "such as github.com or github.example.com, "
				 "without scheme or path");
			return KA_ERR_CONFIG;
		}
		snprintf(b, sizeof(b), "https://%s", host);
	} else {
		n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			n--;
		if (n == 0 || n >= sizeof(b) ||
		    (strncmp(base, "https://", 8) != 0 &&
		     strncmp(base, "http://", 7) != 0) ||
		    strpbrk(base, "?#@ \t\r\n") != NULL) {
			h->error(err, KA_ERR_CONFIG, "base_url must be an "
				 "http(s) URL without query, user or fragment");
			return KA_ERR_CONFIG;
		}
		snprintf(b, sizeof(b), "%.*s", (int)n, base);
	}
	snprintf(g->device_url, sizeof(g->device_url), "%s%s", b, DEVICE_PATH);
	snprintf(g->token_url, sizeof(g->token_url), "%s%s", b, TOKEN_PATH);
	return KA_OK;
}

static enum ka_status read_args(const struct ka_mctx *m, struct github *g,
				ka_error *err)
{
	const struct ka_host *h = g->h;
	size_t n = h->arg_list_count(m, "scopes");
	long long v;

	g->client_id = h->arg_string(m, "client_id");
	g->ca_file = h->arg_string(m, "ca_file");
	g->flow = h->arg_string(m, "flow");
	g->timeout_ms = h->arg_int(m, "timeout", &v) ? (long)v * 1000 : 30000;
	if (g->flow != NULL && strcmp(g->flow, "device") != 0 &&
	    strcmp(g->flow, "token") != 0) {
		h->error(err, KA_ERR_CONFIG, "flow must be device or token");
		return KA_ERR_CONFIG;
	}
	if (g->client_id != NULL && (g->client_id[0] == '\0' ||
				     strpbrk(g->client_id, " \t\r\n") != NULL)) {
		h->error(err, KA_ERR_CONFIG, "client_id must be the client ID "
			 "of a GitHub OAuth or GitHub App, without spaces");
		return KA_ERR_CONFIG;
	}
	if (g->client_id == NULL && (g->flow == NULL ||
				     strcmp(g->flow, "token") != 0)) {
		h->error(err, KA_ERR_CONFIG, "client_id is required (or set "
			 "flow = \"token\" to use pasted tokens only)");
		return KA_ERR_CONFIG;
	}
	if (n > MAX_SCOPES) {
		h->error(err, KA_ERR_CONFIG, "at most %d scopes", MAX_SCOPES);
		return KA_ERR_CONFIG;
	}
	for (size_t i = 0; i < n; i++)
		g->scopes[i] = h->arg_list_at(m, "scopes", i);
	return endpoints(m, g, err);
}

static enum ka_status github_init(struct ka_mctx *m, const struct ka_host *h,
				  ka_error *err)
{
	struct github *g;
	enum ka_status st;

	if (h->size < sizeof(struct ka_host)) {
		h->error(err, KA_ERR_MODULE, "the github module needs a newer "
			 "libkiwiauth (module ABI 2.0)");
		return KA_ERR_MODULE;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return KA_ERR_NOMEM;
	g->h = h;
	if ((st = read_args(m, g, err)) != KA_OK ||
	    (st = h->secret_arg(m, "client_secret", 0, &g->secret,
				err)) != KA_OK) {
		h->secure_free(g->secret);
		free(g);
		return st;
	}
	h->set_data(m, g);
	return KA_OK;
}

static void github_fini(struct ka_mctx *m, const struct ka_host *h)
{
	struct github *g = h->data(m);

	if (g == NULL)
		return;
	h->secure_free(g->secret);
	free(g);
	h->set_data(m, NULL);
}

/* ---- errors ---------------------------------------------------------------- */

/* Words for an error answer of GitHub's token or device endpoint. */
static enum ka_status github_error(const struct ka_mctx *m,
				   const struct ka_oauth_error *oe,
				   const char *account, const char *what,
				   ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);

	if (strcmp(oe->error, "device_flow_disabled") == 0) {
		h->error(err, KA_ERR_CONFIG, "the device flow is disabled for "
			 "client '%s': enable it in the app's settings on "
			 "GitHub, or use --flow token", self(m)->client_id);
		return KA_ERR_CONFIG;
	}
	return h->oauth_error(m, oe, self(m)->client_id, account, what, err);
}

/* ---- requests ------------------------------------------------------------- */

static const char *const *want_scopes(const struct github *g,
				      const struct ka_signin *req)
{
	return req != NULL && req->scopes != NULL && req->nscopes > 0 ?
	       req->scopes : g->scopes;
}

/* client_id, and the secret when one is configured (GitHub takes both in
 * the form; a device-flow token refreshes without the secret). */
static enum ka_status client_form(const struct github *g, int with_secret,
				  char **form, size_t *len)
{
	enum ka_status st = g->h->form_add(form, len, "client_id",
					    g->client_id);

	if (st == KA_OK && with_secret && g->secret != NULL)
		st = g->h->form_add(form, len, "client_secret", g->secret);
	return st;
}

/* ---- refresh ---------------------------------------------------------------- */

static enum ka_status github_refresh(struct ka_mctx *m,
				     const struct ka_record *cur,
				     struct ka_record **out, ka_error *err)
{
	struct github *g = self(m);
	const struct ka_host *h = g->h;
	const char *rt = h->record_refresh_token(cur);
	const char *account = h->record_account(cur);
	struct ka_oauth_error oe;
	char *form = NULL;
	size_t len = 0;
	enum ka_status st;

	*out = NULL;
	if (rt == NULL && h->record_expires_at(cur) == KA_EXPIRES_NEVER) {
		h->error(err, KA_ERR_UNSUPPORTED, "the token of %s does not "
			 "expire; there is nothing to refresh", h->service(m));
		return KA_ERR_UNSUPPORTED;
	}
	if (rt == NULL)
		return h->signin_required(m, account, err, "signed out of %s "
					  "(the token expired and GitHub gave "
					  "no refresh token)", h->service(m));
	if (g->client_id == NULL) {
		h->error(err, KA_ERR_CONFIG, "refreshing %s needs client_id in "
			 "its refresh stanza", h->service(m));
		return KA_ERR_CONFIG;
	}
	if ((st = client_form(g, 1, &form, &len)) == KA_OK &&
	    (st = h->form_add(&form, &len, "grant_type",
			      "refresh_token")) == KA_OK &&
	    (st = h->form_add(&form, &len, "refresh_token", rt)) == KA_OK) {
		st = h->oauth_token(m, &(struct ka_oauth_request){
			.url = g->token_url, .form = form, .form_len = len,
			.ca_file = g->ca_file, .timeout_ms = g->timeout_ms,
			.flags = KA_OAUTH_RETRY, .prev = cur,
			.scopes = g->scopes,
		}, out, &oe, err);
		if (st == KA_ERR_DENIED)
			st = github_error(m, &oe, account, "refresh token",
					  err);
	} else if (st == KA_ERR_NOMEM) {
		h->error(err, st, "out of memory");
	}
	h->secure_free(form);
	if (st == KA_OK)
		h->log(m, 7, "refresh: new access token of %zu bytes",
		       strlen(h->record_access_token(*out)));
	return st;
}

/* ---- sign-in ---------------------------------------------------------------- */

static enum ka_status device_flow(const struct ka_mctx *m,
				  const struct ka_signin *req,
				  struct ka_record **out, ka_error *err)
{
	struct github *g = self(m);
	const struct ka_host *h = g->h;
	const char *const *scopes = want_scopes(g, req);
	struct ka_oauth_error oe;
	char *cf = NULL, *sf = NULL;
	size_t cl = 0, sl = 0;
	enum ka_status st;

	if (g->client_id == NULL) {
		h->error(err, KA_ERR_CONFIG, "the device flow needs client_id "
			 "in the refresh stanza of %s; or use --flow token",
			 h->service(m));
		return KA_ERR_CONFIG;
	}
	if ((st = client_form(g, 0, &cf, &cl)) != KA_OK ||
	    (st = h->form_add_list(&sf, &sl, "scope", scopes)) != KA_OK)
		goto out;
	st = h->oauth_device(m, &(struct ka_oauth_device){
		.device_url = g->device_url,
		.client_form = cf, .client_form_len = cl,
		.scope_form = sf, .scope_form_len = sl,
		.interval = 5,
		.token = {
			.url = g->token_url, .ca_file = g->ca_file,
			.timeout_ms = g->timeout_ms, .scopes = scopes,
		},
	}, out, &oe, err);
	if (st == KA_ERR_DENIED && err != NULL && err->code == KA_OK)
		st = github_error(m, &oe, req->account, "device code", err);
out:
	if (st == KA_ERR_INVALID)
		h->error(err, st, "too many or too long scopes");
	h->secure_free(cf);
	h->secure_free(sf);
	return st;
}

static enum ka_status github_signin(struct ka_mctx *m,
				    const struct ka_signin *req,
				    struct ka_record **out, ka_error *err)
{
	struct github *g = self(m);
	const char *flow = req->flow != NULL ? req->flow :
			   g->flow != NULL ? g->flow : "device";

	*out = NULL;
	if (strcmp(flow, "device") == 0)
		return device_flow(m, req, out, err);
	if (strcmp(flow, "token") == 0) {
		/* A personal access token (or any token): it never expires
		 * as far as kiwi-auth knows. */
		char text[160];

		snprintf(text, sizeof(text), "Paste a GitHub token for %s:",
			 g->h->service(m));
		return g->h->token_prompt(m, text, NULL, out, err);
	}
	g->h->error(err, KA_ERR_UNSUPPORTED, "GitHub sign-in supports --flow "
		    "device or --flow token, not %s", flow);
	return KA_ERR_UNSUPPORTED;
}

/* GitHub revokes a token only through its REST API with the app's
 * secret; logout forgets the token here (revoke it in the account's
 * settings on GitHub). */
static const struct ka_refresh_ops github_ops = {
	.refresh = github_refresh,
	.signin = github_signin,
	.revoke = NULL,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_REFRESH,
	.name = "github",
	.description = "GitHub and GitHub Enterprise Server: device flow, "
		       "refresh of expiring user tokens, pasted tokens",
	.args = github_args,
	.init = github_init,
	.fini = github_fini,
	.refresh = &github_ops,
};
