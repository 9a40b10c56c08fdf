#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# test_ops.sh - what an operator sees of mxthrottled, in the gateway
# namespace of lib.sh's topology: systemd's readiness protocol through a
# NOTIFY_SOCKET listener (no systemd needed), and the Prometheus endpoint
# scraped by a real Prometheus (Debian's prometheus package) on the
# namespace's own loopback, with the shipped alert rules loaded.
#
# Cases (one run_test each, in this order):
#   notify_order        READY=1 once the policy socket answers; STATUS=
#                       with sender counts; WATCHDOG=1 when WATCHDOG_USEC
#                       is set; SIGHUP: RELOADING=1 then READY=1 (also for
#                       a refused file); SIGTERM: STOPPING=1, in that order
#   metrics_format      GET /metrics passes "promtool check metrics"; only
#                       GET/HEAD of /metrics are served (404, 405 otherwise)
#   prometheus_scrape   Prometheus scrapes the daemon every second under
#                       policy and SYN traffic; its HTTP API answers a
#                       counter, a gauge and a histogram_quantile
#   rules_dashboard     packaging/mxthrottle.rules.yml passes "promtool
#                       check rules" and loads in the running Prometheus;
#                       the Grafana dashboard is valid JSON whose queries
#                       name only metrics the daemon exports
#
# Ports: random, on the gateway namespace's private loopback, so nothing
# can clash with the host or another test.  About 30 s.  Run as root:
#   bash tests/integration/test_ops.sh

# shellcheck disable=SC2016
: "${MXT_TEST_TIMEOUT:=150}"
export MXT_TEST_TIMEOUT
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
mxt_init

MXT_POLICY_LOAD=$BUILD/mxt-policy-load
MXT_NOTIFY=$BUILD/mxt-notify-listen
for t in "$MXT_DAEMON" "$MXT_POLICY_LOAD" "$MXT_NOTIFY" prometheus promtool curl; do
	if ! command -v "$t" >/dev/null; then
		fail setup "$t: got missing, want present (make BUILD=$BUILD; scripts/setup.sh)"
		exit 1
	fi
done

PPORT=$((20000 + RANDOM % 10000))    # policy_listen
MPORT=$((PPORT + 1))                 # metrics_listen
PROMPORT=$((PPORT + 2))              # Prometheus' web/API
PIN=$MXT_BPFFS/mxthrottle
ETC=$MXT_WORK/etc
CONF=$ETC/mxthrottle.conf
NOTIFY_LOG=$MXT_WORK/notify.log
D_PID=
D_LOG=

# The daemon drops to the default user; scripts/setup.sh creates it.
if ! getent passwd mxthrottle >/dev/null; then
	fail setup "user mxthrottle: got missing, want present (scripts/setup.sh)"
	exit 1
fi
# After the drop the daemon re-reads its file on SIGHUP as that user.
chmod 0711 "$MXT_WORK"
mkdir -p "$ETC" && chmod 0755 "$ETC"

t_cleanup() {
	local rc=$?
	[ -n "$D_PID" ] && bg_stop "$D_PID" TERM
	(exit "$rc")
	mxt_cleanup
}
trap t_cleanup EXIT

conf_write() {
	{
		echo "interface = $GW_IF"
		echo "pin_dir = $PIN"
		echo "state_db = $MXT_WORK/state/history.mdb"
		echo "control_socket = $MXT_WORK/run/control.sock"
		echo "policy_listen = inet:127.0.0.1:$PPORT"
		echo "metrics_listen = inet:127.0.0.1:$MPORT"
		echo "checkpoint_interval = 2"
		echo "tick_interval = 200"
		echo "ports = 25"
		echo "unknown_rate = 60"
		echo "unknown_burst = 5"
		printf '%s\n' "$@"
	} >"$CONF"
	chmod 0644 "$CONF"
}

