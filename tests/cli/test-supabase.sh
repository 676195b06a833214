#!/bin/sh
# SPDX-License-Identifier: MIT
# test-supabase.sh: the `supabase` refresh module against the local Supabase
# Auth stand-in (tests/servers/supabase_standin.py): password sign-in (right
# and wrong), refresh with rotation and reuse rejection (both error shapes),
# expiry, server errors, logout at the server.
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup
. "$KA_TOP_SRCDIR/tests/servers/lib-standin.sh"
standin_start supabase
printf 'standin-anon-key.eyJyb2xlIjoiYW5vbiJ9.sig\n' >"$T/anon"
chmod 600 "$T/anon"
ka_config "$CONF" <<EOF
supabase: {
  hosts = [ "$BASE" ];
  scopes = [ "registry:read" ];
  min_valid = 60;
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "supabase"; url = "$BASE"; anon_key_file = "$T/anon";
              email = "user@example.com"; timeout = 5; };
};
asks: {
  hosts = [ "$BASE" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "supabase"; url = "$BASE/auth/v1/"; anon_key_env = "KA_TEST_ANON"; };
};
badkey: {
  hosts = [ "$BASE" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "supabase"; url = "$BASE"; anon_key = "not-the-key";
              email = "user@example.com"; };
};
EOF
KA_TEST_ANON=$(cat "$T/anon")
export KA_TEST_ANON
rec() { echo "$TOK/$1@${2:-default}.json"; }
count() { grep -c "\"grant\": \"$1\", \"result\": \"$2\"" "$SLOG"; }

ka_run --config "$CONF" check
expect_rc 0 "the configuration checks"

# ---- password sign-in ---------------------------------------------------------
printf 'wrong horse\n' >"$T/bad.pw"
clin "$T/bad.pw" signin supabase --password-stdin
expect_rc 1 "a wrong password fails"
expect_err "wrong email or password" "says so"
[ ! -e "$(rec supabase)" ] && ka_pass "nothing stored" || ka_fail "a record was stored"
printf 'correct horse\n' >"$T/good.pw"
clin "$T/good.pw" signin supabase --password-stdin
expect_rc 0 "sign-in with --password-stdin"
[ -f "$(rec supabase)" ] && ka_pass "record stored" || ka_fail "no record"
grep -q '"grant": "password", "result": "ok", "content_type": "application/json"' "$SLOG" &&
	ka_pass "JSON body with the apikey header" || ka_fail "the request was not JSON"
grep -q "correct horse\|wrong horse" "$T/transcript" && ka_fail "the password was echoed" ||
	ka_pass "the password is never echoed"

# Email asked through the conversation (a line of stdin), then the password.
printf 'user@example.com\ncorrect horse\n' >"$T/both.in"
clin "$T/both.in" signin asks
expect_rc 0 "email and password asked in turn"
# --password-stdin leaves no way to ask for the email.
clin "$T/good.pw" signin asks --account other --password-stdin
expect_rc 1 "--password-stdin without a known email fails"
expect_err "cannot ask \"Email:\" with --password-stdin" "says why"
# The email as the account name.
clin "$T/good.pw" signin asks --account user@example.com --password-stdin
expect_rc 0 "the account name is the email"

# A password with quotes, a backslash, a tab and a non-ASCII letter.
python3 -c 'import sys; open(sys.argv[1], "w", encoding="utf-8").write("q\"uo\\te\tp\u00e4ss\n")' "$T/odd.pw"
clin "$T/odd.pw" signin asks --account odd@example.com --password-stdin
expect_rc 0 "a password with JSON escapes is sent intact"

# ---- refresh: rotation and reuse ------------------------------------------------
cp "$(rec supabase)" "$T/old.json"
cli refresh supabase
expect_rc 0 "forced refresh"
[ "$(field "$(rec supabase)" refresh_token)" != "$(field "$T/old.json" refresh_token)" ] &&
	ka_pass "the refresh token rotated" || ka_fail "the refresh token did not rotate"
grep -q '"grant": "refresh_token", "result": "ok", "content_type": "application/json"' "$SLOG" &&
	ka_pass "refresh sends JSON" || ka_fail "refresh was not JSON"
cp "$(rec supabase)" "$T/new.json"
cp "$T/old.json" "$(rec supabase)"
before=$(sha256sum <"$(rec supabase)")
cli refresh supabase
expect_rc 4 "a reused refresh token: signed out"
expect_err "signed out of supabase" "says signed out"
expect_err "refresh_token_already_used" "names the reason"
expect_err "run 'kiwi-auth signin supabase'" "names the command"
[ "$(sha256sum <"$(rec supabase)")" = "$before" ] && ka_pass "record untouched" ||
	ka_fail "record changed"
# Reuse ended the session: the newest token is refused too (older error shape).
standin_ctl '{"legacy_errors": true}'
cp "$T/new.json" "$(rec supabase)"
cli refresh supabase
expect_rc 4 "the session ended: signed out (invalid_grant shape)"
expect_err "invalid_grant" "names the reason"
standin_ctl '{"legacy_errors": false}'

# ---- expiry within min_valid is refreshed; a fresh token is not ---------------
standin_ctl '{"expires_in": 30}'
clin "$T/good.pw" signin supabase --password-stdin
r0=$(count refresh_token ok)
cli refresh supabase --if-needed
expect_out "refreshed the token" "expires within min_valid: refreshed"
standin_ctl '{"expires_in": 3600}'
cli refresh supabase --if-needed
expect_out "refreshed the token" "refreshed once more (got a 1 h token)"
cli refresh supabase --if-needed
expect_out "still fresh" "a fresh token is not refreshed"
[ $(($(count refresh_token ok) - r0)) -eq 2 ] && ka_pass "two refreshes at the server" ||
	ka_fail "refreshes: $(($(count refresh_token ok) - r0))"

# ---- an answer that says expires_in 0 is stored as expired, never "never" -----
standin_ctl '{"expires_in": 0}'
clin "$T/good.pw" signin supabase --password-stdin
expect_rc 0 "a sign-in answered with expires_in 0"
expect_err "stored as expired" "the log says the token is expired"
python3 -c 'import json, sys, time
r = json.load(open(sys.argv[1]))
assert "expires_at" in r and r["expires_at"] <= time.time(), r.get("expires_at")' "$(rec supabase)" &&
	ka_pass "the record holds a past expiry" || ka_fail "expires_in 0 not stored as expired"
standin_ctl '{"expires_in": 3600}'

# ---- server errors: retried, reported, record untouched -----------------------
server_errors supabase "$(rec supabase)"

# ---- a wrong anon key is a configuration problem --------------------------------
clin "$T/good.pw" signin badkey --password-stdin
expect_rc 3 "a wrong anon key: configuration error"
expect_err "check anon_key" "says so"

# ---- logout ends the session at the server, then forgets it ---------------------
no_token_leaked "$TOK"/*.json
cli logout supabase
expect_rc 0 "logout"
grep -q '"path": "logout", "result": "ok"' "$SLOG" && ka_pass "the server ended the session" ||
	ka_fail "no logout at the server"
[ ! -e "$(rec supabase)" ] && ka_pass "the record is erased" || ka_fail "the record is still there"
cli status supabase
expect_rc 4 "not signed in after logout"
no_token_leaked
ka_finish
