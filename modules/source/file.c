/* SPDX-License-Identifier: MIT */
/* file.c: source module `file`: a private JSON file per (service, account). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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

/* Read and parse the record name in dirfd: KA_OK, KA_ERR_NOT_FOUND (no
 * such file, no error text), or a failure with err set. */
static enum ka_status read_record(struct ka_mctx *m, int dirfd,
				  const char *name, const char *account,
				  struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	char *buf = NULL;
	size_t size = 0, len = 0;
	int fd = -1;
	enum ka_status st;

	*out = NULL;
	if ((st = open_record(m, dirfd, name, &fd, err)) != KA_OK)
		goto out;
	if ((st = check_file(m, fd, fs->dir, name, &size, err)) != KA_OK)
		goto out;
	if ((st = read_secure(m, fd, size, &buf, &len, err)) != KA_OK)
		goto out;
	st = parse_record(m, name, account, buf, len, out, err);
	if (st == KA_OK)
		h->log(m, 7, "read %s/%s (%zu bytes)", fs->dir, name, len);
 out:
	h->secure_free(buf);
	if (fd >= 0)
		close(fd);
	return st;
}

/* ---- leftovers of interrupted writes ------------------------------------ */

/*
 * A store writes ".NAME.XXXXXXXXXXXX" (write_file_at), fsyncs it and
 * renames it over NAME. A process killed in between leaves the temporary
 * file: complete, possibly holding tokens the server has just rotated
 * (so the record it would have replaced is already spent), or incomplete.
 * Every writer of the directory holds an exclusive flock(2) on the
 * directory itself while it writes, renames or cleans up, so whoever
 * holds it knows that no temporary file there is being written: a
 * complete one of a newer generation than the record is adopted (renamed
 * over it), anything else is removed.
 */

/* How long a writer waits for another: longer than a store can take. */
#define DIR_LOCK_WAIT_MS 20000
#define DIR_LOCK_POLL_MS 2

static enum ka_status dir_lock(struct ka_mctx *m, int dirfd, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct timespec ts = { 0, DIR_LOCK_POLL_MS * 1000000L };

	for (int waited = 0; flock(dirfd, LOCK_EX | LOCK_NB) != 0;
	     waited += DIR_LOCK_POLL_MS) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    waited >= DIR_LOCK_WAIT_MS) {
			int e = errno;

			h->error(err, KA_ERR_TRY_AGAIN, "cannot lock token "
				 "directory %s: %s", fs->dir,
				 e == EWOULDBLOCK ? "another process holds it"
				 : strerror(e));
			return KA_ERR_TRY_AGAIN;
		}
		nanosleep(&ts, NULL);
	}
	return KA_OK;
}

static void dir_unlock(int dirfd)
{
	(void)flock(dirfd, LOCK_UN);
}

/* Whether entry is a temporary file of the record name. */
static int temp_of(const char *name, const char *entry)
{
	size_t n = strlen(name);

	if (entry[0] != '.' || strncmp(entry + 1, name, n) != 0 ||
	    entry[n + 1] != '.' || strlen(entry + n + 2) != 12)
		return 0;
	for (const char *p = entry + n + 2; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

/* Newer: a higher generation, or, between two records written before
 * generations existed, the one obtained later. (Under the lock two writes
 * of one generation cannot both have happened.) */
static int newer(const struct ka_host *h, const struct ka_record *a,
		 const struct ka_record *b)
{
	uint64_t ga = h->record_generation(a), gb = h->record_generation(b);

	if (ga != gb)
		return ga > gb;
	return ga == 0 && h->record_obtained_at(a) > h->record_obtained_at(b);
}

struct sweep {
	const char *name;
	const char *account;
	int adopt;		/* 0: remove every leftover (erase) */
	unsigned adopted, removed, stuck;
	ka_error stuck_err;	/* the first leftover that would not go */
};

static void sweep_one(struct ka_mctx *m, int dirfd, const char *tmp,
		      struct ka_record **live, struct sweep *sw)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct ka_record *t = NULL;
	ka_error ignored;
	struct stat st;

	memset(&ignored, 0, sizeof(ignored));
	if (sw->adopt && fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) &&
	    read_record(m, dirfd, tmp, sw->account, &t, &ignored) == KA_OK &&
	    (*live == NULL || newer(h, t, *live))) {
		if (renameat(dirfd, tmp, dirfd, sw->name) == 0) {
			h->log(m, 4, "%s/%s: adopted the complete record a "
			       "write that was interrupted left in %s",
			       fs->dir, sw->name, tmp);
			h->record_free(*live);
			*live = t;
			sw->adopted++;
			return;
		}
	}
	h->record_free(t);
	if (unlinkat(dirfd, tmp, 0) == 0) {
		h->log(m, 6, "%s: removed %s, left by an interrupted write",
		       fs->dir, tmp);
		sw->removed++;
		return;
	}
	if (errno == ENOENT)
		return;
	if (sw->stuck++ == 0) {
		int e = errno;

		h->error(&sw->stuck_err, KA_ERR_IO, "cannot remove %s/%s, "
			 "left by an interrupted write of the record: %s; "
			 "remove it by hand", fs->dir, tmp, strerror(e));
	}
}