# daemon_start [ENV=VALUE...]: mxthrottled -d in the gateway namespace,
# waits (bounded) for its START line.
daemon_start() {
	D_LOG=$MXT_WORK/daemon.log
	bg "$GW" "$D_LOG" env "$@" "$MXT_DAEMON" -d -f "$CONF"
	D_PID=$BG_PID
	if ! wait_until 10 grep -q "START mxthrottled" "$D_LOG"; then
		note "daemon: $(tr '\n' '|' <"$D_LOG" | cut -c1-600)"
		return 1
	fi
}

# policy_answers N: N policy requests through mxt-policy-load; prints how
# many were answered.
policy_answers() {
	local j
	j=$(ns_exec "$GW" timeout 20 "$MXT_POLICY_LOAD" -c 2 -d 1 -p 3 -t 2000 --json \
		"inet:127.0.0.1:$PPORT" 2>/dev/null)
	jget "$j" .answers
}

# Events of the notify log, in order, as one line: "READY RELOADING ...".
notify_events() {
	grep -E '^(READY|RELOADING|STOPPING)=1$' "$NOTIFY_LOG" | sed 's/=1$//' | tr '\n' ' ' | sed 's/ $//'
}

# metrics: the daemon's /metrics body.
metrics() {
	ns_exec "$GW" curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics"
}

# metrics_has REGEX: /metrics has a matching line.
metrics_has() {
	metrics | grep -qE "$1"
}

# http_code METHOD PATH: the status the metrics endpoint answers.
http_code() {
	ns_exec "$GW" curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X "$1" \
		"http://127.0.0.1:$MPORT$2"
}

# promq QUERY: the first value of an instant query through Prometheus'
# HTTP API ("" when none).
promq() {
	local j
	j=$(ns_exec "$GW" curl -sf --max-time 5 "http://127.0.0.1:$PROMPORT/api/v1/query" \
		--data-urlencode "query=$1") || return 1
	printf '%s' "$j" | jq -r 'select(.status == "success") | .data.result[0].value[1] // empty'
}

# prom_has QUERY: the query returns a value.
prom_has() {
	[ -n "$(promq "$1")" ]
}

t_notify_order() {
	local n got_answers ev
	bg "$GW" "$MXT_WORK/notify-listen.log" "$MXT_NOTIFY" "$MXT_WORK/notify.sock" "$NOTIFY_LOG"
	wait_until 5 test -S "$MXT_WORK/notify.sock"
	# As systemd's own: the daemon sends after dropping root.
	chmod 0666 "$MXT_WORK/notify.sock"
	conf_write
	daemon_start NOTIFY_SOCKET="$MXT_WORK/notify.sock" WATCHDOG_USEC=400000
	expect_eq "daemon starts" "$?" 0
	expect_true "READY=1 sent" "no READY=1 in $(tr '\n' '|' <"$NOTIFY_LOG" 2>/dev/null)" \
		wait_until 10 grep -qx READY=1 "$NOTIFY_LOG"
	# Ready means answering: requests sent right after READY=1 are answered.
	got_answers=$(policy_answers)
	expect_range "policy answers right after READY=1" "${got_answers:-0}" 1 1000000
	expect_true "STATUS= with sender counts" "$(grep STATUS= "$NOTIFY_LOG" | tail -n1)" \
		grep -qE '^STATUS=[0-9]+ senders: [0-9]+ new' "$NOTIFY_LOG"
	expect_true "WATCHDOG=1 pings" "$(grep -c WATCHDOG=1 "$NOTIFY_LOG") pings" \
		wait_until 5 sh -c "[ \$(grep -c '^WATCHDOG=1\$' '$NOTIFY_LOG') -ge 2 ]"
	# A good reload, then a refused one: both end with READY=1.
	kill -HUP "$D_PID"
	wait_until 5 grep -q "RELOAD " "$D_LOG"
	echo "no_such_key = 1" >>"$CONF"
	kill -HUP "$D_PID"
	wait_until 5 grep -q "RELOAD refused" "$D_LOG"
	n=0
	wait_until 5 sh -c "[ \$(grep -c '^READY=1\$' '$NOTIFY_LOG') -ge 3 ]" || n=1
	expect_eq "events after two reloads" "$(notify_events)" "READY RELOADING READY RELOADING READY"
	bg_stop "$D_PID" TERM
	D_PID=
	wait_until 5 grep -qx STOPPING=1 "$NOTIFY_LOG"
	ev=$(notify_events)
	expect_eq "notify events in order" "$ev" "READY RELOADING READY RELOADING READY STOPPING"
	[ "$n" = 1 ] && note "notify log: $(tr '\n' '|' <"$NOTIFY_LOG")"
	note "notify order: $ev"
}

