/* SPDX-License-Identifier: MIT */
/* fuzz_confsplit.c: cutting configuration text into pieces for libconfig
 * (confsplit.c). When libconfig parses the whole text, it parses every
 * piece the cutter makes, and the pieces hold the same top-level
 * settings, in the same order, at the same lines once the lines before
 * each piece are added (as kai_setting_line adds them). */
#include "config.h"

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kai.h"

struct names {
	char v[256][64];
	int line[256];
	size_t n;
};

static void collect(config_t *cf, int offset, struct names *out)
{
	const config_setting_t *root = config_root_setting(cf);

	for (int i = 0; i < config_setting_length(root) && out->n < 256; i++) {
		const config_setting_t *c = config_setting_get_elem(root,
								     (unsigned)i);
		const char *name = config_setting_name(c);

		snprintf(out->v[out->n], sizeof(out->v[0]), "%s",
			 name != NULL ? name : "");
		out->line[out->n++] = (int)config_setting_source_line(c) + offset;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct names whole, pieces;
	char *text = fuzz_string(data, size), *buf;
	size_t from = 0, lines = 0;
	config_t cf;
	int ok;

	/* libconfig would follow @include (the loader refuses it first). */
	if (text == NULL || strcasestr(text, "@include") != NULL) {
		free(text);
		return 0;
	}
	whole.n = pieces.n = 0;
	config_init(&cf);
	ok = config_read_string(&cf, text);
	if (ok)
		collect(&cf, 0, &whole);
	config_destroy(&cf);
	/* Cut as often as the cutter can: at every terminator. */
	while (ok && from < size) {
		size_t to = kai_conf_cut(text, size, from, 1);

		fuzz_assert(to > from && to <= size);
		buf = malloc(to - from + 1);
		fuzz_assert(buf != NULL);
		memcpy(buf, text + from, to - from);
		buf[to - from] = '\0';
		config_init(&cf);
		/* The whole parsed: a piece of whole settings parses too. */
		fuzz_assert(config_read_string(&cf, buf));
		collect(&cf, (int)lines, &pieces);
		config_destroy(&cf);
		free(buf);
		for (size_t i = from; i < to; i++)
			lines += text[i] == '\n';
		from = to;
	}
	fuzz_assert(!ok || pieces.n == whole.n);
	if (ok)
		for (size_t i = 0; i < whole.n; i++)
			fuzz_assert(strcmp(whole.v[i], pieces.v[i]) == 0 &&
				    whole.line[i] == pieces.line[i]);
	free(text);
	return 0;
}
