/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * daemon_conf.h - mxthrottled's configuration file, mxthrottle.conf(5):
 * "name = value" lines (inih), '#' or ';' comments, no sections.  Three
 * kinds of keys share the file: the daemon's own (below), the kernel's
 * (cfgkeys.h: mode, ports, prefixes, per-class limits, global budget) and
 * the model's (model_params.h), each range-checked by its owner.  Unknown
 * keys are errors.  The first error is reported as "FILE:LINE: reason".
 */
#ifndef MXT_DAEMON_CONF_H
#define MXT_DAEMON_CONF_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>

#include "mxt_abi.h"
#include "loader.h"
#include "fleet.h"

#define MXT_CONF_DEFAULT      "/etc/mxthrottle/mxthrottle.conf"
#define MXT_CONF_IFACES_MAX   8
#define MXT_CONF_LISTEN_MAX   4
#define MXT_CONF_ALLOW_MAX    256
#define MXT_CONF_STR          256

/* Setter for keys the daemon does not own (the model's): 0 when taken,
 * -ENOENT when the key is not one of them, other -errno with 'err' set. */
typedef int (*mxt_conf_extra_fn)(void *ctx, const char *name, const char *value,
				 char *err, size_t errlen);

struct mxt_daemon_conf {
	char ifaces[MXT_CONF_IFACES_MAX][IF_NAMESIZE]; /* interface = NAME (repeatable) */
	int nifaces;
	enum mxt_xdp_mode attach_mode;     /* attach_mode = auto|native|skb */
	char pin_dir[PATH_MAX];            /* pin_dir */
	__u32 max_sources;                 /* max_sources (kernel map size) */
	char state_db[PATH_MAX];           /* state_db: LMDB file */
	__u32 checkpoint_interval;         /* seconds */
	__u32 tick_interval_ms;            /* milliseconds */
	char policy_listen[MXT_CONF_LISTEN_MAX][MXT_CONF_STR]; /* policy_listen (repeatable) */
	int npolicy_listen;
	int policy_listen_given;           /* a policy_listen line replaced the default */
	char policy_group[64];             /* group owning the policy unix socket */
	char control_socket[PATH_MAX];
	char metrics_listen[MXT_CONF_STR]; /* metrics_listen: inet:HOST:PORT ("" = off) */
	char user[64];                     /* drop to this user; "" or "root": keep root */
	char allow[MXT_CONF_ALLOW_MAX][64]; /* allow = CIDR (connectors), repeatable */
	int nallow;
	struct mxt_fleet_config fleet;     /* fleet_redis (repeatable), fleet_name, node_name, ... */
	struct mxt_config kernel;          /* kernel keys (cfgkeys.h) */
	mxt_conf_extra_fn extra;           /* model keys */
	void *extra_ctx;
	int extra_line;                    /* line of the last key 'extra' took (0: none) */
};

/* Documentation of the daemon's own keys, for -h, tests and the man page. */
struct mxt_daemon_key {
	const char *name;
	const char *defval;
	const char *desc;
};
size_t mxt_daemon_key_count(void);
const struct mxt_daemon_key *mxt_daemon_key_find(const char *name);
const struct mxt_daemon_key *mxt_daemon_key_at(size_t i);

/* Defaults for everything (kernel config for nr_cpus CPUs). */
void mxt_daemon_conf_defaults(struct mxt_daemon_conf *c, __u32 nr_cpus);

/* Apply one "name = value".  Repeatable keys append.  0 or -errno with a
 * reason (no file/line) in err. */
int mxt_daemon_conf_set(struct mxt_daemon_conf *c, const char *name, const char *value,
			char *err, size_t errlen);

/* Parse 'path' on top of the current contents of c (call defaults first).
 * On error c is unspecified (parse into a copy to keep an old config) and
 * err holds "PATH:LINE: reason" or "PATH: reason". */
int mxt_daemon_conf_load(struct mxt_daemon_conf *c, const char *path, char *err, size_t errlen);

/* runtime.conf: what "mxthrottle config set" changed while the daemon
 * ran, kept beside the history and so writable by the run user.  Read at
 * start-up as root, it is trusted with nothing that steers start-up: it
 * may hold only the runtime keys (mxt_cfgkey_runtime(): the kernel keys
 * but the source prefixes), one "name = value" per line of at most
 * MXT_RUNTIME_LINE_MAX bytes, in a regular file (not a symlink) of at most
 * MXT_RUNTIME_FILE_MAX bytes.  Any other line (user, paths, sockets,
 * interfaces, model keys, syntax errors, control characters) is refused
 * with "FILE:LINE: reason" passed to 'warn' and skipped: the other lines
 * still apply.  When the lines taken together fail the cross-key check
 * (a rate of 0 with a burst that is not), the whole file is ignored with
 * a warning.  Never an error: enforcement must not stop because of a file
 * the run user writes.  Returns the number of lines applied. */
#define MXT_RUNTIME_LINE_MAX 256
#define MXT_RUNTIME_FILE_MAX 65536
typedef void (*mxt_conf_warn_fn)(void *ctx, const char *msg);
int mxt_daemon_conf_load_runtime(struct mxt_daemon_conf *c, const char *path,
				 mxt_conf_warn_fn warn, void *ctx);

#endif /* MXT_DAEMON_CONF_H */
