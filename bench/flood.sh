#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# flood.sh - SYN-flood benchmark over a veth pair: how fast each way of
# limiting SYNs per source disposes of a flood, with mxthrottle (native and
# generic XDP) against nftables meters, iptables hashlimit (both backends)
# and no filter at all, every figure next to a bare XDP_DROP "floor" run.
#
#   bash bench/flood.sh [--quick | --full] [--cpu N] [--gen live|afpacket]
#                       [--shapes "sources spoof"] [--methods "..."]
#                       [--out FILE.jsonl]
#   BUILD=DIR selects the build directory (default ./build).
#
# Set-up (all created and deleted by this script, under `unshare -m` with a
# private bpffs on /sys/fs/bpf, bounded by `timeout`):
#   netns G (generator) veth0 198.18.0.1  <-->  veth1 198.18.0.2  netns R
#   R routes 198.18.0.0/15 back via 198.18.0.1 (static neighbour: no ARP for
#   flood sources); a listener on 198.18.0.2:25 (SYN cookies on, as on an
#   MX); G sinks the replies with XDP_DROP on veth0 so that their cost on G
#   is not charged to the receiver.  GRO on at veth1, TSO off at veth0.
#   198.18.0.0/24 is reserved for these hosts and the established senders
#   (198.18.0.10-17); flood sources are 198.18.1.0 and up.
#   Every run (floor or method) gets a fresh pair of namespaces, so no hook
#   or table of a previous method (iptables-legacy tables cannot be
#   unregistered from a live netns) stays in the path.
#
# Generator: build/mxt-synflood --method live (BPF_PROG_RUN live frames,
# XDP_REDIRECT into veth0; see tools/mxt-synflood.c and
# bench/synflood_gen.bpf.c: one precomputed frame per source, nothing
# computed per frame but the rotation, so that the generator is cheaper
# than the cheapest receiver), pinned with taskset and
# its own sched_setaffinity to --cpu (default 1).  veth0's ndo_xdp_xmit
# schedules veth1's NAPI on the calling CPU, and the softirq runs when the
# generator's batch loop calls local_bh_enable(): generator and receiver
# share one CPU by construction.  Checked per run ("checks" column):
#   cpu-moved     the generator did not start and end on --cpu;
#   rx-off-cpu    the packets counted on --cpu were under 95% of those
#                 veth1 received ("oncpu" column), counted where the work
#                 is: mxthrottle's per-CPU mxt_stats, or the stack's
#                 per-CPU softnet_stat (netfilter, none).  For the floor
#                 only NET_RX softirqs per CPU can tell, and "oncpu" is
#                 --cpu's share of them, which other load on the machine
#                 lowers: shown, not checked;
#   ksoftirqd     ksoftirqd/CPU used over 5% of the run's active time (its
#                 work would fall outside the generator's timing).
# Also checked: undelivered (rx under 99% of what was generated: the
# receiver fell behind, e.g. when softirq work spilled to ksoftirqd, and
# veth's 256-frame ring refused frames, counted by veth0's
# tx_queue_N_xdp_xmit_errors; rates count delivered frames only),
# counted!=rx / stats!=rx (the filter did not see every delivered SYN),
# drops<95% (sources shape: a filter that does not limit), policy-evicted,
# tcp-csum-errors (the generated SYNs carry valid checksums).
#
# Why GRO must be on at veth1: XDP frames redirected into a veth are put on
# the peer's XDP ring, which exists only while the peer runs NAPI, i.e. has
# an XDP program or GRO enabled (Linux >= 5.13).  Without either, the frames
# are dropped silently (not even tx_queue_0_xdp_xmit_errors counts them).
# The script shows this at start ("check veth-napi").  Native XDP on veth1
# is enough by itself; no XDP program is needed on the peer veth0.
#
# Flood shapes:
#   sources  4096 sources (198.18.1.0 - 198.18.16.255) cycling, every one far
#            above its limit; mxthrottle's global budget set to unlimited so
#            the per-source limit does the work, as in the other filters.
#   spoof    random sources over 198.18.1.0 - 198.19.255.255 (130816
#            addresses: 198.18.0.0/15 cannot hold the 1M of a real spoofed
#            flood, and no other addresses are used); mxthrottle with its
#            default global budget (60000/min, burst 2000) for sources
#            without policy, and 8 established senders (policy set ...
#            established) that sent before the flood; afterwards the script
#            checks their policy entries are all still there.
# Limits: per source 6 SYNs/minute, burst 5, the same in every filter;
# per-source tables sized 262144 (mxthrottle's default max_sources), so none
# of them evicts during the runs.  Stricter than mxthrottle's default for
# class unknown (120/min, burst 30) on purpose: limits run on wall-clock
# time, so the SYNs a limiter admits (each costs the stack a SYN cookie and
# a SYN-ACK) grow with how long a run lasts in wall-clock time, which on a
# shared machine depends on other load; at 6/min the 4096 sources refill
# 410 SYNs/s, next to nothing.
#
# Methods (hook, what counts the drops):
#   floor        bare XDP_DROP (build/xdp_drop.bpf.o), native; veth1's
#                rx_queue_*_xdp_drops
#   mxt-native   mxthrottle attach --mode native; its stats (drop reasons)
#   mxt-generic  mxthrottle attach --mode skb; its stats
#   nft-ingress  nft netdev ingress, dynamic set with per-element limit (a
#                "meter"); named counter on the drop rule
#   nft-prerouting  the same in ip prerouting at priority raw
#   ipt-nft      iptables-nft -t raw PREROUTING, hashlimit (iptables-nft
#                1.8.9 turns it into a native nft meter, not xt_hashlimit)
#   ipt-legacy   iptables-legacy, same rules (the real xt_hashlimit)
#   none         no filter: every SYN reaches TCP (SYN cookies, SYN-ACKs)
#
# Measure: per run, a warm-up flood, then a measured flood (quick: 1 s,
# whole script ~70-90 s; full: 5 s, ~4-5 min).  drop_pps is the method's
# own drop counter over the measured flood divided by the generator's
# kernel-timed active time: the time its CPU spent in the BPF_PROG_RUN
# loop, which includes the receive softirq work run inline after each
# batch, and excludes time other tasks held the CPU (this machine is
# shared: wall-clock rates moved by 2x between identical runs, active-time
# rates by about 10%).  Wall-clock rates are kept (wall_*_pps, and the
# wall_rx column).  With --gen afpacket there is no kernel timing and the
# wall clock is used.  rx_pps is what reached veth1's NAPI
# (rx_queue_*_xdp_packets).  Since generator and receiver share one CPU,
# these are throughputs of the pair on one CPU (a costlier receiver slows
# the generator); the floor shows the pair's ceiling.  Each method's
# x_floor is its drop_pps over the mean of the floor runs just before and
# after it (rx_x_floor likewise for rx_pps).  In the spoof shape the
# per-source filters drop next to nothing (every address is still within
# its burst), so rx_pps is their figure there.
#
# Output: a plain table per shape, then one machine-readable line per run:
#   MXT_BENCH {"bench":"flood","shape":...,"method":...,...}
# (also written, without the prefix, to --out FILE when given).
set -euo pipefail

