/* SPDX-License-Identifier: MIT */
/* discover.c: authorization server metadata (RFC 8414, OpenID Connect
 * Discovery): the well-known URLs of an issuer in the order RFC 8414
 * section 5 and the MCP authorization specification give, a pure parser
 * and validator of the document, and the fetch. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kai.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

/* ---- the well-known URLs ------------------------------------------------ */

/* Split url into origin ("scheme://authority") and path (without the
 * trailing slashes); 0, or -1 when it has no "scheme://". */
static int split_url(const char *url, size_t *olen, const char **path,
		     size_t *plen)
{
	const char *s = strstr(url, "://"), *p;

	if (s == NULL)
		return -1;
	p = s + 3 + strcspn(s + 3, "/?#");
	*olen = (size_t)(p - url);
	*path = p;
	*plen = strcspn(p, "?#");
	while (*plen > 0 && p[*plen - 1] == '/')
		(*plen)--;
	return 0;
}

int kai_well_known_urls(const char *url, const char *suffix, int append,
			char out[][KA_URL_MAX], size_t max)
{
	const char *path;
	size_t olen, plen, n = 0;

	if (url == NULL || split_url(url, &olen, &path, &plen) != 0 || max < 1)
		return 0;
	/* Inserted between the origin and the path (RFC 8414, RFC 9728). */
	if (snprintf(out[n], KA_URL_MAX, "%.*s/.well-known/%s%.*s", (int)olen,
		     url, suffix, (int)plen, path) < KA_URL_MAX)
		n++;
	/* Appended to the whole URL (OpenID Connect Discovery). */
	if (append && plen > 0 && n < max &&
	    snprintf(out[n], KA_URL_MAX, "%.*s%.*s/.well-known/%s", (int)olen,
		     url, (int)plen, path, suffix) < KA_URL_MAX)
		n++;
	return (int)n;
}

/* ---- the document --------------------------------------------------------- */

static enum ka_status endpoint(json_t *o, const char *key, char *dst,
			       ka_error *err)
{
	const char *v = kai_json_str(o, key);
	struct kai_origin org;
	ka_error e;

	dst[0] = '\0';
	if (v == NULL)
		return KA_OK;
	ka_error_clear(&e);
	if (strlen(v) >= KA_URL_MAX ||
	    kai_origin_parse(v, &org, NULL, &e) != KA_OK) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the authorization server's "
			      "metadata has an unusable %s: %s", key,
			      e.code ? e.text : "too long");
		return KA_ERR_PROTOCOL;
	}
	memcpy(dst, v, strlen(v) + 1);
	return KA_OK;
}

/* 1 if the JSON array o[key] holds the string s. */
static int array_has(json_t *o, const char *key, const char *s)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int same_issuer(const char *a, const char *b, int strict)
{
	size_t la = strlen(a), lb = strlen(b);

	if (strict)	/* RFC 8414 section 3.3: identical, no normalising */
		return strcmp(a, b) == 0;
	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

static unsigned flags_of(json_t *o)
{
	unsigned f = 0;

	if (array_has(o, "code_challenge_methods_supported", "S256"))
		f |= KA_META_S256;
	if (json_is_true(json_object_get(o, "authorization_response_iss_parameter_supported")))
		f |= KA_META_ISS_RESPONSE;
	if (json_is_true(json_object_get(o, "client_id_metadata_document_supported")))
		f |= KA_META_CLIENT_ID_DOC;
	if (array_has(o, "scopes_supported", "offline_access"))
		f |= KA_META_OFFLINE_ACCESS;
	if (array_has(o, "grant_types_supported", DEVICE_GRANT))
		f |= KA_META_DEVICE_GRANT;
	return f;
}

static enum ka_status endpoints_of(json_t *o, struct ka_oauth_metadata *out,
				   ka_error *err)
{
	struct ka_oauth_endpoints *ep = &out->ep;
	enum ka_status st;

	if ((st = endpoint(o, "token_endpoint", ep->token, err)) != KA_OK ||
	    (st = endpoint(o, "authorization_endpoint", ep->authorization, err)) != KA_OK ||
	    (st = endpoint(o, "device_authorization_endpoint",
			   ep->device_authorization, err)) != KA_OK ||
	    (st = endpoint(o, "revocation_endpoint", ep->revocation, err)) != KA_OK ||
	    (st = endpoint(o, "userinfo_endpoint", ep->userinfo, err)) != KA_OK ||
	    (st = endpoint(o, "registration_endpoint", out->registration, err)) != KA_OK)
		return st;
	if (ep->token[0] == '\0') {
		kai_error_set(err, KA_ERR_PROTOCOL, "the authorization server's "
			      "metadata has no token_endpoint");
		return KA_ERR_PROTOCOL;
	}
	return KA_OK;
}

enum ka_status kai_as_metadata_parse(const char *buf, size_t len,
				     const char *issuer, int strict,
				     struct ka_oauth_metadata *out,
				     ka_error *err)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	const char *iss = kai_json_str(o, "issuer");
	enum ka_status st = KA_ERR_PROTOCOL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		kai_error_set(err, st, "the authorization server's metadata is "
			      "not a JSON object");
		goto out;
	}
	if (iss == NULL || strlen(iss) >= KA_URL_MAX || kai_has_ctl(iss) ||
	    !same_issuer(iss, issuer, strict)) {
		kai_error_set(err, st, "the authorization server's metadata "
			      "names another issuer than %s, the URL it was "
			      "fetched for: it is not used", issuer);
		goto out;
	}
	memcpy(out->issuer, iss, strlen(iss) + 1);
	if ((st = endpoints_of(o, out, err)) != KA_OK)
		goto out;
	out->flags = flags_of(o);
	if (out->ep.device_authorization[0] != '\0')
		out->flags |= KA_META_DEVICE_GRANT;
