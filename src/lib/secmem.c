/* SPDX-License-Identifier: MIT */
/* secmem.c: memory for secrets: zeroed, kept out of core dumps, locked in
 * RAM where the limits allow it, and wiped on free.
 *
 * Blocks come from 64 KiB slabs that are mlock'ed and marked
 * MADV_DONTDUMP once, so an allocation costs no system call: a record copy
 * on a cache hit stays cheap. One slab serves one power-of-two size class
 * (32 B to 16 KiB); larger blocks get a mapping of their own. Freed blocks
 * are wiped and kept for reuse; slabs are never returned. Under
 * AddressSanitizer plain calloc is used instead, so overflows are caught
 * (gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature). */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kai.h"

void kai_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

/* In front of every block: enough to wipe and release it. */
struct hdr {
	size_t size;		/* usable bytes */
	size_t cls;		/* size class, or NCLASS for a mapping */
};

#if defined(__SANITIZE_ADDRESS__)
#define PLAIN_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLAIN_HEAP 1
#endif
#endif

#ifdef PLAIN_HEAP

void *kai_secure_alloc(size_t n)
{
	struct hdr *h;

	if (n > SIZE_MAX - sizeof(*h) || (h = calloc(1, sizeof(*h) + n)) == NULL)
		return NULL;
	h->size = n;
	return h + 1;
}

void kai_secure_free(void *p)
{
	struct hdr *h;

	if (p == NULL)
		return;
	h = (struct hdr *)p - 1;
	explicit_bzero(p, h->size);
	free(h);
}

#else

#define MIN_SHIFT 5		/* 32-byte blocks */
#define NCLASS 10		/* ... up to 16 KiB */
#define SLAB (64 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *free_list[NCLASS];	/* wiped blocks, linked through data */

/* Map n bytes for secrets: locked and left out of core dumps where the
 * kernel allows (both are best effort: an unprivileged process may be
 * over RLIMIT_MEMLOCK). */
static void *map_secret(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	(void)mlock(p, n);
#ifdef MADV_DONTDUMP
	(void)madvise(p, n, MADV_DONTDUMP);
#endif
	return p;
}

static size_t class_of(size_t n)
{
	size_t c = 0;

	while (c < NCLASS && ((size_t)1 << (MIN_SHIFT + c)) - sizeof(struct hdr) < n)
		c++;
	return c;
}

/* Carve a new slab into blocks of class c. Caller holds lock. */
static int refill(size_t c)
{
	size_t bs = (size_t)1 << (MIN_SHIFT + c);
	char *slab = map_secret(SLAB);

	if (slab == NULL)
		return -1;
	for (size_t off = SLAB; off >= bs; off -= bs) {
		void **block = (void **)(void *)(slab + off - bs);

		*block = free_list[c];
		free_list[c] = block;
	}
	return 0;
}

static void *large_alloc(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len;
	struct hdr *h;

	if (page <= 0 || n > SIZE_MAX - sizeof(*h) - (size_t)page)
		return NULL;
	len = (sizeof(*h) + n + (size_t)page - 1) / (size_t)page * (size_t)page;
	if ((h = map_secret(len)) == NULL)
		return NULL;
	h->size = len - sizeof(*h);
	h->cls = NCLASS;
	return h + 1;
}

void *kai_secure_alloc(size_t n)
{
	size_t c = class_of(n);
	struct hdr *h;

	if (c == NCLASS)
		return large_alloc(n);
	pthread_mutex_lock(&lock);
	if (free_list[c] == NULL && refill(c) != 0) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	h = free_list[c];
	free_list[c] = *(void **)free_list[c];
	pthread_mutex_unlock(&lock);
	/* The block is zero but for the list link just read. */
	h->size = ((size_t)1 << (MIN_SHIFT + c)) - sizeof(*h);
	h->cls = c;
	return h + 1;
}

void kai_secure_free(void *p)
{
	struct hdr *h;
	size_t c;

	if (p == NULL)
		return;
	h = (struct hdr *)p - 1;
	explicit_bzero(p, h->size);
	c = h->cls;
	if (c == NCLASS) {
		size_t len = h->size + sizeof(*h);

		(void)munlock(h, len);
		munmap(h, len);
		return;
	}
	explicit_bzero(h, sizeof(*h));
	pthread_mutex_lock(&lock);
	*(void **)(void *)h = free_list[c];
	free_list[c] = h;
	pthread_mutex_unlock(&lock);
}

#endif

char *kai_secure_strdup(const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	p = kai_secure_alloc(n + 1);
	if (p != NULL)
		memcpy(p, s, n + 1);
	return p;
}
