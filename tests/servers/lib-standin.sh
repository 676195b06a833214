# lib-standin.sh: shared set-up of the tests that run against the local
# stand-ins for Supabase Auth and GitHub (POSIX sh; source it after
# tests/cli/lib.sh and ka_setup).
#
#   standin_start NAME       starts tests/servers/NAME_standin.py; sets
#                            $BASE (http://127.0.0.1:PORT) and $SLOG (its log)
#   standin_ctl JSON         changes the stand-in's settings
#   field FILE NAME          sha256 of a record field (never the value)
#   keep                     appends the last run's output to $T/all
#   no_token_leaked          fails if a stored token is in $T/all or $SLOG

command -v python3 >/dev/null 2>&1 || ka_skip "python3 is not installed"

STANDIN_PID=
trap 'kill $STANDIN_PID 2>/dev/null; ka_cleanup' EXIT
: >"$T/all"

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

field() {
	python3 -c 'import hashlib, json, sys
v = json.load(open(sys.argv[1])).get(sys.argv[2])
print(hashlib.sha256(str(v).encode()).hexdigest() if v is not None else "none")' "$1" "$2"
}

keep() {
	cat "$KA_OUT" "$KA_ERR" >>"$T/all"
}

no_token_leaked() {
	_leak=0
	for _f in "$@"; do
		for _k in access_token refresh_token; do
			_v=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$_f" "$_k")
			if [ -n "$_v" ] && grep -qF -e "$_v" "$T/all" "$SLOG"; then
				_leak=1
			fi
		done
	done
	[ $_leak -eq 0 ] && ka_pass "no token in any output or server log" ||
		ka_fail "a token leaked into output or the server log"
}
