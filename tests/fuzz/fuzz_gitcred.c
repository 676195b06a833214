/* SPDX-License-Identifier: MIT */
/* fuzz_gitcred.c: a request of git's credential protocol (gitcred_parse,
 * the parser of git-credential-kiwi-auth), and KUBERNETES_EXEC_INFO
 * (bridge_kube_api_version) on the same bytes. What the parser accepts
 * has a protocol and a host, neither with anything but the characters a
 * scheme and a host:port may have, and no value it keeps holds a control
 * byte: nothing can smuggle a second line into a question or an answer. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "fuzz.h"

static int ctl_free(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gitcred c;
	const char *why = NULL, *v;
	char *s;

	if (gitcred_parse((const char *)data, size, &c, &why) != 0) {
		fuzz_assert(why != NULL && why[0] != '\0');
		fuzz_assert(c.path == NULL && c.username == NULL &&
			    c.password == NULL);
	} else {
		fuzz_assert(why == NULL);
		fuzz_assert(c.protocol[0] != '\0' && c.host[0] != '\0');
		fuzz_assert(c.protocol[0] >= 'a' && c.protocol[0] <= 'z');
		fuzz_assert(strspn(c.protocol, "abcdefghijklmnopqrstuvwxyz"
				   "0123456789+-.") == strlen(c.protocol));
		fuzz_assert(strspn(c.host, "abcdefghijklmnopqrstuvwxyz"
				   "0123456789-._:[]") == strlen(c.host));
		fuzz_assert(memchr(data, '\0', size) == NULL &&
			    size <= GITCRED_MAX);
		fuzz_assert(ctl_free(c.path) && ctl_free(c.username) &&
			    ctl_free(c.password));
		gitcred_clear(&c);
	}
	if ((s = fuzz_string(data, size)) != NULL) {
		v = bridge_kube_api_version(s, &why);
		fuzz_assert(v == NULL ? why != NULL :
			    strcmp(v, BRIDGE_KUBE_V1) == 0 ||
			    strcmp(v, BRIDGE_KUBE_V1BETA1) == 0);
		free(s);
	}
	return 0;
}
