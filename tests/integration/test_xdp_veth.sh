#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_xdp_veth.sh - mxthrottle end to end on a veth pair, in native and in
# generic (skb) XDP mode: real TCP connections (mxt-connect) from several
# source addresses of a sender namespace to a real listener (mxt-listen) on
# ports 25 and 2525 of a gateway namespace whose veth runs the program.
#
# The accounting is exact, not statistical: mxt-connect's timeout (300 ms)
# is shorter than TCP's first SYN retransmission (1 s), so every connection
# is exactly one SYN.  An established connection is one admitted SYN and
# one accept() on the listener; a timed-out one is one dropped SYN.  Each
# test checks that the client's ok/fail counts, the listener's per-source
# accept counts and the program's counters (stats reasons, show ADDR) all
# tell the same story.  Only the number admitted from a burst has a range:
# burst B, plus at most one extra per CPU (the GCRA race documented in
# gcra.h).
#
# Limits: unknown_rate=60/min (one token per second), unknown_burst=5,
# global budget unlimited so that it never interferes.  Bursts are sent
# with concurrency equal to their size so they take milliseconds and no
# token refills in between.
#
# Each mode uses its own pin dir (fresh maps), and ends detached.
# Run as root: bash tests/integration/test_xdp_veth.sh  (BUILD=... to pick
# the build dir; default ./build).

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

RATE=60
BURST=5
NCPU=$(nproc)
# The most a burst can get admitted: its tokens plus one per CPU race.
BURST_MAX=$((BURST + NCPU))
PIN=
MODE=

# --- helpers over the CLI's JSON ---------------------------------------------

# stat NAME: a reason counter from "stats --json" (summed over CPUs).
stat() {
	jget "$(mxt "$PIN" stats --json)" ".reasons.$1"
}

# stats_snapshot: all reason counters as one JSON object (for deltas).
stats_snapshot() {
	jget "$(mxt "$PIN" stats --json)" '.reasons | tojson'
}

# sdelta BEFORE AFTER NAME: how much reason NAME grew between snapshots
# ("missing" when either lacks it, so a broken "stats" never reads as 0).
sdelta() {
	local a b
	a=$(jget "$1" ".$3"); b=$(jget "$2" ".$3")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "missing"
		return
	fi
	echo $((b - a))
}

# show ADDR FIELD: a field of "show ADDR --json" (a source never seen
# reads as 0 syns, 0 dropped); "cli-error" when the command fails, so a
# failure never passes for a 0.
show() {
	local j
	j=$(mxt "$PIN" show "$1" --json) || { echo cli-error; return; }
	jget "$j" ".$2" | grep . || echo "missing"
}

# status_iface FIELD: a field of our interface in "status --json".
status_iface() {
	jget "$(mxt "$PIN" status --json)" ".interfaces[] | select(.ifname == \"$GW_IF\") | .$1"
}

# cfg KEY: a configuration value from "config get KEY --json".
cfg() {
	local j
	j=$(mxt "$PIN" config get "$1" --json) || return 1
	jget "$j" ".$1 // .value"
}

# burst SRC N CONC [PORT]: N connections from SRC with CONC in flight.
# Sets C_OK, C_FAIL, C_TIMEOUT and L_DELTA (accepts the listener counted).
burst() {
	local src=$1 n=$2 conc=$3 port=${4:-25} dst=$GW4 before after j
	[[ $src == *:* ]] && dst=$GW6
	before=$(lcount L "$port" "$src")
	j=$(connect_json "$src" "$dst" "$port" "$n" "$conc")
	C_OK=$(jget "$j" .ok)
	C_FAIL=$(jget "$j" .fail)
	C_TIMEOUT=$(jget "$j" .timeout)
	after=$(lcount L "$port" "$src")
	if [ -n "$before" ] && [ -n "$after" ]; then
		L_DELTA=$((after - before))
	else
		L_DELTA="listener-error"
	fi
	note "$MODE: $src -> :$port n=$n c=$conc: ok=$C_OK fail=$C_FAIL timeout=$C_TIMEOUT accepted=$L_DELTA"
}

# expect_burst WHAT N OKMIN OKMAX: the last burst had OKMIN..OKMAX
# established, the rest failed by timeout (dropped SYNs, not refusals), and
# the listener accepted exactly the established ones.
expect_burst() {
	local what=$1 n=$2 lo=$3 hi=$4
	expect_range "$what: connections established" "$C_OK" "$lo" "$hi"
	expect_eq "$what: ok+fail" "$(( ${C_OK:-0} + ${C_FAIL:-0} ))" "$n"
	expect_eq "$what: failures that were timeouts (silently dropped SYNs)" "$C_TIMEOUT" "$C_FAIL"
	expect_eq "$what: listener accepts vs client ok" "$L_DELTA" "$C_OK"
}

