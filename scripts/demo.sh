#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# demo.sh - the README's first command: on a fresh Debian 12 machine, as
# root, install what is needed (scripts/setup.sh; --no-setup skips it),
# build (make, honouring $BUILD), then show mxthrottle at work on two
# network namespaces, narrated with the CLI's own output:
#   (a) a connector (allow add) sending above every limit is never limited;
#   (b) a SYN burst far above a source's limit is dropped in XDP;
#   (c) a new sender is graylisted (451 4.7.500, AS101) once its hourly
#       allowance is used; over three virtual days its allowance grows and
#       it becomes established;
#   (d) an established sender (seeded with a week of history) jumping 20x
#       is throttled (451 4.7.510, AS201);
#   (e) kill -9 of the daemon: XDP goes on dropping; a restart restores
#       the history (explain reads the same).
#
# Isolation (the pattern of tests/integration/lib.sh): the demo re-executes
# itself under timeout + unshare --mount --pid, so that everything it
# creates dies with it, even on Ctrl-C or kill -9: a private tmpfs workdir
# (history, control socket, logs), a private bpffs as the pin dir
# (pin_dir / --pin-dir), a private /run (ip netns names), and two network
# namespaces holding the veth pair, the XDP program, the daemon and the
# listener.  Only 198.18.0.0/15 and 2001:2::/48 are used.  The daemon runs
# in test mode (-T) so that the CLI can move its clock ("ctl clock advance")
# and give a sender history ("ctl seed").
#
#   bash scripts/demo.sh [--no-setup]       (BUILD=dir to use another build dir)
# Exit status 0 when everything behaved as narrated, 1 otherwise (the
# failed checks are listed at the end).

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# --- outside: set up, build, isolate ------------------------------------------
if [ "${MXT_DEMO_ISOLATED:-}" != 1 ]; then
	setup=1
	for a in "$@"; do
		case $a in
		--no-setup) setup=0 ;;
		-h | --help)
			sed -n '3,28p' "$0" | sed 's/^# \{0,1\}//'
			exit 0 ;;
		*)
			echo "demo.sh: unknown argument '$a' (want --no-setup)" >&2
			exit 1 ;;
		esac
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "demo.sh: must run as root (XDP, network namespaces, bpffs)" >&2
		exit 1
	fi
	cd "$ROOT" || exit 1
	BUILD=${BUILD:-build}
	if [ "$setup" = 1 ]; then
		echo "=== Installing the Debian packages (scripts/setup.sh; --no-setup skips this)"
		bash scripts/setup.sh || { echo "demo.sh: scripts/setup.sh failed" >&2; exit 1; }
	fi
	echo "=== Building (make BUILD=$BUILD)"
	make BUILD="$BUILD" -j"$(nproc)" >/dev/null ||
		{ echo "demo.sh: make failed (run 'make BUILD=$BUILD' to see why)" >&2; exit 1; }
	for t in ip unshare timeout jq mount; do
		command -v "$t" >/dev/null ||
			{ echo "demo.sh: $t is missing (run scripts/setup.sh)" >&2; exit 1; }
	done
	BUILD=$(cd "$BUILD" && pwd)
	export MXT_DEMO_ISOLATED=1 BUILD
	# A PID namespace whose init is the demo: whatever happens to it, the
	# kernel kills what it started, and the namespaces go with them.
	exec timeout --kill-after=10 "${MXT_DEMO_TIMEOUT:-115}" \
		unshare --mount --pid --fork --kill-child=SIGTERM --mount-proc \
		--propagation private -- bash "$0" "$@"
fi

# --- inside: the demo ---------------------------------------------------------------
GW=mxt-demo-gw
SND=mxt-demo-snd
GW_IF=g0
SND_IF=s0
GW4=198.19.0.1
GW6=2001:2::1
CONN4=198.18.1.1      # (a) a connector (IPv4)
CONN6=2001:2:0:1::1   # (a) a connector (IPv6)
BURST=198.18.1.2      # (b) a SYN burst
NEWS=198.18.1.3       # (c) a new sender
ESTAB=198.18.1.4      # (d) an established sender that jumps
SRCS=("$CONN4" "$BURST" "$NEWS" "$ESTAB")
SRCS6=("$CONN6")
PORT=10031            # policy service, inet:127.0.0.1:PORT in the gateway namespace
WORK=
DAEMON_PID=
LISTEN_PID=
LOGMARK=0
CHECKS=0
FAILS=()
T0=$SECONDS
EVENTS='(ATTACH|START|STOP|RESTORE|RESEED|POLICY|GRAYLIST|ESTABLISH|THROTTLE|RELEASE|BLOCK|ALLOW|DISALLOW|CLOCK|RELOAD|running as|warning|error)'

