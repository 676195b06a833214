/* SPDX-License-Identifier: MIT */
/* util.c: helpers shared by the kiwi-auth commands: exit codes, messages, context. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* The one place where a library status becomes an exit code. */
int cli_exit_code(enum ka_status st, const ka_error *err)
{
	if (st == KA_OK)
		return CLI_EXIT_OK;
	if (err != NULL && err->auth_required)
		return CLI_EXIT_AUTH;
	switch (st) {
	case KA_ERR_NOT_FOUND:
	case KA_ERR_EXPIRED:
		return CLI_EXIT_AUTH;
	case KA_ERR_CONFIG:
	case KA_ERR_MODULE:
	case KA_ERR_NO_SERVICE:
		return CLI_EXIT_CONFIG;
	case KA_ERR_UNAVAILABLE:
	case KA_ERR_PERMISSION:
	case KA_ERR_TRY_AGAIN:
	case KA_ERR_TIMEOUT:
	case KA_ERR_CORRUPT:
		return CLI_EXIT_UNAVAILABLE;
	default:
		return CLI_EXIT_FAILURE;
	}
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
	CLI_PRINTF(2, 0);
static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	fputs("kiwi-auth: ", stderr);
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'kiwi-auth %s --help'.\n", cmd);
	return CLI_EXIT_USAGE;
}

int cli_report(enum ka_status st, const ka_error *err)
{
	if (err != NULL && err->text[0] != '\0')
		cli_error("%s", err->text);
	else
		cli_error("%s", ka_strerror(st));
	return cli_exit_code(st, err);
}

const struct option cli_longopts[] = {
	CLI_COMMON_LONG,
	{ NULL, 0, NULL, 0 },
};

const struct option cli_account_longopts[] = {
	CLI_COMMON_LONG,
	{ "account", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

/* A common option from a command's getopt loop: -1 when c is not one,
 * else an exit code to return or CLI_EXIT_OK to carry on (*done set when
 * the command should stop, as after --help). */
static int common_option(struct cli_opts *o, const char *cmd, int c, int *done)
{
	*done = 0;
	switch (c) {
	case 'C':
		o->config = optarg;
		return CLI_EXIT_OK;
	case 'J':
		o->json = 1;
		return CLI_EXIT_OK;
	case 'v':
		o->verbose++;
		return CLI_EXIT_OK;
	case 'h':
		cli_command_help(cmd);
		*done = 1;
		return CLI_EXIT_OK;
	case '?':
	case ':':
		fprintf(stderr, "Try 'kiwi-auth %s --help'.\n", cmd);
		*done = 1;
		return CLI_EXIT_USAGE;
	default:
		return -1;
	}
}

int cli_getopt(struct cli_opts *o, const char *cmd, int argc, char **argv,
	       const char *shortopts, const struct option *longopts,
	       const char **account, int *rc)
{
	int c, done;

	*rc = CLI_EXIT_OK;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'a' && account != NULL) {
			*account = optarg;
			continue;
		}
		*rc = common_option(o, cmd, c, &done);
		if (done)
			return CLI_OPT_STOP;
		if (*rc < 0) {
			*rc = CLI_EXIT_OK;
			return c;
		}
	}
	return CLI_OPT_END;
}

int cli_service_arg(const char *cmd, int argc, char **argv, int optional,
		    const char *account, const char **service)
{
	int n = argc - optind, rc;

	*service = NULL;
	if (optional && n > 1)
		return cli_usage(cmd, "%s takes at most one SERVICE", cmd);
	if (!optional && n != 1)
		return cli_usage(cmd, "%s needs exactly one SERVICE", cmd);
	if ((rc = cli_check_account(cmd, account)) == CLI_EXIT_OK && n == 1)
		*service = argv[optind];
	return rc;
}

/* Library and module log messages; they never hold a token. */
static void log_sink(int level, const char *message, void *data)
{
	const struct cli_opts *o = data;

	if (level <= 3)
		cli_error("%s", message);
	else if (level <= 5)
		cli_warn("%s", message);
	else if (o->verbose > 0)
		fprintf(stderr, "kiwi-auth: %s: %s\n",
			level == 6 ? "info" : "debug", message);
}

