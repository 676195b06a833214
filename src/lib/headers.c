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

/* RFC 9110 token characters. */
static int tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

size_t kai_header_name_len(const char *line)
{
	size_t n = 0;

	while (tchar((unsigned char)line[n]))
		n++;
	return n;
}

enum ka_status kai_header_check(const char *line, size_t i, ka_error *err)
{
	size_t n, len;

	if (line == NULL) {
		kai_error_set(err, KA_ERR_INVALID, "header %zu is missing", i);
		return KA_ERR_INVALID;
	}
	n = kai_header_name_len(line);
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
	len = strlen(line);
	for (size_t k = n; k < len; k++) {
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

int kai_header_is(const char *line, const char *name)
{
	size_t n = kai_header_name_len(line);

	return n == strlen(name) && strncasecmp(line, name, n) == 0;
}

/* Headers that decide where a request goes, or how it is framed, behind
 * a proxy that routes on them: an authorized request goes to its URL's
 * origin and nowhere else, so a tool may not set them. */
static const char *const routing[] = {
	"Host", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Server",
	"X-Forwarded-Proto", "X-Original-URL", "X-Rewrite-URL",
	"Content-Length", "Transfer-Encoding", "Connection", "Upgrade",
	"TE", "Proxy-Connection",
};

const char *kai_header_routing(const char *line)
{
	for (size_t i = 0; i < sizeof(routing) / sizeof(routing[0]); i++)
		if (kai_header_is(line, routing[i]))
			return routing[i];
	return NULL;
}

/* curl's rule (credentials only to the first origin), extended to the
 * service's own header name. */
int kai_header_credential(const char *line, const char *cred_name,
			  size_t cred_len)
{
	size_t n = kai_header_name_len(line);

	if (kai_header_is(line, "Authorization") ||
	    kai_header_is(line, "Proxy-Authorization") ||
	    kai_header_is(line, "Cookie"))
		return 1;
	return cred_name != NULL && n == cred_len &&
	       strncasecmp(line, cred_name, n) == 0;
}

enum ka_status kai_headers_check(const struct curl_slist *h, int authorized,
				 ka_error *err)
{
	const char *r;
	enum ka_status st;
	size_t i = 1;

	for (; h != NULL; h = h->next, i++) {
		if ((st = kai_header_check(h->data, i, err)) != KA_OK)
			return st;
		if (authorized && (r = kai_header_routing(h->data)) != NULL) {
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

enum ka_status kai_headers_set(struct curl_slist **headers, const char *line,
			       struct curl_slist **node)
{
	struct curl_slist *l = curl_slist_append(*headers, line), **pp, *e;
	size_t n = kai_header_name_len(line);

	if (l == NULL)
		return KA_ERR_NOMEM;
	*headers = l;
	for (pp = headers; (e = *pp) != NULL;) {
		if (e->next != NULL && kai_header_name_len(e->data) == n &&
		    strncasecmp(e->data, line, n) == 0) {
			*pp = e->next;
			node_wipe(e);
			e->next = NULL;
			curl_slist_free_all(e);
		} else {
			pp = &e->next;
		}
	}
	for (e = *headers; e->next != NULL; e = e->next)
		;
	*node = e;
	return KA_OK;
}