/* Under dir_lock: adopt or remove every temporary file of sw->name. */
static enum ka_status sweep(struct ka_mctx *m, int dirfd, struct sweep *sw,
			    ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct ka_record *live = NULL;
	struct dirent *de;
	DIR *d;
	int fd2;
	ka_error ignored;

	if ((fd2 = dup(dirfd)) < 0 || (d = fdopendir(fd2)) == NULL) {
		int e = errno;

		if (fd2 >= 0)
			close(fd2);
		h->error(err, KA_ERR_IO, "cannot read token directory %s: %s",
			 fs->dir, strerror(e));
		return KA_ERR_IO;
	}
	rewinddir(d);
	memset(&ignored, 0, sizeof(ignored));
	if (sw->adopt)
		(void)read_record(m, dirfd, sw->name, sw->account, &live,
				  &ignored);
	while ((de = readdir(d)) != NULL)
		if (temp_of(sw->name, de->d_name))
			sweep_one(m, dirfd, de->d_name, &live, sw);
	closedir(d);
	h->record_free(live);
	if (sw->adopted > 0 || sw->removed > 0)
		(void)fsync(dirfd);
	return KA_OK;
}

/* Whether the directory holds a temporary file of name (a cheap look
 * without the lock: most loads find none). -1 when it cannot be read. */
static int has_temps(int dirfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd2, found = 0;

	if ((fd2 = dup(dirfd)) < 0)
		return -1;
	if ((d = fdopendir(fd2)) == NULL) {
		close(fd2);
		return -1;
	}
	rewinddir(d);
	while (!found && (de = readdir(d)) != NULL)
		found = temp_of(name, de->d_name);
	closedir(d);
	return found;
}

/* Before a load: leftovers of name are dealt with under the lock. A
 * leftover that would not go is reported as a warning (the record itself
 * is fine) and returned in *stuck. */
static enum ka_status recover(struct ka_mctx *m, int dirfd, const char *name,
			      const char *account, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	struct sweep sw = { .name = name, .account = account, .adopt = 1 };
	enum ka_status st;

	memset(&sw.stuck_err, 0, sizeof(sw.stuck_err));
	if (has_temps(dirfd, name) == 0)
		return KA_OK;
	if ((st = dir_lock(m, dirfd, err)) != KA_OK)
		return st;
	st = sweep(m, dirfd, &sw, err);
	dir_unlock(dirfd);
	if (sw.stuck > 0)
		h->log(m, 4, "%s", sw.stuck_err.text);
	return st;
}

/* ---- one call on one record -------------------------------------------- */

/* A load, store or erase of the record of (service, account). */
struct call {
	const char *service, *account;
	const struct ka_record *rec;	/* store */
	struct ka_record **out;		/* load */
};

typedef enum ka_status (*call_fn)(struct ka_mctx *m, int dirfd,
				  const char *name, const struct call *c,
				  ka_error *err);

/* fn with the record's file name and its directory open (created when
 * create), under dir_lock when locked. */
static enum ka_status on_record(struct ka_mctx *m, const struct call *c,
				int create, int locked, call_fn fn,
				ka_error *err)
{
	char *name = NULL;
	int dirfd = -1;
	enum ka_status st;

	if ((st = name_for(m, c->service, c->account, &name, err)) != KA_OK)
		goto out;
	if ((st = open_dir(m, create, &dirfd, err)) != KA_OK)
		goto out;
	if (locked && (st = dir_lock(m, dirfd, err)) != KA_OK)
		goto out;
	st = fn(m, dirfd, name, c, err);
	if (locked)
		dir_unlock(dirfd);
 out:
	if (dirfd >= 0)
		close(dirfd);
	free(name);
	return st;
}

