/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * controller.h - the glue between the kernel maps, the model and the MTA:
 * one object that the daemon's threads share.
 *   - the tick (main thread): read the kernel's per-source counters, feed
 *     their deltas to the model, run the model's clock, write the classes
 *     and limits that changed into mxt_policy, log GRAYLIST / ESTABLISH /
 *     THROTTLE / RELEASE / BLOCK events;
 *   - the policy decision (policy thread): a Postfix request is evidence of
 *     a real session and gets the model's answer;
 *   - control commands (main thread, ctl_commands.c): explain, release,
 *     allow, config set, ...
 *   - persistence (ctl_persist.c): the connectors file, runtime_conf and
 *     checkpoints, which copy what changed out of the model under the
 *     lock and write it to the history database outside it.
 * One mutex guards the model, the kernel config in force and the
 * connectors.  Once the policy thread runs it is held for memory work
 * only, never across a map access or a file write, so the policy service
 * never waits on the kernel or on the disk; the one exception,
 * mxt_ctl_restore(), reads the history under it at start-up, before that
 * thread exists.  The counters and the test clock's offset are atomic;
 * the rest (files, db, hooks) belongs to the main thread alone, and the
 * fleet pointer does not change while the policy thread runs.
 */
#ifndef MXT_CONTROLLER_H
#define MXT_CONTROLLER_H

#include <stdint.h>
#include <stdio.h>

#include "mxt_abi.h"
#include "addr.h"
#include "decision.h"
#include "model.h"
#include "pinned.h"
#include "policy_proto.h"

struct mxt_hdb;
struct mxt_fleet;
/* Opaque: its fields are private to controller.c, ctl_commands.c and
 * ctl_persist.c (controller_int.h); everyone else uses the functions
 * below. */
struct mxt_controller;

/* The counters, one X(name) each: atomic inside the controller (both
 * threads write them, relaxed: each is a count of its own, and a
 * snapshot reads them one by one, not as one consistent set), plain in
 * a snapshot. */
#define MXT_CTL_COUNTERS(X)                                                   \
	X(ticks)                                                              \
	X(tick_usec_last)            /* wall time of the last tick */        \
	X(sources_read)              /* kernel entries read by the last tick */ \
	X(sweeps)                    /* full sweeps over mxt_sources */       \
	X(changes_written)           /* policy map updates/deletes */         \
	X(map_errors)                /* failed map reads/writes */            \
	X(checkpoints)                                                        \
	X(checkpoint_usec_last)                                               \
	X(checkpoint_lock_usec_last) /* of which the model lock was held */   \
	X(checkpoint_records_last)                                            \
	X(checkpoint_errors)                                                  \
	X(decisions)                 /* policy requests decided */            \
	X(connector_sessions)        /* ... from connectors (never deferred) */

#define MXT_CTL_COUNTER_PLAIN(name) uint64_t name;
struct mxt_ctl_counters {
	MXT_CTL_COUNTERS(MXT_CTL_COUNTER_PLAIN)
};
#undef MXT_CTL_COUNTER_PLAIN

/* What the daemon's status line, systemd's STATUS= and the metrics show,
 * taken in one hold of the lock (mxt_ctl_snapshot). */
struct mxt_ctl_snapshot {
	struct mxt_model_counts model;
	struct mxt_ctl_counters counters;
	uint64_t kernel_sources;      /* mxt_sources entries seen by the sweeps */
	uint64_t now;                 /* mxt_ctl_now() at the snapshot */
};

/* How to build a controller (mxt_ctl_new).  Zero is the default of every
 * field but the two required ones. */
struct mxt_ctl_opts {
	struct mxt_model *model;          /* required; the caller's, outlives the controller */
	const struct mxt_config *kcfg;    /* required: the kernel config in force (copied) */
	const struct mxt_maps *maps;      /* NULL: no kernel (tests, simulator, benches) */
	size_t max_sources;               /* sources one kernel map holds (mxt_sources, mxt_sources4:
					    * the loader sizes both alike); sizes the delta table;
					    * 0: MXT_MAX_SOURCES */
	uint64_t (*clock)(void);          /* unix seconds; NULL: time(2).  Tests inject theirs. */
	int test_mode;                    /* mxthrottled -T: "clock" and "seed" commands */
	const char *allow_file;           /* runtime connectors persist here; NULL or "": nowhere */
	const char *runtime_conf;         /* "config set" persists here; NULL or "": nowhere */
	/* Called (main thread) after "config set" changed the kernel config. */
	void (*on_config)(void *ctx, const struct mxt_config *kcfg);
	void *on_config_ctx;
	struct mxt_hdb *db;               /* NULL: no persistence (yet: mxt_ctl_set_db) */
};

/* A controller around opts->model, or NULL with the reason in err (a
 * missing model or kcfg, a path too long, out of memory). */
struct mxt_controller *mxt_ctl_new(const struct mxt_ctl_opts *opts, char *err, size_t errlen);
/* NULL is fine.  The model, maps, db and fleet stay the caller's. */
void mxt_ctl_free(struct mxt_controller *c);

