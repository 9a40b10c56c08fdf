#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# policy.sh - the Postfix policy service of mxthrottled against postgrey:
# queries per second and latency at fixed offered loads and at maximum
# speed, over N persistent connections, with the same client for both.
#
#   bash bench/policy.sh [--quick | --full] [--conns N] [--rates "1000 10000 0"]
#                        [--duration S] [--out FILE.jsonl]
#   BUILD=DIR selects the build directory (default ./build).
#
# Set-up (all created and removed by this script, bounded by `timeout`):
# the script re-executes itself under `unshare --mount --net --pid`, so
#  - 127.0.0.1 is the loopback of a private network namespace: the only
#    listeners on it are the two servers started here; a postgrey service
#    of the host (Debian's listens on 10023) or any other daemon cannot
#    answer in their place.  Each listener's owning PID is checked against
#    the PID started here before any load is sent;
#  - /sys/fs/bpf is a private bpffs: mxthrottled prepares its maps in
#    pin_dir there, nothing touches the host's /sys/fs/bpf;
#  - the script is PID 1 of a private PID namespace: whatever it started
#    dies with it.
# Servers:
#   mxthrottled  the real daemon (build/mxthrottled -d -f CONF), config:
#                user = root, no interface (maps prepared in pin_dir),
#                policy_listen = inet:127.0.0.1:10031, state_db and
#                control_socket in a temporary directory, every other key
#                at its default (enforce mode, the model's defaults).
#   postgrey     Debian's postgrey, its own instance: --inet=127.0.0.1:10023
#                --dbdir=TMP (owned by user postgrey, which it drops to),
#                defaults otherwise (delay 300 s, whitelists of
#                /etc/postgrey, auto-whitelist 5).  There is no /dev/log
#                here, so its one log line per request goes to a file.
# Client: build/mxt-policy-load, N persistent connections (default 32),
# one request in flight per connection (as Postfix's smtpd), requests of
# ~650 bytes as Postfix 3.7 sends at RCPT, client addresses from a pool of
# 4096 in 198.18.0.0/15 with random senders and recipients: every request
# is a new triplet for postgrey (a database write) and a known or new
# sender for the model.  Offered loads: --rates (q/s; 0 = as fast as
# answers come), each run once per server, servers alternating at each
# load so that drift of the shared machine's load hits both alike.
# Latency is send -> answer; with a fixed offered load the client also
# reports scheduled -> answer, which includes queueing when every
# connection is busy (the server fell behind).  The servers' CPU time
# during each measured run (sum over their threads, /proc/PID/task/*/
# schedstat) is reported as us per answered query.
#
# Quick: 0.5 s warm-up + 2 s per run (~20 s in all); full: 1 s + 5 s
# (~45 s).
#
# Output: a table, then one machine-readable line per run:
#   MXT_BENCH {"bench":"policy","server":...,"offered_qps":...,...}
# (also written, without the prefix, to --out FILE when given).
set -euo pipefail

BUILD=${BUILD:-$(pwd)/build}
MODE=quick
CONNS=32
RATES="1000 10000 0"
DUR=""
OUT=""
MPORT=10031     # mxthrottled's policy_listen (inside the private netns)
PPORT=10023     # postgrey's --inet (inside the private netns)

# Print the synopsis (lines 4-10 of this header).
usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'
}

ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick ;;
	--full) MODE=full ;;
	--conns) CONNS=$2; shift ;;
	--rates) RATES=$2; shift ;;
	--duration) DUR=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "policy.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$MODE" = quick ]; then
	WARM=0.5; MEAS=${DUR:-2}; HARD=90
else
	WARM=1; MEAS=${DUR:-5}; HARD=240
fi

