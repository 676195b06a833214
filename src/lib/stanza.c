/* SPDX-License-Identifier: MIT */
/* stanza.c: read one service stanza (its keys, value checks, host patterns and module entries) into a service. */
#include "config.h"

#include <arpa/inet.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kai.h"

/* One stanza being read. */
struct stanza {
	struct ka_ctx *ctx;
	struct ka_service *s;
	unsigned nfail;
	int have_hosts, have_source;
	int oom;
};

static const char *const control_names[] = {
	[KA_CONTROL_REQUIRED] = "required",
	[KA_CONTROL_REQUISITE] = "requisite",
	[KA_CONTROL_SUFFICIENT] = "sufficient",
	[KA_CONTROL_OPTIONAL] = "optional",
};

/* A problem at setting c: disables the service. */
static void sfail(struct stanza *st, const config_setting_t *c,
		  const char *fmt, ...) KAI_PRINTF(3, 4);
static void sfail(struct stanza *st, const config_setting_t *c,
		  const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	kai_service_fail(st->ctx, st->s, st->s->file,
			 kai_setting_line(c), "%s",
			 msg != NULL ? msg : "out of memory while reading the "
			 "configuration");
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

/* ---- host names and patterns -------------------------------------------- */

int kai_host_name_ok(const char *h, size_t len, int *ip)
{
	size_t label = 0, last = 0, digits = 0;
	struct in_addr a4;
	char quad[16];
	int labels = 1;

	*ip = 0;
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			last = i + 1;
			digits = 0;
			labels++;
		} else if (is_alnum(h[i]) || h[i] == '_' ||
			   (h[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
			digits += h[i] >= '0' && h[i] <= '9';
		} else {
			return 0;
		}
	}
	if (label == 0 || h[len - 1] == '-')
		return 0;
	/* A numeric last label (or 0x...) is an IPv4 address or nothing. */
	if (digits != len - last &&
	    !(len - last >= 2 && h[last] == '0' && (h[last + 1] | 0x20) == 'x'))
		return labels;
	if (len >= sizeof(quad))
		return 0;
	memcpy(quad, h, len);
	quad[len] = '\0';
	if (inet_pton(AF_INET, quad, &a4) != 1)
		return 0;
	*ip = 1;
	return labels;
}

int kai_host_is_loopback(const char *host)
{
	static const char *const names[] = { "127.0.0.1", "[::1]", "localhost" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(host, names[i]) == 0)
			return 1;
	return 0;
}

/* "*", or a port 1-65535; *out gets 0 for "*". */
static int port_ok(const char *p, unsigned *out)
{
	unsigned long v = 0;

	if (strcmp(p, "*") == 0) {
		*out = 0;
		return 1;
	}
	if (*p == '\0' || strlen(p) > 5)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	*out = (unsigned)v;
	return v >= 1 && v <= 65535;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The host part h[0..len) of a pattern, lowercased into buf (KAI_HOST_MAX
 * bytes) in the form origin.c normalises request hosts to: a name, a
 * dotted quad, or an IPv6 literal in canonical form; for "*.domain" buf
 * gets ".domain" and *wild is set. 0 if it is none of these. */
static int pattern_host(const char *h, size_t len, char *buf, int *wild)
{
	struct in6_addr a6;
	char tmp[INET6_ADDRSTRLEN];
	int ip;

	*wild = 0;
	if (len == 0 || len >= KAI_HOST_MAX)
		return 0;
	memcpy(buf, h, len);
	buf[len] = '\0';
	lower(buf);
	if (buf[0] == '[') {
		if (len < 4 || buf[len - 1] != ']' || len - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, buf + 1, len - 2);
		tmp[len - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) != 1 ||
		    inet_ntop(AF_INET6, &a6, tmp, sizeof(tmp)) == NULL)
			return 0;
		snprintf(buf, KAI_HOST_MAX, "[%s]", tmp);
		return 1;
	}
	if (strncmp(buf, "*.", 2) == 0) {
		*wild = 1;
		memmove(buf, buf + 1, len);	/* ".domain" and its NUL */
		return kai_host_name_ok(buf + 1, len - 2, &ip) >= 2 && !ip;
	}
	return kai_host_name_ok(buf, len, &ip) >= 1;
}

static enum ka_status pattern_bad(const char **why, const char *text)
{
	*why = text;
	return KA_ERR_CONFIG;
}

enum ka_status kai_hostpat_parse(const char *v, struct kai_hostpat *out,
				 const char **why)
{
	int http = strncasecmp(v, "http://", 7) == 0;
	const char *h, *end, *port;
	char buf[KAI_HOST_MAX];
	unsigned pnum = 0;
	int wild;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!http && strncasecmp(v, "https://", 8) != 0)
		return pattern_bad(why, "must start with https:// (or http:// "
				   "for a loopback host)");
	h = v + (http ? 7 : 8);
	end = h[0] == '[' ? strchr(h, ']') : h + strcspn(h, ":/?#@");
	if (end == NULL)
		return pattern_bad(why, "has an unterminated [IPv6] literal");
	if (h[0] == '[')
		end++;
	port = *end == ':' ? end + 1 : NULL;
	if (*end != '\0' && port == NULL)
		return pattern_bad(why, "must be scheme://host[:port], without "
				   "user, path or query");
	if (port != NULL && !port_ok(port, &pnum))
		return pattern_bad(why, "has a bad port: use 1-65535, or * for "
				   "any port");
	if (!pattern_host(h, (size_t)(end - h), buf, &wild))
		return pattern_bad(why, "has a bad host name: letters, digits, "
				   "'-', '_' and '.', optionally starting with "
				   "'*.' followed by at least two labels");
	if (http && !kai_host_is_loopback(buf))
		return pattern_bad(why, "uses http:// for a host that is not "
				   "loopback (127.0.0.1, [::1], localhost); "
				   "use https://");
	if ((out->host = strdup(buf)) == NULL)
		return KA_ERR_NOMEM;
	out->hostlen = strlen(buf);
	out->wildcard = wild;
	snprintf(out->scheme, sizeof(out->scheme), "%s", http ? "http" : "https");
	out->port = port != NULL ? pnum : http ? 80 : 443;
	return KA_OK;
}

