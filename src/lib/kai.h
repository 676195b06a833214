/* SPDX-License-Identifier: MIT */
/* kai.h: library-internal types and functions shared between the files of
 * libkiwiauth. Nothing here is exported (kai_ names are hidden). */
#ifndef KAI_H
#define KAI_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kiwiauth.h"
#include "kiwiauth-module.h"

/* configure sets PACKAGE_VERSION and the Makefile the installed paths
 * (AM_CPPFLAGS); these defaults only let a file be compiled on its own,
 * by an editor or an analyzer. A build through the Makefile sets them all. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef KA_SYSCONFDIR
#define KA_SYSCONFDIR "/usr/local/etc/kiwi-auth"
#endif
#ifndef KA_MODULEDIR
#define KA_MODULEDIR "/usr/local/lib/kiwi-auth/modules"
#endif
#ifndef KA_REFRESHER
#define KA_REFRESHER "/usr/local/libexec/kiwi-auth/kiwi-auth-refresher"
#endif

#define KAI_API __attribute__((visibility("default")))
#define KAI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- small utilities (util.c) ----------------------------------------- */

/* A growable vector of owned strings. */
struct kai_strv {
	char **v;
	size_t n;
};
enum ka_status kai_strv_add(struct kai_strv *sv, const char *s);
int kai_strv_contains(const struct kai_strv *sv, const char *s);
/* Entry i, or NULL past the end. */
const char *kai_strv_at(const struct kai_strv *sv, size_t i);
void kai_strv_clear(struct kai_strv *sv);
enum ka_status kai_strv_addf(struct kai_strv *sv, const char *fmt, ...)
	KAI_PRINTF(2, 3);

char *kai_strdup(const char *s);	/* NULL-safe */

/* A growing byte buffer, NUL-terminated once anything was added. It grows
 * by copy and wipe, never realloc, so a secret in it (an answer that
 * echoes a credential, a token answer) never stays behind in freed
 * memory; secure: in kai_secure_alloc memory. */
struct kai_buf {
	char *p;
	size_t len, cap;
	int secure;
};
/* 0; -1 when len would pass max (nothing added); -2 out of memory. */
int kai_buf_append(struct kai_buf *b, const void *p, size_t n, size_t max);
void kai_buf_free(struct kai_buf *b);	/* wipes; leaves b empty */
char *kai_asprintf(const char *fmt, ...) KAI_PRINTF(1, 2);
/* 1 if s holds a byte < 0x20 or 0x7f. */
int kai_has_ctl(const char *s);
/* Identifier: [A-Za-z][A-Za-z0-9_-]*, at most 64 bytes. */
int kai_is_identifier(const char *s);
int64_t kai_now(void);		/* wall clock, UTC seconds */

/* Set err unless it already holds an error (first error wins). */
void kai_error_set(ka_error *err, enum ka_status code, const char *fmt, ...)
	KAI_PRINTF(3, 4);
void kai_error_vset(ka_error *err, enum ka_status code, const char *fmt,
		    va_list ap) KAI_PRINTF(3, 0);