# --- per-mode setup -------------------------------------------------------------------

# Attach in MODE with a fresh pin dir and the test's limits.
mode_setup() {
	MODE=$1
	PIN=$MXT_BPFFS/$MODE
	local k
	expect_ok "attach --mode $MODE" mxt "$PIN" attach "$GW_IF" --mode "$MODE"
	expect_eq "XDP mode on $GW_IF after attach" "$(xdp_attached "$GW" "$GW_IF")" "$MODE"
	for k in "mode enforce" "ports 25" "v4_prefix 32" "v6_prefix 64" \
		"unknown_rate $RATE" "unknown_burst $BURST" \
		"global_rate unlimited" "global_burst 1000000"; do
		# shellcheck disable=SC2086
		expect_ok "config set $k" mxt "$PIN" config set $k
	done
	expect_eq "config get unknown_burst" "$(cfg unknown_burst)" "$BURST"
	expect_eq "program pinned as mxt_xdp" "$(test -e "$PIN/mxt_xdp" && echo yes)" yes
	expect_eq "status --json: mode of $GW_IF" "$(status_iface mode)" "$MODE"
}

# --- tests ------------------------------------------------------------------------------

# An over-limit source loses exactly its excess; sources within their
# limit lose nothing; every counter agrees.
t_per_source_limit() {
	local s0 s1 ok1 fail1 top
	s0=$(stats_snapshot)
	burst 198.18.1.1 20 20
	expect_burst "198.18.1.1 (20 at once)" 20 "$BURST" "$BURST_MAX"
	ok1=$C_OK fail1=$C_FAIL
	expect_eq "show 198.18.1.1 syns" "$(show 198.18.1.1 syns)" 20
	expect_eq "show 198.18.1.1 dropped vs client fail" "$(show 198.18.1.1 dropped)" "$fail1"
	top=$(mxt "$PIN" top -n 10 -i 0.1 --json)
	expect_eq "top --json: 198.18.1.1 syns/dropped" \
		"$(jget "$top" '.sources[] | select(.source | startswith("198.18.1.1")) | "\(.syns)/\(.dropped)"')" \
		"20/$fail1"

	burst 198.18.1.2 4 1
	expect_burst "198.18.1.2 (4, sequential)" 4 4 4
	expect_eq "show 198.18.1.2 dropped" "$(show 198.18.1.2 dropped)" 0
	expect_eq "show 198.18.1.2 syns" "$(show 198.18.1.2 syns)" 4

	burst 198.18.1.4 5 5
	expect_burst "198.18.1.4 (exactly its burst)" 5 5 5
	expect_eq "show 198.18.1.4 dropped" "$(show 198.18.1.4 dropped)" 0

	s1=$(stats_snapshot)
	expect_eq "stats source_limit delta vs client fail" "$(sdelta "$s0" "$s1" source_limit)" "$fail1"
	expect_eq "stats admitted delta vs client ok" "$(sdelta "$s0" "$s1" admitted)" $((ok1 + 4 + 5))
	expect_eq "stats monitor delta (enforce mode)" "$(sdelta "$s0" "$s1" monitor)" 0
}

# An allowlisted source above the limit is never dropped; after "allow
# del" the same source is limited again.
t_allowlist() {
	local s0 s1 list
	expect_ok "allow add 198.18.1.3/32" mxt "$PIN" allow add 198.18.1.3/32
	list=$(mxt "$PIN" allow list --json)
	expect_true "allow list --json lists 198.18.1.3/32" "'$list'" \
		grep -q '198\.18\.1\.3/32' <<<"$list"
	s0=$(stats_snapshot)
	burst 198.18.1.3 20 20
	expect_burst "allowlisted 198.18.1.3 (20 at once)" 20 20 20
	s1=$(stats_snapshot)
	expect_eq "stats allowlisted delta" "$(sdelta "$s0" "$s1" allowlisted)" 20
	expect_eq "stats source_limit delta" "$(sdelta "$s0" "$s1" source_limit)" 0
	expect_eq "show 198.18.1.3 dropped" "$(show 198.18.1.3 dropped)" 0

	expect_ok "allow del 198.18.1.3/32" mxt "$PIN" allow del 198.18.1.3/32
	burst 198.18.1.3 20 20
	expect_burst "198.18.1.3 after allow del" 20 "$BURST" "$BURST_MAX"
}

