/* SPDX-License-Identifier: MIT */
/* kiwiauth.h: the public API of libkiwiauth, for executors and the CLI.
 *
 * Ownership: a function named *_new hands the caller an object that the
 * caller frees with the matching *_free (which accepts NULL). Getters
 * return borrowed pointers that live as long as the object they came from.
 * No function here ever returns a token: tokens leave the library only
 * inside an HTTP header (see ka_authorize).
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
/* Refresh in this process instead of in kiwi-auth-refresher (see
 * ka_refresh). A process killed during such a refresh may lose the
 * sign-in at a server that rotates refresh tokens. */
#define KA_CTX_REFRESH_IN_PROCESS 0x4u

struct ka_options {
	/* A config file or a directory holding kiwi-auth.conf and
	 * services.d/. NULL: $KIWI_AUTH_CONFIG, else the system directory
	 * and then $XDG_CONFIG_HOME/kiwi-auth. */
	const char *config;
	/* Where modules live. NULL: $KIWI_AUTH_MODULE_DIR, else the
	 * compiled-in directory. */
	const char *module_dir;
	unsigned flags;		/* KA_CTX_* */
	/* Log sink from the start, so messages while opening reach it too;
	 * NULL keeps the default. Same as ka_ctx_set_log afterwards. */
	void (*log)(int level, const char *message, void *data);
	void *log_data;
};

/* Opens a context. opts may be NULL. On success *out is owned by the
 * caller (free with ka_ctx_free). Without KA_CTX_LENIENT any configuration
 * error fails the call with KA_ERR_CONFIG and a "file:line: message". */
enum ka_status ka_ctx_new(const struct ka_options *opts, struct ka_ctx **out,
			  ka_error *err);
void ka_ctx_free(struct ka_ctx *ctx);

/* KA_OK, or KA_ERR_CONFIG when a whole file could not be used (missing,
 * unsafe permissions, syntax error): with KA_CTX_LENIENT the context then
 * holds only the services of the files that could be read. Broken stanzas
 * do not count here; see ka_service_error(). */
enum ka_status ka_ctx_config_status(const struct ka_ctx *ctx);

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
/* The stanza's default_account, or NULL. */
const char *ka_service_default_account(const struct ka_service *s);
/* The programs its `export` names ("git", "kubectl"); none by default. */
size_t ka_service_export_count(const struct ka_service *s);
const char *ka_service_export(const struct ka_service *s, size_t i);
/* The service's git_paths against a repository path git sent (NULL: it
 * sent none): -1 the service sets no git_paths (any path will do), 1 path
 * is one of them or under one, 0 not. */
int ka_service_git_path_match(const struct ka_service *s, const char *path);
/* 1 if the service is usable and url's origin matches one of its hosts
 * (as ka_authorize checks it: https, http only for loopback), else 0. */
int ka_service_allows_url(const struct ka_service *s, const char *url);

/* What a service's refresh module knows about where its tokens come from,
 * read without a network request: fn is called once per item, with key
 * "issuer", "resource", "client_id" or "client_registration" (how the
 * client was registered, and when). Never a secret. Modules that tell
 * nothing call fn never. */
typedef void (*ka_describe_fn)(const char *key, const char *value,
			       void *data);
enum ka_status ka_service_describe(struct ka_ctx *ctx, const char *service,
				   ka_describe_fn fn, void *data,
				   ka_error *err);

/* ---- token records ---------------------------------------------------- */

/* A token record. Its secrets live in wiped-on-free memory and there is
 * no public getter for them. */
struct ka_record;

#define KA_ACCOUNT_DEFAULT "default"
#define KA_RECORD_MAX_JSON 65536
/* Longest access or refresh token, in bytes: two of them and the rest of
 * a record fit in KA_RECORD_MAX_JSON. */
#define KA_TOKEN_MAX 16384
/* The expiry of a token that does not expire: a new record starts with it
 * (for expires_at and refresh_expires_at), the record JSON leaves the key
 * out, and 0 is a real time (expired at the epoch). Compare with it; never
 * add to it or subtract from it. */
