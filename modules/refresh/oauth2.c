/* oauth2.c: refresh module `oauth2`: a generic OAuth 2.0 client (RFC 6749)
 * with device, code + PKCE, client credentials and pasted-token sign-in,
 * refresh with rotation, and revocation. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiwiauth-module.h"

#define SECRET_MAX 4096
#define PASTE_MAX 16384
#define CODE_WAIT_S 300
#define MAX_SCOPES 64
#define CALLBACK_PATH "/callback"
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

static const struct ka_arg_spec oauth2_args[] = {
	{ "issuer", KA_ARG_STRING, 0 },
	{ "token_url", KA_ARG_STRING, 0 },
	{ "device_authorization_url", KA_ARG_STRING, 0 },
	{ "authorization_url", KA_ARG_STRING, 0 },
	{ "revocation_url", KA_ARG_STRING, 0 },
	{ "client_id", KA_ARG_STRING, 1 },
	{ "client_secret_file", KA_ARG_STRING, 0 },
	{ "client_secret_env", KA_ARG_STRING, 0 },
	{ "client_secret", KA_ARG_STRING, 0 },	/* refused: see init */
	{ "client_auth", KA_ARG_STRING, 0 },	/* "basic" or "post" */
	{ "scopes", KA_ARG_STRING_LIST, 0 },
	{ "audience", KA_ARG_STRING, 0 },
	{ "resource", KA_ARG_STRING, 0 },
	{ "flow", KA_ARG_STRING, 0 },
	{ "timeout", KA_ARG_INT, 0 },
	{ "device_interval", KA_ARG_INT, 0 },
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

static enum ka_status read_secret_file(const struct ka_host *h,
				       const char *path, char **out,
				       ka_error *err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		h->error(err, KA_ERR_CONFIG, "cannot read client_secret_file "
			 "%s: %s", path, fd < 0 ? strerror(errno) :
			 "not a regular file");
		goto fail;
	}
	if ((st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 077) != 0) {
		h->error(err, KA_ERR_PERMISSION, "client_secret_file %s must "
			 "be yours and private: chmod 600 %s", path, path);
		goto fail;
	}
	if ((buf = h->secure_alloc(SECRET_MAX + 1)) == NULL)
		goto fail;
	n = read(fd, buf, SECRET_MAX);
	if (n <= 0) {
		h->error(err, KA_ERR_CONFIG, "client_secret_file %s is empty",
			 path);
		goto fail;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
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

static enum ka_status load_secret(const struct ka_mctx *m, struct oauth2 *o,
				  ka_error *err)
{
	const struct ka_host *h = o->h;
	const char *file = h->arg_string(m, "client_secret_file");
	const char *env = h->arg_string(m, "client_secret_env");
	const char *v;

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
		return read_secret_file(h, file, &o->secret, err);
	if (env == NULL || (v = getenv(env)) == NULL || *v == '\0')
		return KA_OK;	/* a public client (or the variable is unset) */
	if (strlen(v) > SECRET_MAX || strpbrk(v, "\r\n") != NULL) {
		h->error(err, KA_ERR_CONFIG, "the variable %s does not hold a "
			 "usable client secret", env);
		return KA_ERR_CONFIG;
	}
	if ((o->secret = h->secure_alloc(strlen(v) + 1)) == NULL)
		return KA_ERR_NOMEM;
	memcpy(o->secret, v, strlen(v) + 1);
	return KA_OK;
}

static int known_flow(const char *f)
{
	for (size_t i = 0; flows[i] != NULL; i++)
		if (strcmp(flows[i], f) == 0)
			return 1;
	return 0;
}

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
	o->timeout_ms = h->arg_int(m, "timeout", &v) && v > 0 && v <= 600 ?
			(long)v * 1000 : 30000;
	o->interval = h->arg_int(m, "device_interval", &v) && v > 0 &&
		      v <= 60 ? (long)v : 5;
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

static void copy_url(char *dst, const char *src)
{
	if (src != NULL && strlen(src) < KA_URL_MAX)
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
	    (st = load_secret(m, o, err)) != KA_OK) {
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

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const unsigned char *in, size_t n, char *out)
{
	size_t i, j = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[j++] = b64[in[i] >> 2];
		out[j++] = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[j++] = b64[(in[i + 1] & 15) << 2 | in[i + 2] >> 6];
		out[j++] = b64[in[i + 2] & 63];
	}
	if (i < n) {
		out[j++] = b64[in[i] >> 2];
		if (i + 1 < n) {
			out[j++] = b64[(in[i] & 3) << 4 | in[i + 1] >> 4];
			out[j++] = b64[(in[i + 1] & 15) << 2];
		} else {
			out[j++] = b64[(in[i] & 3) << 4];
			out[j++] = '=';
		}
		out[j++] = '=';
	}
	out[j] = '\0';
}

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

