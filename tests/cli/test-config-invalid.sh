#!/bin/sh
# SPDX-License-Identifier: MIT
# test-config-invalid.sh: `kiwi-auth check` on the data-driven config cases.
#
# tests/data/config/invalid/CASE/ holds kiwi-auth.conf (or a services.d/
# directory, and then CASE itself is passed as --config) and `expected`,
# one line per diagnostic: "LINE: substring" for kiwi-auth.conf, or
# "FILE:LINE: substring" (FILE relative to the case). check must exit 3 and
# print each one on stderr. Every tests/data/config/valid/*.conf must pass.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

ka_setup
[ -n "${KIWI_AUTH_MODULE_DIR:-}" ] && [ -f "$KIWI_AUTH_MODULE_DIR/file.so" ] ||
	ka_skip "the file module was not built (KIWI_AUTH_MODULE_DIR)"
DATA=${KA_TEST_DATA:-${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/data}/config
[ -d "$DATA/invalid" ] || ka_skip "no test data in $DATA"

# copy_case SRC DST: a private copy, whatever the checkout's modes are.
copy_case() {
	mkdir -p "$2" && cp -R "$1/." "$2/" || return 1
	find "$2" -type d -exec chmod 700 {} + &&
		find "$2" -type f -exec chmod 600 {} +
}

# has_diag LOCATION SUBSTRING: one stderr line holds both.
has_diag() {
	grep -F -e "$1" "$KA_ERR" | grep -F -e "$2" > /dev/null
}

run_case() {
	_name=$1
	_copy=$T/cases/$_name
	rm -rf "$_copy"
	if ! copy_case "$DATA/invalid/$_name" "$_copy"; then
		ka_fail "$_name: cannot copy the case"
		return
	fi
	if [ -d "$_copy/services.d" ]; then
		ka_run --config "$_copy" check
	else
		ka_run --config "$_copy/kiwi-auth.conf" check
	fi
	_bad=
	if [ "$KA_RC" -ne 3 ]; then
		_bad="exit $KA_RC, expected 3"
	fi
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in
		'' | '#'*) continue ;;
		[0-9]*) _file=kiwi-auth.conf; _rest=$_line ;;
		*) _file=${_line%%:*}; _rest=${_line#*:} ;;
		esac
		_lineno=${_rest%%:*}
		_msg=${_rest#*: }
		if ! has_diag "/$_file:$_lineno: " "$_msg"; then
			_bad="${_bad:+$_bad; }stderr lacks '$_file:$_lineno: ...$_msg'"
		fi
	done < "$DATA/invalid/$_name/expected"
	if [ -z "$_bad" ]; then
		ka_pass "invalid/$_name"
	else
		ka_fail "invalid/$_name: $_bad"
	fi
}

run_valid() {
	_name=$1
	mkdir -p "$T/valid"
	cp "$DATA/valid/$_name" "$T/valid/$_name" && chmod 600 "$T/valid/$_name"
	ka_run --config "$T/valid/$_name" check
	if [ "$KA_RC" -eq 0 ] && grep -F "configuration OK" "$KA_OUT" > /dev/null
	then
		ka_pass "valid/$_name"
	else
		ka_fail "valid/$_name: exit $KA_RC, expected 0"
	fi
}

for _dir in "$DATA"/invalid/*/; do
	_dir=${_dir%/}
	run_case "${_dir##*/}"
done
for _f in "$DATA"/valid/*.conf; do
	[ -f "$_f" ] && run_valid "${_f##*/}"
done
ka_finish
