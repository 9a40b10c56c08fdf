/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * decision.h - what the model says about one source at one instant: the
 * contract between the model (model.c), the policy service, the CLI's
 * "explain" and the logs.  Plain data; filled by mxt_model_decide().
 */
#ifndef MXT_DECISION_H
#define MXT_DECISION_H

#include <stdint.h>
#include "reply_codes.h"

/* Sender states of the pattern-change model. */
enum mxt_state {
	MXT_STATE_NEW = 0,     /* first seen, no proof of real sessions yet */
	MXT_STATE_GRAYLISTED,  /* probation: allowance grows with clean days */
	MXT_STATE_ESTABLISHED, /* sending within its own baseline */
	MXT_STATE_THROTTLED,   /* current rate far above its baseline */
	MXT_STATE_BLOCKED,     /* far above any limit: kernel drops bursts */
	MXT_STATE_MAX
};

struct mxt_decision {
	enum mxt_state state;
	enum mxt_code code;        /* reply/reason code (reply_codes.h) */
	int defer;                 /* 1: the MTA should answer 451 now */
	double current_rate;       /* sessions per hour, short horizon */
	double baseline_rate;      /* sessions per hour expected now (floor applied, as judged) */
	double ratio;              /* current / baseline */
	double allowance;          /* sessions allowed per hour now */
	double used;               /* sessions counted in the current hour */
	uint32_t days_active;      /* clean days seen */
	uint64_t first_seen;       /* unix seconds */
	uint64_t next_change;      /* unix seconds: allowance grows / throttle lifts (0 = none) */
	uint32_t retry_after;      /* seconds an MTA should wait (0 when not deferred) */
	/* Added by the model (model.h): */
	enum mxt_code reason;      /* why the source is in its state (code = this answer) */
	double fast_rate;          /* sessions per hour, fast horizon (rate_fast_window) */
	double rcpt_rate;          /* recipients per hour, short horizon */
	uint64_t state_since;      /* unix seconds the state was entered */
	uint64_t last_seen;        /* unix seconds of the last SYN or session (0 = never) */
	int tracked;               /* 1: the model holds a record; 0: never seen (or forgotten) */
	int learned;               /* 1: baseline_rate comes from the sender's own history */
	/* THROTTLED / BLOCKED: the check that fired, as it was when it fired */
	int check;                 /* enum mxt_check (model.h); 0 none */
	double check_rate;         /* its rate, per hour */
	double check_baseline;     /* the baseline it was judged against (floor applied) */
	double check_threshold;    /* the threshold it passed */
};

#endif /* MXT_DECISION_H */
