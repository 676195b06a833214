/* SPDX-License-Identifier: MIT */
/* test_loader.c: loading modules via ka_ctx_new: ABI, names, arguments,
 * the trusted module directory and loading through the checked file. */
#include "config.h"

#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A module built for the ABI before the major bump of the first release
 * (1.2) is refused, and the message names its version and the library's. */
static void test_abi_old_major_refused(void **state)
{
	struct fx *fx = *state;
	char *fe = file_entry(fx);
	char *good = stanza("good", fe);
	char *old = stanza("old", "module = \"test_abi_old\";");
	char *v_lib;
	const char *d;

	assert_int_equal(KA_MODULE_ABI_MAJOR, 2);
	assert_true(asprintf(&v_lib, "%u.%u", KA_MODULE_ABI_MAJOR,
			     KA_MODULE_ABI_MINOR) > 0);
	open_lenient(fx, good, old, NULL);
	d = diag_at(fx, 7);
	assert_mentions(d, "test_abi_old");
	assert_mentions(d, "has ABI 1.2");
	assert_mentions(d, v_lib);
	assert_mentions(disabled(fx, "old"), "ABI 1.2");
	assert_usable(fx, "good");
	free(v_lib);
	free(good); free(old); free(fe);
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

/* ---- the module directory: trusted, checked on every component --------- */

/* A module directory of our own under the sandbox: DIR/mods holding a
 * copy of the built file module. */
static char *own_moddir(struct fx *fx)
{
	char *src, *dst, *dir, cmd[4096];

	assert_true(asprintf(&dir, "%s/mods", fx->tmp) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_true(asprintf(&src, "%s/file.so", getenv("KIWI_AUTH_MODULE_DIR")) > 0);
	assert_true(asprintf(&dst, "%s/file.so", dir) > 0);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0644 '%s'", src, dst, dst);
	assert_int_equal(system(cmd), 0);
	free(src);
	free(dst);
	return dir;
}

struct logbuf {
	char text[4096];
};

static void log_into(int level, const char *msg, void *data)
{
	struct logbuf *lb = data;
	char line[1200];

	snprintf(line, sizeof(line), "%d %s\n", level, msg);
	strncat(lb->text, line, sizeof(lb->text) - strlen(lb->text) - 1);
}

/* Open one file-source stanza with module_dir, leniently. */
static struct ka_ctx *open_with_dir(struct fx *fx, const char *moddir,
				    struct logbuf *lb)
{
	struct ka_options o = { .module_dir = moddir, .flags = KA_CTX_LENIENT,
				.log = log_into, .log_data = lb };
	char *entry = file_entry(fx), *text = stanza("svc", entry);
	ka_error err;

	free(fx->conf);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", text, 0600);
	free(text);
	free(entry);
	ka_ctx_free(fx->ctx);
	fx->ctx = NULL;
	o.config = fx->conf;
	ka_error_clear(&err);
	assert_int_equal(ka_ctx_new(&o, &fx->ctx, &err), KA_OK);
	return fx->ctx;
}

static void assert_refused(struct fx *fx, const char *moddir,
			   const char *path, const char *why)
{
	struct logbuf lb = { "" };
	const char *e;

	open_with_dir(fx, moddir, &lb);
	e = disabled(fx, "svc");
	assert_mentions(e, path);
	assert_mentions(e, why);
}

static void test_trusted_dir_loads(void **state)
{
	struct fx *fx = *state;
	struct logbuf lb = { "" };
	char *dir = own_moddir(fx);

	open_with_dir(fx, dir, &lb);
	assert_usable(fx, "svc");
	free(dir);
}

static void test_dir_group_writable(void **state)
{
	struct fx *fx = *state;
	char *dir = own_moddir(fx);

	assert_int_equal(chmod(dir, 0775), 0);
	assert_refused(fx, dir, dir, "writable by group or others (mode 0775)");
	assert_refused(fx, dir, dir, "chmod go-w");
	assert_int_equal(chmod(dir, 0757), 0);
	assert_refused(fx, dir, dir, "writable by group or others (mode 0757)");
	free(dir);
}

/* A component above the module directory counts as much as the
 * directory itself; only a root-owned sticky one (as /tmp) may be
 * writable by others, since nobody else can rename what it holds. */
static void test_parent_writable(void **state)
{
	struct fx *fx = *state;
	char *dir = own_moddir(fx);

	assert_int_equal(chmod(fx->tmp, 0777), 0);
	assert_refused(fx, dir, fx->tmp, "writable by group or others (mode 0777)");
	assert_int_equal(chmod(fx->tmp, 01777), 0);
	if (geteuid() != 0)
		assert_refused(fx, dir, fx->tmp, "mode 1777");
	else {
		/* root owns the sandbox: a sticky root-owned parent is fine
		 * (as /tmp is); owned by another user it is not. */
		struct logbuf lb = { "" };

		open_with_dir(fx, dir, &lb);
		assert_usable(fx, "svc");
		assert_int_equal(chown(fx->tmp, 65534, 65534), 0);
		assert_refused(fx, dir, fx->tmp, "owned by uid 65534");
		assert_int_equal(chown(fx->tmp, 0, 0), 0);
	}
	assert_int_equal(chmod(fx->tmp, 0700), 0);
	free(dir);
}

static void test_dir_owned_by_other(void **state)
{
	struct fx *fx = *state;
	char *dir = own_moddir(fx);

	if (geteuid() != 0) {
		/* Only root can give a directory away: the other-owner case
		 * is checked where the tests run as root (CI). The check is
		 * the same code as for a parent, tested above. */
		free(dir);
		return;
	}
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_refused(fx, dir, dir, "owned by uid 65534");
	assert_refused(fx, dir, dir, "owned by root or you");
	free(dir);
}

static void test_module_file_refused(void **state)
{
	struct fx *fx = *state;
	char *dir = own_moddir(fx), *so, *real;

	assert_true(asprintf(&so, "%s/file.so", dir) > 0);
	assert_true(asprintf(&real, "%s/real-file.so", dir) > 0);
	assert_int_equal(chmod(so, 0664), 0);
	assert_refused(fx, dir, so, "refusing module");
	assert_refused(fx, dir, so, "writable by group or others");
	assert_int_equal(chmod(so, 0644), 0);
	assert_int_equal(rename(so, real), 0);
	assert_int_equal(symlink(real, so), 0);
	assert_refused(fx, dir, so, "symbolic link");
	free(so);
	free(real);
	free(dir);
}

static void test_relative_dir_refused(void **state)
{
	struct fx *fx = *state;

	assert_refused(fx, "modules/.libs", "modules/.libs",
		       "not an absolute path");
}

/* The loaded object is the descriptor that was checked: the dynamic
 * loader knows it as /proc/self/fd/N, and N is the module file. */
static int find_fd_object(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *want = data;
	char target[4096];
	ssize_t n;

	(void)size;
	if (strncmp(info->dlpi_name, "/proc/self/fd/", 14) != 0)
		return 0;
	n = readlink(info->dlpi_name, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, want) == 0;
}

static void test_loaded_through_descriptor(void **state)
{
	struct fx *fx = *state;
	struct logbuf lb = { "" };
	char *dir = own_moddir(fx), *so, *real;

	assert_true(asprintf(&so, "%s/file.so", dir) > 0);
	real = realpath(so, NULL);
	assert_non_null(real);
	open_with_dir(fx, dir, &lb);
	assert_usable(fx, "svc");
	assert_true(dl_iterate_phdr(find_fd_object, real));
	ka_ctx_free(fx->ctx);
	fx->ctx = NULL;
	assert_false(dl_iterate_phdr(find_fd_object, real));
	free(real);
	free(so);
	free(dir);
}

/* ---- KIWI_AUTH_MODULE_DIR ---------------------------------------------------- */

static void test_env_dir_logged(void **state)
{
	struct fx *fx = *state;
	struct logbuf lb = { "" };
	struct ka_options o = { .flags = KA_CTX_LENIENT | KA_CTX_NO_MODULES,
				.log = log_into, .log_data = &lb };
	char *text = stanza("svc", "module = \"env\"; variable = \"X\";");
	ka_error err;

	free(fx->conf);
	fx->conf = tu_write(fx->tmp, "kiwi-auth.conf", text, 0600);
	free(text);
	o.config = fx->conf;
	ka_error_clear(&err);
	assert_int_equal(ka_ctx_new(&o, &fx->ctx, &err), KA_OK);
	assert_mentions(lb.text, "6 modules from ");
	assert_mentions(lb.text, getenv("KIWI_AUTH_MODULE_DIR"));
	assert_mentions(lb.text, "(KIWI_AUTH_MODULE_DIR)");
}

/* Run the probe setuid to nobody (a process with privileges it was not
 * started with): the variable is ignored and that is logged. Needs root
 * to make the setuid copy, which CI has. */
static void test_env_dir_ignored_setuid(void **state)
{
	struct fx *fx = *state;
	const char *build = getenv("KA_TOP_BUILDDIR");
	char *dir, *probe, *conf, cmd[8192], out[4096] = "", err[4096] = "";
	struct statvfs vfs;
	FILE *p;

	if (geteuid() != 0) {
		fprintf(stderr, "note: not root, the setuid case is checked in CI\n");
		return;
	}
	assert_non_null(build);
	/* Under the build tree: /tmp may be mounted nosuid. */
	assert_true(asprintf(&dir, "%s/tests/unit/suid.%d", build, (int)getpid()) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(statvfs(dir, &vfs), 0);
	if (vfs.f_flag & ST_NOSUID)
		fail_msg("%s is on a nosuid file system: the setuid case cannot "
			 "be checked there", dir);
	assert_true(asprintf(&probe, "%s/moddir_probe", dir) > 0);
	conf = tu_write(dir, "kiwi-auth.conf", "", 0644);
	snprintf(cmd, sizeof(cmd), "cp '%s/tests/unit/moddir_probe' '%s' && "
		 "chown 65534:65534 '%s' && chmod 06755 '%s'", build, probe,
		 probe, probe);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "ASAN_OPTIONS=detect_leaks=0 "
		 "KIWI_AUTH_MODULE_DIR=%s/evil '%s' '%s' 2>'%s/err'", fx->tmp,
		 probe, conf, dir);
	assert_non_null(p = popen(cmd, "r"));
	assert_non_null(fgets(out, sizeof(out), p));
	assert_int_equal(pclose(p), 0);
	snprintf(cmd, sizeof(cmd), "%s/err", dir);
	assert_non_null(p = fopen(cmd, "r"));
	assert_true(fread(err, 1, sizeof(err) - 1, p) > 0);
	fclose(p);
	if (strcmp(out, KA_MODULEDIR "\n") != 0)
		fail_msg("setuid probe used [%s], not " KA_MODULEDIR, out);
	assert_mentions(err, "KIWI_AUTH_MODULE_DIR is ignored");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(conf);
	free(probe);
	free(dir);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_abi_refused),
		T(test_abi_old_major_refused),
		T(test_abi_strict_fails),
		T(test_names_not_bare),
		T(test_missing_module),
		T(test_unknown_argument),
		T(test_wrong_type),
		T(test_missing_required),
		T(test_counting_module),
		T(test_trusted_dir_loads),
		T(test_dir_group_writable),
		T(test_parent_writable),
		T(test_dir_owned_by_other),
		T(test_module_file_refused),
		T(test_relative_dir_refused),
		T(test_loaded_through_descriptor),
		T(test_env_dir_logged),
		T(test_env_dir_ignored_setuid),
	};

	if (getenv("KIWI_AUTH_MODULE_DIR") == NULL) {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
