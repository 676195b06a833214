# SPDX-License-Identifier: MIT
# lib.sh: shared helpers for the kiwi-auth script tests (POSIX sh; source it).
#
#   . "$KA_TOP_SRCDIR/tests/cli/lib.sh"
#   ka_setup                  private temp dir $T with HOME and XDG_* under it
#   ka_scratch NAME           only a private temp dir $T (C locale), for
#                             tests of the tree rather than of the CLI
#   ka_config FILE <<EOF      write a config file (mode 600)
#   ka_run ARGS...            run "$KA_CLI" ARGS: $KA_OUT, $KA_ERR, $KA_RC
#   ka_run_in FILE ARGS...    same, with stdin from FILE
#   expect_rc N DESC          the last run exited N
#   expect_out TEXT DESC      stdout of the last run contains TEXT
#   expect_err TEXT DESC      stderr of the last run contains TEXT
#   expect_no TEXT DESC       neither stdout nor stderr contains TEXT
#   ka_pass DESC / ka_fail DESC
#   ka_finish                 prints "N passed, M failed"; exit 1 on failure
#
# Every test skips (exit 77) with a reason when the CLI was not built.

KA_PASSED=0
KA_FAILED=0
T=

ka_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

ka_cleanup() {
	if [ -n "$T" ] && [ -d "$T" ]; then
		chmod -R u+rwx "$T" 2>/dev/null
		rm -rf "$T"
	fi
}

ka_scratch() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/kiwi-auth-$1.XXXXXX") ||
		{ echo "cannot create a temporary directory" >&2; exit 1; }
	trap ka_cleanup EXIT
	KA_OUT=$T/out
	KA_ERR=$T/err
	LC_ALL=C
	export LC_ALL
}

ka_setup() {
	[ -n "${KA_CLI:-}" ] || ka_skip "KA_CLI is not set (run through make check)"
	[ -x "$KA_CLI" ] || ka_skip "$KA_CLI was not built"
	umask 077
	T=$(mktemp -d "${TMPDIR:-/tmp}/kiwi-auth-test.XXXXXX") ||
		{ echo "cannot create a temporary directory" >&2; exit 1; }
	trap ka_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	HOME=$T/home
	XDG_CONFIG_HOME=$T/home/.config
	XDG_DATA_HOME=$T/home/.local/share
	XDG_STATE_HOME=$T/home/.local/state
	XDG_CACHE_HOME=$T/home/.cache
	XDG_RUNTIME_DIR=$T/run
	mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" \
		"$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_RUNTIME_DIR"
	chmod 700 "$T" "$XDG_RUNTIME_DIR"
	export HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME \
		XDG_CACHE_HOME XDG_RUNTIME_DIR
	unset KIWI_AUTH_CONFIG DBUS_SESSION_BUS_ADDRESS
	LC_ALL=C
	export LC_ALL
	KA_OUT=$T/out
	KA_ERR=$T/err
	KA_RC=0
}

# ka_config FILE: write stdin to FILE with mode 600.
ka_config() {
	mkdir -p "$(dirname "$1")"
	cat > "$1"
	chmod 600 "$1"
}

ka_pass() {
	KA_PASSED=$((KA_PASSED + 1))
	echo "ok - $*"
}

ka_fail() {
	KA_FAILED=$((KA_FAILED + 1))
	echo "not ok - $*"
	if [ -f "$KA_OUT" ] && [ -s "$KA_OUT" ]; then
		sed 's/^/#   stdout: /' "$KA_OUT"
	fi
	if [ -f "$KA_ERR" ] && [ -s "$KA_ERR" ]; then
		sed 's/^/#   stderr: /' "$KA_ERR"
	fi
}

# Commands run with stdin from /dev/null unless ka_run_in names a file.
# Every run's output is also kept in $T/transcript, for canary checks over
# everything a test printed; a script may define ka_after_run to be called
# after each run.
ka_run() {
	"$KA_CLI" "$@" < /dev/null > "$KA_OUT" 2> "$KA_ERR"
	KA_RC=$?
	ka_keep
}

ka_run_in() {
	_in=$1
	shift
	"$KA_CLI" "$@" < "$_in" > "$KA_OUT" 2> "$KA_ERR"
	KA_RC=$?
	ka_keep
}

ka_keep() {
	cat "$KA_OUT" "$KA_ERR" >> "$T/transcript" 2>/dev/null
	if command -v ka_after_run >/dev/null 2>&1; then
		ka_after_run
	fi
}

expect_rc() {
	if [ "$KA_RC" -eq "$1" ]; then
		ka_pass "$2 (exit $1)"
	else
		ka_fail "$2: exit $KA_RC, expected $1"
	fi
}

expect_out() {
	if grep -F -e "$1" "$KA_OUT" > /dev/null; then
		ka_pass "$2"
	else
		ka_fail "$2: stdout lacks '$1'"
	fi
}

expect_err() {
	if grep -F -e "$1" "$KA_ERR" > /dev/null; then
		ka_pass "$2"
	else
		ka_fail "$2: stderr lacks '$1'"
	fi
}

expect_no() {
	if grep -F -e "$1" "$KA_OUT" "$KA_ERR" > /dev/null; then
		ka_fail "$2: output contains what it must not"
	else
		ka_pass "$2"
	fi
}

# expect_mode FILE MODE DESC: octal permission bits, e.g. 600.
expect_mode() {
	_m=$(stat -c %a "$1" 2>/dev/null)
	if [ "$_m" = "$2" ]; then
		ka_pass "$3"
	else
		ka_fail "$3: mode of $1 is '${_m}', expected $2"
	fi
}

# Tokens that servers issued during a test are canaries too.
# ka_remember_tokens DIR: add the tokens of the records in DIR (the file
# source's directory) to $T/secrets (mode 600, never printed).
ka_remember_tokens() {
	python3 - "$1" "$T/secrets" <<'PY'
import json, os, sys
d, out = sys.argv[1], sys.argv[2]
seen = []
for f in (os.listdir(d) if os.path.isdir(d) else []):
    if f.endswith(".json"):
        try:
            r = json.load(open(os.path.join(d, f)))
        except (OSError, ValueError):
            continue
        seen += [r[k] for k in ("access_token", "refresh_token")
                 if isinstance(r.get(k), str) and len(r[k]) >= 16]
fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, "".join(t + "\n" for t in seen).encode())
os.close(fd)
PY
}

# ka_no_token_leaked DIR [FILE...]: pass when tokens were seen and none of
# them is in the transcript of every CLI run or in FILEs (counts only).
ka_no_token_leaked() {
	_dir=$1
	shift
	ka_remember_tokens "$_dir"
	_msg=$(python3 - "$T/secrets" "$T/transcript" "$@" <<'PY'
import sys
toks = {t for t in open(sys.argv[1]).read().split("\n") if t}
text = ""
for f in sys.argv[2:]:
    try:
        text += open(f, errors="replace").read()
    except OSError:
        pass
leaked = sum(1 for t in toks if t in text)
print("%d tokens issued, %d found in %d bytes of output" % (len(toks), leaked, len(text)))
sys.exit(0 if toks and not leaked else 1)
PY
)
	if [ $? -eq 0 ]; then
		ka_pass "no issued token in any output ($_msg)"
	else
		ka_fail "issued tokens and the output: $_msg"
	fi
}

ka_finish() {
	echo "$KA_PASSED passed, $KA_FAILED failed"
	[ "$KA_FAILED" -eq 0 ]
	exit $?
}
