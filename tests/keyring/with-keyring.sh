#!/bin/sh
# SPDX-License-Identifier: MIT
# with-keyring.sh: run a command against a private, unlocked Secret Service.
#
#   with-keyring.sh CMD [ARGS...]
#
# Starts a private D-Bus session (dbus-run-session, with a bus config that
# activates nothing) and gnome-keyring-daemon --unlock --components=secrets
# inside it, with its own temporary HOME and XDG directories, waits until
# org.freedesktop.secrets has an owner and the login collection is unlocked,
# runs CMD, and tears everything down. The real keyring is never touched.
#
# Exported to CMD:
#   KA_KEYRING_PID        pid of gnome-keyring-daemon (a test may SIGSTOP it)
#   KA_KEYRING_PASSWORD   password of the login collection (test only)
#   KA_KEYRING_EMPTY_BUS  address of a second bus with no Secret Service
#   KA_KEYRING_TMP        the private temporary directory
#   HOME, XDG_*_HOME, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS
#
# Exit status: that of CMD; 77 (skip) with a reason when the Secret Service
# cannot be started here; with CI=true that skip is a failure (exit 1).

PASSWORD='kiwi-auth-test-password'

skip() {
	if [ "${CI:-}" = true ]; then
		echo "with-keyring: FAIL (CI=true, skipping is not allowed): $*" >&2
		exit 1
	fi
	echo "with-keyring: SKIP: $*" >&2
	exit 77
}

bus_config() {
	# $1: config file to write, $2: socket directory
	cat >"$1" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=$2</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
}

name_has_owner() {
	dbus-send --session --print-reply --dest=org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
		string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}

login_unlocked() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets \
		/org/freedesktop/secrets/collection/login \
		org.freedesktop.DBus.Properties.Get \
		string:org.freedesktop.Secret.Collection string:Locked \
		2>/dev/null | grep -q 'boolean false'
}

# ---- inside the private session ---------------------------------------------
inner() {
	tmp=$1
	shift
	gkd_pid=
	bus2_pid=
	cleanup() {
		if [ -n "$gkd_pid" ]; then
			kill -CONT "$gkd_pid" 2>/dev/null
			kill -TERM "$gkd_pid" 2>/dev/null
			wait "$gkd_pid" 2>/dev/null
		fi
		[ -n "$bus2_pid" ] && kill -TERM "$bus2_pid" 2>/dev/null
	}
	trap cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	printf '%s' "$PASSWORD" | gnome-keyring-daemon --foreground --unlock \
		--components=secrets >"$tmp/gkd.log" 2>&1 &
	gkd_pid=$!
	i=0
	until name_has_owner; do
		i=$((i + 1))
		if [ $i -gt 250 ] || ! kill -0 "$gkd_pid" 2>/dev/null; then
			sed 's/^/gnome-keyring-daemon: /' "$tmp/gkd.log" >&2
			gkd_pid=
			skip "gnome-keyring-daemon did not take org.freedesktop.secrets"
		fi
		sleep 0.02
	done
	i=0
	until login_unlocked; do
		i=$((i + 1))
		[ $i -gt 250 ] && skip "the login collection did not appear unlocked"
		sleep 0.02
	done

	# A second bus without any Secret Service (the "no daemon" case).
	mkdir -m 700 "$tmp/bus2"
	bus_config "$tmp/bus2.conf" "$tmp/bus2"
	out=$(dbus-daemon --config-file="$tmp/bus2.conf" --fork \
		--print-address=1 --print-pid=1) ||
		skip "could not start a second dbus-daemon"
	KA_KEYRING_EMPTY_BUS=$(echo "$out" | sed -n 1p)
	bus2_pid=$(echo "$out" | sed -n 2p)

	KA_KEYRING_PID=$gkd_pid
	KA_KEYRING_PASSWORD=$PASSWORD
	KA_KEYRING_TMP=$tmp
	export KA_KEYRING_PID KA_KEYRING_PASSWORD KA_KEYRING_EMPTY_BUS \
		KA_KEYRING_TMP
	"$@"
	return $?
}

if [ "${1:-}" = --inner ]; then
	shift
	inner "$@"
	exit $?
fi

# ---- outside: checks, private directories, the session ------------------------
[ $# -ge 1 ] || { echo "usage: with-keyring.sh CMD [ARGS...]" >&2; exit 2; }
for tool in dbus-run-session dbus-daemon dbus-send gnome-keyring-daemon; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ka-keyring.XXXXXX") ||
	skip "cannot create a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 700 "$tmp"
mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/state" \
	"$tmp/bus"
mkdir -m 700 "$tmp/run"
HOME=$tmp/home
XDG_DATA_HOME=$tmp/data
XDG_CONFIG_HOME=$tmp/config
XDG_CACHE_HOME=$tmp/cache
XDG_STATE_HOME=$tmp/state
XDG_RUNTIME_DIR=$tmp/run
export HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME XDG_STATE_HOME \
	XDG_RUNTIME_DIR
unset DISPLAY WAYLAND_DISPLAY GNOME_KEYRING_CONTROL SSH_AUTH_SOCK \
	DBUS_SESSION_BUS_ADDRESS
bus_config "$tmp/bus.conf" "$tmp/bus"

dbus-run-session --config-file="$tmp/bus.conf" -- \
	sh "$0" --inner "$tmp" "$@"
rc=$?
exit $rc