# SYNs to a port that is not configured are neither limited nor charged
# to the source, even for a source that is over its limit on port 25.
t_other_port() {
	local s0 s1 syns0
	syns0=$(show 198.18.1.1 syns)
	s0=$(stats_snapshot)
	burst 198.18.1.1 20 20 2525
	expect_burst "198.18.1.1 -> :2525 (20 at once)" 20 20 20
	s1=$(stats_snapshot)
	expect_eq "stats other_port delta" "$(sdelta "$s0" "$s1" other_port)" 20
	expect_eq "stats source_limit delta" "$(sdelta "$s0" "$s1" source_limit)" 0
	expect_eq "show 198.18.1.1 syns unchanged by :2525" "$(show 198.18.1.1 syns)" "$syns0"
}

# Two IPv6 sources in one /64 share a bucket (v6_prefix 64); a source in
# another /64 has its own.
t_ipv6_prefix() {
	local fail_b
	burst 2001:2:0:1::1 4 1
	expect_burst "2001:2:0:1::1 (4, sequential)" 4 4 4
	burst 2001:2:0:1::2 4 4
	# 4 of the /64's 5 tokens are spent: one more is admitted.
	expect_burst "2001:2:0:1::2 (same /64, 4 at once)" 4 1 $((1 + NCPU))
	fail_b=$C_FAIL
	expect_eq "show 2001:2:0:1::1 syns (whole /64)" "$(show 2001:2:0:1::1 syns)" 8
	expect_eq "show 2001:2:0:1::1 dropped (whole /64)" "$(show 2001:2:0:1::1 dropped)" "$fail_b"
	expect_eq "show 2001:2:0:1::2 is the same bucket (syns)" "$(show 2001:2:0:1::2 syns)" 8
	burst 2001:2:0:2::1 5 5
	expect_burst "2001:2:0:2::1 (other /64, its own burst)" 5 5 5
	expect_eq "show 2001:2:0:2::1 syns" "$(show 2001:2:0:2::1 syns)" 5
}

# Monitor mode passes everything and counts the would-be drops.
t_monitor() {
	local s0 s1 mon
	expect_ok "config set mode monitor" mxt "$PIN" config set mode monitor
	expect_eq "config get mode" "$(cfg mode)" monitor
	s0=$(stats_snapshot)
	burst 198.18.1.5 20 20
	expect_burst "198.18.1.5 in monitor mode (20 at once)" 20 20 20
	s1=$(stats_snapshot)
	mon=$(sdelta "$s0" "$s1" monitor)
	expect_range "stats monitor delta (would-be drops)" "$mon" $((20 - BURST_MAX)) $((20 - BURST))
	expect_eq "stats source_limit delta" "$(sdelta "$s0" "$s1" source_limit)" 0
	expect_eq "stats admitted + monitor delta" "$(( $(sdelta "$s0" "$s1" admitted) + mon ))" 20
	expect_eq "show 198.18.1.5 dropped counts would-be drops" "$(show 198.18.1.5 dropped)" "$mon"
	expect_ok "config set mode enforce" mxt "$PIN" config set mode enforce
	expect_eq "config get mode" "$(cfg mode)" enforce
}

