/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * notify.c - sd_notify(3) messages for systemd's Type=notify (see
 * notify.h).  libsystemd does the socket work (abstract and path sockets,
 * credentials); failures are ignored on purpose: a lost notification must
 * never stop the daemon, and systemd reports a missing READY=1 itself.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "decision.h"
#include "notify.h"

void mxt_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status ? status : "running");
}

void mxt_notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void mxt_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=writing the last checkpoint");
}

void mxt_notify_status_counts(const struct mxt_model_counts *k)
{
	sd_notifyf(0, "STATUS=%llu senders: %llu new, %llu graylisted, %llu established, "
		   "%llu throttled, %llu blocked",
		   (unsigned long long)k->tracked, (unsigned long long)k->by_state[MXT_STATE_NEW],
		   (unsigned long long)k->by_state[MXT_STATE_GRAYLISTED],
		   (unsigned long long)k->by_state[MXT_STATE_ESTABLISHED],
		   (unsigned long long)k->by_state[MXT_STATE_THROTTLED],
		   (unsigned long long)k->by_state[MXT_STATE_BLOCKED]);
}

void mxt_notify_watchdog(void)
{
	sd_notify(0, "WATCHDOG=1");
}

uint64_t mxt_notify_watchdog_interval(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec / 2;
}
