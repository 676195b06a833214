#!/bin/sh
# SPDX-License-Identifier: MIT
# test-mcp.sh: kiwi-auth as the credential broker of an MCP client, against
# real MCP servers (@modelcontextprotocol/sdk: Streamable HTTP,
# requireBearerAuth, mcpAuthMetadataRouter; tests/servers/oidc/mcp.mjs)
# and the real authorization server (oidc-provider with RFC 7591
# registration and RFC 8707 resource indicators), all on 127.0.0.1: every
# sign-in starts from the MCP server's URL alone. The misbehaving servers
# of the negative cases are stand-ins serving documents of their own.
OIDC_MCP=1
OIDC_ACCESS_TTL=120
export OIDC_MCP OIDC_ACCESS_TTL
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

MCONF=$T/mcp-conf			# the configuration directory
SD=$MCONF/services.d
TOKS=$XDG_STATE_HOME/kiwi-auth/tokens	# the file source's default
CLIENTS=$XDG_STATE_HOME/kiwi-auth/clients
MCP_EVENT_LOG=$T/mcp.log
mkdir -p "$MCONF"
: >"$MCP_EVENT_LOG"
export MCP_EVENT_LOG

node "$OIDC_NODE_DIR/mcp.mjs" good good2 noheader forbid badresource \
	crossorigin badissuer nos256 tokenorigin >"$T/mcp.out" 2>"$T/mcp.err" &
MCP_PID=$!
trap 'kill $MCP_PID 2>/dev/null; ka_cleanup' EXIT
wait_for "$T/mcp.out" '^ready' 20 || { cat "$T/mcp.err"; ka_fail "the MCP servers did not start"; ka_finish; }
url() { awk -v n="$1" '$1 == n { print $2 }' "$T/mcp.out"; }
svc() { echo "mcp-127-0-0-1-$(url "$1" | sed 's/.*:\([0-9]*\)\/mcp/\1/')"; }
GOOD=$(url good) GOOD2=$(url good2) S1=$(svc good) S2=$(svc good2)

kcli() { "$KA_CLI" --config "$MCONF" "$@"; }
registrations() { grep -c '^register ' "$OIDC_EVENT_LOG"; }
files() { find "$SD" "$CLIENTS" "$TOKS" -type f 2>/dev/null | sort | tr '\n' ' '; }
remember() { ka_remember_tokens "$TOKS"; }
# Tokens change only in sign-ins (msignin remembers them) and refreshes.
ka_after_run() { :; }

# msignin MODE ARGS...: `signin ARGS` with the user's part played by
# driver.mjs MODE (code, code-iss ISS, device); $T/s.out, $T/s.err.
msignin() {
	mode=$1
	shift
	drv_arg=
	if [ "$mode" = code-iss ]; then
		drv_arg=$1
		shift
	fi
	# Emptied here, not by the background job's redirection: else the
	# wait below can read the last sign-in's URL before the job runs.
	: >"$T/s.err"
	kcli signin --no-browser "$@" >"$T/s.out" 2>"$T/s.err" &
	spid=$!
	n=0
	while kill -0 $spid 2>/dev/null && [ $n -lt 1200 ] &&
		! grep -q -e '/auth?' -e 'enter the code' "$T/s.err"; do
		sleep 0.05
		n=$((n + 1))
	done
	: >"$T/drv"
	if ! kill -0 $spid 2>/dev/null; then
		:	# it ended before a person was needed
	elif grep -q 'enter the code' "$T/s.err"; then
		c=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$T/s.err")
		node "$OIDC_NODE_DIR/driver.mjs" device "$OIDC_ISSUER" "$c" >"$T/drv" 2>&1
	elif grep -q '/auth?' "$T/s.err"; then
		u=$(grep -o 'http://127.0.0.1:[0-9]*/auth?[^ ]*' "$T/s.err")
		if [ "$mode" = code-iss ]; then
			node "$OIDC_NODE_DIR/driver.mjs" code-iss "$u" "$drv_arg" >"$T/drv" 2>&1
		else
			node "$OIDC_NODE_DIR/driver.mjs" code "$u" >"$T/drv" 2>&1
		fi
	else
		echo "no URL to visit after $n polls" >"$T/drv"
		false
	fi || { echo "(driver failed: exit $?)" >>"$T/drv"; kill $spid 2>/dev/null; }	# stop waiting
	wait $spid
	rc=$?
	cat "$T/s.out" "$T/s.err" >>"$T/transcript"
	remember
	return $rc
}

