#!/bin/sh
# SPDX-License-Identifier: MIT
# Build kiwi-auth and run its main job, printing each step:
#  part 1, OAuth2: start a local OAuth2/OpenID server (npm oidc-provider on
#    127.0.0.1), sign in with the device flow, make an authorized request,
#    watch the token expire and refresh itself, show status, log out;
#  part 2, a pasted token: store a token from stdin for the shipped sample
#    service, make an authorized request to a local recorder, see a request
#    to a foreign origin refused, log out.
# Everything it writes goes to a private temp directory: your own
# configuration and tokens are never touched. Installs missing Debian
# packages first (needs root or sudo).
set -eu
top=$(cd "$(dirname "$0")" && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh"
build=${BUILD_DIR:-$top/build}
export KA_TOP_SRCDIR="$top" KA_TOP_BUILDDIR="$build"
export KA_CLI="$build/kiwi-auth" KIWI_AUTH_MODULE_DIR="$build/modules/.libs"
export OIDC_ACCESS_TTL=8
rc=0
sh "$top/tests/servers/oidc/with-oidc.sh" sh "$top/tools/demo-steps.sh" || rc=$?
if [ "$rc" -eq 77 ]; then
	echo "(no Node.js >= 20.18 here: showing part 2 only)"
	sh "$top/tools/demo-steps.sh"
elif [ "$rc" -ne 0 ]; then
	exit "$rc"
fi
