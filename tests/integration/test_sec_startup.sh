#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_sec_startup.sh - what the run user (and anyone who can write the
# main configuration) can do to mxthrottled's start-up as root, issue 9
# holes 1 and 2.  The daemon runs in lib.sh's gateway namespace, drops to
# the "mxthrottle" user, and the test plays that user with setpriv.
#
# Cases (one run_test each, in this order):
#   runtime_conf_root      "user = root" and path keys appended to
#                          runtime.conf by the run user: the daemon still
#                          runs as the run user with CAP_BPF only, keeps
#                          its paths, logs each refusal as FILE:LINE, and
#                          still applies the runtime key of the same file
#   runtime_conf_symlink   runtime.conf a symlink: ignored, said so
#   conf_not_root_only     mxthrottle.conf (or its directory) writable by
#                          group or others, or not owned by root: -n and
#                          the daemon refuse it, naming the file
#   history_truncated      history.mdb cut to 8, 12, 16, 24, 32 KiB, no
#                          good copy: the daemon starts, XDP stays attached,
#                          the policy service answers, the log says
#                          "damaged" and that the history starts empty
#   history_good_copy      the same damage with a good copy (written at the
#                          last clean stop): an established sender keeps
#                          its history
#   state_dir_root_owned   the state tree made root's, as systemd's
#                          StateDirectory= does at every start: handed back
#                          (only when it holds nothing but mxthrottle's
#                          files), history, runtime.conf, connectors kept
#   lock_symlink           history.mdb-lock planted as a symlink to a root
#                          file: the file is neither chowned nor written
#
# Every case fails on a daemon without the fixes: runtime.conf's "user"
# kept it root, -n said "configuration OK", LMDB raised SIGBUS as root in
# mdb_dbi_open for the truncated file, root opened and chowned the lock
# file through the symlink, and (state_dir_root_owned, which guards the
# history being opened after the drop) "config set" could not persist in
# a root-owned state directory and no good copy existed.
#
# Addresses: 198.18.0.0/15 only, inside lib.sh's namespaces; policy
# requests go to 127.0.0.1 inside the gateway namespace.  Run as root:
# bash tests/integration/test_sec_startup.sh.  About 40 s.

: "${MXT_TEST_TIMEOUT:=160}"
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

MXT_POLICY_LOAD=$BUILD/mxt-policy-load
for t in "$MXT_DAEMON" "$MXT_POLICY_LOAD" setpriv truncate; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (make BUILD=$BUILD; scripts/setup.sh)"
		exit 1
	fi
done

PPORT=$((20000 + RANDOM % 20000)) # policy_listen, the gateway's loopback
PIN=$MXT_BPFFS/mxthrottle
ETC=$MXT_WORK/etc
STATE=$MXT_WORK/state
HDB=$STATE/history.mdb
RT=$STATE/runtime.conf
CONF=$ETC/mxthrottle.conf
CTL=$MXT_WORK/run/control.sock
SEED4=198.18.1.7
CAP_BPF_ONLY=0000008000000000

run_user_ensure # lib.sh: RUN_USER, RUN_UID, RUN_GID

# The run user must reach its state directory, as under /var/lib.
chmod 0711 "$MXT_WORK"
mkdir -p "$ETC" && chmod 0755 "$ETC"

conf_write() {
	{
		echo "# test_sec_startup.sh"
		echo "interface = $GW_IF"
		echo "pin_dir = $PIN"
		echo "state_db = $HDB"
		echo "control_socket = $CTL"
		echo "policy_listen = inet:127.0.0.1:$PPORT"
		echo "checkpoint_interval = 2"
		echo "tick_interval = 200"
		echo "ports = 25"
		echo "unknown_rate = 60"
		echo "unknown_burst = 5"
	} >"$CONF"
	chmod 0644 "$CONF"
}

# as_run_user CMD...: CMD as the unprivileged run user.
as_run_user() {
	setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups -- "$@"
}

# daemon_start, daemon_alive, daemon_stop, dlog_has, dlog_tail, mxc: lib.sh.

# policy_answers: answers of one second of policy requests from 3 senders.
policy_answers() {
	local j
	j=$(ns_exec "$GW" timeout 12 "$MXT_POLICY_LOAD" -c 1 -r 20 -d 1 -p 3 -t 2000 --json \
		"inet:127.0.0.1:$PPORT")
	jget "$j" .answers
}

