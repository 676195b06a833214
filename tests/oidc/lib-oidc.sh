# SPDX-License-Identifier: MIT
# lib-oidc.sh: shared set-up of the OAuth2 tests against the real test
# server (POSIX sh; source it from a test script as its first action).
#
#   . "$KA_TOP_SRCDIR/tests/oidc/lib-oidc.sh"
#
# Re-runs the sourcing script under tests/servers/oidc/with-oidc.sh when no
# server runs yet, then sets up a private temp dir (tests/cli/lib.sh) and
# writes $CONF with these services, all storing into $TOK with the file
# module:
#   native   device flow / code + PKCE, public client kiwi-native
#   machine  client credentials, confidential client kiwi-service
#   down     like native, token endpoint on a port where nothing listens
# Helpers:
#   device_signin SERVICE [ACCOUNT]   signs in, the test driving the user part
#   code_signin SERVICE [ACCOUNT]     the same with --flow code
#   rec SERVICE [ACCOUNT]             path of the record file
#   field_of FILE FIELD               sha256 of a record field (never the value)
#   probe ARGS...                     node probe.mjs ARGS
#   grants TYPE                       how many TYPE grants the server performed
#   helper CMD SERVICE ARGS...        the oidc_helper program

: "${KA_TOP_SRCDIR:?run from make check (KA_TOP_SRCDIR is not set)}"
: "${KA_TOP_BUILDDIR:?run from make check}"
if [ -z "${OIDC_ISSUER:-}" ]; then
	OIDC_ACCESS_TTL=${OIDC_ACCESS_TTL:-6}
	export OIDC_ACCESS_TTL
	exec sh "$KA_TOP_SRCDIR/tests/servers/oidc/with-oidc.sh" sh "$0" "$@"
fi

. "$KA_TOP_SRCDIR/tests/cli/lib.sh"
ka_setup

HELPER=$KA_TOP_BUILDDIR/tests/oidc/oidc_helper
if [ ! -x "$HELPER" ]; then
	[ "${CI:-}" = true ] && ka_fail "$HELPER was not built"
	ka_skip "$HELPER was not built (make check builds it)"
fi

CONF=$T/kiwi-auth.conf
TOK=$T/tokens
printf '%s\n' "$OIDC_CLIENT_SECRET" >"$T/secret"
chmod 600 "$T/secret"
mkdir -p "$TOK"
chmod 700 "$TOK"

# oauth2_stanza NAME REFRESH-ARGS: one service on the test server.
oauth2_stanza() {
	cat <<EOF
$1: {
  description = "test server $1";
  hosts = [ "$OIDC_ISSUER" ];
  scopes = [ "$1:scope" ];
  min_valid = 1;
  source = ( { module = "file"; directory = "$TOK"; } );
  refresh = { module = "oauth2"; $2 };
};
EOF
}

NATIVE_ARGS="issuer = \"$OIDC_ISSUER\"; client_id = \"kiwi-native\";
    scopes = [ \"openid\", \"offline_access\", \"api:read\" ];
    device_interval = 1; timeout = 5;"
{
	oauth2_stanza native "$NATIVE_ARGS"
	oauth2_stanza machine "issuer = \"$OIDC_ISSUER\"; client_id = \"kiwi-service\";
    client_secret_file = \"$T/secret\"; flow = \"client-credentials\";
    scopes = [ \"api:read\" ];"
	oauth2_stanza down "token_url = \"http://127.0.0.1:1/token\";
    client_id = \"kiwi-native\"; timeout = 5;"
	if [ -n "${EXTRA_STANZAS:-}" ]; then
		printf '%s\n' "$EXTRA_STANZAS"
	fi
} >"$CONF"
chmod 600 "$CONF"
KIWI_AUTH_CONFIG=$CONF
export KIWI_AUTH_CONFIG
# The services list api:read as theirs, so `request --scope api:read` picks
# native; machine and down keep their own names.
sed -i 's/"native:scope"/"api:read"/' "$CONF"

cli() {
	"$KA_CLI" --config "$CONF" "$@"
}

rec() {
	echo "$TOK/$1@${2:-default}.json"
}

field_of() {
	node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const v = r[process.argv[2]];
process.stdout.write(v ? require("crypto").createHash("sha256").update(v).digest("hex") : "none");' "$1" "$2"
}

probe() {
	node "$OIDC_NODE_DIR/probe.mjs" "$@"
}

grants() {
	grep -c "^grant $1 " "$OIDC_EVENT_LOG"
}

# Every token the server issues is a canary (tests/cli/lib.sh).
ka_after_run() { ka_remember_tokens "$TOK"; }

helper() {
	_cmd=$1
	shift
	"$HELPER" "$_cmd" "$CONF" "$@"
}

# wait_for FILE TEXT [SECONDS]: until FILE contains TEXT.
wait_for() {
	n=0
	while [ $n -lt $((${3:-10} * 20)) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

# signin_with FLOW SERVICE ACCOUNT: runs `signin` in the background and
# plays the user's part with driver.mjs.
signin_with() {
	flow=$1 svc=$2 acct=$3
	: >"$T/signin.err"
	cli signin "$svc" --account "$acct" --flow "$flow" --no-browser \
		>"$T/signin.out" 2>"$T/signin.err" &
	spid=$!
	if [ "$flow" = device ]; then
		wait_for "$T/signin.err" "enter the code" ||
			{ kill $spid; cat "$T/signin.err"; return 1; }
		code=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$T/signin.err")
		node "$OIDC_NODE_DIR/driver.mjs" ${DRIVER_MODE:-device} "$OIDC_ISSUER" "$code" ||
			{ kill $spid; return 1; }
	else
		wait_for "$T/signin.err" "/auth?" ||
			{ kill $spid; cat "$T/signin.err"; return 1; }
		url=$(grep -o 'http://127.0.0.1:[0-9]*/auth?[^ ]*' "$T/signin.err")
		node "$OIDC_NODE_DIR/driver.mjs" code "$url" ||
			{ kill $spid; return 1; }
	fi
	wait $spid
	_rc=$?
	cat "$T/signin.out" "$T/signin.err" >>"$T/transcript"
	ka_remember_tokens "$TOK"
	return $_rc
}

device_signin() {
	signin_with device "$1" "${2:-default}"
}

code_signin() {
	signin_with code "$1" "${2:-default}"
}
