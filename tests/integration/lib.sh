# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lib.sh - shared helpers for the namespace integration tests, sourced by
# tests/integration/test_*.sh (never run on its own).
#
# Isolation.  Sourcing this file re-executes the calling script under
#   timeout -> unshare --mount --pid --fork --mount-proc --propagation private
# so that nothing a test does can outlive it or touch the host:
#  - a private mount namespace holds every mount the test makes: a tmpfs
#    workdir, a bpffs used as the pin dir (--pin-dir), a bpffs bound over
#    /sys/fs/bpf (for libxdp's dispatcher pins) and a tmpfs over /run/netns
#    (so the "ip netns" names never appear on the host, even after a kill -9);
#  - a private PID namespace whose init is the test script: when it exits,
#    for whatever reason, the kernel kills every process it left behind
#    (listeners, the daemon), and with them the last references to the
#    network namespaces, which deletes the veths;
#  - an overall timeout (MXT_TEST_TIMEOUT, default 170 s) bounds the run.
# The EXIT trap still cleans up explicitly, so a normal run leaves the
# kernel exactly as it found it without relying on the above.
#
# Topology (mxt_topology_up): two namespaces, nothing in the host's:
#   $SND (sender)  s0 ---- veth ---- g0  $GW (gateway, XDP on g0 ingress)
#   198.18.1.1-8/15, 2001:2:0:1::1-2,      198.19.0.1/15, 2001:2::1/48
#   2001:2:0:2::1 (/48)
# Only 198.18.0.0/15 and 2001:2::/48 (benchmarking ranges) are used.
#
# Results: one test = one shell function run by run_test; it asserts with
# expect_* and run_test prints exactly one "PASS: name" or
# "FAIL: name: got X, want Y; ..." line (tests/run.sh counts those).


# Variables here are used by the scripts that source this file; the
# single-quoted sh -c bodies expand in the inner shell on purpose.
# shellcheck disable=SC2034,SC2016
set -u

MXT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$MXT_ROOT/build}
MXT_CLI=$BUILD/mxthrottle
MXT_DAEMON=$BUILD/mxthrottled
MXT_CONNECT=$BUILD/mxt-connect
MXT_LISTEN=$BUILD/mxt-listen

