/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.h - the Prometheus endpoint (metrics_listen): GET /metrics in
 * the text exposition format 0.0.4, served by libmicrohttpd from a thread
 * of its own.
 *
 * Where each number comes from, and why no scrape can slow the daemon:
 *   - the controller's and the model's counters are pushed by the main
 *     thread after each tick (mxt_metrics_update: a struct copy under the
 *     controller lock, then a memcpy under this module's own mutex); a
 *     scrape only ever takes that small mutex, never the controller lock;
 *   - the policy service's counters are relaxed atomic reads
 *     (mxt_policy_server_stats) and the decision histogram and per-code
 *     counters here are atomics the policy thread adds to without a lock;
 *   - the XDP verdict counters are read from the per-CPU stats map by the
 *     HTTP thread itself (bpf(2) lookups, no lock).  The program and its
 *     maps are shared by every interface it is attached to, so they are
 *     one global set, not per interface;
 *   - the fleet's (Redis) counters are copied by the main thread with the
 *     controller's, through the fleet's own short lock.
 *
 * Hardening (the endpoint faces the network): bound to one address given
 * in the configuration; GET and HEAD of /metrics only (404 for other
 * paths, 405 for other methods, request bodies refused); at most
 * MXT_METRICS_MAX_CONN connections (MXT_METRICS_MAX_PER_IP per client),
 * each closed after MXT_METRICS_TIMEOUT_S without progress; request
 * memory bounded by libmicrohttpd's per-connection pool.  The thread starts
 * after the privilege drop (mxt_metrics_start); the socket is bound
 * before it (mxt_metrics_bind), so a bad address fails the start-up.
 */
#ifndef MXT_METRICS_H
#define MXT_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include "controller.h"
#include "decision.h"
#include "fleet.h"
#include "model.h"

#define MXT_METRICS_MAX_CONN   16
#define MXT_METRICS_MAX_PER_IP 4
#define MXT_METRICS_TIMEOUT_S  10
#define MXT_METRICS_MEM_LIMIT  (32 * 1024) /* bytes of request state per connection */

/* Upper bounds (seconds) of the decision-latency histogram's buckets. */
#define MXT_METRICS_LAT_BUCKETS 14

struct mxt_maps;
struct mxt_policy_server;
struct mxt_metrics;

/* What the main thread pushes after each tick. */
struct mxt_metrics_snapshot {
	struct mxt_model_counts model;
	struct mxt_ctl_counters ctl;
	uint64_t kernel_sources;       /* mxt_sources entries seen by the sweeps */
	uint64_t kernel_capacity;      /* mxt_sources max_entries */
	uint64_t last_checkpoint;      /* unix seconds of the last good checkpoint (or start-up) */
	uint64_t now;                  /* unix seconds of this snapshot */
	int fleet;                     /* 1: a fleet runs, 'fleet_st' holds its counters */
	struct mxt_fleet_stats fleet_st;
};

/* Parses 'spec' ("inet:HOST:PORT", "inet:[V6]:PORT") and binds it;
 * the HTTP thread is not running yet.  0 or -errno with err set. */
int mxt_metrics_bind(const char *spec, struct mxt_metrics **out, char *err, size_t errlen);

/* The sources read at scrape time (either may be NULL), before start. */
void mxt_metrics_set_sources(struct mxt_metrics *m, const struct mxt_maps *maps,
			     const struct mxt_policy_server *policy);

/* Starts the HTTP thread.  0 or -errno. */
int mxt_metrics_start(struct mxt_metrics *m);

/* Stops the thread, closes the socket, frees 'm' (NULL is fine). */
void mxt_metrics_free(struct mxt_metrics *m);

/* Writes "inet:ADDR:PORT" of the bound socket (the port after an
 * ephemeral bind).  0 or -errno. */
int mxt_metrics_endpoint(const struct mxt_metrics *m, char *buf, size_t len);

/* Main thread: replace the controller's numbers. */
void mxt_metrics_update(struct mxt_metrics *m, const struct mxt_metrics_snapshot *s);

/* Fill a snapshot from a controller (mxt_ctl_snapshot) and the fleet
 * (NULL: none). */
void mxt_metrics_snapshot_take(struct mxt_controller *ctl, struct mxt_fleet *fleet,
			       uint64_t kernel_capacity, uint64_t last_checkpoint,
			       struct mxt_metrics_snapshot *s);

/* Policy thread: one decision with this code took 'seconds'.  Lock-free. */
void mxt_metrics_observe_decision(struct mxt_metrics *m, enum mxt_code code, double seconds);

/* The whole exposition into 'out' (what GET /metrics answers); 'now' is
 * unix seconds (the checkpoint age).  0 or -errno. */
int mxt_metrics_render(struct mxt_metrics *m, FILE *out, uint64_t now);

/* The histogram's upper bounds, for tests. */
extern const double mxt_metrics_lat_bounds[MXT_METRICS_LAT_BUCKETS];

#endif /* MXT_METRICS_H */
