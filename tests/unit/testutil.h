/* SPDX-License-Identifier: MIT */
/* testutil.h: helpers shared by the cmocka unit tests (temp dirs, files,
 * contexts). Include after <cmocka.h>'s prerequisites. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "kiwiauth.h"

/* A fresh private directory under $TMPDIR (or /tmp); caller frees. */
char *tu_tmpdir(void);
/* Remove a tree (no symlinks followed). */
void tu_rmrf(const char *path);
/* Write content to dir/name (creating parent dirs 0700) with mode; returns
 * the full path (caller frees). */
char *tu_write(const char *dir, const char *name, const char *content,
	       mode_t mode);
/* Point HOME and XDG_{CONFIG,STATE,RUNTIME}_HOME/DIR under dir. */
void tu_isolate_env(const char *dir);
/* Open a context on config (file or dir), refreshing in-process; fails
 * the test on error. */
struct ka_ctx *tu_ctx(const char *config, unsigned flags);
/* 1 if haystack holds needle. */
int tu_contains(const char *haystack, const char *needle);
/* Read a whole file into a malloc'd string, or NULL. */
char *tu_read(const char *path);
/* dir/name; caller frees. */
char *tu_path(const char *dir, const char *name);
/* A fresh private directory that HOME and the XDG directories point into
 * (tu_tmpdir, then tu_isolate_env); give it back with tu_sandbox_free. */
char *tu_sandbox(void);
/* Frees ctx (NULL is fine), then removes the sandbox dir and frees it. */
void tu_sandbox_free(struct ka_ctx *ctx, char *dir);
/* How many calls of op ("load", "store", ...) the test_counting module
 * logged in its counter file (one "op service account" line a call). */
int tu_calls(const char *counter, const char *op);

/* Start python3 $KA_TOP_SRCDIR/tests/servers/SCRIPT PORTFILE LOGFILE with
 * both files in dir, named after tag. Returns its port on 127.0.0.1, or 0
 * when it does not come up (no python3, no KA_TOP_SRCDIR); *pid gets the
 * process and *log (caller frees) the log file. Stop it with
 * tu_server_stop. */
unsigned tu_server(const char *dir, const char *script, const char *tag,
		   pid_t *pid, char **log);
void tu_server_stop(pid_t pid);

/* The usual fixture: a sandbox, the path of a counter file in it for the
 * test_counting module (not created), and the context a test opens. */
struct tu_fixture {
	char *dir;
	char *counter;
	struct ka_ctx *ctx;
};
struct tu_fixture *tu_fixture_new(void);
/* cmocka teardown for a tu_fixture in *state. */
int tu_fixture_teardown(void **state);

#endif
