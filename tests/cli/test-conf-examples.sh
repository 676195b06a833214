#!/bin/sh
# SPDX-License-Identifier: MIT
# test-conf-examples.sh: the example services shipped in conf/services.d are
# harmless as installed (commented out) and pass `kiwi-auth check` once
# uncommented with their <placeholders> filled in, one by one and all
# together.
. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup

EX=$KA_TOP_SRCDIR/conf/services.d
SUPABASE_ANON_KEY=example-anon-key
export SUPABASE_ANON_KEY

# fill FILE: uncomment the stanza and fill in every placeholder.
fill() {
	sed -e 's/^#\([^#]\)/\1/' \
	    -e 's/<project-ref>/abcd1234/g' \
	    -e 's/<you@example\.com>/me@example.com/g' \
	    -e 's/<client-id>/Iv1.0123456789abcdef/g' \
	    -e 's/<github\.example\.com>/github.example.com/g' \
	    -e 's/<example\.com>/example.com/g' \
	    -e 's/<cloud\.example\.com>/cloud.example.com/g' \
	    -e 's/<client>/api/g' \
	    -e 's|/usr/local/bin/<token-helper>|/bin/true|g' "$1"
}

mkdir -p "$T/all/services.d"
count=0
for f in "$EX"/*.conf; do
	name=$(basename "$f")
	count=$((count + 1))
	ka_config "$T/$name" <"$f"
	ka_run --config "$T/$name" check
	expect_rc 0 "$name as shipped checks"
	expect_out "configuration OK: 0 services" "$name as shipped enables nothing"
	fill "$f" | ka_config "$T/filled-$name"
	if grep -n '<[a-z]' "$T/filled-$name" | grep -v '^[0-9]*: *#' >"$T/left"; then
		ka_fail "$name: placeholders the test does not know: $(cat "$T/left")"
	fi
	ka_run --config "$T/filled-$name" check
	expect_rc 0 "$name filled in checks"
	expect_out "configuration OK: 1 services" "$name defines one service"
	cp "$T/filled-$name" "$T/all/services.d/$name"
done

ka_finish
