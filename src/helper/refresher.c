/* SPDX-License-Identifier: MIT */
/* refresher.c: kiwi-auth-refresher, the program libkiwiauth starts for a
 * refresh. It reads one request on standard input (a socket; rfproto.c
 * says what it holds), opens its own context on the caller's
 * configuration, refreshes in this process (the cross-process lock, a
 * re-read, the grant, the durable store), and only then answers on
 * standard output. It runs in a session of its own, so a caller killed at
 * any moment does not stop it: the rotated record is stored either way.
 * It takes no arguments and prints nothing else. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kai.h"

static void put(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the caller is gone: nothing to tell */
		buf += n;
		len -= (size_t)n;
	}
}

static void log_line(int level, const char *message, void *data)
{
	char line[KAI_RF_LINE_MAX];
	int n = kai_rf_log_format(level, message, line, sizeof(line));

	(void)data;
	if (n > 0)
		put(line, (size_t)n);
}

static void answer(enum ka_status st, const ka_error *err, int refreshed)
{
	char buf[KA_ERROR_TEXT_LENGTH + 128];
	int n = kai_rf_answer_format(st, err, refreshed, buf, sizeof(buf));

	if (n > 0)
		put(buf, (size_t)n);
}

/* The whole request, until the caller shuts its side. */
static ssize_t read_request(char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(0, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	return -1;	/* larger than any request */
}

static void harden(void)
{
	struct rlimit none = { 0, 0 };

	signal(SIGPIPE, SIG_IGN);
	closefrom(3);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &none);
}

int main(int argc, char **argv)
{
	static char buf[KAI_RF_REQUEST_MAX + 1];
	static struct kai_rf_request rq;
	struct ka_options opts = { 0 };
	struct ka_ctx *ctx = NULL;
	enum ka_status st;
	ka_error err;
	ssize_t len;
	int refreshed = 0;

	(void)argv;
	harden();
	ka_error_clear(&err);
	if (argc != 1) {
		fprintf(stderr, "kiwi-auth-refresher is started by libkiwiauth "
			"and takes no arguments\n");
		return 2;
	}
	len = read_request(buf, sizeof(buf));
	if (len < 0 || kai_rf_request_parse(buf, (size_t)len, &rq) != 0) {
		kai_error_set(&err, KA_ERR_INVALID, "kiwi-auth-refresher: "
			      "malformed request");
		answer(KA_ERR_INVALID, &err, 0);
		return 2;
	}
	opts.config = rq.config[0] != '\0' ? rq.config : NULL;
	opts.module_dir = rq.module_dir[0] != '\0' ? rq.module_dir : NULL;
	opts.flags = KA_CTX_LENIENT | KA_CTX_REFRESH_IN_PROCESS;
	opts.log = log_line;
	st = ka_ctx_new(&opts, &ctx, &err);
	if (st == KA_OK) {
		st = ka_refresh(ctx, rq.service, rq.account,
				rq.force ? KA_REFRESH_FORCE : 0, &refreshed,
				&err);
	}
	answer(st, &err, refreshed);
	ka_ctx_free(ctx);
	return 0;
}
