#!/bin/sh
# SPDX-License-Identifier: MIT
# test-accounts.sh: which account a command without --account uses:
# `kiwi-auth account use SERVICE ACCOUNT` (kept per service in the user's
# state directory), else the stanza's default_account, else the only
# account, else "default"; `account reset`; status lists every account
# and says which is the default; logout never acts on an account only
# because it is the only one.
. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
[ -f "$KIWI_AUTH_MODULE_DIR/file.so" ] || ka_skip "the file module was not built"
TOK=$T/tokens
CONF=$T/kiwi-auth.conf
ka_config "$CONF" <<EOF
svc: {
  hosts = [ "https://svc.example" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  export = [ "kubectl" ];
};
team: {
  hosts = [ "https://team.example" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  default_account = "ci";
};
EOF
KIWI_AUTH_CONFIG=$CONF
export KIWI_AUTH_CONFIG
printf 'tok-alice-0123456789\n' > "$T/alice.in"
printf 'tok-bob-0123456789\n' > "$T/bob.in"
printf 'tok-ci-0123456789\n' > "$T/ci.in"

# status JSON: the account marked default, and how it was chosen.
default_of() {
	ka_run --json status "$1"
	python3 -c 'import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["status"] if r["default"]]
print(" ".join("%s:%s" % (r["account"], r["default_from"]) for r in rows))' "$KA_OUT"
}

ka_run_in "$T/alice.in" token set svc --account alice
expect_rc 0 "alice stored"
[ "$(default_of svc)" = "alice:only" ] && ka_pass "the only account is the default" ||
	ka_fail "default: $(default_of svc)"
ka_run kube-credential svc
expect_rc 0 "kube-credential without --account uses the only account"
grep -q '"token":"tok-alice-0123456789"' "$KA_OUT" && ka_pass "alice's token" ||
	ka_fail "not alice's token"
: > "$KA_OUT"
ka_run logout svc
expect_out "svc (default) was not signed in" \
	"logout does not sign out the only account unasked"

ka_run_in "$T/bob.in" token set svc --account bob
[ "$(default_of svc)" = "default:default" ] &&
	ka_pass "two accounts, no choice: default" || ka_fail "default: $(default_of svc)"
ka_run status svc
expect_out "alice" "status lists alice"
expect_out "bob" "status lists bob"

ka_run account use svc bob
expect_rc 0 "account use svc bob"
expect_out "account bob is the default now" "says so"
f=$XDG_STATE_HOME/kiwi-auth/accounts/svc
[ "$(cat "$f")" = "bob" ] && ka_pass "the choice is in the state directory" ||
	ka_fail "state file: $(cat "$f" 2>&1)"
expect_mode "$f" 600 "the choice file is private"
[ "$(default_of svc)" = "bob:chosen" ] && ka_pass "status: bob, chosen" ||
	ka_fail "default: $(default_of svc)"
ka_run status svc
expect_out "chosen with 'kiwi-auth account use'" "the table says how"
[ "$(default_of team)" = "ci:default_account" ] &&
	ka_pass "the choice is per service: team keeps its default_account" ||
	ka_fail "team default: $(default_of team)"
ka_run kube-credential svc
grep -q '"token":"tok-bob-0123456789"' "$KA_OUT" && ka_pass "kube-credential uses bob" ||
	ka_fail "not bob's token"
: > "$KA_OUT"
ka_run kube-credential svc --account alice
grep -q '"token":"tok-alice-0123456789"' "$KA_OUT" && ka_pass "--account wins" ||
	ka_fail "--account alice: not alice's token"
: > "$KA_OUT"
ka_run logout svc
expect_out "signed out of svc (bob)" "logout uses the chosen account"

ka_run account reset svc
expect_rc 0 "account reset svc"
[ ! -e "$f" ] && ka_pass "the choice is gone" || ka_fail "the choice file stayed"
[ "$(default_of svc)" = "alice:only" ] && ka_pass "back to the only account" ||
	ka_fail "default: $(default_of svc)"

ka_run_in "$T/ci.in" token set team --account ci
ka_run logout team
expect_out "signed out of team (ci)" "logout without --account uses default_account"

ka_run account use svc
expect_rc 2 "account use without an ACCOUNT is a usage error"
ka_run account use nosuch bob
expect_rc 3 "account use of an unknown service"
printf 'bad\001\n' > "$f"
ka_run kube-credential svc
expect_rc 5 "a corrupt choice file is reported"
expect_err "kiwi-auth account reset svc" "and says how to fix it"
[ ! -s "$KA_OUT" ] && ka_pass "and nothing is exported" || ka_fail "stdout not empty"
ka_finish
