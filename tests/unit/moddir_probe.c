/* SPDX-License-Identifier: MIT */
/* moddir_probe.c: print the module directory a context chooses, and its
 * log, for test_loader's check that KIWI_AUTH_MODULE_DIR is ignored in a
 * setuid process. Usage: moddir_probe CONFIG */
#include "config.h"

#include <stdio.h>

#include "kai.h"

/* Run setuid, the sanitizers cannot read this process's environment
 * (/proc/self/environ is then root's) and LeakSanitizer cannot trace it:
 * no leak check in the probe. Unused outside sanitizer builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

static void to_stderr(int level, const char *msg, void *data)
{
	(void)data;
	fprintf(stderr, "log %d: %s\n", level, msg);
}

int main(int argc, char **argv)
{
	struct ka_options o = { .flags = KA_CTX_LENIENT | KA_CTX_NO_MODULES,
				.log = to_stderr };
	struct ka_ctx *ctx = NULL;
	ka_error err;

	if (argc != 2)
		return 2;
	o.config = argv[1];
	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK) {
		fprintf(stderr, "moddir_probe: %s\n", err.text);
		return 1;
	}
	printf("%s\n", ctx->module_dir);
	fflush(stdout);
	ka_ctx_free(ctx);
	return 0;
}
