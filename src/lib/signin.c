/* SPDX-License-Identifier: MIT */
/* signin.c: sign-in and logout through a service's refresh module, and the
 * conversation that lets a module talk to a person. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kai.h"

KAI_API void ka_ctx_set_conversation(struct ka_ctx *ctx, ka_conv_fn fn,
				     void *data)
{
	ctx->conv = fn;
	ctx->conv_data = data;
}

enum ka_status kai_converse(const struct ka_mctx *m,
			    const struct ka_conv_msg *msg, char *answer,
			    size_t size, ka_error *err)
{
	const struct ka_ctx *ctx = m->ctx;
	int asks = msg->style == KA_CONV_PROMPT ||
		   msg->style == KA_CONV_PROMPT_SECRET;
	enum ka_status st;

	if (ctx->conv == NULL) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "signing in to %s needs "
			      "a person, and this program cannot ask one: run "
			      "'kiwi-auth signin %s' in a terminal",
			      m->svc->name, m->svc->name);
		return KA_ERR_UNSUPPORTED;
	}
	if (asks && (answer == NULL || size == 0)) {
		kai_error_set(err, KA_ERR_INVALID, "a prompt needs an answer buffer");
		return KA_ERR_INVALID;
	}
	if (answer != NULL && size > 0)
		answer[0] = '\0';
	st = ctx->conv(msg, asks ? answer : NULL, asks ? size : 0,
		       ctx->conv_data);
	if (st != KA_OK) {
		if (answer != NULL)
			kai_wipe(answer, size);
		kai_error_set(err, st, "the sign-in to %s was abandoned",
			      m->svc->name);
		return st;
	}
	if (asks)
		answer[size - 1] = '\0';
	return KA_OK;
}

static enum ka_status refresh_module(struct ka_service *s, ka_error *err)
{
	if (s->refresh == NULL || s->refresh->mod == NULL ||
	    s->refresh->mod->refresh == NULL) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "service '%s' has no "
			      "refresh module to sign in with: store a token "
			      "with 'kiwi-auth token set %s'", s->name, s->name);
		return KA_ERR_UNSUPPORTED;
	}
	return KA_OK;
}

KAI_API enum ka_status ka_signin(struct ka_ctx *ctx, const char *service,
				 const char *account,
				 const struct ka_signin_options *opts,
				 ka_error *err)
{
	struct ka_signin req = { 0 };
	struct ka_record *rec = NULL;
	struct ka_service *s;
	struct ka_mctx *m;
	enum ka_status st;

	KAI_ERROR_LOCAL(err);
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK ||
	    (st = refresh_module(s, err)) != KA_OK)
		return st;
	m = s->refresh;
	if (m->mod->refresh->signin == NULL) {
		kai_error_set(err, KA_ERR_UNSUPPORTED, "the %s module cannot "
			      "sign in", m->modname);
		return KA_ERR_UNSUPPORTED;
	}
	req.account = account;
	if (opts != NULL) {
		req.flow = opts->flow;
		req.scopes = opts->nscopes > 0 ? opts->scopes : NULL;
		req.nscopes = opts->nscopes;
		req.no_browser = opts->no_browser;
	}
	st = m->mod->refresh->signin(m, &req, &rec, err);
	if (st == KA_OK && rec == NULL)
		st = KA_ERR_MODULE;
	if (st != KA_OK) {
		if (err != NULL && err->code == KA_OK)
			kai_error_set(err, st, "signing in to %s failed: %s",
				      s->name, ka_strerror(st));
		goto out;
	}
	if ((st = ka_record_set_account(rec, account)) != KA_OK)
		goto out;
	/* Under the refresh lock, so a refresh in flight in another process
	 * cannot overwrite the new sign-in with a record of the old one. */
	st = kai_store(ctx, s, account, rec, 1, err);
	if (st == KA_OK)
		kai_log(ctx, 6, "%s: signed in as %s", s->name, account);
out:
	ka_record_free(rec);
	return st;
}

/* Revoke what the module can; the outcome goes to res. */
static void revoke(struct ka_service *s, const char *account,
		   struct ka_logout_result *res)
{
	struct ka_record *rec = NULL;
	struct ka_mctx *m = s->refresh;
	enum ka_status st;
	ka_error e;

	if (m == NULL || m->mod == NULL || m->mod->refresh == NULL ||
	    m->mod->refresh->revoke == NULL)
		return;
	ka_error_clear(&e);
	if (kai_stack_load(s, account, &rec, &e) != KA_OK)
		return;		/* nothing to revoke */
	ka_error_clear(&e);
	st = m->mod->refresh->revoke(m, rec, &e);
	if (st == KA_OK) {
		res->revoked = 1;
	} else if (st != KA_ERR_UNSUPPORTED) {
		res->revoked = -1;
		if (e.code == KA_OK)
			kai_error_set(&e, st, "revoking the token of %s failed: "
				      "%s", s->name, ka_strerror(st));
		res->revoke_error = e;
	}
	ka_record_free(rec);
}

/* Inside the flight and, when it can be had, the refresh lock: a refresh
 * elsewhere must not store the record again after it was erased. */
static enum ka_status logout_flight(struct ka_ctx *ctx, struct ka_service *s,
				    struct kai_slot *sl, const char *account,
				    void *data, ka_error *err)
{
	struct ka_logout_result *res = data;
	enum ka_status st;
	ka_error lerr;
	int fd;

	ka_error_clear(&lerr);
	/* Logging out must work even when the lock cannot be had. */
	if ((fd = kai_refresh_lock(s->name, account, &lerr)) < 0)
		kai_log(ctx, 4, "%s; logging out without it", lerr.text);
	kai_slot_drop(s, sl);
	revoke(s, account, res);
	st = kai_stack_erase(s, account, &res->erased, err);
	kai_refresh_unlock(fd);
	return st;
}

KAI_API enum ka_status ka_logout(struct ka_ctx *ctx, const char *service,
				 const char *account,
				 struct ka_logout_result *res, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_logout_result dummy;
	struct ka_service *s;
	enum ka_status st;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	ka_error_clear(&res->revoke_error);
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	return kai_flight(ctx, s, account, logout_flight, res, err);
}
