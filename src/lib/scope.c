/* SPDX-License-Identifier: MIT */
/* scope.c: find a tool's required scope and auth service in its chain of JSON manifests (leaf first). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kai.h"

#define CHAIN_MAX_BYTES (1024 * 1024)
#define CHAIN_MAX_DEPTH 64
#define FIELD_MAX 256

struct ka_tool_scope {
	char *scope;		/* NULL: a public tool */
	char *service;		/* NULL: chosen by scope */
	char *tool;		/* the leaf's name, or NULL */
};

KAI_API void ka_tool_scope_free(struct ka_tool_scope *ts)
{
	if (ts == NULL)
		return;
	free(ts->scope);
	free(ts->service);
	free(ts->tool);
	free(ts);
}

KAI_API const char *ka_tool_scope_scope(const struct ka_tool_scope *ts)
{
	return ts != NULL ? ts->scope : NULL;
}

KAI_API const char *ka_tool_scope_service(const struct ka_tool_scope *ts)
{
	return ts != NULL ? ts->service : NULL;
}

KAI_API const char *ka_tool_scope_tool(const struct ka_tool_scope *ts)
{
	return ts != NULL ? ts->tool : NULL;
}

/* Printable ASCII without spaces, 1 to FIELD_MAX bytes. */
static int word_ok(const char *s, size_t n)
{
	if (n == 0 || n > FIELD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Read manifest i's string field key into *out unless *out is already
 * set (an inner manifest overrides its parents). */
static enum ka_status field(json_t *m, size_t i, const char *key,
			    int identifier, char **out, ka_error *err)
{
	json_t *v = json_object_get(m, key);
	const char *s;

	if (v == NULL || *out != NULL)
		return KA_OK;
	s = json_string_value(v);
	if (s == NULL || !word_ok(s, json_string_length(v)) ||
	    strlen(s) != json_string_length(v) ||
	    (identifier && !kai_is_identifier(s))) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: manifest %zu: "
			      "'%s' must be a non-empty string %s", i, key,
			      identifier ? "naming a service (letters, digits, "
			      "'-', '_')" : "of printable characters without "
			      "spaces");
		return KA_ERR_INVALID;
	}
	if ((*out = strdup(s)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	return KA_OK;
}

static enum ka_status walk(json_t *chain, struct ka_tool_scope *ts,
			   ka_error *err)
{
	enum ka_status st;
	size_t n = json_array_size(chain);

	if (!json_is_array(chain)) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: must be a JSON "
			      "array of manifests, the tool first and its "
			      "outermost parent last");
		return KA_ERR_INVALID;
	}
	if (n == 0 || n > CHAIN_MAX_DEPTH) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: must hold 1 to "
			      "%d manifests, not %zu", CHAIN_MAX_DEPTH, n);
		return KA_ERR_INVALID;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(chain, i);

		if (!json_is_object(m)) {
			kai_error_set(err, KA_ERR_INVALID, "tool chain: manifest "
				      "%zu is not a JSON object", i);
			return KA_ERR_INVALID;
		}
		if ((st = field(m, i, "required_scope", 0, &ts->scope, err)) != KA_OK ||
		    (st = field(m, i, "auth_service", 1, &ts->service, err)) != KA_OK)
			return st;
		if (i == 0 && json_is_string(json_object_get(m, "name")) &&
		    (st = field(m, i, "name", 0, &ts->tool, err)) != KA_OK)
			return st;
	}
	/* No scope anywhere: a public tool, whatever auth_service says. */
	if (ts->scope == NULL) {
		free(ts->service);
		ts->service = NULL;
	}
	return KA_OK;
}

KAI_API enum ka_status ka_tool_scope_new(const char *json, size_t len,
					 struct ka_tool_scope **out,
					 ka_error *err)
{
	struct ka_tool_scope *ts = NULL;
	json_t *chain = NULL;
	json_error_t jerr;
	enum ka_status st;

	if (out != NULL)
		*out = NULL;
	if (json == NULL || out == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: no JSON given");
		return KA_ERR_INVALID;
	}
	if (len > CHAIN_MAX_BYTES) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: larger than %d "
			      "bytes", CHAIN_MAX_BYTES);
		return KA_ERR_INVALID;
	}
	chain = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (chain == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "tool chain: not valid JSON "
			      "(line %d, column %d: %s)", jerr.line,
			      jerr.column, jerr.text);
		return KA_ERR_INVALID;
	}
	if ((ts = calloc(1, sizeof(*ts))) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		st = KA_ERR_NOMEM;
		goto out;
	}
	if ((st = walk(chain, ts, err)) != KA_OK)
		goto out;
	*out = ts;
	ts = NULL;
out:
	ka_tool_scope_free(ts);
	json_decref(chain);
	return st;
}
