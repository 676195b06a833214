/* SPDX-License-Identifier: MIT */
/* headers.c: a tool's own request headers: what a well-formed one is, which
 * carry credentials, which would change where a request goes, and the
 * header list the library hands to libcurl. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kai.h"

#define NAME_MAX_SHOWN 64

/* RFC 9110 token characters: letters, digits and !#$%&'*+-.^_`|~. */
#define D(c) [c] = 1
static const unsigned char tchar[256] = {
	D('!'), D('#'), D('$'), D('%'), D('&'), D('\''), D('*'), D('+'),
	D('-'), D('.'), D('^'), D('_'), D('`'), D('|'), D('~'),
	D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'),
	D('8'), D('9'),
	D('A'), D('B'), D('C'), D('D'), D('E'), D('F'), D('G'), D('H'),
	D('I'), D('J'), D('K'), D('L'), D('M'), D('N'), D('O'), D('P'),
	D('Q'), D('R'), D('S'), D('T'), D('U'), D('V'), D('W'), D('X'),
	D('Y'), D('Z'),
	D('a'), D('b'), D('c'), D('d'), D('e'), D('f'), D('g'), D('h'),
	D('i'), D('j'), D('k'), D('l'), D('m'), D('n'), D('o'), D('p'),
	D('q'), D('r'), D('s'), D('t'), D('u'), D('v'), D('w'), D('x'),
	D('y'), D('z'),
};
#undef D

size_t kai_header_name_len(const char *line)
{
	size_t n = 0;

	while (tchar[(unsigned char)line[n]])
		n++;
	return n;
}

/* kai_header_check of line whose name is n bytes long. */
static enum ka_status check_named(const char *line, size_t n, size_t i,
				  ka_error *err)
{
	size_t len;

	if (n == 0) {
		kai_error_set(err, KA_ERR_INVALID, "header %zu has no name: write "
			      "it as 'Name: value'", i);
		return KA_ERR_INVALID;
	}
	if (n > NAME_MAX_SHOWN) {
		kai_error_set(err, KA_ERR_INVALID, "header %zu has a name longer "
			      "than %d characters", i, NAME_MAX_SHOWN);
		return KA_ERR_INVALID;
	}
	/* libcurl's forms: "Name: value", "Name;" (empty), "Name:" (remove). */
	if (line[n] == ' ' || line[n] == '\t') {
		kai_error_set(err, KA_ERR_INVALID, "header %zu: no space may "
			      "stand between the name '%.*s' and the colon: write "
			      "'%.*s: value'", i, (int)n, line, (int)n, line);
		return KA_ERR_INVALID;
	}
	if (line[n] != ':' && line[n] != ';') {
		kai_error_set(err, KA_ERR_INVALID, "header %zu: '%.*s' must be "
			      "followed by a colon; a header name holds letters, "
			      "digits and !#$%%&'*+-.^_`|~ only: write 'Name: "
			      "value'", i, (int)n, line);
		return KA_ERR_INVALID;
	}
	if (line[n] == ';' && line[n + 1] != '\0') {
		kai_error_set(err, KA_ERR_INVALID, "header %zu: 'Name;' (an empty "
			      "header) takes nothing after the ';'", i);
		return KA_ERR_INVALID;
	}
	if (!kai_ctl_scan(line + n, &len))
		return KA_OK;	/* the common case: no control byte at all */
	for (size_t k = n; k < n + len; k++) {
		unsigned char c = (unsigned char)line[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			kai_error_set(err, KA_ERR_INVALID, "header %zu ('%.*s') "
				      "holds a control character (CR, LF, NUL, "
				      "...) in its value", i, (int)n, line);
			return KA_ERR_INVALID;
		}
	}
	return KA_OK;
}

enum ka_status kai_header_check(const char *line, size_t i, ka_error *err)
{
	if (line == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "header %zu is missing", i);
		return KA_ERR_INVALID;
	}
	return check_named(line, kai_header_name_len(line), i, err);
}

/* 1 if line's name, n bytes, is name (any case). */
static int named(const char *line, size_t n, const char *name, size_t len)
{
	return n == len && strncasecmp(line, name, n) == 0;
}

int kai_header_is(const char *line, const char *name)
{
	return named(line, kai_header_name_len(line), name, strlen(name));
}

