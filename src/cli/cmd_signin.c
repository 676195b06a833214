/* SPDX-License-Identifier: MIT */
/* cmd_signin.c: `kiwi-auth signin` and `kiwi-auth refresh`, and the
 * terminal side of the conversation with a refresh module. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define MAX_SCOPES 64

extern char **environ;

struct conv_state {
	int no_browser;
	int password_stdin;	/* secrets from stdin; no other question */
};

/* ---- the conversation ------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signo)
{
	interrupted = signo;
}

/* One line of stdin into answer, byte by byte so no stdio buffer keeps a
 * copy; echo off on a terminal when secret. */
static enum ka_status read_answer(const char *text, int secret, char *answer,
				  size_t size)
{
	struct sigaction sa, old_int, old_term;
	struct termios saved, t;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	size_t n = 0;
	enum ka_status st = KA_OK;

	if (tty && text != NULL) {
		fprintf(stderr, "%s ", text);
		fflush(stderr);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;	/* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (tty && secret && tcgetattr(STDIN_FILENO, &saved) == 0) {
		t = saved;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
	}
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r < 0 && errno == EINTR && !interrupted)
			continue;
		if (r < 0 || interrupted) {
			st = KA_ERR_IO;
			break;
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= size) {
			st = KA_ERR_INVALID;
			break;
		}
		answer[n++] = c;
	}
	if (n > 0 && answer[n - 1] == '\r')
		n--;
	answer[n] = '\0';
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (st != KA_OK)
		explicit_bzero(answer, size);
	return st;
}

/* What a browser needs from the environment, and nothing else: a token
 * kept in a variable for an `env` source must not reach the child. */
static const char *const browser_env[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_MESSAGES",
	"DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR",
	"XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE", "XDG_DATA_DIRS",
	"XDG_CONFIG_DIRS", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "DESKTOP_SESSION",
	"DBUS_SESSION_BUS_ADDRESS", "BROWSER", NULL,
};

/* xdg-open from PATH, if there is one and a display to show it on. */
static void open_browser(const char *url)
{
	char *envp[sizeof(browser_env) / sizeof(browser_env[0])];
	size_t n = 0;
	const char *path = getenv("PATH");
	char exe[4096], *dirs, *d, *save = NULL;
	posix_spawn_file_actions_t fa;
	char *argv[3];
	pid_t pid;

	if (path == NULL || (getenv("DISPLAY") == NULL &&
			     getenv("WAYLAND_DISPLAY") == NULL))
		return;
	if ((dirs = strdup(path)) == NULL)
		return;
	exe[0] = '\0';
	for (d = strtok_r(dirs, ":", &save); d != NULL;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/xdg-open", d);
		if (d[0] == '/' && access(exe, X_OK) == 0)
			break;
		exe[0] = '\0';
	}
	free(dirs);
	if (exe[0] == '\0' || posix_spawn_file_actions_init(&fa) != 0)
		return;
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	argv[0] = exe;
	argv[1] = (char *)url;	/* no secret: state and PKCE challenge only */
	argv[2] = NULL;
	for (const char *const *name = browser_env; *name != NULL; name++) {
		size_t len = strlen(*name);

		for (char **e = environ; *e != NULL; e++) {
			if (strncmp(*e, *name, len) == 0 && (*e)[len] == '=') {
				envp[n++] = *e;
				break;
			}
		}
	}
	envp[n] = NULL;
	if (posix_spawn(&pid, exe, &fa, NULL, argv, envp) == 0)
		fprintf(stderr, "(opening a browser)\n");
	posix_spawn_file_actions_destroy(&fa);
}

static enum ka_status converse(const struct ka_conv_msg *msg, char *answer,
			       size_t size, void *data)
{
	const struct conv_state *cs = data;

	switch (msg->style) {
	case KA_CONV_INFO:
	case KA_CONV_ERROR:
		fprintf(stderr, "%s\n", msg->text);
		break;
	case KA_CONV_BROWSE:
		fprintf(stderr, "%s\n  %s\n", msg->text,
			msg->url != NULL ? msg->url : "");
		if (!cs->no_browser && msg->url != NULL)
			open_browser(msg->url);
		break;
	case KA_CONV_PROMPT:
	case KA_CONV_PROMPT_SECRET:
		if (cs->password_stdin && msg->style == KA_CONV_PROMPT) {
			cli_error("cannot ask \"%s\" with --password-stdin; "
				  "run without it to answer on the terminal",
				  msg->text);
			return KA_ERR_UNSUPPORTED;
		}
		return read_answer(cs->password_stdin ? NULL : msg->text,
				   msg->style == KA_CONV_PROMPT_SECRET, answer,
				   size);
	}
	fflush(stderr);
	return KA_OK;
}

/* ---- signin ----------------------------------------------------------- */

/* What `signin` was asked besides the service. */
struct signin_args {
	struct ka_signin_options so;
	const char *add[MAX_SCOPES + 1];	/* --add-scope */
	size_t nadd;
	struct ka_resource_signin rs;		/* --resource */
	int password_stdin;
};

/* --resource writes into a configuration directory: --config (or
 * KIWI_AUTH_CONFIG) must name one, if given. */
static int resource_config_dir(const struct cli_opts *o,
			       struct ka_resource_signin *rs)
{
	const char *c = o->config != NULL ? o->config : getenv("KIWI_AUTH_CONFIG");
	struct stat sb;

	if (c == NULL || c[0] == '\0')
		return CLI_EXIT_OK;
	if (stat(c, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cli_usage("signin", "--resource writes a stanza into a "
				 "configuration directory, and %s is not one",
				 c);
	rs->config_dir = c;
	return CLI_EXIT_OK;
}

static int run_signin(struct cli_opts *o, const char *service,
		      const char *account, struct signin_args *a)
{
	struct conv_state cs = { a->so.no_browser, a->password_stdin };
	const struct ka_service *svc;
	struct ka_ctx *ctx = NULL;
	char name[72], picked[257];
	enum ka_status st;
	ka_error err;
	int rc;

	ka_error_clear(&err);
	if (a->rs.url != NULL && (rc = resource_config_dir(o, &a->rs)) != CLI_EXIT_OK)
		return rc;
	if ((rc = cli_open_service(o, service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	ka_ctx_set_conversation(ctx, converse, &cs);
	account = a->rs.url != NULL && account == NULL ? KA_ACCOUNT_DEFAULT :
		  cli_pick_account(ctx, service, account, picked, 1);
	snprintf(name, sizeof(name), "%s", service != NULL ? service : "");
	if (a->rs.url != NULL)
		st = ka_signin_resource(ctx, &a->rs, account, &a->so, name,
					sizeof(name), &err);
	else if (a->nadd > 0)
		st = ka_signin_step_up(ctx, service, account, a->add, a->nadd,
				       &a->so, &err);
	else
		st = ka_signin(ctx, service, account, &a->so, &err);
	if (st != KA_OK) {
		rc = cli_report(st, &err);
		goto out;
	}
	printf("signed in to %s (%s)\n", name, account);
out:
	ka_ctx_free(ctx);
	return rc;
}

/* One scope operand: no spaces, at most MAX_SCOPES of them. */
static int scope_arg(const char *opt, const char **v, size_t *n)
{
	if (*n >= MAX_SCOPES || optarg[0] == '\0' ||
	    strpbrk(optarg, " \t\r\n") != NULL)
		return cli_usage("signin", "%s takes one scope without spaces "
				 "(at most %d)", opt, MAX_SCOPES);
	v[(*n)++] = optarg;
	return CLI_EXIT_OK;
}

/* The options of signin into a (the common ones handled): -1 to go on,
 * else the exit code to return at once (--help, a usage error). */
static int signin_options(struct cli_opts *o, int argc, char **argv,
			  const char **account, const char **scopes,
			  struct signin_args *a)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "account", required_argument, NULL, 'a' },
		{ "flow", required_argument, NULL, 'f' },
		{ "scope", required_argument, NULL, 's' },
		{ "add-scope", required_argument, NULL, 'A' },
		{ "resource", required_argument, NULL, 'r' },
		{ "service", required_argument, NULL, 'N' },
		{ "source", required_argument, NULL, 'S' },
		{ "no-browser", no_argument, NULL, 'n' },
		{ "password-stdin", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc = CLI_EXIT_OK;

	while ((c = cli_getopt(o, "signin", argc, argv,
			       CLI_COMMON_SHORT "a:f:s:n", longopts, account,
			       &rc)) >= 0) {
		if (c == 'f') {
			if (strcmp(optarg, "device") != 0 &&
			    strcmp(optarg, "code") != 0 &&
			    strcmp(optarg, "client-credentials") != 0 &&
			    strcmp(optarg, "token") != 0)
				return cli_usage("signin", "--flow is device, "
						 "code, client-credentials or "
						 "token");
			a->so.flow = optarg;
		} else if (c == 's' || c == 'A') {
			if ((rc = c == 's' ?
			     scope_arg("--scope", scopes, &a->so.nscopes) :
			     scope_arg("--add-scope", a->add, &a->nadd)) != CLI_EXIT_OK)
				return rc;
		} else if (c == 'r') {
			a->rs.url = optarg;
		} else if (c == 'N') {
			a->rs.service = optarg;
		} else if (c == 'S') {
			if (strcmp(optarg, "keyring") != 0 &&
			    strcmp(optarg, "file") != 0)
				return cli_usage("signin", "--source is keyring "
						 "or file");
			a->rs.source = optarg;
		} else if (c == 'n') {
			a->so.no_browser = 1;
		} else if (c == 'p') {
			a->password_stdin = 1;
		}
	}
	return c == CLI_OPT_STOP ? rc : -1;
}

int cmd_signin(struct cli_opts *o, int argc, char **argv)
{
	const char *scopes[MAX_SCOPES + 1] = { NULL };
	struct signin_args a = { .so = { NULL, scopes, 0, 0 } };
	const char *account = NULL, *service;
	int rc;

	if ((rc = signin_options(o, argc, argv, &account, scopes, &a)) >= 0)
		return rc;
	if (a.rs.url == NULL && (a.rs.service != NULL || a.rs.source != NULL))
		return cli_usage("signin", "--service and --source go with "
				 "--resource");
	if (a.rs.url != NULL && a.nadd > 0)
		return cli_usage("signin", "--add-scope names a configured "
				 "service: sign in to it by name");
	if ((rc = cli_service_arg("signin", argc, argv, a.rs.url != NULL,
				  account, &service)) != CLI_EXIT_OK)
		return rc;
	if (a.rs.url != NULL && service != NULL)
		return cli_usage("signin", "give a SERVICE or --resource URL, "
				 "not both (--service NAME names the service "
				 "of the URL)");
	return run_signin(o, service, account, &a);
}

/* ---- refresh ------------------------------------------------------------ */

static int run_refresh(struct cli_opts *o, const char *service,
		       const char *account, unsigned flags)
{
	const struct ka_service *svc;
	struct ka_ctx *ctx = NULL;
	char picked[257];
	enum ka_status st;
	ka_error err;
	int rc, refreshed = 0;

	ka_error_clear(&err);
	if ((rc = cli_open_service(o, service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	account = cli_pick_account(ctx, service, account, picked, 1);
	st = ka_refresh(ctx, service, account, flags, &refreshed, &err);
	if (st != KA_OK) {
		rc = cli_report(st, &err);
		goto out;
	}
	if (refreshed)
		printf("refreshed the token of %s (%s)\n", service, account);
	else
		printf("the token of %s (%s) is still fresh\n", service, account);
out:
	ka_ctx_free(ctx);
	return rc;
}

int cmd_refresh(struct cli_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "account", required_argument, NULL, 'a' },
		{ "if-needed", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *account = NULL, *service;
	unsigned flags = KA_REFRESH_FORCE;
	int c, rc;

	while ((c = cli_getopt(o, "refresh", argc, argv, CLI_COMMON_SHORT "a:i",
			       longopts, &account, &rc)) >= 0)
		if (c == 'i')
			flags &= ~KA_REFRESH_FORCE;
	if (c == CLI_OPT_STOP)
		return rc;
	if ((rc = cli_service_arg("refresh", argc, argv, 0, account,
				  &service)) != CLI_EXIT_OK)
		return rc;
	return run_refresh(o, service, account, flags);
}
