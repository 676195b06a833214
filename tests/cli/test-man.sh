#!/bin/sh
# SPDX-License-Identifier: MIT
# test-man.sh: the manual pages are lint-clean and cover the commands, options, keys, arguments and functions that the code has.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

SRC=${KA_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DOC=$SRC/doc
PAGES="kiwi-auth.1 git-credential-kiwi-auth.1 kiwi-auth.conf.5 libkiwiauth.3 ka_perform.3 kiwi-auth-module.3
	kiwi-auth-env.8 kiwi-auth-file.8 kiwi-auth-keyring.8 kiwi-auth-exec.8
	kiwi-auth-supabase.8 kiwi-auth-github.8 kiwi-auth-oauth2.8"

command -v groff > /dev/null 2>&1 ||
	ka_skip "groff is not installed (Debian package groff-base)"
[ -d "$DOC" ] || ka_skip "no doc directory in $SRC"

ka_scratch man

# page_has PAGE PATTERN DESC: the page (roff source) matches the ERE.
page_has() {
	if grep -E -e "$2" "$DOC/$1" > /dev/null; then
		ka_pass "$3"
	else
		: > "$KA_OUT"
		: > "$KA_ERR"
		ka_fail "$3: $1 has no match for /$2/"
	fi
}

# opt_re NAME: an ERE for the option --NAME in roff source, where every
# '-' may be written '\-'.
opt_re() {
	printf '\\\\-\\\\-%s' "$(printf '%s' "$1" | sed 's/-/\\\\?-/g')"
}

# ---- lint -------------------------------------------------------------------
for p in $PAGES; do
	if [ ! -f "$DOC/$p" ]; then
		ka_fail "$p exists"
		continue
	fi
	# -t: libkiwiauth.3 has tables. Any warning is a failure.
	groff -t -man -ww -z "$DOC/$p" > "$KA_OUT" 2> "$KA_ERR"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$KA_ERR" ]; then
		ka_pass "groff -man -ww: $p"
	else
		ka_fail "groff -man -ww: $p (exit $rc)"
	fi
	if command -v mandoc > /dev/null 2>&1; then
		mandoc -Tlint "$DOC/$p" > "$KA_OUT" 2> "$KA_ERR"
		if [ ! -s "$KA_OUT" ] && [ ! -s "$KA_ERR" ]; then
			ka_pass "mandoc -Tlint: $p"
		else
			ka_fail "mandoc -Tlint: $p"
		fi
	fi
done
: > "$KA_OUT"
: > "$KA_ERR"

# Every page is installed.
for p in $PAGES; do
	if grep -F -e "doc/$p" "$DOC/Makefile.inc" > /dev/null; then
		ka_pass "doc/Makefile.inc installs $p"
	else
		ka_fail "doc/Makefile.inc installs $p"
	fi
done

# ---- kiwi-auth.1 against the built command -----------------------------------
if [ -n "${KA_CLI:-}" ] && [ -x "$KA_CLI" ]; then
	"$KA_CLI" --help > "$T/help" 2>&1
	cmds=$(sed -n '/^Commands:/,/^Exit status:/p' "$T/help" |
		sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
	[ -n "$cmds" ] || ka_fail "kiwi-auth --help lists commands"
	for c in $cmds; do
		page_has kiwi-auth.1 "^\\.SS $c( |\$)" "kiwi-auth.1 has a section for '$c'"
		# Every long option of the command's usage.
		"$KA_CLI" "$c" --help > "$T/chelp" 2>&1
		for o in $(grep -o -E -e '--[a-z][a-z-]*' "$T/chelp" | sort -u); do
			n=${o#--}
			page_has kiwi-auth.1 "$(opt_re "$n")" \
				"kiwi-auth.1 documents $c --$n"
		done
	done
	for o in $(sed -n '/^Options:/,/^Commands:/p' "$T/help" |
		grep -o -E -e '--[a-z][a-z-]*' | sort -u); do
		n=${o#--}
		page_has kiwi-auth.1 "$(opt_re "$n")" "kiwi-auth.1 documents --$n"
	done
	for code in $(sed -n '/^Exit status:/,/^$/p' "$T/help" |
		sed -n 's/^  \([0-9][0-9]*\) .*/\1/p'); do
		page_has kiwi-auth.1 "^\\.B $code\$" \
			"kiwi-auth.1 documents exit status $code"
	done
else
	echo "# KA_CLI not built: command checks skipped"
fi
for v in KIWI_AUTH_CONFIG KIWI_AUTH_MODULE_DIR XDG_CONFIG_HOME XDG_STATE_HOME; do
	page_has kiwi-auth.1 "^\\.B $v\$" "kiwi-auth.1 documents $v"
done
page_has kiwi-auth.1 '^\.SH SECURITY' "kiwi-auth.1 has a SECURITY section"

# ---- kiwi-auth.conf.5 against config.c ---------------------------------------
# The keys live in config.c (global) and stanza.c (service stanzas).
CONFIG_C=$T/config-keys.c
cat "$SRC/src/lib/config.c" "$SRC/src/lib/stanza.c" > "$CONFIG_C" 2> /dev/null
SERVICE_KEYS="description hosts scopes header source refresh min_valid timeout locked export default_account git_paths"
GLOBAL_KEYS="audit_file audit_syslog"
ENTRY_KEYS="module control"
for k in $SERVICE_KEYS $GLOBAL_KEYS $ENTRY_KEYS; do
	if grep -F -e "\"$k\"" "$CONFIG_C" > /dev/null; then
		ka_pass "config.c knows key '$k'"
	else
		ka_fail "config.c knows key '$k' (update the list in test-man.sh)"
	fi
	page_has kiwi-auth.conf.5 "^\\.BR? $k( |\$)" \
		"kiwi-auth.conf.5 documents key '$k'"
done
# The other way round: no key in config.c's table that the list lacks.
for k in $(sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", key_[a-z_]* },.*/\1/p' \
	"$CONFIG_C"); do
	case " $SERVICE_KEYS " in
	*" $k "*) ka_pass "service key '$k' is in the list" ;;
	*) ka_fail "service key '$k' of config.c is not in test-man.sh" ;;
	esac
done
for c in required requisite sufficient optional; do
	page_has kiwi-auth.conf.5 "^\\.B $c\$" \
		"kiwi-auth.conf.5 documents control '$c'"
done

# ---- module pages against the modules' argument tables -----------------------
for m in env file keyring exec supabase github oauth2; do
	c=$SRC/modules/source/$m.c
	[ -f "$c" ] || c=$SRC/modules/refresh/$m.c
	[ -f "$c" ] || continue
	for a in $(sed -n 's/^[[:space:]]*{ "\([a-z_]*\)", KA_ARG_.*/\1/p' "$c"); do
		page_has "kiwi-auth-$m.8" "^\\.BR $a " \
			"kiwi-auth-$m.8 documents argument '$a'"
	done
done

# ---- libkiwiauth.3 against the public header ---------------------------------
for f in $(sed -n 's/.*[ *]\(ka_[a-z_0-9]*\)(.*/\1/p' \
	"$SRC/src/include/kiwiauth.h" | sort -u); do
	page_has libkiwiauth.3 "$f( |\\\\f|\$)" "libkiwiauth.3 names $f()"
done

ka_finish
