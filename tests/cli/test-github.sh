#!/bin/sh
# SPDX-License-Identifier: MIT
# test-github.sh: the `github` refresh module against the local GitHub
# stand-in (tests/servers/github_standin.py): refresh with rotation and
# reuse rejection, server errors, expired and non-expiring tokens, pasted
# tokens. (The device flow itself: test-github-device.sh.)
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup
. "$KA_TOP_SRCDIR/tests/servers/lib-standin.sh"
standin_start github
github_service 'min_valid = 100;' | ka_config "$CONF"
rec() { echo "$TOK/github@${1:-default}.json"; }
events() { grep -c "\"path\": \"$1\", \"result\": \"$2\"" "$SLOG"; }

ka_run --config "$CONF" check
expect_rc 0 "the configuration checks"
standin_ctl '{"approve_after": 0}'
cli signin github --no-browser
expect_rc 0 "sign-in with an expiring user token"

# ---- rotation, and the old refresh token is dead --------------------------
cp "$(rec)" "$T/old.json"
cli refresh github
expect_rc 0 "forced refresh"
[ "$(field "$(rec)" refresh_token)" != "$(field "$T/old.json" refresh_token)" ] &&
	ka_pass "the refresh token rotated" || ka_fail "the refresh token did not rotate"
cp "$(rec)" "$T/new.json"
cp "$T/old.json" "$(rec)"
before=$(sha256sum <"$(rec)")
cli refresh github
expect_rc 4 "an already used refresh token: signed out"
expect_err "signed out of github" "says signed out"
expect_err "run 'kiwi-auth signin github'" "names the command"
[ "$(sha256sum <"$(rec)")" = "$before" ] && ka_pass "record untouched" ||
	ka_fail "record changed"
cp "$T/new.json" "$(rec)"

# ---- server errors: retried, reported, record untouched ------------------
server_errors github "$(rec)" once

# ---- non-expiring OAuth App tokens are never refreshed -------------------
standin_ctl '{"expiring": false}'
cli signin github --no-browser --account app
expect_rc 0 "sign-in with a non-expiring token"
python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert "expires_at" not in r and "refresh_token" not in r' "$(rec app)" &&
	ka_pass "no expiry, no refresh token" || ka_fail "unexpected expiry fields"
r0=$(events refresh ok)
cli refresh github --account app --if-needed
expect_rc 0 "refresh --if-needed on a non-expiring token"
expect_out "still fresh" "it is still fresh"
cli refresh github --account app
expect_rc 1 "a forced refresh of a non-expiring token is refused"
expect_err "does not expire" "says why"
[ "$(events refresh ok)" = "$r0" ] && ka_pass "the server was not asked" ||
	ka_fail "a refresh request was sent"

# ---- an expiring token without a refresh token ----------------------------
printf 'ghs_expiring_test_token\n' >"$T/exp.in"
clin "$T/exp.in" token set github --account exp --expires-in 50
cli refresh github --account exp --if-needed
expect_rc 4 "expiring without a refresh token: sign in again"
expect_err "run 'kiwi-auth signin github --account exp'" "names the command"

# ---- a pasted token (--flow token) -----------------------------------------
printf 'github_pat_standin0123456789\n' >"$T/pat.in"
clin "$T/pat.in" signin github --flow token --account pat
expect_rc 0 "pasted token stored"
expect_no "github_pat_standin" "the pasted token is not echoed"
python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["access_token"] == "github_pat_standin0123456789" and "expires_at" not in r' "$(rec pat)" &&
	ka_pass "pasted token recorded without expiry" || ka_fail "pasted record wrong"

no_token_leaked
ka_finish
