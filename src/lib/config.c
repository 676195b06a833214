/* config.c: read the configuration files (libconfig) into the service table. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

/* Services read from one layer (system, user, or an explicit path). */
struct layer {
	struct ka_service **v;
	size_t n;
	int user;
	enum kai_owner owner;
};

/* State of one kai_config_load call. */
struct loader {
	struct ka_ctx *ctx;
	ka_error *err;
	enum ka_status st;	/* KA_OK, KA_ERR_CONFIG or KA_ERR_NOMEM */
};

/* One stanza being read. */
struct stanza {
	struct loader *ld;
	struct ka_service *s;
	const char *file;
	unsigned nfail;
	int have_hosts, have_source;
};

/* Reason kept when even the reason could not be allocated. */
static char nomem_reason[] = "out of memory while reading the configuration";

static const char *const control_names[] = {
	[KA_CONTROL_REQUIRED] = "required",
	[KA_CONTROL_REQUISITE] = "requisite",
	[KA_CONTROL_SUFFICIENT] = "sufficient",
	[KA_CONTROL_OPTIONAL] = "optional",
};

/* ---- freeing ------------------------------------------------------------ */

static void arg_clear(struct kai_arg *a)
{
	free(a->name);
	if (a->str != NULL) {
		kai_wipe(a->str, strlen(a->str));	/* may be a client secret */
		free(a->str);
	}
	kai_strv_clear(&a->list);
}

void kai_mctx_free(struct ka_mctx *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nargs; i++)
		arg_clear(&m->args[i]);
	free(m->args);
	free(m->modname);
	free(m);
}

void kai_service_free(struct ka_service *s)
{
	if (s == NULL)
		return;
	kai_cache_clear(s);
	for (size_t i = 0; i < s->nsources; i++)
		kai_mctx_free(s->sources[i]);
	free(s->sources);
	kai_mctx_free(s->refresh);
	free(s->name);
	free(s->description);
	free(s->file);
	free(s->origin);
	if (s->error != nomem_reason)
		free(s->error);
	free(s->header);
	kai_strv_clear(&s->hosts);
	kai_strv_clear(&s->scopes);
	kai_br_destroy(&s->cache_lock);
	pthread_mutex_destroy(&s->flight_lock);
	free(s);
}

const struct kai_arg *kai_mctx_arg(const struct ka_mctx *m, const char *name)
{
	for (size_t i = 0; m != NULL && i < m->nargs; i++)
		if (strcmp(m->args[i].name, name) == 0)
			return &m->args[i];
	return NULL;
}

/* ---- diagnostics -------------------------------------------------------- */

static char *vformat(const char *fmt, va_list ap) KAI_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

void kai_service_fail(struct ka_ctx *ctx, struct ka_service *s,
		      const char *file, int line, const char *fmt, ...)
{
	char *msg, *full = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (file == NULL)
		file = s != NULL && s->file != NULL ? s->file : "(config)";
	if (msg != NULL && line > 0)
		full = kai_asprintf("%s:%d: %s", file, line, msg);
	else if (msg != NULL)
		full = kai_asprintf("%s: %s", file, msg);
	free(msg);
	kai_diag(ctx, "%s", full != NULL ? full : nomem_reason);
	if (s != NULL && s->error == NULL) {
		s->error = full != NULL ? full : nomem_reason;
		full = NULL;
	}
	free(full);
}

static void nomem(struct loader *ld)
{
	ld->st = KA_ERR_NOMEM;
	kai_error_set(ld->err, KA_ERR_NOMEM, "out of memory");
}

/* A file-level problem: diagnostic, and the load fails with KA_ERR_CONFIG. */
static void file_fail(struct loader *ld, const char *fmt, ...) KAI_PRINTF(2, 3);
static void file_fail(struct loader *ld, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (msg == NULL || kai_diag(ld->ctx, "%s", msg) != KA_OK) {
		free(msg);
		nomem(ld);
		return;
	}
	kai_error_set(ld->err, KA_ERR_CONFIG, "%s", msg);
	if (ld->st == KA_OK)
		ld->st = KA_ERR_CONFIG;
	free(msg);
}

/* A stanza-level problem at setting c: disables the service. */
static void sfail(struct stanza *st, const config_setting_t *c,
		  const char *fmt, ...) KAI_PRINTF(3, 4);
