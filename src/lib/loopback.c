/* SPDX-License-Identifier: MIT */
/* loopback.c: the authorization code grant with PKCE through a loopback
 * redirect (RFC 8252, RFC 7636): listen on 127.0.0.1, send the person to
 * the authorization endpoint, take the code the browser brings back and
 * exchange it at the token endpoint. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kai.h"

#define CALLBACK_PATH "/callback"
#define WAIT_S 300
#define CODE_MAX 2048
#define REQUEST_MAX 8192

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

/* The value of name in a query string, percent-decoded into out; 0 when
 * it is missing, empty, too long, badly escaped or holds control bytes. */
static int query_get(const char *q, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	while (q != NULL && *q != '\0') {
		const char *end = q + strcspn(q, "&");
		size_t vl = (size_t)(end - q);
		ssize_t dl;

		if (vl > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			vl -= nl + 1;
			if (vl >= n)
				return 0;
			memcpy(out, q + nl + 1, vl);
			if ((dl = kai_form_decode(out, vl)) < 0)
				return 0;
			out[dl] = '\0';
			return dl > 0 && strlen(out) == (size_t)dl &&
			       !kai_has_ctl(out);
		}
		q = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/* Compare without leaking where the first difference is. */
static int same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* RFC 9207 section 2.4: a present iss must be the issuer, byte for byte;
 * an absent one is refused when the server says it sends it. */
static int issuer_ok(const char *query, const struct kai_cb_expect *x)
{
	char iss[KA_URL_MAX];

	if (x->issuer == NULL)
		return 1;
	if (!query_get(query, "iss", iss, sizeof(iss)))
		return !x->iss_required && strstr(query, "iss=") == NULL;
	return strcmp(iss, x->issuer) == 0;
}

enum kai_cb_result kai_callback_parse(char *req, const struct kai_cb_expect *x,
				      char *code, size_t n, char *oerr,
				      size_t on, struct kai_cb_reply *rep)
{
	char got[128], *path, *sp;
	size_t cl = strlen(CALLBACK_PATH);

	*rep = (struct kai_cb_reply){ 400, "bad request\n" };
	if (strncmp(req, "GET ", 4) != 0 || (sp = strchr(req + 4, ' ')) == NULL)
		return KAI_CB_AGAIN;
	*sp = '\0';
	path = req + 4;
	if (strncmp(path, CALLBACK_PATH, cl) != 0 ||
	    (path[cl] != '?' && path[cl] != '\0')) {
		*rep = (struct kai_cb_reply){ 404, "not found\n" };
		return KAI_CB_AGAIN;
	}
	path += cl + (path[cl] == '?');
	if (!query_get(path, "state", got, sizeof(got)) || !same(got, x->state)) {
		rep->text = "This sign-in request does not match; start it "
			    "again.\n";
		return KAI_CB_AGAIN;
	}
	if (!issuer_ok(path, x)) {
		/* Neither the code nor an error of this answer is used. */
		rep->text = "This answer did not come from the authorization "
			    "server kiwi-auth asked; the sign-in was stopped.\n";
		return KAI_CB_MIXUP;
	}
	if (query_get(path, "error", oerr, on)) {
		*rep = (struct kai_cb_reply){ 200, "The sign-in was not "
			"completed. You can close this window.\n" };
		return KAI_CB_ERROR;
	}
	if (query_get(path, "code", code, n)) {
		*rep = (struct kai_cb_reply){ 200, "Signed in to kiwi-auth. You "
			"can close this window.\n" };
		return KAI_CB_CODE;
	}
	rep->text = "no code\n";
	return KAI_CB_AGAIN;
}

/* Read one request on the listener; the code lands in code (secure). */
static enum kai_cb_result callback_one(int cfd, const struct kai_cb_expect *x,
				       char *code, size_t n, char *oerr,
				       size_t on)
{
	char *req = kai_secure_alloc(REQUEST_MAX);
	struct pollfd p = { cfd, POLLIN, 0 };
	struct kai_cb_reply rep;
	size_t len = 0;
	enum kai_cb_result r;
	struct timespec start, now;
	long left = 2000;

	if (req == NULL)
		return KAI_CB_AGAIN;
	/* 2 s for the whole request line, not per read: a client that
	 * trickles bytes cannot hold the one-at-a-time listener. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (len < REQUEST_MAX - 1 && strstr(req, "\r\n") == NULL &&
	       left > 0 && poll(&p, 1, (int)left) == 1) {
		ssize_t k = read(cfd, req + len, REQUEST_MAX - 1 - len);

		if (k <= 0)
			break;
		len += (size_t)k;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = 2000 - ((now.tv_sec - start.tv_sec) * 1000 +
			       (now.tv_nsec - start.tv_nsec) / 1000000);
	}
	r = kai_callback_parse(req, x, code, n, oerr, on, &rep);
	reply(cfd, rep.status, rep.text);
	kai_secure_free(req);
	return r;
}

static enum ka_status wait_callback(const struct ka_mctx *m, int lfd,
				    const struct kai_cb_expect *x, char *code,
				    size_t n, ka_error *err)
{
	int64_t deadline = kai_now() + WAIT_S;
	char oerr[64] = "";

	while (kai_now() < deadline) {
		struct pollfd p = { lfd, POLLIN, 0 };
		enum kai_cb_result r;
		int cfd;

		if (poll(&p, 1, 1000) != 1)
			continue;
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		r = callback_one(cfd, x, code, n, oerr, sizeof(oerr));
		close(cfd);
		if (r == KAI_CB_CODE)
			return KA_OK;
		if (r == KAI_CB_MIXUP) {
			kai_error_set(err, KA_ERR_DENIED, "the answer to the "
				      "sign-in to %s did not come from %s: its "
				      "`iss` is %s (RFC 9207); it was not used "
				      "and nothing was stored", m->svc->name,
				      x->issuer, x->iss_required ?
				      "missing or another" : "another");
			return KA_ERR_DENIED;
		}
		if (r == KAI_CB_ERROR) {
			kai_error_set(err, KA_ERR_DENIED, "the sign-in to %s was "
				      "not completed at the server (%s)",
				      m->svc->name, oerr);
			return KA_ERR_DENIED;
		}
	}
	kai_error_set(err, KA_ERR_TIMEOUT, "no answer from the browser within "
		      "%d s; run the sign-in again", WAIT_S);
	return KA_ERR_TIMEOUT;
}

static int has_scope(const char *const *scopes, const char *s)
{
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL; i++)
		if (strcmp(scopes[i], s) == 0)
			return 1;
	return 0;
}

/* The authorization URL; nothing in it is a secret (state only binds the
 * answer to this request, the verifier never leaves us). */
static enum ka_status auth_url(const struct ka_oauth_code *req,
			       const char *redirect, const char *state,
			       const char *challenge, char **url)
{
	char *q = NULL;
	size_t ql = 0;
	enum ka_status st;

	*url = NULL;
	if ((st = kai_form_add(&q, &ql, "response_type", "code")) != KA_OK ||
	    (st = kai_form_add(&q, &ql, "client_id", req->client_id)) != KA_OK ||
	    (st = kai_form_add(&q, &ql, "redirect_uri", redirect)) != KA_OK ||
	    (st = kai_form_add(&q, &ql, "state", state)) != KA_OK ||
	    (st = kai_form_add(&q, &ql, "code_challenge", challenge)) != KA_OK ||
	    (st = kai_form_add(&q, &ql, "code_challenge_method", "S256")) != KA_OK ||
	    /* offline_access is granted only with an explicit consent. */
	    (has_scope(req->token.scopes, "offline_access") &&
	     (st = kai_form_add(&q, &ql, "prompt", "consent")) != KA_OK))
		goto out;
	*url = kai_asprintf("%s%c%s%s%.*s", req->auth_url,
			    strchr(req->auth_url, '?') != NULL ? '&' : '?', q,
			    req->scope_form_len > 0 ? "&" : "",
			    (int)req->scope_form_len,
			    req->scope_form != NULL ? req->scope_form : "");
	st = *url != NULL ? KA_OK : KA_ERR_NOMEM;
out:
	kai_secure_free(q);
	return st;
}

/* Post the code with the verifier and the client's form part. */
static enum ka_status exchange(const struct ka_mctx *m,
			       const struct ka_oauth_code *req,
			       const char *code, const char *redirect,
			       const char *verifier, struct ka_record **out,
			       struct ka_oauth_error *oerr, ka_error *err)
{
	struct ka_oauth_request tr = req->token;
	char *form = kai_secure_alloc(req->client_form_len + 1);
	size_t len = req->client_form_len;
	enum ka_status st;

	if (form == NULL)
		return KA_ERR_NOMEM;
	memcpy(form, req->client_form, len);
	if ((st = kai_form_add(&form, &len, "grant_type",
			       "authorization_code")) == KA_OK &&
	    (st = kai_form_add(&form, &len, "code", code)) == KA_OK &&
	    (st = kai_form_add(&form, &len, "redirect_uri", redirect)) == KA_OK &&
	    (st = kai_form_add(&form, &len, "code_verifier", verifier)) == KA_OK) {
		tr.form = form;
		tr.form_len = len;
		tr.prev = NULL;
		st = kai_oauth_token(m, &tr, out, oerr, err);
	}
	kai_secure_free(form);
	return st;
}

enum ka_status kai_oauth_code(const struct ka_mctx *m,
			      const struct ka_oauth_code *req,
			      struct ka_record **out,
			      struct ka_oauth_error *oerr, ka_error *err)
{
	return kai_oauth_code_iss(m, req, NULL, 0, out, oerr, err);
}

enum ka_status kai_oauth_code_iss(const struct ka_mctx *m,
				  const struct ka_oauth_code *req,
				  const char *issuer, int iss_required,
				  struct ka_record **out,
				  struct ka_oauth_error *oerr, ka_error *err)
{
	struct kai_cb_expect x = { NULL, issuer, iss_required };
	struct ka_oauth_error dummy;
	char state[33], verifier[65], challenge[48], redirect[64], text[160];
	char *url = NULL, *code = NULL;
	unsigned port = 0;
	int lfd;
	enum ka_status st;

	*out = NULL;
	if (oerr == NULL)
		oerr = &dummy;
	memset(oerr, 0, sizeof(*oerr));
	if (req->auth_url == NULL || req->auth_url[0] == '\0' ||
	    req->client_id == NULL || req->client_form == NULL ||
	    req->token.url == NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "no authorization endpoint is "
			      "known for %s", m->svc->name);
		return KA_ERR_CONFIG;
	}
	if ((lfd = listen_loopback(&port)) < 0) {
		kai_error_set(err, KA_ERR_IO, "cannot listen on 127.0.0.1 for the "
			      "browser's answer: %s", strerror(errno));
		return KA_ERR_IO;
	}
	snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%u%s", port,
		 CALLBACK_PATH);
	snprintf(text, sizeof(text), "To sign in to %s, open this URL in a "
		 "browser:", m->svc->name);
	if ((st = kai_random_string(state, sizeof(state))) != KA_OK ||
	    (st = kai_random_string(verifier, sizeof(verifier))) != KA_OK ||
	    (st = kai_pkce_s256(verifier, challenge, sizeof(challenge))) != KA_OK ||
	    (st = auth_url(req, redirect, state, challenge, &url)) != KA_OK ||
	    (st = kai_converse(m, &(struct ka_conv_msg){ .style = KA_CONV_BROWSE,
			       .text = text, .url = url }, NULL, 0, err)) != KA_OK)
		goto out;
	if ((code = kai_secure_alloc(CODE_MAX)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	x.state = state;
	if ((st = wait_callback(m, lfd, &x, code, CODE_MAX, err)) != KA_OK)
		goto out;
	close(lfd);
	lfd = -1;
	st = exchange(m, req, code, redirect, verifier, out, oerr, err);
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	else if (st == KA_ERR_INVALID)
		kai_error_set(err, st, "the authorization request for %s cannot "
			      "be built", m->svc->name);
	if (lfd >= 0)
		close(lfd);
	kai_wipe(verifier, sizeof(verifier));
	kai_wipe(state, sizeof(state));
	kai_secure_free(code);
	free(url);
	return st;
}
