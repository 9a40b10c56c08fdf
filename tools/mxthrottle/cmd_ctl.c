// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_ctl.c - the commands that talk to mxthrottled through its root-only
 * control socket (control.h), and the simulator:
 *
 *   explain ADDR [--json]          the model's view of one sender
 *   release|reset|forget ADDR      operator actions on one sender
 *   graylist list [--json]         senders on probation
 *   history export [--csv|--json]  every tracked sender (default JSON)
 *   daemon status [--json]         the daemon's counters
 *   checkpoint                     write the history now
 *   ctl WORD...                    one raw control command (test mode:
 *                                  "ctl clock advance 3600", "ctl seed ...")
 *   allow add|del CIDR             through the daemon when one answers (the
 *                                  change persists and its in-memory list
 *                                  follows), else on the maps (cmd_allow.c)
 *   sim ...                        mxt_sim_main() (sim.h), no daemon, no root
 *
 * The socket is --control PATH, else $MXT_CONTROL, else
 * MXT_CONTROL_DEFAULT.  The daemon's answer body goes to stdout once
 * complete (text, or one JSON document on one line with --json: extra
 * trailing newlines are dropped); an "error:" answer is
 * printed on stderr and exits 1; no daemon (-ENOENT/-ECONNREFUSED) is one
 * line naming the socket.  Every call is bounded (CTL_TIMEOUT seconds).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addr.h"
#include "cli.h"
#include "control.h"
#include "log.h"
#include "sim.h"

#define CTL_TIMEOUT 30 /* seconds: a checkpoint of millions of senders fits */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *alarm_path; /* for the SIGALRM message */

/* SIGALRM: the daemon did not answer in time.  Async-signal-safe. */
static void ctl_timeout(int sig)
{
	static const char a[] = "mxthrottle: no answer from mxthrottled on ";
	static const char b[] = " within " STR(CTL_TIMEOUT) " s\n";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, a, sizeof(a) - 1);
	if (alarm_path)
		r = write(STDERR_FILENO, alarm_path, strlen(alarm_path));
	r = write(STDERR_FILENO, b, sizeof(b) - 1);
	(void)r;
	_exit(1);
}

/* Send argv to the daemon; the answer body to 'out' (NULL: dropped).  0
 * on "ok"; the raw -errno otherwise (messages already printed), but
 * -ENOENT/-ECONNREFUSED are returned silently when 'quiet_absent' (the
 * caller falls back). */
static int ctl_call(struct cli *c, const char *what, int argc, char *const *argv, FILE *out,
		    int quiet_absent)
{
	struct sigaction sa;
	char err[512] = "", *body = NULL;
	size_t blen = 0;
	FILE *mem;
	int rc;

	for (int i = 0; i < argc; i++)
		if (!argv[i][0] || strpbrk(argv[i], " \t\r\n"))
			return cli_err("%s: '%s' is not one word (the control protocol splits on spaces)",
				       what, argv[i]), -EINVAL;
	if (argc > MXT_CONTROL_ARGS_MAX)
		return cli_err("%s: %d words, the control protocol takes at most %d", what, argc,
			       MXT_CONTROL_ARGS_MAX), -E2BIG;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_timeout;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm_path = c->control;
	mem = out ? open_memstream(&body, &blen) : NULL;
	if (out && !mem)
		return cli_err("%s: out of memory", what), -ENOMEM;
	alarm(CTL_TIMEOUT);
	rc = mxt_control_call(c->control, argc, argv, mem, err, sizeof(err));
	alarm(0);
	if (mem)
		fclose(mem);
	/* The body as it came, but ending in exactly one newline: the daemon's
	 * JSON documents end in two, and --json promises one line. */
	while (blen > 1 && body[blen - 1] == '\n' && body[blen - 2] == '\n')
		blen--;
	if (rc == 0 && out && blen && fwrite(body, 1, blen, out) != blen) {
		free(body);
		return cli_err("%s: write error on stdout", what), -EIO;
	}
	free(body);
	switch (rc) {
	case 0:
		return 0;
	case -ENOENT:
	case -ECONNREFUSED:
		if (!quiet_absent)
			cli_err("no mxthrottled answers on %s: %s needs the daemon "
				"(--control PATH or MXT_CONTROL names another socket)", c->control, what);
		return rc;
	case -EREMOTEIO:
		cli_err("%s", err[0] ? err : "mxthrottled refused the command");
		return rc;
	case -EACCES:
	case -EPERM:
		cli_err("cannot use %s: %s (the control socket is root's and mxthrottled's only)",
			c->control, strerror(-rc));
		return rc;
	case -EPROTO:
		cli_err("%s: mxthrottled on %s closed the connection without a valid answer (see its log)",
			what, c->control);
		return rc;
	case -EMSGSIZE:
		cli_err("%s: request longer than %d bytes", what, MXT_CONTROL_LINE_MAX - 1);
		return rc;
	default:
		cli_err("%s: cannot talk to mxthrottled on %s: %s", what, c->control, strerror(-rc));
		return rc;
	}
}