#define KA_EXPIRES_NEVER INT64_MAX

enum ka_status ka_record_new(struct ka_record **out);
void ka_record_free(struct ka_record *r);
/* Setters copy their argument. Tokens with control bytes are refused. */
enum ka_status ka_record_set_access_token(struct ka_record *r, const char *t);
enum ka_status ka_record_set_refresh_token(struct ka_record *r, const char *t);
enum ka_status ka_record_set_token_type(struct ka_record *r, const char *t);
enum ka_status ka_record_set_account(struct ka_record *r, const char *a);
enum ka_status ka_record_add_scope(struct ka_record *r, const char *scope);
/* UTC seconds, or KA_EXPIRES_NEVER (the default of a new record). */
void ka_record_set_expires_at(struct ka_record *r, int64_t t);
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
 * stack. account NULL: the default account (the user's choice, see
 * ka_account_use, else the stanza's default_account, else
 * KA_ACCOUNT_DEFAULT). On success *out is a copy owned by the caller.
 * Not found gives KA_ERR_NOT_FOUND with err->auth_required set and a
 * message naming the command to sign in. */
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

/* ---- accounts and export ---------------------------------------------- */

/* The account to use for service when the caller names none: account
 * itself when not NULL; else the user's choice (ka_account_use); else the
 * stanza's default_account; else the only account its sources list; else
 * KA_ACCOUNT_DEFAULT. buf (n >= 257 bytes) gets it; *why (may be NULL) a
 * static word for where it came from: "given", "chosen",
 * "default_account", "only" or "default". */
enum ka_status ka_account_pick(struct ka_ctx *ctx, const char *service,
			       const char *account, char *buf, size_t n,
			       const char **why, ka_error *err);

/* Remember account as the user's choice for service, in a private file
 * under $XDG_STATE_HOME/kiwi-auth/accounts/ (written atomically); NULL
 * forgets the choice. Only this user, only this service. Every call
 * without an account (ka_load, ka_authorize, ka_perform, ...) of a
 * context opened afterwards uses it, before the stanza's
 * default_account; a context reads the choices once, when it opens. */
enum ka_status ka_account_use(struct ka_ctx *ctx, const char *service,
			      const char *account, ka_error *err);

/* Receives an exported token: len bytes (NUL-terminated, in wiped memory
 * that lives for the call only; do not keep it) and its expiry (UTC
 * seconds or KA_EXPIRES_NEVER). Return KA_OK, or an error status. */
typedef enum ka_status (*ka_export_fn)(const char *token, size_t len,
				       int64_t expires_at, void *data);

/* Hand the token of (service, account) to fn, for a bridge to the program
 * `program` ("git", "kubectl"): the one exception to "a token leaves only
 * inside a request", and only when the service's `export` names program
 * (else KA_ERR_DENIED, naming the setting). account NULL: as
 * ka_account_pick chooses. The token is refreshed first when it is not
 * usable. Every call, refused or not, is an audit event with the token's
 * keyed fingerprint, never the token. */
enum ka_status ka_export(struct ka_ctx *ctx, const char *service,
			 const char *account, const char *program,
			 ka_export_fn fn, void *data, ka_error *err);

/* ==== executor API ===================================================== *
 *
 * What an executor (the code that runs an agent's tools) calls to put a
 * credential on one HTTP request of one tool. The tool never sees the
 * token: it goes straight from the library into a libcurl header list.
 *
 *   1. ka_tool_scope_new() on the tool's chain of manifests gives the
 *      required scope and, optionally, the service (none: public tool).
 *   2. ka_authorize() checks the URL's origin, the token's freshness and
 *      scopes, and sets the service's header on a struct curl_slist.
 *   3. ka_curl_apply() puts URL and headers on a CURL handle with safe
 *      settings (https only but for loopback; no automatic redirects).
 *   4. ka_headers_free() wipes and frees the header list.
 *
 * Everything here is thread-safe for one shared context. */

