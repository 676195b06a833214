/* SPDX-License-Identifier: MIT */
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

/* 2.0 (kiwi-auth 0.1.0): ABI 1 with its minors 1 and 2 (HTTP, OAuth,
 * conversation, resource discovery and client registration) folded into
 * the base, with the record generation accessors, and integer ranges (min, max) in struct ka_arg_spec. A module
 * built for ABI 1 is refused. Minors append members only. */
#define KA_MODULE_ABI_MAJOR 2
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
	/* KA_ARG_INT only: the loader refuses a value outside [min, max]
	 * with file:line, so a module never falls back to a default in
	 * silence. Both 0: any value. */
	long long min, max;
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
	/* May be NULL: what the instance knows about where its tokens come from, one
	 * fn(key, value) per item ("issuer", "resource", "client_id",
	 * "client_registration"), without a network request and never a
	 * secret. */
	void (*describe)(struct ka_mctx *m, ka_describe_fn fn, void *data);
};

/* One HTTP exchange through the host's client: TLS verification always on
 * (ca_file may name the trust anchors; verification cannot be turned off),
 * http:// only for loopback hosts, connect and total timeouts, a response
 * size cap, redirects never followed, `Accept: application/json`. body and
 * headers may hold secrets: nothing of them is ever logged. */
struct ka_http_request {
	const char *method;		/* "GET" or "POST" */
	const char *url;
	const char *content_type;	/* of body; NULL: a form */
	const char *body;		/* or NULL */
	size_t body_len;
	const char *const *headers;	/* extra "Name: value" lines,
					 * NULL-terminated, or NULL */
	const char *ca_file;		/* or NULL: the system's */
	long timeout_ms;		/* total; 0: 30 s */
};

/* An answer (any HTTP status). Freed with http_response_free. */
struct ka_http_response {
	long status;
	char *body;		/* secure memory, NUL-terminated, never NULL */
	size_t len;
	char content_type[128];	/* lowercase media type, no parameters */
	/* The answer's WWW-Authenticate challenges joined with
	 * ", " (RFC 7235), cut at the end of the buffer; "" when none. */
	char www_authenticate[2048];
};

/* OAuth endpoints; "" when unknown. */
#define KA_URL_MAX 1024
struct ka_oauth_endpoints {
	char token[KA_URL_MAX];
	char authorization[KA_URL_MAX];
	char device_authorization[KA_URL_MAX];
	char revocation[KA_URL_MAX];
	char userinfo[KA_URL_MAX];
};

/* The error answer of an OAuth endpoint (RFC 6749 section 5.2). */
struct ka_oauth_error {
	long status;		/* HTTP status; 0 when no answer arrived */
	char error[64];		/* "invalid_grant", ... or "" */
	char description[256];	/* printable and shortened, or "" */
};

/* Retry, with backoff, requests that were never sent (refused
 * connection, unresolved host) and 5xx answers, except a 5xx answer to a
 * refresh token grant (grant_type=refresh_token in the form): a server
 * may have rotated the refresh token before it failed. Never a timeout,
 * for the same reason. */
#define KA_OAUTH_RETRY 0x1u

/* A POST of a form to an OAuth endpoint. */
struct ka_oauth_request {
	const char *url;
	const char *form;		/* built with form_add (secure) */
	size_t form_len;
	const char *const *headers;	/* or NULL */
	const char *ca_file;		/* or NULL */
	long timeout_ms;		/* per attempt; 0: 30 s */
	unsigned flags;			/* KA_OAUTH_* */
	/* Kept when a token answer leaves them out: prev's refresh token
	 * and scopes, else the scopes requested. Both may be NULL. */
	const struct ka_record *prev;
	const char *const *scopes;	/* NULL-terminated */
};

/* A device authorization grant (RFC 8628). The host posts client_form +
 * scope_form to device_url, shows the user code through the
 * conversation, then polls token.url with client_form, the grant type
 * and the device code, honouring interval, slow_down, expired_token and
 * access_denied. */
struct ka_oauth_device {
	const char *device_url;
	const char *client_form;	/* client_id (and secret) */
	size_t client_form_len;
	const char *scope_form;		/* scope, audience, ... or NULL */
	size_t scope_form_len;
	long interval;			/* seconds between polls when the
					 * server names none; 0: 5 */
	struct ka_oauth_request token;	/* form and prev are ignored */
};

