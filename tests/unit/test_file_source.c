/* SPDX-License-Identifier: MIT */
/* test_file_source.c: the `file` source module through the public API. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

#define TOKEN "tok-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"
#define REFRESH "ref-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"

struct fx {
	char *tmp;
	char *dir;		/* token directory */
	char *conf;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char *text;

	assert_non_null(fx);
	fx->tmp = tu_sandbox();
	fx->dir = tu_path(fx->tmp, "tokens");
	assert_true(asprintf(&text,
		"svc: {\n"
		"  hosts = [ \"https://api.example.com\" ];\n"
		"  scopes = [ \"svc:read\" ];\n"
		"  source = ( { module = \"file\"; directory = \"%s\"; } );\n"
		"};\n"
		"other: {\n"
		"  hosts = [ \"https://other.example.com\" ];\n"
		"  scopes = [ \"other:read\" ];\n"
		"  source = ( { module = \"file\"; directory = \"%s\"; } );\n"
		"};\n"
		"dflt: {\n"
		"  hosts = [ \"https://dflt.example.com\" ];\n"
		"  scopes = [ \"dflt:read\" ];\n"
		"  source = ( { module = \"file\"; } );\n"
		"};\n", fx->dir, fx->dir) > 0);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", text, 0600);
	free(text);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_sandbox_free(NULL, fx->tmp);
	free(fx->dir);
	free(fx->conf);
	free(fx);
	return 0;
}

static struct ka_record *make_record(const char *token)
{
	struct ka_record *r = NULL;

	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, token), KA_OK);
	assert_int_equal(ka_record_set_refresh_token(r, REFRESH), KA_OK);
	assert_int_equal(ka_record_set_token_type(r, "Bearer"), KA_OK);
	assert_int_equal(ka_record_add_scope(r, "svc:read"), KA_OK);
	ka_record_set_expires_at(r, 4000000000LL);
	return r;
}

/* Store a record with token under (service, account) in a fresh context. */
static void store(struct fx *fx, const char *service, const char *account,
		  const char *token)
{
	struct ka_ctx *ctx = tu_ctx(fx->conf, 0);
	struct ka_record *r = make_record(token);
	ka_error err;

	ka_error_clear(&err);
	if (ka_store(ctx, service, account, r, &err) != KA_OK)
		fail_msg("ka_store: %s", err.text);
	ka_record_free(r);
	ka_ctx_free(ctx);
}

/* Load in a fresh context (no cache); returns the status. */
static enum ka_status load(struct fx *fx, const char *service,
			   const char *account, struct ka_record **out,
			   ka_error *err)
{
	struct ka_ctx *ctx = tu_ctx(fx->conf, 0);
	enum ka_status st;

	ka_error_clear(err);
	*out = NULL;
	st = ka_load(ctx, service, account, out, err);
	ka_ctx_free(ctx);
	return st;
}

