/* SPDX-License-Identifier: MIT */
/* bench_scale.c: what the number of services costs: opening a context
 * and a cached ka_authorize at 10 to 10,000 services, against a floor
 * measured in the same run (a hash lookup and curl_slist_append of the
 * same header), two threads against the floor's work in two threads that
 * share nothing, and the resident memory after 20,000 authorizations. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kiwiauth.h"

#define BENCH_NAME "bench_scale"
#include "bench.h"

#define RUNS 5			/* medians of this many */
#define ROUNDS 200000
#define RSS_ROUNDS 20000
#define TOKEN "bench-token-0123456789abcdef0123456789abcdef"

static const int sizes[] = { 10, 100, 1000, 10000 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static char dir[256];

/* ---- the configuration: n services, one stanza each ------------------------ */

/* Service i allows one loopback origin of its own (never contacted) and
 * grants "sI:read"; its token comes from the test_counting source. */
static void write_config(const char *path, int n, const char *counter)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die("cannot write the configuration", NULL);
	for (int i = 0; i < n; i++)
		fprintf(f, "s%d: {\n  hosts = [ \"http://127.0.0.1:%d\" ];\n"
			"  scopes = [ \"s%d:read\", \"s%d:write\" ];\n"
			"  source = ( { module = \"test_counting\"; counter = \"%s\";"
			" token = \"" TOKEN "\"; expires_in = 86400; } );\n};\n",
			i, 20000 + i % 40000, i, i, counter);
	if (fclose(f) != 0)
		die("cannot write the configuration", NULL);
	chmod(path, 0600);
}

static struct ka_ctx *open_ctx(const char *path)
{
	struct ka_options o = { .config = path };
	struct ka_ctx *ctx = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK)
		die("ka_ctx_new", &err);
	return ctx;
}

static double open_ms(const char *path)
{
	double v[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = now_ns();

		ka_ctx_free(open_ctx(path));
		v[r] = (now_ns() - t0) / 1e6;
	}
	return median(v, RUNS);
}

/* ---- the cached authorize ------------------------------------------------------ */

struct loop {
	struct ka_ctx *ctx;
	char scope[32], url[64];
	int rounds;
	double ns;
};

static void *authorize_loop(void *arg)
{
	struct loop *l = arg;
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = l->url,
		.scope = l->scope,
	};
	struct curl_slist *h = curl_slist_append(NULL, "Accept: */*");
	ka_error err;
	double t0;

	ka_error_clear(&err);
	if (ka_authorize(l->ctx, &req, &h, NULL, &err) != KA_OK)	/* warm */
		die("ka_authorize", &err);
	t0 = now_ns();
	for (int i = 0; i < l->rounds; i++)
		if (ka_authorize(l->ctx, &req, &h, NULL, &err) != KA_OK)
			die("ka_authorize", &err);
	l->ns = (now_ns() - t0) / l->rounds;
	ka_headers_free(h);
	return NULL;
}

static void target(struct loop *l, struct ka_ctx *ctx, int n)
{
	memset(l, 0, sizeof(*l));
	l->ctx = ctx;
	l->rounds = ROUNDS;
	/* A service in the middle: a linear scan would pay half the list. */
	snprintf(l->scope, sizeof(l->scope), "s%d:read", n / 2);
	snprintf(l->url, sizeof(l->url), "http://127.0.0.1:%d/items",
		 20000 + (n / 2) % 40000);
}

/* Rounds for a run of about 0.2 s, at most ROUNDS. */
static int rounds_for(struct ka_ctx *ctx, int n)
{
	struct loop l;
	double r;

	target(&l, ctx, n);
	l.rounds = 200;
	authorize_loop(&l);
	r = 2e8 / (l.ns > 1 ? l.ns : 1);
	return r > ROUNDS ? ROUNDS : r < 200 ? 200 : (int)r;
}

static double authorize_ns(struct ka_ctx *ctx, int n)
{
	int rounds = rounds_for(ctx, n);
	double v[RUNS];
	struct loop l;

	for (int r = 0; r < RUNS; r++) {
		target(&l, ctx, n);
		l.rounds = rounds;
		authorize_loop(&l);
		v[r] = l.ns;
	}
	return median(v, RUNS);
}

