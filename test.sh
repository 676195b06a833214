#!/bin/sh
# SPDX-License-Identifier: MIT
# Build kiwi-auth and run its whole test suite (make check): unit tests,
# module tests, CLI tests, and the keyring tests against a real
# gnome-keyring-daemon on a private D-Bus session. Installs missing Debian
# packages first (needs root or sudo).
set -eu
top=$(cd "$(dirname "$0")" && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh"
cd "${BUILD_DIR:-$top/build}"
status=0
make -j"$(nproc)" check || status=$?
# Each test's own summary is in its .log; print the failures' logs.
if [ "$status" -ne 0 ]; then
	for log in $(grep -l -E '^(FAIL|ERROR)' tests/*/*.trs 2>/dev/null); do
		echo "==== ${log%.trs}.log"
		cat "${log%.trs}.log"
	done
fi
exit "$status"
