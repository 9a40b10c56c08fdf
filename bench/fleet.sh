#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# fleet.sh - what the fleet (docs/fleet.md) costs: bench/fleet_tick at
# 100k and 1M sources over 3 nodes (tick and exchange time, Redis round
# trips per tick, Redis bytes per source), then the Postfix policy
# service's q/s and p99 with the fleet off and on (bench/policy.sh, the
# same daemon with and without fleet_redis).  Not part of bench/run.sh (it
# takes minutes); run it by hand:
#   bash bench/fleet.sh [--sources 100000,1000000] [--shards N] [--rates "1000 0"]
# A private redis-server per shard on a unix socket in a temporary
# directory (never the system service), stopped at exit.  Root (policy.sh).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
export BUILD
SOURCES=100000,1000000
SHARDS=1
RATES="1000 0"
while [ $# -gt 0 ]; do
	case $1 in
	--sources) SOURCES=$2; shift ;;
	--shards) SHARDS=$2; shift ;;
	--rates) RATES=$2; shift ;;
	*) echo "usage: fleet.sh [--sources N,N] [--shards N] [--rates \"Q ...\"]" >&2; exit 2 ;;
	esac
	shift
done
for t in redis-server redis-cli "$BUILD/bench/fleet_tick" "$BUILD/mxthrottled"; do
	command -v "$t" >/dev/null || { echo "fleet.sh: $t missing (make; scripts/setup.sh)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/mxt-fleet-bench.XXXXXX)
chmod 0755 "$WORK"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

EPS=()
for ((i = 1; i <= SHARDS; i++)); do
	mkdir -p "$WORK/r$i"
	redis-server --port 0 --unixsocket "$WORK/r$i/redis.sock" --unixsocketperm 777 --save "" \
		--appendonly no --dir "$WORK/r$i" --daemonize no --logfile "$WORK/r$i/log" &
	PIDS+=("$!")
	for _ in $(seq 50); do redis-cli -s "$WORK/r$i/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
	EPS+=(-r "unix:$WORK/r$i/redis.sock")
done

echo "== fleet_tick: 3 nodes, $SHARDS shard(s), sources $SOURCES"
timeout -k 5 1800 "$BUILD/bench/fleet_tick" "${EPS[@]}" -n "$SOURCES" --json | tee "$WORK/tick.out" |
	sed -n 's/^MXT_BENCH //p'
for ((i = 1; i <= SHARDS; i++)); do redis-cli -s "$WORK/r$i/redis.sock" flushall >/dev/null; done

extra=""
for ((i = 1; i <= SHARDS; i++)); do extra+="fleet_redis = unix:$WORK/r$i/redis.sock"$'\n'; done
extra+="fleet_name = benchpolicy"$'\n'"node_name = b1"
# Off and on alternate, twice each: the shared machine's load drifts.
for round in 1 2; do
	for f in off on; do
		echo "== policy service, fleet $f (round $round)"
		if [ "$f" = on ]; then
			MXT_BENCH_EXTRA_CONF=$extra bash "$ROOT/bench/policy.sh" --quick --servers mxthrottled \
				--rates "$RATES" --out "$WORK/$f.$round.jsonl" | grep -E "^mxthrottled" || true
		else
			bash "$ROOT/bench/policy.sh" --quick --servers mxthrottled --rates "$RATES" \
				--out "$WORK/$f.$round.jsonl" | grep -E "^mxthrottled" || true
		fi
	done
done
echo "== summary: fleet off vs on"
for round in 1 2; do
	for f in off on; do
		jq -r --arg f "$f" --arg r "$round" \
			'"round \($r) \($f) offered=\(.offered_qps) qps=\(.qps|floor) p99_us=\(.latency_us.p99) srv_us_per_q=\(.server_cpu_us_per_query)"' \
			"$WORK/$f.$round.jsonl"
	done
done
