#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_daemon.sh - mxthrottled end to end, in the gateway namespace of
# lib.sh's topology: the daemon attaches the XDP program to g0 itself,
# answers Postfix policy requests on inet:127.0.0.1:$PPORT (mxt-policy-load
# and a small perl client stand in for Postfix), serves its control socket
# to the CLI (explain, history export, allow add, ctl ...), persists its
# history in LMDB, and runs as the unprivileged "mxthrottle" user (the
# default "user" key) with CAP_BPF only.
#
# Cases (one run_test each, in this order; later ones use the senders the
# earlier ones made):
#   config_check           -n: "configuration OK", or one FILE:LINE: reason
#   privilege_drop         Uid != 0, CapEff = CapPrm = CAP_BPF, NoNewPrivs;
#                          still ticks (policy entries) and answers control
#   kill9_under_traffic    kill -9 while SYNs and policy requests flow: XDP
#                          keeps enforcing, policy entries stay; a restart
#                          restores every sender exactly
#   reboot_reseed          detach + empty pin dir (a reboot): the daemon
#                          re-attaches and re-seeds mxt_policy from history
#   sighup_reload          a bad file is refused, a good one applies
#   control_socket         allow add through the daemon persists across a
#                          restart that lost the kernel entry; one added
#                          with the CLI alone while no daemon ran is
#                          adopted; non-root users are refused
#   policy_malformed       a malformed request closes its connection only
#   policy_long_helo       a graylisted sender with a 2000-byte EHLO name
#                          and sender still gets its 451 (issue 9, hole 4)
#   policy_lockout         1120 idle and trickling connections do not lock
#                          a fresh client out (issue 9, hole 3)
#
# Addresses: 198.18.0.0/15 and 2001:2::/48 only, inside lib.sh's
# namespaces; policy requests go to 127.0.0.1 inside the gateway namespace.
# Run as root: bash tests/integration/test_daemon.sh  (BUILD=... to pick
# the build dir; default ./build).  About 30 s.

# The perl programs below are single-quoted on purpose.
# shellcheck disable=SC2016

: "${MXT_TEST_TIMEOUT:=150}" # the whole script must end well within 2.5 min
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

MXT_POLICY_LOAD=$BUILD/mxt-policy-load
for t in "$MXT_DAEMON" "$MXT_POLICY_LOAD" perl setpriv; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (make BUILD=$BUILD; scripts/setup.sh)"
		exit 1
	fi
done

RATE=60              # unknown_rate: one token per second
BURST=5              # unknown_burst
BURST_MAX=$((BURST + $(nproc)))   # + one GCRA race per CPU (gcra.h)
PPORT=10040          # policy_listen port, on the gateway's loopback
PIN=$MXT_BPFFS/mxthrottle
ETC=$MXT_WORK/etc
STATE=$MXT_WORK/state
CONF=$ETC/mxthrottle.conf
CTL=$MXT_WORK/run/control.sock
SEED4=198.18.1.7     # seeded (ctl seed) into ESTABLISHED
SEED6=2001:2:0:2::1
OVER=198.18.1.5      # over its SYN limit
CONN_CIDR=198.18.1.6/32
ADOPT_CIDR=198.18.1.10/32 # added with the CLI alone while no daemon runs
POOL=3               # senders made by mxt-policy-load
POOL_ADDRS=()
# Every sender this run made, and what "explain" and "history export"
# said of it before kill -9.
declare -A EXPLAIN_BEFORE=() CSV_BEFORE=()

# The daemon drops to the default user (lib.sh: made when absent).
run_user_ensure
XMODE=          # the XDP mode the daemon's "attach_mode = auto" chose

# After the privilege drop the daemon re-reads its file (SIGHUP) and
# rewrites its connectors file by path as $RUN_USER: the private workdir
# (0700, root) must be traversable, as /etc and /var/lib are on a host.
chmod 0711 "$MXT_WORK"
mkdir -p "$ETC" && chmod 0755 "$ETC"

# mxt-policy-load draws its clients from 198.18.0.0/15 like this
# (tools/mxt-policy-load.c, build_request): client i of the pool.
for ((i = 0; i < POOL; i++)); do
	a=$(((i * 2654435761) % 131072))
	POOL_ADDRS+=("198.$((18 + (a >> 16))).$(((a >> 8) & 255)).$((a & 255))")
done

# --- configuration ------------------------------------------------------------

# conf_write FILE [LINE...]: the test's configuration (15 lines) plus
# extra lines.  No "user" line: the daemon drops to the default user.
conf_write() {
	local f=$1
	shift
	{
		echo "# test_daemon.sh"
		echo "interface = $GW_IF"
		echo "pin_dir = $PIN"
		echo "state_db = $STATE/history.mdb"
		echo "control_socket = $CTL"
		echo "policy_listen = inet:127.0.0.1:$PPORT"
		echo "checkpoint_interval = 2"
		echo "tick_interval = 200"
		echo "ports = 25"
		echo "v4_prefix = 32"
		echo "v6_prefix = 64"
		echo "unknown_rate = $RATE"
		echo "unknown_burst = $BURST"
		echo "global_rate = unlimited"
		echo "global_burst = 1000000"
		printf '%s\n' "$@"
	} >"$f"
	chmod 0644 "$f"
}