# mcp SERVICE URL JSON-RPC-BODY: one MCP request through `kiwi-auth request`.
mcp() {
	ka_run --config "$MCONF" request --service "$1" -X POST \
		-H 'Content-Type: application/json' \
		-H 'Accept: application/json, text/event-stream' -d "$3" "$2"
}
INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"kiwi-test","version":"1"}}}'
LIST='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
WRITE='{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"write","arguments":{}}}'

# ---- discovery from the 401, registration, code + PKCE ------------------------
msignin code --resource "$GOOD" --source file
rc=$?
[ $rc -eq 0 ] && ka_pass "signin --resource: exit 0" ||
	ka_fail "signin --resource: exit $rc: $(cat "$T/s.err" "$T/drv")"
grep -q "signed in to $S1 (default)" "$T/s.out" &&
	ka_pass "signin --resource: names the service after the host and port" ||
	ka_fail "signin --resource: $(cat "$T/s.out")"
grep -q "resource=http%3A%2F%2F127.0.0.1%3A[0-9]*%2Fmcp" "$T/s.err" &&
	grep -q "scope=mcp%3Atools" "$T/s.err" &&
	ka_pass "the authorization request carries the resource and the challenge's scope" ||
	ka_fail "the authorization request: $(grep auth? "$T/s.err")"
grep -q "^mcp good POST /mcp 401" "$MCP_EVENT_LOG" &&
	grep -q "^mcp good GET /.well-known/oauth-protected-resource/mcp 200" "$MCP_EVENT_LOG" &&
	ka_pass "discovery: a request without a token, then the metadata the 401 named" ||
	ka_fail "discovery: $(cat "$MCP_EVENT_LOG")"
[ "$(registrations)" = 1 ] && ka_pass "the authorization server saw one registration" ||
	ka_fail "registrations: $(grep register "$OIDC_EVENT_LOG")"
expect_mode "$SD/$S1.conf" 600 "the stanza is written with mode 600"
grep -q "^# Written by 'kiwi-auth signin --resource'" "$SD/$S1.conf" &&
	grep -q "hosts = \[ \"${GOOD%/mcp}\" \]" "$SD/$S1.conf" &&
	ka_pass "the stanza is kiwi-auth's and binds the token to the server's origin" ||
	ka_fail "the stanza: $(cat "$SD/$S1.conf")"
reg=$(ls "$CLIENTS"/client-*.json 2>/dev/null | head -1)
expect_mode "$reg" 600 "the registration is stored with mode 600"
ka_run --config "$MCONF" check
expect_rc 0 "check: the written stanza passes"

# ---- use: MCP initialize and tools/list with the token -------------------------
mcp "$S1" "$GOOD" "$INIT"
expect_rc 0 "MCP initialize through kiwi-auth request"
expect_out '"kiwi-test-good"' "initialize: the MCP server answered"
mcp "$S1" "$GOOD" "$LIST"
expect_rc 0 "MCP tools/list"
expect_out '"echo"' "tools/list lists the tools"
grep -q "^mcp good POST /mcp 200" "$MCP_EVENT_LOG" &&
	ka_pass "the MCP server accepted the token (a JWT whose aud is its URL)" ||
	ka_fail "MCP server log: $(cat "$MCP_EVENT_LOG")"
mcp "$S1" "$GOOD2" "$LIST"
expect_rc 6 "the token is not sent to another MCP server's origin"
ka_run --config "$MCONF" request --service "$S1" "$OIDC_ISSUER/me"
expect_rc 6 "the token is not sent to the authorization server"

# ---- services and status: issuer, resource, registration, never a secret ----
ka_run --config "$MCONF" services
expect_out "issuer      $OIDC_ISSUER" "services shows the issuer"
expect_out "resource    $GOOD" "services shows the resource"
expect_out "registered  dynamic, " "services shows the registration"
ka_run --config "$MCONF" status "$S1" --json
expect_out "\"issuer\": \"$OIDC_ISSUER\"" "status --json shows the issuer"
expect_out '"client_id": "' "status --json shows the client_id"

# ---- a second sign-in reuses the registration -----------------------------------
cp "$TOKS/$S1@default.json" "$T/first.json"
msignin code --resource "$GOOD" --source file
[ $? -eq 0 ] && [ "$(registrations)" = 1 ] &&
	ka_pass "a second sign-in reuses the stored registration" ||
	ka_fail "second sign-in: $(cat "$T/s.err"); registrations $(registrations)"

