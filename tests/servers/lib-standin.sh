# SPDX-License-Identifier: MIT
# lib-standin.sh: shared set-up of the tests that run against the local
# stand-ins for Supabase Auth and GitHub (POSIX sh; source it after
# tests/cli/lib.sh and ka_setup).
#
#   $TOK, $CONF              a token directory for `file` sources (made
#                            here) and where the test writes its configuration
#   standin_start NAME       starts tests/servers/NAME_standin.py; sets
#                            $BASE (http://127.0.0.1:PORT) and $SLOG (its log)
#   standin_ctl JSON         changes the stand-in's settings
#   github_service [LINE]    prints the `github` stanza for the GitHub
#                            stand-in, with LINE (more settings) in it
#   cli ARGS...              kiwi-auth --config $CONF ARGS (output kept in
#                            $T/transcript by tests/cli/lib.sh)
#   server_errors SVC REC [once]
#                            `refresh SVC` while the stand-in answers 500:
#                            tried 3 times (once: sent one time), reported,
#                            record file REC untouched; then one 500 is
#                            retried (once: reported)
#   clin FILE ARGS...        the same with FILE on standard input
#   field FILE NAME          sha256 of a record field (never the value)
#   no_token_leaked          fails if any token issued during the test is in
#                            the transcript or $SLOG

command -v python3 >/dev/null 2>&1 || ka_skip "python3 is not installed"

STANDIN_PID=
trap 'kill $STANDIN_PID 2>/dev/null; ka_cleanup' EXIT
TOK=$T/tokens
mkdir -p "$TOK"
CONF=$T/kiwi-auth.conf

standin_start() {
	python3 "$KA_TOP_SRCDIR/tests/servers/$1_standin.py" "$T/$1.port" \
		"$T/$1.log" 2>"$T/$1.err" &
	STANDIN_PID="$STANDIN_PID $!"
	_n=0
	while [ ! -s "$T/$1.port" ] && [ $_n -lt 100 ]; do
		sleep 0.05
		_n=$((_n + 1))
	done
	if [ ! -s "$T/$1.port" ]; then
		cat "$T/$1.err" >&2
		ka_fail "the $1 stand-in did not start"
		ka_finish
	fi
	BASE=http://127.0.0.1:$(cat "$T/$1.port")
	SLOG=$T/$1.log
	: >"$SLOG"
}

standin_ctl() {
	python3 -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/__standin/config",
    data=sys.argv[2].encode(), method="POST")).read()' "$BASE" "$1"
}

github_service() {
	cat <<EOF
github: {
  hosts = [ "$BASE" ];
  scopes = [ "repo", "gist" ];
  ${1:-}
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "github"; base_url = "$BASE"; client_id = "Iv1.standin0client";
              scopes = [ "repo", "gist" ]; timeout = 5; };
};
EOF
}

field() {
	python3 -c 'import hashlib, json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print(hashlib.sha256(str(v).encode()).hexdigest() if v is not None else "none")' "$1" "$2"
}

cli() {
	ka_run --config "$CONF" "$@"
}

clin() {
	_i=$1
	shift
	ka_run_in "$_i" --config "$CONF" "$@"
}

# Every token a stand-in issues is a canary (tests/cli/lib.sh).
ka_after_run() { ka_remember_tokens "$TOK"; }

# server_errors SERVICE RECORD [once]: 5xx answers to a refresh. A module
# whose server rotates refresh tokens (once) sends the grant one time; one
# whose server accepts a just-rotated token again (supabase) retries.
server_errors() {
	_before=$(sha256sum <"$2")
	standin_ctl '{"fail_count": 5, "fail_status": 500}'
	cli refresh "$1"
	expect_rc 1 "HTTP 500: the refresh fails"
	_n=$(grep -c injected_failure "$SLOG")
	if [ "${3:-}" = once ]; then
		expect_err "answered HTTP 500" "says the server failed"
		grep -q tried "$T/err" && ka_fail "claims retries it did not make" ||
			ka_pass "claims no retries"
		[ "$_n" -eq 1 ] && ka_pass "a sent refresh grant is not replayed" ||
			ka_fail "attempts: $_n"
	else
		expect_err "answered HTTP 500 (tried 3 times)" \
			"says the server failed, and how often it was asked"
		[ "$_n" -eq 3 ] && ka_pass "tried 3 times" || ka_fail "attempts: $_n"
	fi
	[ "$(sha256sum <"$2")" = "$_before" ] &&
		ka_pass "record untouched after 500s" ||
		ka_fail "record changed after 500s"
	standin_ctl '{"fail_count": 1}'
	cli refresh "$1"
	if [ "${3:-}" = once ]; then
		expect_rc 1 "one 500: reported, not retried"
		cli refresh "$1"
		expect_rc 0 "the next refresh works"
	else
		expect_rc 0 "one 500, then success: retried"
	fi
}

no_token_leaked() {
	ka_no_token_leaked "$TOK" "$SLOG"
}