# --- the daemon ---------------------------------------------------------------

# daemon_start, daemon_alive, daemon_stop, dlog_has, dlog_wait, dlog_tail
# and mxc: lib.sh.

# --- the CLI, the control socket, the policy service -------------------------

# dstatus FIELD: a field of the daemon's "status --json" (control socket).
dstatus() {
	jget "$(mxc ctl status --json)" ".$1"
}

# explain_field ADDR FIELD
explain_field() {
	jget "$(mxc explain "$1" --json)" ".$2"
}

# explain_sig ADDR: what must survive a crash: state, clean days, first seen.
explain_sig() {
	jget "$(mxc explain "$1" --json)" '"\(.state)/\(.days_active)/\(.first_seen)/\(.tracked)"'
}

# csv_sig SOURCE CSV: the columns of SOURCE's row in "history export
# --csv" that must survive a crash (not its rates and last times, which
# traffic moves on).
csv_sig() {
	grep "^$1," <<<"$2" | head -n1 | cut -d, -f1,2,4,7,8,11
}

# key_of ADDR: how the maps and the daemon name ADDR's source key
# (v4_prefix 32: the address; v6_prefix 64: the /64).
key_of() {
	case $1 in
	*:*) printf '%s/64' "$(printf '%s' "$1" | sed -E 's/^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+:[0-9a-f]+):.*/\1::/')" ;;
	*) printf '%s' "$1" ;;
	esac
}

# pclass ADDR: the class of ADDR's entry in the kernel's mxt_policy
# ("none" when absent, "cli-error" when the CLI fails).
pclass() {
	local j k
	k=$(key_of "$1")
	j=$(mxt "$PIN" policy list --json) || { echo cli-error; return; }
	jget "$j" ".policy[] | select(.source == \"$k\" or .source == \"$k/32\") | .class" | grep . || echo none
}

# policy_load SECONDS QPS POOL [extra]: mxt-policy-load against the daemon
# (JSON on stdout).
policy_load() {
	local d=$1 r=$2 p=$3
	shift 3
	ns_exec "$GW" timeout $((d + 10)) "$MXT_POLICY_LOAD" -c 2 -r "$r" -d "$d" -p "$p" -t 2000 \
		--json "$@" "inet:127.0.0.1:$PPORT"
}

# show ADDR FIELD: a field of "show ADDR --json" (the XDP counters).
show() {
	local j
	j=$(mxt "$PIN" show "$1" --json) || { echo cli-error; return; }
	jget "$j" ".$2" | grep . || echo missing
}

