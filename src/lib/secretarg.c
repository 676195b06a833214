/* SPDX-License-Identifier: MIT */
/* secretarg.c: host->secret_arg: a module's secret taken from the private
 * file or the environment variable its arguments name, never from the
 * configuration itself. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

#define SECRET_MAX 4096

/* The string argument NAME + suffix, or NULL. */
static const char *arg(const struct ka_mctx *m, const char *name,
		       const char *suffix)
{
	const struct kai_arg *a;
	char key[128];

	if ((size_t)snprintf(key, sizeof(key), "%s%s", name, suffix) >=
	    sizeof(key))
		return NULL;
	a = kai_mctx_arg(m, key);
	return a != NULL && a->type == KA_ARG_STRING ? a->str : NULL;
}

/* Why v[0..len) cannot be a secret, or NULL when it can. */
static const char *unusable(const char *v, size_t len)
{
	if (len == 0)
		return "it is empty";
	if (len > SECRET_MAX)
		return "it is longer than 4096 bytes";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return "it holds control characters (the value must be "
			       "one line)";
	return NULL;
}

/* A copy in secure memory of v[0..len), checked. */
static enum ka_status keep(const char *v, size_t len, const char *what,
			   char **out, ka_error *err)
{
	const char *why = unusable(v, len);

	if (why != NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "%s is not usable: %s", what,
			      why);
		return KA_ERR_CONFIG;
	}
	if ((*out = kai_secure_alloc(len + 1)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	memcpy(*out, v, len);
	return KA_OK;
}

/* The open file's bytes, at most max, into secure memory. */
static enum ka_status read_all(int fd, char *buf, size_t max, size_t *len)
{
	*len = 0;
	while (*len < max) {
		ssize_t n = read(fd, buf + *len, max - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return KA_ERR_IO;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return KA_OK;
}

static enum ka_status from_file(const char *name, const char *path,
				unsigned flags, char **out, ka_error *err)
{
	size_t cap = SECRET_MAX + 3, len = 0;	/* room for "\r\n" and one more */
	char *buf = NULL, what[320];
	struct stat st;
	ka_error e;
	enum ka_status rc;
	int fd = -1;

	ka_error_clear(&e);
	if ((rc = kai_open_checked(path, KAI_OWNER_USER, &fd, &e)) != KA_OK) {
		kai_error_set(err, rc, "%s_file: %s", name, e.text);
		return rc;
	}
	if (!(flags & KA_SECRET_PUBLIC) &&
	    (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0)) {
		kai_error_set(err, KA_ERR_PERMISSION, "%s_file %s must be "
			      "private to its owner: run 'chmod 600 %s'", name,
			      path, path);
		rc = KA_ERR_PERMISSION;
		goto out;
	}
	if ((buf = kai_secure_alloc(cap + 1)) == NULL) {
		kai_error_set(err, rc = KA_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = read_all(fd, buf, cap, &len)) != KA_OK) {
		kai_error_set(err, rc, "%s_file %s: read failed: %s", name, path,
			      strerror(errno));
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	snprintf(what, sizeof(what), "%s_file %s", name, path);
	rc = keep(buf, len, what, out, err);
out:
	close(fd);
	kai_secure_free(buf);
	return rc;
}

static enum ka_status from_env(const char *name, const char *var,
			       unsigned flags, char **out, ka_error *err)
{
	const char *v = getenv(var);
	char what[160];

	if (v == NULL || *v == '\0') {
		if (!(flags & KA_SECRET_REQUIRED))
			return KA_OK;
		kai_error_set(err, KA_ERR_CONFIG, "the variable %s (%s_env) is "
			      "not set", var, name);
		return KA_ERR_CONFIG;
	}
	snprintf(what, sizeof(what), "the variable %s (%s_env)", var, name);
	return keep(v, strlen(v), what, out, err);
}

/* Which arguments to give, when the choice was wrong. */
static enum ka_status choose_one(const char *name, unsigned flags, int given,
				 ka_error *err)
{
	if (flags & KA_SECRET_PUBLIC)
		kai_error_set(err, KA_ERR_CONFIG, "give %s one of %s, %s_file "
			      "and %s_env", flags & KA_SECRET_REQUIRED ?
			      "exactly" : "at most", name, name, name);
	else
		kai_error_set(err, KA_ERR_CONFIG, "give %s_file or %s_env%s",
			      name, name, given > 1 ? ", not both" : "");
	return KA_ERR_CONFIG;
}

enum ka_status kai_secret_arg(const struct ka_mctx *m, const char *name,
			      unsigned flags, char **out, ka_error *err)
{
	const char *inl, *file, *env;
	int given;

	*out = NULL;
	if (m == NULL || name == NULL || *name == '\0')
		return KA_ERR_INVALID;
	inl = arg(m, name, "");
	file = arg(m, name, "_file");
	env = arg(m, name, "_env");
	if (inl != NULL && !(flags & KA_SECRET_PUBLIC)) {
		kai_error_set(err, KA_ERR_CONFIG, "%s must not be written in "
			      "the configuration: put it in a private file "
			      "(%s_file) or an environment variable (%s_env)",
			      name, name, name);
		return KA_ERR_CONFIG;
	}
	given = (inl != NULL) + (file != NULL) + (env != NULL);
	if (given > 1 || (given == 0 && (flags & KA_SECRET_REQUIRED)))
		return choose_one(name, flags, given, err);
	if (file != NULL)
		return from_file(name, file, flags, out, err);
	if (env != NULL)
		return from_env(name, env, flags, out, err);
	if (inl != NULL)
		return keep(inl, strlen(inl), name, out, err);
	return KA_OK;
}
