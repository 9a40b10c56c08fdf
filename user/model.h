/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model.h - the pattern-change model: which sources are new, which are
 * established, which have suddenly changed their sending pattern, in the
 * manner of Exchange Online Protection's "IP throttling" (451 4.7.5xx).
 *
 * A pure library: no syscalls, no I/O, no clock, no globals.  Every call
 * takes 'now' (unix seconds) so a week of traffic runs in milliseconds and
 * the same inputs give the same outputs.  Not thread-safe: one model, one
 * lock (the daemon's).  Times are kept as 32-bit unix seconds (to 2106);
 * 'now' must not go backwards per source (earlier times are clamped).
 *
 * ---------------------------------------------------------------------
 * INPUTS
 *   mxt_model_observe_syns()   per-tick deltas of the kernel's per-source
 *       SYN counters.  SYNs are NOT evidence: source addresses of SYNs can
 *       be spoofed, so SYNs never create history, never promote a source,
 *       never make it GRAYLISTED or ESTABLISHED and never throttle it for a
 *       rate jump.  They feed only the SYN rate used for BLOCKED.  An
 *       unknown source is tracked (state NEW) only when one observation
 *       carries >= syn_track_min SYNs, so a random-source flood (one or two
 *       SYNs per address) creates no records at all.
 *       mxt_model_observe_syns_batch() does the same for many sources,
 *       prefetching table slots ahead (the pass is memory-bound).
 *   mxt_model_admit_session() / mxt_model_observe_session()   evidence of
 *       a real TCP session (a completed handshake, seen by the MTA): kind
 *       CONNECT counts one session (call it once per SMTP session), RCPT /
 *       EOM add 'recipients' (pass them at one stage only: 1 per RCPT, or
 *       recipient_count at END-OF-MESSAGE), DATA is evidence only.  'size'
 *       is accepted for the logs; v1 decisions do not use it.  admit
 *       decides and counts in one call (the policy service's hot path);
 *       observe counts a session that was accepted anyway (monitor mode,
 *       connectors) without deciding.
 *
 * STATES (enum mxt_state, decision.h) and TRANSITIONS, with reason codes
 * (reply_codes.h):
 *
 *   (none) --SYNs >= syn_track_min--> NEW                       OK_PROBATION
 *   (none)/NEW --first session--> GRAYLISTED                    OK_PROBATION
 *   GRAYLISTED --end of its establish_days-th clean day--> ESTABLISHED
 *                                                               OK_ESTABLISHED
 *   ESTABLISHED --rate > threshold (below)--> THROTTLED         RATE_JUMP
 *   THROTTLED --below release threshold for throttle_cooldown--> ESTABLISHED
 *                                  (RATE_COOLDOWN while cooling down)
 *   any --SYN rate > block threshold--> BLOCKED                 HARD_LIMIT
 *   BLOCKED --SYN rate < half the threshold for block_cooldown--> previous
 *                                  state (THROTTLED returns as ESTABLISHED)
 *   ESTABLISHED/THROTTLED --no session for absence_reset (30 d)--> GRAYLISTED
 *                                  with 0 clean days and no baseline
 *   NEW idle new_expire (1 h), GRAYLISTED without session absence_reset:
 *                                  forgotten (record deleted)
 *   operator: mxt_model_release() -> ESTABLISHED (relearns its baseline from
 *                                  the next active day, no rate-jump
 *                                  throttling until one day is learned);
 *             mxt_model_reset()   -> GRAYLISTED with 0 clean days;
 *             mxt_model_forget()  -> deleted (next session starts over).
 *
 * PROBATION (GRAYLISTED).  A source's days are 24-hour periods counted
 * from its first session: day 0 is the hour of the first session plus the
 * next 24 whole hours, day k (k >= 1) the 24 hours after that.  So day
 * boundaries fall on whole hours and a day is never shorter than 24 h.
 * At the end of each day with sessions, the day is CLEAN when it had at
 * least clean_day_min_sessions admitted sessions, at most
 * clean_day_max_deferred_pct % of its attempts deferred, and no throttle or
 * block; days_active counts clean days.  Allowance, sessions per clock hour:
 *       allowance = probation_schedule[min(days_active, len - 1)]
 *   default 20/h (day 0), 100/h (1 clean day), 500/h (2 clean days); after
 *   establish_days (3) clean days the source is ESTABLISHED -- at the end of
 *   its third day, i.e. 72-73 hours after its first session, never earlier.
 *   Over the allowance: 451 NEW_SENDER until the next clock hour.
 *   Recipients per clock hour are allowed up to allowance x
 *   probation_rcpts_per_session (default 5): above, 451 NEW_BURST.
 *   Day-0 sessions beyond new_sender_budget_free (3) per hour and source
 *   also draw on a gateway-wide GCRA budget of new_sender_budget sessions
 *   per hour (default 600, burst 1/6 of it): when it is empty, 451
 *   GLOBAL_BUDGET.  This is what defers snowshoe spam (hundreds of new
 *   addresses, each below its own allowance).  Budget deferrals count
 *   against a clean day like any other, so a persistent snowshoe address
 *   does not graduate; the price is that a legitimate newcomer arriving
 *   during a campaign may need an extra day.  Optional classic
 *   greylisting: greylist_delay seconds after the first session
 *   everything is deferred (off by default).
 *
 * BASELINE (what the source normally sends at this hour).  Learned from
 * admitted sessions per clock hour, in the profile's local time
 * (UTC + tz_offset_hours):
 *   wd[24]  weekday hour-of-day profile, sessions/h, EWMA over ACTIVE days
 *           (days with at least one session; a silent day teaches nothing,
 *           so a weekly newsletter keeps its Tuesday level) with
 *           alpha = max(1/baseline_days, 1/(days learned + 1)): the first
 *           days are a plain mean, then an EWMA with ~7 active days memory.
 *   we[8]   weekend profile in 3-hour blocks, same scheme
 *           (alpha = max(1/(3 baseline_weekend_days), 1/(3 n + j))).
 *   rps     recipients per session (EWMA, starts at 1).
 *   A source day covers each hour of the day exactly once; it counts as a
 *   learned weekday (or weekend day) by its noon.  Rate jumps are only
 *   judged against a learned profile: weekday hours need >= 1 learned
 *   weekday, weekend hours >= 1 learned day of either kind.
 *   Not learned while THROTTLED or BLOCKED (hours touched by either are
 *   skipped), and one hour adds at most
 *       cap = max(learn_cap_factor x slot, slot + jump_margin)
 *   so a slow ramp of a compromised sender grows the baseline at most
 *   ~15 %/day.  Stored as bfloat16 (8-bit mantissa, ~0.4 %).
 *   Expected rate at time t (hour h, local):
 *       E_wd = max(wd[h-1], wd[h], wd[h+1], offhours_fraction x max(wd))
 *       E    = weekday ? E_wd : max(we[block(h-1..h+1)], weekend_blend x E_wd)
 *       E    = max(E, baseline_floor)
 *   The +-1 hour neighbourhood absorbs DST and clock skew; the off-hours
 *   floor means a sender's evening batch at a tenth of its peak is not a
 *   "change"; weekdays are compared with weekdays, so Monday 10:00 is
 *   compared with the usual 10:00, not with Sunday night.
 *
 * CURRENT RATE.  Exponentially weighted, continuous time: on each session
 *   r <- r exp(-dt/tau) + 3600/tau  (sessions/h; steady state = true rate)
 * with tau = rate_window (600 s, "last 10 minutes") for r_slow and
 * rate_fast_window (60 s) for r_fast; recipients likewise (rr, 600 s); SYNs
 * with tau = 60 s in SYN/min.  Rates count ATTEMPTS (deferred sessions
 * too): a throttled sender's demand, not what it was allowed.
 *
 * RATE JUMP (ESTABLISHED with a learned profile -> THROTTLED), checked on
 * every session:
 *       r_slow > max(jump_factor E, E + jump_margin)            (5x, +60/h)
 *    or r_fast > max(jump_factor E, E + jump_fast_margin)       (5x, +480/h)
 *    or rr     > max(jump_factor E rps, E rps + rcpt_jump_margin) (+300/h)
 * The fast check catches a 20x jump of a 200/h sender within ~15-30 s; the
 * slow one catches small senders after enough evidence (a 10/h sender
 * jumping to 200/h within ~6 min), while a tiny sender's burst of a few
 * sessions ("3 instead of 1") stays under the absolute margins.
 * THROTTLED allows, per clock hour, max(throttle_allow_factor E,
 * throttle_allow_min) sessions (and that x rps recipients): about its usual
 * traffic, not zero; beyond: 451 RATE_JUMP (RATE_COOLDOWN once the rate
 * has fallen below the release threshold
 *       max(release_factor E, E + jump_margin)   (and the recipient analogue)
 * ).  It returns to ESTABLISHED throttle_cooldown (30 min) after the rate
 * fell below it, computed exactly from the decay (no tick dependence).
 * While THROTTLED a DEFERRED attempt counts throttle_retry_weight (0.25)
 * in the rates: deferred mail comes back as retries, and at full weight an
 * MTA's own backlog would keep it throttled for hours after its sending
 * calmed down (a spammer at 20x still measures ~6x, far above release).
 * For throttle_grace (2 h) after a throttle ends only the slow session
 * check applies: the MTA flushes its backlog in queue-run bursts, which
 * the fast and recipient checks would take for a new jump; a renewed 20x
 * jump is still caught by the slow check within ~2.5 minutes.
 *
 * BLOCKED when the SYN rate exceeds max(block_syn_rate, block_factor x
 * E/60) SYN/min; the kernel drops all its SYNs; released block_cooldown
 * after the SYN rate fell below half of that.
 *
 * KERNEL POLICY (mxt_model_tick callback): NEW -> no entry (class UNKNOWN:
 * delete it; the global budget covers such sources); GRAYLISTED -> class
 * GRAYLISTED with an override of allowance x kernel_headroom / 60 SYN/min
 * (>= kernel_min_rate, burst >= kernel_min_burst), so it grows with the
 * schedule; ESTABLISHED -> class ESTABLISHED (class limit); THROTTLED ->
 * class THROTTLED with an override at the jump threshold x kernel_headroom;
 * BLOCKED -> class BLOCKED.  The kernel is the backstop; the polite 451 is
 * the policy service's.
 *
 * MEMORY.  One 160-byte record per source (struct mxt_sender) in an open
 * addressing table (linear probing, backward-shift deletion, no per-record
 * malloc) of capacity x 5/4 slots, plus 8 bytes of tag and due time per
 * slot: ~210 bytes per tracked source at full capacity.  Tick cost: the
 * due[] array (4 bytes/slot) is scanned only when its minimum has passed,
 * and only due records are touched (day ends on probation, cool-downs,
 * expiry, pending kernel updates).
 * EVICTION when full: a clock hand samples occupied slots (64 at a time, up
 * to 4096) and evicts the least valuable: tier 0 NEW (SYN-only), then 1
 * GRAYLISTED, then 2 ESTABLISHED/THROTTLED idle longer than evict_protect;
 * oldest activity first within a tier.  ESTABLISHED sources active within
 * evict_protect and BLOCKED sources are never evicted: when only such
 * records remain, the newcomer is not tracked (-ENOSPC, counted; the
 * policy service fails open for it) and further newcomers of that tier
 * fail fast for the rest of that second.  A SYN observation may only evict
 * NEW records (a flood cannot push out history).  Deletions (evictions,
 * expiry, forget) are logged for the next tick (kernel entry deleted) and
 * the next dirty checkpoint (history_db.h).
 */
#ifndef MXT_MODEL_H
#define MXT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mxt_abi.h"
#include "decision.h"
#include "reply_codes.h"
#include "model_params.h"

/* What a session observation reports (policy delegation protocol_state). */
enum mxt_obs_kind {
	MXT_OBS_CONNECT = 0, /* a new SMTP session: counts one session, may defer */
	MXT_OBS_RCPT,        /* RCPT TO: adds 'recipients' (normally 1), may defer */
	MXT_OBS_DATA,        /* DATA: evidence only */
	MXT_OBS_EOM,         /* END-OF-MESSAGE: adds 'recipients', may defer */
	MXT_OBS_MAX
};

/* mxt_sender.flags */
#define MXT_SF_DIRTY    0x01 /* changed since the last mxt_model_mark_clean() */
#define MXT_SF_PENDING  0x02 /* kernel class/limit to be reported by the next tick */
#define MXT_SF_NOLEARN  0x04 /* the current hour is not learned (throttled/blocked) */
#define MXT_SF_DAY_WD   0x08 /* the current day learned a weekday noon */
#define MXT_SF_DAY_WE   0x10 /* the current day learned a weekend noon */
#define MXT_SF_DAY_BAD  0x20 /* the current day saw a throttle or block: not clean */
#define MXT_SF_RELEASED 0x40 /* made ESTABLISHED by the operator */
#define MXT_SF_COOLED   0x80 /* ESTABLISHED again after a throttle (grace applies) */
#define MXT_SF_VOLATILE (MXT_SF_DIRTY | MXT_SF_PENDING) /* not persisted */

/* One source's record: plain data, 160 bytes.  Public so that history_db
 * can persist every field and the CLI can explain; change only with the
 * history schema (history_db.h). */
struct mxt_sender {
	struct mxt_key key;     /* the source, masked */
	uint8_t  state;         /* enum mxt_state */
	uint8_t  prev_state;    /* state to return to when a block ends */
	uint8_t  code;          /* enum mxt_code: reason for the state */
	uint8_t  kclass;        /* MXT_CLASS_* the kernel should apply */
	uint8_t  flags;         /* MXT_SF_* */
	uint8_t  wd_days;       /* active days learned into wd[] (saturates) */
	uint8_t  we_days;       /* active days learned into we[] (saturates) */
	uint8_t  pad;
	uint16_t days_active;   /* clean days (saturates) */
	uint16_t day_deferred;  /* attempts deferred in the current day (saturates) */
	uint16_t hour_sessions; /* sessions admitted in 'hour' (saturates) */
	uint16_t krate;         /* kernel override, SYN/min; 0 = the class limit */
	uint32_t first_seen;    /* unix s: first SYN or session */
	uint32_t anchor_hour;   /* hour number (unix/3600) that day 0 starts at */
	uint32_t state_since;   /* unix s the state was entered */
	uint32_t last_session;  /* unix s of the last session evidence (0 = none) */
	uint32_t last_seen;     /* unix s of the last SYN or session */
	uint32_t hour;          /* hour number of hour_sessions / hour_rcpts */
	uint32_t hour_rcpts;    /* recipients admitted in 'hour' */
	uint32_t day_sessions;  /* sessions admitted in the current day */
	uint32_t rate_t;        /* unix s the rates below were decayed to */
	uint32_t cool_from;     /* THROTTLED/BLOCKED: when the rate fell below release */
	float    r_fast;        /* sessions/h, tau = rate_fast_window */
	float    r_slow;        /* sessions/h, tau = rate_window */
	float    rr;            /* recipients/h, tau = rate_window */
	float    syn_rate;      /* SYN/min, tau = 60 s */
	float    rps;           /* baseline recipients per session */
	uint16_t wd[24];        /* weekday profile, sessions/h, bfloat16 */
	uint16_t we[8];         /* weekend profile (3-hour blocks), bfloat16 */
};

/* A change of a source's kernel policy, for the daemon to write. */
struct mxt_model_change {
	struct mxt_key key;
	enum mxt_state state;   /* the source's state now */
	enum mxt_code code;     /* reason for it */
	uint32_t klass;         /* MXT_CLASS_*; MXT_CLASS_UNKNOWN: delete the entry */
	uint32_t flags;         /* MXT_POLICY_F_OVERRIDE when 'limit' applies */
	struct mxt_limit limit; /* derived (mxt_limit_derive, 1 share) */
};

/* Called by mxt_model_tick() for each change; must not call into the model. */
typedef void (*mxt_model_change_fn)(void *ctx, const struct mxt_model_change *c);
/* Iteration callback; a non-zero return stops the iteration and is returned. */
typedef int (*mxt_model_iter_fn)(void *ctx, const struct mxt_sender *s);
/* Callback over keys deleted since the last mxt_model_mark_clean(). */
typedef int (*mxt_model_key_fn)(void *ctx, const struct mxt_key *k);

/* Counters, for stats and tests. */
struct mxt_model_counts {
	uint64_t tracked;                /* records held */
	uint64_t capacity;               /* records the table may hold */
	uint64_t by_state[MXT_STATE_MAX];
	uint64_t evicted;                /* records evicted to make room */
	uint64_t rejected_full;          /* newcomers not tracked: nothing evictable */
	uint64_t expired;                /* records forgotten by age */
	uint64_t syns_untracked;         /* SYNs of sources below syn_track_min */
	uint64_t admitted;               /* admit calls that admitted */
	uint64_t deferred[MXT_CODE_MAX]; /* admit calls that deferred, by code */
	uint64_t throttles;              /* ESTABLISHED -> THROTTLED */
	uint64_t blocks;                 /* -> BLOCKED */
	uint64_t established;            /* GRAYLISTED -> ESTABLISHED */
	uint64_t changes;                /* kernel policy changes reported */
	uint64_t tick_scans;             /* ticks that scanned the table (something was due) */
	uint64_t tick_visits;            /* records those scans looked at */
	uint64_t memory_bytes;           /* footprint of the table */
};

/* mxt_model_foreach() flags */
#define MXT_ITER_DIRTY   0x1 /* only records changed since the last mark_clean */
#define MXT_ITER_PERSIST 0x2 /* skip NEW records (SYN-only: not history) */

struct mxt_model;

/* A model for at most 'capacity' sources (>= 16), with parameters 'p'
 * (NULL: defaults).  NULL with errno EINVAL (bad parameters) or ENOMEM. */
struct mxt_model *mxt_model_new(const struct mxt_model_params *p, size_t capacity);
/* Free the model (NULL is fine). */
void mxt_model_free(struct mxt_model *m);
/* Replace the parameters (SIGHUP); 0 or -EINVAL (model unchanged). */
int mxt_model_set_params(struct mxt_model *m, const struct mxt_model_params *p);
/* The parameters in force. */
const struct mxt_model_params *mxt_model_get_params(const struct mxt_model *m);
/* Seed the key hash (the daemon passes random bytes so that addresses
 * cannot be chosen to collide); only while empty: 0 or -EBUSY. */
int mxt_model_set_hash_seed(struct mxt_model *m, uint64_t seed);

/* Per-tick deltas of one source's kernel counters (all SYNs, dropped ones). */
int mxt_model_observe_syns(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			   uint64_t syns, uint64_t dropped);
/* One source's deltas, for the batch call. */
struct mxt_syn_obs {
	struct mxt_key key;
	uint64_t syns;     /* counted SYNs since the last tick (dropped included) */
	uint64_t dropped;  /* of which dropped */
};
/* The same for n sources at once, prefetching ahead (faster on big tables):
 * 0, or -EINVAL when some key was invalid (the others are applied). */
int mxt_model_observe_syns_batch(struct mxt_model *m, const struct mxt_syn_obs *obs, size_t n,
				 uint64_t now);
/* Count a session event accepted anyway (no decision). */
int mxt_model_observe_session(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			      enum mxt_obs_kind kind, uint32_t recipients, uint64_t size);
/* Decide a session event and count it: fills 'd' (may be NULL); returns
 * d->defer (0 admit, 1 defer) or -errno (-ENOSPC: not tracked; 'd' then
 * holds the decision for an untracked newcomer). */
int mxt_model_admit_session(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			    enum mxt_obs_kind kind, uint32_t recipients, uint64_t size,
			    struct mxt_decision *d);
/* Pure read: the decision for the next CONNECT of 'key' at 'now' (what
 * admit would answer, without counting).  Unknown keys get the decision
 * for a newcomer (state NEW, tracked 0).  0 or -EINVAL. */
int mxt_model_decide(const struct mxt_model *m, const struct mxt_key *key, uint64_t now,
		     struct mxt_decision *d);
/* Time-driven transitions; calls cb (may be NULL) for every source whose
 * kernel class or override changed, or that was deleted (class UNKNOWN).
 * Returns the number of changes reported. */
int mxt_model_tick(struct mxt_model *m, uint64_t now, mxt_model_change_fn cb, void *ctx);

/* Fleet (fleet.c): count an attempt another node deferred, as this
 * node's own deferred attempt would count (rates, the day's deferrals). */
int mxt_model_observe_deferred(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			       enum mxt_obs_kind kind, uint32_t recipients);

/* Operator: make 'key' ESTABLISHED (tracked if it was not). */
int mxt_model_release(struct mxt_model *m, const struct mxt_key *key, uint64_t now);
/* Operator: restart probation (GRAYLISTED, 0 clean days, no baseline). */
int mxt_model_reset(struct mxt_model *m, const struct mxt_key *key, uint64_t now);
/* Operator: forget 'key' entirely; -ENOENT when not tracked. */
int mxt_model_forget(struct mxt_model *m, const struct mxt_key *key, uint64_t now);

/* The record of 'key', or NULL (valid until the next mutating call). */
const struct mxt_sender *mxt_model_lookup(const struct mxt_model *m, const struct mxt_key *key);
/* Visit records (MXT_ITER_* flags), in table order. */
int mxt_model_foreach(const struct mxt_model *m, unsigned flags, mxt_model_iter_fn fn, void *ctx);
/* Visit keys deleted since the last mark_clean (for dirty checkpoints). */
int mxt_model_foreach_removed(const struct mxt_model *m, mxt_model_key_fn fn, void *ctx);
/* 1 when deletions were lost since the last mark_clean (log overflow): the
 * next checkpoint must rewrite everything. */
int mxt_model_removed_overflow(const struct mxt_model *m);
/* After a successful checkpoint: clear dirty flags and the deletion log. */
void mxt_model_mark_clean(struct mxt_model *m);
/* Insert a loaded record (replacing one of the same key); it is reported
 * to the next tick (PENDING) unless of class UNKNOWN.  0, -EINVAL, -ENOSPC. */
int mxt_model_restore(struct mxt_model *m, const struct mxt_sender *s);

/* Records held; counters. */
size_t mxt_model_count(const struct mxt_model *m);
void mxt_model_counts(const struct mxt_model *m, struct mxt_model_counts *c);
/* Bytes held by the model (table, arrays, logs). */
size_t mxt_model_memory(const struct mxt_model *m);

/* Helpers shared with the CLI and the simulator. */
const char *mxt_state_name(enum mxt_state s);        /* "graylisted" */
const char *mxt_obs_kind_name(enum mxt_obs_kind k);  /* "connect" */
/* Expected sessions/h of a record at 'now' (the baseline E above). */
double mxt_model_expected(const struct mxt_model *m, const struct mxt_sender *s, uint64_t now);
/* bfloat16 <-> float, as used by the profiles. */
float mxt_bf16_to_float(uint16_t v);
uint16_t mxt_float_to_bf16(float f);

#endif /* MXT_MODEL_H */
