#!/bin/sh
# SPDX-License-Identifier: MIT
# stress-kill.sh: kill -9 kiwi-auth processes at random moments of a
# refresh against the real test server (oidc-provider, refresh tokens
# rotated, a reused one revokes the whole grant), and count the sign-ins
# lost. Each round starts one of
#   refresh    kiwi-auth refresh native            (a forced refresh)
#   request    kiwi-auth request on an expired token
#   executor   stress_executor (ka_perform) on an expired token
# kills it 0 to STRESS_MAX_MS ms after it was started, waits until any
# refresh it began has ended, then checks that the next refresh works
# without a new sign-in. A round where it does not is a lost sign-in; the
# test signs in again and goes on.
#
#   STRESS_N         rounds (default 1000)
#   STRESS_MAX_MS    latest kill (default 40)
#   STRESS_MODE      refresher (default) or in-process (KIWI_AUTH_REFRESHER=none:
#                    the behaviour without the refresher, for comparison)
#   OIDC_TOKEN_DELAY_MS  the server's answer leaves this long after its
#                    grant (default 15), as over a real network: the time in
#                    which a killed refresher-less caller loses the sign-in
#
# Prints N, the kills that landed while the process ran, those that landed
# mid-refresh (the server performed the refresh grant of that round: the old
# refresh token was spent when the process died), and the losses; fails
# if any sign-in was lost or a temporary record was left behind.
OIDC_TOKEN_DELAY_MS=${OIDC_TOKEN_DELAY_MS:-15}
export OIDC_TOKEN_DELAY_MS
. "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"

N=${STRESS_N:-1000}
MAX_MS=${STRESS_MAX_MS:-40}
MODE=${STRESS_MODE:-refresher}
EXECUTOR=$KA_TOP_BUILDDIR/tests/stress/stress_executor
if [ "$MODE" = in-process ]; then
	KIWI_AUTH_REFRESHER=none
else
	KIWI_AUTH_REFRESHER=${KIWI_AUTH_REFRESHER:-$KA_TOP_BUILDDIR/kiwi-auth-refresher}
fi
export KIWI_AUTH_REFRESHER
[ -x "$EXECUTOR" ] || ka_fail "$EXECUTOR was not built"

device_signin native >"$T/drv" 2>&1 || ka_fail "device sign-in: $(cat "$T/signin.err")"
REC=$(rec native)
signins=1

# A number in [0, $1] from /dev/urandom.
rnd() {
	echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($1 + 1)))
}

# The stored record, made expired (its refresh token kept), as a record
# read back after its access token expired would be.
expire() {
	python3 - "$REC" <<'EOF'
import json, os, sys
p = sys.argv[1]
with open(p) as f:
    r = json.load(f)
r["expires_at"] = 1
t = p + ".stress"
fd = os.open(t, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(r, f)
os.rename(t, p)
EOF
}

# A checksum of the stored refresh token (never the token).
rt_sum() {
	sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p' "$REC" | cksum
}

# Every process below $1.
descendants() {
	for _c in $(cat /proc/$1/task/*/children 2>/dev/null); do
		echo "$_c"
		descendants "$_c"
	done
}

# Whether process $1 still runs (a zombie waiting for its reaper does not).
running() {
	[ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null |
		grep -q '^Z'
}

# Wait until the processes in $1 have ended and no refresh holds the lock.
settle() {
	for c in $1; do
		_n=0
		while running "$c" && [ $_n -lt 3000 ]; do
			sleep 0.01
			_n=$((_n + 1))
		done
	done
	for l in "$XDG_RUNTIME_DIR"/kiwi-auth/native@*.lock; do
		[ -e "$l" ] && flock "$l" true
	done
}

# Each target runs in a process group of its own, killed as a whole: the
# build tree's kiwi-auth is a libtool wrapper script whose children would
# otherwise outlive it (a refresher is in a session of its own and is not
# in the group).
start() {
	case $1 in
	refresh) exec setsid "$KA_CLI" --config "$CONF" refresh native ;;
	request) exec setsid "$KA_CLI" --config "$CONF" request --scope api:read "$OIDC_ISSUER/me" ;;
	executor) exec setsid "$EXECUTOR" "$CONF" api:read "$OIDC_ISSUER/me" ;;
	esac
}

i=0 kills=0 mid=0 losses=0 t0=$(date +%s)
while [ $i -lt "$N" ]; do
	case $((i % 3)) in
	0) target=refresh ;;
	1) target=request ;;
	2) target=executor ;;
	esac
	[ "$target" = refresh ] || expire
	g0=$(grants refresh_token)
	rt0=$(rt_sum)
	delay=$(rnd "$MAX_MS")
	(start $target) >"$T/round.out" 2>"$T/round.err" &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kids=$(descendants $pid)
	inflight=0
	for c in $kids; do
		[ "$(cat /proc/$c/comm 2>/dev/null)" = kiwi-auth-refre ] &&
			running "$c" && inflight=1
	done
	kill -9 -- -$pid 2>/dev/null || kill -9 $pid 2>/dev/null
	wait $pid
	rc=$?
	settle "$kids"
	g1=$(grants refresh_token)
	rt1=$(rt_sum)
	if [ $rc -eq 137 ]; then
		kills=$((kills + 1))
		# Mid-refresh: the server had performed the grant (the old refresh
		# token was spent) and the store had not happened when the process
		# died: without a refresher the store never happens; with one, it
		# was still at work.
		if [ "$g1" -gt "$g0" ]; then
			if [ "$MODE" = in-process ]; then
				[ "$rt1" = "$rt0" ] && mid=$((mid + 1))
			else
				[ $inflight -eq 1 ] && mid=$((mid + 1))
			fi
		fi
	fi
	# The next refresh must work with the refresh token in the store.
	if "$KA_CLI" --config "$CONF" refresh native >"$T/check.out" 2>"$T/check.err"; then
		# Its grant is in the server's log before the next round counts.
		_n=0
		while [ "$(grants refresh_token)" -le "$g1" ] && [ $_n -lt 200 ]; do
			sleep 0.005
			_n=$((_n + 1))
		done
	else
		losses=$((losses + 1))
		echo "round $i ($target, killed at $delay ms): $(cat "$T/check.err")"
		device_signin native >"$T/drv" 2>&1 ||
			{ ka_fail "sign-in again: $(cat "$T/signin.err")"; break; }
		signins=$((signins + 1))
	fi
	i=$((i + 1))
done
secs=$(($(date +%s) - t0))

left=$(find "$TOK" -type f ! -name 'native@default.json' | wc -l)
revoked=$(grep -c '^grant-revoked' "$OIDC_EVENT_LOG")
echo "mode=$MODE rounds=$N kills=$kills mid-refresh=$mid losses=$losses" \
	"grants-revoked=$revoked leftovers=$left sign-ins=$signins seconds=$secs"
[ "$losses" -eq 0 ] && ka_pass "no sign-in lost in $N rounds ($kills kills, $mid mid-refresh)" ||
	ka_fail "$losses sign-ins lost in $N rounds ($kills kills, $mid mid-refresh)"
[ "$left" -eq 0 ] && ka_pass "no temporary record left behind" ||
	ka_fail "$left files left beside the record: $(ls -a "$TOK")"
ka_finish
