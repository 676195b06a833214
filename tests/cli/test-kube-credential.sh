#!/bin/sh
# SPDX-License-Identifier: MIT
# test-kube-credential.sh: `kiwi-auth kube-credential` with real kubectl:
# a kubeconfig whose user is an exec entry pointing at it, and a local
# stand-in for the Kubernetes API server on 127.0.0.1
# (tests/servers/bearer_standin.py, mode kube) that checks the bearer
# token on `kubectl get --raw /api`. The stand-in speaks TLS with a
# certificate made here: kubectl reads a user's credentials (exec
# plugins included) only for an https server. The token comes from the `github`
# refresh module against its local stand-in, and it has expired: it is
# refreshed first. ExecCredential v1 and v1beta1; a service without
# `export` is refused; no token anywhere but on the bridge's stdout.
. "${KA_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/cli/lib.sh"
ka_setup
need() {	# CI installs both (tools/deps.sh): a skip there is a failure
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "${CI:-}" = true ] && { echo "FAIL (CI=true): $1 is not installed" >&2; exit 1; }
	ka_skip "$1 is not installed"
}
need kubectl
need openssl
# ExecCredential v1 came with kubectl 1.22; older ones speak v1beta1 only.
KMINOR=$(kubectl version --client -o json 2>/dev/null |
	python3 -c 'import json, re, sys
print(re.sub(r"[^0-9].*", "", json.load(sys.stdin)["clientVersion"]["minor"]))' 2>/dev/null)
[ -n "$KMINOR" ] || KMINOR=0
if [ "$KMINOR" -ge 22 ]; then V1=v1; else V1=v1beta1; fi
. "$KA_TOP_SRCDIR/tests/servers/lib-standin.sh"
standin_start github
{ github_service 'min_valid = 100; export = [ "kubectl" ];'
  cat <<EOF
noexport: {
  hosts = [ "https://noexport.invalid" ];
  source = ( { module = "file"; directory = "$TOK"; } );
};
global: { audit_file = "$T/audit.log"; };
EOF
} | ka_config "$CONF"
REC=$TOK/github@default.json

# A token that expires within min_valid: it must be refreshed before use.
standin_ctl '{"approve_after": 0, "expires_in": 30}'
cli signin github --no-browser
expect_rc 0 "signed in to the GitHub stand-in"
standin_ctl '{"expires_in": 28800}'
old=$(field "$REC" access_token)
printf 'ghp_not_exported_token_0123456789\n' > "$T/noexp.in"
clin "$T/noexp.in" token set noexport
expect_rc 0 "a token for the service without export"

# The API server stand-in accepts exactly the token in the record file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$T/api.key" -out "$T/api.crt" > "$T/openssl.log" 2>&1 ||
	{ cat "$T/openssl.log" >&2; ka_fail "a certificate for the stand-in"; ka_finish; }
cat "$T/api.crt" "$T/api.key" > "$T/api.pem"
python3 "$KA_TOP_SRCDIR/tests/servers/bearer_standin.py" kube "$T/api.port" \
	"$T/api.log" "$REC" "$T/api.pem" 2> "$T/api.err" &
STANDIN_PID="$STANDIN_PID $!"
n=0
while [ ! -s "$T/api.port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
[ -s "$T/api.port" ] || { cat "$T/api.err" >&2; ka_fail "the API stand-in started"; ka_finish; }
API=https://127.0.0.1:$(cat "$T/api.port")

user() {	# user NAME APIVERSION SERVICE
	cat <<EOF
- name: $1
  user:
    exec:
      apiVersion: client.authentication.k8s.io/$2
      command: $KA_CLI
      args: [ "--config", "$CONF", "kube-credential", "$3" ]
      interactiveMode: Never
      provideClusterInfo: false
EOF
}
ctx() {	# ctx NAME USER
	printf -- '- name: %s\n  context: { cluster: standin, user: %s }\n' "$1" "$2"
}
{ cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster: { server: "$API", certificate-authority: "$T/api.crt" }
current-context: first
contexts:
EOF
  ctx first me-first; ctx v1beta1 me-v1beta1; ctx noexport me-noexport
  echo "users:"
  user me-first "$V1" github; user me-v1beta1 v1beta1 github
  user me-noexport v1beta1 noexport
} > "$T/kubeconfig"
chmod 600 "$T/kubeconfig"

N=0
kc() {	# kc CONTEXT ARGS...: kubectl, output in $T/kc$N.{out,err}
	N=$((N + 1))
	_c=$1
	shift
	kubectl --kubeconfig "$T/kubeconfig" --context "$_c" "$@" \
		> "$T/kc$N.out" 2> "$T/kc$N.err" < /dev/null
	KA_RC=$?
	KC_OUT=$T/kc$N.out KC_ERR=$T/kc$N.err
	set -- "$T/kc$N.out" "$T/kc$N.err"
	KC_FILES="${KC_FILES:-} $*"
}

# ---- without a credential the stand-in refuses -------------------------------
python3 -c 'import ssl, sys, urllib.request, urllib.error
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    urllib.request.urlopen(sys.argv[1] + "/api", context=ctx)
    sys.exit(1)
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code == 401 else 1)' "$API" "$T/api.crt" &&
	ka_pass "the API stand-in answers 401 without a token" ||
	ka_fail "the API stand-in let a request without a token in"

# ---- v1: the expired token is refreshed first, then sent ----------------------
kc first get --raw /api
expect_rc 0 "kubectl get --raw /api through kube-credential ($V1)"
grep -q '"APIVersions"' "$KC_OUT" && ka_pass "kubectl printed the stand-in's answer" ||
	ka_fail "kubectl: $(cat "$KC_OUT" "$KC_ERR")"
grep -q '"scheme": "bearer", .*"result": "ok"' "$T/api.log" &&
	ka_pass "the stand-in saw the right bearer token" ||
	ka_fail "the stand-in's log: $(cat "$T/api.log")"
grep -q '"path": "refresh", "result": "ok"' "$SLOG" &&
	ka_pass "the expired token was refreshed first" ||
	ka_fail "no refresh at the GitHub stand-in"
[ "$(field "$REC" access_token)" != "$old" ] &&
	ka_pass "the record holds the refreshed token" ||
	ka_fail "the token did not change"

# ---- v1beta1, as kubectl asks for it in KUBERNETES_EXEC_INFO -----------------
: > "$T/api.log"
kc v1beta1 get --raw /api
expect_rc 0 "kubectl get --raw /api through kube-credential (v1beta1)"
grep -q '"result": "ok"' "$T/api.log" && ka_pass "v1beta1: the token arrived" ||
	ka_fail "v1beta1: $(cat "$KC_ERR")"

# ---- the ExecCredential itself ------------------------------------------------
# Its stdout is the one place the token may be: kept out of the transcript.
"$KA_CLI" --config "$CONF" kube-credential github > "$T/ec.json" \
	2> "$T/ec.err" < /dev/null
KA_RC=$?
KC_FILES="$KC_FILES $T/ec.err"
expect_rc 0 "kube-credential on its own"
python3 - "$T/ec.json" "$REC" <<'PY' && ka_pass "ExecCredential v1 with the record's token and its expiry (RFC 3339 UTC)" || ka_fail "the ExecCredential is not as expected"
import datetime, json, sys
ec = json.load(open(sys.argv[1]))
rec = json.load(open(sys.argv[2]))
st = ec["status"]
when = datetime.datetime.strptime(st["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
when = when.replace(tzinfo=datetime.timezone.utc).timestamp()
assert ec["apiVersion"] == "client.authentication.k8s.io/v1", ec["apiVersion"]
assert ec["kind"] == "ExecCredential"
assert st["token"] == rec["access_token"]
assert int(when) == int(rec["expires_at"])
PY
KUBERNETES_EXEC_INFO='{"apiVersion":"client.authentication.k8s.io/v2","kind":"ExecCredential"}'
export KUBERNETES_EXEC_INFO
cli kube-credential github
expect_rc 2 "an apiVersion the bridge does not speak"
expect_err "names an apiVersion this bridge does not speak" "says so"
[ ! -s "$KA_OUT" ] && ka_pass "and prints no credential" || ka_fail "stdout: not empty"
KUBERNETES_EXEC_INFO='not json'
cli kube-credential github
expect_rc 2 "KUBERNETES_EXEC_INFO that is not JSON"
unset KUBERNETES_EXEC_INFO

# ---- a service without export ---------------------------------------------------
kc noexport get --raw /api
[ "$KA_RC" -ne 0 ] && ka_pass "no export: kubectl fails" ||
	ka_fail "no export: kubectl succeeded"
grep -q "does not export its token to kubectl" "$KC_ERR" &&
	ka_pass "kubectl shows the message naming the setting" ||
	ka_fail "no export: $(cat "$KC_ERR")"
cli kube-credential noexport
expect_rc 6 "kube-credential for a service without export"
expect_err 'export = [ "kubectl" ]' "the message names the setting"
[ ! -s "$KA_OUT" ] && ka_pass "nothing on stdout" || ka_fail "stdout: not empty"

# ---- the canary: every token issued appears only on the bridge's stdout --------
grep -q 'outcome=exported service=github .*tool=kubectl .*fp=[0-9a-f]\{16\}' \
	"$T/audit.log" && ka_pass "exports are audited with a fingerprint" ||
	ka_fail "audit: $(cat "$T/audit.log")"
grep -q 'outcome=refused service=noexport .*tool=kubectl' "$T/audit.log" &&
	ka_pass "the refusal is audited" || ka_fail "no refusal audited"
printf 'ghp_not_exported_token_0123456789\n' >> "$T/secrets"
# shellcheck disable=SC2086
ka_no_token_leaked "$TOK" "$SLOG" "$T/api.log" "$T/api.err" "$T/audit.log" \
	$KC_FILES $(find "$HOME" -type f)
ka_finish
