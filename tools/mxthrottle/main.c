// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * main.c - mxthrottle, the operator's command line for the XDP SYN limiter:
 * global options, the dispatch table, and the helpers every command group
 * shares (errors, map opening, JSON bits, source keys).
 *
 *   mxthrottle [--pin-dir DIR] [--control PATH] [-v] COMMAND [ARGS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "cli.h"
#include "control.h"
#include "log.h"
#include "mxt_version.h"

static const struct cli_cmd cmds[] = {
	{ "attach", cmd_attach, "attach IFACE [--mode native|skb] [--max-sources N]",
	  "load (or reuse) mxt_xdp and its pinned maps and attach it to IFACE", 0 },
	{ "detach", cmd_detach, "detach IFACE",
	  "detach mxt_xdp from IFACE (maps and program stay pinned)", 0 },
	{ "status", cmd_status, "status [--json]",
	  "interfaces running mxt_xdp, mode, map fill", 0 },
	{ "stats", cmd_stats, "stats [--json]",
	  "per-reason packet counters, summed over CPUs", 0 },
	{ "top", cmd_top, "top [-n N] [-i SECONDS] [--json]",
	  "sources by recent SYN rate", 0 },
	{ "show", cmd_show, "show ADDR [--json]",
	  "everything known about one source", 0 },
	{ "allow", cmd_allow_ctl, "allow add CIDR | allow del CIDR | allow list [--json]",
	  "connector CIDRs that are never limited (add/del through mxthrottled when it runs)", 0 },
	{ "policy", cmd_policy,
	  "policy set ADDR CLASS [--rate R --burst B] | policy del ADDR | policy list [--json]",
	  "per-source class or limit override", 0 },
	{ "config", cmd_config_ctl, "config get [KEY] [--json] | config set KEY VALUE [KEY VALUE ...]",
	  "read or change the configuration in the config map", 0 },
	{ "explain", cmd_explain, "explain ADDR [--json]",
	  "mxthrottled's view of a sender: state, reason, rate vs baseline, allowance, next change",
	  CLI_F_NOROOT },
	{ "release", cmd_release, "release ADDR",
	  "end a sender's throttle or block now: it becomes established (mxthrottled)", CLI_F_NOROOT },
	{ "reset", cmd_reset, "reset ADDR",
	  "put a sender back on probation with 0 clean days (mxthrottled)", CLI_F_NOROOT },
	{ "forget", cmd_forget, "forget ADDR",
	  "delete a sender's history; its next session starts over (mxthrottled)", CLI_F_NOROOT },
	{ "graylist", cmd_graylist, "graylist list [--json]",
	  "senders on probation (mxthrottled)", CLI_F_NOROOT },
	{ "history", cmd_history, "history export [--csv|--json]",
	  "every tracked sender's record, JSON by default (mxthrottled)", CLI_F_NOROOT },
	{ "daemon", cmd_daemon, "daemon status [--json]",
	  "mxthrottled's senders by state, ticks, decisions, checkpoints", CLI_F_NOROOT },
	{ "fleet", cmd_fleet, "fleet status [--json]",
	  "the fleet seen from mxthrottled: nodes and their lag, Redis endpoints and their health",
	  CLI_F_NOROOT },
	{ "checkpoint", cmd_checkpoint, "checkpoint",
	  "make mxthrottled write its history now", CLI_F_NOROOT },
	{ "ctl", cmd_ctl, "ctl WORD...",
	  "send one raw control command, e.g. 'ctl clock advance 3600' (mxthrottled -T)", CLI_F_NOROOT },
	{ "sim", cmd_sim,
	  "sim [--synthetic|--trace FILE] [--days N] [--seed S] [--set NAME=VALUE]... [--json]",
	  "replay or generate traffic through the model on a virtual clock (no root, no daemon)",
	  CLI_F_NOROOT },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* The table entry of cmd, or NULL. */
static const struct cli_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* Print the synopsis of one command, alternatives on separate lines. */
static void print_synopsis(FILE *f, const char *prefix, const char *usage)
{
	int indent = (int)strlen(prefix);
	const char *p = usage, *bar;

	while ((bar = strstr(p, " | "))) {
		fprintf(f, "%*s%smxthrottle %.*s\n", p == usage ? 0 : indent, "",
			p == usage ? prefix : "", (int)(bar - p), p);
		p = bar + 3;
	}
	fprintf(f, "%*s%smxthrottle %s\n", p == usage ? 0 : indent, "", p == usage ? prefix : "", p);
}

/* Parse the options of a read command: --json, -h.  Returns 0, 1 when
 * help was printed, -1 on a usage error. */
int cli_json_opts(const char *name, int argc, char **argv, int *json)
{
	static const struct option opts[] = { CLI_OPT_JSON, CLI_OPT_HELP, { NULL, 0, NULL, 0 } };
	int opt;

	*json = 0;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j')
			*json = 1;
		else if (opt == 'h')
			return cli_help(name), 1;
		else
			return cli_usage(name);
	}
	return 0;
}

int cli_usage(const char *cmd)
{
	const struct cli_cmd *k = find_cmd(cmd);

	if (k)
		print_synopsis(stderr, "usage: ", k->usage);
	return -1;
}

int cli_help(const char *cmd)
{
	const struct cli_cmd *k = find_cmd(cmd);

	if (k) {
		print_synopsis(stdout, "usage: ", k->usage);
		printf("%s\n", k->help);
	}
	return 0;
}

/* The whole usage text. */
static void usage(FILE *f)
{
	fprintf(f, "usage: mxthrottle [--pin-dir DIR] [--control PATH] [-v] COMMAND [ARGS]\n\n"
		   "XDP SYN-rate limiter for mail servers.  Commands:\n");
	for (size_t i = 0; i < NCMDS; i++) {
		print_synopsis(f, "  ", cmds[i].usage);
		fprintf(f, "      %s\n", cmds[i].help);
	}
	fprintf(f, "\nOptions:\n"
		   "  --pin-dir DIR   maps and program pinned under DIR (default $MXT_PIN_DIR or %s)\n"
		   "  --control PATH  mxthrottled's control socket (default $MXT_CONTROL or %s)\n"
		   "  -v, --verbose   more diagnostics on stderr (repeat for debugging output)\n"
		   "  -h, --help      this text; 'mxthrottle COMMAND --help' for one command\n"
		   "  -V, --version   print the version and exit\n"
		   "explain, release, reset, forget, graylist, history, daemon, checkpoint and ctl\n"
		   "need mxthrottled; allow add/del go through it when it answers, else to the maps.\n"
		   "Every read accepts --json (one JSON document on stdout).  Exit status 0 on\n"
		   "success, 1 on any error.  See mxthrottle(8).\n", MXT_PIN_DIR, MXT_CONTROL_DEFAULT);
}

int cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mxt_vlog(MXT_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int cli_open_maps(struct cli *c, struct mxt_maps *m, unsigned int flags)
{
	char err[512];
	int ret = mxt_maps_open(m, c->pin_dir, flags, err, sizeof(err));

	if (ret)
		cli_err("%s", err);
	return ret;
}

void cli_jw_rate(struct mxt_jw *w, const char *key, __u32 rate)
{
	if (rate == MXT_RATE_UNLIMITED)
		mxt_jw_kstr(w, key, "unlimited");
	else
		mxt_jw_ku64(w, key, rate);
}

void cli_fmt_time(__u64 unix_s, char *buf, size_t len)
{
	time_t t = (time_t)unix_s;
	struct tm tm;

	if (!unix_s || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

__u64 cli_now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC at tick resolution */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int cli_source_key(const char *arg, const struct mxt_config *cfg,
		   struct mxt_key *key, struct mxt_addr *addr)
{
	unsigned int want;
	int host_bits;
	__u8 plen;

	if (mxt_cidr_parse(arg, addr, &plen, &host_bits))
		return cli_err("bad address '%s': want an IPv4 or IPv6 address", arg);
	want = addr->family == MXT_FAMILY_IPV4 ? cfg->v4_prefix : cfg->v6_prefix;
	if (strchr(arg, '/') && plen != want)
		return cli_err("%s: sources are keyed by /%u (%s), not /%u", arg, want,
			       addr->family == MXT_FAMILY_IPV4 ? "v4_prefix" : "v6_prefix", plen);
	if (mxt_key_from_addr(key, addr, cfg->v4_prefix, cfg->v6_prefix))
		return cli_err("%s: cannot build a source key", arg);
	return 0;
}

/* Non-zero if argv holds -h or --help (then root is not needed). */
static int wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "control", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { .pin_dir = NULL, .control = NULL, .verbosity = 0 };
	const struct cli_cmd *k;
	char progname[64];
	int opt, ret;

	mxt_log_open("mxthrottle", 0, -1);
	while ((opt = getopt_long(argc, argv, "+p:C:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (!*optarg)
				return cli_err("--pin-dir needs a directory"), 1;
			c.pin_dir = optarg;
			break;
		case 'C':
			if (!*optarg)
				return cli_err("--control needs a socket path"), 1;
			c.control = optarg;
			break;
		case 'v':
			c.verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mxthrottle %s\n", MXT_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	mxt_log_set_verbosity(-1 + c.verbosity);
	if (!c.pin_dir)
		c.pin_dir = mxt_pin_dir_default();
	if (!c.control) {
		const char *env = getenv("MXT_CONTROL");

		c.control = env && *env ? env : MXT_CONTROL_DEFAULT;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[optind], "help")) {
		usage(stdout);
		return 0;
	}
	k = find_cmd(argv[optind]);
	if (!k) {
		cli_err("unknown command '%s' (see mxthrottle --help)", argv[optind]);
		return 1;
	}
	if (geteuid() != 0 && !(k->flags & CLI_F_NOROOT) && !wants_help(argc - optind, argv + optind)) {
		cli_err("%s needs root (CAP_BPF, CAP_NET_ADMIN): run it with sudo", k->name);
		return 1;
	}
	argc -= optind;
	argv += optind;
	/* getopt's own messages then read "mxthrottle status: ..." */
	snprintf(progname, sizeof(progname), "mxthrottle %s", k->name);
	argv[0] = progname;
	optind = 0; /* commands run getopt_long afresh on their own argv */
	ret = k->fn(&c, argc, argv);
	if (fflush(stdout) != 0 && ret == 0) {
		cli_err("write error on stdout: %s", strerror(errno));
		ret = -1;
	}
	return ret ? 1 : 0;
}
