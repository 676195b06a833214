/* SPDX-License-Identifier: MIT */
/* keyring.c: source module keeping token records in the Secret Service. */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include <libsecret/secret.h>

#include "kiwiauth-module.h"
#include "keyring-schema.h"

#define KR_TIMEOUT_DEFAULT 2000
#define KR_TIMEOUT_MAX 600000
#define KR_LOG_DEBUG 7

/* Items carry our own schema (keyring-schema.h). */
#define kr_schema kiwiauth_keyring_schema

#define KR_MSG_LOCKED "keyring is locked: unlock it (e.g. log in to the " \
	"desktop session, or run gnome-keyring-daemon --unlock)"
#define KR_MSG_NO_SERVICE "keyring unavailable: no Secret Service on the " \
	"session bus (start gnome-keyring-daemon --components=secrets, or " \
	"use another source)"

struct kr {
	const char *collection;	/* SECRET_COLLECTION_DEFAULT or _SESSION */
	long timeout_ms;
};

/* One bounded call: a cancellable that a timer cancels after timeout_ms.
 * The timers run on a private main context in a thread of their own, so
 * they fire while the calling thread sits inside a libsecret sync call. */
struct kr_call {
	GCancellable *cancel;
	GSource *timer;
	long timeout_ms;
};

static GMainContext *kr_timer_ctx;

static gpointer kr_timer_main(gpointer data)
{
	GMainLoop *loop = g_main_loop_new(data, FALSE);

	g_main_context_push_thread_default(data);
	g_main_loop_run(loop);	/* runs for the life of the process */
	return NULL;
}

static gpointer kr_timer_start(gpointer unused)
{
	GThread *t;

	(void)unused;
	kr_timer_ctx = g_main_context_new();
	t = g_thread_try_new("ka-keyring-timer", kr_timer_main, kr_timer_ctx,
			     NULL);
	if (t == NULL)
		return NULL;
	g_thread_unref(t);
	return kr_timer_ctx;
}

static gboolean kr_timer_fire(gpointer data)
{
	g_cancellable_cancel(data);
	return G_SOURCE_REMOVE;
}

static int kr_call_begin(struct kr_call *call, const struct kr *kr)
{
	static GOnce once = G_ONCE_INIT;
	GMainContext *tctx = g_once(&once, kr_timer_start, NULL);

	memset(call, 0, sizeof(*call));
	if (tctx == NULL)
		return -1;
	call->timeout_ms = kr->timeout_ms;
	call->cancel = g_cancellable_new();
	call->timer = g_timeout_source_new((guint)kr->timeout_ms);
	g_source_set_callback(call->timer, kr_timer_fire,
			      g_object_ref(call->cancel), g_object_unref);
	g_source_attach(call->timer, tctx);
	return 0;
}

/* Returns 1 if the timer fired. */
static int kr_call_end(struct kr_call *call)
{
	int fired = 0;

	if (call->timer != NULL) {
		g_source_destroy(call->timer);
		g_source_unref(call->timer);
	}
	if (call->cancel != NULL) {
		fired = g_cancellable_is_cancelled(call->cancel);
		g_object_unref(call->cancel);
	}
	memset(call, 0, sizeof(*call));
	return fired;
}

/* ---- errors -------------------------------------------------------------- */

static int kr_is_no_bus(const GError *e)
{
	return e->domain == G_IO_ERROR && e->code != G_IO_ERROR_CANCELLED;
}

static int kr_is_no_service(const GError *e)
{
	if (e->domain != G_DBUS_ERROR)
		return 0;
	switch (e->code) {
	case G_DBUS_ERROR_SERVICE_UNKNOWN:
	case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
	case G_DBUS_ERROR_NO_SERVER:
	case G_DBUS_ERROR_DISCONNECTED:
	case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
	case G_DBUS_ERROR_SPAWN_FORK_FAILED:
	case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
	case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
	case G_DBUS_ERROR_SPAWN_FAILED:
	case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
	case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
	case G_DBUS_ERROR_SPAWN_NO_MEMORY:
		return 1;
	default:
		return 0;
	}
}

/* A daemon's error text never legitimately holds our secret; if it ever
 * did (an echo of the request), withhold it rather than pass it on. */
static const char *kr_detail(const GError *e, const char *secret1,
			     const char *secret2)
{
	if ((secret1 != NULL && *secret1 != '\0' &&
	     strstr(e->message, secret1) != NULL) ||
	    (secret2 != NULL && *secret2 != '\0' &&
	     strstr(e->message, secret2) != NULL))
		return "(details withheld)";
	return e->message;
}