# proc_ids: "UID CAPEFF" of the running daemon.
proc_ids() {
	awk '/^Uid:/ { u = $2 "/" $3 "/" $4 "/" $5 } /^CapEff:/ { c = $2 } END { print u, c }' \
		"/proc/$D_PID/status" 2>/dev/null
}

# expect_unprivileged WHAT: the daemon runs as the run user, CAP_BPF only.
expect_unprivileged() {
	expect_eq "$1: Uid and CapEff" "$(proc_ids)" \
		"$RUN_UID/$RUN_UID/$RUN_UID/$RUN_UID $CAP_BPF_ONLY"
}

# expect_enforcing WHAT: alive, XDP attached, the policy service answers.
expect_enforcing() {
	expect_true "$1: daemon alive" "exited ($(dlog_tail))" daemon_alive
	expect_true "$1: XDP on $GW_IF" "'$(xdp_attached "$GW" "$GW_IF")'" \
		grep -Eqx 'native|skb' <<<"$(xdp_attached "$GW" "$GW_IF")"
	expect_range "$1: policy answers" "$(policy_answers)" 1 1000
}

# --- hole 1: runtime.conf -----------------------------------------------------

t_runtime_conf_root() {
	local n out
	conf_write
	expect_true "first start" "no START line ($(dlog_tail))" daemon_start || return
	daemon_stop
	expect_eq "state dir owner" "$(stat -c %u "$STATE")" "$RUN_UID"
	# What a run user who took over the daemon would append.
	as_run_user sh -c "printf '%s\n' 'unknown_burst = 7' 'user = root' 'state_db = /tmp/evil.mdb' \
		'pin_dir = /tmp/evil' 'control_socket = /tmp/evil.sock' 'v4_prefix = 24' 'establish_days = 9' \
		'allow = 0.0.0.0/0' >>'$RT'"
	expect_eq "runtime.conf owner" "$(stat -c %u "$RT" 2>/dev/null)" "$RUN_UID"
	n=$(grep -c '' "$RT")
	out=$("$MXT_DAEMON" -n -f "$CONF" 2>&1)
	expect_eq "-n: exit" "$?" 0
	expect_true "-n: warns of the user line as FILE:LINE" "'$out'" \
		grep -q "^mxthrottled: warning: $RT:$((n - 6)): user: not a runtime key" <<<"$out"
	expect_eq "-n: last line" "$(tail -n1 <<<"$out")" "configuration OK"
	expect_true "restart" "no START line ($(dlog_tail))" daemon_start || return
	expect_unprivileged "after user = root in runtime.conf"
	expect_true "logs the drop" "'$(dlog_tail)'" dlog_has "running as $RUN_USER with CAP_BPF only"
	expect_true "user line refused as FILE:LINE" "'$(grep -m1 runtime.conf "$D_LOG")'" \
		dlog_has "$RT:$((n - 6)): user: not a runtime key"
	for k in state_db:5 pin_dir:4 control_socket:3 v4_prefix:2 establish_days:1 allow:0; do
		expect_true "${k%:*} refused as FILE:LINE" "'$(grep -m1 "${k%:*}" "$D_LOG")'" \
			dlog_has "$RT:$((n - ${k#*:})): ${k%:*}: not a runtime key"
	done
	expect_true "history stays at $HDB" "'$(grep START "$D_LOG")'" dlog_has "history $HDB\$"
	expect_true "control socket stays at $CTL" "absent" test -S "$CTL"
	expect_true "no socket at /tmp/evil.sock" "present" test ! -e /tmp/evil.sock
	expect_eq "runtime key of the same file applies" \
		"$(mxt "$PIN" config get unknown_burst | awk '{ print $NF }')" 7
	expect_enforcing "runtime.conf refused"
	daemon_stop
	rm -f "$RT"
}

t_runtime_conf_symlink() {
	printf 'unknown_burst = 9\n' >"$MXT_WORK/rt-target"
	chmod 0644 "$MXT_WORK/rt-target"
	as_run_user ln -s "$MXT_WORK/rt-target" "$RT"
	expect_true "start" "no START line ($(dlog_tail))" daemon_start || return
	expect_true "symlink ignored, said so" "'$(dlog_tail)'" dlog_has "$RT: a symbolic link: ignored"
	expect_eq "target not applied" "$(mxt "$PIN" config get unknown_burst | awk '{ print $NF }')" 5
	expect_unprivileged "runtime.conf a symlink"
	daemon_stop
	rm -f "$RT"
}

