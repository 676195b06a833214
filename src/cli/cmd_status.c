/* SPDX-License-Identifier: MIT */
/* cmd_status.c: `kiwi-auth status`: whether each service and account is signed in (never a token). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One line of the report: one (service, account). */
struct row {
	const char *service;	/* borrowed from the context */
	char *account;
	const char *state;	/* signed-in, unusable, not-signed-in,
				 * unavailable, error */
	char *source;		/* module the record came from, or NULL */
	int has_record;
	int64_t expires_at;	/* or KA_EXPIRES_NEVER */
	char *scopes;		/* space-separated, or NULL */
	json_t *scope_list;
	int refreshable;
	char *message;		/* why not signed in, or NULL */
	const char *dflt;	/* how this is the default account, or NULL */
	int rc;			/* exit code this row stands for */
};

struct report {
	struct row *rows;
	size_t n, cap;
	int64_t now;
	int oom;
};

struct accounts {
	char **v;
	size_t n, cap;
	int oom;
};

static void accounts_add(struct accounts *a, const char *name)
{
	size_t i;
	char **v;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], name) == 0)
			return;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 4;
		v = realloc(a->v, a->cap * sizeof(*v));
		if (v == NULL) {
			a->oom = 1;
			return;
		}
		a->v = v;
	}
	if ((a->v[a->n] = strdup(name)) == NULL)
		a->oom = 1;
	else
		a->n++;
}

static void accounts_cb(const char *account, void *data)
{
	if (account != NULL)
		accounts_add(data, account);
}

static void accounts_clear(struct accounts *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static struct row *row_add(struct report *rep, const char *service,
			   const char *account)
{
	struct row *r;

	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 8;

		r = realloc(rep->rows, cap * sizeof(*r));
		if (r == NULL) {
			rep->oom = 1;
			return NULL;
		}
		rep->rows = r;
		rep->cap = cap;
	}
	r = &rep->rows[rep->n];
	memset(r, 0, sizeof(*r));
	r->service = service;
	r->account = strdup(account);
	if (r->account == NULL) {
		rep->oom = 1;
		return NULL;
	}
	rep->n++;
	return r;
}

static void report_clear(struct report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++) {
		free(rep->rows[i].account);
		free(rep->rows[i].source);
		free(rep->rows[i].scopes);
		free(rep->rows[i].message);
		json_decref(rep->rows[i].scope_list);
	}
	free(rep->rows);
}

static char *join_scopes(const struct ka_record *rec, json_t *list)
{
	size_t i, n = ka_record_scope_count(rec), len = 1;
	char *s;

	for (i = 0; i < n; i++) {
		len += strlen(ka_record_scope(rec, i)) + 1;
		json_array_append_new(list, json_string(ka_record_scope(rec, i)));
	}
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	for (i = 0, len = 0; i < n; i++) {
		const char *sc = ka_record_scope(rec, i);
		size_t k = strlen(sc);

		if (i > 0)
			s[len++] = ' ';
		memcpy(s + len, sc, k);
		len += k;
	}
	return s;
}

static void row_signed_in(struct row *row, const struct ka_service *svc,
			  const struct ka_record *rec, int64_t now)
{
	const char *src = ka_record_source(rec);
	const char *fix = ka_service_refresh_module(svc) != NULL ?
		"sign in again with 'kiwi-auth signin" :
		"store a new one with 'kiwi-auth token set";

	row->has_record = 1;
	row->state = "signed-in";
	row->rc = CLI_EXIT_OK;
	row->source = src != NULL ? strdup(src) : NULL;
	row->expires_at = ka_record_expires_at(rec);
	row->scope_list = json_array();
	row->scopes = join_scopes(rec, row->scope_list);
	row->refreshable = ka_record_has_refresh_token(rec) &&
		ka_service_refresh_module(svc) != NULL;
	if (row->refreshable)
		return;
	/* The broker's rule (kai_record_usable): an access token more than
	 * min_valid seconds from expiry, or the record is not used. */
	if (!ka_record_has_access_token(rec) || row->expires_at <= now) {
		row->state = "not-signed-in";
		row->rc = CLI_EXIT_AUTH;
		if (asprintf(&row->message, "the token of %s expired and "
			     "cannot be refreshed; %s %s'",
			     ka_service_name(svc), fix, ka_service_name(svc)) < 0)
			row->message = NULL;
	} else if (row->expires_at != KA_EXPIRES_NEVER &&
		   row->expires_at - now <= ka_service_min_valid(svc)) {
		row->state = "unusable";
		row->rc = CLI_EXIT_AUTH;
		if (asprintf(&row->message, "the token of %s expires in %lld s, "
			     "within min_valid (%ld s), and cannot be "
			     "refreshed, so it is not used; %s %s'",
			     ka_service_name(svc),
			     (long long)(row->expires_at - now),
			     ka_service_min_valid(svc), fix,
			     ka_service_name(svc)) < 0)
			row->message = NULL;
	}
}

