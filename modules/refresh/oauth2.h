/* SPDX-License-Identifier: MIT */
/* oauth2.h: what the two files of the oauth2 module share: the instance,
 * and the view of the server and client one request uses. */
#ifndef KA_OAUTH2_H
#define KA_OAUTH2_H

#include <pthread.h>

#include "kiwiauth-module.h"

#define MAX_SCOPES 64

struct oauth2 {
	const struct ka_host *h;
	const char *issuer, *client_id, *audience, *resource, *ca_file;
	const char *flow;		/* default flow or NULL */
	const char *doc_url;		/* client_metadata_url, or NULL */
	const char *scopes[MAX_SCOPES + 1];
	char *secret;			/* secure memory, or NULL */
	int basic;			/* client_secret_basic */
	int discover;			/* everything from `resource` alone
					 * (RFC 9728, MCP authorization) */
	long timeout_ms;
	long interval;
	pthread_mutex_t lock;		/* guards what follows */
	struct ka_oauth_endpoints ep;
	int known;			/* endpoints resolved */
	char iss[KA_URL_MAX];		/* issuer the code flow checks, or "" */
	int iss_required;		/* RFC 9207 iss always sent */
	unsigned meta_flags;		/* KA_META_* of the server, if read */
	struct ka_resource_metadata rm;	/* discover: what was found */
	struct ka_oauth_client client;	/* discover: the identity in use */
};

/* One request's copy of the server and the client, taken under the lock
 * (another thread may drop a rejected registration meanwhile). */
struct view {
	struct ka_oauth_endpoints ep;
	const char *client_id;		/* o->client_id or client.client_id */
	const char *secret;		/* borrowed from o or from client */
	const char *resource;		/* RFC 8707, or NULL */
	const char *issuer;		/* RFC 9207 check, or NULL */
	int iss_required;
	unsigned meta_flags;
	struct ka_oauth_client client;	/* discover: a copy */
	char resource_buf[KA_URL_MAX];
	char issuer_buf[KA_URL_MAX];
	char scope_buf[KA_SCOPES_MAX];	/* discover: the server's scopes */
};

static inline struct oauth2 *self(const struct ka_mctx *m)
{
	return ka_host_of(m)->data(m);
}

/* oauth2-resource.c: the resource-discovery mode. */

/* Fill v (server and client identity) in discover mode, discovering on
 * first use and registering only for a sign-in; for anything else (a
 * refresh, a revocation) the server must be the one the stored client
 * was registered with. o->lock is held. */
enum ka_status resource_resolve(const struct ka_mctx *m, struct oauth2 *o,
				int signin, const char *account,
				struct view *v, ka_error *err);
/* After invalid_client: forget a dynamic registration, so the next
 * sign-in registers anew; returns the status to report. */
enum ka_status resource_client_rejected(const struct ka_mctx *m,
					const struct view *v,
					const char *account, ka_error *err);
/* The scopes to ask for in discover mode when the request names none and
 * the stanza lists none: the server's, plus offline_access when it offers
 * refresh tokens that way. */
void resource_scopes(const struct view *v, const char **out, size_t max);
void oauth2_describe(struct ka_mctx *m, ka_describe_fn fn, void *data);

#endif /* KA_OAUTH2_H */