BUILD=${BUILD:-$(pwd)/build}
MODE=quick
CPU=1
GEN=live
SHAPES="sources spoof"
METHODS="mxt-native mxt-generic nft-ingress nft-prerouting ipt-nft ipt-legacy none"
OUT=""
RATE=6      # per-source SYNs per minute (see "Limits" above)
BURST=5     # per-source burst

# Print the synopsis (lines 4-12 of this header).
usage() {
	sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//'
}

ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick ;;
	--full) MODE=full ;;
	--cpu) CPU=$2; shift ;;
	--gen) GEN=$2; shift ;;
	--shapes) SHAPES=$2; shift ;;
	--methods) METHODS=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "flood.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$MODE" = quick ]; then
	WARM=0.3; MEAS=1; HARD=150
else
	WARM=1; MEAS=5; HARD=400
fi

# ---------------------------------------------------------------- outer shell
if [ "${MXT_FLOOD_INNER:-}" != 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "flood.sh: needs root (namespaces, XDP, netfilter)" >&2
		exit 1
	fi
	case $CPU in ''|*[!0-9]*) echo "flood.sh: --cpu wants a number" >&2; exit 2 ;; esac
	if [ "$CPU" -ge "$(nproc)" ]; then
		echo "flood.sh: --cpu $CPU: only $(nproc) CPUs" >&2
		exit 2
	fi
	case $GEN in live|afpacket) ;; *) echo "flood.sh: --gen live|afpacket" >&2; exit 2 ;; esac
	for f in mxt-synflood synflood_gen.bpf.o xdp_drop.bpf.o mxthrottle; do
		if [ ! -e "$BUILD/$f" ]; then
			echo "flood.sh: $BUILD/$f missing: run make first (BUILD=$BUILD)" >&2
			exit 1
		fi
	done
	for t in ip nsenter ethtool nft iptables-nft iptables-legacy bpftool taskset unshare timeout awk; do
		command -v "$t" >/dev/null || { echo "flood.sh: $t not installed" >&2; exit 1; }
	done
	BUILD=$(cd "$BUILD" && pwd)
	export MXT_FLOOD_INNER=1 BUILD
	# Own mount namespace: private bpffs and /run/netns; hard time bound.
	exec timeout -k 10 "$HARD" unshare -m --propagation private bash "$0" ${ARGS[@]+"${ARGS[@]}"}