/* An authorization code grant with PKCE (RFC 7636) through a loopback
 * redirect (RFC 8252). The host listens on a free port of 127.0.0.1,
 * shows the person auth_url with response_type=code, client_id,
 * redirect_uri, scope_form, state and the S256 challenge (and
 * prompt=consent when token.scopes holds offline_access) through the
 * conversation, waits up to 300 s for the browser's redirect, checks its
 * state, then posts client_form, the code, the redirect_uri and the
 * verifier to token.url. A refusal at the authorization endpoint sets
 * err; one at the token endpoint fills oerr only, as oauth_token. */
struct ka_oauth_code {
	const char *auth_url;		/* the authorization endpoint */
	const char *client_id;		/* shown in auth_url */
	const char *client_form;	/* client_id (and secret) */
	size_t client_form_len;
	const char *scope_form;		/* scope, audience, ... or NULL */
	size_t scope_form_len;
	struct ka_oauth_request token;	/* form and prev are ignored */
};

/* Authorization server metadata (RFC 8414 or OpenID Connect Discovery),
 * its `issuer` checked against the URL it was fetched for. */
#define KA_META_S256		0x1u	/* code_challenge_methods has S256 */
#define KA_META_ISS_RESPONSE	0x2u	/* RFC 9207 iss in responses */
#define KA_META_CLIENT_ID_DOC	0x4u	/* client ID metadata documents */
#define KA_META_OFFLINE_ACCESS	0x8u	/* scopes_supported: offline_access */
#define KA_META_DEVICE_GRANT	0x10u	/* the device grant (RFC 8628) */
struct ka_oauth_metadata {
	char issuer[KA_URL_MAX];
	struct ka_oauth_endpoints ep;
	char registration[KA_URL_MAX];	/* RFC 7591 endpoint, or "" */
	unsigned flags;			/* KA_META_* */
};

/* A protected resource (an MCP server) as its metadata describes it
 * (RFC 9728) and the authorization server it names, both validated. */
#define KA_SCOPES_MAX 1024
struct ka_resource_metadata {
	char resource[KA_URL_MAX];	/* canonical: no fragment, no query,
					 * no trailing slash on an empty path */
	char scope[KA_SCOPES_MAX];	/* space-separated: the challenge's
					 * scope, else scopes_supported */
	struct ka_oauth_metadata as;
};

/* The identity of this client at one authorization server, for one
 * resource. Cleared with oauth_client_clear. */
struct ka_oauth_client {
	char client_id[KA_URL_MAX];
	char *secret;		/* secure memory, or NULL (public client) */
	char how[24];		/* "pre-registered", "metadata-document" or
				 * "dynamic" (RFC 7591) */
	int64_t registered_at;	/* UTC seconds; 0 for pre-registered */
};

