/* SPDX-License-Identifier: MIT */
/* config.c: find and read the configuration files and layers, merge them, and hand the services to the context. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
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
	struct kai_index names;	/* name -> place in v, plus one */
	int user;
	enum kai_owner owner;
};

/* State of one kai_config_load call. */
struct loader {
	struct ka_ctx *ctx;
	ka_error *err;
	enum ka_status st;	/* KA_OK, KA_ERR_CONFIG or KA_ERR_NOMEM */
};

/* Reason kept when even the reason could not be allocated. */
static char nomem_reason[] = "out of memory while reading the configuration";

/* ---- services: freeing ------------------------------------------------- */

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
	kai_slots_free(s);
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
	for (size_t i = 0; i < s->nhostpat; i++)
		kai_hostpat_clear(&s->hostpat[i]);
	free(s->hostpat);
	kai_strv_clear(&s->hosts);
	kai_strv_clear(&s->scopes);
	kai_strv_clear(&s->exports);
	kai_strv_clear(&s->git_paths);
	free(s->default_account);
	free(s->chosen_account);
	kai_br_destroy(&s->cache_lock);
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

/* ---- files and layers --------------------------------------------------- */

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
	struct ka_service *s;

	s = service_new(config_setting_name(g), file,
			kai_setting_line(g), ly->user);
	if (s == NULL || kai_stanza_read(ld->ctx, s, g) != KA_OK) {
		kai_service_free(s);
		nomem(ld);
		return NULL;
	}
	return s;
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
		int line = kai_setting_line(c);

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

