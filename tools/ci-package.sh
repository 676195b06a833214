#!/bin/bash
# SPDX-License-Identifier: MIT
# ci-package.sh: the packaging stage of CI, runnable alone (as root, on a
# Debian machine it may install packages on):
#   1. make dist in a build directory of its own (PKG_DIR, default
#      build-pkg/), unpack the tarball, add debian/ from the tree;
#   2. dpkg-buildpackage -us -uc -b (make check runs in it);
#   3. lintian --fail-on error,warning on the .changes;
#   4. apt-get install ./*.deb;
#   5. debian/tests/smoke against the installed /usr/bin/kiwi-auth and
#      /etc/kiwi-auth (the demo's pasted-token path, the completion, a
#      program built against libkiwiauth-dev);
#   6. apt-get purge, then check that nothing of the packages is left.
# Each step prints its time. DEB_BUILD_OPTIONS passes through (default
# parallel=2; nocheck skips the tests of the package build).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${PKG_DIR:-$top/build-pkg}
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
export DEBIAN_FRONTEND=noninteractive

step_start() { echo "== package: $1"; STEP=$1 S0=$(date +%s); }
step_end() { echo "== package: $STEP: $(($(date +%s) - S0)) s"; }
die() { echo "ci-package: $*" >&2; exit 1; }

"$top/tools/deps.sh"

step_start "make dist"
rm -rf "$dir"
mkdir -p "$dir/dist"
(cd "$dir/dist" && "$top/configure" -q && make -s dist >/dev/null) ||
	die "make dist failed"
tarball=$(ls "$dir"/dist/kiwi-auth-*.tar.gz)
version=$(basename "$tarball" .tar.gz)
version=${version#kiwi-auth-}
# The upstream tarball as Debian names it; debian/ is not in it (a
# distribution's packaging is its own), it is added to the unpacked tree.
cp "$tarball" "$dir/kiwi-auth_$version.orig.tar.gz"
tar -C "$dir" -xzf "$tarball"
src=$dir/kiwi-auth-$version
cp -R "$top/debian" "$src/debian"
step_end

step_start "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
# A package build must neither need CI=true's strictness nor a network.
if ! (cd "$src" && env -u CI dpkg-buildpackage -us -uc -b >"$dir/build.log" 2>&1); then
	grep -E "^(FAIL|ERROR)|dh_.*error|dpkg-gensymbols|symbols" "$dir/build.log" | head -40
	tail -60 "$dir/build.log"
	die "the package build failed (log: $dir/build.log)"
fi
grep -E "^# (TOTAL|PASS|SKIP|FAIL|ERROR):" "$dir/build.log" || true
grep -E "^SKIP: " "$dir/build.log" || true
step_end
ls -l "$dir"/*.deb

step_start "lintian --fail-on error,warning"
changes=$(ls "$dir"/kiwi-auth_*.changes)
lintian --fail-on error,warning --info --display-info "$changes" | tee "$dir/lintian.log" ||
	die "lintian found errors or warnings"
echo "lintian: $(grep -c . "$dir/lintian.log" || true) tag line(s), none an error or warning"
step_end

step_start "apt-get install ./*.deb"
(cd "$dir" && apt-get install -y -q ./*.deb >"$dir/install.log" 2>&1) ||
	{ tail -30 "$dir/install.log"; die "apt-get install failed"; }
# The packages built (the -dbgsym ones included) and every file they
# ship, to check after the purge.
PKGS=$(for d in "$dir"/*.deb; do dpkg-deb -f "$d" Package; done | sort -u | tr '\n' ' ')
echo "installed: $PKGS"

for d in "$dir"/*.deb; do dpkg-deb -c "$d"; done |
	awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | grep -v '^/$' | sort -u >"$dir/files"
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" | grep -q "ok installed" || die "$p is not installed"
done
[ -x /usr/bin/kiwi-auth ] || die "no /usr/bin/kiwi-auth"
step_end

step_start "smoke test against the installed packages"
rc=0
sh "$src/debian/tests/smoke" || rc=$?
step_end
[ "$rc" -eq 0 ] || { apt-get purge -y -q $PKGS >/dev/null 2>&1 || true; die "the smoke test failed"; }

step_start "apt-get purge, nothing left"
apt-get purge -y -q $PKGS >"$dir/purge.log" 2>&1 || { tail -20 "$dir/purge.log"; die "purge failed"; }
left=0
for p in $PKGS; do
	if dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "installed\|config-files"; then
		echo "still known to dpkg: $p"; left=1
	fi
	if dpkg -L "$p" 2>/dev/null | grep -q .; then
		echo "dpkg -L $p still lists files"; left=1
	fi
done
[ -e /etc/kiwi-auth ] && { echo "/etc/kiwi-auth is left"; left=1; }
# Directories shared with other packages (/usr/bin, ...) stay, of course.
while read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		[ -d "$f" ] && [ ! -L "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
		echo "left after purge: $f"; left=1
	fi
done <"$dir/files"
[ "$left" -eq 0 ] || die "the purge left files behind"
echo "purged: nothing of $PKGS is left ($(wc -l <"$dir/files") paths checked)"
step_end
