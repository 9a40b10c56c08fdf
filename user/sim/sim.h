/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim.h - the simulator: replays traffic through the same model (model.h)
 * with a virtual clock, behind a software copy of the kernel's per-source
 * GCRA limits and global budget (gcra.h), so a week of a mail gateway's
 * traffic runs in seconds and says what the model would have done.
 *
 * Two inputs:
 *  - a CSV trace, one attempt per line: "time,source[,outcome]"; time is
 *    unix seconds, or seconds from the start (values below 10^9; the start
 *    is a Monday 00:00 UTC, --start to change); source an IPv4/IPv6
 *    address (keyed /32, /64); outcome "session" (default: a SYN, then
 *    CONNECT and END-OF-MESSAGE with one recipient) or "syn" (a SYN only).
 *    '#' comments, blank lines and a header line are skipped; lines are
 *    replayed in time order (stable).  No retries: the trace is what
 *    happened.
 *  - a synthetic week (deterministic for a seed), after --warmup days of
 *    history for the established senders (released as if loaded from the
 *    history db, then learning):
 *      established   Zipf-sized senders (peak 1500/h .. ~4/h), daily cycles,
 *                    weekends at 20-50 %, day-to-day jitter; MTAs that retry
 *      new-legit     senders appearing during the first 3 days, steady and
 *                    modest (peak 8-15 sessions/h), MTAs that retry
 *      snowshoe      a fresh block of addresses every weekday, each sending
 *                    6-20 sessions/h from 09:00 to 15:00, 5-20 recipients,
 *                    bots that never retry
 *      burst         one new address sending 3000 sessions/h for 2 hours
 *      compromised   an established 200/h-peak sender whose traffic jumps
 *                    20x on day 3 at 10:00 for 3 hours (spam: 25 recipients,
 *                    not retried; its normal mail is retried)
 *      spoofed-flood 2000 SYN/s from random addresses of 198.19.0.0/16 for
 *                    10 minutes on day 4 at 03:00: SYNs only, never a session;
 *                    none has a policy, so the global budget alone decides:
 *                    its stopped% is the flood's excess over global_rate
 *                    (the default 60000/min admits half of it), and what
 *                    it shows is that the flood leaves no record
 *    Addresses: 198.18.0.0/16 and 2001:2::/48 (legitimate and spam),
 *    198.19.0.0/16 (spoofed).
 *
 *  - a named scenario (--scenario NAME, or "all"): one behaviour over
 *    days or weeks (weekly bursts, growth, backlog, migration, batches,
 *    a sender back after 31 days, snowshoe over one /48 or /24, a NAT, a
 *    compromised sender at 3x, 4.5x, 20x), each judged against its target
 *    (sim_scen.c lists them).
 * Sessions are driven as mxthrottled drives the model: a SYN through the
 * software kernel, CONNECT, then one RCPT per recipient; SYN deltas and
 * mxt_model_tick() every 'tick' seconds (1).  MTAs retry deferred mail
 * as Postfix does: after 300, 600, 1200, 2400, 4000 s, then every 4000 s,
 * for at most 5 days (then the message expires: a bounce).
 *
 * Output, per population: attempts, allowed, deferred (451 by the policy
 * service), dropped (SYN dropped by the kernel), false positives
 * (legitimate attempts deferred or dropped, %), spam stopped (%), messages
 * delivered, delayed (mean, max), expired; time to throttle after the
 * jump, days to full establishment; as a table or JSON.
 *
 * A fleet (--fleet N, sim_fleet.c): N nodes, each with its own model and
 * its own software kernel; every attempt goes to a node drawn uniformly
 * (an MTA picking among equal-preference MX hosts, again on each retry);
 * at each tick every node replays what the others admitted and deferred
 * into its model, as mxthrottled's fleet does (docs/fleet.md: one tick
 * late; events of a past clock hour are not applied).  N = 1 is the
 * single host.
 */
#ifndef MXT_SIM_H
#define MXT_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

/* Populations of the synthetic week (and the trace). */
enum mxt_sim_pop {
	MXT_SIM_ESTABLISHED = 0,
	MXT_SIM_NEW_LEGIT,
	MXT_SIM_SNOWSHOE,
	MXT_SIM_BURST,
	MXT_SIM_COMPROMISED,
	MXT_SIM_SPOOFED,
	MXT_SIM_TRACE,
	MXT_SIM_POP_MAX
};

#define MXT_SIM_FLEET_MAX 16 /* nodes of a simulated fleet */

/* What to simulate. */
struct mxt_sim_config {
	uint64_t seed;          /* RNG seed (1) */
	unsigned days;          /* measured days (7) */
	unsigned warmup_days;   /* history before them (14) */
	uint64_t start;         /* unix s of the measured start (Mon 2024-01-01 00:00 UTC) */
	unsigned tick;          /* s between model ticks and SYN observations (1) */
	double scale;           /* population sizes x this (1.0) */
	size_t capacity;        /* model capacity (262144) */
	const char *trace;      /* CSV path; NULL: synthetic */
	const char *scenario;   /* a scenario name (mxt_sim_scenario_name()); NULL: none */
	unsigned fleet;         /* nodes (1; 0 counts as 1) */
	int fleet_isolated;     /* 1: the nodes share nothing (a fleet without Redis) */
	struct mxt_model_params params;
	/* the software kernel's configuration: the daemon's defaults
	 * (mxt_config_defaults(), one CPU), changed with mxt_config_set() */
	struct mxt_config kernel;
};

