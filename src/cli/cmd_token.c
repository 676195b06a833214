/* SPDX-License-Identifier: MIT */
/* cmd_token.c: `kiwi-auth token set` and `kiwi-auth logout`: store a token read from stdin, erase it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define TOKEN_MAX KA_TOKEN_MAX	/* bytes of one token line */
#define EXPIRES_IN_MAX 3153600000LL	/* a hundred years */

/* ---- reading secrets ------------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void on_signal(int signo)
{
	got_signal = signo;
}

static const int guarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define NGUARDED (sizeof(guarded) / sizeof(guarded[0]))

/* While a secret is read: the terminal's echo is off and a signal only
 * interrupts the read, so the normal path restores and wipes everything.
 * The guarded signals stay blocked except inside ppoll(), so one that
 * arrives just before a read cannot be lost while read() blocks. */
struct guard {
	int tty;
	int echo_off;
	struct termios saved;
	struct sigaction old[NGUARDED];
	sigset_t oldmask;
};

static int guarded_wait;	/* 1 while a guard is up: wait in ppoll */
static sigset_t wait_mask;	/* the mask to wait with (signals open) */

static void guard_enter(struct guard *g)
{
	struct sigaction sa;
	struct termios t;
	size_t i;

	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: ppoll() returns */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	got_signal = 0;
	for (i = 0; i < NGUARDED; i++) {
		sigaction(guarded[i], &sa, &g->old[i]);
		sigaddset(&block, guarded[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &g->oldmask);
	wait_mask = g->oldmask;
	guarded_wait = 1;
	g->tty = isatty(STDIN_FILENO);
	g->echo_off = 0;
	if (!g->tty || tcgetattr(STDIN_FILENO, &g->saved) != 0)
		return;
	t = g->saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		g->echo_off = 1;
}

static void guard_leave(struct guard *g)
{
	size_t i;

	if (g->echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &g->saved);
	g->echo_off = 0;
	/* Unblock first: a pending signal reaches our handler (and is
	 * re-raised once the secrets are wiped), not the old action. */
	guarded_wait = 0;
	sigprocmask(SIG_SETMASK, &g->oldmask, NULL);
	for (i = 0; i < NGUARDED; i++)
		sigaction(guarded[i], &g->old[i], NULL);
}

enum line_result { LINE_OK, LINE_EOF, LINE_ERROR };

/* One byte of stdin: 1 read, 0 end of input, -1 error (reported). */
static int read_byte(char *c)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t r;

	for (;;) {
		/* Signals are delivered only inside ppoll, so none is lost
		 * between the check and a read that would then block. */
		if (guarded_wait && !got_signal &&
		    ppoll(&p, 1, NULL, &wait_mask) < 0 && errno != EINTR) {
			cli_error("could not wait for standard input: %s",
				  strerror(errno));
			return -1;
		}
		if (got_signal) {
			cli_error("interrupted; nothing was stored");
			return -1;
		}
		if (guarded_wait && !(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(STDIN_FILENO, c, 1);
		if (r >= 0)
			return (int)r;
		if (errno == EINTR && !got_signal)
			continue;
		if (got_signal)
			cli_error("interrupted; nothing was stored");
		else
			cli_error("could not read standard input: %s",
				  strerror(errno));
		return -1;
	}
}

/* One line of stdin, byte by byte so that nothing past it is consumed
 * and no stdio buffer keeps a copy. The \n, and a \r before it, are
 * dropped. buf holds cap bytes plus the NUL. */
static enum line_result read_line(char *buf, size_t cap, size_t *len,
				  const char *what)
{
	enum line_result res = LINE_ERROR;
	size_t n = 0;
	char c = 0;
	int r;

	*len = 0;
	for (;;) {
		if ((r = read_byte(&c)) < 0)
			goto out;
		if (r == 0 || c == '\n')
			break;
		if (n == cap) {
			cli_error("the %s is longer than %d bytes; nothing was "
				  "stored", what, TOKEN_MAX);
			goto out;
		}
		buf[n++] = c;
	}
	res = LINE_OK;
	if (r == 0 && n == 0)
		res = LINE_EOF;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
 out:
	explicit_bzero(&c, sizeof(c));
	return res;
}

/* After the two lines only blank lines may follow (a third line would be
 * a mistake such as two records pasted). 1 if something else follows. */
static int more_input(void)
{
	char c = 0;
	int r;

	while ((r = read_byte(&c)) == 1 && (c == '\n' || c == '\r'))
		;
	explicit_bzero(&c, sizeof(c));
	return r != 0;
}

/* Tokens are printable ASCII (or UTF-8) without blanks. Never echoed. */
static int token_ok(const char *t, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x20 || c == 0x7f) {
			cli_error("the %s contains a control character; nothing "
				  "was stored", what);
			return 0;
		}
		if (c == ' ') {
			cli_error("the %s contains a space; nothing was stored",
				  what);
			return 0;
		}
	}
	return 1;
}

/* Reads the access token (line 1) and an optional refresh token (line 2).
 * Returns an exit code; on error nothing useful is left in the buffers. */
static int read_tokens(const char *service, char *access, char *refresh)
{
	size_t alen = 0, rlen = 0;
	enum line_result lr;
	struct guard g;
	int rc = CLI_EXIT_FAILURE;

	guard_enter(&g);
	if (g.tty)
		fprintf(stderr, "Access token for %s: ", service);
	lr = read_line(access, TOKEN_MAX, &alen, "access token");
	if (g.tty)
		fputc('\n', stderr);
	if (lr == LINE_ERROR)
		goto out;
	if (lr == LINE_EOF || alen == 0) {
		cli_error("no access token on standard input: write it as the "
			  "first line, and an optional refresh token as the "
			  "second; nothing was stored");
		goto out;
	}
	if (!token_ok(access, alen, "access token"))
		goto out;
	if (g.tty)
		fprintf(stderr, "Refresh token (empty for none): ");
	lr = read_line(refresh, TOKEN_MAX, &rlen, "refresh token");
	if (g.tty)
		fputc('\n', stderr);
	if (lr == LINE_ERROR || !token_ok(refresh, rlen, "refresh token"))
		goto out;
	if (!g.tty && lr == LINE_OK && more_input()) {
		if (!got_signal)
			cli_error("standard input has more than two lines "
				  "(access token, refresh token); nothing was "
				  "stored");
		goto out;
	}
	rc = CLI_EXIT_OK;
 out:
	guard_leave(&g);
	if (got_signal && rc == CLI_EXIT_OK) {
		cli_error("interrupted; nothing was stored");
		rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

/* ---- token set ------------------------------------------------------- */

struct set_args {
	const char *service;
	const char *account;
	long long expires_in;	/* 0: not given, the token never expires */
	const char **scopes;
	size_t nscopes;
};

static int check_scopes(const struct ka_service *svc, const struct set_args *a)
{
	size_t i, j, n = ka_service_scope_count(svc);

	for (i = 0; i < a->nscopes; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(a->scopes[i], ka_service_scope(svc, j)) == 0)
				break;
		if (j == n) {
			cli_error("scope '%s' is not one of the scopes of %s; "
				  "run 'kiwi-auth services' to list them",
				  a->scopes[i], a->service);
			return CLI_EXIT_USAGE;
		}
	}
	return CLI_EXIT_OK;
}

static enum ka_status build_record(const struct set_args *a,
				   const char *access, const char *refresh,
				   struct ka_record **out)
{
	struct ka_record *rec = NULL;
	int64_t now = cli_now();
	enum ka_status st;
	size_t i;

	*out = NULL;
	if ((st = ka_record_new(&rec)) != KA_OK)
		goto out;
	if ((st = ka_record_set_access_token(rec, access)) != KA_OK)
		goto out;
	if (refresh[0] != '\0' &&
	    (st = ka_record_set_refresh_token(rec, refresh)) != KA_OK)
		goto out;
	if ((st = ka_record_set_account(rec, a->account)) != KA_OK)
		goto out;
	for (i = 0; i < a->nscopes; i++)
		if ((st = ka_record_add_scope(rec, a->scopes[i])) != KA_OK)
			goto out;
	ka_record_set_obtained_at(rec, now);
	if (a->expires_in > 0)
		ka_record_set_expires_at(rec, now + a->expires_in);
	*out = rec;
	rec = NULL;
 out:
	ka_record_free(rec);
	return st;
}

/* Both token buffers in one locked allocation, wiped on every path. */
static char *secret_alloc(size_t n)
{
	char *p = calloc(1, n);

	if (p != NULL)
		(void)mlock(p, n);	/* best effort */
	return p;
}

static void secret_free(char *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	munlock(p, n);
	free(p);
}

static int store_token(struct cli_opts *o, const struct set_args *a)
{
	const size_t size = 2 * (TOKEN_MAX + 1);
	const struct ka_service *svc;
	struct ka_record *rec = NULL;
	struct ka_ctx *ctx = NULL;
	char *mem = NULL;
	enum ka_status st;
	ka_error err;
	int rc, sig;

	ka_error_clear(&err);
	if ((rc = cli_open_service(o, a->service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	if ((rc = check_scopes(svc, a)) != CLI_EXIT_OK)
		goto out;
	if ((mem = secret_alloc(size)) == NULL) {
		cli_error("out of memory");
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if ((rc = read_tokens(a->service, mem, mem + TOKEN_MAX + 1)) != 0)
		goto out;
	st = build_record(a, mem, mem + TOKEN_MAX + 1, &rec);
	secret_free(mem, size);
	mem = NULL;
	if (st != KA_OK) {
		cli_error("the token was refused: %s; nothing was stored",
			  ka_strerror(st));
		rc = cli_exit_code(st, NULL);
		goto out;
	}
	st = ka_store(ctx, a->service, a->account, rec, &err);
	if (st != KA_OK) {
		rc = cli_report(st, &err);
		goto out;
	}
	printf("stored token for %s (%s)\n", a->service, a->account);
 out:
	secret_free(mem, size);
	ka_record_free(rec);
	ka_ctx_free(ctx);
	sig = got_signal;
	if (sig != 0 && sig != SIGTSTP) {
		got_signal = 0;
		fflush(NULL);
		raise(sig);	/* the handler is gone: default action */
	}
	return rc;
}

static int parse_expires_in(const char *s, long long *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || errno != 0 || *end != '\0' ||
	    v < 1 || v > EXPIRES_IN_MAX)
		return cli_usage("token", "--expires-in needs a whole number "
				 "of seconds from 1 to %lld", EXPIRES_IN_MAX);
	*out = v;
	return CLI_EXIT_OK;
}

static int cmd_token_set(struct cli_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "account", required_argument, NULL, 'a' },
		{ "expires-in", required_argument, NULL, 'e' },
		{ "scope", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct set_args a = { NULL, KA_ACCOUNT_DEFAULT, 0, NULL, 0 };
	int c = CLI_OPT_END, rc = CLI_EXIT_OK;

	a.scopes = calloc((size_t)argc + 1, sizeof(*a.scopes));
	if (a.scopes == NULL) {
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	while (rc == CLI_EXIT_OK &&
	       (c = cli_getopt(o, "token", argc, argv,
			       CLI_COMMON_SHORT "a:e:s:", longopts, &a.account,
			       &rc)) >= 0) {
		if (c == 'e')
			rc = parse_expires_in(optarg, &a.expires_in);
		else if (c == 's')
			a.scopes[a.nscopes++] = optarg;
	}
	if (rc != CLI_EXIT_OK || c == CLI_OPT_STOP)
		goto out;
	if (argc - optind != 1) {
		rc = cli_usage("token", "token set needs exactly one SERVICE "
			       "(the token is read from standard input)");
		goto out;
	}
	a.service = argv[optind];
	if ((rc = cli_check_account("token", a.account)) != CLI_EXIT_OK)
		goto out;
	rc = store_token(o, &a);
 out:
	free(a.scopes);
	return rc;
}

int cmd_token(struct cli_opts *o, int argc, char **argv)
{
	static char name[] = "kiwi-auth token set";

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		cli_command_help("token");
		return CLI_EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "set") != 0)
		return cli_usage("token", "token needs a subcommand: set");
	argv[1] = name;
	return cmd_token_set(o, argc - 1, argv + 1);
}

/* ---- logout ---------------------------------------------------------- */

static int has_read_only_source(const struct ka_service *svc)
{
	size_t i;

	for (i = 0; i < ka_service_source_count(svc); i++)
		if (!ka_service_source_writable(svc, i))
			return 1;
	return 0;
}

/* A read-only source (env, exec) may still hand out a token. */
static int still_signed_in(struct ka_ctx *ctx, const struct ka_service *svc,
			   const char *account)
{
	struct ka_record *rec = NULL;
	ka_error err;
	int found;

	if (!has_read_only_source(svc))
		return 0;
	ka_error_clear(&err);
	found = ka_load(ctx, ka_service_name(svc), account, &rec, &err) ==
		KA_OK && rec != NULL;
	if (found)
		cli_error("%s (%s) is still signed in through the read-only "
			  "source '%s'; remove the token there",
			  ka_service_name(svc), account,
			  ka_record_source(rec) != NULL ?
			  ka_record_source(rec) : "?");
	ka_record_free(rec);
	return found;
}

static int run_logout(struct cli_opts *o, const char *service,
		      const char *account)
{
	const struct ka_service *svc;
	struct ka_logout_result res;
	struct ka_ctx *ctx = NULL;
	char picked[257];
	unsigned erased = 0;
	enum ka_status st;
	ka_error err;
	int rc;

	ka_error_clear(&err);
	if ((rc = cli_open_service(o, service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	account = cli_pick_account(ctx, service, account, picked, 0);
	/* Revokes at the server first when the refresh module can. */
	st = ka_logout(ctx, service, account, &res, &err);
	erased = res.erased;
	if (res.revoked > 0)
		printf("revoked the token of %s (%s) at the server\n", service,
		       account);
	else if (res.revoked < 0) {
		cli_error("%s; the local copy is erased anyway",
			  res.revoke_error.text);
		rc = CLI_EXIT_FAILURE;
	}
	if (st != KA_OK && st != KA_ERR_NOT_FOUND) {
		rc = cli_report(st, &err);
		goto out;
	}
	if (still_signed_in(ctx, svc, account)) {
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (st == KA_ERR_NOT_FOUND || erased == 0)
		printf("%s (%s) was not signed in\n", service, account);
	else
		printf("signed out of %s (%s): erased from %u source(s)\n",
		       service, account, erased);
 out:
	ka_ctx_free(ctx);
	return rc;
}

int cmd_logout(struct cli_opts *o, int argc, char **argv)
{
	const char *account = NULL, *service;
	int rc;

	if (cli_getopt(o, "logout", argc, argv, CLI_COMMON_SHORT "a:",
		       cli_account_longopts, &account, &rc) == CLI_OPT_STOP)
		return rc;
	if ((rc = cli_service_arg("logout", argc, argv, 0, account,
				  &service)) != CLI_EXIT_OK)
		return rc;
	return run_logout(o, service, account);
}
