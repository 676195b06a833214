#!/bin/sh
# SPDX-License-Identifier: MIT
# test-venv.sh: the kiwiauth Python package as users get it. `make install
# DESTDIR=...` of a configured build dir (default build/), then:
#   1. the files make install put into $(pythondir) import and work;
#   2. `pip install --no-build-isolation --no-index ./python` into a venv
#      made with --system-site-packages (no package index is reached)
#      imports, finds the installed libkiwiauth.so.0 by its soname, and
#      performs one request with a credential against a local recorder.
# CI runs it after the main build (.ci/run). Usage: test-venv.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
PY=${PYTHON:-/usr/bin/python3}
# Under the build dir, not the shared temporary directory: modules load
# only from directories nobody else can write, every one above them too.
T=$build/python-venv-test
SRV=
cleanup() {
	[ -z "$SRV" ] || kill "$SRV" 2>/dev/null || true
	rm -rf "$T"
}
rm -rf "$T"
mkdir -m 700 "$T"
trap cleanup EXIT
umask 077

var() {	# the value of a make variable of the build dir, expanded
	printf 'ka-print-var:\n\t@echo $(%s)\n' "$1" |
		make -s -C "$build" -f Makefile -f - ka-print-var
}
libdir=$(var libdir)
bindir=$(var bindir)
pythondir=$(var pythondir)
[ "$(var PYTHON)" != ":" ] || { echo "FAIL: $build was configured without python" >&2; exit 1; }
make -s -C "$build" install DESTDIR="$T/root" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; echo "FAIL: make install" >&2; exit 1; }
R=$T/root
for f in __init__.py _lib.py httpx.py requests.py py.typed; do
	[ -f "$R$pythondir/kiwiauth/$f" ] ||
		{ echo "FAIL: make install did not install $pythondir/kiwiauth/$f" >&2; exit 1; }
done
echo "ok - make install put the package into $pythondir"

LD_LIBRARY_PATH=$R$libdir
KIWI_AUTH_MODULE_DIR=$R$libdir/kiwi-auth/modules
HOME=$T/home
XDG_STATE_HOME=$T/home/state
XDG_RUNTIME_DIR=$T/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
export LD_LIBRARY_PATH KIWI_AUTH_MODULE_DIR HOME XDG_STATE_HOME XDG_RUNTIME_DIR
unset KIWIAUTH_LIBRARY PYTHONPATH KIWI_AUTH_CONFIG

"$PY" "$top/tests/servers/recorder.py" "$T/port" "$T/rec.log" &
SRV=$!
n=0
while [ ! -s "$T/port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
[ -s "$T/port" ] || { echo "FAIL: the recorder did not start" >&2; exit 1; }
BASE=http://127.0.0.1:$(cat "$T/port")
cat >"$T/kiwi-auth.conf" <<CONF
venv: {
  hosts = [ "$BASE" ];
  scopes = [ "venv:read" ];
  source = ( { module = "file"; directory = "$T/tokens"; } );
};
CONF
TOKEN=venv-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$TOKEN" | "$R$bindir/kiwi-auth" --config "$T/kiwi-auth.conf" \
	token set venv --scope venv:read

# One request through the package at DIR (or the venv's, without DIR).
request() {	# PYTHON PATH-NAME
	(cd "$T" && "$1" - "$T/kiwi-auth.conf" "$BASE/$2" <<'PY'
import sys
import kiwiauth
b = kiwiauth.Broker(sys.argv[1])
r = b.perform([{"name": "t", "required_scope": "venv:read"}], "GET", sys.argv[2])
assert r.status == 200 and r.metadata["injected"], (r.status, r.metadata)
print("ok - %s: %s from %s" % (sys.argv[2], r.metadata, kiwiauth.__file__))
PY
	)
}
PYTHONPATH=$R$pythondir request "$PY" installed
grep -q "\"/installed\".*\"Authorization\", \"Bearer $TOKEN\"" "$T/rec.log" ||
	{ echo "FAIL: the request of the installed package carried no credential" >&2; exit 1; }

"$PY" -m venv --system-site-packages "$T/venv"
cp -R "$top/python" "$T/src"	# pip writes build files beside the sources
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
	"$T/venv/bin/pip" install -q --no-build-isolation --no-index "$T/src"
case $("$T/venv/bin/python" -c 'import kiwiauth; print(kiwiauth.__file__)') in
"$T/venv/"*) echo "ok - pip installed kiwiauth into the venv" ;;
*) echo "FAIL: the venv's kiwiauth is not its own" >&2; exit 1 ;;
esac
request "$T/venv/bin/python" venv
grep -q "\"/venv\".*\"Authorization\", \"Bearer $TOKEN\"" "$T/rec.log" ||
	{ echo "FAIL: the venv's request carried no credential" >&2; exit 1; }
echo "ok - the venv's kiwiauth sent the request through the installed library"
