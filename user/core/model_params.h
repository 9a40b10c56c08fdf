/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model_params.h - the tunables of the pattern-change model (model.h):
 * one table of name, type, default (as it is written in mxthrottle.conf),
 * minimum, maximum, unit and a one-line description.  The daemon's config
 * file (inih "name = value"), the CLI's "config" listing, the man page and
 * the simulator's --set all go through this table, so a tunable exists, is
 * range-checked and is documented in exactly one place.
 *
 * Value syntax:
 *   count / number   decimal ("60", "2.5")
 *   duration         integer with an optional unit: s (default), m, h, d
 *                    ("1800", "30m", "30d")
 *   list             comma-separated counts, 1..MXT_SCHEDULE_MAX of them
 *                    ("20,100,500"), each within [min, max], non-decreasing
 *
 * Setting one value checks its own range only; mxt_model_params_check()
 * checks the relations between values (release_factor <= jump_factor, ...)
 * and is what mxt_model_new()/mxt_model_set_params() call.
 */
#ifndef MXT_MODEL_PARAMS_H
#define MXT_MODEL_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define MXT_SCHEDULE_MAX 16

/* Every tunable of the model; see the table in model_params.c for units
 * and defaults.  Fill with mxt_model_params_default() first. */
struct mxt_model_params {
	/* probation (GRAYLISTED) */
	uint32_t schedule[MXT_SCHEDULE_MAX]; /* sessions/hour allowed after 0, 1, 2.. clean days */
	uint32_t schedule_len;               /* used entries of schedule[] */
	uint32_t establish_days;             /* clean days before ESTABLISHED */
	uint32_t probation_rcpts_per_session;/* recipient allowance = session allowance x this */
	uint32_t clean_day_min_sessions;     /* admitted sessions that make a day count */
	uint32_t clean_day_max_deferred_pct; /* a day deferring more than this % is not clean */
	uint32_t greylist_delay;             /* s: defer everything this long after the first session */
	uint32_t new_sender_budget;          /* sessions/hour, gateway-wide, of day-0 senders (0 off) */
	uint32_t new_sender_budget_free;     /* sessions/hour per day-0 sender outside the budget */
	/* rate jumps (ESTABLISHED -> THROTTLED) */
	double   jump_factor;                /* throttle above factor x baseline ... */
	uint32_t jump_margin;                /* ... and baseline + this (sessions/h, slow window) */
	uint32_t jump_fast_margin;           /* ... or baseline + this on the fast window */
	uint32_t rcpt_jump_margin;           /* recipients/h margin of the recipient check */
	uint32_t rate_window;                /* s: time constant of the current (slow) rate */
	uint32_t rate_fast_window;           /* s: time constant of the fast rate */
	double   release_factor;             /* cool down once below this x baseline */
	uint32_t throttle_cooldown;          /* s below the release threshold before release */
	double   throttle_allow_factor;      /* throttled allowance = this x baseline ... */
	uint32_t throttle_allow_min;         /* ... but at least this (sessions/h) */
	double   throttle_retry_weight;      /* a deferred attempt while THROTTLED counts this much */
	uint32_t throttle_grace;             /* s after a throttle ends without the fast check */
	uint32_t throttle_max;               /* s: a throttle ends after this at the latest */
	double   cusum_k;                    /* sustained check: sessions above this x baseline accrue */
	double   cusum_z;                    /* ... fire at z standard deviations (dispersion-scaled) */
	uint32_t cusum_min;                  /* ... plus this many sessions */
	double   burst_factor;               /* fast check: >= this x the sender's usual bursts */
	uint32_t fast_min_count;             /* fast check: at least this many sessions in its window */
	uint32_t retry_horizon;              /* s: a deferred session is expected back within this */
	uint32_t week_memory;                /* weeks of memory of the hour-of-week profile */
	double   learn_up_alpha;             /* an hour above its slot is learned at least this fast */
	uint32_t prefix_budget;              /* sessions/h of day-0 senders per /24 (v4) or /48 (v6) */
	uint32_t prefix_v4;                  /* prefix length of that budget, IPv4 */
	uint32_t prefix_v6;                  /* prefix length of that budget, IPv6 */
	/* baseline */
	uint32_t baseline_days;              /* memory of the weekday profile (active days) */
	uint32_t baseline_weekend_days;      /* memory of the weekend profile (active days) */
	uint32_t baseline_floor;             /* sessions/h: the smallest baseline */
	double   learn_cap_factor;           /* an hour adds at most this x its slot (+margin) */
	double   offhours_fraction;          /* baseline >= this x the sender's peak hour */
	double   weekend_blend;              /* weekend baseline >= this x weekday baseline */
	int32_t  tz_offset_hours;            /* local time of the profiles = UTC + this */
	/* SYN floods (BLOCKED) */
	uint32_t block_syn_rate;             /* SYN/min: block above this (and block_factor) */
	double   block_factor;               /* ... and above this x the expected session rate */
	uint32_t block_cooldown;             /* s below half the block threshold before release */
	uint32_t syn_track_min;              /* SYNs in one observation to track an unknown source */
	/* memory */
	uint32_t new_expire;                 /* s: forget SYN-only sources idle this long */
	uint32_t absence_reset;              /* s: ESTABLISHED without sessions -> probation */
	uint32_t evict_protect;              /* s: ESTABLISHED active within this: never evicted */
	/* kernel limits written for GRAYLISTED / THROTTLED sources */
	double   kernel_headroom;            /* SYN limit = allowance x this */
	uint32_t kernel_min_rate;            /* SYN/min floor of an override */
	uint32_t kernel_min_burst;           /* burst floor of an override */
};

/* Kinds of values. */
enum mxt_param_type {
	MXT_PT_COUNT = 0,  /* uint32_t */
	MXT_PT_NUMBER,     /* double */
	MXT_PT_INT,        /* int32_t (may be negative) */
	MXT_PT_DURATION,   /* uint32_t seconds; s/m/h/d suffix */
	MXT_PT_LIST,       /* schedule[] + schedule_len */
	MXT_PT_MAX
};

/* One row of the table. */
struct mxt_model_param {
	const char *name;          /* "jump_factor" */
	enum mxt_param_type type;
	size_t offset;             /* offsetof(struct mxt_model_params, ...) */
	const char *defval;        /* default, as written in a config file */
	double min, max;           /* inclusive range (of each element for lists) */
	const char *unit;          /* "sessions/h", "s", "" */
	const char *desc;          /* one line */
};

/* The table and its length. */
const struct mxt_model_param *mxt_model_param_table(size_t *n);
/* Row of 'name', or NULL. */
const struct mxt_model_param *mxt_model_param_find(const char *name);
/* Name of a value type ("count", "number", "int", "duration", "list"). */
const char *mxt_param_type_name(enum mxt_param_type t);

/* Fill every field with its default. */
void mxt_model_params_default(struct mxt_model_params *p);
/* Set 'name' from text; range-checked.  -ENOENT unknown name, -EINVAL
 * bad syntax, -ERANGE out of range; 'err' (may be NULL) says which.  On
 * error *p is unchanged. */
int mxt_model_param_set(struct mxt_model_params *p, const char *name, const char *value,
			char *err, size_t errlen);
/* Format the current value of 'row' as it would be written in a config. */
int mxt_model_param_format(const struct mxt_model_params *p, const struct mxt_model_param *row,
			   char *buf, size_t len);
/* Check every range and the relations between values: 0 or -EINVAL. */
int mxt_model_params_check(const struct mxt_model_params *p, char *err, size_t errlen);

#endif /* MXT_MODEL_PARAMS_H */