title() { printf '\n=== %s\n' "$*"; }
say() { printf '%s\n' "$*" | fold -s -w 100; }
die() {
	echo "demo.sh: $*" >&2
	FAILS+=("$*")
	exit 1
}

# check WHAT CMD...: one verdict line; failures are listed at the end.
check() {
	local what=$1
	shift
	CHECKS=$((CHECKS + 1))
	if "$@" >/dev/null 2>&1; then
		printf '  [ok] %s\n' "$what"
	else
		printf '  [FAILED] %s\n' "$what"
		FAILS+=("$what")
	fi
}

# between LO HI VALUE: LO <= VALUE <= HI (integers).
between() { [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -ge "$1" ] && [ "$3" -le "$2" ]; }

# not CMD...: succeeds when CMD fails.
not() { ! "$@"; }

# attached: mxt_xdp runs on the gateway's interface.
attached() { mxt status --json | jq -e ".interfaces[] | select(.ifname == \"$GW_IF\")"; }

# wait_until SECONDS CMD...: poll every 50 ms, bounded.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# ns_exec NS CMD...: run in a network namespace.  "ip netns exec" mounts a
# fresh /sys, which hides /sys/fs/bpf: bind the private one there again
# (libxdp keeps its dispatcher pins there).
ns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" /bin/sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' \
		"$WORK/sysbpf" "$@"
}

# mxt ARGS...: the CLI, on the gateway (MXT_PIN_DIR and MXT_CONTROL are set).
mxt() { ns_exec "$GW" timeout 20 "$BUILD/mxthrottle" "$@"; }

# run ARGS...: show "$ mxthrottle ARGS", run it, indent its output.
run() {
	local out rc
	printf '  $ mxthrottle %s\n' "$*"
	out=$(mxt "$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    /'
	return $rc
}

# log_show: the daemon's event lines written since the last call.
log_show() {
	local n
	n=$(wc -l <"$WORK/daemon.log")
	if [ "$n" -gt "$LOGMARK" ]; then
		sed -n "$((LOGMARK + 1)),${n}p" "$WORK/daemon.log" | grep -E "$EVENTS" |
			grep -v -e 'CLOCK advanced' -e 'libbpf:' -e 'libxdp:' | sed 's/^/    log| /'
	fi
	LOGMARK=$n
}

# connect SRC N CONC: N real TCP connections to port 25 from SRC, CONC at
# once, 300 ms timeout (shorter than TCP's 1 s SYN retransmission, so one
# failed connection is one dropped SYN).  Sets C_OK and C_FAIL.
connect() {
	local dst=$GW4 out
	[[ $1 == *:* ]] && dst=$GW6
	printf '  $ mxt-connect -s %s -d %s -p 25 -n %s -c %s -t 300\n' "$1" "$dst" "$2" "$3"
	out=$(ns_exec "$SND" timeout 30 "$BUILD/mxt-connect" -s "$1" -d "$dst" -p 25 -n "$2" \
		-c "$3" -t 300 --banner 2>&1)
	printf '    %s\n' "$out"
	C_OK=$(printf '%s' "$out" | sed -n 's/.*\bok=\([0-9]*\).*/\1/p')
	C_FAIL=$(printf '%s' "$out" | sed -n 's/.*\bfail=\([0-9]*\).*/\1/p')
	C_OK=${C_OK:-x}
	C_FAIL=${C_FAIL:-x}
}

# policy ADDR N: N message transactions (one RCPT request each, as Postfix
# sends them) from client ADDR to the policy service; one answer per line.
# Every transaction has its own Postfix "instance" (the daemon counts a
# session at the first request of an instance): the time in microseconds
# makes them unique even when called from a subshell.
policy() {
	ns_exec "$GW" timeout 20 bash -c '
		addr=$1 n=$2 tag=$3 port=$4
		exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
		for ((i = 1; i <= n; i++)); do
			printf "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=unknown\nhelo_name=mx.sender.test\nsender=news@sender.test\nrecipient=user%d@gateway.test\nrecipient_count=0\ninstance=%s.%d\nsize=2048\n\n" \
				"$addr" "$i" "$tag" "$i" >&3 || exit 1
			IFS= read -r -t 5 ans <&3 || exit 1
			IFS= read -r -t 5 _ <&3
			printf "%s\n" "$ans"
		done' policy "$1" "$2" "t${EPOCHREALTIME/./}" "$PORT"
}

# summarize: answers (stdin) grouped by kind, "N x <first answer of that kind>".
summarize() {
	awk '{ k = $0; gsub(/retry after [0-9]+ s/, "retry after N s", k)
	       if (!(k in c)) { o[++n] = k; f[k] = $0 } c[k]++ }
	     END { for (i = 1; i <= n; i++) printf "    %3d x %s\n", c[o[i]], f[o[i]] }'
}