/* ---- the floor: the same work done as a hash lookup and an append ----------- */

struct entry {
	char key[32];
	int value;
};

static unsigned long hash(const char *s)
{
	unsigned long h = 1469598103934665603UL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211UL;
	return h;
}

/* One thread's floor: its own table, its own header list. */
struct floor {
	struct entry *t;
	size_t cap;
	char scope[32], line[128];
	struct curl_slist *base;
	int rounds;
	double ns;
};

static void floor_build(struct floor *f, int n)
{
	char scope[32];

	memset(f, 0, sizeof(*f));
	f->cap = 1;
	while (f->cap < 2 * (size_t)n)
		f->cap <<= 1;
	if ((f->t = calloc(f->cap, sizeof(*f->t))) == NULL)
		die("out of memory", NULL);
	for (int i = 0; i < n; i++) {
		size_t k;

		snprintf(scope, sizeof(scope), "s%d:read", i);
		for (k = hash(scope) & (f->cap - 1); f->t[k].key[0] != '\0';)
			k = (k + 1) & (f->cap - 1);
		snprintf(f->t[k].key, sizeof(f->t[k].key), "%s", scope);
		f->t[k].value = i;
	}
	snprintf(f->scope, sizeof(f->scope), "s%d:read", n / 2);
	snprintf(f->line, sizeof(f->line), "Authorization: Bearer %s", TOKEN);
	f->base = curl_slist_append(NULL, "Accept: */*");
	f->rounds = ROUNDS;
}

static void floor_drop(struct floor *f)
{
	curl_slist_free_all(f->base);
	free(f->t);
}

static void *floor_loop(void *arg)
{
	struct floor *f = arg;
	volatile int sink = 0;
	double t0 = now_ns();

	for (int i = 0; i < f->rounds; i++) {
		size_t k = hash(f->scope) & (f->cap - 1);

		while (strcmp(f->t[k].key, f->scope) != 0)
			k = (k + 1) & (f->cap - 1);
		sink += f->t[k].value;
		f->base = curl_slist_append(f->base, f->line);
		curl_slist_free_all(f->base->next);	/* drop it again */
		f->base->next = NULL;
	}
	f->ns = (now_ns() - t0) / f->rounds;
	(void)sink;
	return NULL;
}

static double floor_ns(int n)
{
	struct floor f;
	double v[RUNS];

	floor_build(&f, n);
	for (int r = 0; r < RUNS; r++) {
		floor_loop(&f);
		v[r] = f.ns;
	}
	floor_drop(&f);
	return median(v, RUNS);
}

/* ---- two threads ------------------------------------------------------------------ */

/* The speed-up of two threads over one, the median of RUNS tries, each
 * one thread then two. fn runs one loop on its argument's own data and
 * leaves its ns per call where ns1 / ns2 point. */
typedef void *(*loop_fn)(void *);

