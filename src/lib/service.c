/* SPDX-License-Identifier: MIT */
/* service.c: read-only accessors of configured services. */
#include "config.h"

#include <string.h>

#include "kai.h"

KAI_API size_t ka_service_count(const struct ka_ctx *ctx)
{
	return ctx->nservices;
}

KAI_API const struct ka_service *ka_service_at(const struct ka_ctx *ctx,
					       size_t i)
{
	return i < ctx->nservices ? ctx->services[i] : NULL;
}

KAI_API const struct ka_service *ka_service_find(const struct ka_ctx *ctx,
						 const char *name)
{
	if (name == NULL)
		return NULL;
	return kai_index_get(&ctx->by_name, name, strlen(name));
}

struct ka_service *kai_service_lookup(struct ka_ctx *ctx, const char *name)
{
	return (struct ka_service *)ka_service_find(ctx, name);
}

KAI_API const char *ka_control_name(enum ka_control control)
{
	switch (control) {
	case KA_CONTROL_REQUIRED: return "required";
	case KA_CONTROL_REQUISITE: return "requisite";
	case KA_CONTROL_SUFFICIENT: return "sufficient";
	case KA_CONTROL_OPTIONAL: return "optional";
	}
	return "unknown";
}

KAI_API const char *ka_service_name(const struct ka_service *s)
{
	return s->name;
}

KAI_API const char *ka_service_description(const struct ka_service *s)
{
	return s->description;
}

KAI_API const char *ka_service_origin(const struct ka_service *s)
{
	return s->origin;
}

KAI_API const char *ka_service_error(const struct ka_service *s)
{
	return s->error;
}

KAI_API size_t ka_service_host_count(const struct ka_service *s)
{
	return s->hosts.n;
}

KAI_API const char *ka_service_host(const struct ka_service *s, size_t i)
{
	return kai_strv_at(&s->hosts, i);
}

KAI_API const char *ka_service_default_account(const struct ka_service *s)
{
	return s->default_account;
}

KAI_API size_t ka_service_export_count(const struct ka_service *s)
{
	return s->exports.n;
}

KAI_API const char *ka_service_export(const struct ka_service *s, size_t i)
{
	return kai_strv_at(&s->exports, i);
}

KAI_API size_t ka_service_scope_count(const struct ka_service *s)
{
	return s->scopes.n;
}

KAI_API const char *ka_service_scope(const struct ka_service *s, size_t i)
{
	return kai_strv_at(&s->scopes, i);
}

KAI_API const char *ka_service_header(const struct ka_service *s)
{
	return s->header != NULL ? s->header : KAI_HEADER_DEFAULT;
}

KAI_API long ka_service_min_valid(const struct ka_service *s)
{
	return s->min_valid;
}

KAI_API int ka_service_locked(const struct ka_service *s)
{
	return s->locked;
}

KAI_API size_t ka_service_source_count(const struct ka_service *s)
{
	return s->nsources;
}

KAI_API const char *ka_service_source_module(const struct ka_service *s,
					     size_t i)
{
	return i < s->nsources ? s->sources[i]->modname : NULL;
}

KAI_API enum ka_control ka_service_source_control(const struct ka_service *s,
						  size_t i)
{
	return i < s->nsources ? s->sources[i]->control : KA_CONTROL_REQUIRED;
}

KAI_API int ka_service_source_writable(const struct ka_service *s, size_t i)
{
	const struct ka_module *m;

	if (i >= s->nsources || (m = s->sources[i]->mod) == NULL)
		return 0;
	return m->source != NULL && m->source->store != NULL;
}

KAI_API const char *ka_service_refresh_module(const struct ka_service *s)
{
	return s->refresh != NULL ? s->refresh->modname : NULL;
}

KAI_API enum ka_status ka_service_describe(struct ka_ctx *ctx,
					   const char *service,
					   ka_describe_fn fn, void *data,
					   ka_error *err)
{
	const char *account = NULL;
	struct ka_service *s;
	struct ka_mctx *m;
	enum ka_status st;

	KAI_ERROR_LOCAL(err);
	if (fn == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "no callback given");
		return KA_ERR_INVALID;
	}
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	m = s->refresh;
	if (m != NULL && m->mod != NULL && m->initialized &&
	    m->mod->refresh != NULL &&
	    m->mod->refresh->describe != NULL)
		m->mod->refresh->describe(m, fn, data);
	return KA_OK;
}