static void sfail(struct stanza *st, const config_setting_t *c,
		  const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	kai_service_fail(st->ld->ctx, st->s, st->file,
			 (int)config_setting_source_line(c), "%s",
			 msg != NULL ? msg : nomem_reason);
	free(msg);
	st->nfail++;
}

/* ---- value checks ------------------------------------------------------- */

static int is_seq(const config_setting_t *c)
{
	int t = config_setting_type(c);

	return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
}

/* The i-th element of an array or list if it is a string, else NULL. */
static const char *elem_string(const config_setting_t *c, int i)
{
	const config_setting_t *e = config_setting_get_elem(c, (unsigned)i);

	if (e == NULL || config_setting_type(e) != CONFIG_TYPE_STRING)
		return NULL;
	return config_setting_get_string(e);
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A DNS name: labels of letters, digits and '-', at least nlabels of them. */
static int dns_name_ok(const char *h, size_t len, int nlabels)
{
	size_t label = 0;
	int labels = 1;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
		} else if (is_alnum(h[i]) || (h[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && h[len - 1] != '-' && labels >= nlabels;
}

static int ipv6_literal_ok(const char *h, size_t len)
{
	if (len < 4 || h[0] != '[' || h[len - 1] != ']')
		return 0;
	for (size_t i = 1; i + 1 < len; i++)
		if (!strchr("0123456789abcdefABCDEF:.", h[i]))
			return 0;
	return 1;
}

static int port_ok(const char *p)
{
	long v = 0;

	if (strcmp(p, "*") == 0)
		return 1;
	if (*p == '\0' || strlen(p) > 5)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535;
}

static int is_loopback(const char *h, size_t len)
{
	static const char *const names[] = { "127.0.0.1", "[::1]", "localhost" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(h, names[i], len) == 0)
			return 1;
	return 0;
}

/* Check a host pattern "https://HOST[:PORT]"; NULL if fine, else why not.
 * The value itself is never echoed. */
static const char *host_problem(const char *v)
{
	int http = strncasecmp(v, "http://", 7) == 0;
	const char *h, *end, *port;
	size_t len;

	if (!http && strncasecmp(v, "https://", 8) != 0)
		return "must start with https:// (or http:// for a loopback host)";
	h = v + (http ? 7 : 8);
	end = h[0] == '[' ? strchr(h, ']') : h + strcspn(h, ":/?#@");
	if (end == NULL)
		return "has an unterminated [IPv6] literal";
	if (h[0] == '[')
		end++;
	len = (size_t)(end - h);
	port = *end == ':' ? end + 1 : NULL;
	if (*end != '\0' && port == NULL)
		return "must be scheme://host[:port], without user, path or query";
	if (port != NULL && !port_ok(port))
		return "has a bad port: use 1-65535, or * for any port";
	if (h[0] == '[' ? !ipv6_literal_ok(h, len)
	    : strncmp(h, "*.", 2) == 0 ? !dns_name_ok(h + 2, len - 2, 2)
	    : !dns_name_ok(h, len, 1))
		return "has a bad host name: letters, digits, '-' and '.', "
		       "optionally starting with '*.' followed by at least two labels";
	if (http && !is_loopback(h, len))
		return "uses http:// for a host that is not loopback (127.0.0.1, "
		       "[::1], localhost); use https://";
	return NULL;
}

/* RFC 9110 token characters of a header name. */
static int is_tchar(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Check a header template; NULL if fine. The value is never echoed: a
 * person may have pasted a literal token into it. */
static const char *header_problem(const char *v)
{
	const char *colon = strchr(v, ':'), *pct;

	if (kai_has_ctl(v))
		return "must not contain control characters (CR, LF, tab, ...)";
	if (colon == NULL || colon == v)
		return "must look like \"Name: value %s\"";
	for (const char *p = v; p < colon; p++)
		if (!is_tchar(*p) || *p == '%')
			return "must look like \"Name: value %s\" (bad header name)";
	pct = strchr(colon, '%');
	if (pct == NULL || pct[1] != 's' || strchr(pct + 1, '%') != NULL)
		return "must contain exactly one %s (where the token goes) and "
		       "no other %";
	return NULL;
}

static int scope_ok(const char *v)
{
	if (*v == '\0' || kai_has_ctl(v))
		return 0;
	for (; *v; v++)
		if (*v == ' ')
			return 0;
	return 1;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* ---- module entries ----------------------------------------------------- */

static int add_arg(struct stanza *st, struct ka_mctx *m,
		   const config_setting_t *c)
{
	struct kai_arg *a, *v;
	int t = config_setting_type(c);

	if (t != CONFIG_TYPE_STRING && t != CONFIG_TYPE_INT &&
	    t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_BOOL && !is_seq(c)) {
		sfail(st, c, "'%s' must be a string, an integer, a boolean or "
		      "a list of strings", config_setting_name(c));
		return 0;
	}
	for (int i = 0; is_seq(c) && i < config_setting_length(c); i++) {
		if (elem_string(c, i) == NULL) {
			sfail(st, c, "'%s' must be a list of strings",
			      config_setting_name(c));
			return 0;
		}
	}
	v = realloc(m->args, (m->nargs + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	m->args = v;
	a = &v[m->nargs];
	memset(a, 0, sizeof(*a));
	m->nargs++;
	a->line = (int)config_setting_source_line(c);
	a->name = strdup(config_setting_name(c));
	if (a->name == NULL)
		return -1;
	switch (t) {
	case CONFIG_TYPE_STRING:
		a->type = KA_ARG_STRING;
		a->str = strdup(config_setting_get_string(c));
		return a->str != NULL ? 1 : -1;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		a->type = KA_ARG_INT;
		a->num = config_setting_get_int64(c);
		return 1;
	case CONFIG_TYPE_BOOL:
		a->type = KA_ARG_BOOL;
		a->flag = config_setting_get_bool(c);
		return 1;
	}
	a->type = KA_ARG_STRING_LIST;
	for (int i = 0; i < config_setting_length(c); i++)
		if (kai_strv_add(&a->list, elem_string(c, i)) != KA_OK)
			return -1;
	return 1;
}

static int parse_control(const config_setting_t *c, enum ka_control *out)
{
	const char *v;

	if (config_setting_type(c) != CONFIG_TYPE_STRING)
		return 0;
	v = config_setting_get_string(c);
	for (int i = KA_CONTROL_REQUIRED; i <= KA_CONTROL_OPTIONAL; i++) {
		if (strcmp(v, control_names[i]) == 0) {
			*out = (enum ka_control)i;
			return 1;
		}
	}
	return 0;
}

/* One key of a module entry; -1 on out of memory. */
static int mctx_key(struct stanza *st, struct ka_mctx *m,
		    const config_setting_t *c, const char *what)
{
	const char *name = config_setting_name(c);

	if (strcmp(name, "module") == 0) {
		if (config_setting_type(c) != CONFIG_TYPE_STRING ||
		    !kai_is_identifier(config_setting_get_string(c))) {
			sfail(st, c, "%s: 'module' must be a module name "
			      "(letters, digits, '-', '_')", what);
			return 0;
		}
		m->modname = strdup(config_setting_get_string(c));
		return m->modname != NULL ? 1 : -1;
	}
	if (strcmp(name, "control") == 0) {
		if (m->control == 0)
			sfail(st, c, "%s: 'control' applies only to source "
			      "entries", what);
		else if (!parse_control(c, &m->control))
			sfail(st, c, "%s: 'control' must be one of required, "
			      "requisite, sufficient, optional", what);
		return 0;
	}
	return add_arg(st, m, c) < 0 ? -1 : 0;
}

/* Read a module entry (group g). Returns NULL if it has problems (already
 * reported) or on out of memory (st->ld->st says which). */
static struct ka_mctx *read_mctx(struct stanza *st, const config_setting_t *g,
				 int source, const char *what)
{
	unsigned nfail = st->nfail;
	struct ka_mctx *m;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto oom;
	m->head.host = &kai_host;
	m->ctx = st->ld->ctx;
	m->svc = st->s;
	m->control = source ? KA_CONTROL_REQUIRED : 0;
	m->file = st->s->file;
	m->line = (int)config_setting_source_line(g);
	for (int i = 0; i < config_setting_length(g); i++)
		if (mctx_key(st, m, config_setting_get_elem(g, (unsigned)i),
			     what) < 0)
			goto oom;
	if (m->modname == NULL && st->nfail == nfail)
		sfail(st, g, "%s has no 'module' (e.g. module = \"file\";)", what);
	if (st->nfail == nfail)
		return m;
	kai_mctx_free(m);
	return NULL;
oom:
	kai_mctx_free(m);
	nomem(st->ld);
	return NULL;
}

/* ---- service keys ------------------------------------------------------- */

static void key_description(struct stanza *st, const config_setting_t *c)
{
	const char *v;

	if (config_setting_type(c) != CONFIG_TYPE_STRING ||
	    kai_has_ctl(v = config_setting_get_string(c))) {
		sfail(st, c, "'description' must be a string without control "
		      "characters");
		return;
	}
	free(st->s->description);
	if ((st->s->description = strdup(v)) == NULL)
		nomem(st->ld);
}

static void key_hosts(struct stanza *st, const config_setting_t *c)
{
	const char *v, *why;
	char *h;

	st->have_hosts = 1;
	if (!is_seq(c) || config_setting_length(c) == 0) {
		sfail(st, c, "'hosts' must be a non-empty list of strings, e.g. "
		      "hosts = [ \"https://api.example.com\" ];");
		return;
	}
	for (int i = 0; i < config_setting_length(c); i++) {
		const config_setting_t *e = config_setting_get_elem(c, (unsigned)i);

		if ((v = elem_string(c, i)) == NULL) {
			sfail(st, e, "hosts[%d] must be a string", i);
			continue;
		}
		if ((why = host_problem(v)) != NULL) {
			sfail(st, e, "hosts[%d] %s", i, why);
			continue;
		}
		if ((h = strdup(v)) == NULL) {
			nomem(st->ld);
			return;
		}
		lower(h);
		if (!kai_strv_contains(&st->s->hosts, h) &&
		    kai_strv_add(&st->s->hosts, h) != KA_OK)
			nomem(st->ld);
		free(h);
	}
}

static void key_scopes(struct stanza *st, const config_setting_t *c)
{
	const char *v;

	if (!is_seq(c)) {
		sfail(st, c, "'scopes' must be a list of strings, e.g. "
		      "scopes = [ \"api:read\" ];");
		return;
	}
	for (int i = 0; i < config_setting_length(c); i++) {
		if ((v = elem_string(c, i)) == NULL || !scope_ok(v)) {
			sfail(st, config_setting_get_elem(c, (unsigned)i), "scopes[%d] must be a non-empty string "
			      "without spaces or control characters", i);
			continue;
		}
		if (!kai_strv_contains(&st->s->scopes, v) &&
		    kai_strv_add(&st->s->scopes, v) != KA_OK) {
			nomem(st->ld);
			return;
		}
	}
}

static void key_header(struct stanza *st, const config_setting_t *c)
{
	const char *why;

	if (config_setting_type(c) != CONFIG_TYPE_STRING) {
		sfail(st, c, "'header' must be a string such as "
		      "\"Authorization: Bearer %%s\"");
		return;
	}
	if ((why = header_problem(config_setting_get_string(c))) != NULL) {
		sfail(st, c, "'header' %s", why);
		return;
	}
	free(st->s->header);
	if ((st->s->header = strdup(config_setting_get_string(c))) == NULL)
		nomem(st->ld);
}

static void key_min_valid(struct stanza *st, const config_setting_t *c)
{
	long long v;

	if (config_setting_type(c) != CONFIG_TYPE_INT &&
	    config_setting_type(c) != CONFIG_TYPE_INT64) {
		sfail(st, c, "'min_valid' must be an integer (seconds)");
		return;
	}
	v = config_setting_get_int64(c);
	if (v < 0 || v > LONG_MAX)
		sfail(st, c, "'min_valid' must be 0 or more (seconds)");
	else
		st->s->min_valid = (long)v;
}

static void key_locked(struct stanza *st, const config_setting_t *c)
{
	if (config_setting_type(c) != CONFIG_TYPE_BOOL)
		sfail(st, c, "'locked' must be true or false");
	else
		st->s->locked = config_setting_get_bool(c);
}

static void key_source(struct stanza *st, const config_setting_t *c)
{
	struct ka_service *s = st->s;
	struct ka_mctx *m, **v;
	char what[32];

	st->have_source = 1;
	if (config_setting_type(c) != CONFIG_TYPE_LIST) {
		sfail(st, c, "'source' must be a list of module entries, e.g. "
		      "source = ( { module = \"file\"; } );");
		return;
	}
	if (config_setting_length(c) == 0) {
		sfail(st, c, "'source' must name at least one module");
		return;
	}
	for (int i = 0; i < config_setting_length(c); i++) {
		const config_setting_t *e = config_setting_get_elem(c, (unsigned)i);

		snprintf(what, sizeof(what), "source entry %d", i + 1);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			sfail(st, e, "%s must be a group { module = ...; }", what);
			continue;
		}
		if ((m = read_mctx(st, e, 1, what)) == NULL)
			continue;
		v = realloc(s->sources, (s->nsources + 1) * sizeof(*v));
		if (v == NULL) {
			kai_mctx_free(m);
			nomem(st->ld);
			return;
		}
		s->sources = v;
		s->sources[s->nsources++] = m;
	}
}

static void key_refresh(struct stanza *st, const config_setting_t *c)
{
	if (config_setting_type(c) != CONFIG_TYPE_GROUP) {
		sfail(st, c, "'refresh' must be a group, e.g. refresh = { "
		      "module = \"oauth2\"; ... };");
		return;
	}
	kai_mctx_free(st->s->refresh);
	st->s->refresh = read_mctx(st, c, 0, "refresh");
}

static const struct {
	const char *name;
	void (*fn)(struct stanza *st, const config_setting_t *c);
} service_keys[] = {
	{ "description", key_description },
	{ "hosts", key_hosts },
	{ "scopes", key_scopes },
	{ "header", key_header },
	{ "source", key_source },
	{ "refresh", key_refresh },
	{ "min_valid", key_min_valid },
	{ "locked", key_locked },
};

/* ---- stanzas and files -------------------------------------------------- */

static struct ka_service *service_new(const char *name, const char *file,
				      int line, int user)
{
	struct ka_service *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (kai_br_init(&s->cache_lock) != 0) {
		free(s);
		return NULL;
	}
	if (pthread_mutex_init(&s->flight_lock, NULL) != 0) {
		kai_br_destroy(&s->cache_lock);
		free(s);
		return NULL;
	}
	s->line = line;
	s->user = user;
	s->min_valid = KAI_MIN_VALID_DEFAULT;
	s->name = strdup(name);
	s->file = strdup(file);
	s->origin = kai_asprintf("%s:%d", file, line);
	s->header = strdup(KAI_HEADER_DEFAULT);
	if (!s->name || !s->file || !s->origin || !s->header) {
		kai_service_free(s);
		return NULL;
	}
	return s;
}

static struct ka_service *read_service(struct loader *ld, struct layer *ly,
				       const char *file,
				       const config_setting_t *g)
{
	struct stanza st = { .ld = ld, .file = file };
	size_t k, nkeys = sizeof(service_keys) / sizeof(service_keys[0]);

	st.s = service_new(config_setting_name(g), file,
			   (int)config_setting_source_line(g), ly->user);
	if (st.s == NULL) {
		nomem(ld);
		return NULL;
	}
	if (!kai_is_identifier(st.s->name))
		sfail(&st, g, "service name is not valid: use letters, digits, "
		      "'-' and '_', starting with a letter, at most 64 bytes");
	for (int i = 0; ld->st != KA_ERR_NOMEM &&
	     i < config_setting_length(g); i++) {
		const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);

		for (k = 0; k < nkeys; k++)
			if (strcmp(config_setting_name(c), service_keys[k].name) == 0)
				break;
		if (k < nkeys)
			service_keys[k].fn(&st, c);
		else
			sfail(&st, c, "unknown key '%s' (known: description, hosts, "
			      "scopes, header, source, refresh, min_valid, locked)",
			      config_setting_name(c));
	}
	if (!st.have_hosts)
		sfail(&st, g, "service '%s' has no 'hosts': list the origins that "
		      "may receive its token", st.s->name);
	if (!st.have_source)
		sfail(&st, g, "service '%s' has no 'source': list the modules that "
		      "hold its token", st.s->name);
	if (ld->st == KA_ERR_NOMEM) {
		kai_service_free(st.s);
		return NULL;
	}
	return st.s;
}

/* The administrator's audit settings bind users: a user's `global` may add
 * an audit file or turn syslog on where the system layer did not, never
 * replace or turn off what the system layer set. */
static void read_global(struct loader *ld, const char *file, int user,
			const config_setting_t *g)
{
	struct ka_ctx *ctx = ld->ctx;

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(c);
		int line = (int)config_setting_source_line(c);

		if (strcmp(name, "audit_file") == 0) {
			const char *v = config_setting_get_string(c);

			if (v == NULL || v[0] != '/' || kai_has_ctl(v)) {
				file_fail(ld, "%s:%d: 'audit_file' must be an "
					  "absolute path", file, line);
				continue;
			}
			if (user && ctx->audit_file != NULL)
				continue;
			free(ctx->audit_file);
			if ((ctx->audit_file = strdup(v)) == NULL) {
				nomem(ld);
				return;
			}
		} else if (strcmp(name, "audit_syslog") == 0) {
			if (config_setting_type(c) != CONFIG_TYPE_BOOL) {
				file_fail(ld, "%s:%d: 'audit_syslog' must be "
					  "true or false", file, line);
				continue;
			}
			if (!user || !ctx->audit_syslog)
				ctx->audit_syslog = config_setting_get_bool(c);
		} else {
			file_fail(ld, "%s:%d: unknown key '%s' in 'global' (known: "
				  "audit_file, audit_syslog)", file, line, name);
		}
	}
}

static enum ka_status layer_push(struct layer *ly, struct ka_service *s)
{
	struct ka_service **v = realloc(ly->v, (ly->n + 1) * sizeof(*v));

	if (v == NULL)
		return KA_ERR_NOMEM;
	ly->v = v;
	ly->v[ly->n++] = s;
	return KA_OK;
}

static struct ka_service *layer_find(const struct layer *ly, const char *name,
				     size_t *idx)
{
	for (size_t i = 0; i < ly->n; i++) {
		if (strcmp(ly->v[i]->name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return ly->v[i];
		}
	}
	return NULL;
}

static void layer_clear(struct layer *ly)
{
	for (size_t i = 0; i < ly->n; i++)
		kai_service_free(ly->v[i]);
	free(ly->v);
	ly->v = NULL;
	ly->n = 0;
}

/* Add a stanza to its layer; a second stanza of the same name disables
 * the service (nobody can tell which of the two was meant). */
static void layer_add(struct loader *ld, struct layer *ly, struct ka_service *s)
{
	struct ka_service *prev = layer_find(ly, s->name, NULL);

	if (prev != NULL) {
		kai_service_fail(ld->ctx, prev, s->file, s->line,
				 "duplicate service '%s' (first defined at %s); "
				 "the service is disabled until one stanza is "
				 "removed", s->name, prev->origin);
		kai_service_free(s);
		return;
	}
	if (layer_push(ly, s) != KA_OK) {
		kai_service_free(s);
		nomem(ld);
	}
}

static void read_top(struct loader *ld, struct layer *ly, const char *file,
		     const config_setting_t *c)
{
	const char *name = config_setting_name(c);
	int line = (int)config_setting_source_line(c);
	struct ka_service *s;

	if (config_setting_type(c) != CONFIG_TYPE_GROUP) {
		file_fail(ld, "%s:%d: top-level setting '%s' is not a service "
			  "stanza; write services as groups: %s = { ... };",
			  file, line, name, name);
		return;
	}
	if (strcmp(name, "global") == 0)
		read_global(ld, file, ly->user, c);
	else if ((s = read_service(ld, ly, file, c)) != NULL)
		layer_add(ld, ly, s);
}

/* Line of the first @include directive, or 0. libconfig would follow it
 * relative to the working directory, so it is refused before parsing. */
static int find_include(const char *buf)
{
	int line = 1;

	for (const char *p = buf; *p; line++) {
		p += strspn(p, " \t");
		if (strncasecmp(p, "@include", 8) == 0)
			return line;
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	return 0;
}

static void read_file(struct loader *ld, struct layer *ly, const char *path)
{
	char *buf = NULL;
	config_t cf;
	ka_error e;
	int line;

	ka_error_clear(&e);
	if (kai_read_checked(path, ly->owner, KAI_CONFIG_MAX, &buf, &e) != KA_OK) {
		if (e.text[0] == '\0')
			nomem(ld);
		else
			file_fail(ld, "%s", e.text);
		return;
	}
	config_init(&cf);
	if ((line = find_include(buf)) != 0)
		file_fail(ld, "%s:%d: @include is not supported; put each service "
			  "in its own file under services.d/", path, line);
	else if (!config_read_string(&cf, buf))
		file_fail(ld, "%s:%d: %s", path, config_error_line(&cf),
			  config_error_text(&cf));
	else
		for (int i = 0; ld->st != KA_ERR_NOMEM &&
		     i < config_setting_length(config_root_setting(&cf)); i++)
			read_top(ld, ly, path,
				 config_setting_get_elem(config_root_setting(&cf),
							 (unsigned)i));
	config_destroy(&cf);
	kai_wipe(buf, strlen(buf));
	free(buf);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_conf_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 5 && strcmp(n + len - 5, ".conf") == 0;
}

/* Names of DIR/services.d/NAME.conf in byte order, after checking the
 * directory itself. Missing is fine (empty list). */
static void list_services_d(struct loader *ld, const char *sd,
			    enum kai_owner owner, struct kai_strv *names)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd;

	fd = open(sd, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e != ENOENT && lstat(sd, &sb) == 0 && S_ISLNK(sb.st_mode))
			file_fail(ld, "%s: is a symbolic link; make it a real "
				  "directory", sd);
		else if (e != ENOENT)
			file_fail(ld, "%s: cannot open directory: %s", sd,
				  strerror(e));
		return;
	}
	if (fstat(fd, &sb) != 0 || (d = fdopendir(fd)) == NULL) {
		file_fail(ld, "%s: cannot read directory: %s", sd, strerror(errno));
		close(fd);
		return;
	}
	if (sb.st_uid != 0 && (owner == KAI_OWNER_ROOT || sb.st_uid != geteuid()))
		file_fail(ld, "%s: owned by uid %u, must be owned by %s", sd,
			  (unsigned)sb.st_uid,
			  owner == KAI_OWNER_ROOT ? "root" : "you or root");
	else if (sb.st_mode & (S_IWGRP | S_IWOTH))
		file_fail(ld, "%s: writable by group or others (mode %04o); run "
			  "'chmod go-w %s'", sd, (unsigned)(sb.st_mode & 07777), sd);
	else
		while ((de = readdir(d)) != NULL)
			if (is_conf_name(de->d_name) &&
			    kai_strv_add(names, de->d_name) != KA_OK)
				nomem(ld);
	closedir(d);
	if (names->n > 0)
		qsort(names->v, names->n, sizeof(names->v[0]), cmp_names);
}

/* DIR/kiwi-auth.conf (optional), then DIR/services.d/NAME.conf. */
static void read_dir(struct loader *ld, struct layer *ly, const char *dir)
{
	struct kai_strv names = { 0 };
	size_t len = strlen(dir);
	char *p = NULL, *sd = NULL;
	struct stat sb;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	p = kai_asprintf("%.*s/kiwi-auth.conf", (int)len, dir);
	sd = kai_asprintf("%.*s/services.d", (int)len, dir);
	if (p == NULL || sd == NULL) {
		nomem(ld);
		goto out;
	}
	if (lstat(p, &sb) == 0 || errno != ENOENT)
		read_file(ld, ly, p);
	list_services_d(ld, sd, ly->owner, &names);
	for (size_t i = 0; ld->st != KA_ERR_NOMEM && i < names.n; i++) {
		free(p);
		if ((p = kai_asprintf("%s/%s", sd, names.v[i])) == NULL) {
			nomem(ld);
			break;
		}
		read_file(ld, ly, p);
	}
out:
	kai_strv_clear(&names);
	free(p);
	free(sd);
}

/* User stanzas replace system stanzas of the same name, unless locked. */
static void merge(struct loader *ld, struct layer *sys, struct layer *usr)
{
	for (size_t i = 0; i < usr->n; i++) {
		struct ka_service *u = usr->v[i], *s;
		size_t at;

		usr->v[i] = NULL;
		if ((s = layer_find(sys, u->name, &at)) != NULL && s->locked) {
			kai_diag(ld->ctx, "%s:%d: service '%s' is locked by %s; "
				 "this stanza is ignored", u->file, u->line,
				 u->name, s->origin);
			kai_service_free(u);
		} else if (s != NULL) {
			kai_service_free(s);
			sys->v[at] = u;
		} else if (layer_push(sys, u) != KA_OK) {
			kai_service_free(u);
			nomem(ld);
		}
	}
	usr->n = 0;
}

/* A user stanza may not disable a locked system stanza by claiming its
 * scope: in that conflict only the user stanza fails. */
/* 1 if a, a locked system stanza, is protected from user stanza b. */
static int shields(const struct ka_service *a, const struct ka_service *b)
{
	return a->locked && !a->user && b->user;
}

/* A scope belongs to one service: two services granting it are both
 * disabled, each message naming the other. */
static void check_scopes(struct ka_ctx *ctx, struct layer *ly)
{
	for (size_t i = 0; i < ly->n; i++) {
		struct ka_service *a = ly->v[i];

		for (size_t j = i + 1; j < ly->n; j++) {
			struct ka_service *b = ly->v[j];

			for (size_t k = 0; k < a->scopes.n; k++) {
				const char *sc = a->scopes.v[k];

				if (!kai_strv_contains(&b->scopes, sc))
					continue;
				if (!shields(a, b))
					kai_service_fail(ctx, a, a->file, a->line,
							 "scope '%s' is also granted by service '%s' (%s)",
							 sc, b->name, b->origin);
				if (!shields(b, a))
					kai_service_fail(ctx, b, b->file, b->line,
							 "scope '%s' is also granted by service '%s' (%s)",
							 sc, a->name, a->origin);
			}
		}
	}
}

/* Merge, check scopes, and hand the services over to ctx. */
static enum ka_status finish(struct loader *ld, struct layer *sys,
			     struct layer *usr)
{
	struct ka_ctx *ctx = ld->ctx;
	struct ka_service **v;

	if (ld->st != KA_ERR_NOMEM)
		merge(ld, sys, usr);
	if (ld->st != KA_ERR_NOMEM)
		check_scopes(ctx, sys);
	if (ld->st != KA_ERR_NOMEM && sys->n > 0) {
		v = realloc(ctx->services,
			    (ctx->nservices + sys->n) * sizeof(*v));
		if (v == NULL) {
			nomem(ld);
		} else {
			ctx->services = v;
			memcpy(v + ctx->nservices, sys->v, sys->n * sizeof(*v));
			ctx->nservices += sys->n;
			sys->n = 0;
		}
	}
	layer_clear(sys);
	layer_clear(usr);
	return ld->st;
}

enum ka_status kai_config_load_layers(struct ka_ctx *ctx, const char *sysdir,
				      const char *userdir, ka_error *err)
{
	struct loader ld = { .ctx = ctx, .err = err, .st = KA_OK };
	struct layer sys = { .owner = KAI_OWNER_ROOT, .user = 0 };
	struct layer usr = { .owner = KAI_OWNER_USER, .user = 1 };

	if (sysdir != NULL)
		read_dir(&ld, &sys, sysdir);
	if (userdir != NULL && ld.st != KA_ERR_NOMEM)
		read_dir(&ld, &usr, userdir);
	return finish(&ld, &sys, &usr);
}

/* $XDG_CONFIG_HOME/kiwi-auth, else $HOME/.config/kiwi-auth, else NULL. */
static char *user_dir(void)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");

	if (x != NULL && x[0] == '/')
		return kai_asprintf("%s/kiwi-auth", x);
	if (h != NULL && h[0] == '/')
		return kai_asprintf("%s/.config/kiwi-auth", h);
	return NULL;
}

static enum ka_status load_explicit(struct ka_ctx *ctx, const char *path,
				    ka_error *err)
{
	struct loader ld = { .ctx = ctx, .err = err, .st = KA_OK };
	struct layer one = { .owner = KAI_OWNER_USER, .user = 0 };
	struct layer none = { .owner = KAI_OWNER_USER, .user = 1 };
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		read_dir(&ld, &one, path);
	else if (lstat(path, &sb) != 0)
		file_fail(&ld, "%s: cannot read the configuration: %s", path,
			  strerror(errno));
	else
		read_file(&ld, &one, path);
	return finish(&ld, &one, &none);
}

enum ka_status kai_config_load(struct ka_ctx *ctx, const char *path,
			       ka_error *err)
{
	const char *env = getenv("KIWI_AUTH_CONFIG");
	enum ka_status st;
	char *udir;

	if (path == NULL && env != NULL && *env != '\0')
		path = env;
	if (path != NULL)
		return load_explicit(ctx, path, err);
	udir = user_dir();
	st = kai_config_load_layers(ctx, KA_SYSCONFDIR, udir, err);
	free(udir);
	return st;
}
