/* SPDX-License-Identifier: MIT */
/* git-credential.c: git-credential-kiwi-auth, a git credential helper
 * (gitcredentials(7)). `get` answers for the one service whose hosts
 * match the request's protocol and host and whose `export` names git;
 * `erase` signs that account out when git rejects the token it was given;
 * `store` is ignored (kiwi-auth keeps only the tokens it obtained). The
 * token goes to stdout, to git, and nowhere else. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge.h"
#include "kiwiauth.h"

#define PROG "git-credential-kiwi-auth"

static int verbose;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void log_sink(int level, const char *message, void *data)
{
	(void)data;
	if (level <= 4 || verbose)
		say("%s", message);
}

static void harden(void)
{
	struct rlimit rl = { 0, 0 };

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	umask(077);
}

/* Read the request: up to a blank line or EOF, at most GITCRED_MAX + 1
 * bytes (one more than allowed, so the parser sees it is too long). */
static ssize_t read_request(char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t r = read(0, buf + len, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		len++;
		if (buf[len - 1] == '\n' &&
		    (len == 1 || buf[len - 2] == '\n'))
			break;
	}
	return (ssize_t)len;
}

/* What git gets as username: GitHub takes any name with a token and
 * documents x-access-token; GitLab and most OAuth2 servers take oauth2. */
static const char *username_of(const struct ka_service *s)
{
	const char *m = ka_service_refresh_module(s);

	return m != NULL && strcmp(m, "github") == 0 ? "x-access-token" :
	       "oauth2";
}

struct pick {
	const struct ka_service *svc;	/* the one that exports to git */
	const struct ka_service *other;	/* one that matches but does not */
	unsigned n;
	/* Services whose git_paths hold the request's path come first: the
	 * one for "org/" wins over the one for the whole host. */
	const struct ka_service *by_path;
	unsigned n_path;
};

static int exports_git(const struct ka_service *s)
{
	for (size_t i = 0; i < ka_service_export_count(s); i++)
		if (strcmp(ka_service_export(s, i), "git") == 0)
			return 1;
	return 0;
}

static void pick_service(struct ka_ctx *ctx, const struct gitcred *c,
			 struct pick *p)
{
	char url[GITCRED_HOST_MAX + 32];

	memset(p, 0, sizeof(*p));
	snprintf(url, sizeof(url), "%s://%s/", c->protocol, c->host);
	for (size_t i = 0; i < ka_service_count(ctx); i++) {
		const struct ka_service *s = ka_service_at(ctx, i);

		if (!ka_service_allows_url(s, url))
			continue;
		if (!exports_git(s)) {
			p->other = s;
			continue;
		}
		switch (ka_service_git_path_match(s, c->path)) {
		case 1:
			p->by_path = s;
			p->n_path++;
			break;
		case -1:
			p->svc = s;
			p->n++;
			break;
		default:
			break;	/* its git_paths do not hold this path */
		}
	}
	if (p->n_path > 0) {
		p->svc = p->by_path;
		p->n = p->n_path;
	}
}

/* The account git asked for: none, or the name we answer with, mean the
 * service's default account. */
static const char *account_of(const struct ka_service *s,
			      const struct gitcred *c)
{
	if (c->username == NULL || c->username[0] == '\0' ||
	    strcmp(c->username, username_of(s)) == 0)
		return NULL;
	return c->username;
}

struct answer {
	const char *username;
	int bearer;	/* answer authtype=Bearer and credential= */
};

static enum ka_status answer_write(const char *token, size_t len,
				   int64_t expires_at, void *data)
{
	const struct answer *a = data;
	size_t cap = len + strlen(a->username) + 128, pos;
	enum ka_status st = KA_OK;
	char *buf;
	int r;

	if ((buf = malloc(cap)) == NULL)
		return KA_ERR_NOMEM;
	if (a->bearer)
		r = snprintf(buf, cap, "capability[]=authtype\nauthtype=Bearer\n"
			     "credential=");
	else
		r = snprintf(buf, cap, "username=%s\npassword=", a->username);
	pos = (size_t)r;
	memcpy(buf + pos, token, len);
	pos += len;
	buf[pos++] = '\n';
	if (expires_at != KA_EXPIRES_NEVER && expires_at > 0)
		pos += (size_t)snprintf(buf + pos, cap - pos,
					"password_expiry_utc=%lld\n",
					(long long)expires_at);
	if (bridge_write_all(1, buf, pos) != 0)
		st = KA_ERR_IO;
	explicit_bzero(buf, cap);
	free(buf);
	return st;
}

/* erase: only when the password (or the Bearer credential) git rejected
 * is the token we hold. */
struct compare {
	const struct gitcred *c;
	int same;
};

