#!/bin/sh
# SPDX-License-Identifier: MIT
# test-python.sh: the kiwiauth Python package (python/) under pytest,
# against the library and modules of this build and local servers on
# 127.0.0.1, with a private HOME (-rP: the log keeps what the memory test
# measured). Skips only when configure found no
# python3 (or was told --without-python).
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
if [ -z "${KA_PYTHON:-}" ] || [ "$KA_PYTHON" = ":" ]; then
	ka_skip "configure found no python3 (or --without-python); PYTHON=/usr/bin/python3 ./configure enables these tests"
fi
ka_setup
if ! "$KA_PYTHON" -c 'import pytest, httpx, requests' 2>"$T/import.err"; then
	cat "$T/import.err" >&2
	echo "FAIL: $KA_PYTHON cannot import pytest, httpx and requests: install python3-pytest python3-httpx python3-requests (tools/deps.sh), or configure with PYTHON=/path/to/python3" >&2
	exit 1
fi
KIWIAUTH_LIBRARY=$KA_TOP_BUILDDIR/.libs/libkiwiauth.so.0
[ -f "$KIWIAUTH_LIBRARY" ] || { echo "FAIL: $KIWIAUTH_LIBRARY was not built" >&2; exit 1; }
PYTHONPATH=$KA_TOP_SRCDIR/python
# The source tree may be read-only (distcheck): no bytecode, no cache.
PYTHONDONTWRITEBYTECODE=1
export KIWIAUTH_LIBRARY PYTHONPATH PYTHONDONTWRITEBYTECODE
# A sanitizer build's library needs the sanitizer runtime loaded first in
# the (uninstrumented) interpreter; the tests keep it out of the children
# that are instrumented themselves (the CLI). Python's own allocations at
# exit are not leaks of ours.
KA_PRELOAD=
if [ "${KA_SANITIZERS:-no}" = yes ]; then
	for lib in "libclang_rt.asan-$(uname -m).so" libasan.so; do
		p=$(${KA_CC:-cc} -print-file-name="$lib" 2>/dev/null)
		if [ -n "$p" ] && [ -f "$p" ]; then
			KA_PRELOAD=$p
			break
		fi
	done
	[ -n "$KA_PRELOAD" ] || { echo "FAIL: no ASan runtime found for $KA_CC" >&2; exit 1; }
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0
	export ASAN_OPTIONS
fi
export KA_PRELOAD
rc=0
env ${KA_PRELOAD:+LD_PRELOAD="$KA_PRELOAD"} "$KA_PYTHON" -m pytest -p no:cacheprovider -v -rP -o faulthandler_timeout=300 \
	--basetemp="$T/pytest" --rootdir="$KA_TOP_SRCDIR/python" \
	"$KA_TOP_SRCDIR/python/tests" || rc=$?
exit "$rc"