/* The index of a layer holds places plus one, so that 0 is "absent". */
static void *place(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

/* Append s (its name not in the layer yet). */
static enum ka_status layer_push(struct layer *ly, struct ka_service *s)
{
	struct ka_service **v;
	void *old;

	if (ly->n % 64 == 0) {
		if ((v = realloc(ly->v, (ly->n + 64) * sizeof(*v))) == NULL)
			return KA_ERR_NOMEM;
		ly->v = v;
	}
	if (kai_index_put(&ly->names, s->name, place(ly->n), &old) != KA_OK)
		return KA_ERR_NOMEM;
	ly->v[ly->n++] = s;
	return KA_OK;
}

static struct ka_service *layer_find(const struct layer *ly, const char *name,
				     size_t *idx)
{
	uintptr_t at = (uintptr_t)kai_index_get(&ly->names, name, strlen(name));

	if (at == 0)
		return NULL;
	if (idx != NULL)
		*idx = at - 1;
	return ly->v[at - 1];
}

/* Put s in place of the stanza of the same name at i. */
static void layer_replace(struct layer *ly, size_t i, struct ka_service *s)
{
	/* The index holds the old stanza's name: re-key it before that
	 * name is freed. */
	kai_index_set(&ly->names, s->name, place(i));
	kai_service_free(ly->v[i]);
	ly->v[i] = s;
}

static void layer_clear(struct layer *ly)
{
	for (size_t i = 0; i < ly->n; i++)
		kai_service_free(ly->v[i]);
	free(ly->v);
	kai_index_free(&ly->names);
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
	int line = kai_setting_line(c);
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

/* libconfig parses a piece of a file of about this size at a time
 * (confsplit.c says why). */
#define CONFIG_PIECE (16 * 1024)

/* One piece of a file, parsed by libconfig, and the number of lines
 * before it; each is allocated on its own, since libconfig's settings
 * point back at their config_t and the root's hook at the offset. */
struct piece {
	config_t cf;
	int lines_before;
};

/* The pieces of one file. */
struct pieces {
	struct piece **v;
	size_t n;
};

static void pieces_free(struct pieces *pc)
{
	for (size_t i = 0; i < pc->n; i++) {
		config_destroy(&pc->v[i]->cf);
		free(pc->v[i]);
	}
	free(pc->v);
	pc->v = NULL;
	pc->n = 0;
}

int kai_setting_line(const config_setting_t *c)
{
	const config_setting_t *root = c;
	const struct piece *p;

	while (root->parent != NULL)
		root = root->parent;
	p = config_setting_get_hook(root);
	return (int)config_setting_source_line(c) +
	       (p != NULL ? p->lines_before : 0);
}

/* Parse buf[0..len) piece by piece; each piece's root setting knows how
 * many lines came before it (kai_setting_line adds them). 0, or the
 * first failing piece's line in the file (its message in *why), or -1
 * when out of memory. */
static int parse_pieces(char *buf, size_t len, struct pieces *pc,
			const char **why)
{
	size_t from = 0;
	int lines = 0, rc = 0;

	while (rc == 0 && from < len) {
		size_t to = kai_conf_cut(buf, len, from, CONFIG_PIECE);
		struct piece **v, *p;
		char keep = buf[to];

		if ((v = realloc(pc->v, (pc->n + 1) * sizeof(*v))) == NULL ||
		    (p = calloc(1, sizeof(*p))) == NULL) {
			if (v != NULL)
				pc->v = v;
			return -1;
		}
		pc->v = v;
		pc->v[pc->n++] = p;
		p->lines_before = lines;
		config_init(&p->cf);
		buf[to] = '\0';	/* the piece alone, in place */
		if (!config_read_string(&p->cf, buf + from)) {
			*why = config_error_text(&p->cf);
			rc = config_error_line(&p->cf);
			rc = lines + (rc > 0 ? rc : 1);
		} else {
			config_setting_set_hook(config_root_setting(&p->cf), p);
		}
		buf[to] = keep;
		for (size_t i = from; i < to; i++)
			lines += buf[i] == '\n';
		from = to;
	}
	return rc;
}

static void read_file(struct loader *ld, struct layer *ly, const char *path)
{
	struct pieces pc = { 0 };
	const char *why = NULL;
	char *buf = NULL;
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
	if ((line = find_include(buf)) != 0)
		file_fail(ld, "%s:%d: @include is not supported; put each service "
			  "in its own file under services.d/", path, line);
	else if ((line = parse_pieces(buf, strlen(buf), &pc, &why)) < 0)
		nomem(ld);
	else if (line > 0)
		file_fail(ld, "%s:%d: %s", path, line, why);
	/* A file that does not parse gives no service at all. */
	for (size_t k = 0; line == 0 && k < pc.n; k++) {
		const config_setting_t *root = config_root_setting(&pc.v[k]->cf);

		for (int i = 0; ld->st != KA_ERR_NOMEM &&
		     i < config_setting_length(root); i++)
			read_top(ld, ly, path,
				 config_setting_get_elem(root, (unsigned)i));
	}
	pieces_free(&pc);
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
			layer_replace(sys, at, u);
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

/* Two services grant scope sc: each is disabled unless it is a locked
 * system stanza shielded from a user stanza. *keep gets the one the scope
 * stays with, or NULL when both were disabled. */
static void scope_clash(struct ka_ctx *ctx, struct ka_service *a,
			struct ka_service *b, const char *sc,
			struct ka_service **keep)
{
	*keep = NULL;
	if (!shields(a, b))
		kai_service_fail(ctx, a, a->file, a->line, "scope '%s' is also "
				 "granted by service '%s' (%s)", sc, b->name,
				 b->origin);
	else
		*keep = a;
	if (!shields(b, a))
		kai_service_fail(ctx, b, b->file, b->line, "scope '%s' is also "
				 "granted by service '%s' (%s)", sc, a->name,
				 a->origin);
	else
		*keep = b;
}

/* The indexes of ctx, in one pass over its services: by name, and by
 * scope. A scope belongs to one service: when two grant it, both are
 * disabled (each message naming the other) and the scope is kept in
 * scope_clash with the second, so that a request for it names both. */
static enum ka_status index_services(struct ka_ctx *ctx)
{
	void *old;

	if (kai_index_init(&ctx->by_name, ctx->nservices) != KA_OK ||
	    kai_index_init(&ctx->by_scope, ctx->nservices * 2) != KA_OK)
		return KA_ERR_NOMEM;
	for (size_t i = 0; i < ctx->nservices; i++) {
		struct ka_service *s = ctx->services[i], *keep;

		if (kai_index_put(&ctx->by_name, s->name, s, &old) != KA_OK)
			return KA_ERR_NOMEM;
		for (size_t k = 0; k < s->scopes.n; k++) {
			const char *sc = s->scopes.v[k];

			if (kai_index_put(&ctx->by_scope, sc, s, &old) != KA_OK)
				return KA_ERR_NOMEM;
			if (old == NULL)
				continue;
			scope_clash(ctx, old, s, sc, &keep);
			if (keep != NULL)
				kai_index_set(&ctx->by_scope, sc, keep);
			else if (kai_index_put(&ctx->scope_clash, sc, s, &old) !=
				 KA_OK)
				return KA_ERR_NOMEM;
		}
	}
	return KA_OK;
}

/* Merge, check scopes, and hand the services over to ctx. */
static enum ka_status finish(struct loader *ld, struct layer *sys,
			     struct layer *usr)
{
	struct ka_ctx *ctx = ld->ctx;
	struct ka_service **v;

	if (ld->st != KA_ERR_NOMEM)
		merge(ld, sys, usr);
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
	if (ld->st != KA_ERR_NOMEM && index_services(ctx) != KA_OK)
		nomem(ld);
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

char *kai_config_user_dir(void)
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
	udir = kai_config_user_dir();
	st = kai_config_load_layers(ctx, KA_SYSCONFDIR, udir, err);
	free(udir);
	return st;
}
