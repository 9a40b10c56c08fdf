#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# policy.sh - the Postfix policy service of mxthrottled against postgrey:
# queries per second and latency at fixed offered loads and at maximum
# speed, over N persistent connections, with the same client for both.
#
#   bash bench/policy.sh [--quick | --full] [--conns N] [--rates "1000 10000 0"]
#                        [--duration S] [--servers "mxthrottled postgrey ..."]
#                        [--out FILE.jsonl]
#   BUILD=DIR selects the build directory (default ./build).
#
# Set-up (all created and removed by this script, bounded by `timeout`):
# the script re-executes itself under `unshare --mount --net --pid`, so
#  - 127.0.0.1 is the loopback of a private network namespace: the only
#    listeners on it are the servers started here; a postgrey service of
#    the host (Debian's listens on 10023) or any other daemon cannot answer
#    in their place.  Each listener's owning PID is checked against the PID
#    started here before the first run and before every run;
#  - /sys/fs/bpf is a private bpffs: mxthrottled prepares its maps in
#    pin_dir there, nothing touches the host's /sys/fs/bpf;
#  - the script is PID 1 of a private PID namespace: whatever it started
#    dies with it.
# Servers:
#   mxthrottled    the real daemon (build/mxthrottled -d -f CONF), config:
#                  user = root, no interface (maps prepared in pin_dir),
#                  policy_listen = inet:127.0.0.1:10031, state_db and
#                  control_socket in a temporary directory, every other key
#                  at its default (enforce mode, the model's defaults).
#   postgrey       Debian's postgrey, its own instance on 127.0.0.1:10023,
#                  --dbdir on a tmpfs (owned by user postgrey, which it
#                  drops to), defaults otherwise (delay 300 s, whitelists of
#                  /etc/postgrey, auto-whitelist 5).  postgrey keeps its
#                  triplets in BerkeleyDB with transactions (DB_INIT_TXN): on
#                  a disk each new triplet waits for a log flush; on tmpfs
#                  the flush costs nothing, so this is postgrey at its best
#                  (CPU-bound): the reference of the ratios, conservatively.
#   postgrey-disk  the same on 127.0.0.1:10024 with --dbdir under /tmp (the
#                  root filesystem here, as /var/lib/postgrey would be): a
#                  default install, bound by the disk's flush latency, which
#                  on a shared machine varies from run to run.  Context only.
#   floor          a 40-line C epoll server (compiled here from this file
#                  with cc) on 127.0.0.1:10025 that answers action=DUNNO to
#                  each request without parsing it: what the client, the
#                  loopback and the scheduler of this machine cost by
#                  themselves, the floor under any server's latency.
#                  Context only.
#   There is no /dev/log here, so postgrey's one log line per request goes
#   to a file.
# Client: build/mxt-policy-load, N persistent connections (default 32),
# one request in flight per connection (as Postfix's smtpd), requests of
# ~650 bytes as Postfix 3.7 sends at RCPT, client addresses from a pool of
# 4096 in 198.18.0.0/15 with random senders and recipients: every request
# is a new triplet for postgrey (a database write) and a known or new
# sender for the model.  Offered loads: --rates (q/s; 0 = as fast as
# answers come), each run once per server, servers alternating at each
# load so that drift of the shared machine's load hits all alike.
# Latency is send -> answer; with a fixed offered load the client also
# reports scheduled -> answer, which includes queueing when every
# connection is busy (the server fell behind) or the client itself was
# not scheduled in time.  The servers' CPU time during each run (sum over
# their threads, /proc/PID/task/*/schedstat) is reported per answered query,
# and so is the client's (read every 50 ms until it exits): at maximum
# speed the pair shares 2 CPUs, and either side can be the limit.
# The machine is shared and virtual: each run records the 1-minute load
# average and the CPU time stolen by the hypervisor (/proc/stat steal, as a
# share of all CPU time during the run); before the runs a wake-up probe
# (python3, if present: a thread sleeping 100 us, 10000 times) reports the
# scheduler's own latency tail, a floor under any p99 measured here.
#
# Quick: 0.5 s warm-up + 2 s per run, servers mxthrottled and postgrey,
# ~20 s in all; full: 1 s + 5 s per run, all four servers, ~85 s.
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
SRV=""
OUT=""
MPORT=10031     # mxthrottled's policy_listen (inside the private netns)
PPORT=10023     # postgrey's --inet (inside the private netns)
PDPORT=10024    # postgrey-disk's
FPORT=10025     # floor's

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
	--servers) SRV=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "policy.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

