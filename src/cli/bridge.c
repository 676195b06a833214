/* SPDX-License-Identifier: MIT */
/* bridge.c: what the bridges read from outside, parsed without I/O: the
 * KUBERNETES_EXEC_INFO kubectl sets, and a request of git's credential
 * protocol (refusing what git's own CVEs taught: CVE-2020-5260,
 * CVE-2020-11008, CVE-2024-50338, CVE-2024-52006); and the writers both
 * bridges use. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bridge.h"
#include "kiwiauth.h"

/* ---- kubectl ---------------------------------------------------------- */

const char *bridge_kube_api_version(const char *exec_info, const char **why)
{
	const char *v, *answer = NULL;
	json_error_t jerr;
	json_t *root, *av;
	size_t len;

	*why = NULL;
	if (exec_info == NULL || exec_info[0] == '\0')
		return BRIDGE_KUBE_V1;
	if ((len = strlen(exec_info)) > BRIDGE_EXEC_INFO_MAX) {
		*why = "is too long";
		return NULL;
	}
	root = json_loadb(exec_info, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		*why = "is not a JSON object";
		goto out;
	}
	av = json_object_get(root, "apiVersion");
	if (av == NULL) {
		answer = BRIDGE_KUBE_V1;
		goto out;
	}
	v = json_string_value(av);
	if (v != NULL && strcmp(v, BRIDGE_KUBE_V1) == 0)
		answer = BRIDGE_KUBE_V1;
	else if (v != NULL && strcmp(v, BRIDGE_KUBE_V1BETA1) == 0)
		answer = BRIDGE_KUBE_V1BETA1;
	else
		*why = "names an apiVersion this bridge does not speak";
out:
	json_decref(root);
	return answer;
}

/* ---- git's credential protocol ----------------------------------------- */

enum { K_PROTOCOL, K_HOST, K_PATH, K_USERNAME, K_PASSWORD, K_URL,
       K_CREDENTIAL, K_N };
static const char *const keys[K_N] = {
	"protocol", "host", "path", "username", "password", "url",
	"credential",
};

struct raw {
	const char *v[K_N];	/* into the request buffer */
	size_t n[K_N];
	int cap_authtype, www_bearer;
};

static int is(const char *a, size_t n, const char *b)
{
	return strlen(b) == n && memcmp(a, b, n) == 0;
}

/* The values of multi-valued keys that matter here. */
static void multi(struct raw *r, const char *k, size_t klen, const char *v,
		  size_t vlen)
{
	if (is(k, klen, "capability[]") && is(v, vlen, "authtype"))
		r->cap_authtype = 1;
	if (is(k, klen, "wwwauth[]") && vlen >= 6 &&
	    strncasecmp(v, "bearer", 6) == 0 && (vlen == 6 || v[6] == ' '))
		r->www_bearer = 1;
}

void gitcred_clear(struct gitcred *c)
{
	free(c->path);
	free(c->username);
	if (c->password != NULL)
		explicit_bzero(c->password, c->password_len);
	free(c->password);
	memset(c, 0, sizeof(*c));
}

static int key_ok(const char *k, size_t n)
{
	size_t i = 0;

	if (n >= 2 && k[n - 2] == '[' && k[n - 1] == ']')
		n -= 2;
	if (n == 0)
		return 0;
	for (; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_'))
			return 0;
	return 1;
}

/* A URL scheme (RFC 3986): a letter, then letters, digits, '+', '-', '.'. */
static int scheme_ok(const char *v, size_t n)
{
	if (n == 0 || !((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

static int has_ctl(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 1;
	return 0;
}

/* Set raw value k; 0, or -1 when it was there with another value. */
static int raw_set(struct raw *r, int k, const char *v, size_t n)
{
	if (r->v[k] != NULL && (r->n[k] != n || memcmp(r->v[k], v, n) != 0))
		return -1;
	r->v[k] = v;
	r->n[k] = n;
	return 0;
}

/* A host name, IPv4 or [IPv6] address, and an optional :port (1-65535). */
static int host_ok(const char *h, size_t n)
{
	size_t i = 0, end = n;
	const char *colon;

	if (n == 0 || n > GITCRED_HOST_MAX)
		return 0;
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', n);

		if (rb == NULL || rb == h + 1)
			return 0;
		for (i = 1; h + i < rb; i++)
			if (!(strchr("0123456789abcdefABCDEF:.", h[i]) != NULL))
				return 0;
		i = (size_t)(rb - h) + 1;
		if (i < n && h[i] != ':')
			return 0;
		end = i;
	} else {
		colon = memchr(h, ':', n);
		end = colon != NULL ? (size_t)(colon - h) : n;
		if (end == 0)
			return 0;
		for (i = 0; i < end; i++) {
			char c = h[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			      c == '_'))
				return 0;
		}
		if (h[0] == '.' || h[0] == '-')
			return 0;
	}
	if (end < n) {
		unsigned long port = 0;

		if (n - end < 2 || n - end > 6)
			return 0;
		for (i = end + 1; i < n; i++) {
			if (h[i] < '0' || h[i] > '9')
				return 0;
			port = port * 10 + (unsigned long)(h[i] - '0');
		}
		if (port == 0 || port > 65535)
			return 0;
	}
	return 1;
}

/* Split url into raw protocol, host, path and username (u). */
static int url_split(const char *url, size_t n, struct raw *u,
		     const char **why)
{
	const char *sep = NULL, *auth, *end, *at = NULL;

	for (size_t i = 0; i + 2 < n; i++)
		if (url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/') {
			sep = url + i;
			break;
		}
	if (sep == NULL || sep == url) {
		*why = "url= is not an absolute URL (scheme://host/...)";
		return -1;
	}
	u->v[K_PROTOCOL] = url;
	u->n[K_PROTOCOL] = (size_t)(sep - url);
	auth = sep + 3;
	end = auth;
	while (end < url + n && *end != '/' && *end != '?' && *end != '#')
		end++;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		if (memchr(auth, ':', (size_t)(at - auth)) != NULL) {
			*why = "url= holds a password: credentials in a URL are "
			       "refused";
			return -1;
		}
		u->v[K_USERNAME] = auth;
		u->n[K_USERNAME] = (size_t)(at - auth);
		auth = at + 1;
	}
	u->v[K_HOST] = auth;
	u->n[K_HOST] = (size_t)(end - auth);
	if (end < url + n && *end == '/' && end + 1 < url + n) {
		u->v[K_PATH] = end + 1;
		u->n[K_PATH] = (size_t)(url + n - end - 1);
	}
	return 0;
}

static char *dup_n(const char *v, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, v, n);
		p[n] = '\0';
	}
	return p;
}

