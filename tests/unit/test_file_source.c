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
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
