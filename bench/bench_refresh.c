/* SPDX-License-Identifier: MIT */
/* bench_refresh.c: refresh latency (kiwi-auth refresh + durable store
 * against the server's bare refresh round trip) and refreshes per expiry
 * under a storm of threads and processes, on the real test server. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "kai.h"

#define BENCH_NAME "bench_refresh"
#include "bench.h"

#define ROUNDS 40
#define STORM_PROCS 4
#define STORM_THREADS 16
#define STORM_EXPIRIES 3

static char tmpdir[] = "/tmp/ka-bench-refresh.XXXXXX";
static char conf[512];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-46s median %7.2f ms  p90 %7.2f ms  (n=%d)\n", what,
	       v[n / 2], v[n * 9 / 10], n);
}

/* ---- sign-in: the conversation starts the test driver -------------------- */

static enum ka_status drive(const struct ka_conv_msg *msg, char *answer,
			    size_t size, void *data)
{
	char cmd[1024];

	(void)answer;
	(void)size;
	(void)data;
	if (msg->code == NULL)
		return KA_OK;
	snprintf(cmd, sizeof(cmd), "node '%s/driver.mjs' device '%s' '%s' "
		 ">/dev/null &", getenv("OIDC_NODE_DIR"), getenv("OIDC_ISSUER"),
		 msg->code);
	return system(cmd) == 0 ? KA_OK : KA_ERR_IO;
}

static struct ka_ctx *open_ctx(void)
{
	struct ka_options o = { .config = conf };
	struct ka_ctx *ctx = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK)
		die("opening the context", &err);
	return ctx;
}

static void signin(struct ka_ctx *ctx, const char *account)
{
	struct ka_signin_options so = { .flow = "device" };
	ka_error err;

	ka_error_clear(&err);
	ka_ctx_set_conversation(ctx, drive, NULL);
	if (ka_signin(ctx, "bench", account, &so, &err) != KA_OK)
		die("signing in", &err);
}

/* ---- the bare round trip: libcurl straight to the token endpoint -------- */

static size_t collect(char *p, size_t size, size_t n, void *data)
{
	json_t **out = data;
	json_error_t e;

	*out = json_loadb(p, size * n, 0, &e);
	return size * n;
}

static char *bare_refresh(const char *url, const char *rt)
{
	CURL *c = curl_easy_init();
	json_t *o = NULL;
	char *form, *esc = curl_easy_escape(c, rt, 0), *next = NULL;

	form = kai_asprintf("grant_type=refresh_token&client_id=kiwi-native"
			    "&refresh_token=%s", esc);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &o);
	if (curl_easy_perform(c) == CURLE_OK && json_is_object(o) &&
	    json_is_string(json_object_get(o, "refresh_token")))
		next = strdup(json_string_value(json_object_get(o, "refresh_token")));
	json_decref(o);
	curl_free(esc);
	free(form);
	curl_easy_cleanup(c);
	return next;
}

static void bench_latency(struct ka_ctx *ctx)
{
	double bare[ROUNDS], ours[ROUNDS];
	struct ka_record *r = NULL;
	char url[600], *rt;
	ka_error err;

	ka_error_clear(&err);
	if (ka_load(ctx, "bench", "bare", &r, &err) != KA_OK)
		die("loading", &err);
	rt = strdup(r->refresh_token);
	ka_record_free(r);
	snprintf(url, sizeof(url), "%s/token", getenv("OIDC_ISSUER"));
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_ms();
		char *next = bare_refresh(url, rt);

		bare[i] = now_ms() - t0;
		if (next == NULL)
			die("bare refresh", NULL);
		free(rt);
		rt = next;

		t0 = now_ms();
		if (ka_refresh(ctx, "bench", "kiwi", KA_REFRESH_FORCE, NULL,
			       &err) != KA_OK)
			die("ka_refresh", &err);
		ours[i] = now_ms() - t0;
	}
	free(rt);
	report("server refresh round trip, bare libcurl", bare, ROUNDS);
	report("ka_refresh: lock + reload + refresh + fsync'd", ours, ROUNDS);
	qsort(bare, ROUNDS, sizeof(double), cmp_double);
	qsort(ours, ROUNDS, sizeof(double), cmp_double);
	printf("ratio (median ka_refresh / median bare):       %.2fx\n",
	       ours[ROUNDS / 2] / bare[ROUNDS / 2]);
}

/* ---- the storm ---------------------------------------------------------- */

static long refresh_grants(void)
{
	FILE *f = fopen(getenv("OIDC_EVENT_LOG"), "r");
	char line[256];
	long n = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strncmp(line, "grant refresh_token ", 20) == 0;
	if (f != NULL)
		fclose(f);
	return n;
}

