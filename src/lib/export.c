/* SPDX-License-Identifier: MIT */
/* export.c: the one way a token leaves the library other than inside a
 * request of its own: handed to a bridge (git, kubectl) that a service's
 * `export` names, through a writer the caller supplies, audited. Also the
 * account a bridge or a command uses when none is given: the user's
 * choice (a state file), the stanza's default_account, the only account. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

static const char *const programs[] = { "git", "kubectl" };

int kai_export_program_known(const char *name)
{
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (strcmp(name, programs[i]) == 0)
			return 1;
	return 0;
}

KAI_API int ka_service_allows_url(const struct ka_service *s, const char *url)
{
	struct kai_origin o;
	ka_error err;

	ka_error_clear(&err);
	if (s == NULL || url == NULL || s->error != NULL ||
	    kai_origin_parse(url, &o, NULL, &err) != KA_OK)
		return 0;
	return kai_origin_allowed(&o, s);
}

/* 1 if path is prefix, or under it: "org/" covers "org/repo.git", "org"
 * covers "org" and "org/repo.git" but not "organisation/x". */
static int path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) != 0)
		return 0;
	return prefix[n - 1] == '/' || path[n] == '\0' || path[n] == '/';
}

/* 1 if a path could mean another one on the server: a "." or ".."
 * segment, a percent escape, a backslash. */
static int path_tricky(const char *p)
{
	if (strchr(p, '%') != NULL || strchr(p, '\\') != NULL)
		return 1;
	for (const char *seg = p; *seg != '\0';) {
		size_t n = strcspn(seg, "/");

		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		seg += n;
		while (*seg == '/')
			seg++;
	}
	return 0;
}

KAI_API int ka_service_git_path_match(const struct ka_service *s,
				      const char *path)
{
	if (s->git_paths.n == 0)
		return -1;
	if (path == NULL || path_tricky(path))
		return 0;
	while (*path == '/')
		path++;
	for (size_t i = 0; i < s->git_paths.n; i++)
		if (path_under(path, s->git_paths.v[i]))
			return 1;
	return 0;
}

/* ---- the user's choice of account ------------------------------------- */

static int account_ok(const char *a)
{
	return a != NULL && a[0] != '\0' && !kai_has_ctl(a) && strlen(a) <= 256;
}

/* dir gets $state/accounts; file, when not NULL, dir/SERVICE (s may be
 * NULL when file is). */
static enum ka_status choice_path(const struct ka_service *s, char *dir,
				  size_t n, char *file, size_t fn,
				  ka_error *err)
{
	char state[4096];

	if (kai_state_dir(state, sizeof(state)) != 0 ||
	    snprintf(dir, n, "%s/accounts", state) >= (int)n ||
	    (file != NULL &&
	     snprintf(file, fn, "%s/%s", dir, s->name) >= (int)fn)) {
		kai_error_set(err, KA_ERR_UNAVAILABLE, "no state directory: set "
			      "HOME or XDG_STATE_HOME to an absolute path");
		return KA_ERR_UNAVAILABLE;
	}
	return KA_OK;
}

static enum ka_status read_choice(const struct ka_service *s, char *buf,
				  size_t n, ka_error *err)
{
	char dir[4096], file[4200], *text = NULL;
	struct stat sb;
	enum ka_status st;
	size_t len;

	if ((st = choice_path(s, dir, sizeof(dir), file, sizeof(file),
			      err)) != KA_OK)
		return st;
	if (lstat(file, &sb) != 0 && errno == ENOENT)
		return KA_ERR_NOT_FOUND;
	if ((st = kai_read_checked(file, KAI_OWNER_PRIVATE, 512, &text,
				   err)) != KA_OK)
		return st;
	len = strcspn(text, "\n");
	text[len] = '\0';
	if (!account_ok(text) || len >= n) {
		kai_error_set(err, KA_ERR_CORRUPT, "%s does not hold an account "
			      "name: run 'kiwi-auth account reset %s'", file,
			      s->name);
		free(text);
		return KA_ERR_CORRUPT;
	}
	memcpy(buf, text, len + 1);
	free(text);
	return KA_OK;
}

