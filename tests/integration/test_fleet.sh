#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_fleet.sh - three mxthrottled nodes sharing one view of every sender
# on Redis (docs/fleet.md): each node runs in its own network namespace
# with its own XDP attachment (g0) and pin dir; two redis-server shards,
# started here on private unix sockets in the test's tmpfs (never the
# system service).  Policy requests go to each node's unix policy socket
# from a small perl client (one request = one SMTP session).  The daemons
# run in test mode (-T): their clocks are moved together with "ctl clock
# advance" and senders are given a history with "ctl seed".
#
# Cases (one run_test each, in this order; later ones use earlier senders):
#   fleet_up               every node sees the three nodes and both shards up
#   shared_allowance       a new sender spreading its sessions round-robin
#                          over the three nodes gets the allowance of one host
#                          (within one tick's worth) and every node counts all
#   established_together   a new sender, a few sessions a day over the three,
#                          is established on all three at the same step as
#                          a sender of one host
#   jump_throttled         a 20x jump of an established sender spread over
#                          the three is throttled on all three within 60 s
#   actions_shared         release, forget and allow add on one node take
#                          effect on the other two
#   redis_outage           60 s without Redis under traffic (shard 1 hung,
#                          shard 2 killed and restarted empty): every policy
#                          request answered; every node keeps dropping the
#                          SYNs of a source over its kernel limit, with the
#                          same kernel entry before, during and after; then
#                          the hour's totals in Redis equal the sum the nodes
#                          admitted and every node's model holds them
#   redis_refill           both shards killed, traffic without them, then
#                          restarted empty: every request answered; the nodes
#                          write the sender records and hour counts again
#   past_hour_merged       counts of an hour that ended during an outage reach
#                          the other nodes' models in that hour
#   block_shared           a SYN flood against node 1 only: node 1's block
#                          reaches the kernels of nodes 2 and 3
#   two_shards             every source's keys are on exactly one shard
#   join_learns_history    a node restarted without its LMDB history learns
#                          the shared records before it answers
#   join_redis_down        a node started while Redis does not answer waits
#                          fleet_join_timeout, then answers from its own view
#   postfix_two_nodes      real Postfix on nodes 1 and 2 (XCLIENT gives the
#                          sessions a 198.18 client address): a new sender
#                          alternating between them gets one allowance
#   budget_shared          the new-sender budget is the fleet's: newcomers
#                          node 1 admitted use up node 2's budget too
#
# Addresses: sources in 198.18.0.0/15 only (policy requests carry them as
# text; SYNs from mxt-synflood over each node's veth).  Run as root:
# bash tests/integration/test_fleet.sh.  About 5 min.

# The perl program below is single-quoted on purpose.
# shellcheck disable=SC2016

: "${MXT_TEST_TIMEOUT:=600}" # ~5 min on a quiet machine; the shared one is slower
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/postfix_lib.sh
source "$(dirname "$0")/postfix_lib.sh"
mxt_init

for t in "$MXT_DAEMON" perl redis-server redis-cli postfix swaks script; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (make BUILD=$BUILD; scripts/setup.sh)"
		exit 1
	fi
done

FLEET=t$MXT_RUN_ID
NODES=(1 2 3)
NS=("" "$GW" "$MXT_PREFIX-n2" "$MXT_PREFIX-n3")
D_PID=()
X=198.18.7.1    # new sender, round-robin over the fleet
Y=198.18.7.2    # the same, against node 1 only (one host)
Z=198.18.7.3    # new sender establishing over the fleet
W=198.18.7.4    # the same, node 1 only
J=198.18.7.5    # established, jumps 20x
O=198.18.7.6    # established, traffic during the outage
P=198.18.7.7    # new sender through the two Postfix instances
R=198.18.7.8    # new sender while there is no Redis
SYN=198.18.7.9  # graylisted, SYNs over its kernel limit through the outage
O2=198.18.7.10  # established, traffic during the outage (the other shard, likely)
Q=198.18.7.11   # new sender seen by node 1 only, in an hour that ends during an outage
BF=198.18.7.12  # SYN flood against node 1 only: blocked on every node
CONN=198.18.9.0/24

# Nodes 2 and 3: their own namespaces, each with a veth pair of its own
# (XDP on g0).  Node 1 uses lib.sh's gateway.
for n in 2 3; do
	ip netns add "${NS[$n]}" || { fail setup "netns ${NS[$n]}: got failure, want created"; exit 1; }
	ip -n "${NS[$n]}" link set lo up
	ip -n "${NS[$n]}" link add g0 type veth peer name p0 || { fail setup "veth in ${NS[$n]}"; exit 1; }
	ip -n "${NS[$n]}" link set g0 up
	ip -n "${NS[$n]}" link set p0 up
done