static struct ka_ctx *storm_ctx;
static pthread_barrier_t storm_barrier;

static enum ka_status ok_fn(const struct ka_service *s,
			    const struct ka_record *r, void *d, ka_error *e)
{
	(void)s;
	(void)r;
	(void)d;
	(void)e;
	return KA_OK;
}

static void *storm_thread(void *arg)
{
	ka_error err;

	(void)arg;
	ka_error_clear(&err);
	pthread_barrier_wait(&storm_barrier);
	if (kai_with_record(storm_ctx, "bench", "kiwi", ok_fn, NULL, &err) != KA_OK)
		fprintf(stderr, "bench_refresh: storm: %s\n", err.text);
	return NULL;
}

static void storm_child(int go)
{
	pthread_t t[STORM_THREADS];
	char c;

	storm_ctx = open_ctx();
	pthread_barrier_init(&storm_barrier, NULL, STORM_THREADS);
	if (read(go, &c, 1) != 1)	/* all processes start together */
		_exit(1);
	for (int i = 0; i < STORM_THREADS; i++)
		pthread_create(&t[i], NULL, storm_thread, NULL);
	for (int i = 0; i < STORM_THREADS; i++)
		pthread_join(t[i], NULL);
	ka_ctx_free(storm_ctx);
	_exit(0);
}

static void bench_storm(void)
{
	long per[STORM_EXPIRIES];
	int ttl = atoi(getenv("OIDC_ACCESS_TTL"));

	for (int e = 0; e < STORM_EXPIRIES; e++) {
		int go[2];
		pid_t kids[STORM_PROCS];
		long before;

		sleep((unsigned)ttl + 1);
		before = refresh_grants();
		if (pipe(go) != 0)
			die("pipe", NULL);
		for (int p = 0; p < STORM_PROCS; p++) {
			if ((kids[p] = fork()) == 0) {
				close(go[1]);
				storm_child(go[0]);
			}
		}
		close(go[0]);
		usleep(200000);	/* every child has opened its context */
		for (int p = 0; p < STORM_PROCS; p++)
			if (write(go[1], "g", 1) != 1)
				die("pipe", NULL);
		close(go[1]);
		for (int p = 0; p < STORM_PROCS; p++)
			waitpid(kids[p], NULL, 0);
		per[e] = refresh_grants() - before;
	}
	printf("storm: %d processes x %d threads per expiry, refreshes at the "
	       "server:", STORM_PROCS, STORM_THREADS);
	for (int e = 0; e < STORM_EXPIRIES; e++)
		printf(" %ld", per[e]);
	printf(" (want 1 each)\n");
}

/* ---- set-up --------------------------------------------------------------- */

static void write_config(void)
{
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/kiwi-auth.conf", tmpdir);
	f = fopen(conf, "w");
	if (f == NULL)
		die("writing the config", NULL);
	fprintf(f, "bench: {\n  hosts = [ \"%s\" ];\n  min_valid = 1;\n"
		"  source = ( { module = \"file\"; directory = \"%s/tokens\"; } );\n"
		"  refresh = { module = \"oauth2\"; issuer = \"%s\";\n"
		"    client_id = \"kiwi-native\"; device_interval = 1;\n"
		"    scopes = [ \"openid\", \"offline_access\", \"api:read\" ]; };\n};\n",
		getenv("OIDC_ISSUER"), tmpdir, getenv("OIDC_ISSUER"));
	fclose(f);
	chmod(conf, 0600);
}

/* Not under the test server yet: run again under with-oidc.sh. */
static int rerun_under_server(char *self)
{
	const char *src = getenv("KA_TOP_SRCDIR");
	char script[4096];
	int status;
	pid_t pid;

	if (src == NULL) {
		fprintf(stderr, "bench_refresh: KA_TOP_SRCDIR is not set\n");
		return 1;
	}
	snprintf(script, sizeof(script), "%s/tests/servers/oidc/with-oidc.sh", src);
	setenv("OIDC_ACCESS_TTL", "2", 0);
	if ((pid = fork()) == 0) {
		execl("/bin/sh", "sh", script, self, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	if (WEXITSTATUS(status) == 77) {
		printf("bench_refresh: skipped (no test server here)\n");
		return 0;
	}
	return WEXITSTATUS(status);
}

int main(int argc, char **argv)
{
	struct ka_ctx *ctx;
	char cmd[600];

	(void)argc;
	if (getenv("OIDC_ISSUER") == NULL)
		return rerun_under_server(argv[0]);
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp", NULL);
	setenv("XDG_RUNTIME_DIR", tmpdir, 1);
	write_config();
	ctx = open_ctx();
	signin(ctx, "bare");
	signin(ctx, "kiwi");
	bench_latency(ctx);
	ka_ctx_free(ctx);
	bench_storm();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}
