/* SPDX-License-Identifier: MIT */
/* confsplit.c: cut a configuration file's text into runs of whole
 * top-level settings, so libconfig parses a large file piece by piece:
 * its parser looks every new setting of a group up among the ones before
 * it, which makes one file of 10,000 stanzas cost 10,000^2 / 2 string
 * comparisons. */
#include "config.h"

#include <string.h>

#include "kai.h"

/* The lexical rules of libconfig 1.5 that matter for finding the end of a
 * top-level setting: strings in double quotes with backslash escapes;
 * comments from '#' or '//' to the end of the line and between '/' '*' and
 * '*' '/'; nesting by {} [] (). A setting ends at a ';' or ',' outside all
 * of them. A cut is made only there, so a file whose settings are not
 * terminated is simply not cut; and a cut in the wrong place could only
 * make libconfig report a syntax error, never change a value. */
size_t kai_conf_cut(const char *buf, size_t len, size_t from, size_t want)
{
	int depth = 0;

	for (size_t i = from; i < len; i++) {
		char c = buf[i];

		if (c == '"') {
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
		} else if (c == '#' || (c == '/' && i + 1 < len && buf[i + 1] == '/')) {
			while (i < len && buf[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && buf[i + 1] == '*') {
			const char *end = memmem(buf + i + 2, len - i - 2, "*/", 2);

			if (end == NULL)
				return len;
			i = (size_t)(end - buf) + 1;
		} else if (c == '{' || c == '[' || c == '(') {
			depth++;
		} else if (c == '}' || c == ']' || c == ')') {
			depth--;
		} else if ((c == ';' || c == ',') && depth == 0 &&
			   i + 1 - from >= want) {
			return i + 1;
		}
	}
	return len;
}
