/* SPDX-License-Identifier: MIT */
/* fuzz_scope.c: a tool chain of JSON manifests (ka_tool_scope_new). What
 * it accepts is printable text without spaces; what it refuses says why. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "kai.h"

static void check_field(const char *s)
{
	if (s == NULL)
		return;
	fuzz_assert(s[0] != '\0' && strlen(s) <= 256 && !kai_has_ctl(s) &&
		    strchr(s, ' ') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_tool_scope *ts = NULL;
	ka_error err;

	ka_error_clear(&err);
	if (ka_tool_scope_new((const char *)data, size, &ts, &err) != KA_OK) {
		fuzz_assert(ts == NULL && err.text[0] != '\0');
		return 0;
	}
	check_field(ka_tool_scope_scope(ts));
	check_field(ka_tool_scope_service(ts));
	fuzz_assert(ka_tool_scope_service(ts) == NULL ||
		    kai_is_identifier(ka_tool_scope_service(ts)));
	check_field(ka_tool_scope_tool(ts));
	ka_tool_scope_free(ts);
	return 0;
}
