#!/bin/sh
# SPDX-License-Identifier: MIT
# test-oidc-signin.sh: sign-in flows, authorized requests, automatic refresh
# with rotation, and logout with revocation, against the real test server.
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

ka_run check
expect_rc 0 "check: the oauth2 stanzas load"

# ---- device flow ---------------------------------------------------------------
device_signin native >"$T/drv" 2>&1
rc=$?
cat "$T/drv"
[ $rc -eq 0 ] && ka_pass "device flow: signin exits 0" ||
	ka_fail "device flow: signin exit $rc: $(cat "$T/signin.err")"
grep -q "signed in to native (default)" "$T/signin.out" &&
	ka_pass "device flow: says it signed in" || ka_fail "device flow: $(cat "$T/signin.out")"
[ "$(grants urn:ietf:params:oauth:grant-type:device_code)" = 1 ] &&
	ka_pass "device flow: the server issued one device grant" ||
	ka_fail "device flow: grants: $(cat "$OIDC_EVENT_LOG")"
[ "$(probe me "$(rec native)")" = 200 ] &&
	ka_pass "device flow: the stored access token works at /me" ||
	ka_fail "device flow: /me refused the stored token"
ka_run status native
expect_out "signed-in" "status: signed in after the device flow"
expect_out "yes" "status: refreshable"

# ---- an authorized request to /me ---------------------------------------------
if "$KA_CLI" request --help >/dev/null 2>&1; then
	ka_run request --scope api:read "$OIDC_ISSUER/me"
	expect_rc 0 "request: GET /me through kiwi-auth request"
	expect_out '"sub"' "request: /me answered the user"
else
	echo "note: kiwi-auth request is not available; the executor API is used"
fi
out=$(helper me native "$OIDC_ISSUER/me" 2>&1)
[ "$out" = "HTTP 200" ] && ka_pass "executor API: GET /me authorized" ||
	ka_fail "executor API: $out"

# ---- expiry: the next use refreshes, rotates, and the old token is dead --------
cp "$(rec native)" "$T/before.json"
old_rt=$(field_of "$T/before.json" refresh_token)
sleep $((OIDC_ACCESS_TTL + 1))
[ "$(probe me "$T/before.json")" = 401 ] &&
	ka_pass "expiry: the server refuses the expired access token" ||
	ka_fail "expiry: the old access token still works"
refreshes=$(grants refresh_token)
if "$KA_CLI" request --help >/dev/null 2>&1; then
	ka_run request --scope api:read "$OIDC_ISSUER/me"
	expect_rc 0 "expiry: kiwi-auth request refreshed and succeeded"
else
	out=$(helper me native "$OIDC_ISSUER/me" 2>&1)
	[ "$out" = "HTTP 200" ] && ka_pass "expiry: the request refreshed and succeeded" ||
		ka_fail "expiry: $out"
fi
[ "$(grants refresh_token)" = $((refreshes + 1)) ] &&
	ka_pass "expiry: exactly one refresh at the server" ||
	ka_fail "expiry: refresh grants: $(grants refresh_token)"
new_rt=$(field_of "$(rec native)" refresh_token)
[ "$new_rt" != "$old_rt" ] && [ "$new_rt" != none ] &&
	ka_pass "rotation: the stored refresh token is a new one" ||
	ka_fail "rotation: the refresh token was not replaced"
[ "$(probe introspect "$T/before.json" refresh_token)" = inactive ] &&
	ka_pass "rotation: the server rejects the old refresh token" ||
	ka_fail "rotation: the old refresh token is still active"
[ "$(probe introspect "$(rec native)" refresh_token)" = active ] &&
	ka_pass "rotation: the new refresh token is active" ||
	ka_fail "rotation: the new refresh token is not active"

# ---- explicit refresh ------------------------------------------------------------
ka_run refresh native
expect_rc 0 "refresh: exits 0"
expect_out "refreshed the token of native" "refresh: says so"
ka_run refresh native --if-needed
expect_out "still fresh" "refresh --if-needed: nothing to do while fresh"

# ---- authorization code + PKCE ---------------------------------------------------
code_signin native bob >"$T/drv" 2>&1
rc=$?
cat "$T/drv"
[ $rc -eq 0 ] && ka_pass "code flow: signin exits 0" ||
	ka_fail "code flow: exit $rc: $(cat "$T/signin.err")"
grep -q "code_challenge_method=S256" "$T/signin.err" &&
	ka_pass "code flow: the URL asks for PKCE S256" || ka_fail "code flow: no PKCE"
[ "$(probe me "$(rec native bob)")" = 200 ] &&
	ka_pass "code flow: the stored access token works at /me" ||
	ka_fail "code flow: /me refused the token"
