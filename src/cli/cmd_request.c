/* cmd_request.c: `kiwi-auth request`: the reference executor: authorize one HTTP request and perform it with libcurl. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli.h"

#define CMD "request"
#define MAX_HOPS 10
#define MAX_BODY (64L * 1024 * 1024)
#define MAX_CHAIN (1024L * 1024)
#define MAX_RESPONSE_HEADERS (256 * 1024)

struct args {
	const char *scope, *service, *chain, *account, *method, *data, *url;
	const char *tool;	/* from the chain, for the audit trail */
	struct curl_slist *tool_headers;
};

/* What came back from the last hop. */
struct response {
	char *body;
	size_t len;
	json_t *headers;	/* lowercase name -> value */
	size_t header_bytes;
	int too_big;
	/* The credential of this hop, for ka_redact: a server that echoes
	 * request headers must not hand the token to the caller. */
	const struct ka_auth_info *info;
};

/* ---- input -------------------------------------------------------------- */

/* Read a whole file (or stdin for "-") into a malloc'd buffer. */
static int slurp(const char *path, long max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t n = 0, cap = 0, r;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	do {
		if (cap - n < 8192) {
			cap = cap ? cap * 2 : 65536;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				cli_error("out of memory");
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if ((long)n > max) {
			cli_error("%s is larger than %ld bytes", path, max);
			free(buf);
			buf = NULL;
			break;
		}
	} while (r > 0);
	if (buf != NULL && ferror(f)) {
		cli_error("cannot read %s", path);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf == NULL)
		return CLI_EXIT_USAGE;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return CLI_EXIT_OK;
}

static int header_ok(const char *h)
{
	size_t n = strcspn(h, ":;");

	if (n == 0 || h[n] == '\0')
		return 0;
	for (size_t i = 0; h[i] != '\0'; i++)
		if ((unsigned char)h[i] < 0x20 || h[i] == 0x7f ||
		    (i < n && (h[i] == ' ' || h[i] == '\t')))
			return 0;
	return 1;
}

static int method_ok(const char *m)
{
	if (*m == '\0' || strlen(m) > 32)
		return 0;
	for (; *m != '\0'; m++)
		if (!isupper((unsigned char)*m))
			return 0;
	return 1;
}

static int parse_args(struct cli_opts *o, int argc, char **argv,
		      struct args *a)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONG,
		{ "scope", required_argument, NULL, 's' },
		{ "service", required_argument, NULL, 'S' },
		{ "chain", required_argument, NULL, 'c' },
		{ "account", required_argument, NULL, 'a' },
		{ "request", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct curl_slist *l;
	int c, rc;

	while ((c = cli_getopt(o, CMD, argc, argv, "+X:H:d:" CLI_COMMON_SHORT,
			       longopts, &a->account, &rc)) >= 0) {
		switch (c) {
		case 's': a->scope = optarg; break;
		case 'S': a->service = optarg; break;
		case 'c': a->chain = optarg; break;
		case 'X': a->method = optarg; break;
		case 'd': a->data = optarg; break;
		case 'H':
			if (!header_ok(optarg))
				return cli_usage(CMD, "-H takes 'Name: value' "
						 "without control characters");
			if ((l = curl_slist_append(a->tool_headers, optarg)) == NULL) {
				cli_error("out of memory");
				return CLI_EXIT_FAILURE;
			}
			a->tool_headers = l;
			break;
		default:
			return cli_usage(CMD, "unknown option");
		}
	}
	if (c == CLI_OPT_STOP)
		return rc == CLI_EXIT_OK ? -1 : rc;
	if (optind != argc - 1)
		return cli_usage(CMD, "give exactly one URL");
	a->url = argv[optind];
	if (a->method != NULL && !method_ok(a->method))
		return cli_usage(CMD, "-X takes an HTTP method in capitals, "
				 "such as GET, POST, PUT, DELETE");
	return cli_check_account(CMD, a->account);
}

/* --chain FILE: scope and service from the manifests, unless given on the
 * command line. *ts is owned by the caller. */
static int read_chain(struct args *a, struct ka_tool_scope **ts)
{
	char *json = NULL;
	size_t len = 0;
	enum ka_status st;
	ka_error err;
	int rc;

	*ts = NULL;
	if (a->chain == NULL)
		return CLI_EXIT_OK;
	if ((rc = slurp(a->chain, MAX_CHAIN, &json, &len)) != CLI_EXIT_OK)
		return rc;
	ka_error_clear(&err);
	st = ka_tool_scope_new(json, len, ts, &err);
	free(json);
	if (st != KA_OK) {
		cli_error("%s: %s", a->chain, err.text);
		return CLI_EXIT_USAGE;
	}
	if (a->scope == NULL)
		a->scope = ka_tool_scope_scope(*ts);
	if (a->service == NULL)
		a->service = ka_tool_scope_service(*ts);
	a->tool = ka_tool_scope_tool(*ts);
	return CLI_EXIT_OK;
}

/* ---- the transfer ------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
	struct response *r = data;
	size_t k = size * n;
	char *nb;

	if (r->len + k > (size_t)MAX_BODY) {
		r->too_big = 1;
		return 0;
	}
	if ((nb = realloc(r->body, r->len + k + 1)) == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *data)
{
	struct response *r = data;
	size_t k = size * n, nl, vs, ve;
	char name[128];
	const char *old;
	json_t *v;

	r->header_bytes += k;
	if (r->header_bytes > MAX_RESPONSE_HEADERS)
		return 0;
	nl = 0;
	while (nl < k && p[nl] != ':' && nl < sizeof(name) - 1) {
		name[nl] = (char)tolower((unsigned char)p[nl]);
		nl++;
	}
	if (nl == 0 || nl >= k || p[nl] != ':' || memchr(p, ' ', nl))
		return k;	/* status line, blank line or junk */
	name[nl] = '\0';
	for (vs = nl + 1; vs < k && (p[vs] == ' ' || p[vs] == '\t'); vs++)
		;
	for (ve = k; ve > vs && (p[ve - 1] == '\r' || p[ve - 1] == '\n' ||
				 p[ve - 1] == ' '); ve--)
		;
	old = json_string_value(json_object_get(r->headers, name));
	if (old != NULL) {
		char *joined = NULL;

		if (asprintf(&joined, "%s, %.*s", old, (int)(ve - vs), p + vs) < 0)
			return 0;
		ka_redact(r->info, joined, strlen(joined));
		v = json_string(joined);
		free(joined);
	} else {
		char *value = strndup(p + vs, ve - vs);

		if (value == NULL)
			return 0;
		ka_redact(r->info, value, ve - vs);
		v = json_stringn(value, ve - vs);
		free(value);
	}
	if (v != NULL)
		json_object_set_new(r->headers, name, v);
	return k;
}