# ---------------------------------------------------------------- outer shell
if [ "${MXT_POLICY_INNER:-}" != 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "policy.sh: needs root (namespaces, bpffs, the daemon)" >&2
		exit 1
	fi
	case $CONNS in ''|*[!0-9]*|0) echo "policy.sh: --conns wants a positive number" >&2; exit 2 ;; esac
	for r in $RATES; do
		case $r in ''|*[!0-9]*) echo "policy.sh: --rates wants numbers (0 = max)" >&2; exit 2 ;; esac
	done
	for f in mxthrottled mxt-policy-load; do
		if [ ! -x "$BUILD/$f" ]; then
			echo "policy.sh: $BUILD/$f missing: run make first (BUILD=$BUILD)" >&2
			exit 1
		fi
	done
	for t in postgrey ip ss unshare timeout awk; do
		command -v "$t" >/dev/null || { echo "policy.sh: $t not installed" >&2; exit 1; }
	done
	getent passwd postgrey >/dev/null || { echo "policy.sh: user postgrey missing (apt-get install postgrey)" >&2; exit 1; }
	BUILD=$(cd "$BUILD" && pwd)
	[ -n "$OUT" ] && OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
	export MXT_POLICY_INNER=1 BUILD OUT
	exec timeout -k 10 "$HARD" unshare --mount --net --pid --fork --kill-child=SIGTERM \
		--mount-proc --propagation private -- bash "$0" ${ARGS[@]+"${ARGS[@]}"}
fi

# ---------------------------------------------------------------- inner shell
WORK=$(mktemp -d /tmp/mxt-policy.XXXXXX)
D_PID=""
P_PID=""
[ -n "$OUT" ] && : >"$OUT"

