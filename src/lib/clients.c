/* SPDX-License-Identifier: MIT */
/* clients.c: this client's identity at an authorization server, per
 * (issuer, resource): registrations stored durably (one private file
 * each, written atomically) and reused, RFC 7591 dynamic registration
 * with a pure parser of its answer, and client ID metadata documents. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kai.h"

#define CLIENT_FILE_MAX 16384
#define REDIRECT "http://127.0.0.1/callback"	/* any port (RFC 8252) */
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"

void kai_oauth_client_clear(struct ka_oauth_client *c)
{
	if (c == NULL)
		return;
	kai_secure_free(c->secret);
	memset(c, 0, sizeof(*c));
}

/* ---- the registration answer (RFC 7591 section 3.2.1) ------------------- */

static int id_ok(const char *id)
{
	return id != NULL && strlen(id) < KA_URL_MAX && !kai_has_ctl(id) &&
	       strchr(id, ' ') == NULL;
}

/* client_id and client_secret of o into out; how and when are the
 * caller's. */
static enum ka_status client_of(json_t *o, struct ka_oauth_client *out)
{
	const char *id = kai_json_str(o, "client_id");
	const char *secret = kai_json_str(o, "client_secret");

	memset(out, 0, sizeof(*out));
	if (!id_ok(id) || (secret != NULL && (kai_has_ctl(secret) ||
					      strlen(secret) > 4096)))
		return KA_ERR_PROTOCOL;
	snprintf(out->client_id, sizeof(out->client_id), "%s", id);
	if (secret != NULL && (out->secret = kai_secure_strdup(secret)) == NULL)
		return KA_ERR_NOMEM;
	return KA_OK;
}

enum ka_status kai_registration_parse(const char *buf, size_t len,
				      struct ka_oauth_client *out,
				      ka_error *err)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *exp = json_object_get(o, "client_secret_expires_at");
	enum ka_status st;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o) || (exp != NULL && !json_is_integer(exp)) ||
	    (st = client_of(o, out)) == KA_ERR_PROTOCOL) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the registration endpoint's "
			      "answer has no usable client_id");
		st = KA_ERR_PROTOCOL;
	} else if (st == KA_OK && exp != NULL && json_integer_value(exp) != 0 &&
		   json_integer_value(exp) <= kai_now()) {
		kai_error_set(err, KA_ERR_PROTOCOL, "the registration endpoint "
			      "answered with a client secret that has expired");
		st = KA_ERR_PROTOCOL;
	}
	if (st != KA_OK)
		kai_oauth_client_clear(out);
	kai_json_wipe_free(o);
	return st;
}

/* ---- the store: STATE/clients/client-HASH.json --------------------------- */

/* The directory and the file name of (issuer, resource). */
static int store_path(const char *issuer, const char *resource, char *dir,
		      size_t dn, char name[48])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[KAI_SHA256_LEN];
	char *key = kai_asprintf("%s\n%s", issuer, resource);
	size_t dl;

	if (key == NULL || kai_state_dir(dir, dn) != 0 ||
	    (dl = strlen(dir)) + sizeof("/clients") > dn) {
		free(key);
		return -1;
	}
	memcpy(dir + dl, "/clients", sizeof("/clients"));
	kai_sha256(key, strlen(key), d);
	free(key);
	memcpy(name, "client-", 7);
	for (int i = 0; i < 16; i++) {
		name[7 + 2 * i] = hex[d[i] >> 4];
		name[8 + 2 * i] = hex[d[i] & 15];
	}
	memcpy(name + 39, ".json", 6);
	return 0;
}

/* A stored entry: it must name what it is stored for. */
static enum ka_status entry_parse(const char *buf, const char *issuer,
				  const char *resource, char *iss_out,
				  struct ka_oauth_client *out)
{
	json_t *o = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	const char *iss = kai_json_str(o, "issuer");
	const char *res = kai_json_str(o, "resource");
	const char *how = kai_json_str(o, "how");
	json_t *at = json_object_get(o, "registered_at");
	enum ka_status st = KA_ERR_CORRUPT;

	if (json_is_object(o) && iss != NULL && res != NULL && how != NULL &&
	    strlen(iss) < KA_URL_MAX && strlen(how) < sizeof(out->how) &&
	    (issuer == NULL || strcmp(iss, issuer) == 0) &&
	    strcmp(res, resource) == 0 && json_is_integer(at) &&
	    (st = client_of(o, out)) == KA_OK) {
		snprintf(out->how, sizeof(out->how), "%s", how);
		out->registered_at = json_integer_value(at);
		if (iss_out != NULL)
			snprintf(iss_out, KA_URL_MAX, "%s", iss);
	} else if (st != KA_ERR_NOMEM) {
		st = KA_ERR_CORRUPT;
	}
	kai_json_wipe_free(o);
	return st;
}

