/* github.c: refresh module `github`: device-flow sign-in, refresh of
 * expiring user tokens and pasted tokens, for github.com and GitHub
 * Enterprise Server. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiwiauth-module.h"

#define SECRET_MAX 4096
#define PASTE_MAX 16384
#define MAX_SCOPES 64
#define DEVICE_PATH "/login/device/code"
#define TOKEN_PATH "/login/oauth/access_token"

static const struct ka_arg_spec github_args[] = {
	{ "host", KA_ARG_STRING, 0 },
	{ "base_url", KA_ARG_STRING, 0 },
	{ "client_id", KA_ARG_STRING, 0 },
	{ "client_secret_file", KA_ARG_STRING, 0 },
	{ "client_secret_env", KA_ARG_STRING, 0 },
	{ "client_secret", KA_ARG_STRING, 0 },	/* refused: see load_secret */
	{ "scopes", KA_ARG_STRING_LIST, 0 },
	{ "flow", KA_ARG_STRING, 0 },
	{ "timeout", KA_ARG_INT, 0 },
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

static enum ka_status secret_file(const struct ka_host *h, const char *path,
				  char **out, ka_error *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		h->error(err, KA_ERR_CONFIG, "cannot read client_secret_file "
			 "%s: %s", path, fd < 0 ? strerror(errno) :
			 "not a regular file");
		goto fail;
	}
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 077)) {
		h->error(err, KA_ERR_PERMISSION, "client_secret_file %s must "
			 "be yours and private: chmod 600 %s", path, path);
		goto fail;
	}
	if ((buf = h->secure_alloc(SECRET_MAX + 1)) == NULL)
		goto fail;
	if ((n = read(fd, buf, SECRET_MAX)) > 0)
		buf[strcspn(buf, "\r\n")] = '\0';
	if (n <= 0 || buf[0] == '\0') {
		h->error(err, KA_ERR_CONFIG, "client_secret_file %s holds no "
			 "secret on its first line", path);
		goto fail;
	}
	close(fd);
	*out = buf;
	return KA_OK;
fail:
	if (fd >= 0)
		close(fd);
	h->secure_free(buf);
	return err != NULL && err->code != KA_OK ? err->code : KA_ERR_NOMEM;
}

