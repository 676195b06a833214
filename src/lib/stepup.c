/* SPDX-License-Identifier: MIT */
/* stepup.c: step-up authorization (RFC 6750 section 3.1, the MCP
 * authorization specification): what a 403 insufficient_scope answer
 * means for the request (sign in for more scopes, retry once with a
 * refreshed token, or give up), and the sign-in that asks for the union
 * of the scopes held and the scopes added. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kai.h"

/* The scopes of the challenge that r does not hold, into missing. */
static void missing_of(const struct ka_record *r, const char *want,
		       char *missing, size_t n)
{
	char buf[KAI_CHALLENGE_MAX], *save = NULL;

	missing[0] = '\0';
	snprintf(buf, sizeof(buf), "%s", want);
	for (char *p = strtok_r(buf, " ", &save); p != NULL;
	     p = strtok_r(NULL, " ", &save))
		if (r == NULL || !ka_record_has_scope(r, p))
			kai_scope_list_add(missing, n, p);
}

/* "--add-scope A --add-scope B" for the scopes of list. */
static void add_args(const char *list, char *out, size_t n)
{
	char buf[KAI_CHALLENGE_MAX], *save = NULL;
	size_t used = 0;

	out[0] = '\0';
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *p = strtok_r(buf, " ", &save); p != NULL && used < n;
	     p = strtok_r(NULL, " ", &save))
		used += (size_t)snprintf(out + used, n - used, " --add-scope %s",
					 p);
}

enum kai_step_up kai_step_up(const char *service, const char *account,
			     const struct ka_record *r, long status,
			     const char *www_authenticate, unsigned attempt,
			     ka_error *err)
{
	struct kai_bearer_challenge ch;
	char missing[KAI_CHALLENGE_MAX], args[KAI_CHALLENGE_MAX + 256];
	const char *wa = www_authenticate != NULL ? www_authenticate : "";
	int dflt = account == NULL || strcmp(account, KA_ACCOUNT_DEFAULT) == 0;

	if (status != 403 || kai_bearer_challenge_parse(wa, strlen(wa), &ch) != KA_OK ||
	    !ch.found || strcmp(ch.error, "insufficient_scope") != 0)
		return KAI_STEP_UP_NONE;
	if (ch.scope[0] == '\0' || !kai_scope_list_ok(ch.scope)) {
		kai_error_set(err, KA_ERR_DENIED, "%s refused the request for "
			      "want of a scope but names none: ask the server's "
			      "administrator which scope it needs", service);
		return KAI_STEP_UP_FAIL;
	}
	missing_of(r, ch.scope, missing, sizeof(missing));
	if (attempt >= KAI_STEP_UP_MAX || (missing[0] == '\0' && attempt > 0)) {
		kai_error_set(err, KA_ERR_DENIED, "%s still refuses the request "
			      "for want of the scopes %s after %u tries: giving "
			      "up (the authorization server may not grant them)",
			      service, ch.scope, attempt);
		return KAI_STEP_UP_FAIL;
	}
	if (missing[0] == '\0')
		return KAI_STEP_UP_RETRY;	/* granted since: a fresh token */
	add_args(missing, args, sizeof(args));
	kai_error_set(err, KA_ERR_DENIED, "%s needs the scopes %s for this "
		      "request: run 'kiwi-auth signin %s%s%s%s'", service,
		      missing, service, dflt ? "" : " --account ",
		      dflt ? "" : account, args);
	if (err != NULL)
		err->auth_required = 1;
	return KAI_STEP_UP_SIGNIN;
}

/* ---- the union sign-in ----------------------------------------------------- */

#define UNION_MAX 64

KAI_API enum ka_status ka_signin_step_up(struct ka_ctx *ctx,
					 const char *service,
					 const char *account,
					 const char *const *add, size_t nadd,
					 const struct ka_signin_options *opts,
					 ka_error *err)
{
	struct ka_signin_options so = { 0 };
	struct ka_record *r = NULL;
	struct ka_service *s;
	struct kai_strv all = { 0 };
	const char *v[UNION_MAX + 1];
	enum ka_status st = KA_OK;
	ka_error ignored;

	KAI_ERROR_LOCAL(err);
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	if (opts != NULL)
		so = *opts;
	ka_error_clear(&ignored);
	/* The scopes held now; none when not signed in. */
	if (kai_stack_load(s, account, &r, &ignored) == KA_OK)
		for (size_t i = 0; i < r->scopes.n && st == KA_OK; i++)
			st = kai_strv_add(&all, r->scopes.v[i]);
	for (size_t i = 0; i < so.nscopes && st == KA_OK; i++)
		if (!kai_strv_contains(&all, so.scopes[i]))
			st = kai_strv_add(&all, so.scopes[i]);
	for (size_t i = 0; i < nadd && add != NULL && st == KA_OK; i++)
		if (!kai_strv_contains(&all, add[i]))
			st = kai_strv_add(&all, add[i]);
	ka_record_free(r);
	if (st == KA_OK && all.n > UNION_MAX) {
		kai_error_set(err, KA_ERR_INVALID, "at most %d scopes", UNION_MAX);
		st = KA_ERR_INVALID;
	}
	if (st == KA_OK) {
		for (size_t i = 0; i < all.n; i++)
			v[i] = all.v[i];
		v[all.n] = NULL;
		so.scopes = v;
		so.nscopes = all.n;
		st = ka_signin(ctx, service, account, &so, err);
	} else if (st == KA_ERR_NOMEM) {
		kai_error_set(err, st, "out of memory");
	}
	kai_strv_clear(&all);
	return st;
}
