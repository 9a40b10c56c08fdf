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
 * The counts may come from anywhere (this daemon's policy service, or
 * fleet-wide counters): the model needs only these calls and 'now'.
 *
 * STATES, every TRANSITION with its condition, and the FORMULAS are in
 * docs/model.md (with a state diagram).  In short:
 *
 *   (none) --SYNs >= syn_track_min--> NEW --first session--> GRAYLISTED
 *   GRAYLISTED --end of its establish_days-th clean day--> ESTABLISHED
 *       clean: admitted sessions, no throttle/block, at most
 *       clean_day_max_deferred_pct % deferred by a new-sender budget
 *       (deferrals by its own allowance do not count)
 *   ESTABLISHED --fast, sustained (CUSUM) or recipient check--> THROTTLED
 *   THROTTLED --below release for throttle_cooldown, or throttle_max
 *       reached--> ESTABLISHED (end_why: rate, time, operator)
 *   any --SYN rate > block threshold--> BLOCKED --below half for
 *       block_cooldown--> previous state
 *   ESTABLISHED/THROTTLED --no session for absence_reset--> GRAYLISTED,
 *       profile kept (its level is the returning sender's allowance)
 *   NEW idle new_expire, GRAYLISTED without session absence_reset: forgotten
 *   operator: release -> ESTABLISHED, reset -> GRAYLISTED, forget -> deleted
 *
 * PROBATION allowance per clock hour: probation_schedule[clean days]
 * (20, 100, 500); day-0 senders share prefix_budget sessions/h per /24
 * (v4) or /48 (v6) and, beyond new_sender_budget_free, the gateway-wide
 * new_sender_budget.  The profile follows the latest, largest day.
 *
 * BASELINE E at hour h: the weekday (wd[24]) or weekend (we[8]) hour
 * profile, +-1 hour, floored at offhours_fraction of the peak, times the
 * hour-of-week multiplier 2^(wk/4) (wk: 168 4-bit slots), at least
 * baseline_floor.  Learned over active days; growth beyond noise at
 * learn_up_alpha; weekend growth lifts the weekday profile.
 *
 * CHECKS of an ESTABLISHED sender, on each session:
 *   fast       r_fast > max(jump_factor E, E + jump_fast_margin,
 *              E + burst_factor B), >= fast_min_count sessions in its window
 *   sustained  CUSUM S = max(0, S - cusum_k E dt) + 1 per new session >
 *              cusum_z sqrt(cusum_k E D) + cusum_min + one usual burst
 *   recipients rr far above E x rps, and out of proportion to the sessions
 * B (usual burst) and D (dispersion) are learned per sender.  Sessions
 * taken for retries of deferred mail (backlog, older than 300 s) count
 * throttle_retry_weight in the rates and nothing in the checks.
 * THROTTLED allows max(throttle_allow_factor E, throttle_allow_min) per
 * hour plus up to as much again for its queue to drain.
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
 * MEMORY.  One 280-byte record per source (struct mxt_sender) in an open
 * addressing table (linear probing, backward-shift deletion, no per-record
 * malloc) of capacity x 5/4 slots, plus 8 bytes of tag and due time per
 * slot, and 4096 prefix budgets: ~361 bytes per tracked source.  Tick cost: the
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

/* One source's record: plain data, 280 bytes.  Public so that history_db
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
	uint8_t  sess;          /* what the current session is: retry, deferred (model.c) */
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
	/* history schema 2 */
	float    cusum;         /* CUSUM of new sessions over cusum_k x E (sessions) */
	float    backlog;       /* deferred sessions not seen again yet (retries to come) */
	float    young;         /* ... of which deferred within the last minimal backoff (300 s) */
	uint32_t cusum_t;       /* unix s 'cusum' was drained to */
	uint16_t hour_demand;   /* new (not retried) CONNECT attempts in 'hour' (saturates) */
	uint16_t hour_peak;     /* highest fast rate of new sessions in 'hour', sessions/h */
	uint16_t day_bdef;      /* attempts deferred by a new-sender budget in the current day */
	uint16_t trig_rate;     /* THROTTLED: rate of the check that fired, per h (bfloat16) */
	uint16_t trig_base;     /* ... the baseline it was judged against (bfloat16) */
	uint16_t trig_thr;      /* ... and the threshold it passed (bfloat16) */
	uint16_t burst;         /* usual peak fast rate of an active hour, sessions/h (bfloat16) */
	uint8_t  trig;          /* enum mxt_check that fired (THROTTLED/BLOCKED) */
	uint8_t  end_why;       /* enum mxt_end: how the last throttle or block ended */
	uint8_t  disp;          /* dispersion of hourly counts (variance/mean), x 1/8 */
	uint16_t wk_seen;       /* 2 bits per weekday (local): weeks learned into wk[], 0..3 */
	uint8_t  wk[84];        /* hour-of-week profile: 4 bits per hour, 2^(v/4) x the day-type baseline */
};

