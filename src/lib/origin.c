/* SPDX-License-Identifier: MIT */
/* origin.c: parse a request URL once (libcurl's URL API) and match its origin against a service's host patterns. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kai.h"

/*
 * The rules, chosen to leave no room between this parser and the HTTP
 * client that sends the request (git CVE-2020-5260, CVE-2020-11008 and
 * CVE-2024-52006 were all such gaps):
 *  - the raw URL may hold no byte <= 0x20, no 0x7f and no backslash, and
 *    its authority no '@' (user or password), no '%' escape and no byte
 *    >= 0x80; the scheme is followed by exactly "//" and a host;
 *  - libcurl parses it; the host libcurl found must equal the raw host
 *    (lowercased), so odd forms such as http://127.1/ or encoded dots are
 *    refused rather than interpreted;
 *  - one trailing dot is removed ("api.example.com." is the same DNS name
 *    as "api.example.com"); two, or an empty label, are refused;
 *  - a host whose last label is numeric must be a dotted-quad IPv4
 *    address; IPv6 literals are compared in canonical form;
 *  - scheme https, or http for 127.0.0.1, [::1] and localhost only.
 */

#define URL_MAX 16384

static void lowercase(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int is_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* 1 if s holds a byte below lo, a 0x7f or the byte extra (0: none); *len
 * gets strlen(s). Eight bytes at a time: this runs over the URL and every
 * header of every authorized request. The aligned 8-byte loads may read
 * past the NUL inside the same word (as glibc's strlen does), which
 * AddressSanitizer must be told about. */
typedef uint64_t __attribute__((may_alias)) word_t;

#define ONES 0x0101010101010101ull
#define HIGHS (ONES * 0x80)
/* Non-zero iff some byte of w is zero (exact as a whole, not per byte). */
#define HAS_ZERO(w) (((w) - ONES) & ~(w) & HIGHS)

static int bad_byte(unsigned char c, unsigned char lo, unsigned char extra)
{
	return c < lo || c == 0x7f || (extra != 0 && c == extra);
}

__attribute__((no_sanitize_address))
static int scan(const char *s, size_t *len, unsigned char lo,
		unsigned char extra)
{
	const uint64_t x = ONES * (extra != 0 ? extra : 0x7f);
	const char *p = s;
	uint64_t w;
	int found = 0;

	/* Bytes up to the first aligned word, words while none of their
	 * bytes is special, then bytes to the end. */
	for (; ((uintptr_t)p & 7) != 0; p++) {
		if (*p == '\0')
			goto out;
		found |= bad_byte((unsigned char)*p, lo, extra);
	}
	for (;; p += 8) {
		w = *(const word_t *)(const void *)p;
		/* < lo (lo <= 0x80) also catches the NUL. */
		if ((((w - ONES * lo) & ~w & HIGHS) |
		     HAS_ZERO(w ^ (ONES * 0x7f)) | HAS_ZERO(w ^ x)) != 0)
			break;
	}
	for (; *p != '\0'; p++)
		found |= bad_byte((unsigned char)*p, lo, extra);
out:
	if (len != NULL)
		*len = (size_t)(p - s);
	return found;
}

int kai_ctl_scan(const char *s, size_t *len)
{
	return scan(s, len, 0x20, 0);
}

static int scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-';
}

/* Check the raw text before libcurl sees it, in one pass. On success
 * *host and *hostlen span the raw host (brackets included for IPv6) and
 * *keylen is the length of "scheme://authority". */
static enum ka_status raw_check(const char *url, const char **host,
				size_t *hostlen, size_t *keylen, ka_error *err)
{
	const char *p = url, *auth, *end, *q;
	size_t n;

	if (scan(url, &n, 0x21, '\\')) {
		kai_error_set(err, KA_ERR_DENIED, "refusing URL: it holds a "
			      "control character, a space or a backslash "
			      "(percent-encode them)");
		return KA_ERR_DENIED;
	}
	if (n > URL_MAX) {
		kai_error_set(err, KA_ERR_INVALID, "refusing URL: longer than "
			      "%d bytes", URL_MAX);
		return KA_ERR_INVALID;
	}
	while (scheme_char(*p))
		p++;
	if (p == url || strncmp(p, "://", 3) != 0 || p[3] == '/') {
		kai_error_set(err, KA_ERR_INVALID, "refusing URL: it must be "
			      "absolute, as https://host/path");
		return KA_ERR_INVALID;
	}
	auth = p + 3;
	for (end = auth; *end != '\0' && *end != '/' && *end != '?' &&
	     *end != '#'; end++) {
		if (*end == '@') {
			kai_error_set(err, KA_ERR_DENIED, "refusing URL: it holds "
				      "a user name or password (user@host); "
				      "credentials never go into URLs");
			return KA_ERR_DENIED;
		}
		if (*end == '%' || (unsigned char)*end >= 0x80) {
			kai_error_set(err, KA_ERR_DENIED, "refusing URL: percent "
				      "escapes and non-ASCII bytes are not "
				      "allowed in the host (use the plain or "
				      "xn-- form)");
			return KA_ERR_DENIED;
		}
	}
	*host = auth;
	*keylen = (size_t)(end - url);
	if (*auth == '[') {
		q = memchr(auth, ']', (size_t)(end - auth));
		*hostlen = q != NULL ? (size_t)(q - auth) + 1 : (size_t)(end - auth);
	} else {
		q = memchr(auth, ':', (size_t)(end - auth));
		*hostlen = (size_t)((q != NULL ? q : end) - auth);
	}
	return KA_OK;
}

/* A host name as kai_host_name_ok (stanza.c) defines it for patterns too,
 * so a URL and a pattern accept the same names. Sets o->ip for an IPv4
 * address. */
static int dns_host_ok(struct kai_origin *o)
{
	return kai_host_name_ok(o->host, strlen(o->host), &o->ip) > 0;
}

/* Compare the host libcurl found with the raw one and normalise it into
 * o->host. */
static int host_from(struct kai_origin *o, const char *curl_host,
		     const char *raw, size_t rawlen)
{
	char rawcopy[KAI_HOST_MAX];
	size_t n = strlen(curl_host);

	if (n == 0 || n >= sizeof(o->host) || rawlen == 0 ||
	    rawlen >= sizeof(rawcopy))
		return 0;
	memcpy(o->host, curl_host, n + 1);
	memcpy(rawcopy, raw, rawlen);
	rawcopy[rawlen] = '\0';
	lowercase(o->host);
	lowercase(rawcopy);
	if (o->host[0] == '[') {
		struct in6_addr a, b;
		char tmp[INET6_ADDRSTRLEN + 1];

		if (o->host[n - 1] != ']' || rawcopy[rawlen - 1] != ']' ||
		    n - 2 >= sizeof(tmp))
			return 0;
		memcpy(tmp, o->host + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &a) != 1)
			return 0;
		rawcopy[rawlen - 1] = '\0';
		if (inet_pton(AF_INET6, rawcopy + 1, &b) != 1 ||
		    memcmp(&a, &b, sizeof(a)) != 0 ||
		    inet_ntop(AF_INET6, &a, tmp, sizeof(tmp)) == NULL)
			return 0;
		snprintf(o->host, sizeof(o->host), "[%s]", tmp);
		o->ip = 1;
		return 1;
	}
	if (strcmp(o->host, rawcopy) != 0)
		return 0;
	if (n > 1 && o->host[n - 1] == '.') {
		o->host[n - 1] = '\0';
		/* libcurl still connects to the dotted name, and "localhost."
		 * or "127.0.0.1." is looked up in DNS, not taken as loopback
		 * or an address: whatever DNS says would get the header. */
		if (!dns_host_ok(o) || o->ip || kai_host_is_loopback(o->host))
			return 0;
		return 1;
	}
	return dns_host_ok(o);
}

