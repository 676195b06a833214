#!/bin/sh
# test-github.sh: the `github` refresh module against the local GitHub
# stand-in (tests/servers/github_standin.py): refresh with rotation and
# reuse rejection, server errors, expired and non-expiring tokens, pasted
# tokens. (The device flow itself: test-github-device.sh.)
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup
. "$KA_TOP_SRCDIR/tests/servers/lib-standin.sh"
standin_start github
TOK=$T/tokens
mkdir -p "$TOK"
CONF=$T/kiwi-auth.conf
ka_config "$CONF" <<EOF
github: {
  hosts = [ "$BASE" ];
  scopes = [ "repo", "gist" ];
  min_valid = 100;
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "github"; base_url = "$BASE"; client_id = "Iv1.standin0client";
              scopes = [ "repo", "gist" ]; timeout = 5; };
};
EOF
cli() { ka_run --config "$CONF" "$@"; keep; }
clin() { _i=$1; shift; ka_run_in "$_i" --config "$CONF" "$@"; keep; }
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
before=$(sha256sum <"$(rec)")
standin_ctl '{"fail_count": 5, "fail_status": 500}'
cli refresh github
expect_rc 1 "HTTP 500 every time: the refresh fails"
expect_err "answered HTTP 500 every time it was tried" "says the server failed"
[ "$(grep -c injected_failure "$SLOG")" -eq 3 ] && ka_pass "tried 3 times" ||
	ka_fail "attempts: $(grep -c injected_failure "$SLOG")"
[ "$(sha256sum <"$(rec)")" = "$before" ] && ka_pass "record untouched after 500s" ||
	ka_fail "record changed after 500s"
standin_ctl '{"fail_count": 1}'
cli refresh github
expect_rc 0 "one 500, then success: retried"

# ---- non-expiring OAuth App tokens are never refreshed -------------------
standin_ctl '{"expiring": false}'
cli signin github --no-browser --account app
expect_rc 0 "sign-in with a non-expiring token"
python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert not r.get("expires_at") and "refresh_token" not in r' "$(rec app)" &&
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
assert r["access_token"] == "github_pat_standin0123456789" and not r.get("expires_at")' "$(rec pat)" &&
	ka_pass "pasted token recorded without expiry" || ka_fail "pasted record wrong"

no_token_leaked "$TOK"/*.json
ka_finish