void kai_account_choices_load(struct ka_ctx *ctx)
{
	char dir[4096], buf[257];
	struct dirent *de;
	ka_error err;
	DIR *d;

	ka_error_clear(&err);
	if (choice_path(NULL, dir, sizeof(dir), NULL, 0, &err) != KA_OK)
		return;		/* ka_account_pick says why, when asked */
	if ((d = opendir(dir)) == NULL)
		return;		/* no choice made yet */
	while ((de = readdir(d)) != NULL) {
		struct ka_service *s;

		if (de->d_name[0] == '.' ||
		    (s = kai_service_lookup(ctx, de->d_name)) == NULL ||
		    s->chosen_account != NULL)
			continue;
		ka_error_clear(&err);
		if (read_choice(s, buf, sizeof(buf), &err) == KA_OK)
			s->chosen_account = kai_strdup(buf);
		else
			kai_log(ctx, 4, "%s", err.text);
	}
	closedir(d);
}

KAI_API enum ka_status ka_account_use(struct ka_ctx *ctx, const char *service,
				      const char *account, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	char dir[4096], file[4200], *line = NULL;
	const char *dflt = NULL;
	struct ka_service *s;
	enum ka_status st;

	if ((st = kai_resolve(ctx, service, &dflt, &s, err)) != KA_OK ||
	    (st = choice_path(s, dir, sizeof(dir), file, sizeof(file),
			      err)) != KA_OK)
		return st;
	if (account == NULL) {
		if (unlink(file) != 0 && errno != ENOENT) {
			kai_error_set(err, KA_ERR_IO, "cannot remove %s: %s",
				      file, strerror(errno));
			return KA_ERR_IO;
		}
		return KA_OK;
	}
	if (!account_ok(account)) {
		kai_error_set(err, KA_ERR_INVALID,
			      "account names must be 1 to 256 printable bytes");
		return KA_ERR_INVALID;
	}
	if (kai_make_dirs(dir) != 0) {
		kai_error_set(err, KA_ERR_IO, "cannot create %s: %s", dir,
			      strerror(errno));
		return KA_ERR_IO;
	}
	if ((line = kai_asprintf("%s\n", account)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	st = kai_write_atomic(dir, s->name, line, strlen(line), 0, err);
	free(line);
	return st;
}

/* The only account the sources list, if there is exactly one. */
struct only {
	char *name;	/* NULL: none yet */
	int many;
};

static void only_one(const char *account, void *data)
{
	struct only *o = data;

	if (o->many)
		return;
	if (o->name == NULL) {
		o->name = kai_strdup(account);
		return;
	}
	free(o->name);
	o->name = NULL;
	o->many = 1;
}

KAI_API enum ka_status ka_account_pick(struct ka_ctx *ctx, const char *service,
				       const char *account, char *buf, size_t n,
				       const char **why, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	const char *dflt = NULL, *from = "given";
	struct ka_service *s;
	enum ka_status st;

	if (why != NULL)
		*why = NULL;
	if (buf == NULL || n < 257) {
		kai_error_set(err, KA_ERR_INVALID, "ka_account_pick needs a "
			      "buffer of 257 bytes");
		return KA_ERR_INVALID;
	}
	if ((st = kai_resolve(ctx, service, account != NULL ? &account : &dflt,
			      &s, err)) != KA_OK)
		return st;
	if (account == NULL) {
		st = read_choice(s, buf, n, err);
		if (st == KA_OK) {
			from = "chosen";
			goto out;
		}
		if (st != KA_ERR_NOT_FOUND)
			return st;
		if (s->default_account != NULL) {
			account = s->default_account;
			from = "default_account";
		} else {
			struct only o = { NULL, 0 };
			ka_error e;

			ka_error_clear(&e);
			(void)ka_accounts(ctx, service, only_one, &o, &e);
			if (o.name != NULL) {
				snprintf(buf, n, "%s", o.name);
				free(o.name);
				from = "only";
				goto out;
			}
			account = KA_ACCOUNT_DEFAULT;
			from = "default";
		}
	}
	snprintf(buf, n, "%s", account);
out:
	if (why != NULL)
		*why = from;
	return KA_OK;
}

/* ---- export --------------------------------------------------------------- */

struct grab {
	char *token;		/* secure memory */
	size_t len;
	int64_t expires_at;
};

/* Runs with the record borrowed, maybe under the cache's read lock: copy
 * only, the writer runs after. */
static enum ka_status grab(const struct ka_service *s,
			   const struct ka_record *r, void *data, ka_error *err)
{
	struct grab *g = data;

	if (r->access_token == NULL || r->access_token[0] == '\0') {
		kai_error_set(err, KA_ERR_CORRUPT, "the stored token for %s is "
			      "empty; sign in again", s->name);
		return KA_ERR_CORRUPT;
	}
	if ((g->token = kai_secure_strdup(r->access_token)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	g->len = strlen(g->token);
	g->expires_at = r->expires_at;
	return KA_OK;
}

static void audit_export(const struct ka_ctx *ctx, const struct ka_service *s,
			 const char *service, const char *account,
			 const char *program, const struct grab *g,
			 enum ka_status st)
{
	struct kai_audit_event ev = {
		.outcome = st == KA_OK ? "exported" : "refused",
		.service = s != NULL ? s->name : service,
		.account = account,
		.method = "export",
		.tool = program,
		.reason = st == KA_OK ? NULL : ka_strerror(st),
	};

	if (st == KA_OK && g->token != NULL) {
		ev.token = g->token;
		ev.token_len = g->len;
	}
	kai_audit(ctx, &ev);
}

static enum ka_status export_allowed(const struct ka_service *s,
				     const char *program, ka_error *err)
{
	if (kai_strv_contains(&s->exports, program))
		return KA_OK;
	if (s->export_line > 0)
		kai_error_set(err, KA_ERR_DENIED, "service %s does not export its "
			      "token to %s: its 'export' (%s:%d) does not name "
			      "it; an administrator may add \"%s\" there", s->name,
			      program, s->file, s->export_line, program);
	else
		kai_error_set(err, KA_ERR_DENIED, "service %s does not export its "
			      "token to %s: an administrator may add export = "
			      "[ \"%s\" ]; to its stanza (%s)", s->name, program,
			      program, s->origin);
	return KA_ERR_DENIED;
}

KAI_API enum ka_status ka_export(struct ka_ctx *ctx, const char *service,
				 const char *account, const char *program,
				 ka_export_fn fn, void *data, ka_error *err)
{
	KAI_ERROR_LOCAL(err);
	struct grab g = { NULL, 0, 0 };
	struct ka_service *s = NULL;
	char picked[257];
	enum ka_status st;

	if (program == NULL || fn == NULL || !kai_export_program_known(program)) {
		kai_error_set(err, KA_ERR_INVALID, "ka_export needs a writer and "
			      "a program kiwi-auth has a bridge for (%s)",
			      KAI_EXPORT_PROGRAMS);
		return KA_ERR_INVALID;
	}
	if ((st = ka_account_pick(ctx, service, account, picked, sizeof(picked),
				  NULL, err)) != KA_OK)
		goto out;
	account = picked;
	if ((st = kai_resolve(ctx, service, &account, &s, err)) != KA_OK ||
	    (st = export_allowed(s, program, err)) != KA_OK)
		goto out;
	st = kai_core(ctx, s, account, KAI_WANT_USABLE, grab, &g, NULL, err);
	if (st == KA_OK)
		st = fn(g.token, g.len, g.expires_at, data);
	if (st != KA_OK)
		kai_error_set(err, st, "the token of %s could not be handed to "
			      "%s", service, program);
out:
	if (kai_audit_enabled(ctx))
		audit_export(ctx, s, service != NULL && !kai_has_ctl(service) &&
			     strlen(service) <= 64 ? service : "?",
			     account != NULL ? account : "-", program, &g, st);
	if (g.token != NULL)
		kai_wipe(g.token, g.len);
	kai_secure_free(g.token);
	return st;
}
