/* cli.h: declarations shared by the parts of the kiwi-auth command-line tool. */
#ifndef KIWI_AUTH_CLI_H
#define KIWI_AUTH_CLI_H

#include <getopt.h>
#include <stdint.h>

#include <jansson.h>

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
/* Handles a common option from a command's getopt loop: returns -1 when c
 * is not a common option, else an exit code to return or CLI_EXIT_OK to
 * carry on (*done set when the command should stop, as after --help). */
int cli_common_option(struct cli_opts *o, const char *cmd, int c, int *done);
/* Opens the context leniently and installs the log sink. quiet_diag:
 * do not warn about diagnostics (the caller prints them). Returns an exit
 * code; *out is owned by the caller on CLI_EXIT_OK. */
int cli_open(const struct cli_opts *o, int quiet_diag, struct ka_ctx **out);
/* Finds a usable service: unknown or disabled services are reported and
 * give CLI_EXIT_CONFIG. */
int cli_service(const struct ka_ctx *ctx, const char *name,
		const struct ka_service **out);
/* Checks an --account value; returns an exit code. */
int cli_check_account(const char *cmd, const char *account);
/* Writes a JSON value to stdout and frees it. Returns an exit code. */
int cli_json_print(json_t *value);
int64_t cli_now(void);

/* Commands. */
int cmd_services(struct cli_opts *o, int argc, char **argv);
int cmd_check(struct cli_opts *o, int argc, char **argv);
int cmd_status(struct cli_opts *o, int argc, char **argv);
int cmd_token(struct cli_opts *o, int argc, char **argv);
int cmd_logout(struct cli_opts *o, int argc, char **argv);
int cmd_signin(struct cli_opts *o, int argc, char **argv);
int cmd_refresh(struct cli_opts *o, int argc, char **argv);
int cmd_request(struct cli_opts *o, int argc, char **argv);

#endif /* KIWI_AUTH_CLI_H */
