/* SPDX-License-Identifier: MIT */
/* brlock.c: a "big reader" lock: one mutex per stripe, readers take only
 * their thread's stripe, writers take all of them. The executor's hot path
 * reads the record cache from many threads at once; a single rwlock would
 * bounce one cache line between all their cores. */
#include "config.h"

#include <stdatomic.h>

#include "kai.h"

/* Each thread gets a stripe on first use, round robin. */
static unsigned my_stripe(void)
{
	static atomic_uint next;
	/* 0: not assigned yet. initial-exec: no __tls_get_addr call on the
	 * executor's hot path (4 bytes of the static TLS surplus, which a
	 * dlopen'ed libkiwiauth, as from Python, may use too). */
	static __thread unsigned slot __attribute__((tls_model("initial-exec")));

	if (slot == 0)
		slot = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) + 1;
	return (slot - 1) % KAI_BR_STRIPES;
}

int kai_br_init(struct kai_brlock *b)
{
	for (unsigned i = 0; i < KAI_BR_STRIPES; i++) {
		if (pthread_mutex_init(&b->stripe[i].m, NULL) != 0) {
			while (i-- > 0)
				pthread_mutex_destroy(&b->stripe[i].m);
			return -1;
		}
	}
	return 0;
}

void kai_br_destroy(struct kai_brlock *b)
{
	for (unsigned i = 0; i < KAI_BR_STRIPES; i++)
		pthread_mutex_destroy(&b->stripe[i].m);
}

unsigned kai_br_rdlock(struct kai_brlock *b)
{
	unsigned i = my_stripe();

	pthread_mutex_lock(&b->stripe[i].m);
	return i;
}

void kai_br_rdunlock(struct kai_brlock *b, unsigned stripe)
{
	pthread_mutex_unlock(&b->stripe[stripe].m);
}

/* Always in stripe order, so two writers cannot deadlock. */
void kai_br_wrlock(struct kai_brlock *b)
{
	for (unsigned i = 0; i < KAI_BR_STRIPES; i++)
		pthread_mutex_lock(&b->stripe[i].m);
}

void kai_br_wrunlock(struct kai_brlock *b)
{
	for (unsigned i = KAI_BR_STRIPES; i-- > 0;)
		pthread_mutex_unlock(&b->stripe[i].m);
}
