/* SPDX-License-Identifier: MIT */
/* record.c: the token record, its secrets in wiped memory, and its JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kai.h"

KAI_API enum ka_status ka_record_new(struct ka_record **out)
{
	struct ka_record *r;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return KA_ERR_NOMEM;
	r->expires_at = KA_EXPIRES_NEVER;
	r->refresh_expires_at = KA_EXPIRES_NEVER;
	*out = r;
	return KA_OK;
}

KAI_API void ka_record_free(struct ka_record *r)
{
	if (r == NULL)
		return;
	kai_secure_free(r->access_token);
	kai_secure_free(r->refresh_token);
	free(r->token_type);
	free(r->account);
	kai_strv_clear(&r->scopes);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

static enum ka_status set_secret(char **slot, const char *t)
{
	char *copy;

	if (t == NULL) {
		kai_secure_free(*slot);
		*slot = NULL;
		return KA_OK;
	}
	if (*t == '\0' || kai_has_ctl(t) || strlen(t) > KA_TOKEN_MAX)
		return KA_ERR_INVALID;
	copy = kai_secure_strdup(t);
	if (copy == NULL)
		return KA_ERR_NOMEM;
	kai_secure_free(*slot);
	*slot = copy;
	return KA_OK;
}

static enum ka_status set_plain(char **slot, const char *s, size_t max)
{
	char *copy;

	if (s != NULL && (*s == '\0' || kai_has_ctl(s) || strlen(s) > max))
		return KA_ERR_INVALID;
	copy = kai_strdup(s);
	if (s != NULL && copy == NULL)
		return KA_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return KA_OK;
}

KAI_API enum ka_status ka_record_set_access_token(struct ka_record *r,
						  const char *t)
{
	return set_secret(&r->access_token, t);
}

KAI_API enum ka_status ka_record_set_refresh_token(struct ka_record *r,
						   const char *t)
{
	return set_secret(&r->refresh_token, t);
}

KAI_API enum ka_status ka_record_set_token_type(struct ka_record *r,
						const char *t)
{
	return set_plain(&r->token_type, t, 64);
}

KAI_API enum ka_status ka_record_set_account(struct ka_record *r,
					     const char *a)
{
	return set_plain(&r->account, a, 256);
}

KAI_API enum ka_status ka_record_add_scope(struct ka_record *r,
					   const char *scope)
{
	if (scope == NULL || *scope == '\0' || kai_has_ctl(scope) ||
	    strpbrk(scope, " \t") != NULL || strlen(scope) > 256)
		return KA_ERR_INVALID;
	if (kai_strv_contains(&r->scopes, scope))
		return KA_OK;
	return kai_strv_add(&r->scopes, scope);
}

int kai_fresh_for(int64_t at, int64_t now, int64_t margin)
{
	if (at == KA_EXPIRES_NEVER)
		return 1;
	/* at > now, so the unsigned difference is exact whatever the
	 * values (margin is not negative). */
	return at > now && (uint64_t)at - (uint64_t)now > (uint64_t)margin;
}

KAI_API void ka_record_set_expires_at(struct ka_record *r, int64_t t)
{
	r->expires_at = t;
}

KAI_API void ka_record_set_refresh_expires_at(struct ka_record *r, int64_t t)
{
	r->refresh_expires_at = t;
}

KAI_API void ka_record_set_obtained_at(struct ka_record *r, int64_t t)
{
	r->obtained_at = t;
}

KAI_API int ka_record_has_access_token(const struct ka_record *r)
{
	return r->access_token != NULL;
}

KAI_API int ka_record_has_refresh_token(const struct ka_record *r)
{
	return r->refresh_token != NULL;
}

KAI_API const char *ka_record_token_type(const struct ka_record *r)
{
	return r->token_type != NULL ? r->token_type : "Bearer";
}

KAI_API const char *ka_record_account(const struct ka_record *r)
{
	return r->account != NULL ? r->account : KA_ACCOUNT_DEFAULT;
}

KAI_API int64_t ka_record_expires_at(const struct ka_record *r)
{
	return r->expires_at;
}

KAI_API int64_t ka_record_refresh_expires_at(const struct ka_record *r)
{
	return r->refresh_expires_at;
}

KAI_API int64_t ka_record_obtained_at(const struct ka_record *r)
{
	return r->obtained_at;
}

KAI_API size_t ka_record_scope_count(const struct ka_record *r)
{
	return r->scopes.n;
}