# EXIT: the daemons first, the extra namespaces, then lib.sh's cleanup.
f_cleanup() {
	local rc=$? p
	[ -n "$MXT_WORK" ] && pf_stop "${NS[1]}" "$MXT_WORK/pf1" && pf_stop "${NS[2]}" "$MXT_WORK/pf2"
	for p in "${D_PID[@]}"; do [ -n "$p" ] && bg_stop "$p" TERM; done
	if [ "$MXT_FAILED" -gt 0 ]; then
		for p in 1 2 3; do
			grep -hE "FLEET|error|warn" "$MXT_WORK/n$p"/daemon.log.* 2>/dev/null | tail -n 15 | sed "s/^/# n$p: /"
		done
	fi
	ip netns del "${NS[2]}" 2>/dev/null
	ip netns del "${NS[3]}" 2>/dev/null
	(exit "$rc")
	mxt_cleanup
}
trap f_cleanup EXIT

# --- redis -------------------------------------------------------------------

REDIS_PID=()

# redis_start I: shard I on $MXT_WORK/redisI/redis.sock, no persistence.
redis_start() {
	local d=$MXT_WORK/redis$1
	mkdir -p "$d"
	redis-server --port 0 --unixsocket "$d/redis.sock" --unixsocketperm 700 --save "" \
		--appendonly no --dir "$d" --daemonize no --logfile "$d/log" >/dev/null 2>&1 &
	REDIS_PID[$1]=$!
	MXT_BG_PIDS+=("$!")
	wait_until 5 rcli "$1" ping
}

# rcli I ARGS...: redis-cli on shard I.
rcli() {
	local i=$1
	shift
	timeout 10 redis-cli -s "$MXT_WORK/redis$i/redis.sock" "$@"
}

# --- the nodes -------------------------------------------------------------------

# node_conf N: the configuration of node N.
node_conf() {
	local n=$1 d=$MXT_WORK/n$1
	mkdir -p "$d"
	cat >"$d/mxthrottle.conf" <<-EOF
		interface = g0
		pin_dir = $MXT_BPFFS/n$n
		state_db = $d/history.mdb
		control_socket = $d/control.sock
		policy_listen = unix:$d/policy.sock
		user = root
		checkpoint_interval = 2
		tick_interval = 200
		ports = 25
		v4_prefix = 32
		v6_prefix = 64
		fleet_redis = unix:$MXT_WORK/redis1/redis.sock
		fleet_redis = unix:$MXT_WORK/redis2/redis.sock
		fleet_name = $FLEET
		node_name = n$n
		fleet_join_timeout = 5
	EOF
}

# node_start N: mxthrottled -d -T in node N's namespace; waits for START.
node_start() {
	local n=$1 log
	log=$MXT_WORK/n$n/daemon.log.$SECONDS
	bg "${NS[$n]}" "$log" "$MXT_DAEMON" -d -T -f "$MXT_WORK/n$n/mxthrottle.conf"
	D_PID[n]=$BG_PID
	ln -sf "$log" "$MXT_WORK/n$n/daemon.log"
	if ! wait_until 15 grep -q "START mxthrottled" "$log"; then
		note "node $n: $(tr '\n' ' ' <"$log" | cut -c1-400)"
		return 1
	fi
}

# nc N ARGS...: the CLI against node N.
nc() {
	local n=$1
	shift
	mxt_ns "${NS[$n]}" "$MXT_BPFFS/n$n" --control "$MXT_WORK/n$n/control.sock" "$@"
}

# mxt_ns NS PINDIR ARGS...: lib.sh's mxt, in namespace NS.
mxt_ns() {
	local ns=$1 pindir=$2
	shift 2
	ns_exec "$ns" timeout 20 "$MXT_CLI" --pin-dir "$pindir" "$@" 2>>"$MXT_WORK/cli.err"
}

# ex N ADDR FIELD: a field of node N's explain (booleans as text).
ex() {
	jget "$(nc "$1" explain "$2" --json)" ".$3 | tostring"
}

# fst N FIELD: a field of node N's own fleet view (fleet status --json).
fst() {
	jget "$(nc "$1" fleet status --json)" ".self.$2"
}

# all_ex ADDR FIELD: node 1's, 2's and 3's values, space separated.
all_ex() {
	echo "$(ex 1 "$1" "$2") $(ex 2 "$1" "$2") $(ex 3 "$1" "$2")"
}

# all_same ADDR FIELD WANT: every node says WANT.
all_same() {
	[ "$(all_ex "$1" "$2")" = "$3 $3 $3" ]
}

# advance SECONDS: every node's clock, one after the other.
advance() {
	local n
	for n in "${NODES[@]}"; do nc "$n" ctl clock advance "$1" >/dev/null || return 1; done
}

# settled: no node has counts waiting for Redis, and every node has read
# the others' last batches (two more polls).
settled() {
	local n
	for n in "${NODES[@]}"; do [ "$(fst "$n" backlog)" = 0 ] || return 1; done
	sleep 0.4
}

# --- the policy client -------------------------------------------------------------