[ "$(field_of "$(rec native bob)" refresh_token)" != none ] &&
	ka_pass "code flow: a refresh token was stored (offline_access)" ||
	ka_fail "code flow: no refresh token"

# ---- the browser gets an allow-listed environment ------------------------------
# A stand-in xdg-open (first in PATH) records its environment and plays the
# user's part itself, as a real browser would.
mkdir -p "$T/bin"
cat >"$T/bin/xdg-open" <<EOF
#!/bin/sh
env >"$T/browser.env"
exec "$(command -v node)" "$OIDC_NODE_DIR/driver.mjs" code "\$1" >"$T/browser.out" 2>&1
EOF
chmod 700 "$T/bin/xdg-open"
canary="kiwiBROWSERCANARY$$"
PATH="$T/bin:$PATH" DISPLAY=:99 KIWI_LEAK_CANARY="$canary" \
	"$KA_CLI" --config "$CONF" signin native --account carol --flow code \
	</dev/null >"$T/b.out" 2>"$T/b.err"
rc=$?
[ $rc -eq 0 ] && ka_pass "browser: sign-in completed through xdg-open" ||
	ka_fail "browser: exit $rc: $(cat "$T/b.err" "$T/browser.out" 2>/dev/null)"
grep -q "^DISPLAY=:99$" "$T/browser.env" 2>/dev/null &&
	ka_pass "browser: DISPLAY reaches the browser" ||
	ka_fail "browser: DISPLAY missing from the browser's environment"
if grep -q "$canary" "$T/browser.env" 2>/dev/null; then
	ka_fail "browser: a variable outside the allow-list reached the browser"
else
	ka_pass "browser: other variables (a token in the environment) stay out"
fi

# ---- client credentials -------------------------------------------------------------
ka_run signin machine
expect_rc 0 "client credentials: signin exits 0"
[ "$(probe introspect "$(rec machine)" access_token)" = active ] &&
	ka_pass "client credentials: the token is active" ||
	ka_fail "client credentials: the token is not active"
cc=$(grants client_credentials)
ka_run refresh machine
expect_rc 0 "client credentials: refresh re-acquires"
[ "$(grants client_credentials)" = $((cc + 1)) ] &&
	ka_pass "client credentials: one new grant at the server" ||
	ka_fail "client credentials: grants $(grants client_credentials)"

# ---- a pasted token --------------------------------------------------------------------
printf 'kiwiCANARY-pasted-7f3a\n' >"$T/paste"
ka_run_in "$T/paste" signin native --account paste --flow token
expect_rc 0 "token paste: signin exits 0"
ka_run status native --account paste
expect_out "signed-in" "token paste: signed in"

# ---- logout revokes ---------------------------------------------------------------------
cp "$(rec native)" "$T/last.json"
ka_run logout native
expect_rc 0 "logout: exits 0"
expect_out "revoked the token of native (default) at the server" "logout: revoked"
[ ! -e "$(rec native)" ] && ka_pass "logout: the record is erased" ||
	ka_fail "logout: the record is still there"
[ "$(probe introspect "$T/last.json" refresh_token)" = inactive ] &&
	ka_pass "logout: the server rejects the revoked refresh token" ||
	ka_fail "logout: the refresh token is still active"
[ "$(probe me "$T/last.json")" = 401 ] &&
	ka_pass "logout: the access token of the revoked grant is dead" ||
	ka_fail "logout: the access token still works"

# ---- replaying a rotated refresh token (last: it kills the grant) ------------------------
cp "$(rec native bob)" "$T/bob-old.json"
ka_run refresh native --account bob
expect_rc 0 "replay: bob's refresh"
[ "$(probe replay "$T/bob-old.json")" = invalid_grant ] &&
	ka_pass "replay: the server refuses the rotated refresh token" ||
	ka_fail "replay: the old refresh token was accepted"
sum=$(sha256sum "$(rec native bob)")
ka_run refresh native --account bob
expect_rc 4 "signed out: invalid_grant exits 4"
expect_err "run 'kiwi-auth signin native --account bob'" "signed out: names the command"
[ "$(sha256sum "$(rec native bob)")" = "$sum" ] &&
	ka_pass "signed out: the record is left as it was" ||
	ka_fail "signed out: the record changed"

for f in "$T/out" "$T/err" "$T/signin.out" "$T/signin.err" "$T/drv"; do
	grep -q kiwiCANARY "$f" 2>/dev/null && ka_fail "a token reached $f"
done
# The real tokens the server issued (every rotation included) are canaries
# too: none may appear in anything the CLI printed in this whole test.
ka_no_token_leaked "$TOK" "$T/drv" "$T/b.out" "$T/b.err"
ka_finish