/* The rate checks of an ESTABLISHED sender (mxt_sender.trig). */
enum mxt_check {
	MXT_CHECK_NONE = 0,
	MXT_CHECK_FAST,       /* fast rate far above the baseline and its usual bursts */
	MXT_CHECK_SUSTAINED,  /* CUSUM: more sessions than cusum_k x baseline, with evidence */
	MXT_CHECK_RCPT,       /* recipients per hour far above the baseline */
	MXT_CHECK_SYN,        /* SYN rate above the block threshold */
	MXT_CHECK_MAX
};

/* How the last throttle or block ended (mxt_sender.end_why). */
enum mxt_end {
	MXT_END_NONE = 0,
	MXT_END_RATE,         /* its rate stayed below the release threshold for the cool-down */
	MXT_END_TIME,         /* throttle_max reached: throttles are bounded */
	MXT_END_OPERATOR,     /* mxthrottle release */
	MXT_END_MAX
};

/* A change of a source's kernel policy, for the daemon to write. */
struct mxt_model_change {
	struct mxt_key key;
	enum mxt_state state;   /* the source's state now */
	enum mxt_code code;     /* reason for it */
	uint32_t klass;         /* MXT_CLASS_*; MXT_CLASS_UNKNOWN: delete the entry */
	uint32_t flags;         /* MXT_POLICY_F_OVERRIDE when 'limit' applies */
	struct mxt_limit limit; /* derived (mxt_limit_derive, 1 share) */
	char why[160];          /* what the logs say about it: mxt_model_why() of the record */
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

/* Fleet: count an attempt another node deferred, as this node's own
 * deferred attempt would count (the session path: rates, retries to come,
 * the day's deferrals; nothing admitted). */
int mxt_model_observe_deferred(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			       enum mxt_obs_kind kind, uint32_t recipients);

/* Fleet (fleet.c): what another node saw of 'key' in clock hour 'hour'
 * (unix / 3600, not after now's), counted here as this node's own
 * decisions would have counted it.  The current hour's counts go through
 * the session path (admitted as observe, deferred as a deferral; counts
 * held back over a span longer than the fast rate's window as if they had
 * come evenly over it: no burst in the fast rate, the CUSUM net of its
 * drain);
 * a past hour's (merged late, after an outage) go into the rates, the
 * CUSUM and the retries to come decayed from the end of that hour, and
 * while its source day is open into the day's counts and that hour's
 * profile slot; a source this node has not seen since is replayed at the
 * end of that hour and rolled over.  0, -EINVAL (a future hour), -ENOSPC. */
struct mxt_hour_counts {
	uint32_t sessions;   /* admitted sessions */
	uint32_t rcpts;      /* admitted recipients */
	uint32_t dsessions;  /* deferred sessions (attempts) */
	uint32_t drcpts;     /* deferred recipients */
	uint32_t span;       /* current hour: s they accumulated over, up to now (0: a tick's) */
};
int mxt_model_merge_hour(struct mxt_model *m, const struct mxt_key *key, uint64_t now, uint32_t hour,
			 const struct mxt_hour_counts *c);

/* Fleet: another node blocked 'key' for a SYN flood until 'until' (unix
 * s): BLOCKED here too (the kernel class follows at the next tick), with
 * this node's cool-down ending at 'until' unless its own SYN rate keeps
 * the block; a block already here is extended.  A key not tracked may
 * take the place of a SYN-only record only.  0, -EINVAL, -ENOSPC. */
int mxt_model_block(struct mxt_model *m, const struct mxt_key *key, uint64_t now, uint32_t until);
/* When the block of 'key' ends unless SYNs keep it; 0 when not BLOCKED. */
uint32_t mxt_model_block_until(const struct mxt_model *m, const struct mxt_key *key);

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
/* Why 's' is in its state, one line, the same words for the syslog line,
 * explain and history export: "check=fast rate=4000.0/h baseline=200.0/h
 * ratio=20.0 threshold=1000.0/h", "released=time after 14400 s", ... */
int mxt_model_why(const struct mxt_sender *s, char *buf, size_t len);
/* Names of the checks and ends ("fast", "sustained", ...; "rate", "time", ...). */
const char *mxt_check_name(enum mxt_check c);
const char *mxt_end_name(enum mxt_end e);
/* bfloat16 <-> float, as used by the profiles. */
float mxt_bf16_to_float(uint16_t v);
uint16_t mxt_float_to_bf16(float f);

#endif /* MXT_MODEL_H */
