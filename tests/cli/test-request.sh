#!/bin/sh
# SPDX-License-Identifier: MIT
# test-request.sh: `kiwi-auth request` end to end against recording HTTP servers on 127.0.0.1: origin binding, redirects, exit codes, canary.
#
# Two instances of tests/servers/recorder.py listen on two ports of
# 127.0.0.1 (two origins) and log every request with its headers. The
# service `api` allows only the first one; its header has a custom name,
# which libcurl would not strip on a redirect by itself.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
[ -n "${KIWI_AUTH_MODULE_DIR:-}" ] &&
	[ -f "$KIWI_AUTH_MODULE_DIR/test_counting.so" ] ||
	ka_skip "the test_counting module was not built (make check builds it)"
command -v python3 > /dev/null || ka_skip "python3 is needed for the test server"
"$KA_CLI" request --help > /dev/null 2>&1 ||
	ka_skip "this kiwi-auth has no request command"

SERVER=$KA_TOP_SRCDIR/tests/servers/recorder.py
CANARY=kiwiCANARY-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
PIDS=
stop_servers() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	ka_cleanup
}
trap stop_servers EXIT

start_server() {	# NAME: sets port in $T/NAME.port, log in $T/NAME.log
	python3 "$SERVER" "$T/$1.port" "$T/$1.log" 2> "$T/$1.err" &
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/$1.port" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "server $1 did not start" >&2; exit 1; }
		sleep 0.05
	done
}
start_server a
start_server b
PA=$(cat "$T/a.port")
PB=$(cat "$T/b.port")
A=http://127.0.0.1:$PA
B=http://127.0.0.1:$PB

CONF=$T/conf/kiwi-auth.conf
ka_config "$CONF" <<EOF
global: { audit_file = "$T/audit.log"; };
api: {
  hosts = [ "$A" ];
  scopes = [ "api:read", "api:write" ];
  header = "X-Kiwi-Key: %s";
  source = ( { module = "test_counting"; counter = "$T/counter";
               token = "$CANARY"; expires_in = 3600;
               scopes = [ "api:read" ]; } );
};
gone: {
  hosts = [ "$A" ];
  scopes = [ "gone:use" ];
  source = ( { module = "test_counting"; counter = "$T/counter";
               result = "not_found"; } );
};
EOF
export KIWI_AUTH_CONFIG=$CONF

# values LOG PATH NAME: the values of header NAME (any case) in every
# request for PATH, one per line.
values() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
log, path, name = sys.argv[1:4]
for line in open(log):
    e = json.loads(line)
    if e["path"] == path:
        for k, v in e["headers"]:
            if k.lower() == name.lower():
                print(v)
PY
}
# requests LOG PATH: how many requests for PATH the server saw.
requests() {
	python3 - "$1" "$2" <<'PY'
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]))
PY
}
expect_eq() {	# GOT WANT DESC
	if [ "$1" = "$2" ]; then ka_pass "$3"; else ka_fail "$3: got '$1', want '$2'"; fi
}
no_canary() {
	expect_no "$CANARY" "$1: no token in the output"
}

# ---- allowed ----------------------------------------------------------------
ka_run request --scope api:read -H 'x-kiwi-key: tool-value' \
	-H 'Accept: text/plain' "$A/items"
expect_rc 0 "allowed request"
expect_out "hello from $PA /items" "allowed request: body printed"
no_canary "allowed request"
expect_eq "$(values "$T/a.log" /items X-Kiwi-Key)" "$CANARY" \
	"allowed request arrives with the credential, tool's header replaced"
expect_eq "$(values "$T/a.log" /items Accept)" "text/plain" \
	"other tool headers pass"

ka_run --json request --scope api:read "$A/json"
expect_rc 0 "--json"
python3 - "$KA_OUT" "$PA" <<'PY' && ka_pass "--json: status, headers, body, metadata" || ka_fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == 200, d
assert d["headers"]["x-recorder"] == "yes", d
assert d["body"] == "hello from %s /json\n" % sys.argv[2], d
assert d["metadata"] == {"auth_required": False, "service": "api",
                         "account": "default", "scope": "api:read",
                         "injected": True}, d
PY
no_canary "--json"

# A server that echoes request headers must not hand the token back.
ka_run request --scope api:read "$A/echo"
expect_rc 0 "echoing server"
no_canary "echoing server (body)"
expect_out "X-Kiwi-Key: ****" "echoing server: the echoed credential is masked"
ka_run --json request --scope api:read "$A/echo"
no_canary "echoing server (--json headers and body)"
expect_eq "$(values "$T/a.log" /echo X-Kiwi-Key | sort -u)" "$CANARY" \
	"echoing server: the credential did reach the server"

printf '[{"name":"list_items"},{"required_scope":"api:read","auth_service":"api"}]' > "$T/chain.json"
ka_run request --chain "$T/chain.json" "$A/chain"
expect_rc 0 "scope from --chain"
expect_eq "$(values "$T/a.log" /chain X-Kiwi-Key)" "$CANARY" "--chain: credential set"

# ---- public -----------------------------------------------------------------
loads=$(wc -l < "$T/counter")
ka_run request "$A/public"
expect_rc 0 "public request"
expect_eq "$(values "$T/a.log" /public X-Kiwi-Key)" "" "public request has no credential"
expect_eq "$(wc -l < "$T/counter")" "$loads" "public request reads no source"