/* Declared the way curl.h declares them, so this header does not need
 * curl.h. (A program built with CURL_STRICTER must include curl.h
 * first.) */
struct curl_slist;
#if !defined(CURLINC_CURL_H) && !defined(__CURL_CURL_H)
typedef void CURL;
#endif

/* The scope and service a tool needs, found in its chain of manifests. */
struct ka_tool_scope;

/* json (len bytes) is a JSON array of manifests (objects), the tool itself
 * first and its outermost parent last. The first `required_scope` and
 * the first `auth_service` found walking from the tool outwards win, so a
 * tool overrides its parents. No `required_scope` anywhere: a public tool
 * (scope and service are NULL; any auth_service is ignored). The leaf's
 * `name`, if any, names the tool in the audit trail. Malformed chains
 * (not an array, a scope that is not a non-empty string without spaces,
 * a bad service name) give KA_ERR_INVALID. On success *out is owned by
 * the caller: free it with ka_tool_scope_free(). */
enum ka_status ka_tool_scope_new(const char *json, size_t len,
				 struct ka_tool_scope **out, ka_error *err);
void ka_tool_scope_free(struct ka_tool_scope *ts);	/* NULL: no-op */
/* Borrowed from ts. NULL when not set (scope NULL: a public tool). */
const char *ka_tool_scope_scope(const struct ka_tool_scope *ts);
const char *ka_tool_scope_service(const struct ka_tool_scope *ts);
const char *ka_tool_scope_tool(const struct ka_tool_scope *ts);

#define KA_PRIMITIVE_HTTP "http_client"

/* One request of one tool. All strings are borrowed for the call. */
struct ka_request {
	const char *primitive;	/* only "http_client" gets a credential */
	const char *method;	/* "GET", ... (for the audit trail) */
	const char *url;	/* absolute URL, as the tool gave it */
	const char *scope;	/* required scope, or NULL */
	const char *service;	/* NULL: the one service listing scope */
	const char *account;	/* NULL: the default account (ka_account_use) */
	const char *tool;	/* tool name for the audit trail, or NULL */
};

/* What ka_authorize decided, for the executor's metadata. Opaque: nothing
 * in it reaches the token. Make one with ka_auth_info_new (it may be
 * reused for call after call), free it with ka_auth_info_free. */
struct ka_auth_info;

enum ka_status ka_auth_info_new(struct ka_auth_info **out);
void ka_auth_info_free(struct ka_auth_info *info);	/* NULL: no-op */
/* Borrowed from info (the service name from the context). NULL when the
 * last call authorized nothing. */
const char *ka_auth_info_service(const struct ka_auth_info *info);
const char *ka_auth_info_account(const struct ka_auth_info *info);
const char *ka_auth_info_scope(const struct ka_auth_info *info);
/* 1 if a credential header was set. */
int ka_auth_info_injected(const struct ka_auth_info *info);
/* When the credential that was set expires (UTC seconds, or
 * KA_EXPIRES_NEVER); 0 when nothing was injected. */
int64_t ka_auth_info_expires_at(const struct ka_auth_info *info);

/* Authorize one request and set its credential header.
 *
 * Nothing happens (KA_OK, *headers untouched, no source is read) when the
 * primitive is not "http_client", or when neither scope nor service is
 * given (a public tool). Otherwise: the service is req->service, else the
 * one service whose `scopes` lists req->scope; the URL's scheme, host and
 * port must match one of its `hosts`; the token must be fresh (a token
 * that expired or expires within min_valid is never used) and, when the
 * record lists scopes, hold req->scope. Then the service's `header` is
 * formatted with the token and appended to *headers, and every header of
 * the same name the tool supplied is removed (wiped, then freed).
 *
 * The tool's headers must be well formed ("Name: value", a token for a
 * name, no control byte in the value) and may not change where the
 * request goes (Host, Forwarded, X-Forwarded-Host, Content-Length,
 * Transfer-Encoding, ... are refused with KA_ERR_INVALID).
 *
 * *headers stays owned by the caller (it may be NULL at entry: a list is
 * created); free it with ka_headers_free(). On failure *headers is left as
 * it was and err says why in words a person can act on; err->auth_required
 * is set when someone must sign in. No message ever holds a token. info
 * (may be NULL) is filled in either way. Each decision goes to the audit
 * trail when one is set. */
