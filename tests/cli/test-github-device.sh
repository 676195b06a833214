#!/bin/sh
# SPDX-License-Identifier: MIT
# test-github-device.sh: the `github` module's device flow against the local
# GitHub stand-in (tests/servers/github_standin.py): a form-encoded answer
# and slow_down honoured, a denied sign-in, an unknown client.
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup
. "$KA_TOP_SRCDIR/tests/servers/lib-standin.sh"
standin_start github
ka_config "$CONF" <<EOF
$(github_service)
badclient: {
  hosts = [ "$BASE" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "github"; base_url = "$BASE"; client_id = "Iv1.nope"; };
};
EOF
rec() { echo "$TOK/github@${1:-default}.json"; }

# Form-encoded answers (whatever Accept says) and one slow_down.
standin_ctl '{"form": true, "slow_down_once": true, "approve_after": 0}'
cli signin github --no-browser
expect_rc 0 "device flow sign-in"
expect_err "enter the code WDJB-MJHT" "shows the user code"
python3 - "$SLOG" <<'EOF' && ka_pass "slow_down: the next poll came 5 s later" || ka_fail "slow_down not honoured"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"poll"' in l]
slow = [e for e in ev if e["result"] == "slow_down"]
ok = [e for e in ev if e["result"] == "ok"]
assert len(slow) == 1 and len(ok) == 1, ev
gap = ok[0]["t"] - slow[0]["t"]
assert 5.8 <= gap < 8, gap
EOF
grep -q '"accept": "application/json"' "$SLOG" &&
	ka_pass "asks for JSON (Accept: application/json)" ||
	ka_fail "no Accept: application/json"
python3 - "$(rec)" <<'EOF' && ka_pass "form answer parsed: expiry, refresh expiry, scopes" || ka_fail "record fields wrong"
import json, sys, time
r = json.load(open(sys.argv[1]))
now = time.time()
assert r["access_token"].startswith("ghu_")
assert r["refresh_token"].startswith("ghr_")
assert abs(r["expires_at"] - (now + 28800)) < 60, r["expires_at"]
assert abs(r["refresh_expires_at"] - (now + 15811200)) < 60
assert sorted(r.get("scopes", [])) == ["gist", "repo"], r.get("scopes")
EOF

# The person says no at GitHub.
standin_ctl '{"form": false, "slow_down_once": false, "deny": true}'
cli signin github --no-browser --account denied
expect_rc 1 "a denied sign-in fails"
expect_err "denied" "says denied"
[ ! -e "$(rec denied)" ] && ka_pass "nothing stored when denied" ||
	ka_fail "a record was stored"

cli signin badclient --no-browser
[ "$KA_RC" -ne 0 ] && ka_pass "an unknown client id fails" ||
	ka_fail "an unknown client id worked"
expect_err "incorrect_client_credentials" "says the client is unknown"

no_token_leaked
ka_finish