# ask ADDR N: policy + summary; leaves the answers in $ANS.
ask() {
	printf '  %s sends %s messages (policy requests at RCPT, as Postfix asks):\n' "$1" "$2"
	ANS=$(policy "$1" "$2") || { printf '    (the policy service did not answer)\n'; ANS=; }
	[ -n "$ANS" ] && printf '%s\n' "$ANS" | summarize
}
count() { printf '%s\n' "$ANS" | grep -c -- "$1"; }

# jx ADDR FILTER: one field of "explain ADDR --json".
jx() { mxt explain "$1" --json 2>/dev/null | jq -r "$2"; }

# reason REASON: a verdict counter from "stats --json".
reason() { mxt stats --json 2>/dev/null | jq -r ".reasons.$1 // empty"; }

# Stop what we started; runs on every exit path.
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM HUP
	for pid in $DAEMON_PID $LISTEN_PID; do kill -TERM "$pid" 2>/dev/null; done
	for pid in $DAEMON_PID $LISTEN_PID; do
		wait_until 3 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ip netns del "$SND" 2>/dev/null
	ip netns del "$GW" 2>/dev/null
	umount /sys/fs/bpf 2>/dev/null
	[ -n "$WORK" ] && umount -R "$WORK/bpf" "$WORK/sysbpf" 2>/dev/null
	umount -R /run 2>/dev/null
	echo
	if [ "$rc" -eq 0 ] && [ ${#FAILS[@]} -eq 0 ]; then
		echo "=== Demo complete: $CHECKS checks passed in $((SECONDS - T0)) s; namespaces, maps and files removed."
		exit 0
	fi
	[ "$rc" -eq 0 ] && rc=1
	echo "=== Demo FAILED (exit $rc): ${#FAILS[@]} of $CHECKS checks failed; everything it created was removed."
	for f in "${FAILS[@]}"; do echo "    - $f"; done
	exit "$rc"
}
trap cleanup EXIT
trap 'FAILS+=("interrupted"); exit 130' INT
trap 'FAILS+=("terminated (overall timeout ${MXT_DEMO_TIMEOUT:-115} s?)"); exit 143' TERM
trap 'exit 129' HUP

# --- the stage ------------------------------------------------------------------------
title "Setting the stage: a gateway and a sender in two network namespaces"
mount --make-rprivate / || die "cannot make the mounts private"
# A private /run holds everything: the work dir (history, sockets, logs)
# and the "ip netns" names.  Nothing is written outside this namespace.
mount -t tmpfs -o size=64m,mode=0755 mxt-demo-run /run || die "cannot mount a private /run"
WORK=/run/mxt-demo
mkdir -m 0711 "$WORK" && mkdir -p "$WORK/bpf" "$WORK/sysbpf" "$WORK/run" /run/netns ||
	die "mkdir in $WORK failed"
mount -t bpf bpf "$WORK/bpf" || die "cannot mount a bpffs (pin dir)"
mount -t bpf bpf "$WORK/sysbpf" || die "cannot mount a bpffs"
mount --bind "$WORK/sysbpf" /sys/fs/bpf || die "cannot bind a private /sys/fs/bpf"
export MXT_PIN_DIR=$WORK/bpf MXT_CONTROL=$WORK/run/control.sock

ip netns add "$GW" && ip netns add "$SND" || die "ip netns add failed"
ip -n "$SND" link add "$SND_IF" type veth peer name "$GW_IF" netns "$GW" || die "veth failed"
for ns in "$GW" "$SND"; do
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.autoconf=0 >/dev/null
done
if command -v ethtool >/dev/null; then # one frame per segment, as on a NIC without GRO
	ip netns exec "$SND" ethtool -K "$SND_IF" tso off gso off gro off >/dev/null 2>&1
	ip netns exec "$GW" ethtool -K "$GW_IF" tso off gso off gro off >/dev/null 2>&1
fi
ip -n "$GW" addr add "$GW4/15" dev "$GW_IF"
ip -n "$GW" addr add "$GW6/48" dev "$GW_IF" nodad
for a in "${SRCS[@]}"; do ip -n "$SND" addr add "$a/15" dev "$SND_IF" || die "addr $a"; done
for a in "${SRCS6[@]}"; do ip -n "$SND" addr add "$a/48" dev "$SND_IF" nodad || die "addr $a"; done
ip -n "$SND" link set "$SND_IF" up && ip -n "$GW" link set "$GW_IF" up || die "link up failed"
mac_s=$(ip netns exec "$SND" cat /sys/class/net/$SND_IF/address)
mac_g=$(ip netns exec "$GW" cat /sys/class/net/$GW_IF/address)
ip -n "$SND" neigh replace "$GW4" lladdr "$mac_g" dev "$SND_IF" nud permanent
ip -n "$SND" neigh replace "$GW6" lladdr "$mac_g" dev "$SND_IF" nud permanent
for a in "${SRCS[@]}" "${SRCS6[@]}"; do
	ip -n "$GW" neigh replace "$a" lladdr "$mac_s" dev "$GW_IF" nud permanent
done
wait_until 5 sh -c "ip -n $GW -6 addr show dev $GW_IF | grep -q 'scope global' &&
	! ip -n $GW -6 addr show dev $GW_IF | grep -q tentative" || die "IPv6 on $GW_IF never came up"
say "  sender   $SND: ${SRCS[*]} ${SRCS6[*]}"
say "  gateway  $GW: $GW4 $GW6 on $GW_IF, a listener on port 25 (mxt-listen)"

ns_exec "$GW" "$BUILD/mxt-listen" -l "$GW4:25" -l "[$GW6]:25" -o "$WORK/listen.json" \
	-r "$WORK/listen.ready" -b "220 mx.gateway.test ESMTP" >"$WORK/listen.log" 2>&1 &
LISTEN_PID=$!
wait_until 5 test -f "$WORK/listen.ready" || die "the listener did not start ($(cat "$WORK/listen.log"))"

RUN_USER=root
getent passwd mxthrottle >/dev/null && RUN_USER=mxthrottle
cat >"$WORK/mxthrottle.conf" <<EOF
# mxthrottled for the demo: everything in the demo's private directories.
interface = $GW_IF
pin_dir = $WORK/bpf
state_db = $WORK/state/history.mdb
control_socket = $WORK/run/control.sock
policy_listen = inet:127.0.0.1:$PORT
user = $RUN_USER
checkpoint_interval = 2
tick_interval = 200
EOF
say "  mxthrottled's configuration ($WORK/mxthrottle.conf; the rest are defaults:"
say "  unknown sources 120 SYN/min, burst 30):"
sed 's/^/    /' "$WORK/mxthrottle.conf"
"$BUILD/mxthrottled" -n -f "$WORK/mxthrottle.conf" >/dev/null || die "mxthrottled -n refused the configuration"

start_daemon() {
	rm -f "$WORK/ready"
	ip netns exec "$GW" /bin/sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' "$WORK/sysbpf" \
		"$BUILD/mxthrottled" -d -T -f "$WORK/mxthrottle.conf" >>"$WORK/daemon.log" 2>&1 &
	DAEMON_PID=$!
	wait_until 10 sh -c "grep -q 'START mxthrottled' '$WORK/daemon.log' && test -S '$MXT_CONTROL'" ||
		die "mxthrottled did not start: $(tail -n 3 "$WORK/daemon.log" | tr '\n' ' ')"
	wait_until 5 mxt daemon status || die "mxthrottled does not answer on $MXT_CONTROL"
}
say ""
say "  Starting mxthrottled -d -T (test mode: 'ctl clock advance' and 'ctl seed' work)."
say "  Below, 'mxthrottle' is $BUILD/mxthrottle with MXT_PIN_DIR=$MXT_PIN_DIR"
say "  and MXT_CONTROL=$MXT_CONTROL."
touch "$WORK/daemon.log"
start_daemon
log_show
run status
check "mxt_xdp is attached to $GW_IF" attached

# --- (a) ------------------------------------------------------------------------------
title "(a) A connector is never limited"
say "  A partner's relay sends far more than any limit.  Made a connector, it passes XDP
  untouched and the policy service never defers it.  With the daemon running, 'allow add'
  goes through it: the change persists (its connectors file) and its own list follows."
run allow add "$CONN4/32"
run allow add "${CONN6%::1}::/64"
s0=$(reason allowlisted)
connect "$CONN4" 400 100
check "all 400 connections from the IPv4 connector accepted (got $C_OK)" test "$C_OK" = 400
connect "$CONN6" 200 100
check "all 200 connections from the IPv6 connector accepted (got $C_OK)" test "$C_OK" = 200
s1=$(reason allowlisted)
check "XDP counted 600 SYNs as allowlisted (got $((s1 - s0)))" test "$((s1 - s0))" = 600
run allow list
ask "$CONN4" 60
check "60 of 60 connector messages accepted (DUNNO), far above a new sender's 20/h (got $(count 'action=DUNNO'))" \
	test "$(count 'action=DUNNO')" = 60
log_show

# --- (b) ------------------------------------------------------------------------------
title "(b) A SYN burst far above its limit is dropped in XDP"
say "  $BURST has no history: its SYNs get the class limit of unknown sources, 120 SYN/min
  with a burst of 30.  It opens 600 connections at once; 'top' samples during the burst."
d0=$(reason source_limit)
b0=$(reason blocked)
(mxt top -n 5 -i 2 >"$WORK/top.out" 2>&1) &
TOP_PID=$!
sleep 0.3
connect "$BURST" 600 600
wait "$TOP_PID"
max_ok=$((30 + $(nproc) + 4))
check "at most the burst (30, +1 per CPU, +refill) got through (got $C_OK, want 1..$max_ok)" \
	between 1 "$max_ok" "$C_OK"
d1=$(reason source_limit)
b1=$(reason blocked)
dropped=$((d1 - d0 + b1 - b0))
check "every failed connection is a SYN dropped in XDP (failed $C_FAIL, dropped $dropped)" \
	test "$dropped" = "$C_FAIL"
printf '  $ mxthrottle stats     (the counted-SYN rows)\n'
mxt stats | grep -E '^ *REASON|allowlisted|admitted|source_limit|blocked|global_budget' | sed 's/^/    /'
printf '  $ mxthrottle top -n 5 -i 2     (sampled during the burst)\n'
sed 's/^/    /' "$WORK/top.out"
run show "$BURST"
log_show

# --- (c) ------------------------------------------------------------------------------
title "(c) A new sender is graylisted, then earns its place"
say "  $NEWS was never seen.  Only real sessions (Postfix policy requests) build history:
  on probation a sender may deliver 20 sessions/h on day 0, 100/h after 1 clean day,
  500/h after 2, and is established after 3 clean days."
vnow=$(jx "$NEWS" .now)
if [[ "$vnow" =~ ^[0-9]+$ ]] && [ $((vnow % 3600)) -gt 3540 ]; then
	say "  (the virtual clock is at the top of an hour: +120 s first, so the hourly allowance
  does not reset in the middle of the demo)"
	mxt ctl clock advance 120 >/dev/null