enum ka_status ka_authorize(struct ka_ctx *ctx, const struct ka_request *req,
			    struct curl_slist **headers,
			    struct ka_auth_info *info, ka_error *err);

/* Overwrite every copy of the credential ka_authorize() set, found in buf
 * (len bytes), and return how many there were. Copies become '*'s, or,
 * for a credential that holds a '*', the first printable character it
 * does not hold, so that no copy is left or formed. Run it on a
 * response before a tool sees it: a server that echoes request headers
 * back would otherwise hand the token to the tool. info must come from
 * the ka_authorize() call that built the header list, and that list must
 * not be freed yet. Only the exact bytes are found, not an encoded copy.
 * info NULL, or nothing injected: 0. */
size_t ka_redact(const struct ka_auth_info *info, char *buf, size_t len);

/* Wipe every header (the credential among them), then free the list, as
 * curl_slist_free_all() would. NULL: no-op. */
void ka_headers_free(struct curl_slist *headers);

/* Prepare a libcurl easy handle for the request ka_authorize() approved:
 * set CURLOPT_URL (the URL as parsed, checked again), CURLOPT_HTTPHEADER
 * (borrowed: keep headers alive until the transfer ends), allow only
 * https (http for loopback hosts, with no proxy), and turn automatic
 * redirects off: libcurl strips Authorization on a cross-origin redirect
 * but not custom header names. To follow a redirect, read
 * CURLINFO_REDIRECT_URL and authorize the next hop with a new header list;
 * a hop the service does not allow goes without the credential. The
 * method and body are left to the caller. */
enum ka_status ka_curl_apply(CURL *curl, const struct ka_request *req,
			     struct curl_slist *headers, ka_error *err);

/* ==== performing a request =============================================== *
 *
 * The main entry for executors: the library authorizes the request, sends
 * it with libcurl, follows redirects itself, masks any echo of the
 * credential, and hands back the answer. The token never enters the
 * caller's memory. */

/* One request of one tool. All pointers are borrowed for the call. */
struct ka_perform_request {
	/* primitive (NULL: "http_client"; nothing else is sent), method
	 * (NULL: GET, or POST with a body), url, scope, service, account and
	 * tool as for ka_authorize. */
	struct ka_request req;
	/* The tool's chain (ka_tool_scope_new), or NULL: its scope, service
	 * and tool name stand in for those of req left NULL. */
	const struct ka_tool_scope *chain;
	/* The tool's own headers, "Name: value", NULL-terminated, or NULL.
	 * Checked as ka_authorize checks them; on a redirect to another
	 * origin those that carry credentials (Authorization,
	 * Proxy-Authorization, Cookie, the service's header) are dropped. */
	const char *const *headers;
	const void *body;	/* or NULL */
	size_t body_len;
	/* Limits; 0 takes the default. */
	size_t max_response;	/* body bytes: 16 MiB */
	long connect_timeout_ms;	/* each connection: 10 s */
	/* The whole exchange, redirects included: the service's `timeout`,
	 * else 30 s. A server that trickles its answer cannot hold the
	 * caller longer. */
	long timeout_ms;
	int max_redirects;	/* 10; negative: never follow */
};

/* The answer. */
struct ka_response;

