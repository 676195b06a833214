#!/bin/sh
# SPDX-License-Identifier: MIT
# test-git-credential.sh: git-credential-kiwi-auth with real git: `git
# credential fill` gets the token for an allowed host and nothing for
# another host, for a service without `export`, or for requests git's
# CVEs are about; `git ls-remote` over http to a local stand-in server
# (tests/servers/bearer_standin.py running the real git-http-backend on
# 127.0.0.1) that demands Basic auth succeeds through the helper; erase
# signs out only the token git was given; store is ignored. A canary
# token appears only on the helper's stdout to git.
. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
need() {	# CI installs them (tools/deps.sh): a skip there is a failure
	[ "${CI:-}" = true ] && { echo "FAIL (CI=true): $*" >&2; exit 1; }
	ka_skip "$@"
}
command -v git >/dev/null 2>&1 || need "git is not installed"
command -v python3 >/dev/null 2>&1 || need "python3 is not installed"
[ -x /usr/lib/git-core/git-http-backend ] ||
	need "git-http-backend is not installed (Debian package git)"
HELPER=$KA_TOP_BUILDDIR/git-credential-kiwi-auth
[ -x "$HELPER" ] || ka_skip "$HELPER was not built"
[ -f "$KIWI_AUTH_MODULE_DIR/file.so" ] || ka_skip "the file module was not built"

# git finds the helper as "kiwi-auth" on PATH; no system or user git
# configuration but this test's, and no prompts.
PATH=$KA_TOP_BUILDDIR:$PATH
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=$T/gitconfig
GIT_TERMINAL_PROMPT=0
export PATH GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_TERMINAL_PROMPT
unset GIT_ASKPASS SSH_ASKPASS
git config --global credential.helper kiwi-auth
git config --global user.name "kiwi-auth test"
git config --global user.email test@kiwi-auth.invalid
git config --global init.defaultBranch main

