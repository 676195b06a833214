/* SPDX-License-Identifier: MIT */
/* main.c: kiwi-auth entry point: process hardening, global options, dispatch. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli.h"
#include "kiwiauth-module.h"

struct cli_cmd {
	const char *name;
	cli_cmd_fn run;
	const char *args;
	const char *summary;
};

static const struct cli_cmd commands[] = {
	{ "services", cmd_services, "",
	  "list the configured services: description, hosts, scopes,\n"
	  "source stack, refresh module, min_valid, or why a service is\n"
	  "disabled" },
	{ "check", cmd_check, "",
	  "check the configuration and load every module; print each\n"
	  "problem as FILE:LINE: message on stderr (exit 3), or\n"
	  "\"configuration OK: N services\"" },
	{ "status", cmd_status, "[SERVICE] [--account A]",
	  "per service and account: signed in or not, the source it came\n"
	  "from, expiry, scopes, whether it is refreshable, or why it could\n"
	  "not be read; never a token. Without SERVICE it exits 0 whenever\n"
	  "it could report; with SERVICE it exits 4 when no account asked\n"
	  "about is signed in (5 when a source was unavailable)" },
	{ "token", cmd_token,
	  "set SERVICE [--account A] [--expires-in SECONDS] [--scope S]...",
	  "store a token: line 1 of stdin is the access token, an optional\n"
	  "line 2 the refresh token (prompted without echo on a terminal;\n"
	  "never taken from the command line)" },
	{ "logout", cmd_logout, "SERVICE [--account A]",
	  "revoke the token at the server when the refresh module can\n"
	  "(RFC 7009), then erase it from every writable source; exits 0\n"
	  "when it was not signed in, 1 when the revocation failed (the\n"
	  "local copy is erased anyway)" },
	{ "signin", cmd_signin,
	  "SERVICE [--account A] [--flow device|code|client-credentials|token]\n"
	  "         [--scope S]... [--add-scope S]... [--no-browser]\n"
	  "         [--password-stdin]\n"
	  "  signin --resource URL [--service NAME] [--source keyring|file]\n"
	  "         [--account A] [--flow device|code] [--scope S]...",
	  "sign in with the service's refresh module and store the tokens;\n"
	  "prompts (device code, URL to open, token to paste) go to stderr;\n"
	  "--password-stdin: a secret asked for is the first line of stdin,\n"
	  "and nothing else may be asked; --add-scope: ask for S as well as\n"
	  "the scopes held now (step-up); --resource: an MCP server (RFC 9728\n"
	  "protected resource) known only by its URL: everything is discovered\n"
	  "from it, and unless a service is configured for it, a user stanza\n"
	  "services.d/NAME.conf (NAME after the host, or --service) is written\n"
	  "once the sign-in succeeded" },
	{ "refresh", cmd_refresh, "SERVICE [--account A] [--if-needed]",
	  "refresh the token now (with --if-needed: only when it expires\n"
	  "within min_valid); the rotated refresh token is stored first" },
	{ "request", cmd_request, "[--scope S] [--service S] [--chain FILE] "
	  "[--account A]\n         [-X METHOD] [-H 'Name: value']... "
	  "[-d DATA|@FILE] [--timeout S] URL",
	  "perform one HTTP request as an executor would (ka_perform): the\n"
	  "token goes into the service's header only if the URL's origin is\n"
	  "allowed; redirects to another origin go without it. Prints the\n"
	  "body (--json: status, headers, body, metadata). --timeout: the\n"
	  "deadline for the whole exchange (default: the service's timeout,\n"
	  "else 30 s). Exits 6 when the origin or scope is denied, 7 on an\n"
	  "HTTP error status" },
	{ "kube-credential", cmd_kube_credential, "SERVICE [--account A]",
	  "print a kubectl ExecCredential (client.authentication.k8s.io v1,\n"
	  "or v1beta1 when KUBERNETES_EXEC_INFO asks for it) holding the\n"
	  "token and its expiry, refreshed first when needed; only for a\n"
	  "service whose export lists \"kubectl\" (exit 6 otherwise)" },
	{ "account", cmd_account, "use SERVICE ACCOUNT | account reset SERVICE",
	  "choose the account a command without --account uses for SERVICE\n"
	  "(kept in $XDG_STATE_HOME/kiwi-auth/accounts/), or forget the\n"
	  "choice: then the stanza's default_account, else the only\n"
	  "account, else \"default\"" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_summary(FILE *f, const char *summary)
{
	const char *p = summary;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		fprintf(f, "      %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: kiwi-auth [--config PATH] [--json] [-v] COMMAND [ARGS]\n"
		"       kiwi-auth --help | --version\n"
		"\n"
		"Options:\n"
		"  -C, --config PATH  a config file, or a directory holding\n"
		"                     kiwi-auth.conf and services.d/ (default:\n"
		"                     $KIWI_AUTH_CONFIG, else the system and user\n"
		"                     configuration)\n"
		"  -J, --json         machine-readable output (services, status,\n"
		"                     check)\n"
		"  -v, --verbose      also print informational and debug log\n"
		"                     messages (never a token)\n"
		"  -h, --help         this help; COMMAND --help for one command\n"
		"  -V, --version      print the version and the module ABI\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
		print_summary(f, commands[i].summary);
	}
	fprintf(f,
		"\n"
		"Exit status:\n"
		"  0  success\n"
		"  1  other failure\n"
		"  2  usage error\n"
		"  3  configuration error (unknown or disabled service, bad\n"
		"     configuration, a module that cannot be loaded)\n"
		"  4  not signed in (authentication required, token expired)\n"
		"  5  a source was unavailable (keyring locked, unsafe file\n"
		"     permissions, timeout, corrupt record, ...)\n"
		"  6  request: the URL's origin or the scope is not allowed;\n"
		"     kube-credential: the service does not export to kubectl\n"
		"  7  request: the server answered with an HTTP error (>= 400)\n"
		"\n"
		"Modules are loaded from $KIWI_AUTH_MODULE_DIR if set.\n");
}

void cli_command_help(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].name, name) != 0)
			continue;
		printf("Usage: kiwi-auth %s %s\n", name, commands[i].args);
		print_summary(stdout, commands[i].summary);
		return;
	}
}

static const struct cli_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* As ssh-agent does: no core dumps and no ptrace by other users, so a
 * token in memory cannot end up in a file. Files are private. */
