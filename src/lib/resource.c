/* SPDX-License-Identifier: MIT */
/* resource.c: discovery from a protected resource (an MCP server) as the
 * MCP authorization specification describes it: the 401 challenge, the
 * protected resource metadata (RFC 9728), its authorization server's
 * metadata and the checks on both. Parsers are pure (buffer in, struct
 * out); kai_resource_discover does the requests. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kai.h"

#define PRM_SUFFIX "oauth-protected-resource"
/* What the probe sends: a JSON-RPC ping, harmless on any MCP server. */
#define PROBE_BODY "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}"

/* ---- the canonical resource URL ------------------------------------------ */

enum ka_status kai_resource_canon(const char *url, char *out, size_t n,
				  ka_error *err)
{
	char origin[KAI_HOST_MAX + 32], *canon = NULL;
	const char *path;
	struct kai_origin o;
	size_t plen;
	enum ka_status st;

	out[0] = '\0';
	if (strpbrk(url, "?#") != NULL) {
		kai_error_set(err, KA_ERR_INVALID, "a resource URL must not have "
			      "a query or a fragment: give the MCP server's URL "
			      "alone");
		return KA_ERR_INVALID;
	}
	if ((st = kai_origin_parse(url, &o, &canon, err)) != KA_OK)
		return st;
	/* Lowercase scheme and host, no default port (kai_origin), and
	 * libcurl's path; "https://h/" is "https://h", as MCP writes it. */
	kai_origin_format(&o, origin, sizeof(origin));
	path = strstr(canon, "://") + 3;
	path += strcspn(path, "/");
	plen = strcmp(path, "/") == 0 ? 0 : strlen(path);
	if (strlen(origin) + plen >= n) {
		kai_error_set(err, KA_ERR_INVALID, "the resource URL is longer "
			      "than %zu bytes", n - 1);
		st = KA_ERR_INVALID;
	} else {
		snprintf(out, n, "%s%.*s", origin, (int)plen, path);
	}
	free(canon);
	return st;
}

/* 1 if url and the canonical form canon name the same resource. */
static int same_resource(const char *url, const char *canon)
{
	char c[KA_URL_MAX];
	ka_error e;

	ka_error_clear(&e);
	return kai_resource_canon(url, c, sizeof(c), &e) == KA_OK &&
	       strcmp(c, canon) == 0;
}

static int same_origin(const char *a, const char *b)
{
	struct kai_origin oa, ob;
	ka_error e;

	ka_error_clear(&e);
	return kai_origin_parse(a, &oa, NULL, &e) == KA_OK &&
	       kai_origin_parse(b, &ob, NULL, &e) == KA_OK &&
	       strcmp(oa.scheme, ob.scheme) == 0 &&
	       strcmp(oa.host, ob.host) == 0 && oa.port == ob.port;
}

/* ---- protected resource metadata (RFC 9728 section 2) -------------------- */

/* scopes_supported joined with spaces into out; -1 if unusable. */
static int scopes_of(json_t *o, char *out, size_t n)
{
	json_t *a = json_object_get(o, "scopes_supported"), *v;
	size_t i;

	out[0] = '\0';
	if (a != NULL && !json_is_array(a))
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strchr(json_string_value(v), ' ') ||
		    kai_scope_list_add(out, n, json_string_value(v)) != KA_OK)
			return -1;
	}
	return kai_scope_list_ok(out) ? 0 : -1;
}

/* The first entry of authorization_servers that is a usable URL. */
static const char *server_of(json_t *o)
{
	json_t *a = json_object_get(o, "authorization_servers"), *v;
	size_t i;

	json_array_foreach(a, i, v) {
		struct kai_origin org;
		const char *s = json_string_value(v);
		ka_error e;

		ka_error_clear(&e);
		if (s != NULL && strlen(s) < KA_URL_MAX &&
		    strpbrk(s, "?#") == NULL &&
		    kai_origin_parse(s, &org, NULL, &e) == KA_OK)
			return s;
	}
	return NULL;
}

