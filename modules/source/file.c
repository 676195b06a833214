/* SPDX-License-Identifier: MIT */
/* file.c: source module `file`: a private JSON file per (service, account). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiwiauth-module.h"

#define FILE_SUFFIX ".json"

struct file_src {
	char *dir;		/* absolute path of the token directory */
};

static const struct ka_arg_spec file_args[] = {
	{ "directory", KA_ARG_STRING, 0 },
	{ NULL, 0, 0 },
};

/* ---- names -------------------------------------------------------------- */

static int plain_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int valid_service(const char *s)
{
	if (s == NULL || *s == '\0' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!plain_byte((unsigned char)*s))
			return 0;
	return 1;
}

static int valid_account(const char *a)
{
	if (a == NULL || *a == '\0')
		return 0;
	for (; *a != '\0'; a++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f)
			return 0;
	return 1;
}

/* Bytes a temporary name adds to a record's name: "." + name + ".XXXXXXXXXXXX". */
#define TMP_EXTRA 14

/* "SERVICE@ACCOUNT.json" with the account percent-encoded; NULL if the
 * name, or the temporary name a store needs next to it, would be too long
 * for a directory entry, or memory ran out. */
static char *record_name(const char *service, const char *account)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t slen = strlen(service), alen = strlen(account), cap;
	char *name, *p;

	cap = slen + 1 + sizeof(FILE_SUFFIX);
	for (size_t i = 0; i < alen; i++) {
		unsigned char c = (unsigned char)account[i];

		cap += plain_byte(c) && !(i == 0 && c == '.') ? 1 : 3;
	}
	if (cap + TMP_EXTRA > NAME_MAX + 1 || (name = malloc(cap)) == NULL)
		return NULL;
	p = name;
	memcpy(p, service, slen);
	p += slen;
	*p++ = '@';
	for (size_t i = 0; i < alen; i++) {
		unsigned char c = (unsigned char)account[i];

		if (plain_byte(c) && !(i == 0 && c == '.')) {
			*p++ = (char)c;
			continue;
		}
		*p++ = '%';
		*p++ = hex[c >> 4];
		*p++ = hex[c & 0xf];
	}
	memcpy(p, FILE_SUFFIX, sizeof(FILE_SUFFIX));
	return name;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the account of a directory entry of service, or NULL when the
 * entry is not a record of that service in canonical form. */
static char *account_of(const char *service, const char *entry)
{
	size_t slen = strlen(service), elen = strlen(entry);
	size_t sfx = sizeof(FILE_SUFFIX) - 1;
	char *acct, *canon, *p;
	const char *e;

	if (elen <= slen + 1 + sfx || strncmp(entry, service, slen) != 0 ||
	    entry[slen] != '@' || strcmp(entry + elen - sfx, FILE_SUFFIX) != 0)
		return NULL;
	if ((acct = malloc(elen)) == NULL)
		return NULL;
	p = acct;
	for (e = entry + slen + 1; e < entry + elen - sfx; e++) {
		if (*e == '%') {
			int hi = hexval(e[1]), lo = hi < 0 ? -1 : hexval(e[2]);

			if (lo < 0)
				goto bad;
			*p++ = (char)(hi << 4 | lo);
			e += 2;
		} else {
			*p++ = *e;
		}
	}
	*p = '\0';
	/* Accept only what record_name() would have written. */
	if (!valid_account(acct))
		goto bad;
	if ((canon = record_name(service, acct)) == NULL)
		goto bad;
	if (strcmp(canon, entry) != 0) {
		free(canon);
		goto bad;
	}
	free(canon);
	return acct;
 bad:
	free(acct);
	return NULL;
}

/* ---- directory ---------------------------------------------------------- */

/* mkdir -p with mode 0700 for every directory created. */
static int mkdir_p(const char *path)
{
	char *copy = strdup(path);
	int ret = -1;

	if (copy == NULL)
		return -1;
	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			goto out;
		*p = saved;
		if (saved == '\0')
			break;
	}
	ret = 0;
 out:
	free(copy);
	return ret;
}

