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

#include <time.h>

#include "controller.h"

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
