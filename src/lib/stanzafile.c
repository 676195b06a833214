/* SPDX-License-Identifier: MIT */
/* stanzafile.c: sign in to a protected resource (an MCP server) known only
 * by its URL: find or write the user stanza for it (services.d/NAME.conf,
 * mode 0600, never over an existing file) and sign in through it. The
 * stanza is written only after the sign-in succeeded. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kai.h"

#define MARK "# Written by 'kiwi-auth signin --resource'"

/* The resource an oauth2 service discovers from, canonical, or "". */
static void resource_of(const struct ka_service *s, char *out, size_t n)
{
	const struct kai_arg *a;
	ka_error e;

	out[0] = '\0';
	ka_error_clear(&e);
	if (s->refresh == NULL || strcmp(s->refresh->modname, "oauth2") != 0 ||
	    (a = kai_mctx_arg(s->refresh, "resource")) == NULL ||
	    a->type != KA_ARG_STRING ||
	    kai_resource_canon(a->str, out, n, &e) != KA_OK)
		out[0] = '\0';
}

/* A service name after the URL's host and port: "mcp.example.com" gives
 * mcp-example-com, "127.0.0.1:8080" mcp-127-0-0-1-8080. */
static void name_of(const struct kai_origin *o, char *out, size_t n)
{
	char buf[KAI_HOST_MAX + 16];
	size_t j = 0;
	int dflt = o->port == (strcmp(o->scheme, "http") == 0 ? 80u : 443u);

	if (!isalpha((unsigned char)o->host[0]))
		j = (size_t)snprintf(buf, sizeof(buf), "mcp-");
	for (const char *p = o->host; *p != '\0' && j + 1 < sizeof(buf); p++)
		if (*p != '[' && *p != ']')
			buf[j++] = isalnum((unsigned char)*p) ? *p : '-';
	buf[j] = '\0';
	if (!dflt)
		snprintf(buf + j, sizeof(buf) - j, "-%u", o->port);
	snprintf(out, n, "%.64s", buf);
	while ((j = strlen(out)) > 0 && out[j - 1] == '-')
		out[j - 1] = '\0';
}

static char *stanza_text(const char *name, const char *url,
			 const struct kai_origin *o, const char *source)
{
	char origin[KAI_HOST_MAX + 32];

	kai_origin_format(o, origin, sizeof(origin));
	return kai_asprintf(MARK " for %s.\n"
			    "# The authorization server and the client come "
			    "from the server itself\n# (RFC 9728); only this "
			    "origin receives its tokens.\n"
			    "%s: {\n"
			    "  description = \"MCP server %s\";\n"
			    "  hosts = [ \"%s\" ];\n"
			    "  source = ( { module = \"%s\"; } );\n"
			    "  refresh = { module = \"oauth2\"; resource = \"%s\"; };\n"
			    "};\n", url, name, url, origin, source, url);
}

/* Where the stanza goes: config_dir/services.d (made 0700). */
static enum ka_status services_dir(const char *config_dir, char *out,
				   size_t n, ka_error *err)
{
	char *dflt = config_dir == NULL ? kai_config_user_dir() : NULL;
	const char *base = config_dir != NULL ? config_dir : dflt;
	int r = base != NULL ? snprintf(out, n, "%s/services.d", base) : -1;

	free(dflt);
	if (r < 0 || (size_t)r >= n) {
		kai_error_set(err, KA_ERR_CONFIG, "no configuration directory "
			      "to write the stanza into: set HOME or "
			      "XDG_CONFIG_HOME");
		return KA_ERR_CONFIG;
	}
	if (kai_make_dirs(out) != 0) {
		kai_error_set(err, KA_ERR_IO, "cannot create %s: %s", out,
			      strerror(errno));
		return KA_ERR_IO;
	}
	return KA_OK;
}

/* Sign in through a context that holds only the pending stanza. */
static enum ka_status signin_pending(struct ka_ctx *ctx, const char *path,
				     const char *name, const char *account,
				     const struct ka_signin_options *opts,
				     ka_error *err)
{
	struct ka_options co = {
		.config = path, .module_dir = ctx->module_dir,
		.log = ctx->log, .log_data = ctx->log_data,
	};
	struct ka_ctx *c2 = NULL;
	enum ka_status st = ka_ctx_new(&co, &c2, err);

	if (st == KA_OK) {
		ka_ctx_set_conversation(c2, ctx->conv, ctx->conv_data);
		st = ka_signin(c2, name, account, opts, err);
	}
	ka_ctx_free(c2);
	return st;
}

