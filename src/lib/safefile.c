/* SPDX-License-Identifier: MIT */
/* safefile.c: open a file kiwi-auth trusts (config, module) and check the
 * fd we read, not the path: regular file, right owner, not writable by
 * group or other; and check a trusted directory with every directory
 * above it. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

static int owner_ok(uid_t uid, enum kai_owner owner)
{
	if (owner == KAI_OWNER_PRIVATE)
		return uid == geteuid();
	if (uid == 0)
		return 1;
	return owner == KAI_OWNER_USER && uid == geteuid();
}

enum ka_status kai_open_checked(const char *path, enum kai_owner owner,
				int *fd_out, ka_error *err)
{
	struct stat st;
	int fd;

	*fd_out = -1;
	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP) {
			kai_error_set(err, KA_ERR_PERMISSION,
				      "%s: is a symbolic link; kiwi-auth reads only "
				      "regular files here (replace the link with the "
				      "file)", path);
			return KA_ERR_PERMISSION;
		}
		kai_error_set(err, errno == ENOENT ? KA_ERR_CONFIG : KA_ERR_IO,
			      "%s: cannot open: %s", path, strerror(errno));
		return errno == ENOENT ? KA_ERR_CONFIG : KA_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		kai_error_set(err, KA_ERR_IO, "%s: cannot stat: %s", path,
			      strerror(errno));
		close(fd);
		return KA_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		kai_error_set(err, KA_ERR_PERMISSION,
			      "%s: not a regular file", path);
		close(fd);
		return KA_ERR_PERMISSION;
	}
	if (!owner_ok(st.st_uid, owner)) {
		kai_error_set(err, KA_ERR_PERMISSION,
			      "%s: owned by uid %u, must be owned by %s; run "
			      "'chown %s %s'", path, (unsigned)st.st_uid,
			      owner == KAI_OWNER_ROOT ? "root" :
			      owner == KAI_OWNER_PRIVATE ? "you" : "you or root",
			      owner == KAI_OWNER_ROOT ? "root" : "\"$(id -u)\"",
			      path);
		close(fd);
		return KA_ERR_PERMISSION;
	}
	if (owner == KAI_OWNER_PRIVATE && (st.st_mode & 077) != 0) {
		kai_error_set(err, KA_ERR_PERMISSION,
			      "%s: open to group or others (mode %04o) and it "
			      "may hold a secret; run 'chmod 600 %s'", path,
			      (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return KA_ERR_PERMISSION;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		kai_error_set(err, KA_ERR_PERMISSION,
			      "%s: writable by group or others (mode %04o); run "
			      "'chmod go-w %s'", path,
			      (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return KA_ERR_PERMISSION;
	}
	*fd_out = fd;
	return KA_OK;
}

enum ka_status kai_read_checked(const char *path, enum kai_owner owner,
				size_t max, char **out, ka_error *err)
{
	enum ka_status st;
	struct stat sb;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd;

	*out = NULL;
	st = kai_open_checked(path, owner, &fd, err);
	if (st != KA_OK)
		return st;
	/* Room for the file as it is now, and one byte to see it grow (or
	 * pass max): a small file costs a small buffer. */
	cap = fstat(fd, &sb) == 0 && sb.st_size >= 0 &&
	      (uintmax_t)sb.st_size < max ? (size_t)sb.st_size : max;
	buf = malloc(cap + 2);
	if (buf == NULL) {
		st = KA_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kai_error_set(err, KA_ERR_IO, "%s: read failed: %s",
				      path, strerror(errno));
			st = KA_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > cap) {
			kai_error_set(err, KA_ERR_CONFIG, len > max ?
				      "%s: larger than %zu bytes" :
				      "%s: changed while it was read (%zu "
				      "bytes at most); try again", path, max);
			st = KA_ERR_CONFIG;
			goto out;
		}
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "%s: contains a NUL byte",
			      path);
		st = KA_ERR_CONFIG;
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return st;
}

/* One directory of a trusted chain. A root-owned sticky directory (such
 * as /tmp) may be writable by others above the trusted one: nobody else
 * can rename or remove what it holds. */
static enum ka_status dir_ok(const char *path, int last, const char *what,
			     ka_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		kai_error_set(err, KA_ERR_IO, "%s: cannot stat: %s", path,
			      strerror(errno));
		return KA_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		kai_error_set(err, KA_ERR_PERMISSION, "%s: not a directory", path);
		return KA_ERR_PERMISSION;
	}
	if (!owner_ok(st.st_uid, KAI_OWNER_USER)) {
		kai_error_set(err, KA_ERR_PERMISSION, "%s: owned by uid %u; the "
			      "%s and every directory above it must be owned by "
			      "root or you (run 'chown root %s')", path,
			      (unsigned)st.st_uid, what, path);
		return KA_ERR_PERMISSION;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    (last || st.st_uid != 0 || !(st.st_mode & S_ISVTX))) {
		kai_error_set(err, KA_ERR_PERMISSION, "%s: writable by group or "
			      "others (mode %04o); the %s and every directory "
			      "above it must not be (run 'chmod go-w %s')", path,
			      (unsigned)(st.st_mode & 07777), what, path);
		return KA_ERR_PERMISSION;
	}
	return KA_OK;
}

enum ka_status kai_dir_trusted(const char *dir, const char *what,
			       char **resolved, ka_error *err)
{
	char *real, *cut;
	enum ka_status st;
	int last = 1;

	*resolved = NULL;
	if (dir == NULL || dir[0] != '/') {
		kai_error_set(err, KA_ERR_PERMISSION, "the %s %s is not an "
			      "absolute path", what, dir != NULL ? dir : "(none)");
		return KA_ERR_PERMISSION;
	}
	if ((real = realpath(dir, NULL)) == NULL) {
		st = errno == ENOMEM ? KA_ERR_NOMEM : KA_ERR_IO;
		kai_error_set(err, st, "%s %s: %s", what, dir, strerror(errno));
		return st;
	}
	/* real, then each parent: cut at the last '/' until only "/". */
	for (cut = real + strlen(real);; last = 0) {
		char keep = *cut;

		*cut = '\0';
		st = dir_ok(cut == real ? "/" : real, last, what, err);
		*cut = keep;
		if (st != KA_OK || cut == real)
			break;
		while (--cut > real && *cut != '/')
			;
	}
	if (st != KA_OK) {
		free(real);
		return st;
	}
	*resolved = real;
	return KA_OK;
}