static enum ka_status compare_token(const char *token, size_t len,
				    int64_t expires_at, void *data)
{
	struct compare *cmp = data;
	unsigned char d = 0;

	(void)expires_at;
	if (cmp->c->password == NULL || cmp->c->password_len != len)
		return KA_OK;
	for (size_t i = 0; i < len; i++)
		d |= (unsigned char)(token[i] ^ cmp->c->password[i]);
	cmp->same = d == 0;
	return KA_OK;
}

static int do_erase(struct ka_ctx *ctx, const struct ka_service *s,
		    const struct gitcred *c)
{
	struct compare cmp = { c, 0 };
	const char *name = ka_service_name(s), *account = account_of(s, c);
	struct ka_logout_result res;
	char picked[257];
	ka_error err;

	ka_error_clear(&err);
	if (c->password == NULL)
		return 0;
	if (ka_account_pick(ctx, name, account, picked, sizeof(picked), NULL,
			    &err) != KA_OK ||
	    ka_export(ctx, name, picked, "git", compare_token, &cmp, &err) !=
	    KA_OK || !cmp.same)
		return 0;	/* not the token we handed out: not ours */
	memset(&res, 0, sizeof(res));
	if (ka_logout(ctx, name, picked, &res, &err) != KA_OK) {
		say("%s", err.text);
		return 1;
	}
	say("git rejected the token of %s (%s): signed out; run 'kiwi-auth "
	    "signin %s' to sign in again", name, picked, name);
	return 0;
}

static int do_get(struct ka_ctx *ctx, const struct ka_service *s,
		  const struct gitcred *c)
{
	/* git 2.46+ that offers a pre-encoded credential to a server that
	 * asked for Bearer gets one; otherwise Basic's username/password. */
	struct answer a = { username_of(s), c->cap_authtype && c->www_bearer };
	enum ka_status st;
	ka_error err;

	ka_error_clear(&err);
	st = ka_export(ctx, ka_service_name(s), account_of(s, c), "git",
		       answer_write, &a, &err);
	if (st != KA_OK) {
		say("%s", err.text[0] != '\0' ? err.text : ka_strerror(st));
		return 1;
	}
	return 0;
}

static int run(const char *config, const char *op, const struct gitcred *c)
{
	struct ka_options opts = { config, NULL, KA_CTX_LENIENT, log_sink,
				   NULL };
	struct ka_ctx *ctx = NULL;
	struct pick p;
	ka_error err;
	int rc = 0;

	if (strcmp(c->protocol, "https") != 0 &&
	    strcmp(c->protocol, "http") != 0)
		return 0;	/* not a protocol kiwi-auth has tokens for */
	ka_error_clear(&err);
	if (ka_ctx_new(&opts, &ctx, &err) != KA_OK) {
		say("%s", err.text);
		return 1;
	}
	pick_service(ctx, c, &p);
	if (p.n > 1) {
		say("refused: more than one service that exports to git matches "
		    "%s://%s; make their hosts distinct", c->protocol, c->host);
		rc = 1;
	} else if (p.n == 0 && p.other != NULL && strcmp(op, "get") == 0) {
		/* ka_export refuses it, names the setting, and audits it. */
		rc = do_get(ctx, p.other, c);
	} else if (p.n == 1) {
		rc = strcmp(op, "get") == 0 ? do_get(ctx, p.svc, c) :
		     do_erase(ctx, p.svc, c);
	} else if (verbose) {
		say("no service matches %s://%s", c->protocol, c->host);
	}
	ka_ctx_free(ctx);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " [--config PATH] [-v] get|store|erase\n"
		"A git credential helper: git config credential.helper "
		"kiwi-auth\n");
}

int main(int argc, char **argv)
{
	static char buf[GITCRED_MAX + 2];
	const char *config = NULL, *op = NULL, *why;
	struct gitcred c;
	ssize_t len;
	int i, rc;

	harden();
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (op == NULL && argv[i][0] != '-')
			op = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (op == NULL) {
		usage(stderr);
		return 2;
	}
	/* git: a helper ignores operations it does not know. */
	if (strcmp(op, "get") != 0 && strcmp(op, "erase") != 0)
		return 0;
	if ((len = read_request(buf, sizeof(buf) - 1)) < 0) {
		say("cannot read the request: %s", strerror(errno));
		return 1;
	}
	if (gitcred_parse(buf, (size_t)len, &c, &why) != 0) {
		say("refused: %s; no credential given", why);
		explicit_bzero(buf, sizeof(buf));
		return 1;
	}
	explicit_bzero(buf, sizeof(buf));
	rc = run(config, op, &c);
	gitcred_clear(&c);
	return rc;
}