t_metrics_format() {
	local body
	conf_write
	daemon_start
	expect_eq "daemon starts" "$?" 0
	policy_answers >/dev/null
	# A tick (200 ms) pushes the controller's numbers.
	wait_until 5 metrics_has '^mxthrottle_ticks_total [1-9]'
	body=$(metrics)
	printf '%s\n' "$body" >"$MXT_WORK/metrics.txt"
	expect_ok "promtool check metrics" sh -c "promtool check metrics <'$MXT_WORK/metrics.txt'"
	expect_true "has the policy histogram" "$(grep -c decision_duration "$MXT_WORK/metrics.txt") lines" \
		grep -q '^mxthrottle_policy_decision_duration_seconds_bucket{le="+Inf"} [1-9]' "$MXT_WORK/metrics.txt"
	expect_true "has senders by state" "$(grep '^mxthrottle_senders{' "$MXT_WORK/metrics.txt" | tr '\n' ' ')" \
		grep -q '^mxthrottle_senders{state="new"} ' "$MXT_WORK/metrics.txt"
	expect_true "has XDP counters" "$(grep -c xdp_packets "$MXT_WORK/metrics.txt") lines" \
		grep -q '^mxthrottle_xdp_packets_total{reason="admitted",verdict="pass"} ' "$MXT_WORK/metrics.txt"
	# The program's XDP_RUN_CONFIG reaches libxdp's dispatcher (where the
	# kernel allows one; else libxdp attaches the program alone).
	if [[ " $(xdp_progs "$GW" "$GW_IF") " == *" xdp_dispatcher "* ]]; then
		local st
		st=$(ns_exec "$GW" xdp-loader status "$GW_IF" 2>&1 | grep mxt_xdp)
		expect_true "dispatcher runs mxt_xdp at priority 10, chaining on XDP_PASS" "'$st'" \
			grep -qE '^ *=> +10 +mxt_xdp .*XDP_PASS' <<<"$st"
	else
		note "single-program attach ($(xdp_progs "$GW" "$GW_IF")): no dispatcher to read the run config"
	fi
	expect_eq "HEAD /metrics" "$(http_code HEAD /metrics)" 200
	expect_eq "GET /" "$(http_code GET /)" 404
	expect_eq "POST /metrics" "$(http_code POST /metrics)" 405
	expect_eq "DELETE /metrics" "$(http_code DELETE /metrics)" 405
	note "metrics: $(wc -l <"$MXT_WORK/metrics.txt") lines"
}