/* Refuse a token directory that is not ours or not private. */
static enum ka_status check_dir(struct ka_mctx *m, int fd, const char *dir,
				ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct stat st;

	if (fstat(fd, &st) != 0) {
		int e = errno;

		h->error(err, KA_ERR_IO, "cannot stat token directory %s: %s",
			 dir, strerror(e));
		return KA_ERR_IO;
	}
	if (st.st_uid != geteuid()) {
		h->error(err, KA_ERR_PERMISSION, "token directory %s is owned "
			 "by uid %u, not by uid %u; refusing it", dir,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return KA_ERR_PERMISSION;
	}
	if ((st.st_mode & 077) != 0) {
		h->error(err, KA_ERR_PERMISSION, "token directory %s is "
			 "accessible by group or others: run chmod 700 %s",
			 dir, dir);
		return KA_ERR_PERMISSION;
	}
	return KA_OK;
}

/* Open the token directory and check it. With create 0, a missing
 * directory gives KA_ERR_NOT_FOUND without an error text. */
static enum ka_status open_dir(struct ka_mctx *m, int create, int *dirfd,
			       ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	enum ka_status st;
	int fd, e;

	*dirfd = -1;
	if (create && mkdir_p(fs->dir) != 0) {
		e = errno;
		h->error(err, KA_ERR_IO, "cannot create token directory %s: %s",
			 fs->dir, strerror(e));
		return KA_ERR_IO;
	}
	fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT && !create)
			return KA_ERR_NOT_FOUND;
		if (e == ENOTDIR || e == ELOOP) {
			h->error(err, KA_ERR_PERMISSION, "token directory "
				 "%s is not a directory (or is a symbolic "
				 "link); refusing it", fs->dir);
			return KA_ERR_PERMISSION;
		}
		st = e == EACCES ? KA_ERR_PERMISSION : KA_ERR_IO;
		h->error(err, st, "cannot open token directory %s: %s",
			 fs->dir, strerror(e));
		return st;
	}
	if ((st = check_dir(m, fd, fs->dir, err)) != KA_OK) {
		close(fd);
		return st;
	}
	*dirfd = fd;
	return KA_OK;
}

/* Validate service and account, build the file name. */
static enum ka_status name_for(struct ka_mctx *m, const char *service,
			       const char *account, char **name,
			       ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);

	*name = NULL;
	if (!valid_service(service)) {
		h->error(err, KA_ERR_INVALID, "file: invalid service name");
		return KA_ERR_INVALID;
	}
	if (!valid_account(account)) {
		h->error(err, KA_ERR_INVALID, "file: account name is empty or "
			 "holds control bytes");
		return KA_ERR_INVALID;
	}
	if ((*name = record_name(service, account)) == NULL) {
		h->error(err, KA_ERR_INVALID, "file: account name of service "
			 "%s is too long for a file name", service);
		return KA_ERR_INVALID;
	}
	return KA_OK;
}

/* ---- load --------------------------------------------------------------- */

/* Check the opened record file: a regular file of ours, mode 0600 or
 * stricter, not too large. */
static enum ka_status check_file(struct ka_mctx *m, int fd, const char *dir,
				 const char *name, size_t *size, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct stat st;

	if (fstat(fd, &st) != 0) {
		int e = errno;

		h->error(err, KA_ERR_IO, "cannot stat %s/%s: %s", dir, name,
			 strerror(e));
		return KA_ERR_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		h->error(err, KA_ERR_PERMISSION, "%s/%s is not a regular file; "
			 "refusing it", dir, name);
		return KA_ERR_PERMISSION;
	}
	if (st.st_uid != geteuid()) {
		h->error(err, KA_ERR_PERMISSION, "%s/%s is owned by uid %u, "
			 "not by uid %u; refusing it", dir, name,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return KA_ERR_PERMISSION;
	}
	if ((st.st_mode & 077) != 0) {
		h->error(err, KA_ERR_PERMISSION, "%s/%s is accessible by group "
			 "or others: run chmod 600 %s/%s", dir, name, dir,
			 name);
		return KA_ERR_PERMISSION;
	}
	if (st.st_size > KA_RECORD_MAX_JSON) {
		h->error(err, KA_ERR_CORRUPT, "%s/%s is larger than %d bytes; "
			 "it is not a token record", dir, name,
			 KA_RECORD_MAX_JSON);
		return KA_ERR_CORRUPT;
	}
	*size = (size_t)st.st_size;
	return KA_OK;
}

/* Read at most size bytes into secure memory. */
static enum ka_status read_secure(struct ka_mctx *m, int fd, size_t size,
				  char **out, size_t *len, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	char *buf;
	size_t got = 0;
	ssize_t n;

	*out = NULL;
	*len = 0;
	if ((buf = h->secure_alloc(size + 1)) == NULL) {
		h->error(err, KA_ERR_NOMEM, "file: out of memory");
		return KA_ERR_NOMEM;
	}
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			h->error(err, KA_ERR_IO, "file: read failed: %s",
				 strerror(e));
			h->secure_free(buf);
			return KA_ERR_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return KA_OK;
}

static enum ka_status open_record(struct ka_mctx *m, int dirfd,
				  const char *name, int *fd, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	enum ka_status st;
	int e;

	*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		     O_NONBLOCK | O_NOCTTY);
	if (*fd >= 0)
		return KA_OK;
	e = errno;
	if (e == ENOENT)
		return KA_ERR_NOT_FOUND;
	if (e == ELOOP) {
		h->error(err, KA_ERR_PERMISSION, "%s/%s is a symbolic link; "
			 "refusing it", fs->dir, name);
		return KA_ERR_PERMISSION;
	}
	st = e == EACCES ? KA_ERR_PERMISSION : KA_ERR_IO;
	h->error(err, st, "cannot open %s/%s: %s", fs->dir, name, strerror(e));
	return st;
}