if [ "$MODE" = quick ]; then
	WARM=0.5; MEAS=${DUR:-2}; HARD=100; SRV=${SRV:-mxthrottled postgrey}
else
	WARM=1; MEAS=${DUR:-5}; HARD=240; SRV=${SRV:-mxthrottled postgrey postgrey-disk floor}
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
	for p in $SRV; do
		case $p in mxthrottled|postgrey|postgrey-disk|floor) ;;
		*) echo "policy.sh: --servers: mxthrottled, postgrey, postgrey-disk, floor" >&2; exit 2 ;;
		esac
	done
	case " $SRV " in *" floor "*) command -v "${CC:-cc}" >/dev/null ||
		{ echo "policy.sh: the floor server needs a C compiler (${CC:-cc})" >&2; exit 1; } ;; esac
	for f in mxthrottled mxt-policy-load; do
		if [ ! -x "$BUILD/$f" ]; then
			echo "policy.sh: $BUILD/$f missing: run make first (BUILD=$BUILD)" >&2
			exit 1
		fi
	done
	for t in postgrey ip ss unshare timeout awk mountpoint; do
		command -v "$t" >/dev/null || { echo "policy.sh: $t not installed" >&2; exit 1; }
	done
	getent passwd postgrey >/dev/null ||
		{ echo "policy.sh: user postgrey missing (apt-get install postgrey)" >&2; exit 1; }
	BUILD=$(cd "$BUILD" && pwd)
	[ -n "$OUT" ] && OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
	export MXT_POLICY_INNER=1 BUILD OUT
	exec timeout -k 10 "$HARD" unshare --mount --net --pid --fork --kill-child=SIGTERM \
		--mount-proc --propagation private -- bash "$0" ${ARGS[@]+"${ARGS[@]}"}
fi

# ---------------------------------------------------------------- inner shell
WORK=$(mktemp -d /tmp/mxt-policy.XXXXXX)
declare -A PID=() PORT=()
SERVERS=()
if [ -n "$OUT" ]; then : >"$OUT"; fi

# Stop the servers and remove the work directory.
cleanup() {
	set +e
	for p in "${PID[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	mountpoint -q "$WORK/pg" && umount "$WORK/pg"
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
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited at start-up:"
			tail -5 "$WORK/$name.log" >&2
			return 1
		fi
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
	# The process may be gone by now (the client's last poll): 0, not a
	# failed pipeline that errexit would turn into the end of the run.
	{ cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# "STEAL TOTAL": CPU ticks of all CPUs so far (/proc/stat).
steal_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t; exit }' /proc/stat
}

# Wake-up probe: overshoot of a 100 us sleep, 10000 times; prints
# "P50 P99 P99.9 MAX" in us, or nothing without python3.
wake_probe() {
	command -v python3 >/dev/null || return 0
	python3 - <<'PY' 2>/dev/null || true
import time
lat = []
for i in range(10000):
    t = time.monotonic_ns(); time.sleep(0.0001); lat.append(time.monotonic_ns() - t - 100000)
lat.sort(); n = len(lat)
print(" ".join("%.1f" % (lat[min(n - 1, int(q * n))] / 1000) for q in (0.5, 0.99, 0.999, 1.0)))
PY
}

ip link set lo up
mount -t bpf bpf /sys/fs/bpf
mkdir -p "$WORK/state" "$WORK/run" "$WORK/pg" "$WORK/pgdisk"
chmod 0711 "$WORK"
mount -t tmpfs -o size=512m,mode=0755 mxtpolicy "$WORK/pg"
chown postgrey:postgrey "$WORK/pg" "$WORK/pgdisk"