# ---- refresh with rotation -----------------------------------------------------
cp "$TOKS/$S1@default.json" "$T/before.json"
ka_run --config "$MCONF" refresh "$S1"
remember
expect_rc 0 "refresh: exits 0"
[ "$(field_of "$TOKS/$S1@default.json" refresh_token)" != "$(field_of "$T/before.json" refresh_token)" ] &&
	ka_pass "refresh: the refresh token was rotated and stored" ||
	ka_fail "refresh: the stored refresh token did not change"
[ "$(probe introspect "$T/before.json" refresh_token)" = inactive ] &&
	[ "$(probe introspect "$TOKS/$S1@default.json" refresh_token)" = active ] &&
	ka_pass "refresh: the server dropped the old refresh token, the new one is active" ||
	ka_fail "refresh: introspection disagrees"
mcp "$S1" "$GOOD" "$LIST"
expect_rc 0 "the refreshed token works at the MCP server (the resource was kept)"

# ---- two MCP servers, one authorization server ----------------------------------
s1_rt=$(field_of "$TOKS/$S1@default.json" refresh_token)
msignin code --resource "$GOOD2" --source file
rc=$?
[ $rc -eq 0 ] && ka_pass "second server: sign-in from its URL" ||
	ka_fail "second server: exit $rc: $(cat "$T/s.err" "$T/drv")"
[ "$(registrations)" = 2 ] && [ "$(ls "$CLIENTS" | wc -l)" = 2 ] &&
	ka_pass "second server: a registration of its own" ||
	ka_fail "second server: registrations $(registrations), files $(ls "$CLIENTS")"
[ "$(field_of "$TOKS/$S1@default.json" refresh_token)" = "$s1_rt" ] &&
	ka_pass "second server: the first server's tokens are untouched" ||
	ka_fail "second server: the first record changed"
mcp "$S2" "$GOOD2" "$INIT"
expect_out '"kiwi-test-good2"' "second server: its own token works there"
mcp "$S1" "$GOOD" "$INIT"
expect_out '"kiwi-test-good"' "first server: still works"

# ---- step-up: 403 insufficient_scope, then the union of scopes ------------------
mcp "$S1" "$GOOD" "$WRITE"
expect_rc 6 "step-up: the write tool is refused without mcp:write (HTTP 403)"
expect_err "needs the scopes mcp:write" "step-up: the error names the scope to add"
expect_err "kiwi-auth signin $S1 --add-scope mcp:write" "step-up: and the command that adds it"
msignin code "$S1" --add-scope mcp:write
[ $? -eq 0 ] && grep -q "scope=mcp%3Atools%20mcp%3Awrite" "$T/s.err" &&
	ka_pass "step-up: signin --add-scope asks for the scopes held plus the new one" ||
	ka_fail "step-up: $(cat "$T/s.err")"
mcp "$S1" "$GOOD" "$WRITE"
expect_rc 0 "step-up: the write tool works after the step-up"
expect_out "written by good" "step-up: the tool ran"

# A server that asks again for the scopes the token holds: one resend with a
# refreshed token, then the performer gives up.
msignin code --resource "$(url forbid)" --source file --service forbid ||
	ka_fail "step-up: sign-in to the refusing server: $(cat "$T/s.err" "$T/drv")"
refreshes=$(grants refresh_token)
mcp forbid "$(url forbid)" "$LIST"
remember
expect_rc 6 "step-up: a server that never accepts is given up on"
expect_err "giving up" "step-up: says it gave up"
[ "$(grep -c '^mcp forbid POST /mcp 403' "$MCP_EVENT_LOG")" = 2 ] &&
	[ "$(grants refresh_token)" = $((refreshes + 1)) ] &&
	ka_pass "step-up: capped: one refresh and one resend, no more" ||
	ka_fail "step-up: sends $(grep -c '^mcp forbid POST /mcp 403' "$MCP_EVENT_LOG"), refreshes $(grants refresh_token) (was $refreshes)"

# ---- negative cases: a clear error, nothing stored -------------------------------
neg() {	# neg SERVER TEXT DESC
	before=$(files)
	regs=$(registrations)
	msignin code --resource "$(url "$1")" --source file
	rc=$?
	if [ $rc -ne 0 ] && grep -q -F -e "$2" "$T/s.err"; then
		ka_pass "$3 (exit $rc)"
	else
		ka_fail "$3: exit $rc: $(cat "$T/s.err")"
	fi
	[ "$(files)" = "$before" ] && [ "$(registrations)" = "$regs" ] &&
		ka_pass "$3: nothing was stored or registered" ||
		ka_fail "$3: files before: $before after: $(files)"
}
neg badresource "names another resource" "metadata whose resource does not match"
neg crossorigin "resource_metadata on another origin" "a 401 pointing to metadata on another origin"
neg badissuer "names another issuer" "authorization server metadata whose issuer does not match"
neg nos256 "PKCE with S256" "an authorization server without S256"
neg tokenorigin "token endpoint on another origin" "a token endpoint on another origin than the issuer"