fi

# ---------------------------------------------------------------- inner shell
mount -t bpf bpf /sys/fs/bpf
WORK=$(mktemp -d /tmp/mxt-flood.XXXXXX)
G=mxtfl-g-$$
R=mxtfl-r-$$
PIN=/sys/fs/bpf/mxtflood
SYNFLOOD=$BUILD/mxt-synflood
MXT=$BUILD/mxthrottle
LISTEN_PID=""
[ -n "$OUT" ] && : >"$OUT"

# Remove everything this script created (namespaces take their veths).
cleanup() {
	set +e
	[ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null && wait "$LISTEN_PID" 2>/dev/null
	ip netns del "$G" 2>/dev/null
	ip netns del "$R" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command in the generator's / the receiver's netns.  nsenter, not
# `ip netns exec`: that would remount /sys and hide the private bpffs.
in_g() { nsenter --net="/run/netns/$G" "$@"; }
in_r() { nsenter --net="/run/netns/$R" "$@"; }
# A message on stderr.
log() { echo "flood.sh: $*" >&2; }

# Sum of the ethtool -S counters of 'dev' in netns 'ns' matching regex 'pat'.
ethsum() {
	local ns=$1 dev=$2 pat=$3
	nsenter --net="/run/netns/$ns" ethtool -S "$dev" 2>/dev/null |
		awk -v p="$pat" '$1 ~ p { s += $2 } END { printf "%d\n", s }'
}

# A counter of /proc/net/snmp in netns R: snmp PROTO FIELD.
snmp() {
	# shellcheck disable=SC2016
	in_r awk -v p="$1:" -v f="$2" '$1 == p { if (!h) { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1 } else { print $c; exit } }' /proc/net/snmp
}

# NET_RX softirq counts, one per CPU, space separated.
netrx() { awk '$1 == "NET_RX:" { $1 = ""; print }' /proc/softirqs; }

# Per-CPU evidence of where method m's receive work ran: counts per CPU,
# space separated.  mxthrottle: its per-CPU mxt_stats (every frame it saw);
# netfilter and none: packets the stack processed per CPU (softnet_stat
# column 1); floor: NET_RX softirqs (indirect, and shared with whatever
# else the machine does: reported, not checked).
cpu_counts() {
	case $1 in
	mxt-*)
		bpftool -j map dump pinned "$PIN/mxt_stats" |
			grep -o '"cpu":[0-9]*,"value":[0-9]*' |
			awk -F'[:,]' '{ c[$2] += $4; if ($2 > mx) mx = $2 }
				END { for (i = 0; i <= mx; i++) printf "%d ", c[i]; print "" }' ;;
	floor) netrx ;;
	*) awk 'function hex(h,  i, v) { v = 0; h = tolower(h)
			for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
			return v }
		{ printf "%d ", hex($1) } END { print "" }' /proc/net/softnet_stat ;;
	esac
}

# A number from flat JSON text: jnum TEXT KEY (first occurrence).
jnum() { printf '%s' "$1" | grep -o "\"$2\": *[0-9]*" | head -1 | grep -o '[0-9]*$' || echo 0; }