cat >"$MXT_WORK/pc.pl" <<'PERL'
# pc.pl SOCKETS IP COUNT GAP_MS TAG: COUNT sessions of IP, round-robin over
# the comma-separated policy sockets, GAP_MS apart; one line of counts.
use strict; use warnings;
use IO::Socket::UNIX; use IO::Select; use Time::HiRes qw(usleep);
$SIG{PIPE} = "IGNORE";
my ($socks, $ip, $count, $gap, $tag) = @ARGV;
my @paths = split /,/, $socks;
my @c = map { IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $_) } @paths;
my ($adm, $def, $un) = (0, 0, 0);
my @per = map { 0 } @paths;
for my $i (0 .. $count - 1) {
	my $k = $i % @c;
	$c[$k] //= IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $paths[$k]);
	my $s = $c[$k];
	my $a = "none";
	if ($s) {
		syswrite($s, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" .
			"client_address=$ip\ninstance=$tag.$i." . int(rand(1e9)) . "\nrecipient=a\@example.org\n\n");
		my $buf = ""; my $sel = IO::Select->new($s);
		while ($buf !~ /\n\n/) {
			last unless $sel->can_read(5);
			my $n = sysread($s, $buf, 4096, length $buf);
			last unless $n;
		}
		$a = $buf =~ /^action=(\S+)/ ? $1 : "none";
		$c[$k] = undef if $a eq "none";
	}
	if ($a =~ /^(DUNNO|PREPEND|OK)$/i) { $adm++; $per[$k]++ }
	elsif ($a =~ /^(4\d\d|DEFER)/i) { $def++ }
	else { $un++ }
	usleep($gap * 1000) if $gap;
}
print "admitted=$adm deferred=$def unanswered=$un per=" . join(",", @per) . "\n";
PERL

# pc NODES IP COUNT GAP_MS: run the client against nodes "1 2 3" (or "1").
pc() {
	local socks="" n
	for n in $1; do socks+="${socks:+,}$MXT_WORK/n$n/policy.sock"; done
	timeout 120 perl "$MXT_WORK/pc.pl" "$socks" "$2" "$3" "$4" "t$RANDOM"
}

# field LINE NAME: a count out of pc's line.
field() {
	sed -n "s/.*\b$2=\([0-9,]*\).*/\1/p" <<<"$1"
}

# hexkey ADDR: the source key as the fleet names it (IPv4 /32).
hexkey() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	printf '0420%02x%02x%02x%02x000000000000000000000000' "$1" "$2" "$3" "$4"
}

# hour_sum ADDR HOUR: sum of every node's admitted sessions of ADDR in
# HOUR, over both shards (only one holds the key).
hour_sum() {
	local i k sum=0 v
	k="mxt:$FLEET:c:$(hexkey "$1"):$2"
	for i in 1 2; do
		for v in $(rcli "$i" hgetall "$k" | paste - - | awk '$1 ~ /\.s$/ {print $2}'); do
			sum=$((sum + v))
		done
	done
	echo "$sum"
}

# --- cases -------------------------------------------------------------------------

# nodes_seen N: node N's fleet status lists n1, n2 and n3.
nodes_seen() {
	[ "$(jget "$(nc "$1" fleet status --json)" '[.nodes[].node] | sort | join(",")')" = n1,n2,n3 ]
}

t_fleet_up() {
	local n
	for n in "${NODES[@]}"; do
		expect_true "node $n sees n1,n2,n3" "$(jget "$(nc "$n" fleet status --json)" '[.nodes[].node] | sort | join(",")')" \
			wait_until 10 nodes_seen "$n"
	done
	for n in "${NODES[@]}"; do
		expect_eq "node $n shards up" "$(fst "$n" shards_up)" 2
		expect_eq "node $n view" "$(fst "$n" view)" fleet
	done
	expect_true "daemon status shows the fleet" "$(nc 2 daemon status | tail -1)" \
		grep -q "fleet $FLEET node n2: fleet view" <<<"$(nc 2 daemon status)"
	expect_true "fleet status text lists both endpoints" "$(nc 3 fleet status | tr '\n' '|')" \
		grep -q "redis2/redis.sock *up" <<<"$(nc 3 fleet status)"
}

t_shared_allowance() {
	local fx fy ax ay allow
	fx=$(pc "1 2 3" "$X" 60 100)
	fy=$(pc "1" "$Y" 60 100)
	note "fleet: $fx; one host: $fy"
	ax=$(field "$fx" admitted) ay=$(field "$fy" admitted)
	allow=$(ex 1 "$Y" allowance)
	expect_eq "one host admits its allowance" "$ay" "${allow%.*}"
	# One tick (200 ms) + one poll (100 ms) at 10 sessions/s: 3 more at most.
	expect_range "fleet admits the same (within one tick)" "$ax" "$ay" "$((ay + 3))"
	expect_eq "fleet: unanswered" "$(field "$fx" unanswered)" 0
	wait_until 5 settled
	expect_eq "every node counts the fleet's sessions (used)" "$(all_ex "$X" used)" "$ax $ax $ax"
	expect_eq "every node defers the next one" "$(all_ex "$X" defer)" "true true true"
}

