/* SPDX-License-Identifier: MIT */
/* cmd_check.c: `kiwi-auth check`: load the configuration and every module, list the problems. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>

#include "cli.h"

/* A disabled service whose reason is not among the diagnostics still
 * counts: check never says OK while a service is unusable. */
static size_t print_problems(const struct ka_ctx *ctx, json_t *list)
{
	size_t i, n = ka_ctx_diag_count(ctx), problems = n;

	for (i = 0; i < n; i++) {
		const char *d = ka_ctx_diag(ctx, i);

		fprintf(stderr, "%s\n", d);
		if (list != NULL)
			json_array_append_new(list, json_string(d));
	}
	if (n > 0)
		return problems;
	for (i = 0; i < ka_service_count(ctx); i++) {
		const char *why = ka_service_error(ka_service_at(ctx, i));

		if (why == NULL)
			continue;
		problems++;
		fprintf(stderr, "%s\n", why);
		if (list != NULL)
			json_array_append_new(list, json_string(why));
	}
	return problems;
}

int cmd_check(struct cli_opts *o, int argc, char **argv)
{
	struct ka_ctx *ctx = NULL;
	json_t *list = NULL;
	size_t problems, nservices;
	int rc;

	if (cli_getopt(o, "check", argc, argv, CLI_COMMON_SHORT, cli_longopts,
		       NULL, &rc) == CLI_OPT_STOP)
		return rc;
	if (optind < argc)
		return cli_usage("check", "check takes no arguments");
	rc = cli_open(o, 1, &ctx);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o->json && (list = json_array()) == NULL) {
		ka_ctx_free(ctx);
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	problems = print_problems(ctx, list);
	nservices = ka_service_count(ctx);
	ka_ctx_free(ctx);
	rc = problems > 0 ? CLI_EXIT_CONFIG : CLI_EXIT_OK;
	if (list != NULL) {
		int jrc = cli_json_print(json_pack("{s:b, s:I, s:o}",
			"ok", problems == 0, "services", (json_int_t)nservices,
			"diagnostics", list));

		return jrc != CLI_EXIT_OK ? jrc : rc;
	}
	if (problems == 0)
		printf("configuration OK: %zu services\n", nservices);
	return rc;
}