/* Fields libcurl must not have found: user, password, options, zone. */
static int has_part(CURLU *u, CURLUPart part)
{
	char *v = NULL;
	int found = curl_url_get(u, part, &v, 0) == CURLUE_OK && v != NULL;

	curl_free(v);
	return found;
}

static enum ka_status parse_curl(CURLU *u, const char *url, const char *raw,
				 size_t rawlen, struct kai_origin *o,
				 ka_error *err)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	enum ka_status st;
	CURLUcode rc;

	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		st = rc == CURLUE_OUT_OF_MEMORY ? KA_ERR_NOMEM : KA_ERR_INVALID;
		kai_error_set(err, st, "refusing URL: it does not parse (%s)",
			      curl_url_strerror(rc));
		return st;
	}
	st = KA_ERR_NOMEM;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		kai_error_set(err, KA_ERR_INVALID, "refusing URL: it has no "
			      "scheme, host or port");
		st = KA_ERR_INVALID;
		goto out;
	}
	if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD) ||
	    has_part(u, CURLUPART_OPTIONS) || has_part(u, CURLUPART_ZONEID)) {
		kai_error_set(err, KA_ERR_DENIED, "refusing URL: it holds a "
			      "user name, password, options or zone id");
		st = KA_ERR_DENIED;
		goto out;
	}
	snprintf(o->scheme, sizeof(o->scheme), "%s", scheme);
	lowercase(o->scheme);
	if (strcmp(o->scheme, "https") != 0 && strcmp(o->scheme, "http") != 0) {
		kai_error_set(err, KA_ERR_DENIED, "refusing URL: scheme %.16s "
			      "is not allowed: use https", o->scheme);
		st = KA_ERR_DENIED;
		goto out;
	}
	if (!host_from(o, host, raw, rawlen)) {
		kai_error_set(err, KA_ERR_DENIED, "refusing URL: its host is "
			      "not a plain DNS name or IP address");
		st = KA_ERR_DENIED;
		goto out;
	}
	o->loopback = kai_host_is_loopback(o->host);
	if (!is_digits(port, strlen(port)) || strlen(port) > 5 ||
	    (o->port = (unsigned)strtoul(port, NULL, 10)) == 0 ||
	    o->port > 65535) {
		kai_error_set(err, KA_ERR_INVALID, "refusing URL: bad port");
		st = KA_ERR_INVALID;
		goto out;
	}
	if (strcmp(o->scheme, "http") == 0 && !o->loopback) {
		char buf[KAI_HOST_MAX + 24];

		kai_origin_format(o, buf, sizeof(buf));
		kai_error_set(err, KA_ERR_DENIED, "refusing %s: plain http is "
			      "allowed only for loopback hosts (127.0.0.1, "
			      "[::1], localhost); use https", buf);
		st = KA_ERR_DENIED;
		goto out;
	}
	st = KA_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return st;
}

