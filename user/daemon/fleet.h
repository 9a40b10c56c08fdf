/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet.h - several mxthrottled nodes sharing one view of every sender on
 * Redis (design and key layout: docs/fleet.md).  A fleet thread owns the
 * Redis connections; the rest of the daemon only calls these hooks, none
 * of which does I/O or waits on Redis:
 *   mxt_fleet_note()      policy thread, under the controller's lock: one
 *                         admitted or deferred event of this node;
 *   mxt_fleet_tick()      the controller's tick: wake the fleet thread, run
 *                         the operator actions other nodes announced;
 *   mxt_fleet_changes()   the controller's tick: the kernel policy changes
 *                         it wrote (a SYN-flood block here is announced);
 *   mxt_fleet_announce()  a control command that succeeded here;
 *   mxt_fleet_status()    `daemon status`, `fleet status`.
 * The fleet thread applies other nodes' events to the model under the
 * controller's lock (memory only), so decisions are at most one tick
 * stale.  Redis down, slow or partitioned stops nothing: the node goes on
 * with its own view and merges when Redis is back.
 */
#ifndef MXT_FLEET_H
#define MXT_FLEET_H

#include <stdint.h>
#include <stdio.h>

#include "fleet_proto.h"
#include "model.h"

struct mxt_controller;
struct mxt_jw;
struct mxt_fleet;

struct mxt_fleet_config {
	char endpoints[MXT_FLEET_SHARDS_MAX][MXT_FLEET_EP_MAX]; /* fleet_redis */
	int nendpoints;
	char fleet[MXT_FLEET_NAME_MAX];  /* fleet_name */
	char node[MXT_FLEET_NAME_MAX];   /* node_name */
	uint32_t buffer;                 /* fleet_buffer: source-hours buffered */
	uint32_t join_timeout;           /* fleet_join_timeout: seconds */
};

struct mxt_fleet_stats {
	uint64_t exchanges;         /* pipelines sent (all shards) */
	uint64_t round_trips;       /* pipelines that were answered */
	uint64_t exchange_usec_last;/* the last exchange, every shard */
	uint64_t batches;           /* batches acknowledged */
	uint64_t deltas_sent;       /* source-hours in them */
	uint64_t records_sent;      /* sender records written */
	uint64_t entries_read;      /* log entries of other nodes applied */
	uint64_t deltas_applied;    /* source-hours of other nodes applied */
	uint64_t sessions_applied;  /* sessions (admitted + deferred) of other nodes */
	uint64_t stale;             /* deltas of a past hour (merged late), into that hour */
	uint64_t dups;              /* log entries seen twice (a re-sent batch) */
	uint64_t bad;               /* undecodable entries */
	uint64_t outages;           /* shard connections lost or refused */
	uint64_t reconnects;        /* ... and won back */
	uint64_t refills;           /* shards found empty and refilled */
	uint64_t joined_records;    /* records learned at join */
	uint64_t ops_sent, ops_applied, ops_dropped;
	uint64_t blocks_sent;       /* SYN-flood blocks of this node announced (and renewed) */
	uint64_t blocks_applied;    /* ... of other nodes applied here */
	uint64_t dropped;           /* counts lost: buffer full */
	uint64_t backlog;           /* source-hours waiting for Redis */
};

/* Parse and check the configuration (endpoints, names); 0 or -EINVAL. */
int mxt_fleet_config_check(const struct mxt_fleet_config *cfg, char *err, size_t errlen);

/* A fleet around controller c (its model and lock); the thread starts at
 * once.  NULL with err filled. */
struct mxt_fleet *mxt_fleet_start(const struct mxt_fleet_config *cfg, struct mxt_controller *c,
				  char *err, size_t errlen);
/* Wait (at most cfg->join_timeout s) until the shared history is learned;
 * 1 joined, 0 timed out (go on with the local view). */
int mxt_fleet_join_wait(struct mxt_fleet *f);
/* Stop the thread (one last exchange is tried) and free. */
void mxt_fleet_stop(struct mxt_fleet *f);

/* Hooks (see above). */
void mxt_fleet_note(struct mxt_fleet *f, const struct mxt_key *key, uint64_t now,
		    enum mxt_fleet_cnt_idx idx, uint32_t n);
void mxt_fleet_tick(struct mxt_fleet *f, uint64_t now);
void mxt_fleet_changes(struct mxt_fleet *f, const struct mxt_model_change *v, size_t n, uint64_t now);
void mxt_fleet_announce(struct mxt_fleet *f, int argc, char *const *argv);
/* 1 while the controller runs an action another node announced. */
int mxt_fleet_remote(const struct mxt_fleet *f);

void mxt_fleet_get_stats(struct mxt_fleet *f, struct mxt_fleet_stats *st);
/* One line for `daemon status` (text) or a "fleet" member (JSON). */
void mxt_fleet_status_brief(struct mxt_fleet *f, FILE *out, struct mxt_jw *w);
/* `fleet status`: nodes seen with their lag, endpoints and their health. */
void mxt_fleet_status(struct mxt_fleet *f, FILE *out, int json);

#endif /* MXT_FLEET_H */
