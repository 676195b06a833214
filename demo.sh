#!/bin/sh
# Build kiwi-auth and run its main job on the shipped sample configuration
# (conf/): check the config, list services, sign in by storing a token
# from stdin, show status (never the token), make an authorized request,
# and sign out. Everything it writes goes to a private temp directory; your
# own configuration and tokens are not touched. Installs missing Debian
# packages first (needs root or sudo).
set -eu
top=$(cd "$(dirname "$0")" && pwd)
"$top/tools/deps.sh"
"$top/tools/build.sh"
build=${BUILD_DIR:-$top/build}
ka="$build/kiwi-auth"

work=$(mktemp -d "${TMPDIR:-/tmp}/kiwi-auth-demo.XXXXXX")
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" \
	XDG_STATE_HOME="$work/state" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$work" "$XDG_RUNTIME_DIR"
export KIWI_AUTH_MODULE_DIR="$build/modules/.libs"
unset KIWI_EXAMPLE_TOKEN || true

# A copy of the sample config with safe modes (a checkout made under a
# loose umask would otherwise be refused, as it should be).
cp -R "$top/conf" "$work/conf"
find "$work/conf" -type d -exec chmod 700 {} + ; find "$work/conf" -type f -exec chmod 600 {} +
export KIWI_AUTH_CONFIG="$work/conf"

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }
run() { step "$1" "$2"; sh -c "$2" || echo "(exit status $?)"; }

run "1. check the sample configuration" "'$ka' check"
run "2. list the configured services" "'$ka' services"
run "3. status before signing in" "'$ka' status example-api"
token="demo-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
step "4. store a token (read from stdin, never from the command line)" \
	"printf '%s\\n' \"\$token\" | kiwi-auth token set example-api --expires-in 3600 --scope example:read"
printf '%s\n' "$token" | "$ka" token set example-api --expires-in 3600 --scope example:read
run "5. status: where the token is, when it expires; never the token" "'$ka' status example-api"
# A local stand-in for the API (tests/servers/recorder.py) that records the
# headers it receives, so we can show the header arrived without showing it.
port_file="$work/port" log_file="$work/requests.log"
python3 "$top/tests/servers/recorder.py" "$port_file" "$log_file" &
server_pid=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
run "6. an authorized request to http://127.0.0.1:$port, as an executor makes it" \
	"'$ka' request --scope example:read http://127.0.0.1:$port/whoami"
step "7. what the server received (compared here, never printed)" "python3 -c ..."
python3 - "$log_file" "$token" <<'PY'
import json, sys
entry = [json.loads(l) for l in open(sys.argv[1])][-1]
for name, value in entry["headers"]:
    if name.lower() == "authorization":
        ok = value == "Bearer " + sys.argv[2]
        print(f"{name}: Bearer <{len(value) - 7} characters>  (the stored token: {'yes' if ok else 'NO'})")
    else:
        print(f"{name}: {value}")
PY
run "8. a request to an origin the service does not allow is refused before any connection" \
	"'$ka' request --scope example:read https://evil.example.net/"
run "9. sign out" "'$ka' logout example-api"
run "10. status after signing out" "'$ka' status example-api"
printf '\ndemo finished; the token file was in %s (now removed)\n' "$XDG_STATE_HOME"
