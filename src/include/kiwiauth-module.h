/* kiwiauth-module.h: the ABI between libkiwiauth and its modules.
 *
 * A module is a shared object in the module directory that exports exactly
 * one symbol, `ka_module`, a const struct ka_module. The loader reads
 * abi_major, abi_minor, kind and name first, and refuses a module whose
 * major differs from KA_MODULE_ABI_MAJOR or whose minor is newer than
 * KA_MODULE_ABI_MINOR before it touches any other field.
 *
 * Modules never parse configuration and never link against libkiwiauth:
 * they read their arguments and call back into the library only through
 * the host table (struct ka_host) handed to every operation.
 */
#ifndef KIWIAUTH_MODULE_H
#define KIWIAUTH_MODULE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kiwiauth.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KA_MODULE_ABI_MAJOR 1
#define KA_MODULE_ABI_MINOR 0

enum ka_module_kind {
	KA_MODULE_SOURCE = 1,
	KA_MODULE_REFRESH = 2,
};

/* One module instance: a module named in one place of one stanza. */
struct ka_mctx;

/* Arguments a module accepts. The loader checks every key of the stanza
 * entry against this table (plus `module` and, for sources, `control`):
 * unknown keys and wrong types are configuration errors with file:line. */
enum ka_arg_type {
	KA_ARG_STRING = 1,
	KA_ARG_INT,
	KA_ARG_BOOL,
	KA_ARG_STRING_LIST,
};

struct ka_arg_spec {
	const char *name;	/* NULL ends the table */
	enum ka_arg_type type;
	int required;
};

/* Source operations. Statuses a source returns: KA_OK (found),
 * KA_ERR_NOT_FOUND, KA_ERR_UNAVAILABLE, KA_ERR_TRY_AGAIN; anything else
 * counts as unavailable, with its message kept. */
typedef void (*ka_list_fn)(const char *account, void *data);

struct ka_source_ops {
	enum ka_status (*load)(struct ka_mctx *m, const char *service,
			       const char *account, struct ka_record **out,
			       ka_error *err);
	/* NULL for a read-only source. */
	enum ka_status (*store)(struct ka_mctx *m, const char *service,
				const char *account, const struct ka_record *r,
				ka_error *err);
	/* NULL for a read-only source. KA_ERR_NOT_FOUND if nothing held. */
	enum ka_status (*erase)(struct ka_mctx *m, const char *service,
				const char *account, ka_error *err);
	/* May be NULL. */
	enum ka_status (*list)(struct ka_mctx *m, const char *service,
			       ka_list_fn fn, void *data, ka_error *err);
};

/* Refresh operations (used from the oauth2 issue on). */
struct ka_signin {
	const char *flow;	/* "device", "code", ... or NULL for default */
	const char *account;
	const char *const *scopes;	/* NULL-terminated, or NULL */
	size_t nscopes;
	int no_browser;
};

struct ka_refresh_ops {
	enum ka_status (*refresh)(struct ka_mctx *m, const struct ka_record *cur,
				  struct ka_record **out, ka_error *err);
	enum ka_status (*signin)(struct ka_mctx *m, const struct ka_signin *req,
				 struct ka_record **out, ka_error *err);
	enum ka_status (*revoke)(struct ka_mctx *m, const struct ka_record *cur,
				 ka_error *err);
};

/* Services the library offers its modules. Append only; a module checks
 * host->size before using a member added after the ones it was built
 * with. */
struct ka_host {
	size_t size;		/* sizeof(struct ka_host) of the library */

	/* Identity of the instance. */
	const char *(*service)(const struct ka_mctx *m);

	/* Arguments: declared in the module's ka_arg_spec table. */
	const char *(*arg_string)(const struct ka_mctx *m, const char *name);
	int (*arg_int)(const struct ka_mctx *m, const char *name,
		       long long *out);	/* 1 if set */
	int (*arg_bool)(const struct ka_mctx *m, const char *name,
			int *out);	/* 1 if set */
	size_t (*arg_list_count)(const struct ka_mctx *m, const char *name);
	const char *(*arg_list_at)(const struct ka_mctx *m, const char *name,
				   size_t i);

	/* Per-instance private data (set in init, freed in fini). */
	void (*set_data)(struct ka_mctx *m, void *data);
	void *(*data)(const struct ka_mctx *m);

	/* Logging. Never pass a token; log names and lengths only. */
	void (*log)(const struct ka_mctx *m, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Set err (first error wins). */
	void (*error)(ka_error *err, enum ka_status code, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Secure memory: zeroed, locked where allowed, wiped on free. */
	void *(*secure_alloc)(size_t n);
	void (*secure_free)(void *p);	/* accepts NULL */

	/* Records. */
	enum ka_status (*record_new)(struct ka_record **out);
	void (*record_free)(struct ka_record *r);
	/* Parse JSON text (at most KA_RECORD_MAX_JSON bytes). */
	enum ka_status (*record_from_json)(const char *buf, size_t len,
					   struct ka_record **out,
					   ka_error *err);
	/* Serialize into secure memory: *out is NUL-terminated and freed with
	 * secure_free. */
	enum ka_status (*record_to_json)(const struct ka_record *r, char **out,
					 size_t *len);
	const char *(*record_access_token)(const struct ka_record *r);
	const char *(*record_refresh_token)(const struct ka_record *r);
	enum ka_status (*record_set_access_token)(struct ka_record *r,
						  const char *t);
	enum ka_status (*record_set_refresh_token)(struct ka_record *r,
						   const char *t);
	enum ka_status (*record_set_token_type)(struct ka_record *r,
						const char *t);
	enum ka_status (*record_set_account)(struct ka_record *r,
					     const char *a);
	enum ka_status (*record_add_scope)(struct ka_record *r, const char *s);
	void (*record_set_expires_at)(struct ka_record *r, int64_t t);
	void (*record_set_refresh_expires_at)(struct ka_record *r, int64_t t);
	void (*record_set_obtained_at)(struct ka_record *r, int64_t t);
	int64_t (*record_expires_at)(const struct ka_record *r);
	const char *(*record_account)(const struct ka_record *r);
};

struct ka_module {
	/* Read first by the loader; never reorder these four. */
	unsigned abi_major;
	unsigned abi_minor;
	enum ka_module_kind kind;
	const char *name;

	const char *description;
	const struct ka_arg_spec *args;	/* may be NULL: no arguments */
	/* Called once per instance after its arguments were checked. May
	 * store private data with host->set_data. */
	enum ka_status (*init)(struct ka_mctx *m, const struct ka_host *host,
			       ka_error *err);
	void (*fini)(struct ka_mctx *m, const struct ka_host *host);
	const struct ka_source_ops *source;	/* KA_MODULE_SOURCE */
	const struct ka_refresh_ops *refresh;	/* KA_MODULE_REFRESH */
};

/* Every instance starts with this head, so an operation reaches the host
 * table from its instance without linking against the library. */
struct ka_mctx_head {
	const struct ka_host *host;
};

static inline const struct ka_host *ka_host_of(const struct ka_mctx *m)
{
	return ((const struct ka_mctx_head *)(const void *)m)->host;
}

#ifdef __cplusplus
}
#endif

#endif /* KIWIAUTH_MODULE_H */
