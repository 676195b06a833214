/* SPDX-License-Identifier: MIT */
/* loader.c: find modules by bare name in a trusted module directory, open
 * and check each file once and dlopen that descriptor, check their ABI,
 * check each instance's arguments, and initialise it. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

/* The module directory, checked with every directory above it, once per
 * context: *dir is its real path (owned by ctx). */
static enum ka_status trusted_dir(struct ka_ctx *ctx, const char **dir,
				  ka_error *err)
{
	enum ka_status st = KA_OK;

	if (ctx->module_dir_real == NULL)
		st = kai_dir_trusted(ctx->module_dir, "module directory",
				     &ctx->module_dir_real, err);
	*dir = ctx->module_dir_real;
	return st;
}

/* Open the module file once and check that descriptor: a regular file,
 * not a link, owned by root or us, not writable by group or others (as
 * sudo checks its plugins). The same descriptor is then loaded. */
static enum ka_status open_module(const char *dir, const char *name,
				  char **path, int *fd, ka_error *err)
{
	enum ka_status st;
	ka_error e;

	if ((*path = kai_asprintf("%s/%s.so", dir, name)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	ka_error_clear(&e);
	st = kai_open_checked(*path, KAI_OWNER_USER, fd, &e);
	if (st == KA_ERR_CONFIG) {	/* it does not exist */
		kai_error_set(err, KA_ERR_MODULE, "no module '%s' in %s (is it "
			      "installed?)", name, dir);
		return KA_ERR_MODULE;
	}
	if (st != KA_OK) {
		st = st == KA_ERR_PERMISSION ? st : KA_ERR_MODULE;
		kai_error_set(err, st, "refusing module %s", e.text);
	}
	return st;
}

static enum ka_status check_abi(const struct ka_module *m, const char *name,
				const char *path, ka_error *err)
{
	if (m->abi_major != KA_MODULE_ABI_MAJOR ||
	    m->abi_minor > KA_MODULE_ABI_MINOR) {
		kai_error_set(err, KA_ERR_MODULE,
			      "module %s has ABI %u.%u, this library supports "
			      "%u.0 to %u.%u; rebuild or update the module",
			      path, m->abi_major, m->abi_minor,
			      KA_MODULE_ABI_MAJOR, KA_MODULE_ABI_MAJOR,
			      KA_MODULE_ABI_MINOR);
		return KA_ERR_MODULE;
	}
	if ((m->kind != KA_MODULE_SOURCE && m->kind != KA_MODULE_REFRESH) ||
	    m->name == NULL || strcmp(m->name, name) != 0) {
		kai_error_set(err, KA_ERR_MODULE,
			      "module %s does not describe itself as '%s'",
			      path, name);
		return KA_ERR_MODULE;
	}
	return KA_OK;
}

enum ka_status kai_module_open(struct ka_ctx *ctx, const char *name,
			       const struct ka_module **out, ka_error *err)
{
	struct kai_module *km;
	const struct ka_module *m;
	enum ka_status st = KA_ERR_MODULE;
	const char *dir;
	char *path = NULL, proc[32];
	void *h = NULL;
	int fd = -1;

	*out = NULL;
	for (km = ctx->modules; km != NULL; km = km->next) {
		if (strcmp(km->name, name) == 0) {
			*out = km->mod;
			return KA_OK;
		}
	}
	if (!kai_is_identifier(name)) {
		kai_error_set(err, KA_ERR_MODULE,
			      "module name '%s' is not a bare name; modules are "
			      "looked up only in %s", name, ctx->module_dir);
		return KA_ERR_MODULE;
	}
	if ((st = trusted_dir(ctx, &dir, err)) != KA_OK)
		return st;
	if ((st = open_module(dir, name, &path, &fd, err)) != KA_OK)
		goto out;
	/* What was checked is what is loaded: the open descriptor, which
	 * stays open while the module is loaded (so that its number, and
	 * with it the name the dynamic loader knows it by, is not reused). */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	h = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		kai_error_set(err, KA_ERR_MODULE, "cannot load module %s (through "
			      "%s; is /proc mounted?): %s", path, proc, dlerror());
		st = KA_ERR_MODULE;
		goto out;
	}
	m = dlsym(h, "ka_module");
	if (m == NULL) {
		kai_error_set(err, KA_ERR_MODULE,
			      "%s is not a kiwi-auth module (no ka_module symbol)",
			      path);
		st = KA_ERR_MODULE;
		goto out;
	}
	if ((st = check_abi(m, name, path, err)) != KA_OK)
		goto out;
	km = calloc(1, sizeof(*km));
	if (km == NULL || (km->name = strdup(name)) == NULL) {
		free(km);
		st = KA_ERR_NOMEM;
		goto out;
	}
	km->handle = h;
	km->fd = fd;
	km->mod = m;
	km->next = ctx->modules;
	ctx->modules = km;
	h = NULL;
	fd = -1;
	*out = m;
out:
	if (h != NULL)
		dlclose(h);
	if (fd >= 0)
		close(fd);
	free(path);
	return st;
}

static const char *type_name(enum ka_arg_type t)
{
	switch (t) {
	case KA_ARG_STRING: return "a string";
	case KA_ARG_INT: return "an integer";
	case KA_ARG_BOOL: return "a boolean";
	case KA_ARG_STRING_LIST: return "a list of strings";
	}
	return "?";
}

static const struct ka_arg_spec *find_spec(const struct ka_module *mod,
					   const char *name)
{
	for (const struct ka_arg_spec *a = mod->args; a && a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

/* Check one instance's arguments against its module's table. */
static int check_args(struct ka_ctx *ctx, struct ka_mctx *m)
{
	const struct ka_module *mod = m->mod;

	for (size_t i = 0; i < m->nargs; i++) {
		const struct kai_arg *a = &m->args[i];
		const struct ka_arg_spec *spec = find_spec(mod, a->name);

		if (spec == NULL) {
			kai_service_fail(ctx, m->svc, m->file, a->line,
					 "module '%s' takes no argument '%s'",
					 m->modname, a->name);
			return 0;
		}
		if (spec->type != a->type) {
			kai_service_fail(ctx, m->svc, m->file, a->line,
					 "argument '%s' of module '%s' must be %s",
					 a->name, m->modname, type_name(spec->type));
			return 0;
		}
		if (a->type == KA_ARG_INT && (spec->min != 0 || spec->max != 0) &&
		    (a->num < spec->min || a->num > spec->max)) {
			kai_service_fail(ctx, m->svc, m->file, a->line,
					 "argument '%s' of module '%s' must be "
					 "%lld to %lld", a->name, m->modname,
					 spec->min, spec->max);
			return 0;
		}
	}
	for (const struct ka_arg_spec *s = mod->args; s && s->name; s++) {
		if (s->required && kai_mctx_arg(m, s->name) == NULL) {
			kai_service_fail(ctx, m->svc, m->file, m->line,
					 "module '%s' needs argument '%s'",
					 m->modname, s->name);
			return 0;
		}
	}
	return 1;
}

/* Open, check and initialise one instance; 0 disables the service. */
static int bind_one(struct ka_ctx *ctx, struct ka_mctx *m, int refresh)
{
	const struct ka_module *mod = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (kai_module_open(ctx, m->modname, &mod, &err) != KA_OK) {
		kai_service_fail(ctx, m->svc, m->file, m->line, "%s", err.text);
		return 0;
	}
	if ((!refresh && (mod->kind != KA_MODULE_SOURCE || mod->source == NULL ||
			  mod->source->load == NULL)) ||
	    (refresh && (mod->kind != KA_MODULE_REFRESH || mod->refresh == NULL))) {
		kai_service_fail(ctx, m->svc, m->file, m->line,
				 "module '%s' is not a %s module", m->modname,
				 refresh ? "refresh" : "source");
		return 0;
	}
	m->mod = mod;
	if (!check_args(ctx, m))
		return 0;
	if (mod->init != NULL && mod->init(m, &kai_host, &err) != KA_OK) {
		kai_service_fail(ctx, m->svc, m->file, m->line,
				 "module '%s': %s", m->modname,
				 err.text[0] ? err.text : "initialisation failed");
		return 0;
	}
	m->initialized = 1;
	return 1;
}

void kai_loader_bind(struct ka_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nservices; i++) {
		struct ka_service *s = ctx->services[i];
		int ok = s->error == NULL;

		for (size_t j = 0; ok && j < s->nsources; j++)
			ok = bind_one(ctx, s->sources[j], 0);
		s->bound = ok;
		if (ok && s->refresh != NULL)
			bind_one(ctx, s->refresh, 1);
	}
}

static void unbind_mctx(struct ka_mctx *m)
{
	if (m != NULL && m->initialized && m->mod->fini != NULL)
		m->mod->fini(m, &kai_host);
	if (m != NULL)
		m->initialized = 0;
}

void kai_loader_unbind(struct ka_ctx *ctx)
{
	struct kai_module *km, *next;

	for (size_t i = 0; i < ctx->nservices; i++) {
		struct ka_service *s = ctx->services[i];

		for (size_t j = 0; j < s->nsources; j++)
			unbind_mctx(s->sources[j]);
		unbind_mctx(s->refresh);
	}
	for (km = ctx->modules; km != NULL; km = next) {
		next = km->next;
		dlclose(km->handle);
		close(km->fd);
		free(km->name);
		free(km);
	}
	ctx->modules = NULL;
}
