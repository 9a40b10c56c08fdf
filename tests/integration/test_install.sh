#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_install.sh - the build and install contract of the Makefile and the
# Debian package, under lib.sh's private mount namespace.
#
# Cases (one run_test each):
#   cflags_kept   "make CFLAGS=-O0 CPPFLAGS=-DX" keeps -std=gnu11,
#                 -D_GNU_SOURCE, the warnings and -MMD, adds the user's
#                 flags, and drops _FORTIFY_SOURCE (it needs -O)
#   header_deps   objects list their headers in .d files (-MMD -MP)
#   destdir       make install DESTDIR= PREFIX= puts every file in place,
#                 rewrites the unit's paths, and the installed daemon
#                 prints the tree's version
#   deb           make deb builds the package; dpkg -i installs it (into
#                 overlays over /usr, /etc and /var that die with the
#                 namespace, so the host's dpkg database never sees it),
#                 the config is a conffile, the user exists, the packaged
#                 daemon checks its config (-n); dpkg -P removes every file
#                 it listed, /etc/mxthrottle and /var/lib/mxthrottle
#
# Building the package takes about a minute on two cores.  Run as root:
#   bash tests/integration/test_install.sh

: "${MXT_TEST_TIMEOUT:=280}"
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

for t in make dpkg dpkg-buildpackage dpkg-deb; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (scripts/setup.sh)"
		exit 1
	fi
done

W=
OVERLAID=()

i_cleanup() {
	local rc=$? d
	for d in "${OVERLAID[@]}"; do umount -l "$d" 2>/dev/null; done
	[ -n "$W" ] && umount -l "$W" 2>/dev/null && rmdir "$W"
	(exit "$rc")
	mxt_cleanup
}
trap i_cleanup EXIT

# Scratch space big enough for a package build (tmpfs: gone with the test).
W=$(mktemp -d /tmp/mxt-install.XXXXXX) &&
	mount -t tmpfs -o size=1g,mode=0755 mxt-install "$W" || { fail setup "scratch tmpfs: got failure, want mounted"; exit 1; }

# mk ARGS...: make in the source tree with this run's build directory.
mk() {
	make -C "$MXT_ROOT" --no-print-directory BUILD="$BUILD" "$@"
}

t_cflags_kept() {
	local cmd f
	cmd=$(mk -n -B V=1 CFLAGS=-O0 CPPFLAGS=-DMXT_USER_FLAG "$BUILD/obj/core/addr.o" | grep -- ' -c user/core/addr.c')
	for f in -std=gnu11 -D_GNU_SOURCE -Werror -Wall -Wextra -MMD -O0 -DMXT_USER_FLAG -Imaps; do
		expect_true "compile line has $f" "'$cmd'" grep -qe " $f" <<<"$cmd"
	done
	expect_true "no _FORTIFY_SOURCE at -O0" "'$cmd'" sh -c "! printf '%s' '$cmd' | grep -q FORTIFY"
	cmd=$(mk -n -B V=1 "$BUILD/obj/core/addr.o" | grep -- ' -c user/core/addr.c')
	expect_true "default build: -O2 and _FORTIFY_SOURCE" "'$cmd'" \
		sh -c "printf '%s' '$cmd' | grep -q -- '-O2' && printf '%s' '$cmd' | grep -q FORTIFY_SOURCE=2"
}

t_header_deps() {
	local b=$W/hdr
	# A fresh build directory: the test must not depend on the state of
	# the tree's own build/.
	expect_ok "one object into a fresh build dir" mk BUILD="$b" "$b/obj/core/addr.o"
	expect_true "addr.d lists addr.h" "$(head -c 200 "$b/obj/core/addr.d" 2>/dev/null | tr '\n' ' ')" \
		grep -q 'user/core/addr.h' "$b/obj/core/addr.d"
	expect_true "-MP: addr.h is a target of its own" "missing" grep -q '^user/core/addr.h:' "$b/obj/core/addr.d"
	# Right after a build nothing is compiled again (the version header
	# is rewritten only when the version changes).
	expect_eq "second make compiles" "$(mk BUILD="$b" "$b/obj/core/addr.o" 2>&1 | grep -cE '^  (CC|LINK|AR|BPF)')" 0
}

