/* SPDX-License-Identifier: MIT */
/* driver.c: main() of every fuzz target. Without arguments it replays the
 * target's committed inputs, $KA_TOP_SRCDIR/tests/fuzz/corpus/NAME and
 * .../regressions/NAME (NAME is the program's name after "fuzz_"), through
 * LLVMFuzzerTestOneInput, as make check runs it. With arguments, a
 * --enable-fuzzing build hands them to libFuzzer; any other build replays
 * the files and directories named (options starting with '-' ignored). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifdef KA_LIBFUZZER
int LLVMFuzzerRunDriver(int *argc, char ***argv,
			int (*cb)(const uint8_t *data, size_t size));
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define INPUT_MAX (4 * 1024 * 1024)

char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s;

	if (memchr(data, '\0', size) != NULL || (s = malloc(size + 1)) == NULL)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}

/* Run one file, in a buffer of exactly its size (so that a read past the
 * end is caught by AddressSanitizer). 0, or -1 if it cannot be read. */
static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > INPUT_MAX ||
	    (buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL ||
	    (st.st_size > 0 &&
	     (n = read(fd, buf, (size_t)st.st_size)) != st.st_size)) {
		fprintf(stderr, "cannot read %s: %s\n", path,
			n < 0 || fd < 0 ? strerror(errno) : "short or too big");
		if (fd >= 0)
			close(fd);
		free(buf);
		return -1;
	}
	close(fd);
	LLVMFuzzerTestOneInput(buf, (size_t)st.st_size);
	free(buf);
	return 0;
}

/* Run a file, or every file of a directory (names starting with '.'
 * skipped); *count gets the number run. A missing directory is fine when
 * optional (a target with no regression yet). */
static int run_path(const char *path, int optional, unsigned *count)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		*count += 1;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *p;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&p, "%s/%s", path, e->d_name) < 0) {
			rc = -1;
			break;
		}
		rc = run_path(p, 0, count);
		free(p);
	}
	closedir(d);
	return rc;
}

/* The committed corpus and regressions of this target. */
static int replay_committed(const char *argv0, unsigned *count)
{
	const char *top = getenv("KA_TOP_SRCDIR");
	const char *base = strrchr(argv0, '/');
	const char *name = base != NULL ? base + 1 : argv0;
	char *corpus = NULL, *regress = NULL;
	int rc = -1;

	/* libtool may run the program as lt-fuzz_NAME. */
	if (strncmp(name, "lt-", 3) == 0)
		name += 3;
	if (strncmp(name, "fuzz_", 5) != 0 || top == NULL) {
		fprintf(stderr, "%s: run me as fuzz_NAME with KA_TOP_SRCDIR set "
			"(make check does), or name the inputs\n", argv0);
		return -1;
	}
	name += 5;
	if (asprintf(&corpus, "%s/tests/fuzz/corpus/%s", top, name) >= 0 &&
	    asprintf(&regress, "%s/tests/fuzz/regressions/%s", top, name) >= 0)
		rc = run_path(corpus, 0, count) != 0 ||
		     run_path(regress, 1, count) != 0 ? -1 : 0;
	if (rc == 0 && *count == 0) {
		fprintf(stderr, "%s: no committed input in %s\n", argv0, corpus);
		rc = -1;
	}
	free(corpus);
	free(regress);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int rc = 0;

#ifdef KA_LIBFUZZER
	/* libFuzzer calls LLVMFuzzerInitialize itself. */
	if (argc >= 2)
		return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
#endif
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2)
		rc = replay_committed(argv[0], &count);
	for (int i = 1; rc == 0 && i < argc; i++)
		if (argv[i][0] != '-')
			rc = run_path(argv[i], 0, &count);
	if (rc != 0)
		return 1;
	printf("%s: %u inputs replayed, no finding\n", argv[0], count);
	return 0;
}
