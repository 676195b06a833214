/* SPDX-License-Identifier: MIT */
/* refresh.c: test module `test_refresh`: a refresh module whose refresh
 * answers as configured, to test the broker's handling of refresh results
 * without a server. Arguments:
 *   result   ok | network | signed_out   (default ok)
 *   counter  path of a file; each refresh appends "refresh SERVICE"
 * ok gives a record with access token "refreshed-token", valid 1 h. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kiwiauth-module.h"

static const struct ka_arg_spec refresh_args[] = {
	{ "result", KA_ARG_STRING, 0 },
	{ "counter", KA_ARG_STRING, 1 },
	{ NULL, 0, 0 },
};

static void count(struct ka_mctx *m)
{
	const struct ka_host *h = ka_host_of(m);
	int fd = open(h->arg_string(m, "counter"),
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	char line[128];
	int n = snprintf(line, sizeof(line), "refresh %s\n", h->service(m));

	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			n = -1;
		close(fd);
	}
}

static enum ka_status test_refresh(struct ka_mctx *m,
				   const struct ka_record *cur,
				   struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *result = h->arg_string(m, "result");
	struct ka_record *r = NULL;
	enum ka_status st;

	*out = NULL;
	count(m);
	if (result != NULL && strcmp(result, "network") == 0) {
		h->error(err, KA_ERR_NETWORK, "test_refresh: the server did "
			 "not answer");
		return KA_ERR_NETWORK;
	}
	if (result != NULL && strcmp(result, "signed_out") == 0) {
		h->error(err, KA_ERR_EXPIRED, "test_refresh: signed out");
		return KA_ERR_EXPIRED;
	}
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = h->record_set_access_token(r, "refreshed-token")) != KA_OK) {
		h->record_free(r);
		return st;
	}
	h->record_set_expires_at(r, (int64_t)time(NULL) + 3600);
	*out = r;
	return KA_OK;
}

static const struct ka_refresh_ops refresh_ops = {
	.refresh = test_refresh,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_REFRESH,
	.name = "test_refresh",
	.description = "test refresh module with a configured result",
	.args = refresh_args,
	.refresh = &refresh_ops,
};