static char *path_of(struct fx *fx, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", fx->dir, name) > 0);
	return p;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 &&
		     strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* A failed load: not found is not an acceptable answer here. */
static void assert_refused(enum ka_status st, const ka_error *err,
			   const char *needle)
{
	assert_int_not_equal(st, KA_OK);
	assert_int_not_equal(st, KA_ERR_NOT_FOUND);
	if (!tu_contains(err->text, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err->text,
			 needle);
	assert_false(tu_contains(err->text, TOKEN));
}

static void test_round_trip(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(load(fx, "svc", NULL, &r, &err), KA_OK);
	assert_string_equal(r->access_token, TOKEN);
	assert_true(ka_record_has_refresh_token(r));
	assert_string_equal(r->refresh_token, REFRESH);
	assert_string_equal(ka_record_token_type(r), "Bearer");
	assert_int_equal(ka_record_expires_at(r), 4000000000LL);
	assert_true(ka_record_has_scope(r, "svc:read"));
	assert_string_equal(ka_record_account(r), KA_ACCOUNT_DEFAULT);
	assert_string_equal(ka_record_source(r), "file");
	ka_record_free(r);

	/* Another service in the same directory does not see it. */
	assert_int_equal(load(fx, "other", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
}

static void test_private_modes(void **state)
{
	struct fx *fx = *state;
	char *file = path_of(fx, "svc@default.json");
	char *text;
	struct stat st;

	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(lstat(fx->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	/* No temporary file left behind. */
	assert_int_equal(count_entries(fx->dir), 1);
	/* The file is JSON holding the record. */
	text = tu_read(file);
	assert_non_null(text);
	assert_true(tu_contains(text, "access_token"));
	free(text);
	free(file);
}

static void test_default_directory(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;
	char *path;
	struct stat st;

	store(fx, "dflt", NULL, TOKEN);
	assert_true(asprintf(&path, "%s/kiwi-auth/tokens/dflt@default.json",
			     getenv("XDG_STATE_HOME")) > 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(load(fx, "dflt", NULL, &r, &err), KA_OK);
	ka_record_free(r);
	free(path);
}

static void test_loose_file_mode(void **state)
{
	struct fx *fx = *state;
	char *file = path_of(fx, "svc@default.json");
	struct ka_record *r;
	ka_error err;
	char *hint;

	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(chmod(file, 0640), 0);
	assert_true(asprintf(&hint, "chmod 600 %s", file) > 0);
	assert_refused(load(fx, "svc", NULL, &r, &err), &err, hint);
	assert_null(r);
	free(hint);
	free(file);
}

static void test_loose_dir_mode(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;
	char *hint;

	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(chmod(fx->dir, 0750), 0);
	assert_true(asprintf(&hint, "chmod 700 %s", fx->dir) > 0);
	assert_refused(load(fx, "svc", NULL, &r, &err), &err, hint);
	free(hint);
}

static void test_wrong_owner(void **state)
{
	struct fx *fx = *state;
	char *file = path_of(fx, "svc@default.json");
	struct ka_record *r;
	ka_error err;

	if (geteuid() != 0) {
		free(file);
		skip();
	}
	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(chown(file, 65534, 65534), 0);
	assert_refused(load(fx, "svc", NULL, &r, &err), &err, "owned by");
	assert_true(tu_contains(err.text, file));
	free(file);
}

static void test_symlink_refused(void **state)
{
	struct fx *fx = *state;
	char *link = path_of(fx, "svc@default.json");
	struct ka_record *r;
	ka_error err;

	store(fx, "svc", "real", TOKEN);
	assert_int_equal(symlink("svc@real.json", link), 0);
	assert_refused(load(fx, "svc", NULL, &r, &err), &err,
		       "symbolic link");
	assert_true(tu_contains(err.text, link));
	/* The real record itself still loads. */
	assert_int_equal(load(fx, "svc", "real", &r, &err), KA_OK);
	ka_record_free(r);
	free(link);
}

static void test_corrupt(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;
	char *file, *text;

	store(fx, "svc", "x", TOKEN);	/* creates the directory */
	file = tu_write(fx->dir, "svc@default.json",
			"{\"access_token\": \"" TOKEN "\", oops", 0600);
	assert_refused(load(fx, "svc", NULL, &r, &err), &err, file);
	assert_int_equal(err.code, KA_ERR_CORRUPT);
	text = tu_read(file);
	assert_non_null(text);
	assert_true(tu_contains(text, "oops"));
	free(text);
	free(file);
}

static void quiet(int level, const char *message, void *data)
{
	(void)level; (void)message; (void)data;
}

/* Store with every file write limited to a few bytes, so the write of
 * the new record fails (this works as root too). */
static enum ka_status store_limited(struct fx *fx, const char *token,
				    ka_error *err)
{
	struct ka_ctx *ctx = tu_ctx(fx->conf, 0);
	struct ka_record *r = make_record(token);
	struct rlimit old, lim;
	enum ka_status st;

	ka_ctx_set_log(ctx, quiet, NULL);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 16;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ka_error_clear(err);
	st = ka_store(ctx, "svc", NULL, r, err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	ka_record_free(r);
	ka_ctx_free(ctx);
	return st;
}

static void test_failed_store_keeps_old(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	store(fx, "svc", NULL, TOKEN);
	assert_int_not_equal(store_limited(fx, "new-token-that-is-long-enough",
					   &err), KA_OK);
	assert_true(tu_contains(err.text, fx->dir));
	assert_int_equal(count_entries(fx->dir), 1);
	assert_int_equal(load(fx, "svc", NULL, &r, &err), KA_OK);
	assert_string_equal(r->access_token, TOKEN);
	ka_record_free(r);
}

static void test_store_over_directory(void **state)
{
	struct fx *fx = *state;
	struct ka_ctx *ctx;
	struct ka_record *r = make_record(TOKEN);
	ka_error err;
	char *target;
	struct stat st;

	store(fx, "svc", "keep", TOKEN);
	target = path_of(fx, "svc@default.json");
	assert_int_equal(mkdir(target, 0700), 0);
	ctx = tu_ctx(fx->conf, 0);
	ka_ctx_set_log(ctx, quiet, NULL);
	ka_error_clear(&err);
	assert_int_not_equal(ka_store(ctx, "svc", NULL, r, &err), KA_OK);
	assert_true(tu_contains(err.text, target));
	ka_ctx_free(ctx);
	ka_record_free(r);
	/* The directory is untouched and no temporary file is left. */
	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(fx->dir), 2);
	free(target);
}

/* Every name the module accepts can also be stored: the temporary file
 * next to it must fit a directory entry too. */
static void test_long_account(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r = NULL;
	char acct[300];
	ka_error err;

	/* "svc@" + account + ".json" + 14 bytes of temporary name <= 255 */
	memset(acct, 'a', sizeof(acct));
	acct[255 - 4 - 5 - 14] = '\0';
	store(fx, "svc", acct, TOKEN);
	assert_int_equal(load(fx, "svc", acct, &r, &err), KA_OK);
	ka_record_free(r);
	acct[255 - 4 - 5 - 14] = 'a';
	acct[255 - 4 - 5 - 14 + 1] = '\0';
	{
		struct ka_ctx *ctx = tu_ctx(fx->conf, 0);
		struct ka_record *rec = make_record(TOKEN);

		ka_error_clear(&err);
		assert_int_not_equal(ka_store(ctx, "svc", acct, rec, &err), KA_OK);
		assert_true(tu_contains(err.text, "too long for a file name"));
		ka_record_free(rec);
		ka_ctx_free(ctx);
	}
}

struct seen {
	char *names[8];
	size_t n;
};

static void collect(const char *account, void *data)
{
	struct seen *s = data;

	assert_true(s->n < 8);
	s->names[s->n++] = strdup(account);
}

static int seen_has(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return 1;
	return 0;
}

static void test_account_encoding(void **state)
{
	static const char *const accts[] = {
		"alice@example.com", "a/b", ".hidden", "sp ace%",
	};
	static const char *const files[] = {
		"svc@alice%40example.com.json", "svc@a%2Fb.json",
		"svc@%2Ehidden.json", "svc@sp%20ace%25.json",
	};
	struct fx *fx = *state;
	struct seen seen = { .n = 0 };
	struct ka_ctx *ctx;
	struct ka_record *r;
	ka_error err;
	struct stat st;

	for (size_t i = 0; i < 4; i++) {
		char *p = path_of(fx, files[i]);

		store(fx, "svc", accts[i], TOKEN);
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(load(fx, "svc", accts[i], &r, &err), KA_OK);
		assert_string_equal(ka_record_account(r), accts[i]);
		ka_record_free(r);
		free(p);
	}
	store(fx, "other", "bob", TOKEN);
	free(tu_write(fx->dir, "svc@not%zzvalid.json", "{}", 0600));
	ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(ka_accounts(ctx, "svc", collect, &seen, &err), KA_OK);
	ka_ctx_free(ctx);
	assert_int_equal(seen.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_true(seen_has(&seen, accts[i]));
	for (size_t i = 0; i < seen.n; i++)
		free(seen.names[i]);
}

static void test_erase(void **state)
{
	struct fx *fx = *state;
	struct ka_ctx *ctx;
	struct ka_record *r;
	unsigned erased = 99;
	ka_error err;
	enum ka_status st;

	store(fx, "svc", NULL, TOKEN);
	ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(ka_erase(ctx, "svc", NULL, &erased, &err), KA_OK);
	assert_int_equal(erased, 1);
	assert_int_equal(count_entries(fx->dir), 0);
	erased = 99;
	st = ka_erase(ctx, "svc", NULL, &erased, &err);
	assert_true(st == KA_OK || st == KA_ERR_NOT_FOUND);
	assert_int_equal(erased, 0);
	ka_ctx_free(ctx);
	assert_int_equal(load(fx, "svc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_true(err.auth_required);
}

static void test_missing_directory(void **state)
{
	struct fx *fx = *state;
	struct ka_record *r;
	ka_error err;

	assert_int_equal(load(fx, "svc", NULL, &r, &err), KA_ERR_NOT_FOUND);
	assert_null(r);
}

/* ---- leftovers of interrupted writes ------------------------------------ */

#define TOKEN_B "tokB-9876543210-zyxwvutsrqponmlkjihgfedcba-9876543210"
#define LIVE "svc@default.json"
#define TEMP ".svc@default.json.0123456789ab"
#define TEMP2 ".svc@default.json.ba9876543210"

/* The JSON of a record holding token, of generation gen, obtained at. */
static char *record_json(const char *token, uint64_t gen, int64_t obtained)
{
	struct ka_record *r = make_record(token);
	char *json, *copy;

	r->generation = gen;
	ka_record_set_obtained_at(r, obtained);
	assert_int_equal(kai_record_to_json(r, &json, NULL), KA_OK);
	copy = strdup(json);
	kai_secure_free(json);
	ka_record_free(r);
	return copy;
}

static void put_temp(struct fx *fx, const char *name, const char *json,
		     size_t len)
{
	char *p = path_of(fx, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(json, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, 0600), 0);
	free(p);
}

static int exists(struct fx *fx, const char *name)
{
	char *p = path_of(fx, name);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Count the files under dir (recursively) whose bytes hold needle; *where
 * gets the last one's name (caller frees). */
static int files_holding(const char *dir, const char *needle, char **where)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = tu_path(dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			n += files_holding(p, needle, where);
		} else if (lstat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			char *text = tu_read(p);

			if (text != NULL && tu_contains(text, needle)) {
				n++;
				free(*where);
				*where = strdup(de->d_name);
			}
			free(text);
		}
		free(p);
	}
	closedir(d);
	return n;
}

/* The canary rule after a failure: token is in the record and nowhere
 * else in the sandbox (held = 1), or nowhere at all (held = 0). */
static void assert_only_record_holds(struct fx *fx, const char *token,
				     int held)
{
	char *where = NULL;
	int n = files_holding(fx->tmp, token, &where);

	if (n != held || (held && strcmp(where, LIVE) != 0))
		fail_msg("%d files hold the token (last: %s), expected %d (%s)",
			 n, where != NULL ? where : "-", held, LIVE);
	free(where);
}

static const char *loaded_token(struct fx *fx)
{
	static char buf[256];
	struct ka_record *r;
	ka_error err;

	if (load(fx, "svc", NULL, &r, &err) != KA_OK)
		fail_msg("load: %s", err.text);
	snprintf(buf, sizeof(buf), "%s", r->access_token);
	ka_record_free(r);
	return buf;
}

static void test_generation_counts_stores(void **state)
{
	struct fx *fx = *state;
	char *p, *text;

	store(fx, "svc", NULL, TOKEN);
	store(fx, "svc", NULL, TOKEN_B);
	store(fx, "svc", NULL, TOKEN);
	p = path_of(fx, LIVE);
	text = tu_read(p);
	assert_non_null(text);
	assert_true(tu_contains(text, "\"generation\":3"));
	free(text);
	free(p);
}

/* Killed after the new record was complete but before its rename: the
 * newer record is adopted (its refresh token is the one the server now
 * expects), and no copy stays behind. */
static void test_complete_newer_temp_adopted(void **state)
{
	struct fx *fx = *state;
	char *json;

	store(fx, "svc", NULL, TOKEN);			/* generation 1 */
	json = record_json(TOKEN_B, 2, 0);
	put_temp(fx, TEMP, json, strlen(json));
	free(json);
	assert_string_equal(loaded_token(fx), TOKEN_B);
	assert_false(exists(fx, TEMP));
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN_B, 1);
	assert_only_record_holds(fx, TOKEN, 0);
	/* The next store counts on from the adopted generation. */
	store(fx, "svc", NULL, TOKEN);
	{
		char *p = path_of(fx, LIVE), *text = tu_read(p);

		assert_true(tu_contains(text, "\"generation\":3"));
		free(text);
		free(p);
	}
}

/* Records written before generations existed: obtained_at decides. */
static void test_legacy_temp_by_obtained_at(void **state)
{
	struct fx *fx = *state;
	char *live = record_json(TOKEN, 0, 1000), *tmp = record_json(TOKEN_B, 0, 2000);

	assert_int_equal(mkdir(fx->dir, 0700), 0);
	put_temp(fx, LIVE, live, strlen(live));
	put_temp(fx, TEMP, tmp, strlen(tmp));
	free(live);
	free(tmp);
	assert_string_equal(loaded_token(fx), TOKEN_B);
	assert_int_equal(count_entries(fx->dir), 1);
}

/* Killed while writing: half a record is removed, the old one stays. */
static void test_incomplete_temp_removed(void **state)
{
	struct fx *fx = *state;
	char *json;

	store(fx, "svc", NULL, TOKEN);
	json = record_json(TOKEN_B, 2, 0);
	put_temp(fx, TEMP, json, strlen(json) / 2);
	put_temp(fx, TEMP2, "", 0);
	free(json);
	assert_string_equal(loaded_token(fx), TOKEN);
	assert_false(exists(fx, TEMP));
	assert_false(exists(fx, TEMP2));
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN_B, 0);
	assert_only_record_holds(fx, TOKEN, 1);
}

/* A leftover no newer than the record is removed, not adopted. */
static void test_older_temp_removed(void **state)
{
	struct fx *fx = *state;
	char *same, *older;

	store(fx, "svc", NULL, TOKEN);
	store(fx, "svc", NULL, TOKEN);			/* generation 2 */
	same = record_json(TOKEN_B, 2, 4000000000LL);
	older = record_json(TOKEN_B, 1, 4000000000LL);
	put_temp(fx, TEMP, same, strlen(same));
	put_temp(fx, TEMP2, older, strlen(older));
	free(same);
	free(older);
	assert_string_equal(loaded_token(fx), TOKEN);
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN_B, 0);
}

/* A store deals with leftovers first too: an older one never lingers
 * next to the new record. */
static void test_store_sweeps(void **state)
{
	struct fx *fx = *state;
	char *json = record_json(TOKEN_B, 1, 0);

	store(fx, "svc", NULL, TOKEN);
	put_temp(fx, TEMP, json, strlen(json));
	free(json);
	store(fx, "svc", NULL, TOKEN);
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN_B, 0);
}

/* Logout: the record and every leftover of it go; those of another
 * account stay. */
static void test_erase_removes_leftovers(void **state)
{
	struct fx *fx = *state;
	struct ka_ctx *ctx;
	unsigned erased = 0;
	ka_error err;
	char *json = record_json(TOKEN_B, 9, 0);

	store(fx, "svc", NULL, TOKEN);
	store(fx, "svc", "other", TOKEN);
	put_temp(fx, TEMP, json, strlen(json));
	put_temp(fx, TEMP2, json, strlen(json) / 3);
	put_temp(fx, ".svc@other.json.00000000000a", json, strlen(json));
	free(json);
	ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(ka_erase(ctx, "svc", NULL, &erased, &err), KA_OK);
	ka_ctx_free(ctx);
	assert_false(exists(fx, LIVE));
	assert_false(exists(fx, TEMP));
	assert_false(exists(fx, TEMP2));
	assert_true(exists(fx, "svc@other.json"));
	assert_true(exists(fx, ".svc@other.json.00000000000a"));
	/* Leftovers alone are erased too. */
	put_temp(fx, TEMP, "{", 1);
	ctx = tu_ctx(fx->conf, 0);
	assert_int_equal(ka_erase(ctx, "svc", NULL, &erased, &err), KA_OK);
	ka_ctx_free(ctx);
	assert_false(exists(fx, TEMP));
}

/* A leftover that cannot be removed: the load works (with a warning),
 * and logout says what is left and what to do. */
static void test_stuck_leftover_reported(void **state)
{
	struct fx *fx = *state;
	struct ka_ctx *ctx;
	ka_error err;
	char *p;

	store(fx, "svc", NULL, TOKEN);
	p = path_of(fx, TEMP);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_string_equal(loaded_token(fx), TOKEN);
	ctx = tu_ctx(fx->conf, 0);
	ka_error_clear(&err);
	assert_int_equal(ka_erase(ctx, "svc", NULL, NULL, &err), KA_ERR_IO);
	ka_ctx_free(ctx);
	assert_true(tu_contains(err.text, TEMP));
	assert_true(tu_contains(err.text, "remove it by hand"));
	assert_false(exists(fx, LIVE));
	rmdir(p);
	free(p);
}

/* Really killed: a child stores TOKEN_B and is killed at point. */
static const char *kill_at;

static void kill_hook(const char *point)
{
	if (kill_at != NULL && strcmp(point, kill_at) == 0)
		raise(SIGKILL);
}

static void store_killed_at(struct fx *fx, const char *point)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		kill_at = point;
		kai_test_hook = kill_hook;
		store(fx, "svc", NULL, TOKEN_B);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_killed_stores(void **state)
{
	struct fx *fx = *state;

	store(fx, "svc", NULL, TOKEN);
	/* Before a byte was written: the old record stays, nothing else. */
	store_killed_at(fx, "temp-created");
	assert_int_equal(count_entries(fx->dir), 2);
	assert_string_equal(loaded_token(fx), TOKEN);
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN_B, 0);
	/* Complete but not renamed: the new record wins. */
	store_killed_at(fx, "temp-written");
	assert_int_equal(count_entries(fx->dir), 2);
	assert_string_equal(loaded_token(fx), TOKEN_B);
	assert_int_equal(count_entries(fx->dir), 1);
	assert_only_record_holds(fx, TOKEN, 0);
	assert_only_record_holds(fx, TOKEN_B, 1);
	/* And a logout after a killed store leaves no token anywhere. */
	store_killed_at(fx, "temp-written");
	{
		struct ka_ctx *ctx = tu_ctx(fx->conf, 0);
		ka_error err;

		ka_error_clear(&err);
		assert_int_equal(ka_erase(ctx, "svc", NULL, NULL, &err), KA_OK);
		ka_ctx_free(ctx);
	}
	assert_int_equal(count_entries(fx->dir), 0);
	assert_only_record_holds(fx, TOKEN_B, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_private_modes),
		T(test_default_directory),
		T(test_loose_file_mode),
		T(test_loose_dir_mode),
		T(test_wrong_owner),
		T(test_symlink_refused),
		T(test_corrupt),
		T(test_failed_store_keeps_old),
		T(test_store_over_directory),
		T(test_long_account),
		T(test_account_encoding),
		T(test_erase),
		T(test_missing_directory),
		T(test_generation_counts_stores),
		T(test_complete_newer_temp_adopted),
		T(test_legacy_temp_by_obtained_at),
		T(test_incomplete_temp_removed),
		T(test_older_temp_removed),
		T(test_store_sweeps),
		T(test_erase_removes_leftovers),
		T(test_stuck_leftover_reported),
		T(test_killed_stores),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
