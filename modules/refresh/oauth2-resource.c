/* SPDX-License-Identifier: MIT */
/* oauth2-resource.c: the oauth2 module's resource-discovery mode: a
 * service given only `resource` (an MCP server's URL) finds its
 * authorization server and registers its client as the MCP authorization
 * specification says, all through the host's services. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oauth2.h"

/* A pre-registered client_id belongs to one authorization server: refuse
 * it when the resource names another one than it was first used with. */
static enum ka_status pre_registered(const struct ka_mctx *m, struct oauth2 *o,
				     ka_error *err)
{
	const struct ka_host *h = o->h;
	struct ka_oauth_client c;
	char issuer[KA_URL_MAX];

	if (h->oauth_client_find(m, o->rm.resource, issuer, &c) == KA_OK) {
		int other = strcmp(c.how, "pre-registered") == 0 &&
			    strcmp(c.client_id, o->client_id) == 0 &&
			    strcmp(issuer, o->rm.as.issuer) != 0;

		h->oauth_client_clear(&c);
		if (other) {
			h->error(err, KA_ERR_CONFIG, "%s now names the "
				 "authorization server %s, not %s where client "
				 "'%s' is registered: check client_id in the "
				 "refresh stanza of %s", o->rm.resource,
				 o->rm.as.issuer, issuer, o->client_id,
				 h->service(m));
			return KA_ERR_CONFIG;
		}
	}
	memset(&o->client, 0, sizeof(o->client));
	snprintf(o->client.client_id, sizeof(o->client.client_id), "%s",
		 o->client_id);
	snprintf(o->client.how, sizeof(o->client.how), "pre-registered");
	return h->oauth_client_store(m, o->rm.as.issuer, o->rm.resource,
				     &o->client, err);
}

/* Tokens of the resource come from the server the stored client was
 * registered with: with another one now, a person must sign in again
 * (never hand a refresh token to the new server). */
static enum ka_status same_server(const struct ka_mctx *m, struct oauth2 *o,
				  const char *account, ka_error *err)
{
	const struct ka_host *h = o->h;
	struct ka_oauth_client c;
	char issuer[KA_URL_MAX];
	int moved;

	if (h->oauth_client_find(m, o->rm.resource, issuer, &c) != KA_OK)
		return h->signin_required(m, account, err, "no client is "
					  "registered for %s at %s",
					  o->rm.resource, o->rm.as.issuer);
	moved = strcmp(issuer, o->rm.as.issuer) != 0;
	h->oauth_client_clear(&c);
	if (moved)
		return h->signin_required(m, account, err, "%s now names the "
					  "authorization server %s, not %s "
					  "that issued the tokens of %s",
					  o->rm.resource, o->rm.as.issuer,
					  issuer, h->service(m));
	return KA_OK;
}

/* Discover the server (once per process) and the client (again after a
 * rejected registration was dropped); only a sign-in registers. */
static enum ka_status discover(const struct ka_mctx *m, struct oauth2 *o,
			       int signin, const char *account, ka_error *err)
{
	const struct ka_host *h = o->h;
	enum ka_status st;

	if (!o->known) {
		if ((st = h->resource_discover(m, o->resource, o->ca_file,
					       &o->rm, err)) != KA_OK)
			return st;
		o->known = 1;
	}
	if (!signin && (st = same_server(m, o, account, err)) != KA_OK)
		return st;
	if (o->client.client_id[0] != '\0')
		return KA_OK;
	if (o->client_id != NULL)
		return pre_registered(m, o, err);
	return h->oauth_client(m, &o->rm, o->doc_url, o->ca_file, &o->client,
			       err);
}

enum ka_status resource_resolve(const struct ka_mctx *m, struct oauth2 *o,
				int signin, const char *account,
				struct view *v, ka_error *err)
{
	enum ka_status st = discover(m, o, signin, account, err);

