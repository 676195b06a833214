/* kiwiauth.h: the public API of libkiwiauth, for executors and the CLI.
 *
 * Ownership: a function named *_new hands the caller an object that the
 * caller frees with the matching *_free (which accepts NULL). Getters
 * return borrowed pointers that live as long as the object they came from.
 * No function here ever returns a token: tokens leave the library only
 * inside an HTTP header (see ka_authorize, once the executor API lands).
 */
#ifndef KIWIAUTH_H
#define KIWIAUTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KA_VERSION_MAJOR 0
#define KA_VERSION_MINOR 1
#define KA_VERSION_PATCH 0
#define KA_VERSION_HEX \
	((KA_VERSION_MAJOR << 16) | (KA_VERSION_MINOR << 8) | KA_VERSION_PATCH)

/* Append only: values are part of the ABI. */
enum ka_status {
	KA_OK = 0,
	KA_ERR_NOMEM,		/* out of memory */
	KA_ERR_INVALID,		/* invalid argument or input */
	KA_ERR_CONFIG,		/* configuration error */
	KA_ERR_PERMISSION,	/* unsafe owner or mode on a file */
	KA_ERR_MODULE,		/* a module could not be loaded or refused */
	KA_ERR_NO_SERVICE,	/* no such service configured */
	KA_ERR_NOT_FOUND,	/* no record: not signed in */
	KA_ERR_UNAVAILABLE,	/* a source could not be consulted */
	KA_ERR_TRY_AGAIN,	/* a transient failure */
	KA_ERR_READ_ONLY,	/* no writable source to store into */
	KA_ERR_CORRUPT,		/* a stored record is malformed */
	KA_ERR_IO,		/* an operating system call failed */
	KA_ERR_EXPIRED,		/* the token expired and cannot be refreshed */
	KA_ERR_DENIED,		/* origin or scope not allowed */
	KA_ERR_UNSUPPORTED,	/* the operation is not supported here */
	KA_ERR_TIMEOUT,		/* an operation ran out of time */
	KA_ERR_NETWORK,		/* a network request failed */
	KA_ERR_PROTOCOL,	/* a server answered something unexpected */
};

/* A name for the status ("not signed in", ...). Never NULL, static. */
const char *ka_strerror(enum ka_status status);

#define KA_ERROR_TEXT_LENGTH 512

/* Caller-owned error. The first error set wins; later ones are ignored
 * until ka_error_clear(). text never contains a token. */
typedef struct ka_error {
	enum ka_status code;
	int auth_required;	/* 1: a person must sign in (copy into metadata) */
	char text[KA_ERROR_TEXT_LENGTH];
} ka_error;

void ka_error_clear(ka_error *err);

/* ---- context ---------------------------------------------------------- */

struct ka_ctx;

/* Keep going past configuration errors: the context opens, broken
 * services fail closed, and every problem is listed by ka_ctx_diag(). */
#define KA_CTX_LENIENT 0x1u
/* Do not load modules while opening (for listing services only). */
#define KA_CTX_NO_MODULES 0x2u

struct ka_options {
	/* A config file or a directory holding kiwi-auth.conf and
	 * services.d/. NULL: $KIWI_AUTH_CONFIG, else the system directory
	 * and then $XDG_CONFIG_HOME/kiwi-auth. */
	const char *config;
	/* Where modules live. NULL: $KIWI_AUTH_MODULE_DIR, else the
	 * compiled-in directory. */
	const char *module_dir;
	unsigned flags;		/* KA_CTX_* */
};

/* Opens a context. opts may be NULL. On success *out is owned by the
 * caller (free with ka_ctx_free). Without KA_CTX_LENIENT any configuration
 * error fails the call with KA_ERR_CONFIG and a "file:line: message". */
enum ka_status ka_ctx_new(const struct ka_options *opts, struct ka_ctx **out,
			  ka_error *err);
void ka_ctx_free(struct ka_ctx *ctx);

/* Diagnostics ("file:line: message") found while opening. Borrowed. */
size_t ka_ctx_diag_count(const struct ka_ctx *ctx);
const char *ka_ctx_diag(const struct ka_ctx *ctx, size_t i);

/* Log sink for the library and its modules. Messages never hold a token.
 * Levels follow syslog (3 error, 4 warning, 6 info, 7 debug). The default
 * sink writes levels <= 4 to stderr. */
typedef void (*ka_log_fn)(int level, const char *message, void *data);
void ka_ctx_set_log(struct ka_ctx *ctx, ka_log_fn fn, void *data);

/* ---- services --------------------------------------------------------- */

struct ka_service;

