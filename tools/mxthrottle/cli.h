/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cli.h - what the mxthrottle command groups share: the global options,
 * the command table entry, and helpers for errors, maps and JSON.
 *
 * Conventions of every command: results on stdout (one JSON document with
 * --json), problems as one line on stderr, exit 0 on success and 1 on any
 * error, nothing applied unless everything was valid.
 */
#ifndef MXT_CLI_H
#define MXT_CLI_H

#include <stdio.h>
#include <linux/types.h>
#include "jsonw.h"
#include "pinned.h"

/* Global options. */
struct cli {
	const char *pin_dir;  /* --pin-dir, else $MXT_PIN_DIR, else MXT_PIN_DIR */
	const char *control;  /* --control, else $MXT_CONTROL, else MXT_CONTROL_DEFAULT */
	int verbosity;        /* -v count */
};

/* One command (or command group) of the dispatch table. */
struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *usage;    /* synopsis lines after "mxthrottle " */
	const char *help;     /* one line */
	unsigned int flags;   /* CLI_F_* */
};

/* cli_cmd.flags */
#define CLI_F_NOROOT 0x1      /* runs without root: the simulator, and the
			       * daemon's commands (its socket decides) */

/* The commands, one per cmd_*.c. */
int cmd_attach(struct cli *c, int argc, char **argv);
int cmd_detach(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_top(struct cli *c, int argc, char **argv);
int cmd_show(struct cli *c, int argc, char **argv);
int cmd_allow(struct cli *c, int argc, char **argv);
int cmd_policy(struct cli *c, int argc, char **argv);
int cmd_config(struct cli *c, int argc, char **argv);
/* cmd_ctl.c: through mxthrottled's control socket, and the simulator. */
int cmd_explain(struct cli *c, int argc, char **argv);
int cmd_release(struct cli *c, int argc, char **argv);
int cmd_reset(struct cli *c, int argc, char **argv);
int cmd_forget(struct cli *c, int argc, char **argv);
int cmd_graylist(struct cli *c, int argc, char **argv);
int cmd_history(struct cli *c, int argc, char **argv);
int cmd_daemon(struct cli *c, int argc, char **argv);
int cmd_fleet(struct cli *c, int argc, char **argv);
int cmd_checkpoint(struct cli *c, int argc, char **argv);
int cmd_ctl(struct cli *c, int argc, char **argv);
/* "allow add|del" through the daemon when it answers, else cmd_allow. */
int cmd_allow_ctl(struct cli *c, int argc, char **argv);
int cmd_config_ctl(struct cli *c, int argc, char **argv);
int cmd_sim(struct cli *c, int argc, char **argv);

/* One-line error on stderr ("mxthrottle: ..."); returns -1 for
 * "return cli_err(...)". */
int cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "usage: mxthrottle <synopsis of cmd>" on stderr; returns -1. */
/* Options of a command that takes only --json and -h: 0 to go on (*json
 * set), 1 when help was printed, -1 on a usage error (printed). */
int cli_json_opts(const char *name, int argc, char **argv, int *json);
int cli_usage(const char *cmd);
/* Print the synopsis of cmd on stdout (for -h); returns 0. */
int cli_help(const char *cmd);

/* Open and check the pinned maps, printing the one-line reason on
 * failure; flags as mxt_maps_open(). */
int cli_open_maps(struct cli *c, struct mxt_maps *m, unsigned int flags);

/* A rate as JSON: a number, or "unlimited". */
void cli_jw_rate(struct mxt_jw *w, const char *key, __u32 rate);
/* Format a unix time as "2024-05-01T12:00:00Z" ("-" for 0). */
void cli_fmt_time(__u64 unix_s, char *buf, size_t len);
/* Monotonic now in ns (the XDP program's clock base). */
__u64 cli_now_ns(void);

/* Parse an ADDR (or ADDR/LEN equal to the configured prefix) into the
 * source key the XDP program uses under cfg; prints the error. */
int cli_source_key(const char *arg, const struct mxt_config *cfg,
		   struct mxt_key *key, struct mxt_addr *addr);

/* Long option table entries shared by the read commands. */
#define CLI_OPT_JSON  { "json", no_argument, NULL, 'j' }
#define CLI_OPT_HELP  { "help", no_argument, NULL, 'h' }

#endif /* MXT_CLI_H */
