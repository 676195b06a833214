#!/bin/sh
# SPDX-License-Identifier: MIT
# test-spdx.sh: every source file carries the licence line
# (SPDX-License-Identifier: MIT), as tools/spdx-add.sh --check finds it in
# the git checkout or, in an unpacked dist tarball, in its file list; and
# the checker itself refuses a file without the line and a file it does
# not know how to comment.

. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"

SRC=${KA_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TOOL=$SRC/tools/spdx-add.sh
[ -x "$TOOL" ] || ka_skip "$TOOL is missing"
if ! { [ -f "$SRC/build-aux/dist-files" ] ||
       git -C "$SRC" rev-parse --show-toplevel >/dev/null 2>&1; }; then
	ka_skip "$SRC is neither a git checkout nor an unpacked dist tarball"
fi

ka_scratch spdx

# The tree itself.
KA_RC=0
"$TOOL" --check >"$KA_OUT" 2>"$KA_ERR" || KA_RC=$?
if [ "$KA_RC" -eq 0 ] && [ ! -s "$KA_OUT" ]; then
	ka_pass "every source file has the licence line"
else
	cat "$KA_OUT" "$KA_ERR" >&2
	ka_fail "files without the licence line (run tools/spdx-add.sh)"
fi

# A fake dist tree: one C file with the line, one without, one of an
# unknown type, one exempt corpus file.
F=$T/tree
mkdir -p "$F/build-aux" "$F/src" "$F/tests/fuzz/corpus/x"
printf '/* SPDX-License-Identifier: MIT */\nint a;\n' >"$F/src/good.c"
printf 'int b;\n' >"$F/src/bad.c"
printf 'data\n' >"$F/src/blob.xyz"
printf 'input\n' >"$F/tests/fuzz/corpus/x/00"
printf 'src/good.c\nsrc/bad.c\nsrc/blob.xyz\ntests/fuzz/corpus/x/00\n' \
	>"$F/build-aux/dist-files"
KA_RC=0
SPDX_TOP=$F "$TOOL" --check >"$KA_OUT" 2>"$KA_ERR" || KA_RC=$?
expect_rc 1 "the check fails on a tree with a file missing the line"
expect_out "src/bad.c" "the check names the file without the line"
expect_err "src/blob.xyz: unknown file type" "the check names a file it cannot comment"
if grep -q "good.c\|corpus" "$KA_OUT" "$KA_ERR"; then
	ka_fail "the check named a file with the line or an exempt file"
else
	ka_pass "files with the line and exempt files pass"
fi

# Adding: the line lands first in C, after the shebang in a script.
rm "$F/src/blob.xyz"
printf 'src/good.c\nsrc/bad.c\nrun.sh\n' >"$F/build-aux/dist-files"
printf '#!/bin/sh\necho hi\n' >"$F/run.sh"
chmod 755 "$F/run.sh"
SPDX_TOP=$F "$TOOL" >/dev/null 2>"$KA_ERR" || ka_fail "spdx-add.sh failed: $(cat "$KA_ERR")"
if [ "$(head -n 1 "$F/src/bad.c")" = "/* SPDX-License-Identifier: MIT */" ] &&
   [ "$(sed -n 2p "$F/src/bad.c")" = "int b;" ]; then
	ka_pass "the line is the first of a C file"
else
	ka_fail "C file after spdx-add.sh: $(cat "$F/src/bad.c")"
fi
if [ "$(head -n 1 "$F/run.sh")" = "#!/bin/sh" ] &&
   [ "$(sed -n 2p "$F/run.sh")" = "# SPDX-License-Identifier: MIT" ] &&
   [ -x "$F/run.sh" ]; then
	ka_pass "the line follows a script's shebang and the script stays executable"
else
	ka_fail "script after spdx-add.sh: $(cat "$F/run.sh")"
fi
if SPDX_TOP=$F "$TOOL" --check >/dev/null 2>&1; then
	ka_pass "the tree passes the check once the lines are added"
else
	ka_fail "the check still fails after spdx-add.sh"
fi
ka_finish