/* The origin depends only on "scheme://authority", so each thread keeps
 * the last one it parsed: an executor calling the same API again skips
 * libcurl's parser (~1 us). The whole URL is still checked for control
 * bytes, unless it is the very URL checked last (then the same bytes give
 * the same answer, and one memcmp replaces the scan). */
#define MEMO_URL_MAX 512
struct origin_memo {
	size_t len;		/* 0: empty */
	char key[KAI_HOST_MAX + 32];
	struct kai_origin o;
	size_t url_len;		/* 0: none */
	char url[MEMO_URL_MAX];	/* the last URL that passed, whole */
};
static __thread struct origin_memo memo;

/* 1 if url is the last URL this thread accepted, byte for byte. */
static int memo_url(const char *url, struct kai_origin *out)
{
	size_t n = memo.url_len;

	if (n == 0 || strncmp(url, memo.url, n) != 0 || url[n] != '\0')
		return 0;
	*out = memo.o;
	return 1;
}

static void memo_keep(const char *url, size_t klen, const struct kai_origin *o)
{
	size_t n = strlen(url);

	if (klen >= sizeof(memo.key))
		return;
	memcpy(memo.key, url, klen);
	memo.len = klen;
	memo.o = *o;
	memo.url_len = 0;
	if (n < sizeof(memo.url)) {
		memcpy(memo.url, url, n);
		memo.url_len = n;
	}
}