/* One line "key=value" (no newline) into r. */
static int parse_line(const char *line, size_t n, struct raw *r,
		      const char **why)
{
	const char *eq = memchr(line, '=', n);
	size_t klen, vlen;

	if (n > GITCRED_LINE_MAX) {
		*why = "a line is longer than 4096 bytes";
		return -1;
	}
	if (eq == NULL) {
		*why = "a line is not key=value";
		return -1;
	}
	klen = (size_t)(eq - line);
	vlen = n - klen - 1;
	if (!key_ok(line, klen)) {
		*why = "a key is not a word of lowercase letters";
		return -1;
	}
	if (has_ctl(eq + 1, vlen)) {
		*why = "a value holds a carriage return or another control "
		       "character";
		return -1;
	}
	multi(r, line, klen, eq + 1, vlen);
	for (int k = 0; k < K_N; k++) {
		if (!is(line, klen, keys[k]))
			continue;
		if (raw_set(r, k, eq + 1, vlen) != 0) {
			*why = "a key is given twice with different values";
			return -1;
		}
	}
	return 0;
}

/* Merge the parts of url= into r: a part given on its own too must be
 * the same. */
static int merge_url(struct raw *r, const char **why)
{
	struct raw u;

	memset(&u, 0, sizeof(u));
	if (url_split(r->v[K_URL], r->n[K_URL], &u, why) != 0)
		return -1;
	for (int k = 0; k < K_URL; k++) {
		if (u.v[k] == NULL)
			continue;
		if (raw_set(r, k, u.v[k], u.n[k]) != 0) {
			*why = "url= and another key disagree";
			return -1;
		}
	}
	return 0;
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int fill(struct raw *r, struct gitcred *out, const char **why)
{
	size_t pn = r->n[K_PROTOCOL];

	if (r->v[K_PROTOCOL] == NULL || pn == 0) {
		*why = "the request names no protocol";
		return -1;
	}
	if (r->v[K_HOST] == NULL || r->n[K_HOST] == 0) {
		*why = "the request names no host";
		return -1;
	}
	if (pn >= sizeof(out->protocol) || !scheme_ok(r->v[K_PROTOCOL], pn)) {
		*why = "the protocol is not a scheme such as https";
		return -1;
	}
	if (!host_ok(r->v[K_HOST], r->n[K_HOST])) {
		*why = "the host is not a host name or address with an "
		       "optional :port";
		return -1;
	}
	if (r->v[K_PASSWORD] == NULL && r->v[K_CREDENTIAL] != NULL) {
		/* erase after a Bearer credential: compared as a password */
		r->v[K_PASSWORD] = r->v[K_CREDENTIAL];
		r->n[K_PASSWORD] = r->n[K_CREDENTIAL];
	}
	memcpy(out->protocol, r->v[K_PROTOCOL], pn);
	memcpy(out->host, r->v[K_HOST], r->n[K_HOST]);
	lower(out->protocol);
	lower(out->host);
	if ((r->v[K_PATH] != NULL &&
	     (out->path = dup_n(r->v[K_PATH], r->n[K_PATH])) == NULL) ||
	    (r->v[K_USERNAME] != NULL &&
	     (out->username = dup_n(r->v[K_USERNAME], r->n[K_USERNAME])) ==
	     NULL) ||
	    (r->v[K_PASSWORD] != NULL &&
	     (out->password = dup_n(r->v[K_PASSWORD], r->n[K_PASSWORD])) ==
	     NULL)) {
		*why = "out of memory";
		return -1;
	}
	out->password_len = r->v[K_PASSWORD] != NULL ? r->n[K_PASSWORD] : 0;
	out->cap_authtype = r->cap_authtype;
	out->www_bearer = r->www_bearer;
	return 0;
}

int gitcred_parse(const char *buf, size_t len, struct gitcred *out,
		  const char **why)
{
	const char *p = buf, *end = buf + len, *nl;
	struct raw r;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	*why = NULL;
	if (len > GITCRED_MAX) {
		*why = "the request is longer than 65536 bytes";
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*why = "the request holds a NUL byte";
		return -1;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl == p)
			break;		/* a blank line ends the request */
		if (parse_line(p, (size_t)(nl - p), &r, why) != 0)
			return -1;
		p = nl < end ? nl + 1 : end;
	}
	if (r.v[K_URL] != NULL && merge_url(&r, why) != 0)
		return -1;
	if (fill(&r, out, why) != 0) {
		gitcred_clear(out);
		return -1;
	}
	return 0;
}

/* ---- writers -------------------------------------------------------------- */

int bridge_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int bridge_rfc3339(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t < 0 || t == KA_EXPIRES_NEVER || gmtime_r(&tt, &tm) == NULL)
		return -1;
	return strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0 ? 0 : -1;
}
