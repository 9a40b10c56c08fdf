/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model.c - the pattern-change model (design, states and formulas in
 * model.h): per-source records in an open-addressing table, lazy hourly
 * folding of session counts into a time-of-day baseline, exponentially
 * weighted current rates, and the time-driven transitions run by tick.
 *
 * Purity: every function takes 'now'; nothing reads a clock, allocates
 * after mxt_model_new(), or touches global state.  mxt_model_decide() runs
 * the same lazy "advance to now" on a copy of the record, so what it
 * explains is exactly what the next admit would see, however late the
 * daemon's tick runs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "gcra.h"
#include "rng.h"

#define HOUR 3600u
#define SYN_TAU 60.0          /* s: time constant of the SYN rate (SYN/min) */
#define DUE_NONE UINT32_MAX   /* empty slot / nothing due */
#define EVICT_BATCH 64        /* occupied slots sampled per eviction round */
#define EVICT_SCAN_MAX 4096   /* occupied slots sampled at most per eviction */
#define RM_POLICY 0x1         /* deletion still to be reported to the kernel */
#define RM_DB     0x2         /* deletion still to be applied to the history db */
#define TIER_SYN  0           /* a SYN observation may evict tier 0 only */
#define TIER_EVIDENCE 2       /* a session / operator / restore: tiers 0..2 */

_Static_assert(sizeof(struct mxt_sender) <= 280, "mxt_sender must stay <= 280 bytes");

#define RETRY_MIN 300.0       /* s: an MTA's minimal backoff after a deferral */
#define SESS_RETRY    0x1     /* the current session was taken for a retry */
#define SESS_DEFERRED 0x2     /* the current session was deferred (counted once in backlog) */
#define PFX_SLOTS 4096        /* new-sender budgets per /24 or /48, direct-mapped */

/* A prefix's new-sender budget (GCRA). */
struct pfx_ent {
	struct mxt_key key;   /* the masked prefix */
	double tat;           /* theoretical arrival time (s) */
};

/* A deleted key, until the tick and the checkpoint have seen it. */
struct rm_entry {
	struct mxt_key key;
	uint32_t need;        /* RM_* still pending */
};

struct mxt_model {
	struct mxt_model_params p;
	uint64_t seed;            /* key hash seed */
	size_t capacity;          /* records held at most */
	size_t nslots;            /* table slots (> capacity) */
	size_t count;             /* records held */
	struct mxt_sender *recs;  /* nslots records */
	uint32_t *tag;            /* per slot: 0 empty, else hash bits | 1 */
	uint32_t *due;            /* per slot: unix s the record needs the tick */
	uint32_t next_due;        /* lower bound of due[] */
	size_t hand;              /* eviction clock hand */
	double budget_tat;        /* new-sender budget: GCRA theoretical arrival (s) */
	struct pfx_ent *pfx;      /* PFX_SLOTS per-prefix budgets */
	struct rm_entry *rm;      /* deletion log */
	size_t rm_len, rm_cap;
	int rm_overflow;          /* RM_DB entries were dropped */
	uint32_t evict_fail_at[TIER_EVIDENCE + 1]; /* second an eviction up to this tier failed */
	struct mxt_model_counts c;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

/* 'now' as a 32-bit unix second (saturating). */
static inline uint32_t t32(uint64_t now)
{
	return now >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)now;
}

/* Larger / smaller of two doubles. */
static inline double dmax(double a, double b) { return a > b ? a : b; }
static inline double dmin(double a, double b) { return a < b ? a : b; }

/* Saturating increments. */
static inline void inc16(uint16_t *v) { if (*v < UINT16_MAX) (*v)++; }
static inline void inc8(uint8_t *v) { if (*v < UINT8_MAX) (*v)++; }

/* bfloat16 -> float. */
float mxt_bf16_to_float(uint16_t v)
{
	uint32_t b = (uint32_t)v << 16;
	float f;

	memcpy(&f, &b, sizeof(f));
	return f;
}

/* float -> bfloat16, round to nearest even; negatives and NaN -> 0. */
uint16_t mxt_float_to_bf16(float f)
{
	uint32_t b;

	if (!(f > 0.0f))
		return 0;
	if (f > 1e38f)
		f = 1e38f;
	memcpy(&b, &f, sizeof(b));
	b += 0x7fffu + ((b >> 16) & 1u);
	return (uint16_t)(b >> 16);
}

#define BF(v) ((double)mxt_bf16_to_float(v))

/* Name of a state. */
const char *mxt_state_name(enum mxt_state s)
{
	static const char *const names[MXT_STATE_MAX] = {
		"new", "graylisted", "established", "throttled", "blocked"
	};

	return (unsigned)s < MXT_STATE_MAX ? names[s] : "?";
}

/* Name of an observation kind. */
const char *mxt_obs_kind_name(enum mxt_obs_kind k)
{
	static const char *const names[MXT_OBS_MAX] = { "connect", "rcpt", "data", "eom" };

	return (unsigned)k < MXT_OBS_MAX ? names[k] : "?";
}

const char *mxt_check_name(enum mxt_check c)
{
	static const char *const n[MXT_CHECK_MAX] = { "none", "fast", "sustained", "recipients", "syn" };

	return (unsigned)c < MXT_CHECK_MAX ? n[c] : "?";
}

const char *mxt_end_name(enum mxt_end e)
{
	static const char *const n[MXT_END_MAX] = { "none", "rate", "time", "operator" };

	return (unsigned)e < MXT_END_MAX ? n[e] : "?";
}

int mxt_model_why(const struct mxt_sender *s, char *buf, size_t len)
{
	double rate, base, thr;

	if (!s || !buf || !len)
		return -EINVAL;
	buf[0] = 0;
	rate = mxt_bf16_to_float(s->trig_rate);
	base = mxt_bf16_to_float(s->trig_base);
	thr = mxt_bf16_to_float(s->trig_thr);
	if ((s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED) && s->trig) {
		if (s->trig == MXT_CHECK_SYN)
			snprintf(buf, len, "check=syn rate=%.1f SYN/min threshold=%.1f SYN/min", rate,
				 thr);
		else
			snprintf(buf, len, "check=%s rate=%.1f/h baseline=%.1f/h ratio=%.1f threshold=%.1f/h",
				 mxt_check_name((enum mxt_check)s->trig), rate, base,
				 base > 0 ? rate / base : 0.0, thr);
	} else if (s->state == MXT_STATE_ESTABLISHED && s->end_why) {
		snprintf(buf, len, "released=%s after check=%s", mxt_end_name((enum mxt_end)s->end_why),
			 mxt_check_name((enum mxt_check)s->trig));
	} else if (s->state == MXT_STATE_GRAYLISTED || s->state == MXT_STATE_ESTABLISHED) {
		snprintf(buf, len, "clean_days=%u", s->days_active);
	}
	return 0;
}

/* Copy 'in' into 'out' zeroed, with the address masked to its prefix. */
static int key_norm(const struct mxt_key *in, struct mxt_key *out)
{
	unsigned int bits, i;
	uint8_t *b;

	memset(out, 0, sizeof(*out));
	if (!in)
		return -EINVAL;
	if (in->family == MXT_FAMILY_IPV4)
		bits = 32;
	else if (in->family == MXT_FAMILY_IPV6)
		bits = 128;
	else
		return -EINVAL;
	if (in->prefixlen > bits)
		return -EINVAL;
	out->family = in->family;
	out->prefixlen = in->prefixlen;
	memcpy(out->addr, in->addr, bits / 8);
	b = (uint8_t *)out->addr;
	for (i = 0; i < bits / 8; i++) {
		unsigned int lo = i * 8;

		if (lo >= in->prefixlen)
			b[i] = 0;
		else if (in->prefixlen - lo < 8)
			b[i] &= (uint8_t)(0xffu << (8 - (in->prefixlen - lo)));
	}
	return 0;
}

/* Seeded hash of a normalised key. */
static uint64_t key_hash(const struct mxt_model *m, const struct mxt_key *k)
{
	uint32_t w[5];
	uint64_t h = m->seed ^ 0x6a09e667f3bcc909ULL;
	unsigned int i;

	memcpy(w, k, sizeof(w));
	for (i = 0; i < 5; i++)
		h = mxt_mix64(h ^ w[i] ^ ((uint64_t)(i + 1) << 40));
	return h;
}

/* Home slot of a hash (multiply-shift range reduction, any table size). */
static inline size_t home_of(const struct mxt_model *m, uint64_t h)
{
	return (size_t)(((h >> 32) * (uint64_t)m->nslots) >> 32);
}

/* Tag of a hash: never 0 (0 marks an empty slot). */
static inline uint32_t tag_of(uint64_t h)
{
	return (uint32_t)h | 1u;
}

/* ------------------------------------------------------------------ */
/* time of day, source days                                           */

/* Local hour number (hours since the epoch in profile time). */
static inline int64_t local_hour(const struct mxt_model_params *p, uint64_t hour)
{
	return (int64_t)hour + p->tz_offset_hours;
}

/* Hour of day 0..23 of a local hour number. */
static inline unsigned int hod(int64_t L)
{
	int64_t r = L % 24;

	return (unsigned int)(r < 0 ? r + 24 : r);
}