/* Headers that decide where a request goes, or how it is framed, behind
 * a proxy that routes on them: an authorized request goes to its URL's
 * origin and nowhere else, so a tool may not set them. */
static const struct {
	const char *name;
	size_t len;
} routing[] = {
#define R(n) { n, sizeof(n) - 1 }
	R("Host"), R("Forwarded"), R("X-Forwarded-Host"),
	R("X-Forwarded-Server"), R("X-Forwarded-Proto"), R("X-Original-URL"),
	R("X-Rewrite-URL"), R("Content-Length"), R("Transfer-Encoding"),
	R("Connection"), R("Upgrade"), R("TE"), R("Proxy-Connection"),
#undef R
};

static const char *routing_named(const char *line, size_t n)
{
	for (size_t i = 0; i < sizeof(routing) / sizeof(routing[0]); i++)
		if (named(line, n, routing[i].name, routing[i].len))
			return routing[i].name;
	return NULL;
}

const char *kai_header_routing(const char *line)
{
	return routing_named(line, kai_header_name_len(line));
}

/* curl's rule (credentials only to the first origin), extended to the
 * service's own header name. */
int kai_header_credential(const char *line, const char *cred_name,
			  size_t cred_len)
{
	size_t n = kai_header_name_len(line);

	return named(line, n, "Authorization", 13) ||
	       named(line, n, "Proxy-Authorization", 19) ||
	       named(line, n, "Cookie", 6) ||
	       (cred_name != NULL && named(line, n, cred_name, cred_len));
}

enum ka_status kai_headers_check(const struct curl_slist *h, const char *skip,
				 size_t skip_len, ka_error *err)
{
	const char *r;
	enum ka_status st;
	size_t i = 1, n;

	for (; h != NULL; h = h->next, i++) {
		if (h->data == NULL)
			return kai_header_check(NULL, i, err);
		n = kai_header_name_len(h->data);
		if (skip_len > 0 && named(h->data, n, skip, skip_len) &&
		    (h->data[n] == ':' || h->data[n] == ';'))
			continue;
		if ((st = check_named(h->data, n, i, err)) != KA_OK)
			return st;
		if ((r = routing_named(h->data, n)) != NULL) {
			kai_error_set(err, KA_ERR_INVALID, "header %zu ('%s') would "
				      "change where or how the request goes; an "
				      "authorized request goes to its URL's origin "
				      "only: leave it out", i, r);
			return KA_ERR_INVALID;
		}
	}
	return KA_OK;
}

static void node_wipe(struct curl_slist *e)
{
	if (e->data != NULL)
		kai_wipe(e->data, strlen(e->data));
}

KAI_API void ka_headers_free(struct curl_slist *headers)
{
	for (struct curl_slist *h = headers; h != NULL; h = h->next)
		node_wipe(h);
	curl_slist_free_all(headers);
}

static void node_drop(struct curl_slist *e)
{
	node_wipe(e);
	e->next = NULL;
	curl_slist_free_all(e);
}

enum ka_status kai_headers_set(struct curl_slist **headers, const char *line,
			       size_t len, size_t name_len,
			       struct curl_slist **node)
{
	struct curl_slist **pp, *e, *keep = NULL;
	size_t same = 0;

	/* A node of the name whose buffer holds line (libcurl sized it to
	 * its old text) is written over; otherwise line is appended. */
	for (e = *headers; e != NULL; e = e->next) {
		if (!named(e->data, kai_header_name_len(e->data), line, name_len))
			continue;
		same++;
		if (keep == NULL && strlen(e->data) >= len)
			keep = e;
	}
	if (keep == NULL) {
		struct curl_slist *l = curl_slist_append(*headers, line);

		if (l == NULL)
			return KA_ERR_NOMEM;
		*headers = l;
		for (keep = l; keep->next != NULL; keep = keep->next)
			;
	} else {
		node_wipe(keep);
		memcpy(keep->data, line, len + 1);
		if (same == 1)
			goto out;	/* the usual case: nothing else to drop */
	}
	for (pp = headers; (e = *pp) != NULL;) {
		if (e != keep && named(e->data, kai_header_name_len(e->data),
				       line, name_len)) {
			*pp = e->next;
			node_drop(e);
		} else {
			pp = &e->next;
		}
	}
out:
	*node = keep;
	return KA_OK;
}