static enum ka_status load_secret(const struct ka_mctx *m, struct github *g,
				  ka_error *err)
{
	const struct ka_host *h = g->h;
	const char *file = h->arg_string(m, "client_secret_file");
	const char *env = h->arg_string(m, "client_secret_env");
	const char *v;
	size_t n;

	if (h->arg_string(m, "client_secret") != NULL) {
		h->error(err, KA_ERR_CONFIG, "client_secret must not be written "
			 "in the configuration: put it in a private file "
			 "(client_secret_file) or an environment variable "
			 "(client_secret_env)");
		return KA_ERR_CONFIG;
	}
	if (file != NULL && env != NULL) {
		h->error(err, KA_ERR_CONFIG, "give client_secret_file or "
			 "client_secret_env, not both");
		return KA_ERR_CONFIG;
	}
	if (file != NULL)
		return secret_file(h, file, &g->secret, err);
	if (env == NULL || (v = getenv(env)) == NULL || *v == '\0')
		return KA_OK;	/* device-flow tokens refresh without one */
	if ((n = strlen(v)) > SECRET_MAX || strpbrk(v, "\r\n") != NULL) {
		h->error(err, KA_ERR_CONFIG, "the variable %s does not hold a "
			 "usable client secret", env);
		return KA_ERR_CONFIG;
	}
	if ((g->secret = h->secure_alloc(n + 1)) == NULL)
		return KA_ERR_NOMEM;
	memcpy(g->secret, v, n + 1);
	return KA_OK;
}

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
	g->timeout_ms = h->arg_int(m, "timeout", &v) && v > 0 && v <= 600 ?
			(long)v * 1000 : 30000;
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
			 "libkiwiauth (module ABI 1.1)");
		return KA_ERR_MODULE;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return KA_ERR_NOMEM;
	g->h = h;
	if ((st = read_args(m, g, err)) != KA_OK ||
	    (st = load_secret(m, g, err)) != KA_OK) {
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

static const char *account_hint(const char *account, char *buf, size_t n)
{
	if (account == NULL || strcmp(account, KA_ACCOUNT_DEFAULT) == 0)
		return "";
	snprintf(buf, n, " --account %s", account);
	return buf;
}

static enum ka_status signed_out(const struct ka_mctx *m, const char *account,
				 const char *why, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *svc = h->service(m);
	char acc[300];

	h->error(err, KA_ERR_EXPIRED, "signed out of %s (%s): run 'kiwi-auth "
		 "signin %s%s'", svc, why, svc,
		 account_hint(account, acc, sizeof(acc)));
	if (err != NULL)
		err->auth_required = 1;
	return KA_ERR_EXPIRED;
}

/* Words for an error answer of GitHub's token or device endpoint. */
static enum ka_status github_error(const struct ka_mctx *m,
				   const struct ka_oauth_error *oe,
				   const char *account, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *e = oe->error;

	if (strcmp(e, "bad_refresh_token") == 0 ||
	    strcmp(e, "invalid_grant") == 0 ||
	    strcmp(e, "bad_verification_code") == 0)
		return signed_out(m, account, "GitHub refused the refresh "
				  "token: it expired or was already used",
				  err);
	if (strcmp(e, "incorrect_client_credentials") == 0 ||
	    strcmp(e, "invalid_client") == 0 ||
	    strcmp(e, "unauthorized_client") == 0) {
		h->error(err, KA_ERR_CONFIG, "GitHub does not know client '%s' "
			 "(%s): check client_id and the client secret in the "
			 "refresh stanza of %s", self(m)->client_id, e,
			 h->service(m));
		return KA_ERR_CONFIG;
	}
	if (strcmp(e, "device_flow_disabled") == 0) {
		h->error(err, KA_ERR_CONFIG, "the device flow is disabled for "
			 "client '%s': enable it in the app's settings on "
			 "GitHub, or use --flow token", self(m)->client_id);
		return KA_ERR_CONFIG;
	}
	h->error(err, KA_ERR_PROTOCOL, "GitHub refused the request of %s: "
		 "%s%s%s", h->service(m), e, oe->description[0] ? ": " : "",
		 oe->description);
	return KA_ERR_PROTOCOL;
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

/* GitHub's scope parameter is space-separated, like RFC 6749's. */
static enum ka_status scope_form(const struct github *g,
				 const char *const *scopes, char **form,
				 size_t *len)
{
	char joined[4096];
	size_t n = 0;

	joined[0] = '\0';
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL; i++) {
		int w = snprintf(joined + n, sizeof(joined) - n, "%s%s",
				 n > 0 ? " " : "", scopes[i]);

		if (w < 0 || (size_t)w >= sizeof(joined) - n)
			return KA_ERR_INVALID;
		n += (size_t)w;
	}
	return n > 0 ? g->h->form_add(form, len, "scope", joined) : KA_OK;
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
	if (rt == NULL && h->record_expires_at(cur) == 0) {
		h->error(err, KA_ERR_UNSUPPORTED, "the token of %s does not "
			 "expire; there is nothing to refresh", h->service(m));
		return KA_ERR_UNSUPPORTED;
	}
	if (rt == NULL)
		return signed_out(m, account, "the token expired and GitHub "
				  "gave no refresh token", err);
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
			st = github_error(m, &oe, account, err);
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
	    (st = scope_form(g, scopes, &sf, &sl)) != KA_OK)
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
		st = github_error(m, &oe, req->account, err);
out:
	if (st == KA_ERR_INVALID)
		h->error(err, st, "too many or too long scopes");
	h->secure_free(cf);
	h->secure_free(sf);
	return st;
}

/* A personal access token (or any token) pasted through the
 * conversation: it never expires as far as kiwi-auth knows. */
static enum ka_status paste_flow(const struct ka_mctx *m,
				 struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct ka_record *r = NULL;
	char *tok = h->secure_alloc(PASTE_MAX), text[160];
	enum ka_status st;

	*out = NULL;
	if (tok == NULL)
		return KA_ERR_NOMEM;
	snprintf(text, sizeof(text), "Paste a GitHub token for %s:",
		 h->service(m));
	st = h->converse(m, &(struct ka_conv_msg){
		.style = KA_CONV_PROMPT_SECRET, .text = text }, tok, PASTE_MAX, err);
	if (st != KA_OK)
		goto out;
	if (tok[0] == '\0') {
		h->error(err, KA_ERR_INVALID, "no token was given");
		st = KA_ERR_INVALID;
		goto out;
	}
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = h->record_set_access_token(r, tok)) != KA_OK ||
	    (st = h->record_set_token_type(r, "Bearer")) != KA_OK) {
		h->error(err, st, st == KA_ERR_NOMEM ? "out of memory" :
			 "the token holds control characters");
		goto out;
	}
	h->record_set_obtained_at(r, h->now());
	*out = r;
	r = NULL;
out:
	h->record_free(r);
	h->secure_free(tok);
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
	if (strcmp(flow, "token") == 0)
		return paste_flow(m, out, err);
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
	.abi_minor = 1,
	.kind = KA_MODULE_REFRESH,
	.name = "github",
	.description = "GitHub and GitHub Enterprise Server: device flow, "
		       "refresh of expiring user tokens, pasted tokens",
	.args = github_args,
	.init = github_init,
	.fini = github_fini,
	.refresh = &github_ops,
};
