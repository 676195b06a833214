/* SPDX-License-Identifier: MIT */
/* util.c: string vectors, formatting and small checks used everywhere. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kai.h"

enum ka_status kai_strv_add(struct kai_strv *sv, const char *s)
{
	char **v;
	char *copy = strdup(s);

	if (copy == NULL)
		return KA_ERR_NOMEM;
	v = realloc(sv->v, (sv->n + 2) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return KA_ERR_NOMEM;
	}
	v[sv->n++] = copy;
	v[sv->n] = NULL;
	sv->v = v;
	return KA_OK;
}

enum ka_status kai_strv_addf(struct kai_strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	enum ka_status st;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return KA_ERR_NOMEM;
	st = kai_strv_add(sv, s);
	free(s);
	return st;
}

int kai_strv_contains(const struct kai_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}

const char *kai_strv_at(const struct kai_strv *sv, size_t i)
{
	return i < sv->n ? sv->v[i] : NULL;
}

void kai_strv_clear(struct kai_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

char *kai_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

char *kai_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

int kai_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

int kai_is_identifier(const char *s)
{
	size_t n = 0;

	if (s == NULL || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return 0;
	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n <= 64;
}

int64_t kai_now(void)
{
	return (int64_t)time(NULL);
}

void (*kai_test_hook)(const char *point);

void kai_test_point(const char *point)
{
	if (kai_test_hook != NULL)
		kai_test_hook(point);
}

static void buf_release(char *p, size_t cap, int secure)
{
	if (p == NULL)
		return;
	if (secure) {
		kai_secure_free(p);
		return;
	}
	kai_wipe(p, cap);
	free(p);
}

int kai_buf_append(struct kai_buf *b, const void *p, size_t n, size_t max)
{
	size_t cap;
	char *nb;

	if (b->len > max || n > max - b->len)
		return -1;
	if (b->len + n + 1 > b->cap) {
		for (cap = b->cap ? b->cap : 4096; cap < b->len + n + 1;)
			cap *= 2;
		if (cap > max + 1)
			cap = max + 1;
		nb = b->secure ? kai_secure_alloc(cap) : malloc(cap);
		if (nb == NULL)
			return -2;
		if (b->len > 0)
			memcpy(nb, b->p, b->len);
		buf_release(b->p, b->cap, b->secure);
		b->p = nb;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void kai_buf_free(struct kai_buf *b)
{
	buf_release(b->p, b->cap, b->secure);
	b->p = NULL;
	b->len = b->cap = 0;
}