void kai_hostpat_clear(struct kai_hostpat *p)
{
	free(p->host);
	memset(p, 0, sizeof(*p));
}

/* ---- other values ------------------------------------------------------- */

/* Check a header template; NULL if fine. The value is never echoed: a
 * person may have pasted a literal token into it. */
static const char *header_problem(const char *v)
{
	const char *colon = strchr(v, ':'), *pct;
	size_t n = kai_header_name_len(v);

	if (kai_has_ctl(v))
		return "must not contain control characters (CR, LF, tab, ...)";
	if (colon == NULL || colon == v)
		return "must look like \"Name: value %s\"";
	if (v + n != colon || memchr(v, '%', n) != NULL)
		return "must look like \"Name: value %s\" (bad header name)";
	if (kai_header_routing(v) != NULL)
		return "must not name a header that decides where or how a "
		       "request goes (Host, Content-Length, ...)";
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
	a->line = kai_setting_line(c);
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
 * reported) or on out of memory (st->oom says which). */
static struct ka_mctx *read_mctx(struct stanza *st, const config_setting_t *g,
				 int source, const char *what)
{
	unsigned nfail = st->nfail;
	struct ka_mctx *m;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto oom;
	m->head.host = &kai_host;
	m->ctx = st->ctx;
	m->svc = st->s;
	m->control = source ? KA_CONTROL_REQUIRED : 0;
	m->file = st->s->file;
	m->line = kai_setting_line(g);
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
	st->oom = 1;
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
		st->oom = 1;
}

/* Keep pattern v, parsed into *p (taken over), unless the service has it. */
static void add_host(struct stanza *st, const char *v, struct kai_hostpat *p)
{
	struct ka_service *s = st->s;
	struct kai_hostpat *pv;
	char *h = strdup(v);

	if (h == NULL)
		goto oom;
	lower(h);
	if (kai_strv_contains(&s->hosts, h))
		goto out;
	pv = realloc(s->hostpat, (s->nhostpat + 1) * sizeof(*pv));
	if (pv == NULL)
		goto oom;
	s->hostpat = pv;
	if (kai_strv_add(&s->hosts, h) != KA_OK)
		goto oom;
	pv[s->nhostpat++] = *p;
	memset(p, 0, sizeof(*p));
	goto out;
oom:
	st->oom = 1;
out:
	kai_hostpat_clear(p);
	free(h);
}