# The floor server's source (see the header).
floor_src() {
	cat <<'C'
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
static char nl[65536], out[16384 * 14];
int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	int l = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0), one = 1;
	char in[16384];

	(void)argc;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096))
		return 1;
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, cnt = 0;
			ssize_t r;
			if (fd == l) {
				int c = accept(l, NULL, NULL);
				if (c < 0 || c >= 65536) { if (c >= 0) close(c); continue; }
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				nl[c] = 0;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			r = read(fd, in, sizeof(in));
			if (r <= 0) { close(fd); continue; }
			for (ssize_t k = 0; k < r; k++) {   /* a request ends with an empty line */
				if (in[k] != '\n') { nl[fd] = 0; continue; }
				if (nl[fd]) { cnt++; nl[fd] = 0; } else nl[fd] = 1;
			}
			for (int k = 0; k < cnt; k++)
				for (int j = 0; j < 14; j++) out[k * 14 + j] = "action=DUNNO\n\n"[j];
			if (cnt && write(fd, out, (size_t)cnt * 14) < 0) close(fd);
		}
	}
}
C
}

# Start server NAME; sets PID[NAME], PORT[NAME] and appends to SERVERS.
start_server() {
	local name=$1 port dir
	case $name in
	mxthrottled)
		port=$MPORT
		# The real daemon, in the foreground (-d), in our background.
		cat >"$WORK/mxthrottle.conf" <<CONF
# bench/policy.sh
user = root
pin_dir = /sys/fs/bpf/mxtpolicy
state_db = $WORK/state/history.mdb
control_socket = $WORK/run/control.sock
policy_listen = inet:127.0.0.1:$port
${MXT_BENCH_EXTRA_CONF:-}
CONF
		"$BUILD/mxthrottled" -d -f "$WORK/mxthrottle.conf" >"$WORK/$name.log" 2>&1 &
		;;
	postgrey|postgrey-disk)
		if [ "$name" = postgrey ]; then port=$PPORT; dir=$WORK/pg; else port=$PDPORT; dir=$WORK/pgdisk; fi
		postgrey --inet="127.0.0.1:$port" --dbdir="$dir" --pidfile="$dir/postgrey.pid" \
			>"$WORK/$name.log" 2>&1 &
		;;
	floor)
		port=$FPORT
		floor_src >"$WORK/floor.c"
		"${CC:-cc}" -O2 -o "$WORK/floor" "$WORK/floor.c" 2>"$WORK/$name.log"
		"$WORK/floor" "$port" >>"$WORK/$name.log" 2>&1 &
		;;
	esac
	PID[$name]=$!
	PORT[$name]=$port
	SERVERS+=("$name")
	wait_listen "${PID[$name]}" "$port" "$name"
}

for s in $SRV; do
	start_server "$s"
done

START=$(date +%s)
log "mode $MODE (warm-up ${WARM}s, measure ${MEAS}s per run), $CONNS connections, loads: $RATES (0 = max)"
for s in "${SERVERS[@]}"; do
	log "$s: pid ${PID[$s]} on 127.0.0.1:${PORT[$s]} (private netns)"
done
WAKE=$(wake_probe)
[ -n "$WAKE" ] && log "wake-up probe (100 us sleep; overshoot in us): p50 p99 p99.9 max = $WAKE"

