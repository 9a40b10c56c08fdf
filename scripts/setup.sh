#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs mxthrottle's build and test dependencies from Debian 12 packages.
# Postfix is preseeded "No configuration" so no system instance starts: the
# tests run their own instance with postfix -c.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: must run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential clang llvm libbpf-dev libxdp-dev xdp-tools bpftool \
	libelf-dev zlib1g-dev pkg-config libcmocka-dev liblmdb-dev libinih-dev \
	iproute2 nftables iptables ethtool postfix swaks postgrey groff-base \
	libclang-rt-14-dev libcap-dev jq procps psmisc util-linux adduser \
	libmicrohttpd-dev libsystemd-dev prometheus curl debhelper dpkg-dev fakeroot \
	libhiredis-dev redis-server
# Debian's postgrey starts a system daemon; benchmarks start their own.
systemctl disable --now postgrey >/dev/null 2>&1 || true
# Likewise Debian's prometheus: tests/integration/test_ops.sh runs its own
# on a namespace's loopback.
systemctl disable --now prometheus >/dev/null 2>&1 || true
# Likewise redis-server: the fleet tests start their own on a private unix socket.
systemctl disable --now redis-server >/dev/null 2>&1 || true
# The daemon drops to this unprivileged user after start-up (keeping only
# CAP_BPF for its maps).
if ! getent passwd mxthrottle >/dev/null; then
	adduser --system --group --no-create-home --home /var/lib/mxthrottle mxthrottle >/dev/null
fi
