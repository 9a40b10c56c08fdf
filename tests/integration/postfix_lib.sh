# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
# postfix_lib.sh - a private Postfix instance for tests, sourced by
# integration scripts (after lib.sh, whose wait_until it uses).  The
# instance lives in its own config/queue directory (postfix -c DIR),
# listens only on the given addresses inside the given network namespace,
# delivers every message to the discard transport (the "local sink"), runs
# smtpd without chroot (so policy endpoints are real paths), and logs to a
# file (maillog_file), because Postfix's commands print nothing without a
# terminal and no syslog runs in CI.
#   pf_start NS DIR LISTEN POLICY   LISTEN: inet_interfaces value, e.g.
#                                   "198.19.0.1, [2001:2::1]"; POLICY:
#                                   "inet:127.0.0.1:PORT", "unix:/path" or "none"
#   pf_stop NS DIR                  stop it and wait (bounded) for master to exit
#   pf_log DIR                      the instance's maillog
# PF_MAIN_EXTRA (optional): more main.cf lines, appended last (so they win).
# PF_POLICY_OPTS (optional): extra check_policy_service options, e.g.
# "try_limit=1"; default_action=DUNNO (fail open) is always set.
# Every directory above DIR must be searchable by the postfix user.
# Postfix's commands are run under script(1) so their messages are captured.

# Writes main.cf/master.cf for an instance under DIR.
pf_write_config() {
	local dir=$1 listen=$2 policy=$3 restrictions
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data" || return 1
	chown postfix "$dir/data" || return 1
	cp /etc/postfix/master.cf "$dir/etc/master.cf" || return 1
	# No chroot for smtpd: the policy socket path is then the real path.
	sed -i -E 's/^(smtp +inet +n +- +)y/\1n/' "$dir/etc/master.cf"
	grep -qE '^smtp +inet +n +- +n ' "$dir/etc/master.cf" || {
		echo "pf_write_config: cannot turn off smtpd's chroot in master.cf" >&2
		return 1
	}
	restrictions="reject_unauth_destination"
	if [ "$policy" != none ]; then
		# Fail open: if the policy service is down, DUNNO (accept).
		restrictions="$restrictions, check_policy_service { $policy, default_action=DUNNO, timeout=10s${PF_POLICY_OPTS:+, $PF_POLICY_OPTS} }"
	fi
	cat > "$dir/etc/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
mail_owner = postfix
myhostname = mx.mxthrottle.test
mydomain = mxthrottle.test
mydestination = sink.mxthrottle.test
local_recipient_maps =
inet_interfaces = $listen
inet_protocols = all
mynetworks = 127.0.0.0/8
local_transport = discard:
default_transport = discard:
relay_domains =
smtpd_peername_lookup = no
# Queue IDs never reused within a run: log lines can be joined on them.
enable_long_queue_ids = yes
smtpd_recipient_restrictions = $restrictions, permit
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
# A test client gets many 4xx answers on purpose: no error sleep, no
# disconnect for errors, no junk-command limit.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 10000
smtpd_hard_error_limit = 10000
smtpd_junk_command_limit = 10000
default_process_limit = 200
biff = no
alias_maps =
alias_database =
${PF_MAIN_EXTRA:-}
EOT
}

# Runs a postfix command in namespace NS with its output captured.
pf_cmd() {
	local ns=$1 dir=$2; shift 2
	ip netns exec "$ns" script -qec "postfix -c $dir/etc $*" /dev/null
}

pf_start() {
	local ns=$1 dir=$2 listen=$3 policy=$4
	pf_write_config "$dir" "$listen" "$policy" || return 1
	pf_cmd "$ns" "$dir" check || return 1
	pf_cmd "$ns" "$dir" start || return 1
	wait_until 5 grep -q 'daemon started' "$dir/maillog" && return 0
	echo "postfix in $ns did not start:" >&2
	cat "$dir/maillog" >&2 2>/dev/null
	return 1
}

# The master's PID ("" when not running).
pf_master_pid() {
	local pid
	pid=$(tr -dc 0-9 < "$1/spool/pid/master.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

pf_stop() {
	local ns=$1 dir=$2 pid
	pid=$(pf_master_pid "$dir")
	pf_cmd "$ns" "$dir" stop >/dev/null 2>&1 || true
	# "postfix stop" only signals master: wait (bounded) until it and its
	# children are gone, so nothing holds files under DIR afterwards.
	if [ -n "$pid" ] && ! wait_until 10 sh -c "! kill -0 $pid 2>/dev/null"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	return 0
}

pf_log() {
	cat "$1/maillog" 2>/dev/null
}