t_established_together() {
	local day sz sw states=()
	for day in 0 1 2 3 4; do
		pc "1 2 3" "$Z" 4 50 >/dev/null
		pc "1" "$W" 4 50 >/dev/null
		wait_until 5 settled
		wait_until 5 all_same "$Z" used 4
		sz=$(all_ex "$Z" state) sw=$(ex 1 "$W" state)
		states+=("day $day: $sz / $sw")
		expect_eq "day $day: the three nodes agree and match one host" "$sz" "$sw $sw $sw"
		advance 86400 || break
	done
	note "${states[*]}"
	expect_eq "established in the end" "$(all_ex "$Z" state)" "established established established"
}

t_jump_throttled() {
	local n t0 took st
	for n in "${NODES[@]}"; do nc "$n" ctl seed "$J" 200 14 >/dev/null; done
	expect_eq "seeded established everywhere" "$(all_ex "$J" state)" "established established established"
	# 200/h -> 4000/h (1.1/s) spread round-robin over the three.
	t0=$SECONDS
	while [ $((SECONDS - t0)) -lt 60 ]; do
		pc "1 2 3" "$J" 3 900 >/dev/null
		all_same "$J" state throttled && break
	done
	took=$((SECONDS - t0))
	st=$(all_ex "$J" state)
	note "20x jump over three nodes: '$st' after $took s"
	expect_eq "throttled on all three" "$st" "throttled throttled throttled"
	expect_range "within 60 s" "$took" 0 60
}

t_actions_shared() {
	nc 1 release "$J" >/dev/null
	expect_true "release on node 1 -> node 2 and 3 established" "$(all_ex "$J" state)" \
		wait_until 5 all_same "$J" state established
	nc 2 forget "$X" >/dev/null
	expect_true "forget on node 2 -> untracked everywhere" "$(all_ex "$X" tracked)" \
		wait_until 5 all_same "$X" tracked false
	expect_true "forget also removes X's shared record" "present" \
		wait_until 5 record_absent "$X"
	nc 3 allow add "$CONN" >/dev/null
	expect_true "allow add on node 3 -> node 1 and 2 kernel allowlists" \
		"n1: $(jget "$(nc 1 allow list --json)" '[.allow[].cidr] | join(",")') n2: $(jget "$(nc 2 allow list --json)" '[.allow[].cidr] | join(",")')" \
		wait_until 5 allowed_everywhere "$CONN"
	# The kernel map is written inside the action, the log line after it:
	# "allow list" reads the map, so the line may still be on its way.
	expect_true "applied line in node 2's log" "absent" \
		wait_until 5 grep -q "FLEET applied 'allow add $CONN'" "$MXT_WORK/n2/daemon.log"
}

# record_absent ADDR: no shard holds ADDR's sender record.
record_absent() {
	local i
	for i in 1 2; do
		[ "$(rcli "$i" exists "mxt:$FLEET:r:$(hexkey "$1")")" = 0 ] || return 1
	done
}

# allowed_everywhere CIDR: in the kernel allowlist of nodes 1 and 2.
allowed_everywhere() {
	local n
	for n in 1 2; do
		jget "$(nc "$n" allow list --json)" '.allow[].cidr' | grep -qx "$1" || return 1
	done
}

# --- SYNs (the kernel side of an outage) ---------------------------------------------

# SYNs of $SYN reach node N's g0 from the other end of its veth: node 1's
# from lib.sh's sender namespace, nodes 2's and 3's from p0 in their own.
SYN_NS=("" "$SND" "${NS[2]}" "${NS[3]}")
SYN_IF=("" s0 p0 p0)

# syn_loop STOPFILE: 10 SYNs of $SYN a second to every node (600/min, under
# block_syn_rate, far over its kernel limit) until STOPFILE exists.
syn_loop() {
	local n mac=()
	for n in "${NODES[@]}"; do
		mac[n]=$(ip -n "${NS[$n]}" -j link show g0 | jq -r '.[0].address')
	done
	while [ ! -e "$1" ]; do
		for n in "${NODES[@]}"; do
			ip netns exec "${SYN_NS[$n]}" timeout 5 "$BUILD/mxt-synflood" -i "${SYN_IF[$n]}" -m "${mac[n]}" \
				--method afpacket --sources 1 --src-first "$SYN" --dst-ip "$GW4" --dst-port 25 \
				--count 10 >/dev/null 2>&1
		done
		sleep 1
	done
}

# syn_snap N: "syns dropped class from rate burst" of $SYN in node N's
# kernel maps (show --json: the XDP program's own per-source counters).
syn_snap() {
	jget "$(nc "$1" show "$SYN" --json)" '"\(.syns) \(.dropped) \(.class) \(.limit.from) \(.limit.rate) \(.limit.burst)"'
}

# syn_limited N: node N's kernel holds $SYN's probation override.
syn_limited() {
	local v
	read -r -a v <<<"$(syn_snap "$1")"
	[ "${v[2]:-}" = graylisted ] && [ "${v[3]:-}" = override ]
}

# syn_all: every node's snapshot, "|" between nodes.
syn_all() {
	echo "$(syn_snap 1)|$(syn_snap 2)|$(syn_snap 3)"
}