: >"$WORK/runs"
for rate in $RATES; do
	for server in "${SERVERS[@]}"; do
		pid=${PID[$server]}
		port=${PORT[$server]}
		[ "$(listener_pid "$port")" = "$pid" ] || { log "$server: listener changed hands"; exit 1; }
		la=$(cut -d' ' -f1 /proc/loadavg)
		read -r st0 tt0 <<<"$(steal_ticks)"
		c0=$(cpu_ns "$pid")
		"$BUILD/mxt-policy-load" -c "$CONNS" -r "$rate" -W "$WARM" -d "$MEAS" \
			-t 5000 --json "inet:127.0.0.1:$port" >"$WORK/load.out" 2>"$WORK/load.err" &
		lpid=$!
		# The client's own CPU time, read just before it exits.
		lc=0
		while kill -0 "$lpid" 2>/dev/null; do
			x=$(cpu_ns "$lpid")
			[ -n "$x" ] && [ "$x" != 0 ] && lc=$x
			sleep 0.05
		done
		if ! wait "$lpid"; then
			log "$server at $rate q/s: the load run failed: $(tr '\n' ' ' <"$WORK/load.err")"
			continue
		fi
		j=$(cat "$WORK/load.out")
		c1=$(cpu_ns "$pid")
		read -r st1 tt1 <<<"$(steal_ticks)"
		kill -0 "$pid" 2>/dev/null || { log "$server died during the run"; exit 1; }
		# Server CPU over warm-up + measure, per answered query of the
		# measured part scaled by its share of the time.
		printf '%s' "$j" | awk -v s="$server" -v m="$MODE" -v c=$((c1 - c0)) -v lc="$lc" \
			-v w="$WARM" -v d="$MEAS" -v la="$la" -v st=$((st1 - st0)) -v tt=$((tt1 - tt0)) \
			-v wake="$WAKE" '{
			match($0, /"answers":[0-9]+/); a = substr($0, RSTART + 10, RLENGTH - 10) + 0
			us = a > 0 ? c / 1000 * d / (w + d) / a : 0
			split(wake, wp, " ")
			wj = wake == "" ? "null" : sprintf("{\"p50\":%s,\"p99\":%s,\"p999\":%s,\"max\":%s}", wp[1], wp[2], wp[3], wp[4])
			sub(/^\{/, "")
			lus = a > 0 ? lc / 1000 * d / (w + d) / a : 0
			printf "{\"bench\":\"policy\",\"mode\":\"%s\",\"server\":\"%s\",\"loadavg\":%s,\"steal_share\":%.4f,\"wake_probe_us\":%s,\"server_cpu_ms\":%.1f,\"server_cpu_us_per_query\":%.2f,\"client_cpu_ms\":%.1f,\"client_cpu_us_per_query\":%.2f,%s\n", m, s, la, (tt > 0 ? st / tt : 0), wj, c / 1e6, us, lc / 1e6, lus, $0 }' >>"$WORK/runs"
	done
done

# Table, then the JSON lines.
printf '\npolicy service: %s connections, %s mode (%ss per run after %ss warm-up); latency in us (send -> answer)\n' \
	"$CONNS" "$MODE" "$MEAS" "$WARM"
printf '%-13s %7s %8s %8s %8s %8s %9s %8s %8s %6s %10s %s\n' server offered qps p50 p99 p99.9 sched_p99 \
	srv_us/q cli_us/q steal% x_postgrey answers
awk '
function num(s, k,   r) { if (match(s, "\"" k "\":[-0-9.]+")) { r = substr(s, RSTART + length(k) + 3, RLENGTH - length(k) - 3); return r + 0 } return 0 }
function obj(s, k) { if (match(s, "\"" k "\":\\{[^}]*\\}")) return substr(s, RSTART, RLENGTH); return "" }
{
	n++
	match($0, /"server":"[^"]*"/); sv[n] = substr($0, RSTART + 10, RLENGTH - 11)
	off[n] = num($0, "offered_qps"); q[n] = num($0, "qps"); stl[n] = num($0, "steal_share")
	lat = obj($0, "latency_us"); p50[n] = num(lat, "p50"); p99[n] = num(lat, "p99"); p999[n] = num(lat, "p999")
	sp99[n] = num(obj($0, "sched_latency_us"), "p99")
	cpu[n] = num($0, "server_cpu_us_per_query"); ccpu[n] = num($0, "client_cpu_us_per_query")
	k = obj($0, "answers_by_kind")
	ans[n] = "dunno " num(k, "dunno") " defer " num(k, "defer") " other " num(k, "prepend") + num(k, "other")
	e = obj($0, "errors"); er = num(e, "timeouts") + num(e, "closed") + num(e, "connect")
	if (er > 0) ans[n] = ans[n] " ERRORS " er
	if (sv[n] == "postgrey") pg[off[n]] = q[n]
}
END {
	for (i = 1; i <= n; i++) {
		x = (sv[i] != "postgrey" && pg[off[i]] > 0) ? sprintf("%9.1fx", q[i] / pg[off[i]]) : "         -"
		printf "%-13s %7s %8.0f %8.1f %8.1f %8.1f %9.1f %8.2f %8.2f %6.2f %s %s\n", sv[i], (off[i] > 0 ? off[i] : "max"), q[i], p50[i], p99[i], p999[i], sp99[i], cpu[i], ccpu[i], 100 * stl[i], x, ans[i]
	}
}' "$WORK/runs"
while read -r line; do
	echo "MXT_BENCH $line"
	if [ -n "$OUT" ]; then echo "$line" >>"$OUT"; fi
done <"$WORK/runs"
echo "policy.sh: done in $(($(date +%s) - START)) s"