	if (st != KA_OK)
		return st;
	v->ep = o->rm.as.ep;
	v->client = o->client;
	v->client.secret = NULL;
	if (o->client.secret != NULL && o->secret == NULL) {
		size_t n = strlen(o->client.secret) + 1;

		if ((v->client.secret = o->h->secure_alloc(n)) == NULL) {
			o->h->error(err, KA_ERR_NOMEM, "out of memory");
			return KA_ERR_NOMEM;
		}
		memcpy(v->client.secret, o->client.secret, n);
	}
	v->client_id = v->client.client_id;
	v->secret = o->secret != NULL ? o->secret : v->client.secret;
	memcpy(v->resource_buf, o->rm.resource, KA_URL_MAX);
	memcpy(v->issuer_buf, o->rm.as.issuer, KA_URL_MAX);
	memcpy(v->scope_buf, o->rm.scope, KA_SCOPES_MAX);
	v->resource = v->resource_buf;
	v->issuer = v->issuer_buf;
	v->iss_required = (o->rm.as.flags & KA_META_ISS_RESPONSE) != 0;
	v->meta_flags = o->rm.as.flags;
	return KA_OK;
}

enum ka_status resource_client_rejected(const struct ka_mctx *m,
					const struct view *v,
					const char *account, ka_error *err)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;

	if (strcmp(v->client.how, "dynamic") != 0) {
		h->error(err, KA_ERR_CONFIG, "%s refused client '%s' "
			 "(invalid_client): check client_id%s in the refresh "
			 "stanza of %s", v->issuer, v->client_id,
			 o->doc_url != NULL ? " and client_metadata_url" : "",
			 h->service(m));
		return KA_ERR_CONFIG;
	}
	pthread_mutex_lock(&o->lock);
	if (strcmp(o->client.client_id, v->client_id) == 0) {
		h->oauth_client_store(m, v->issuer, v->resource, NULL, NULL);
		h->oauth_client_clear(&o->client);
	}
	pthread_mutex_unlock(&o->lock);
	return h->signin_required(m, account, err, "%s no longer knows the "
				  "client kiwi-auth registered there for %s "
				  "(invalid_client); the registration was "
				  "dropped and the next sign-in registers anew",
				  v->issuer, v->resource);
}

void resource_scopes(const struct view *v, const char **out, size_t max)
{
	static __thread char buf[KA_SCOPES_MAX];
	size_t n = 0;
	char *save = NULL;

	memcpy(buf, v->scope_buf, sizeof(buf));
	for (char *p = strtok_r(buf, " ", &save); p != NULL && n + 1 < max;
	     p = strtok_r(NULL, " ", &save))
		out[n++] = p;
	out[n] = NULL;
}

static void describe_client(const struct ka_host *h,
			    const struct ka_oauth_client *c, ka_describe_fn fn,
			    void *data)
{
	char text[96];

	fn("client_id", c->client_id, data);
	if (c->registered_at > 0) {
		time_t t = (time_t)c->registered_at;
		struct tm tm;

		gmtime_r(&t, &tm);
		snprintf(text, sizeof(text), "%s, %04d-%02d-%02dT%02d:%02d:%02dZ",
			 c->how, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else {
		snprintf(text, sizeof(text), "%s", c->how);
	}
	fn("client_registration", text, data);
	(void)h;
}

void oauth2_describe(struct ka_mctx *m, ka_describe_fn fn, void *data)
{
	struct oauth2 *o = self(m);
	const struct ka_host *h = o->h;
	struct ka_oauth_client c;
	char issuer[KA_URL_MAX], canon[KA_URL_MAX];

	if (!o->discover) {
		if (o->issuer != NULL)
			fn("issuer", o->issuer, data);
		if (o->resource != NULL)
			fn("resource", o->resource, data);
		fn("client_id", o->client_id, data);
		fn("client_registration", "pre-registered", data);
		return;
	}
	fn("resource", o->resource, data);
	/* The stored registration names the canonical resource. */
	snprintf(canon, sizeof(canon), "%s", o->resource);
	if (h->oauth_client_find(m, canon, issuer, &c) != KA_OK) {
		size_t n = strlen(canon);

		if (n > 0 && canon[n - 1] == '/')
			canon[n - 1] = '\0';
		if (h->oauth_client_find(m, canon, issuer, &c) != KA_OK) {
			fn("client_registration", "none yet (the next sign-in "
			   "discovers the server and registers)", data);
			return;
		}
	}
	fn("issuer", issuer, data);
	describe_client(h, &c, fn, data);
	h->oauth_client_clear(&c);
}
