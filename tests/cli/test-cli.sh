#!/bin/sh
# SPDX-License-Identifier: MIT
# test-cli.sh: behaviour of the kiwi-auth command line with the file and env modules.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
[ -n "${KIWI_AUTH_MODULE_DIR:-}" ] && [ -f "$KIWI_AUTH_MODULE_DIR/file.so" ] ||
	ka_skip "the file module was not built (KIWI_AUTH_MODULE_DIR)"
unset KA_TEST_ENV_TOKEN

TOK=$T/tokens
CONF=$T/conf/kiwi-auth.conf
ka_config "$CONF" <<EOF
svc: {
  description = "File-backed test service";
  hosts = [ "https://api.example.test" ];
  scopes = [ "svc:read", "svc:write" ];
  source = ( { module = "file"; directory = "$TOK"; } );
};
envsvc: {
  hosts = [ "http://127.0.0.1:8080" ];
  scopes = [ "env:read" ];
  source = (
    { module = "env"; control = "sufficient"; variable = "KA_TEST_ENV_TOKEN"; },
    { module = "file"; directory = "$TOK"; }
  );
};
EOF
KIWI_AUTH_CONFIG=$CONF
export KIWI_AUTH_CONFIG

# A secret-looking token that must never be printed.
SECRET=tstTOKEN$$x$(date +%s)
REFRESH=tstREFRESH$$y$(date +%s)

# ---- help, version, usage ----------------------------------------------
ka_run --help
expect_rc 0 "--help"
for c in services check status "token set" logout "Exit status" \
	"not signed in" "unavailable" "configuration error" "usage error"; do
	expect_out "$c" "--help documents '$c'"
done
# --version and -V: the package version (configure.ac's AC_INIT) and the
# module ABI (kiwiauth-module.h).
version=$(sed -n 's/^AC_INIT(\[kiwi-auth\], *\[\([^]]*\)\].*/\1/p' "$KA_TOP_SRCDIR/configure.ac")
abi_major=$(sed -n 's/^#define KA_MODULE_ABI_MAJOR \([0-9]*\).*/\1/p' "$KA_TOP_SRCDIR/src/include/kiwiauth-module.h")
abi_minor=$(sed -n 's/^#define KA_MODULE_ABI_MINOR \([0-9]*\).*/\1/p' "$KA_TOP_SRCDIR/src/include/kiwiauth-module.h")
[ -n "$version" ] && [ -n "$abi_major" ] && [ -n "$abi_minor" ] ||
	ka_fail "cannot read the version ($version) or the ABI ($abi_major.$abi_minor) from the sources"