# A 60 s outage under traffic, both kinds at once: shard 1 hangs (SIGSTOP:
# every command times out, as a partition does), shard 2 is killed and
# comes back empty (refill).  Policy traffic of O and O2 (established)
# runs through the whole outage; a graylisted source, $SYN, sends SYNs
# over its kernel limit to every node before, during and after it.
OUTAGE_S=60
t_redis_outage() {
	local n i o src out2 out hour sum adm stop=$MXT_WORK/syn.stop pid pid2 spid t0 t1 dt ncpu
	local snap_a snap_b snap_m snap_c snap_d
	local -a a b m c d
	ncpu=$(nproc)
	for n in "${NODES[@]}"; do
		nc "$n" ctl seed "$O" 100 14 >/dev/null
		nc "$n" ctl seed "$O2" 100 14 >/dev/null
	done
	pc "1" "$SYN" 1 0 >/dev/null
	for n in "${NODES[@]}"; do
		expect_true "node $n: SYN's kernel limit is its probation override" "$(syn_snap "$n")" \
			wait_until 10 syn_limited "$n"
	done
	rm -f "$stop"
	syn_loop "$stop" &
	spid=$!
	# ~4 requests a second in all, for longer than the outage.
	pc "1 2 3" "$O" $(((OUTAGE_S + 12) * 2)) 500 >"$MXT_WORK/outage.out" &
	pid=$!
	pc "3 2 1" "$O2" $(((OUTAGE_S + 12) * 2)) 500 >"$MXT_WORK/outage2.out" &
	pid2=$!
	sleep 4
	snap_a=$(syn_all)
	note "O's keys on shard(s): $(for i in 1 2; do [ -n "$(rcli "$i" --scan --pattern "mxt:$FLEET:c:$(hexkey "$O"):*")" ] && printf '%s ' "$i"; done)" \
		"O2's: $(for i in 1 2; do [ -n "$(rcli "$i" --scan --pattern "mxt:$FLEET:c:$(hexkey "$O2"):*")" ] && printf '%s ' "$i"; done)"
	kill -STOP "${REDIS_PID[1]}"
	kill -KILL "${REDIS_PID[2]}"
	wait "${REDIS_PID[2]}" 2>/dev/null
	rm -f "$MXT_WORK/redis2/redis.sock"
	t0=$SECONDS
	snap_b=$(syn_all)
	sleep $((OUTAGE_S / 2))
	snap_m=$(syn_all)
	sleep $((OUTAGE_S - (SECONDS - t0)))
	snap_c=$(syn_all)
	t1=$SECONDS
	expect_true "policy traffic still running when Redis returns" "finished early" kill -0 "$pid"
	kill -CONT "${REDIS_PID[1]}"
	redis_start 2
	wait "$pid" "$pid2"
	sleep 4
	snap_d=$(syn_all)
	touch "$stop"
	wait "$spid"
	out=$(cat "$MXT_WORK/outage.out") out2=$(cat "$MXT_WORK/outage2.out")
	note "policy traffic through the ${OUTAGE_S} s outage: O $out; O2 $out2"
	for i in 1 2; do
		[ "$i" = 1 ] && o=$out || o=$out2
		expect_eq "source $i: policy requests unanswered" "$(field "$o" unanswered)" 0
		expect_eq "source $i: policy requests answered" "$(($(field "$o" admitted) + $(field "$o" deferred)))" \
			$(((OUTAGE_S + 12) * 2))
	done
	# The SYN limit: every node keeps dropping SYN's excess, with the same
	# kernel entry before, during and after the outage.
	dt=$((t1 - t0 + 2))
	for n in "${NODES[@]}"; do
		IFS=' ' read -r -a a <<<"$(cut -d'|' -f"$n" <<<"$snap_a")"
		IFS=' ' read -r -a b <<<"$(cut -d'|' -f"$n" <<<"$snap_b")"
		IFS=' ' read -r -a m <<<"$(cut -d'|' -f"$n" <<<"$snap_m")"
		IFS=' ' read -r -a c <<<"$(cut -d'|' -f"$n" <<<"$snap_c")"
		IFS=' ' read -r -a d <<<"$(cut -d'|' -f"$n" <<<"$snap_d")"
		note "node $n SYN $SYN: before ${a[0]}/${a[1]} (syns/dropped), during $((c[0] - b[0]))/$((c[1] - b[1]))" \
			"in $((t1 - t0)) s, after $((d[0] - c[0]))/$((d[1] - c[1])); limit ${a[2]} ${a[3]} ${a[4]}/min burst ${a[5]}"
		expect_eq "node $n: kernel limit unchanged (before|start|middle|end|after)" \
			"${b[*]:2}|${m[*]:2}|${c[*]:2}|${d[*]:2}" "${a[*]:2}|${a[*]:2}|${a[*]:2}|${a[*]:2}"
		expect_range "node $n: SYNs during the outage" "$((c[0] - b[0]))" 10 1000000
		expect_range "node $n: SYNs admitted during the outage (rate x time + burst + one per CPU)" \
			"$(((c[0] - b[0]) - (c[1] - b[1])))" 0 "$((a[4] * dt / 60 + 1 + a[5] + ncpu))"
		expect_range "node $n: SYNs dropped after the outage" "$((d[1] - c[1]))" 1 1000000
	done
	expect_range "node 1 counted the outage" "$(fst 1 outages)" 1 1000
	expect_range "FLEET down logged once per shard" "$(grep -c 'FLEET redis .* down' "$MXT_WORK/n1/daemon.log")" 1 2
	expect_true "settled after the outage" "backlog $(fst 1 backlog) $(fst 2 backlog) $(fst 3 backlog)" \
		wait_until 30 settled
	hour=$(($(ex 1 "$O" now) / 3600))
	for i in 1 2; do
		[ "$i" = 1 ] && o=$out src=$O || o=$out2 src=$O2
		adm=$(field "$o" admitted)
		sum=$(hour_sum "$src" "$hour")
		note "source $src: admitted $adm (per node $(field "$o" per)), Redis hour total $sum, models: $(all_ex "$src" used)"
		expect_eq "$src: Redis hour total = sum the nodes admitted" "$sum" "$adm"
		expect_eq "$src: every node's model counts the fleet's sessions" "$(all_ex "$src" used)" "$adm $adm $adm"
	done
}

