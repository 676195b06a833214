/* SPDX-License-Identifier: MIT */
/* cmd_services.c: `kiwi-auth services`: list the configured services. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>

#include "cli.h"

static json_t *json_strings(const struct ka_service *s,
			    size_t (*count)(const struct ka_service *),
			    const char *(*at)(const struct ka_service *, size_t))
{
	json_t *a = json_array();
	size_t i, n = count(s);

	for (i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(at(s, i))) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *json_sources(const struct ka_service *s)
{
	json_t *a = json_array();
	size_t i, n = ka_service_source_count(s);

	for (i = 0; a != NULL && i < n; i++) {
		json_t *e = json_pack("{s:s?, s:s?, s:b}",
			"module", ka_service_source_module(s, i),
			"control", ka_control_name(
				ka_service_source_control(s, i)),
			"writable", ka_service_source_writable(s, i));

		if (json_array_append_new(a, e) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *json_service(struct ka_ctx *ctx, const struct ka_service *s)
{
	return json_pack("{s:s, s:s?, s:s?, s:o, s:o, s:s?, s:o, s:s?, "
			 "s:o, s:I, s:b, s:s?}",
		"name", ka_service_name(s),
		"description", ka_service_description(s),
		"origin", ka_service_origin(s),
		"hosts", json_strings(s, ka_service_host_count,
				      ka_service_host),
		"scopes", json_strings(s, ka_service_scope_count,
				       ka_service_scope),
		"header", ka_service_header(s),
		"sources", json_sources(s),
		"refresh", ka_service_refresh_module(s),
		"auth", cli_describe_json(ctx, ka_service_name(s)),
		"min_valid", (json_int_t)ka_service_min_valid(s),
		"locked", ka_service_locked(s),
		"error", ka_service_error(s));
}

static int print_json(struct ka_ctx *ctx)
{
	json_t *services = json_array(), *diags = json_array();
	size_t i;

	for (i = 0; services != NULL && i < ka_service_count(ctx); i++) {
		if (json_array_append_new(services,
				json_service(ctx, ka_service_at(ctx, i))) != 0) {
			json_decref(services);
			services = NULL;
		}
	}
	for (i = 0; diags != NULL && i < ka_ctx_diag_count(ctx); i++) {
		if (json_array_append_new(diags,
				json_string(ka_ctx_diag(ctx, i))) != 0) {
			json_decref(diags);
			diags = NULL;
		}
	}
	return cli_json_print(json_pack("{s:o, s:o}", "services", services,
					"diagnostics", diags));
}

static void print_list(const char *label, const struct ka_service *s,
		       size_t (*count)(const struct ka_service *),
		       const char *(*at)(const struct ka_service *, size_t))
{
	size_t i, n = count(s);

	printf("  %-12s", label);
	if (n == 0)
		printf("(none)");
	for (i = 0; i < n; i++)
		printf("%s%s", i > 0 ? " " : "", at(s, i));
	printf("\n");
}

static void print_service(struct ka_ctx *ctx, const struct ka_service *s)
{
	const char *desc = ka_service_description(s);
	const char *why = ka_service_error(s);
	const char *refresh = ka_service_refresh_module(s);
	size_t i, n = ka_service_source_count(s);

	printf("%s%s%s%s\n", ka_service_name(s), desc != NULL ? "  " : "",
	       desc != NULL ? desc : "", why != NULL ? "  [DISABLED]" : "");
	if (why != NULL)
		printf("  %-12s%s\n", "error", why);
	print_list("hosts", s, ka_service_host_count, ka_service_host);
	print_list("scopes", s, ka_service_scope_count, ka_service_scope);
	printf("  %-12s", "sources");
	if (n == 0)
		printf("(none)");
	for (i = 0; i < n; i++) {
		const char *m = ka_service_source_module(s, i);
		const char *ctl = ka_control_name(
			ka_service_source_control(s, i));

		printf("%s%s (%s%s)", i > 0 ? ", " : "", m != NULL ? m : "?",
		       ctl != NULL ? ctl : "?",
		       /* A disabled service's modules were never loaded:
			* whether they can write is unknown, so say nothing. */
		       ka_service_error(s) != NULL ||
		       ka_service_source_writable(s, i) ? "" : ", read-only");
	}
	printf("\n");
	printf("  %-12s%s\n", "refresh", refresh != NULL ? refresh : "(none)");
	if (why == NULL)
		cli_describe_print(ctx, ka_service_name(s), "  ");
	printf("  %-12s%lds\n", "min_valid", ka_service_min_valid(s));
	if (ka_service_locked(s))
		printf("  %-12s%s\n", "locked", "yes");
	if (ka_service_origin(s) != NULL)
		printf("  %-12s%s\n", "defined at", ka_service_origin(s));
}

int cmd_services(struct cli_opts *o, int argc, char **argv)
{
	struct ka_ctx *ctx = NULL;
	size_t i;
	int rc;

	if (cli_getopt(o, "services", argc, argv, CLI_COMMON_SHORT,
		       cli_longopts, NULL, &rc) == CLI_OPT_STOP)
		return rc;
	if (optind < argc)
		return cli_usage("services", "services takes no arguments");
	rc = cli_open(o, 0, &ctx);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (o->json) {
		rc = print_json(ctx);
	} else if (ka_service_count(ctx) == 0) {
		fprintf(stderr, "kiwi-auth: no services are configured\n");
	} else {
		for (i = 0; i < ka_service_count(ctx); i++) {
			if (i > 0)
				printf("\n");
			print_service(ctx, ka_service_at(ctx, i));
		}
	}
	ka_ctx_free(ctx);
	return rc;
}