for opt in --version -V; do
	ka_run $opt
	expect_rc 0 "$opt"
	if [ "$(cat "$KA_OUT")" = "kiwi-auth $version
module ABI $abi_major.$abi_minor" ]; then
		ka_pass "$opt prints the package version $version and the module ABI $abi_major.$abi_minor"
	else
		ka_fail "$opt printed: $(cat "$KA_OUT")"
	fi
done
ka_run status --help
expect_rc 0 "status --help"
expect_out "--account" "status --help shows its options"

ka_run
expect_rc 2 "no command is a usage error"
ka_run frobnicate
expect_rc 2 "unknown command is a usage error"
expect_err "kiwi-auth: unknown command" "unknown command is named"
ka_run --no-such-option status
expect_rc 2 "unknown global option"
ka_run status --no-such-option
expect_rc 2 "unknown command option"
ka_run token
expect_rc 2 "token without subcommand"
ka_run token set
expect_rc 2 "token set without SERVICE"
ka_run token set svc --expires-in soon
expect_rc 2 "--expires-in must be a number"
ka_run token set svc --expires-in -5
expect_rc 2 "--expires-in must be positive"
ka_run status svc envsvc
expect_rc 2 "status takes one SERVICE"
ka_run logout
expect_rc 2 "logout without SERVICE"
ka_run services extra
expect_rc 2 "services takes no arguments"

# ---- services ----------------------------------------------------------
ka_run services
expect_rc 0 "services"
expect_out "svc" "services lists svc"
expect_out "envsvc" "services lists envsvc"
expect_out "https://api.example.test" "services shows hosts"
expect_out "svc:read" "services shows scopes"
expect_out "env (sufficient, read-only)" "services shows the source stack"
expect_out "file (required)" "services shows the default control"

ka_run --json services
expect_rc 0 "services --json"
if command -v python3 > /dev/null 2>&1; then
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = [s["name"] for s in d["services"]]
assert names == ["svc", "envsvc"], names
env = d["services"][1]
assert env["sources"][0]["module"] == "env"
assert env["sources"][0]["control"] == "sufficient"
assert env["sources"][0]["writable"] is False
assert d["services"][0]["error"] is None
' "$KA_OUT"; then
		ka_pass "services --json parses and describes the stacks"
	else
		ka_fail "services --json parses and describes the stacks"
	fi
else
	expect_out '"name": "envsvc"' "services --json names envsvc"
fi
ka_run services --json
expect_out '"services"' "--json is accepted after the command"

# ---- check -------------------------------------------------------------
ka_run check
expect_rc 0 "check on a good config"
expect_out "configuration OK: 2 services" "check says OK"

BAD=$T/conf/bad.conf
ka_config "$BAD" <<EOF
good: {
  hosts = [ "https://good.example.test" ];
  source = ( { module = "file"; directory = "$TOK"; } );
};
broken: {
  hosts = [ "https://broken.example.test" ];
  colour = "blue";
  source = ( { module = "file"; directory = "$TOK"; } );
};
EOF
ka_run --config "$BAD" check
expect_rc 3 "check on a bad config"
expect_err "$BAD:7:" "check names file:line"
expect_err "colour" "check names the bad key"
ka_run --config "$BAD" services
expect_rc 0 "services with one broken stanza"
expect_out "good" "services still lists the good service"
expect_out "DISABLED" "services marks the broken one"
expect_out "colour" "services shows why it is broken"
ka_run --config "$BAD" status broken
expect_rc 3 "status on a broken service"
expect_err "disabled" "status says the service is disabled"
ka_run_in /dev/null --config "$BAD" token set broken
expect_rc 3 "token set on a broken service"
ka_run --config "$BAD" logout broken
expect_rc 3 "logout on a broken service"
ka_run --config "$BAD" status good
expect_rc 4 "a good service next to a broken one still works"

printf 'svc: { hosts = [ "https://x.test" ]; ' > "$T/conf/syntax.conf"
chmod 600 "$T/conf/syntax.conf"
ka_run --config "$T/conf/syntax.conf" check
expect_rc 3 "check on a syntax error"
expect_err "syntax.conf:" "the syntax error names the file"
ka_run --config "$T/conf/missing.conf" check
expect_rc 3 "check: a missing --config file is a configuration error"
expect_err "missing.conf" "check names the missing file"
ka_run --config "$T/conf/missing.conf" status
expect_rc 3 "status: a missing --config file is a configuration error"
expect_err "missing.conf" "status names the missing file"
ka_run --config "$T/conf/syntax.conf" token set svc
expect_rc 3 "token set refuses to work on an unreadable configuration"

# ---- unknown service ---------------------------------------------------
for cmd in "status nosuch" "logout nosuch" "token set nosuch"; do
	# shellcheck disable=SC2086
	ka_run $cmd
	expect_rc 3 "$cmd: unknown service"
	expect_err "kiwi-auth: no service 'nosuch' in the configuration; run 'kiwi-auth services' to list them" \
		"$cmd: says how to list services"
done

# ---- not signed in -----------------------------------------------------
ka_run status
expect_rc 0 "status of every service reports"
expect_out "not-signed-in" "status shows not signed in"
ka_run status svc
expect_rc 4 "status SERVICE when not signed in"

# ---- refused input -----------------------------------------------------
ka_run_in /dev/null token set svc
expect_rc 1 "token set with empty stdin is refused"
expect_err "no access token" "empty stdin is explained"
printf '\n' > "$T/in"
ka_run_in "$T/in" token set svc
expect_rc 1 "token set with an empty line is refused"
printf 'abc\001def\n' > "$T/in"
ka_run_in "$T/in" token set svc
expect_rc 1 "a control byte is refused"
expect_err "control character" "the control byte is explained"
expect_no "abc" "the refused token is not echoed"
printf 'one\ntwo\nthree\n' > "$T/in"
ka_run_in "$T/in" token set svc
expect_rc 1 "three lines are refused"
printf '%s\n' "$SECRET" > "$T/in"
ka_run_in "$T/in" token set svc --scope not:a:scope
expect_rc 2 "a scope the service does not list is refused"
[ ! -e "$TOK/svc@default.json" ] && ka_pass "nothing was stored by refusals" ||
	ka_fail "nothing was stored by refusals"

# ---- token set, then status in a new process ---------------------------
printf '%s\r\n%s\r\n' "$SECRET" "$REFRESH" > "$T/in"
ka_run_in "$T/in" token set svc --scope svc:read --scope svc:write \
	--expires-in 3600
expect_rc 0 "token set"
expect_out "stored token for svc (default)" "token set confirms"
expect_no "$SECRET" "token set does not print the token"
expect_mode "$TOK/svc@default.json" 600 "the token file is private"

ka_run status svc
expect_rc 0 "status SERVICE when signed in"
expect_out "signed-in" "status shows signed in"
expect_out "file" "status shows the source"
expect_out "svc:read svc:write" "status shows the scopes"
if grep -E '(59m|1h 0m)' "$KA_OUT" > /dev/null; then
	ka_pass "status shows the expiry"
else
	ka_fail "status shows the expiry"
fi
expect_no "$SECRET" "status never prints the token"
expect_no "$REFRESH" "status never prints the refresh token"

ka_run --json status svc
expect_rc 0 "status --json"
if command -v python3 > /dev/null 2>&1; then
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["status"][0]
assert d["service"] == "svc" and d["account"] == "default", d
assert d["state"] == "signed-in", d
assert d["source"] == "file", d
assert 3500 < d["expires_in"] <= 3600, d
assert d["scopes"] == ["svc:read", "svc:write"], d
assert d["refreshable"] is False, d  # no refresh module configured
' "$KA_OUT"; then
		ka_pass "status --json fields"
	else
		ka_fail "status --json fields"
	fi
else
	expect_out '"state": "signed-in"' "status --json state"
fi
expect_no "$SECRET" "status --json never prints the token"

# No expiry: "never".
printf '%s\n' "$SECRET" > "$T/in"
ka_run_in "$T/in" token set svc --account work
expect_rc 0 "token set --account"
expect_out "stored token for svc (work)" "token set names the account"
ka_run status svc --account work
expect_rc 0 "status --account"
expect_out "never" "a token without expiry never expires"
ka_run status svc
expect_out "work" "status lists every account"

# ---- file permissions --------------------------------------------------
chmod 644 "$TOK/svc@default.json"
ka_run status svc --account default
expect_rc 5 "a world-readable token file is refused"
expect_out "unavailable" "the refused file shows as unavailable"
expect_out "chmod 600" "the refusal says how to fix it"
chmod 600 "$TOK/svc@default.json"

# ---- env source --------------------------------------------------------
KA_TEST_ENV_TOKEN=$SECRET ka_run status envsvc
expect_rc 0 "status through the env source"
expect_out "env" "status names the env source"
expect_no "$SECRET" "env token is not printed"
KA_TEST_ENV_TOKEN=$SECRET ka_run logout envsvc
expect_rc 1 "logout cannot sign out of a read-only source"
expect_err "read-only" "logout explains the read-only source"
expect_no "$SECRET" "logout does not print the env token"

# ---- a terminal: no echo, restored after ^C -----------------------------
if command -v python3 > /dev/null 2>&1; then
	python3 - "$KA_CLI" "$SECRET" > "$KA_OUT" 2> "$KA_ERR" <<'PY'
import os, pty, select, signal, sys, termios, time
cli, secret = sys.argv[1], sys.argv[2].encode()

def spawn():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cli, [cli, "token", "set", "svc", "--account", "tty"])
    return pid, fd

