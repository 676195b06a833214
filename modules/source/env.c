/* SPDX-License-Identifier: MIT */
/* env.c: read-only source module `env`: an access token from a variable. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kiwiauth-module.h"

struct env_src {
	char *variable;
	char *account;
	char *token_type;
};

static const struct ka_arg_spec env_args[] = {
	{ "variable", KA_ARG_STRING, 1 },
	{ "account", KA_ARG_STRING, 0 },
	{ "token_type", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

/* [A-Za-z_][A-Za-z0-9_]* */
static int valid_name(const char *s)
{
	if (s == NULL || !(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
			   (*s >= 'a' && *s <= 'z')))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

static int has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The variable's value, or NULL (KA_ERR_NOT_FOUND) when this instance does
 * not serve account or the variable is unset or empty. */
static enum ka_status env_value(struct ka_mctx *m, const char *account,
				const char **value, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct env_src *es = h->data(m);
	const char *v;

	*value = NULL;
	if (account == NULL)
		account = KA_ACCOUNT_DEFAULT;
	if (strcmp(account, es->account) != 0)
		return KA_ERR_NOT_FOUND;
	v = getenv(es->variable);
	if (v == NULL || *v == '\0')
		return KA_ERR_NOT_FOUND;
	if (has_ctl(v)) {
		h->error(err, KA_ERR_INVALID, "environment variable %s holds "
			 "control bytes; it is not a token", es->variable);
		return KA_ERR_INVALID;
	}
	*value = v;
	return KA_OK;
}

static enum ka_status env_load(struct ka_mctx *m, const char *service,
			       const char *account, struct ka_record **out,
			       ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct env_src *es = h->data(m);
	struct ka_record *r = NULL;
	const char *v;
	enum ka_status st;

	*out = NULL;
	if ((st = env_value(m, account, &v, err)) != KA_OK)
		return st;
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = h->record_set_access_token(r, v)) != KA_OK ||
	    (st = h->record_set_token_type(r, es->token_type)) != KA_OK ||
	    (st = h->record_set_account(r, es->account)) != KA_OK) {
		h->error(err, st, "env: cannot build a record from %s",
			 es->variable);
		goto out;
	}
	h->log(m, 7, "token for %s from %s (%zu bytes)", service,
	       es->variable, strlen(v));
	*out = r;
	r = NULL;
 out:
	h->record_free(r);
	return st;
}

static enum ka_status env_list(struct ka_mctx *m, const char *service,
			       ka_list_fn fn, void *data, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct env_src *es = h->data(m);
	const char *v = getenv(es->variable);

	if (v != NULL && *v != '\0')
		fn(es->account, data);
	return KA_OK;
}

static void env_free(struct env_src *es)
{
	if (es == NULL)
		return;
	free(es->variable);
	free(es->account);
	free(es->token_type);
	free(es);
}

static enum ka_status check_args(struct ka_mctx *m, const struct ka_host *h,
				 const char *var, const char *account,
				 const char *type, ka_error *err)
{
	if (var == NULL) {
		h->error(err, KA_ERR_CONFIG, "env: the argument 'variable' is "
			 "required");
		return KA_ERR_CONFIG;
	}
	if (!valid_name(var)) {
		h->error(err, KA_ERR_CONFIG, "env: variable \"%s\" is not an "
			 "environment variable name (letters, digits and _, "
			 "not starting with a digit)",
			 has_ctl(var) ? "?" : var);
		return KA_ERR_CONFIG;
	}
	if (*account == '\0' || has_ctl(account)) {
		h->error(err, KA_ERR_CONFIG, "env: account must be a non-empty "
			 "name without control bytes");
		return KA_ERR_CONFIG;
	}
	if (*type == '\0' || has_ctl(type) || strchr(type, ' ') != NULL) {
		h->error(err, KA_ERR_CONFIG, "env: token_type must be a single "
			 "word such as \"Bearer\"");
		return KA_ERR_CONFIG;
	}
	return KA_OK;
}

static enum ka_status env_init(struct ka_mctx *m, const struct ka_host *h,
			       ka_error *err)
{
	const char *var = h->arg_string(m, "variable");
	const char *account = h->arg_string(m, "account");
	const char *type = h->arg_string(m, "token_type");
	struct env_src *es;
	enum ka_status st;

	if (account == NULL)
		account = KA_ACCOUNT_DEFAULT;
	if (type == NULL)
		type = "Bearer";
	if ((st = check_args(m, h, var, account, type, err)) != KA_OK)
		return st;
	es = calloc(1, sizeof(*es));
	if (es == NULL || (es->variable = strdup(var)) == NULL ||
	    (es->account = strdup(account)) == NULL ||
	    (es->token_type = strdup(type)) == NULL) {
		env_free(es);
		h->error(err, KA_ERR_NOMEM, "env: out of memory");
		return KA_ERR_NOMEM;
	}
	h->set_data(m, es);
	return KA_OK;
}

static void env_fini(struct ka_mctx *m, const struct ka_host *h)
{
	env_free(h->data(m));
	h->set_data(m, NULL);
}

static const struct ka_source_ops env_ops = {
	.load = env_load,
	.store = NULL,
	.erase = NULL,
	.list = env_list,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = "env",
	.description = "an access token from an environment variable",
	.args = env_args,
	.init = env_init,
	.fini = env_fini,
	.source = &env_ops,
};
