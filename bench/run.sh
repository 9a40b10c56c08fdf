#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# run.sh - `make bench`: every benchmark of mxthrottle, one combined table,
# and BENCHMARKS.md.
#
#   bash bench/run.sh [--quick | --full] [--write] [--parts "xdp flood model policy profile"]
#   bash bench/run.sh --report-only [--write]   (render the last run again)
#   BUILD=DIR selects the build directory (default ./build; `make bench`
#   passes an absolute one and builds everything first; run by hand, this
#   script runs `make BUILD=DIR all` and the bench binaries itself).
#
# Parts, in this order (each reports the load average at its start):
#   xdp      in-kernel cost per frame, BPF_PROG_TEST_RUN (build/bench/
#            xdp_cost --json): hot SYN with and without policy, SYN from a
#            new source (miss and insert), allowlisted SYN, non-SYN,
#            over-limit SYN, spoofed-flood SYN, next to XDP_DROP-only and
#            XDP_PASS-only programs loaded in the same run, with mxt_sources
#            holding 1k, 100k and 1M entries.  Full: median of 3 x 1e7
#            repeats; quick: 3 x 1e6.  Reference: xdp_drop of the same fill.
#   flood    SYN flood on veth between namespaces (bench/flood.sh): bare
#            XDP_DROP floor, mxthrottle native and generic, nft netdev
#            ingress and prerouting meters, iptables hashlimit (nft and
#            legacy backends), no filter; shapes: 4096 sources over their
#            limit, and spoofed random sources with 8 established senders
#            whose state must survive.  Reference: the adjacent floor runs.
#   model    controller: the model alone (build/bench/model_tick) and the
#            controller's whole tick on real maps (build/bench/ctl_tick:
#            dump of mxt_sources, deltas, model, policy writes), one
#            process per N: tick CPU time and resident memory at 10k, 100k,
#            1M tracked sources; LMDB checkpoint of 1M sources.  Reference:
#            the 10k run, per source.
#   policy   Postfix policy service (bench/policy.sh): mxthrottled against
#            postgrey, fixed offered loads (1k, 10k q/s) and max, 32
#            persistent connections, the same client.  Reference: postgrey.
#   profile  full mode only (or when named in --parts): where the XDP
#            program's time goes in a flood.  kernel.bpf_stats_enabled=1
#            (restored afterwards) while bench/flood.sh --quick runs
#            mxt-native alone with its floors, once per shape;
#            `bpftool prog show` run_time_ns / run_cnt of the programs it
#            loads (polled, ids newer than the start), and, when perf is
#            installed, `perf record -e cpu-clock` on the flood's CPU,
#            attributed per packet to the symbols only mxthrottle's run
#            executes (its JIT image, the map lookups it calls).  bpf_stats
#            adds its own clock reads to every program run, so these
#            figures are not mixed with the flood part's.
#
# Output: the combined table on stdout; every part's raw output and one
# MXT_BENCH-style JSON line per measurement (bench.jsonl) in
# $BUILD/bench-results/; BENCHMARKS.md written to $BUILD/BENCHMARKS.md, or
# with --write to BENCHMARKS.md at the top of the tree.  BENCHMARKS.md is
# the generated report followed by whatever the tree's BENCHMARKS.md holds
# below the line "<!-- end of generated results -->" (notes written by
# hand, e.g. the analysis of missed targets), kept as it is.
# Bounds: quick < 2 minutes, full < 10 minutes on 2 CPUs (every part is
# bounded by its own timeout as well).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
MODE=full
WRITE=0
PARTS=""
REPORT_ONLY=0
ARGS_TEXT=""
[ $# -gt 0 ] && ARGS_TEXT=$(printf '%q ' "$@") && ARGS_TEXT=${ARGS_TEXT% }

# Print the synopsis (lines 4-10 of this header).
usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) MODE=quick ;;
	--full) MODE=full ;;
	--write) WRITE=1 ;;
	--parts) PARTS=$2; shift ;;
	--report-only) REPORT_ONLY=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$PARTS" ]; then
	[ "$MODE" = full ] && PARTS="xdp flood model policy profile" || PARTS="xdp flood model policy"
fi
for p in $PARTS; do
	case $p in xdp|flood|model|policy|profile) ;;
	*) echo "run.sh: --parts: xdp flood model policy profile" >&2; exit 2 ;;
	esac
done
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: needs root (BPF, namespaces, netfilter)" >&2
	exit 1
fi
for t in jq awk bpftool timeout; do
	command -v "$t" >/dev/null || { echo "run.sh: $t not installed (scripts/setup.sh)" >&2; exit 1; }