enum ka_status kai_origin_parse(const char *url, struct kai_origin *out,
				char **canon, ka_error *err)
{
	struct kai_origin o;
	const char *raw;
	size_t rawlen, klen;
	CURLU *u = NULL;
	char *c = NULL;
	enum ka_status st;

	if (canon != NULL)
		*canon = NULL;
	if (url == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "no URL given");
		memset(out, 0, sizeof(*out));
		return KA_ERR_INVALID;
	}
	if (canon == NULL && memo_url(url, out))
		return KA_OK;
	if ((st = raw_check(url, &raw, &rawlen, &klen, err)) == KA_OK &&
	    canon == NULL && memo.len == klen && memcmp(memo.key, url, klen) == 0) {
		*out = memo.o;
		memo_keep(url, klen, out);
		return KA_OK;
	}
	memset(out, 0, sizeof(*out));
	if (st != KA_OK)
		return st;
	memset(&o, 0, sizeof(o));
	if ((u = curl_url()) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	if ((st = parse_curl(u, url, raw, rawlen, &o, err)) != KA_OK)
		goto out;
	if (canon != NULL) {
		char *tmp = NULL;

		if (curl_url_get(u, CURLUPART_URL, &tmp, 0) != CURLUE_OK ||
		    (c = strdup(tmp)) == NULL) {
			curl_free(tmp);
			kai_error_set(err, KA_ERR_NOMEM, "out of memory");
			st = KA_ERR_NOMEM;
			goto out;
		}
		curl_free(tmp);
		*canon = c;
	}
	*out = o;
	memo_keep(url, klen, &o);
out:
	curl_url_cleanup(u);
	return st;
}

static unsigned default_port(const char *scheme)
{
	return strcmp(scheme, "http") == 0 ? 80 : 443;
}

void kai_origin_format(const struct kai_origin *o, char *buf, size_t n)
{
	if (o->port == default_port(o->scheme))
		snprintf(buf, n, "%s://%s", o->scheme, o->host);
	else
		snprintf(buf, n, "%s://%s:%u", o->scheme, o->host, o->port);
}

/* o against one parsed pattern; n is strlen(o->host). The host compare is
 * exact: both sides are normalised (lowercase, canonical IPv6). A
 * wildcard matches one or more labels under its domain, never the domain
 * itself and never an IP address. */
static int pattern_match(const struct kai_origin *o, size_t n,
			 const struct kai_hostpat *p)
{
	/* Both schemes are "https" or "http" (NUL-padded to 8 bytes). */
	if (memcmp(o->scheme, p->scheme, sizeof(o->scheme)) != 0)
		return 0;
	/* http only ever for loopback, whatever a pattern says. */
	if (o->scheme[4] != 's' && !o->loopback)
		return 0;
	if (p->port != 0 && p->port != o->port)
		return 0;
	if (p->wildcard)
		return !o->ip && n > p->hostlen &&
		       memcmp(o->host + n - p->hostlen, p->host, p->hostlen) == 0;
	return n == p->hostlen && memcmp(o->host, p->host, n) == 0;
}

int kai_origin_match(const struct kai_origin *o, const char *pattern)
{
	struct kai_hostpat p;
	const char *why;
	int m;

	if (pattern == NULL ||
	    kai_hostpat_parse(pattern, &p, &why) != KA_OK)
		return 0;
	m = pattern_match(o, strlen(o->host), &p);
	kai_hostpat_clear(&p);
	return m;
}

/* The executor's hot path: the patterns were parsed with the config. */
int kai_origin_allowed(const struct kai_origin *o, const struct ka_service *s)
{
	size_t n = strlen(o->host);

	for (size_t i = 0; i < s->nhostpat; i++)
		if (pattern_match(o, n, &s->hostpat[i]))
			return 1;
	return 0;
}