/* Not under the lock: recover takes it only when there are leftovers. */
static enum ka_status load_at(struct ka_mctx *m, int dirfd, const char *name,
			      const struct call *c, ka_error *err)
{
	enum ka_status st = recover(m, dirfd, name, c->account, err);

	return st != KA_OK ? st :
	       read_record(m, dirfd, name, c->account, c->out, err);
}

static enum ka_status file_load(struct ka_mctx *m, const char *service,
				const char *account, struct ka_record **out,
				ka_error *err)
{
	struct call c = { .service = service, .account = account, .out = out };

	*out = NULL;
	return on_record(m, &c, 0, 0, load_at, err);
}

/* ---- store -------------------------------------------------------------- */

/* Under dir_lock: leftovers dealt with, then r written one generation
 * above the record it replaces, through a temporary file that is fsynced
 * and renamed over name, and the directory fsynced (write_file_at): on
 * failure name is untouched. */
static enum ka_status store_at(struct ka_mctx *m, int dirfd, const char *name,
			       const struct call *c, ka_error *err)
{
	const char *service = c->service, *account = c->account;
	const struct ka_record *r = c->rec;
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct sweep sw = { .name = name, .account = account, .adopt = 1 };
	struct ka_record *live = NULL, *next = NULL;
	char *json = NULL;
	size_t len = 0;
	uint64_t gen = 0;
	ka_error ignored;
	enum ka_status st;

	memset(&sw.stuck_err, 0, sizeof(sw.stuck_err));
	memset(&ignored, 0, sizeof(ignored));
	if ((st = sweep(m, dirfd, &sw, err)) != KA_OK)
		return st;
	if (sw.stuck > 0)
		h->log(m, 4, "%s", sw.stuck_err.text);
	if (read_record(m, dirfd, name, account, &live, &ignored) == KA_OK)
		gen = h->record_generation(live);
	h->record_free(live);
	if ((st = h->record_dup(r, &next)) != KA_OK) {
		h->error(err, st, "file: out of memory");
		return st;
	}
	h->record_set_generation(next, gen + 1);
	st = h->record_to_json(next, &json, &len);
	h->record_free(next);
	if (st != KA_OK) {
		h->error(err, st, "file: cannot serialize the record of %s",
			 service);
		return st;
	}
	if (len > KA_RECORD_MAX_JSON) {
		st = KA_ERR_INVALID;
		h->error(err, st, "file: the record of %s is larger than %d "
			 "bytes", service, KA_RECORD_MAX_JSON);
	} else {
		st = h->write_file_at(dirfd, fs->dir, name, json, len, 0, err);
	}
	if (st == KA_OK)
		h->log(m, 7, "wrote %s/%s (%zu bytes, generation %llu)",
		       fs->dir, name, len, (unsigned long long)(gen + 1));
	h->secure_free(json);
	return st;
}

static enum ka_status file_store(struct ka_mctx *m, const char *service,
				 const char *account, const struct ka_record *r,
				 ka_error *err)
{
	struct call c = { .service = service, .account = account, .rec = r };

	return on_record(m, &c, 1, 1, store_at, err);
}

/* ---- erase and list ----------------------------------------------------- */

/* The record and every leftover of it, under dir_lock. */
static enum ka_status erase_at(struct ka_mctx *m, int dirfd, const char *name,
			       const struct call *c, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct file_src *fs = h->data(m);
	struct sweep sw = { .name = name, .account = c->account, .adopt = 0 };
	enum ka_status st = KA_OK;

	memset(&sw.stuck_err, 0, sizeof(sw.stuck_err));
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT) {
			st = KA_ERR_NOT_FOUND;
		} else {
			int e = errno;

			h->error(err, KA_ERR_IO, "cannot remove %s/%s: %s",
				 fs->dir, name, strerror(e));
			return KA_ERR_IO;
		}
	}
	if (sweep(m, dirfd, &sw, err) != KA_OK)
		return KA_ERR_IO;
	(void)fsync(dirfd);
	if (sw.stuck > 0) {
		h->error(err, KA_ERR_IO, "%s", sw.stuck_err.text);
		return KA_ERR_IO;
	}
	/* Only leftovers: the record is gone all the same. */
	return st == KA_ERR_NOT_FOUND && sw.removed > 0 ? KA_OK : st;
}

static enum ka_status file_erase(struct ka_mctx *m, const char *service,
				 const char *account, ka_error *err)
{
	struct call c = { .service = service, .account = account };

	return on_record(m, &c, 0, 1, erase_at, err);
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