fi
ask "$NEWS" 25
check "the first 20 sessions accepted (got $(count 'action=DUNNO'))" test "$(count 'action=DUNNO')" = 20
check "the next 5 deferred with 451 4.7.500 (AS101) (got $(count '451 4.7.500.*(AS101)'))" \
	test "$(count '451 4.7.500.*(AS101)')" = 5
run explain "$NEWS"
log_show
say ""
say "  An hour later the hourly allowance is back:"
run ctl clock advance 3600
ask "$NEWS" 10
check "10 sessions accepted in the next hour (got $(count 'action=DUNNO'))" test "$(count 'action=DUNNO')" = 10
for day in 1 2 3; do
	say ""
	say "  One day later (day $day):"
	run ctl clock advance 86400
	run explain "$NEWS"
	log_show
	case $day in
	1 | 2)
		want=$((day == 1 ? 100 : 500))
		check "after $day clean day(s): graylisted, allowance $want/h (got $(jx "$NEWS" '.state + " " + (.allowance | floor | tostring)'))" \
			test "$(jx "$NEWS" '.state + " " + (.allowance | floor | tostring)')" = "graylisted $want"
		ask "$NEWS" 30
		check "30 sessions accepted (got $(count 'action=DUNNO'))" test "$(count 'action=DUNNO')" = 30
		;;
	3)
		check "after 3 clean days: established (got $(jx "$NEWS" .state))" \
			test "$(jx "$NEWS" .state)" = established
		;;
	esac
