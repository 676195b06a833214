#!/bin/sh
# SPDX-License-Identifier: MIT
# The steps of demo.sh. With OIDC_ISSUER set (run under with-oidc.sh) it
# starts with the OAuth2 part; then the pasted-token part.
set -u
ka=$KA_CLI
top=$KA_TOP_SRCDIR

work=$(mktemp -d "${TMPDIR:-/tmp}/kiwi-auth-demo.XXXXXX")
server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export HOME="$work/home" XDG_CONFIG_HOME="$work/config" \
	XDG_STATE_HOME="$work/state" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$work" "$XDG_RUNTIME_DIR"
unset KIWI_EXAMPLE_TOKEN || true

# The shipped sample configuration, copied with safe modes (a checkout
# made under a loose umask would otherwise be refused, as it should be),
# plus a stanza for the local OAuth2 server when there is one.
cp -R "$top/conf" "$work/conf"
# The sample stanza is shipped commented out; enable it in this copy, as
# an administrator would (remove the single '#' of each stanza line).
sed -i 's/^#\([^#]\)/\1/' "$work/conf/services.d/example-api.conf"
if [ -n "${OIDC_ISSUER:-}" ]; then
	cat >"$work/conf/services.d/demo-oauth2.conf" <<CONF
# The local OAuth2/OpenID test server this demo started.
demo-oauth2 = {
  description = "local OAuth2 server (demo)";
  hosts = [ "$OIDC_ISSUER" ];
  scopes = [ "api:read" ];   # what tools ask for; the server grants it
  min_valid = 2;
  source = ( { module = "file"; } );
  refresh = { module = "oauth2"; issuer = "$OIDC_ISSUER";
              client_id = "kiwi-native";
              scopes = [ "openid", "offline_access", "api:read" ];
              device_interval = 1; };
};
CONF
fi
find "$work/conf" -type d -exec chmod 700 {} + ; find "$work/conf" -type f -exec chmod 600 {} +
export KIWI_AUTH_CONFIG="$work/conf"

bold() { printf '\n\033[1m%s\033[0m\n' "$1"; }
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }
run() { step "$1" "$2"; sh -c "$2" || echo "(exit status $?)"; }

export PATH="$(dirname "$ka"):$PATH"
run "check the configuration" "kiwi-auth check"
run "list the configured services" "kiwi-auth services"

if [ -n "${OIDC_ISSUER:-}" ]; then
	bold "Part 1: OAuth2 against a local server at $OIDC_ISSUER"
	run "status before signing in" "kiwi-auth status demo-oauth2"
	step "sign in with the device flow (RFC 8628)" \
		"kiwi-auth signin demo-oauth2 --flow device --no-browser"
	kiwi-auth signin demo-oauth2 --flow device --no-browser \
		>"$work/signin.out" 2>"$work/signin.err" &
	spid=$!
	for _ in $(seq 200); do
		grep -q "enter the code" "$work/signin.err" && break
		sleep 0.05
	done
	cat "$work/signin.err"
	code=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$work/signin.err")
	printf '   (the demo plays the user: opens the page, enters %s, logs in, consents)\n' "$code"
	node "$OIDC_NODE_DIR/driver.mjs" device "$OIDC_ISSUER" "$code" >/dev/null
	wait "$spid" || echo "(signin exit status $?)"
	cat "$work/signin.out"
	run "status: signed in, refreshable; the token itself is never shown" \
		"kiwi-auth status demo-oauth2"
	run "an authorized request to the server's userinfo endpoint" \
		"kiwi-auth request --scope api:read $OIDC_ISSUER/me; echo"
	step "wait for the access token to expire (the server gives it ${OIDC_ACCESS_TTL}s)" \
		"sleep $((OIDC_ACCESS_TTL + 1))"
	sleep $((OIDC_ACCESS_TTL + 1))
	run "the next request refreshes the token first (rotation stored before use)" \
		"kiwi-auth -v request --scope api:read $OIDC_ISSUER/me; echo"
	run "status after the refresh" "kiwi-auth status demo-oauth2"
	run "log out: the refresh token is revoked at the server, then erased" \
		"kiwi-auth logout demo-oauth2"
	run "status after logging out" "kiwi-auth status demo-oauth2"
fi

bold "Part 2: a pasted token for the sample service example-api"
run "status before storing a token" "kiwi-auth status example-api"
token="demo-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
step "store a token (read from stdin, never from the command line)" \
	"printf '%s\\n' \"\$token\" | kiwi-auth token set example-api --expires-in 3600 --scope example:read"
printf '%s\n' "$token" | kiwi-auth token set example-api --expires-in 3600 --scope example:read
run "status: where the token is and when it expires" "kiwi-auth status example-api"

# A local stand-in for the API (tests/servers/recorder.py) that records
# the headers it receives, so we can show the header arrived without
# printing it.
port_file="$work/port" log_file="$work/requests.log"
python3 "$top/tests/servers/recorder.py" "$port_file" "$log_file" &
server_pid=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
run "an authorized request to http://127.0.0.1:$port, as an executor makes it" \
	"kiwi-auth request --scope example:read http://127.0.0.1:$port/whoami"
step "what the server received (compared here, never printed)" "python3 -c ..."
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
run "a request to an origin the service does not allow is refused before any connection" \
	"kiwi-auth request --scope example:read https://elsewhere.invalid/"
run "log out" "kiwi-auth logout example-api"
run "status after logging out" "kiwi-auth status example-api"
printf '\ndemo finished; its temp directory %s is removed\n' "$work"