static void row_failed(struct row *row, enum ka_status st, const ka_error *err)
{
	row->rc = cli_exit_code(st, err);
	switch (row->rc) {
	case CLI_EXIT_AUTH:
		row->state = "not-signed-in";
		break;
	case CLI_EXIT_UNAVAILABLE:
		row->state = "unavailable";
		break;
	default:
		row->state = "error";
		break;
	}
	row->message = strdup(err->text[0] != '\0' ? err->text
			      : ka_strerror(st));
}

static void report_account(struct report *rep, struct ka_ctx *ctx,
			   const struct ka_service *svc, const char *account)
{
	struct ka_record *rec = NULL;
	struct row *row;
	enum ka_status st;
	ka_error err;

	row = row_add(rep, ka_service_name(svc), account);
	if (row == NULL)
		return;
	ka_error_clear(&err);
	st = ka_load(ctx, ka_service_name(svc), account, &rec, &err);
	if (st == KA_OK && rec != NULL)
		row_signed_in(row, svc, rec, rep->now);
	else
		row_failed(row, st == KA_OK ? KA_ERR_NOT_FOUND : st, &err);
	ka_record_free(rec);
}

static void report_service(struct report *rep, struct ka_ctx *ctx,
			   const struct ka_service *svc, const char *account)
{
	struct accounts acc = { NULL, 0, 0, 0 };
	const char *why = NULL;
	char dflt[257];
	struct row *row;
	ka_error err;
	size_t i;

	if (ka_service_error(svc) != NULL) {
		row = row_add(rep, ka_service_name(svc),
			      account != NULL ? account : KA_ACCOUNT_DEFAULT);
		if (row == NULL)
			return;
		row->state = "error";
		row->rc = CLI_EXIT_CONFIG;
		row->message = strdup(ka_service_error(svc));
		return;
	}
	if (account != NULL) {
		report_account(rep, ctx, svc, account);
		return;
	}
	/* The default account always shows, first; then every account a
	 * source can list. A source that cannot list is the library's to
	 * skip. */
	ka_error_clear(&err);
	if (ka_account_pick(ctx, ka_service_name(svc), NULL, dflt,
			    sizeof(dflt), &why, &err) != KA_OK) {
		snprintf(dflt, sizeof(dflt), "%s", KA_ACCOUNT_DEFAULT);
		why = NULL;
	}
	if (why != NULL && strcmp(why, "only") == 0 &&
	    strcmp(dflt, KA_ACCOUNT_DEFAULT) == 0)
		why = "default";
	accounts_add(&acc, dflt);
	ka_error_clear(&err);
	(void)ka_accounts(ctx, ka_service_name(svc), accounts_cb, &acc, &err);
	for (i = 0; i < acc.n; i++) {
		size_t at = rep->n;

		report_account(rep, ctx, svc, acc.v[i]);
		if (i == 0 && rep->n > at)
			rep->rows[at].dflt = why != NULL ? why : "default";
	}
	if (acc.oom)
		rep->oom = 1;
	accounts_clear(&acc);
}

/* Seconds until a (not never-expiring) token expires, negative once it
 * has; times before the epoch count as the epoch (no overflow). */
static int64_t seconds_left(const struct row *r, int64_t now)
{
	return (r->expires_at < 0 ? 0 : r->expires_at) - now;
}

static void format_expiry(const struct row *r, int64_t now, char *buf,
			  size_t len)
{
	int64_t d = seconds_left(r, now);

	if (!r->has_record)
		snprintf(buf, len, "-");
	else if (r->expires_at == KA_EXPIRES_NEVER)
		snprintf(buf, len, "never");
	else if (d <= 0)
		snprintf(buf, len, "expired");
	else if (d < 60)
		snprintf(buf, len, "%llds", (long long)d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm %llds", (long long)(d / 60),
			 (long long)(d % 60));
	else if (d < 86400)
		snprintf(buf, len, "%lldh %lldm", (long long)(d / 3600),
			 (long long)(d % 3600 / 60));
	else
		snprintf(buf, len, "%lldd %lldh", (long long)(d / 86400),
			 (long long)(d % 86400 / 3600));
}

