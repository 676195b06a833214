/* SPDX-License-Identifier: MIT */
/* rfproto.c: the pipe protocol between the library and kiwi-auth-refresher:
 * a request (which record to refresh, with which configuration) and an
 * answer (log lines, then the outcome). Pure parsers and writers: buffer
 * in, struct out. Neither side ever carries a token: the refresher loads
 * the record itself and the caller reads it back from its source.
 *
 *   request                         answer
 *   KIWI-AUTH-REFRESH 1             log LEVEL TEXT        (any number)
 *   config PATH                     result STATUS AUTH REFRESHED
 *   moduledir PATH                  message TEXT
 *   service NAME                    end
 *   account NAME
 *   force 0|1
 *   end
 *
 * One line a field, in this order, each at most KAI_RF_LINE_MAX bytes
 * with its newline, no control bytes; PATH may be empty (the default
 * search); nothing may follow "end". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kai.h"

#define MAGIC "KIWI-AUTH-REFRESH 1"

/* The next line of buf[*pos..len) without its newline: 0, or -1 when there
 * is none, it is too long, or it holds a control byte. */
static int next_line(const char *buf, size_t len, size_t *pos,
		     const char **line, size_t *n)
{
	const char *p = buf + *pos, *nl;
	size_t left = len - *pos;

	if (*pos >= len)
		return -1;
	nl = memchr(p, '\n', left < KAI_RF_LINE_MAX ? left : KAI_RF_LINE_MAX);
	if (nl == NULL)
		return -1;
	for (const char *q = p; q < nl; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return -1;
	*line = p;
	*n = (size_t)(nl - p);
	*pos += *n + 1;
	return 0;
}

/* "KEY VALUE" into out (cap bytes with its NUL); empty allowed if
 * may_be_empty. */
static int field(const char *buf, size_t len, size_t *pos, const char *key,
		 char *out, size_t cap, int may_be_empty)
{
	const char *line;
	size_t n, k = strlen(key);

	if (next_line(buf, len, pos, &line, &n) != 0 || n < k + 1 ||
	    memcmp(line, key, k) != 0 || line[k] != ' ')
		return -1;
	n -= k + 1;
	if (n >= cap || (n == 0 && !may_be_empty))
		return -1;
	memcpy(out, line + k + 1, n);
	out[n] = '\0';
	return 0;
}

static int exact(const char *buf, size_t len, size_t *pos, const char *want)
{
	const char *line;
	size_t n;

	return next_line(buf, len, pos, &line, &n) == 0 &&
	       n == strlen(want) && memcmp(line, want, n) == 0 ? 0 : -1;
}

int kai_rf_request_parse(const char *buf, size_t len,
			 struct kai_rf_request *out)
{
	char force[2];
	size_t pos = 0;

	memset(out, 0, sizeof(*out));
	if (len > KAI_RF_REQUEST_MAX ||
	    exact(buf, len, &pos, MAGIC) != 0 ||
	    field(buf, len, &pos, "config", out->config,
		  sizeof(out->config), 1) != 0 ||
	    field(buf, len, &pos, "moduledir", out->module_dir,
		  sizeof(out->module_dir), 1) != 0 ||
	    field(buf, len, &pos, "service", out->service,
		  sizeof(out->service), 0) != 0 ||
	    field(buf, len, &pos, "account", out->account,
		  sizeof(out->account), 0) != 0 ||
	    field(buf, len, &pos, "force", force, sizeof(force), 0) != 0 ||
	    (force[0] != '0' && force[0] != '1') ||
	    exact(buf, len, &pos, "end") != 0 || pos != len) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->force = force[0] == '1';
	return 0;
}

/* A value that fits a field: no newline or control byte, short enough. */
static int plain(const char *s, size_t cap)
{
	size_t n = strlen(s);

	return n < cap && !kai_has_ctl(s);
}

int kai_rf_request_format(const struct kai_rf_request *r, char *buf,
			  size_t cap, size_t *len)
{
	int n;

	if (!plain(r->config, sizeof(r->config)) ||
	    !plain(r->module_dir, sizeof(r->module_dir)) ||
	    !plain(r->service, sizeof(r->service)) || r->service[0] == '\0' ||
	    !plain(r->account, sizeof(r->account)) || r->account[0] == '\0')
		return -1;
	n = snprintf(buf, cap, MAGIC "\nconfig %s\nmoduledir %s\nservice %s\n"
		     "account %s\nforce %d\nend\n", r->config, r->module_dir,
		     r->service, r->account, r->force ? 1 : 0);
	if (n < 0 || (size_t)n >= cap || (size_t)n > KAI_RF_REQUEST_MAX)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* A decimal in [0, max] that is the whole of s[0..n). */
static int number(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 6)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* "result STATUS AUTH REFRESHED" */
static int result_line(const char *line, size_t n, struct kai_rf_answer *out)
{
	const char *p = line + 7, *end = line + n, *sp;
	long v[3];

	if (n < 7 || memcmp(line, "result ", 7) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		sp = i < 2 ? memchr(p, ' ', (size_t)(end - p)) : end;
		if (sp == NULL ||
		    number(p, (size_t)(sp - p), i == 0 ? KA_ERR_PROTOCOL : 1,
			   &v[i]) != 0)
			return -1;
		p = sp + 1;
	}
	out->status = (enum ka_status)v[0];
	out->auth_required = (int)v[1];
	out->refreshed = (int)v[2];
	return 0;
}

int kai_rf_answer_parse(const char *buf, size_t len,
			struct kai_rf_answer *out, kai_rf_log_fn log,
			void *data)
{
	const char *line;
	size_t pos = 0, n, logs = 0;
	long level;

	memset(out, 0, sizeof(*out));
	if (len > KAI_RF_ANSWER_MAX)
		return -1;
	for (;;) {
		if (next_line(buf, len, &pos, &line, &n) != 0)
			return -1;
		if (n < 4 || memcmp(line, "log ", 4) != 0)
			break;
		if (n < 7 || number(line + 4, 1, 7, &level) != 0 ||
		    line[5] != ' ' || ++logs > KAI_RF_LOGS_MAX)
			return -1;
		if (log != NULL) {
			char text[KAI_RF_LINE_MAX];

			memcpy(text, line + 6, n - 6);
			text[n - 6] = '\0';
			log((int)level, text, data);
		}
	}
	if (result_line(line, n, out) != 0 ||
	    field(buf, len, &pos, "message", out->message,
		  sizeof(out->message), 1) != 0 ||
	    exact(buf, len, &pos, "end") != 0 || pos != len) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if ((out->status == KA_OK) != (out->message[0] == '\0')) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* text with control bytes as '?' and cut to fit a line of prefix + text. */
static void clean(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' :
			 src[i];
	dst[i] = '\0';
}

int kai_rf_log_format(int level, const char *text, char *buf, size_t cap)
{
	char t[KAI_RF_LINE_MAX - 8];
	int n;

	clean(t, sizeof(t), text);
	n = snprintf(buf, cap, "log %d %s\n", level < 0 ? 0 : level > 7 ? 7 :
		     level, t);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int kai_rf_answer_format(enum ka_status st, const ka_error *err,
			 int refreshed, char *buf, size_t cap)
{
	char msg[sizeof(((struct kai_rf_answer *)0)->message)];
	int n;

	if (st == KA_OK)
		msg[0] = '\0';
	else
		clean(msg, sizeof(msg), err->text[0] != '\0' ? err->text :
		      ka_strerror(st));
	n = snprintf(buf, cap, "result %d %d %d\nmessage %s\nend\n", (int)st,
		     st != KA_OK && err->auth_required ? 1 : 0,
		     refreshed ? 1 : 0, msg);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