KAI_API const char *ka_record_scope(const struct ka_record *r, size_t i)
{
	return kai_strv_at(&r->scopes, i);
}

KAI_API int ka_record_has_scope(const struct ka_record *r, const char *scope)
{
	return kai_strv_contains(&r->scopes, scope);
}

KAI_API const char *ka_record_source(const struct ka_record *r)
{
	return r->src_name[0] != '\0' ? r->src_name : NULL;
}

void kai_record_place(struct ka_record *r, const struct ka_mctx *m)
{
	r->src = m;
	snprintf(r->src_name, sizeof(r->src_name), "%s",
		 m != NULL ? m->modname : "");
}

enum ka_status kai_record_dup(const struct ka_record *r,
			      struct ka_record **out)
{
	struct ka_record *c = NULL;
	enum ka_status st;

	*out = NULL;
	st = ka_record_new(&c);
	if (st != KA_OK)
		return st;
	if ((r->access_token && !(c->access_token = kai_secure_strdup(r->access_token))) ||
	    (r->refresh_token && !(c->refresh_token = kai_secure_strdup(r->refresh_token))) ||
	    (r->token_type && !(c->token_type = strdup(r->token_type))) ||
	    (r->account && !(c->account = strdup(r->account)))) {
		ka_record_free(c);
		return KA_ERR_NOMEM;
	}
	for (size_t i = 0; i < r->scopes.n; i++) {
		if (kai_strv_add(&c->scopes, r->scopes.v[i]) != KA_OK) {
			ka_record_free(c);
			return KA_ERR_NOMEM;
		}
	}
	c->src = r->src;
	memcpy(c->src_name, r->src_name, sizeof(c->src_name));
	c->expires_at = r->expires_at;
	c->refresh_expires_at = r->refresh_expires_at;
	c->obtained_at = r->obtained_at;
	c->generation = r->generation;
	*out = c;
	return KA_OK;
}

/* ---- JSON ----------------------------------------------------------- */

/* jansson keeps its own copy of every string; wipe the copies of secrets
 * before the object is released. */
static void wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v),
			       json_string_length(v));
}

static void wipe_json_secrets(json_t *o)
{
	wipe_json_string(json_object_get(o, "access_token"));
	wipe_json_string(json_object_get(o, "refresh_token"));
}

static enum ka_status get_secret(json_t *o, const char *key, char **slot,
				 ka_error *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return KA_OK;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > KA_TOKEN_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    kai_has_ctl(json_string_value(v))) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record: \"%s\" must be a non-empty string "
			      "of at most %d bytes without control bytes", key,
			      KA_TOKEN_MAX);
		return KA_ERR_CORRUPT;
	}
	return set_secret(slot, json_string_value(v));
}

static enum ka_status get_plain(json_t *o, const char *key, char **slot,
				ka_error *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return KA_OK;
	if (!json_is_string(v) ||
	    set_plain(slot, json_string_value(v), 256) != KA_OK) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record: \"%s\" must be a short string "
			      "without control bytes", key);
		return KA_ERR_CORRUPT;
	}
	return KA_OK;
}

/* A time in UTC seconds; *slot is left as it is when key is absent. */
static enum ka_status get_time(json_t *o, const char *key, int64_t *slot,
			       ka_error *err)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return KA_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record: \"%s\" must be a non-negative "
			      "integer (UTC seconds)", key);
		return KA_ERR_CORRUPT;
	}
	*slot = (int64_t)json_integer_value(v);
	return KA_OK;
}

static enum ka_status get_generation(json_t *o, uint64_t *slot,
				     ka_error *err)
{
	json_t *v = json_object_get(o, "generation");

	if (v == NULL || json_is_null(v))
		return KA_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		kai_error_set(err, KA_ERR_CORRUPT, "token record: "
			      "\"generation\" must be a non-negative integer");
		return KA_ERR_CORRUPT;
	}
	*slot = (uint64_t)json_integer_value(v);
	return KA_OK;
}

static enum ka_status get_scopes(json_t *o, struct ka_record *r, ka_error *err)
{
	json_t *v = json_object_get(o, "scopes");
	json_t *s;
	size_t i;

	if (v == NULL || json_is_null(v))
		return KA_OK;
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, s) {
		if (!json_is_string(s) ||
		    ka_record_add_scope(r, json_string_value(s)) != KA_OK)
			goto bad;
	}
	return KA_OK;