static double scaling(loop_fn fn, void *one, void *two[2], const double *ns1,
		      const double *ns2[2])
{
	double v[RUNS];

	for (int r = 0; r < RUNS; r++) {
		pthread_t t[2];

		fn(one);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, fn, two[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		v[r] = 2 * *ns1 / ((*ns2[0] + *ns2[1]) / 2);
	}
	return median(v, RUNS);
}

/* The peer: the floor's work in two threads that share nothing, each with
 * its own table and list. What this machine allows for work of this kind. */
static double floor_scaling(int n)
{
	struct floor one, two[2];
	void *tw[2] = { &two[0], &two[1] };
	const double *n2[2] = { &two[0].ns, &two[1].ns };
	double x;

	floor_build(&one, n);
	for (int i = 0; i < 2; i++)
		floor_build(&two[i], n);
	x = scaling(floor_loop, &one, tw, &one.ns, n2);
	floor_drop(&one);
	for (int i = 0; i < 2; i++)
		floor_drop(&two[i]);
	return x;
}

/* Two executor threads asking one context for the same service. */
static double authorize_scaling(struct ka_ctx *ctx, int n)
{
	int rounds = rounds_for(ctx, n) * 2;
	struct loop one, two[2];
	void *tw[2] = { &two[0], &two[1] };
	const double *n2[2] = { &two[0].ns, &two[1].ns };

	target(&one, ctx, n);
	one.rounds = rounds;
	for (int i = 0; i < 2; i++) {
		target(&two[i], ctx, n);
		two[i].rounds = rounds;
	}
	return scaling(authorize_loop, &one, tw, &one.ns, n2);
}

/* ---- memory -------------------------------------------------------------------------- */

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL || fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	if (f != NULL)
		fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- services.d with one file a service ----------------------------------------- */

static double open_files_ms(int n, const char *counter)
{
	char path[768], sd[300];
	double ms;

	snprintf(sd, sizeof(sd), "%s/many", dir);
	mkdir(sd, 0700);
	snprintf(path, sizeof(path), "%s/services.d", sd);
	mkdir(path, 0700);
	for (int i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/services.d/s%05d.conf", sd, i);
		if ((f = fopen(path, "w")) == NULL)
			die("cannot write services.d", NULL);
		fprintf(f, "s%d: {\n  hosts = [ \"http://127.0.0.1:%d\" ];\n"
			"  scopes = [ \"s%d:read\" ];\n"
			"  source = ( { module = \"test_counting\"; counter = \"%s\";"
			" token = \"" TOKEN "\"; } );\n};\n", i, 20000 + i % 40000,
			i, counter);
		fclose(f);
		chmod(path, 0600);
	}
	ms = open_ms(sd);
	return ms;
}

int main(void)
{
	double open[NSIZES], auth[NSIZES], flo[NSIZES];
	char path[512], counter[512], cmd[600];
	struct ka_ctx *ctx;
	long rss0, rss1;
	struct loop l;

	snprintf(dir, sizeof(dir), "%s/kiwi-auth-bench-XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(counter, sizeof(counter), "%s/counter", dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	printf("services  open (ms)  cached authorize (ns)  floor (ns)  ratio to floor\n");
	for (size_t i = 0; i < NSIZES; i++) {
		snprintf(path, sizeof(path), "%s/kiwi-auth-%d.conf", dir, sizes[i]);
		write_config(path, sizes[i], counter);
		open[i] = open_ms(path);
		ctx = open_ctx(path);
		auth[i] = authorize_ns(ctx, sizes[i]);
		flo[i] = floor_ns(sizes[i]);
		printf("%8d  %9.2f  %21.0f  %10.0f  %14.2f\n", sizes[i], open[i],
		       auth[i], flo[i], auth[i] / flo[i]);
		if (i + 1 < NSIZES)
			ka_ctx_free(ctx);
	}
	printf("10,000 / 10:    open %.1fx, cached authorize %.2fx (target 1.3x)\n",
	       open[NSIZES - 1] / open[0], auth[NSIZES - 1] / auth[0]);
	printf("10,000 / 1,000: open %.1fx (linear: 10x; target 12x), %.0f ms "
	       "at 10,000 (target 250 ms)\n", open[NSIZES - 1] / open[NSIZES - 2],
	       open[NSIZES - 1]);
	printf("cached authorize + header at 10 services: %.2fx the floor "
	       "(target 1.3x)\n", auth[0] / flo[0]);
	printf("two threads at 10,000 services (speed-up over one, of 2): "
	       "authorize %.2fx, the floor's work sharing nothing %.2fx\n",
	       authorize_scaling(ctx, sizes[NSIZES - 1]),
	       floor_scaling(sizes[NSIZES - 1]));
	target(&l, ctx, sizes[NSIZES - 1]);
	l.rounds = 1000;
	authorize_loop(&l);
	rss0 = rss_kib();
	l.rounds = RSS_ROUNDS;
	authorize_loop(&l);
	rss1 = rss_kib();
	printf("resident memory: %ld KiB before and %ld KiB after %d "
	       "authorizations (%+ld KiB)\n", rss0, rss1, RSS_ROUNDS,
	       rss1 - rss0);
	ka_ctx_free(ctx);
	printf("services.d with 10,000 one-stanza files: open %.0f ms\n",
	       open_files_ms(10000, counter));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_scale: could not remove %s\n", dir);
	curl_global_cleanup();
	return 0;
}