enum ka_status kai_resource_metadata_parse(const char *buf, size_t len,
					   const char *resource,
					   struct ka_resource_metadata *out,
					   ka_error *err)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	const char *res = kai_json_str(o, "resource"), *as;
	enum ka_status st = KA_ERR_PROTOCOL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		kai_error_set(err, st, "the protected resource metadata of %s "
			      "is not a JSON object", resource);
	} else if (res == NULL || !same_resource(res, resource)) {
		kai_error_set(err, st, "the protected resource metadata names "
			      "another resource than %s, the server asked: it "
			      "is not used (RFC 9728 section 3.3)", resource);
	} else if ((as = server_of(o)) == NULL) {
		kai_error_set(err, st, "the protected resource metadata of %s "
			      "names no usable authorization server", resource);
	} else if (scopes_of(o, out->scope, sizeof(out->scope)) != 0) {
		kai_error_set(err, st, "the protected resource metadata of %s "
			      "has an unusable scopes_supported", resource);
	} else {
		snprintf(out->resource, sizeof(out->resource), "%s", resource);
		snprintf(out->as.issuer, sizeof(out->as.issuer), "%s", as);
		st = KA_OK;
	}
	if (st != KA_OK)
		memset(out, 0, sizeof(*out));
	json_decref(o);
	return st;
}

/* ---- the authorization server ------------------------------------------ */

enum ka_status kai_as_metadata_check(const struct ka_oauth_metadata *md,
				     ka_error *err)
{
	const struct {
		const char *name, *url;
	} eps[] = {
		{ "token", md->ep.token },
		{ "revocation", md->ep.revocation },
		{ "device authorization", md->ep.device_authorization },
		{ "registration", md->registration },
	};

	if (!(md->flags & KA_META_S256)) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the authorization server %s "
			      "does not offer PKCE with S256 "
			      "(code_challenge_methods_supported): kiwi-auth "
			      "does not sign in there", md->issuer);
		return KA_ERR_PROTOCOL;
	}
	if (md->ep.authorization[0] == '\0') {
		kai_error_set(err, KA_ERR_PROTOCOL, "the authorization server %s "
			      "has no authorization_endpoint", md->issuer);
		return KA_ERR_PROTOCOL;
	}
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		if (eps[i].url[0] != '\0' && !same_origin(eps[i].url, md->issuer)) {
			kai_error_set(err, KA_ERR_PROTOCOL, "the metadata of %s "
				      "puts its %s endpoint on another origin "
				      "than the issuer's: kiwi-auth sends codes "
				      "and tokens only to the issuer's origin; "
				      "if that server is trusted, configure it "
				      "with issuer and token_url instead",
				      md->issuer, eps[i].name);
			return KA_ERR_PROTOCOL;
		}
	}
	return KA_OK;
}

/* ---- discovery ------------------------------------------------------------ */

/* POST a ping without a token; a 401's Bearer challenge goes to ch. */
static enum ka_status probe(const struct ka_mctx *m, const char *url,
			    const char *ca_file,
			    struct kai_bearer_challenge *ch, ka_error *err)
{
	static const char *const headers[] = {
		"Accept: application/json, text/event-stream", NULL,
	};
	struct ka_http_request hr = {
		.method = "POST", .url = url, .content_type = "application/json",
		.body = PROBE_BODY, .body_len = strlen(PROBE_BODY),
		.headers = headers, .ca_file = ca_file,
	};
	struct ka_http_response *r = NULL;
	const char *wa;
	enum ka_status st;

	memset(ch, 0, sizeof(*ch));
	if ((st = kai_http(m != NULL ? m->ctx : NULL, &hr, &r, err)) != KA_OK)
		return st;
	wa = r->www_authenticate;
	if (r->status == 401 &&
	    kai_bearer_challenge_parse(wa, strlen(wa), ch) != KA_OK) {
		kai_error_set(err, KA_ERR_PROTOCOL, "%s answered 401 with a "
			      "malformed WWW-Authenticate header", url);
		st = KA_ERR_PROTOCOL;
	}
	if (st == KA_OK && ch->scope[0] != '\0' && !kai_scope_list_ok(ch->scope))
		ch->scope[0] = '\0';	/* unusable: fall back to the metadata's */
	kai_http_response_free(r);
	return st;
}