static void harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		cli_warn("could not disable core dumps (prctl)");
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		cli_warn("could not disable core dumps (setrlimit)");
	umask(077);
}

static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("could not write to standard output");
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char progname[] = "kiwi-auth";
	static char cmdname[64];
	struct cli_opts o = { NULL, 0, 0 };
	const struct cli_cmd *cmd;
	int c;

	harden();
	if (argc < 1)
		return CLI_EXIT_USAGE;
	argv[0] = progname;	/* getopt's messages start with it */
	while ((c = getopt_long(argc, argv, "+C:J" CLI_COMMON_SHORT "V",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o.config = optarg;
			break;
		case 'J':
			o.json = 1;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return finish(CLI_EXIT_OK);
		case 'V':
			printf("kiwi-auth %s\nmodule ABI %d.%d\n",
			       PACKAGE_VERSION, KA_MODULE_ABI_MAJOR,
			       KA_MODULE_ABI_MINOR);
			return finish(CLI_EXIT_OK);
		default:
			fprintf(stderr, "Try 'kiwi-auth --help'.\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (cmd == NULL) {
		cli_error("unknown command '%s'; run 'kiwi-auth --help'",
			  argv[optind]);
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	snprintf(cmdname, sizeof(cmdname), "kiwi-auth %s", cmd->name);
	argv[0] = cmdname;
	optind = 0;		/* reinitialise getopt for the command */
	return finish(cmd->run(&o, argc, argv));
}