t_destdir() {
	local root=$W/root f want
	expect_ok "make install" mk install DESTDIR="$root" PREFIX=/usr UNITDIR=/lib/systemd/system
	for f in usr/sbin/mxthrottled usr/sbin/mxthrottle usr/share/man/man8/mxthrottled.8 \
		usr/share/man/man8/mxthrottle.8 usr/share/man/man5/mxthrottle.conf.5 \
		lib/systemd/system/mxthrottled.service etc/mxthrottle/mxthrottle.conf; do
		expect_true "installed /$f" "missing" test -s "$root/$f"
	done
	expect_true "unit runs /usr/sbin/mxthrottled -F" "$(grep ^ExecStart= "$root/lib/systemd/system/mxthrottled.service")" \
		grep -qx 'ExecStart=/usr/sbin/mxthrottled -F' "$root/lib/systemd/system/mxthrottled.service"
	expect_ok "make install PREFIX=/usr/local" mk install DESTDIR="$root/local"
	expect_true "PREFIX=/usr/local unit" "$(grep ^ExecStart= "$root/local/usr/local/lib/systemd/system/mxthrottled.service")" \
		grep -qx 'ExecStart=/usr/local/sbin/mxthrottled -F' "$root/local/usr/local/lib/systemd/system/mxthrottled.service"
	want=$(mk -s version)
	expect_eq "installed daemon -V" "$("$root/usr/sbin/mxthrottled" -V)" "mxthrottled $want"
	expect_eq "installed CLI --version" "$("$root/usr/sbin/mxthrottle" --version)" "mxthrottle $want"
}

# overlay DIR: writes to DIR go to a tmpfs from now on (this namespace only).
overlay() {
	local d=$1 n
	n=$(basename "$d")
	mkdir -p "$W/ov/$n.up" "$W/ov/$n.work" || return 1
	mount -t overlay "mxt-ov-$n" -o "lowerdir=$d,upperdir=$W/ov/$n.up,workdir=$W/ov/$n.work" "$d" || return 1
	OVERLAID+=("$d")
}

t_deb() {
	local deb files f left=() conff out
	note "building the package (make deb)"
	if ! out=$(mk deb BUILD="$W/debbuild" 2>&1); then
		expect_eq "make deb" "$(tail -n 5 <<<"$out" | tr '\n' '|')" "success"
		return
	fi
	deb=$(ls "$W"/debbuild/deb/mxthrottle_*.deb 2>/dev/null | head -n1)
	expect_true "make deb made a .deb" "none" test -s "$deb"
	for d in /usr /etc /var; do
		overlay "$d" || { expect_eq "overlay $d" failure success; return; }
	done
	expect_ok "dpkg -i" dpkg -i "$deb"
	expect_eq "package state" "$(dpkg-query -W -f='${Status}' mxthrottle 2>&1)" "install ok installed"
	files=$(dpkg -L mxthrottle)
	note "dpkg -L mxthrottle: $(grep -E 'bin/|\.service|\.conf$|man[58]/' <<<"$files" | tr '\n' ' ')"
	for f in /usr/sbin/mxthrottled /usr/sbin/mxthrottle /lib/systemd/system/mxthrottled.service \
		/etc/mxthrottle/mxthrottle.conf /usr/share/man/man8/mxthrottled.8.gz; do
		expect_true "dpkg -L lists $f" "not listed" grep -qx "$f" <<<"$files"
	done
	conff=$(dpkg-query -W -f='${Conffiles}' mxthrottle)
	expect_true "mxthrottle.conf is a conffile" "'$conff'" grep -q '/etc/mxthrottle/mxthrottle.conf' <<<"$conff"
	expect_ok "postinst made the mxthrottle user" getent passwd mxthrottle
	expect_eq "packaged mxthrottled -n" "$(/usr/sbin/mxthrottled -n 2>&1)" "configuration OK"
	expect_true "packaged mxthrottled -V" "$(/usr/sbin/mxthrottled -V)" \
		grep -q "^mxthrottled $(cat "$MXT_ROOT/VERSION")" <<<"$(/usr/sbin/mxthrottled -V)"
	mkdir -p /var/lib/mxthrottle && touch /var/lib/mxthrottle/history.mdb # as a run leaves it
	expect_ok "dpkg -P" dpkg -P mxthrottle
	expect_true "package gone" "$(dpkg-query -W -f='${Status}' mxthrottle 2>&1)" \
		sh -c "! dpkg-query -W -f='\${Status}' mxthrottle 2>/dev/null | grep -q installed"
	while read -r f; do
		[ -n "$f" ] && [ ! -d "$f" ] && [ -e "$f" ] && left+=("$f")
	done <<<"$files"
	for f in /etc/mxthrottle /var/lib/mxthrottle; do [ -e "$f" ] && left+=("$f"); done
	expect_eq "files left after dpkg -P" "${left[*]}" ""
}

run_test install.cflags_kept t_cflags_kept
run_test install.header_deps t_header_deps
run_test install.destdir t_destdir
run_test install.deb t_deb
