#!/bin/sh
# SPDX-License-Identifier: MIT
# debian-symbols.sh: write debian/libkiwiauth0.symbols from a built
# library: every symbol it exports, with the version node it has from
# src/lib/libkiwiauth.map. A symbol already in the file keeps its
# version; a new one gets VERSION (default: the package version of
# configure.ac). dpkg-gensymbols then fails the package build (debian/rules
# runs it with -c4) whenever the library and the file differ.
#
#   tools/debian-symbols.sh BUILD_DIR/.libs/libkiwiauth.so.0 [VERSION]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
lib=${1:?usage: debian-symbols.sh LIBRARY [VERSION]}
version=${2:-$(sed -n 's/^AC_INIT(\[kiwi-auth\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")}
out=$top/debian/libkiwiauth0.symbols
nodes=$(sed -n 's/^\([A-Z][A-Z0-9_.]*\) *{.*/\1/p' "$top/src/lib/libkiwiauth.map")
old=$(mktemp)
trap 'rm -f "$old"' EXIT
[ -f "$out" ] && cp "$out" "$old"

{
	echo "libkiwiauth.so.0 libkiwiauth0 #MINVER#"
	echo "* Build-Depends-Package: libkiwiauth-dev"
	{
		for n in $nodes; do echo "$n@$n"; done
		# objdump -T: ... VERSION NAME for each defined dynamic symbol
		objdump -T "$lib" | awk '$2 == "g" && $4 != "*UND*" { print $NF "@" $(NF-1) }'
	} | LC_ALL=C sort -u | while read -r sym; do
		v=$(awk -v s="$sym" '$1 == s { print $2 }' "$old")
		echo " $sym ${v:-$version}"
	done
} >"$out.tmp"
# every symbol must belong to a node of the version map
re="@($(echo $nodes | tr ' ' '|')) "
if grep '^ ' "$out.tmp" | grep -v -E "$re" | grep -q .; then
	echo "debian-symbols.sh: symbols outside the version map's nodes:" >&2
	grep '^ ' "$out.tmp" | grep -v -E "$re" >&2
	rm -f "$out.tmp"
	exit 1
fi
mv "$out.tmp" "$out"
echo "wrote $out: $(grep -c '^ ' "$out") symbols"