# Create the two namespaces and the veth pair; start the listener.
setup_pair() {
	ip netns add "$G"
	ip netns add "$R"
	ip -n "$G" link set lo up
	ip -n "$R" link set lo up
	ip link add veth0 netns "$G" type veth peer name veth1 netns "$R"
	in_g ethtool -K veth0 tso off >/dev/null
	in_r ethtool -K veth1 gro on >/dev/null
	ip -n "$G" addr add 198.18.0.1/32 dev veth0
	ip -n "$R" addr add 198.18.0.2/32 dev veth1
	ip -n "$G" link set veth0 up
	ip -n "$R" link set veth1 up
	MAC0=$(ip -n "$G" -br link show dev veth0 | awk '{ print $3 }')
	MAC1=$(ip -n "$R" -br link show dev veth1 | awk '{ print $3 }')
	ip -n "$G" route add 198.18.0.2/32 dev veth0
	ip -n "$G" neigh replace 198.18.0.2 lladdr "$MAC1" dev veth0 nud permanent
	ip -n "$R" route add 198.18.0.1/32 dev veth1
	ip -n "$R" route add 198.18.0.0/15 via 198.18.0.1 dev veth1
	ip -n "$R" neigh replace 198.18.0.1 lladdr "$MAC0" dev veth1 nud permanent
	in_r sysctl -qw net.ipv4.tcp_syncookies=1
	# Replies (SYN-ACKs) end on G's veth0: drop them at once.
	ip -n "$G" link set dev veth0 xdpdrv obj "$BUILD/xdp_drop.bpf.o" sec xdp
	# nsenter directly, not the in_r function: "$!" of a backgrounded
	# function is its subshell, and killing that would leave the
	# listener running after its namespace is gone.
	if [ -x "$BUILD/mxt-listen" ]; then
		nsenter --net="/run/netns/$R" "$BUILD/mxt-listen" -l 198.18.0.2:25 -B 4096 >/dev/null 2>&1 &
		LISTEN_PID=$!
	elif command -v python3 >/dev/null; then
		nsenter --net="/run/netns/$R" python3 -c 'import socket,time
s=socket.socket(); s.bind(("198.18.0.2",25)); s.listen(4096); time.sleep(600)' &
		LISTEN_PID=$!
	fi
}

# Delete the namespaces, stop the listener, forget any pins.
teardown_pair() {
	if [ -n "$LISTEN_PID" ]; then
		kill "$LISTEN_PID" 2>/dev/null || true
		wait "$LISTEN_PID" 2>/dev/null || true
		LISTEN_PID=""
	fi
	ip netns del "$G"
	ip netns del "$R"
	# libxdp's dispatcher pins and ours: a fresh bpffs state per run.
	rm -rf "${PIN:?}" /sys/fs/bpf/xdp 2>/dev/null || true
}

# Run the generator in G, pinned to $CPU, with the given arguments (a
# bound: --duration or --count); prints its MXT_SYNFLOOD line.
gen() {
	if ! in_g timeout -k 2 30 nice -n -10 taskset -c "$CPU" \
		"$SYNFLOOD" -i veth0 -m "$MAC1" --method "$GEN" --cpu "$CPU" \
		"$@" >"$WORK/gen.out" 2>"$WORK/gen.err"; then
		cat "$WORK/gen.err" >&2
		return 1
	fi
	grep '^MXT_SYNFLOOD ' "$WORK/gen.out"
}

# Warm-up of a shape.  sources: enough SYNs to empty every source's burst
# (4096 x (burst + 10)), so the measured flood is all over its limit;
# spoof: $WARM seconds from a fresh start, since a spoofed flood never gets
# past its sources' bursts (that is what it is).
warm_args() {
	case $1 in
	sources) echo "--count $((4096 * (BURST + 10)))" ;;
	spoof) echo "--duration $WARM" ;;
	esac
}

# Source-pattern arguments of a shape.
shape_args() {
	case $1 in
	sources) echo "--sources 4096" ;;
	spoof) echo "--spoof" ;;
	esac
}

# Mxthrottle's config for a shape.
mxt_config() {
	local shape=$1 g
	[ "$shape" = sources ] && g="global_rate unlimited global_burst 2000" ||
		g="global_rate 60000 global_burst 2000"
	# shellcheck disable=SC2086
	in_r "$MXT" --pin-dir "$PIN" config set mode enforce unknown_rate "$RATE" \
		unknown_burst "$BURST" $g >/dev/null
}

# The nft ruleset of a method (nft-ingress or nft-prerouting).
nft_rules() {
	local fam hook
	if [ "$1" = nft-ingress ]; then
		fam=netdev
		hook='type filter hook ingress device "veth1" priority -500; policy accept;
		ip protocol tcp tcp dport 25 tcp flags & (fin|syn|rst|ack) == syn jump syn'
	else
		fam=ip
		hook='type filter hook prerouting priority raw; policy accept;
		tcp dport 25 tcp flags & (fin|syn|rst|ack) == syn jump syn'
	fi
	cat <<EOF
table $fam mxtflood {
	counter flood_drop { }
	counter flood_pass { }
	set src4 { type ipv4_addr; size 262144; flags dynamic,timeout; timeout 5m; }
	chain in {
		$hook
	}
	chain syn {
		update @src4 { ip saddr limit rate over $RATE/minute burst $BURST packets } counter name "flood_drop" drop
		counter name "flood_pass"
	}
}
EOF
}

