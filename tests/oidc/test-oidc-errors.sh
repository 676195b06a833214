#!/bin/sh
# SPDX-License-Identifier: MIT
# test-oidc-errors.sh: wrong client, wrong secret, server down, garbage, 5xx,
# slow and oversized answers, refused settings and a denied sign-in: each
# gives a clear error and leaves the stored record as it was.
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

BAD_PIDS=
trap 'kill $BAD_PIDS 2>/dev/null; ka_cleanup' EXIT

# start_bad MODE: a misbehaving endpoint; its URL lands in $T/bad-MODE.url.
start_bad() {
	: >"$T/bad-$1.log"
	(cd "$OIDC_NODE_DIR" && BAD_LOG=$T/bad-$1.log exec node bad.mjs "$1") \
		>"$T/bad-$1.url" 2>"$T/bad-$1.err" </dev/null &
	BAD_PIDS="$BAD_PIDS $!"
	wait_for "$T/bad-$1.url" "http://" 10
}

for mode in garbage error5xx slow huge; do
	start_bad $mode || { ka_fail "bad server $mode did not start"; ka_finish; }
	url=$(head -n 1 "$T/bad-$mode.url")
	oauth2_stanza $mode "token_url = \"$url/token\"; client_id = \"kiwi-native\"; timeout = 1;" >>"$CONF"
done
oauth2_stanza wrongclient "token_url = \"$OIDC_ISSUER/token\"; client_id = \"nope\";" >>"$CONF"
oauth2_stanza badsecret "issuer = \"$OIDC_ISSUER\"; client_id = \"kiwi-service\";
    client_secret_env = \"KA_TEST_WRONG_SECRET\"; flow = \"client-credentials\";" >>"$CONF"
oauth2_stanza plainhttp "token_url = \"http://example.com/token\"; client_id = \"kiwi-native\";" >>"$CONF"
KA_TEST_WRONG_SECRET=not-the-secret
export KA_TEST_WRONG_SECRET

device_signin native >"$T/drv" 2>&1 || ka_fail "device sign-in: $(cat "$T/signin.err")"
for s in down garbage error5xx slow huge wrongclient plainhttp; do
	cp "$(rec native)" "$(rec $s)"
done

# refresh_fails SERVICE RC TEXT DESC: the refresh fails that way and the
# record is untouched.
refresh_fails() {
	before=$(sha256sum <"$(rec "$1")")
	ka_run refresh "$1"
	expect_rc "$2" "$4"
	expect_err "$3" "$4: says why"
	[ "$(sha256sum <"$(rec "$1")")" = "$before" ] &&
		ka_pass "$4: the record is unchanged" ||
		ka_fail "$4: the record changed"
}

refresh_fails wrongclient 3 "refused client 'nope' (invalid_client" "wrong client"
refresh_fails down 1 "Couldn't connect to server (tried 3 times)" "server down"
refresh_fails garbage 1 "answered HTTP 200 with text/html, not an OAuth token answer" "garbage"
refresh_fails error5xx 1 "answered HTTP 503" "5xx"
# The server read the refresh grant and may have rotated the token: a
# retry would present a spent one, so there is none.
[ "$(grep -c POST "$T/bad-error5xx.log")" = 1 ] &&
	ka_pass "5xx: a refresh grant that reached the server is not replayed" ||
	ka_fail "5xx: $(grep -c POST "$T/bad-error5xx.log") attempts"
grep -q "tried" "$T/err" && ka_fail "5xx: the error claims retries" ||
	ka_pass "5xx: the error claims no retries"
start=$(date +%s)
refresh_fails slow 5 "did not answer in time" "slow server"
# The server answers after 120 s; the refresh gives up after its 1 s
# timeout. The bound is loose so a loaded machine cannot fail it, and
# still far below the server's delay.
[ $(($(date +%s) - start)) -le 60 ] && ka_pass "slow server: bounded by the timeout" ||
	ka_fail "slow server: took $(($(date +%s) - start)) s"
[ "$(grep -c POST "$T/bad-slow.log")" = 1 ] &&
	ka_pass "slow server: a timed-out refresh is not replayed" ||
	ka_fail "slow server: $(grep -c POST "$T/bad-slow.log") attempts"
refresh_fails huge 1 "answered more than 262144 bytes" "oversized answer"
refresh_fails plainhttp 1 "plain http is allowed only for loopback hosts" "plain http"

ka_run signin badsecret
expect_rc 3 "wrong secret: exit 3"
expect_err "refused client 'kiwi-service' (invalid_client" "wrong secret: says why"
[ ! -e "$(rec badsecret)" ] && ka_pass "wrong secret: nothing stored" ||
	ka_fail "wrong secret: a record was stored"

# A secret written into the configuration is refused.
sed 's|client_secret_file = "[^"]*"|client_secret = "inline"|' "$CONF" >"$T/inline.conf"
chmod 600 "$T/inline.conf"
ka_run --config "$T/inline.conf" check
expect_rc 3 "inline secret: check fails"
expect_err "client_secret must not be written in the configuration" "inline secret: says why"

# The person says no at the server.
before=$(sha256sum <"$(rec native)")
DRIVER_MODE=deny-device device_signin native >"$T/drv" 2>&1
rc=$?
[ $rc -eq 1 ] && ka_pass "denied: signin exits 1" || ka_fail "denied: exit $rc"
grep -q "the sign-in was denied at the server" "$T/signin.err" &&
	ka_pass "denied: says so" || ka_fail "denied: $(cat "$T/signin.err")"
[ "$(sha256sum <"$(rec native)")" = "$before" ] &&
	ka_pass "denied: the stored record is unchanged" || ka_fail "denied: record changed"

# No refresh module: signin says what to do instead.
printf '%s\n' 'plain: {' '  hosts = [ "https://plain.example" ];' \
	"  source = ( { module = \"file\"; directory = \"$TOK\"; } );" '};' >>"$CONF"
ka_run signin plain
expect_rc 1 "no refresh module: signin fails"
expect_err "kiwi-auth token set plain" "no refresh module: names token set"

for f in "$T/out" "$T/err" "$T/signin.err"; do
	grep -q kiwiCANARY "$f" 2>/dev/null && ka_fail "a token reached $f"
done
ka_no_token_leaked "$TOK"
ka_finish
