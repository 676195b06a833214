/* SPDX-License-Identifier: MIT */
/* broker.c: the broker core: one record cache and one flight per
 * (service, account), the path every load, store, erase, authorize and
 * refresh takes, and the public calls that enter it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kai.h"

/* How long a record without expiry is trusted before the sources are read
 * again (another process may have signed out). Keyring reads leak in
 * libsecret 0.20.5, so this is minutes, not seconds. */
#define KAI_CACHE_TTL 300
/* How long a thread waits for the flight of another: longer than a
 * refresh with its retries can take. */
#define FLIGHT_WAIT_S 90

/* One (service, account). Linked into the service's list once and never
 * unlinked before the context is freed, so a slot pointer stays valid
 * without a lock. rec and loaded_at are read under the service's
 * cache_lock (read side) and replaced under its write side, only by the
 * thread that holds the flight. */
struct kai_slot {
	struct kai_slot *next;
	char *account;
	struct ka_record *rec;
	int64_t loaded_at;
	/* The flight: busy while one thread loads, refreshes, stores or
	 * erases; the others wait on cond. mu guards these fields only and
	 * is never held across I/O. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int busy;
	unsigned gen;		/* flights finished */
	enum kai_want want;	/* what the last flight of kai_core asked */
	enum ka_status st;	/* and how it ended */
	ka_error err;
};

int kai_record_usable(const struct ka_service *s, const struct ka_record *r,
		      int64_t now)
{
	return r->access_token != NULL &&
	       kai_fresh_for(r->expires_at, now, s->min_valid);
}

/* ---- slots ---------------------------------------------------------------- */

static void slot_free(struct kai_slot *sl)
{
	ka_record_free(sl->rec);
	free(sl->account);
	pthread_cond_destroy(&sl->cond);
	pthread_mutex_destroy(&sl->mu);
	free(sl);
}

void kai_slots_free(struct ka_service *s)
{
	struct kai_slot *sl, *next;

	for (sl = s->slots; sl != NULL; sl = next) {
		next = sl->next;
		slot_free(sl);
	}
	s->slots = NULL;
}

static struct kai_slot *slot_new(const char *account)
{
	struct kai_slot *sl = calloc(1, sizeof(*sl));
	pthread_condattr_t ca;
	int ok;

	if (sl == NULL)
		return NULL;
	if (pthread_mutex_init(&sl->mu, NULL) != 0) {
		free(sl);
		return NULL;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ok = pthread_cond_init(&sl->cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok) {
		pthread_mutex_destroy(&sl->mu);
		free(sl);
		return NULL;
	}
	if ((sl->account = strdup(account)) == NULL) {
		slot_free(sl);
		return NULL;
	}
	return sl;
}

/* Caller holds cache_lock, either side. */
static struct kai_slot *slot_find(const struct ka_service *s,
				  const char *account)
{
	for (struct kai_slot *sl = s->slots; sl != NULL; sl = sl->next)
		if (strcmp(sl->account, account) == 0)
			return sl;
	return NULL;
}

/* The slot of account, made on first use; NULL when out of memory. */
static struct kai_slot *slot_get(struct ka_service *s, const char *account)
{
	struct kai_slot *sl, *made;
	unsigned stripe;

	stripe = kai_br_rdlock(&s->cache_lock);
	sl = slot_find(s, account);
	kai_br_rdunlock(&s->cache_lock, stripe);
	if (sl != NULL || (made = slot_new(account)) == NULL)
		return sl;
	kai_br_wrlock(&s->cache_lock);
	if ((sl = slot_find(s, account)) == NULL) {
		made->next = s->slots;
		s->slots = sl = made;
		made = NULL;
	}
	kai_br_wrunlock(&s->cache_lock);
	if (made != NULL)
		slot_free(made);
	return sl;
}

/* A record read within the cache's TTL. */
static int cached_recent(const struct kai_slot *sl, int64_t now)
{
	return sl->rec != NULL && now - sl->loaded_at < KAI_CACHE_TTL &&
	       now >= sl->loaded_at;
}

/* A cached record that may be served without reading the sources. */
static int cached_fresh(const struct ka_service *s, const struct kai_slot *sl,
			int64_t now)
{
	return cached_recent(sl, now) &&
	       kai_fresh_for(sl->rec->expires_at, now, s->min_valid);
}

const struct ka_record *kai_slot_record(const struct ka_service *s,
					const struct kai_slot *sl)
{
	return cached_fresh(s, sl, kai_now()) ? sl->rec : NULL;
}

/* The cached record, even inside min_valid, if it was read within the
 * cache's TTL: a refresh reads it again from its own source, under the
 * lock, and need not walk the stack first. */
static const struct ka_record *slot_recent(const struct kai_slot *sl)
{
	return cached_recent(sl, kai_now()) ? sl->rec : NULL;
}

static void slot_swap(struct ka_service *s, struct kai_slot *sl,
		      struct ka_record *rec)
{
	struct ka_record *old;

