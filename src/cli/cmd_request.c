/* SPDX-License-Identifier: MIT */
/* cmd_request.c: `kiwi-auth request`: one HTTP request the way an executor
 * makes it, through the library's performer (ka_perform). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define CMD "request"
#define MAX_BODY (64L * 1024 * 1024)
#define MAX_CHAIN (1024L * 1024)
#define MAX_HEADERS 256

struct args {
	const char *scope, *service, *chain, *account, *method, *data, *url;
	const char *headers[MAX_HEADERS + 1];	/* -H, NULL-terminated */
	size_t nheaders;
	long timeout_s;		/* --timeout, 0: the default */
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
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
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
			if (a->nheaders == MAX_HEADERS)
				return cli_usage(CMD, "at most %d -H options",
						 MAX_HEADERS);
			a->headers[a->nheaders++] = optarg;
			break;
		case 't':
			a->timeout_s = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->timeout_s < 1 ||
			    a->timeout_s > 3600)
				return cli_usage(CMD, "--timeout takes seconds, "
						 "from 1 to 3600");
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

/* --chain FILE: the tool's manifests; the library takes scope, service
 * and tool name from them unless given on the command line. *ts is owned
 * by the caller. */
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
	return CLI_EXIT_OK;
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

/* lowercase name -> value; repeated headers joined with ", ". */
static json_t *headers_json(const struct ka_response *r)
{
	json_t *o = json_object();
	char name[128];

	for (size_t i = 0; o != NULL && i < ka_response_header_count(r); i++) {
		const char *n = ka_response_header_name(r, i);
		const char *v = ka_response_header_value(r, i), *old;
		size_t k;

		for (k = 0; n[k] != '\0' && k < sizeof(name) - 1; k++)
			name[k] = (char)tolower((unsigned char)n[k]);
		name[k] = '\0';
		old = json_string_value(json_object_get(o, name));
		if (old != NULL) {
			char *joined = NULL;

			if (asprintf(&joined, "%s, %s", old, v) < 0)
				continue;
			json_object_set_new(o, name, json_string(joined));
			free(joined);
		} else {
			json_object_set_new(o, name, json_string(v));
		}
	}
	return o;
}

static int print_json(const struct ka_response *r, const struct args *a,
		      const ka_error *err)
{
	json_t *meta, *root, *body = NULL;
	const char *text = NULL;
	size_t len = 0;

	meta = json_pack("{s:b, s:s?, s:s?, s:s?, s:b}", "auth_required",
			 err != NULL && err->auth_required,
			 "service", r != NULL ? ka_response_service(r) : a->service,
			 "account", r != NULL ? ka_response_account(r) : a->account,
			 "scope", r != NULL ? ka_response_scope(r) : a->scope,
			 "injected", r != NULL && ka_response_injected(r));
	if (meta != NULL && err != NULL && err->code != KA_OK)
		json_object_set_new(meta, "error", json_string(err->text));
	if (r != NULL) {
		text = ka_response_body(r, &len);
		body = json_stringn(text, len);
	}
	root = json_pack("{s:o, s:o?, s:o?, s:o?}",
			 "status", r != NULL ? json_integer(ka_response_status(r)) :
			 json_null(),
			 "headers", r != NULL ? headers_json(r) : json_object(),
			 "body", body != NULL ? body : json_null(),
			 "metadata", meta);
	if (root != NULL && r != NULL && body == NULL) {
		char *b = base64(text, len);

		json_object_set_new(root, "body_base64", json_string(b));
		free(b);
	}
	return cli_json_print(root);
}

/* ---- the command --------------------------------------------------------- */

static int request_exit(const struct cli_opts *o, const struct args *a,
			enum ka_status st, const ka_error *err)
{
	int rc = st == KA_ERR_DENIED ? CLI_EXIT_DENIED :
		 st == KA_ERR_INVALID ? CLI_EXIT_USAGE : cli_exit_code(st, err);

	cli_error("%s", err->text[0] != '\0' ? err->text : ka_strerror(st));
	if (o->json)
		print_json(NULL, a, err);
	return rc;
}

static int print_answer(const struct cli_opts *o, const struct args *a,
			const struct ka_response *r)
{
	long status = ka_response_status(r);
	size_t len = 0;
	const char *body = ka_response_body(r, &len);
	int rc = CLI_EXIT_OK;

	if (o->verbose && ka_response_masked(r) > 0)
		fprintf(stderr, "kiwi-auth: the response held the credential; "
			"it was masked\n");
	if (o->json)
		rc = print_json(r, a, NULL);
	else if (len > 0 && fwrite(body, 1, len, stdout) != len)
		rc = CLI_EXIT_FAILURE;
	if (rc == CLI_EXIT_OK && status >= 400) {
		cli_error("the server answered HTTP %ld", status);
		rc = CLI_EXIT_HTTP;
	}
	return rc;
}

int cmd_request(struct cli_opts *o, int argc, char **argv)
{
	struct args a = { 0 };
	struct ka_perform_request pr = { 0 };
	struct ka_tool_scope *ts = NULL;
	struct ka_response *resp = NULL;
	struct ka_ctx *ctx = NULL;
	char *data = NULL;
	size_t dlen = 0;
	enum ka_status st;
	ka_error err;
	int rc;

	if ((rc = parse_args(o, argc, argv, &a)) != CLI_EXIT_OK)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if ((rc = read_chain(&a, &ts)) != CLI_EXIT_OK)
		goto out;
	if (a.data != NULL && a.data[0] == '@') {
		if ((rc = slurp(a.data + 1, MAX_BODY, &data, &dlen)) !=
		    CLI_EXIT_OK)
			goto out;
	} else if (a.data != NULL) {
		if ((data = strdup(a.data)) == NULL) {
			cli_error("out of memory");
			rc = CLI_EXIT_FAILURE;
			goto out;
		}
		dlen = strlen(data);
	}
	if ((rc = cli_open(o, 0, &ctx)) != CLI_EXIT_OK)
		goto out;
	pr.req = (struct ka_request){
		.primitive = KA_PRIMITIVE_HTTP, .method = a.method, .url = a.url,
		.scope = a.scope, .service = a.service, .account = a.account,
	};
	pr.chain = ts;
	pr.headers = a.headers;
	pr.body = data;
	pr.body_len = dlen;
	pr.max_response = (size_t)MAX_BODY;
	pr.timeout_ms = a.timeout_s * 1000L;
	ka_error_clear(&err);
	st = ka_perform(ctx, &pr, &resp, &err);
	rc = st == KA_OK ? print_answer(o, &a, resp) :
	     request_exit(o, &a, st, &err);
out:
	ka_response_free(resp);
	ka_ctx_free(ctx);
	free(data);
	ka_tool_scope_free(ts);
	return rc;
}