# Install a method on veth1 in R.
install_method() {
	local m=$1 shape=$2 ipt
	case $m in
	floor)
		ip -n "$R" link set dev veth1 xdpdrv obj "$BUILD/xdp_drop.bpf.o" sec xdp ;;
	mxt-native|mxt-generic)
		[ "$m" = mxt-native ] && xm=native || xm=skb
		in_r "$MXT" --pin-dir "$PIN" attach veth1 --mode "$xm" >/dev/null
		mxt_config "$shape" ;;
	nft-ingress|nft-prerouting)
		nft_rules "$m" | in_r nft -f - ;;
	ipt-nft|ipt-legacy)
		ipt=iptables-${m#ipt-}
		in_r "$ipt" -t raw -N MXTSYN
		in_r "$ipt" -t raw -A PREROUTING -p tcp --dport 25 \
			--tcp-flags FIN,SYN,RST,ACK SYN -j MXTSYN
		in_r "$ipt" -t raw -A MXTSYN -m hashlimit --hashlimit-name mxtflood \
			--hashlimit-mode srcip --hashlimit-above "$RATE/minute" \
			--hashlimit-burst "$BURST" --hashlimit-htable-size 65536 \
			--hashlimit-htable-max 262144 --hashlimit-htable-expire 300000 -j DROP
		in_r "$ipt" -t raw -A MXTSYN -j RETURN ;;
	none) ;;
	esac
}

# The method's own counters: prints "DROP PASS GB SL" (PASS: SYNs it let
# through, for none IP datagrams received; GB and SL: mxthrottle's drops for
# global_budget and source_limit, 0 for the others).
method_counters() {
	local m=$1 j ipt
	case $m in
	floor)
		echo "$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_drops:') 0 0 0" ;;
	mxt-native|mxt-generic)
		j=$(in_r "$MXT" --pin-dir "$PIN" stats --json)
		echo "$(jnum "$j" drop) $(jnum "$j" pass) $(jnum "$j" global_budget) $(jnum "$j" source_limit)" ;;
	nft-ingress|nft-prerouting)
		local fam=ip
		[ "$m" = nft-ingress ] && fam=netdev
		echo "$(in_r nft list counter $fam mxtflood flood_drop | awk '/packets/ { print $2 }') \
$(in_r nft list counter $fam mxtflood flood_pass | awk '/packets/ { print $2 }') 0 0" ;;
	ipt-nft|ipt-legacy)
		ipt=iptables-${m#ipt-}
		in_r "$ipt" -t raw -L MXTSYN -v -x -n | awk 'NR > 2 { printf "%s ", $1 } END { print "0 0" }' ;;
	none)
		echo "0 $(snmp Ip InReceives) 0 0" ;;
	esac
}

# Key of an IPv4 /32 in mxt_policy, as bpftool hex bytes.
mxt_key_hex() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	printf '04 20 00 00 %02x %02x %02x %02x 00 00 00 00 00 00 00 00 00 00 00 00' "$1" "$2" "$3" "$4"
}

# Key of an IPv4 /32 in mxt_sources4: the address, as bpftool hex bytes.
mxt_key4_hex() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"
}

EST="198.18.0.10 198.18.0.11 198.18.0.12 198.18.0.13 198.18.0.14 198.18.0.15 198.18.0.16 198.18.0.17"

# Established senders: policy entries, then a few SYNs each before the flood.
est_setup() {
	local a
	for a in $EST; do
		in_r "$MXT" --pin-dir "$PIN" policy set "$a" established >/dev/null
	done
	in_g "$SYNFLOOD" -i veth0 -m "$MAC1" --method afpacket --sources 8 \
		--src-first 198.18.0.10 --count 64 >/dev/null 2>&1
}

