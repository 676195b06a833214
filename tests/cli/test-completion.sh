#!/bin/sh
# SPDX-License-Identifier: MIT
# test-completion.sh: completion/kiwi-auth.bash, sourced in bash with
# COMP_WORDS and COMP_CWORD set as bash sets them, completes commands,
# options, service names, accounts, scopes and flows from the program
# itself, and never offers a token.
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup
command -v bash >/dev/null 2>&1 || ka_skip "bash is not installed"
COMP=$KA_TOP_SRCDIR/completion/kiwi-auth.bash

mkdir -p "$T/conf/services.d"
ka_config "$T/conf/services.d/alpha.conf" <<CONF
alpha = {
  hosts = [ "https://alpha.example.com" ];
  scopes = [ "alpha:read", "alpha:write" ];
  source = ( { module = "file"; directory = "$T/tokens"; } );
};
CONF
ka_config "$T/conf/services.d/beta.conf" <<CONF
beta = {
  hosts = [ "https://beta.example.com" ];
  scopes = [ "beta:read" ];
  source = ( { module = "env"; variable = "BETA_TOKEN"; } );
};
CONF
chmod 700 "$T/conf" "$T/conf/services.d"
mkdir -m 700 "$T/tokens"
TOKEN="completion-canary-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$T/token"
ka_run_in "$T/token" --config "$T/conf" token set alpha --account alice@example.com
expect_rc 0 "a token for alice is stored"

# complete WORD...: the words of the command line, the last one being
# completed; prints COMPREPLY one per line, sorted.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_kiwi_auth "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}";
		printf "%s\n" "${COMPREPLY[@]}"' sh "$COMP" "$@" | sort
}
# expect WANT DESC WORD...: COMPREPLY is exactly WANT (words, one space).
expect() {
	want=$1 desc=$2
	shift 2
	got=$(complete_words "$@" | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then
		ka_pass "$desc"
	else
		ka_fail "$desc: got '$got', expected '$want'"
	fi
}
# expect_has WORD DESC WORDS...: COMPREPLY holds WORD.
expect_has() {
	want=$1 desc=$2
	shift 2
	if complete_words "$@" | grep -qx -- "$want"; then
		ka_pass "$desc"
	else
		ka_fail "$desc: '$want' not in '$(complete_words "$@" | tr '\n' ' ')'"
	fi
}

C="$KA_CLI --config $T/conf"
expect_has services "commands from --help" $KA_CLI ""
expect_has signin "commands from --help" $KA_CLI ""
expect "services signin status" "a command prefix" $KA_CLI s
expect_has --version "global options" $KA_CLI --
expect "alpha beta" "service names from services --json" $C status ""
expect "beta" "a service name prefix" $C logout b
expect "set" "token's subcommand" $C token ""
expect "alpha beta" "services after token set" $C token set ""
expect "" "no second service" $C status alpha ""
expect_has --account "a command's options from its --help" $C status alpha --
expect_has --no-browser "signin's options" $C signin alpha --
expect_has --expires-in "token set's options" $C token set alpha --
expect_has alice@example.com "accounts from status --json" $C status alpha --account ""
expect "alpha:read alpha:write" "the service's scopes" $C signin alpha --scope ""
expect "alpha:read alpha:write beta:read" "every scope for request" $C request --scope ""
expect "client-credentials code device token" "flows" $C signin alpha --flow ""
expect "file keyring" "sources of signin --resource" $C signin --resource https://mcp.example.com --source ""
expect "services" "the config of -C is used" $KA_CLI -C "$T/conf" serv

# No completion ever carries the token.
all=$( { complete_words $C status alpha --account ""
	complete_words $C token set alpha --account ""
	complete_words $C ""; } 2>&1)
case $all in
*"$TOKEN"*) ka_fail "a completion holds the token" ;;
*) ka_pass "no completion holds the token" ;;
esac
ka_finish
