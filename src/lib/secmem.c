/* secmem.c: memory for secrets: zeroed, locked where allowed, wiped on free. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kai.h"

/* Each block carries its size in front, so free can wipe all of it. */
struct secblock {
	size_t size;
	int locked;
	max_align_t data[];
};

void kai_wipe(void *p, size_t n)
{
	if (p != NULL)
		explicit_bzero(p, n);
}

void *kai_secure_alloc(size_t n)
{
	struct secblock *b;

	if (n > SIZE_MAX - sizeof(*b))
		return NULL;
	b = calloc(1, sizeof(*b) + n);
	if (b == NULL)
		return NULL;
	b->size = n;
	/* Best effort: an unprivileged process may be over RLIMIT_MEMLOCK. */
	b->locked = mlock(b, sizeof(*b) + n) == 0;
	return b->data;
}

void kai_secure_free(void *p)
{
	struct secblock *b;

	if (p == NULL)
		return;
	b = (struct secblock *)((char *)p - offsetof(struct secblock, data));
	explicit_bzero(b->data, b->size);
	if (b->locked)
		munlock(b, sizeof(*b) + b->size);
	free(b);
}

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
