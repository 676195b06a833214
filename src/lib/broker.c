/* broker.c: the source stack (PAM control flags over NSS-like statuses),
 * store and erase routing, and the per-service record cache. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kai.h"

/* How long a record without expiry is trusted before the sources are read
 * again (another process may have signed out). Keyring reads leak in
 * libsecret 0.20.5, so this is minutes, not seconds. */
#define KAI_CACHE_TTL 300

struct kai_cache_entry {
	char *account;
	struct ka_record *rec;	/* rec->source names the module */
	size_t src;		/* index in the stack that provided it */
	int64_t loaded_at;
	struct kai_cache_entry *next;
};

static void entry_free(struct kai_cache_entry *e)
{
	if (e == NULL)
		return;
	free(e->account);
	ka_record_free(e->rec);
	free(e);
}

void kai_cache_clear(struct ka_service *s)
{
	struct kai_cache_entry *e, *next;

	for (e = s->cache; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	s->cache = NULL;
}

/* Caller holds cache_lock. */
static struct kai_cache_entry *cache_find(struct ka_service *s,
					  const char *account)
{
	for (struct kai_cache_entry *e = s->cache; e != NULL; e = e->next)
		if (strcmp(e->account, account) == 0)
			return e;
	return NULL;
}

int kai_record_usable(const struct ka_service *s, const struct ka_record *r,
		      int64_t now)
{
	return r->access_token != NULL &&
	       kai_fresh_for(r->expires_at, now, s->min_valid);
}

static int entry_fresh(const struct ka_service *s,
		       const struct kai_cache_entry *e, int64_t now)
{
	if (now - e->loaded_at >= KAI_CACHE_TTL || now < e->loaded_at)
		return 0;
	return kai_fresh_for(e->rec->expires_at, now, s->min_valid);
}

static void cache_drop(struct ka_service *s, const char *account)
{
	struct kai_cache_entry **pp, *e;

	kai_br_wrlock(&s->cache_lock);
	for (pp = &s->cache; (e = *pp) != NULL; pp = &e->next) {
		if (strcmp(e->account, account) == 0) {
			*pp = e->next;
			entry_free(e);
			break;
		}
	}
	kai_br_wrunlock(&s->cache_lock);
}

/* Cache a copy of rec (best effort: a failure only costs a later read). */
static void cache_put(struct ka_service *s, const char *account,
		      const struct ka_record *rec, size_t src)
{
	struct kai_cache_entry *e = calloc(1, sizeof(*e));

	if (e == NULL || (e->account = strdup(account)) == NULL ||
	    kai_record_dup(rec, &e->rec) != KA_OK) {
		entry_free(e);
		return;
	}
	e->src = src;
	e->loaded_at = kai_now();
	cache_drop(s, account);
	kai_br_wrlock(&s->cache_lock);
	e->next = s->cache;
	s->cache = e;
	kai_br_wrunlock(&s->cache_lock);
}

/* A copy of a fresh cached record, or NULL. */
static struct ka_record *cache_get(struct ka_service *s, const char *account,
				   size_t *src)
{
	struct kai_cache_entry *e;
	struct ka_record *copy = NULL;
	unsigned stripe;

	stripe = kai_br_rdlock(&s->cache_lock);
	e = cache_find(s, account);
	if (e != NULL && entry_fresh(s, e, kai_now()) &&
	    kai_record_dup(e->rec, &copy) == KA_OK && src != NULL)
		*src = e->src;
	kai_br_rdunlock(&s->cache_lock, stripe);
	return copy;
}

/* ---- checks shared by every entry point --------------------------------- */

static enum ka_status usable(struct ka_ctx *ctx, const char *service,
			     const char **account, struct ka_service **out,
			     ka_error *err)
{
	struct ka_service *s;

	*out = NULL;
	if (*account == NULL)
		*account = KA_ACCOUNT_DEFAULT;
	if (**account == '\0' || kai_has_ctl(*account) ||
	    strlen(*account) > 256) {
		kai_error_set(err, KA_ERR_INVALID,
			      "account names must be 1 to 256 printable bytes");
		return KA_ERR_INVALID;
	}
	s = service != NULL ? kai_service_lookup(ctx, service) : NULL;
	if (s == NULL) {
		kai_error_set(err, KA_ERR_NO_SERVICE,
			      "no service '%s' in the configuration; run "
			      "'kiwi-auth services' to list them",
			      service != NULL && !kai_has_ctl(service) ? service : "?");
		return KA_ERR_NO_SERVICE;
	}
	if (s->error != NULL) {
		kai_error_set(err, KA_ERR_CONFIG,
			      "service '%s' is disabled by a configuration "
			      "error: %s", s->name, s->error);
		return KA_ERR_CONFIG;
	}
	/* KA_CTX_NO_MODULES contexts list services but cannot use them. */
	if (!s->bound) {
		kai_error_set(err, KA_ERR_MODULE,
			      "the modules of service '%s' are not loaded "
			      "(context opened with KA_CTX_NO_MODULES)", s->name);
		return KA_ERR_MODULE;
	}
	*out = s;
	return KA_OK;
}

/* What a person does about a missing or expired token of (s, account):
 * sign in (refresh module), store one (a writable source), or feed the
 * read-only sources. */
static void remedy(const struct ka_service *s, const char *account,
		   char *buf, size_t size)
{
	int dflt = strcmp(account, KA_ACCOUNT_DEFAULT) == 0, any = 0;
	size_t n;

	for (size_t i = 0; i < s->nsources; i++)
		any |= s->sources[i]->mod != NULL &&
		       s->sources[i]->mod->source->store != NULL;
	if (s->refresh != NULL || any) {
		snprintf(buf, size, "run 'kiwi-auth %s %s%s%s'",
			 s->refresh != NULL ? "signin" : "token set", s->name,
			 dflt ? "" : " --account ", dflt ? "" : account);
		return;
	}
	n = (size_t)snprintf(buf, size, "its sources are read-only (");
	for (size_t i = 0; i < s->nsources && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
				      s->sources[i]->modname);
	if (n < size)
		snprintf(buf + n, size - n, "): provide the token there, see "
			 "kiwi-auth-%s(8)", s->sources[0]->modname);
}

static void not_signed_in(const struct ka_service *s, const char *account,
			  ka_error *err)
{
	int dflt = strcmp(account, KA_ACCOUNT_DEFAULT) == 0;
	char fix[256];

	remedy(s, account, fix, sizeof(fix));
	kai_error_set(err, KA_ERR_NOT_FOUND, "not signed in to %s%s%s%s: %s",
		      s->name, dflt ? "" : " (account ", dflt ? "" : account,
		      dflt ? "" : ")", fix);
	err->auth_required = 1;
}

/* ---- the source stack ------------------------------------------------- */

static enum ka_status normalize(enum ka_status st)
{
	switch (st) {
	case KA_OK:
	case KA_ERR_NOT_FOUND:
	case KA_ERR_UNAVAILABLE:
	case KA_ERR_TRY_AGAIN:
	case KA_ERR_NOMEM:
		return st;
	default:
		return KA_ERR_UNAVAILABLE;
	}
}

/* The status a caller sees for a source's failure: the source's own when
 * it says something about the source (its text is kept either way), else
 * "unavailable" — a source's KA_ERR_INVALID is no usage error of the
 * caller's. */
static enum ka_status source_code(enum ka_status st)
{
	switch (st) {
	case KA_ERR_NOT_FOUND:
	case KA_ERR_UNAVAILABLE:
	case KA_ERR_TRY_AGAIN:
	case KA_ERR_TIMEOUT:
	case KA_ERR_CORRUPT:
	case KA_ERR_PERMISSION:
	case KA_ERR_NOMEM:
		return st;
	default:
		return KA_ERR_UNAVAILABLE;
	}
}

/* Walk the stack as Linux-PAM walks an auth stack:
 *  - sufficient: a record here ends the walk with success unless a
 *    required source already failed; a failure here is ignored;
 *  - required: a failure is remembered and the walk goes on, so the
 *    result is a failure;
 *  - requisite: a failure ends the walk at once with that failure;
 *  - optional: matters only when nothing else decided.
 * The record returned is the first one found. Once one is found, only
 * required and requisite sources are still consulted (they may fail it).
 * A failure that is not "not found" (locked keyring, bad permissions) is
 * reported in preference to "not signed in", so the user fixes the
 * right thing. */
static enum ka_status stack_load(struct ka_service *s, const char *account,
				 struct ka_record **out, size_t *src,
				 ka_error *err)
{
	struct ka_record *rec = NULL;
	ka_error decisive, other;
	enum ka_status dst = KA_OK, ost = KA_OK;

	*out = NULL;
	ka_error_clear(&decisive);
	ka_error_clear(&other);
	for (size_t i = 0; i < s->nsources; i++) {
		struct ka_mctx *m = s->sources[i];
		struct ka_record *r = NULL;
		enum ka_control c = m->control;
		ka_error e;
		enum ka_status st;

		if (rec != NULL && (c == KA_CONTROL_SUFFICIENT ||
				    c == KA_CONTROL_OPTIONAL))
			continue;
		ka_error_clear(&e);
		st = normalize(m->mod->source->load(m, s->name, account, &r, &e));
		if (st == KA_OK && r == NULL)
			st = KA_ERR_UNAVAILABLE;
		if (st == KA_ERR_NOMEM) {
			ka_record_free(r);
			ka_record_free(rec);
			kai_error_set(err, st, "out of memory");
			return st;
		}
		if (st == KA_OK) {
			if (rec == NULL && kai_record_set_source(r, m->modname) == KA_OK &&
			    ka_record_set_account(r, account) == KA_OK) {
				rec = r;
				*src = i;
			} else {
				ka_record_free(r);
			}
			if (c == KA_CONTROL_SUFFICIENT && dst == KA_OK)
				break;
			continue;
		}
		if (e.code == KA_OK)
			kai_error_set(&e, st, "source '%s' failed: %s",
				      m->modname, ka_strerror(st));
		e.code = source_code(e.code);
		if (st != KA_ERR_NOT_FOUND && ost == KA_OK) {
			ost = st;
			other = e;
		}
		if (c == KA_CONTROL_REQUIRED || c == KA_CONTROL_REQUISITE) {
			if (dst == KA_OK) {
				dst = st;
				decisive = e;
			}
			if (c == KA_CONTROL_REQUISITE)
				break;
		}
	}
	if (dst == KA_OK && rec != NULL) {
		*out = rec;
		return KA_OK;
	}
	ka_record_free(rec);
	if (dst == KA_OK || dst == KA_ERR_NOT_FOUND) {
		if (ost != KA_OK) {
			kai_error_copy(err, &other);
			return other.code != KA_OK ? other.code : ost;
		}
		not_signed_in(s, account, err);
		return KA_ERR_NOT_FOUND;
	}
	kai_error_copy(err, &decisive);
	return decisive.code != KA_OK ? decisive.code : dst;
}

KAI_API enum ka_status ka_load(struct ka_ctx *ctx, const char *service,
			       const char *account, struct ka_record **out,
			       ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	struct ka_record *rec = NULL;
	enum ka_status st;
	size_t src = 0;

	*out = NULL;
	if ((st = usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	if ((*out = cache_get(s, account, NULL)) != NULL)
		return KA_OK;
	/* Single flight: threads that miss together read the sources once. */
	pthread_mutex_lock(&s->flight_lock);
	if ((*out = cache_get(s, account, NULL)) != NULL) {
		pthread_mutex_unlock(&s->flight_lock);
		return KA_OK;
	}
	st = stack_load(s, account, &rec, &src, err);
	if (st == KA_OK)
		cache_put(s, account, rec, src);
	pthread_mutex_unlock(&s->flight_lock);
	if (st == KA_OK)
		*out = rec;
	return st;
}

enum ka_status kai_service_usable(struct ka_ctx *ctx, const char *service,
				  const char **account, struct ka_service **out,
				  ka_error *err)
{
	return usable(ctx, service, account, out, err);
}

enum ka_status kai_load_fresh(struct ka_ctx *ctx, const char *service,
			      const char *account, struct ka_record **out,
			      ka_error *err)
{
	struct ka_service *s;
	enum ka_status st;

	*out = NULL;
	if ((st = usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	cache_drop(s, account);
	return ka_load(ctx, service, account, out, err);
}

static int writable(const struct ka_mctx *m)
{
	return m->mod != NULL && m->mod->source->store != NULL;
}

/* Where a record for (s, account) goes: the source that holds the current
 * one if it can be written, else the first writable source. */
static struct ka_mctx *store_target(struct ka_service *s, const char *account)
{
	struct ka_record *cur = NULL;
	ka_error ignored;
	size_t src = 0;

	cur = cache_get(s, account, &src);
	if (cur == NULL) {
		ka_error_clear(&ignored);
		if (stack_load(s, account, &cur, &src, &ignored) != KA_OK)
			cur = NULL;
	}
	ka_record_free(cur);
	if (cur != NULL && writable(s->sources[src]))
		return s->sources[src];
	for (size_t i = 0; i < s->nsources; i++)
		if (writable(s->sources[i]))
			return s->sources[i];
	return NULL;
}

static size_t index_of(const struct ka_service *s, const struct ka_mctx *m)
{
	size_t i = 0;

	while (i < s->nsources && s->sources[i] != m)
		i++;
	return i;
}

KAI_API enum ka_status ka_store(struct ka_ctx *ctx, const char *service,
				const char *account, const struct ka_record *r,
				ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	struct ka_record *copy = NULL;
	struct ka_mctx *m;
	enum ka_status st;

	if ((st = usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	if (r == NULL || (r->access_token == NULL && r->refresh_token == NULL)) {
		kai_error_set(err, KA_ERR_INVALID,
			      "a record to store needs an access or refresh token");
		return KA_ERR_INVALID;
	}
	if ((st = kai_record_dup(r, &copy)) != KA_OK ||
	    (st = ka_record_set_account(copy, account)) != KA_OK)
		goto out;
	pthread_mutex_lock(&s->flight_lock);
	m = store_target(s, account);
	if (m == NULL) {
		kai_error_set(err, KA_ERR_READ_ONLY,
			      "service '%s' has no writable source (env and exec "
			      "are read-only): add a file or keyring source to "
			      "its stanza", s->name);
		st = KA_ERR_READ_ONLY;
	} else {
		if (copy->obtained_at == 0)
			copy->obtained_at = kai_now();
		st = m->mod->source->store(m, s->name, account, copy, err);
		if (st == KA_OK && kai_record_set_source(copy, m->modname) == KA_OK)
			cache_put(s, account, copy, index_of(s, m));
		else
			cache_drop(s, account);
	}
	pthread_mutex_unlock(&s->flight_lock);
	if (st != KA_OK && err != NULL && err->code == KA_OK)
		kai_error_set(err, st, "storing the record for %s failed: %s",
			      s->name, ka_strerror(st));
out:
	ka_record_free(copy);
	return st;
}

KAI_API enum ka_status ka_erase(struct ka_ctx *ctx, const char *service,
				const char *account, unsigned *erased,
				ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st, first = KA_OK;
	unsigned n = 0;

	if (erased != NULL)
		*erased = 0;
	if ((st = usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	pthread_mutex_lock(&s->flight_lock);
	cache_drop(s, account);
	/* Every writable source is tried, even after a failure. */
	for (size_t i = 0; i < s->nsources; i++) {
		struct ka_mctx *m = s->sources[i];

		if (!writable(m) || m->mod->source->erase == NULL)
			continue;
		ka_error e;

		ka_error_clear(&e);
		st = m->mod->source->erase(m, s->name, account, &e);
		if (st == KA_OK) {
			n++;
		} else if (st != KA_ERR_NOT_FOUND && first == KA_OK) {
			first = st;
			kai_error_copy(err, &e);
		}
	}
	pthread_mutex_unlock(&s->flight_lock);
	if (erased != NULL)
		*erased = n;
	return first;
}

static void collect(const char *account, void *data)
{
	struct kai_strv *sv = data;

	if (account != NULL && !kai_strv_contains(sv, account))
		kai_strv_add(sv, account);
}

KAI_API enum ka_status ka_accounts(struct ka_ctx *ctx, const char *service,
				   ka_account_fn fn, void *data, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct kai_strv accounts = { 0 };
	const char *dflt = NULL;
	struct ka_service *s;
	enum ka_status st, first = KA_OK;
	int listed = 0;

	if ((st = usable(ctx, service, &dflt, &s, err)) != KA_OK)
		return st;
	for (size_t i = 0; i < s->nsources; i++) {
		struct ka_mctx *m = s->sources[i];
		ka_error e;

		if (m->mod->source->list == NULL)
			continue;
		ka_error_clear(&e);
		st = m->mod->source->list(m, s->name, collect, &accounts, &e);
		if (st == KA_OK) {
			listed = 1;
		} else if (first == KA_OK) {
			first = st;
			kai_error_copy(err, &e);
		}
	}
	for (size_t i = 0; i < accounts.n; i++)
		fn(accounts.v[i], data);
	kai_strv_clear(&accounts);
	return listed || first == KA_OK ? KA_OK : first;
}


static void expired(const struct ka_service *s, const char *account,
		    ka_error *err)
{
	int dflt = strcmp(account, KA_ACCOUNT_DEFAULT) == 0;
	char fix[256];

	remedy(s, account, fix, sizeof(fix));
	kai_error_set(err, KA_ERR_EXPIRED,
		      "the token for %s%s%s%s has expired or expires within "
		      "%ld s: %s", s->name, dflt ? "" : " (account ",
		      dflt ? "" : account, dflt ? "" : ")", s->min_valid, fix);
	err->auth_required = 1;
}

/* A refresh that may well work on the next try. */
static int transient(enum ka_status st)
{
	return st == KA_ERR_NETWORK || st == KA_ERR_TIMEOUT ||
	       st == KA_ERR_TRY_AGAIN || st == KA_ERR_PROTOCOL ||
	       st == KA_ERR_UNAVAILABLE;
}

enum ka_status kai_with_record(struct ka_ctx *ctx, const char *service,
			       const char *account, kai_record_fn fn,
			       void *data, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	struct kai_cache_entry *e;
	struct ka_record *rec = NULL;
	enum ka_status st;
	int64_t now = kai_now();
	int refreshed = 0;
	unsigned stripe;

	if ((st = usable(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	stripe = kai_br_rdlock(&s->cache_lock);
	e = cache_find(s, account);
	if (e != NULL && entry_fresh(s, e, now) && kai_record_usable(s, e->rec, now)) {
		st = fn(s, e->rec, data, err);
		kai_br_rdunlock(&s->cache_lock, stripe);
		return st;
	}
	kai_br_rdunlock(&s->cache_lock, stripe);
	st = ka_load(ctx, service, account, &rec, err);
	if (st != KA_OK)
		return st;
	/* Inside the window and refreshable: refresh first (refresh.c). A
	 * record just refreshed is used unless it has really expired. When
	 * the refresh fails for a passing reason (network, server, timeout)
	 * a token that has not expired yet is still used, with a warning:
	 * min_valid is a margin, not a deadline. */
	if (!kai_record_usable(s, rec, kai_now()) && s->refresh != NULL) {
		struct ka_record *next = NULL;
		ka_error rerr;

		ka_error_clear(&rerr);
		st = kai_refresh(ctx, s, account, 0, &next, NULL, &rerr);
		if (st != KA_OK && transient(st) && rec->access_token != NULL &&
		    kai_fresh_for(rec->expires_at, kai_now(), 0)) {
			kai_log(ctx, 4, "%s: refreshing failed (%s); using the "
				"token that is still valid for %lld s", s->name,
				rerr.text, (long long)(rec->expires_at - kai_now()));
			ka_record_free(next);
			refreshed = 1;
		} else if (st != KA_OK) {
			kai_error_copy(err, &rerr);
			ka_record_free(rec);
			return st;
		} else {
			ka_record_free(rec);
			rec = next;
			refreshed = rec->access_token != NULL &&
				    kai_fresh_for(rec->expires_at, kai_now(), 0);
			/* Tokens shorter than min_valid would make every
			 * request refresh: say what fixes it. */
			if (rec->expires_at != KA_EXPIRES_NEVER &&
			    !kai_fresh_for(rec->expires_at, kai_now(),
					   s->min_valid))
				kai_log(ctx, 4, "%s: the server issues tokens valid "
					"for %lld s, not more than min_valid (%ld "
					"s), so each use refreshes: lower min_valid "
					"in the stanza", s->name,
					(long long)(rec->expires_at - kai_now()),
					s->min_valid);
		}
	}
	if (refreshed || kai_record_usable(s, rec, kai_now()))
		st = fn(s, rec, data, err);
	else if (rec->access_token == NULL)
		not_signed_in(s, account, err), st = KA_ERR_NOT_FOUND;
	else
		expired(s, account, err), st = KA_ERR_EXPIRED;
	ka_record_free(rec);
	return st;
}