static void response_reset(struct response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
	r->too_big = 0;
	r->header_bytes = 0;
	json_object_clear(r->headers);
}

/* ---- origins and redirects ---------------------------------------------- */

/* "scheme://host:port", lowercased, or "" if the URL does not parse. */
static void origin_of(const char *url, char *buf, size_t n)
{
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL;

	buf[0] = '\0';
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(buf, n, "%s://%s:%s", s, h, p);
	for (char *c = buf; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
}

static int same_name(const char *h, const char *name, size_t n)
{
	while (*h == ' ' || *h == '\t')
		h++;
	return strncasecmp(h, name, n) == 0 &&
	       (h[n] == ':' || h[n] == ';' || h[n] == ' ' || h[n] == '\0');
}

/* The tool's headers for one hop. On a hop to another origin, headers
 * that carry credentials are left out (curl's rule, extended to the
 * service's own header name). */
static struct curl_slist *hop_headers(const struct curl_slist *tool,
				      int foreign, const char *cred_header)
{
	static const char *const sensitive[] = { "Authorization", "Cookie",
						 "Proxy-Authorization" };
	struct curl_slist *l = NULL, *nl;
	size_t cn = cred_header != NULL ? strcspn(cred_header, ":") : 0;

	for (; tool != NULL; tool = tool->next) {
		int drop = 0;

		for (size_t i = 0; foreign && i < 3; i++)
			drop |= same_name(tool->data, sensitive[i],
					  strlen(sensitive[i]));
		if (foreign && cn > 0)
			drop |= same_name(tool->data, cred_header, cn);
		if (drop)
			continue;
		if ((nl = curl_slist_append(l, tool->data)) == NULL) {
			ka_headers_free(l);
			return NULL;
		}
		l = nl;
	}
	return l;
}

/* RFC 9110: 303 turns anything but HEAD into GET; 301 and 302 turn POST
 * into GET (as browsers and curl do); 307 and 308 keep the method. */
static void redirect_method(long code, const char **method, int *body)
{
	if ((code == 303 && strcmp(*method, "HEAD") != 0) ||
	    ((code == 301 || code == 302) && strcmp(*method, "POST") == 0)) {
		*method = "GET";
		*body = 0;
	}
}

static int set_method(CURL *h, const char *method, const char *data,
		      size_t dlen, int body)
{
	CURLcode rc = CURLE_OK;

	if (strcmp(method, "HEAD") == 0)
		return curl_easy_setopt(h, CURLOPT_NOBODY, 1L) == CURLE_OK;
	if (body) {
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)dlen);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	} else {
		rc = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	if (rc == CURLE_OK && strcmp(method, body ? "POST" : "GET") != 0)
		rc = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	return rc == CURLE_OK;
}