int cmd_explain(struct cli *c, int argc, char **argv)
{
	char *req[3];
	int json, r = cli_json_opts("explain", argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc - optind != 1)
		return cli_usage("explain");
	req[0] = "explain";
	req[1] = argv[optind];
	req[2] = "json";
	return ctl_call(c, "explain", json ? 3 : 2, req, stdout, 0) ? -1 : 0;
}

/* release / reset / forget ADDR. */
static int sender_action(struct cli *c, const char *name, int argc, char **argv)
{
	char *req[2];
	int json, r = cli_json_opts(name, argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc - optind != 1 || json)
		return cli_usage(name);
	req[0] = (char *)name;
	req[1] = argv[optind];
	return ctl_call(c, name, 2, req, stdout, 0) ? -1 : 0;
}

int cmd_release(struct cli *c, int argc, char **argv)
{
	return sender_action(c, "release", argc, argv);
}

int cmd_reset(struct cli *c, int argc, char **argv)
{
	return sender_action(c, "reset", argc, argv);
}

int cmd_forget(struct cli *c, int argc, char **argv)
{
	return sender_action(c, "forget", argc, argv);
}

int cmd_graylist(struct cli *c, int argc, char **argv)
{
	char *req[] = { "graylist", "list", "json" };
	int json, r = cli_json_opts("graylist", argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc - optind != 1 || strcmp(argv[optind], "list"))
		return cli_usage("graylist");
	return ctl_call(c, "graylist list", json ? 3 : 2, req, stdout, 0) ? -1 : 0;
}

int cmd_history(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPT_JSON, { "csv", no_argument, NULL, 'c' }, CLI_OPT_HELP, { NULL, 0, NULL, 0 },
	};
	char *req[] = { "history", "export", "json" };
	int opt, csv = 0, json = 0;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j')
			json = 1;
		else if (opt == 'c')
			csv = 1;
		else if (opt == 'h')
			return cli_help("history");
		else
			return cli_usage("history");
	}
	if (argc - optind != 1 || strcmp(argv[optind], "export") || (csv && json))
		return cli_usage("history");
	if (csv)
		req[2] = "csv";
	return ctl_call(c, "history export", 3, req, stdout, 0) ? -1 : 0;
}

int cmd_daemon(struct cli *c, int argc, char **argv)
{
	char *req[] = { "status", "json" };
	int json, r = cli_json_opts("daemon", argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc - optind != 1 || strcmp(argv[optind], "status"))
		return cli_usage("daemon");
	return ctl_call(c, "daemon status", json ? 2 : 1, req, stdout, 0) ? -1 : 0;
}

int cmd_fleet(struct cli *c, int argc, char **argv)
{
	char *req[] = { "fleet", "status", "json" };
	int json, r = cli_json_opts("fleet", argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc - optind != 1 || strcmp(argv[optind], "status"))
		return cli_usage("fleet");
	return ctl_call(c, "fleet status", json ? 3 : 2, req, stdout, 0) ? -1 : 0;
}