# The canary goes through printf (a builtin) into files, never into argv.
RAND=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
[ ${#RAND} -eq 24 ] || { echo "cannot read /dev/urandom" >&2; exit 1; }
printf 'kiwiCANARY-%s\n' "$RAND" > "$T/canary"
printf 'password=kiwiCANARY-%s\n' "$RAND" > "$T/canary-answer"
RAND2=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf 'kiwiCANARY-%s\n' "$RAND2" > "$T/canary2"
printf 'password=kiwiCANARY-%s\n' "$RAND2" > "$T/canary2-answer"
printf '%s\n%s\n' "$RAND" "$RAND2" > "$T/patterns"

has_canary() { grep -F -q -f "$T/patterns" "$@"; }

# ---- the local stand-in: git-http-backend behind Basic auth -----------------
mkdir -p "$T/srv" "$T/work"
git init -q --bare "$T/srv/repo.git"
git -C "$T/work" init -q
printf 'hello\n' > "$T/work/README"
git -C "$T/work" add README
git -C "$T/work" commit -q -m "first"
git -C "$T/work" push -q "$T/srv/repo.git" main
HEAD_SHA=$(git -C "$T/work" rev-parse HEAD)

python3 "$KA_TOP_SRCDIR/tests/servers/bearer_standin.py" git "$T/port" \
	"$T/srv.log" "$T/canary" "$T/srv" 2> "$T/srv.err" &
SRV_PID=$!
trap 'kill $SRV_PID 2>/dev/null; ka_cleanup' EXIT
n=0
while [ ! -s "$T/port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
[ -s "$T/port" ] || { cat "$T/srv.err" >&2; ka_fail "the stand-in started"; ka_finish; }
PORT=$(cat "$T/port")
: > "$T/srv.log"

TOK=$T/tokens
CONF=$T/kiwi-auth.conf
ka_config "$CONF" <<EOF
global: { audit_file = "$T/audit.log"; };
repo: {
  description = "git over http to the local stand-in";
  hosts = [ "http://127.0.0.1:$PORT" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  export = [ "git" ];
};
team: {
  description = "the same host, for the repositories under team/ only";
  hosts = [ "http://127.0.0.1:$PORT" ];
  source = ( { module = "file"; directory = "$TOK"; } );
  export = [ "git" ];
  git_paths = [ "team/" ];
};
noexport: {
  hosts = [ "http://localhost:*" ];
  source = ( { module = "file"; directory = "$TOK"; } );
};
EOF
KIWI_AUTH_CONFIG=$CONF
export KIWI_AUTH_CONFIG
ka_run_in "$T/canary" token set repo --expires-in 3600
expect_rc 0 "the canary is stored for repo"
ka_run_in "$T/canary" token set noexport
expect_rc 0 "and for noexport"
ka_run_in "$T/canary2" token set team
expect_rc 0 "a second canary for team"

# gitrun NAME INPUT ARGS...: git with INPUT on stdin, output in $T/NAME.*
gitrun() {
	_n=$1 _in=$2
	shift 2
	git "$@" < "$_in" > "$T/$_n.out" 2> "$T/$_n.err"
	KA_RC=$?
	cat "$T/$_n.err" >> "$T/stderrs"
}
# helper NAME INPUT OP: the helper alone, as git runs it.
helper() {
	"$HELPER" "$3" < "$2" > "$T/$1.out" 2> "$T/$1.err"
	KA_RC=$?
	cat "$T/$1.err" >> "$T/stderrs"
}
no_password() {
	if grep -q '^password=' "$T/$1.out" || has_canary "$T/$1.out"; then
		ka_fail "$2: a password was answered"
	else
		ka_pass "$2: no password"
	fi
}

# ---- fill for the allowed host ---------------------------------------------
printf 'protocol=http\nhost=127.0.0.1:%s\n\n' "$PORT" > "$T/req-ok"
gitrun fill-ok "$T/req-ok" credential fill
expect_rc 0 "git credential fill for the allowed host"
if grep -F -x -q -f "$T/canary-answer" "$T/fill-ok.out"; then
	ka_pass "git got the token as the password"
else
	ka_fail "git did not get the token"
fi
grep -q '^username=oauth2$' "$T/fill-ok.out" && ka_pass "username oauth2" ||
	ka_fail "username: $(grep '^username=' "$T/fill-ok.out")"
# git 2.39 reads password_expiry_utc but does not print it: ask the helper.
helper get-ok "$T/req-ok" get
expect_rc 0 "the helper answers get for the allowed host"
exp=$(sed -n 's/^password_expiry_utc=//p' "$T/get-ok.out")
now=$(date +%s)
[ -n "$exp" ] && [ "$exp" -gt "$now" ] && [ "$exp" -le $((now + 3600)) ] &&
	ka_pass "password_expiry_utc is the token's expiry" ||
	ka_fail "password_expiry_utc: '$exp'"

# git 2.46+ offers capability[]=authtype; a server that asked for Bearer then
# gets the token as a pre-encoded credential (asked of the helper: git 2.39
# does not speak it), and one that did not gets Basic's username/password.
printf 'credential=kiwiCANARY-%s\n' "$RAND" > "$T/canary-credential"
printf 'capability[]=authtype\nprotocol=http\nhost=127.0.0.1:%s\nwwwauth[]=Bearer realm="x"\n\n' \
	"$PORT" > "$T/req-bearer"
helper bearer "$T/req-bearer" get
expect_rc 0 "the helper answers a request that takes authtype"
grep -q '^authtype=Bearer$' "$T/bearer.out" &&
	grep -F -x -q -f "$T/canary-credential" "$T/bearer.out" &&
	! grep -q '^password=' "$T/bearer.out" &&
	ka_pass "Bearer asked for: authtype=Bearer and credential, no password" ||
	ka_fail "Bearer answer: $(sed 's/=.*/=.../' "$T/bearer.out")"
printf 'capability[]=authtype\nprotocol=http\nhost=127.0.0.1:%s\nwwwauth[]=Basic realm="x"\n\n' \
	"$PORT" > "$T/req-basic"
helper basic "$T/req-basic" get
grep -F -x -q -f "$T/canary-answer" "$T/basic.out" &&
	! grep -q '^credential=' "$T/basic.out" &&
	ka_pass "Basic asked for: username and password" ||
	ka_fail "Basic answer: $(sed 's/=.*/=.../' "$T/basic.out")"

# git_paths: with a path under team/ (git sends it with credential.useHttpPath)
# the team service answers; a path that could mean another one does not.
printf 'protocol=http\nhost=127.0.0.1:%s\npath=team/tools.git\n\n' "$PORT" \
	> "$T/req-team"
gitrun fill-team "$T/req-team" -c credential.useHttpPath=true credential fill
grep -F -x -q -f "$T/canary2-answer" "$T/fill-team.out" &&
	ka_pass "git_paths: the path under team/ gets team's token" ||
	ka_fail "git_paths: team's token not given"
printf 'protocol=http\nhost=127.0.0.1:%s\npath=other/tools.git\n\n' "$PORT" \
	> "$T/req-nonteam"
gitrun fill-nonteam "$T/req-nonteam" -c credential.useHttpPath=true credential fill
grep -F -x -q -f "$T/canary-answer" "$T/fill-nonteam.out" &&
	ka_pass "git_paths: another path gets the host's service" ||
	ka_fail "git_paths: another path"
for p in 'team/../other.git' 'team/%2e%2e/other.git' 'teamwork/x.git'; do
	printf 'protocol=http\nhost=127.0.0.1:%s\npath=%s\n\n' "$PORT" "$p" \
		> "$T/req-tricky"
	helper tricky "$T/req-tricky" get
	if grep -F -q -f "$T/canary2" "$T/tricky.out"; then
		ka_fail "git_paths: $p got team's token"
	else
		ka_pass "git_paths: $p does not get team's token"
	fi
done

# ---- nothing for others -------------------------------------------------------
printf 'protocol=http\nhost=other.invalid\n\n' > "$T/req-other"
gitrun fill-other "$T/req-other" credential fill
[ "$KA_RC" -ne 0 ] && ka_pass "another host: git reports no credential" ||
	ka_fail "another host: git credential fill succeeded"
no_password fill-other "another host"

printf 'protocol=http\nhost=localhost:%s\n\n' "$PORT" > "$T/req-noexp"
gitrun fill-noexp "$T/req-noexp" credential fill
[ "$KA_RC" -ne 0 ] && ka_pass "no export: git reports no credential" ||
	ka_fail "no export: git credential fill succeeded"
no_password fill-noexp "no export"
grep -q "does not export its token to git" "$T/fill-noexp.err" &&
	grep -q 'export = \[ "git" \]' "$T/fill-noexp.err" &&
	ka_pass "no export: the message names the setting" ||
	ka_fail "no export: $(cat "$T/fill-noexp.err")"

printf 'protocol=https\nhost=127.0.0.1:%s\n\n' "$PORT" > "$T/req-https"
gitrun fill-https "$T/req-https" credential fill
no_password fill-https "https where only http is allowed"

# Injection through git: whatever git makes of these, no token comes out.
printf 'url=http://127.0.0.1:%s%%0ahost=127.0.0.1:%s\n\n' "$PORT" "$PORT" \
	> "$T/req-nl"
gitrun fill-nl "$T/req-nl" credential fill
no_password fill-nl "newline in the host of url= (CVE-2020-5260)"
printf 'url=http://127.0.0.1:%s%%0d/\n\n' "$PORT" > "$T/req-cr"
gitrun fill-cr "$T/req-cr" credential fill
no_password fill-cr "carriage return in url= (CVE-2024-52006)"
printf 'url=http:///repo.git\n\n' > "$T/req-nohost"
gitrun fill-nohost "$T/req-nohost" credential fill
no_password fill-nohost "a url= without a host (CVE-2020-11008)"
printf 'url=http://x:not-the-token@127.0.0.1:%s/\n\n' "$PORT" > "$T/req-cred"
gitrun fill-cred "$T/req-cred" credential fill
if has_canary "$T/fill-cred.out"; then
	ka_fail "credentials in the URL: the token was answered"
else
	ka_pass "credentials in the URL: not the token"
fi

# Injection straight to the helper: its own parser refuses each one.
refused() {
	helper "$1" "$T/$1.in" get
	[ "$KA_RC" -eq 1 ] && [ ! -s "$T/$1.out" ] &&
		grep -q "refused: $3" "$T/$1.err" &&
		ka_pass "helper refuses $2" ||
		ka_fail "helper and $2: exit $KA_RC, $(cat "$T/$1.err")"
}
printf 'protocol=http\nhost=127.0.0.1:%s\r\n\n' "$PORT" > "$T/h-cr.in"
refused h-cr "a CR in a value" "a value holds a carriage return"
printf 'protocol=http\nhost=127.0.0.1:%s\0evil\n\n' "$PORT" > "$T/h-nul.in"
refused h-nul "a NUL byte" "the request holds a NUL byte"
printf 'protocol=http\n\n' > "$T/h-nohost.in"
refused h-nohost "a missing host" "the request names no host"
printf 'host=127.0.0.1:%s\n\n' "$PORT" > "$T/h-noproto.in"
refused h-noproto "a missing protocol" "the request names no protocol"
printf 'url=http://u:p@127.0.0.1:%s/\n\n' "$PORT" > "$T/h-cred.in"
refused h-cred "credentials in url=" "url= holds a password"
printf 'protocol=http\nhost=other.invalid\nhost=127.0.0.1:%s\n\n' "$PORT" \
	> "$T/h-dup.in"
refused h-dup "two hosts" "a key is given twice"
printf 'url=http://other.invalid/\nhost=127.0.0.1:%s\nprotocol=http\n\n' \
	"$PORT" > "$T/h-urlhost.in"
refused h-urlhost "url= and host= that disagree" "url= and another key disagree"
printf 'protocol=http\nhost=127.0.0.1%%3a%s\n\n' "$PORT" > "$T/h-pct.in"
refused h-pct "a percent escape in the host" "the host is not a host name"
python3 -c 'import sys
sys.stdout.write("protocol=http\nhost=127.0.0.1:%s\npath=%s\n\n" % (sys.argv[1], "a" * 5000))' \
	"$PORT" > "$T/h-long.in"
refused h-long "a line over 4 KiB" "a line is longer than 4096 bytes"
python3 -c 'import sys
sys.stdout.write("protocol=http\nhost=127.0.0.1:%s\n" % sys.argv[1] + "x=%s\n" % ("a" * 4000) * 17 + "\n")' \
	"$PORT" > "$T/h-big.in"
refused h-big "a request over 64 KiB" "the request is longer than 65536 bytes"

# ---- git ls-remote over http through the helper ------------------------------
git config --global --unset credential.helper
GIT_TRACE=$T/trace-noauth git ls-remote "http://127.0.0.1:$PORT/repo.git" \
	> "$T/ls-noauth.out" 2> "$T/ls-noauth.err" < /dev/null
KA_RC=$?
[ "$KA_RC" -ne 0 ] && ka_pass "without the helper the stand-in refuses git" ||
	ka_fail "the stand-in let git in without a credential"
git config --global credential.helper kiwi-auth
GIT_TRACE=$T/trace git ls-remote "http://127.0.0.1:$PORT/repo.git" \
	> "$T/ls.out" 2> "$T/ls.err" < /dev/null
KA_RC=$?
cat "$T/ls.err" >> "$T/stderrs"
expect_rc 0 "git ls-remote through the helper"
grep -q "^$HEAD_SHA	refs/heads/main$" "$T/ls.out" &&
	ka_pass "ls-remote lists the stand-in's main branch" ||
	ka_fail "ls-remote: $(cat "$T/ls.out")"
grep -q '"scheme": "basic", .*"result": "ok"' "$T/srv.log" &&
	ka_pass "the stand-in saw the token in Basic auth" ||
	ka_fail "the stand-in's log: $(cat "$T/srv.log")"
grep -q "credential-kiwi-auth get" "$T/trace" &&
	ka_pass "git ran the helper (trace)" || ka_fail "no helper run in the trace"
has_canary "$T/trace" && ka_fail "the token is in git's trace of commands" ||
	ka_pass "no token in git's trace of commands (argv)"

# ---- store is ignored; erase only for the token git was given ----------------
printf 'protocol=http\nhost=127.0.0.1:%s\nusername=oauth2\npassword=from-elsewhere\n\n' \
	"$PORT" > "$T/req-store"
before=$(cat "$TOK"/* | sha256sum)
gitrun store "$T/req-store" credential approve
[ "$(cat "$TOK"/* | sha256sum)" = "$before" ] &&
	ka_pass "store is ignored: no record changed" ||
	ka_fail "store changed a record"
gitrun reject-other "$T/req-store" credential reject
ka_run status repo
expect_rc 0 "erase of a password git got elsewhere: still signed in"
printf 'protocol=http\nhost=127.0.0.1:%s\nauthtype=Bearer\ncredential=not-the-token\n\n' \
	"$PORT" > "$T/req-erase-cred"
helper erase-cred "$T/req-erase-cred" erase
ka_run status repo
expect_rc 0 "erase of a credential that is not the token: still signed in"
{ printf 'protocol=http\nhost=127.0.0.1:%s\nusername=oauth2\n' "$PORT"
  cat "$T/canary-answer"; printf '\n'; } > "$T/req-reject"
gitrun reject "$T/req-reject" credential reject
ka_run status repo
expect_rc 4 "erase of the token git was given: signed out"

# ---- the canary: only on the helper's stdout to git ---------------------------
cat "$T/stderrs" >> "$T/transcript"
for f in "$T/transcript" "$T/audit.log" "$T/srv.log" "$T/srv.err" "$T/ls.out"; do
	if has_canary "$f"; then
		ka_fail "the token is in $(basename "$f")"
	else
		ka_pass "no token in $(basename "$f")"
	fi
done
grep -q 'outcome=exported .*tool=git .*fp=[0-9a-f]\{16\}' "$T/audit.log" &&
	ka_pass "each export is audited with a fingerprint" ||
	ka_fail "audit: $(cat "$T/audit.log")"
grep -q 'outcome=refused service=noexport .*tool=git' "$T/audit.log" &&
	ka_pass "the refused export is audited" || ka_fail "no refusal audited"
# Files: none outside the token store holds it, and none is readable by others.
leaks=$(grep -r -l -F -f "$T/patterns" "$HOME" "$T/srv" 2>/dev/null)
[ -z "$leaks" ] && ka_pass "no file in HOME or the repository holds the token" ||
	ka_fail "files with the token: $leaks"
ka_finish