# Every wait is bounded: a loaded machine (ASan, parallel tests) may be
# slow, but the test must end on its own with an answer either way.
def wait_exit(pid, limit=30.0):
    end = time.time() + limit
    while time.time() < end:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            return st
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None

def read_until(fd, want, limit=30.0):
    out, end = b"", time.time() + limit
    while want not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return out

def echo(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ECHO)

pid, fd = spawn()
out = read_until(fd, b"Access token")
print("prompted" if b"Access token for svc" in out else "no prompt")
print("echo off" if not echo(fd) else "echo on")
os.write(fd, secret + b"\n")
out = read_until(fd, b"Refresh token")
os.write(fd, b"\n")
out += read_until(fd, b"stored token")
print("stored" if b"stored token for svc (tty)" in out else "not stored")
print("leaked" if secret in out else "not echoed")
wait_exit(pid)
pid, fd = spawn()
read_until(fd, b"Access token")
os.write(fd, b"\x03")
st = wait_exit(pid)
print("killed by SIGINT" if st is not None and os.WIFSIGNALED(st) and
      os.WTERMSIG(st) == signal.SIGINT else "status %s" % st)
print("echo restored" if echo(fd) else "echo left off")
PY
	for w in prompted "echo off" stored "not echoed" "killed by SIGINT" \
		"echo restored"; do
		expect_out "$w" "terminal: $w"
	done
	ka_run logout svc --account tty
	expect_rc 0 "logout of the terminal account"