# Stop the servers and remove the work directory.
cleanup() {
	set +e
	for p in $D_PID $P_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A message on stderr.
log() { echo "policy.sh: $*" >&2; }

# PID owning the TCP listener on 127.0.0.1:PORT (empty if none).
listener_pid() {
	ss -ltnpH "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true
}

# Wait up to 10 s until PID (started here) listens on PORT; fail if it
# died, or if another process owns the port.
wait_listen() {
	local pid=$1 port=$2 name=$3 i owner
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { log "$name exited at start-up:"; tail -5 "$WORK/$name.log" >&2; return 1; }
		owner=$(listener_pid "$port")
		if [ -n "$owner" ]; then
			[ "$owner" = "$pid" ] && return 0
			log "127.0.0.1:$port is owned by pid $owner, not by the $name started here ($pid)"
			return 1
		fi
		sleep 0.1
	done
	log "$name did not listen on 127.0.0.1:$port within 10 s"
	return 1
}

# CPU time in ns used so far by every thread of PID.
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

ip link set lo up
mount -t bpf bpf /sys/fs/bpf
mkdir -p "$WORK/state" "$WORK/run" "$WORK/pg"
chmod 0711 "$WORK"
chown postgrey:postgrey "$WORK/pg"

# mxthrottled, in the foreground (-d), in the background of this shell.
cat >"$WORK/mxthrottle.conf" <<EOF
# bench/policy.sh
user = root
pin_dir = /sys/fs/bpf/mxtpolicy
state_db = $WORK/state/history.mdb
control_socket = $WORK/run/control.sock
policy_listen = inet:127.0.0.1:$MPORT
EOF
"$BUILD/mxthrottled" -d -f "$WORK/mxthrottle.conf" >"$WORK/mxthrottled.log" 2>&1 &
D_PID=$!
wait_listen "$D_PID" "$MPORT" mxthrottled

# postgrey, in the foreground, in the background of this shell.
postgrey --inet="127.0.0.1:$PPORT" --dbdir="$WORK/pg" --pidfile="$WORK/pg/postgrey.pid" \
	>"$WORK/postgrey.log" 2>&1 &
P_PID=$!
wait_listen "$P_PID" "$PPORT" postgrey

START=$(date +%s)
log "mode $MODE (warm-up ${WARM}s, measure ${MEAS}s per run), $CONNS connections, loads: $RATES (0 = max)"
log "mxthrottled pid $D_PID on 127.0.0.1:$MPORT, postgrey pid $P_PID on 127.0.0.1:$PPORT (private netns)"

: >"$WORK/runs"
for rate in $RATES; do
	for server in mxthrottled postgrey; do
		if [ "$server" = mxthrottled ]; then pid=$D_PID; port=$MPORT; else pid=$P_PID; port=$PPORT; fi
		[ "$(listener_pid "$port")" = "$pid" ] || { log "$server: listener changed hands"; exit 1; }
		c0=$(cpu_ns "$pid")
		la=$(cut -d' ' -f1 /proc/loadavg)
		if ! j=$("$BUILD/mxt-policy-load" -c "$CONNS" -r "$rate" -W "$WARM" -d "$MEAS" \
			-t 5000 --json "inet:127.0.0.1:$port" 2>"$WORK/load.err"); then
			log "$server at $rate q/s: the load run failed: $(tr '\n' ' ' <"$WORK/load.err")"
			continue
		fi
		c1=$(cpu_ns "$pid")
		kill -0 "$pid" 2>/dev/null || { log "$server died during the run"; exit 1; }
		# Server CPU over warm-up + measure; per answered query of the
		# measured part, scaled by the time share (same rate throughout).
		line=$(printf '%s' "$j" | awk -v s="$server" -v m="$MODE" -v c=$((c1 - c0)) \
			-v w="$WARM" -v d="$MEAS" -v la="$la" '{
			match($0, /"answers":[0-9]+/); a = substr($0, RSTART + 10, RLENGTH - 10) + 0
			us = a > 0 ? c / 1000 * d / (w + d) / a : 0
			sub(/^\{/, "")
			printf "{\"bench\":\"policy\",\"mode\":\"%s\",\"server\":\"%s\",\"loadavg\":%s,\"server_cpu_ms\":%.1f,\"server_cpu_us_per_query\":%.2f,%s\n", m, s, la, c / 1e6, us, $0 }')
		echo "$line" >>"$WORK/runs"
	done
done

# Table, then the JSON lines.
printf '\npolicy service: %s connections, %s mode (%ss per run after %ss warm-up); latency in us (send -> answer)\n' \
	"$CONNS" "$MODE" "$MEAS" "$WARM"
printf '%-12s %9s %9s %9s %9s %9s %9s %10s %8s %s\n' server offered qps p50 p99 p99.9 sched_p99 cpu_us/q x_postgr answers
awk '
function num(s, k,   r) { if (match(s, "\"" k "\":[-0-9.]+")) { r = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3); return r + 0 } return 0 }
function sub_obj(s, k) { if (match(s, "\"" k "\":\\{[^}]*\\}")) return substr(s, RSTART, RLENGTH); return "" }
{
	n++; L[n] = $0
	sv[n] = ($0 ~ /"server":"mxthrottled"/) ? "mxthrottled" : "postgrey"
	off[n] = num($0, "offered_qps"); q[n] = num($0, "qps")
	lat = sub_obj($0, "latency_us"); p50[n] = num(lat, "p50"); p99[n] = num(lat, "p99"); p999[n] = num(lat, "p999")
	sl = sub_obj($0, "sched_latency_us"); sp99[n] = num(sl, "p99")
	cpu[n] = num($0, "server_cpu_us_per_query")
	k = sub_obj($0, "answers_by_kind"); ans[n] = "dunno " num(k, "dunno") " defer " num(k, "defer") " prepend " num(k, "prepend") " other " num(k, "other")
	e = sub_obj($0, "errors"); er = num(e, "timeouts") + num(e, "closed") + num(e, "connect")
	if (er > 0) ans[n] = ans[n] " ERRORS " er
	if (sv[n] == "postgrey") pg[off[n]] = q[n]
}
END {
	for (i = 1; i <= n; i++) {
		x = (sv[i] == "mxthrottled" && pg[off[i]] > 0) ? sprintf("%8.1fx", q[i] / pg[off[i]]) : "        -"
		printf "%-12s %9s %9.0f %9.1f %9.1f %9.1f %9.1f %10.2f %s %s\n", sv[i], (off[i] > 0 ? off[i] : "max"), q[i], p50[i], p99[i], p999[i], sp99[i], cpu[i], x, ans[i]
	}
}' "$WORK/runs"
while read -r line; do
	echo "MXT_BENCH $line"
	[ -n "$OUT" ] && echo "$line" >>"$OUT"
done <"$WORK/runs"
grep -q "START mxthrottled" "$WORK/mxthrottled.log" ||
	log "mxthrottled log has no START line: $(tail -3 "$WORK/mxthrottled.log" | tr '\n' ' ')"
echo "policy.sh: done in $(( $(date +%s) - START )) s"
