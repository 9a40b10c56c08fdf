/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * notify.h - the daemon's side of systemd's readiness protocol
 * (sd_notify(3), Type=notify): READY=1 once XDP is attached and the policy
 * socket listens, RELOADING=1 ... READY=1 around a SIGHUP reload,
 * STOPPING=1 on the way out, STATUS= lines with the sender counts, and
 * WATCHDOG=1 keep-alives when the unit sets WatchdogSec=.  Every call is
 * a no-op without $NOTIFY_SOCKET (started by hand, or by the tests
 * without a listener), so the daemon never depends on systemd.
 */
#ifndef MXT_NOTIFY_H
#define MXT_NOTIFY_H

#include <stdint.h>

#include "model.h"

/* READY=1 with a STATUS= line. */
void mxt_notify_ready(const char *status);
/* RELOADING=1 (a READY=1 must follow, whatever the reload's outcome). */
void mxt_notify_reloading(void);
/* STOPPING=1. */
void mxt_notify_stopping(void);
/* STATUS= with the model's sender counts. */
void mxt_notify_status_counts(const struct mxt_model_counts *k);
/* WATCHDOG=1. */
void mxt_notify_watchdog(void);
/* Microseconds between WATCHDOG=1 messages the unit asks for (half of
 * WatchdogSec=, as sd_watchdog_enabled(3) advises), or 0 when off. */
uint64_t mxt_notify_watchdog_interval(void);

#endif /* MXT_NOTIFY_H */
