/* SPDX-License-Identifier: MIT */
/* test_export.c: the export policy (the stanza's `export`, ka_export and
 * its audit events, a locked system stanza a user cannot widen) and the
 * account a call without one uses (ka_account_pick, ka_account_use,
 * default_account). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "kai.h"

struct fixture {
	char *dir;
	char *conf;
	struct ka_ctx *ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_sandbox();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_sandbox_free(f->ctx, f->dir);
	free(f->conf);
	free(f);
	return 0;
}

/* Services "git" (exports to git), "none" (no export), "dflt" (a
 * default_account), all with file sources in dir/tokens, and an audit
 * file dir/audit.log. */
static void open_conf(struct fixture *f)
{
	char *text;

	assert_true(asprintf(&text,
		"global: { audit_file = \"%s/audit.log\"; };\n"
		"git: { hosts = [\"https://git.example\"];\n"
		"  source = ({ module = \"file\"; directory = \"%s/tokens\"; });\n"
		"  export = [ \"git\" ]; };\n"
		"none: { hosts = [\"https://none.example\"];\n"
		"  source = ({ module = \"file\"; directory = \"%s/tokens\"; }); };\n"
		"dflt: { hosts = [\"https://dflt.example\"];\n"
		"  source = ({ module = \"file\"; directory = \"%s/tokens\"; });\n"
		"  export = [ \"kubectl\", \"git\" ]; default_account = \"work\"; };\n",
		f->dir, f->dir, f->dir, f->dir) > 0);
	f->conf = tu_write(f->dir, "kiwi-auth.conf", text, 0600);
	free(text);
	f->ctx = tu_ctx(f->conf, 0);
}

static void store(struct fixture *f, const char *svc, const char *account,
		  const char *token)
{
	struct ka_record *r;
	ka_error err;

	assert_int_equal(ka_record_new(&r), KA_OK);
	assert_int_equal(ka_record_set_access_token(r, token), KA_OK);
	ka_record_set_expires_at(r, kai_now() + 3600);
	ka_error_clear(&err);
	assert_int_equal(ka_store(f->ctx, svc, account, r, &err), KA_OK);
	ka_record_free(r);
}

struct got {
	char token[64];
	int64_t expires_at;
	int calls;
};

static enum ka_status writer(const char *token, size_t len, int64_t exp,
			     void *data)
{
	struct got *g = data;

	assert_true(len < sizeof(g->token));
	memcpy(g->token, token, len + 1);
	g->expires_at = exp;
	g->calls++;
	return KA_OK;
}

static void stanza_keys(void **state)
{
	struct fixture *f = *state;
	const struct ka_service *s;

	open_conf(f);
	s = ka_service_find(f->ctx, "dflt");
	assert_non_null(s);
	assert_int_equal(ka_service_export_count(s), 2);
	assert_string_equal(ka_service_export(s, 0), "kubectl");
	assert_string_equal(ka_service_export(s, 1), "git");
	assert_null(ka_service_export(s, 2));
	assert_string_equal(ka_service_default_account(s), "work");
	s = ka_service_find(f->ctx, "none");
	assert_int_equal(ka_service_export_count(s), 0);
	assert_null(ka_service_default_account(s));
	assert_true(ka_service_allows_url(s, "https://none.example/x"));
	assert_false(ka_service_allows_url(s, "https://git.example/x"));
	assert_false(ka_service_allows_url(s, "http://none.example/x"));
}