static enum ka_status parse_record(struct ka_mctx *m, const char *name,
				   const char *account, const char *buf,
				   size_t len, struct ka_record **out,
				   ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct ka_record *r = NULL;
	ka_error perr;
	enum ka_status st;

	*out = NULL;
	/* The parser's own text is not passed on: it could quote the file. */
	memset(&perr, 0, sizeof(perr));
	if (h->record_from_json(buf, len, &r, &perr) != KA_OK) {
		memset(&perr, 0, sizeof(perr));
		h->error(err, KA_ERR_CORRUPT, "%s/%s is not a valid token "
			 "record; remove it and sign in again", fs->dir, name);
		return KA_ERR_CORRUPT;
	}
	if ((st = h->record_set_account(r, account)) != KA_OK) {
		h->record_free(r);
		h->error(err, st, "file: cannot set the account of a record");
		return st;
	}
	*out = r;
	return KA_OK;
}

static enum ka_status file_load(struct ka_mctx *m, const char *service,
				const char *account, struct ka_record **out,
				ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	char *name = NULL, *buf = NULL;
	size_t size = 0, len = 0;
	int dirfd = -1, fd = -1;
	enum ka_status st;

	*out = NULL;
	if ((st = name_for(m, service, account, &name, err)) != KA_OK)
		goto out;
	if ((st = open_dir(m, 0, &dirfd, err)) != KA_OK)
		goto out;
	if ((st = open_record(m, dirfd, name, &fd, err)) != KA_OK)
		goto out;
	if ((st = check_file(m, fd, fs->dir, name, &size, err)) != KA_OK)
		goto out;
	if ((st = read_secure(m, fd, size, &buf, &len, err)) != KA_OK)
		goto out;
	st = parse_record(m, name, account, buf, len, out, err);
	if (st == KA_OK)
		h->log(m, 7, "read %s/%s (%zu bytes)", fs->dir, name,
		       len);
 out:
	h->secure_free(buf);
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	return st;
}

/* ---- store -------------------------------------------------------------- */

/* Through a temporary file, fsynced and renamed over name (the host's
 * write_file_at): on failure name is untouched. */
static enum ka_status replace_file(struct ka_mctx *m, int dirfd,
				   const char *name, const char *buf,
				   size_t len, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);

	return h->write_file_at(dirfd, fs->dir, name, buf, len, 0, err);
}

static enum ka_status file_store(struct ka_mctx *m, const char *service,
				 const char *account, const struct ka_record *r,
				 ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	char *name = NULL, *json = NULL;
	size_t len = 0;
	int dirfd = -1;
	enum ka_status st;

	if ((st = name_for(m, service, account, &name, err)) != KA_OK)
		goto out;
	if ((st = h->record_to_json(r, &json, &len)) != KA_OK) {
		h->error(err, st, "file: cannot serialize the record of %s",
			 service);
		goto out;
	}
	if (len > KA_RECORD_MAX_JSON) {
		st = KA_ERR_INVALID;
		h->error(err, st, "file: the record of %s is larger than %d "
			 "bytes", service, KA_RECORD_MAX_JSON);
		goto out;
	}
	if ((st = open_dir(m, 1, &dirfd, err)) != KA_OK)
		goto out;
	st = replace_file(m, dirfd, name, json, len, err);
	if (st == KA_OK)
		h->log(m, 7, "wrote %s/%s (%zu bytes)", fs->dir, name,
		       len);
 out:
	h->secure_free(json);
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	return st;
}

