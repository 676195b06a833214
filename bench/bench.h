/* SPDX-License-Identifier: MIT */
/* bench.h: what every benchmark needs: a monotonic clock in ns, medians,
 * and dying with the library's message. Define BENCH_NAME first. */
#ifndef KA_BENCH_H
#define KA_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiwiauth.h"

__attribute__((unused)) static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

__attribute__((unused)) static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
__attribute__((unused)) static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

__attribute__((noreturn, unused))
static void die(const char *what, const ka_error *err)
{
	fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, what,
		err != NULL ? err->text : errno != 0 ? strerror(errno) :
		"failed");
	exit(1);
}

#endif