/* Entry points accept err == NULL: this points err at a local instead. */
#define KAI_ERROR_LOCAL(err) \
	ka_error err##_local_; \
	ka_error_clear(&err##_local_); \
	if ((err) == NULL) \
		(err) = &err##_local_

/* Copy src into dst unless dst already holds an error. */
void kai_error_copy(ka_error *dst, const ka_error *src);

/* ---- hash index (index.c) -------------------------------------------- */

/* Strings to pointers. Keys are borrowed: they must outlive the index
 * (names and scopes of the services it indexes). */
struct kai_index_slot {
	const char *key;	/* NULL: empty */
	size_t len;
	uint64_t hash;
	void *value;
};
struct kai_index {
	struct kai_index_slot *v;
	size_t cap, n;		/* cap a power of two, n at most cap / 2 */
};
/* Room for n keys without growing. */
enum ka_status kai_index_init(struct kai_index *ix, size_t n);
void kai_index_free(struct kai_index *ix);
/* The value of key[0..len), or NULL. */
void *kai_index_get(const struct kai_index *ix, const char *key, size_t len);
/* Add key -> value, growing as needed; when key is there already nothing
 * changes and *old gets its value (else NULL). */
enum ka_status kai_index_put(struct kai_index *ix, const char *key,
			     void *value, void **old);
/* Change the value of a key that is there (nothing when it is not). */
void kai_index_set(struct kai_index *ix, const char *key, void *value);

/* ---- big-reader lock (brlock.c) ---------------------------------------- */

/* Readers lock one stripe (their thread's), writers all: readers on
 * different cores never share a cache line. Each stripe is padded so no
 * two mutexes can sit in one 64-byte line whatever the alignment. */
#define KAI_BR_STRIPES 16
struct kai_brlock {
	struct {
		pthread_mutex_t m;
		char pad[128 - sizeof(pthread_mutex_t)];
	} stripe[KAI_BR_STRIPES];
};
int kai_br_init(struct kai_brlock *b);	/* 0, or -1 */
void kai_br_destroy(struct kai_brlock *b);
unsigned kai_br_rdlock(struct kai_brlock *b);	/* returns the stripe */
void kai_br_rdunlock(struct kai_brlock *b, unsigned stripe);
void kai_br_wrlock(struct kai_brlock *b);
void kai_br_wrunlock(struct kai_brlock *b);

/* ---- secure memory (secmem.c) ----------------------------------------- */

void *kai_secure_alloc(size_t n);	/* zeroed; NULL on failure */
void kai_secure_free(void *p);		/* wipes; NULL-safe */
char *kai_secure_strdup(const char *s);
void kai_wipe(void *p, size_t n);	/* explicit_bzero */

/* ---- safe file opening (safefile.c) ----------------------------------- */

enum kai_owner {
	KAI_OWNER_ROOT,		/* system config: root only */
	KAI_OWNER_USER,		/* user config: the effective user or root */
	KAI_OWNER_PRIVATE,	/* private state: the effective user only,
				 * no permission bits for group or other */
};
/* Open path with O_NOFOLLOW|O_CLOEXEC, fstat the fd, and refuse anything
 * that is not a regular file, is writable by group or other, or has the
 * wrong owner. On success *fd_out is an open fd. Error text says how to
 * fix it ("chmod go-w FILE"). */
enum ka_status kai_open_checked(const char *path, enum kai_owner owner,
				int *fd_out, ka_error *err);
/* Read a whole checked file (at most max bytes) into a NUL-terminated
 * malloc'd buffer. */
enum ka_status kai_read_checked(const char *path, enum kai_owner owner,
				size_t max, char **out, ka_error *err);

/* Resolve dir (absolute) and check it and every directory above it, as
 * OpenSSH checks the path of its keys: each a directory owned by root or
 * the effective user, none writable by group or others (a root-owned
 * sticky one such as /tmp excepted, above dir only). what names it in
 * messages ("module directory"). On success *resolved is the real path
 * (caller frees). */
enum ka_status kai_dir_trusted(const char *dir, const char *what,
			       char **resolved, ka_error *err);

/* ---- records (record.c) ----------------------------------------------- */

struct ka_record {
	char *access_token;	/* secure memory */
	char *refresh_token;	/* secure memory */
	char *token_type;
	char *account;
	/* The source instance it was loaded from or stored to, borrowed from
	 * the context; NULL for a record made by a caller. The one place
	 * that knows where a record lives: a store goes back there. */
	const struct ka_mctx *src;
	/* Its module's name, for ka_record_source(): a copy, so a record
	 * handed to a caller may outlive the context. Set with src. */
	char src_name[65];
	struct kai_strv scopes;
	int64_t expires_at;
	int64_t refresh_expires_at;
	int64_t obtained_at;
	/* How many times the record was written to its source (0: never, or
	 * written before generations existed); a source that writes through
	 * temporary files (file.c) tells a newer leftover from an older one
	 * by it. */
	uint64_t generation;
};

enum ka_status kai_record_from_json(const char *buf, size_t len,
				    struct ka_record **out, ka_error *err);
enum ka_status kai_record_to_json(const struct ka_record *r, char **out,
				  size_t *len);
enum ka_status kai_record_dup(const struct ka_record *r,
			      struct ka_record **out);
/* Record that r lives in source m (NULL: nowhere). */
void kai_record_place(struct ka_record *r, const struct ka_mctx *m);
/* 1 if an expiry `at` (UTC seconds or KA_EXPIRES_NEVER) is more than
 * margin (>= 0) seconds after now; no overflow for any value. */
int kai_fresh_for(int64_t at, int64_t now, int64_t margin);

/* ---- configuration (config.c: files and layers; stanza.c: one stanza) - */

/* One argument of a module entry, as read from the config file. */
struct kai_arg {
	char *name;
	enum ka_arg_type type;
	char *str;		/* KA_ARG_STRING */
	long long num;		/* KA_ARG_INT */
	int flag;		/* KA_ARG_BOOL */
	struct kai_strv list;	/* KA_ARG_STRING_LIST */
	int line;
};

/* One module instance: an entry of a source stack or a refresh block. */
struct ka_mctx {
	struct ka_mctx_head head;	/* must stay first */
	struct ka_ctx *ctx;
	struct ka_service *svc;
	char *modname;
	enum ka_control control;	/* sources only */
	struct kai_arg *args;
	size_t nargs;
	const char *file;	/* borrowed from the service */
	int line;
	/* Set by the loader. */
	const struct ka_module *mod;
	void *data;
	int initialized;
};

/* A pattern of 'hosts', "scheme://HOST[:PORT|:*]", parsed once when the
 * configuration is read (stanza.c) so that matching a request's origin
 * against it (origin.c) parses no text. */
struct kai_hostpat {
	char scheme[8];		/* "https", or "http" (loopback hosts only) */
	char *host;		/* as kai_origin normalises hosts: lowercase
				 * name, dotted quad or "[canonical IPv6]";
				 * for "*.domain" the suffix ".domain" */
	size_t hostlen;
	unsigned port;		/* 0 for ":*", else explicit or the default */
	int wildcard;		/* "*.domain": one or more labels under it */
};

struct kai_slot;

struct ka_service {
	char *name;
	char *description;
	char *file;		/* config file it came from */
	int line;
	char *origin;		/* "file:line" */
	char *error;		/* NULL when usable */
	char *header;		/* format with exactly one %s */
	size_t hdr_len;		/* split once (kai_service_header_split): */
	size_t hdr_name_len;	/* "Name" in "Name: ... %s ..." */
	size_t hdr_tok_off;	/* where the %s is */
	struct kai_strv hosts;	/* as written, lowercased */
	struct kai_hostpat *hostpat;	/* the same, parsed */
	size_t nhostpat;
	struct kai_strv scopes;
	long min_valid;
	long timeout;		/* seconds for a whole ka_perform; 0: default */
	/* `export`: the programs (KAI_EXPORT_PROGRAMS) the token may be
	 * handed to by a bridge; empty: none (export.c). */
	struct kai_strv exports;
	int export_line;	/* where `export` was set, 0: not set */
	/* `git_paths`: repository path prefixes git may get the token for
	 * (matched only when git sends a path); empty: any path. */
	struct kai_strv git_paths;
	char *default_account;	/* `default_account`, or NULL */
	char *chosen_account;	/* the user's choice (ka_account_use) when the
				 * context opened, or NULL */
	int locked;
	int user;		/* 1 if from the user layer */
	struct ka_mctx **sources;
	size_t nsources;
	struct ka_mctx *refresh;	/* or NULL */
	int bound;		/* every source module is loaded and initialised */
	/* Broker state (broker.c). */
	char pad_[128];		/* keeps the fields above off cache_lock's lines */
	struct kai_brlock cache_lock;	/* guards the slot list and each
					 * slot's cached record */
	struct kai_slot *slots;		/* one per account used */
};

#define KAI_MIN_VALID_DEFAULT 60
/* The programs a stanza's `export` may name: the bridges that exist. */
#define KAI_EXPORT_PROGRAMS "git, kubectl"
int kai_export_program_known(const char *name);
#define KAI_HEADER_DEFAULT "Authorization: Bearer %s"
#define KAI_CONFIG_MAX (16 * 1024 * 1024)

/* Read the configuration named by path (a file or a directory), or the
 * default locations when path is NULL, into ctx->services and
 * ctx->diags. File-level problems (unreadable, unsafe permissions, syntax)
 * go to ctx->diags and make the call return KA_ERR_CONFIG with the first
 * of them in err; stanza-level problems disable that service (its error
 * is set and a diagnostic added) and do not fail the call. */
enum ka_status kai_config_load(struct ka_ctx *ctx, const char *path,
			       ka_error *err);
/* The same with the two layers named explicitly (tests): sysdir is the
 * root-owned layer, userdir the user's; either may be NULL. */
enum ka_status kai_config_load_layers(struct ka_ctx *ctx, const char *sysdir,
				      const char *userdir, ka_error *err);
/* $XDG_CONFIG_HOME/kiwi-auth, else $HOME/.config/kiwi-auth, else NULL;
 * the caller frees it. */
char *kai_config_user_dir(void);
void kai_service_free(struct ka_service *s);
void kai_mctx_free(struct ka_mctx *m);
/* Disable a service with a reason and record "origin: reason". */
void kai_service_fail(struct ka_ctx *ctx, struct ka_service *s,
		      const char *file, int line, const char *fmt, ...)
	KAI_PRINTF(5, 6);
const struct kai_arg *kai_mctx_arg(const struct ka_mctx *m, const char *name);

/* The line of a setting in its file (config.c): libconfig's line in the
 * piece it was parsed from, plus the lines before that piece. */
struct config_setting_t;
int kai_setting_line(const struct config_setting_t *c);

/* confsplit.c: where the run of top-level settings that starts at from
 * and is at least want bytes long ends in buf[0..len) (the byte after a
 * ';' or ',' outside strings, comments and brackets), or len. */
size_t kai_conf_cut(const char *buf, size_t len, size_t from, size_t want);

/* stanza.c: one stanza, its values and host patterns. */
struct config_setting_t;
/* Fill s (made by config.c: name, file, line, defaults) from its stanza g.
 * Problems disable s and add diagnostics; KA_ERR_NOMEM is the only error. */
enum ka_status kai_stanza_read(struct ka_ctx *ctx, struct ka_service *s,
			       const struct config_setting_t *g);
/* Parse a host pattern into *out (free with kai_hostpat_clear). KA_OK;
 * KA_ERR_CONFIG with *why saying what is wrong (v is never echoed, a
 * person may have pasted a secret); or KA_ERR_NOMEM. */
enum ka_status kai_hostpat_parse(const char *v, struct kai_hostpat *out,
				 const char **why);
void kai_hostpat_clear(struct kai_hostpat *p);
/* The host names both patterns and request URLs (origin.c) accept:
 * h[0..len) of labels of letters, digits, '_' and '-' (not first or last
 * in a label), 1-63 bytes each, 253 in all; a numeric last label only in
 * a dotted-quad IPv4 address, which sets *ip. Returns the number of
 * labels, 0 if not a host name. */
int kai_host_name_ok(const char *h, size_t len, int *ip);
/* 1 for 127.0.0.1, [::1] and localhost (normalised forms). */
int kai_host_is_loopback(const char *host);

/* ---- modules (loader.c, host.c) --------------------------------------- */

struct kai_module {
	char *name;
	void *handle;
	int fd;			/* the file loaded, open while it is */
	const struct ka_module *mod;
	struct kai_module *next;
};

/* Load and initialise every module the services name. Failures disable
 * the service (fail closed) and add a diagnostic. */
void kai_loader_bind(struct ka_ctx *ctx);
void kai_loader_unbind(struct ka_ctx *ctx);
/* Load one module by bare name from the module directory. */
enum ka_status kai_module_open(struct ka_ctx *ctx, const char *name,
			       const struct ka_module **out, ka_error *err);

extern const struct ka_host kai_host;

/* ---- context (context.c) ---------------------------------------------- */

#define KAI_SHARE_LOCKS 16	/* more than libcurl's curl_lock_data values */
/* perform.c: the context's libcurl share, set up and torn down with it. */
enum ka_status kai_share_init(struct ka_ctx *ctx);
void kai_share_free(struct ka_ctx *ctx);

struct ka_ctx {
	struct ka_service **services;
	size_t nservices;
	/* Built when the context opens (config.c): name -> service, scope
	 * -> the service granting it, scope -> a second service granting it
	 * too (both are then disabled). */
	struct kai_index by_name, by_scope, scope_clash;
	struct kai_strv diags;
	char *module_dir;
	char *module_dir_real;	/* module_dir once checked, else NULL */
	char *config_path;	/* as opened (options), NULL: the default */
	unsigned flags;
	struct kai_module *modules;
	ka_log_fn log;
	void *log_data;
	enum ka_status config_status;	/* of kai_config_load */
	/* Global settings (the `global` group). */
	char *audit_file;
	int audit_syslog;
	/* The conversation (ka_ctx_set_conversation). */
	ka_conv_fn conv;
	void *conv_data;
	/* perform.c: connections, DNS answers and TLS sessions shared by the
	 * requests ka_perform makes, so an executor's next request to an API
	 * reuses the connection of the last. Made on first use. */
	pthread_mutex_t share_mu;
	void *share;			/* CURLSH */
	pthread_mutex_t share_lock[KAI_SHARE_LOCKS];
};

void kai_log(const struct ka_ctx *ctx, int level, const char *fmt, ...)
	KAI_PRINTF(3, 4);
void kai_vlog(const struct ka_ctx *ctx, int level, const char *fmt,
	      va_list ap) KAI_PRINTF(3, 0);
enum ka_status kai_diag(struct ka_ctx *ctx, const char *fmt, ...)
	KAI_PRINTF(2, 3);
struct ka_service *kai_service_lookup(struct ka_ctx *ctx, const char *name);

/* ---- broker core (broker.c, stack.c) ---------------------------------- *
 *
 * Every use of a record goes down one path: a public call checks its
 * arguments once (kai_resolve), then asks the core for the record of a
 * resolved service and account. The core serves it from the cache, or
 * runs one flight for (service, account) that walks the source stack once
 * and, when needed, refreshes it (refresh.c). Stores go back to the
 * source the record came from without walking the stack again. */

/* The service named `service` if it can be used, and the account (NULL
 * becomes the service's default). The one check every entry point makes;
 * the error says what to do. */
enum ka_status kai_resolve(struct ka_ctx *ctx, const char *service,
			   const char **account, struct ka_service **out,
			   ka_error *err);
/* The account a call without one uses: the user's choice as it was when
 * the context opened, else the stanza's default_account, else
 * KA_ACCOUNT_DEFAULT. s may be NULL. No I/O: the executor's hot path. */
const char *kai_account_or_default(const struct ka_service *s,
				   const char *account);
/* Read the user's choices of account (ka_account_use) into the services
 * of a context that is opening: one directory read, whatever the number
 * of services. A choice that cannot be read is a warning. */
void kai_account_choices_load(struct ka_ctx *ctx);
/* The part of kai_resolve that looks at a service already found. */
enum ka_status kai_service_check(const struct ka_service *s, ka_error *err);

/* 1 if r's access token may be used now: it exists and does not expire
 * within the service's min_valid. */
int kai_record_usable(const struct ka_service *s, const struct ka_record *r,
		      int64_t now);

/* What a call of the core needs. Ordered: each asks more than the last. */
enum kai_want {
	KAI_WANT_ANY = 1,	/* the record as stored, usable or not */
	KAI_WANT_USABLE,	/* a usable record, refreshed first if need be */
	KAI_WANT_REFRESH,	/* refreshed if it is not usable */
	KAI_WANT_FORCE,		/* refreshed now */
};

/* Called with the record, borrowed for the call only (on a cache hit,
 * under the cache's read lock: no I/O, no blocking). */
typedef enum ka_status (*kai_record_fn)(const struct ka_service *s,
					const struct ka_record *r, void *data,
					ka_error *err);

/* The core: call fn (may be NULL) with the record of (s, account) as
 * `want` says. A usable cached record costs no allocation and no I/O.
 * *refreshed (may be NULL) is 1 when this call refreshed. */
enum ka_status kai_core(struct ka_ctx *ctx, struct ka_service *s,
			const char *account, enum kai_want want,
			kai_record_fn fn, void *data, int *refreshed,
			ka_error *err);
/* kai_resolve + kai_core(KAI_WANT_USABLE): for callers holding a name. */
enum ka_status kai_with_record(struct ka_ctx *ctx, const char *service,
			       const char *account, kai_record_fn fn,
			       void *data, ka_error *err);

/* Store a copy of r for (s, account) inside its flight, routed as
 * kai_stack_store says; xlock: under the cross-process refresh lock too
 * (a sign-in must not be overwritten by a refresh of the old one). */
enum ka_status kai_store(struct ka_ctx *ctx, struct ka_service *s,
			 const char *account, const struct ka_record *r,
			 int xlock, ka_error *err);

/* One (service, account): its cached record and its flight. */
struct kai_slot;
/* Work done inside the flight of (s, account): no other load, refresh,
 * store or erase of that account runs in this process meanwhile; other
 * accounts are not held up. */
typedef enum ka_status (*kai_flight_fn)(struct ka_ctx *ctx,
					struct ka_service *s,
					struct kai_slot *sl,
					const char *account, void *data,
					ka_error *err);
enum ka_status kai_flight(struct ka_ctx *ctx, struct ka_service *s,
			  const char *account, kai_flight_fn fn, void *data,
			  ka_error *err);
/* Inside a flight: the cached record (borrowed, or NULL: none, or not
 * fresh), a copy of rec to cache in its place, or nothing cached. */
const struct ka_record *kai_slot_record(const struct ka_service *s,
					const struct kai_slot *sl);
void kai_slot_put(struct ka_service *s, struct kai_slot *sl,
		  const struct ka_record *rec);
void kai_slot_drop(struct ka_service *s, struct kai_slot *sl);
void kai_slots_free(struct ka_service *s);
/* Forget every cached record of s (the next use reads the sources). */
void kai_cache_forget(struct ka_service *s);

/* stack.c: the source stack. Walk it once (PAM control flags over NSS
 * statuses) for (s, account): *out gets the record, its src set. */
enum ka_status kai_stack_load(struct ka_service *s, const char *account,
			      struct ka_record **out, ka_error *err);
/* Read the record again from the one source m (under the refresh lock,
 * another process may have stored a newer one). */
enum ka_status kai_source_load(struct ka_service *s, const struct ka_mctx *m,
			       const char *account, struct ka_record **out,
			       ka_error *err);
/* Store r for (s, account) in the source it came from if that one is
 * writable (r->src, else `holder`: the source holding the current
 * record, may be NULL), else the first writable source. On success r->src
 * is where it went. */
enum ka_status kai_stack_store(struct ka_service *s, const char *account,
			       const struct ka_mctx *holder,
			       struct ka_record *r, ka_error *err);
/* Erase (s, account) from every writable source; *erased counts those
 * that held one. */
enum ka_status kai_stack_erase(struct ka_service *s, const char *account,
			       unsigned *erased, ka_error *err);
int kai_source_writable(const struct ka_mctx *m);
/* "not signed in to S: run 'kiwi-auth signin S'" and the like, with
 * auth_required set. */
void kai_not_signed_in(const struct ka_service *s, const char *account,
		       ka_error *err);
void kai_expired(const struct ka_service *s, const char *account,
		 ka_error *err);

/* ---- executor (authorize.c, origin.c, scope.c, audit.c) --------------- */

/* headers.c: a tool's own headers. */
struct curl_slist;
struct kai_origin;
/* Length of the header name at the start of line (RFC 9110 token). */
size_t kai_header_name_len(const char *line);
/* 1 if line is a header called name (any case). */
int kai_header_is(const char *line, const char *name);
/* KA_OK if line is "Name: value" (or libcurl's "Name;" / "Name:") with a
 * token for a name and no control byte but TAB in the value; else
 * KA_ERR_INVALID saying what is wrong with header number i, naming the
 * header but never quoting its value. */
enum ka_status kai_header_check(const char *line, size_t i, ka_error *err);
/* The name of the routing or framing header line is (Host, Forwarded,
 * Content-Length, ...), or NULL. */
const char *kai_header_routing(const char *line);
/* 1 if line carries credentials: Authorization, Proxy-Authorization,
 * Cookie, or the service's own header name (cred_name, cred_len). */
int kai_header_credential(const char *line, const char *cred_name,
			  size_t cred_len);
/* kai_header_check on every node, and routing headers refused; the value
 * of a well-formed node called skip (skip_len bytes, may be 0) is not
 * scanned: such nodes are dropped for the credential's own line anyway,
 * so a line the library set on an earlier call is not scanned again. */
enum ka_status kai_headers_check(const struct curl_slist *h, const char *skip,
				 size_t skip_len, ka_error *err);
/* Set line (len bytes, name_len of them the name) in the list in place of
 * every header of the same name: written over one of them when its
 * buffer is large enough (no allocation), else appended; the others are
 * wiped and dropped. On failure the list is unchanged. *node is the node
 * that holds line. */
enum ka_status kai_headers_set(struct curl_slist **headers, const char *line,
			       size_t len, size_t name_len,
			       struct curl_slist **node);

/* What ka_authorize decided (opaque in kiwiauth.h). */
#define KAI_WORD_MAX 256
struct ka_auth_info {
	const struct ka_service *svc;	/* NULL: nothing was authorized */
	char account[KAI_WORD_MAX + 1];
	char scope[KAI_WORD_MAX + 1];
	int injected;
	int64_t expires_at;
	/* Where the credential sits in the header list, for ka_redact():
	 * valid while that list lives. Never handed out. */
	const char *cred;
	size_t cred_len;
};

/* authorize.c: overwrite every copy of cred (k bytes) in buf with the
 * byte with, which kai_mask_byte chose absent from every credential of
 * the request; the number of copies. */
unsigned char kai_mask_byte(const char *const *cred, const size_t *len,
			    size_t n);
size_t kai_redact(const char *cred, size_t k, unsigned char with, char *buf,
		  size_t len);

/* authorize.c, for the performer. The request's words (scope, service,
 * account, method, tool) are well formed. */
enum ka_status kai_request_check(const struct ka_request *req, ka_error *err);
/* The service a request names, or the
 * one granting its scope, usable. */
enum ka_status kai_pick_service(struct ka_ctx *ctx,
				const struct ka_request *req,
				struct ka_service **out, ka_error *err);
/* All ka_authorize decides before the record is touched: the request's
 * words, the service, the URL's origin (into *o) allowed by it. A refusal
 * is audited and fills info (may be NULL). */
enum ka_status kai_authorize_prepare(struct ka_ctx *ctx,
				     const struct ka_request *req,
				     struct ka_service **svc,
				     struct kai_origin *o,
				     struct ka_auth_info *info, ka_error *err);
/* Put the credential of (s, req->account) on *headers for a request to
 * the origin o (already parsed, must be allowed): the token's freshness
 * and scopes checked, refreshed first if needed, audited. info gets the
 * outcome. */
enum ka_status kai_authorize_origin(struct ka_ctx *ctx, struct ka_service *s,
				    const struct ka_request *req,
				    const struct kai_origin *o,
				    struct curl_slist **headers,
				    struct ka_auth_info *info, ka_error *err);
/* The credential header's name in s's `header` format. */
void kai_service_header_name(const struct ka_service *s, const char **name,
			     size_t *len);
/* Split s->header (checked: exactly one %s) into its parts, once. */
void kai_service_header_split(struct ka_service *s);

#define KAI_HOST_MAX 256	/* a DNS name (253) or "[IPv6]", plus NUL */

/* The origin of a URL: scheme, host and port, normalised (lowercase host,
 * no trailing dot, IPv6 literal in brackets in its canonical form). */
struct kai_origin {
	char scheme[8];		/* "https" or "http" */
	char host[KAI_HOST_MAX];
	unsigned port;		/* explicit, else the scheme's default */
	int loopback;		/* 127.0.0.1, [::1] or localhost */
	int ip;			/* an IPv4 or IPv6 literal */
};

/* Parse url once with libcurl's URL API and check it: no user or password,
 * no control bytes, spaces or backslashes, no percent escapes or non-ASCII
 * in the host, scheme https (http only for loopback hosts). When canon is
 * not NULL, *canon gets the URL as libcurl normalised it (caller frees
 * with free()). Errors are KA_ERR_INVALID (does not parse) or
 * KA_ERR_DENIED (refused); the text never repeats more of the URL than
 * its origin. */
enum ka_status kai_origin_parse(const char *url, struct kai_origin *out,
				char **canon, ka_error *err);
/* 1 if s holds a byte < 0x20 or 0x7f (as kai_has_ctl, faster); *len
 * (may be NULL) gets strlen(s). */
int kai_ctl_scan(const char *s, size_t *len);
/* 1 if o matches one host pattern "scheme://HOST[:PORT|:*]". */
int kai_origin_match(const struct kai_origin *o, const char *pattern);
/* 1 if o matches any of the service's hosts. */
int kai_origin_allowed(const struct kai_origin *o, const struct ka_service *s);
/* "scheme://host[:port]" (port only when not the default) into buf. */
void kai_origin_format(const struct kai_origin *o, char *buf, size_t n);

/* SHA-256 and HMAC-SHA256 (audit.c). */
#define KAI_SHA256_LEN 32
void kai_sha256(const void *msg, size_t len, uint8_t out[KAI_SHA256_LEN]);
void kai_hmac_sha256(const void *key, size_t klen, const void *msg,
		     size_t len, uint8_t out[KAI_SHA256_LEN]);

/* One authorization decision for the audit trail. Every field may be
 * NULL; none holds a token. */
struct kai_audit_event {
	const char *outcome;	/* "injected", "refused" */
	const char *service;
	const char *scope;
	const char *account;
	const char *origin;	/* "scheme://host[:port]", never a full URL */
	const char *method;
	const char *tool;
	const char *reason;	/* status name when refused */
	const char *token;	/* only hashed into the fingerprint */
	size_t token_len;
};

/* 1 if the context has an audit sink (audit_file or audit_syslog). */
int kai_audit_enabled(const struct ka_ctx *ctx);
/* Write one line to the audit file and/or syslog. Best effort: a failure
 * is logged through the context, never fatal. */
void kai_audit(const struct ka_ctx *ctx, const struct kai_audit_event *ev);
/* The keyed fingerprint of a token: 16 hex characters and a NUL. */
#define KAI_FINGERPRINT_LEN 17
enum ka_status kai_audit_fingerprint(const char *token, size_t len,
				     char out[KAI_FINGERPRINT_LEN],
				     ka_error *err);

/* ---- HTTP, OAuth and refresh (http.c, oauth.c, refresh.c) ------------- */

#define KAI_HTTP_MAX_RESPONSE (256 * 1024)

/* The host's HTTP client (see struct ka_http_request). ctx may be NULL
 * (no debug log). */
enum ka_status kai_http(const struct ka_ctx *ctx,
			const struct ka_http_request *req,
			struct ka_http_response **out, ka_error *err);
/* The same; *unsent (may be NULL) is 1 when a failure certainly happened
 * before the request reached the server (name lookup, connect), so a
 * retry cannot replay it. */
enum ka_status kai_http_ex(const struct ka_ctx *ctx,
			   const struct ka_http_request *req,
			   struct ka_http_response **out, int *unsent,
			   ka_error *err);
void kai_http_response_free(struct ka_http_response *r);
/* The settings every request of the library's own has (http.c): url (as
 * kai_origin_parse made it) only over https, http for loopback o, never
 * through a proxy to loopback, redirects never followed, TLS verified, no
 * netrc, no signals, the deadlines. 0, or -1 when libcurl refused one. */
int kai_curl_safe(CURL *curl, const struct kai_origin *o, const char *url,
		  long total_ms, long connect_ms);
enum ka_status kai_form_add(char **form, size_t *len, const char *name,
			    const char *value);
enum ka_status kai_random_string(char *out, size_t n);
enum ka_status kai_pkce_s256(const char *verifier, char *out, size_t n);
enum ka_status kai_converse(const struct ka_mctx *m,
			    const struct ka_conv_msg *msg, char *answer,
			    size_t size, ka_error *err);

enum ka_status kai_oauth_discover(const struct ka_mctx *m, const char *issuer,
				  const char *ca_file,
				  struct ka_oauth_endpoints *out,
				  ka_error *err);
enum ka_status kai_oauth_token(const struct ka_mctx *m,
			       const struct ka_oauth_request *req,
			       struct ka_record **out,
			       struct ka_oauth_error *oerr, ka_error *err);
enum ka_status kai_oauth_device(const struct ka_mctx *m,
				const struct ka_oauth_device *req,
				struct ka_record **out,
				struct ka_oauth_error *oerr, ka_error *err);
/* The answer-reading halves of the calls above, apart from the network
 * (the fuzz targets call them): a token answer into a record, a device
 * authorization answer, a discovery document (fetched from url) of
 * issuer. Same errors as the calls; oerr is required. */
struct kai_device_answer {
	char *device_code;	/* secure memory, the caller's to free */
	char uri[KA_URL_MAX];	/* verification_uri */
	char complete[KA_URL_MAX];	/* verification_uri_complete, or "" */
	char code[65];		/* user_code */
	long long expires_in;	/* seconds; 0 when absent */
	long long interval;	/* seconds; 0 when absent */
};
enum ka_status kai_oauth_token_answer(const struct ka_mctx *m,
				      const struct ka_oauth_request *req,
				      const struct ka_http_response *r,
				      struct ka_record **out,
				      struct ka_oauth_error *oerr, ka_error *err);
enum ka_status kai_oauth_device_answer(const struct ka_http_response *r,
				       struct kai_device_answer *out,
				       struct ka_oauth_error *oerr,
				       ka_error *err);
enum ka_status kai_oauth_revoke(const struct ka_mctx *m,
				const struct ka_oauth_request *req,
				const char *token, const char *hint,
				struct ka_oauth_error *oerr, ka_error *err);

/* Inside the flight of (s, account) (refresh.c): take the cross-process
 * lock; read the record (from the source of cached, a copy from the cache,
 * when given; else by walking the stack); unless it is usable now (or
 * force), refresh it with the refresh module and store the result durably
 * in the same source before anything uses it. *out gets the record in
 * force afterwards: the new one, or on a failed refresh the one read (NULL
 * when reading failed). *refreshed is 1 if this call refreshed. */
enum ka_status kai_refresh_record(struct ka_ctx *ctx, struct ka_service *s,
				  const char *account,
				  const struct ka_record *cached, int force,
				  struct ka_record **out, int *refreshed,
				  ka_error *err);
int kai_refreshable(const struct ka_service *s);
/* The same, in-process whatever the context says (the refresher itself,
 * and the fallback when no refresher can be run). */
enum ka_status kai_refresh_here(struct ka_ctx *ctx, struct ka_service *s,
				const char *account,
				const struct ka_record *cached, int force,
				struct ka_record **out, int *refreshed,
				ka_error *err);
/* Read the record under no lock, from the source of cached when given,
 * else by walking the stack. */
enum ka_status kai_refresh_reread(struct ka_service *s, const char *account,
				  const struct ka_record *cached,
				  struct ka_record **out, ka_error *err);

/* ---- the refresher (refresher.c: spawn and wait; rfproto.c: the pipe
 * protocol, shared with src/helper/refresher.c) ------------------------ *
 *
 * A refresh runs in kiwi-auth-refresher, a program in its own session
 * that opens its own context on the same configuration, takes the lock,
 * refreshes, stores durably and only then answers: a caller killed at any
 * moment loses nothing. */

#define KAI_RF_LINE_MAX 4096		/* a line with its newline */
#define KAI_RF_REQUEST_MAX 16384
#define KAI_RF_ANSWER_MAX 65536
#define KAI_RF_LOGS_MAX 64
struct kai_rf_request {
	char config[KAI_RF_LINE_MAX];	/* "" for the default search */
	char module_dir[KAI_RF_LINE_MAX]; /* "" for the default */
	char service[256];
	char account[257];
	int force;
};
struct kai_rf_answer {
	enum ka_status status;
	int auth_required;
	int refreshed;
	char message[KA_ERROR_TEXT_LENGTH];	/* "" exactly when KA_OK */
};
typedef void (*kai_rf_log_fn)(int level, const char *text, void *data);
/* 0, or -1 for anything but one well-formed request/answer (out zeroed). */
int kai_rf_request_parse(const char *buf, size_t len,
			 struct kai_rf_request *out);
int kai_rf_request_format(const struct kai_rf_request *r, char *buf,
			  size_t cap, size_t *len);
int kai_rf_answer_parse(const char *buf, size_t len,
			struct kai_rf_answer *out, kai_rf_log_fn log,
			void *data);
/* One line into buf: its length, or -1. */
int kai_rf_log_format(int level, const char *text, char *buf, size_t cap);
int kai_rf_answer_format(enum ka_status st, const ka_error *err,
			 int refreshed, char *buf, size_t cap);
/* The refresher program to run for ctx into buf: 1, or 0 to refresh
 * in-process (KA_CTX_REFRESH_IN_PROCESS, KIWI_AUTH_REFRESHER=none, none
 * installed, or one that fails the checks modules pass: owned by root or
 * the user, not writable by others, in a trusted directory). */
int kai_refresher_find(struct ka_ctx *ctx, char *buf, size_t n);
/* Run the refresh of (s, account) in the refresher at path; as
 * kai_refresh_record. KA_ERR_UNAVAILABLE with *spawned 0 when it could not
 * be started (the caller then refreshes in-process). */
enum ka_status kai_refresher_run(struct ka_ctx *ctx, const char *path,
				 struct ka_service *s, const char *account,
				 const struct ka_record *cached, int force,
				 struct ka_record **out, int *refreshed,
				 int *spawned, ka_error *err);

/* The exclusive lock of (service, account) across processes: an fd, or -1
 * with err set. kai_refresh_unlock(-1) is a no-op. */
int kai_refresh_lock(const char *service, const char *account, ka_error *err);
void kai_refresh_unlock(int fd);
/* host->http: kai_http with the instance's context. */
enum ka_status kai_host_http(const struct ka_mctx *m,
			     const struct ka_http_request *req,
			     struct ka_http_response **out, ka_error *err);

/* Test hook (util.c): called at named points ("load" before a source
 * is read; "locked", "answered", "stored" in a refresh). NULL in every
 * program but the tests that set it; never reachable from the shared
 * library's exports. */
extern void (*kai_test_hook)(const char *point);
void kai_test_point(const char *point);

/* ---- host services shared by the refresh modules (secretarg.c,
 * loopback.c, http.c): host->secret_arg, oauth_code, form_add_list and
 * oauth_basic_auth ------------------------------------------------------ */

#include <sys/types.h>

enum ka_status kai_secret_arg(const struct ka_mctx *m, const char *name,
			      unsigned flags, char **out, ka_error *err);
enum ka_status kai_oauth_code(const struct ka_mctx *m,
			      const struct ka_oauth_code *req,
			      struct ka_record **out,
			      struct ka_oauth_error *oerr, ka_error *err);
/* One request to the loopback redirect listener (loopback.c): req is the
 * NUL-terminated text read (changed in place); a GET of /callback whose
 * state matches gives KAI_CB_CODE with the code in code[n] or
 * KAI_CB_ERROR with the server's error in oerr[on], unless its `iss` is
 * not the issuer expected (RFC 9207): KAI_CB_MIXUP, and neither is used;
 * anything else KAI_CB_AGAIN. *rep is the answer to send the browser. */
enum kai_cb_result { KAI_CB_AGAIN, KAI_CB_CODE, KAI_CB_ERROR, KAI_CB_MIXUP };
struct kai_cb_reply {
	int status;
	const char *text;
};
struct kai_cb_expect {
	const char *state;
	const char *issuer;	/* NULL: no iss check */
	int iss_required;	/* the server says it sends iss */
};
enum kai_cb_result kai_callback_parse(char *req, const struct kai_cb_expect *x,
				      char *code, size_t n, char *oerr,
				      size_t on, struct kai_cb_reply *rep);
enum ka_status kai_form_add_list(char **form, size_t *len, const char *name,
				 const char *const *values);
enum ka_status kai_basic_auth(const char *client_id, const char *secret,
			      char **out);
/* Percent-decode s[0..n) in place ('+' is a space); the new length, or
 * -1 on a bad escape (oauth.c). */
ssize_t kai_form_decode(char *s, size_t n);

/* ---- JSON answers (oauth.c) ------------------------------------------- */

struct json_t;
/* o[key] when it is a non-empty string without a NUL, else NULL. */
const char *kai_json_str(struct json_t *o, const char *key);
/* Wipe every string of the object, then json_decref it. NULL-safe. */
void kai_json_wipe_free(struct json_t *o);

/* ---- private state files (statefile.c) -------------------------------- */

/* $XDG_STATE_HOME/kiwi-auth, else ~/.local/state/kiwi-auth: 0, or -1. */
int kai_state_dir(char *buf, size_t n);
/* mkdir -p, mode 0700 for what is created: 0, or -1 with errno. */
int kai_make_dirs(const char *path);
/* Write buf into dir/name through a temporary file (mode 0600) that is
 * fsynced and then renamed over name (KAI_WRITE_NOREPLACE: linked, so an
 * existing name is never replaced), then fsync the directory. On failure
 * name is as it was and no temporary file is left. */
#define KAI_WRITE_NOREPLACE KA_WRITE_NOREPLACE
enum ka_status kai_write_atomic(const char *dir, const char *name,
				const char *buf, size_t len, unsigned flags,
				ka_error *err);
/* The same in the open directory dirfd; dir names it in messages. */
enum ka_status kai_write_atomic_at(int dirfd, const char *dir,
				   const char *name, const char *buf,
				   size_t len, unsigned flags, ka_error *err);

/* ---- MCP authorization: challenges, metadata, clients (challenge.c,
 * discover.c, resource.c, clients.c) ----------------------------------- */

/* The Bearer challenge of WWW-Authenticate header values (pure parser:
 * buffer in, struct out). found is 0 when there is no Bearer challenge;
 * every value is unquoted and free of control bytes. */
#define KAI_CHALLENGE_MAX 1024
struct kai_bearer_challenge {
	int found;
	char error[64];
	char error_description[256];
	char scope[KAI_CHALLENGE_MAX];
	char resource_metadata[KA_URL_MAX];
	char realm[256];
};
/* KA_OK (found or not), or KA_ERR_PROTOCOL for a malformed header (an
 * unterminated quote, a parameter twice, a value that does not fit). */
enum ka_status kai_bearer_challenge_parse(const char *buf, size_t len,
					  struct kai_bearer_challenge *out);
/* Space-separated scope lists (RFC 6749 section 3.3). */
int kai_scope_list_has(const char *list, const char *scope);
/* Add the scopes of add missing from list (size bytes); KA_ERR_INVALID
 * when the result does not fit. */
enum ka_status kai_scope_list_add(char *list, size_t size, const char *add);
/* 1 if list is scope tokens (printable ASCII but '"' and '\') separated
 * by single spaces, or empty. */
int kai_scope_list_ok(const char *list);

/* Up to max well-known URLs of url with suffix: inserted between origin
 * and path, then (append) appended to the path when there is one.
 * Returns how many. Pure. */
int kai_well_known_urls(const char *url, const char *suffix, int append,
			char out[][KA_URL_MAX], size_t max);
/* Authorization server metadata (pure parser): issuer must match (strict:
 * byte for byte), every endpoint an https (or loopback http) URL. */
enum ka_status kai_as_metadata_parse(const char *buf, size_t len,
				     const char *issuer, int strict,
				     struct ka_oauth_metadata *out,
				     ka_error *err);
/* GET url: KA_OK when it answered 200 with a body, KA_ERR_NOT_FOUND for
 * any other answer, else the HTTP failure. */
enum ka_status kai_fetch_document(const struct ka_mctx *m, const char *url,
				  const char *ca_file,
				  struct ka_http_response **out, ka_error *err);
enum ka_status kai_oauth_metadata(const struct ka_mctx *m, const char *issuer,
				  const char *ca_file, unsigned flags,
				  struct ka_oauth_metadata *out, ka_error *err);

/* The canonical form of a resource URL (RFC 8707, MCP): parsed with
 * libcurl, no user, query or fragment, no trailing slash on an empty
 * path. Pure. */
enum ka_status kai_resource_canon(const char *url, char *out, size_t n,
				  ka_error *err);
/* Protected resource metadata (RFC 9728, pure parser): its `resource`
 * must be the canonical form of resource; out->as.issuer gets the first
 * usable entry of authorization_servers and out->scope scopes_supported. */
enum ka_status kai_resource_metadata_parse(const char *buf, size_t len,
					   const char *resource,
					   struct ka_resource_metadata *out,
					   ka_error *err);
/* The endpoints that receive codes, tokens or secrets from us are on the
 * issuer's origin, and PKCE S256 is offered (pure). */
enum ka_status kai_as_metadata_check(const struct ka_oauth_metadata *md,
				     ka_error *err);
enum ka_status kai_resource_discover(const struct ka_mctx *m, const char *url,
				     const char *ca_file,
				     struct ka_resource_metadata *out,
				     ka_error *err);

/* A registration answer (RFC 7591 section 3.2.1, pure parser): client_id
 * and, for a confidential client, client_secret (secure memory). */
enum ka_status kai_registration_parse(const char *buf, size_t len,
				      struct ka_oauth_client *out,
				      ka_error *err);
enum ka_status kai_oauth_client(const struct ka_mctx *m,
				const struct ka_resource_metadata *rm,
				const char *document_url, const char *ca_file,
				struct ka_oauth_client *out, ka_error *err);
enum ka_status kai_oauth_client_store(const struct ka_mctx *m,
				      const char *issuer, const char *resource,
				      const struct ka_oauth_client *c,
				      ka_error *err);
enum ka_status kai_oauth_client_find(const struct ka_mctx *m,
				     const char *resource, char *issuer,
				     struct ka_oauth_client *out);
void kai_oauth_client_clear(struct ka_oauth_client *c);
enum ka_status kai_oauth_code_iss(const struct ka_mctx *m,
				  const struct ka_oauth_code *req,
				  const char *issuer, int iss_required,
				  struct ka_record **out,
				  struct ka_oauth_error *oerr, ka_error *err);

/* ---- step-up authorization (stepup.c) -------------------------------- */

/* What a request's answer asks of the performer (pure). */
enum kai_step_up {
	KAI_STEP_UP_NONE,	/* not a 403 insufficient_scope: as it is */
	KAI_STEP_UP_SIGNIN,	/* err: auth_required, naming the scopes to
				 * add and the command that adds them */
	KAI_STEP_UP_RETRY,	/* the record holds the scopes: refresh the
				 * token (KA_REFRESH_FORCE), send again */
	KAI_STEP_UP_FAIL,	/* err: give up (no scope named, or tried
				 * KAI_STEP_UP_MAX times) */
};
#define KAI_STEP_UP_MAX 2	/* sends of one request after the first */
/* status and www_authenticate of the answer to the attempt-th send
 * (0: the first) of a request made with r (may be NULL) of (service,
 * account). */
enum kai_step_up kai_step_up(const char *service, const char *account,
			     const struct ka_record *r, long status,
			     const char *www_authenticate, unsigned attempt,
			     ka_error *err);

#endif /* KAI_H */
