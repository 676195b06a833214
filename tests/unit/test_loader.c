/* test_loader.c: loading modules via ka_ctx_new: ABI, names, arguments. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kiwiauth-module.h"

struct fx {
	char *tmp;
	char *conf;
	struct ka_ctx *ctx;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->tmp = tu_sandbox();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_sandbox_free(fx->ctx, fx->tmp);
	free(fx->conf);
	free(fx);
	return 0;
}

/* A stanza for service name whose source stack is the single entry
 * `entry` (one line, so it sits on line 3 of the stanza). */
static char *stanza(const char *name, const char *entry)
{
	char *s;

	assert_true(asprintf(&s, "%s: {\n"
			     "  hosts = [ \"https://%s.example.com\" ];\n"
			     "  source = ( { %s } );\n"
			     "};\n", name, name, entry) > 0);
	return s;
}

/* Open the given stanzas (NULL-terminated) leniently. Stanza i starts on
 * line 4 * i + 1, so its source entry is on line 4 * i + 3. */
static struct ka_ctx *open_lenient(struct fx *fx, const char *first, ...)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	va_list ap;

	assert_non_null(m);
	va_start(ap, first);
	for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
		fputs(s, m);
	va_end(ap);
	assert_int_equal(fclose(m), 0);
	free(fx->conf);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", text, 0600);
	free(text);
	ka_ctx_free(fx->ctx);
	fx->ctx = tu_ctx(fx->conf, KA_CTX_LENIENT);
	return fx->ctx;
}

/* The diagnostic starting with "CONF:LINE:", or fail. */
static const char *diag_at(struct fx *fx, int line)
{
	char *prefix;
	const char *found = NULL;

	assert_true(asprintf(&prefix, "%s:%d:", fx->conf, line) > 0);
	for (size_t i = 0; i < ka_ctx_diag_count(fx->ctx); i++) {
		const char *d = ka_ctx_diag(fx->ctx, i);

		if (strncmp(d, prefix, strlen(prefix)) == 0)
			found = d;
	}
	if (found == NULL) {
		for (size_t i = 0; i < ka_ctx_diag_count(fx->ctx); i++)
			fprintf(stderr, "diag: %s\n", ka_ctx_diag(fx->ctx, i));
		fail_msg("no diagnostic starts with %s", prefix);
	}
	free(prefix);
	return found;
}

static void assert_mentions(const char *text, const char *needle)
{
	if (!tu_contains(text, needle))
		fail_msg("\"%s\" does not mention \"%s\"", text, needle);
}

static const char *disabled(struct fx *fx, const char *name)
{
	const struct ka_service *s = ka_service_find(fx->ctx, name);

	assert_non_null(s);
	if (ka_service_error(s) == NULL)
		fail_msg("service %s should be disabled", name);
	return ka_service_error(s);
}

static void assert_usable(struct fx *fx, const char *name)
{
	const struct ka_service *s = ka_service_find(fx->ctx, name);
	struct ka_record *r = NULL;
	ka_error err;

	assert_non_null(s);
	if (ka_service_error(s) != NULL)
		fail_msg("service %s is disabled: %s", name,
			 ka_service_error(s));
	ka_error_clear(&err);
	assert_int_equal(ka_load(fx->ctx, name, NULL, &r, &err),
			 KA_ERR_NOT_FOUND);
	assert_null(r);
}

static char *file_entry(struct fx *fx)
{
	char *e;

	assert_true(asprintf(&e, "module = \"file\"; directory = \"%s/tok\";",
			     fx->tmp) > 0);
	return e;
}

static void test_abi_refused(void **state)
{
	struct fx *fx = *state;
	char *fe = file_entry(fx);
	char *good = stanza("good", fe);
	char *major = stanza("major", "module = \"test_abi_major\";");
	char *minor = stanza("minor", "module = \"test_abi_minor\";");
	char *v_major, *v_minor, *v_lib;
	const char *d;
	struct ka_record *r = NULL;
	ka_error err;

	assert_true(asprintf(&v_major, "%u.%u", KA_MODULE_ABI_MAJOR + 1,
			     KA_MODULE_ABI_MINOR) > 0);
	assert_true(asprintf(&v_minor, "%u.%u", KA_MODULE_ABI_MAJOR,
			     KA_MODULE_ABI_MINOR + 1) > 0);
	assert_true(asprintf(&v_lib, "%u.%u", KA_MODULE_ABI_MAJOR,
			     KA_MODULE_ABI_MINOR) > 0);
	open_lenient(fx, good, major, minor, NULL);

	d = diag_at(fx, 7);
	assert_mentions(d, "test_abi_major");
	assert_mentions(d, "ABI");
	assert_mentions(d, v_major);
	assert_mentions(d, v_lib);
	assert_mentions(disabled(fx, "major"), "ABI");

	d = diag_at(fx, 11);
	assert_mentions(d, "test_abi_minor");
	assert_mentions(d, "ABI");
	assert_mentions(d, v_minor);
	assert_mentions(disabled(fx, "minor"), "ABI");

	/* The disabled service fails closed; the good one works. */
	ka_error_clear(&err);
	assert_int_not_equal(ka_load(fx->ctx, "major", NULL, &r, &err), KA_OK);
	assert_null(r);
	assert_int_not_equal(err.code, KA_ERR_NOT_FOUND);
	assert_usable(fx, "good");
	free(v_major); free(v_minor); free(v_lib);
	free(good); free(major); free(minor); free(fe);
}

