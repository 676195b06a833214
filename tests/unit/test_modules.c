/* SPDX-License-Identifier: MIT */
/* test_modules.c: each built module exports only `ka_module`, aptly named. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "kiwiauth-module.h"

static const char *moddir;

struct modfile {
	char *path;
	char *name;		/* basename without ".so" */
};

static struct modfile *mods;
static size_t nmods;

static int is_test_module(const char *name)
{
	return strncmp(name, "test_", 5) == 0;
}

static void check_abi(const struct ka_module *m, const char *name)
{
	if (strcmp(name, "test_abi_major") == 0) {
		assert_int_equal(m->abi_major, KA_MODULE_ABI_MAJOR + 1);
		return;
	}
	if (strcmp(name, "test_abi_old") == 0) {
		assert_int_equal(m->abi_major, KA_MODULE_ABI_MAJOR - 1);
		return;
	}
	assert_int_equal(m->abi_major, KA_MODULE_ABI_MAJOR);
	if (strcmp(name, "test_abi_minor") == 0)
		assert_int_equal(m->abi_minor, KA_MODULE_ABI_MINOR + 1);
	else
		assert_true(m->abi_minor <= KA_MODULE_ABI_MINOR);
}

static void check_ops(const struct ka_module *m)
{
	switch (m->kind) {
	case KA_MODULE_SOURCE:
		assert_non_null(m->source);
		assert_null(m->refresh);
		assert_non_null(m->source->load);
		/* Writable means both store and erase; read-only neither. */
		assert_int_equal(m->source->store == NULL,
				 m->source->erase == NULL);
		break;
	case KA_MODULE_REFRESH:
		assert_non_null(m->refresh);
		assert_null(m->source);
		assert_non_null(m->refresh->refresh);
		break;
	default:
		fail_msg("module %s: unknown kind %d", m->name, (int)m->kind);
	}
}