t_redis_refill() {
	local hour adm hx out ro
	hour=$(($(ex 1 "$O" now) / 3600))
	adm=$(ex 1 "$O" used)
	kill -KILL "${REDIS_PID[1]}" "${REDIS_PID[2]}"
	wait "${REDIS_PID[1]}" "${REDIS_PID[2]}" 2>/dev/null
	rm -f "$MXT_WORK"/redis*/redis.sock
	# A new sender while there is no Redis at all: each node decides from
	# its own view (10 sessions each, under its allowance of 20).
	out=$(pc "1 2 3" "$R" 30 50)
	note "new sender without Redis: $out"
	expect_eq "policy requests unanswered without Redis" "$(field "$out" unanswered)" 0
	ro=$(field "$out" admitted)
	redis_start 1 && redis_start 2
	hx=$(hexkey "$Z")
	expect_true "sender record of Z back in Redis" "absent" \
		wait_until 20 sh -c "[ \"\$(timeout 5 redis-cli -s $MXT_WORK/redis1/redis.sock exists mxt:$FLEET:r:$hx)\$(timeout 5 redis-cli -s $MXT_WORK/redis2/redis.sock exists mxt:$FLEET:r:$hx)\" != 00 ]"
	wait_until 20 settled
	expect_eq "hour total of O refilled" "$(hour_sum "$O" "$hour")" "$adm"
	expect_eq "R: every node counts every node's sessions after the merge" "$(all_ex "$R" used)" "$ro $ro $ro"
	expect_eq "R: hour total in Redis = sum the nodes admitted" "$(hour_sum "$R" "$hour")" "$ro"
	expect_range "refills counted (node 1)" "$(fst 1 refills)" 1 100
}

# ratio_in A B LO HI: LO <= A/B <= HI (decimals).
ratio_in() {
	awk -v a="$1" -v b="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(b > 0 && a / b >= lo && a / b <= hi) }'
}

# A new sender seen by node 1 only, in the last seconds of an hour, while
# Redis hangs; the hour ends before Redis is back, so its counts reach the
# other nodes as a past hour's: they count them in that hour (tracked,
# on probation, the same rate), and Redis has them under that hour.
t_past_hour_merged() {
	local n left out adm hour r1 r
	left=$((3600 - $(ex 1 "$Q" now) % 3600))
	advance $((left - 30)) || { expect_eq "clock advance" failed ok; return; }
	kill -STOP "${REDIS_PID[1]}" "${REDIS_PID[2]}"
	hour=$(($(ex 1 "$Q" now) / 3600))
	out=$(pc "1" "$Q" 6 100)
	adm=$(field "$out" admitted)
	advance 60
	expect_eq "node 1 is in the next hour" "$(($(ex 1 "$Q" now) / 3600))" "$((hour + 1))"
	kill -CONT "${REDIS_PID[1]}" "${REDIS_PID[2]}"
	expect_true "settled after the outage" "backlog $(fst 1 backlog)" wait_until 30 settled
	expect_eq "Redis: the past hour's total = what node 1 admitted" "$(hour_sum "$Q" "$hour")" "$adm"
	expect_eq "tracked on every node" "$(all_ex "$Q" tracked)" "true true true"
	expect_eq "on probation on every node" "$(all_ex "$Q" state)" "graylisted graylisted graylisted"
	r1=$(ex 1 "$Q" current_rate)
	for n in 2 3; do
		r=$(ex "$n" "$Q" current_rate)
		note "Q's rate: node 1 $r1/h (saw the sessions), node $n $r/h (merged the past hour)"
		expect_true "node $n's rate of Q is node 1's (0.9 .. 1.5x: taken at the hour's end)" "$r vs $r1" \
			ratio_in "$r" "$r1" 0.9 1.5
		expect_range "node $n merged past-hour deltas" "$(fst "$n" stale)" 1 100000
	done
}

