/* SPDX-License-Identifier: MIT */
/* bench_authorize.c: cost of a cached ka_authorize + header injection (1
 * and 2 threads, medians of several runs, a configuration of several
 * services) and its share of a loopback HTTP request. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "kiwiauth.h"

#define BENCH_NAME "bench_authorize"
#include "bench.h"

#define ROUNDS 300000
#define REPEAT 7		/* medians of: the machine is shared */
#define HTTP_ROUNDS 3000
#define SERVICES 25		/* the one asked for sits in the middle */

static struct ka_ctx *ctx;
static char url[128];

/* ---- authorize loop ------------------------------------------------------ */

static void *loop(void *arg)
{
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = url,
		.scope = "bench12:read",
	};
	struct curl_slist *h = curl_slist_append(NULL, "Accept: */*");
	double *ns = arg, t0;
	ka_error err;

	ka_error_clear(&err);
	t0 = now_ns();
	for (int i = 0; i < ROUNDS; i++)
		if (ka_authorize(ctx, &req, &h, NULL, &err) != KA_OK)
			die("ka_authorize", &err);
	*ns = (now_ns() - t0) / ROUNDS;
	ka_headers_free(h);
	return NULL;
}

static double threads(int n)
{
	pthread_t t[2];
	double ns[2], sum = 0;

	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, loop, &ns[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		sum += ns[i];
	}
	return sum / n;
}

/* The machine's own scaling: the same two threads running a loop that
 * touches no shared memory. Two vCPUs that are siblings of one core, or a
 * busy host, scale well below 2x; authorize cannot do better than this. */
static void *alu(void *arg)
{
	volatile unsigned long x = 0;
	double *ns = arg, t0 = now_ns();

	for (unsigned long i = 0; i < 100000000UL; i++)
		x += i * i;
	(void)x;
	*ns = now_ns() - t0;
	return NULL;
}

static double alu_scaling(void)
{
	pthread_t t[2];
	double one, ns[2];

	alu(&one);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, alu, &ns[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return 2 * one / ((ns[0] + ns[1]) / 2);
}

/* ---- a minimal keep-alive HTTP server on 127.0.0.1 ---------------------- */

static void *serve(void *arg)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				    "\r\nok";
	int ls = *(int *)arg, c;
	char buf[8192];
	size_t have = 0;
	ssize_t r;

	while ((c = accept(ls, NULL, NULL)) >= 0) {
		have = 0;
		while ((r = read(c, buf + have, sizeof(buf) - have - 1)) > 0) {
			char *end;

			have += (size_t)r;
			buf[have] = '\0';
			while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
				size_t used = (size_t)(end + 4 - buf);

				if (write(c, reply, sizeof(reply) - 1) < 0)
					break;
				memmove(buf, buf + used, have - used + 1);
				have -= used;
			}
		}
		close(c);
	}
	return NULL;
}

static size_t sink(char *p, size_t s, size_t n, void *d)
{
	(void)p; (void)d;
	return s * n;
}

static double http_ns(void)
{
	struct ka_request req = {
		.primitive = KA_PRIMITIVE_HTTP, .method = "GET", .url = url,
		.scope = "bench12:read",
	};
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	double t0, t;
	ka_error err;

	ka_error_clear(&err);
	if (c == NULL || ka_authorize(ctx, &req, &h, NULL, &err) != KA_OK ||
	    ka_curl_apply(c, &req, h, &err) != KA_OK)
		die("preparing the HTTP request", &err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (int i = 0; i < 100; i++)		/* warm up, connect */
		curl_easy_perform(c);
	t0 = now_ns();
	for (int i = 0; i < HTTP_ROUNDS; i++)
		if (curl_easy_perform(c) != CURLE_OK)
			die("HTTP request failed", NULL);
	t = (now_ns() - t0) / HTTP_ROUNDS;
	curl_easy_cleanup(c);
	ka_headers_free(h);
	return t;
}

static int listen_loopback(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s, 8) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		die("cannot listen on 127.0.0.1", NULL);
	*port = ntohs(a.sin_port);
	return s;
}

/* ---- setup ---------------------------------------------------------------- */

/* SERVICES services on loopback; each grants benchN:read. */
static void open_ctx(const char *dir)
{
	struct ka_options o = { 0 };
	char conf[512];
	ka_error err;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/kiwi-auth.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		die("cannot write the configuration", NULL);
	for (int i = 0; i < SERVICES; i++)
		fprintf(f, "bench%d: {\n  hosts = [ \"http://127.0.0.1:*\" ];\n"
			"  scopes = [ \"bench%d:read\" ];\n"
			"  source = ( { module = \"test_counting\";\n"
			"    counter = \"%s/counter\"; token = \"bench-token-"
			"0123456789abcdefghijklmnopqrstuvwxyz\"; expires_in = 86400;\n"
			"    scopes = [ \"bench%d:read\" ]; } );\n};\n", i, i, dir, i);
	if (fclose(f) != 0)
		die("cannot write the configuration", NULL);
	o.config = conf;
	ka_error_clear(&err);
	if (ka_ctx_new(&o, &ctx, &err) != KA_OK)
		die("ka_ctx_new (is test_counting built? run make bench)", &err);
}

int main(void)
{
	char dir[] = "/tmp/ka-bench.XXXXXX", path[64];
	double one, two, req, ones[REPEAT], twos[REPEAT];
	pthread_t srv;
	unsigned port;
	int ls;

	umask(077);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	open_ctx(dir);
	ls = listen_loopback(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/items?page=1", port);
	pthread_create(&srv, NULL, serve, &ls);
	pthread_detach(srv);

	threads(1);					/* warm the cache */
	for (int i = 0; i < REPEAT; i++) {
		ones[i] = threads(1);
		twos[i] = threads(2);
	}
	one = median(ones, REPEAT);
	two = median(twos, REPEAT);
	req = http_ns();
	printf("medians of %d runs of %d calls each, %d services configured\n",
	       REPEAT, ROUNDS, SERVICES);
	printf("cached ka_authorize + header injection, 1 thread:  %7.0f ns/op\n",
	       one);
	printf("cached ka_authorize + header injection, 2 threads: %7.0f ns/op "
	       "per thread (scaling %.2fx of 2)\n", two, 2 * one / two);
	printf("machine baseline: a shared-nothing loop scales      %.2fx of 2\n",
	       alu_scaling());
	printf("loopback HTTP request (libcurl, keep-alive):       %7.0f ns\n",
	       req);
	printf("authorize share of a loopback request:             %7.2f %%\n",
	       100 * one / req);
	ka_ctx_free(ctx);
	snprintf(path, sizeof(path), "%s/counter", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/kiwi-auth.conf", dir);
	unlink(path);
	rmdir(dir);
	curl_global_cleanup();
	return 0;
}
