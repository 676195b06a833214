/* SPDX-License-Identifier: MIT */
/* cmd_bridge.c: `kiwi-auth kube-credential` (a kubectl ExecCredential on
 * stdout, where the service's `export` names kubectl) and `kiwi-auth
 * account use|reset` (the user's choice of a service's default account). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "cli.h"

/* ---- kube-credential ------------------------------------------------------ */

struct kube_out {
	const char *api_version;
};

/* The ExecCredential is built in one buffer that is wiped after it was
 * written, straight to fd 1 (not through stdio, whose buffer is not). */
static enum ka_status kube_write(const char *token, size_t len,
				 int64_t expires_at, void *data)
{
	const struct kube_out *ko = data;
	char when[64] = "", *buf;
	size_t cap = 2 * len + 512, pos = 0;
	enum ka_status st = KA_OK;
	int r;

	if ((buf = malloc(cap)) == NULL)
		return KA_ERR_NOMEM;
	r = snprintf(buf, cap, "{\"apiVersion\":\"%s\",\"kind\":"
		     "\"ExecCredential\",\"status\":{\"token\":\"",
		     ko->api_version);
	pos = (size_t)r;
	for (size_t i = 0; i < len; i++) {
		if (token[i] == '"' || token[i] == '\\')
			buf[pos++] = '\\';
		buf[pos++] = token[i];
	}
	if (bridge_rfc3339(expires_at, when, sizeof(when)) == 0)
		r = snprintf(buf + pos, cap - pos, "\",\"expirationTimestamp\":"
			     "\"%s\"}}\n", when);
	else
		r = snprintf(buf + pos, cap - pos, "\"}}\n");
	pos += (size_t)r;
	if (bridge_write_all(1, buf, pos) != 0)
		st = KA_ERR_IO;
	explicit_bzero(buf, cap);
	free(buf);
	return st;
}

static int run_kube(struct cli_opts *o, const char *service,
		    const char *account)
{
	struct kube_out ko;
	const struct ka_service *svc;
	struct ka_ctx *ctx = NULL;
	const char *why = NULL;
	enum ka_status st;
	ka_error err;
	int rc;

	ko.api_version = bridge_kube_api_version(getenv("KUBERNETES_EXEC_INFO"),
						 &why);
	if (ko.api_version == NULL) {
		cli_error("KUBERNETES_EXEC_INFO %s; kubectl sends "
			  "client.authentication.k8s.io/v1 or v1beta1", why);
		return CLI_EXIT_USAGE;
	}
	if ((rc = cli_open_service(o, service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	ka_error_clear(&err);
	st = ka_export(ctx, service, account, "kubectl", kube_write, &ko, &err);
	rc = st == KA_OK ? CLI_EXIT_OK : cli_report(st, &err);
	if (st == KA_ERR_DENIED)
		rc = CLI_EXIT_DENIED;	/* not exported to kubectl */
	ka_ctx_free(ctx);
	return rc;
}

int cmd_kube_credential(struct cli_opts *o, int argc, char **argv)
{
	const char *account = NULL, *service;
	int rc;

	if (cli_getopt(o, "kube-credential", argc, argv, CLI_COMMON_SHORT "a:",
		       cli_account_longopts, &account, &rc) == CLI_OPT_STOP)
		return rc;
	if ((rc = cli_service_arg("kube-credential", argc, argv, 0, account,
				  &service)) != CLI_EXIT_OK)
		return rc;
	return run_kube(o, service, account);
}

/* ---- account use | reset -------------------------------------------------- */

int cmd_account(struct cli_opts *o, int argc, char **argv)
{
	const struct ka_service *svc;
	struct ka_ctx *ctx = NULL;
	const char *verb, *service, *account = NULL;
	enum ka_status st;
	ka_error err;
	int rc, n;

	if (cli_getopt(o, "account", argc, argv, CLI_COMMON_SHORT, cli_longopts,
		       NULL, &rc) == CLI_OPT_STOP)
		return rc;
	n = argc - optind;
	verb = n > 0 ? argv[optind] : "";
	if (strcmp(verb, "use") == 0 && n == 3)
		account = argv[optind + 2];
	else if (!(strcmp(verb, "reset") == 0 && n == 2))
		return cli_usage("account", "account takes 'use SERVICE ACCOUNT' "
				 "or 'reset SERVICE'");
	service = argv[optind + 1];
	if ((rc = cli_check_account("account", account)) != CLI_EXIT_OK ||
	    (rc = cli_open_service(o, service, &ctx, &svc)) != CLI_EXIT_OK)
		return rc;
	ka_error_clear(&err);
	st = ka_account_use(ctx, service, account, &err);
	if (st != KA_OK)
		rc = cli_report(st, &err);
	else if (account != NULL)
		printf("%s: account %s is the default now\n", service, account);
	else
		printf("%s: the default account is no longer chosen here\n",
		       service);
	ka_ctx_free(ctx);
	return rc;
}