# burst SRC N CONC: N connections to port 25 from SRC, CONC in flight.
# Sets C_OK, C_FAIL, C_TIMEOUT, and X_SYNS/X_DROPPED (growth of the XDP
# counters of SRC over the burst).
burst() {
	local src=$1 n=$2 conc=$3 dst=$GW4 j s0 d0
	[[ $src == *:* ]] && dst=$GW6
	s0=$(show "$src" syns) d0=$(show "$src" dropped)
	j=$(connect_json "$src" "$dst" 25 "$n" "$conc")
	C_OK=$(jget "$j" .ok) C_FAIL=$(jget "$j" .fail) C_TIMEOUT=$(jget "$j" .timeout)
	X_SYNS=$(($(show "$src" syns) - ${s0//[!0-9]/0}))
	X_DROPPED=$(($(show "$src" dropped) - ${d0//[!0-9]/0}))
	note "$src x$n: ok=$C_OK fail=$C_FAIL timeout=$C_TIMEOUT xdp syns+$X_SYNS dropped+$X_DROPPED"
}

# expect_limited WHAT N: the last burst of N at once was cut to the
# unknown class's burst, the rest silently dropped by XDP, and the XDP
# counters tell the same story.
expect_limited() {
	expect_range "$1: connections established" "$C_OK" "$BURST" "$BURST_MAX"
	expect_eq "$1: failures that were timeouts (dropped SYNs)" "$C_TIMEOUT" "$C_FAIL"
	expect_eq "$1: ok+fail" "$((${C_OK:-0} + ${C_FAIL:-0}))" "$2"
	expect_eq "$1: XDP dropped vs client failures" "$X_DROPPED" "$C_FAIL"
	expect_eq "$1: XDP syns counted" "$X_SYNS" "$2"
}

# --- tests ----------------------------------------------------------------------

# -n: exactly "configuration OK" for a good file; for a bad one, exactly
# one line naming FILE:LINE and the reason, exit 1.
t_config_check() {
	local out rc f
	conf_write "$CONF"
	out=$("$MXT_DAEMON" -n -f "$CONF" 2>&1)
	rc=$?
	expect_eq "-n on the test config: output" "$out" "configuration OK"
	expect_eq "-n on the test config: exit" "$rc" 0

	# check_bad NAME LINE REGEX [LINES...]: a file of the given lines; the
	# error must name FILE:LINE and match REGEX.  LINE may be "a|b".
	check_bad() {
		local name=$1 line=$2 re=$3
		shift 3
		f=$ETC/bad-$name.conf
		printf '%s\n' "$@" >"$f"
		out=$("$MXT_DAEMON" -n -f "$f" 2>&1)
		rc=$?
		expect_eq "-n $name: exit" "$rc" 1
		expect_eq "-n $name: lines of output" "$(printf '%s\n' "$out" | grep -c .)" 1
		expect_true "-n $name: names $f:$line and the reason" "'$out'" \
			grep -Eq "(^|: )$f:($line): .*$re" <<<"$out"
	}
	check_bad unknown_key 3 "unknown key 'checkpoint_intervall'" \
		"# comment" "mode = enforce" "checkpoint_intervall = 5" "ports = 25"
	check_bad bad_value 2 "tick_interval.*'5'" \
		"mode = enforce" "tick_interval = 5" "ports = 25"
	check_bad bad_allow 4 "allow.*'198.18.0.0/33'" \
		"mode = enforce" "" "allow = 198.18.1.0/24" "allow = 198.18.0.0/33"
	# The error is one of the two lines: the rate that needs burst 0, or
	# the burst that the rate forbids.
	check_bad rate0_burst 2\|3 "unknown_rate 0.*unknown_burst|unknown_burst.*unknown_rate 0" \
		"mode = enforce" "unknown_rate = 0" "unknown_burst = 5"
	unset -f check_bad
}

# Default user: after start-up the daemon runs as $RUN_USER with CAP_BPF
# only and no way back; it still ticks (writes mxt_policy) and answers
# its control socket.
t_privilege_drop() {
	local st uid caps t0 t1 a=${POOL_ADDRS[0]} j
	conf_write "$CONF"
	expect_true "config has no user line (default user)" "a user line" sh -c "! grep -q '^user' '$CONF'"
	expect_true "daemon starts" "no START line in 10 s ($(dlog_tail))" daemon_start || return
	expect_true "daemon logs the drop" "'$(dlog_tail)'" dlog_has "running as $RUN_USER with CAP_BPF only"
	expect_true "daemon attached $GW_IF" "'$(dlog_tail)'" dlog_has "ATTACH $GW_IF mode="
	XMODE=$(xdp_attached "$GW" "$GW_IF")
	expect_true "XDP on $GW_IF" "'$XMODE'" grep -Eqx 'native|skb' <<<"$XMODE"
	st=$(cat "/proc/$D_PID/status")
	uid=$(awk '/^Uid:/ { print $2 "/" $3 "/" $4 "/" $5 }' <<<"$st")
	expect_eq "Uid real/effective/saved/fs" "$uid" "$RUN_UID/$RUN_UID/$RUN_UID/$RUN_UID"
	expect_eq "Gid not root" "$(awk '/^Gid:/ { print ($2 != 0 && $3 != 0 && $4 != 0) }' <<<"$st")" 1
	caps=$(awk '/^Cap(Eff|Prm|Inh|Amb):/ { printf "%s=%s ", $1, $2 }' <<<"$st")
	expect_eq "capabilities (CAP_BPF = bit 39 only)" "$caps" \
		"CapInh:=0000000000000000 CapPrm:=0000008000000000 CapEff:=0000008000000000 CapAmb:=0000000000000000 "
	expect_eq "NoNewPrivs" "$(awk '/^NoNewPrivs:/ { print $2 }' <<<"$st")" 1
	# Every thread (the policy service's too) is as unprivileged.
	expect_eq "threads with another CapEff or Uid" \
		"$(cat /proc/"$D_PID"/task/*/status | awk '/^CapEff:/ && $2 != "0000008000000000" { n++ }
			/^Uid:/ && $3 == 0 { n++ } END { print n + 0 }')" 0

	# Control socket, and ticks.
	wait_until 3 ticks_at_least 1
	t0=$(dstatus ticks)
	expect_range "control socket: status ticks" "${t0:-none}" 1 1000000
	# A policy request makes a new sender GRAYLISTED in the model; the next
	# tick writes its class into the kernel's mxt_policy.
	expect_eq "$a: no kernel policy before its first session" "$(pclass "$a")" none
	j=$(policy_load 1 10 1)
	expect_range "policy answers for $a" "$(jget "$j" .answers)" 1 100
	wait_until 5 pclass_is "$a" graylisted
	expect_eq "tick wrote $a's class into mxt_policy" "$(pclass "$a")" graylisted
	t1=$(dstatus ticks)
	expect_range "ticks go on (${t0:-?} -> ${t1:-?})" "${t1:-0}" $((${t0:-0} + 1)) 1000000
	expect_eq "explain $a state" "$(explain_field "$a" state)" graylisted
	expect_true "daemon alive" "exited ($(dlog_tail))" daemon_alive
}

# ticks_at_least N: the daemon has ticked N times.
ticks_at_least() {
	local t
	t=$(dstatus ticks)
	[ -n "$t" ] && [ "$t" -ge "$1" ]
}

# pclass_is ADDR CLASS (for wait_until).
pclass_is() {
	[ "$(pclass "$1")" = "$2" ]
}

# kill -9 while SYNs and policy requests flow.  The XDP program and the
# pinned maps do not depend on the daemon: an over-limit source is still
# dropped while it is dead and the policy entries stay.  A restart
# restores every sender from the last checkpoint exactly.
t_kill9() {
	local a c0 csv syn_pid pl_pid k n restored
	[ -n "$D_PID" ] && daemon_alive || daemon_start ||
		{ expect_true "daemon running" "not running ($(dlog_tail))" false; return; }
	# Background traffic: SYNs from four sources (5/s each, above the
	# unknown class's 1/s: some are dropped), policy requests from the pool.
	# Both outlast the case (about 20 s, 30 s and more on a loaded
	# machine: the policy load runs 60 s) and are stopped at its end.
	avoid_hour_turn
	bg "$SND" "$MXT_WORK/syn-bg.json" "$MXT_CONNECT" -s 198.18.1.1 -s 198.18.1.2 -s 198.18.1.3 \
		-s 198.18.1.4 -d "$GW4" -p 25 -n 100 -c 4 -r 20 -t 300 --banner --json
	syn_pid=$BG_PID
	bg "$GW" "$MXT_WORK/policy-bg.json" "$MXT_POLICY_LOAD" -c 2 -r 20 -d 60 -p "$POOL" -t 1000 \
		--json "inet:127.0.0.1:$PPORT"
	pl_pid=$BG_PID
	# Established senders, with 5 days of history (test mode).  Only 3
	# sessions/h: "seed" replays sessions in the past, but the gateway-wide
	# new-sender budget already stands at the present (the pool's day-0
	# sessions), so past day-0 sessions beyond each source's free share
	# (new_sender_budget_free = 3/h) would be deferred and the seeded days
	# would not count as clean.
	expect_ok "ctl seed $SEED4" mxc ctl seed "$SEED4" 3 5
	expect_ok "ctl seed $SEED6" mxc ctl seed "$SEED6" 3 5
	# Every pool sender has sessions (policy answers) and a class.
	for a in "${POOL_ADDRS[@]}"; do
		wait_until 8 pclass_is "$a" graylisted
		expect_eq "$a in mxt_policy" "$(pclass "$a")" graylisted
	done
	for a in "$SEED4" "$SEED6"; do
		wait_until 5 pclass_is "$a" established
		expect_eq "$a in mxt_policy" "$(pclass "$a")" established
	done
	# Two periodic checkpoints later (checkpoint_interval = 2), everything
	# above is on disk.
	c0=$(dstatus checkpoints)
	wait_until 8 ckpt_at_least $((${c0:-0} + 2))
	expect_range "periodic checkpoints (from ${c0:-?})" "$(dstatus checkpoints)" $((${c0:-0} + 2)) 100000000
	for a in "${POOL_ADDRS[@]}" "$SEED4" "$SEED6"; do
		EXPLAIN_BEFORE[$a]=$(explain_sig "$a")
	done
	for a in "${POOL_ADDRS[@]}"; do
		expect_eq "$a state before kill -9" "${EXPLAIN_BEFORE[$a]%%/*}" graylisted
	done
	expect_eq "$SEED4 state before kill -9" "${EXPLAIN_BEFORE[$SEED4]%%/*}" established
	expect_eq "$SEED6 state before kill -9" "${EXPLAIN_BEFORE[$SEED6]%%/*}" established
	csv=$(mxc history export --csv)
	expect_eq "history export --csv: the columns compared" "$(csv_sig source "$csv")" \
		"source,state,first_seen,state_since,days_active,kernel_class"
	for a in "${POOL_ADDRS[@]}" "$SEED4" "$SEED6"; do
		CSV_BEFORE[$a]=$(csv_sig "$(key_of "$a")" "$csv")
	done
	# The model graylists at the policy request; the GRAYLIST line comes
	# with the next tick's kernel write, which a loaded host may run after
	# this point: wait for it (bounded), then assert.
	dlog_wait 10 "GRAYLIST \[${POOL_ADDRS[1]}\]"
	expect_true "GRAYLIST events logged" "'$(dlog_tail)'" dlog_has "GRAYLIST \[${POOL_ADDRS[1]}\]"
	expect_true "SYN traffic still flowing at the kill" "generator finished" kill -0 "$syn_pid"
	expect_true "policy traffic still flowing at the kill" "generator finished" kill -0 "$pl_pid"

	# kill -9 under traffic.
	kill -KILL "$D_PID"
	wait "$D_PID" 2>/dev/null
	expect_true "daemon dead" "still running" sh -c "! kill -0 $D_PID 2>/dev/null"
	expect_eq "XDP on $GW_IF with the daemon dead" "$(xdp_attached "$GW" "$GW_IF")" "${XMODE:-native}"
	burst "$OVER" 20 20
	expect_limited "$OVER (20 at once, daemon dead)" 20
	for a in "${POOL_ADDRS[@]}"; do
		expect_eq "$a class in mxt_policy, daemon dead" "$(pclass "$a")" graylisted
	done
	expect_eq "$SEED4 class in mxt_policy, daemon dead" "$(pclass "$SEED4")" established
	expect_eq "$SEED6 class in mxt_policy, daemon dead" "$(pclass "$SEED6")" established
	# An established sender keeps its own (larger) limit meanwhile.
	burst "$SEED4" 20 20
	expect_eq "$SEED4 (established) 20 at once, daemon dead: established" "$C_OK" 20

	# Restart: every sender as it was at the last checkpoint.
	expect_true "daemon restarts" "no START line ($(dlog_tail))" daemon_start || return
	restored=$(sed -nE 's/.*RESTORE ([0-9]+) senders.*/\1/p' "$D_LOG" | head -n1)
	expect_range "RESTORE N senders logged" "${restored:-none}" $((POOL + 2)) 100000
	n=$(sed -nE 's/.*RESEED ([0-9]+) kernel policy entries.*/\1/p' "$D_LOG" | head -n1)
	expect_range "RESEED N kernel policy entries logged" "${n:-none}" $((POOL + 2)) 100000
	csv=$(mxc history export --csv)
	for a in "${POOL_ADDRS[@]}" "$SEED4" "$SEED6"; do
		expect_eq "explain $a after restart (state/days/first_seen/tracked)" \
			"$(explain_sig "$a")" "${EXPLAIN_BEFORE[$a]}"
		k=$(key_of "$a")
		expect_true "history export --csv before kill -9 has $k" "no row" test -n "${CSV_BEFORE[$a]}"
		expect_eq "history export --csv row of $k after restart" "$(csv_sig "$k" "$csv")" "${CSV_BEFORE[$a]}"
	done
	n=$(($(grep -c . <<<"$csv") - 1))
	expect_range "history export rows vs RESTORE" "$n" "${restored:-0}" 100000
	# The policy traffic reconnected to the new daemon; XDP dropped the
	# background SYN sources' excess all along.
	wait_until 5 decisions_at_least 1
	expect_range "policy decisions of the restarted daemon" "$(dstatus decisions)" 1 100000000
	for a in 198.18.1.1 198.18.1.2 198.18.1.3 198.18.1.4; do
		expect_range "background source $a: SYNs dropped by XDP (5/s over 1/s)" "$(show "$a" dropped)" 1 400
	done
	bg_stop "$syn_pid"
	bg_stop "$pl_pid"
}

# avoid_hour_turn: seeded senders' days end on the hour (the seed starts
# on a whole hour): do not start a case that compares clean days across
# a restart in the last 30 s before one.
avoid_hour_turn() {
	local left=$((3600 - $(date +%s) % 3600))
	if [ "$left" -lt 30 ]; then
		note "waiting ${left} s for the hour to turn"
		sleep $((left + 1))
	fi
}

# decisions_at_least N: the daemon has decided N policy requests.
decisions_at_least() {
	local d
	d=$(dstatus decisions)
	[ -n "$d" ] && [ "$d" -ge "$1" ]
}

# ckpt_at_least N: the daemon's checkpoint count reached N.
ckpt_at_least() {
	local c
	c=$(dstatus checkpoints)
	[ -n "$c" ] && [ "$c" -ge "$1" ]
}

# After a reboot the program is detached and bpffs is empty: the daemon
# attaches again, creates the maps and re-seeds mxt_policy from LMDB.
t_reboot_reseed() {
	local a n left
	daemon_alive || daemon_start
	daemon_stop
	expect_true "STOP logged" "'$(dlog_tail)'" dlog_has "STOP checkpoint of"
	expect_ok "detach $GW_IF" mxt "$PIN" detach "$GW_IF"
	rm -rf "${PIN:?}"/*
	left=$(find "$PIN" -mindepth 1 | wc -l)
	expect_eq "pin dir empty (reboot)" "$left" 0
	expect_eq "XDP on $GW_IF after detach" "$(xdp_attached "$GW" "$GW_IF")" none
	expect_true "daemon starts after the reboot" "no START line ($(dlog_tail))" daemon_start || return
	expect_true "ATTACH logged" "'$(dlog_tail)'" dlog_has "ATTACH $GW_IF mode="
	expect_eq "XDP on $GW_IF after the restart" "$(xdp_attached "$GW" "$GW_IF")" "${XMODE:-native}"
	n=$(sed -nE 's/.*RESEED ([0-9]+) kernel policy entries.*/\1/p' "$D_LOG" | head -n1)
	expect_range "RESEED N kernel policy entries" "${n:-none}" $((POOL + 2)) 100000
	expect_eq "$SEED4 class after the reboot" "$(pclass "$SEED4")" established
	expect_eq "$SEED6 class after the reboot" "$(pclass "$SEED6")" established
	for a in "${POOL_ADDRS[@]}"; do
		expect_eq "$a class after the reboot" "$(pclass "$a")" graylisted
	done
	# The re-seeded classes are what XDP enforces: the established sender
	# passes a burst of 20, a sender without history is cut to its burst.
	burst "$SEED4" 20 20
	expect_eq "$SEED4 (re-seeded established) 20 at once" "$C_OK" 20
	burst "$OVER" 20 20
	expect_limited "$OVER (unknown) 20 at once after the reboot" 20
	expect_eq "config mode after the reboot" "$(cfg_mode)" enforce
}

# cfg_mode: the kernel's mode (config map).
cfg_mode() {
	jget "$(mxt "$PIN" config get mode --json)" '.mode // .value'
}

# SIGHUP with a bad file keeps everything; with a good one, applies it to
# the kernel (config map) and to the policy service.
t_sighup() {
	local j
	daemon_alive || daemon_start
	# Bad: "mode = monitor" first, then an error: nothing may be applied.
	conf_write "$CONF" "mode = monitor" "unknown_burst = lots"
	kill -HUP "$D_PID"
	expect_true "RELOAD refused logged" "'$(dlog_tail)'" wait_until 5 dlog_has "RELOAD refused"
	expect_true "refusal names the line" "'$(grep 'RELOAD refused' "$D_LOG" | head -n1)'" \
		dlog_has "RELOAD refused.*$CONF:17: .*unknown_burst"
	expect_true "daemon alive after a bad reload" "exited ($(dlog_tail))" daemon_alive
	expect_eq "mode after a bad reload" "$(cfg_mode)" enforce
	# Enforce: a sender far over its hourly allowance is deferred (451).
	j=$(policy_load 1 100 1)
	expect_range "451 answers in enforce mode" "$(jget "$j" .answers_by_kind.defer)" 1 1000
	# Good: monitor mode, in the kernel and in the policy answers.
	conf_write "$CONF" "mode = monitor"
	kill -HUP "$D_PID"
	expect_true "RELOAD applied" "'$(dlog_tail)'" wait_until 5 dlog_has "RELOAD $CONF: monitor mode"
	expect_eq "mode after a good reload" "$(cfg_mode)" monitor
	j=$(policy_load 1 100 1)
	expect_eq "451 answers in monitor mode" "$(jget "$j" .answers_by_kind.defer)" 0
	expect_range "PREPEND answers in monitor mode" "$(jget "$j" .answers_by_kind.prepend)" 1 1000
	# Back to enforce for the next cases.
	conf_write "$CONF"
	kill -HUP "$D_PID"
	wait_until 5 sh -c "[ \"\$(grep -c 'RELOAD $CONF: enforce mode' '$D_LOG')\" -ge 1 ]"
	expect_eq "mode after reloading the original" "$(cfg_mode)" enforce
	expect_true "daemon alive after the reloads" "exited" daemon_alive
}

# allow_listed CIDR: the kernel's allowlist holds CIDR.
allow_listed() {
	mxt "$PIN" allow list --json | jq -e --arg c "$1" '.allow | map(.cidr) | index($c) != null' >/dev/null
}

# allow_absent CIDR: the kernel's allowlist does not hold CIDR.
allow_absent() {
	! allow_listed "$1"
}

# The control socket: "allow add" through the daemon persists (its
# connectors file) and comes back after a restart that lost the kernel
# entry; users other than root (and the daemon's own) are refused.
t_control_socket() {
	local out rc
	daemon_alive || daemon_start
	out=$(mxc allow add "$CONN_CIDR" 2>&1)
	expect_true "allow add $CONN_CIDR through the daemon" "'$out'" grep -q "through mxthrottled" <<<"$out"
	expect_true "ALLOW logged by the daemon" "'$(dlog_tail)'" dlog_has "ALLOW \[$CONN_CIDR\] connector added by operator"
	expect_true "connectors file has $CONN_CIDR" "'$(tr '\n' ' ' <"$STATE/connectors" 2>&1)'" \
		grep -qx "$CONN_CIDR" "$STATE/connectors"
	expect_true "allow list has $CONN_CIDR" "absent" allow_listed "$CONN_CIDR"
	# Stop the daemon and lose the kernel entry (the CLI alone, on the maps).
	daemon_stop
	out=$(mxc allow del "$CONN_CIDR" 2>&1)
	rc=$?
	expect_eq "allow del on the maps, daemon stopped: exit ($out)" "$rc" 0
	expect_true "kernel allowlist lost $CONN_CIDR" "still listed" allow_absent "$CONN_CIDR"
	# ... and gain one the daemon has never heard of: adopted at start.
	out=$(mxc allow add "$ADOPT_CIDR" 2>&1)
	rc=$?
	expect_eq "allow add on the maps, daemon stopped: exit ($out)" "$rc" 0
	expect_true "daemon restarts" "no START line ($(dlog_tail))" daemon_start || return
	expect_true "allow list after the restart has $CONN_CIDR" "absent" wait_until 3 allow_listed "$CONN_CIDR"
	expect_true "connectors file still has $CONN_CIDR" "absent" grep -qx "$CONN_CIDR" "$STATE/connectors"
	expect_true "$ADOPT_CIDR adopted from the kernel map" "'$(dlog_tail)'" \
		dlog_has "ALLOW \[$ADOPT_CIDR\] adopted from the kernel map"
	expect_true "connectors file has $ADOPT_CIDR" "absent" grep -qx "$ADOPT_CIDR" "$STATE/connectors"
	out=$(mxc allow del "$ADOPT_CIDR" 2>&1)
	expect_true "allow del $ADOPT_CIDR through the daemon" "'$out'" grep -q "through mxthrottled" <<<"$out"
	expect_true "connectors file lost $ADOPT_CIDR" "still there" sh -c "! grep -qx '$ADOPT_CIDR' '$STATE/connectors'"
	burst "${CONN_CIDR%/*}" 20 20
	expect_eq "connector ${CONN_CIDR%/*}: 20 at once all pass" "$C_OK" 20

	# Non-root: the CLI is refused ...
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$MXT_CLI" --control "$CTL" ctl status 2>&1)
	rc=$?
	expect_eq "CLI as nobody: exit ($out)" "$rc" 1
	# ... and so is a raw client that gets past the socket file's mode
	# (CAP_DAC_OVERRIDE): the daemon checks the peer's uid itself.
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+dac_override \
		--ambient-caps=+dac_override perl -MIO::Socket::UNIX -e '
		$SIG{PIPE} = "IGNORE"; # the daemon may close before we write
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or do { print "connect-failed: $!\n"; exit 0 };
		syswrite($s, "status\n"); shutdown($s, 1);
		local $/; my $a = <$s>; print defined $a && length $a ? "answer: $a" : "closed\n";' "$CTL" 2>&1)
	expect_eq "raw client as nobody (with DAC override): daemon answer" "$out" closed
	expect_true "daemon logs the refusal" "'$(dlog_tail)'" dlog_has "control: refused a client"
	expect_range "root still served: ticks" "$(dstatus ticks)" 1 100000000
	# "config set" through the daemon: applied, persisted, kept across a
	# restart; a source prefix is refused at run time.
	out=$(mxc config set throttled_rate 45 throttled_burst 9 2>&1)
	expect_true "config set through the daemon ($out)" "'$out'" grep -q "throttled_burst = 9" <<<"$out"
	expect_true "CONFIG logged by the daemon" "'$(dlog_tail)'" dlog_has "CONFIG throttled_burst = 9 by operator"
	expect_eq "kernel throttled_rate" "$(jget "$(mxt "$PIN" config get throttled_rate --json)" .throttled_rate)" 45
	expect_true "runtime.conf has it" "absent" grep -qx "throttled_burst = 9" "$STATE/runtime.conf"
	out=$(mxc config set v4_prefix 24 2>&1)
	rc=$?
	expect_eq "config set v4_prefix refused while the daemon runs: exit ($out)" "$rc" 1
	daemon_stop
	expect_true "daemon restarts" "no START line ($(dlog_tail))" daemon_start || return
	expect_eq "kernel throttled_burst after the restart" \
		"$(jget "$(mxt "$PIN" config get throttled_burst --json)" .throttled_burst)" 9
}

# One malformed request closes its own connection only.
t_policy_malformed() {
	local out pl_pid j
	daemon_alive || daemon_start
	bg "$GW" "$MXT_WORK/policy-bg2.json" "$MXT_POLICY_LOAD" -c 2 -r 20 -d 3 -p 2 -t 1000 \
		--json "inet:127.0.0.1:$PPORT"
	pl_pid=$BG_PID
	# A persistent connection A, then malformed requests on B and C, then A
	# again.  Prints one word per step.
	out=$(ns_exec "$GW" timeout 20 perl -MIO::Socket::INET -MIO::Select -e '
		$SIG{PIPE} = "IGNORE";
		my $port = $ARGV[0];
		sub req { my ($ip) = @_; "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" .
			"client_address=$ip\ninstance=t" . int(rand(1e9)) . "\nrecipient=a\@example.org\n\n" }
		sub conn { IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!" }
		# Reads one answer ("action=...\n\n"): the action, "closed" or "timeout".
		sub answer { my ($s) = @_; my $buf = ""; my $sel = IO::Select->new($s);
			while ($buf !~ /\n\n/) { return "timeout" unless $sel->can_read(3);
				my $n = sysread($s, $buf, 4096, length $buf); return $buf eq "" ? "closed" : "partial" unless $n; }
			$buf =~ /^action=(\S+)/ ? $1 : "garbage" }
		my $a = conn(); print $a req("198.18.4.1"); print "A1=", answer($a), "\n";
		my $b = conn(); print $b "request=smtpd_access_policy\nthis line has no equals sign\n\n";
		print "B=", answer($b), "\n";
		print $a req("198.18.4.1"); print "A2=", answer($a), "\n";
		my $c = conn(); syswrite($c, "request=smtpd_access_policy\nclient_address=" . ("9" x 102400) . "\n\n");
		print "C=", answer($c), "\n";
		print $a req("198.18.4.2"); print "A3=", answer($a), "\n";' "$PPORT" 2>&1)
	note "perl client: $(tr '\n' ' ' <<<"$out")"
	expect_eq "persistent connection, first answer" "$(sed -n 's/^A1=//p' <<<"$out")" DUNNO
	expect_eq "line without '=': that connection closed" "$(sed -n 's/^B=//p' <<<"$out")" closed
	expect_eq "persistent connection answered after the bad line" "$(sed -n 's/^A2=//p' <<<"$out")" DUNNO
	expect_eq "100 KB line: that connection closed" "$(sed -n 's/^C=//p' <<<"$out")" closed
	expect_eq "persistent connection answered after the 100 KB line" "$(sed -n 's/^A3=//p' <<<"$out")" DUNNO
	wait_until 10 sh -c "! kill -0 $pl_pid 2>/dev/null"
	j=$(cat "$MXT_WORK/policy-bg2.json" 2>/dev/null)
	expect_range "concurrent load: answers" "$(jget "$j" .answers)" 20 1000
	expect_eq "concurrent load: connections closed / timeouts / reconnects" \
		"$(jget "$j" '"\(.errors.closed)/\(.errors.timeouts)/\(.reconnects)"')" 0/0/0
	expect_true "daemon alive" "exited ($(dlog_tail))" daemon_alive
	# policy_server.h: "a malformed request gets no answer, a warning in
	# the log, and that connection (only) is closed".
	expect_true "PROTOCOL-ERROR warnings in the daemon log" \
		"$(grep -c PROTOCOL-ERROR "$D_LOG") lines (want 2: the bad line and the 100 KB one)" \
		sh -c "[ \"\$(grep -c 'PROTOCOL-ERROR' '$D_LOG')\" -ge 2 ]"
}

# Issue 9, hole 3: 1100 idle connections and 20 trickling ones (more than
# the server's 1024 slots, and than the daemon's 1024 descriptors when that
# is its limit) must not lock Postfix out: a fresh client still gets its
# answer, and the server closed connections to admit it (CONN-EVICT).
t_policy_lockout() {
	local out
	daemon_alive || daemon_start
	out=$(ns_exec "$GW" timeout 60 sh -c 'ulimit -n 4096; exec "$@"' sh perl -MIO::Socket::INET -MIO::Select -e '
		$SIG{PIPE} = "IGNORE";
		my $port = $ARGV[0];
		sub conn { IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!" }
		sub answer { my ($s) = @_; my $buf = ""; my $sel = IO::Select->new($s);
			while ($buf !~ /\n\n/) { return "timeout" unless $sel->can_read(5);
				my $n = sysread($s, $buf, 4096, length $buf); return $buf eq "" ? "closed" : "partial" unless $n; }
			$buf =~ /^action=(\S+)/ ? $1 : "garbage" }
		my @held;
		for (1 .. 20) { my $t = conn(); syswrite($t, "request=smtpd_access_policy\nhelo_name=sl"); push @held, $t }
		for (1 .. 1100) { push @held, conn() }
		my $f = conn();
		print $f "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=198.18.4.3\ninstance=lock1\n\n";
		print "FRESH=", answer($f), "\n";
		my $sel = IO::Select->new(@held); my $closed = 0;
		for my $s ($sel->can_read(1)) { my $b; $closed++ unless sysread($s, $b, 1) }
		print "CLOSED=$closed\n";' "$PPORT" 2>&1)
	note "perl client: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
	expect_true "fresh client after 1120 idle/trickling connections: an answer" \
		"'$(sed -n 's/^FRESH=//p' <<<"$out")', want DUNNO or 451" \
		grep -Eqx 'FRESH=(DUNNO|451)' <<<"$out"
	expect_range "held connections closed to admit others" "$(sed -n 's/^CLOSED=//p' <<<"$out")" 1 1120
	expect_true "CONN-EVICT in the daemon log" "$(dlog_tail)" dlog_has "CONN-EVICT"
	expect_true "daemon alive" "exited ($(dlog_tail))" daemon_alive
}

# Issue 9, hole 4: a graylisted sender with a 2000-byte EHLO name still
# gets its 451; the daemon used to close the connection unanswered, and
# Postfix's default_action=DUNNO let the mail in.
t_policy_long_helo() {
	local out
	daemon_alive || daemon_start
	out=$(ns_exec "$GW" timeout 30 perl -MIO::Socket::INET -MIO::Select -e '
		$SIG{PIPE} = "IGNORE";
		my $port = $ARGV[0];
		sub req { my ($ip, $helo, $sender) = @_; "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n" .
			"helo_name=$helo\nsender=$sender\n" .
			"client_address=$ip\ninstance=h" . int(rand(1e9)) . "\nrecipient=a\@example.org\n\n" }
		sub conn { IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port, Proto => "tcp") or die "connect: $!" }
		sub answer { my ($s) = @_; my $buf = ""; my $sel = IO::Select->new($s);
			while ($buf !~ /\n\n/) { return "timeout" unless $sel->can_read(3);
				my $n = sysread($s, $buf, 4096, length $buf); return $buf eq "" ? "closed" : "partial" unless $n; }
			$buf =~ /^action=(\S+)/ ? $1 : "garbage" }
		# A new sender, short EHLO, until the model defers it (graylisted).
		my $a = conn(); my $got = ""; my $n = 0;
		while ($n < 200 && $got ne "451") { print $a req("198.18.4.5", "mx.example.net", "a\@example.net"); $got = answer($a); $n++ }
		print "SHORT=$got after $n\n";
		my $b = conn(); print $b req("198.18.4.5", "h" x 2000, ("s" x 2000) . "\@example.net"); print "LONG=", answer($b), "\n";' "$PPORT" 2>&1)
	note "perl client: $(tr '\n' ' ' <<<"$out")"
	expect_eq "new sender with a short EHLO: deferred" "$(sed -n 's/^SHORT=\([^ ]*\).*/\1/p' <<<"$out")" 451
	expect_eq "the same sender with a 2000-byte EHLO: deferred" "$(sed -n 's/^LONG=//p' <<<"$out")" 451
}

# --- main -------------------------------------------------------------------------

listener_start L "[::]:25" || { fail setup "listener: got not ready in 5 s, want listening"; exit 1; }

run_test daemon.config_check t_config_check
run_test daemon.privilege_drop t_privilege_drop
run_test daemon.kill9_under_traffic t_kill9
run_test daemon.reboot_reseed t_reboot_reseed
run_test daemon.sighup_reload t_sighup
run_test daemon.control_socket t_control_socket
run_test daemon.policy_malformed t_policy_malformed
run_test daemon.policy_long_helo t_policy_long_helo
run_test daemon.policy_lockout t_policy_lockout
daemon_stop