/* Write the stanza aside, sign in with it, then put it in place. */
static enum ka_status write_and_signin(struct ka_ctx *ctx, const char *dir,
				       const char *name, const char *text,
				       const char *account,
				       const struct ka_signin_options *opts,
				       ka_error *err)
{
	char file[96], pending[128], path[PATH_MAX + 160];
	enum ka_status st;

	snprintf(file, sizeof(file), "%s.conf", name);
	snprintf(pending, sizeof(pending), ".%s.conf.%ld", name, (long)getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (access(path, F_OK) == 0) {
		kai_error_set(err, KA_ERR_CONFIG, "%s already exists and does "
			      "not configure this server: it is left as it is; "
			      "choose another name with --service", path);
		return KA_ERR_CONFIG;
	}
	if ((st = kai_write_atomic(dir, pending, text, strlen(text),
				   KAI_WRITE_NOREPLACE, err)) != KA_OK)
		return st;
	snprintf(path, sizeof(path), "%s/%s", dir, pending);
	st = signin_pending(ctx, path, name, account, opts, err);
	if (st == KA_OK)
		st = kai_write_atomic(dir, file, text, strlen(text),
				      KAI_WRITE_NOREPLACE, err);
	unlink(path);
	return st;
}

KAI_API enum ka_status ka_signin_resource(struct ka_ctx *ctx,
					  const struct ka_resource_signin *req,
					  const char *account,
					  const struct ka_signin_options *opts,
					  char *service, size_t n,
					  ka_error *err)
{
	char url[KA_URL_MAX], have[KA_URL_MAX], name[72], dir[PATH_MAX];
	const char *source = req != NULL && req->source != NULL ?
			     req->source : "keyring";
	const struct ka_service *s;
	struct kai_origin o;
	char *text = NULL;
	enum ka_status st;

	KAI_ERROR_LOCAL(err);
	if (service != NULL && n > 0)
		service[0] = '\0';
	if (req == NULL || req->url == NULL || service == NULL || n < 65 ||
	    (strcmp(source, "keyring") != 0 && strcmp(source, "file") != 0)) {
		kai_error_set(err, KA_ERR_INVALID, "a resource URL, a buffer of "
			      "65 bytes for the service name and a source of "
			      "keyring or file are needed");
		return KA_ERR_INVALID;
	}
	if ((st = kai_resource_canon(req->url, url, sizeof(url), err)) != KA_OK ||
	    (st = kai_origin_parse(url, &o, NULL, err)) != KA_OK)
		return st;
	if (strchr(url, '"') != NULL) {
		kai_error_set(err, KA_ERR_INVALID, "the resource URL holds a "
			      "double quote: percent-encode it");
		return KA_ERR_INVALID;
	}
	if (req->service != NULL)
		snprintf(name, sizeof(name), "%s", req->service);
	else
		name_of(&o, name, sizeof(name));
	if (!kai_is_identifier(name)) {
		kai_error_set(err, KA_ERR_INVALID, "'%s' is not a service name: "
			      "letters, digits, '-' and '_', starting with a "
			      "letter; give one with --service", name);
		return KA_ERR_INVALID;
	}
	/* An existing stanza for this resource is used as it is. */
	for (size_t i = 0; i < ctx->nservices; i++) {
		s = ctx->services[i];
		resource_of(s, have, sizeof(have));
		if (strcmp(have, url) == 0 &&
		    (req->service == NULL || strcmp(s->name, name) == 0)) {
			snprintf(service, n, "%s", s->name);
			return ka_signin(ctx, s->name, account, opts, err);
		}
	}
	if ((s = ka_service_find(ctx, name)) != NULL) {
		kai_error_set(err, KA_ERR_CONFIG, "service %s (%s) is configured "
			      "for another server than %s: choose another name "
			      "with --service", name, s->origin, url);
		return KA_ERR_CONFIG;
	}
	if ((st = services_dir(req->config_dir, dir, sizeof(dir), err)) != KA_OK)
		return st;
	if ((text = stanza_text(name, url, &o, source)) == NULL) {
		kai_error_set(err, KA_ERR_NOMEM, "out of memory");
		return KA_ERR_NOMEM;
	}
	st = write_and_signin(ctx, dir, name, text, account, opts, err);
	if (st == KA_OK)
		snprintf(service, n, "%s", name);
	free(text);
	return st;
}