static enum ka_status entry_read(const char *path, const char *issuer,
				 const char *resource, char *iss_out,
				 struct ka_oauth_client *out, ka_error *err)
{
	char *buf = NULL;
	enum ka_status st;
	ka_error e;

	memset(out, 0, sizeof(*out));
	ka_error_clear(&e);
	st = kai_read_checked(path, KAI_OWNER_PRIVATE, CLIENT_FILE_MAX, &buf, &e);
	if (st == KA_ERR_CONFIG && access(path, F_OK) != 0)
		return KA_ERR_NOT_FOUND;
	kai_error_copy(err, &e);
	if (st == KA_OK && (st = entry_parse(buf, issuer, resource, iss_out,
					     out)) == KA_ERR_CORRUPT)
		kai_error_set(err, st, "%s: not a client registration of "
			      "kiwi-auth for %s; remove it to register anew",
			      path, resource);
	if (buf != NULL) {
		kai_wipe(buf, strlen(buf));
		free(buf);
	}
	return st;
}

static enum ka_status entry_write(const char *issuer, const char *resource,
				  const struct ka_oauth_client *c,
				  ka_error *err)
{
	char dir[PATH_MAX], name[48], *text = NULL;
	json_t *o;
	enum ka_status st = KA_ERR_NOMEM;

	if (store_path(issuer, resource, dir, sizeof(dir), name) != 0) {
		kai_error_set(err, KA_ERR_IO, "no directory for client "
			      "registrations: set HOME or XDG_STATE_HOME");
		return KA_ERR_IO;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "issuer", issuer,
		      "resource", resource, "client_id", c->client_id,
		      "how", c->how, "registered_at",
		      (json_int_t)c->registered_at);
	if (o != NULL && (c->secret == NULL ||
			  json_object_set_new(o, "client_secret",
					      json_string(c->secret)) == 0) &&
	    (text = json_dumps(o, JSON_INDENT(2))) != NULL) {
		if (kai_make_dirs(dir) != 0) {
			kai_error_set(err, KA_ERR_IO, "cannot create %s: %s", dir,
				      strerror(errno));
			st = KA_ERR_IO;
		} else {
			st = kai_write_atomic(dir, name, text, strlen(text), 0,
					      err);
		}
	}
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	if (text != NULL) {
		kai_wipe(text, strlen(text));
		free(text);
	}
	kai_json_wipe_free(o);
	return st;
}

enum ka_status kai_oauth_client_store(const struct ka_mctx *m,
				      const char *issuer, const char *resource,
				      const struct ka_oauth_client *c,
				      ka_error *err)
{
	char dir[PATH_MAX], name[48], path[PATH_MAX + 64];

	if (c != NULL)
		return entry_write(issuer, resource, c, err);
	if (store_path(issuer, resource, dir, sizeof(dir), name) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (unlink(path) == 0)
			kai_log(m != NULL ? m->ctx : NULL, 6, "dropped the "
				"client registration at %s for %s", issuer,
				resource);
	}
	return KA_OK;
}

enum ka_status kai_oauth_client_find(const struct ka_mctx *m,
				     const char *resource, char *issuer,
				     struct ka_oauth_client *out)
{
	char dir[PATH_MAX], name[48], path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;
	enum ka_status st = KA_ERR_NOT_FOUND;