/* Authorize and send preq's request, following redirects (301, 302, 303,
 * 307, 308; the method rewritten as browsers and curl do it) up to
 * max_redirects. Every hop's origin is checked: the credential goes only
 * to origins the service allows (http only to loopback hosts), never in a
 * redirect whose URL holds it, and the tool's credential-bearing headers
 * only to the first origin. A public tool (no scope, no service) is sent
 * as it is and never touches the broker.
 *
 * On KA_OK *out is the final answer, whatever its HTTP status, owned by
 * the caller: free it with ka_response_free(). Otherwise *out is NULL and
 * err says why: the authorization's errors as for ka_authorize (with
 * err->auth_required), KA_ERR_NETWORK, KA_ERR_TIMEOUT (the deadline),
 * KA_ERR_PROTOCOL (too many redirects, an answer over max_response).
 *
 * Step-up (RFC 6750 section 3.1, the MCP authorization specification): a
 * 403 with a Bearer error="insufficient_scope" challenge, answered with no
 * redirect to the request that carried the credential, is not handed
 * back. When the record holds every scope the challenge names, the token
 * is refreshed and the request sent once more; otherwise the call fails
 * with KA_ERR_DENIED and err->auth_required, naming the scopes to add and
 * the command that adds them (kiwi-auth signin SERVICE --add-scope S,
 * ka_signin_step_up()); a server that still refuses is given up on
 * (KA_ERR_DENIED). */
enum ka_status ka_perform(struct ka_ctx *ctx,
			  const struct ka_perform_request *preq,
			  struct ka_response **out, ka_error *err);
void ka_response_free(struct ka_response *r);	/* NULL: no-op */

/* The final hop's HTTP status. */
long ka_response_status(const struct ka_response *r);
/* The body, NUL-terminated (the NUL not counted in *len; len may be
 * NULL), with every echo of the credential masked with '*'. Borrowed. */
const char *ka_response_body(const struct ka_response *r, size_t *len);
/* The final hop's headers in the order received, masked as the body.
 * Names as the server sent them; values without surrounding blanks. */
size_t ka_response_header_count(const struct ka_response *r);
const char *ka_response_header_name(const struct ka_response *r, size_t i);
const char *ka_response_header_value(const struct ka_response *r, size_t i);
/* The value of the first header called name (any case), or NULL. */
const char *ka_response_header(const struct ka_response *r, const char *name);
/* The URL of the final hop, and the number of redirects followed. */
const char *ka_response_url(const struct ka_response *r);
unsigned ka_response_redirects(const struct ka_response *r);
/* What the executor copies into its result metadata: the service,
 * account and scope used (NULL for a public tool), whether a credential
 * was sent (on the first hop), and how many echoes of it were masked. */
const char *ka_response_service(const struct ka_response *r);
const char *ka_response_account(const struct ka_response *r);
const char *ka_response_scope(const struct ka_response *r);
int ka_response_injected(const struct ka_response *r);
size_t ka_response_masked(const struct ka_response *r);

/* ==== sign-in and refresh ============================================== *
 *
 * Obtaining, refreshing and revoking tokens through a service's refresh
 * module. Tokens go from the server into the source stack; none of these
 * functions hands one to the caller. */

/* The conversation: how a refresh module talks to a person (PAM's conv).
 * INFO and ERROR are lines to show; BROWSE is a URL to open (the
 * application may start a browser); PROMPT and PROMPT_SECRET ask for one
 * line of text, written NUL-terminated into answer (answer_size bytes of
 * wiped memory owned by the library; PROMPT_SECRET must not echo). */
enum ka_conv_style {
	KA_CONV_INFO = 1,
	KA_CONV_ERROR,
	KA_CONV_BROWSE,
	KA_CONV_PROMPT,
	KA_CONV_PROMPT_SECRET,
};

struct ka_conv_msg {
	enum ka_conv_style style;
	const char *text;	/* a line for a person; never a token */
	const char *url;	/* a URL to visit, or NULL */
	const char *code;	/* a user code to enter there, or NULL */
};

/* Return KA_OK, or an error status (the sign-in is abandoned). answer is
 * NULL for INFO, ERROR and BROWSE. */
typedef enum ka_status (*ka_conv_fn)(const struct ka_conv_msg *msg,
				     char *answer, size_t answer_size,
				     void *data);
/* Without a conversation, flows that need a person fail with
 * KA_ERR_UNSUPPORTED. fn NULL removes it. */
void ka_ctx_set_conversation(struct ka_ctx *ctx, ka_conv_fn fn, void *data);