# --- hole 1: the main configuration's owner and mode ----------------------------

t_conf_not_root_only() {
	local out rc
	conf_write
	# check_refused WHAT REGEX: -n and a start both exit 1 naming $CONF.
	check_refused() {
		out=$("$MXT_DAEMON" -n -f "$CONF" 2>&1)
		rc=$?
		expect_eq "-n, $1: exit" "$rc" 1
		expect_true "-n, $1: names $CONF and the reason" "'$out'" grep -Eq "^mxthrottled: $CONF: .*$2" <<<"$out"
		out=$(ns_exec "$GW" timeout 10 "$MXT_DAEMON" -d -f "$CONF" 2>&1)
		rc=$?
		expect_eq "start, $1: exit" "$rc" 1
		expect_true "start, $1: names $CONF" "'$out'" grep -Eq "^mxthrottled: $CONF: .*$2" <<<"$out"
	}
	chmod 0664 "$CONF"
	check_refused "group-writable file" "file writable by its group \(mode 0664"
	chmod 0646 "$CONF"
	check_refused "world-writable file" "file writable by everyone \(mode 0646"
	chmod 0644 "$CONF"
	chown "$RUN_UID" "$CONF"
	check_refused "file owned by the run user" "file owned by uid $RUN_UID, not root"
	chown 0 "$CONF"
	chmod 0775 "$ETC"
	check_refused "group-writable directory" "$ETC directory writable by its group"
	chmod 0755 "$ETC"
	out=$("$MXT_DAEMON" -n -f "$CONF" 2>&1)
	expect_eq "-n, root-owned 0644 in a 0755 directory" "$out" "configuration OK"
	unset -f check_refused
}

# --- hole 2: the history file ------------------------------------------------------

# Make a history well over 32 KiB: many graylisted senders and one
# established one, checkpointed at a clean stop.
make_history() {
	expect_true "start" "no START line ($(dlog_tail))" daemon_start || return 1
	ns_exec "$GW" timeout 20 "$MXT_POLICY_LOAD" -c 2 -r 400 -d 2 -p 600 -t 2000 --json \
		"inet:127.0.0.1:$PPORT" >/dev/null
	expect_ok "ctl seed $SEED4" mxc ctl seed "$SEED4" 3 5
	SEED_STATE=$(jget "$(mxc explain "$SEED4" --json)" '"\(.state)/\(.days_active)/\(.first_seen)"')
	daemon_stop
	expect_range "history size (KiB)" "$(($(stat -c %s "$HDB") / 1024))" 40 1000000
	cp "$HDB" "$MXT_WORK/history.full"
}

t_history_truncated() {
	local kib
	make_history || return
	expect_true "good copy at clean stop" "absent" test -s "$HDB.good"
	for kib in 8 12 16 24 32; do
		rm -f "$HDB.good" "$HDB".damaged-*
		cp "$MXT_WORK/history.full" "$HDB"
		chown "$RUN_UID:$RUN_GID" "$HDB"
		as_run_user truncate -s "${kib}K" "$HDB"
		expect_true "$kib KiB: starts" "no START line ($(dlog_tail))" daemon_start || continue
		expect_true "$kib KiB: log says damaged and empty" "'$(grep -a -m1 HISTORY "$D_LOG")'" \
			dlog_has "HISTORY damaged: $HDB: truncated.*moved aside to $HDB.damaged-.*starting with an empty history"
		expect_true "$kib KiB: damaged file kept" "absent" sh -c "ls '$HDB'.damaged-* >/dev/null"
		expect_unprivileged "$kib KiB"
		expect_enforcing "$kib KiB"
		daemon_stop
	done
}

t_history_good_copy() {
	local got
	rm -f "$HDB".damaged-*
	cp "$MXT_WORK/history.full" "$HDB"
	chown "$RUN_UID:$RUN_GID" "$HDB"
	expect_true "start" "no START line ($(dlog_tail))" daemon_start || return
	daemon_stop
	expect_true "good copy written" "absent" test -s "$HDB.good"
	as_run_user truncate -s 16K "$HDB"
	expect_true "start on the damaged file" "no START line ($(dlog_tail))" daemon_start || return
	expect_true "log says restored from the good copy" "'$(grep -a -m1 HISTORY "$D_LOG")'" \
		dlog_has "HISTORY damaged: $HDB: truncated.*restored from the last good copy"
	got=$(jget "$(mxc explain "$SEED4" --json)" '"\(.state)/\(.days_active)/\(.first_seen)"')
	expect_eq "$SEED4 history after the restore" "$got" "$SEED_STATE"
	expect_true "$SEED4 was established" "'$SEED_STATE'" grep -q '^established/' <<<"$SEED_STATE"
	expect_enforcing "restored from the good copy"
	daemon_stop
}

