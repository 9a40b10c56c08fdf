/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * controller_int.h - what the controller's three files share and nobody
 * else needs: the controller itself (opaque in controller.h) for
 * controller.c (tick and decisions), ctl_commands.c (the control commands
 * and their formatters) and ctl_persist.c (connectors file, runtime.conf,
 * history checkpoints).  Not for other modules: they use controller.h's
 * functions.
 */
#ifndef MXT_CONTROLLER_INT_H
#define MXT_CONTROLLER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "controller.h"
#include "syn_delta.h"

#define MXT_CTL_ALLOW_MAX   MXT_MAX_ALLOW
#define MXT_CTL_INSTANCES   8192 /* recent message transactions remembered */
/* Kernel entries read per tick: a sweep over a larger mxt_sources spans
 * several ticks (16 for a million sources), so one tick's work stays
 * bounded (40 to 60 ms of CPU at a million sources here, more in the first
 * sweep while the model's and the delta table's pages are first touched)
 * and each source is read once per sweep. */
#define MXT_CTL_SCAN_MAX    65536
/* Entries read at once within a slice: the tick's buffers are sized by
 * this (about 2 MB), not by the slice; each read also sums mxt_front's
 * pending refusals (pinned.c), so not much smaller. */
#define MXT_CTL_READ_CHUNK  16384
#define MXT_CTL_PATH_MAX    (4096 + 16)

/* A connector CIDR, as the controller keeps it in memory. */
struct mxt_ctl_cidr {
	struct mxt_addr net;
	__u8 prefixlen;
};

/* The counters (controller.h's MXT_CTL_COUNTERS), atomic: written by
 * both threads, read by "status" and the STATS line without the lock
 * (relaxed: each is a count of its own). */
#define MXT_CTL_COUNTER_ATOMIC(name) _Atomic uint64_t name;
struct mxt_ctl_stats {
	MXT_CTL_COUNTERS(MXT_CTL_COUNTER_ATOMIC)
};
#undef MXT_CTL_COUNTER_ATOMIC

struct mxt_controller {
	pthread_mutex_t lock;         /* guards model, kcfg, allow[], nallow, allow_gen, instances */
	struct mxt_model *model;
	struct mxt_config kcfg;       /* the kernel config in force (prefixes, mode) */
	const struct mxt_maps *maps;  /* NULL: no kernel (tests, simulator) */
	struct mxt_syn_delta *deltas;
	struct mxt_scan_cursor scan;  /* the sweep over mxt_sources in progress */
	size_t scan_max;              /* entries per tick (MXT_CTL_SCAN_MAX) */
	struct mxt_hdb *db;           /* NULL: no persistence */
	int full_checkpoint;          /* next checkpoint rewrites every record (main thread) */
	struct mxt_ctl_cidr allow[MXT_CTL_ALLOW_MAX];
	int nallow;
	char allow_file[MXT_CTL_PATH_MAX]; /* runtime connectors persist here ("" = no) */
	uint64_t allow_gen;           /* bumped on every change of allow[] */
	uint64_t allow_saved_gen;     /* the generation in allow_file (main thread) */
	uint64_t instances[MXT_CTL_INSTANCES];
	struct mxt_ctl_stats st;
	uint64_t (*clock)(void);      /* unix seconds; injectable for tests */
	int test_mode;                /* mxthrottled -T: "clock" and "seed" commands */
	char runtime_conf[MXT_CTL_PATH_MAX]; /* "config set" through the daemon persists here */
	/* Called (main thread) after "config set" changed the kernel config. */
	void (*on_config)(void *ctx, const struct mxt_config *kcfg);
	void *on_config_ctx;
	_Atomic int64_t clock_offset; /* seconds added to clock() (test mode) */
	struct mxt_fleet *fleet;      /* NULL: no fleet (fleet.h) */
};

/* The counters: relaxed atomics, any thread. */
#define ST_INC(c, f)    atomic_fetch_add_explicit(&(c)->st.f, 1, memory_order_relaxed)
#define ST_SET(c, f, v) atomic_store_explicit(&(c)->st.f, (v), memory_order_relaxed)
#define ST_GET(c, f)    atomic_load_explicit(&(c)->st.f, memory_order_relaxed)

/* Monotonic microseconds, for the durations "status" reports. */
static inline uint64_t mxt_ctl_usec_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Record "key = value" pairs in c->runtime_conf ("config set"); 0 or
 * -errno (ctl_persist.c). */
int mxt_ctl_runtime_conf_save(struct mxt_controller *c, int n, const char *const *keys,
			      const char *const *vals);

#endif /* MXT_CONTROLLER_INT_H */
