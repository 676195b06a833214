/* SPDX-License-Identifier: MIT */
/* statefile.c: the user's private state directory and files written into
 * it (or a config directory) atomically: temporary file, fsync, rename or
 * link, fsync of the directory, so a failure never leaves half a file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

int kai_state_dir(char *buf, size_t n)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	int r;

	if (state != NULL && state[0] == '/')
		r = snprintf(buf, n, "%s/kiwi-auth", state);
	else if (home != NULL && home[0] == '/')
		r = snprintf(buf, n, "%s/.local/state/kiwi-auth", home);
	else
		return -1;
	return r > 0 && (size_t)r < n ? 0 : -1;
}

int kai_make_dirs(const char *path)
{
	char buf[PATH_MAX];
	struct stat sb;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		char c;

		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(buf, &sb) != 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A new temporary file ".NAME.XXXXXXXXXXXX" in dirfd, mode 0600. */
static int create_temp(int dirfd, const char *name, char *tmp, size_t n)
{
	for (int tries = 0; tries < 8; tries++) {
		unsigned char rnd[6];
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		if (snprintf(tmp, n, ".%s.%02x%02x%02x%02x%02x%02x", name,
			     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			     rnd[5]) >= (int)n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Fill, sync and move tmp into place. Returns 0, or -1 with errno set
 * and *what naming the step that failed. */
static int commit(int dirfd, int fd, const char *tmp, const char *name,
		  const char *buf, size_t len, unsigned flags,
		  const char **what)
{
	int e;

	*what = "write";
	kai_test_point("temp-created");
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	kai_test_point("temp-written");
	*what = "close";
	if (close(fd) != 0)
		return -1;
	*what = "replace";
	if (!(flags & KAI_WRITE_NOREPLACE))
		return renameat(dirfd, tmp, dirfd, name);
	*what = "create";
	if (linkat(dirfd, tmp, dirfd, name, 0) != 0)
		return -1;
	unlinkat(dirfd, tmp, 0);
	return 0;
}

enum ka_status kai_write_atomic(const char *dir, const char *name,
				const char *buf, size_t len, unsigned flags,
				ka_error *err)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	enum ka_status st;

	if (dirfd < 0) {
		kai_error_set(err, KA_ERR_IO, "cannot open the directory %s: %s",
			      dir, strerror(errno));
		return KA_ERR_IO;
	}
	st = kai_write_atomic_at(dirfd, dir, name, buf, len, flags, err);
	close(dirfd);
	return st;
}

enum ka_status kai_write_atomic_at(int dirfd, const char *dir,
				   const char *name, const char *buf,
				   size_t len, unsigned flags, ka_error *err)
{
	const char *what = "create a temporary file for";
	char tmp[NAME_MAX + 1];
	int fd, e;

	if ((fd = create_temp(dirfd, name, tmp, sizeof(tmp))) < 0)
		goto fail;
	if (commit(dirfd, fd, tmp, name, buf, len, flags, &what) != 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		goto fail;
	}
	what = "sync the directory of";
	if (fsync(dirfd) != 0)
		goto fail;
	return KA_OK;
fail:
	e = errno;
	if (e == EEXIST && (flags & KAI_WRITE_NOREPLACE)) {
		kai_error_set(err, KA_ERR_IO, "%s/%s already exists: it was "
			      "left as it is", dir, name);
		return KA_ERR_IO;
	}
	kai_error_set(err, KA_ERR_IO, "cannot %s %s/%s: %s", what, dir, name,
		      strerror(e));
	return KA_ERR_IO;
}