/* 1 when a local hour number falls on a Saturday or Sunday. */
static inline int is_weekend(int64_t L)
{
	int64_t d = (L >= 0 ? L : L - 23) / 24;
	int64_t dow = ((d + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; 0 = Sunday */

	return dow == 0 || dow == 6;
}

/* Hour of the week 0..167 (Monday 00:00 = 0) of a local hour number. */
static inline unsigned int how(int64_t L)
{
	int64_t d = (L >= 0 ? L : L - 23) / 24;
	int64_t dow = ((d + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; 0 = Monday */

	return (unsigned int)dow * 24 + hod(L);
}

/* 4-bit hour-of-week value i. */
static inline unsigned int wk_get(const struct mxt_sender *s, unsigned int i)
{
	return (s->wk[i / 2] >> ((i & 1) * 4)) & 0xf;
}

static inline void wk_set(struct mxt_sender *s, unsigned int i, unsigned int v)
{
	unsigned int sh = (i & 1) * 4;

	s->wk[i / 2] = (uint8_t)((s->wk[i / 2] & ~(0xfu << sh)) | ((v & 0xf) << sh));
}

/* Weeks learned (0..3) of weekday dow. */
static inline unsigned int wk_age(const struct mxt_sender *s, unsigned int dow)
{
	return (s->wk_seen >> (2 * dow)) & 3;
}

/* Index of the source day holding hour H (day 0 is 25 hours long). */
static inline uint32_t day_of(const struct mxt_sender *s, uint32_t H)
{
	return H <= s->anchor_hour ? 0 : (H - s->anchor_hour - 1) / 24;
}

/* First hour of source day d. */
static inline uint32_t day_start(const struct mxt_sender *s, uint32_t d)
{
	return d == 0 ? s->anchor_hour : s->anchor_hour + 1 + 24 * d;
}

/* First hour after source day d. */
static inline uint32_t day_end(const struct mxt_sender *s, uint32_t d)
{
	return s->anchor_hour + 1 + 24 * (d + 1);
}

/* Probation allowance (sessions/h) after 'days' clean days. */
static inline uint32_t sched(const struct mxt_model_params *p, uint32_t days)
{
	return p->schedule[days < p->schedule_len ? days : p->schedule_len - 1];
}

/* 1 when the record is history worth keeping (not SYN-only). */
static inline int is_history(const struct mxt_sender *s)
{
	if (s->state == MXT_STATE_NEW)
		return 0;
	if (s->state == MXT_STATE_BLOCKED && s->prev_state == MXT_STATE_NEW)
		return 0;
	return 1;
}

/* ------------------------------------------------------------------ */
/* baseline                                                           */

/* Expected sessions/h of the day-type profile (wd/we) at 'now', floor
 * not applied. */
static double expected_dt(const struct mxt_model_params *p, const struct mxt_sender *s,
			  uint64_t now)
{
	int64_t L = local_hour(p, now / HOUR);
	unsigned int h = hod(L), hm = (h + 23) % 24, hp = (h + 1) % 24, i;
	double peak = 0, loc, e;

	for (i = 0; i < 24; i++)
		peak = dmax(peak, BF(s->wd[i]));
	loc = dmax(BF(s->wd[hm]), dmax(BF(s->wd[h]), BF(s->wd[hp])));
	e = dmax(loc, p->offhours_fraction * peak);
	if (is_weekend(L)) {
		double we = dmax(BF(s->we[hm / 3]), dmax(BF(s->we[h / 3]), BF(s->we[hp / 3])));

		/* no weekend learned yet: a weekday's level, not a guess below it */
		e = s->we_days ? dmax(we, p->weekend_blend * e) : e;
	}
	return e;
}

/* Multiplier of the hour-of-week profile at 'now' (>= 1): the largest of
 * this hour and its neighbours, like the day-type profile. */
static double week_mult(const struct mxt_model_params *p, const struct mxt_sender *s,
			uint64_t now)
{
	int64_t L = local_hour(p, now / HOUR);
	unsigned int i = how(L), v = wk_get(s, i);

	v = v > wk_get(s, (i + 167) % 168) ? v : wk_get(s, (i + 167) % 168);
	v = v > wk_get(s, (i + 1) % 168) ? v : wk_get(s, (i + 1) % 168);
	return v ? exp2(v / 4.0) : 1.0;
}

/* Expected sessions/h of 's' at 'now' (model.h, BASELINE). */
static double expected_at(const struct mxt_model_params *p, const struct mxt_sender *s,
			  uint64_t now)
{
	return dmax(expected_dt(p, s, now) * week_mult(p, s, now), (double)p->baseline_floor);
}

/* 1 when the profile that expected_at() uses at 'now' has learned at
 * least one active day: weekdays need the weekday profile, weekends
 * either (the weekend baseline falls back to weekend_blend x weekday). */
static int learned_for(const struct mxt_model_params *p, const struct mxt_sender *s, uint64_t now)
{
	if (is_weekend(local_hour(p, now / HOUR)))
		return s->wd_days + s->we_days > 0;
	return s->wd_days > 0;
}

/* Public wrapper of expected_at(). */
double mxt_model_expected(const struct mxt_model *m, const struct mxt_sender *s, uint64_t now)
{
	return expected_at(&m->p, s, now);
}

/* Teach the baseline hour H: c admitted sessions, rc recipients. */
static void fold(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H,
		 uint32_t c, uint32_t rc)
{
	int64_t L = local_hour(p, H);
	unsigned int h = hod(L);
	double v = c, a, cur, cap;
	uint32_t n;
	uint16_t *slot;

	/* A source day covers each hour of the day once; it counts as a
	 * learned weekday (weekend day) by its noon, so that a day holding
	 * only Monday's first hour does not make the weekday profile look
	 * learned. */
	if (!is_weekend(L)) {
		n = s->wd_days;
		a = dmax(1.0 / p->baseline_days, 1.0 / (n + 1.0));
		slot = &s->wd[h];
		if (h == 12)
			s->flags |= MXT_SF_DAY_WD;
	} else {
		n = s->we_days;
		a = dmax(1.0 / (3.0 * p->baseline_weekend_days), 1.0 / (3.0 * n + (h % 3) + 1.0));
		slot = &s->we[h / 3];
		if (h == 12)
			s->flags |= MXT_SF_DAY_WE;
	}
	cur = BF(*slot);
	if (s->state == MXT_STATE_GRAYLISTED) {
		/* Probation: the allowance bounds what an hour can show; the
		 * baseline follows the latest, largest day, so a sender that
		 * ramps up is judged by where it arrived (model.h). */
		if (v > cur)
			a = 1.0;
	} else if (n > 0) {
		/* One hour cannot teach much more than the threshold it passed. */
		cap = dmax(p->learn_cap_factor * dmax(cur, (double)p->baseline_floor),
			   cur + p->jump_margin);
		v = dmin(v, cap);
		if (v > cur + 2.0 * sqrt(dmax(cur, 1.0)))
			a = dmax(a, p->learn_up_alpha); /* growth (beyond noise) is followed within days */
	}
	*slot = mxt_float_to_bf16((float)(cur + a * (v - cur)));
	if (c > 0) {
		double base = dmax(s->rps, 1.0), ratio = dmin((double)rc / c, 4.0 * base);
		double ar = dmax(1.0 / (24.0 * p->baseline_days),
				 1.0 / (4.0 * (s->wd_days + s->we_days + 1.0)));

		s->rps = (float)(s->rps + ar * (ratio - s->rps));
	}
}

/* Teach the hour-of-week profile hour H: 'demand' new sessions (admitted
 * or not, retries excluded) against the day-type baseline.  Throttled
 * hours are learned too, at half weight: a weekly burst must be learnable,
 * and a spam hour teaches only its own hour of the week, by half. */
static void fold_week(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H,
		      uint32_t demand, int throttled)
{
	int64_t L = local_hour(p, H);
	unsigned int i = how(L), dow = i / 24, n = wk_age(s, dow), v = wk_get(s, i);
	double base = dmax(expected_dt(p, s, (uint64_t)H * HOUR), (double)p->baseline_floor);
	/* only an excess beyond Poisson noise (2 sigma) is a weekly pattern:
	 * stacked maxima of noise would inflate the baseline */
	double q = demand / (base + 2.0 * sqrt(base));
	double target = q > 1.19 ? dmin(15.0, 4.0 * log2(q)) : 0.0, a; /* >= one step */

	a = throttled ? 0.5 : dmax(1.0 / p->week_memory, 1.0 / (n + 1.0));
	wk_set(s, i, (unsigned int)floor(v + a * (target - v) + 0.5));
	if (hod(L) == 12 && n < 3)
		s->wk_seen = (uint16_t)(s->wk_seen + (1u << (2 * dow)));
}

/* Learn the sender's dispersion (variance / mean of its hourly counts) and
 * its usual bursts (peak fast rate / mean rate) from hour H. */
static void fold_noise(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H)
{
	int64_t L = local_hour(p, H);
	unsigned int i = how(L), v = wk_get(s, i);
	/* against the hour's own slot, not the neighbourhood maximum */
	double slot = is_weekend(L) ? BF(s->we[hod(L) / 3]) : BF(s->wd[hod(L)]);
	double e = dmax(slot * (v ? exp2(v / 4.0) : 1.0), (double)p->baseline_floor);
	double x = s->hour_demand, d = (x - e) * (x - e) / e, cur = s->disp / 8.0;

	d = dmin(d, 31.0);
	cur = dmax(1.0, cur + (d - cur) / 16.0);
	s->disp = (uint8_t)lround(dmin(cur, 31.0) * 8.0);
	{
		/* bursts are a property of the sender (a NAT's users, queue
		 * runs), not of the hour: learned as the peak's excess over the
		 * hour's rate, in absolute terms, faster up than down */
		double b = dmax(0.0, s->hour_peak - x), cb = BF(s->burst);

		cb += (b - cb) / (b > cb ? 8.0 : 32.0);
		s->burst = mxt_float_to_bf16((float)cb);
	}
}

/* ------------------------------------------------------------------ */
/* rates                                                              */

enum { R_FAST = 0, R_SLOW, R_RCPT, R_SYN, R_N };

/* The rates of 's' decayed to 'now', without changing 's'. */
static void rates_at(const struct mxt_model_params *p, const struct mxt_sender *s, uint64_t now,
		     double r[R_N])
{
	double dt = 0, slow;

	if (t32(now) > s->rate_t)
		dt = (double)(t32(now) - s->rate_t);
	if (dt == 0) {
		r[R_FAST] = s->r_fast;
		r[R_SLOW] = s->r_slow;
		r[R_RCPT] = s->rr;
		r[R_SYN] = s->syn_rate;
		return;
	}
	slow = exp(-dt / p->rate_window);
	r[R_FAST] = s->r_fast * exp(-dt / p->rate_fast_window);
	r[R_SLOW] = s->r_slow * slow;
	r[R_RCPT] = s->rr * slow;
	r[R_SYN] = s->syn_rate * exp(-dt / SYN_TAU);
}

/* Store rates decayed to 'now' in 's'. */
static void decay(const struct mxt_model_params *p, struct mxt_sender *s, uint64_t now)
{
	double r[R_N];

	if (t32(now) <= s->rate_t)
		return;
	rates_at(p, s, now, r);
	s->r_fast = r[R_FAST] < 1e-3 ? 0.0f : (float)r[R_FAST];
	s->r_slow = r[R_SLOW] < 1e-3 ? 0.0f : (float)r[R_SLOW];
	s->rr = r[R_RCPT] < 1e-3 ? 0.0f : (float)r[R_RCPT];
	s->syn_rate = r[R_SYN] < 1e-3 ? 0.0f : (float)r[R_SYN];
	if (s->backlog > 0) {
		double b = s->backlog * exp(-(double)(t32(now) - s->rate_t) / p->retry_horizon);

		s->backlog = b < 0.05 ? 0.0f : (float)b;
	}
	if (s->young > 0) {
		double y = s->young * exp(-(double)(t32(now) - s->rate_t) / RETRY_MIN);

		s->young = y < 0.05 ? 0.0f : (float)y;
	}
	s->rate_t = t32(now);
}

/* Thresholds of the rate-jump check at baseline E (model.h, RATE JUMP). */
struct thresholds {
	double jump_slow, jump_fast, jump_rcpt;  /* ESTABLISHED -> THROTTLED above */
	double rel_slow, rel_fast, rel_rcpt;     /* THROTTLED cools down below */
};

/* Fill the thresholds for baseline E. */
static void thresholds_for(const struct mxt_model_params *p, const struct mxt_sender *s,
			   double E, struct thresholds *t)
{
	double rps = dmax(s->rps, 1.0);

	t->jump_slow = dmax(p->jump_factor * E, E + p->jump_margin);
	/* a sender whose sessions come in bursts (queue runs, a NAT, batches)
	 * is judged against its own usual bursts */
	t->jump_fast = dmax(dmax(p->jump_factor * E, E + p->jump_fast_margin),
			    E + p->burst_factor * BF(s->burst));
	t->jump_rcpt = dmax(p->jump_factor * E * rps, E * rps + p->rcpt_jump_margin);
	t->rel_slow = dmax(p->release_factor * E, E + p->jump_margin);
	t->rel_fast = t->jump_fast;
	t->rel_rcpt = dmax(p->release_factor * E * rps, E * rps + p->rcpt_jump_margin);
}

/* When all rates r (at 'now') will have decayed below the release
 * thresholds, absent new sessions. */
static uint32_t release_time(const struct mxt_model_params *p, const double r[R_N],
			     const struct thresholds *t, uint64_t now)
{
	double at = (double)now;

	if (r[R_SLOW] > t->rel_slow)
		at = dmax(at, (double)now + p->rate_window * log(r[R_SLOW] / t->rel_slow));
	if (r[R_FAST] > t->rel_fast)
		at = dmax(at, (double)now + p->rate_fast_window * log(r[R_FAST] / t->rel_fast));
	if (r[R_RCPT] > t->rel_rcpt)
		at = dmax(at, (double)now + p->rate_window * log(r[R_RCPT] / t->rel_rcpt));
	return t32((uint64_t)ceil(at));
}

/* SYN/min above which 's' is blocked. */
static double block_threshold(const struct mxt_model_params *p, const struct mxt_sender *s,
			      uint64_t now)
{
	double thr = p->block_syn_rate;

	if (s->state == MXT_STATE_ESTABLISHED || s->state == MXT_STATE_THROTTLED ||
	    (s->state == MXT_STATE_BLOCKED && s->prev_state == MXT_STATE_ESTABLISHED))
		thr = dmax(thr, p->block_factor * expected_at(p, s, now) / 60.0);
	return thr;
}

/* ------------------------------------------------------------------ */
/* states and kernel policy                                           */

/* Kernel SYN/min for a session allowance per hour. */
static uint16_t krate_for(const struct mxt_model_params *p, double per_hour)
{
	double v = ceil(per_hour * p->kernel_headroom / 60.0);

	v = dmax(v, (double)p->kernel_min_rate);
	return v >= 65535.0 ? 65535 : (uint16_t)v;
}

/* Recompute the kernel class/override of 's'; mark PENDING when changed.
 * 'thr' is the throttled allowance basis (< 0: keep the current one). */
static void update_policy(const struct mxt_model_params *p, struct mxt_sender *s, double thr)
{
	uint8_t cls = MXT_CLASS_UNKNOWN;
	uint16_t kr = 0;

	switch (s->state) {
	case MXT_STATE_GRAYLISTED:
		cls = MXT_CLASS_GRAYLISTED;
		kr = krate_for(p, sched(p, s->days_active));
		break;
	case MXT_STATE_ESTABLISHED:
		cls = MXT_CLASS_ESTABLISHED;
		break;
	case MXT_STATE_THROTTLED:
		cls = MXT_CLASS_THROTTLED;
		kr = thr < 0 ? s->krate : krate_for(p, thr);
		if (!kr)
			kr = (uint16_t)p->kernel_min_rate;
		break;
	case MXT_STATE_BLOCKED:
		cls = MXT_CLASS_BLOCKED;
		break;
	default:
		break;
	}
	if (cls != s->kclass || kr != s->krate) {
		s->kclass = cls;
		s->krate = kr;
		s->flags |= MXT_SF_PENDING;
	}
	s->flags |= MXT_SF_DIRTY;
}

/* Enter state 'st' (counts kept in 'cnt' unless NULL: a pure copy). */
static void set_state(struct mxt_model_counts *cnt, struct mxt_sender *s, enum mxt_state st,
		      enum mxt_code code, uint32_t since)
{
	if (cnt && s->state != st) {
		cnt->by_state[s->state]--;
		cnt->by_state[st]++;
	}
	if (s->state != st)
		s->flags &= (uint8_t)~MXT_SF_COOLED;
	s->state = (uint8_t)st;
	s->code = (uint8_t)code;
	s->state_since = since;
	s->flags |= MXT_SF_DIRTY;
}

/* A fresh NEW record for key k at time t. */
static void init_record(struct mxt_sender *s, const struct mxt_key *k, uint32_t t)
{
	memset(s, 0, sizeof(*s));
	s->key = *k;
	s->state = MXT_STATE_NEW;
	s->prev_state = MXT_STATE_NEW;
	s->code = MXT_CODE_OK_PROBATION;
	s->kclass = MXT_CLASS_UNKNOWN;
	s->first_seen = t;
	s->state_since = t;
	s->last_seen = t;
	s->hour = t / HOUR;
	s->anchor_hour = t / HOUR;
	s->rate_t = t;
	s->cusum_t = t;
	s->rps = 1.0f;
	s->disp = 8;
	s->flags = MXT_SF_DIRTY;
}

/* Clear the learned baseline. */
static void clear_baseline(struct mxt_sender *s)
{
	memset(s->wd, 0, sizeof(s->wd));
	memset(s->we, 0, sizeof(s->we));
	memset(s->wk, 0, sizeof(s->wk));
	s->wd_days = 0;
	s->we_days = 0;
	s->wk_seen = 0;
	s->rps = 1.0f;
	s->disp = 8;
	s->burst = 0;
}

/* Restart the day accounting at hour H (probation day 0 starts there). */
static void restart_days(struct mxt_sender *s, uint32_t H)
{
	s->anchor_hour = H;
	s->hour = H;
	s->hour_sessions = 0;
	s->hour_rcpts = 0;
	s->day_sessions = 0;
	s->day_deferred = 0;
	s->day_bdef = 0;
	s->hour_demand = 0;
	s->hour_peak = 0;
	s->flags &= (uint8_t)~(MXT_SF_DAY_WD | MXT_SF_DAY_WE | MXT_SF_DAY_BAD | MXT_SF_NOLEARN);
}

/* NEW (or reset) -> GRAYLISTED at t, day 0 starting this hour. */
static void start_probation(const struct mxt_model_params *p, struct mxt_model_counts *cnt,
			    struct mxt_sender *s, uint32_t t)
{
	restart_days(s, t / HOUR);
	s->days_active = 0;
	s->prev_state = MXT_STATE_GRAYLISTED;
	s->cool_from = 0;
	s->flags &= (uint8_t)~MXT_SF_RELEASED;
	if (!s->last_session || s->last_session < t)
		s->last_session = t;
	set_state(cnt, s, MXT_STATE_GRAYLISTED, MXT_CODE_OK_PROBATION, t);
	update_policy(p, s, -1);
}

/* End of source day d: clean-day accounting, ramp-up, establishment. */
static void end_day(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t d,
		    struct mxt_model_counts *cnt)
{
	uint64_t att = (uint64_t)s->day_sessions + s->day_deferred;

	if (att > 0) {
		int clean;

		if (s->flags & MXT_SF_DAY_WD)
			inc8(&s->wd_days);
		if (s->flags & MXT_SF_DAY_WE)
			inc8(&s->we_days);
		/* Deferrals by the sender's own allowance are probation working,
		 * not misbehaviour: only new-sender budget deferrals (a crowd of
		 * newcomers, snowshoe) count against the day. */
		clean = s->day_sessions >= p->clean_day_min_sessions &&
			(uint64_t)s->day_bdef * 100 <= (uint64_t)p->clean_day_max_deferred_pct * att &&
			!(s->flags & MXT_SF_DAY_BAD);
		if (clean)
			inc16(&s->days_active);
		if (clean && s->state == MXT_STATE_GRAYLISTED) {
			if (s->days_active >= p->establish_days) {
				set_state(cnt, s, MXT_STATE_ESTABLISHED, MXT_CODE_OK_ESTABLISHED,
					  day_end(s, d) * HOUR);
				s->prev_state = MXT_STATE_ESTABLISHED;
				if (cnt)
					cnt->established++;
			}
			update_policy(p, s, -1);
		}
	}
	s->day_sessions = 0;
	s->day_deferred = 0;
	s->day_bdef = 0;
	s->flags &= (uint8_t)~(MXT_SF_DAY_WD | MXT_SF_DAY_WE | MXT_SF_DAY_BAD);
	if (s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED)
		s->flags |= MXT_SF_DAY_BAD;
}

/* A weekend hour above what was expected of it (beyond noise) means the
 * sender grew since its last weekday: the weekday profile is raised by a
 * share of that, so Monday is not judged by last Friday. */
static void weekend_level(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H)
{
	double e, x = s->hour_sessions, f;
	unsigned int i;

	if (s->state != MXT_STATE_ESTABLISHED || !s->we_days || !s->wd_days ||
	    !is_weekend(local_hour(p, H)))
		return;
	e = dmax(expected_dt(p, s, (uint64_t)H * HOUR), (double)p->baseline_floor);
	if (x <= e + 2.0 * sqrt(e))
		return;
	f = dmin(1.0 + (x / e - 1.0) / 8.0, 1.25);
	for (i = 0; i < 24; i++)
		s->wd[i] = mxt_float_to_bf16((float)(BF(s->wd[i]) * f));
}

/* 1 within throttle_grace after a throttle ended. */
static inline int in_grace(const struct mxt_model_params *p, const struct mxt_sender *s,
			   uint64_t now)
{
	return (s->flags & MXT_SF_COOLED) &&
	       (uint64_t)t32(now) < (uint64_t)s->state_since + p->throttle_grace;
}

/* The sustained check's reference, x baseline: cusum_k, or jump_factor in
 * the grace after a throttle (its MTA flushes what was deferred, in queue
 * runs; only a renewed jump counts). */
static inline double cusum_ref(const struct mxt_model_params *p, const struct mxt_sender *s,
			       uint64_t now)
{
	return in_grace(p, s, now) ? p->jump_factor : p->cusum_k;
}

/* The sustained check's threshold at baseline E (sessions). */
static double cusum_limit(const struct mxt_model_params *p, const struct mxt_sender *s, double E)
{
	/* plus one of its usual bursts: a NAT's cluster is not a trend */
	return p->cusum_z * sqrt(p->cusum_k * E * dmax(1.0, s->disp / 8.0)) + p->cusum_min +
	       BF(s->burst) * p->rate_fast_window / 3600.0;
}

/* Move the hour counters to hour Hn: fold the finished hours of an active
 * day into the baseline, close finished days. */
static void rollover(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t Hn,
		     struct mxt_model_counts *cnt)
{
	uint32_t Hc = s->hour, d, end, x;
	int active, frozen, learn_thr;

	if (Hn <= Hc)
		return;
	d = day_of(s, Hc);
	active = (s->day_sessions + (uint32_t)s->day_deferred) > 0;
	frozen = s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED;
	/* A moderate, sustained excess teaches what was admitted (at most
	 * twice its baseline an hour): a sender whose growth outran its
	 * baseline catches up within days instead of cycling through
	 * throttles until its mail expires.  Fast and recipient jumps teach
	 * nothing. */
	learn_thr = s->state == MXT_STATE_THROTTLED && s->trig == MXT_CHECK_SUSTAINED;
	if (active && s->state != MXT_STATE_GRAYLISTED)
		fold_week(p, s, Hc, s->hour_demand, frozen || (s->flags & MXT_SF_NOLEARN));
	/* an hour that pushed the sustained check past half its threshold is
	 * suspect: not learned, so a slow attack cannot teach itself in */
	if (active && s->state == MXT_STATE_ESTABLISHED && (s->wd_days || s->we_days) &&
	    s->cusum > cusum_limit(p, s, expected_at(p, s, (uint64_t)Hc * HOUR)) / 2)
		s->flags |= MXT_SF_NOLEARN;
	if (active && !(s->flags & MXT_SF_NOLEARN)) {
		/* not from a grace hour: a queue flush is no usual burst */
		if (s->state == MXT_STATE_ESTABLISHED && (s->wd_days || s->we_days) &&
		    !in_grace(p, s, (uint64_t)Hc * HOUR))
			fold_noise(p, s, Hc);
		weekend_level(p, s, Hc);
		fold(p, s, Hc, s->hour_sessions, s->hour_rcpts);
	}
	end = day_end(s, d);
	if (end > Hn)
		end = Hn;
	if (active && !frozen)
		for (x = Hc + 1; x < end; x++) {
			if (s->state != MXT_STATE_GRAYLISTED)
				fold_week(p, s, x, 0, 0);
			fold(p, s, x, 0, 0);
		}
	s->hour = Hn;
	s->hour_sessions = 0;
	s->hour_rcpts = 0;
	s->hour_demand = 0;
	s->hour_peak = 0;
	s->flags &= (uint8_t)~MXT_SF_NOLEARN;
	if (frozen && !learn_thr)
		s->flags |= MXT_SF_NOLEARN;
	if (day_of(s, Hn) != d)
		end_day(p, s, d, cnt);
	s->flags |= MXT_SF_DIRTY;
}

/* First attempt of the current day: its earlier hours were silent. */
static void activate_day(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H)
{
	uint32_t x;

	if (s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED)
		return;
	for (x = day_start(s, day_of(s, H)); x < H; x++)
		fold(p, s, x, 0, 0);
}

/* THROTTLED -> ESTABLISHED at 'since', for reason 'why'. */
static void end_throttle(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t since,
			 enum mxt_end why, struct mxt_model_counts *cnt)
{
	set_state(cnt, s, MXT_STATE_ESTABLISHED, MXT_CODE_OK_ESTABLISHED, since);
	s->cool_from = 0;
	s->cusum = 0;
	s->cusum_t = since;
	s->end_why = (uint8_t)why;
	s->flags |= MXT_SF_COOLED;
	update_policy(p, s, -1);
}

/* THROTTLED whose cool-down may be over: release or push cool_from. */
static void try_release_throttle(const struct mxt_model_params *p, struct mxt_sender *s,
				 uint64_t now, struct mxt_model_counts *cnt)
{
	struct thresholds th;
	double r[R_N];

	rates_at(p, s, now, r);
	thresholds_for(p, s, expected_at(p, s, now), &th);
	if (r[R_SLOW] <= th.rel_slow && r[R_FAST] <= th.rel_fast && r[R_RCPT] <= th.rel_rcpt) {
		uint64_t since = (uint64_t)s->cool_from + p->throttle_cooldown;

		end_throttle(p, s, t32(since), MXT_END_RATE, cnt);
	} else {
		s->cool_from = release_time(p, r, &th, now);
		s->flags |= MXT_SF_DIRTY;
	}
}

/* BLOCKED whose cool-down may be over: unblock or push cool_from. */
static void try_unblock(const struct mxt_model_params *p, struct mxt_sender *s, uint64_t now,
			struct mxt_model_counts *cnt)
{
	double r[R_N], half = block_threshold(p, s, now) / 2.0;

	rates_at(p, s, now, r);
	if (r[R_SYN] <= half) {
		enum mxt_state back = (enum mxt_state)s->prev_state;
		uint64_t since = (uint64_t)s->cool_from + p->block_cooldown;

		if (back == MXT_STATE_THROTTLED || back == MXT_STATE_BLOCKED)
			back = MXT_STATE_ESTABLISHED;
		set_state(cnt, s, back,
			  back == MXT_STATE_ESTABLISHED ? MXT_CODE_OK_ESTABLISHED : MXT_CODE_OK_PROBATION,
			  t32(since));
		s->cool_from = 0;
		update_policy(p, s, -1);
	} else {
		s->cool_from = t32((uint64_t)ceil((double)now + SYN_TAU * log(r[R_SYN] / half)));
		s->flags |= MXT_SF_DIRTY;
	}
}

/* Start of a probation sender's idleness: its last session, or when it
 * was put (back) on probation. */
static inline uint32_t probation_ref(const struct mxt_sender *s)
{
	return s->last_session > s->state_since ? s->last_session : s->state_since;
}

/* Bring 's' up to 'now': hour/day rollover, cool-downs, absence.  Returns
 * 1 when the record should be forgotten.  cnt NULL: pure (a copy). */
static int advance(const struct mxt_model_params *p, struct mxt_sender *s, uint64_t now,
		   struct mxt_model_counts *cnt)
{
	uint32_t t = t32(now), H = t / HOUR;

	if (H > s->hour)
		rollover(p, s, H, cnt);
	if (s->state == MXT_STATE_THROTTLED &&
	    (uint64_t)t >= (uint64_t)s->cool_from + p->throttle_cooldown)
		try_release_throttle(p, s, now, cnt);
	if (s->state == MXT_STATE_THROTTLED &&
	    (uint64_t)t >= (uint64_t)s->state_since + p->throttle_max)
		end_throttle(p, s, t32((uint64_t)s->state_since + p->throttle_max), MXT_END_TIME, cnt);
	if (s->state == MXT_STATE_BLOCKED &&
	    (uint64_t)t >= (uint64_t)s->cool_from + p->block_cooldown)
		try_unblock(p, s, now, cnt);
	switch (s->state) {
	case MXT_STATE_NEW:
		return (uint64_t)t >= (uint64_t)s->last_seen + p->new_expire;
	case MXT_STATE_GRAYLISTED:
		return (uint64_t)t >= (uint64_t)probation_ref(s) + p->absence_reset;
	case MXT_STATE_ESTABLISHED:
	case MXT_STATE_THROTTLED:
		if ((uint64_t)t >= (uint64_t)s->last_session + p->absence_reset) {
			/* Long absence: back to probation.  The profile stays: it
			 * is the allowance of the returning sender (evaluate()). */
			uint32_t since = t32((uint64_t)s->last_session + p->absence_reset);

			restart_days(s, H);
			s->days_active = 0;
			s->cool_from = 0;
			s->prev_state = MXT_STATE_GRAYLISTED;
			s->flags &= (uint8_t)~MXT_SF_RELEASED;
			set_state(cnt, s, MXT_STATE_GRAYLISTED, MXT_CODE_OK_PROBATION, since);
			update_policy(p, s, -1);
		}
		return 0;
	default:
		return 0;
	}
}

/* When the tick next needs to look at 's' (unix s). */
static uint32_t due_of(const struct mxt_model_params *p, const struct mxt_sender *s)
{
	uint64_t v;

	if (s->flags & MXT_SF_PENDING)
		return 0;
	switch (s->state) {
	case MXT_STATE_NEW:
		v = (uint64_t)s->last_seen + p->new_expire;
		break;
	case MXT_STATE_GRAYLISTED:
		v = (uint64_t)probation_ref(s) + p->absence_reset;
		if (s->day_sessions + (uint32_t)s->day_deferred > 0) {
			uint64_t de = (uint64_t)day_end(s, day_of(s, s->hour)) * HOUR;

			if (de < v)
				v = de;
		}
		break;
	case MXT_STATE_THROTTLED:
		v = (uint64_t)s->cool_from + p->throttle_cooldown;
		if ((uint64_t)s->state_since + p->throttle_max < v)
			v = (uint64_t)s->state_since + p->throttle_max;
		if ((uint64_t)s->last_session + p->absence_reset < v)
			v = (uint64_t)s->last_session + p->absence_reset;
		break;
	case MXT_STATE_BLOCKED:
		v = (uint64_t)s->cool_from + p->block_cooldown;
		break;
	default:
		v = (uint64_t)s->last_session + p->absence_reset;
		break;
	}
	return v >= DUE_NONE ? DUE_NONE - 1 : (uint32_t)v;
}

/* ------------------------------------------------------------------ */
/* table                                                              */

/* Slot of key k (hash h), or -1. */
static long find_slot(const struct mxt_model *m, const struct mxt_key *k, uint64_t h)
{
	size_t i = home_of(m, h);
	uint32_t tg = tag_of(h);

	for (;;) {
		if (m->tag[i] == 0)
			return -1;
		if (m->tag[i] == tg && memcmp(&m->recs[i].key, k, sizeof(*k)) == 0)
			return (long)i;
		if (++i == m->nslots)
			i = 0;
	}
}

/* Recompute the due time of slot i. */
static void set_due(struct mxt_model *m, size_t i)
{
	uint32_t v = due_of(&m->p, &m->recs[i]);

	m->due[i] = v;
	if (v < m->next_due)
		m->next_due = v;
}

/* Remove slot i with backward-shift deletion (no tombstones). */
static void slot_delete(struct mxt_model *m, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		j = j + 1 == m->nslots ? 0 : j + 1;
		if (m->tag[j] == 0)
			break;
		home = home_of(m, key_hash(m, &m->recs[j].key));
		/* Can the record at j fill the hole at i?  Only if its home is
		 * not cyclically within (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->recs[i] = m->recs[j];
			m->tag[i] = m->tag[j];
			m->due[i] = m->due[j];
			i = j;
		}
	}
	m->tag[i] = 0;
	m->due[i] = DUE_NONE;
	m->count--;
}

/* Drop log entries that nobody needs any more. */
static void rm_compact(struct mxt_model *m)
{
	size_t r, w = 0;

	for (r = 0; r < m->rm_len; r++)
		if (m->rm[r].need)
			m->rm[w++] = m->rm[r];
	m->rm_len = w;
}

/* Log a deletion; -ENOSPC when a kernel deletion cannot be logged. */
static int rm_push(struct mxt_model *m, const struct mxt_key *k, uint32_t need)
{
	if (!need)
		return 0;
	if (m->rm_len == m->rm_cap)
		rm_compact(m);
	if (m->rm_len == m->rm_cap) {
		if (need & RM_POLICY)
			return -ENOSPC;
		m->rm_overflow = 1;
		return 0;
	}
	m->rm[m->rm_len].key = *k;
	m->rm[m->rm_len].need = need;
	m->rm_len++;
	return 0;
}

/* Forget the record in slot i; 'reported' = the kernel deletion was
 * already reported (tick), else it is logged for the next tick. */
static int remove_slot(struct mxt_model *m, size_t i, int reported)
{
	struct mxt_sender *s = &m->recs[i];
	uint32_t need = 0;
	int rc;

	if (!reported && s->kclass != MXT_CLASS_UNKNOWN)
		need |= RM_POLICY;
	if (is_history(s))
		need |= RM_DB;
	rc = rm_push(m, &s->key, need);
	if (rc)
		return rc;
	m->c.by_state[s->state]--;
	slot_delete(m, i);
	memset(m->evict_fail_at, 0, sizeof(m->evict_fail_at));
	return 0;
}

/* Eviction score: tier in the high half, last activity in the low half. */
static uint64_t evict_score(const struct mxt_model_params *p, const struct mxt_sender *s,
			    uint32_t t, unsigned int *tier)
{
	uint32_t act = s->state == MXT_STATE_NEW ? s->last_seen : s->last_session;

	switch (s->state) {
	case MXT_STATE_NEW:
		*tier = 0;
		break;
	case MXT_STATE_GRAYLISTED:
		*tier = 1;
		break;
	case MXT_STATE_BLOCKED:
		*tier = 3;
		break;
	default:
		*tier = (uint64_t)act + p->evict_protect < t ? 2 : 3;
		break;
	}
	return ((uint64_t)*tier << 32) | act;
}

/* Make room for one record whose tier is at most max_tier's business:
 * evict the least valuable sampled record of tier <= max_tier. */
static int evict_one(struct mxt_model *m, uint64_t now, unsigned int max_tier)
{
	uint32_t t = t32(now);
	uint64_t best = UINT64_MAX;
	unsigned int best_tier = 99, tier;
	size_t i = m->hand, best_i = 0, seen = 0, steps;

	/* A table full of what this newcomer may not evict stays so for a
	 * while: one fruitless scan per second and tier, not one per SYN. */
	if (max_tier <= TIER_EVIDENCE && m->evict_fail_at[max_tier] == t)
		return -ENOSPC;
	for (steps = 0; steps < m->nslots && seen < EVICT_SCAN_MAX; steps++) {
		if (m->tag[i]) {
			uint64_t sc = evict_score(&m->p, &m->recs[i], t, &tier);

			if (sc < best) {
				best = sc;
				best_i = i;
				best_tier = tier;
			}
			seen++;
			if (seen % EVICT_BATCH == 0 && best_tier <= max_tier && best_tier < 3)
				break;
		}
		if (++i == m->nslots)
			i = 0;
	}
	m->hand = i;
	if (best == UINT64_MAX || best_tier > max_tier || best_tier >= 3) {
		/* The scan ran to its end (all records or EVICT_SCAN_MAX). */
		if (max_tier <= TIER_EVIDENCE)
			m->evict_fail_at[max_tier] = t;
		return -ENOSPC;
	}
	if (remove_slot(m, best_i, 0))
		return -ENOSPC;
	m->c.evicted++;
	return 0;
}

/* Find k, or insert a fresh NEW record (evicting up to max_tier). */
static int find_or_insert(struct mxt_model *m, const struct mxt_key *k, uint64_t now,
			  unsigned int max_tier, size_t *out, int *created)
{
	uint64_t h = key_hash(m, k);
	long f = find_slot(m, k, h);
	size_t i;

	*created = 0;
	if (f >= 0) {
		*out = (size_t)f;
		return 0;
	}
	if (m->count >= m->capacity && evict_one(m, now, max_tier)) {
		m->c.rejected_full++;
		return -ENOSPC;
	}
	for (i = home_of(m, h); m->tag[i]; )
		if (++i == m->nslots)
			i = 0;
	m->tag[i] = tag_of(h);
	init_record(&m->recs[i], k, t32(now));
	m->count++;
	m->c.by_state[MXT_STATE_NEW]++;
	m->due[i] = DUE_NONE;
	*out = i;
	*created = 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* life cycle                                                         */

/* A model for at most 'capacity' sources. */
struct mxt_model *mxt_model_new(const struct mxt_model_params *p, size_t capacity)
{
	struct mxt_model *m;
	struct mxt_model_params def;
	size_t i;

	if (!p) {
		mxt_model_params_default(&def);
		p = &def;
	}
	if (capacity < 16 || capacity > (size_t)1 << 30 || mxt_model_params_check(p, NULL, 0)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->p = *p;
	m->capacity = capacity;
	m->nslots = capacity + capacity / 4 + 1;
	m->rm_cap = capacity / 64 < 1024 ? 1024 : capacity / 64;
	m->recs = malloc(m->nslots * sizeof(*m->recs));
	m->tag = calloc(m->nslots, sizeof(*m->tag));
	m->due = malloc(m->nslots * sizeof(*m->due));
	m->rm = malloc(m->rm_cap * sizeof(*m->rm));
	m->pfx = calloc(PFX_SLOTS, sizeof(*m->pfx));
	if (!m->recs || !m->tag || !m->due || !m->rm || !m->pfx) {
		mxt_model_free(m);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < m->nslots; i++)
		m->due[i] = DUE_NONE;
	m->next_due = DUE_NONE;
	m->c.capacity = capacity;
	return m;
}

/* Free the model. */
void mxt_model_free(struct mxt_model *m)
{
	if (!m)
		return;
	free(m->recs);
	free(m->tag);
	free(m->due);
	free(m->rm);
	free(m->pfx);
	free(m);
}

/* Replace the parameters. */
int mxt_model_set_params(struct mxt_model *m, const struct mxt_model_params *p)
{
	size_t i;

	if (!m || !p || mxt_model_params_check(p, NULL, 0))
		return -EINVAL;
	m->p = *p;
	/* Durations changed: every due time may have moved. */
	m->next_due = DUE_NONE;
	for (i = 0; i < m->nslots; i++)
		if (m->tag[i])
			set_due(m, i);
	return 0;
}

/* The parameters in force. */
const struct mxt_model_params *mxt_model_get_params(const struct mxt_model *m)
{
	return &m->p;
}

/* Seed the key hash while empty. */
int mxt_model_set_hash_seed(struct mxt_model *m, uint64_t seed)
{
	if (m->count)
		return -EBUSY;
	m->seed = seed;
	return 0;
}

/* ------------------------------------------------------------------ */
/* decisions                                                          */

/* The budget slot of the /24 (/48) of key k; *pk gets the prefix. */
static struct pfx_ent *pfx_slot(const struct mxt_model *m, const struct mxt_key *k,
				struct mxt_key *pk)
{
	unsigned int bits = k->family == MXT_FAMILY_IPV4 ? m->p.prefix_v4 : m->p.prefix_v6, i;
	uint8_t *a = (uint8_t *)pk->addr;

	*pk = *k;
	if (bits < pk->prefixlen)
		pk->prefixlen = (uint8_t)bits;
	for (i = 0; i < 16; i++) {
		unsigned int lo = i * 8;

		if (lo >= pk->prefixlen)
			a[i] = 0;
		else if (lo + 8 > pk->prefixlen)
			a[i] &= (uint8_t)(0xff << (lo + 8 - pk->prefixlen));
	}
	return &m->pfx[key_hash(m, pk) % PFX_SLOTS];
}

/* The prefix budget's theoretical arrival time for k at 'now': a slot held
 * by another, busy prefix is shared (stricter, never looser). */
static double pfx_tat(const struct pfx_ent *e, const struct mxt_key *pk, uint64_t now)
{
	(void)pk;
	return dmax(e->tat, (double)now);
}

/* 1 when the prefix budget of k admits a session at 'now'. */
static int pfx_ok(const struct mxt_model *m, const struct mxt_key *k, uint64_t now, uint32_t *wait)
{
	struct mxt_key pk;
	const struct pfx_ent *e;
	double iv, tol, tat;

	if (!m->p.prefix_budget)
		return 1;
	e = pfx_slot(m, k, &pk);
	iv = 3600.0 / m->p.prefix_budget;
	/* burst: a tenth of an hour, and at least three newcomers' first-hour
	 * allowances, so a few legitimate newcomers of one prefix (a provider
	 * adding addresses) are limited by their own allowances only */
	tol = iv * (dmax(3.0 * sched(&m->p, 0), floor(m->p.prefix_budget / 6.0)) - 1.0);
	tat = pfx_tat(e, &pk, now);
	if (tat - (double)now <= tol)
		return 1;
	*wait = (uint32_t)ceil(tat - (double)now - tol);
	return 0;
}

/* Take one session from the prefix budget of k. */
static void pfx_take(struct mxt_model *m, const struct mxt_key *k, uint64_t now)
{
	struct mxt_key pk;
	struct pfx_ent *e;

	if (!m->p.prefix_budget)
		return;
	e = pfx_slot(m, k, &pk);
	if (memcmp(&e->key, &pk, sizeof(pk)) != 0 && e->tat <= (double)now)
		e->key = pk; /* the slot's prefix went quiet: take it over */
	e->tat = pfx_tat(e, &pk, now) + 3600.0 / m->p.prefix_budget;
}

/* 1 for a sender back on probation after an absence, with the profile it
 * had (model.h, PROBATION). */
static inline int returning(const struct mxt_model_params *p, const struct mxt_sender *s)
{
	return s->state == MXT_STATE_GRAYLISTED && (s->wd_days || s->we_days) &&
	       (uint64_t)s->state_since >= (uint64_t)s->first_seen + p->absence_reset;
}

/* 1 when a CONNECT of 's' draws on its prefix's budget: day-0 senders
 * that are not returning. */
static inline int pfx_applies(const struct mxt_model_params *p, const struct mxt_sender *s)
{
	return p->prefix_budget && s->state == MXT_STATE_GRAYLISTED && s->days_active == 0 &&
	       !returning(p, s);
}

/* Would the new-sender budget admit a session at 'now'?  *wait = s until it would. */
static int budget_ok(const struct mxt_model *m, uint64_t now, uint32_t *wait)
{
	double iv, tol, tat, burst;

	if (!m->p.new_sender_budget)
		return 1;
	iv = 3600.0 / m->p.new_sender_budget;
	burst = dmax(1.0, floor(m->p.new_sender_budget / 6.0));
	tol = iv * (burst - 1.0);
	tat = dmax(m->budget_tat, (double)now);
	if (tat - (double)now <= tol)
		return 1;
	*wait = (uint32_t)ceil(tat - (double)now - tol);
	return 0;
}

/* Take one session from the new-sender budget. */
static void budget_take(struct mxt_model *m, uint64_t now)
{
	if (!m->p.new_sender_budget)
		return;
	m->budget_tat = dmax(m->budget_tat, (double)now) + 3600.0 / m->p.new_sender_budget;
}

/* 1 when a CONNECT of this day-0 source draws on the budget. */
static inline int budget_applies(const struct mxt_model_params *p, const struct mxt_sender *s,
				 uint32_t used)
{
	return p->new_sender_budget && s->state == MXT_STATE_GRAYLISTED && s->days_active == 0 &&
	       used >= p->new_sender_budget_free;
}

/* The decision for event 'kind' (n recipients) of an advanced record. */
static int evaluate(const struct mxt_model *m, const struct mxt_sender *s, uint64_t now,
		    enum mxt_obs_kind kind, uint32_t n, struct mxt_decision *d)
{
	const struct mxt_model_params *p = &m->p;
	uint32_t t = t32(now), H = t / HOUR, used, rcpts, wait = 0;
	uint64_t next_hour = ((uint64_t)H + 1) * HOUR;
	enum mxt_code code;
	double r[R_N], E, allow;
	int defer = 0;

	memset(d, 0, sizeof(*d));
	rates_at(p, s, now, r);
	used = s->hour == H ? s->hour_sessions : 0;
	rcpts = s->hour == H ? s->hour_rcpts : 0;
	E = expected_at(p, s, now);
	d->state = (enum mxt_state)s->state;
	d->reason = (enum mxt_code)s->code;
	d->tracked = 1;
	d->current_rate = r[R_SLOW];
	d->fast_rate = r[R_FAST];
	d->rcpt_rate = r[R_RCPT];
	/* the baseline as judged: floor applied, learned or not */
	d->baseline_rate = E;
	d->learned = learned_for(p, s, now);
	d->ratio = r[R_SLOW] / E;
	if (s->trig && (s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED)) {
		d->check = s->trig;
		d->check_rate = BF(s->trig_rate);
		d->check_baseline = BF(s->trig_base);
		d->check_threshold = BF(s->trig_thr);
	}
	d->used = used;
	d->days_active = s->days_active;
	d->first_seen = s->first_seen;
	d->state_since = s->state_since;
	d->last_seen = s->last_seen;

	switch (s->state) {
	case MXT_STATE_NEW:
		code = MXT_CODE_OK_PROBATION;
		d->allowance = sched(p, 0);
		break;
	case MXT_STATE_GRAYLISTED:
		code = MXT_CODE_OK_PROBATION;
		allow = sched(p, s->days_active);
		if (returning(p, s)) /* back after an absence: its own level */
			allow = dmax(allow, E);
		d->allowance = allow;
		d->next_change = (uint64_t)day_end(s, day_of(s, H)) * HOUR;
		if (kind == MXT_OBS_CONNECT) {
			if (p->greylist_delay && (uint64_t)t < (uint64_t)s->state_since + p->greylist_delay) {
				defer = 1;
				code = MXT_CODE_NEW_SENDER;
				wait = (uint32_t)((uint64_t)s->state_since + p->greylist_delay - t);
			} else if (used >= allow) {
				defer = 1;
				code = MXT_CODE_NEW_SENDER;
				wait = (uint32_t)(next_hour - t);
			} else if (pfx_applies(p, s) && !pfx_ok(m, &s->key, now, &wait)) {
				defer = 1;
				code = MXT_CODE_GLOBAL_BUDGET;
			} else if (budget_applies(p, s, used) && !budget_ok(m, now, &wait)) {
				defer = 1;
				code = MXT_CODE_GLOBAL_BUDGET;
			}
		} else if (kind == MXT_OBS_RCPT || kind == MXT_OBS_EOM) {
			if ((uint64_t)rcpts + n > (uint64_t)allow * p->probation_rcpts_per_session) {
				defer = 1;
				code = MXT_CODE_NEW_BURST;
				wait = (uint32_t)(next_hour - t);
			}
		}
		break;
	case MXT_STATE_ESTABLISHED: {
		struct thresholds th;

		thresholds_for(p, s, E, &th);
		code = MXT_CODE_OK_ESTABLISHED;
		d->allowance = th.jump_slow;
		break;
	}
	case MXT_STATE_THROTTLED: {
		int cooling = t >= s->cool_from;

		/* its usual traffic, plus what its queue needs to drain, up to
		 * twice that: mail is delayed, not lost */
		allow = dmax(p->throttle_allow_factor * E, (double)p->throttle_allow_min);
		allow += dmin((double)s->backlog, allow);
		d->allowance = allow;
		d->next_change = (uint64_t)s->cool_from + p->throttle_cooldown;
		if (d->next_change > (uint64_t)s->state_since + p->throttle_max)
			d->next_change = (uint64_t)s->state_since + p->throttle_max;
		d->reason = cooling ? MXT_CODE_RATE_COOLDOWN : MXT_CODE_RATE_JUMP;
		code = MXT_CODE_OK_ESTABLISHED;
		if ((kind == MXT_OBS_CONNECT && used >= allow) ||
		    ((kind == MXT_OBS_RCPT || kind == MXT_OBS_EOM) &&
		     /* one session of slack: the drain share decays between a
		      * session's CONNECT and its RCPTs, and an admitted
		      * session must not lose its recipients to that */
		     (double)rcpts + n > (allow + 1.0) * dmax(s->rps, 1.0))) {
			defer = 1;
			code = d->reason;
			wait = (uint32_t)(next_hour - t);
			if (d->next_change > t && d->next_change - t < wait)
				wait = (uint32_t)(d->next_change - t);
		}
		break;
	}
	case MXT_STATE_BLOCKED:
	default:
		d->allowance = 0;
		d->next_change = (uint64_t)s->cool_from + p->block_cooldown;
		defer = 1;
		code = MXT_CODE_HARD_LIMIT;
		wait = d->next_change > t ? (uint32_t)(d->next_change - t) : 60;
		break;
	}
	d->code = code;
	d->defer = defer;
	if (defer)
		d->retry_after = wait ? wait : 1;
	return defer;
}

/* Decision for a source the model does not track: what its first session
 * at 'now' would get. */
static void newcomer_decision(const struct mxt_model *m, const struct mxt_key *k, uint64_t now,
			      struct mxt_decision *d)
{
	struct mxt_sender tmp;

	init_record(&tmp, k, t32(now));
	start_probation(&m->p, NULL, &tmp, t32(now));
	evaluate(m, &tmp, now, MXT_OBS_CONNECT, 0, d);
	d->state = MXT_STATE_NEW;
	d->reason = MXT_CODE_OK_PROBATION;
	d->tracked = 0;
	d->first_seen = 0;
	d->state_since = 0;
	d->last_seen = 0;
}

/* Pure read: the decision for the next CONNECT of 'key'. */
int mxt_model_decide(const struct mxt_model *m, const struct mxt_key *key, uint64_t now,
		     struct mxt_decision *d)
{
	struct mxt_sender tmp;
	struct mxt_key k;
	long f;

	if (!m || !d || key_norm(key, &k))
		return -EINVAL;
	f = find_slot(m, &k, key_hash(m, &k));
	if (f < 0) {
		newcomer_decision(m, &k, now, d);
		return 0;
	}
	tmp = m->recs[f];
	if (advance(&m->p, &tmp, now, NULL)) {
		newcomer_decision(m, &k, now, d);
		return 0;
	}
	if (tmp.state == MXT_STATE_NEW) {
		/* SYN-only so far: what its first session would get. */
		struct mxt_sender probe = tmp;

		start_probation(&m->p, NULL, &probe, t32(now));
		evaluate(m, &probe, now, MXT_OBS_CONNECT, 0, d);
		d->state = MXT_STATE_NEW;
		d->reason = (enum mxt_code)tmp.code;
		d->first_seen = tmp.first_seen;
		d->state_since = tmp.state_since;
		d->last_seen = tmp.last_seen;
		d->current_rate = 0;
		d->fast_rate = 0;
		return 0;
	}
	evaluate(m, &tmp, now, MXT_OBS_CONNECT, 0, d);
	return 0;
}

/* ESTABLISHED: throttle when a rate check fires (model.h, RATE JUMP). */
static void check_jump(struct mxt_model *m, struct mxt_sender *s, uint64_t now)
{
	const struct mxt_model_params *p = &m->p;
	struct thresholds th;
	double r[R_N], E, h, rate = 0, base, thr = 0;
	int grace, which = MXT_CHECK_NONE;

	if (!learned_for(p, s, now))
		return; /* this kind of day not learned yet (operator release): learn first */
	E = expected_at(p, s, now);
	base = E;
	thresholds_for(p, s, E, &th);
	/* After a throttle its MTA flushes the deferred mail in queue runs:
	 * judge sustained excess only (retries are not counted in it). */
	grace = in_grace(p, s, now);
	h = cusum_limit(p, s, E);
	if (!grace && s->r_fast > th.jump_fast &&
	    s->r_fast * p->rate_fast_window / 3600.0 >= p->fast_min_count) {
		which = MXT_CHECK_FAST;
		rate = s->r_fast;
		thr = th.jump_fast;
	} else if (s->cusum > h) {
		which = MXT_CHECK_SUSTAINED;
		rate = s->r_slow;
		thr = cusum_ref(p, s, now) * E;
	} else if (!grace && s->rr > th.jump_rcpt && s->rr > 2.0 * dmax(s->rps, 1.0) * s->r_slow) {
		/* recipients out of proportion to the sessions: more sessions
		 * alone (a NAT's burst) are the session checks' business */
		which = MXT_CHECK_RCPT;
		rate = s->rr;
		base = E * dmax(s->rps, 1.0);
		thr = th.jump_rcpt;
	}
	if (which == MXT_CHECK_NONE)
		return;
	set_state(&m->c, s, MXT_STATE_THROTTLED, MXT_CODE_RATE_JUMP, t32(now));
	m->c.throttles++;
	s->trig = (uint8_t)which;
	s->trig_rate = mxt_float_to_bf16((float)rate);
	s->trig_base = mxt_float_to_bf16((float)base);
	s->trig_thr = mxt_float_to_bf16((float)thr);
	s->end_why = MXT_END_NONE;
	s->flags |= MXT_SF_DAY_BAD;
	if (which != MXT_CHECK_SUSTAINED)
		s->flags |= MXT_SF_NOLEARN;
	rates_at(p, s, now, r);
	s->cool_from = release_time(p, r, &th, now);
	update_policy(p, s, th.jump_slow);
}

/* A new session of an ESTABLISHED sender into its CUSUM: drained at
 * cusum_k x E since the last one, plus one. */
static void cusum_add(const struct mxt_model_params *p, struct mxt_sender *s, uint64_t now)
{
	uint32_t t = t32(now);
	double dt = t > s->cusum_t ? (double)(t - s->cusum_t) : 0.0;
	double c = s->cusum - cusum_ref(p, s, now) * expected_at(p, s, now) * dt / 3600.0;

	s->cusum = (float)(dmax(0.0, c) + 1.0);
	s->cusum_t = t;
}

/* THROTTLED: a new session keeps the cool-down from starting. */
static void push_cooldown(struct mxt_model *m, struct mxt_sender *s, uint64_t now)
{
	struct thresholds th;
	double r[R_N];
	uint32_t at;

	thresholds_for(&m->p, s, expected_at(&m->p, s, now), &th);
	rates_at(&m->p, s, now, r);
	if (r[R_SLOW] <= th.rel_slow && r[R_FAST] <= th.rel_fast && r[R_RCPT] <= th.rel_rcpt)
		return; /* below: the cool-down runs from when it got there */
	at = release_time(&m->p, r, &th, now);
	if (at > s->cool_from)
		s->cool_from = at;
}

/* Find (or create) the record of a session event and bring it to 'now'. */
static int session_record(struct mxt_model *m, const struct mxt_key *k, uint64_t now, size_t *out)
{
	int created, rc;
	size_t i;

	rc = find_or_insert(m, k, now, TIER_EVIDENCE, &i, &created);
	if (rc)
		return rc;
	if (!created && advance(&m->p, &m->recs[i], now, &m->c)) {
		/* Forgotten by age, and back: start over as a newcomer.  The
		 * kernel class is kept so that only a real change is reported. */
		struct mxt_sender *s = &m->recs[i];
		uint8_t kc = s->kclass;
		uint16_t kr = s->krate;

		m->c.expired++;
		m->c.by_state[s->state]--;
		m->c.by_state[MXT_STATE_NEW]++;
		init_record(s, k, t32(now));
		s->kclass = kc;
		s->krate = kr;
	}
	*out = i;
	return 0;
}

/* What a session event is to this model (session_event()). */
enum ev_mode {
	EV_ADMIT = 0, /* this node decides and counts it (the policy service) */
	EV_SEEN,      /* admitted without a decision here: accepted anyway (connectors) */
	EV_REMOTE,    /* admitted by another node of the fleet: takes the new-sender budgets too */
	EV_DEFERRED,  /* deferred by another node of the fleet: counted as a deferral here */
};

/* Events of another node replayed at once that happened over a span of
 * time (its counts held back by an outage): how much of the fast rate each
 * adds, and the CUSUM drain a single host would have had meanwhile. */
struct spread {
	double fscale;  /* share of a session's fast-rate increment */
	double credit;  /* sessions the CUSUM would have drained: not added */
};

/* An attempt another node deferred (mode EV_DEFERRED): was it a budget
 * deferral?  The fleet's deltas carry no reason code, so it is inferred:
 * a GRAYLISTED CONNECT past its greylist delay and still under its hour's
 * schedule is deferred by evaluate() for nothing but a new-sender budget
 * (prefix or gateway-wide), so when one of them applies here that is the
 * reason.  Without this, other nodes count a budget deferral as a plain
 * one and snowshoe senders get clean days there (docs/fleet.md).  The
 * schedule, not a returning sender's larger allowance, is the bound: an
 * attempt above it may be a plain deferral. */
static int remote_bdef(const struct mxt_model_params *p, const struct mxt_sender *s,
		       enum mxt_obs_kind kind, int defer, uint32_t t)
{
	uint32_t used = s->hour == t / HOUR ? s->hour_sessions : 0;

	if (!defer || kind != MXT_OBS_CONNECT || s->state != MXT_STATE_GRAYLISTED)
		return 0;
	if (p->greylist_delay && (uint64_t)t < (uint64_t)s->state_since + p->greylist_delay)
		return 0;
	return (pfx_applies(p, s) || budget_applies(p, s, used)) && used < sched(p, s->days_active);
}

/* The session paths: admit (decide and count), or count an event decided
 * elsewhere -- admitted (EV_SEEN, EV_REMOTE) or deferred (EV_DEFERRED) --
 * exactly as this node's own decision would have counted it.  One path, so
 * that a fleet's nodes replaying each other's events agree with a single
 * host; the new-sender budgets are fleet-wide that way too (every node
 * takes what any node admitted, docs/fleet.md). */
static int session_event(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			 enum mxt_obs_kind kind, uint32_t n, enum ev_mode mode, struct mxt_decision *d,
			 struct spread *sp)
{
	const struct mxt_model_params *p = &m->p;
	struct mxt_decision tmpd;
	struct mxt_sender *s;
	struct mxt_key k;
	uint32_t t = t32(now), H = t / HOUR;
	double w = 1.0;
	size_t i;
	int rc, admit = mode == EV_ADMIT, defer = mode == EV_DEFERRED, decided = 0;
	int takes = admit || mode == EV_REMOTE; /* draws on the new-sender budgets */

	if (!m || (unsigned)kind >= MXT_OBS_MAX || key_norm(key, &k))
		return -EINVAL;
	if (!d)
		d = &tmpd;
	rc = session_record(m, &k, now, &i);
	if (rc) {
		newcomer_decision(m, &k, now, d);
		return rc;
	}
	s = &m->recs[i];
	if (s->state == MXT_STATE_NEW) {
		start_probation(p, &m->c, s, t);
	} else if (s->state == MXT_STATE_BLOCKED && s->prev_state == MXT_STATE_NEW) {
		/* A real session from a blocked SYN-only source: evidence. */
		restart_days(s, H);
		s->days_active = 0;
		s->prev_state = MXT_STATE_GRAYLISTED;
	}
	if (s->last_session < t)
		s->last_session = t;
	if (s->last_seen < t)
		s->last_seen = t;
	decay(p, s, now);
	if (kind == MXT_OBS_CONNECT && s->day_sessions + (uint32_t)s->day_deferred == 0)
		activate_day(p, s, H);
	if (kind == MXT_OBS_CONNECT) {
		/* A session while deferred ones are still expected back is taken
		 * for a retry: it counts throttle_retry_weight in the rates and
		 * nothing in the demand, so an MTA's own queue neither keeps a
		 * throttle going nor starts a new one. */
		/* an MTA retries no sooner than its minimal backoff (Postfix:
		 * 300 s): the sessions right after a deferral are new ones */
		s->sess = s->backlog - s->young >= 1.0f ? SESS_RETRY : 0;
		if (s->sess & SESS_RETRY)
			s->backlog -= 1.0f;
	}
	if (admit && s->state == MXT_STATE_THROTTLED) {
		decided = 1;
		defer = evaluate(m, s, now, kind, n, d);
	}
	if (s->sess & SESS_RETRY)
		w = p->throttle_retry_weight;
	if (kind == MXT_OBS_CONNECT) {
		s->r_fast += (float)(w * (sp ? sp->fscale : 1.0) * 3600.0 / p->rate_fast_window);
		s->r_slow += (float)(w * 3600.0 / p->rate_window);
		if (!(s->sess & SESS_RETRY)) {
			inc16(&s->hour_demand);
			if (s->r_fast > s->hour_peak)
				s->hour_peak = s->r_fast >= 65535.0f ? 65535 : (uint16_t)s->r_fast;
			if (sp && sp->credit >= 1.0)
				sp->credit -= 1.0;
			else if (s->state == MXT_STATE_ESTABLISHED && learned_for(p, s, now))
				cusum_add(p, s, now);
		}
	} else if (kind == MXT_OBS_RCPT || kind == MXT_OBS_EOM) {
		s->rr += (float)(w * n * 3600.0 / p->rate_window);
	}
	if (kind != MXT_OBS_DATA) {
		if (s->state == MXT_STATE_ESTABLISHED)
			check_jump(m, s, now);
		else if (s->state == MXT_STATE_THROTTLED)
			push_cooldown(m, s, now);
	}
	if (!admit)
		memset(d, 0, sizeof(*d)); /* the code of a deferral elsewhere is not known here */
	else if (!decided)
		defer = evaluate(m, s, now, kind, n, d);
	if (!defer) {
		if (kind == MXT_OBS_CONNECT) {
			if (takes && budget_applies(p, s, s->hour == H ? s->hour_sessions : 0))
				budget_take(m, now);
			if (takes && pfx_applies(p, s))
				pfx_take(m, &s->key, now);
			inc16(&s->hour_sessions);
			if (s->day_sessions < UINT32_MAX)
				s->day_sessions++;
			if (admit)
				d->used += 1;
		} else if (kind == MXT_OBS_RCPT || kind == MXT_OBS_EOM) {
			s->hour_rcpts = (uint64_t)s->hour_rcpts + n > UINT32_MAX ? UINT32_MAX
									      : s->hour_rcpts + n;
		}
		if (admit)
			m->c.admitted++;
	} else {
		inc16(&s->day_deferred);
		if (admit ? d->code == MXT_CODE_GLOBAL_BUDGET : remote_bdef(p, s, kind, defer, t))
			inc16(&s->day_bdef);
		if (!(s->sess & SESS_DEFERRED)) {
			s->backlog += 1.0f; /* one retry to come per deferred session */
			s->young += 1.0f;
			s->sess |= SESS_DEFERRED;
		}
		if (admit)
			m->c.deferred[d->code]++;
	}
	s->flags |= MXT_SF_DIRTY;
	set_due(m, i);
	return defer;
}

/* Decide a session event and count it. */
int mxt_model_admit_session(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			    enum mxt_obs_kind kind, uint32_t recipients, uint64_t size,
			    struct mxt_decision *d)
{
	(void)size;
	return session_event(m, key, now, kind, recipients, EV_ADMIT, d, NULL);
}

/* Count a session event accepted anyway. */
int mxt_model_observe_session(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			      enum mxt_obs_kind kind, uint32_t recipients, uint64_t size)
{
	int rc;

	(void)size;
	rc = session_event(m, key, now, kind, recipients, EV_SEEN, NULL, NULL);
	return rc < 0 ? rc : 0;
}

/* Count an event another node of the fleet deferred, as this node's own
 * deferral would count it (the session path, nothing admitted). */
int mxt_model_observe_deferred(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			       enum mxt_obs_kind kind, uint32_t recipients)
{
	int rc = session_event(m, key, now, kind, recipients, EV_DEFERRED, NULL, NULL);

	return rc < 0 ? rc : 0;
}

/* The counts of one source-hour as session events at 'now' (EV_REMOTE for
 * what was admitted, EV_DEFERRED for what was deferred), spread over the
 * last c->span seconds when that is longer than the fast rate's window:
 * the fast rate takes them as if they had come evenly over the span, and
 * the CUSUM net of what it would have drained meanwhile, so that minutes of
 * another node's sessions arriving at once make no burst.  0 or the first
 * error. */
static int replay_hour(struct mxt_model *m, const struct mxt_key *k, uint64_t now,
		       const struct mxt_hour_counts *c)
{
	const struct mxt_model_params *p = &m->p;
	struct spread sp = { 1.0, 0.0 }, *spp = NULL;
	double L = dmin((double)c->span, (double)(t32(now) % HOUR) + 1.0);
	int rc = 0;

	if (L > p->rate_fast_window) {
		long f = find_slot(m, k, key_hash(m, k));
		const struct mxt_sender *s = f >= 0 ? &m->recs[f] : NULL;

		sp.fscale = p->rate_fast_window / L * (1.0 - exp(-L / p->rate_fast_window));
		if (s && s->state == MXT_STATE_ESTABLISHED && learned_for(p, s, now))
			sp.credit = cusum_ref(p, s, now) * expected_at(p, s, now) * L / 3600.0;
		spp = &sp;
	}
	for (uint32_t j = 0; j < c->sessions && rc >= 0; j++)
		rc = session_event(m, k, now, MXT_OBS_CONNECT, 0, EV_REMOTE, NULL, spp);
	if (c->rcpts && rc >= 0)
		rc = session_event(m, k, now, MXT_OBS_RCPT, c->rcpts, EV_REMOTE, NULL, spp);
	for (uint32_t j = 0; j < c->dsessions && rc >= 0; j++)
		rc = session_event(m, k, now, MXT_OBS_CONNECT, 0, EV_DEFERRED, NULL, spp);
	if (c->drcpts && rc >= 0)
		rc = session_event(m, k, now, MXT_OBS_RCPT, c->drcpts, EV_DEFERRED, NULL, spp);
	return rc < 0 ? rc : 0;
}

/* Hour H of the current day was folded into the profile without 'extra'
 * sessions: add them at the rate fold() learned the hour at (its linear
 * part; a probation hour takes the larger count whole, as fold() does
 * when an hour outgrows its slot). */
static void fold_more(const struct mxt_model_params *p, struct mxt_sender *s, uint32_t H,
		      uint32_t extra)
{
	int64_t L = local_hour(p, H);
	unsigned int h = hod(L);
	uint16_t *slot = is_weekend(L) ? &s->we[h / 3] : &s->wd[h];
	double cur = BF(*slot), a, cap;

	if (s->state == MXT_STATE_GRAYLISTED) {
		a = 1.0;
		cap = cur + extra;
	} else {
		a = is_weekend(L) ? dmax(1.0 / (3.0 * p->baseline_weekend_days), 1.0 / (3.0 * s->we_days + 1.0))
				  : dmax(1.0 / p->baseline_days, 1.0 / (s->wd_days + 1.0));
		cap = dmax(p->learn_cap_factor * dmax(cur, (double)p->baseline_floor), cur + p->jump_margin);
	}
	*slot = mxt_float_to_bf16((float)dmin(cur + a * extra, cap));
}

/* Counts of a finished hour H (< the record's hour) that reach this node
 * late (merged after a fleet outage): into the rates, into the CUSUM and
 * the retries to come, and -- while H's day is the current one -- into the
 * day's counts and H's profile slot.  The rates take them decayed from the
 * end of that hour (the latest they can be: never below a single host's),
 * except the fast rate, which takes them as if spread evenly over the
 * hour: sessions of many minutes arriving at once are no burst, and must
 * not make one (the CUSUM sees a jump in them).  The day's clean-day
 * outcome is decided at its end: counts of a day already closed change
 * only the rates. */
static void merge_past(struct mxt_model *m, struct mxt_sender *s, uint64_t now, uint32_t H,
		       const struct mxt_hour_counts *c)
{
	const struct mxt_model_params *p = &m->p;
	uint32_t te = H * HOUR + HOUR - 1;
	double age = t32(now) > te ? (double)(t32(now) - te) : 0.0, wd = p->throttle_retry_weight;
	double fs = exp(-age / p->rate_fast_window) - exp(-(age + HOUR) / p->rate_fast_window);
	double ss = exp(-age / p->rate_window);
	int frozen = s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED;

	decay(p, s, now);
	s->r_fast += (float)((c->sessions + wd * c->dsessions) * fs);
	s->r_slow += (float)((c->sessions + wd * c->dsessions) * 3600.0 / p->rate_window * ss);
	s->rr += (float)((c->rcpts + wd * c->drcpts) * 3600.0 / p->rate_window * ss);
	if (c->dsessions) {
		s->backlog += (float)(c->dsessions * exp(-age / p->retry_horizon));
		s->young += (float)(c->dsessions * exp(-age / RETRY_MIN));
	}
	if (s->state == MXT_STATE_ESTABLISHED && learned_for(p, s, now) && c->sessions) {
		/* what the CUSUM would still hold of them: drained since */
		double drain = cusum_ref(p, s, now) * expected_at(p, s, now) * age / 3600.0;

		s->cusum = (float)(s->cusum + dmax(0.0, c->sessions - drain));
	}
	if (day_of(s, H) == day_of(s, s->hour) && H >= day_start(s, day_of(s, H))) {
		s->day_sessions = (uint64_t)s->day_sessions + c->sessions > UINT32_MAX ? UINT32_MAX
										 : s->day_sessions + c->sessions;
		s->day_deferred = (uint16_t)((uint64_t)s->day_deferred + c->dsessions > UINT16_MAX
					     ? UINT16_MAX : s->day_deferred + c->dsessions);
		if (c->sessions && !frozen)
			fold_more(p, s, H, c->sessions);
	}
	if (s->last_session < te)
		s->last_session = te;
	if (c->sessions + c->dsessions + c->rcpts + c->drcpts) {
		if (s->state == MXT_STATE_ESTABLISHED)
			check_jump(m, s, now);
		else if (s->state == MXT_STATE_THROTTLED)
			push_cooldown(m, s, now);
	}
}

/* Counts of one source-hour seen by another node of the fleet. */
int mxt_model_merge_hour(struct mxt_model *m, const struct mxt_key *key, uint64_t now, uint32_t hour,
			 const struct mxt_hour_counts *c)
{
	uint32_t H = t32(now) / HOUR;
	struct mxt_hour_counts cc;
	struct mxt_key k;
	size_t i;
	long f;
	int rc;

	if (!m || !c || hour > H || key_norm(key, &k))
		return -EINVAL;
	/* the counts come off the network: one source-hour's sessions fit
	 * the record's 16-bit hour counters, and so many events are replayed
	 * at most (the lock is held meanwhile) */
	cc = *c;
	cc.sessions = cc.sessions > UINT16_MAX ? UINT16_MAX : cc.sessions;
	cc.dsessions = cc.dsessions > UINT16_MAX ? UINT16_MAX : cc.dsessions;
	c = &cc;
	if (hour == H)
		return replay_hour(m, &k, now, c);
	f = find_slot(m, &k, key_hash(m, &k));
	if (f < 0 || m->recs[f].state == MXT_STATE_NEW || m->recs[f].hour <= hour) {
		/* Nothing here after that hour: its events, replayed at the end
		 * of it, are exactly what this node would have counted; the
		 * record then rolls over to now with them. */
		cc.span = 0; /* a single host would have counted them by then */
		rc = replay_hour(m, &k, (uint64_t)hour * HOUR + HOUR - 1, c);
		if (rc == 0)
			rc = session_record(m, &k, now, &i);
		if (rc == 0)
			set_due(m, i);
		return rc;
	}
	rc = session_record(m, &k, now, &i);
	if (rc)
		return rc;
	merge_past(m, &m->recs[i], now, hour, c);
	m->recs[i].flags |= MXT_SF_DIRTY;
	set_due(m, i);
	return 0;
}

/* The slot of normalised key k (hash h), or -1: a record that has
 * expired by 'now' is forgotten (counted) and reads as absent. */
static long find_current(struct mxt_model *m, const struct mxt_key *k, uint64_t h, uint64_t now)
{
	long f = find_slot(m, k, h);

	if (f >= 0 && advance(&m->p, &m->recs[f], now, &m->c)) {
		m->c.expired++;
		if (remove_slot(m, (size_t)f, 0) == 0)
			f = -1;
	}
	return f;
}

/* Block 's' for a SYN flood: its rate crossed 'thr' (block_threshold(),
 * the same before and after the change: prev_state keeps ESTABLISHED for
 * a throttled sender); the cool-down runs from 'cool_from'. */
static void enter_block(struct mxt_model *m, struct mxt_sender *s, uint64_t now, double thr,
			uint32_t cool_from)
{
	const struct mxt_model_params *p = &m->p;

	s->prev_state = s->state == MXT_STATE_THROTTLED ? MXT_STATE_ESTABLISHED : s->state;
	set_state(&m->c, s, MXT_STATE_BLOCKED, MXT_CODE_HARD_LIMIT, t32(now));
	m->c.blocks++;
	s->trig = MXT_CHECK_SYN;
	s->trig_rate = mxt_float_to_bf16(s->syn_rate);
	s->trig_base = mxt_float_to_bf16((float)expected_at(p, s, now));
	s->trig_thr = mxt_float_to_bf16((float)thr);
	s->flags |= MXT_SF_NOLEARN | MXT_SF_DAY_BAD;
	s->cool_from = cool_from;
	update_policy(p, s, -1);
}

/* Another node of the fleet blocked 'key' for a SYN flood until 'until'. */
int mxt_model_block(struct mxt_model *m, const struct mxt_key *key, uint64_t now, uint32_t until)
{
	const struct mxt_model_params *p;
	struct mxt_sender *s;
	struct mxt_key k;
	uint32_t from;
	size_t i;
	long f;
	int created, rc;

	if (!m || key_norm(key, &k) || until <= t32(now))
		return -EINVAL;
	p = &m->p;
	f = find_current(m, &k, key_hash(m, &k), now);
	if (f < 0) {
		/* a flood's source: it may take the place of a SYN-only record only */
		rc = find_or_insert(m, &k, now, TIER_SYN, &i, &created);
		if (rc)
			return rc;
	} else {
		i = (size_t)f;
	}
	s = &m->recs[i];
	/* this node's own cool-down starts over from here: it unblocks at
	 * 'until' unless its own SYN rate keeps the block longer */
	from = until > p->block_cooldown ? until - p->block_cooldown : 0;
	if (s->state != MXT_STATE_BLOCKED)
		enter_block(m, s, now, block_threshold(p, s, now), from);
	else if (from > s->cool_from)
		s->cool_from = from;
	if (s->last_seen < t32(now))
		s->last_seen = t32(now);
	s->flags |= MXT_SF_DIRTY;
	set_due(m, i);
	return 0;
}

/* When a block of 'key' ends here unless SYNs keep it (0: not blocked). */
uint32_t mxt_model_block_until(const struct mxt_model *m, const struct mxt_key *key)
{
	const struct mxt_sender *s = mxt_model_lookup(m, key);

	if (!s || s->state != MXT_STATE_BLOCKED)
		return 0;
	return (uint32_t)dmin((double)s->cool_from + m->p.block_cooldown, (double)UINT32_MAX);
}

/* SYN deltas of one source whose key is normalised and hashed (h). */
static void syns_one(struct mxt_model *m, const struct mxt_key *k, uint64_t h, uint64_t now,
		     uint64_t syns)
{
	const struct mxt_model_params *p = &m->p;
	struct mxt_sender *s;
	double thr;
	size_t i;
	long f;
	int created;

	if (!syns)
		return;
	f = find_current(m, k, h, now);
	if (f < 0) {
		if (syns < p->syn_track_min) {
			m->c.syns_untracked += syns;
			return;
		}
		if (find_or_insert(m, k, now, TIER_SYN, &i, &created)) {
			m->c.syns_untracked += syns;
			return;
		}
	} else {
		i = (size_t)f;
	}
	s = &m->recs[i];
	decay(p, s, now);
	s->syn_rate = (float)(s->syn_rate + (double)syns * (60.0 / SYN_TAU));
	if (s->last_seen < t32(now))
		s->last_seen = t32(now);
	/* block_threshold() >= block_syn_rate: skip it in the common case. */
	thr = s->syn_rate <= p->block_syn_rate / 2.0 ? p->block_syn_rate : block_threshold(p, s, now);
	if (s->state != MXT_STATE_BLOCKED && s->syn_rate > thr) {
		enter_block(m, s, now, thr,
			    t32((uint64_t)ceil((double)now + SYN_TAU * log(s->syn_rate / (thr / 2)))));
	} else if (s->state == MXT_STATE_BLOCKED && s->syn_rate > thr / 2) {
		uint32_t at = t32((uint64_t)ceil((double)now + SYN_TAU * log(s->syn_rate / (thr / 2))));

		if (at > s->cool_from)
			s->cool_from = at;
	}
	s->flags |= MXT_SF_DIRTY;
	set_due(m, i);
}

/* Per-tick SYN deltas of one source. */
int mxt_model_observe_syns(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			   uint64_t syns, uint64_t dropped)
{
	struct mxt_key k;

	(void)dropped; /* counted SYNs include the dropped ones */
	if (!m || key_norm(key, &k))
		return -EINVAL;
	syns_one(m, &k, key_hash(m, &k), now, syns);
	return 0;
}

#define PF_DIST 8 /* observations prefetched ahead */

/* Per-tick SYN deltas of many sources: the same as calling
 * mxt_model_observe_syns() for each, with the table slots prefetched a few
 * observations ahead (the pass is bound by memory latency). */
int mxt_model_observe_syns_batch(struct mxt_model *m, const struct mxt_syn_obs *obs, size_t n,
				 uint64_t now)
{
	struct mxt_key rk[PF_DIST];
	uint64_t rh[PF_DIST];
	size_t i;
	int bad = 0;

	if (!m || (n && !obs))
		return -EINVAL;
	for (i = 0; i < n + PF_DIST; i++) {
		size_t r = i % PF_DIST;

		if (i >= PF_DIST) { /* observation i - PF_DIST lives in slot r */
			if (rk[r].family)
				syns_one(m, &rk[r], rh[r], now, obs[i - PF_DIST].syns);
			else
				bad++;
		}
		if (i < n) {
			if (key_norm(&obs[i].key, &rk[r])) {
				rk[r].family = 0;
			} else {
				size_t home;

				rh[r] = key_hash(m, &rk[r]);
				home = home_of(m, rh[r]);
				__builtin_prefetch(&m->tag[home]);
				__builtin_prefetch(&m->due[home]);
				__builtin_prefetch(&m->recs[home]);
				__builtin_prefetch((const char *)&m->recs[home] + 64);
			}
		}
	}
	return bad ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* tick                                                               */

/* Report the kernel policy of 's' (or a deletion when del). */
static void report(const struct mxt_model *m, mxt_model_change_fn cb, void *ctx,
		   const struct mxt_sender *s, const struct mxt_key *k, int del)
{
	struct mxt_model_change c;

	if (!cb)
		return;
	memset(&c, 0, sizeof(c));
	c.key = s ? s->key : *k;
	c.klass = MXT_CLASS_UNKNOWN;
	c.state = MXT_STATE_NEW;
	c.code = MXT_CODE_OK_PROBATION;
	if (s && !del) {
		c.state = (enum mxt_state)s->state;
		c.code = (enum mxt_code)s->code;
		c.klass = s->kclass;
		if (s->krate) {
			c.flags = MXT_POLICY_F_OVERRIDE;
			c.limit.rate = s->krate;
			c.limit.burst = s->krate > m->p.kernel_min_burst ? s->krate
									 : m->p.kernel_min_burst;
			(void)mxt_limit_derive(&c.limit, 1);
		}
		mxt_model_why(s, c.why, sizeof(c.why));
	}
	cb(ctx, &c);
}

/* Time-driven transitions; reports kernel policy changes. */
int mxt_model_tick(struct mxt_model *m, uint64_t now, mxt_model_change_fn cb, void *ctx)
{
	uint32_t t = t32(now), newmin = DUE_NONE;
	size_t i, k;
	int n = 0;

	if (!m)
		return -EINVAL;
	for (k = 0; k < m->rm_len; k++) {
		if (m->rm[k].need & RM_POLICY) {
			report(m, cb, ctx, NULL, &m->rm[k].key, 1);
			m->rm[k].need &= ~(uint32_t)RM_POLICY;
			n++;
		}
	}
	rm_compact(m);
	if (t < m->next_due)
		goto out;
	m->c.tick_scans++;
	for (i = 0; i < m->nslots;) {
		uint32_t dv = m->due[i];
		struct mxt_sender *s;

		if (dv > t) {
			if (dv < newmin)
				newmin = dv;
			i++;
			continue;
		}
		s = &m->recs[i];
		m->c.tick_visits++;
		if (advance(&m->p, s, now, &m->c)) {
			if (s->kclass != MXT_CLASS_UNKNOWN) {
				report(m, cb, ctx, s, NULL, 1);
				n++;
			}
			m->c.expired++;
			(void)remove_slot(m, i, 1);
			continue; /* slot i now holds a shifted record (or is empty) */
		}
		if (s->flags & MXT_SF_PENDING) {
			report(m, cb, ctx, s, NULL, 0);
			s->flags &= (uint8_t)~MXT_SF_PENDING;
			n++;
		}
		dv = due_of(&m->p, s);
		m->due[i] = dv;
		if (dv < newmin)
			newmin = dv;
		i++;
	}
	m->next_due = newmin;
out:
	m->c.changes += (uint64_t)n;
	return n;
}

/* ------------------------------------------------------------------ */
/* operator                                                           */

/* Record of a key for an operator action (created if absent). */
static int operator_record(struct mxt_model *m, const struct mxt_key *key, uint64_t now,
			   size_t *out)
{
	struct mxt_key k;

	if (!m || key_norm(key, &k))
		return -EINVAL;
	return session_record(m, &k, now, out);
}

/* Operator: make 'key' ESTABLISHED. */
int mxt_model_release(struct mxt_model *m, const struct mxt_key *key, uint64_t now)
{
	struct mxt_sender *s;
	uint32_t t = t32(now);
	size_t i;
	int rc;

	rc = operator_record(m, key, now, &i);
	if (rc)
		return rc;
	s = &m->recs[i];
	if (s->state == MXT_STATE_NEW || (s->state == MXT_STATE_BLOCKED && s->prev_state == MXT_STATE_NEW))
		restart_days(s, t / HOUR);
	s->prev_state = MXT_STATE_ESTABLISHED;
	s->cool_from = 0;
	s->wd_days = 0; /* relearn from the next active day; no throttling before */
	s->we_days = 0;
	if (s->state == MXT_STATE_THROTTLED || s->state == MXT_STATE_BLOCKED)
		s->end_why = MXT_END_OPERATOR;
	s->cusum = 0;
	s->cusum_t = t;
	s->flags &= (uint8_t)~(MXT_SF_NOLEARN | MXT_SF_DAY_BAD);
	s->flags |= MXT_SF_RELEASED;
	if (s->last_session < t)
		s->last_session = t;
	set_state(&m->c, s, MXT_STATE_ESTABLISHED, MXT_CODE_OK_ESTABLISHED, t);
	update_policy(&m->p, s, -1);
	set_due(m, i);
	return 0;
}

/* Operator: restart probation. */
int mxt_model_reset(struct mxt_model *m, const struct mxt_key *key, uint64_t now)
{
	struct mxt_sender *s;
	size_t i;
	int rc;

	rc = operator_record(m, key, now, &i);
	if (rc)
		return rc;
	s = &m->recs[i];
	clear_baseline(s);
	s->last_session = 0;
	start_probation(&m->p, &m->c, s, t32(now));
	set_due(m, i);
	return 0;
}

/* Operator: forget 'key'. */
int mxt_model_forget(struct mxt_model *m, const struct mxt_key *key, uint64_t now)
{
	struct mxt_key k;
	long f;

	(void)now;
	if (!m || key_norm(key, &k))
		return -EINVAL;
	f = find_slot(m, &k, key_hash(m, &k));
	if (f < 0)
		return -ENOENT;
	return remove_slot(m, (size_t)f, 0) ? -EAGAIN : 0;
}

/* ------------------------------------------------------------------ */
/* iteration, persistence support, counters                           */

/* The record of 'key', or NULL. */
const struct mxt_sender *mxt_model_lookup(const struct mxt_model *m, const struct mxt_key *key)
{
	struct mxt_key k;
	long f;

	if (!m || key_norm(key, &k))
		return NULL;
	f = find_slot(m, &k, key_hash(m, &k));
	return f < 0 ? NULL : &m->recs[f];
}

/* Visit records. */
int mxt_model_foreach(const struct mxt_model *m, unsigned flags, mxt_model_iter_fn fn, void *ctx)
{
	size_t i;
	int rc;

	if (!m || !fn)
		return -EINVAL;
	for (i = 0; i < m->nslots; i++) {
		const struct mxt_sender *s = &m->recs[i];

		if (!m->tag[i])
			continue;
		if ((flags & MXT_ITER_DIRTY) && !(s->flags & MXT_SF_DIRTY))
			continue;
		if ((flags & MXT_ITER_PERSIST) && !is_history(s))
			continue;
		rc = fn(ctx, s);
		if (rc)
			return rc;
	}
	return 0;
}

/* Visit keys deleted since the last mark_clean. */
int mxt_model_foreach_removed(const struct mxt_model *m, mxt_model_key_fn fn, void *ctx)
{
	size_t k;
	int rc;

	if (!m || !fn)
		return -EINVAL;
	for (k = 0; k < m->rm_len; k++) {
		if (!(m->rm[k].need & RM_DB))
			continue;
		rc = fn(ctx, &m->rm[k].key);
		if (rc)
			return rc;
	}
	return 0;
}

/* 1 when deletions were lost since the last mark_clean. */
int mxt_model_removed_overflow(const struct mxt_model *m)
{
	return m ? m->rm_overflow : 0;
}

/* Clear dirty flags and the deletion log (after a checkpoint). */
void mxt_model_mark_clean(struct mxt_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nslots; i++)
		if (m->tag[i])
			m->recs[i].flags &= (uint8_t)~MXT_SF_DIRTY;
	for (i = 0; i < m->rm_len; i++)
		m->rm[i].need &= ~(uint32_t)RM_DB;
	rm_compact(m);
	m->rm_overflow = 0;
}

/* Insert a loaded record. */
int mxt_model_restore(struct mxt_model *m, const struct mxt_sender *in)
{
	struct mxt_sender *s;
	struct mxt_key k;
	size_t i;
	int created, rc;

	if (!m || !in || key_norm(&in->key, &k) || memcmp(&k, &in->key, sizeof(k)) ||
	    in->state >= MXT_STATE_MAX || in->prev_state >= MXT_STATE_MAX ||
	    in->code >= MXT_CODE_MAX || in->kclass >= MXT_CLASS_MAX)
		return -EINVAL;
	rc = find_or_insert(m, &k, in->last_seen, TIER_EVIDENCE, &i, &created);
	if (rc)
		return rc;
	s = &m->recs[i];
	m->c.by_state[s->state]--;
	*s = *in;
	s->flags &= (uint8_t)~MXT_SF_VOLATILE;
	if (s->kclass != MXT_CLASS_UNKNOWN)
		s->flags |= MXT_SF_PENDING;
	m->c.by_state[s->state]++;
	set_due(m, i);
	return 0;
}

/* Records held. */
size_t mxt_model_count(const struct mxt_model *m)
{
	return m ? m->count : 0;
}

/* Bytes held by the model. */
size_t mxt_model_memory(const struct mxt_model *m)
{
	if (!m)
		return 0;
	return sizeof(*m) + m->nslots * (sizeof(*m->recs) + sizeof(*m->tag) + sizeof(*m->due)) +
	       m->rm_cap * sizeof(*m->rm) + PFX_SLOTS * sizeof(*m->pfx);
}

/* Counters. */
void mxt_model_counts(const struct mxt_model *m, struct mxt_model_counts *c)
{
	if (!m || !c)
		return;
	*c = m->c;
	c->tracked = m->count;
	c->capacity = m->capacity;
	c->memory_bytes = mxt_model_memory(m);
}