/* ---- output ------------------------------------------------------------- */

static char *base64(const char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? a[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int print_json(long status, struct response *r, const char *service,
		      const char *scope, const ka_error *err)
{
	json_t *meta, *root, *body = NULL;

	meta = json_pack("{s:b, s:s?, s:s?}", "auth_required",
			 err != NULL && err->auth_required, "service", service,
			 "scope", scope);
	if (meta != NULL && err != NULL && err->code != KA_OK)
		json_object_set_new(meta, "error", json_string(err->text));
	if (r != NULL && r->body != NULL)
		body = json_stringn(r->body, r->len);
	root = json_pack("{s:o?, s:o?, s:o?, s:o?}",
			 "status", status > 0 ? json_integer(status) : json_null(),
			 "headers", r != NULL ? json_incref(r->headers) :
			 json_object(),
			 "body", body != NULL ? body : json_null(),
			 "metadata", meta);
	if (root != NULL && r != NULL && r->body != NULL && body == NULL) {
		char *b = base64(r->body, r->len);

		json_object_set_new(root, "body_base64", json_string(b));
		free(b);
	}
	return cli_json_print(root);
}

/* ---- the command --------------------------------------------------------- */

struct run {
	struct cli_opts *o;
	struct args *a;
	struct ka_ctx *ctx;
	CURL *h;
	char *data;
	size_t dlen;
	struct response resp;
	const char *service;	/* from the first hop */
	char cred_header[128];
};

static int auth_exit(struct run *r, enum ka_status st, const ka_error *err)
{
	int rc = st == KA_ERR_DENIED ? CLI_EXIT_DENIED :
		 st == KA_ERR_INVALID ? CLI_EXIT_USAGE : cli_exit_code(st, err);

	cli_error("%s", err->text[0] != '\0' ? err->text : ka_strerror(st));
	if (r->o->json)
		print_json(0, NULL, r->service != NULL ? r->service :
			   r->a->service, r->a->scope, err);
	return rc;
}

/* Authorize and perform one hop. *code gets the HTTP status. */
static int hop(struct run *r, int n, const char *url, const char *method,
	       int body, int foreign, long *code)
{
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = method, .url = url,
		.scope = r->a->scope, .service = r->a->service,
		.account = r->a->account, .tool = r->a->tool,
	};
	struct curl_slist *headers;
	struct ka_auth_info info;
	enum ka_status st;
	ka_error err;
	CURLcode cc;
	int rc = CLI_EXIT_FAILURE;

	headers = hop_headers(r->a->tool_headers, foreign, r->cred_header);
	if (headers == NULL && r->a->tool_headers != NULL) {
		cli_error("out of memory");
		return CLI_EXIT_FAILURE;
	}
	ka_error_clear(&err);
	st = ka_authorize(r->ctx, &req, &headers, &info, &err);
	if (st == KA_ERR_DENIED && n > 0) {
		if (r->o->verbose)
			fprintf(stderr, "kiwi-auth: redirect %d leaves the "
				"service's hosts: sent without the credential\n",
				n);
	} else if (st != KA_OK) {
		ka_headers_free(headers);
		return auth_exit(r, st, &err);
	}
	if (n == 0 && info.service != NULL) {
		const struct ka_service *s = ka_service_find(r->ctx, info.service);

		r->service = info.service;
		snprintf(r->cred_header, sizeof(r->cred_header), "%s",
			 s != NULL ? ka_service_header(s) : "");
	}
	curl_easy_reset(r->h);
	ka_error_clear(&err);
	if ((st = ka_curl_apply(r->h, &req, headers, &err)) != KA_OK) {
		ka_headers_free(headers);
		return auth_exit(r, st, &err);
	}
	response_reset(&r->resp);
	r->resp.info = &info;
	if (!set_method(r->h, method, r->data, r->dlen, body) ||
	    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, &r->resp) ||
	    curl_easy_setopt(r->h, CURLOPT_HEADERFUNCTION, on_header) ||
	    curl_easy_setopt(r->h, CURLOPT_HEADERDATA, &r->resp) ||
	    curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 10L) ||
	    curl_easy_setopt(r->h, CURLOPT_TIMEOUT, 300L) ||
	    curl_easy_setopt(r->h, CURLOPT_USERAGENT, "kiwi-auth/" PACKAGE_VERSION)) {
		cli_error("libcurl refused a setting");
		goto out;
	}
	cc = curl_easy_perform(r->h);
	if (cc != CURLE_OK) {
		char origin[300];

		origin_of(url, origin, sizeof(origin));
		cli_error("request to %s failed: %s%s", origin,
			  curl_easy_strerror(cc), r->resp.too_big ?
			  " (response body too large)" : "");
		goto out;
	}
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, code);
	if (ka_redact(&info, r->resp.body, r->resp.len) > 0 && r->o->verbose)
		fprintf(stderr, "kiwi-auth: the response held the credential; "
			"it was masked\n");
	rc = CLI_EXIT_OK;
