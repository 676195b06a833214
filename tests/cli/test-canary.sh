#!/bin/sh
# SPDX-License-Identifier: MIT
# test-canary.sh: a canary token stored through the CLI never shows up in any output, argv, environment or loose file.
#
# The canary only ever travels through shell builtins (printf) into the
# CLI's stdin, never through the argv of any process.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
[ -n "${KIWI_AUTH_MODULE_DIR:-}" ] && [ -f "$KIWI_AUTH_MODULE_DIR/file.so" ] ||
	ka_skip "the file module was not built (KIWI_AUTH_MODULE_DIR)"
unset KA_CANARY_ENV

random_hex() {
	od -An -N12 -tx1 /dev/urandom | tr -d ' \n'
}
RAND=$(random_hex)
RRAND=$(random_hex)
[ ${#RAND} -eq 24 ] && [ ${#RRAND} -eq 24 ] ||
	{ echo "cannot read /dev/urandom" >&2; exit 1; }
CANARY=kiwiCANARY-$RAND
RCANARY=kiwiRCANARY-$RRAND

# Patterns: both canaries and every 8-byte piece of their random parts
# (any longer piece contains one of these). The file is private.
PATS=$T/patterns
: > "$PATS"
for r in "$RAND" "$RRAND"; do
	i=1
	while [ $i -le $((${#r} - 7)) ]; do
		printf '%s\n' "$r" | cut -c "$i-$((i + 7))" >> "$PATS"
		i=$((i + 1))
	done
done
printf '%s\n%s\n' "$CANARY" "$RCANARY" >> "$PATS"

TOK=$HOME/.local/state/kiwi-auth/tokens
CONF=$T/conf/kiwi-auth.conf
ka_config "$CONF" <<EOF
svc: {
  description = "canary service";
  hosts = [ "https://api.example.test" ];
  scopes = [ "canary:read" ];
  source = ( { module = "file"; } );
};
envsvc: {
  hosts = [ "https://env.example.test" ];
  scopes = [ "canary:env" ];
  source = (
    { module = "env"; control = "sufficient"; variable = "KA_CANARY_ENV"; },
    { module = "file"; }
  );
};
EOF
BAD=$T/conf/bad.conf
ka_config "$BAD" <<EOF
svc: {
  hosts = [ "https://api.example.test" ];
  source = ( { module = "file"; nonsense = true; } );
};
EOF
KIWI_AUTH_CONFIG=$CONF
export KIWI_AUTH_CONFIG

has_canary() {
	grep -F -q -f "$PATS" "$@"
}

# run NAME [stdin-mode] ARGS...: one CLI run, its output checked.
# The arguments are checked first: the test never passes the canary.
N=0
check_args() {
	for a in "$@"; do
		printf '%s\n' "$a" > "$T/arg"
		if has_canary "$T/arg"; then
			ka_fail "the test passes no canary in argv ($1)"
			return 1
		fi
	done
	return 0
}

check_output() {
	N=$((N + 1))
	if has_canary "$KA_OUT" "$KA_ERR"; then
		ka_fail "no canary in the output of: $1"
	else
		ka_pass "no canary in the output of: $1"
	fi
	cp "$KA_OUT" "$T/all.$N.out"
	cp "$KA_ERR" "$T/all.$N.err"
}

run() {
	check_args "$@" || return
	ka_run "$@"
	check_output "$* [exit $KA_RC]"
}

# run_with TEXT ARGS...: TEXT (made by printf, a builtin) is stdin.
run_with() {
	_text=$1
	shift
	check_args "$@" || return
	printf '%s' "$_text" | "$KA_CLI" "$@" > "$KA_OUT" 2> "$KA_ERR"
	KA_RC=$?
	check_output "$* <stdin [exit $KA_RC]"
}

# ---- store the canary, watching the process while it reads -------------
if [ -d /proc/self ] && command -v mkfifo > /dev/null 2>&1; then
	mkfifo "$T/fifo"
	check_args token set svc --scope canary:read --expires-in 3600
	"$KA_CLI" token set svc --scope canary:read --expires-in 3600 \
		< "$T/fifo" > "$KA_OUT" 2> "$KA_ERR" &
	pid=$!
	exec 3> "$T/fifo"
	# Wait until the libtool wrapper (if any) has exec'd the program.
	i=0
	while [ $i -lt 100 ]; do
		case $(tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null |
		       head -n 1) in
		*kiwi-auth) break ;;
		esac
		sleep 0.05
		i=$((i + 1))
	done
	tr '\000' '\n' < "/proc/$pid/cmdline" > "$T/cmdline" 2>/dev/null
	if [ -s "$T/cmdline" ] && ! has_canary "$T/cmdline"; then
		ka_pass "no canary in the argv of token set"
	else
		ka_fail "no canary in the argv of token set"
	fi
	if tr '\000' '\n' < "/proc/$pid/environ" > "$T/environ" 2>/dev/null; then
		if has_canary "$T/environ"; then
			ka_fail "no canary in the environment of token set"
		else
			ka_pass "no canary in the environment of token set"
		fi
	else
		ka_pass "the environment of token set is not readable (non-dumpable)"
	fi
	if grep -E '^Max core file size +0 +0 ' "/proc/$pid/limits" > /dev/null 2>&1; then
		ka_pass "token set runs with core dumps off"
	else
		ka_fail "token set runs with core dumps off"
	fi
	trap '' PIPE
	printf '%s\n%s\n' "$CANARY" "$RCANARY" >&3 2>/dev/null
	exec 3>&-
	trap - PIPE
	wait $pid
	KA_RC=$?
	check_output "token set svc (fifo) [exit $KA_RC]"
else
	run_with "$CANARY
$RCANARY
" token set svc --scope canary:read --expires-in 3600
fi
expect_rc 0 "the canary was stored"
[ -f "$TOK/svc@default.json" ] && ka_pass "the canary is in the token file" ||
	ka_fail "the canary is in the token file"
run_with "$CANARY
$RCANARY
" -v token set svc --account second --scope canary:read
expect_rc 0 "a second canary record was stored (verbose)"

# ---- every command, succeeding ----------------------------------------
run --help
run --version
run services
run --json services
run -v services
run check
run --json check
run -v check
run status
run status svc
run status svc --account second
run --json status
run --json status svc
run -v status
run -v --json status svc
run status svc --help
run token --help
run logout --help
KA_CANARY_ENV=$CANARY run status envsvc
KA_CANARY_ENV=$CANARY run -v --json status
KA_CANARY_ENV=$CANARY run -v logout envsvc
KA_CANARY_ENV=$CANARY run --json services

# ---- every command, failing --------------------------------------------
run status nosuch
run --json status nosuch
run logout nosuch
run_with "$CANARY
" token set nosuch
run_with "$CANARY
" -v token set svc --scope not:listed
run_with "$CANARY
$RCANARY
third-line
" token set svc
run_with "$CANARY$(printf '\t')tab
" token set svc
run_with "$CANARY with space
" token set svc
run_with "$RCANARY
" token set svc --expires-in never
run_with "$CANARY
" token
run_with "$CANARY
" frobnicate
run --config "$BAD" check
run --config "$BAD" --json check
run --config "$BAD" services
run --config "$BAD" -v --json status
run --config "$BAD" status svc
run_with "$CANARY
" --config "$BAD" token set svc
run --config "$T/conf/missing.conf" status
long=$CANARY
while [ ${#long} -lt 70000 ]; do
	long=$long$long
done
run_with "$long
" token set svc
unset long

# Wrong permissions on the token file and its directory.
chmod 644 "$TOK/svc@default.json"
run status svc --account default
run --json status
run -v status svc
run logout svc --account nosuch
chmod 600 "$TOK/svc@default.json"
chmod 755 "$TOK"
run -v status svc
run --json status svc
chmod 700 "$TOK"

# A corrupt record that holds the canary: parse errors must not quote it.
cp "$TOK/svc@second.json" "$T/second.save"
printf '{"access_token": "%s", "refresh_token": "%s", ' "$CANARY" "$RCANARY" \
	> "$TOK/svc@second.json"
run status svc --account second
run -v --json status svc
printf '{"access_token": %s}' "$CANARY" > "$TOK/svc@second.json"
run -v status svc --account second
printf '{"access_token": "%s", "expires_at": "%s"}' "$CANARY" "$RCANARY" \
	> "$TOK/svc@second.json"
run -v status svc --account second
cp "$T/second.save" "$TOK/svc@second.json"
rm -f "$T/second.save"

# ---- logout -------------------------------------------------------------
run logout svc
run -v logout svc --account second
run logout svc
run status

# ---- files --------------------------------------------------------------
# Only private files may hold the canary (the token file itself is 600).
loose=0
for f in $(find "$T" -type f \( -perm -004 -o -perm -040 \) 2>/dev/null); do
	if has_canary "$f"; then
		loose=$((loose + 1))
		echo "# loose file holds the canary: $f"
	fi
done
[ $loose -eq 0 ] && ka_pass "no group- or world-readable file holds the canary" ||
	ka_fail "no group- or world-readable file holds the canary"
[ "$N" -ge 50 ] && ka_pass "every command was exercised ($N runs)" ||
	ka_fail "every command was exercised (only $N runs)"

ka_finish
