#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_race.sh - mxthrottled's threads under ThreadSanitizer
# ($BUILD/tsan/mxthrottled, "make tsan").  The policy thread answers many
# concurrent clients as fast as it can while the main thread ticks,
# checkpoints, reloads (SIGHUP in a loop) and serves control commands
# (status, explain, config set, allow add/del, release, history export,
# graylist, checkpoint) and the metrics thread answers scrapes: any data race between them is a TSan report, and
# any report fails the test (TSan stops the daemon with exit code 66 at
# the first one).
#
# Cases:
#   tsan_policy_under_load  zero "WARNING: ThreadSanitizer" in the daemon's
#                           log, the daemon alive throughout, answers given
#   sighup_prefix_refused   SIGHUP with another v4_prefix is refused with
#                           the message "config set" gives, and the
#                           running configuration is kept
#
# No interface: the daemon prepares its maps in a private bpffs and serves
# policy and control on unix sockets in the private workdir (lib.sh); it
# runs in the gateway namespace, where its metrics listen on loopback.
# MXT_TSAN_HALT=0 lets TSan go on after the first report (to count them).

: "${MXT_TEST_TIMEOUT:=150}"
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

DAEMON=$BUILD/tsan/mxthrottled
LOAD=$BUILD/mxt-policy-load
for t in "$DAEMON" "$LOAD" perl curl; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (make tsan tests BUILD=$BUILD)"
		exit 1
	fi
done

PIN=$MXT_BPFFS/mxthrottle
CONF=$MXT_WORK/etc/mxthrottle.conf
CTL=$MXT_WORK/run/control.sock
PSOCK=$MXT_WORK/run/policy.sock
D_LOG=$MXT_WORK/daemon.log
D_PID=
MPORT=9725
LOAD_SECS=12
# TSan maps its shadow memory at fixed addresses, which kernels with more
# mmap randomisation bits (vm.mmap_rnd_bits > 28) can collide with:
# "FATAL: ThreadSanitizer: unexpected memory mapping".  Without ASLR the
# layout is TSan's own.  $! stays the daemon's pid: setarch execs it.
NOASLR="setarch $(uname -m) -R"
mkdir -p "$MXT_WORK/etc" "$MXT_WORK/run" "$MXT_WORK/state"

# conf_write V4_PREFIX [LINE...]
conf_write() {
	local v4=$1
	shift
	{
		echo "# test_race.sh"
		echo "user = root"
		echo "pin_dir = $PIN"
		echo "state_db = $MXT_WORK/state/history.mdb"
		echo "control_socket = $CTL"
		echo "policy_listen = unix:$PSOCK"
		echo "checkpoint_interval = 1"
		echo "tick_interval = 100"
		echo "v4_prefix = $v4"
		echo "v6_prefix = 64"
		echo "metrics_listen = inet:127.0.0.1:$MPORT"
		printf '%s\n' "$@"
	} >"$CONF"
	chmod 0644 "$CONF"
}

# mxc ARGS...: a raw control command through the CLI.
mxc() {
	timeout 20 "$BUILD/mxthrottle" --control "$CTL" ctl "$@" 2>>"$MXT_WORK/cli.err"
}

daemon_alive() { kill -0 "$D_PID" 2>/dev/null; }

tsan_reports() { grep -c "WARNING: ThreadSanitizer" "$D_LOG"; }

d_cleanup() {
	local rc=$?
	[ -n "$D_PID" ] && bg_stop "$D_PID" TERM
	(exit "$rc")
	mxt_cleanup
}
trap d_cleanup EXIT

# A malformed policy request: the policy thread logs it (PROTOCOL-ERROR)
# while the main thread reloads.
policy_garbage() {
	timeout 5 perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 1;
		print $s "no equals sign here\n\n";
		my $x = <$s>;' "$PSOCK"
}

# One round of every control command the daemon serves, on a client the
# load generator uses (pool address 0, see tools/mxt-policy-load.c).
control_round() {
	local i=$1
	policy_garbage
	ns_exec "$GW" curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics"
	mxc status --json
	mxc explain 198.18.0.0 --json
	mxc config set unknown_burst $((5 + i % 3))
	mxc allow add 198.18.255.$((i % 200))/32
	mxc allow del 198.18.255.$((i % 200))/32
	mxc release 198.18.0.0
	if [ $((i % 4)) -eq 0 ]; then # the slowest: formats every record
		mxc history export csv
		mxc graylist --json
	fi
	mxc checkpoint
}