enum ka_control {
	KA_CONTROL_REQUIRED = 1,
	KA_CONTROL_REQUISITE,
	KA_CONTROL_SUFFICIENT,
	KA_CONTROL_OPTIONAL,
};
const char *ka_control_name(enum ka_control control);

size_t ka_service_count(const struct ka_ctx *ctx);
const struct ka_service *ka_service_at(const struct ka_ctx *ctx, size_t i);
const struct ka_service *ka_service_find(const struct ka_ctx *ctx,
					 const char *name);

const char *ka_service_name(const struct ka_service *s);
const char *ka_service_description(const struct ka_service *s); /* or NULL */
const char *ka_service_origin(const struct ka_service *s); /* "file:line" */
/* NULL when the stanza is valid; otherwise why the service is disabled. */
const char *ka_service_error(const struct ka_service *s);
size_t ka_service_host_count(const struct ka_service *s);
const char *ka_service_host(const struct ka_service *s, size_t i);
size_t ka_service_scope_count(const struct ka_service *s);
const char *ka_service_scope(const struct ka_service *s, size_t i);
const char *ka_service_header(const struct ka_service *s);
long ka_service_min_valid(const struct ka_service *s);
int ka_service_locked(const struct ka_service *s);
size_t ka_service_source_count(const struct ka_service *s);
const char *ka_service_source_module(const struct ka_service *s, size_t i);
enum ka_control ka_service_source_control(const struct ka_service *s,
					  size_t i);
int ka_service_source_writable(const struct ka_service *s, size_t i);
const char *ka_service_refresh_module(const struct ka_service *s); /* or NULL */

/* ---- token records ---------------------------------------------------- */

/* A token record. Its secrets live in wiped-on-free memory and there is
 * no public getter for them. */
struct ka_record;

#define KA_ACCOUNT_DEFAULT "default"
#define KA_RECORD_MAX_JSON 65536

enum ka_status ka_record_new(struct ka_record **out);
void ka_record_free(struct ka_record *r);
/* Setters copy their argument. Tokens with control bytes are refused. */
enum ka_status ka_record_set_access_token(struct ka_record *r, const char *t);
enum ka_status ka_record_set_refresh_token(struct ka_record *r, const char *t);
enum ka_status ka_record_set_token_type(struct ka_record *r, const char *t);
enum ka_status ka_record_set_account(struct ka_record *r, const char *a);
enum ka_status ka_record_add_scope(struct ka_record *r, const char *scope);
void ka_record_set_expires_at(struct ka_record *r, int64_t t);	/* 0: never */
void ka_record_set_refresh_expires_at(struct ka_record *r, int64_t t);
void ka_record_set_obtained_at(struct ka_record *r, int64_t t);

int ka_record_has_access_token(const struct ka_record *r);
int ka_record_has_refresh_token(const struct ka_record *r);
const char *ka_record_token_type(const struct ka_record *r);
const char *ka_record_account(const struct ka_record *r);
int64_t ka_record_expires_at(const struct ka_record *r);
int64_t ka_record_refresh_expires_at(const struct ka_record *r);
int64_t ka_record_obtained_at(const struct ka_record *r);
size_t ka_record_scope_count(const struct ka_record *r);
const char *ka_record_scope(const struct ka_record *r, size_t i);
int ka_record_has_scope(const struct ka_record *r, const char *scope);
/* The source module a loaded record came from, or NULL. */
const char *ka_record_source(const struct ka_record *r);

/* ---- broker ----------------------------------------------------------- */

/* Load the record of (service, account) through the service's source
 * stack. account NULL means KA_ACCOUNT_DEFAULT. On success *out is a copy
 * owned by the caller. Not found gives KA_ERR_NOT_FOUND with
 * err->auth_required set and a message naming the command to sign in. */
enum ka_status ka_load(struct ka_ctx *ctx, const char *service,
		       const char *account, struct ka_record **out,
		       ka_error *err);

/* Store a record for (service, account): to the source that holds the
 * current record if it is writable, else to the first writable source.
 * The record is not consumed. */
enum ka_status ka_store(struct ka_ctx *ctx, const char *service,
			const char *account, const struct ka_record *r,
			ka_error *err);

/* Erase (service, account) from every writable source. *erased (may be
 * NULL) is set to the number of sources that held a record. */
enum ka_status ka_erase(struct ka_ctx *ctx, const char *service,
			const char *account, unsigned *erased, ka_error *err);

/* Call fn once per account any source of the service knows, each account
 * once. Sources that cannot list are skipped. */
typedef void (*ka_account_fn)(const char *account, void *data);
enum ka_status ka_accounts(struct ka_ctx *ctx, const char *service,
			   ka_account_fn fn, void *data, ka_error *err);

#ifdef __cplusplus
}
#endif

#endif /* KIWIAUTH_H */
