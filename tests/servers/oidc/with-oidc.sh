#!/bin/sh
# SPDX-License-Identifier: MIT
# with-oidc.sh: run a command against a fresh OAuth2/OpenID test server
# (npm oidc-provider, pinned in package.json next to this script).
#
#   with-oidc.sh CMD [ARGS...]
#
# Installs the npm packages with `npm ci` into a work directory of the build
# tree (never the source tree), starts server.mjs on 127.0.0.1 with a random
# port, runs CMD, and stops the server.
#
# In:  OIDC_ACCESS_TTL  access token lifetime in seconds (default 5)
#      OIDC_MCP         "1": the server also registers clients and issues
#                       tokens for MCP servers (see server.mjs)
#      KA_TOP_BUILDDIR  build tree (default: the current directory)
# Exported to CMD:
#      OIDC_ISSUER         http://127.0.0.1:PORT
#      OIDC_EVENT_LOG      one line per grant the server performed
#      OIDC_NODE_DIR       the work directory (driver.mjs, probe.mjs, bad.mjs,
#                          mcp.mjs)
#      OIDC_SERVER_PID     pid of the server
#      OIDC_CLIENT_SECRET  secret of the confidential client kiwi-service
#
# Exit status: that of CMD; 77 (skip) with a reason when Node.js or the npm
# packages are missing; with CI=true that skip is a failure (exit 1).

here=$(cd "$(dirname "$0")" && pwd)

skip() {
	if [ "${CI:-}" = true ]; then
		echo "with-oidc: FAIL (CI=true, skipping is not allowed): $*" >&2
		exit 1
	fi
	echo "with-oidc: SKIP: $*" >&2
	exit 77
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)' ||
	skip "oidc-provider needs Node.js >= 20.18 (have $(node --version))"

build=${KA_TOP_BUILDDIR:-$(pwd)}
work=$build/tests/oidc-node
mkdir -p "$work" || exit 1

# Copy the server files and install the pinned packages once per build
# tree; a lock keeps parallel tests from running npm at the same time.
install_packages() {
	for f in package.json package-lock.json server.mjs driver.mjs \
		probe.mjs bad.mjs mcp.mjs; do
		cmp -s "$here/$f" "$work/$f" || cp "$here/$f" "$work/$f" || return 1
	done
	if [ -d "$work/node_modules/oidc-provider" ] &&
		[ -d "$work/node_modules/@modelcontextprotocol/sdk" ] &&
		cmp -s "$work/package-lock.json" "$work/.installed-lock"; then
		return 0
	fi
	command -v npm >/dev/null 2>&1 || { echo "npm is not installed" >&2; return 2; }
	(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1) ||
		{ cat "$work/npm.log" >&2; return 2; }
	cp "$work/package-lock.json" "$work/.installed-lock"
}
if command -v flock >/dev/null 2>&1; then
	(flock 9 && install_packages) 9>"$work/.lock"
else
	install_packages
fi
case $? in
0) ;;
2) skip "the npm packages could not be installed (npm ci in $work)" ;;
*) echo "with-oidc: cannot prepare $work" >&2; exit 1 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ka-oidc.XXXXXX") || exit 1
OIDC_EVENT_LOG=$tmp/events.log
OIDC_CLIENT_SECRET=kiwi-test-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
OIDC_ACCESS_TTL=${OIDC_ACCESS_TTL:-5}
: >"$OIDC_EVENT_LOG"
export OIDC_EVENT_LOG OIDC_CLIENT_SECRET OIDC_ACCESS_TTL

(cd "$work" && exec node server.mjs) >"$tmp/server.out" 2>"$tmp/server.err" &
OIDC_SERVER_PID=$!
cleanup() {
	kill "$OIDC_SERVER_PID" 2>/dev/null
	wait "$OIDC_SERVER_PID" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

i=0
while [ $i -lt 200 ]; do
	OIDC_ISSUER=$(head -n 1 "$tmp/server.out" 2>/dev/null)
	case $OIDC_ISSUER in http://127.0.0.1:*) break ;; esac
	kill -0 "$OIDC_SERVER_PID" 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
case $OIDC_ISSUER in
http://127.0.0.1:*) ;;
*)
	grep -v WARNING "$tmp/server.err" >&2
	echo "with-oidc: the test server did not start" >&2
	exit 1
	;;
esac
OIDC_NODE_DIR=$work
export OIDC_ISSUER OIDC_NODE_DIR OIDC_SERVER_PID

"$@"
rc=$?
if [ $rc -ne 0 ] && grep -q server_error "$tmp/server.err"; then
	grep -A5 server_error "$tmp/server.err" >&2
fi
exit $rc