t_prometheus_scrape() {
	local v j load_pid
	mkdir -p "$MXT_WORK/prom"
	mount -t tmpfs -o size=256m,mode=0700 mxt-prom "$MXT_WORK/prom"
	cat >"$MXT_WORK/prom/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	  evaluation_interval: 1s
	rule_files:
	  - $MXT_ROOT/packaging/mxthrottle.rules.yml
	scrape_configs:
	  - job_name: mxthrottle
	    static_configs:
	      - targets: ['127.0.0.1:$MPORT']
	EOF
	bg "$GW" "$MXT_WORK/prom/prometheus.log" prometheus \
		--config.file="$MXT_WORK/prom/prometheus.yml" \
		--storage.tsdb.path="$MXT_WORK/prom/data" \
		--web.listen-address="127.0.0.1:$PROMPORT"
	PROM_PID=$BG_PID
	expect_true "Prometheus ready" "not ready: $(tail -n 3 "$MXT_WORK/prom/prometheus.log" | tr '\n' '|' | cut -c1-600)" \
		wait_until 30 ns_exec "$GW" curl -sf --max-time 2 "http://127.0.0.1:$PROMPORT/-/ready"
	# Traffic while it scrapes: policy requests for a few seconds, and
	# SYNs through XDP (no listener on port 25: RSTs, still counted).
	bg "$GW" "$MXT_WORK/load.json" "$MXT_POLICY_LOAD" -c 2 -r 50 -d 6 -p 5 -t 2000 --json \
		"inet:127.0.0.1:$PPORT"
	load_pid=$BG_PID
	connect_json "${SRC4[0]}" "$GW4" 25 4 1 >/dev/null 2>&1
	wait_until 15 sh -c "! kill -0 $load_pid 2>/dev/null"
	j=$(promq 'up{job="mxthrottle"}')
	expect_eq "target up" "$j" 1
	# A counter, a gauge, a histogram quantile, once a scrape after the
	# load is in.
	wait_until 15 prom_has 'max(mxthrottle_policy_requests_total) >= 50'
	wait_until 15 prom_has 'count_over_time(mxthrottle_policy_decision_duration_seconds_count[1m]) >= 4'
	v=$(promq 'max(mxthrottle_policy_requests_total)')
	expect_range "counter mxthrottle_policy_requests_total" "${v%%.*}" 50 1000000
	v=$(promq 'sum(mxthrottle_xdp_packets_total{reason="admitted"})')
	expect_range "counter xdp admitted" "${v%%.*}" 4 1000000
	v=$(promq 'sum(mxthrottle_senders)')
	expect_range "gauge mxthrottle_senders" "${v%%.*}" 1 1000000
	v=$(promq 'histogram_quantile(0.9, sum by (le) (rate(mxthrottle_policy_decision_duration_seconds_bucket[1m])))')
	note "p90 decision latency from Prometheus: $v s"
	note "scrapes in the last minute: $(promq 'count_over_time(up[1m])')"
	expect_true "histogram_quantile is a number of seconds" "'$v'" \
		awk -v v="$v" 'BEGIN { exit !(v ~ /^[0-9.e+-]+$/ && v + 0 > 0 && v + 0 <= 2) }'
	note "API answer: $(ns_exec "$GW" curl -sf "http://127.0.0.1:$PROMPORT/api/v1/query" \
		--data-urlencode 'query=mxthrottle_policy_requests_total' | cut -c1-300)"
}

t_rules_dashboard() {
	local dash=$MXT_ROOT/packaging/grafana-mxthrottle.json names missing=() n
	expect_ok "promtool check rules" promtool check rules "$MXT_ROOT/packaging/mxthrottle.rules.yml"
	n=$(ns_exec "$GW" curl -sf "http://127.0.0.1:$PROMPORT/api/v1/rules" |
		jq '[.data.groups[].rules[]] | length')
	expect_eq "rules loaded by Prometheus" "$n" "$(grep -cE '^ *- (alert|record):' "$MXT_ROOT/packaging/mxthrottle.rules.yml")"
	expect_ok "dashboard is JSON with panels and a uid" \
		jq -e '(.uid | length > 0) and (.panels | length >= 6) and
		       all(.panels[]; (.targets | length > 0) and all(.targets[]; .expr | length > 0))' "$dash"
	# Every metric the dashboard and the rules query exists in /metrics.
	names=$( { jq -r '.panels[].targets[].expr' "$dash"; cat "$MXT_ROOT/packaging/mxthrottle.rules.yml"; } |
		grep -oE 'mxthrottle_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
	# Fleet series exist only with a fleet (fleet_redis): those are
	# looked up in the exporter's source instead.
	for n in $names; do
		case $n in
		mxthrottle_fleet_*) grep -q "\"$n\"" "$MXT_ROOT/user/daemon/metrics.c" || missing+=("$n") ;;
		*) grep -qE "^# TYPE $n " "$MXT_WORK/metrics.txt" || missing+=("$n") ;;
		esac
	done
	expect_eq "queried metrics missing from /metrics" "${missing[*]}" ""
}

run_test ops.notify_order t_notify_order
run_test ops.metrics_format t_metrics_format
run_test ops.prometheus_scrape t_prometheus_scrape
run_test ops.rules_dashboard t_rules_dashboard
