/* SPDX-License-Identifier: MIT */
/* exec-output.h: the exec module's output parser, shared with its fuzz
 * target (the module exports only ka_module; this name stays hidden). */
#ifndef KA_EXEC_OUTPUT_H
#define KA_EXEC_OUTPUT_H

#include <stddef.h>

#include "kiwiauth-module.h"

/* Turn a command's output (len bytes of buf) into a record: a token
 * record JSON object, whose expiry is expires_at (UTC seconds) or
 * expires_in (seconds from now), or a kubectl ExecCredential
 * (client.authentication.k8s.io v1beta1 or v1) whose expiry is
 * status.expirationTimestamp (RFC 3339). No expiry means
 * KA_EXPIRES_NEVER; an expiry that cannot be read refuses the output.
 * cmd names the command in messages, which never quote the output. On
 * success *out is the caller's (free with h->record_free). */
enum ka_status kai_exec_parse_output(const struct ka_host *h, const char *cmd,
				     const char *buf, size_t len,
				     struct ka_record **out, ka_error *err);

#endif