# --- isolation: re-exec under unshare (runs at source time) ---------------
if [ "${MXT_ISOLATED:-}" != 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL: $(basename "$0"): must run as root (got uid $(id -u), want 0)"
		exit 1
	fi
	# The outer PID names the namespaces: inside the PID namespace $$ is 1.
	export MXT_ISOLATED=1 MXT_RUN_ID=$$ BUILD
	# timeout signals its whole process group, which includes the test
	# script (pid 1 of the new namespace): its TERM trap cleans up.
	exec timeout --kill-after=15 "${MXT_TEST_TIMEOUT:-170}" \
		unshare --mount --pid --fork --kill-child=SIGTERM --mount-proc \
		--propagation private -- bash "$0" "$@"
fi

MXT_PREFIX=mxt-$MXT_RUN_ID
GW=$MXT_PREFIX-gw
SND=$MXT_PREFIX-snd
GW_IF=g0
SND_IF=s0
GW4=198.19.0.1
GW6=2001:2::1
SRC4=(198.18.1.1 198.18.1.2 198.18.1.3 198.18.1.4 198.18.1.5 198.18.1.6 198.18.1.7 198.18.1.8)
SRC6=(2001:2:0:1::1 2001:2:0:1::2 2001:2:0:2::1)
MXT_WORK=
MXT_BPFFS=
MXT_BG_PIDS=()
MXT_PASSED=0
MXT_FAILED=0

# --- output ---------------------------------------------------------------

# Print a diagnostic line (not counted by tests/run.sh).
note() { echo "# $*"; }

# Record one passed test.
pass() {
	echo "PASS: $1"
	MXT_PASSED=$((MXT_PASSED + 1))
}

# Record one failed test; $2 says what was got and what was wanted.
fail() {
	echo "FAIL: $1: $2"
	MXT_FAILED=$((MXT_FAILED + 1))
}

# --- per-test assertions ----------------------------------------------------
# run_test NAME FUNC ARGS...: runs FUNC; each expect_* inside it adds to the
# verdict; one PASS/FAIL line at the end.  A test that asserted nothing fails.
T_NAME=
T_ERRS=()
T_CHECKS=0

run_test() {
	local name=$1 t0=$SECONDS
	shift
	T_NAME=$name
	T_ERRS=()
	T_CHECKS=0
	"$@"
	if [ "$T_CHECKS" -eq 0 ]; then
		T_ERRS+=("asserted nothing (got 0 checks, want >= 1)")
	fi
	if [ ${#T_ERRS[@]} -eq 0 ]; then
		pass "$name"
	else
		local msg
		msg=$(printf '%s; ' "${T_ERRS[@]}")
		fail "$name" "${msg%; }"
	fi
	note "$name took $((SECONDS - t0)) s"
}

# expect_eq WHAT GOT WANT: string equality.
expect_eq() {
	T_CHECKS=$((T_CHECKS + 1))
	[ "$2" == "$3" ] || T_ERRS+=("$1: got '$2', want '$3'")
}

# expect_range WHAT GOT MIN MAX: integer in [MIN, MAX].
expect_range() {
	T_CHECKS=$((T_CHECKS + 1))
	if ! [[ "$2" =~ ^-?[0-9]+$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
		T_ERRS+=("$1: got '$2', want $3..$4")
	fi
}

# expect_ok WHAT CMD...: the command succeeds.
expect_ok() {
	local what=$1 out
	shift
	T_CHECKS=$((T_CHECKS + 1))
	if ! out=$("$@" 2>&1); then
		T_ERRS+=("$what: got failure ($(printf '%s' "$out" | tr '\n' ' ' | cut -c1-200)), want success")
		return 1
	fi
	return 0
}

# expect_true WHAT GOT-DESCRIPTION CMD...: the command succeeds (for
# conditions whose failure message needs the observed value).
expect_true() {
	local what=$1 got=$2
	shift 2
	T_CHECKS=$((T_CHECKS + 1))
	"$@" >/dev/null 2>&1 || T_ERRS+=("$what: got $got")
}

# --- waiting ------------------------------------------------------------------

# wait_until SECONDS CMD...: poll CMD every 50 ms; 0 once it succeeds, 1 on
# timeout.  Every wait in these tests goes through here, so none can hang.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# --- namespaces -----------------------------------------------------------------

# ns_exec NS CMD...: run CMD in network namespace NS.  "ip netns exec"
# remounts /sys for the namespace, which hides /sys/fs/bpf: bind our private
# bpffs there again so libxdp finds the same dispatcher pins on every call
# (a fresh bpffs per call would lose them between attach and detach).
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" /bin/sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' \
		"$MXT_WORK/sysbpf" "$@"
}

# Create the workdir, the private mounts and the two namespaces.
mxt_setup() {
	mount --make-rprivate /
	MXT_WORK=$(mktemp -d /tmp/mxt-it.XXXXXX) || return 1
	# Everything the test writes lives in this tmpfs: gone with the mount
	# namespace even if cleanup never runs.
	mount -t tmpfs -o size=64m,mode=0700 mxt-work "$MXT_WORK" || return 1
	mkdir -p "$MXT_WORK/bpf" "$MXT_WORK/sysbpf" || return 1
	mount -t bpf bpf "$MXT_WORK/bpf" || return 1
	mount -t bpf bpf "$MXT_WORK/sysbpf" || return 1
	mount --bind "$MXT_WORK/sysbpf" /sys/fs/bpf || return 1
	MXT_BPFFS=$MXT_WORK/bpf
	mkdir -p /run/netns || return 1
	mount -t tmpfs -o size=1m,mode=0755 mxt-netns /run/netns || return 1
	mxt_topology_up
}

# Build the sender/gateway pair (see the header for addresses).
mxt_topology_up() {
	local a ns mac_s mac_g
	ip netns add "$GW" || return 1
	ip netns add "$SND" || return 1
	ip -n "$SND" link add "$SND_IF" type veth peer name "$GW_IF" netns "$GW" || return 1
	for ns in "$GW" "$SND"; do
		ip -n "$ns" link set lo up
		# No DAD: addresses must be usable at once, and no autoconf noise.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.autoconf=0 \
			net.ipv6.conf.default.accept_ra=0 >/dev/null
	done
	# Same-size frames both ways and no offload merging: the XDP program
	# sees exactly one frame per segment, as on a NIC without GRO, and
	# native XDP on veth never has to linearise GSO skbs.
	if command -v ethtool >/dev/null; then
		ip netns exec "$SND" ethtool -K "$SND_IF" tso off gso off gro off >/dev/null 2>&1
		ip netns exec "$GW" ethtool -K "$GW_IF" tso off gso off gro off >/dev/null 2>&1
	fi
	ip -n "$GW" addr add "$GW4/15" dev "$GW_IF"
	ip -n "$GW" addr add "$GW6/48" dev "$GW_IF" nodad
	for a in "${SRC4[@]}"; do ip -n "$SND" addr add "$a/15" dev "$SND_IF" || return 1; done
	for a in "${SRC6[@]}"; do ip -n "$SND" addr add "$a/48" dev "$SND_IF" nodad || return 1; done
	ip -n "$SND" link set "$SND_IF" up || return 1
	ip -n "$GW" link set "$GW_IF" up || return 1
	# Permanent neighbours: no ARP/ND exchange delays the first SYN of a
	# run past a short connect timeout.
	mac_s=$(ip netns exec "$SND" cat /sys/class/net/$SND_IF/address)
	mac_g=$(ip netns exec "$GW" cat /sys/class/net/$GW_IF/address)
	ip -n "$SND" neigh replace "$GW4" lladdr "$mac_g" dev "$SND_IF" nud permanent
	ip -n "$SND" neigh replace "$GW6" lladdr "$mac_g" dev "$SND_IF" nud permanent
	for a in "${SRC4[@]}" "${SRC6[@]}"; do
		ip -n "$GW" neigh replace "$a" lladdr "$mac_s" dev "$GW_IF" nud permanent || return 1
	done
	# The v6 link must be up (carrier, no tentative addresses) before use.
	wait_until 5 sh -c "ip -n $GW -6 addr show dev $GW_IF | grep -q 'scope global' &&
		! ip -n $GW -6 addr show dev $GW_IF | grep -q tentative" || return 1
	return 0
}

# Tear everything down; runs on every exit path (EXIT trap).
mxt_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM HUP
	for pid in "${MXT_BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${MXT_BG_PIDS[@]}"; do
		# Bounded: a process that ignores TERM gets KILL after 2 s.
		wait_until 2 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# The CLI's complaints explain most failures: show them then.
	if [ -n "$MXT_WORK" ] && [ "$MXT_FAILED" -gt 0 ] && [ -s "$MXT_WORK/cli.err" ]; then
		tail -n 20 "$MXT_WORK/cli.err" | sed 's/^/# cli: /'
	fi
	ip netns del "$SND" 2>/dev/null
	ip netns del "$GW" 2>/dev/null
	umount /run/netns 2>/dev/null
	umount /sys/fs/bpf 2>/dev/null
	if [ -n "$MXT_WORK" ]; then
		umount -R "$MXT_WORK" || note "umount $MXT_WORK failed"
		rmdir "$MXT_WORK" || note "rmdir $MXT_WORK failed"
	fi
	echo "# $MXT_PASSED passed, $MXT_FAILED failed"
	[ "$MXT_FAILED" -gt 0 ] && rc=1
	exit "$rc"
}

# Install the traps and build the environment; a setup failure is a FAIL.
mxt_init() {
	trap mxt_cleanup EXIT
	# timeout(1) sends TERM: make it a counted failure, not a silent stop.
	trap 'fail "${T_NAME:-setup}" "got killed (overall timeout ${MXT_TEST_TIMEOUT:-170} s?), want completion"; exit 124' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	local t
	for t in "$MXT_CLI" "$MXT_CONNECT" "$MXT_LISTEN" jq ethtool; do
		if ! command -v "$t" >/dev/null; then
			fail setup "$t: got missing, want present (run make BUILD=$BUILD; scripts/setup.sh)"
			exit 1
		fi
	done
	if ! mxt_setup; then
		fail setup "namespaces/mounts: got setup failure, want a ready topology"
		exit 1
	fi
}

# --- background processes ---------------------------------------------------------

# bg NS LOG CMD...: start CMD in namespace NS in the background; its PID is
# remembered for cleanup and left in $BG_PID.
bg() {
	local ns=$1 log=$2
	shift 2
	# A plain command, not the ns_exec function: "func &" would fork a
	# subshell and $! would be that shell, not the process we signal.
	ip netns exec "$ns" /bin/sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' \
		"$MXT_WORK/sysbpf" "$@" >"$log" 2>&1 &
	BG_PID=$!
	MXT_BG_PIDS+=("$BG_PID")
}

# bg_stop PID [SIG]: signal a background process and wait (bounded) for it.
bg_stop() {
	local pid=$1 sig=${2:-TERM}
	kill -"$sig" "$pid" 2>/dev/null || return 0
	if ! wait_until 5 sh -c "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# --- the daemon under test (mxthrottled in the gateway namespace) ------------------
# For the scripts that start the daemon themselves: they set CONF (its
# file), and CTL and PIN (for mxc) first.  One daemon at a time: D_PID,
# and its log of this start, D_LOG (each start logs to its own file).
D_PID=
D_LOG=
D_N=0
RUN_USER=mxthrottle # the default of the "user" key
MXT_MADE_USER=0

# run_user_ensure: the user the daemon drops to, made when absent (as
# scripts/setup.sh does) and then removed again at exit; sets RUN_UID
# and RUN_GID and makes daemon_cleanup the EXIT trap.
run_user_ensure() {
	if ! getent passwd "$RUN_USER" >/dev/null; then
		adduser --system --group --no-create-home --home /var/lib/mxthrottle "$RUN_USER" >/dev/null ||
			{ fail setup "user $RUN_USER: got adduser failure, want the system user"; exit 1; }
		MXT_MADE_USER=1
	fi
	RUN_UID=$(id -u "$RUN_USER")
	RUN_GID=$(id -g "$RUN_USER")
	trap daemon_cleanup EXIT
}

# daemon_cleanup (EXIT): stop the daemon, remove the user if this script
# made it, then mxt_cleanup (which exits with the script's status).
daemon_cleanup() {
	local rc=$?
	[ -n "$D_PID" ] && bg_stop "$D_PID" TERM
	if [ "$MXT_MADE_USER" = 1 ]; then
		userdel "$RUN_USER" 2>/dev/null || note "userdel $RUN_USER failed"
		getent group "$RUN_USER" >/dev/null && groupdel "$RUN_USER"
	fi
	(exit "$rc")
	mxt_cleanup
}

# daemon_start: mxthrottled -d -T with $CONF in the gateway namespace;
# waits (bounded) for its START line.
daemon_start() {
	D_N=$((D_N + 1))
	D_LOG=$MXT_WORK/daemon.$D_N.log
	bg "$GW" "$D_LOG" "$MXT_DAEMON" -d -T -f "$CONF"
	D_PID=$BG_PID
	if ! wait_until 10 grep -q "START mxthrottled" "$D_LOG"; then
		note "daemon start $D_N: $(tr '\n' ' ' <"$D_LOG" | cut -c1-400)"
		return 1
	fi
	kill -0 "$D_PID" 2>/dev/null
}

# daemon_alive: the daemon started last still runs.
daemon_alive() {
	kill -0 "$D_PID" 2>/dev/null && [ "$(cat "/proc/$D_PID/comm" 2>/dev/null)" = mxthrottled ]
}

# daemon_stop: SIGTERM (checkpoint, exit), bounded.
daemon_stop() {
	[ -n "$D_PID" ] && bg_stop "$D_PID" TERM
	D_PID=
}

# dlog_has PATTERN: the current daemon's log matches the extended regex.
dlog_has() {
	grep -aEq -- "$1" "$D_LOG"
}

# dlog_wait SECONDS PATTERN: dlog_has, waited for (bounded): for lines the
# daemon writes a tick or a log flush after the event that causes them.
dlog_wait() {
	wait_until "$1" dlog_has "$2"
}

# dlog_tail: the end of the current daemon log, on one line (for messages).
dlog_tail() {
	tail -n 6 "$D_LOG" 2>/dev/null | tr '\n' '|' | cut -c1-600
}

# mxc ARGS...: the CLI with the daemon's control socket.
mxc() {
	mxt "$PIN" --control "$CTL" "$@"
}

# --- the listener (mxt-listen in the gateway namespace) -----------------------------

# listener_start NAME LISTEN...: start mxt-listen with -l LISTEN...; waits
# (bounded) until it listens.  Its counts go to $MXT_WORK/NAME.json.
listener_start() {
	local name=$1 a args=()
	shift
	for a in "$@"; do args+=(-l "$a"); done
	rm -f "$MXT_WORK/$name.ready"
	bg "$GW" "$MXT_WORK/$name.log" "$MXT_LISTEN" "${args[@]}" -o "$MXT_WORK/$name.json" \
		-r "$MXT_WORK/$name.ready" -b "220 mx.mxthrottle.test ESMTP"
	eval "LISTENER_PID_$name=$BG_PID"
	wait_until 5 test -f "$MXT_WORK/$name.ready"
}

# listener_json NAME: the listener's current counts (asks for a dump, waits
# for the file: the listener writes it atomically).
listener_json() {
	local name=$1 pidvar="LISTENER_PID_$1"
	rm -f "$MXT_WORK/$name.json"
	kill -USR1 "${!pidvar}" 2>/dev/null || return 1
	wait_until 5 test -f "$MXT_WORK/$name.json" || return 1
	cat "$MXT_WORK/$name.json"
}

# lcount NAME PORT SRC: connections the listener accepted from SRC on PORT.
lcount() {
	listener_json "$1" | jq -r --arg p "$2" --arg s "$3" '.ports[$p][$s] // 0'
}

# --- traffic (mxt-connect in the sender namespace) --------------------------------------

# connect_json SRC DST PORT N CONC [extra mxt-connect args]: JSON result.
connect_json() {
	local src=$1 dst=$2 port=$3 n=$4 conc=$5
	shift 5
	ns_exec "$SND" timeout 30 "$MXT_CONNECT" -s "$src" -d "$dst" -p "$port" -n "$n" \
		-c "$conc" -t 300 --banner --json "$@"
}

# --- the CLI ----------------------------------------------------------------------------

# mxt PINDIR ARGS...: run the CLI in the gateway namespace, bounded.  Its
# stderr is kept in $MXT_WORK/cli.err for diagnostics.
mxt() {
	local pindir=$1
	shift
	ns_exec "$GW" timeout 20 "$MXT_CLI" --pin-dir "$pindir" "$@" 2>>"$MXT_WORK/cli.err"
}

# jget JSON FILTER: one value out of JSON ("" when absent or not JSON).
jget() {
	printf '%s' "$1" | jq -r "$2 // empty" 2>/dev/null
}

# xdp_attached NS IFACE: print "native", "skb" or "none" for IFACE's XDP state.
xdp_attached() {
	local j
	j=$(ip -n "$1" -d -j link show dev "$2") || { echo none; return; }
	printf '%s' "$j" | jq -r '.[0].xdp.mode // empty |
		if . == 1 or . == "1" then "native" elif . == 2 or . == "2" then "skb"
		elif . == 4 or . == "4" then "multi" else tostring end' 2>/dev/null |
		grep . || echo none
}

# xdp_progs NS IFACE: names of the XDP programs attached to IFACE, space
# separated ("" when none); a libxdp dispatcher shows as xdp_dispatcher.
xdp_progs() {
	ip -n "$1" -d -j link show dev "$2" 2>/dev/null |
		jq -r '[.[0].xdp.attached[]?.prog.name] | join(" ")' 2>/dev/null
}