static enum ka_status kr_fail(const struct ka_host *h, const struct kr *kr,
			      int fired, const GError *e, const char *op,
			      const struct ka_record *r, ka_error *err)
{
	const char *s1 = r != NULL ? h->record_access_token(r) : NULL;
	const char *s2 = r != NULL ? h->record_refresh_token(r) : NULL;

	if (fired || (e != NULL && g_error_matches(e, G_IO_ERROR,
						   G_IO_ERROR_CANCELLED))) {
		h->error(err, KA_ERR_TIMEOUT, "keyring did not answer within "
			 "%ld ms (is the Secret Service daemon stopped or "
			 "stuck?)%s", kr->timeout_ms, r == NULL ? "" :
			 "; the record may still have been stored");
		return KA_ERR_TIMEOUT;
	}
	if (e == NULL) {
		h->error(err, KA_ERR_UNAVAILABLE, "keyring unavailable: %s "
			 "failed without a reason", op);
	} else if (g_error_matches(e, SECRET_ERROR, SECRET_ERROR_IS_LOCKED)) {
		h->error(err, KA_ERR_UNAVAILABLE, "%s", KR_MSG_LOCKED);
	} else if (kr_is_no_bus(e)) {
		h->error(err, KA_ERR_UNAVAILABLE, "keyring unavailable: cannot "
			 "reach the D-Bus session bus (%s); run in a desktop "
			 "session, or under dbus-run-session with "
			 "gnome-keyring-daemon --components=secrets, or use "
			 "another source", kr_detail(e, s1, s2));
	} else if (kr_is_no_service(e)) {
		h->error(err, KA_ERR_UNAVAILABLE, "%s", KR_MSG_NO_SERVICE);
	} else if (g_error_matches(e, G_DBUS_ERROR,
				   G_DBUS_ERROR_UNKNOWN_OBJECT)) {
		h->error(err, KA_ERR_UNAVAILABLE, "keyring unavailable: the "
			 "Secret Service has no '%s' collection (unlock the "
			 "login keyring, e.g. gnome-keyring-daemon --unlock, or "
			 "set collection = \"session\")", kr->collection);
	} else {
		h->error(err, KA_ERR_UNAVAILABLE, "keyring unavailable: %s "
			 "failed: %s", op, kr_detail(e, s1, s2));
	}
	return KA_ERR_UNAVAILABLE;
}

/* After a lookup or clear that found nothing: a locked collection looks
 * exactly like an empty one to libsecret, so ask the collection itself.
 * Returns KA_OK (unlocked or absent), or the failure already set. */
static enum ka_status kr_check_unlocked(const struct ka_host *h,
					const struct kr *kr,
					struct kr_call *call, ka_error *err)
{
	SecretService *svc = NULL;
	SecretCollection *col = NULL;
	GError *e = NULL;
	enum ka_status st = KA_OK;

	svc = secret_service_get_sync(SECRET_SERVICE_NONE, call->cancel, &e);
	if (svc != NULL)
		col = secret_collection_for_alias_sync(svc, kr->collection,
						       SECRET_COLLECTION_NONE,
						       call->cancel, &e);
	if (e != NULL) {
		st = kr_fail(h, kr, g_cancellable_is_cancelled(call->cancel),
			     e, "reading the collection", NULL, err);
		goto out;
	}
	if (col != NULL && secret_collection_get_locked(col)) {
		h->error(err, KA_ERR_UNAVAILABLE, "%s", KR_MSG_LOCKED);
		st = KA_ERR_UNAVAILABLE;
	}
out:
	g_clear_error(&e);
	if (col != NULL)
		g_object_unref(col);
	if (svc != NULL)
		g_object_unref(svc);
	return st;
}

/* ---- operations ---------------------------------------------------------- */

static GHashTable *kr_attrs(const char *service, const char *account)
{
	GHashTable *a = g_hash_table_new(g_str_hash, g_str_equal);

	g_hash_table_insert(a, (gpointer)"service", (gpointer)service);
	if (account != NULL)
		g_hash_table_insert(a, (gpointer)"account", (gpointer)account);
	return a;
}

static const char *kr_account(const char *account)
{
	return account != NULL ? account : KA_ACCOUNT_DEFAULT;
}

static enum ka_status kr_begin(const struct ka_host *h, const struct kr *kr,
			       struct kr_call *call, ka_error *err)
{
	if (kr_call_begin(call, kr) == 0)
		return KA_OK;
	h->error(err, KA_ERR_UNAVAILABLE, "keyring unavailable: cannot start "
		 "the timeout thread");
	return KA_ERR_UNAVAILABLE;
}