static void test_abi_strict_fails(void **state)
{
	struct fx *fx = *state;
	char *major = stanza("major", "module = \"test_abi_major\";");
	struct ka_options o = { 0 };
	struct ka_ctx *ctx = NULL;
	ka_error err;

	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", major, 0600);
	o.config = fx->conf;
	ka_error_clear(&err);
	assert_int_not_equal(ka_ctx_new(&o, &ctx, &err), KA_OK);
	assert_null(ctx);
	assert_mentions(err.text, "test_abi_major");
	free(major);
}

static void test_names_not_bare(void **state)
{
	static const char *const names[] = { "../file", "/tmp/x", "file.so" };
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *entry, *bad;
		const char *d;

		assert_true(asprintf(&entry, "module = \"%s\";", names[i]) > 0);
		bad = stanza("bad", entry);
		open_lenient(fx, bad, NULL);
		d = diag_at(fx, 3);
		assert_mentions(d, "module");
		disabled(fx, "bad");
		free(bad);
		free(entry);
	}
}

static void test_missing_module(void **state)
{
	struct fx *fx = *state;
	char *fe = file_entry(fx);
	char *good = stanza("good", fe);
	char *bad = stanza("bad", "module = \"nosuchmodule\";");
	const char *d, *moddir = getenv("KIWI_AUTH_MODULE_DIR");

	open_lenient(fx, bad, good, NULL);
	d = diag_at(fx, 3);
	assert_mentions(d, "nosuchmodule");
	assert_mentions(d, moddir);
	assert_mentions(disabled(fx, "bad"), "nosuchmodule");
	assert_usable(fx, "good");
	free(good); free(bad); free(fe);
}

static void test_unknown_argument(void **state)
{
	struct fx *fx = *state;
	char *fe = file_entry(fx);
	char *entry, *bad;
	const char *d;

	assert_true(asprintf(&entry, "%s colour = \"red\";", fe) > 0);
	bad = stanza("bad", entry);
	open_lenient(fx, bad, NULL);
	d = diag_at(fx, 3);
	assert_mentions(d, "colour");
	assert_mentions(d, "file");
	disabled(fx, "bad");
	free(bad); free(entry); free(fe);
}

static void test_wrong_type(void **state)
{
	struct fx *fx = *state;
	char *list = stanza("list",
			    "module = \"file\"; directory = [ \"/x\" ];");
	char *num = stanza("num", "module = \"env\"; variable = 5;");
	char *flag = stanza("flag", "module = \"env\"; variable = \"V\"; "
			    "account = true;");
	const char *d;

	open_lenient(fx, list, num, flag, NULL);
	d = diag_at(fx, 3);
	assert_mentions(d, "directory");
	assert_mentions(d, "string");
	d = diag_at(fx, 7);
	assert_mentions(d, "variable");
	d = diag_at(fx, 11);
	assert_mentions(d, "account");
	disabled(fx, "list");
	disabled(fx, "num");
	disabled(fx, "flag");
	free(list); free(num); free(flag);
}

static void test_missing_required(void **state)
{
	struct fx *fx = *state;
	char *bad = stanza("bad", "module = \"env\"; account = \"me\";");
	const char *d;

	open_lenient(fx, bad, NULL);
	d = diag_at(fx, 3);
	assert_mentions(d, "variable");
	assert_mentions(d, "env");
	assert_mentions(disabled(fx, "bad"), "variable");
	free(bad);
}

static void test_counting_module(void **state)
{
	struct fx *fx = *state;
	char *entry, *svc, *counter, *log;
	struct ka_record *r = NULL;
	ka_error err;

	counter = tu_path(fx->tmp, "calls");
	assert_true(asprintf(&entry, "module = \"test_counting\"; "
			     "counter = \"%s\"; expires_in = 3600; "
			     "scopes = [ \"c:read\" ];", counter) > 0);
	svc = stanza("cnt", entry);
	open_lenient(fx, svc, NULL);
	assert_int_equal(ka_ctx_diag_count(fx->ctx), 0);
	ka_error_clear(&err);
	assert_int_equal(ka_load(fx->ctx, "cnt", "acct", &r, &err), KA_OK);
	assert_true(ka_record_has_scope(r, "c:read"));
	assert_true(ka_record_expires_at(r) > 0);
	assert_int_equal(ka_store(fx->ctx, "cnt", "acct", r, &err), KA_OK);
	ka_record_free(r);
	log = tu_read(counter);
	assert_non_null(log);
	assert_mentions(log, "load cnt acct\n");
	assert_mentions(log, "store cnt acct\n");
	free(log); free(svc); free(entry); free(counter);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_abi_refused),
		T(test_abi_strict_fails),
		T(test_names_not_bare),
		T(test_missing_module),
		T(test_unknown_argument),
		T(test_wrong_type),
		T(test_missing_required),
		T(test_counting_module),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