/* Services the library offers its modules. Append only (a new member is
 * a new ABI minor); a module checks host->size before using a member added
 * after ABI 2.0. */
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

	/* KA_OK when an answer arrived, whatever its status; *out is freed
	 * with http_response_free. KA_ERR_DENIED (a URL that is not https
	 * or loopback), KA_ERR_NETWORK, KA_ERR_TIMEOUT, KA_ERR_PROTOCOL (an
	 * answer over the size cap). */
	enum ka_status (*http)(const struct ka_mctx *m,
			       const struct ka_http_request *req,
			       struct ka_http_response **out, ka_error *err);
	void (*http_response_free)(struct ka_http_response *r);
	/* Append name=value, percent-encoded and '&'-separated, to a form
	 * kept in secure memory: *form is NULL at first and is freed with
	 * secure_free. */
	enum ka_status (*form_add)(char **form, size_t *len, const char *name,
				   const char *value);
	/* Talk to the person through the context's conversation; without
	 * one, KA_ERR_UNSUPPORTED. answer may be NULL for INFO/BROWSE. */
	enum ka_status (*converse)(const struct ka_mctx *m,
				   const struct ka_conv_msg *msg, char *answer,
				   size_t size, ka_error *err);
	/* Read issuer/.well-known/openid-configuration, then
	 * .well-known/oauth-authorization-server (RFC 8414). */
	enum ka_status (*oauth_discover)(const struct ka_mctx *m,
					 const char *issuer, const char *ca_file,
					 struct ka_oauth_endpoints *out,
					 ka_error *err);
	/* POST a token request; a successful answer (JSON, or a form as
	 * GitHub may send) becomes *out. An OAuth error answer returns
	 * KA_ERR_DENIED with oerr filled and err untouched, so the module
	 * words it; other failures set err. oerr may be NULL. */
	enum ka_status (*oauth_token)(const struct ka_mctx *m,
				      const struct ka_oauth_request *req,
				      struct ka_record **out,
				      struct ka_oauth_error *oerr,
				      ka_error *err);
	/* Run a whole device authorization grant (see ka_oauth_device). */
	enum ka_status (*oauth_device)(const struct ka_mctx *m,
				       const struct ka_oauth_device *req,
				       struct ka_record **out,
				       struct ka_oauth_error *oerr,
				       ka_error *err);
	/* RFC 7009: POST req->form (client authentication) plus token and
	 * token_type_hint (hint may be NULL) to req->url. */
	enum ka_status (*oauth_revoke)(const struct ka_mctx *m,
				       const struct ka_oauth_request *req,
				       const char *token, const char *hint,
				       struct ka_oauth_error *oerr,
				       ka_error *err);
	/* n - 1 random base64url characters and a NUL. */
	enum ka_status (*random_string)(char *out, size_t n);
	/* The S256 challenge of a PKCE verifier (RFC 7636): 43 characters
	 * and a NUL; n >= 44. */
	enum ka_status (*pkce_s256)(const char *verifier, char *out, size_t n);
	int64_t (*now)(void);
	size_t (*record_scope_count)(const struct ka_record *r);
	const char *(*record_scope)(const struct ka_record *r, size_t i);
	/* A secret a module takes from its arguments NAME_file (a file
	 * owned by the user or root, not writable by others and, unless
	 * KA_SECRET_PUBLIC, not readable by them either; its one line, a
	 * trailing newline dropped) or NAME_env (an environment variable),
	 * at most 4096 bytes without control characters. NAME itself, a
	 * value written into the configuration, is refused unless
	 * KA_SECRET_PUBLIC (a key that is not secret, such as a browser
	 * app's API key) allows it; at most one of them may be given.
	 * Declare the arguments you accept in the ka_arg_spec table. *out
	 * is secure memory freed with secure_free, or NULL when nothing is
	 * given (or NAME_env names an unset variable) and KA_SECRET_REQUIRED
	 * is not set. Errors are KA_ERR_CONFIG, KA_ERR_PERMISSION,
	 * KA_ERR_IO or KA_ERR_NOMEM, with words that name the argument and
	 * the fix, never the value. */
#define KA_SECRET_REQUIRED 0x1u
#define KA_SECRET_PUBLIC 0x2u
	enum ka_status (*secret_arg)(const struct ka_mctx *m, const char *name,
				     unsigned flags, char **out,
				     ka_error *err);
	/* Set err to KA_ERR_EXPIRED with auth_required and the command that
	 * fixes it: "WHY: run 'kiwi-auth signin SERVICE[ --account A]'"
	 * (account NULL or KA_ACCOUNT_DEFAULT: no --account). Returns
	 * KA_ERR_EXPIRED. */
	enum ka_status (*signin_required)(const struct ka_mctx *m,
					  const char *account, ka_error *err,
					  const char *fmt, ...)
		__attribute__((format(printf, 4, 5)));
	/* form_add of name = values joined with spaces (RFC 6749 scope);
	 * nothing when values is NULL or empty; KA_ERR_INVALID when the
	 * joined list passes 4 KiB. */
	enum ka_status (*form_add_list)(char **form, size_t *len,
					const char *name,
					const char *const *values);
	/* client_secret_basic (RFC 6749 section 2.3.1): *out is the line
	 * "Authorization: Basic ..." in secure memory, freed with
	 * secure_free. */
	enum ka_status (*oauth_basic_auth)(const char *client_id,
					   const char *secret, char **out);
	/* Run a whole authorization code grant (see ka_oauth_code). */
	enum ka_status (*oauth_code)(const struct ka_mctx *m,
				     const struct ka_oauth_code *req,
				     struct ka_record **out,
				     struct ka_oauth_error *oerr,
				     ka_error *err);
	/* Ask the person for a token through the conversation (not echoed)
	 * with text as the prompt, and make a Bearer record of it, obtained
	 * now, with scopes (NULL-terminated, or NULL). */
	enum ka_status (*token_prompt)(const struct ka_mctx *m,
				       const char *text,
				       const char *const *scopes,
				       struct ka_record **out, ka_error *err);
	/* Words for the OAuth error answer oe to a request for what ("refresh
	 * token", "device code", ...), set in err: invalid_grant is
	 * signin_required, invalid_client and unauthorized_client are
	 * KA_ERR_CONFIG naming client_id, anything else KA_ERR_PROTOCOL with
	 * the server's words; GitHub's names for these errors count as them.
	 * Returns the status set. */
	enum ka_status (*oauth_error)(const struct ka_mctx *m,
				      const struct ka_oauth_error *oe,
				      const char *client_id,
				      const char *account, const char *what,
				      ka_error *err);

	/* Fetch issuer's metadata from its well-known URLs in the order of
	 * RFC 8414 section 5 (oauth-authorization-server inserted, then
	 * openid-configuration inserted, then appended); the `issuer` it
	 * names must be issuer (KA_DISCOVER_STRICT: byte for byte, else a
	 * trailing slash aside). */
