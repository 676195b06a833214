/* SPDX-License-Identifier: MIT */
/* stack.c: the source stack of one service: loading through PAM control
 * flags over NSS-like statuses, storing to the source a record lives in,
 * erasing, and the words for a missing or expired token. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kai.h"

int kai_source_writable(const struct ka_mctx *m)
{
	return m != NULL && m->mod != NULL && m->mod->source != NULL &&
	       m->mod->source->store != NULL;
}

/* ---- words for a person ------------------------------------------------- */

/* What a person does about a missing or expired token of (s, account):
 * sign in (refresh module), store one (a writable source), or feed the
 * read-only sources. */
static void remedy(const struct ka_service *s, const char *account,
		   char *buf, size_t size)
{
	int dflt = strcmp(account, KA_ACCOUNT_DEFAULT) == 0, any = 0;
	size_t n;

	for (size_t i = 0; i < s->nsources; i++)
		any |= kai_source_writable(s->sources[i]);
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

/* "S" or "S (account A)". */
static void who(const struct ka_service *s, const char *account, char *buf,
		size_t size)
{
	if (strcmp(account, KA_ACCOUNT_DEFAULT) == 0)
		snprintf(buf, size, "%s", s->name);
	else
		snprintf(buf, size, "%s (account %s)", s->name, account);
}

void kai_not_signed_in(const struct ka_service *s, const char *account,
		       ka_error *err)
{
	char fix[256], name[400];

	remedy(s, account, fix, sizeof(fix));
	who(s, account, name, sizeof(name));
	kai_error_set(err, KA_ERR_NOT_FOUND, "not signed in to %s: %s", name,
		      fix);
	err->auth_required = 1;
}

void kai_expired(const struct ka_service *s, const char *account,
		 ka_error *err)
{
	char fix[256], name[400];

	remedy(s, account, fix, sizeof(fix));
	who(s, account, name, sizeof(name));
	kai_error_set(err, KA_ERR_EXPIRED, "the token for %s has expired or "
		      "expires within %ld s: %s", name, s->min_valid, fix);
	err->auth_required = 1;
}

/* ---- loading ------------------------------------------------------------ */

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

/* One source's load: KA_OK with *out (its src and account set), or a
 * normalized failure with e set. */
static enum ka_status load_one(struct ka_service *s, const struct ka_mctx *m,
			       const char *account, struct ka_record **out,
			       ka_error *e)
{
	struct ka_record *r = NULL;
	enum ka_status st;

	*out = NULL;
	kai_test_point("load");
	st = normalize(m->mod->source->load((struct ka_mctx *)m, s->name,
					    account, &r, e));
	if (st == KA_OK && r == NULL)
		st = KA_ERR_UNAVAILABLE;
	if (st == KA_OK && (st = ka_record_set_account(r, account)) != KA_OK)
		st = KA_ERR_NOMEM;
	if (st != KA_OK) {
		ka_record_free(r);
		if (st == KA_ERR_NOMEM)
			return st;
		if (e->code == KA_OK)
			kai_error_set(e, st, "source '%s' failed: %s",
				      m->modname, ka_strerror(st));
		e->code = source_code(e->code);
		return st;
	}
	kai_record_place(r, m);
	*out = r;
	return KA_OK;
}

enum ka_status kai_source_load(struct ka_service *s, const struct ka_mctx *m,
			       const char *account, struct ka_record **out,
			       ka_error *err)
{
	ka_error e;
	enum ka_status st;

	ka_error_clear(&e);
	st = load_one(s, m, account, out, &e);
	if (st == KA_ERR_NOT_FOUND)
		kai_not_signed_in(s, account, err);
	else if (st == KA_ERR_NOMEM)
		kai_error_set(err, st, "out of memory");
	else if (st != KA_OK)
		kai_error_copy(err, &e);
	return st == KA_OK || st == KA_ERR_NOT_FOUND || st == KA_ERR_NOMEM ?
	       st : e.code;
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
enum ka_status kai_stack_load(struct ka_service *s, const char *account,
			      struct ka_record **out, ka_error *err)
{
	struct ka_record *rec = NULL;
	ka_error decisive, other;
	enum ka_status dst = KA_OK, ost = KA_OK;

	*out = NULL;
	ka_error_clear(&decisive);
	ka_error_clear(&other);
	for (size_t i = 0; i < s->nsources; i++) {
		const struct ka_mctx *m = s->sources[i];
		struct ka_record *r = NULL;
		enum ka_control c = m->control;
		ka_error e;
		enum ka_status st;

		if (rec != NULL && (c == KA_CONTROL_SUFFICIENT ||
				    c == KA_CONTROL_OPTIONAL))
			continue;
		ka_error_clear(&e);
		st = load_one(s, m, account, &r, &e);
		if (st == KA_ERR_NOMEM) {
			ka_record_free(rec);
			kai_error_set(err, st, "out of memory");
			return st;
		}
		if (st == KA_OK) {
			if (rec == NULL)
				rec = r;
			else
				ka_record_free(r);
			if (c == KA_CONTROL_SUFFICIENT && dst == KA_OK)
				break;
			continue;
		}
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
		kai_not_signed_in(s, account, err);
		return KA_ERR_NOT_FOUND;
	}
	kai_error_copy(err, &decisive);
	return decisive.code != KA_OK ? decisive.code : dst;
}

/* ---- storing and erasing ------------------------------------------------ */

/* The record's own source if writable, else holder's, else the first
 * writable one. r->src is compared, never followed, until it is known to
 * be one of s's sources (a caller's record may come from another, freed,
 * context). */
static const struct ka_mctx *store_target(const struct ka_service *s,
					  const struct ka_record *r,
					  const struct ka_mctx *holder)
{
	for (size_t i = 0; r->src != NULL && i < s->nsources; i++)
		if (s->sources[i] == r->src && kai_source_writable(r->src))
			return r->src;
	if (holder != NULL && kai_source_writable(holder))
		return holder;
	for (size_t i = 0; i < s->nsources; i++)
		if (kai_source_writable(s->sources[i]))
			return s->sources[i];
	return NULL;
}

enum ka_status kai_stack_store(struct ka_service *s, const char *account,
			       const struct ka_mctx *holder,
			       struct ka_record *r, ka_error *err)
{
	const struct ka_mctx *m = store_target(s, r, holder);
	enum ka_status st;

	if (m == NULL) {
		kai_error_set(err, KA_ERR_READ_ONLY,
			      "service '%s' has no writable source (env and exec "
			      "are read-only): add a file or keyring source to "
			      "its stanza", s->name);
		return KA_ERR_READ_ONLY;
	}
	if ((st = ka_record_set_account(r, account)) != KA_OK) {
		kai_error_set(err, st, "out of memory");
		return st;
	}
	if (r->obtained_at == 0)
		r->obtained_at = kai_now();
	st = m->mod->source->store((struct ka_mctx *)m, s->name, account, r,
				   err);
	if (st != KA_OK) {
		if (err != NULL && err->code == KA_OK)
			kai_error_set(err, st, "storing the record for %s in "
				      "%s failed: %s", s->name, m->modname,
				      ka_strerror(st));
		return st;
	}
	kai_record_place(r, m);
	return KA_OK;
}

enum ka_status kai_stack_erase(struct ka_service *s, const char *account,
			       unsigned *erased, ka_error *err)
{
	enum ka_status st, first = KA_OK;
	unsigned n = 0;

	/* Every writable source is tried, even after a failure. */
	for (size_t i = 0; i < s->nsources; i++) {
		struct ka_mctx *m = s->sources[i];
		ka_error e;

		if (!kai_source_writable(m) || m->mod->source->erase == NULL)
			continue;
		ka_error_clear(&e);
		st = m->mod->source->erase(m, s->name, account, &e);
		if (st == KA_OK) {
			n++;
		} else if (st != KA_ERR_NOT_FOUND && first == KA_OK) {
			first = st;
			kai_error_copy(err, &e);
		}
	}
	*erased = n;
	return first;
}
