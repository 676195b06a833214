/* SPDX-License-Identifier: MIT */
/* challenge.c: the Bearer challenge of a WWW-Authenticate header (RFC 7235
 * section 4.1, RFC 6750 section 3, RFC 9728 section 5.1) and the scope
 * lists it carries: a pure parser, no I/O. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "kai.h"

/* RFC 7230 tchar. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* A token at the cursor: its start and length (0: none). */
static size_t token(struct cursor *c, const char **start)
{
	*start = c->p;
	while (c->p < c->end && tchar((unsigned char)*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

/* A quoted-string or token value into out (NUL-terminated); -1 when it is
 * malformed, holds a control byte, or does not fit. */
static int value(struct cursor *c, char *out, size_t n)
{
	size_t j = 0;

	if (c->p < c->end && *c->p == '"') {
		for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
			if (*c->p == '\\' && ++c->p >= c->end)
				return -1;
			if ((unsigned char)*c->p < 0x20 || *c->p == 0x7f ||
			    j + 1 >= n)
				return -1;
			out[j++] = *c->p;
		}
		if (c->p >= c->end)
			return -1;	/* unterminated */
		c->p++;
	} else {
		const char *s;
		size_t len = token(c, &s);

		/* token68 characters too ('/' and '=' in base64) */
		while (c->p < c->end && (*c->p == '/' || *c->p == '='))
			c->p++, len++;
		if (len == 0 || len >= n)
			return -1;
		memcpy(out, s, len);
		j = len;
	}
	out[j] = '\0';
	return 0;
}

/* Where one parameter of the Bearer challenge goes, or NULL to skip it. */
static char *slot(struct kai_bearer_challenge *ch, const char *name,
		  size_t len, size_t *n)
{
	static const struct {
		const char *name;
		size_t off, size;
	} slots[] = {
#define SLOT(f) { #f, offsetof(struct kai_bearer_challenge, f), \
		  sizeof(((struct kai_bearer_challenge *)0)->f) }
		SLOT(error), SLOT(error_description), SLOT(scope),
		SLOT(resource_metadata), SLOT(realm),
#undef SLOT
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (strlen(slots[i].name) == len &&
		    strncasecmp(slots[i].name, name, len) == 0) {
			*n = slots[i].size;
			return (char *)ch + slots[i].off;
		}
	}
	return NULL;
}

/* One auth-param (name=value) of the challenge at the cursor; keep says
 * whether it belongs to the Bearer challenge. 1: parsed; 0: the cursor
 * holds no parameter (a new challenge starts); -1: malformed. */
static int param(struct cursor *c, struct kai_bearer_challenge *ch, int keep)
{
	char junk[KAI_CHALLENGE_MAX];
	const char *name, *save = c->p;
	size_t nl = token(c, &name), n = sizeof(junk);
	char *dst;

	skip_ws(c);
	if (nl == 0 || c->p >= c->end || *c->p != '=') {
		c->p = save;
		return nl == 0 ? -1 : 0;
	}
	c->p++;
	skip_ws(c);
	dst = keep ? slot(ch, name, nl, &n) : NULL;
	if (dst != NULL && dst[0] != '\0')
		return -1;	/* a parameter given twice */
	if (value(c, dst != NULL ? dst : junk, n) != 0)
		return -1;
	return 1;
}

/* The parameters of one challenge up to the next challenge or the end. */
static int params(struct cursor *c, struct kai_bearer_challenge *ch, int keep)
{
	for (;;) {
		int r;

		skip_ws(c);
		while (c->p < c->end && *c->p == ',') {
			c->p++;
			skip_ws(c);
		}
		if (c->p >= c->end)
			return 0;
		if ((r = param(c, ch, keep)) <= 0)
			return r;	/* 0: the next challenge */
		skip_ws(c);
		if (c->p < c->end && *c->p != ',')
			return -1;
	}
}

enum ka_status kai_bearer_challenge_parse(const char *buf, size_t len,
					  struct kai_bearer_challenge *out)
{
	struct cursor c = { buf, buf + len };

	memset(out, 0, sizeof(*out));
	if (buf == NULL)
		return KA_OK;
	if (memchr(buf, '\0', len) != NULL)
		return KA_ERR_PROTOCOL;
	for (;;) {
		const char *scheme;
		size_t sl;
		int bearer;

		skip_ws(&c);
		while (c.p < c.end && (*c.p == ',' || *c.p == ' '))
			c.p++;
		if (c.p >= c.end)
			break;
		if ((sl = token(&c, &scheme)) == 0)
			goto bad;
		bearer = sl == 6 && strncasecmp(scheme, "Bearer", 6) == 0;
		if (bearer && out->found)
			goto bad;	/* two Bearer challenges */
		out->found |= bearer;
		if (params(&c, out, bearer) < 0)
			goto bad;
	}
	return KA_OK;
bad:
	memset(out, 0, sizeof(*out));
	return KA_ERR_PROTOCOL;
}

/* ---- scope lists (space-separated, RFC 6749 section 3.3) -------------- */

static int list_has(const char *list, const char *s, size_t n)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t l = strcspn(p, " ");

		if (l == n && strncmp(p, s, n) == 0)
			return 1;
		p += l;
		p += *p == ' ';
	}
	return 0;
}

int kai_scope_list_has(const char *list, const char *scope)
{
	return list_has(list, scope, strlen(scope));
}

enum ka_status kai_scope_list_add(char *list, size_t size, const char *add)
{
	const char *p = add;
	size_t used = strlen(list);

	while (p != NULL && *p != '\0') {
		size_t l = strcspn(p, " ");

		if (l > 0 && !list_has(list, p, l)) {
			if (used + (used > 0) + l + 1 > size)
				return KA_ERR_INVALID;
			if (used > 0)
				list[used++] = ' ';
			memcpy(list + used, p, l);
			used += l;
			list[used] = '\0';
		}
		p += l;
		while (*p == ' ')
			p++;
	}
	return KA_OK;
}

int kai_scope_list_ok(const char *list)
{
	for (const char *p = list; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' ? p == list || p[1] == ' ' || p[1] == '\0' :
		    c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}