/* ---- erase and list ----------------------------------------------------- */

static enum ka_status file_erase(struct ka_mctx *m, const char *service,
				 const char *account, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	char *name = NULL;
	int dirfd = -1;
	enum ka_status st;

	if ((st = name_for(m, service, account, &name, err)) != KA_OK)
		goto out;
	if ((st = open_dir(m, 0, &dirfd, err)) != KA_OK)
		goto out;
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT) {
			st = KA_ERR_NOT_FOUND;
		} else {
			int e = errno;

			st = KA_ERR_IO;
			h->error(err, st, "cannot remove %s/%s: %s", fs->dir,
				 name, strerror(e));
		}
		goto out;
	}
	(void)fsync(dirfd);
 out:
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	return st;
}

static void list_entry(int dirfd, const char *service, const char *entry,
		       ka_list_fn fn, void *data)
{
	struct stat st;
	char *acct = account_of(service, entry);

	if (acct == NULL)
		return;
	if (fstatat(dirfd, entry, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		fn(acct, data);
	free(acct);
}

static enum ka_status file_list(struct ka_mctx *m, const char *service,
				ka_list_fn fn, void *data, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct dirent *de;
	DIR *d = NULL;
	int dirfd = -1, fd2;
	enum ka_status st;

	if (!valid_service(service)) {
		h->error(err, KA_ERR_INVALID, "file: invalid service name");
		return KA_ERR_INVALID;
	}
	st = open_dir(m, 0, &dirfd, err);
	if (st == KA_ERR_NOT_FOUND)
		return KA_OK;
	if (st != KA_OK)
		return st;
	if ((fd2 = dup(dirfd)) < 0 || (d = fdopendir(fd2)) == NULL) {
		int e = errno;

		if (fd2 >= 0)
			close(fd2);
		st = KA_ERR_IO;
		h->error(err, st, "cannot read token directory %s: %s",
			 fs->dir, strerror(e));
		goto out;
	}
	while ((de = readdir(d)) != NULL)
		list_entry(dirfd, service, de->d_name, fn, data);
 out:
	if (d != NULL)
		closedir(d);
	close(dirfd);
	return st;
}

/* ---- instance ----------------------------------------------------------- */

static char *default_dir(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL;

	if (state != NULL && state[0] == '/') {
		if (asprintf(&dir, "%s/kiwi-auth/tokens", state) < 0)
			dir = NULL;
	} else if (home != NULL && home[0] == '/') {
		if (asprintf(&dir, "%s/.local/state/kiwi-auth/tokens",
			     home) < 0)
			dir = NULL;
	}
	return dir;
}

static enum ka_status file_init(struct ka_mctx *m, const struct ka_host *h,
				ka_error *err)
{
	const char *arg = h->arg_string(m, "directory");
	struct file_src *fs;

	if (h->size < sizeof(struct ka_host)) {
		h->error(err, KA_ERR_MODULE, "the file module needs a newer "
			 "libkiwiauth (module ABI 2.0)");
		return KA_ERR_MODULE;
	}
	if (arg != NULL && arg[0] != '/') {
		h->error(err, KA_ERR_CONFIG, "file: directory \"%s\" is not an "
			 "absolute path", arg);
		return KA_ERR_CONFIG;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		h->error(err, KA_ERR_NOMEM, "file: out of memory");
		return KA_ERR_NOMEM;
	}
	fs->dir = arg != NULL ? strdup(arg) : default_dir();
	if (fs->dir == NULL) {
		free(fs);
		h->error(err, KA_ERR_CONFIG, "file: no directory set and "
			 "neither XDG_STATE_HOME nor HOME is an absolute path");
		return KA_ERR_CONFIG;
	}
	/* "/a/b/" and "/a/b" name the same directory. */
	for (size_t n = strlen(fs->dir); n > 1 && fs->dir[n - 1] == '/'; n--)
		fs->dir[n - 1] = '\0';
	h->set_data(m, fs);
	return KA_OK;
}

static void file_fini(struct ka_mctx *m, const struct ka_host *h)
{
	struct file_src *fs = h->data(m);

	if (fs == NULL)
		return;
	free(fs->dir);
	free(fs);
	h->set_data(m, NULL);
}

static const struct ka_source_ops file_ops = {
	.load = file_load,
	.store = file_store,
	.erase = file_erase,
	.list = file_list,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = "file",
	.description = "token records as private JSON files",
	.args = file_args,
	.init = file_init,
	.fini = file_fini,
	.source = &file_ops,
};
