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
void kai_strv_clear(struct kai_strv *sv);
enum ka_status kai_strv_addf(struct kai_strv *sv, const char *fmt, ...)
	KAI_PRINTF(2, 3);

char *kai_strdup(const char *s);	/* NULL-safe */
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
	char *source;		/* module name it was loaded from */
	struct kai_strv scopes;
	int64_t expires_at;
	int64_t refresh_expires_at;
	int64_t obtained_at;
};

enum ka_status kai_record_from_json(const char *buf, size_t len,
				    struct ka_record **out, ka_error *err);
enum ka_status kai_record_to_json(const struct ka_record *r, char **out,
				  size_t *len);
enum ka_status kai_record_dup(const struct ka_record *r,
			      struct ka_record **out);
enum ka_status kai_record_set_source(struct ka_record *r, const char *src);
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

struct kai_cache_entry;

struct ka_service {
	char *name;
	char *description;
	char *file;		/* config file it came from */
	int line;
	char *origin;		/* "file:line" */
	char *error;		/* NULL when usable */
	char *header;		/* format with exactly one %s */
	struct kai_strv hosts;	/* as written, lowercased */
	struct kai_hostpat *hostpat;	/* the same, parsed */
	size_t nhostpat;
	struct kai_strv scopes;
	long min_valid;
	int locked;
	int user;		/* 1 if from the user layer */
	struct ka_mctx **sources;
	size_t nsources;
	struct ka_mctx *refresh;	/* or NULL */
	int bound;		/* every source module is loaded and initialised */
	/* Broker state. */
	char pad_[128];		/* keeps the fields above off cache_lock's lines */
	struct kai_brlock cache_lock;
	struct kai_cache_entry *cache;
	pthread_mutex_t flight_lock;
};

#define KAI_MIN_VALID_DEFAULT 60
#define KAI_HEADER_DEFAULT "Authorization: Bearer %s"
#define KAI_CONFIG_MAX (1024 * 1024)

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
void kai_service_free(struct ka_service *s);
void kai_mctx_free(struct ka_mctx *m);
/* Disable a service with a reason and record "origin: reason". */
void kai_service_fail(struct ka_ctx *ctx, struct ka_service *s,
		      const char *file, int line, const char *fmt, ...)
	KAI_PRINTF(5, 6);
const struct kai_arg *kai_mctx_arg(const struct ka_mctx *m, const char *name);

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

struct ka_ctx {
	struct ka_service **services;
	size_t nservices;
	struct kai_strv diags;
	char *module_dir;
	char *module_dir_real;	/* module_dir once checked, else NULL */
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
};

void kai_log(const struct ka_ctx *ctx, int level, const char *fmt, ...)
	KAI_PRINTF(3, 4);
void kai_vlog(const struct ka_ctx *ctx, int level, const char *fmt,
	      va_list ap) KAI_PRINTF(3, 0);
enum ka_status kai_diag(struct ka_ctx *ctx, const char *fmt, ...)
	KAI_PRINTF(2, 3);
struct ka_service *kai_service_lookup(struct ka_ctx *ctx, const char *name);

/* ---- broker (broker.c) ------------------------------------------------ */

void kai_cache_clear(struct ka_service *s);
/* 1 if r's access token may be used now: it exists and does not expire
 * within the service's min_valid. */
int kai_record_usable(const struct ka_service *s, const struct ka_record *r,
		      int64_t now);

/* Call fn with a usable record of (service, account), borrowed for the
 * duration of the call only. On a cache hit fn runs under the service's
 * read lock, with no copy and no allocation (the executor's hot path);
 * on a miss the source stack is walked first. A record that is expired or
 * inside the service's min_valid window is never passed to fn: the call
 * fails with KA_ERR_EXPIRED (auth_required set) until refresh modules
 * exist. account NULL means KA_ACCOUNT_DEFAULT. */
typedef enum ka_status (*kai_record_fn)(const struct ka_service *s,
					const struct ka_record *r, void *data,
					ka_error *err);
enum ka_status kai_with_record(struct ka_ctx *ctx, const char *service,
			       const char *account, kai_record_fn fn,
			       void *data, ka_error *err);

/* ---- executor (authorize.c, origin.c, scope.c, audit.c) --------------- */

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
enum ka_status kai_oauth_discovery_answer(const struct ka_http_response *r,
					  const char *issuer, const char *url,
					  struct ka_oauth_endpoints *out,
					  ka_error *err);
enum ka_status kai_oauth_revoke(const struct ka_mctx *m,
				const struct ka_oauth_request *req,
				const char *token, const char *hint,
				struct ka_oauth_error *oerr, ka_error *err);

/* Re-read (service, account) from the source stack, bypassing the cache
 * (broker.c). */
enum ka_status kai_load_fresh(struct ka_ctx *ctx, const char *service,
			      const char *account, struct ka_record **out,
			      ka_error *err);
/* Refresh (s, account) under in-process single flight and the
 * cross-process lock (refresh.c). *out (may be NULL) gets a usable copy
 * of the record after the call. */
enum ka_status kai_refresh(struct ka_ctx *ctx, struct ka_service *s,
			   const char *account, unsigned flags,
			   struct ka_record **out, int *refreshed,
			   ka_error *err);

/* The exclusive lock of (service, account) across processes: an fd, or -1
 * with err set. kai_refresh_unlock(-1) is a no-op. */
int kai_refresh_lock(const char *service, const char *account, ka_error *err);
void kai_refresh_unlock(int fd);
/* Check service and account as every broker entry point does (account
 * NULL becomes KA_ACCOUNT_DEFAULT); *out is the usable service. */
enum ka_status kai_service_usable(struct ka_ctx *ctx, const char *service,
				  const char **account, struct ka_service **out,
				  ka_error *err);
/* host->http: kai_http with the instance's context. */
enum ka_status kai_host_http(const struct ka_mctx *m,
			     const struct ka_http_request *req,
			     struct ka_http_response **out, ka_error *err);

/* Test hook: called at named points of a refresh ("locked", "answered",
 * "stored"). NULL in every program but the tests that set it; never
 * reachable from the shared library's exports. */
extern void (*kai_refresh_hook)(const char *point);

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
 * KAI_CB_ERROR with the server's error in oerr[on]; anything else
 * KAI_CB_AGAIN. *rep is the answer to send the browser. */
enum kai_cb_result { KAI_CB_AGAIN, KAI_CB_CODE, KAI_CB_ERROR };
struct kai_cb_reply {
	int status;
	const char *text;
};
enum kai_cb_result kai_callback_parse(char *req, const char *state,
				      char *code, size_t n, char *oerr,
				      size_t on, struct kai_cb_reply *rep);
enum ka_status kai_form_add_list(char **form, size_t *len, const char *name,
				 const char *const *values);
enum ka_status kai_basic_auth(const char *client_id, const char *secret,
			      char **out);
/* Percent-decode s[0..n) in place ('+' is a space); the new length, or
 * -1 on a bad escape (oauth.c). */
ssize_t kai_form_decode(char *s, size_t n);

#endif /* KAI_H */