static void key_hosts(struct stanza *st, const config_setting_t *c)
{
	struct kai_hostpat p;
	const char *v, *why;
	enum ka_status rc;

	st->have_hosts = 1;
	if (!is_seq(c) || config_setting_length(c) == 0) {
		sfail(st, c, "'hosts' must be a non-empty list of strings, e.g. "
		      "hosts = [ \"https://api.example.com\" ];");
		return;
	}
	for (int i = 0; !st->oom && i < config_setting_length(c); i++) {
		const config_setting_t *e = config_setting_get_elem(c, (unsigned)i);

		if ((v = elem_string(c, i)) == NULL) {
			sfail(st, e, "hosts[%d] must be a string", i);
			continue;
		}
		rc = kai_hostpat_parse(v, &p, &why);
		if (rc == KA_OK)
			add_host(st, v, &p);
		else if (rc == KA_ERR_NOMEM)
			st->oom = 1;
		else
			sfail(st, e, "hosts[%d] %s", i, why);
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
			st->oom = 1;
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
		st->oom = 1;
}

/* An integer number of seconds from lo to hi into *out. */
static void seconds_key(struct stanza *st, const config_setting_t *c,
			long long lo, long long hi, long *out)
{
	const char *name = config_setting_name(c);
	long long v;

	if (config_setting_type(c) != CONFIG_TYPE_INT &&
	    config_setting_type(c) != CONFIG_TYPE_INT64) {
		sfail(st, c, "'%s' must be an integer (seconds)", name);
		return;
	}
	v = config_setting_get_int64(c);
	if (v < lo || v > hi)
		sfail(st, c, "'%s' must be from %lld to %lld (seconds)", name,
		      lo, hi);
	else
		*out = (long)v;
}

static void key_min_valid(struct stanza *st, const config_setting_t *c)
{
	seconds_key(st, c, 0, INT32_MAX, &st->s->min_valid);
}

static void key_timeout(struct stanza *st, const config_setting_t *c)
{
	seconds_key(st, c, 1, 3600, &st->s->timeout);
}

static void key_locked(struct stanza *st, const config_setting_t *c)
{
	if (config_setting_type(c) != CONFIG_TYPE_BOOL)
		sfail(st, c, "'locked' must be true or false");
	else
		st->s->locked = config_setting_get_bool(c);
}

static void key_export(struct stanza *st, const config_setting_t *c)
{
	const char *v;

	if (!is_seq(c)) {
		sfail(st, c, "'export' must be a list of program names, e.g. "
		      "export = [ \"git\", \"kubectl\" ];");
		return;
	}
	st->s->export_line = kai_setting_line(c);
	for (int i = 0; i < config_setting_length(c); i++) {
		if ((v = elem_string(c, i)) == NULL ||
		    !kai_export_program_known(v)) {
			sfail(st, config_setting_get_elem(c, (unsigned)i),
			      "export[%d] must be one of the programs kiwi-auth "
			      "has a bridge for: %s", i, KAI_EXPORT_PROGRAMS);
			continue;
		}
		if (!kai_strv_contains(&st->s->exports, v) &&
		    kai_strv_add(&st->s->exports, v) != KA_OK) {
			st->oom = 1;
			return;
		}
	}
}

static void key_git_paths(struct stanza *st, const config_setting_t *c)
{
	const char *v;

	if (!is_seq(c) || config_setting_length(c) == 0) {
		sfail(st, c, "'git_paths' must be a non-empty list of repository "
		      "paths, e.g. git_paths = [ \"kiwi-org/\" ];");
		return;
	}
	for (int i = 0; i < config_setting_length(c); i++) {
		if ((v = elem_string(c, i)) == NULL || v[0] == '\0' ||
		    v[0] == '/' || kai_has_ctl(v) || strlen(v) > 1024) {
			sfail(st, config_setting_get_elem(c, (unsigned)i),
			      "git_paths[%d] must be a repository path such as "
			      "\"org/\" or \"org/repo.git\" (no leading '/', no "
			      "control characters)", i);
			continue;
		}
		if (!kai_strv_contains(&st->s->git_paths, v) &&
		    kai_strv_add(&st->s->git_paths, v) != KA_OK) {
			st->oom = 1;
			return;
		}
	}
}

static void key_default_account(struct stanza *st, const config_setting_t *c)
{
	const char *v;

	if (config_setting_type(c) != CONFIG_TYPE_STRING ||
	    (v = config_setting_get_string(c))[0] == '\0' ||
	    kai_has_ctl(v) || strlen(v) > 256) {
		sfail(st, c, "'default_account' must be an account name: 1 to "
		      "256 printable bytes");
		return;
	}
	free(st->s->default_account);
	if ((st->s->default_account = strdup(v)) == NULL)
		st->oom = 1;
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
			st->oom = 1;
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
	{ "timeout", key_timeout },
	{ "locked", key_locked },
	{ "export", key_export },
	{ "default_account", key_default_account },
	{ "git_paths", key_git_paths },
};


/* ---- the stanza --------------------------------------------------------- */

enum ka_status kai_stanza_read(struct ka_ctx *ctx, struct ka_service *s,
			       const config_setting_t *g)
{
	struct stanza st = { .ctx = ctx, .s = s };
	size_t k, nkeys = sizeof(service_keys) / sizeof(service_keys[0]);

	if (!kai_is_identifier(s->name))
		sfail(&st, g, "service name is not valid: use letters, digits, "
		      "'-' and '_', starting with a letter, at most 64 bytes");
	for (int i = 0; !st.oom && i < config_setting_length(g); i++) {
		const config_setting_t *c = config_setting_get_elem(g, (unsigned)i);

		for (k = 0; k < nkeys; k++)
			if (strcmp(config_setting_name(c), service_keys[k].name) == 0)
				break;
		if (k < nkeys)
			service_keys[k].fn(&st, c);
		else
			sfail(&st, c, "unknown key '%s' (known: description, hosts, "
			      "scopes, header, source, refresh, min_valid, timeout, "
			      "locked, export, default_account, git_paths)",
			      config_setting_name(c));
	}
	kai_service_header_split(s);
	if (!st.have_hosts)
		sfail(&st, g, "service '%s' has no 'hosts': list the origins that "
		      "may receive its token", s->name);
	if (!st.have_source)
		sfail(&st, g, "service '%s' has no 'source': list the modules that "
		      "hold its token", s->name);
	return st.oom ? KA_ERR_NOMEM : KA_OK;
}
