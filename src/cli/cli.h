/* SPDX-License-Identifier: MIT */
/* cli.h: declarations shared by the parts of the kiwi-auth command-line tool. */
#ifndef KIWI_AUTH_CLI_H
#define KIWI_AUTH_CLI_H

#include <getopt.h>
#include <stdint.h>

#include <jansson.h>

/* Set by configure; the default only lets a file be compiled on its own. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#include "kiwiauth.h"

/* Exit codes: documented in `kiwi-auth --help`. */
#define CLI_EXIT_OK		0
#define CLI_EXIT_FAILURE	1
#define CLI_EXIT_USAGE		2
#define CLI_EXIT_CONFIG		3
#define CLI_EXIT_AUTH		4
#define CLI_EXIT_UNAVAILABLE	5
#define CLI_EXIT_DENIED		6	/* request: origin or scope not allowed */
#define CLI_EXIT_HTTP		7	/* request: the server answered >= 400 */

#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Global options; commands accept them after their name too. */
struct cli_opts {
	const char *config;	/* --config PATH, or NULL */
	int json;		/* --json */
	int verbose;		/* -v, repeatable */
};

/* Long options every command understands, and their short letters. */
#define CLI_COMMON_SHORT "hv"
#define CLI_COMMON_LONG							\
	{ "config", required_argument, NULL, 'C' },			\
	{ "json", no_argument, NULL, 'J' },				\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "help", no_argument, NULL, 'h' }

/* Long options of a command with none of its own, and of one whose only
 * own option is --account (util.c). */
extern const struct option cli_longopts[];
extern const struct option cli_account_longopts[];

/* A command: argv[0] is its name, options are parsed by the command. */
typedef int (*cli_cmd_fn)(struct cli_opts *o, int argc, char **argv);

/* main.c */
void cli_command_help(const char *name);	/* usage of one command */

/* util.c */
int cli_exit_code(enum ka_status st, const ka_error *err);
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Prints the message and the command's usage; returns CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* Prints err->text (or the status name) and returns the exit code. */
int cli_report(enum ka_status st, const ka_error *err);
/* What cli_getopt returns besides one of the command's own options. */
#define CLI_OPT_END	-1	/* no more options: the operands follow */
#define CLI_OPT_STOP	-2	/* return *rc at once (--help, usage error) */
/* getopt_long for a command: handles the common options, and --account
 * ('a', into *account) when account is not NULL, and returns the next
 * option that is the command's own, CLI_OPT_END or CLI_OPT_STOP. */
int cli_getopt(struct cli_opts *o, const char *cmd, int argc, char **argv,
	       const char *shortopts, const struct option *longopts,
	       const char **account, int *rc);
/* After the options: at most one SERVICE operand when optional, else
 * exactly one, and a sane --account. Returns an exit code; *service is
 * the operand, or NULL when an optional one is not given. */
int cli_service_arg(const char *cmd, int argc, char **argv, int optional,
		    const char *account, const char **service);
/* Opens the context leniently and installs the log sink. quiet_diag:
 * do not warn about diagnostics (the caller prints them). Returns an exit
 * code; *out is owned by the caller on CLI_EXIT_OK. */
int cli_open(const struct cli_opts *o, int quiet_diag, struct ka_ctx **out);
/* Finds a usable service: unknown or disabled services are reported and
 * give CLI_EXIT_CONFIG. */
int cli_service(const struct ka_ctx *ctx, const char *name,
		const struct ka_service **out);
/* cli_open, then cli_service when name is not NULL (else *svc is NULL).
 * On any exit code but CLI_EXIT_OK nothing is left open. */
int cli_open_service(const struct cli_opts *o, const char *name,
		     struct ka_ctx **ctx, const struct ka_service **svc);
/* Checks an --account value; returns an exit code. */
int cli_check_account(const char *cmd, const char *account);
/* account when not NULL; else the account ka_account_pick chooses for
 * service (the user's choice, default_account, the only one), in buf;
 * !only_ok: not merely because it is the only one (a command that
 * destroys something acts on an account that was named somewhere). */
const char *cli_pick_account(struct ka_ctx *ctx, const char *service,
			     const char *account, char buf[257], int only_ok);
/* Writes a JSON value to stdout and frees it. Returns an exit code. */
int cli_json_print(json_t *value);
int64_t cli_now(void);
/* What the service's refresh module tells of it (issuer, resource,
 * client registration; never a secret): a JSON object (new reference,
 * empty when nothing is known), or one "INDENT%-12s VALUE" line each. */
json_t *cli_describe_json(struct ka_ctx *ctx, const char *service);
void cli_describe_print(struct ka_ctx *ctx, const char *service,
			const char *indent);

/* Commands. */
int cmd_services(struct cli_opts *o, int argc, char **argv);
int cmd_check(struct cli_opts *o, int argc, char **argv);
int cmd_status(struct cli_opts *o, int argc, char **argv);
int cmd_token(struct cli_opts *o, int argc, char **argv);
int cmd_logout(struct cli_opts *o, int argc, char **argv);
int cmd_signin(struct cli_opts *o, int argc, char **argv);
int cmd_refresh(struct cli_opts *o, int argc, char **argv);
int cmd_request(struct cli_opts *o, int argc, char **argv);
int cmd_kube_credential(struct cli_opts *o, int argc, char **argv);
int cmd_account(struct cli_opts *o, int argc, char **argv);

#endif /* KIWI_AUTH_CLI_H */
