/* SPDX-License-Identifier: MIT */
/* testutil.c: helpers shared by the unit tests. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	assert_true(asprintf(&path, "%s/ka-test.XXXXXX", base) > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	chmod(p, 0700);
	return remove(p);
}

void tu_rmrf(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkparents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0)
			assert_int_equal(errno, EEXIST);
		*p = '/';
	}
}

char *tu_write(const char *dir, const char *name, const char *content,
	       mode_t mode)
{
	char *path;
	FILE *f;

	path = tu_path(dir, name);
	mkparents(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void setdir(const char *var, const char *dir, const char *sub)
{
	char *p = tu_path(dir, sub);

	mkdir(p, 0700);
	setenv(var, p, 1);
	free(p);
}

void tu_isolate_env(const char *dir)
{
	setdir("HOME", dir, "home");
	setdir("XDG_CONFIG_HOME", dir, "config");
	setdir("XDG_STATE_HOME", dir, "state");
	setdir("XDG_RUNTIME_DIR", dir, "run");
	unsetenv("KIWI_AUTH_CONFIG");
}

struct ka_ctx *tu_ctx(const char *config, unsigned flags)
{
	/* Unit tests look at one process: their sources and refresh modules
	 * count calls in it, so refreshes run here, not in the refresher
	 * (the script tests run that). */
	struct ka_options o = { .config = config,
				.flags = flags | KA_CTX_REFRESH_IN_PROCESS };
	struct ka_ctx *ctx = NULL;
	ka_error err;
	enum ka_status st;

	ka_error_clear(&err);
	st = ka_ctx_new(&o, &ctx, &err);
	if (st != KA_OK)
		fail_msg("ka_ctx_new(%s): %s", config, err.text);
	return ctx;
}

int tu_contains(const char *haystack, const char *needle)
{
	return haystack != NULL && strstr(haystack, needle) != NULL;
}

char *tu_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f == NULL)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

char *tu_path(const char *dir, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

char *tu_sandbox(void)
{
	char *dir = tu_tmpdir();

	tu_isolate_env(dir);
	return dir;
}

void tu_sandbox_free(struct ka_ctx *ctx, char *dir)
{
	ka_ctx_free(ctx);
	tu_rmrf(dir);
	free(dir);
}

int tu_calls(const char *counter, const char *op)
{
	char *text = tu_read(counter);
	size_t len = strlen(op);
	int n = 0;

	for (char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	     p = p != NULL ? p + 1 : p)
		if (strncmp(p, op, len) == 0 && p[len] == ' ')
			n++;
	free(text);
	return n;
}

struct tu_fixture *tu_fixture_new(void)
{
	struct tu_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_sandbox();
	f->counter = tu_path(f->dir, "counter");
	return f;
}

int tu_fixture_teardown(void **state)
{
	struct tu_fixture *f = *state;

	tu_sandbox_free(f->ctx, f->dir);
	free(f->counter);
	free(f);
	return 0;
}

unsigned tu_server(const char *dir, const char *script, const char *tag,
		   pid_t *pid, char **log)
{
	const char *top = getenv("KA_TOP_SRCDIR");
	char path[4096], portfile[4096], buf[16];
	unsigned port = 0;
	FILE *p;

	*pid = -1;
	*log = NULL;
	if (top == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/tests/servers/%s", top, script);
	snprintf(portfile, sizeof(portfile), "%s/%s.port", dir, tag);
	assert_true(asprintf(log, "%s/%s.log", dir, tag) > 0);
	if ((*pid = fork()) == 0) {
		execlp("python3", "python3", path, portfile, *log, (char *)NULL);
		_exit(127);
	}
	for (int n = 0; n < 200 && port == 0; n++) {
		struct timespec ts = { 0, 25 * 1000000L };

		if ((p = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), p) != NULL)
				port = (unsigned)strtoul(buf, NULL, 10);
			fclose(p);
		}
		if (port == 0)
			nanosleep(&ts, NULL);
	}
	return port;
}

void tu_server_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}