fi

# ---- logout ------------------------------------------------------------
ka_run logout svc
expect_rc 0 "logout"
expect_out "signed out of svc (default): erased from 1 source(s)" \
	"logout says how many sources held it"
[ ! -e "$TOK/svc@default.json" ] && ka_pass "logout removed the file" ||
	ka_fail "logout removed the file"
ka_run status svc --account default
expect_rc 4 "status after logout"
expect_out "not-signed-in" "not signed in after logout"
ka_run logout svc
expect_rc 0 "logout when not signed in"
expect_out "was not signed in" "logout says it was not signed in"
ka_run logout svc --account work
expect_rc 0 "logout --account"


# ---- a token inside min_valid that cannot be refreshed -------------------
MV=$T/conf/minvalid.conf
ka_config "$MV" <<EOF
mv: {
  hosts = [ "https://api.example.test" ];
  scopes = [ "mv:read" ];
  min_valid = 600;
  source = ( { module = "file"; directory = "$TOK"; } );
};
EOF
printf '%s\n' "$SECRET" > "$T/in"
ka_run_in "$T/in" --config "$MV" token set mv --expires-in 300
expect_rc 0 "token set, expiring within min_valid"
ka_run --config "$MV" status mv
expect_rc 4 "status: a token inside min_valid without refresh is unusable"
expect_out "unusable" "status says unusable"
expect_out "within min_valid (600 s)" "status says why"
expect_no "$SECRET" "status does not print it"
ka_run --config "$MV" request --scope mv:read https://api.example.test/x
expect_rc 4 "and the broker does not use it either"

# ---- a leftover of an interrupted write that cannot be removed -----------
mkdir "$TOK/.mv@default.json.0123456789ab"
ka_run --config "$MV" status mv
expect_err "remove it by hand" "status reports a leftover it could not remove"
ka_run --config "$MV" logout mv
expect_rc 1 "logout fails while a leftover stays"
expect_err ".mv@default.json.0123456789ab" "logout names the leftover"
rmdir "$TOK/.mv@default.json.0123456789ab"
[ ! -e "$TOK/mv@default.json" ] && ka_pass "the record itself is gone" ||
	ka_fail "the record stayed"

ka_finish