static void git_paths(void **state)
{
	struct fixture *f = *state;
	const struct ka_service *s;

	f->conf = tu_write(f->dir, "kiwi-auth.conf",
		"a: { hosts = [\"https://a.example\"];\n"
		"  source = ({ module = \"file\"; });\n"
		"  git_paths = [ \"org/\", \"solo\", \"x/y.git\" ]; };\n"
		"b: { hosts = [\"https://b.example\"];\n"
		"  source = ({ module = \"file\"; }); };\n"
		"c: { hosts = [\"https://c.example\"];\n"
		"  source = ({ module = \"file\"; }); git_paths = [ \"/abs\" ]; };\n",
		0600);
	f->ctx = tu_ctx(f->conf, KA_CTX_LENIENT);
	s = ka_service_find(f->ctx, "a");
	assert_int_equal(ka_service_git_path_match(s, "org/repo.git"), 1);
	assert_int_equal(ka_service_git_path_match(s, "/org/repo.git"), 1);
	assert_int_equal(ka_service_git_path_match(s, "solo"), 1);
	assert_int_equal(ka_service_git_path_match(s, "solo/r.git"), 1);
	assert_int_equal(ka_service_git_path_match(s, "x/y.git"), 1);
	assert_int_equal(ka_service_git_path_match(s, "soloist/r.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, "organ/r.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, "org/../evil.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, "org/./r.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, "org/%2e%2e/r.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, "org\\..\\r.git"), 0);
	assert_int_equal(ka_service_git_path_match(s, NULL), 0);
	s = ka_service_find(f->ctx, "b");
	assert_int_equal(ka_service_git_path_match(s, "org/repo.git"), -1);
	s = ka_service_find(f->ctx, "c");
	assert_true(tu_contains(ka_service_error(s), "git_paths[0] must be"));
}

static void bad_keys(void **state)
{
	struct fixture *f = *state;
	const struct ka_service *s;

	f->conf = tu_write(f->dir, "kiwi-auth.conf",
		"a: { hosts = [\"https://a.example\"];\n"
		"  source = ({ module = \"file\"; });\n"
		"  export = [ \"git\", \"curl\" ]; };\n"
		"b: { hosts = [\"https://b.example\"];\n"
		"  source = ({ module = \"file\"; });\n"
		"  export = \"git\"; };\n"
		"c: { hosts = [\"https://c.example\"];\n"
		"  source = ({ module = \"file\"; });\n"
		"  default_account = \"\"; };\n", 0600);
	f->ctx = tu_ctx(f->conf, KA_CTX_LENIENT);
	s = ka_service_find(f->ctx, "a");
	assert_non_null(ka_service_error(s));
	assert_true(tu_contains(ka_service_error(s), "export[1] must be one of "
				"the programs kiwi-auth has a bridge for: git, "
				"kubectl"));
	s = ka_service_find(f->ctx, "b");
	assert_true(tu_contains(ka_service_error(s), "'export' must be a list"));
	s = ka_service_find(f->ctx, "c");
	assert_true(tu_contains(ka_service_error(s), "'default_account' must be"));
}

static void export_policy(void **state)
{
	struct fixture *f = *state;
	struct got g = { "", 0, 0 };
	char *audit, *want, *path;
	ka_error err;

	open_conf(f);
	store(f, "git", NULL, "tok-git-0123456789");
	store(f, "none", NULL, "tok-none-0123456789");
	ka_error_clear(&err);
	assert_int_equal(ka_export(f->ctx, "git", NULL, "git", writer, &g, &err),
			 KA_OK);
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.token, "tok-git-0123456789");
	assert_true(g.expires_at > kai_now());

	/* Not in the list: refused, naming the setting and where it is. */
	ka_error_clear(&err);
	assert_int_equal(ka_export(f->ctx, "git", NULL, "kubectl", writer, &g,
				   &err), KA_ERR_DENIED);
	assert_true(asprintf(&want, "its 'export' (%s:4) does not name it",
			     f->conf) > 0);
	assert_true(tu_contains(err.text, want));
	free(want);
	/* No export at all: the message says what to add. */
	ka_error_clear(&err);
	assert_int_equal(ka_export(f->ctx, "none", NULL, "git", writer, &g, &err),
			 KA_ERR_DENIED);
	assert_true(tu_contains(err.text, "add export = [ \"git\" ]; to its "
				"stanza"));
	assert_int_equal(g.calls, 1);
	/* A program without a bridge is not a program. */
	ka_error_clear(&err);
	assert_int_equal(ka_export(f->ctx, "git", NULL, "sh", writer, &g, &err),
			 KA_ERR_INVALID);
	assert_false(tu_contains(err.text, "tok-"));

	/* The audit trail: one exported, two refused; never a token. */
	path = tu_path(f->dir, "audit.log");
	audit = tu_read(path);
	free(path);
	assert_non_null(audit);
	assert_true(tu_contains(audit, "outcome=exported service=git scope=- "
				"account=default origin=- method=export tool=git "
				"fp="));
	assert_false(tu_contains(audit, "fp=-\n") &&
		     !tu_contains(audit, "reason="));
	assert_true(tu_contains(audit, "outcome=refused service=git"));
	assert_true(tu_contains(audit, "tool=kubectl reason="));
	assert_true(tu_contains(audit, "outcome=refused service=none"));
	assert_false(tu_contains(audit, "tok-"));
	free(audit);
}

static void not_signed_in(void **state)
{
	struct fixture *f = *state;
	struct got g = { "", 0, 0 };
	ka_error err;

	open_conf(f);
	ka_error_clear(&err);
	assert_int_equal(ka_export(f->ctx, "git", NULL, "git", writer, &g, &err),
			 KA_ERR_NOT_FOUND);
	assert_true(err.auth_required);
	assert_true(tu_contains(err.text, "not signed in to git"));
	assert_int_equal(g.calls, 0);
}

static void account_order(void **state)
{
	struct fixture *f = *state;
	const char *why;
	char buf[257];
	ka_error err;

	open_conf(f);
	/* Nothing stored, no default_account: "default". */
	ka_error_clear(&err);
	assert_int_equal(ka_account_pick(f->ctx, "git", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, KA_ACCOUNT_DEFAULT);
	assert_string_equal(why, "default");
	/* One account: that one. */
	store(f, "git", "alice", "tok-alice-0123456789");
	assert_int_equal(ka_account_pick(f->ctx, "git", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, "alice");
	assert_string_equal(why, "only");
	/* Two: back to "default". */
	store(f, "git", "bob", "tok-bob-0123456789");
	assert_int_equal(ka_account_pick(f->ctx, "git", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, KA_ACCOUNT_DEFAULT);
	/* default_account wins over the accounts stored. */
	store(f, "dflt", "alice", "tok-dalice-0123456789");
	assert_int_equal(ka_account_pick(f->ctx, "dflt", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, "work");
	assert_string_equal(why, "default_account");
	/* The user's choice wins over default_account, for that service only. */
	assert_int_equal(ka_account_use(f->ctx, "dflt", "alice", &err), KA_OK);
	assert_int_equal(ka_account_pick(f->ctx, "dflt", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, "alice");
	assert_string_equal(why, "chosen");
	assert_int_equal(ka_account_pick(f->ctx, "git", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, KA_ACCOUNT_DEFAULT);
	/* A given account wins over everything. */
	assert_int_equal(ka_account_pick(f->ctx, "dflt", "bob", buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, "bob");
	assert_string_equal(why, "given");
	/* Export follows the same order. */
	{
		struct got g = { "", 0, 0 };

		assert_int_equal(ka_export(f->ctx, "dflt", NULL, "kubectl", writer,
					   &g, &err), KA_OK);
		assert_string_equal(g.token, "tok-dalice-0123456789");
	}
	/* So does every call without an account on a context opened after
	 * the choice (read once, when a context opens). */
	{
		struct ka_ctx *later = tu_ctx(f->conf, 0);
		struct ka_record *r = NULL;

		ka_error_clear(&err);
		assert_int_equal(ka_load(later, "dflt", NULL, &r, &err), KA_OK);
		assert_string_equal(ka_record_account(r), "alice");
		ka_record_free(r);
		ka_ctx_free(later);
	}
	/* Reset: default_account again. */
	assert_int_equal(ka_account_use(f->ctx, "dflt", NULL, &err), KA_OK);
	assert_int_equal(ka_account_pick(f->ctx, "dflt", NULL, buf, sizeof(buf),
					 &why, &err), KA_OK);
	assert_string_equal(buf, "work");
	/* Bad names and short buffers are refused. */
	ka_error_clear(&err);
	assert_int_equal(ka_account_use(f->ctx, "dflt", "a\nb", &err),
			 KA_ERR_INVALID);
	assert_int_equal(ka_account_pick(f->ctx, "dflt", NULL, buf, 16, &why,
					 NULL), KA_ERR_INVALID);
	/* default_account also stands for a NULL account in the broker. */
	{
		struct ka_record *r = NULL;

		ka_error_clear(&err);
		assert_int_equal(ka_load(f->ctx, "dflt", NULL, &r, &err),
				 KA_ERR_NOT_FOUND);
		assert_true(tu_contains(err.text, "work"));
	}
}

static void corrupt_choice(void **state)
{
	struct fixture *f = *state;
	char buf[257], *sd;
	ka_error err;

	open_conf(f);
	assert_true(asprintf(&sd, "%s/state/kiwi-auth/accounts",
			     f->dir) > 0);
	free(tu_write(sd, "dflt", "bad\001name\n", 0600));
	ka_error_clear(&err);
	assert_int_equal(ka_account_pick(f->ctx, "dflt", NULL, buf, sizeof(buf),
					 NULL, &err), KA_ERR_CORRUPT);
	assert_true(tu_contains(err.text, "kiwi-auth account reset dflt"));
	/* Readable by others: refused, not trusted. */
	free(tu_write(sd, "dflt", "alice\n", 0644));
	ka_error_clear(&err);
	assert_int_not_equal(ka_account_pick(f->ctx, "dflt", NULL, buf,
					     sizeof(buf), NULL, &err), KA_OK);
	free(sd);
}

/* A user stanza cannot widen a locked system stanza's export. */
static void locked_export(void **state)
{
	struct fixture *f = *state;
	char *sys, *usr;
	ka_error err;

	if (geteuid() != 0) {
		print_message("skipped: the system layer needs root-owned files\n");
		return;
	}
	assert_true(asprintf(&sys, "%s/sys", f->dir) > 0);
	assert_true(asprintf(&usr, "%s/usr", f->dir) > 0);
	free(tu_write(sys, "kiwi-auth.conf",
		"svc = { hosts = [\"https://l.example\"];\n"
		" source = ({module=\"file\";}); export = [\"git\"];\n"
		" locked = true; };\n"
		"open = { hosts = [\"https://o.example\"];\n"
		" source = ({module=\"file\";}); };\n", 0644));
	free(tu_write(usr, "kiwi-auth.conf",
		"svc = { hosts = [\"https://l.example\"];\n"
		" source = ({module=\"file\";}); export = [\"git\", \"kubectl\"];\n"
		" default_account = \"mine\"; };\n"
		"open = { hosts = [\"https://o.example\"];\n"
		" source = ({module=\"file\";}); export = [\"kubectl\"]; };\n",
		0600));
	f->ctx = calloc(1, sizeof(*f->ctx));
	ka_error_clear(&err);
	assert_int_equal(kai_config_load_layers(f->ctx, sys, usr, &err), KA_OK);
	assert_int_equal(ka_service_export_count(ka_service_find(f->ctx, "svc")),
			 1);
	assert_string_equal(ka_service_export(ka_service_find(f->ctx, "svc"), 0),
			    "git");
	assert_null(ka_service_default_account(ka_service_find(f->ctx, "svc")));
	/* An unlocked stanza is the user's to replace, export and all. */
	assert_int_equal(ka_service_export_count(ka_service_find(f->ctx, "open")),
			 1);
	free(sys);
	free(usr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(stanza_keys),
		T(git_paths),
		T(bad_keys),
		T(export_policy),
		T(not_signed_in),
		T(account_order),
		T(corrupt_choice),
		T(locked_export),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