done
# Run by hand (not from `make bench`, which has just built everything):
# bring the build directory up to date, benches included, so that the
# binaries measured are those of the tree as it is.
if [ -z "${MAKELEVEL:-}" ] && [ "$REPORT_ONLY" = 0 ]; then
	mkdir -p "$BUILD"
	BUILD=$(cd "$BUILD" && pwd)
	benches=$(cd "$ROOT" && for c in bench/*.c; do case $c in *.bpf.c) continue ;; esac; printf '%s ' "$BUILD/${c%.c}"; done)
	# shellcheck disable=SC2086
	if ! make -s -C "$ROOT" BUILD="$BUILD" all $benches >"$BUILD/bench-make.log" 2>&1; then
		tail -20 "$BUILD/bench-make.log" >&2
		echo "run.sh: make BUILD=$BUILD all failed (log: $BUILD/bench-make.log)" >&2
		exit 1
	fi
fi
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "run.sh: no build directory: make first" >&2; exit 1; }
for f in bench/xdp_cost bench/model_tick mxthrottled mxthrottle mxt-policy-load mxt-synflood; do
	if [ ! -x "$BUILD/$f" ]; then
		echo "run.sh: $BUILD/$f missing: run 'make bench' (or make BUILD=$BUILD all $BUILD/bench/xdp_cost $BUILD/bench/model_tick)" >&2
		exit 1
	fi
done

RES=$BUILD/bench-results
JSONL=$RES/bench.jsonl
if [ "$REPORT_ONLY" = 0 ]; then
	rm -rf "$RES"
	mkdir -p "$RES"
	: >"$JSONL"
	: >"$RES/parts.tsv"
elif [ ! -s "$RES/meta" ]; then
	echo "run.sh: --report-only: no results in $RES" >&2
	exit 1
fi
T_START=$(date +%s)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
KERNEL=$(uname -r)
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NCPU=$(nproc)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- bpf maps user tools bench 2>/dev/null)" ]; then
	COMMIT="$COMMIT + uncommitted changes"
fi
CMD="BUILD=$BUILD bash bench/run.sh${ARGS_TEXT:+ $ARGS_TEXT}"
if [ -n "${MAKELEVEL:-}" ]; then
	CMD="make bench${ARGS_TEXT:+ BENCH_ARGS=\"$ARGS_TEXT\"} (BUILD=$BUILD)"
fi
BPF_STATS_PREV=""
PERF_PID=""

# Put kernel.bpf_stats_enabled back and stop perf if a profile was cut short.
cleanup() {
	set +e
	[ -n "$PERF_PID" ] && kill -INT "$PERF_PID" 2>/dev/null && wait "$PERF_PID" 2>/dev/null
	[ -n "$BPF_STATS_PREV" ] && sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_PREV"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A progress line on stderr.
log() { echo "run.sh: $*" >&2; }

# Start of a part: log it with the load average; part_end records it.
P_T0=0
P_LA=""
part_begin() {
	P_T0=$(date +%s)
	P_LA=$(cut -d' ' -f1-3 /proc/loadavg)
	log "part $1 ($MODE): load average $P_LA"
}
part_end() {
	local name=$1 status=$2
	printf '%s\t%s\t%s\t%s\n' "$name" "$P_LA" "$(($(date +%s) - P_T0))" "$status" >>"$RES/parts.tsv"
	log "part $name: $status in $(($(date +%s) - P_T0)) s"
}

# ------------------------------------------------------------------ parts

run_xdp() {
	local args=() rc=0
	[ "$MODE" = quick ] && args=(-q)
	part_begin xdp
	timeout -k 5 300 "$BUILD/bench/xdp_cost" "${args[@]}" --json >"$RES/xdp_cost.json" \
		2>"$RES/xdp_cost.err" || rc=$?
	if jq -e .results "$RES/xdp_cost.json" >/dev/null 2>&1; then
		jq -c --arg m "$MODE" '. as $o | .results[] | {bench: "xdp_cost", mode: $m,
			repeat: $o.repeat, single_frames: $o.single_frames, cpu: $o.cpu, prog: $o.prog} + .' \
			"$RES/xdp_cost.json" >>"$JSONL"
		part_end xdp "$([ $rc = 0 ] && echo ok || echo "exit $rc (a scenario missed its reason)")"
	else
		part_end xdp "failed (exit $rc): $(tail -1 "$RES/xdp_cost.err")"
	fi
}

run_flood() {
	local rc=0
	part_begin flood
	bash "$ROOT/bench/flood.sh" "--$MODE" --out "$RES/flood.jsonl" >"$RES/flood.out" \
		2>"$RES/flood.err" || rc=$?
	if [ -s "$RES/flood.jsonl" ]; then
		cat "$RES/flood.jsonl" >>"$JSONL"
		part_end flood "$([ $rc = 0 ] && echo ok || echo "exit $rc")"
	else
		part_end flood "failed (exit $rc): $(tail -1 "$RES/flood.err")"
	fi
}

# "BENCH name k=v ..." lines of model_tick to JSON lines.
bench_kv_json() {
	awk -v m="$MODE" '$1 == "BENCH" {
		printf "{\"bench\":\"%s\",\"mode\":\"%s\"", $2, m
		for (i = 3; i <= NF; i++) { split($i, kv, "="); printf ",\"%s\":%s", kv[1], kv[2] }
		print "}" }'
}

run_model() {
	local n rc=0 ck
	part_begin model
	ck=$(mktemp -d /tmp/mxt-model-ckpt.XXXXXX)
	: >"$RES/model_tick.out"
	for n in 10000 100000 1000000; do
		if [ "$n" = 1000000 ]; then
			timeout -k 5 120 "$BUILD/bench/model_tick" --checkpoint "$ck" "$n" \
				>>"$RES/model_tick.out" 2>&1 || rc=$?
		else
			timeout -k 5 60 "$BUILD/bench/model_tick" "$n" >>"$RES/model_tick.out" 2>&1 || rc=$?
		fi
	done
	echo "checkpoint directory: $ck ($(df -T "$ck" | awk 'NR == 2 { print $2 }'))" >>"$RES/model_tick.out"
	rm -rf "$ck"
	bench_kv_json <"$RES/model_tick.out" >>"$JSONL"
	# The whole controller tick, where the tree has bench/ctl_tick.
	if [ -x "$BUILD/bench/ctl_tick" ]; then
		: >"$RES/ctl_tick.out"
		for n in 10000 100000 1000000; do
			timeout -k 5 120 "$BUILD/bench/ctl_tick" -n "$n" --json >>"$RES/ctl_tick.out" 2>&1 || rc=$?
		done
		sed -n 's/^MXT_BENCH //p' "$RES/ctl_tick.out" |
			jq -c --arg m "$MODE" '{bench: "ctl_tick", mode: $m} + del(.part)' >>"$JSONL" || rc=1
	fi
	part_end model "$([ $rc = 0 ] && echo ok || echo "exit $rc")"
}

run_policy() {
	local rc=0
	part_begin policy
	bash "$ROOT/bench/policy.sh" "--$MODE" --out "$RES/policy.jsonl" >"$RES/policy.out" \
		2>"$RES/policy.err" || rc=$?
	if [ -s "$RES/policy.jsonl" ]; then
		cat "$RES/policy.jsonl" >>"$JSONL"
		part_end policy "$([ $rc = 0 ] && echo ok || echo "exit $rc")"
	else
		part_end policy "failed (exit $rc): $(tail -1 "$RES/policy.err")"
	fi
}

# Latest run_time_ns/run_cnt of XDP programs with id > $1, appended as
# "id name run_time_ns run_cnt" lines to file $2 (the last line per id wins).
prog_stats_poll() {
	bpftool -j prog show 2>/dev/null | jq -r --argjson min "$1" \
		'.[] | select(.id > $min and .type == "xdp" and (.run_cnt // 0) > 0) |
		"\(.id) \(.name) \(.run_time_ns) \(.run_cnt)"' >>"$2" 2>/dev/null || true
}

run_profile() {
	local shape maxid fpid perfok=0 rc=0 pk
	part_begin profile
	command -v perf >/dev/null && perfok=1
	for shape in sources spoof; do
		# Pass 1: bpf_stats on, the programs' run_time_ns / run_cnt.
		BPF_STATS_PREV=$(sysctl -n kernel.bpf_stats_enabled)
		sysctl -qw kernel.bpf_stats_enabled=1
		maxid=$(bpftool -j prog show 2>/dev/null | jq '[.[].id] | max // 0')
		: >"$RES/profile-$shape.progs"
		bash "$ROOT/bench/flood.sh" --quick --cpu 1 --shapes "$shape" --methods mxt-native \
			--out "$RES/profile-$shape-stats.jsonl" >"$RES/profile-$shape-stats.out" 2>&1 &
		fpid=$!
		while kill -0 "$fpid" 2>/dev/null; do
			prog_stats_poll "$maxid" "$RES/profile-$shape.progs"
			sleep 0.2
		done
		wait "$fpid" || rc=$?
		sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_PREV"
		BPF_STATS_PREV=""
		# Per program id, the last poll; then per name: sum over the
		# instances that ran a flood (run_cnt > 100000).
		awk '{ rt[$1] = $3; rc[$1] = $4; nm[$1] = $2 }
			END { for (i in rc) if (rc[i] > 100000) { T[nm[i]] += rt[i]; C[nm[i]] += rc[i] }
			      for (n in C) print n, T[n], C[n] }' "$RES/profile-$shape.progs" |
		while read -r name rt cnt; do
			printf '{"bench":"profile","mode":"%s","shape":"%s","prog":"%s","run_time_ns":%s,"run_cnt":%s,"ns_per_run":%.1f}\n' \
				"$MODE" "$shape" "$name" "$rt" "$cnt" "$(awk -v a="$rt" -v b="$cnt" 'BEGIN { print a / b }')"
		done >>"$JSONL"
		jq -c '{bench: "profile_flood", pass: "bpf_stats", shape, method, drop_pps, rx_pps, x_floor, checks}' \
			"$RES/profile-$shape-stats.jsonl" 2>/dev/null >>"$JSONL" || true

		# Pass 2: bpf_stats off, perf on the flood's CPU.
		[ "$perfok" = 1 ] || continue
		perf record -q -e cpu-clock -c 100000 -C 1 -o "$RES/profile-$shape.perf" \
			>/dev/null 2>"$RES/profile-$shape.perf.err" &
		PERF_PID=$!
		bash "$ROOT/bench/flood.sh" --quick --cpu 1 --shapes "$shape" --methods mxt-native \
			--out "$RES/profile-$shape-perf.jsonl" >"$RES/profile-$shape-perf.out" 2>&1 || rc=$?
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
		PERF_PID=""
		jq -c '{bench: "profile_flood", pass: "perf", shape, method, drop_pps, rx_pps, x_floor, checks}' \
			"$RES/profile-$shape-perf.jsonl" 2>/dev/null >>"$JSONL" || true
		# "SAMPLES SYMBOL" of kernel symbols ([k]).
		perf report -i "$RES/profile-$shape.perf" --stdio -n --sort sym 2>/dev/null |
			awk '$1 ~ /%$/ && $2 ~ /^[0-9]+$/ && $3 == "[k]" { print $2, $4 }' \
			>"$RES/profile-$shape.syms" || true
		# Packets mxt_xdp ran on: the measured flood's rx plus the
		# warm-up (flood.sh --quick: sources 4096 x 15 SYNs; spoof 0.3 s,
		# taken at the measured rate: 0.3 x rx).
		pk=$(jq -r 'select(.method == "mxt-native") | .rx' "$RES/profile-$shape-perf.jsonl" 2>/dev/null | head -1)
		[ -n "$pk" ] && [ -s "$RES/profile-$shape.syms" ] || continue
		if [ "$shape" = sources ]; then pk=$((pk + 61440)); else pk=$((pk * 13 / 10)); fi
		# The symbols of the program's own work: its JIT image, the map
		# lookups and helpers it calls (kernel functions nothing else in
		# these runs calls per packet); JIT addresses perf could not name
		# (a program loaded and replaced while it recorded) are summed
		# apart, whichever program they belong to.
		awk -v c="$pk" -v s="$shape" -v m="$MODE" '
			function out(sym, n) { printf "{\"bench\":\"profile_sym\",\"mode\":\"%s\",\"shape\":\"%s\",\"symbol\":\"%s\",\"samples\":%d,\"ns_per_packet\":%.1f,\"mxt_packets\":%s}\n", m, s, sym, n, n * 100000 / c, c }
			$2 ~ /^bpf_prog_[0-9a-f]+_(mxt_xdp|xdp_drop)$|^(trie_lookup_elem|htab_map_hash|__htab_map_lookup_elem|htab_lru_map_lookup_elem|lookup_nulls_elem_raw|lookup_elem_raw|htab_lru_map_update_elem|bpf_lru_pop_free|bpf_ktime_get_coarse_ns|ktime_get_coarse_ts64|memcmp|jhash)$/ {
				sym = $2; sub(/^bpf_prog_[0-9a-f]+_/, "bpf_prog_", sym); out(sym, $1) }
			$2 ~ /^0xffffffffc0/ { jit += $1 }
			END { if (jit) out("(JIT code perf could not name)", jit) }' \
			"$RES/profile-$shape.syms" >>"$JSONL"
	done
	part_end profile "$([ $rc = 0 ] && echo ok || echo "exit $rc")$([ $perfok = 1 ] || echo ', perf not installed')"
}

if [ "$REPORT_ONLY" = 0 ]; then
	log "mode $MODE, parts: $PARTS; build $BUILD; results in $RES"
	for p in xdp flood model policy profile; do
		if has_part "$p"; then "run_$p"; fi
	done
	T_TOTAL=$(($(date +%s) - T_START))
	declare -p MODE PARTS DATE KERNEL CPU_MODEL NCPU COMMIT CMD T_TOTAL >"$RES/meta"
else
	W0=$WRITE
	# shellcheck disable=SC1091
	source "$RES/meta"
	WRITE=$W0
fi

# ------------------------------------------------------------------ report
# Each table is TSV (first row: header) from jq, rendered as text or as
# markdown by the same two functions.

# Render TSV on stdin as a fixed-width text table.
render_text() {
	awk -F'\t' '{ n++; for (i = 1; i <= NF; i++) { c[n, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		if (NF > nf) nf = NF }
	END { for (r = 1; r <= n; r++) { s = ""
		for (i = 1; i <= nf; i++) s = s sprintf(i == 1 ? "%-*s" : "  %-*s", w[i], c[r, i])
		sub(/ +$/, "", s); print s } }'
}

# Render TSV on stdin as a markdown table.
render_md() {
	awk -F'\t' 'NR == 1 { s = "|"; t = "|"; for (i = 1; i <= NF; i++) { s = s " " $i " |"; t = t (i == 1 ? " --- |" : " ---: |") }
		print s; print t; next }
		{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }'
}

J() { jq -r -s "$@" "$JSONL"; }

# Section data, one function each (TSV on stdout).

tbl_xdp() {
	J '
	def fills: [1000, 100000, 1000000];
	def r($s; $f): map(select(.bench == "xdp_cost" and .scenario == $s and .entries == $f)) | .[0];
	def cell($s; $ref; $f): (r($s; $f)) as $x | (r($ref; $f)) as $d |
		if $x == null then "n/a"
		else "\(($x.ns / $d.ns * 100 | round) / 100)x (\($x.ns) ns\(if $s != $ref then ", \(if $x.ns >= $d.ns then "+" else "" end)\($x.ns - $d.ns)" else "" end))\(if $x.reason_ok then "" else " !" end)" end;
	. as $all |
	(["scenario (reason)", "1k entries", "100k entries", "1M entries"],
	(["xdp_drop", "xdp_drop"], ["xdp_pass", "xdp_drop"], ["hot_syn_policy", "xdp_drop"],
	 ["hot_syn_no_policy", "xdp_drop"], ["allowlisted_syn", "xdp_drop"], ["non_syn_ack", "xdp_drop"],
	 ["over_limit_syn", "xdp_drop"], ["flood_new_source", "xdp_drop"],
	 ["miss_insert_r1", "xdp_drop_r1"], ["xdp_drop_r1", "xdp_drop_r1"]) as [$s, $ref] |
	[ "\($s)\(($all | r($s; 1000) // r($s; 100000) // r($s; 1000000) // {}) | if (.reason // "") != "" then " (\(.reason))" else "" end)" ] +
	[ fills[] as $f | $all | cell($s; $ref; $f) ]) | @tsv'
}

tbl_flood() {
	J --arg shape "$1" '
	map(select(.bench == "flood" and .shape == $shape and .method != "floor")) |
	(["method", "drop x floor", "drop Mpps", "floor Mpps", "rx x floor", "rx Mpps", "dropped %", "established P,S", "checks"]),
	(.[] | [.method, "\(.x_floor * 1000 | round / 1000)x", (.drop_pps / 1e4 | round / 100), (.floor_drop_pps / 1e4 | round / 100),
		"\(.rx_x_floor * 1000 | round / 1000)x", (.rx_pps / 1e4 | round / 100),
		(if .rx > 0 then (.drop / .rx * 1000 | round / 10) else 0 end), .established_present, .checks]) | @tsv'
}

tbl_model() {
	J '
	def m($n): map(select(.bench == "model_tick" and .n == $n)) | .[0];
	def ck: map(select(.bench == "model_checkpoint")) | .[0];
	def fmt($v): if $v == null then "n/a" else ($v * 1000 | round / 1000 | tostring) end;
	def row($lbl; $k; $unit):
		(m(10000)) as $a | (m(100000)) as $b | (m(1000000)) as $c |
		[$lbl,
		 "\(fmt($a[$k])) \($unit)",
		 "\(fmt($b[$k])) \($unit)\(if $a[$k] > 0 and $b[$k] != null then " (\(($b[$k] / 10 / $a[$k]) * 100 | round / 100)x/src)" else "" end)",
		 "\(fmt($c[$k])) \($unit)\(if $a[$k] > 0 and $c[$k] != null then " (\(($c[$k] / 100 / $a[$k]) * 100 | round / 100)x/src)" else "" end)",
		 (if $c[$k] != null and ($unit == "ms") then "\($c[$k] * 100 | round / 100) ns" else "-" end)];
	. as $all |
	["figure (CPU time)", "10k sources", "100k (per source vs 10k)", "1M (per source vs 10k)", "1M, per source"],
	($all | row("tick, nothing due"; "tick_idle_ms"; "ms")),
	($all | row("tick, all due (resync)"; "tick_all_due_ms"; "ms")),
	($all | row("tick, probation day end"; "tick_day_end_ms"; "ms")),
	($all | row("SYN observations, batch (all sources)"; "syn_batch_ms"; "ms")),
	($all | row("decide pass (all sources)"; "decide_pass_ms"; "ms")),
	($all | map(select(.bench == "ctl_tick")) | if length == 0 then empty else
		(map({key: (.sources | tostring), value: .}) | from_entries) as $c |
		(["first_tick_max_ms", "controller tick (largest of a sweep), every source new"],
		 ["tenth_tick_max_ms", "controller tick (largest of a sweep), 10% of sources sent SYNs"],
		 ["idle_tick_max_ms", "controller tick (largest of a sweep), no source sent SYNs"],
		 ["first_ms", "controller sweep over all sources, every source new"],
		 ["tenth_ms", "controller sweep over all sources, 10% sent SYNs"],
		 ["idle_ms", "controller sweep over all sources, none sent SYNs"]) as [$k, $lbl] |
		[$lbl, "\($c["10000"][$k] // "n/a") ms",
		 "\($c["100000"][$k] // "n/a") ms\(if ($c["10000"][$k] // 0) > 0 and $c["100000"][$k] != null then " (\(($c["100000"][$k] / 10 / $c["10000"][$k]) * 100 | round / 100)x/src)" else "" end)",
		 "\($c["1000000"][$k] // "n/a") ms\(if ($c["10000"][$k] // 0) > 0 and $c["1000000"][$k] != null then " (\(($c["1000000"][$k] / 100 / $c["10000"][$k]) * 100 | round / 100)x/src)" else "" end)",
		 (if $c["1000000"][$k] != null then "\($c["1000000"][$k] * 100 | round / 100) ns" else "-" end)] end),
	($all | (m(10000)) as $a | (m(100000)) as $b | (m(1000000)) as $c |
		["resident bytes per source (VmRSS)", "\($a.rss_bytes_per_source // "n/a") B", "\($b.rss_bytes_per_source // "n/a") B", "\($c.rss_bytes_per_source // "n/a") B", "-"],
		["model arrays per source (accounting)", "\($a.bytes_per_source // "n/a") B", "\($b.bytes_per_source // "n/a") B", "\($c.bytes_per_source // "n/a") B", "-"]),
	($all | map(select(.bench == "ctl_tick")) | if length == 0 then empty else
		(map({key: (.sources | tostring), value: .}) | from_entries) as $c |
		["controller resident bytes per source (VmRSS)", "\($c["10000"].rss_per_source // "n/a") B", "\($c["100000"].rss_per_source // "n/a") B", "\($c["1000000"].rss_per_source // "n/a") B", "-"] end),
	($all | ck as $k | if $k == null then empty else
		["checkpoint, full (wall)", "-", "-", "\($k.full_ms) ms (\($k.full_records) records)", "\(($k.full_ms * 1e6 / $k.full_records) | round) ns"],
		["checkpoint, dirty 10% (wall)", "-", "-", "\($k.dirty_ms) ms (\($k.dirty_records) records)", "-"],
		["history load at start-up (wall)", "-", "-", "\($k.load_ms) ms (\($k.load_records) records)", "-"] end) | @tsv'
}

tbl_policy() {
	J '
	def ratio($v; $ref): if ($ref // 0) > 0 then "\(($v / $ref) * 100 | round / 100)x" else "-" end;
	map(select(.bench == "policy")) as $p |
	($p | map(select(.server == "postgrey")) | map({key: (.offered_qps | tostring), value: .}) | from_entries) as $pg |
	(["server", "offered q/s", "q/s x postgrey (q/s)", "p50 x postgrey (us)", "p99 x postgrey (us)", "p99.9 us", "sched p99 us", "server CPU us/q", "client CPU us/q", "steal %", "answers (dunno/defer)"],
	($p[] | ($pg[.offered_qps | tostring]) as $r |
		[.server, (if .offered_qps > 0 then (.offered_qps | floor | tostring) else "max" end),
		"\(ratio(.qps; $r.qps)) (\(.qps | round))",
		"\(ratio(.latency_us.p50; $r.latency_us.p50)) (\(.latency_us.p50))",
		"\(ratio(.latency_us.p99; $r.latency_us.p99)) (\(.latency_us.p99))",
		.latency_us.p999, .sched_latency_us.p99,
		.server_cpu_us_per_query, (.client_cpu_us_per_query // "n/a"), (.steal_share * 1000 | round / 10),
		"\(.answers_by_kind.dunno)/\(.answers_by_kind.defer)\(if (.errors.timeouts + .errors.closed + .errors.connect) > 0 then " ERR" else "" end)"])) | @tsv'
}

tbl_profile() {
	J '
	map(select(.bench == "profile")) as $p | map(select(.bench == "profile_flood")) as $f |
	["shape", "program", "ns per run (bpf_stats)", "ns above xdp_drop", "runs", "flood Mpps (stats on)"],
	($p | group_by(.shape)[] | (map(select(.prog == "xdp_drop")) | .[0].ns_per_run) as $d |
		.[] | [.shape, .prog, .ns_per_run, (if $d > 0 then "\(if .ns_per_run >= $d then "+" else "" end)\((.ns_per_run - $d) * 10 | round / 10)" else "-" end), .run_cnt,
		(.shape as $s | .prog as $pr | [$f[] | select(.pass == "bpf_stats" and .shape == $s and .method == (if $pr == "mxt_xdp" then "mxt-native" else "floor" end)) | .drop_pps / 1e6 * 100 | round / 100] | map(tostring) | join(", "))]) | @tsv'
}

tbl_syms() {
	J '
	map(select(.bench == "profile_sym")) | group_by(.shape)[] | sort_by(-.ns_per_packet) | .[:10][] |
	[.shape, .symbol, .ns_per_packet, .samples] | @tsv' | { printf 'shape\tsymbol (cpu-clock samples on the flood CPU)\tns per mxt_xdp packet\tsamples\n'; cat; }
}

tbl_parts() {
	printf 'part\tload average at start (1, 5, 15 min)\tseconds\tstatus\n'
	cat "$RES/parts.tsv"
}

# Targets: label, figure, met/missed (TSV).
tbl_targets() {
	J '
	def yes($c): if $c == null then "not run" elif $c then "met" else "MISSED" end;
	def r3: . * 1000 | round / 1000;
	((map(select(.bench == "xdp_cost")) as $x |
	 if ($x | length) == 0 then ["counted SYN on a hot source <= XDP_DROP-only + 20 ns", "not run", "not run"] else
	 ([$x[] | select(.scenario == "hot_syn_policy" or .scenario == "hot_syn_no_policy") | . as $h |
	   ($x | map(select(.entries == $h.entries and .scenario == "xdp_drop")) | .[0].ns) as $d |
	   {e: .entries, s: .scenario, ns: .ns, d: (.ns - $d), r: (.ns / $d)}] | max_by(.d)) as $w |
	 ["counted SYN on a hot source <= XDP_DROP-only + 20 ns (worst of both hot scenarios, 3 fills)",
	  "+\($w.d) ns: \($w.ns) ns = \($w.r * 100 | round / 100)x xdp_drop (\($w.s), \($w.e) entries)", yes($w.d <= 20)] end),
	(map(select(.bench == "flood" and .shape == "sources")) as $fl |
	 ($fl | map(select(.method == "mxt-native")) | .[0]) as $n |
	 ($fl | map(select(.method | test("^(nft|ipt)-"))) | max_by(.x_floor)) as $nf |
	 ["4096-source flood, native >= 0.75x the XDP_DROP floor",
	  (if $n == null then "not run" else "\($n.x_floor | r3)x (\($n.drop_pps / 1e4 | round / 100) of \($n.floor_drop_pps / 1e4 | round / 100) Mpps)\(if $n.checks != "ok" then "; checks: \($n.checks)" else "" end)" end),
	  yes(if $n == null then null else $n.x_floor >= 0.75 end)],
	 ["4096-source flood, native >= 3.5x the best netfilter method",
	  (if $n == null or $nf == null then "not run" else "\(($n.x_floor / $nf.x_floor) * 100 | round / 100)x \($nf.method) (x_floor \($n.x_floor | r3) / \($nf.x_floor | r3); raw Mpps \($n.drop_pps / 1e4 | round / 100) / \($nf.drop_pps / 1e4 | round / 100))\(if $nf.checks != "ok" then "; \($nf.method) checks: \($nf.checks)" else "" end)" end),
	  yes(if $n == null or $nf == null then null else $n.x_floor / $nf.x_floor >= 3.5 end)]),
	(map(select(.bench == "flood" and .shape == "spoof" and .method == "mxt-native")) | .[0] as $s |
	 ["spoofed flood, native >= 0.6x the floor (issue 12)",
	  (if $s == null then "not run" else "\($s.x_floor | r3)x (\($s.drop_pps / 1e4 | round / 100) of \($s.floor_drop_pps / 1e4 | round / 100) Mpps)\(if $s.checks != "ok" then "; checks: \($s.checks)" else "" end)" end),
	  yes(if $s == null then null else $s.x_floor >= 0.6 end)],
	 ["spoofed flood, no established source evicted (policy, state entries)",
	  (if $s == null then "not run" else "\($s.established_present) present" end),
	  yes(if $s == null then null else $s.established_present == "8/8,8/8" end)]),
	(map(select(.bench == "model_tick" and .n == 1000000)) | .[0]) as $m |
	(map(select(.bench == "ctl_tick" and .sources == 1000000)) | .[0]) as $c |
	(if $c == null then empty else
	 ([$c.first_tick_max_ms, $c.tenth_tick_max_ms, $c.idle_tick_max_ms] | max) as $t |
	 ["controller tick over 1M sources <= 250 ms CPU: whole tick (bench/ctl_tick, largest tick)",
	  "\($t) ms (all new \($c.first_tick_max_ms), 10% active \($c.tenth_tick_max_ms), none active \($c.idle_tick_max_ms); a sweep of \($c.ticks_per_sweep) ticks: \($c.first_ms) / \($c.tenth_ms) / \($c.idle_ms) ms)", yes($t <= 250)] end),
	(([$m.tick_idle_ms, $m.tick_all_due_ms, $m.tick_day_end_ms] | max) as $t |
	 ["controller tick over 1M sources <= 250 ms CPU: model tick alone (bench/model_tick, worst case)",
	  (if $m == null then "not run" else "\($t) ms (idle \($m.tick_idle_ms), all due \($m.tick_all_due_ms), day end \($m.tick_day_end_ms))" end),
	  yes(if $m == null then null else $t <= 250 end)]),
	(if $c == null then empty else
	 ["<= 256 bytes resident per source at 1M: controller (bench/ctl_tick)",
	  "\($c.rss_per_source) B/source VmRSS (model, deltas, tick buffers)", yes($c.rss_per_source <= 256)] end),
	["<= 256 bytes resident per source at 1M: model alone (bench/model_tick)",
	 (if $m == null then "not run" else "\($m.rss_bytes_per_source) B/source VmRSS (arrays: \($m.bytes_per_source) B)" end),
	 yes(if $m == null then null else $m.rss_bytes_per_source <= 256 end)],
	(map(select(.bench == "policy")) as $p |
	 ($p | map(select(.server == "mxthrottled" and .offered_qps == 0)) | .[0]) as $mm |
	 ($p | map(select(.server == "postgrey" and .offered_qps == 0)) | .[0]) as $pm |
	 ($p | map(select(.server == "mxthrottled" and .offered_qps == 10000)) | .[0]) as $m10 |
	 ($p | map(select(.server == "floor" and .offered_qps == 10000)) | .[0]) as $f10 |
	 ["policy service >= 20x postgrey queries/s (max speed)",
	  (if $mm == null or $pm == null then "not run" else "\(($mm.qps / $pm.qps) * 10 | round / 10)x (\($mm.qps | round) vs \($pm.qps | round) q/s)" end),
	  yes(if $mm == null or $pm == null then null else $mm.qps / $pm.qps >= 20 end)],
	 ["policy service p99 <= 1 ms at 10k queries/s",
	  (if $m10 == null then "not run" else "p99 \($m10.latency_us.p99) us (\($m10.qps | round) q/s answered)\(if $f10 != null then "; floor server: \($f10.latency_us.p99) us" else "" end)" end),
	  yes(if $m10 == null then null else $m10.latency_us.p99 <= 1000 end)])) | @tsv' |
	{ printf 'target\tfigure (this run)\tresult\n'; cat; }
}

# Emit the whole report with renderer $1 (render_text or render_md) and
# heading style: text prints "== title", markdown "## title".
report() {
	local r=$1
	h() { if [ "$r" = render_md ]; then printf '\n## %s\n\n' "$1"; else printf '\n== %s\n' "$1"; fi; }
	p() { if [ "$r" = render_md ]; then printf '%s\n' "$1"; else printf '%s\n' "$1" | fold -s -w 100; fi; }
	h "Targets"
	tbl_targets | "$r"
	if has_part xdp; then
		h "In-kernel cost per frame (BPF_PROG_TEST_RUN)"
		p "Kernel-timed ns per frame, median of 3 runs of $(J 'map(select(.bench == "xdp_cost")) | .[0].repeat // "?"') repeats on CPU $(J 'map(select(.bench == "xdp_cost")) | .[0].cpu // "?"'); each cell: ratio to xdp_drop loaded in the same run with the same fill (absolute ns, difference). miss_insert_r1 and xdp_drop_r1: single runs over $(J 'map(select(.bench == "xdp_cost")) | .[0].single_frames // "?"') distinct new sources, each timed by the kernel including its timer reads, so compared with xdp_drop timed the same way. mxt_xdp: $(J 'map(select(.bench == "xdp_cost")) | .[0].prog | "\(.xlated_insns) xlated insns, \(.jited_bytes) JIT bytes"'). \"!\": the expected reason took < 99% of the frames."
		[ "$r" = render_md ] && echo
		tbl_xdp | "$r"
	fi
	if has_part flood; then
		h "Flood drop rate on veth (bench/flood.sh --$MODE)"
		p "Mpps per second of the generator's kernel-timed active time, generator and receiver on one CPU; x floor: the method's rate over the mean of the bare XDP_DROP runs just before and after it. Per-source limit 6/min, burst 5 in every filter. Spoof shape: random sources over 198.18.1.0-198.19.255.255 (130816 addresses: a real 1M-source spoofed flood cannot be built from 198.18.0.0/15, so it is capped at 131k), mxthrottle's default global budget, 8 established senders; per-source filters drop next to nothing there (every address is still within its burst), so their figure is rx x floor."
		for s in sources spoof; do
			[ "$r" = render_md ] && printf '\nShape %s:\n\n' "$s" || printf '\nshape %s:\n' "$s"
			tbl_flood "$s" | "$r"
		done
	fi
	if has_part model; then
		h "Controller (bench/model_tick, bench/ctl_tick)"
		p "Model rows (bench/model_tick): CPU time of one call over all N tracked sources (80% established with learned baselines, 15% graylisted, 5% SYN-only); resident: VmRSS growth of the process from before the model to after all passes, per source. Controller rows (bench/ctl_tick): CPU time (user + system) of the daemon's whole tick, mxt_ctl_tick(), on real kernel maps holding N sources: a slice of at most 65536 entries of the sweep over mxt_sources (batch lookups), per-source deltas, model, policy writes; the largest tick of a sweep, and the whole sweep; resident: VmRSS growth from before the model to after the first tick, per source. x/src: time per source relative to the 10k run. One process per N. Checkpoint: LMDB on the root filesystem; wall time."
		[ "$r" = render_md ] && echo
		tbl_model | "$r"
	fi
	if has_part policy; then
		h "Policy service (bench/policy.sh --$MODE)"
		p "$(J 'map(select(.bench == "policy")) | .[0] | "\(.connections) persistent connections, \(.duration_s) s per run; wake-up probe before the runs (100 us sleep, overshoot): \(if .wake_probe_us then "p50 \(.wake_probe_us.p50) us, p99 \(.wake_probe_us.p99) us, p99.9 \(.wake_probe_us.p999) us, max \(.wake_probe_us.max) us" else "not run" end)."') Reference: postgrey with its database on tmpfs (its best case); postgrey-disk: the same with the database on the root filesystem; floor: a trivial C server answering DUNNO without parsing. Latency send -> answer; sched p99: scheduled time -> answer (includes client-side queueing). CPU us/q: the server's CPU time (all threads) and the client's, per answered query."
		[ "$r" = render_md ] && echo
		tbl_policy | "$r"
	fi
	if has_part profile; then
		h "Profile of the XDP program in a flood (bpf_stats, perf)"
		p "bench/flood.sh --quick --methods mxt-native (with its floor runs), twice per shape. First with kernel.bpf_stats_enabled=1 (restored afterwards): ns per run is run_time_ns / run_cnt from bpftool prog show, summed over the program instances that ran a flood (synflood_gen is the generator's program). bpf_stats adds two clock reads around every program run (on this VM pvclock reads): xdp_drop's figure is mostly that overhead, the difference is the program's own cost, and the flood rates of these runs are lower than the flood part's; they are not compared with it."
		[ "$r" = render_md ] && echo
		tbl_profile | "$r"
		if J 'map(select(.bench == "profile_sym")) | length' | grep -qv '^0$'; then
			[ "$r" = render_md ] && echo || echo
			p "Then with bpf_stats off and perf record -e cpu-clock -c 100000 on the flood CPU: samples x 100 us over the packets mxt_xdp ran on (the measured flood's rx plus the warm-up: 61440 SYNs for sources, 0.3 s at the measured rate for spoof), for the kernel symbols of the program's own work: its JIT image (bpf_prog_mxt_xdp) and the map lookups and helpers it calls (nothing else in these runs calls them per packet). xdp_drop's image is listed over the same packet count, for scale only. Sampling charges time to the function whose instruction was interrupted, so a cache miss is charged to the function that waited for it. mxt-native in these perf runs: $(J '[.[] | select(.bench == "profile_flood" and .pass == "perf" and .method == "mxt-native") | "\(.shape) \(.x_floor * 1000 | round / 1000)x floor (\(.drop_pps / 1e4 | round / 100) Mpps, checks \(.checks))"] | join("; ")')."
			[ "$r" = render_md ] && echo
			tbl_syms | "$r"
		fi
	fi
	h "Run"
	p "Date $DATE; kernel $KERNEL; CPU $CPU_MODEL ($NCPU CPUs); tree $COMMIT; command: $CMD; total $T_TOTAL s."
	[ "$r" = render_md ] && echo
	tbl_parts | "$r"
}

report render_text
echo
echo "run.sh: $MODE mode done in $T_TOTAL s; raw results in $RES"

# BENCHMARKS.md: generated report + the tree's hand-written notes.
MARK="<!-- end of generated results -->"
DEST=$BUILD/BENCHMARKS.md
[ "$WRITE" = 1 ] && DEST=$ROOT/BENCHMARKS.md
{
	echo "# mxthrottle benchmarks"
	echo
	echo "Generated by \`bench/run.sh\` ($MODE mode) on $DATE; kernel \`$KERNEL\`; CPU $CPU_MODEL ($NCPU CPUs); tree $COMMIT."
	echo "Command: \`$CMD\`. Total run time $T_TOTAL s."
	echo "Every figure is a ratio to a reference measured in the same run, with the absolute figure next to it."
	echo "The machine is shared with other builds and tests, and virtual: the load average at the start of each part is in the last table."
	report render_md
	echo
	echo "$MARK"
	if [ -f "$ROOT/BENCHMARKS.md" ] && grep -qF "$MARK" "$ROOT/BENCHMARKS.md"; then
		sed -n "/^$MARK\$/,\$p" "$ROOT/BENCHMARKS.md" | tail -n +2
	fi
} >"$DEST.tmp"
mv "$DEST.tmp" "$DEST"
echo "run.sh: wrote $DEST"
