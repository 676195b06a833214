#!/bin/sh
# SPDX-License-Identifier: MIT
# test-keyring.sh: make-check entry for the keyring tests: runs test_keyring
# and a kiwi-auth status/logout check under a private Secret Service
# (with-keyring.sh), and checks that no token of the tests reached output.
here=$(cd "$(dirname "$0")" && pwd)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# ---- inside the harness: the CLI against a locked / missing keyring ----------
cli_checks() {
	conf=$KA_KEYRING_TMP/cli.conf
	printf '%s\n' 'clitest: {' \
		'  hosts = [ "https://clitest.example" ];' \
		'  scopes = [ "clitest:read" ];' \
		'  source = ( { module = "keyring"; } );' '};' >"$conf"
	cli() { "$KA_CLI" --config "$conf" "$@"; }

	printf 'kiwiCANARY-cli-5d1e0a\n' | cli token set clitest ||
		fail "token set: exit $?"
	out=$(cli status clitest 2>&1) || fail "status: exit $?: $out"
	echo "$out"
	case $out in *signed-in*keyring*) ;; *) fail "status: $out" ;; esac

	dbus-send --session --print-reply --dest=org.freedesktop.secrets \
		/org/freedesktop/secrets org.freedesktop.Secret.Service.Lock \
		array:objpath:/org/freedesktop/secrets/collection/login \
		>/dev/null || fail "cannot lock the login collection"
	out=$(cli status clitest 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 5 ] || fail "status, locked: exit $rc, want 5"
	case $out in *"keyring is locked: "*) ;; *) fail "status: $out" ;; esac
	out=$(cli logout clitest 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 5 ] || fail "logout, locked: exit $rc, want 5"
	case $out in *"keyring is locked: "*) ;; *) fail "logout: $out" ;; esac

	out=$(DBUS_SESSION_BUS_ADDRESS=$KA_KEYRING_EMPTY_BUS cli status \
		clitest 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 5 ] || fail "status, no daemon: exit $rc, want 5"
	case $out in
	*"keyring unavailable: no Secret Service on the session bus"*) ;;
	*) fail "status, no daemon: $out" ;;
	esac
	echo "PASS: kiwi-auth status/logout report a locked or missing keyring"
}

if [ "${1:-}" = --cli ]; then
	cli_checks
	exit 0
fi

# ---- make check ---------------------------------------------------------------
: "${KA_TOP_BUILDDIR:?run from make check (KA_TOP_BUILDDIR is not set)}"
prog=$KA_TOP_BUILDDIR/tests/unit/test_keyring
if [ ! -x "$prog" ]; then
	[ "${CI:-}" = true ] && fail "$prog was not built (cmocka missing?)"
	echo "SKIP: $prog was not built (cmocka missing?)"
	exit 77
fi

out=$(mktemp "${TMPDIR:-/tmp}/ka-keyring-out.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
sh "$here/with-keyring.sh" "$prog" >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -x "${KA_CLI:-}" ]; then
	sh "$here/with-keyring.sh" sh "$0" --cli >>"$out" 2>&1
	rc=$?
fi
grep -v 'Failed to set fd limit' "$out"
if grep -q kiwiCANARY "$out"; then
	fail "a token of the test appeared in its output"
fi
exit $rc