# Detach, traffic while detached, re-attach: the pinned state (per-source
# counters, reasons, config) survives; the program keeps enforcing after
# the CLI has exited (no userspace process at all).
t_detach_reattach() {
	local syns dropped s0 s1 prog
	syns=$(show 198.18.1.1 syns) dropped=$(show 198.18.1.1 dropped)
	prog=$(status_iface prog_id)
	s0=$(stats_snapshot)
	expect_ok "detach" mxt "$PIN" detach "$GW_IF"
	expect_eq "XDP on $GW_IF after detach" "$(xdp_attached "$GW" "$GW_IF")" none
	local pin missing=""
	for pin in mxt_xdp mxt_config mxt_sources mxt_sources4 mxt_policy mxt_allow mxt_stats mxt_global \
		   mxt_gen mxt_front mxt_polmark mxt_polcount; do
		[ -e "$PIN/$pin" ] || missing+=" $pin"
	done
	expect_eq "pins missing after detach (program and maps stay)" "${missing:-none}" none
	# Nothing filters now: a source over its limit gets everything through.
	burst 198.18.1.1 5 5
	expect_burst "198.18.1.1 while detached" 5 5 5
	expect_ok "re-attach" mxt "$PIN" attach "$GW_IF" --mode "$MODE"
	expect_eq "XDP mode after re-attach" "$(xdp_attached "$GW" "$GW_IF")" "$MODE"
	expect_eq "re-attach reuses the pinned program (prog id)" "$(status_iface prog_id)" "$prog"
	expect_eq "show 198.18.1.1 syns kept across detach/attach" "$(show 198.18.1.1 syns)" "$syns"
	expect_eq "show 198.18.1.1 dropped kept" "$(show 198.18.1.1 dropped)" "$dropped"
	s1=$(stats_snapshot)
	expect_eq "stats admitted kept" "$(sdelta "$s0" "$s1" admitted)" 0
	expect_eq "stats source_limit kept" "$(sdelta "$s0" "$s1" source_limit)" 0
	expect_eq "config mode kept" "$(cfg mode)" enforce
	expect_eq "config unknown_rate kept" "$(cfg unknown_rate)" "$RATE"
	expect_eq "no mxthrottle/mxthrottled process running" "$(pgrep -c -x 'mxthrottled?' || true)" 0
	burst 198.18.1.6 20 20
	expect_burst "198.18.1.6 with no userspace running" 20 "$BURST" "$BURST_MAX"
	expect_eq "show 198.18.1.6 dropped" "$(show 198.18.1.6 dropped)" "$C_FAIL"
}

# The stub daemon (re)attaches with the test's config file, exits on
# SIGTERM, and leaves the program attached and the state pinned: counters
# survive, enforcement goes on without it.
t_daemon_restart() {
	local syns log=$MXT_WORK/daemon-$MODE.log conf=$MXT_WORK/mxthrottle.conf pid
	# The same limits as mode_setup: the daemon writes its file's config.
	printf '%s\n' "mode = enforce" "ports = 25" "v4_prefix = 32" "v6_prefix = 64" \
		"unknown_rate = $RATE" "unknown_burst = $BURST" \
		"global_rate = unlimited" "global_burst = 1000000" \
		"user = root" "state_db = $MXT_WORK/history-$MODE.mdb" \
		"control_socket = $MXT_WORK/control-$MODE.sock" "policy_listen = none" >"$conf"
	syns=$(show 198.18.1.6 syns)
	bg "$GW" "$log" env MXT_PIN_DIR="$PIN" "$MXT_DAEMON" -d -f "$conf" -i "$GW_IF"
	pid=$BG_PID
	expect_true "daemon started" "no START line in 5 s ($(tr '\n' ' ' <"$log" | cut -c1-300))" \
		wait_until 5 grep -q "START mxthrottled" "$log"
	expect_true "daemon reports $GW_IF attached" "'$(tr '\n' ' ' <"$log" | cut -c1-300)'" \
		grep -q "ATTACH $GW_IF mode=$MODE" "$log"
	expect_true "daemon alive after start" "exited early" kill -0 "$pid"
	expect_eq "show 198.18.1.6 syns with the daemon running" "$(show 198.18.1.6 syns)" "$syns"
	bg_stop "$pid" TERM
	expect_true "daemon exited on SIGTERM" "still running" sh -c "! kill -0 $pid 2>/dev/null"
	expect_eq "XDP mode after daemon exit" "$(xdp_attached "$GW" "$GW_IF")" "$MODE"
	expect_eq "show 198.18.1.6 syns kept across daemon restart" "$(show 198.18.1.6 syns)" "$syns"
	expect_eq "config unknown_burst after daemon" "$(cfg unknown_burst)" "$BURST"
	burst 198.18.1.7 20 20
	expect_burst "198.18.1.7 after the daemon exited" 20 "$BURST" "$BURST_MAX"
}