	(void)m;
	memset(out, 0, sizeof(*out));
	if (store_path("", resource, dir, sizeof(dir), name) != 0 ||
	    (d = opendir(dir)) == NULL)
		return KA_ERR_NOT_FOUND;
	while ((de = readdir(d)) != NULL) {
		struct ka_oauth_client c;
		char iss[KA_URL_MAX];
		ka_error e;

		if (strncmp(de->d_name, "client-", 7) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ka_error_clear(&e);
		if (entry_read(path, NULL, resource, iss, &c, &e) != KA_OK)
			continue;
		if (st == KA_OK && c.registered_at < out->registered_at) {
			kai_oauth_client_clear(&c);
			continue;
		}
		kai_oauth_client_clear(out);
		*out = c;
		snprintf(issuer, KA_URL_MAX, "%s", iss);
		st = KA_OK;
	}
	closedir(d);
	return st;
}

/* ---- registering (RFC 7591 section 3.1) ----------------------------------- */

static char *registration_request(const struct ka_oauth_metadata *as)
{
	json_t *o = json_pack("{s:s, s:s, s:[s], s:[s, s], s:[s], s:s}",
			      "client_name", "kiwi-auth",
			      "application_type", "native",
			      "redirect_uris", REDIRECT,
			      "grant_types", "authorization_code",
			      "refresh_token", "response_types", "code",
			      "token_endpoint_auth_method", "none");
	char *text = NULL;

	if (o != NULL && (!(as->flags & KA_META_DEVICE_GRANT) ||
			  json_array_append_new(json_object_get(o, "grant_types"),
						json_string(DEVICE_GRANT)) == 0))
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static enum ka_status do_register(const struct ka_mctx *m,
				  const struct ka_resource_metadata *rm,
				  const char *ca_file,
				  struct ka_oauth_client *out, ka_error *err)
{
	char *body = registration_request(&rm->as);
	struct ka_http_response *r = NULL;
	enum ka_status st = KA_ERR_NOMEM;

	if (body != NULL)
		st = kai_http(m != NULL ? m->ctx : NULL, &(struct ka_http_request){
			.method = "POST", .url = rm->as.registration,
			.content_type = "application/json", .body = body,
			.body_len = strlen(body), .ca_file = ca_file,
		}, &r, err);
	if (st == KA_OK && r->status != 201 && r->status != 200) {
		json_t *o = json_loadb(r->body, r->len, 0, NULL);
		const char *e = kai_json_str(o, "error");
		char why[96] = "";

		for (size_t i = 0; e != NULL && e[i] != '\0' && i + 1 < sizeof(why); i++)
			why[i] = e[i] > 0x20 && e[i] < 0x7f ? e[i] : '?';
		kai_error_set(err, KA_ERR_PROTOCOL, "%s refused to register "
			      "kiwi-auth as a native client (HTTP %ld%s%s): "
			      "register a client there by hand and set "
			      "client_id in the refresh stanza", rm->as.issuer,
			      r->status, why[0] ? ", " : "", why);
		json_decref(o);
		st = KA_ERR_PROTOCOL;
	} else if (st == KA_OK &&
		   (st = kai_registration_parse(r->body, r->len, out, err)) == KA_OK) {
		snprintf(out->how, sizeof(out->how), "dynamic");
		out->registered_at = kai_now();
	}
	if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	kai_http_response_free(r);
	free(body);
	return st;
}

/* A fresh identity: a client ID metadata document, else registration. */
static enum ka_status new_client(const struct ka_mctx *m,
				 const struct ka_resource_metadata *rm,
				 const char *document_url, const char *ca_file,
				 struct ka_oauth_client *out, ka_error *err)
{
	if (document_url != NULL && (rm->as.flags & KA_META_CLIENT_ID_DOC)) {
		memset(out, 0, sizeof(*out));
		snprintf(out->client_id, sizeof(out->client_id), "%s", document_url);
		snprintf(out->how, sizeof(out->how), "metadata-document");
		out->registered_at = kai_now();
		return KA_OK;
	}
	if (rm->as.registration[0] != '\0')
		return do_register(m, rm, ca_file, out, err);
	kai_error_set(err, KA_ERR_CONFIG, "%s offers neither client ID "
		      "metadata documents%s nor dynamic registration: register "
		      "a client there and set client_id in the refresh stanza",
		      rm->as.issuer, document_url != NULL ? " (for "
		      "client_metadata_url)" : "");
	return KA_ERR_CONFIG;
}

enum ka_status kai_oauth_client(const struct ka_mctx *m,
				const struct ka_resource_metadata *rm,
				const char *document_url, const char *ca_file,
				struct ka_oauth_client *out, ka_error *err)
{
	char dir[PATH_MAX], name[48], path[PATH_MAX + 64];
	enum ka_status st;

	memset(out, 0, sizeof(*out));
	if (store_path(rm->as.issuer, rm->resource, dir, sizeof(dir), name) != 0) {
		kai_error_set(err, KA_ERR_IO, "no directory for client "
			      "registrations: set HOME or XDG_STATE_HOME");
		return KA_ERR_IO;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	st = entry_read(path, rm->as.issuer, rm->resource, NULL, out, err);
	if (st != KA_ERR_NOT_FOUND)
		return st;	/* reused, or a file that needs a person */
	if ((st = new_client(m, rm, document_url, ca_file, out, err)) != KA_OK)
		return st;
	if ((st = entry_write(rm->as.issuer, rm->resource, out, err)) != KA_OK)
		kai_oauth_client_clear(out);
	else
		kai_log(m != NULL ? m->ctx : NULL, 6, "registered client %s at %s "
			"for %s (%s)", out->client_id, rm->as.issuer,
			rm->resource, out->how);
	return st;
}