t_tsan_policy_under_load() {
	local halt=${MXT_TSAN_HALT:-1} lpid hpid i=0 n reloads load_json answered
	conf_write 32
	# Without a symbolizer TSan still reports; history_size=4 keeps the
	# stacks of the older access of a race.
	bg "$GW" "$D_LOG" env \
		TSAN_OPTIONS="halt_on_error=$halt exitcode=66 history_size=4 second_deadlock_stack=1" \
		$NOASLR "$DAEMON" -d -T -f "$CONF"
	D_PID=$BG_PID
	expect_true "daemon starts" "no START line in 30 s ($(tail -n 3 "$D_LOG" | tr '\n' '|'))" \
		wait_until 30 grep -q "START mxthrottled" "$D_LOG" || return
	"$LOAD" -c 32 -d "$LOAD_SECS" -p 4096 -t 5000 --json "unix:$PSOCK" \
		>"$MXT_WORK/load.json" 2>"$MXT_WORK/load.err" &
	lpid=$!
	# SIGHUP in a loop of its own, control commands in this one.
	(while kill -0 "$lpid" 2>/dev/null && kill -HUP "$D_PID" 2>/dev/null; do
		sleep 0.2
	done) &
	hpid=$!
	while kill -0 "$lpid" 2>/dev/null && daemon_alive; do
		control_round "$i" >/dev/null
		i=$((i + 1))
	done
	wait "$lpid"
	wait "$hpid"
	reloads=$(grep -c "RELOAD $CONF" "$D_LOG")
	note "$i rounds of control commands, $reloads reloads, under load"
	expect_range "rounds of control commands" "$i" 1 1000000
	expect_range "reloads applied" "$reloads" 5 1000000
	load_json=$(cat "$MXT_WORK/load.json")
	answered=$(jget "$load_json" '.answers')
	note "policy load: $(printf '%s' "$load_json" | cut -c1-300)"
	expect_range "policy requests answered" "${answered:-0}" 1000 1000000000
	expect_true "metrics scraped" "no mxthrottle_ series" sh -c \
		"ip netns exec $GW curl -sf --max-time 5 http://127.0.0.1:$MPORT/metrics | grep -q '^mxthrottle_'"
	expect_true "daemon alive after the load" "exited ($(tail -n 3 "$D_LOG" | tr '\n' '|'))" daemon_alive
	bg_stop "$D_PID" TERM
	wait "$D_PID" 2>/dev/null
	n=$(tsan_reports)
	note "ThreadSanitizer reports: $n"
	[ "$n" -gt 0 ] && grep -A 12 "WARNING: ThreadSanitizer" "$D_LOG" | head -n 60 | sed 's/^/# /'
	expect_eq "ThreadSanitizer reports" "$n" 0
	D_PID=
}

# SIGHUP with another v4_prefix: refused as "config set v4_prefix" is,
# and the daemon keeps its prefix (keys of /32) and mode.
t_sighup_prefix_refused() {
	local want got before after
	conf_write 32
	bg "$GW" "$D_LOG" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" $NOASLR "$DAEMON" -d -T -f "$CONF"
	D_PID=$BG_PID
	expect_true "daemon starts" "no START line in 30 s" \
		wait_until 30 grep -q "START mxthrottled" "$D_LOG" || return
	want=$(mxc config set v4_prefix 24 2>&1)
	want=$(grep -o 'v4_prefix: .*' "$MXT_WORK/cli.err" | tail -n 1)
	expect_true "config set v4_prefix refused" "'$want'" test -n "$want"
	before=$(jget "$(mxc explain 198.18.7.9 --json)" '.source')
	conf_write 24 "mode = monitor"
	kill -HUP "$D_PID"
	expect_true "RELOAD refused logged" "'$(tail -n 3 "$D_LOG" | tr '\n' '|')'" \
		wait_until 10 grep -q "RELOAD refused" "$D_LOG"
	got=$(grep "RELOAD refused" "$D_LOG" | tail -n 1)
	expect_eq "refusal ends with config set's message" "${got##*: v4_prefix: }" "${want#v4_prefix: }"
	after=$(jget "$(mxc explain 198.18.7.9 --json)" '.source')
	expect_eq "key prefix kept" "$after" "$before"
	expect_eq "key prefix is /32" "$after" "198.18.7.9"
	expect_true "mode kept (no RELOAD applied)" "$(grep -c 'RELOAD /' "$D_LOG") RELOAD lines" \
		test "$(grep -c "RELOAD $CONF" "$D_LOG")" -eq 0
	bg_stop "$D_PID" TERM
	expect_eq "ThreadSanitizer reports" "$(tsan_reports)" 0
	D_PID=
}

run_test tsan_policy_under_load t_tsan_policy_under_load
run_test sighup_prefix_refused t_sighup_prefix_refused