	kai_br_wrlock(&s->cache_lock);
	old = sl->rec;
	sl->rec = rec;
	sl->loaded_at = kai_now();
	kai_br_wrunlock(&s->cache_lock);
	ka_record_free(old);
}

/* Best effort: a failed copy only costs a later read. */
void kai_slot_put(struct ka_service *s, struct kai_slot *sl,
		  const struct ka_record *rec)
{
	struct ka_record *copy = NULL;

	if (kai_record_dup(rec, &copy) != KA_OK)
		copy = NULL;
	slot_swap(s, sl, copy);
}

void kai_slot_drop(struct ka_service *s, struct kai_slot *sl)
{
	slot_swap(s, sl, NULL);
}

void kai_cache_forget(struct ka_service *s)
{
	kai_br_wrlock(&s->cache_lock);
	for (struct kai_slot *sl = s->slots; sl != NULL; sl = sl->next) {
		ka_record_free(sl->rec);
		sl->rec = NULL;
	}
	kai_br_wrunlock(&s->cache_lock);
}

/* ---- the flight ------------------------------------------------------------ */

/* Wait until no flight runs for sl, then start ours. *shared gets the
 * outcome of a flight that finished while we waited (0 if none did).
 * Returns KA_OK, or KA_ERR_TIMEOUT. */
static enum ka_status flight_begin(struct kai_slot *sl, int *shared,
				   enum kai_want *want, enum ka_status *st,
				   ka_error *serr)
{
	struct timespec until;
	unsigned gen;
	int rc = 0;

	*shared = 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FLIGHT_WAIT_S;
	pthread_mutex_lock(&sl->mu);
	gen = sl->gen;
	while (sl->busy && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&sl->cond, &sl->mu, &until);
	if (sl->busy) {
		pthread_mutex_unlock(&sl->mu);
		return KA_ERR_TIMEOUT;
	}
	if (sl->gen != gen) {
		*shared = 1;
		*want = sl->want;
		*st = sl->st;
		*serr = sl->err;
	}
	sl->busy = 1;
	pthread_mutex_unlock(&sl->mu);
	return KA_OK;
}

static void flight_end(struct kai_slot *sl, enum kai_want want,
		       enum ka_status st, const ka_error *err)
{
	pthread_mutex_lock(&sl->mu);
	sl->busy = 0;
	sl->gen++;
	sl->want = want;
	sl->st = st;
	if (err != NULL)
		sl->err = *err;
	else
		ka_error_clear(&sl->err);
	pthread_cond_broadcast(&sl->cond);
	pthread_mutex_unlock(&sl->mu);
}

static enum ka_status flight_timeout(const struct ka_service *s,
				     ka_error *err)
{
	kai_error_set(err, KA_ERR_TIMEOUT, "another thread has been loading or "
		      "refreshing the token of %s for over %d s; try again",
		      s->name, FLIGHT_WAIT_S);
	return KA_ERR_TIMEOUT;
}

enum ka_status kai_flight(struct ka_ctx *ctx, struct ka_service *s,
			  const char *account, kai_flight_fn fn, void *data,
			  ka_error *err)
{
	struct kai_slot *sl = slot_get(s, account);
	enum ka_status st, ignored_st;
	enum kai_want ignored_want;
	ka_error ignored;
	int shared;

	if (sl == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	if (flight_begin(sl, &shared, &ignored_want, &ignored_st, &ignored) !=
	    KA_OK)
		return flight_timeout(s, err);
	st = fn(ctx, s, sl, account, data, err);
	/* Not a kai_core flight: nobody adopts its outcome. */
	flight_end(sl, 0, st, NULL);
	return st;
}

/* ---- the core ------------------------------------------------------------ */

struct core {
	enum kai_want want;
	kai_record_fn fn;
	void *data;
	int refreshed;
	/* A flight that asked at least as much ended while we waited. */
	int done_by_other;
	/* Serve the record even inside min_valid: it was just refreshed, or
	 * refreshing failed for a passing reason and it has not expired. */
	int grace;
};

/* A refresh that may well work on the next try. */
static int transient(enum ka_status st)
{
	return st == KA_ERR_NETWORK || st == KA_ERR_TIMEOUT ||
	       st == KA_ERR_TRY_AGAIN || st == KA_ERR_PROTOCOL ||
	       st == KA_ERR_UNAVAILABLE;
}

static int unexpired(const struct ka_record *r, int64_t now)
{
	return r->access_token != NULL &&
	       kai_fresh_for(r->expires_at, now, 0);
}

/* Refresh inside the flight, reading the record under the cross-process
 * lock (refresh.c); *rec gets the record in force. When the refresh fails
 * for a passing reason (network, server, timeout) a token that has not
 * expired yet stays in use, with a warning: min_valid is a margin, not a
 * deadline. */
static enum ka_status core_refresh(struct ka_ctx *ctx, struct ka_service *s,
				   struct kai_slot *sl, const char *account,
				   struct core *c, const struct ka_record *cached,
				   struct ka_record **rec, ka_error *err)
{
	enum ka_status st;
	ka_error rerr;

	ka_error_clear(&rerr);
	st = kai_refresh_record(ctx, s, account, cached,
				c->want == KAI_WANT_FORCE, rec, &c->refreshed,
				&rerr);
	if (*rec != NULL)
		kai_slot_put(s, sl, *rec);
	if (st == KA_OK) {
		c->grace = c->refreshed && unexpired(*rec, kai_now());
		if (c->refreshed && (*rec)->expires_at != KA_EXPIRES_NEVER &&
		    !kai_fresh_for((*rec)->expires_at, kai_now(), s->min_valid))
			kai_log(ctx, 4, "%s: the server issues tokens valid for "
				"%lld s, not more than min_valid (%ld s), so each "
				"use refreshes: lower min_valid in the stanza",
				s->name, (long long)((*rec)->expires_at - kai_now()),
				s->min_valid);
		return KA_OK;
	}
	if (c->want == KAI_WANT_USABLE && transient(st) && *rec != NULL &&
	    unexpired(*rec, kai_now())) {
		kai_log(ctx, 4, "%s: refreshing failed (%s); using the token that "
			"is still valid for %lld s", s->name, rerr.text,
			(long long)((*rec)->expires_at - kai_now()));
		c->grace = 1;
		return KA_OK;
	}
	kai_error_copy(err, &rerr);
	return st;
}

/* Hand the record to the caller, or say why there is none. */
static enum ka_status core_serve(const struct ka_service *s,
				 const char *account, struct core *c,
				 const struct ka_record *rec, ka_error *err)
{
	int ok = c->want != KAI_WANT_USABLE || c->grace ||
		 kai_record_usable(s, rec, kai_now());

	if (!ok && rec->access_token == NULL) {
		kai_not_signed_in(s, account, err);
		return KA_ERR_NOT_FOUND;
	}
	if (!ok) {
		kai_expired(s, account, err);
		return KA_ERR_EXPIRED;
	}
	return c->fn != NULL ? c->fn(s, rec, c->data, err) : KA_OK;
}

/* Whether this flight refreshes: when asked to, or when a usable record
 * is wanted and the one at hand (cached, NULL if none) is not. With a
 * refresh module the record is then read under the refresh lock, so the
 * stack is walked once for the whole request. */
static int core_wants_refresh(const struct ka_service *s, const struct core *c,
			      const struct ka_record *cached)
{
	if (c->want < KAI_WANT_USABLE || !kai_refreshable(s))
		return 0;
	if (c->want == KAI_WANT_FORCE)
		return !c->done_by_other;
	return cached == NULL || !kai_record_usable(s, cached, kai_now());
}

/* The work of one flight of kai_core. */
static enum ka_status core_flight(struct ka_ctx *ctx, struct ka_service *s,
				  struct kai_slot *sl, const char *account,
				  void *data, ka_error *err)
{
	struct core *c = data;
	const struct ka_record *recent = slot_recent(sl);
	const struct ka_record *fresh = kai_slot_record(s, sl);
	struct ka_record *rec = NULL;
	enum ka_status st;

	if (core_wants_refresh(s, c, recent)) {
		st = core_refresh(ctx, s, sl, account, c, recent, &rec, err);
	} else if (fresh != NULL) {
		if ((st = kai_record_dup(fresh, &rec)) != KA_OK)
			kai_error_set(err, st, "out of memory");
	} else if ((st = kai_stack_load(s, account, &rec, err)) == KA_OK) {
		kai_slot_put(s, sl, rec);
	}
	if (st == KA_OK)
		st = core_serve(s, account, c, rec, err);
	ka_record_free(rec);
	return st;
}

/* The fast path: a usable cached record, borrowed under the read lock. */
static int core_cached(struct ka_service *s, const char *account,
		       struct core *c, enum ka_status *st, ka_error *err)
{
	int64_t now = kai_now();
	struct kai_slot *sl;
	unsigned stripe;
	int hit = 0;

	if (c->want > KAI_WANT_USABLE)
		return 0;
	stripe = kai_br_rdlock(&s->cache_lock);
	sl = slot_find(s, account);
	if (sl != NULL && cached_fresh(s, sl, now) &&
	    (c->want == KAI_WANT_ANY || kai_record_usable(s, sl->rec, now))) {
		*st = c->fn != NULL ? c->fn(s, sl->rec, c->data, err) : KA_OK;
		hit = 1;
	}
	kai_br_rdunlock(&s->cache_lock, stripe);
	return hit;
}

enum ka_status kai_core(struct ka_ctx *ctx, struct ka_service *s,
			const char *account, enum kai_want want,
			kai_record_fn fn, void *data, int *refreshed,
			ka_error *err)
{
	struct core c = { .want = want, .fn = fn, .data = data };
	struct kai_slot *sl;
	enum kai_want last;
	enum ka_status st, lst;
	ka_error lerr;
	int shared;

	if (refreshed != NULL)
		*refreshed = 0;
	if (core_cached(s, account, &c, &st, err))
		return st;
	if ((sl = slot_get(s, account)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	if (flight_begin(sl, &shared, &last, &lst, &lerr) != KA_OK)
		return flight_timeout(s, err);
	/* A flight that asked what we ask just failed: its answer is ours
	 * (threads arriving in a storm do not each try again). */
	if (shared && last == want && lst != KA_OK) {
		flight_end(sl, last, lst, &lerr);
		kai_error_copy(err, &lerr);
		return lst;
	}
	c.done_by_other = shared && last >= want && lst == KA_OK;
	ka_error_clear(&lerr);
	st = core_flight(ctx, s, sl, account, &c, &lerr);
	flight_end(sl, want, st, &lerr);
	kai_error_copy(err, &lerr);
	if (refreshed != NULL)
		*refreshed = c.refreshed;
	return st;
}

/* ---- checks shared by every entry point ------------------------------------ */

enum ka_status kai_service_check(const struct ka_service *s, ka_error *err)
{
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
	return KA_OK;
}

const char *kai_account_or_default(const struct ka_service *s,
				   const char *account)
{
	if (account != NULL)
		return account;
	if (s != NULL && s->chosen_account != NULL)
		return s->chosen_account;
	if (s != NULL && s->default_account != NULL)
		return s->default_account;
	return KA_ACCOUNT_DEFAULT;
}

enum ka_status kai_resolve(struct ka_ctx *ctx, const char *service,
			   const char **account, struct ka_service **out,
			   ka_error *err)
{
	struct ka_service *s;
	enum ka_status st;

	*out = NULL;
	if (ctx == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "no context");
		return KA_ERR_INVALID;
	}
	if (*account != NULL && (**account == '\0' || kai_has_ctl(*account) ||
				 strlen(*account) > 256)) {
		kai_error_set(err, KA_ERR_INVALID,
			      "account names must be 1 to 256 printable bytes");
		return KA_ERR_INVALID;
	}
	s = service != NULL ? kai_service_lookup(ctx, service) : NULL;
	if (s == NULL) {
		kai_error_set(err, KA_ERR_NO_SERVICE,
			      "no service '%s' in the configuration; run "
			      "'kiwi-auth services' to list them",
			      service != NULL && !kai_has_ctl(service) &&
			      strlen(service) <= 64 ? service : "?");
		return KA_ERR_NO_SERVICE;
	}
	if ((st = kai_service_check(s, err)) != KA_OK)
		return st;
	*account = kai_account_or_default(s, *account);
	*out = s;
	return KA_OK;
}

enum ka_status kai_with_record(struct ka_ctx *ctx, const char *service,
			       const char *account, kai_record_fn fn,
			       void *data, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st;

	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	return kai_core(ctx, s, account, KAI_WANT_USABLE, fn, data, NULL, err);
}

/* ---- the public calls --------------------------------------------------------- */

static enum ka_status copy_out(const struct ka_service *s,
			       const struct ka_record *r, void *data,
			       ka_error *err)
{
	enum ka_status st = kai_record_dup(r, data);

	if (st != KA_OK)
		kai_error_set(err, st, "out of memory");
	return st;
}

KAI_API enum ka_status ka_load(struct ka_ctx *ctx, const char *service,
			       const char *account, struct ka_record **out,
			       ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st;

	*out = NULL;
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	return kai_core(ctx, s, account, KAI_WANT_ANY, copy_out, out, NULL,
			err);
}

struct store {
	struct ka_record *rec;
	int xlock;
};

/* Inside the flight: the record's own source, else the one holding the
 * current record (from the cache, or one walk when nothing is cached),
 * else the first writable. */
static enum ka_status store_flight(struct ka_ctx *ctx, struct ka_service *s,
				   struct kai_slot *sl, const char *account,
				   void *data, ka_error *err)
{
	struct store *w = data;
	struct ka_record *r = w->rec, *cur = NULL;
	const struct ka_record *cached = kai_slot_record(s, sl);
	const struct ka_mctx *holder = cached != NULL ? cached->src : NULL;
	enum ka_status st;
	ka_error ignored;
	int fd = -1;

	if (w->xlock && (fd = kai_refresh_lock(s->name, account, err)) < 0)
		return err->code != KA_OK ? err->code : KA_ERR_IO;

	if (r->src == NULL && holder == NULL) {
		ka_error_clear(&ignored);
		if (kai_stack_load(s, account, &cur, &ignored) == KA_OK)
			holder = cur->src;
		ka_record_free(cur);
	}
	st = kai_stack_store(s, account, holder, r, err);
	kai_refresh_unlock(fd);
	if (st == KA_OK)
		kai_slot_put(s, sl, r);
	else
		kai_slot_drop(s, sl);
	return st;
}

enum ka_status kai_store(struct ka_ctx *ctx, struct ka_service *s,
			 const char *account, const struct ka_record *r,
			 int xlock, ka_error *err)
{
	struct ka_record *copy = NULL;
	struct store w;
	enum ka_status st;

	if (r == NULL || (r->access_token == NULL && r->refresh_token == NULL)) {
		kai_error_set(err, KA_ERR_INVALID,
			      "a record to store needs an access or refresh token");
		return KA_ERR_INVALID;
	}
	if ((st = kai_record_dup(r, &copy)) != KA_OK) {
		kai_error_set(err, st, "out of memory");
		return st;
	}
	w.rec = copy;
	w.xlock = xlock;
	st = kai_flight(ctx, s, account, store_flight, &w, err);
	ka_record_free(copy);
	return st;
}

KAI_API enum ka_status ka_store(struct ka_ctx *ctx, const char *service,
				const char *account, const struct ka_record *r,
				ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st;

	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	return kai_store(ctx, s, account, r, 0, err);
}

static enum ka_status erase_flight(struct ka_ctx *ctx, struct ka_service *s,
				   struct kai_slot *sl, const char *account,
				   void *data, ka_error *err)
{
	kai_slot_drop(s, sl);
	return kai_stack_erase(s, account, data, err);
}

KAI_API enum ka_status ka_erase(struct ka_ctx *ctx, const char *service,
				const char *account, unsigned *erased,
				ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct ka_service *s;
	enum ka_status st;
	unsigned n = 0;

	if (erased != NULL)
		*erased = 0;
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK)
		return st;
	st = kai_flight(ctx, s, account, erase_flight, &n, err);
	if (erased != NULL)
		*erased = n;
	return st;
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

	if ((st = kai_resolve(ctx, service, &dflt, &s, err)) != KA_OK)
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