static enum ka_status kr_load(struct ka_mctx *m, const char *service,
			      const char *account, struct ka_record **out,
			      ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct kr *kr = h->data(m);
	struct ka_record *r = NULL;
	SecretValue *v = NULL;
	GHashTable *attrs = NULL;
	GError *e = NULL;
	struct kr_call call;
	const gchar *buf;
	gsize len = 0;
	enum ka_status st;
	int fired;

	*out = NULL;
	account = kr_account(account);
	if ((st = kr_begin(h, kr, &call, err)) != KA_OK)
		return st;
	attrs = kr_attrs(service, account);
	v = secret_password_lookupv_binary_sync(&kr_schema, attrs, call.cancel,
						&e);
	if (v == NULL && e == NULL) {
		st = kr_check_unlocked(h, kr, &call, err);
		if (st == KA_OK) {
			h->error(err, KA_ERR_NOT_FOUND, "no record for %s (%s) "
				 "in the keyring", service, account);
			st = KA_ERR_NOT_FOUND;
		}
		kr_call_end(&call);
		goto out;
	}
	fired = kr_call_end(&call);
	if (v == NULL) {
		st = kr_fail(h, kr, fired, e, "lookup", NULL, err);
		goto out;
	}
	buf = secret_value_get(v, &len);
	if (len > KA_RECORD_MAX_JSON) {
		h->error(err, KA_ERR_CORRUPT, "the keyring item of %s (%s) is "
			 "%zu bytes, more than a record can be", service,
			 account, (size_t)len);
		st = KA_ERR_CORRUPT;
		goto out;
	}
	if ((st = h->record_from_json(buf, len, &r, err)) != KA_OK)
		goto out;
	h->log(m, KR_LOG_DEBUG, "loaded %s (%s): %zu bytes", service, account,
	       (size_t)len);
	*out = r;
	r = NULL;
out:
	g_clear_error(&e);
	if (v != NULL)
		secret_value_unref(v);	/* libsecret wipes its secure memory */
	if (attrs != NULL)
		g_hash_table_unref(attrs);
	if (r != NULL)
		h->record_free(r);
	return st;
}

/* CreateItem with replace: the daemon swaps the secret of the matching
 * item in one step, so a reader sees the old record or the new one. */
static enum ka_status kr_store(struct ka_mctx *m, const char *service,
			       const char *account, const struct ka_record *r,
			       ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct kr *kr = h->data(m);
	GHashTable *attrs = NULL;
	SecretValue *v = NULL;
	GError *e = NULL;
	struct kr_call call;
	char *json = NULL, *label = NULL;
	size_t len = 0;
	enum ka_status st;
	int fired;

	account = kr_account(account);
	if ((st = h->record_to_json(r, &json, &len)) != KA_OK) {
		h->error(err, st, "cannot serialise the record of %s (%s)",
			 service, account);
		return st;
	}
	v = secret_value_new(json, (gssize)len, "application/json");
	h->secure_free(json);	/* libsecret copied it into secure memory */
	json = NULL;
	label = g_strdup_printf("kiwi-auth: %s (%s)", service, account);
	attrs = kr_attrs(service, account);
	if ((st = kr_begin(h, kr, &call, err)) != KA_OK)
		goto out;
	if (!secret_password_storev_binary_sync(&kr_schema, attrs,
						kr->collection, label, v,
						call.cancel, &e)) {
		fired = kr_call_end(&call);
		st = kr_fail(h, kr, fired, e, "store", r, err);
		goto out;
	}
	kr_call_end(&call);
	h->log(m, KR_LOG_DEBUG, "stored %s (%s) in the %s collection: %zu "
	       "bytes", service, account, kr->collection, len);
	st = KA_OK;
out:
	g_clear_error(&e);
	secret_value_unref(v);
	g_hash_table_unref(attrs);
	g_free(label);
	return st;
}

static enum ka_status kr_erase(struct ka_mctx *m, const char *service,
			       const char *account, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct kr *kr = h->data(m);
	GHashTable *attrs;
	GError *e = NULL;
	struct kr_call call;
	enum ka_status st;
	gboolean gone;
	int fired;

	account = kr_account(account);
	if ((st = kr_begin(h, kr, &call, err)) != KA_OK)
		return st;
	attrs = kr_attrs(service, account);
	gone = secret_password_clearv_sync(&kr_schema, attrs, call.cancel, &e);
	if (e != NULL) {
		fired = kr_call_end(&call);
		st = kr_fail(h, kr, fired, e, "erase", NULL, err);
	} else if (!gone) {
		/* Nothing erased: in a locked collection the item may still
		 * be there; never report a logout that did not happen. */
		st = kr_check_unlocked(h, kr, &call, err);
		kr_call_end(&call);
		if (st == KA_OK)
			st = KA_ERR_NOT_FOUND;	/* a status, not an error */
	} else {
		kr_call_end(&call);
		h->log(m, KR_LOG_DEBUG, "erased %s (%s)", service, account);
	}
	g_clear_error(&e);
	g_hash_table_unref(attrs);
	return st;
}

