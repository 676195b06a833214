/* SPDX-License-Identifier: MIT */
/* index.c: a hash index from strings to pointers (open addressing), built
 * once when a context opens, so finding a service by name or by scope
 * costs the same at 10 services as at 10,000. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kai.h"

/* FNV-1a over the bytes of key[0..len). The keys of an index come from
 * the configuration (names, scopes), which the administrator writes: no
 * one else chooses them, so no keyed hash is needed against floods. */
static uint64_t hash(const char *key, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	return h;
}

void kai_index_free(struct kai_index *ix)
{
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}

/* Room for n keys at a load of at most one half. */
enum ka_status kai_index_init(struct kai_index *ix, size_t n)
{
	size_t cap = 8;

	memset(ix, 0, sizeof(*ix));
	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 4)
			return KA_ERR_NOMEM;
		cap <<= 1;
	}
	if ((ix->v = calloc(cap, sizeof(*ix->v))) == NULL)
		return KA_ERR_NOMEM;
	ix->cap = cap;
	return KA_OK;
}

static struct kai_index_slot *find(const struct kai_index *ix, const char *key,
				   size_t len, uint64_t h)
{
	size_t mask = ix->cap - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct kai_index_slot *e = &ix->v[i];

		if (e->key == NULL || (e->hash == h && e->len == len &&
				       memcmp(e->key, key, len) == 0))
			return e;
	}
}

void *kai_index_get(const struct kai_index *ix, const char *key, size_t len)
{
	if (ix->cap == 0)
		return NULL;
	return find(ix, key, len, hash(key, len))->value;
}

/* Twice the room, every key moved over. */
static enum ka_status grow(struct kai_index *ix)
{
	struct kai_index bigger;

	if (kai_index_init(&bigger, ix->cap) != KA_OK)
		return KA_ERR_NOMEM;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->v[i].key != NULL)
			*find(&bigger, ix->v[i].key, ix->v[i].len,
			      ix->v[i].hash) = ix->v[i];
	bigger.n = ix->n;
	free(ix->v);
	*ix = bigger;
	return KA_OK;
}

enum ka_status kai_index_put(struct kai_index *ix, const char *key,
			     void *value, void **old)
{
	size_t len = strlen(key);
	uint64_t h = hash(key, len);
	struct kai_index_slot *e;

	*old = NULL;
	if ((ix->cap == 0 && kai_index_init(ix, 4) != KA_OK) ||
	    (ix->n + 1 > ix->cap / 2 && grow(ix) != KA_OK))
		return KA_ERR_NOMEM;
	e = find(ix, key, len, h);
	if (e->key != NULL) {
		*old = e->value;
		return KA_OK;
	}
	e->key = key;
	e->len = len;
	e->hash = h;
	e->value = value;
	ix->n++;
	return KA_OK;
}

void kai_index_set(struct kai_index *ix, const char *key, void *value)
{
	size_t len = strlen(key);
	struct kai_index_slot *e = ix->cap ? find(ix, key, len, hash(key, len)) :
				   NULL;

	if (e != NULL && e->key != NULL) {
		e->key = key; /* the caller's key outlives the old one */
		e->value = value;
	}
}
