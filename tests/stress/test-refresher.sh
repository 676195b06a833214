#!/bin/sh
# SPDX-License-Identifier: MIT
# test-refresher.sh: refreshes through kiwi-auth-refresher against the real
# test server: it refreshes and stores; its argv and environment hold no
# token and only allowed variables; a refresher killed at random moments
# leaves a valid record, and the next refresh recovers or says what to do;
# a refresher that is not safe to run is refused; a malformed request is
# refused.
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

REFRESHER=$KA_TOP_BUILDDIR/kiwi-auth-refresher
KIWI_AUTH_REFRESHER=$REFRESHER
export KIWI_AUTH_REFRESHER
[ -x "$REFRESHER" ] || ka_fail "$REFRESHER was not built"

device_signin native >"$T/drv" 2>&1 || ka_fail "device sign-in: $(cat "$T/signin.err")"
REC=$(rec native)

# The refresher below process $1, if it has one yet (other processes there
# come and go: the libtool wrapper of the build tree runs a few).
refresher_of() {
	for _k in $(cat /proc/$1/task/*/children 2>/dev/null); do
		if [ "$(cat /proc/$_k/comm 2>/dev/null)" = kiwi-auth-refre ]; then
			echo "$_k"
			return 0
		fi
		refresher_of "$_k" && return 0
	done
	return 1
}

valid_record() {
	node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!r.refresh_token || !r.access_token) process.exit(1);' "$1"
}

# ---- a refresh through the refresher -------------------------------------------
n0=$(grants refresh_token)
rt0=$(field_of "$REC" refresh_token)
ka_run refresh native
expect_rc 0 "refresh through the refresher"
expect_out "refreshed the token of native" "it says so"
[ "$(grants refresh_token)" = $((n0 + 1)) ] &&
	ka_pass "the server performed one refresh" ||
	ka_fail "the server performed $(($(grants refresh_token) - n0)) refreshes"
[ "$(field_of "$REC" refresh_token)" != "$rt0" ] &&
	ka_pass "the rotated refresh token is in the store" ||
	ka_fail "the store still holds the old refresh token"
[ "$(ls -A "$TOK")" = "native@default.json" ] &&
	ka_pass "nothing beside the record" || ka_fail "left: $(ls -A "$TOK")"

# ---- what the refresher gets: no token in argv or environment -------------------
# Hold the refresh lock, so the refresher waits for it where we can look.
KA_CANARY_ENV=$(sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$REC")
export KA_CANARY_ENV
lock=$(ls "$XDG_RUNTIME_DIR"/kiwi-auth/native@*.lock)
flock "$lock" sleep 3 &
holder=$!
sleep 0.3
"$KA_CLI" --config "$CONF" refresh native >"$T/held.out" 2>"$T/held.err" &
cli_pid=$!
kid=
n=0
while [ -z "$kid" ] && [ $n -lt 100 ]; do
	kid=$(refresher_of $cli_pid)
	sleep 0.02
	n=$((n + 1))
done
if [ -n "$kid" ]; then
	tr '\0' '\n' </proc/$kid/environ >"$T/refresher.env"
	tr '\0' ' ' </proc/$kid/cmdline >"$T/refresher.argv"
	sid=$(sed 's/^.*) //' /proc/$kid/stat | cut -d' ' -f4)
	[ "$sid" = "$kid" ] && ka_pass "the refresher leads a session of its own" ||
		ka_fail "the refresher's session is $sid"
	[ "$(cat "$T/refresher.argv")" = "kiwi-auth-refresher " ] &&
		ka_pass "its argv is its name alone" ||
		ka_fail "argv: $(cat "$T/refresher.argv")"
	bad=$(cut -d= -f1 "$T/refresher.env" | grep -v -E '^(HOME|USER|LOGNAME|LANG|LC_ALL|LC_MESSAGES|TMPDIR|DBUS_SESSION_BUS_ADDRESS|KIWI_AUTH_CONFIG|KIWI_AUTH_MODULE_DIR|CURL_CA_BUNDLE|SSL_CERT_FILE|SSL_CERT_DIR|https_proxy|HTTPS_PROXY|no_proxy|NO_PROXY|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS|XDG_[A-Z_]*)$')
	[ -z "$bad" ] && ka_pass "its environment holds only allowed variables" ||
		ka_fail "its environment holds $bad"
	if grep -F -q -e "$KA_CANARY_ENV" "$T/refresher.env" "$T/refresher.argv"; then
		ka_fail "the refresh token reached the refresher's argv or environment"
	else
		ka_pass "no token in its argv or environment"
	fi
else
	ka_fail "no refresher was started"
fi
wait $holder
wait $cli_pid
rc=$?
[ $rc -eq 0 ] && ka_pass "it refreshed once the lock was free" ||
	ka_fail "after the lock: exit $rc: $(cat "$T/held.err")"
unset KA_CANARY_ENV

# ---- kill -9 of the refresher itself ------------------------------------------------
# Wherever it dies, the record stays valid; the next refresh works, or, when
# the server had rotated the token and the store did not happen, says to
# sign in again.
ROUNDS=${REFRESHER_KILLS:-20}
i=0 killed=0 recovered=0 lost=0
while [ $i -lt "$ROUNDS" ]; do
	# The refresher waits for the lock we hold; 0 to 40 ms after we let
	# go, in the middle of its read, grant or store, it is killed.
	flock "$lock" sleep 0.3 &
	holder=$!
	sleep 0.05
	"$KA_CLI" --config "$CONF" refresh native >"$T/k.out" 2>"$T/k.err" &
	cli_pid=$!
	delay=$(($(od -An -N2 -tu2 /dev/urandom | tr -d " ") % 41))
	kid=
	n=0
	while [ -z "$kid" ] && [ $n -lt 100 ] && kill -0 $cli_pid 2>/dev/null; do
		kid=$(refresher_of $cli_pid) || sleep 0.01
		n=$((n + 1))
	done
	wait $holder
	[ "$delay" -gt 0 ] && sleep "$(printf '0.%03d' "$delay")"
	[ -n "$kid" ] && kill -9 "$kid" 2>/dev/null && killed=$((killed + 1))
	wait $cli_pid
	rc=$?
	if [ $rc -ne 0 ] && ! grep -q "was killed by signal 9 before it answered" "$T/k.err"; then
		ka_fail "round $i: exit $rc without saying what happened: $(cat "$T/k.err")"
	fi
	if [ $rc -ne 0 ] && ! grep -q "run 'kiwi-auth refresh native' to try again" "$T/k.err"; then
		ka_fail "round $i: the error does not say what to do: $(cat "$T/k.err")"
	fi
	valid_record "$REC" || ka_fail "round $i: the record is no longer valid"
	if "$KA_CLI" --config "$CONF" refresh native >"$T/k2.out" 2>"$T/k2.err"; then
		recovered=$((recovered + 1))
	else
		lost=$((lost + 1))
		grep -q "kiwi-auth signin native" "$T/k2.err" ||
			ka_fail "round $i: a lost grant without the command that fixes it: $(cat "$T/k2.err")"
		device_signin native >"$T/drv" 2>&1 || ka_fail "sign-in again"
	fi
	i=$((i + 1))
done
echo "refresher killed $killed times in $ROUNDS rounds: $recovered recovered at once, $lost needed a sign-in"
[ $((recovered + lost)) -eq "$ROUNDS" ] && ka_pass "every round ended with a valid record" ||
	ka_fail "rounds: $recovered + $lost of $ROUNDS"
[ "$killed" -gt 0 ] && ka_pass "the refresher was killed while it ran ($killed times)" ||
	ka_fail "the refresher was never killed while it ran"
left=$(find "$TOK" -type f ! -name 'native@default.json' | wc -l)
[ "$left" -eq 0 ] && ka_pass "no temporary record left after the kills" ||
	ka_fail "left: $(ls -A "$TOK")"

# ---- a refresher that is not safe to run is not run ---------------------------
cp "$REFRESHER" "$T/loose-refresher"
chmod 775 "$T/loose-refresher"
KIWI_AUTH_REFRESHER=$T/loose-refresher
ka_run refresh native
expect_rc 0 "a group-writable refresher: the refresh runs in-process"
expect_err "writable by group or others" "and says why the refresher was refused"
KIWI_AUTH_REFRESHER=relative/path
ka_run refresh native
expect_rc 0 "a relative refresher path: refused, in-process"
expect_err "not an absolute path" "and says so"
KIWI_AUTH_REFRESHER=$REFRESHER

# ---- the refresher refuses what is not a request ----------------------------------
printf 'KIWI-AUTH-REFRESH 1\nservice native\n' | "$REFRESHER" >"$T/m.out" 2>"$T/m.err"
rc=$?
[ $rc -eq 2 ] && grep -q "^result 2 0 0$" "$T/m.out" && grep -q "malformed request" "$T/m.out" &&
	ka_pass "a malformed request is answered as such" ||
	ka_fail "malformed request: exit $rc: $(cat "$T/m.out")"
"$REFRESHER" extra </dev/null >"$T/m.out" 2>"$T/m.err"
[ $? -eq 2 ] && ka_pass "arguments are refused" || ka_fail "arguments accepted"

ka_finish