struct ka_signin_options {
	const char *flow;	/* "device", "code", "client-credentials",
				 * "token", or NULL: the module's default */
	const char *const *scopes;	/* scopes to request, or NULL */
	size_t nscopes;			/* 0: the module's configured ones */
	int no_browser;		/* 1: never start a browser */
};

/* Sign in to (service, account) with its refresh module and store the
 * new record through ka_store's routing. opts may be NULL. */
enum ka_status ka_signin(struct ka_ctx *ctx, const char *service,
			 const char *account,
			 const struct ka_signin_options *opts, ka_error *err);

/* Step-up (RFC 6750 section 3.1, the MCP authorization specification):
 * sign in to (service, account) again, asking for the union of the
 * scopes its record holds now, opts->scopes and add[0..nadd), so no
 * scope granted before is lost. After a request was refused for want of
 * a scope, the error names this call's scopes (kiwi-auth signin
 * --add-scope). opts may be NULL. */
enum ka_status ka_signin_step_up(struct ka_ctx *ctx, const char *service,
				 const char *account,
				 const char *const *add, size_t nadd,
				 const struct ka_signin_options *opts,
				 ka_error *err);

/* A protected resource (an MCP server) known only by its URL. */
struct ka_resource_signin {
	const char *url;	/* the server's URL, e.g. https://h/mcp */
	const char *service;	/* NULL: named after the URL's host and port */
	const char *source;	/* source module of a new stanza: "keyring"
				 * (NULL) or "file" */
	const char *config_dir;	/* where services.d/ is; NULL: the user's
				 * ($XDG_CONFIG_HOME/kiwi-auth) */
};

/* Sign in to the server at req->url, as the MCP authorization
 * specification describes: the service already configured for that
 * resource (or named req->service) is used as it is; otherwise a user
 * stanza services.d/NAME.conf (an oauth2 refresh module with only
 * `resource`, hosts the URL's origin) is written, mode 0600, once the
 * sign-in through it succeeded, and never over an existing file. The
 * server's authorization server, scopes and client registration are all
 * discovered. service (n >= 65 bytes) gets the service's name. */
enum ka_status ka_signin_resource(struct ka_ctx *ctx,
				  const struct ka_resource_signin *req,
				  const char *account,
				  const struct ka_signin_options *opts,
				  char *service, size_t n, ka_error *err);

/* Refresh now, even if the token is still fresh. */
#define KA_REFRESH_FORCE 0x1u

/* Refresh the record of (service, account) if it expired or expires
 * within min_valid seconds (always with KA_REFRESH_FORCE). One refresh
 * per (service, account) at a time: threads of this process wait for the
 * one in flight; other processes wait on a lock file under
 * $XDG_RUNTIME_DIR/kiwi-auth/ and skip the refresh if it was done while
 * they waited. The new record (with a rotated refresh token) is stored
 * durably before the lock is released and before anyone uses it. On
 * failure the stored record is left as it was. *refreshed (may be NULL)
 * is 1 if this call refreshed, 0 if it was not needed. */
enum ka_status ka_refresh(struct ka_ctx *ctx, const char *service,
			  const char *account, unsigned flags, int *refreshed,
			  ka_error *err);

/* What ka_logout did. */
struct ka_logout_result {
	unsigned erased;	/* sources that held a record */
	int revoked;		/* 1 revoked at the server, 0 nothing to
				 * revoke (or no revocation endpoint), -1 the
				 * revocation failed (see revoke_error) */
	ka_error revoke_error;
};

/* Revoke the record's tokens at the server (RFC 7009) when the refresh
 * module can, then ka_erase() it. A failed revocation does not stop the
 * erase: it is reported in res->revoke_error and the return value is the
 * erase's. res may be NULL. */
enum ka_status ka_logout(struct ka_ctx *ctx, const char *service,
			 const char *account, struct ka_logout_result *res,
			 ka_error *err);

#ifdef __cplusplus
}
#endif

#endif /* KIWIAUTH_H */