done

# --- (d) ------------------------------------------------------------------------------
title "(d) An established sender jumps 20x its own baseline"
say "  Test mode gives $ESTAB a week of history, 100 sessions/h, through the model's own
  admission path."
run ctl seed "$ESTAB" 100 7
check "the seeded sender is established (got $(jx "$ESTAB" .state))" test "$(jx "$ESTAB" .state)" = established
run explain "$ESTAB"
log_show
say "  Now it sends 2000 sessions/h, 20x its usual rate: 5 every 9 s of virtual time (each round
  is followed by 'ctl clock advance 9'; rounds like the one before are elided)."
printf '  %-8s %-11s %s\n' "virtual" "state" "answers to its 5 sessions"
ALL=
thr_at=
prev=
prev_shown=0
for ((r = 0; r < 60; r++)); do
	ANS=$(policy "$ESTAB" 5) || ANS=
	ALL+=$ANS$'\n'
	st=$(jx "$ESTAB" .state)
	[ -z "$thr_at" ] && [ "$st" = throttled ] && thr_at=$((r * 9))
	row=$(printf '%s\n' "$ANS" | sed -E 's/retry after [0-9]+ s/retry after N s/; s/action=//' |
		sort | uniq -c | awk '{ $1 = $1 " x"; print }' | paste -sd';')
	if [ "$st $row" != "$prev" ] || [ "$(count '(AS201)')" -gt 0 ]; then
		printf '  +%3ds    %-11s %s\n' $((r * 9)) "$st" "$(printf '%s' "$row" | cut -c1-120)"
	elif [ "$prev_shown" = 1 ]; then
		printf '  ...\n'
	fi
	prev_shown=$([ "$st $row" != "$prev" ] && echo 1 || echo 0)
	prev="$st $row"
	[ "$(count '(AS201)')" -gt 0 ] && break
	mxt ctl clock advance 9 >/dev/null || break