/* The history database, opened after the controller (the daemon opens
 * it only after dropping privileges); NULL: none.  Main thread. */
void mxt_ctl_set_db(struct mxt_controller *c, struct mxt_hdb *db);

/* The fleet (fleet.h), which is started with the controller it serves;
 * NULL: none.  Set before the policy thread starts and cleared only
 * after it stopped, as the policy thread reads it without the lock. */
void mxt_ctl_set_fleet(struct mxt_controller *c, struct mxt_fleet *fleet);

/* Work on the model under the controller's lock (mxt_ctl_with_model). */
typedef int (*mxt_ctl_model_fn)(struct mxt_model *model, void *arg);

/* Calls fn(model, arg) with the controller's lock held and returns what fn
 * returns; the lock is released when fn returns, so no caller can forget
 * to.  For memory work only (the fleet thread merges other nodes'
 * history), never a syscall, so the policy thread never waits on one. */
int mxt_ctl_with_model(struct mxt_controller *c, mxt_ctl_model_fn fn, void *arg);

/* Model counts, counters and the kernel sources seen, in one hold of the
 * lock; any thread. */
void mxt_ctl_snapshot(struct mxt_controller *c, struct mxt_ctl_snapshot *s);

/* A copy of the kernel config in force; any thread. */
void mxt_ctl_kernel_config(struct mxt_controller *c, struct mxt_config *out);

/* The model key of 'a' under the prefixes in force.  Main thread only
 * (the config's one writer); takes no lock, so it may be called under
 * the fleet's. */
int mxt_ctl_key_from_addr(const struct mxt_controller *c, const struct mxt_addr *a,
			  struct mxt_key *key);

/* Keys that only a restart may change: the source prefixes shape every
 * key the model, the kernel maps and the history hold.  -EINVAL with the
 * one message "config set" and SIGHUP both give when 'key' is one of
 * them, else 0. */
int mxt_ctl_refuse_fixed_key(const char *key, char *err, size_t errlen);

/* SIGHUP: apply a re-read kernel config and model parameters, or change
 * nothing.  Refuses a change of a fixed key (mxt_ctl_refuse_fixed_key)
 * and invalid parameters; writes the kernel config, then swaps the
 * parameters and config under the lock.  0 or -errno with err set. */
int mxt_ctl_reload(struct mxt_controller *c, const struct mxt_config *kcfg,
		   const struct mxt_model_params *mp, char *err, size_t errlen);

/* One tick at 'now': kernel counters -> model -> kernel policy.  Returns
 * the number of policy changes written, or -errno. */
int mxt_ctl_tick(struct mxt_controller *c, uint64_t now);

/* Write every tracked source's kernel class (start-up, after a reboot). */
int mxt_ctl_reseed_kernel(struct mxt_controller *c, uint64_t now);

/* The policy service's callback (policy_server.h's mxt_policy_decide_fn). */
int mxt_ctl_decide(void *ctx, const struct mxt_policy_request *req, struct mxt_decision *out);

/* Connectors: in memory (for the policy service), in the kernel's LPM map,
 * and, when 'persist', in allow_file.  'cidr' is text ("198.18.0.0/24"). */
int mxt_ctl_allow_add(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen);
int mxt_ctl_allow_del(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen);
/* Load allow_file (one CIDR per line, '#' comments); missing file is fine. */
int mxt_ctl_allow_load(struct mxt_controller *c, char *err, size_t errlen);
/* Adopt (and persist) the connectors in the kernel's map that are not
 * ours: added with the CLI while no daemon ran.  Returns how many. */
int mxt_ctl_allow_adopt(struct mxt_controller *c);

/* Run one control command (argv as split by control.c); the body goes to
 * 'out'.  0, or -errno with the reason in err. */
int mxt_ctl_command(struct mxt_controller *c, int argc, char **argv, FILE *out,
		    char *err, size_t errlen);

/* Write what changed since the last checkpoint (everything after a failed
 * one) to the history.  Returns records written or -errno. */
int mxt_ctl_checkpoint(struct mxt_controller *c);
/* The same, every record (what a checkpoint after a failed one writes). */
int mxt_ctl_checkpoint_all(struct mxt_controller *c);

/* Load every record from the history into the model; returns records or -errno.
 * Holds the lock across the reads: call it before the policy thread starts. */
int mxt_ctl_restore(struct mxt_controller *c, char *err, size_t errlen);

/* The controller's time: clock() plus the test-mode offset. */
uint64_t mxt_ctl_now(const struct mxt_controller *c);

/* Test mode: give 'key' a history of 'per_hour' sessions every hour for
 * the last 'days' days (through the model's own admission path), as if it
 * had sent them.  For demos and end-to-end tests only. */
int mxt_ctl_seed(struct mxt_controller *c, const struct mxt_key *key, uint32_t per_hour,
		 uint32_t days, uint64_t now);

/* The grep-able log event for a kernel class change. */
const char *mxt_ctl_event_name(int old_class, uint32_t new_class);

#endif /* MXT_CONTROLLER_H */