# "detach" removes mxthrottle's program only: a foreign XDP program on
# another interface stays, and a foreign program that occupies our
# interface is not removed by "mxthrottle detach" (it is not ours).
# (libxdp falls back to one program per interface when its dispatcher
# cannot load, as on some kernels, so the two never share an interface.)
t_detach_only_ours() {
	local other=$BUILD/xdp_pass.bpf.o
	ip -n "$GW" link add g1 type veth peer name g1p
	ip -n "$GW" link set g1 up
	ip -n "$GW" link set g1p up
	expect_ok "foreign program on g1" ns_exec "$GW" xdp-loader load -m "$MODE" g1 "$other"
	expect_ok "detach" mxt "$PIN" detach "$GW_IF"
	expect_eq "XDP on $GW_IF after detach" "$(xdp_attached "$GW" "$GW_IF")" none
	expect_eq "programs on g1 after detach of $GW_IF" "$(xdp_progs "$GW" g1)" xdp_pass
	expect_ok "foreign program on $GW_IF" ns_exec "$GW" xdp-loader load -m "$MODE" "$GW_IF" "$other"
	mxt "$PIN" detach "$GW_IF" >/dev/null 2>&1
	expect_eq "programs on $GW_IF after detaching a foreign one" "$(xdp_progs "$GW" "$GW_IF")" xdp_pass
	# Nor does attach replace a foreign program.
	local r=refused
	mxt "$PIN" attach "$GW_IF" --mode "$MODE" >/dev/null 2>&1 && r=succeeded
	expect_eq "attach over a foreign program" "$r" refused
	expect_eq "programs on $GW_IF after attach over a foreign one" "$(xdp_progs "$GW" "$GW_IF")" xdp_pass
	ns_exec "$GW" xdp-loader unload --all "$GW_IF" >/dev/null 2>&1
	ns_exec "$GW" xdp-loader unload --all g1 >/dev/null 2>&1
	ip -n "$GW" link del g1
	expect_eq "XDP on $GW_IF at the end" "$(xdp_attached "$GW" "$GW_IF")" none
}

# The two other ways to attach that the README documents: "ip link" with
# the pinned program (sharing this mode's maps), and xdp-loader with the
# object, its maps pinned in a directory of their own, which start
# unconfigured (everything passes) until the first "config set".
t_other_loaders() {
	local xl=$MXT_BPFFS/xl-$MODE flag=xdpgeneric syns
	[ "$MODE" = native ] && flag=xdpdrv
	syns=$(show 198.18.1.8 syns)
	expect_ok "ip link set $flag pinned mxt_xdp" \
		ip -n "$GW" link set dev "$GW_IF" "$flag" pinned "$PIN/mxt_xdp"
	expect_eq "XDP mode after ip link" "$(xdp_attached "$GW" "$GW_IF")" "$MODE"
	burst 198.18.1.8 20 20
	expect_burst "198.18.1.8 under ip link" 20 "$BURST" "$BURST_MAX"
	expect_eq "show 198.18.1.8 syns (the pinned maps count)" "$(show 198.18.1.8 syns)" "$((syns + 20))"
	expect_ok "ip link set $flag off" ip -n "$GW" link set dev "$GW_IF" "$flag" off

	mkdir -p "$xl"
	expect_ok "xdp-loader load -m $MODE -p $xl" \
		ns_exec "$GW" xdp-loader load -m "$MODE" -p "$xl" "$GW_IF" "$BUILD/mxthrottle.bpf.o"
	burst 198.18.1.8 10 10
	expect_eq "unconfigured program: all 10 pass" "$C_OK" 10
	expect_ok "config set on xdp-loader's maps" mxt "$xl" config set mode enforce \
		unknown_rate "$RATE" unknown_burst "$BURST" global_rate unlimited global_burst 1000000
	burst 198.18.1.8 20 20
	expect_burst "198.18.1.8 under xdp-loader" 20 "$BURST" "$BURST_MAX"
	expect_eq "xdp-loader's maps: show 198.18.1.8 syns" \
		"$(jget "$(mxt "$xl" show 198.18.1.8 --json)" .syns)" 20
	expect_ok "xdp-loader unload" ns_exec "$GW" xdp-loader unload --all "$GW_IF"
	expect_eq "XDP on $GW_IF at the end" "$(xdp_attached "$GW" "$GW_IF")" none
}

# --- main -----------------------------------------------------------------------------------

listener_start L "[::]:25" "[::]:2525" || { fail setup "listener: got not ready in 5 s, want listening"; exit 1; }

for m in native skb; do
	run_test "$m.attach_configure" mode_setup "$m"
	run_test "$m.per_source_limit" t_per_source_limit
	run_test "$m.allowlist" t_allowlist
	run_test "$m.other_port_untouched" t_other_port
	run_test "$m.ipv6_prefix_shared_bucket" t_ipv6_prefix
	run_test "$m.monitor_mode" t_monitor
	run_test "$m.detach_reattach_keeps_state" t_detach_reattach
	run_test "$m.daemon_restart_keeps_state" t_daemon_restart
	run_test "$m.detach_only_ours" t_detach_only_ours
	run_test "$m.ip_link_and_xdp_loader" t_other_loaders
done