# ---- refused ----------------------------------------------------------------
ka_run request --scope api:read "$B/elsewhere"
expect_rc 6 "other origin refused"
expect_err "URL origin $B is not allowed for service api" "other origin: message"
expect_eq "$(requests "$T/b.log" /elsewhere)" "0" "other origin: never contacted"
no_canary "other origin"

ka_run request --scope api:write "$A/write"
expect_rc 6 "scope missing from the token"
expect_err "token for api lacks scope api:write" "scope: message"
expect_eq "$(requests "$T/a.log" /write)" "0" "scope: server never contacted"

ka_run --json request --scope gone:use "$A/gone"
expect_rc 4 "not signed in"
expect_err "not signed in to gone: run 'kiwi-auth token set gone'" "not signed in: message"
expect_out '"auth_required": true' "not signed in: --json metadata"
expect_eq "$(requests "$T/a.log" /gone)" "0" "not signed in: server never contacted"

ka_run request --scope api:read http://example.com/
expect_rc 6 "plain http to a remote host"
ka_run request --scope api:read "http://user@127.0.0.1:$PA/cred"
expect_rc 6 "credentials in the URL"
ka_run request --service nope "$A/"
expect_rc 3 "unknown service"
ka_run request --scope api:read
expect_rc 2 "no URL"
ka_run request -H 'Bad Header' "$A/"
expect_rc 2 "malformed -H"
ka_run request -X get "$A/"
expect_rc 2 "malformed -X"
ka_run request --scope api:read -H 'Host: evil.example' "$A/host"
expect_rc 2 "a Host header is refused"
expect_err "header 1 ('Host') would change where or how the request goes" \
	"Host header: says why"
expect_eq "$(requests "$T/a.log" /host)" "0" "Host header: server never contacted"
ka_run request --scope api:read -H 'Authorization : x' "$A/space"
expect_rc 2 "a space before the colon is refused"
expect_err "no space may stand between the name 'Authorization' and the colon" \
	"space before the colon: says what is wrong"
ka_run request --scope api:read --timeout 1 "$A/trickle?n=100"
expect_rc 5 "a trickling server meets --timeout"
expect_err "did not answer within the deadline" "--timeout: says why"

# ---- redirects ----------------------------------------------------------------
ka_run request --scope api:read "$A/redirect?to=$A/same"
expect_rc 0 "same-origin redirect"
expect_eq "$(values "$T/a.log" /same X-Kiwi-Key)" "$CANARY" \
	"same-origin redirect keeps the credential"

ka_run request --scope api:read -H 'Authorization: Bearer tool-secret' \
	-H 'X-Trace: 1' "$A/redirect?to=$B/landing"
expect_rc 0 "cross-origin redirect followed"
expect_out "hello from $PB /landing" "cross-origin redirect: body of the target"
expect_eq "$(requests "$T/b.log" /landing)" "1" "cross-origin redirect reached the other origin"
expect_eq "$(values "$T/b.log" /landing X-Kiwi-Key)" "" \
	"cross-origin redirect: custom credential header not sent"
expect_eq "$(values "$T/b.log" /landing Authorization)" "" \
	"cross-origin redirect: tool's Authorization not sent"
expect_eq "$(values "$T/b.log" /landing X-Trace)" "1" \
	"cross-origin redirect: other headers kept"
no_canary "cross-origin redirect"

# Every tool header dropped on the hop: the request still goes.
ka_run request --scope api:read -H 'Cookie: c=1' "$A/redirect?to=$B/bare"
expect_rc 0 "cross-origin redirect with only credential headers"
expect_eq "$(values "$T/b.log" /bare Cookie)" "" "the tool's Cookie is not sent"

ka_run request --scope api:read -d 'payload=1' \
	"$A/redirect?code=307&to=$B/post307"
expect_rc 0 "307 keeps the method"
expect_eq "$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["path"] == "/post307": print(e["method"], e["body"])' "$T/b.log")" \
	"POST payload=1" "307 keeps method and body"
ka_run request --scope api:read -d 'x' "$A/redirect?code=303&to=$A/after303"
expect_eq "$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["path"] == "/after303": print(e["method"])' "$T/a.log")" \
	"GET" "303 turns POST into GET"

ka_run request --scope api:read "$A/redirect?to=http://example.com/"
expect_rc 6 "redirect to plain http on a remote host refused"

# ---- HTTP errors ----------------------------------------------------------------
ka_run request --scope api:read "$A/status/404"
expect_rc 7 "HTTP error"
expect_out "status page" "HTTP error: body printed"

# ---- audit ----------------------------------------------------------------------
if grep -F "$CANARY" "$T/audit.log" > /dev/null; then
	ka_fail "audit log holds the token"
else
	ka_pass "audit log holds no token"
fi
grep -E "outcome=injected service=api scope=api:read account=default origin=$A method=GET tool=- fp=[0-9a-f]{16}$" \
	"$T/audit.log" > /dev/null && ka_pass "audit: injected line" ||
	ka_fail "audit: injected line"
grep -F "outcome=refused service=api scope=api:read account=default origin=$B" \
	"$T/audit.log" > /dev/null && ka_pass "audit: refused line" ||
	ka_fail "audit: refused line"
grep -F "tool=list_items" "$T/audit.log" > /dev/null &&
	ka_pass "audit: tool name from the chain" || ka_fail "audit: tool name"
expect_mode "$T/audit.log" 600 "audit log is private"

ka_finish
