/* safefile.c: open a config file safely and check the fd we read, not the
 * path: regular file, right owner, not writable by group or other. */
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
				      "%s: is a symbolic link; config files must be "
				      "regular files (replace the link with the file)",
				      path);
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
			      owner == KAI_OWNER_ROOT ? "root" : "you or root",
			      owner == KAI_OWNER_ROOT ? "root" : "\"$(id -u)\"",
			      path);
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