/* RFC 6749 section 2.3.1: id and secret are form-encoded, then joined
 * with ':' and base64-encoded. */
static enum ka_status basic_header(const struct ka_host *h,
				   const struct oauth2 *o, char **out)
{
	char *id = NULL, *sec = NULL, *pair = NULL, *hdr = NULL;
	size_t il = 0, sl = 0, n;
	enum ka_status st;

	*out = NULL;
	if ((st = h->form_add(&id, &il, "x", o->client_id)) != KA_OK ||
	    (st = h->form_add(&sec, &sl, "x", o->secret)) != KA_OK)
		goto out;
	n = (il - 2) + 1 + (sl - 2);
	st = KA_ERR_NOMEM;
	if ((pair = h->secure_alloc(n + 1)) == NULL ||
	    (hdr = h->secure_alloc(sizeof("Authorization: Basic ") +
				   (n + 2) / 3 * 4 + 1)) == NULL)
		goto out;
	snprintf(pair, n + 1, "%s:%s", id + 2, sec + 2);
	strcpy(hdr, "Authorization: Basic ");
	base64((const unsigned char *)pair, n, hdr + strlen(hdr));
	*out = hdr;
	hdr = NULL;
	st = KA_OK;
out:
	h->secure_free(id);
	h->secure_free(sec);
	h->secure_free(pair);
	h->secure_free(hdr);
	return st;
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
	if ((st = basic_header(h, o, &ca->basic)) != KA_OK)
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
	char joined[4096];
	size_t n = 0;
	enum ka_status st = KA_OK;

	joined[0] = '\0';
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL; i++) {
		int w = snprintf(joined + n, sizeof(joined) - n, "%s%s",
				 n > 0 ? " " : "", scopes[i]);

		if (w < 0 || (size_t)w >= sizeof(joined) - n)
			return KA_ERR_INVALID;
		n += (size_t)w;
	}
	if (n > 0)
		st = h->form_add(form, len, "scope", joined);
	if (st == KA_OK && o->audience != NULL)
		st = h->form_add(form, len, "audience", o->audience);
	if (st == KA_OK && o->resource != NULL)
		st = h->form_add(form, len, "resource", o->resource);
	return st;
}

static const char *account_hint(const char *account, char *buf, size_t n)
{
	if (account == NULL || strcmp(account, KA_ACCOUNT_DEFAULT) == 0)
		return "";
	snprintf(buf, n, " --account %s", account);
	return buf;
}

