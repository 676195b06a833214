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
/* Open a context on config (file or dir); fails the test on error. */
struct ka_ctx *tu_ctx(const char *config, unsigned flags);
/* 1 if haystack holds needle. */
int tu_contains(const char *haystack, const char *needle);
/* Read a whole file into a malloc'd string, or NULL. */
char *tu_read(const char *path);

#endif
