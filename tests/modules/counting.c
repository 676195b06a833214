/* SPDX-License-Identifier: MIT */
/* counting.c: test module `test_counting`: counts its calls in a file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kiwiauth-module.h"

/* Arguments:
 *   counter     path of a file; every operation appends one line
 *               "load|store|erase SERVICE ACCOUNT" or "list SERVICE"
 *   result      found | not_found | unavailable | try_again (load; list
 *               reports the default account only when found)
 *   token       the access token a found load returns ("test-token")
 *   expires_in  seconds from now; absent: no expiry
 *   scopes      scopes put into the record
 * store and erase append their line, keep nothing, and return KA_OK. */
static const struct ka_arg_spec counting_args[] = {
	{ "counter", KA_ARG_STRING, 1 },
	{ "result", KA_ARG_STRING, 0 },
	{ "token", KA_ARG_STRING, 0 },
	{ "expires_in", KA_ARG_INT, 0 },
	{ "scopes", KA_ARG_STRING_LIST, 0 },
	{ NULL, 0, 0 },
};

static const struct {
	const char *name;
	enum ka_status status;
} results[] = {
	{ "found", KA_OK },
	{ "not_found", KA_ERR_NOT_FOUND },
	{ "unavailable", KA_ERR_UNAVAILABLE },
	{ "try_again", KA_ERR_TRY_AGAIN },
};

struct counting {
	enum ka_status result;
};

/* Append one line with a single write, so lines of concurrent callers
 * (threads or processes) never interleave. */
static enum ka_status count(struct ka_mctx *m, const char *op,
			    const char *service, const char *account,
			    ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const char *path = h->arg_string(m, "counter");
	char *line = NULL;
	int fd, n, ok;

	n = account != NULL ?
		asprintf(&line, "%s %s %s\n", op, service, account) :
		asprintf(&line, "%s %s\n", op, service);
	if (n < 0) {
		h->error(err, KA_ERR_NOMEM, "test_counting: out of memory");
		return KA_ERR_NOMEM;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, line, (size_t)n) == n;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	free(line);
	if (!ok) {
		h->error(err, KA_ERR_IO, "test_counting: cannot append to %s",
			 path);
		return KA_ERR_IO;
	}
	return KA_OK;
}

static enum ka_status fill(struct ka_mctx *m, struct ka_record *r,
			   const char *account)
{
	const struct ka_host *h = ka_host_of(m);
	const char *token = h->arg_string(m, "token");
	long long expires_in;
	enum ka_status st;

	if ((st = h->record_set_access_token(r, token ? token : "test-token"))
	    != KA_OK ||
	    (st = h->record_set_token_type(r, "Bearer")) != KA_OK ||
	    (st = h->record_set_account(r, account)) != KA_OK)
		return st;
	for (size_t i = 0; i < h->arg_list_count(m, "scopes"); i++)
		if ((st = h->record_add_scope(r, h->arg_list_at(m, "scopes",
								i))) != KA_OK)
			return st;
	if (h->arg_int(m, "expires_in", &expires_in))
		h->record_set_expires_at(r, (int64_t)time(NULL) + expires_in);
	return KA_OK;
}

static enum ka_status counting_load(struct ka_mctx *m, const char *service,
				    const char *account,
				    struct ka_record **out, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct counting *c = h->data(m);
	struct ka_record *r = NULL;
	enum ka_status st;

	*out = NULL;
	if ((st = count(m, "load", service, account, err)) != KA_OK)
		return st;
	if (c->result != KA_OK) {
		h->error(err, c->result, "test_counting: configured result "
			 "for %s", service);
		return c->result;
	}
	if ((st = h->record_new(&r)) != KA_OK ||
	    (st = fill(m, r, account)) != KA_OK) {
		h->record_free(r);
		h->error(err, st, "test_counting: cannot build a record");
		return st;
	}
	*out = r;
	return KA_OK;
}

static enum ka_status counting_store(struct ka_mctx *m, const char *service,
				     const char *account,
				     const struct ka_record *r, ka_error *err)
{
	return count(m, "store", service, account, err);
}

static enum ka_status counting_erase(struct ka_mctx *m, const char *service,
				     const char *account, ka_error *err)
{
	return count(m, "erase", service, account, err);
}

static enum ka_status counting_list(struct ka_mctx *m, const char *service,
				    ka_list_fn fn, void *data, ka_error *err)
{
	const struct ka_host *h = ka_host_of(m);
	const struct counting *c = h->data(m);
	enum ka_status st;

	if ((st = count(m, "list", service, NULL, err)) != KA_OK)
		return st;
	if (c->result == KA_OK)
		fn(KA_ACCOUNT_DEFAULT, data);
	return KA_OK;
}

static enum ka_status counting_init(struct ka_mctx *m, const struct ka_host *h,
				    ka_error *err)
{
	const char *res = h->arg_string(m, "result");
	struct counting *c;
	size_t i;

	if (h->arg_string(m, "counter") == NULL) {
		h->error(err, KA_ERR_CONFIG, "test_counting: counter is "
			 "required");
		return KA_ERR_CONFIG;
	}
	for (i = 0; res != NULL && i < sizeof(results) / sizeof(results[0]);
	     i++)
		if (strcmp(res, results[i].name) == 0)
			break;
	if (i == sizeof(results) / sizeof(results[0])) {
		h->error(err, KA_ERR_CONFIG, "test_counting: result must be "
			 "found, not_found, unavailable or try_again");
		return KA_ERR_CONFIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		h->error(err, KA_ERR_NOMEM, "test_counting: out of memory");
		return KA_ERR_NOMEM;
	}
	c->result = res != NULL ? results[i].status : KA_OK;
	h->set_data(m, c);
	return KA_OK;
}

static void counting_fini(struct ka_mctx *m, const struct ka_host *h)
{
	free(h->data(m));
	h->set_data(m, NULL);
}

static const struct ka_source_ops counting_ops = {
	.load = counting_load,
	.store = counting_store,
	.erase = counting_erase,
	.list = counting_list,
};

__attribute__((visibility("default")))
const struct ka_module ka_module = {
	.abi_major = KA_MODULE_ABI_MAJOR,
	.abi_minor = KA_MODULE_ABI_MINOR,
	.kind = KA_MODULE_SOURCE,
	.name = "test_counting",
	.description = "test source that counts its calls in a file",
	.args = counting_args,
	.init = counting_init,
	.fini = counting_fini,
	.source = &counting_ops,
};
