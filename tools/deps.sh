#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages kiwi-auth needs to build and test. Runs as
# root (or through sudo). Skips apt entirely when everything is present.
set -eu

PKGS="build-essential autoconf automake libtool pkg-config
libsecret-1-dev libcurl4-openssl-dev libconfig-dev libjansson-dev
libcmocka-dev gnome-keyring dbus dbus-x11 libsecret-tools python3 curl
clang libclang-rt-14-dev git openssl
python3-pytest python3-httpx python3-requests python3-venv python3-pip
python3-setuptools
debhelper dpkg-dev fakeroot lintian bash-completion groff-base dh-python
python3-all"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# kubectl for tests/cli/test-kube-credential.sh: any kubectl on PATH will
# do (e.g. a newer one from Kubernetes' own repository); else Debian's.
command -v kubectl >/dev/null 2>&1 ||
	dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null |
	grep -q "ok installed" || missing="$missing kubernetes-client"
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q $missing
