/* SPDX-License-Identifier: MIT */
/* bridge.h: the parts of the bridges to git and kubectl that read outside
 * input, kept pure (no I/O, no library context) so tests and fuzz targets
 * call them directly (bridge.c), and the writers they share. */
#ifndef KIWI_AUTH_BRIDGE_H
#define KIWI_AUTH_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

/* ---- kubectl ---------------------------------------------------------- */

#define BRIDGE_KUBE_V1 "client.authentication.k8s.io/v1"
#define BRIDGE_KUBE_V1BETA1 "client.authentication.k8s.io/v1beta1"
#define BRIDGE_EXEC_INFO_MAX 65536

/* The ExecCredential apiVersion to answer with, from the value of
 * KUBERNETES_EXEC_INFO (NULL or empty: v1): a static string, or NULL with
 * *why saying what is wrong (never quoting the input). */
const char *bridge_kube_api_version(const char *exec_info, const char **why);

/* ---- git's credential protocol ----------------------------------------- */

/* Limits: the whole request, and one line. */
#define GITCRED_MAX 65536
#define GITCRED_LINE_MAX 4096
#define GITCRED_HOST_MAX 262	/* a DNS name or [IPv6], and ":65535" */

struct gitcred {
	char protocol[16];	/* lowercase */
	char host[GITCRED_HOST_MAX + 1];	/* lowercase, ":port" kept */
	char *path;		/* or NULL (malloc'd) */
	char *username;		/* or NULL (malloc'd) */
	/* The password git sent (store, erase), or the pre-encoded credential
	 * when there is no password, or NULL: malloc'd, wiped by
	 * gitcred_clear. */
	char *password;
	size_t password_len;
	/* git 2.46 and newer: it takes a pre-encoded credential
	 * (capability[]=authtype), and the server offered Bearer
	 * (wwwauth[]=Bearer ...). */
	int cap_authtype;
	int www_bearer;
};

/* Parse a request of git's credential protocol, buf[0..len): key=value
 * lines up to a blank line or the end. Refused (-1, *why saying why in
 * words for stderr, never quoting a value): a NUL byte, the whole over
 * GITCRED_MAX or a line over GITCRED_LINE_MAX, a line without '=', a CR
 * or other control byte in a value, a key given twice with different
 * values, a url= with a password in it or one that does not parse, a
 * host that is not a host name or address with an optional port, a
 * missing protocol or host. Unknown keys are ignored, as git asks. On 0
 * the caller frees with gitcred_clear (on -1 nothing is left to free). */
int gitcred_parse(const char *buf, size_t len, struct gitcred *out,
		  const char **why);
void gitcred_clear(struct gitcred *c);

/* ---- writers --------------------------------------------- */

/* write(2) all of p, retrying on EINTR: 0, or -1. */
int bridge_write_all(int fd, const char *p, size_t n);
/* t (UTC seconds) as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ": 0, or -1 (also for
 * KA_EXPIRES_NEVER). */
int bridge_rfc3339(int64_t t, char *buf, size_t n);

#endif /* KIWI_AUTH_BRIDGE_H */