out:
	r->resp.info = NULL;
	/* The handle keeps a pointer to the list: drop it before freeing. */
	curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
	ka_headers_free(headers);
	return rc;
}

static int perform(struct run *r)
{
	char *url = strdup(r->a->url), *next = NULL;
	const char *method = r->a->method;
	char first[300], cur[300];
	int body = r->a->data != NULL, rc = CLI_EXIT_FAILURE;
	long code = 0;

	if (url == NULL)
		return CLI_EXIT_FAILURE;
	if (method == NULL)
		method = body ? "POST" : "GET";
	origin_of(url, first, sizeof(first));
	for (int n = 0;; n++) {
		origin_of(url, cur, sizeof(cur));
		rc = hop(r, n, url, method, body,
			 strcmp(first, cur) != 0 || first[0] == '\0', &code);
		if (rc != CLI_EXIT_OK)
			goto out;
		if (code < 300 || code > 399 || code == 304 ||
		    curl_easy_getinfo(r->h, CURLINFO_REDIRECT_URL, &next) !=
		    CURLE_OK || next == NULL)
			break;
		if (n + 1 > MAX_HOPS) {
			cli_error("more than %d redirects", MAX_HOPS);
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		free(url);
		if ((url = strdup(next)) == NULL)
			goto out;
		redirect_method(code, &method, &body);
	}
	if (r->o->json) {
		ka_error none;

		ka_error_clear(&none);
		rc = print_json(code, &r->resp, r->service, r->a->scope, &none);
	} else if (r->resp.len > 0 &&
		   fwrite(r->resp.body, 1, r->resp.len, stdout) != r->resp.len) {
		rc = CLI_EXIT_FAILURE;
	}
	if (rc == CLI_EXIT_OK && code >= 400) {
		cli_error("the server answered HTTP %ld", code);
		rc = CLI_EXIT_HTTP;
	}
out:
	free(url);
	return rc;
}

int cmd_request(struct cli_opts *o, int argc, char **argv)
{
	struct args a = { 0 };
	struct run r = { 0 };
	struct ka_tool_scope *ts = NULL;
	int rc;

	if ((rc = parse_args(o, argc, argv, &a)) != CLI_EXIT_OK) {
		curl_slist_free_all(a.tool_headers);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	r.o = o;
	r.a = &a;
	if ((rc = read_chain(&a, &ts)) != CLI_EXIT_OK)
		goto out;
	if (a.data != NULL && a.data[0] == '@') {
		if ((rc = slurp(a.data + 1, MAX_BODY, &r.data, &r.dlen)) !=
		    CLI_EXIT_OK)
			goto out;
	} else if (a.data != NULL && (r.data = strdup(a.data)) != NULL) {
		r.dlen = strlen(r.data);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (r.h = curl_easy_init()) == NULL ||
	    (r.resp.headers = json_object()) == NULL) {
		cli_error("cannot initialise libcurl");
		rc = CLI_EXIT_FAILURE;
		goto out;
	}
	if ((rc = cli_open(o, 0, &r.ctx)) != CLI_EXIT_OK)
		goto out;
	rc = perform(&r);
out:
	free(r.resp.body);
	json_decref(r.resp.headers);
	if (r.h != NULL)
		curl_easy_cleanup(r.h);
	ka_ctx_free(r.ctx);
	free(r.data);
	ka_tool_scope_free(ts);
	curl_slist_free_all(a.tool_headers);
	return rc;
}