done
ANS=$ALL
check "throttled within a minute of the jump (at +${thr_at:-never} s)" between 0 60 "${thr_at:-999}"
check "deferred with 451 4.7.510 (AS201) once its throttled allowance was used (got $(count '451 4.7.510.*(AS201)'))" \
	test "$(count '451 4.7.510.*(AS201)')" -ge 1
printf '%s\n' "$ANS" | grep -m1 '(AS201)' | sed 's/^/    first deferral: /'
run explain "$ESTAB"
ratio=$(jx "$ESTAB" .ratio)
check "explain shows the jump: its rate over the last 10 minutes is ${ratio}x its baseline" \
	between 3 1000000 "${ratio%.*}"
check "explain says when the throttle may lift" between 1 99999999999 "$(jx "$ESTAB" .next_change)"
log_show

# --- (e) ------------------------------------------------------------------------------
title "(e) kill -9: enforcement goes on, history survives"
say "  checkpoint_interval is 2 s here (default 60 s): a kill -9 loses at most that much
  history.  Wait one interval, remember what explain says, then kill the daemon."
sleep 2.5
run daemon status
STABLE='{tracked, state, code, days_active, first_seen, state_since, last_session, kernel_class, kernel_rate, next_change}'
before_n=$(mxt explain "$NEWS" --json | jq -c "$STABLE")
before_e=$(mxt explain "$ESTAB" --json | jq -c "$STABLE")
offset=$(($(jx "$ESTAB" .now) - $(date +%s)))
printf '  $ kill -9 %s     (mxthrottled)\n' "$DAEMON_PID"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
run explain "$ESTAB"
check "without the daemon, explain says so and fails" not mxt explain "$ESTAB"
say "  XDP does not need the daemon: the same burst again."
d0=$(reason source_limit)
connect "$BURST" 600 600
d1=$(reason source_limit)
check "still limited without the daemon (got $C_OK through, want 1..$max_ok)" between 1 "$max_ok" "$C_OK"
check "and dropped in XDP (failed $C_FAIL, dropped $((d1 - d0)))" test "$((d1 - d0))" = "$C_FAIL"
say ""
say "  Restart: the daemon adopts the attached program and restores its history.  (Test mode:
  the virtual clock offset is not persisted, so we move it forward by the same $offset s.)"
start_daemon
log_show
run ctl clock advance "$offset"
after_n=$(mxt explain "$NEWS" --json | jq -c "$STABLE")
after_e=$(mxt explain "$ESTAB" --json | jq -c "$STABLE")
run explain "$ESTAB"
check "$NEWS reads the same after the restart" test "$before_n" = "$after_n"
check "$ESTAB reads the same after the restart" test "$before_e" = "$after_e"
if [ "$before_e" != "$after_e" ]; then
	printf '    before: %s\n    after:  %s\n' "$before_e" "$after_e"
fi
run history export --csv
log_show