/* The candidate metadata URLs: the challenge's, else the well-known ones. */
static enum ka_status prm_urls(const char *resource,
			       const struct kai_bearer_challenge *ch,
			       char urls[][KA_URL_MAX], int *n, ka_error *err)
{
	char origin[KAI_HOST_MAX + 32];
	struct kai_origin o;

	*n = 0;
	if (ch->resource_metadata[0] != '\0') {
		if (!same_origin(ch->resource_metadata, resource)) {
			kai_error_set(err, KA_ERR_PROTOCOL, "%s answered with "
				      "resource_metadata on another origin: "
				      "kiwi-auth reads a server's metadata only "
				      "from the server's own origin", resource);
			return KA_ERR_PROTOCOL;
		}
		snprintf(urls[0], KA_URL_MAX, "%s", ch->resource_metadata);
		*n = 1;
		return KA_OK;
	}
	*n = kai_well_known_urls(resource, PRM_SUFFIX, 0, urls, 1);
	/* then the root, unless the resource is the root already */
	if (*n == 1 && kai_origin_parse(resource, &o, NULL, err) == KA_OK) {
		kai_origin_format(&o, origin, sizeof(origin));
		if (kai_well_known_urls(origin, PRM_SUFFIX, 0, urls + 1, 1) == 1 &&
		    strcmp(urls[0], urls[1]) != 0)
			*n = 2;
	}
	return KA_OK;
}

static enum ka_status fetch_prm(const struct ka_mctx *m, const char *resource,
				const char *ca_file,
				const struct kai_bearer_challenge *ch,
				struct ka_resource_metadata *out, ka_error *err)
{
	char urls[2][KA_URL_MAX];
	int n;
	enum ka_status st = prm_urls(resource, ch, urls, &n, err);

	for (int i = 0; st == KA_OK && i < n; i++) {
		struct ka_http_response *r = NULL;

		st = kai_fetch_document(m, urls[i], ca_file, &r, err);
		if (st == KA_OK)
			st = kai_resource_metadata_parse(r->body, r->len,
							 resource, out, err);
		kai_http_response_free(r);
		if (st != KA_ERR_NOT_FOUND)
			return st;
		st = KA_OK;
	}
	if (st == KA_OK) {
		kai_error_set(err, KA_ERR_CONFIG, "%s publishes no protected "
			      "resource metadata (RFC 9728): it is not a server "
			      "kiwi-auth can discover; configure its issuer "
			      "instead", resource);
		st = KA_ERR_CONFIG;
	}
	return st;
}

enum ka_status kai_resource_discover(const struct ka_mctx *m, const char *url,
				     const char *ca_file,
				     struct ka_resource_metadata *out,
				     ka_error *err)
{
	struct kai_bearer_challenge ch;
	struct ka_oauth_metadata md;
	char resource[KA_URL_MAX];
	enum ka_status st;

	memset(out, 0, sizeof(*out));
	if ((st = kai_resource_canon(url, resource, sizeof(resource), err)) != KA_OK ||
	    (st = probe(m, resource, ca_file, &ch, err)) != KA_OK ||
	    (st = fetch_prm(m, resource, ca_file, &ch, out, err)) != KA_OK ||
	    (st = kai_oauth_metadata(m, out->as.issuer, ca_file,
				     KA_DISCOVER_STRICT, &md, err)) != KA_OK ||
	    (st = kai_as_metadata_check(&md, err)) != KA_OK) {
		memset(out, 0, sizeof(*out));
		return st;
	}
	out->as = md;
	/* The challenge's scopes first (MCP: scope selection strategy). */
	if (ch.scope[0] != '\0')
		snprintf(out->scope, sizeof(out->scope), "%s", ch.scope);
	return KA_OK;
}