# "P/8 S/8": established senders whose policy (P) and source state (S)
# entries are present.
est_check() {
	local a p=0 s=0
	for a in $EST; do
		# shellcheck disable=SC2046
		bpftool map lookup pinned "$PIN/mxt_policy" key hex $(mxt_key_hex "$a") \
			>/dev/null 2>&1 && p=$((p + 1))
		# shellcheck disable=SC2046
		bpftool map lookup pinned "$PIN/mxt_sources4" key hex $(mxt_key4_hex "$a") \
			>/dev/null 2>&1 && s=$((s + 1))
	done
	echo "$p/8 $s/8"
}

# Field of an MXT_SYNFLOOD line: gfield LINE KEY.
gfield() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# CPU time (USER_HZ ticks) used so far by ksoftirqd of $CPU.
ksoftirqd_ticks() {
	local pid
	pid=$(pgrep -x "ksoftirqd/$CPU" | head -1)
	[ -n "$pid" ] && awk '{ print $14 + $15 }' "/proc/$pid/stat" || echo 0
}

# One run: fresh pair, method, warm-up, measured flood; appends one record
# (see the field list in report) to $WORK/runs.
run_one() {
	local shape=$1 m=$2 sargs line d0 d1 p0 p1 g0 g1 l0 l1 rx0 rx1 xe0 xe1 ce0 ce1 k0 k1
	local n0 n1 pkts secs act share cpu_ok est="-" checks="" xdrop0 xdrop1 ks
	sargs=$(shape_args "$shape")
	setup_pair
	install_method "$m" "$shape"
	if [ "$shape" = spoof ] && [[ $m == mxt-* ]]; then
		est_setup
	fi
	# shellcheck disable=SC2046,SC2086
	gen $(warm_args "$shape") $sargs >/dev/null || {
		log "$shape/$m: warm-up flood failed"; teardown_pair; return 1; }
	read -r d0 p0 g0 l0 <<<"$(method_counters "$m")"
	rx0=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:')
	xdrop0=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_drops:')
	xe0=$(ethsum "$G" veth0 '^tx_queue_[0-9]+_xdp_xmit_errors:')
	ce0=$(snmp Tcp InCsumErrors)
	n0=$(cpu_counts "$m")
	k0=$(ksoftirqd_ticks)
	# shellcheck disable=SC2086
	line=$(gen --duration "$MEAS" $sargs) || {
		log "$shape/$m: flood failed"; teardown_pair; return 1; }
	k1=$(ksoftirqd_ticks)
	n1=$(cpu_counts "$m")
	read -r d1 p1 g1 l1 <<<"$(method_counters "$m")"
	rx1=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:')
	xdrop1=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_drops:')
	xe1=$(ethsum "$G" veth0 '^tx_queue_[0-9]+_xdp_xmit_errors:')
	ce1=$(snmp Tcp InCsumErrors)
	if [ "$shape" = spoof ] && [[ $m == mxt-* ]]; then
		est=$(est_check | tr ' ' ',')
		[[ $est == 8/8,* ]] || checks+="policy-evicted;"
	fi
	teardown_pair

	pkts=$(gfield "$line" packets)
	secs=$(gfield "$line" seconds)
	act=$(gfield "$line" active_seconds)
	# Where the receive work ran (see cpu_counts).  floor: the generator
	# CPU's share of all NET_RX softirqs.  Others: the packets counted on
	# the generator's CPU over the packets veth1 received (other CPUs'
	# counts, which other load on the machine raises, do not enter).
	share=$(awk -v a="$n0" -v b="$n1" -v c="$CPU" -v m="$m" -v r=$((rx1 - rx0)) 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); t = 0
		for (i = 1; i <= n; i++) t += y[i] - x[i]
		if (m != "floor") t = r
		printf "%.3f\n", (t > 0 ? (y[c + 1] - x[c + 1]) / t : 0) }')
	# ksoftirqd's CPU time over the generator's active time: receive work
	# done there is outside the generator's timing.
	ks=$(awk -v k=$((k1 - k0)) -v a="$act" 'BEGIN { printf "%.3f\n", (a > 0 ? k / 100 / a : 0) }')
	cpu_ok=1
	[ "$(gfield "$line" cpu)" = "$CPU" ] && [ "$(gfield "$line" cpu_end)" = "$CPU" ] || cpu_ok=0
	[ "$cpu_ok" = 1 ] || checks+="cpu-moved;"
	[ "$m" = floor ] || awk -v s="$share" 'BEGIN { exit !(s >= 0.95) }' ||
		checks+="rx-off-cpu;"
	awk -v s="$ks" 'BEGIN { exit !(s <= 0.05) }' || checks+="ksoftirqd;"
	local rx=$((rx1 - rx0)) drop=$((d1 - d0)) pass=$((p1 - p0)) xdrops=$((xdrop1 - xdrop0))
	# Delivery: what the generator made reached veth1's NAPI.
	awk -v r="$rx" -v p="$pkts" 'BEGIN { exit !(p > 0 && r >= 0.99 * p) }' || checks+="undelivered;"
	# Accounting: the method saw every delivered SYN (drop + pass = rx).
	case $m in
	floor)
		# Equal but for stray frames (IPv6 ND at link-up) that the
		# counters may catch on either side of a snapshot.
		[ $((drop - rx)) -le 16 ] && [ $((rx - drop)) -le 16 ] ||
			checks+="floor-drops!=rx;" ;;
	mxt-native)
		awk -v a="$((drop + pass))" -v r="$rx" 'BEGIN { exit !(a >= 0.99 * r && a <= 1.01 * r) }' ||
			checks+="stats!=rx;"
		[ "$drop" -eq "$xdrops" ] || checks+="stats-drop!=veth-xdp-drops;" ;;
	mxt-generic|nft-*|ipt-*)
		awk -v a="$((drop + pass))" -v r="$rx" 'BEGIN { exit !(a >= 0.99 * r && a <= 1.01 * r) }' ||
			checks+="counted!=rx;" ;;
	none)
		awk -v a="$pass" -v r="$rx" 'BEGIN { exit !(a >= 0.99 * r) }' || checks+="ip-in<rx;" ;;
	esac
	# All 4096 sources are over their limit: a working filter drops
	# nearly everything (refill admits 2/s per source).
	if [ "$shape" = sources ] && [ "$m" != none ]; then
		awk -v d="$drop" -v r="$rx" 'BEGIN { exit !(r > 0 && d >= 0.95 * r) }' ||
			checks+="drops<95%;"
	fi
	[ $((ce1 - ce0)) -eq 0 ] || checks+="tcp-csum-errors;"
	echo "$shape $m $pkts $secs $act $rx $((xe1 - xe0)) $drop $pass $share $cpu_ok" \
		"$((ce1 - ce0)) $ks $est ${checks:-ok} $((g1 - g0)) $((l1 - l0))" >>"$WORK/runs"
}