int cli_open(const struct cli_opts *o, int quiet_diag, struct ka_ctx **out)
{
	struct ka_options kopts = {
		.config = o->config, .flags = KA_CTX_LENIENT,
		.log = log_sink, .log_data = (void *)o,
	};
	struct ka_ctx *ctx = NULL;
	enum ka_status st;
	ka_error err;
	size_t n;

	*out = NULL;
	ka_error_clear(&err);
	st = ka_ctx_new(&kopts, &ctx, &err);
	if (st != KA_OK)
		return cli_report(st, &err);
	n = ka_ctx_diag_count(ctx);
	/* A file that could not be read at all hides its services: only
	 * check (which lists every problem) goes on. */
	if (!quiet_diag && ka_ctx_config_status(ctx) != KA_OK) {
		cli_error("%s%s", n > 0 ? ka_ctx_diag(ctx, 0) : "configuration error",
			  n > 1 ? " (run 'kiwi-auth check' for all problems)" : "");
		ka_ctx_free(ctx);
		return CLI_EXIT_CONFIG;
	}
	if (n > 0 && !quiet_diag)
		cli_warn("the configuration has %zu problem%s; run "
			 "'kiwi-auth check' to see %s", n, n == 1 ? "" : "s",
			 n == 1 ? "it" : "them");
	*out = ctx;
	return CLI_EXIT_OK;
}

/* Names are echoed only when they are plain text. */
static int printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int cli_service(const struct ka_ctx *ctx, const char *name,
		const struct ka_service **out)
{
	const struct ka_service *s;
	const char *why;

	*out = NULL;
	s = printable(name) ? ka_service_find(ctx, name) : NULL;
	if (s == NULL) {
		cli_error("no service '%s' in the configuration; run "
			  "'kiwi-auth services' to list them",
			  printable(name) ? name : "?");
		return CLI_EXIT_CONFIG;
	}
	why = ka_service_error(s);
	if (why != NULL) {
		cli_error("service '%s' is disabled: %s", name, why);
		return CLI_EXIT_CONFIG;
	}
	*out = s;
	return CLI_EXIT_OK;
}

int cli_open_service(const struct cli_opts *o, const char *name,
		     struct ka_ctx **ctx, const struct ka_service **svc)
{
	struct ka_ctx *c = NULL;
	int rc;

	*ctx = NULL;
	*svc = NULL;
	if ((rc = cli_open(o, 0, &c)) != CLI_EXIT_OK)
		return rc;
	if (name != NULL && (rc = cli_service(c, name, svc)) != CLI_EXIT_OK) {
		ka_ctx_free(c);
		return rc;
	}
	*ctx = c;
	return CLI_EXIT_OK;
}

int cli_check_account(const char *cmd, const char *account)
{
	if (account == NULL)
		return CLI_EXIT_OK;
	if (account[0] == '\0' || !printable(account))
		return cli_usage(cmd, "--account needs a name without "
				 "control characters");
	return CLI_EXIT_OK;
}

int cli_json_print(json_t *value)
{
	int rc;

	if (value == NULL) {
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	rc = json_dumpf(value, stdout, JSON_INDENT(2));
	json_decref(value);
	if (rc != 0) {
		cli_error("could not write JSON output");
		return CLI_EXIT_FAILURE;
	}
	fputc('\n', stdout);
	return CLI_EXIT_OK;
}

int64_t cli_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- what a refresh module tells of a service (ka_service_describe) -- */

static void describe_json_cb(const char *key, const char *value, void *data)
{
	json_t *o = data;

	if (o != NULL && value != NULL)
		json_object_set_new(o, key, json_string(value));
}

json_t *cli_describe_json(struct ka_ctx *ctx, const char *service)
{
	json_t *o = json_object();
	ka_error err;

	ka_error_clear(&err);
	if (o != NULL && ka_service_describe(ctx, service, describe_json_cb, o,
					     &err) != KA_OK) {
		json_decref(o);
		return json_object();
	}
	return o;
}

/* The labels of the items, as `services` prints them. */
static const char *describe_label(const char *key)
{
	return strcmp(key, "client_registration") == 0 ? "registered" : key;
}

static void describe_print_cb(const char *key, const char *value, void *data)
{
	printf("%s%-12s%s\n", (const char *)data, describe_label(key), value);
}

void cli_describe_print(struct ka_ctx *ctx, const char *service,
			const char *indent)
{
	ka_error err;

	ka_error_clear(&err);
	ka_service_describe(ctx, service, describe_print_cb, (void *)indent,
			    &err);
}

const char *cli_pick_account(struct ka_ctx *ctx, const char *service,
			     const char *account, char buf[257], int only_ok)
{
	const char *why = NULL;
	ka_error err;

	if (account != NULL || service == NULL)
		return account;
	ka_error_clear(&err);
	if (ka_account_pick(ctx, service, NULL, buf, 257, &why, &err) != KA_OK) {
		cli_warn("%s; using account %s", err.text, KA_ACCOUNT_DEFAULT);
		return KA_ACCOUNT_DEFAULT;
	}
	if (!only_ok && strcmp(why, "only") == 0)
		return KA_ACCOUNT_DEFAULT;
	return buf;
}