# syn_class N ADDR: ADDR's class in node N's kernel maps.
syn_class() {
	jget "$(nc "$1" show "$2" --json)" .class
}

# blocked_on N ADDR: node N's kernel blocks ADDR.
blocked_on() {
	[ "$(syn_class "$1" "$2")" = blocked ]
}

# all_blocked ADDR: every node's kernel blocks ADDR.
all_blocked() {
	[ "$(syn_class 1 "$1") $(syn_class 2 "$1") $(syn_class 3 "$1")" = "blocked blocked blocked" ]
}

# A SYN flood against node 1 only (over block_syn_rate): node 1 blocks
# the source, and the block reaches nodes 2 and 3, whose kernels never saw
# one of its SYNs.
t_block_shared() {
	local mac t0
	mac=$(ip -n "${NS[1]}" -j link show g0 | jq -r '.[0].address')
	t0=$SECONDS
	ip netns exec "$SND" timeout 10 "$BUILD/mxt-synflood" -i s0 -m "$mac" --method afpacket --sources 1 \
		--src-first "$BF" --dst-ip "$GW4" --dst-port 25 --count 3000 >/dev/null 2>&1
	expect_true "node 1 blocks the flood" "$(syn_class 1 "$BF")" wait_until 10 blocked_on 1 "$BF"
	expect_true "blocked in every node's kernel" "$(syn_class 1 "$BF") $(syn_class 2 "$BF") $(syn_class 3 "$BF")" \
		wait_until 10 all_blocked "$BF"
	note "block of $BF on all three nodes after $((SECONDS - t0)) s (tick 200 ms)"
	expect_eq "blocked in every node's model" "$(all_ex "$BF" state)" "blocked blocked blocked"
	expect_eq "nodes 2 and 3 saw none of its SYNs" \
		"$(jget "$(nc 2 show "$BF" --json)" .syns) $(jget "$(nc 3 show "$BF" --json)" .syns)" "0 0"
	expect_true "node 2 logged the fleet's block" "absent" \
		wait_until 5 grep -q "FLEET block \[$BF\] from the fleet" "$MXT_WORK/n2/daemon.log"
	expect_range "node 1 announced it" "$(fst 1 blocks_sent)" 1 100
	expect_range "node 3 applied it" "$(fst 3 blocks_applied)" 1 100
}

t_two_shards() {
	local i a both=0 k1 k2 s1 s2
	for i in $(seq 1 40); do a=198.18.8.$i; pc "$((i % 3 + 1))" "$a" 1 0 >/dev/null; done
	wait_until 10 settled
	k1=$(rcli 1 --scan --pattern "mxt:$FLEET:[cr]:*" | cut -d: -f4 | sort -u)
	k2=$(rcli 2 --scan --pattern "mxt:$FLEET:[cr]:*" | cut -d: -f4 | sort -u)
	s1=$(grep -c . <<<"$k1") s2=$(grep -c . <<<"$k2")
	both=$(comm -12 <(echo "$k1") <(echo "$k2") | grep -c .)
	note "sources on shard 1: $s1, shard 2: $s2, on both: $both"
	expect_eq "sources with keys on both shards" "$both" 0
	expect_range "shard 1 holds some" "$s1" 5 100
	expect_range "shard 2 holds some" "$s2" 5 100
}

t_join_learns_history() {
	bg_stop "${D_PID[3]}" TERM
	rm -f "$MXT_WORK/n3/history.mdb" "$MXT_WORK/n3/history.mdb-lock"
	expect_true "node 3 restarts" "no START" node_start 3 || return
	expect_true "join logged" "$(grep FLEET "$MXT_WORK/n3/daemon.log" | tail -1)" grep -q "FLEET joined $FLEET as n3" "$MXT_WORK/n3/daemon.log"
	expect_eq "node 3 knows Z without its LMDB" "$(ex 3 "$Z" state)" established
	expect_range "records learned" "$(fst 3 joined_records)" 3 100000
}

t_join_redis_down() {
	local t0 out
	bg_stop "${D_PID[3]}" TERM
	kill -STOP "${REDIS_PID[1]}" "${REDIS_PID[2]}"
	t0=$SECONDS
	expect_true "node 3 starts with Redis stopped" "no START" node_start 3
	note "node 3 started after $((SECONDS - t0)) s (fleet_join_timeout = 5)"
	expect_true "join incomplete logged" "$(grep FLEET "$MXT_WORK/n3/daemon.log" | tail -1)" \
		grep -q "FLEET join of $FLEET incomplete" "$MXT_WORK/n3/daemon.log"
	out=$(pc "3" 198.18.7.30 3 0)
	expect_eq "node 3 answers from its own view" "$(field "$out" unanswered)" 0
	expect_eq "node 3's view is local" "$(fst 3 view)" local
	kill -CONT "${REDIS_PID[1]}" "${REDIS_PID[2]}"
	expect_true "node 3 back on the fleet view" "$(fst 3 view)" wait_until 30 fleet_view 3
}

# fleet_view N: node N decides from the fleet's view (every shard up).
fleet_view() {
	[ "$(fst "$1" view)" = fleet ]
}

