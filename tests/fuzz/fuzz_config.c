/* SPDX-License-Identifier: MIT */
/* fuzz_config.c: configuration text through the loader (ka_ctx_new on a
 * file holding the input: libconfig, then every stanza and host pattern;
 * modules are not loaded). Every service is usable or says why. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "kai.h"

static char path[4096];

static void quiet(int level, const char *msg, void *data)
{
	(void)level;
	(void)msg;
	(void)data;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char dir[2048];

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/ka-fuzz-config.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(path, sizeof(path), "%s/kiwi-auth.conf", dir);
	return 0;
}

/* A new file each time: ext4 flushes a file truncated and rewritten at
 * each close, which would slow the run a hundredfold. */
static void write_input(const uint8_t *data, size_t size)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	fuzz_assert(fd >= 0);
	fuzz_assert(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_options o = { .config = path, .log = quiet,
				.flags = KA_CTX_LENIENT | KA_CTX_NO_MODULES };
	struct ka_ctx *ctx = NULL;
	enum ka_status st;
	ka_error err;

	write_input(data, size);
	ka_error_clear(&err);
	st = ka_ctx_new(&o, &ctx, &err);
	if (st != KA_OK) {
		fuzz_assert(ctx == NULL && err.text[0] != '\0');
		return 0;
	}
	for (size_t i = 0; i < ka_ctx_diag_count(ctx); i++)
		fuzz_assert(ka_ctx_diag(ctx, i)[0] != '\0');
	for (size_t i = 0; i < ka_service_count(ctx); i++) {
		const struct ka_service *s = ka_service_at(ctx, i);

		fuzz_assert(ka_service_name(s) != NULL);
		/* A service is usable with a proper name, or says why not. */
		if (ka_service_error(s) != NULL) {
			fuzz_assert(ka_service_error(s)[0] != '\0');
			continue;
		}
		fuzz_assert(kai_is_identifier(ka_service_name(s)));
		for (size_t j = 0; j < ka_service_source_count(s); j++)
			fuzz_assert(ka_service_source_module(s, j) != NULL);
	}
	ka_ctx_free(ctx);
	return 0;
}
