/* SPDX-License-Identifier: MIT */
/* bench_keyring.c: keyring reads: module vs raw libsecret, cache, python. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libsecret/secret.h>

#include "keyring-schema.h"

#include "kai.h"

#define BENCH_NAME "bench_keyring"
#include "bench.h"

#define SERVICE "benchsvc"
#define ACCOUNT "default"
#define READS 400		/* of each kind, alternating one by one */
#define WARMUP 20
#define CACHED_OPS 1000000

#define schema kiwiauth_keyring_schema

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static struct ka_ctx *open_ctx(char **dir_out)
{
	static const char conf[] =
		SERVICE ": {\n"
		"  hosts = [ \"https://bench.example\" ];\n"
		"  source = ( { module = \"keyring\"; } );\n"
		"};\n";
	char tmpl[] = "/tmp/ka-bench.XXXXXX", *path;
	struct ka_options o = { 0 };
	struct ka_ctx *ctx = NULL;
	ka_error err;
	FILE *f;

	if (mkdtemp(tmpl) == NULL || asprintf(&path, "%s/kiwi-auth.conf",
					      tmpl) < 0)
		die("temporary config", NULL);
	f = fopen(path, "w");
	if (f == NULL || fputs(conf, f) < 0 || fclose(f) != 0)
		die("writing the config", NULL);
	o.config = path;
	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK)
		die("ka_ctx_new", &err);
	*dir_out = strdup(tmpl);
	unlink(path);
	free(path);
	return ctx;
}

static void store_record(struct ka_ctx *ctx)
{
	struct ka_record *r = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_record_new(&r) != KA_OK ||
	    ka_record_set_access_token(r, "bench-access-token-0123456789") ||
	    ka_record_set_refresh_token(r, "bench-refresh-token-0123456789") ||
	    ka_record_add_scope(r, "bench:read"))
		die("building a record", NULL);
	ka_record_set_expires_at(r, kai_now() + 3600);
	if (ka_store(ctx, SERVICE, ACCOUNT, r, &err) != KA_OK)
		die("ka_store", &err);
	ka_record_free(r);
}

static double raw_lookup(void)
{
	GError *e = NULL;
	double t0 = now_ns();
	gchar *pw = secret_password_lookup_sync(&schema, NULL, &e, "service",
						SERVICE, "account", ACCOUNT,
						NULL);
	double dt = now_ns() - t0;

	if (pw == NULL) {
		fprintf(stderr, "bench_keyring: raw lookup: %s\n",
			e != NULL ? e->message : "not found");
		exit(1);
	}
	secret_password_free(pw);
	return dt;
}

static double module_load(struct ka_mctx *m)
{
	struct ka_record *r = NULL;
	ka_error err;
	double t0, dt;

	ka_error_clear(&err);
	t0 = now_ns();
	if (m->mod->source->load(m, SERVICE, ACCOUNT, &r, &err) != KA_OK)
		die("module load", &err);
	dt = now_ns() - t0;
	ka_record_free(r);
	return dt;
}

static double cached_ns(struct ka_ctx *ctx)
{
	struct ka_record *r = NULL;
	ka_error err;
	double t0;

	ka_error_clear(&err);
	if (ka_load(ctx, SERVICE, ACCOUNT, &r, &err) != KA_OK)	/* warm */
		die("ka_load", &err);
	ka_record_free(r);
	t0 = now_ns();
	for (int i = 0; i < CACHED_OPS; i++) {
		ka_load(ctx, SERVICE, ACCOUNT, &r, &err);
		ka_record_free(r);
	}
	return (now_ns() - t0) / CACHED_OPS;
}

/* python3-keyring in-process get_password on an item of its own (it uses
 * other attributes than ours), when it is installed. */
static void python_keyring(void)
{
	static const char script[] =
		"/usr/bin/python3 - 2>/dev/null <<'EOF'\n"
		"import time, keyring\n"
		"keyring.set_password('kiwi-bench', 'default', 'x' * 200)\n"
		"keyring.get_password('kiwi-bench', 'default')\n"
		"v = []\n"
		"for i in range(30):\n"
		"    t = time.perf_counter()\n"
		"    keyring.get_password('kiwi-bench', 'default')\n"
		"    v.append(time.perf_counter() - t)\n"
		"v.sort()\n"
		"print('%.3f' % (v[len(v) // 2] * 1e3))\n"
		"EOF\n";
	char line[64] = "";
	FILE *p = popen(script, "r");

	if (p == NULL || fgets(line, sizeof(line), p) == NULL ||
	    pclose(p) != 0 || line[0] == '\0') {
		if (p != NULL)
			pclose(p);
		printf("python3-keyring get_password: not measured (python3 "
		       "module keyring not installed)\n");
		return;
	}
	line[strcspn(line, "\n")] = '\0';
	printf("python3-keyring get_password (in-process, median): %s ms\n",
	       line);
}

int main(void)
{
	double raw[READS], mod[READS];
	size_t nr = 0, nm = 0;
	struct ka_ctx *ctx;
	struct ka_mctx *m;
	char *dir = NULL;
	double r_med, m_med;
	long rss0, rss1;

	if (getenv("KA_KEYRING_PID") == NULL) {
		printf("SKIP: run under tests/keyring/with-keyring.sh (a "
		       "private keyring)\n");
		return 77;
	}
	ctx = open_ctx(&dir);
	store_record(ctx);
	m = kai_service_lookup(ctx, SERVICE)->sources[0];

	for (int i = 0; i < WARMUP; i++) {	/* sessions, caches, pages */
		raw_lookup();
		module_load(m);
	}
	/* One of each in turn, so both see the same load on the machine. */
	rss0 = rss_kb();
	for (int i = 0; i < READS; i++) {
		raw[nr++] = raw_lookup();
		mod[nm++] = module_load(m);
	}
	rss1 = rss_kb();
	r_med = median(raw, nr);
	m_med = median(mod, nm);

	printf("raw secret_password_lookup_sync (median of %zu): %.3f ms\n",
	       nr, r_med / 1e6);
	printf("keyring module load, uncached (median of %zu): %.3f ms\n",
	       nm, m_med / 1e6);
	printf("ratio module/raw: %.3f (target <= 1.1)\n", m_med / r_med);
	printf("memory growth over %zu reads: %ld KB (%.2f KB per read; "
	       "libsecret 0.20.5 leaks on reads)\n", nr + nm, rss1 - rss0,
	       (double)(rss1 - rss0) / (double)(nr + nm));
	printf("broker cached ka_load (%d ops): %.0f ns/op\n", CACHED_OPS,
	       cached_ns(ctx));
	python_keyring();

	ka_ctx_free(ctx);
	rmdir(dir);
	free(dir);
	return 0;
}