out:
	if (st != KA_OK)
		memset(out, 0, sizeof(*out));
	json_decref(o);
	return st;
}

/* ---- fetching ------------------------------------------------------------- */

/* GET url: KA_OK with *out when it answered 200 with a body, else
 * KA_ERR_NOT_FOUND (try the next URL) or a network error. */
enum ka_status kai_fetch_document(const struct ka_mctx *m, const char *url,
				  const char *ca_file,
				  struct ka_http_response **out, ka_error *err)
{
	struct ka_http_request hr = { .method = "GET", .url = url,
				      .ca_file = ca_file };
	enum ka_status st;

	*out = NULL;
	if ((st = kai_http(m != NULL ? m->ctx : NULL, &hr, out, err)) != KA_OK)
		return st;
	if ((*out)->status == 200 && (*out)->len > 0)
		return KA_OK;
	kai_http_response_free(*out);
	*out = NULL;
	return KA_ERR_NOT_FOUND;
}

enum ka_status kai_oauth_metadata(const struct ka_mctx *m, const char *issuer,
				  const char *ca_file, unsigned flags,
				  struct ka_oauth_metadata *out, ka_error *err)
{
	char urls[3][KA_URL_MAX];
	int n = kai_well_known_urls(issuer, "oauth-authorization-server", 0,
				    urls, 1);
	enum ka_status st = KA_ERR_NOT_FOUND;

	memset(out, 0, sizeof(*out));
	n += kai_well_known_urls(issuer, "openid-configuration", 1, urls + n,
				 (size_t)(3 - n));
	for (int i = 0; i < n && st == KA_ERR_NOT_FOUND; i++) {
		struct ka_http_response *r = NULL;

		st = kai_fetch_document(m, urls[i], ca_file, &r, err);
		if (st == KA_OK)
			st = kai_as_metadata_parse(r->body, r->len, issuer,
						   flags & KA_DISCOVER_STRICT,
						   out, err);
		kai_http_response_free(r);
	}
	if (st == KA_ERR_NOT_FOUND) {
		kai_error_set(err, KA_ERR_CONFIG, "%s publishes no authorization "
			      "server metadata (.well-known/oauth-authorization-"
			      "server or .well-known/openid-configuration): check "
			      "the issuer, or give token_url", issuer);
		st = KA_ERR_CONFIG;
	}
	return st;
}

enum ka_status kai_oauth_discover(const struct ka_mctx *m, const char *issuer,
				  const char *ca_file,
				  struct ka_oauth_endpoints *out, ka_error *err)
{
	struct ka_oauth_metadata md;
	enum ka_status st = kai_oauth_metadata(m, issuer, ca_file, 0, &md, err);

	*out = md.ep;
	return st;
}