static void print_table(const struct report *rep)
{
	static const char *const head[] = { "SERVICE", "ACCOUNT", "STATE",
		"SOURCE", "EXPIRES IN", "REFRESHABLE", "SCOPES" };
	size_t w[6], i, k;
	char exp[32];

	for (k = 0; k < 6; k++)
		w[k] = strlen(head[k]);
	for (i = 0; i < rep->n; i++) {
		const struct row *r = &rep->rows[i];

		format_expiry(r, rep->now, exp, sizeof(exp));
		if (strlen(r->service) > w[0])
			w[0] = strlen(r->service);
		if (strlen(r->account) > w[1])
			w[1] = strlen(r->account);
		if (strlen(r->state) > w[2])
			w[2] = strlen(r->state);
		if (r->source != NULL && strlen(r->source) > w[3])
			w[3] = strlen(r->source);
		if (strlen(exp) > w[4])
			w[4] = strlen(exp);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], head[0],
	       (int)w[1], head[1], (int)w[2], head[2], (int)w[3], head[3],
	       (int)w[4], head[4], (int)w[5], head[5], head[6]);
	for (i = 0; i < rep->n; i++) {
		const struct row *r = &rep->rows[i];

		format_expiry(r, rep->now, exp, sizeof(exp));
		printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n",
		       (int)w[0], r->service, (int)w[1], r->account,
		       (int)w[2], r->state, (int)w[3],
		       r->source != NULL ? r->source : "-", (int)w[4], exp,
		       (int)w[5], !r->has_record ? "-" :
		       r->refreshable ? "yes" : "no",
		       r->scopes != NULL && r->scopes[0] != '\0' ? r->scopes
		       : "-");
		if (r->dflt != NULL && strcmp(r->dflt, "default") != 0)
			printf("  default account of %s (%s)\n", r->service,
			       strcmp(r->dflt, "chosen") == 0 ?
			       "chosen with 'kiwi-auth account use'" :
			       strcmp(r->dflt, "only") == 0 ? "the only account" :
			       "default_account in its stanza");
		if (r->message != NULL)
			printf("  %s\n", r->message);
	}
}

static json_t *json_row(struct ka_ctx *ctx, const struct row *r, int64_t now)
{
	json_t *exp, *at;

	if (!r->has_record || r->expires_at == KA_EXPIRES_NEVER) {
		exp = r->has_record ? json_string("never") : json_null();
		at = json_null();
	} else {
		exp = json_integer((json_int_t)seconds_left(r, now));
		at = json_integer((json_int_t)r->expires_at);
	}
	return json_pack("{s:s, s:s, s:b, s:s?, s:s, s:s?, s:o, s:o, s:o, s:b, "
		"s:s?, s:o}",
		"service", r->service, "account", r->account,
		"default", r->dflt != NULL, "default_from", r->dflt,
		"state", r->state, "source", r->source, "expires_in", exp,
		"expires_at", at,
		"scopes", r->scope_list != NULL ? json_incref(r->scope_list)
			  : json_array(),
		"refreshable", r->refreshable, "message", r->message,
		"auth", cli_describe_json(ctx, r->service));
}

static int print_json(struct ka_ctx *ctx, const struct report *rep)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < rep->n; i++) {
		if (json_array_append_new(a, json_row(ctx, &rep->rows[i],
						       rep->now)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return cli_json_print(json_pack("{s:o}", "status", a));
}

/* With one SERVICE: 0 if an account asked about is signed in, else the
 * code of the first failure. Without: 0 whenever the report was made. */
static int status_exit(const struct report *rep, int one)
{
	size_t i;

	if (!one)
		return CLI_EXIT_OK;
	for (i = 0; i < rep->n; i++)
		if (rep->rows[i].rc == CLI_EXIT_OK)
			return CLI_EXIT_OK;
	return rep->n > 0 ? rep->rows[0].rc : CLI_EXIT_AUTH;
}

static int run_status(struct cli_opts *o, const char *service,
		      const char *account)
{
	struct report rep = { NULL, 0, 0, cli_now(), 0 };
	const struct ka_service *svc;
	struct ka_ctx *ctx = NULL;
	size_t i;
	int rc;

	rc = cli_open_service(o, service, &ctx, &svc);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (svc != NULL) {
		report_service(&rep, ctx, svc, account);
	} else {
		for (i = 0; i < ka_service_count(ctx); i++)
			report_service(&rep, ctx, ka_service_at(ctx, i),
				       account);
	}
	if (rep.oom) {
		cli_error("out of memory");
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if (o->json)
		rc = print_json(ctx, &rep);
	else if (rep.n == 0)
		fprintf(stderr, "kiwi-auth: no services are configured\n");
	else
		print_table(&rep);
	if (!o->json && svc != NULL)
		cli_describe_print(ctx, service, "  ");
	if (rc == CLI_EXIT_OK)
		rc = status_exit(&rep, service != NULL);
 out:
	report_clear(&rep);
	ka_ctx_free(ctx);
	return rc;
}

int cmd_status(struct cli_opts *o, int argc, char **argv)
{
	const char *account = NULL, *service;
	int rc;

	if (cli_getopt(o, "status", argc, argv, CLI_COMMON_SHORT "a:",
		       cli_account_longopts, &account, &rc) == CLI_OPT_STOP)
		return rc;
	if ((rc = cli_service_arg("status", argc, argv, 1, account,
				  &service)) != CLI_EXIT_OK)
		return rc;
	return run_status(o, service, account);
}