/* Words for an OAuth error answer of the token endpoint. */
static enum ka_status token_error(const struct ka_mctx *m,
				  const struct ka_oauth_error *oe,
				  const char *account, const char *what,
				  ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *svc = h->service(m);
	char acc[300];

	if (strcmp(oe->error, "invalid_grant") == 0) {
		h->error(err, KA_ERR_EXPIRED, "the sign-in to %s has ended (the "
			 "server refused the %s: invalid_grant); run "
			 "'kiwi-auth signin %s%s'", svc, what, svc,
			 account_hint(account, acc, sizeof(acc)));
		if (err != NULL)
			err->auth_required = 1;
		return KA_ERR_EXPIRED;
	}
	if (strcmp(oe->error, "invalid_client") == 0 ||
	    strcmp(oe->error, "unauthorized_client") == 0) {
		h->error(err, KA_ERR_CONFIG, "the server refused client '%s' "
			 "(%s%s%s): check client_id and the client secret in "
			 "the refresh stanza of %s", self(m)->client_id,
			 oe->error, oe->description[0] ? ": " : "",
			 oe->description, svc);
		return KA_ERR_CONFIG;
	}
	h->error(err, KA_ERR_PROTOCOL, "the token endpoint of %s refused the "
		 "%s: %s%s%s", svc, what, oe->error,
		 oe->description[0] ? ": " : "", oe->description);
	return KA_ERR_PROTOCOL;
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
		st = token_error(m, &oe, account, what, err);
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
	char *form = NULL, acc[300];
	size_t len = 0;
	enum ka_status st;

	*out = NULL;
	if (rt == NULL) {
		/* Client credentials are re-acquired, not refreshed. */
		if (o->flow != NULL && strcmp(o->flow, "client-credentials") == 0)
			return client_credentials(m, o->scopes, cur, account,
						  out, err);
		h->error(err, KA_ERR_EXPIRED, "the token of %s expired and there "
			 "is no refresh token; run 'kiwi-auth signin %s%s'",
			 h->service(m), h->service(m),
			 account_hint(account, acc, sizeof(acc)));
		if (err != NULL)
			err->auth_required = 1;
		return KA_ERR_EXPIRED;
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

/* ---- device flow ---------------------------------------------------------- */

static enum ka_status device_flow(const struct ka_mctx *m,
				  const struct ka_signin *req,
				  struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	const char *const *scopes = want_scopes(o, req);
	struct ka_oauth_endpoints ep;
	struct ka_oauth_error oe;
	struct client_auth ca;
	char *sf = NULL;
	size_t sl = 0;
	enum ka_status st;

	if ((st = endpoints(m, &ep, err)) != KA_OK)
		return st;
	if (ep.device_authorization[0] == '\0') {
		h->error(err, KA_ERR_UNSUPPORTED, "%s has no device "
			 "authorization endpoint: set device_authorization_url "
			 "or use --flow code", h->service(m));
		return KA_ERR_UNSUPPORTED;
	}
	if ((st = client_auth(o, &ca)) != KA_OK ||
	    (st = scope_form(o, scopes, &sf, &sl)) != KA_OK)
		goto out;
	st = h->oauth_device(m, &(struct ka_oauth_device){
		.device_url = ep.device_authorization,
		.client_form = ca.form, .client_form_len = ca.form_len,
		.scope_form = sf, .scope_form_len = sl,
		.interval = o->interval,
		.token = {
			.url = ep.token,
			.headers = ca.basic != NULL ? ca.headers : NULL,
			.ca_file = o->ca_file, .timeout_ms = o->timeout_ms,
			.scopes = scopes,
		},
	}, out, &oe, err);
	if (st == KA_ERR_DENIED && err != NULL && err->code == KA_OK)
		st = token_error(m, &oe, req->account, "device code", err);
out:
	h->secure_free(sf);
	client_auth_free(h, &ca);
	return st;
}

/* ---- authorization code + PKCE with a loopback listener (RFC 8252) ------- */

static int listen_loopback(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void reply(int fd, int code, const char *text)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nContent-Type: "
			 "text/plain; charset=utf-8\r\nCache-Control: no-store"
			 "\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
			 code, code == 200 ? "OK" : code == 404 ? "Not Found" :
			 "Bad Request", strlen(text), text);

	if (n > 0 && write(fd, buf, (size_t)n) < 0)
		return;		/* the browser went away: nothing to do */
}

static int hexv(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	       c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value of name in a query string, percent-decoded into out. */
static int query_get(const char *q, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	while (q != NULL && *q != '\0') {
		const char *end = q + strcspn(q, "&");

		if ((size_t)(end - q) > nl && strncmp(q, name, nl) == 0 &&
		    q[nl] == '=') {
			size_t j = 0;

			for (const char *p = q + nl + 1; p < end; p++) {
				int c = *p;

				if (c == '%' && end - p > 2 && hexv(p[1]) >= 0 &&
				    hexv(p[2]) >= 0) {
					c = hexv(p[1]) << 4 | hexv(p[2]);
					p += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (j + 1 >= n || c < 0x20 || c == 0x7f)
					return 0;
				out[j++] = (char)c;
			}
			out[j] = '\0';
			return 1;
		}
		q = *end == '&' ? end + 1 : end;
	}
	return 0;
}

static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

enum cb_result { CB_AGAIN, CB_CODE, CB_ERROR };

/* Read one request on the listener; the code lands in code (secure). */
static enum cb_result callback_one(const struct ka_host *h, int cfd,
				   const char *state, char *code, size_t n,
				   char *oerr, size_t on)
{
	char *req = h->secure_alloc(8192), got[128], *path, *sp;
	struct pollfd p = { cfd, POLLIN, 0 };
	size_t len = 0;
	enum cb_result r = CB_AGAIN;

	if (req == NULL)
		return CB_AGAIN;
	while (len < 8191 && strstr(req, "\r\n") == NULL &&
	       poll(&p, 1, 2000) == 1) {
		ssize_t k = read(cfd, req + len, 8191 - len);

		if (k <= 0)
			break;
		len += (size_t)k;
	}
	if (strncmp(req, "GET ", 4) != 0 || (sp = strchr(req + 4, ' ')) == NULL) {
		reply(cfd, 400, "bad request\n");
		goto out;
	}
	*sp = '\0';
	path = req + 4;
	if (strncmp(path, CALLBACK_PATH, strlen(CALLBACK_PATH)) != 0 ||
	    (path[strlen(CALLBACK_PATH)] != '?' &&
	     path[strlen(CALLBACK_PATH)] != '\0')) {
		reply(cfd, 404, "not found\n");
		goto out;
	}
	path += strlen(CALLBACK_PATH) + (path[strlen(CALLBACK_PATH)] == '?');
	if (!query_get(path, "state", got, sizeof(got)) || !same(got, state)) {
		reply(cfd, 400, "This sign-in request does not match; start "
		      "it again.\n");
		goto out;
	}
	if (query_get(path, "error", oerr, on)) {
		reply(cfd, 200, "The sign-in was not completed. You can close "
		      "this window.\n");
		r = CB_ERROR;
	} else if (query_get(path, "code", code, n)) {
		reply(cfd, 200, "Signed in to kiwi-auth. You can close this "
		      "window.\n");
		r = CB_CODE;
	} else {
		reply(cfd, 400, "no code\n");
	}
out:
	h->secure_free(req);
	return r;
}

static enum ka_status wait_callback(const struct ka_mctx *m, int lfd,
				    const char *state, char *code, size_t n,
				    ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	int64_t deadline = h->now() + CODE_WAIT_S;
	char oerr[64] = "";

	while (h->now() < deadline) {
		struct pollfd p = { lfd, POLLIN, 0 };
		enum cb_result r;
		int cfd;

		if (poll(&p, 1, 1000) != 1)
			continue;
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		r = callback_one(h, cfd, state, code, n, oerr, sizeof(oerr));
		close(cfd);
		if (r == CB_CODE)
			return KA_OK;
		if (r == CB_ERROR) {
			h->error(err, KA_ERR_DENIED, "the sign-in to %s was not "
				 "completed at the server (%s)", h->service(m),
				 oerr);
			return KA_ERR_DENIED;
		}
	}
	h->error(err, KA_ERR_TIMEOUT, "no answer from the browser within %d "
		 "s; run the sign-in again", CODE_WAIT_S);
	return KA_ERR_TIMEOUT;
}

static int has_scope(const char *const *scopes, const char *s)
{
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL; i++)
		if (strcmp(scopes[i], s) == 0)
			return 1;
	return 0;
}

/* The authorization URL; nothing in it is a secret (state only binds
 * the answer to this request, the verifier never leaves us). */
static enum ka_status auth_url(const struct oauth2 *o, const char *endpoint,
			       const char *redirect, const char *state,
			       const char *challenge, const char *const *scopes,
			       char **url)
{
	const struct ka_host *h = o->h;
	char *q = NULL;
	size_t ql = 0;
	enum ka_status st;

	*url = NULL;
	if ((st = h->form_add(&q, &ql, "response_type", "code")) != KA_OK ||
	    (st = h->form_add(&q, &ql, "client_id", o->client_id)) != KA_OK ||
	    (st = h->form_add(&q, &ql, "redirect_uri", redirect)) != KA_OK ||
	    (st = scope_form(o, scopes, &q, &ql)) != KA_OK ||
	    (st = h->form_add(&q, &ql, "state", state)) != KA_OK ||
	    (st = h->form_add(&q, &ql, "code_challenge", challenge)) != KA_OK ||
	    (st = h->form_add(&q, &ql, "code_challenge_method", "S256")) != KA_OK ||
	    /* offline_access is granted only with an explicit consent. */
	    (has_scope(scopes, "offline_access") &&
	     (st = h->form_add(&q, &ql, "prompt", "consent")) != KA_OK))
		goto out;
	if ((*url = malloc(strlen(endpoint) + ql + 2)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	sprintf(*url, "%s%c%s", endpoint, strchr(endpoint, '?') ? '&' : '?', q);
out:
	h->secure_free(q);
	return st;
}

static enum ka_status code_exchange(const struct ka_mctx *m, const char *code,
				    const char *redirect, const char *verifier,
				    const struct ka_signin *req,
				    struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	char *form = NULL;
	size_t len = 0;
	enum ka_status st;

	if ((st = o->h->form_add(&form, &len, "grant_type",
				 "authorization_code")) == KA_OK &&
	    (st = o->h->form_add(&form, &len, "code", code)) == KA_OK &&
	    (st = o->h->form_add(&form, &len, "redirect_uri", redirect)) == KA_OK &&
	    (st = o->h->form_add(&form, &len, "code_verifier", verifier)) == KA_OK)
		st = token_call(m, form, len, NULL, want_scopes(o, req), 0,
				req->account, "authorization code", out, err);
	o->h->secure_free(form);
	return st;
}

static enum ka_status code_flow(const struct ka_mctx *m,
				const struct ka_signin *req,
				struct ka_record **out, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	struct ka_oauth_endpoints ep;
	char state[33], verifier[65], challenge[48], redirect[64];
	char *url = NULL, *code = NULL, text[160];
	unsigned port = 0;
	int lfd = -1;
	enum ka_status st;

	if ((st = endpoints(m, &ep, err)) != KA_OK)
		return st;
	if (ep.authorization[0] == '\0') {
		h->error(err, KA_ERR_UNSUPPORTED, "%s has no authorization "
			 "endpoint: set authorization_url or use --flow device",
			 h->service(m));
		return KA_ERR_UNSUPPORTED;
	}
	if ((lfd = listen_loopback(&port)) < 0) {
		h->error(err, KA_ERR_IO, "cannot listen on 127.0.0.1 for the "
			 "browser's answer: %s", strerror(errno));
		return KA_ERR_IO;
	}
	snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%u%s", port,
		 CALLBACK_PATH);
	if ((st = h->random_string(state, sizeof(state))) != KA_OK ||
	    (st = h->random_string(verifier, sizeof(verifier))) != KA_OK ||
	    (st = h->pkce_s256(verifier, challenge, sizeof(challenge))) != KA_OK ||
	    (st = auth_url(o, ep.authorization, redirect, state, challenge,
			   want_scopes(o, req), &url)) != KA_OK)
		goto out;
	snprintf(text, sizeof(text), "To sign in to %s, open this URL in a "
		 "browser:", h->service(m));
	if ((st = h->converse(m, &(struct ka_conv_msg){ .style = KA_CONV_BROWSE,
			      .text = text, .url = url }, NULL, 0, err)) != KA_OK)
		goto out;
	if ((code = h->secure_alloc(2048)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	if ((st = wait_callback(m, lfd, state, code, 2048, err)) != KA_OK)
		goto out;
	close(lfd);
	lfd = -1;
	st = code_exchange(m, code, redirect, verifier, req, out, err);
out:
	if (lfd >= 0)
		close(lfd);
	explicit_bzero(verifier, sizeof(verifier));
	explicit_bzero(state, sizeof(state));
	h->secure_free(code);
	free(url);
	return st;
}

/* ---- pasted token ------------------------------------------------------- */

static enum ka_status paste_flow(const struct ka_mctx *m,
				 const struct ka_signin *req,
				 struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *const *scopes = want_scopes(self(m), req);
	struct ka_record *r = NULL;
	char *tok = h->secure_alloc(PASTE_MAX), text[160];
	enum ka_status st;

	*out = NULL;
	if (tok == NULL)
		return KA_ERR_NOMEM;
	snprintf(text, sizeof(text), "Paste the access token for %s:",
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
	    (st = h->record_set_token_type(r, "Bearer")) != KA_OK)
		goto out;
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL && st == KA_OK; i++)
		st = h->record_add_scope(r, scopes[i]);
	if (st == KA_OK) {
		h->record_set_obtained_at(r, h->now());
		*out = r;
		r = NULL;
	}
out:
	if (st == KA_ERR_INVALID && err != NULL && err->code == KA_OK)
		h->error(err, st, "the token holds control characters");
	h->record_free(r);
	h->secure_free(tok);
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
	if (strcmp(flow, "device") == 0)
		return device_flow(m, req, out, err);
	if (strcmp(flow, "code") == 0)
		return code_flow(m, req, out, err);
	if (strcmp(flow, "client-credentials") == 0)
		return client_credentials(m, want_scopes(self(m), req), NULL,
					  req->account, out, err);
	if (strcmp(flow, "token") == 0)
		return paste_flow(m, req, out, err);
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