#define KA_DISCOVER_STRICT 0x1u
	enum ka_status (*oauth_metadata)(const struct ka_mctx *m,
					 const char *issuer,
					 const char *ca_file, unsigned flags,
					 struct ka_oauth_metadata *out,
					 ka_error *err);
	/* Everything from a protected resource's URL, as the MCP
	 * authorization specification says: a request without a token, the
	 * resource_metadata and scope of its 401 challenge (RFC 9728
	 * section 5.1; a metadata URL on another origin is refused), else
	 * the well-known URLs (path-inserted, then the root); the metadata's
	 * `resource` must be url; its first authorization server's metadata
	 * (strict issuer), which must offer PKCE S256 and keep its token,
	 * revocation, device and registration endpoints on the issuer's
	 * origin. Errors say which check failed. */
	enum ka_status (*resource_discover)(const struct ka_mctx *m,
					    const char *url,
					    const char *ca_file,
					    struct ka_resource_metadata *out,
					    ka_error *err);
	/* The client identity for rm, in the specification's order: the
	 * registration stored for (issuer, resource) by an earlier call;
	 * else document_url (a Client ID Metadata Document, may be NULL)
	 * when the server supports them; else RFC 7591 registration at its
	 * registration endpoint (a native public client with the loopback
	 * redirect), stored durably (mode 0600) for the next call. */
	enum ka_status (*oauth_client)(const struct ka_mctx *m,
				       const struct ka_resource_metadata *rm,
				       const char *document_url,
				       const char *ca_file,
				       struct ka_oauth_client *out,
				       ka_error *err);
	/* Remember a pre-registered client_id for (issuer, resource), or
	 * drop what is stored (c NULL), e.g. after invalid_client. */
	enum ka_status (*oauth_client_store)(const struct ka_mctx *m,
					     const char *issuer,
					     const char *resource,
					     const struct ka_oauth_client *c,
					     ka_error *err);
	/* The newest client stored for resource, whatever its issuer, into
	 * out and issuer (KA_URL_MAX bytes), without a network request:
	 * KA_OK or KA_ERR_NOT_FOUND. */
	enum ka_status (*oauth_client_find)(const struct ka_mctx *m,
					    const char *resource,
					    char *issuer,
					    struct ka_oauth_client *out);
	void (*oauth_client_clear)(struct ka_oauth_client *c);
	/* oauth_code with the RFC 9207 check of the authorization response:
	 * an `iss` in it must equal issuer byte for byte, and must be there
	 * when iss_required (the metadata's
	 * authorization_response_iss_parameter_supported). issuer NULL: no
	 * check, as oauth_code. */
	enum ka_status (*oauth_code_iss)(const struct ka_mctx *m,
					 const struct ka_oauth_code *req,
					 const char *issuer, int iss_required,
					 struct ka_record **out,
					 struct ka_oauth_error *oerr,
					 ka_error *err);
	/* Write buf as name in the open directory dirfd (dir names it in
	 * messages) through a temporary file of mode 0600 that is fsynced
	 * and renamed over name (KA_WRITE_NOREPLACE: linked, never over an
	 * existing name), then fsync the directory. On failure name is as
	 * it was and no temporary file is left; KA_ERR_IO says which step
	 * failed. */
#define KA_WRITE_NOREPLACE 0x1u
	enum ka_status (*write_file_at)(int dirfd, const char *dir,
					const char *name, const char *buf,
					size_t len, unsigned flags,
					ka_error *err);

	/* ---- record generations ------------------------------------------ */

	/* How many times a record was written to its source, kept in its
	 * JSON as "generation" (0: never, or before generations existed). A
	 * source that writes through temporary files sets it one above the
	 * record it replaces, so a leftover tells whether it is newer. */
	uint64_t (*record_generation)(const struct ka_record *r);
	void (*record_set_generation)(struct ka_record *r, uint64_t g);
	int64_t (*record_obtained_at)(const struct ka_record *r);
	/* A copy, freed with record_free. */
	enum ka_status (*record_dup)(const struct ka_record *r,
				     struct ka_record **out);
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
