#!/bin/sh
# SPDX-License-Identifier: MIT
# Configure and build in build/ (out of tree); extra arguments go to
# configure (after --enable-werror, so --disable-werror can undo it).
# BUILD_DIR overrides the directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BUILD_DIR:-$top/build}
[ -x "$top/configure" ] || "$top/bootstrap" >/dev/null
mkdir -p "$dir"
cd "$dir"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ]; then
	"$top/configure" -q --enable-werror "$@"
fi
make -j"$(nproc)" >/dev/null
echo "built in $dir"