# Is veth1 NAPI (XDP program or GRO) needed for redirected frames?  Prints
# what 10000 redirected frames did with GRO off and on, no XDP on veth1.
check_napi() {
	local r0 e0 off on err
	setup_pair
	in_r ethtool -K veth1 gro off >/dev/null
	r0=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:')
	gen --count 10000 --sources 4096 >/dev/null || true
	off=$(( $(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:') - r0 ))
	in_r ethtool -K veth1 gro on >/dev/null
	r0=$(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:')
	e0=$(ethsum "$G" veth0 '^tx_queue_[0-9]+_xdp_xmit_errors:')
	gen --count 10000 --sources 4096 >/dev/null || true
	on=$(( $(ethsum "$R" veth1 '^rx_queue_[0-9]+_xdp_packets:') - r0 ))
	err=$(( $(ethsum "$G" veth0 '^tx_queue_[0-9]+_xdp_xmit_errors:') - e0 ))
	teardown_pair
	echo "check veth-napi: 10000 redirected frames, no XDP program on veth1:" \
		"delivered $off with GRO off (dropped silently), $on with GRO on ($err refused by a full ring)"
	if [ "$off" -ne 0 ] || [ "$on" -eq 0 ]; then
		log "veth-napi: not what this script assumes (see the header)"
	fi
}

# Print the table of one shape and its JSON lines.  Record fields: shape
# method generated wall_s active_s rx xmit_errors drop pass cpu_share
# cpu_pinned tcp_csum_errors ksoftirqd_share established checks
# mxt_global_budget mxt_source_limit.
report() {
	local shape=$1
	awk -v shape="$shape" -v mode="$MODE" -v gen="$GEN" -v cpu="$CPU" -v out="$OUT" '
	$1 == shape {
		n++; sh[n] = $1; m[n] = $2; pk[n] = $3; se[n] = $4; ac[n] = $5; rx[n] = $6
		xe[n] = $7; dr[n] = $8; pa[n] = $9; ns[n] = $10; co[n] = $11; ce[n] = $12
		ks[n] = $13; es[n] = $14; ck[n] = $15; gb[n] = $16; sl[n] = $17
		dpps[n] = ac[n] > 0 ? dr[n] / ac[n] : 0
		rpps[n] = ac[n] > 0 ? rx[n] / ac[n] : 0
		wdpps[n] = se[n] > 0 ? dr[n] / se[n] : 0
		wrpps[n] = se[n] > 0 ? rx[n] / se[n] : 0
	}
	END {
		printf "\nshape %s: generator %s on CPU %s, %s mode; Mpps per second of %s\n", shape, gen, cpu, mode, (gen == "live" ? "the generator'"'"'s kernel-timed active time" : "wall-clock time")
		printf "%-15s %8s %7s %8s %7s %6s %8s %8s %6s %5s %-7s %s\n", "method", "drop", "x_floor", "rx", "rx_x_fl", "drop%", "floor", "wall_rx", "deliv%", "oncpu", "est", "checks"
		for (i = 1; i <= n; i++) {
			# Floor of a method: mean of the floor runs around it.
			fl = 0; fr = 0; k = 0
			if (m[i] == "floor") { fl = dpps[i]; fr = rpps[i]; k = 1 }
			else {
				if (i > 1 && m[i - 1] == "floor") { fl += dpps[i - 1]; fr += rpps[i - 1]; k++ }
				if (i < n && m[i + 1] == "floor") { fl += dpps[i + 1]; fr += rpps[i + 1]; k++ }
				if (k) { fl /= k; fr /= k }
			}
			xd = fl > 0 ? dpps[i] / fl : 0
			xr = fr > 0 ? rpps[i] / fr : 0
			dpct = rx[i] > 0 ? 100 * dr[i] / rx[i] : 0
			dlv = pk[i] > 0 ? 100 * rx[i] / pk[i] : 0
			printf "%-15s %8.3f %7.3f %8.3f %7.3f %6.1f %8.3f %8.3f %6.1f %5.2f %-7s %s\n", m[i], dpps[i] / 1e6, xd, rpps[i] / 1e6, xr, dpct, fl / 1e6, wrpps[i] / 1e6, dlv, ns[i], es[i], ck[i]
			line[i] = sprintf("{\"bench\":\"flood\",\"mode\":\"%s\",\"gen\":\"%s\",\"cpu\":%s,\"shape\":\"%s\",\"method\":\"%s\",\"wall_seconds\":%s,\"active_seconds\":%s,\"generated\":%s,\"rx\":%s,\"xmit_errors\":%s,\"drop\":%s,\"pass\":%s,\"drop_pps\":%.0f,\"rx_pps\":%.0f,\"wall_drop_pps\":%.0f,\"wall_rx_pps\":%.0f,\"floor_drop_pps\":%.0f,\"floor_rx_pps\":%.0f,\"x_floor\":%.4f,\"rx_x_floor\":%.4f,\"rx_on_cpu\":%s,\"cpu_pinned\":%s,\"ksoftirqd_share\":%s,\"tcp_csum_errors\":%s,\"mxt_global_budget\":%s,\"mxt_source_limit\":%s,\"established_present\":\"%s\",\"checks\":\"%s\"}", mode, gen, cpu, sh[i], m[i], se[i], ac[i], pk[i], rx[i], xe[i], dr[i], pa[i], dpps[i], rpps[i], wdpps[i], wrpps[i], fl, fr, xd, xr, ns[i], co[i], ks[i], ce[i], gb[i], sl[i], es[i], ck[i])
		}
		# A slow floor compresses every ratio: say so next to the table.
		for (i = 1; i <= n; i++)
			if (m[i] == "floor" && dpps[i] < 15e6)
				printf "WARNING: floor run %d at %.3f Mpps, below 15 Mpps: ratios to it are compressed\n", i, dpps[i] / 1e6
		for (i = 1; i <= n; i++) {
			print "MXT_BENCH " line[i]
			if (out != "") print line[i] >> out
		}
	}' "$WORK/runs"
}

START=$(date +%s)
: >"$WORK/runs"
log "mode $MODE (warm-up ${WARM}s, measure ${MEAS}s per run), generator $GEN on CPU $CPU, build $BUILD"
check_napi
for shape in $SHAPES; do
	run_one "$shape" floor || true
	for m in $METHODS; do
		run_one "$shape" "$m" || true
		run_one "$shape" floor || true
	done
	report "$shape"
done
echo "flood.sh: done in $(( $(date +%s) - START )) s"