# swaks_xc N ADDR: one message through node N's Postfix, as if from ADDR
# (XCLIENT); 0 when accepted.
swaks_xc() {
	ns_exec "${NS[$1]}" timeout 30 swaks --server 127.0.0.1 --port 25 --xclient-addr "$2" \
		--from "s@example.org" --to "r@sink.mxthrottle.test" --h-Subject fleet >/dev/null 2>&1
}

t_postfix_two_nodes() {
	local n i ok=0 per=(0 0 0) d1 d2
	chmod 0711 "$MXT_WORK"
	for n in 1 2; do
		PF_MAIN_EXTRA="smtpd_authorized_xclient_hosts = 127.0.0.0/8" \
			pf_start "${NS[$n]}" "$MXT_WORK/pf$n" "127.0.0.1" "unix:$MXT_WORK/n$n/policy.sock" >/dev/null ||
			{ expect_eq "postfix on node $n starts" failed started; return; }
	done
	for i in $(seq 1 30); do
		n=$((i % 2 + 1))
		if swaks_xc "$n" "$P"; then
			ok=$((ok + 1))
			per[n]=$((per[n] + 1))
		fi
	done
	d1=$(pf_log "$MXT_WORK/pf1" | grep -c "RCPT from .*\[$P\]: 451 4.7.500")
	d2=$(pf_log "$MXT_WORK/pf2" | grep -c "RCPT from .*\[$P\]: 451 4.7.500")
	note "Postfix: $ok of 30 accepted (node 1: ${per[1]}, node 2: ${per[2]}); 451 4.7.500 at node 1: $d1, node 2: $d2"
	expect_range "accepted in total: one allowance (20, within one tick)" "$ok" 20 21
	expect_range "node 1's Postfix deferred the rest too" "$d1" 1 15
	expect_range "node 2's Postfix deferred the rest too" "$d2" 1 15
	expect_eq "accepted + deferred" "$((ok + d1 + d2))" 30
}

# reloaded N COUNT: node N's log has COUNT RELOAD lines.
reloaded() {
	[ "$(grep -c "RELOAD " "$MXT_WORK/n$1/daemon.log")" -ge "$2" ]
}

# The new-sender budget is fleet-wide: a budget of 60 an hour (bursts of
# 10), none free, no prefix budget on every node (SIGHUP); ten newcomers
# admitted by node 1 use up the burst on every node, so node 2 defers the
# next newcomer it sees first (alone it would have its own ten).
t_budget_shared() {
	local n i out r0=()
	for n in "${NODES[@]}"; do
		r0[n]=$(grep -c "RELOAD " "$MXT_WORK/n$n/daemon.log")
		printf 'new_sender_budget = 60\nnew_sender_budget_free = 0\nprefix_budget = 0\n' \
			>>"$MXT_WORK/n$n/mxthrottle.conf"
		kill -HUP "${D_PID[n]}"
	done
	for n in "${NODES[@]}"; do
		expect_true "node $n reloaded" "$(grep RELOAD "$MXT_WORK/n$n/daemon.log" | tail -1)" \
			wait_until 10 reloaded "$n" $((r0[n] + 1))
	done
	advance 3600 || { expect_eq "clock advance" failed ok; return; }
	for i in $(seq 1 10); do
		out=$(pc "1" "198.18.10.$i" 1 0)
		[ "$(field "$out" admitted)" = 1 ] || break
	done
	expect_eq "node 1 admits ten newcomers (the budget's burst)" "$((i - 1 + $(field "$out" admitted)))" 10
	expect_true "settled" "backlog $(fst 1 backlog)" wait_until 10 settled
	out=$(pc "2" 198.18.10.11 1 0)
	note "node 2, the next newcomer after node 1's ten: $out"
	expect_eq "node 2 defers the next newcomer (the fleet's budget is used)" "$(field "$out" deferred)" 1
	expect_eq "node 2 says why" "$(ex 2 198.18.10.11 code)" "$(ex 1 198.18.10.11 code)"
}

# --- run -----------------------------------------------------------------------------

if ! redis_start 1 || ! redis_start 2; then
	fail setup "redis-server: got no PONG, want two shards"
	exit 1
fi
for n in "${NODES[@]}"; do
	node_conf "$n"
	node_start "$n" || { fail setup "node $n: got no START line, want a running daemon"; exit 1; }
done
# Start every node's clock at the same whole hour + 5 s, so the hourly
# allowance cannot turn during a case.
adv=$((3600 - $(date +%s) % 3600 + 5))
advance "$adv" || { fail setup "clock advance: got failure, want the test clock"; exit 1; }

# FLEET_ONLY="name ..." runs only those cases (while working on one).
for t in fleet_up shared_allowance established_together jump_throttled actions_shared \
	redis_outage redis_refill past_hour_merged block_shared two_shards join_learns_history join_redis_down \
	postfix_two_nodes budget_shared; do
	[ -n "${FLEET_ONLY:-}" ] && [[ " $FLEET_ONLY " != *" $t "* ]] && continue
	run_test "$t" "t_$t"
done