before=$(files)
cp "$TOKS/$S1@default.json" "$T/held.json"
msignin code-iss "http://127.0.0.1:1/other" "$S1"
rc=$?
[ $rc -ne 0 ] && grep -q "did not come from $OIDC_ISSUER" "$T/s.err" &&
	ka_pass "an authorization response with another iss is refused (exit $rc)" ||
	ka_fail "wrong iss: exit $rc: $(cat "$T/s.err")"
msignin code-iss "" "$S1"
rc=$?
[ $rc -ne 0 ] && grep -q "its \`iss\` is missing" "$T/s.err" &&
	ka_pass "an answer without iss from a server that sends it is refused" ||
	ka_fail "missing iss: exit $rc: $(cat "$T/s.err")"
[ "$(files)" = "$before" ] && cmp -s "$T/held.json" "$TOKS/$S1@default.json" &&
	ka_pass "refused answers: the stored record is as it was" ||
	ka_fail "refused answers changed what is stored"

# ---- no challenge: the well-known URLs ------------------------------------------
msignin code --resource "$(url noheader)" --source file --service plain
[ $? -eq 0 ] && grep -q "^mcp noheader GET /.well-known/oauth-protected-resource/mcp 404" "$MCP_EVENT_LOG" &&
	grep -q "^mcp noheader GET /.well-known/oauth-protected-resource 200" "$MCP_EVENT_LOG" &&
	ka_pass "a bare challenge: path-inserted metadata, then the root's" ||
	ka_fail "bare challenge: $(cat "$T/s.err" "$T/drv"); $(grep noheader "$MCP_EVENT_LOG")"
[ -f "$SD/plain.conf" ] && ka_pass "--service names the new stanza" ||
	ka_fail "--service: $(ls "$SD")"

# ---- the server forgot the client: invalid_client --------------------------------
reg2=$(grep -l "\"resource\": \"$GOOD2\"" "$CLIENTS"/*.json)
sed -i 's/"client_id": "[^"]*"/"client_id": "forgotten-client"/' "$reg2"
ka_run --config "$MCONF" refresh "$S2"
expect_rc 4 "invalid_client: the refresh asks for a sign-in"
expect_err "no longer knows the client" "invalid_client: says why"
[ ! -f "$reg2" ] && ka_pass "invalid_client: the rejected registration was dropped" ||
	ka_fail "invalid_client: the registration is still there"
# The headless way in: the device flow (the stanza is the user's to edit;
# a poll a second instead of the default five keeps the test short).
regs=$(registrations)
sed -i 's/resource = "\([^"]*\)"; };/resource = "\1"; device_interval = 1; };/' "$SD/$S2.conf"
msignin device "$S2" --flow device
rc=$?
[ $rc -eq 0 ] && [ "$(registrations)" = $((regs + 1)) ] &&
	grep -q "device_code" "$OIDC_EVENT_LOG" &&
	ka_pass "invalid_client: the next sign-in (device flow) registers anew" ||
	ka_fail "invalid_client: re-registration (exit $rc, $(registrations) registrations, $regs before): $(cat "$T/s.err" "$T/drv")"
mcp "$S2" "$GOOD2" "$LIST"
expect_rc 0 "device flow: the token works at the MCP server"

# ---- logout with revocation -----------------------------------------------------
cp "$TOKS/$S1@default.json" "$T/last.json"
ka_run --config "$MCONF" logout "$S1"
expect_rc 0 "logout: exits 0"
expect_out "revoked" "logout: revoked at the server"
[ "$(probe introspect "$T/last.json" refresh_token)" = inactive ] &&
	ka_pass "logout: the server no longer accepts the refresh token" ||
	ka_fail "logout: the refresh token is still active"

# ---- canary: the MCP tokens appear nowhere but in their records -----------------
ka_no_token_leaked "$TOKS" "$MCP_EVENT_LOG" "$OIDC_EVENT_LOG" "$T/mcp.out" \
	"$T/mcp.err" $(find "$SD" "$CLIENTS" -type f) "$T/drv"
ka_finish
