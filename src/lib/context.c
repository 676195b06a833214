/* SPDX-License-Identifier: MIT */
/* context.c: opening and closing a context, diagnostics and logging. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kai.h"

static void default_log(int level, const char *message, void *data)
{
	(void)data;
	if (level <= 4)
		fprintf(stderr, "kiwi-auth: %s\n", message);
}

void kai_vlog(const struct ka_ctx *ctx, int level, const char *fmt,
	      va_list ap)
{
	char buf[1024];

	if (ctx == NULL || ctx->log == NULL)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	ctx->log(level, buf, ctx->log_data);
	explicit_bzero(buf, sizeof(buf));
}

void kai_log(const struct ka_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kai_vlog(ctx, level, fmt, ap);
	va_end(ap);
}

enum ka_status kai_diag(struct ka_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	enum ka_status st;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return KA_ERR_NOMEM;
	st = kai_strv_add(&ctx->diags, s);
	free(s);
	return st;
}

KAI_API void ka_ctx_set_log(struct ka_ctx *ctx, ka_log_fn fn, void *data)
{
	ctx->log = fn;
	ctx->log_data = data;
}

KAI_API enum ka_status ka_ctx_config_status(const struct ka_ctx *ctx)
{
	return ctx->config_status;
}

KAI_API size_t ka_ctx_diag_count(const struct ka_ctx *ctx)
{
	return ctx->diags.n;
}

KAI_API const char *ka_ctx_diag(const struct ka_ctx *ctx, size_t i)
{
	return kai_strv_at(&ctx->diags, i);
}

KAI_API void ka_ctx_free(struct ka_ctx *ctx)
{
	if (ctx == NULL)
		return;
	kai_loader_unbind(ctx);
	kai_share_free(ctx);
	for (size_t i = 0; i < ctx->nservices; i++)
		kai_service_free(ctx->services[i]);
	free(ctx->services);
	kai_index_free(&ctx->by_name);
	kai_index_free(&ctx->by_scope);
	kai_index_free(&ctx->scope_clash);
	kai_strv_clear(&ctx->diags);
	free(ctx->module_dir);
	free(ctx->module_dir_real);
	free(ctx->config_path);
	free(ctx->audit_file);
	free(ctx);
}

/* The options' module directory, else $KIWI_AUTH_MODULE_DIR (said in the
 * log), else the compiled-in one. The variable is ignored in a process
 * that runs with privileges it was not started with (setuid, setgid,
 * capabilities: secure_getenv says so), as the dynamic loader ignores
 * LD_LIBRARY_PATH there. */
static const char *module_dir(const struct ka_ctx *ctx,
			      const struct ka_options *opts)
{
	const char *env = getenv("KIWI_AUTH_MODULE_DIR");

	if (opts != NULL && opts->module_dir != NULL)
		return opts->module_dir;
	if (env == NULL || *env == '\0')
		return KA_MODULEDIR;
	if (secure_getenv("KIWI_AUTH_MODULE_DIR") == NULL ||
	    getuid() != geteuid() || getgid() != getegid()) {
		kai_log(ctx, 4, "KIWI_AUTH_MODULE_DIR is ignored in a setuid, "
			"setgid or otherwise privileged process; modules come "
			"from %s", KA_MODULEDIR);
		return KA_MODULEDIR;
	}
	kai_log(ctx, 6, "modules from %s (KIWI_AUTH_MODULE_DIR)", env);
	return env;
}

KAI_API enum ka_status ka_ctx_new(const struct ka_options *opts,
				  struct ka_ctx **out, ka_error *err)
{
	struct ka_ctx *ctx;
	enum ka_status st;
	ka_error cerr;

	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return KA_ERR_NOMEM;
	if (kai_share_init(ctx) != KA_OK) {
		free(ctx);
		return KA_ERR_NOMEM;
	}
	ctx->log = default_log;
	if (opts != NULL && opts->log != NULL) {
		ctx->log = opts->log;
		ctx->log_data = opts->log_data;
	}
	ctx->flags = opts != NULL ? opts->flags : 0;
	ctx->module_dir = strdup(module_dir(ctx, opts));
	if (ctx->module_dir == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	if (opts != NULL && opts->config != NULL &&
	    (ctx->config_path = strdup(opts->config)) == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	ka_error_clear(&cerr);
	st = kai_config_load(ctx, opts != NULL ? opts->config : NULL, &cerr);
	if (st == KA_ERR_NOMEM)
		goto out;
	ctx->config_status = st;
	kai_account_choices_load(ctx);
	if (!(ctx->flags & KA_CTX_NO_MODULES))
		kai_loader_bind(ctx);
	if (st == KA_OK && ctx->diags.n > 0) {
		kai_error_set(&cerr, KA_ERR_CONFIG, "%s%s", ctx->diags.v[0],
			      ctx->diags.n > 1 ? " (and more: run 'kiwi-auth check')" : "");
		st = KA_ERR_CONFIG;
	}
	if (st != KA_OK && !(ctx->flags & KA_CTX_LENIENT)) {
		kai_error_copy(err, &cerr);
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	st = KA_OK;
out:
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	ka_ctx_free(ctx);
	return st;
}