# What systemd's StateDirectory= does to a unit without User= at every
# start: the tree is root's again, 0750.  The daemon gives the directory
# back to the run user (it holds only mxthrottle's files) and hands over
# each file without following names, so the history, runtime.conf and the
# connectors survive the restart.  A directory with anything else in it is
# never given away; the daemon then still runs and enforces.
t_state_dir_root_owned() {
	local got
	expect_true "start" "no START line ($(dlog_tail))" daemon_start || return
	expect_ok "config set unknown_burst 8" mxc config set unknown_burst 8
	expect_ok "allow add 198.18.1.6/32" mxc allow add 198.18.1.6/32
	daemon_stop
	chown -R 0:0 "$STATE"
	chmod 0750 "$STATE"
	chmod 0640 "$RT" "$STATE/connectors"
	expect_true "restart on a root-owned state dir" "no START line ($(dlog_tail))" daemon_start || return
	expect_eq "state dir owner" "$(stat -c %u "$STATE")" "$RUN_UID"
	expect_eq "owners of history, lock, runtime.conf, connectors" \
		"$(stat -c %u "$HDB" "$HDB-lock" "$RT" "$STATE/connectors" | sort -u)" "$RUN_UID"
	got=$(jget "$(mxc explain "$SEED4" --json)" '"\(.state)/\(.days_active)/\(.first_seen)"')
	expect_eq "$SEED4 history kept" "$got" "$SEED_STATE"
	expect_eq "runtime.conf applied" "$(mxt "$PIN" config get unknown_burst | awk '{ print $NF }')" 8
	expect_true "connector kept" "'$(mxc allow list 2>&1 | tr '\n' ' ')'" \
		sh -c "'$MXT_CLI' --pin-dir '$PIN' allow list 2>/dev/null | grep -q 198.18.1.6"
	expect_ok "config set persists as the run user" mxc config set unknown_burst 5
	expect_eq "runtime.conf rewritten" "$(grep '^unknown_burst' "$RT")" "unknown_burst = 5"
	expect_eq "good copy owner" "$(stat -c %u "$HDB.good" 2>/dev/null)" "$RUN_UID"
	daemon_stop
	# A directory that holds something else stays root's.
	chown 0:0 "$STATE"
	chmod 0750 "$STATE"
	touch "$STATE/not-ours"
	expect_true "start with a foreign file" "no START line ($(dlog_tail))" daemon_start || return
	expect_eq "state dir owner" "$(stat -c %u "$STATE")" 0
	expect_true "says why" "'$(dlog_tail)'" dlog_has "state directory $STATE not handed to $RUN_USER: it holds other files"
	expect_unprivileged "state dir kept root's"
	expect_enforcing "state dir kept root's"
	daemon_stop
	rm -f "$STATE/not-ours"
	chown "$RUN_UID:$RUN_GID" "$STATE"
}

t_lock_symlink() {
	local victim=$MXT_WORK/victim
	printf 'root-only secret\n' >"$victim"
	chmod 0600 "$victim"
	rm -f "$HDB-lock"
	as_run_user ln -s "$victim" "$HDB-lock"
	expect_true "start" "no START line ($(dlog_tail))" daemon_start || return
	expect_eq "victim owner" "$(stat -c %u "$victim")" 0
	expect_eq "victim content" "$(cat "$victim")" "root-only secret"
	expect_unprivileged "planted lock symlink"
	expect_enforcing "planted lock symlink"
	daemon_stop
}

run_test runtime_conf_root t_runtime_conf_root
run_test runtime_conf_symlink t_runtime_conf_symlink
run_test conf_not_root_only t_conf_not_root_only
run_test history_truncated t_history_truncated
run_test history_good_copy t_history_good_copy
run_test state_dir_root_owned t_state_dir_root_owned
run_test lock_symlink t_lock_symlink