static int arg_name_ok(const char *s)
{
	if (s == NULL ||
	    !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static void check_args(const struct ka_module *m)
{
	for (const struct ka_arg_spec *a = m->args; a && a->name; a++) {
		assert_true(arg_name_ok(a->name));
		assert_true(strcmp(a->name, "module") != 0);
		assert_true(strcmp(a->name, "control") != 0);
		assert_true(a->type >= KA_ARG_STRING &&
			    a->type <= KA_ARG_STRING_LIST);
		for (const struct ka_arg_spec *b = m->args; b != a; b++)
			assert_true(strcmp(a->name, b->name) != 0);
	}
}

/* The defined dynamic symbols of path, as nm lists them, one per line. */
static char *defined_symbols(const char *path)
{
	char *cmd, *out = NULL, line[512];
	size_t len = 0;
	FILE *p, *m;

	assert_null(strchr(path, '\''));
	assert_true(asprintf(&cmd, "nm -D --defined-only '%s'", path) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	m = open_memstream(&out, &len);
	assert_non_null(m);
	while (fgets(line, sizeof(line), p) != NULL) {
		char *sym = strrchr(line, ' ');

		fputs(sym != NULL ? sym + 1 : line, m);
	}
	assert_int_equal(fclose(m), 0);
	if (pclose(p) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
	return out;
}

static void test_module(void **state)
{
	const struct modfile *f = *state;
	const struct ka_module *m;
	char *syms;
	void *h;

	h = dlopen(f->path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		fail_msg("dlopen(%s): %s", f->path, dlerror());
	m = dlsym(h, "ka_module");
	if (m == NULL)
		fail_msg("%s does not export ka_module", f->path);
	assert_non_null(m->name);
	assert_string_equal(m->name, f->name);
	check_abi(m, f->name);
	check_ops(m);
	check_args(m);
	if (!is_test_module(f->name))
		assert_non_null(m->init);
	syms = defined_symbols(f->path);
	if (strcmp(syms, "ka_module\n") != 0)
		fail_msg("%s: defined dynamic symbols must be exactly "
			 "ka_module, got:\n%s", f->path, syms);
	free(syms);
	assert_int_equal(dlclose(h), 0);
}

/* The lines of a command's output, sorted and without duplicates. */
static char *command_lines(const char *cmd)
{
	char *out = NULL, line[512];
	size_t len = 0;
	FILE *p = popen(cmd, "r"), *m;

	assert_non_null(p);
	assert_non_null(m = open_memstream(&out, &len));
	while (fgets(line, sizeof(line), p) != NULL)
		fputs(line, m);
	assert_int_equal(fclose(m), 0);
	if (pclose(p) != 0)
		fail_msg("%s failed", cmd);
	return out;
}

/* Report every line of a that b lacks (both newline-separated). */
static void missing_lines(const char *a, const char *b, const char *what)
{
	int bad = 0;

	for (const char *l = a, *e; *l != '\0'; l = e + 1) {
		char name[256];

		if ((e = strchr(l, '\n')) == NULL)
			break;
		snprintf(name, sizeof(name), "\n%.*s\n", (int)(e - l), l);
		if (strncmp(b, name + 1, strlen(name) - 1) != 0 &&
		    strstr(b, name) == NULL) {
			fprintf(stderr, "%s: %s", what, name + 1);
			bad = 1;
		}
	}
	if (bad)
		fail_msg("the library's exports and kiwiauth.h differ");
}

/* libkiwiauth exports exactly the functions kiwiauth.h declares: nothing
 * internal leaks out, nothing declared is missing. */
static void test_library_exports(void **state)
{
	const char *src = getenv("KA_TOP_SRCDIR"), *build = getenv("KA_TOP_BUILDDIR");
	char *cmd, *declared, *exported;

	(void)state;
	if (src == NULL || build == NULL)
		fail_msg("KA_TOP_SRCDIR and KA_TOP_BUILDDIR must be set");
	assert_null(strchr(src, '\''));
	assert_null(strchr(build, '\''));
	assert_true(asprintf(&cmd, "sed -n 's/.*[ *]\\(ka_[a-z_0-9]*\\)(.*/\\1/p' "
			     "'%s/src/include/kiwiauth.h' | sort -u", src) > 0);
	declared = command_lines(cmd);
	free(cmd);
	assert_true(asprintf(&cmd, "nm -D --defined-only '%s/.libs/libkiwiauth.so' "
			     "| awk '$2 != \"A\" { sub(\"@.*\", \"\", $3); print $3 }' | sort -u", build) > 0);
	exported = command_lines(cmd);
	free(cmd);
	assert_true(strlen(declared) > 0);
	missing_lines(declared, exported, "declared in kiwiauth.h, not exported");
	missing_lines(exported, declared, "exported, not declared in kiwiauth.h");
	free(declared);
	free(exported);
}

static void test_enough_modules(void **state)
{
	size_t real = 0;

	for (size_t i = 0; i < nmods; i++)
		real += !is_test_module(mods[i].name);
	if (nmods < 3)
		fail_msg("only %zu modules in %s", nmods, moddir);
	/* file and env at least; keyring may be built separately. */
	assert_true(real >= 2);
}

static void find_modules(void)
{
	DIR *d = opendir(moddir);
	struct dirent *de;

	if (d == NULL) {
		fprintf(stderr, "cannot open module dir %s\n", moddir);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n <= 3 || strcmp(de->d_name + n - 3, ".so") != 0)
			continue;
		mods = realloc(mods, (nmods + 1) * sizeof(*mods));
		if (mods == NULL)
			exit(1);
		if (asprintf(&mods[nmods].path, "%s/%s", moddir,
			     de->d_name) < 0)
			exit(1);
		mods[nmods].name = strndup(de->d_name, n - 3);
		nmods++;
	}
	closedir(d);
}

int main(void)
{
	struct CMUnitTest *tests;
	int ret;

	moddir = getenv("KIWI_AUTH_MODULE_DIR");
	if (moddir == NULL || *moddir == '\0') {
		fprintf(stderr, "skip: KIWI_AUTH_MODULE_DIR is not set\n");
		return 77;
	}
	if (system("nm --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skip: nm (binutils) is not installed\n");
		return 77;
	}
	find_modules();
	tests = calloc(nmods + 2, sizeof(*tests));
	if (tests == NULL)
		return 1;
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_enough_modules);
	tests[1] = (struct CMUnitTest)cmocka_unit_test(test_library_exports);
	for (size_t i = 0; i < nmods; i++)
		tests[i + 2] = (struct CMUnitTest){
			.name = mods[i].name,
			.test_func = test_module,
			.initial_state = &mods[i],
		};
	ret = _cmocka_run_group_tests("modules", tests, nmods + 2, NULL, NULL);
	for (size_t i = 0; i < nmods; i++) {
		free(mods[i].path);
		free(mods[i].name);
	}
	free(mods);
	free(tests);
	return ret;
}