/* Report each account once; items of a locked collection make the whole
 * listing fail (it would otherwise silently miss accounts). */
static enum ka_status kr_list_items(const struct ka_host *h, GList *items,
				    ka_list_fn fn, void *data, ka_error *err)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	enum ka_status st = KA_OK;

	for (GList *l = items; l != NULL; l = l->next) {
		GHashTable *a;
		const char *acct;

		if (secret_item_get_locked(l->data)) {
			h->error(err, KA_ERR_UNAVAILABLE, "%s", KR_MSG_LOCKED);
			st = KA_ERR_UNAVAILABLE;
			break;
		}
		a = secret_item_get_attributes(l->data);
		acct = a != NULL ? g_hash_table_lookup(a, "account") : NULL;
		if (acct != NULL && !g_hash_table_contains(seen, acct)) {
			g_hash_table_add(seen, g_strdup(acct));
			fn(acct, data);
		}
		if (a != NULL)
			g_hash_table_unref(a);
	}
	g_hash_table_unref(seen);
	return st;
}

static enum ka_status kr_list(struct ka_mctx *m, const char *service,
			      ka_list_fn fn, void *data, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct kr *kr = h->data(m);
	SecretService *svc = NULL;
	GHashTable *attrs;
	GList *items = NULL;
	GError *e = NULL;
	struct kr_call call;
	enum ka_status st;

	if ((st = kr_begin(h, kr, &call, err)) != KA_OK)
		return st;
	attrs = kr_attrs(service, NULL);
	svc = secret_service_get_sync(SECRET_SERVICE_NONE, call.cancel, &e);
	if (svc != NULL)
		items = secret_service_search_sync(svc, &kr_schema, attrs,
						   SECRET_SEARCH_ALL,
						   call.cancel, &e);
	if (e != NULL) {
		st = kr_fail(h, kr, kr_call_end(&call), e, "search", NULL,
			     err);
		goto out;
	}
	kr_call_end(&call);
	st = kr_list_items(h, items, fn, data, err);
out:
	g_list_free_full(items, g_object_unref);
	g_clear_error(&e);
	g_hash_table_unref(attrs);
	if (svc != NULL)
		g_object_unref(svc);
	return st;
}

/* ---- instance ------------------------------------------------------------ */

/* libsecret registers GObject types and keeps a D-Bus worker thread, and
 * our timer thread runs for the life of the process: neither survives an
 * unload, so keep this module (and libsecret with it) loaded. */
static void kr_pin(void)
{
	Dl_info info;

	if (dladdr((const void *)kr_pin, &info) != 0 &&
	    info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD |
			     RTLD_NODELETE);
}

static enum ka_status kr_init(struct ka_mctx *m, const struct ka_host *host,
			      ka_error *err)
{
	const char *coll = host->arg_string(m, "collection");
	long long ms = KR_TIMEOUT_DEFAULT;
	struct kr *kr;

	if (coll == NULL || strcmp(coll, "default") == 0) {
		coll = SECRET_COLLECTION_DEFAULT;
	} else if (strcmp(coll, "session") == 0) {
		coll = SECRET_COLLECTION_SESSION;
	} else {
		host->error(err, KA_ERR_CONFIG, "collection must be \"default\" "
			    "or \"session\", not \"%s\"", coll);
		return KA_ERR_CONFIG;
	}
	/* timeout_ms: the loader checked its range (see the table). */
	host->arg_int(m, "timeout_ms", &ms);
	kr = g_try_new0(struct kr, 1);
	if (kr == NULL) {
		host->error(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	kr->collection = coll;
	kr->timeout_ms = (long)ms;
	kr_pin();
	host->set_data(m, kr);
	return KA_OK;
}

static void kr_fini(struct ka_mctx *m, const struct ka_host *host)
{
	g_free(host->data(m));
	host->set_data(m, NULL);
}

static const struct ka_arg_spec kr_args[] = {
	{ "collection", KA_ARG_STRING, 0 },
	{ "timeout_ms", KA_ARG_INT, 0, 1, KR_TIMEOUT_MAX },
	{ NULL, 0, 0 },
};

static const struct ka_source_ops kr_ops = {
	.load = kr_load,
	.store = kr_store,
	.erase = kr_erase,
	.list = kr_list,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = "keyring",
	.description = "token records in the OS keychain (Secret Service)",
	.args = kr_args,
	.init = kr_init,
	.fini = kr_fini,
	.source = &kr_ops,
};
