/* SPDX-License-Identifier: MIT */
/* host.c: the host table: what the library offers its modules, with the
 * small services only modules use (sign-in-required and OAuth error
 * wording, a pasted token). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kai.h"

static const char *h_service(const struct ka_mctx *m)
{
	return m->svc->name;
}

static const char *h_arg_string(const struct ka_mctx *m, const char *name)
{
	const struct kai_arg *a = kai_mctx_arg(m, name);

	return a != NULL && a->type == KA_ARG_STRING ? a->str : NULL;
}

static int h_arg_int(const struct ka_mctx *m, const char *name,
		     long long *out)
{
	const struct kai_arg *a = kai_mctx_arg(m, name);

	if (a == NULL || a->type != KA_ARG_INT)
		return 0;
	*out = a->num;
	return 1;
}

static int h_arg_bool(const struct ka_mctx *m, const char *name, int *out)
{
	const struct kai_arg *a = kai_mctx_arg(m, name);

	if (a == NULL || a->type != KA_ARG_BOOL)
		return 0;
	*out = a->flag;
	return 1;
}

static size_t h_arg_list_count(const struct ka_mctx *m, const char *name)
{
	const struct kai_arg *a = kai_mctx_arg(m, name);

	return a != NULL && a->type == KA_ARG_STRING_LIST ? a->list.n : 0;
}

static const char *h_arg_list_at(const struct ka_mctx *m, const char *name,
				 size_t i)
{
	const struct kai_arg *a = kai_mctx_arg(m, name);

	if (a == NULL || a->type != KA_ARG_STRING_LIST || i >= a->list.n)
		return NULL;
	return a->list.v[i];
}

static void h_set_data(struct ka_mctx *m, void *data)
{
	m->data = data;
}

static void *h_data(const struct ka_mctx *m)
{
	return m->data;
}

static void h_log(const struct ka_mctx *m, int level, const char *fmt, ...)
	KAI_PRINTF(3, 4);
static void h_log(const struct ka_mctx *m, int level, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kai_log(m->ctx, level, "%s: %s: %s", m->svc->name, m->modname, buf);
	explicit_bzero(buf, sizeof(buf));
}

static void h_error(ka_error *err, enum ka_status code, const char *fmt, ...)
	KAI_PRINTF(3, 4);
static void h_error(ka_error *err, enum ka_status code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kai_error_vset(err, code, fmt, ap);
	va_end(ap);
}

static const char *h_access_token(const struct ka_record *r)
{
	return r->access_token;
}

static const char *h_refresh_token(const struct ka_record *r)
{
	return r->refresh_token;
}

static enum ka_status h_signin_required(const struct ka_mctx *m,
					const char *account, ka_error *err,
					const char *fmt, ...) KAI_PRINTF(4, 5);
static enum ka_status h_signin_required(const struct ka_mctx *m,
					const char *account, ka_error *err,
					const char *fmt, ...)
{
	int dflt = account == NULL || strcmp(account, KA_ACCOUNT_DEFAULT) == 0;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	kai_error_set(err, KA_ERR_EXPIRED, "%s: run 'kiwi-auth signin %s%s%s'",
		      why, m->svc->name, dflt ? "" : " --account ",
		      dflt ? "" : account);
	return KA_ERR_EXPIRED;
}

static int one_of(const char *e, const char *a, const char *b,
		  const char *c)
{
	return strcmp(e, a) == 0 || strcmp(e, b) == 0 || strcmp(e, c) == 0;
}

static enum ka_status h_oauth_error(const struct ka_mctx *m,
				    const struct ka_oauth_error *oe,
				    const char *client_id, const char *account,
				    const char *what, ka_error *err)
{
	const char *e = oe->error, *svc = m->svc->name;
	const char *sep = oe->description[0] != '\0' ? ": " : "";

	if (one_of(e, "invalid_grant", "bad_refresh_token",
		   "bad_verification_code"))
		return h_signin_required(m, account, err, "signed out of %s "
					 "(the server refused the %s: %s)", svc,
					 what, e);
	if (one_of(e, "invalid_client", "unauthorized_client",
		   "incorrect_client_credentials")) {
		kai_error_set(err, KA_ERR_CONFIG, "the server refused client "
			      "'%s' (%s%s%s): check client_id and the client "
			      "secret in the refresh stanza of %s",
			      client_id != NULL ? client_id : "", e, sep,
			      oe->description, svc);
		return KA_ERR_CONFIG;
	}
	kai_error_set(err, KA_ERR_PROTOCOL, "the server of %s refused the %s: "
		      "%s%s%s", svc, what, e[0] != '\0' ? e : "no error code",
		      sep, oe->description);
	return KA_ERR_PROTOCOL;
}

#define PASTE_MAX 16384

static enum ka_status h_token_prompt(const struct ka_mctx *m,
				     const char *text,
				     const char *const *scopes,
				     struct ka_record **out, ka_error *err)
{
	struct ka_record *r = NULL;
	char *tok = kai_secure_alloc(PASTE_MAX);
	enum ka_status st = KA_ERR_NOMEM;

	*out = NULL;
	if (tok == NULL)
		goto out;
	st = kai_converse(m, &(struct ka_conv_msg){
		.style = KA_CONV_PROMPT_SECRET, .text = text }, tok, PASTE_MAX, err);
	if (st != KA_OK)
		goto out;
	if (tok[0] == '\0') {
		kai_error_set(err, KA_ERR_INVALID, "no token was given");
		st = KA_ERR_INVALID;
		goto out;
	}
	if ((st = ka_record_new(&r)) != KA_OK ||
	    (st = ka_record_set_access_token(r, tok)) != KA_OK ||
	    (st = ka_record_set_token_type(r, "Bearer")) != KA_OK)
		goto out;
	for (size_t i = 0; scopes != NULL && scopes[i] != NULL && st == KA_OK; i++)
		st = ka_record_add_scope(r, scopes[i]);
	if (st == KA_OK) {
		r->obtained_at = kai_now();
		*out = r;
		r = NULL;
	}
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	else if (st == KA_ERR_INVALID)
		kai_error_set(err, st, "the token holds control characters");
	ka_record_free(r);
	kai_secure_free(tok);
	return st;
}

static uint64_t h_record_generation(const struct ka_record *r)
{
	return r->generation;
}

static void h_record_set_generation(struct ka_record *r, uint64_t g)
{
	r->generation = g;
}

const struct ka_host kai_host = {
	.size = sizeof(struct ka_host),
	.service = h_service,
	.arg_string = h_arg_string,
	.arg_int = h_arg_int,
	.arg_bool = h_arg_bool,
	.arg_list_count = h_arg_list_count,
	.arg_list_at = h_arg_list_at,
	.set_data = h_set_data,
	.data = h_data,
	.log = h_log,
	.error = h_error,
	.secure_alloc = kai_secure_alloc,
	.secure_free = kai_secure_free,
	.record_new = ka_record_new,
	.record_free = ka_record_free,
	.record_from_json = kai_record_from_json,
	.record_to_json = kai_record_to_json,
	.record_access_token = h_access_token,
	.record_refresh_token = h_refresh_token,
	.record_set_access_token = ka_record_set_access_token,
	.record_set_refresh_token = ka_record_set_refresh_token,
	.record_set_token_type = ka_record_set_token_type,
	.record_set_account = ka_record_set_account,
	.record_add_scope = ka_record_add_scope,
	.record_set_expires_at = ka_record_set_expires_at,
	.record_set_refresh_expires_at = ka_record_set_refresh_expires_at,
	.record_set_obtained_at = ka_record_set_obtained_at,
	.record_expires_at = ka_record_expires_at,
	.record_account = ka_record_account,
	.http = kai_host_http,
	.http_response_free = kai_http_response_free,
	.form_add = kai_form_add,
	.converse = kai_converse,
	.oauth_discover = kai_oauth_discover,
	.oauth_token = kai_oauth_token,
	.oauth_device = kai_oauth_device,
	.oauth_revoke = kai_oauth_revoke,
	.random_string = kai_random_string,
	.pkce_s256 = kai_pkce_s256,
	.now = kai_now,
	.record_scope_count = ka_record_scope_count,
	.record_scope = ka_record_scope,
	.secret_arg = kai_secret_arg,
	.signin_required = h_signin_required,
	.form_add_list = kai_form_add_list,
	.oauth_basic_auth = kai_basic_auth,
	.oauth_code = kai_oauth_code,
	.token_prompt = h_token_prompt,
	.oauth_error = h_oauth_error,
	.oauth_metadata = kai_oauth_metadata,
	.resource_discover = kai_resource_discover,
	.oauth_client = kai_oauth_client,
	.oauth_client_store = kai_oauth_client_store,
	.oauth_client_find = kai_oauth_client_find,
	.oauth_client_clear = kai_oauth_client_clear,
	.oauth_code_iss = kai_oauth_code_iss,
	.write_file_at = kai_write_atomic_at,
	.record_generation = h_record_generation,
	.record_set_generation = h_record_set_generation,
	.record_obtained_at = ka_record_obtained_at,
	.record_dup = kai_record_dup,
};
