/* SPDX-License-Identifier: MIT */
/* error.c: status names and the caller-owned error struct. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "kai.h"

/* A switch with no default: a new status without a text breaks the build
 * under -Wall -Werror (-Wswitch). */
KAI_API const char *ka_strerror(enum ka_status status)
{
	switch (status) {
	case KA_OK: return "success";
	case KA_ERR_NOMEM: return "out of memory";
	case KA_ERR_INVALID: return "invalid argument";
	case KA_ERR_CONFIG: return "configuration error";
	case KA_ERR_PERMISSION: return "unsafe file permissions";
	case KA_ERR_MODULE: return "module error";
	case KA_ERR_NO_SERVICE: return "no such service";
	case KA_ERR_NOT_FOUND: return "not signed in";
	case KA_ERR_UNAVAILABLE: return "source unavailable";
	case KA_ERR_TRY_AGAIN: return "temporary failure";
	case KA_ERR_READ_ONLY: return "no writable source";
	case KA_ERR_CORRUPT: return "stored record is corrupt";
	case KA_ERR_IO: return "input/output error";
	case KA_ERR_EXPIRED: return "token expired";
	case KA_ERR_DENIED: return "request not allowed";
	case KA_ERR_UNSUPPORTED: return "not supported";
	case KA_ERR_TIMEOUT: return "timed out";
	case KA_ERR_NETWORK: return "network error";
	case KA_ERR_PROTOCOL: return "protocol error";
	}
	return "unknown status";
}

KAI_API void ka_error_clear(ka_error *err)
{
	if (err == NULL)
		return;
	err->code = KA_OK;
	err->auth_required = 0;
	err->text[0] = '\0';
}

void kai_error_vset(ka_error *err, enum ka_status code, const char *fmt,
		    va_list ap)
{
	if (err == NULL || err->code != KA_OK)
		return;
	err->code = code;
	err->auth_required = code == KA_ERR_NOT_FOUND || code == KA_ERR_EXPIRED;
	if (fmt == NULL)
		snprintf(err->text, sizeof(err->text), "%s", ka_strerror(code));
	else
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
}

void kai_error_set(ka_error *err, enum ka_status code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kai_error_vset(err, code, fmt, ap);
	va_end(ap);
}

void kai_error_copy(ka_error *dst, const ka_error *src)
{
	if (dst == NULL || src == NULL || dst->code != KA_OK)
		return;
	*dst = *src;
}