int cmd_checkpoint(struct cli *c, int argc, char **argv)
{
	char *req[] = { "checkpoint" };
	int json, r = cli_json_opts("checkpoint", argc, argv, &json);

	if (r)
		return r > 0 ? 0 : -1;
	if (argc != optind || json)
		return cli_usage("checkpoint");
	return ctl_call(c, "checkpoint", 1, req, stdout, 0) ? -1 : 0;
}

int cmd_ctl(struct cli *c, int argc, char **argv)
{
	/* Words go to the daemon verbatim ("--json" included); only a first
	 * word -h/--help is ours. */
	if (argc < 2)
		return cli_usage("ctl");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return cli_help("ctl");
	return ctl_call(c, "ctl", argc - 1, argv + 1, stdout, 0) ? -1 : 0;
}

int cmd_allow_ctl(struct cli *c, int argc, char **argv)
{
	char canon[MXT_ADDRSTRLEN], *req[3];
	struct mxt_lpm_key k;
	struct mxt_addr a;
	int host_bits, add, rc;
	__u8 plen;

	/* Only the exact forms "allow add CIDR" / "allow del CIDR" go to the
	 * daemon; everything else (list, options, usage errors) is
	 * cmd_allow's. */
	if (argc != 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")) || argv[2][0] == '-')
		return cmd_allow(c, argc, argv);
	add = !strcmp(argv[1], "add");
	if (mxt_cidr_parse(argv[2], &a, &plen, &host_bits))
		return cli_err("bad CIDR '%s': want ADDR or ADDR/LEN (IPv4 /0-32, IPv6 /0-128)", argv[2]);
	mxt_lpm_key_from_cidr(&k, &a, plen);
	mxt_lpm_key_format(&k, canon, sizeof(canon));
	req[0] = "allow";
	req[1] = argv[1];
	req[2] = canon;
	/* The daemon's answer ("connector X added") is replaced by the line
	 * the map path prints, so scripts see one format either way. */
	rc = ctl_call(c, add ? "allow add" : "allow del", 3, req, NULL, 1);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		mxt_log_debug("no mxthrottled on %s: changing the maps directly", c->control);
		optind = 0; /* cmd_allow parses its argv afresh */
		return cmd_allow(c, argc, argv);
	}
	if (rc)
		return -1;
	if (host_bits)
		mxt_log_warnx("%s has host bits set: using %s", argv[2], canon);
	printf("%s %s (through mxthrottled: persisted)\n", add ? "allowlisted" : "removed", canon);
	return 0;
}

int cmd_sim(struct cli *c, int argc, char **argv)
{
	(void)c;
	return mxt_sim_main(argc, argv) ? -1 : 0;
}

/* "config set KEY VALUE ..." goes through the daemon when one answers (it
 * owns the kernel config while it runs, persists the change and keeps its
 * policy service in step); "config get" and, without a daemon, "config
 * set" work on the maps (cmd_config.c). */
int cmd_config_ctl(struct cli *c, int argc, char **argv)
{
	int rc;

	if (argc < 4 || strcmp(argv[1], "set") || argv[2][0] == '-')
		return cmd_config(c, argc, argv);
	char *req[MXT_CONTROL_ARGS_MAX];

	if (argc > MXT_CONTROL_ARGS_MAX)
		return cli_err("config set: at most %d key/value pairs at once",
			       (MXT_CONTROL_ARGS_MAX - 2) / 2);
	/* argv[0] is the program's name for messages: the request starts
	 * with the command word itself. */
	req[0] = "config";
	for (int i = 1; i < argc; i++)
		req[i] = argv[i];
	rc = ctl_call(c, "config set", argc, req, stdout, 1);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		mxt_log_debug("no mxthrottled on %s: changing the maps directly", c->control);
		optind = 0; /* cmd_config parses its argv afresh */
		return cmd_config(c, argc, argv);
	}
	return rc ? -1 : 0;
}