bad:
	kai_error_set(err, KA_ERR_CORRUPT,
		      "token record: \"scopes\" must be an array of scope names");
	return KA_ERR_CORRUPT;
}

enum ka_status kai_record_from_json(const char *buf, size_t len,
				    struct ka_record **out, ka_error *err)
{
	struct ka_record *r = NULL;
	json_error_t jerr;
	json_t *o = NULL;
	enum ka_status st;

	*out = NULL;
	if (len > KA_RECORD_MAX_JSON) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record larger than %d bytes",
			      KA_RECORD_MAX_JSON);
		return KA_ERR_CORRUPT;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		/* jerr.text may quote input: report only the position. */
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record is not valid JSON (line %d, "
			      "column %d)", jerr.line, jerr.column);
		return KA_ERR_CORRUPT;
	}
	if (!json_is_object(o)) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record must be a JSON object");
		st = KA_ERR_CORRUPT;
		goto out;
	}
	st = ka_record_new(&r);
	if (st != KA_OK)
		goto out;
	if ((st = get_secret(o, "access_token", &r->access_token, err)) ||
	    (st = get_secret(o, "refresh_token", &r->refresh_token, err)) ||
	    (st = get_plain(o, "token_type", &r->token_type, err)) ||
	    (st = get_plain(o, "account", &r->account, err)) ||
	    (st = get_time(o, "expires_at", &r->expires_at, err)) ||
	    (st = get_time(o, "refresh_expires_at", &r->refresh_expires_at, err)) ||
	    (st = get_time(o, "obtained_at", &r->obtained_at, err)) ||
	    (st = get_generation(o, &r->generation, err)) ||
	    (st = get_scopes(o, r, err)))
		goto out;
	if (r->access_token == NULL && r->refresh_token == NULL) {
		kai_error_set(err, KA_ERR_CORRUPT,
			      "token record holds neither an access_token nor "
			      "a refresh_token");
		st = KA_ERR_CORRUPT;
		goto out;
	}
	*out = r;
	r = NULL;
out:
	wipe_json_secrets(o);
	json_decref(o);
	ka_record_free(r);
	return st;
}

static int put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) != 0;
}

enum ka_status kai_record_to_json(const struct ka_record *r, char **out,
				  size_t *len)
{
	json_t *o = json_object();
	json_t *scopes = json_array();
	enum ka_status st = KA_ERR_NOMEM;
	char *buf = NULL;
	size_t n;
	int bad = o == NULL || scopes == NULL;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	for (size_t i = 0; !bad && i < r->scopes.n; i++)
		bad = json_array_append_new(scopes, json_string(r->scopes.v[i]));
	if (!bad && r->access_token)
		bad = put(o, "access_token", json_string(r->access_token));
	if (!bad && r->refresh_token)
		bad = put(o, "refresh_token", json_string(r->refresh_token));
	if (!bad)
		bad = put(o, "token_type", json_string(ka_record_token_type(r)));
	if (!bad && r->account)
		bad = put(o, "account", json_string(r->account));
	if (!bad && r->expires_at != KA_EXPIRES_NEVER)
		bad = put(o, "expires_at", json_integer(r->expires_at));
	if (!bad && r->refresh_expires_at != KA_EXPIRES_NEVER)
		bad = put(o, "refresh_expires_at",
			  json_integer(r->refresh_expires_at));
	if (!bad && r->obtained_at)
		bad = put(o, "obtained_at", json_integer(r->obtained_at));
	if (!bad && r->generation)
		bad = put(o, "generation",
			  json_integer((json_int_t)r->generation));
	if (!bad) {
		bad = json_object_set(o, "scopes", scopes) != 0;
	}
	if (bad)
		goto out;
	/* json_dumpb writes straight into our buffer: no hidden copy. */
	n = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
	if (n == 0 || n > KA_RECORD_MAX_JSON) {
		st = KA_ERR_INVALID;
		goto out;
	}
	buf = kai_secure_alloc(n + 1);
	if (buf == NULL)
		goto out;
	if (json_dumpb(o, buf, n, JSON_COMPACT | JSON_SORT_KEYS) != n) {
		kai_secure_free(buf);
		buf = NULL;
		st = KA_ERR_INVALID;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	if (len != NULL)
		*len = n;
	st = KA_OK;
out:
	if (o != NULL)
		wipe_json_secrets(o);
	json_decref(scopes);
	json_decref(o);
	return st;
}