/* Results of one population. */
struct mxt_sim_pop_result {
	const char *name;
	int used;                /* population present */
	int legit;               /* 1: all its traffic is legitimate */
	uint64_t sources;        /* distinct source addresses */
	uint64_t attempts;       /* session attempts (SYNs for the spoofed flood) */
	uint64_t allowed;        /* sessions accepted (SYNs passed for the flood) */
	uint64_t deferred;       /* 451 from the policy service */
	uint64_t dropped;        /* SYN dropped by the kernel */
	uint64_t legit_attempts; /* the legitimate part of the above */
	uint64_t legit_stopped;  /* ... deferred or dropped */
	uint64_t spam_attempts;
	uint64_t spam_stopped;
	uint64_t messages;       /* messages born in the measured period (MTA pops) */
	uint64_t delivered;      /* ... delivered by the end */
	uint64_t delayed;        /* ... delivered after at least one deferral/drop */
	double delay_mean;       /* s from birth to delivery of the delayed ones (-1: none) */
	double delay_max;        /* s, the longest of them (0: none) */
	uint64_t expired;        /* ... given up after the queue lifetime (bounced) */
	uint64_t pending;        /* ... still queued at the end */
	double throttled_h_week; /* most hours/week any of its sources was THROTTLED or BLOCKED */
	uint64_t throttles;      /* ESTABLISHED -> THROTTLED of its sources in the measured days */
	double fp_pct;           /* legit_stopped / legit_attempts, % (-1: none) */
	double spam_stopped_pct; /* spam_stopped / spam_attempts, % (-1: none) */
	double throttle_after;   /* s from the jump to THROTTLED (-1: never/none) */
	uint64_t reached[MXT_STATE_MAX]; /* sources that were ever in each state */
	uint64_t established_n;  /* new-legit: sources ESTABLISHED by the end */
	double days_to_establish;     /* mean over those (-1: none) */
	double days_to_establish_max;
	double days_to_establish_min;
	uint64_t deferred_by[MXT_CODE_MAX];
	/* probation allowance used: sessions admitted (fleet-wide) while its
	 * sources were NEW or GRAYLISTED, in the measured days */
	uint64_t prob_admitted;
	uint64_t prob_hours;     /* source-hours with at least one of them */
	uint64_t prob_max_hour;  /* most of them in one source-hour */
	/* spoofed flood: the most SYNs its hosts' global budgets admit over
	 * it (sim_kernel.c); stopped% is the flood's excess over them */
	uint64_t budget_most;
};

/* One node of a fleet run. */
struct mxt_sim_node_result {
	uint64_t attempts;       /* session attempts (and flood SYNs) it received */
	uint64_t allowed;        /* ... admitted (SYNs passed for the flood) */
	uint64_t deferred;       /* ... deferred by its policy service */
	uint64_t dropped;        /* ... SYNs dropped by its kernel */
	uint64_t replayed;       /* other nodes' events applied to its model */
	uint64_t stale;          /* ... of a past clock hour (merged into it) */
	uint64_t kernel_changes; /* its policy map writes */
	double jump_throttled_after; /* s from a jump to THROTTLED in its kernel (-1: never/none) */
	uint64_t spoof_tracked;  /* spoofed-range records in its model at the end */
	uint64_t spoof_history;  /* ... of them GRAYLISTED or ESTABLISHED */
	uint64_t new_established; /* new-legit sources ESTABLISHED in its model at the end */
	struct mxt_model_counts counts; /* its model at the end */
};

/* Results of a run. */
struct mxt_sim_result {
	uint64_t seed;
	unsigned days, warmup_days, tick;
	uint64_t start;
	double scale;
	int synthetic;
	uint64_t events;         /* attempts processed (incl. warm-up) */
	uint64_t kernel_changes; /* policy map writes */
	uint64_t trace_lines;
	uint32_t global_rate;    /* the kernel's global budget per host: SYN/min */
	uint32_t global_burst;   /* ... and burst */
	struct mxt_model_counts counts; /* at the end */
	struct mxt_sim_pop_result pop[MXT_SIM_POP_MAX];
	/* a scenario run: */
	const char *scenario;    /* its name (NULL: none) */
	const char *scen_what;   /* one line: what it simulates */
	const char *scen_target; /* one line: its target */
	char scen_got[160];      /* what was measured against the target */
	int scen_pass;           /* 1: target met */
	/* a fleet run (fleet > 1): */
	unsigned fleet;          /* nodes (1: a single host) */
	int fleet_isolated;
	struct mxt_sim_node_result node[MXT_SIM_FLEET_MAX];
};

/* Defaults (above). */
void mxt_sim_config_default(struct mxt_sim_config *c);
/* Run; 0 or -errno with 'err' set. */
int mxt_sim_run(const struct mxt_sim_config *c, struct mxt_sim_result *r, char *err, size_t errlen);
/* Print a table (json 0) or one JSON object (json 1). */
int mxt_sim_print(const struct mxt_sim_result *r, FILE *out, int json);
/* A fleet run against the single-host run of the same configuration:
 * each node's share, and per population the allowance used, throttles,
 * time to throttle and to establish, and the fate of messages (a table,
 * or one JSON object with json 1). */
int mxt_sim_print_fleet(const struct mxt_sim_result *fleet, const struct mxt_sim_result *single,
			FILE *out, int json);
/* The scenarios: count and i-th name (NULL past the end). */
size_t mxt_sim_scenario_count(void);
const char *mxt_sim_scenario_name(size_t i);
/* One table line per scenario result (header with hdr 1). */
int mxt_sim_print_scenario(const struct mxt_sim_result *r, FILE *out, int hdr);

#endif /* MXT_SIM_H */
