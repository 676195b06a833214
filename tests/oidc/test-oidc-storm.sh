#!/bin/sh
# SPDX-License-Identifier: MIT
# test-oidc-storm.sh: single flight (16 threads in one process, then 4
# processes at once: the server counts exactly one refresh each time) and
# crash safety (kill -9 in the middle of refreshes: the newest refresh
# token is always in the store and accepted by the server).
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

device_signin native >"$T/drv" 2>&1 || ka_fail "device sign-in: $(cat "$T/signin.err")"

# ---- 16 threads ----------------------------------------------------------------
sleep $((OIDC_ACCESS_TTL + 1))
n0=$(grants refresh_token)
out=$(helper use native 16 2>&1)
echo "$out"
[ "$out" = "16/16 threads got a fresh token" ] &&
	ka_pass "16 threads: every one got a fresh token" || ka_fail "16 threads: $out"
[ "$(grants refresh_token)" = $((n0 + 1)) ] &&
	ka_pass "16 threads: the server performed exactly one refresh" ||
	ka_fail "16 threads: $(($(grants refresh_token) - n0)) refreshes"

# ---- 4 processes of 4 threads ------------------------------------------------------
sleep $((OIDC_ACCESS_TTL + 1))
n0=$(grants refresh_token)
pids=
for i in 1 2 3 4; do
	helper use native 4 >"$T/proc$i" 2>&1 &
	pids="$pids $!"
done
ok=0
for p in $pids; do
	wait "$p" && ok=$((ok + 1))
done
cat "$T"/proc?
[ $ok -eq 4 ] && ka_pass "4 processes: every one got a fresh token" ||
	ka_fail "4 processes: $ok of 4 succeeded"
[ "$(grants refresh_token)" = $((n0 + 1)) ] &&
	ka_pass "4 processes: the server performed exactly one refresh" ||
	ka_fail "4 processes: $(($(grants refresh_token) - n0)) refreshes"

# ---- kill -9 in the middle of refreshes -------------------------------------------------
# The test-only hook pauses a refresh holding the lock before it asks the
# server ("locked") or after the new record is stored and before the lock
# is released ("stored"); the process is killed there.
# crash_at POINT: a refresh of native that the hook pauses at POINT (it
# creates $T/marker there) is killed with -9 there, or after 4 s if it
# never gets there. Its output is in $T/crash.out.
crash_at() {
	rm -f "$T/marker"
	"$HELPER" refresh "$CONF" native "$1" "$T/marker" 5000 \
		>"$T/crash.out" 2>&1 &
	_pid=$!
	_n=0
	while [ ! -e "$T/marker" ] && [ $_n -lt 200 ]; do
		sleep 0.02
		_n=$((_n + 1))
	done
	kill -9 $_pid 2>/dev/null
	wait $_pid 2>/dev/null
}

crash_ok=0
i=0
while [ $i -lt 10 ]; do
	case $((i % 2)) in 0) point=locked ;; 1) point=stored ;; esac
	before=$(field_of "$(rec native)" refresh_token)
	crash_at $point
	after=$(field_of "$(rec native)" refresh_token)
	state=$(probe introspect "$(rec native)" refresh_token)
	if [ ! -e "$T/marker" ]; then
		ka_fail "crash $i: the refresh never reached '$point': $(cat "$T/crash.out")"
	elif [ "$state" != active ]; then
		ka_fail "crash $i at '$point': the stored refresh token is $state"
	elif [ $point = stored ] && [ "$after" = "$before" ]; then
		ka_fail "crash $i at '$point': the rotated token was not stored"
	elif [ $point = locked ] && [ "$after" != "$before" ]; then
		ka_fail "crash $i at '$point': the record changed before the server answered"
	else
		crash_ok=$((crash_ok + 1))
	fi
	i=$((i + 1))
done
[ $crash_ok -eq 10 ] &&
	ka_pass "kill -9 x10: the newest refresh token is stored and accepted each time"
# The lock of a killed process is free again: a normal refresh goes through.
ka_run refresh native
expect_rc 0 "after the crashes: refresh works (no stale lock)"
[ "$(probe introspect "$(rec native)" refresh_token)" = active ] &&
	ka_pass "after the crashes: the stored refresh token is active" ||
	ka_fail "after the crashes: the stored refresh token is not active"

# Killed between the server's answer and the store: the one window no
# client can close when the server rotates without a grace period (the
# server consumed the old token; the new one died with the process). The
# store still holds the previous record intact, and kiwi-auth says to
# sign in again instead of failing in some other way.
crash_at answered
[ "$(field_of "$(rec native)" refresh_token)" != none ] &&
	ka_pass "killed after the answer: the previous record is intact" ||
	ka_fail "killed after the answer: the record is damaged"
ka_run refresh native
expect_rc 4 "killed after the answer: the next refresh says signed out"
expect_err "run 'kiwi-auth signin native'" "killed after the answer: names the command"
ka_finish
