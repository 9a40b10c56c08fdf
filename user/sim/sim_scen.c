/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_scen.c - the simulator's named scenarios: one behaviour each, run
 * for days or weeks of virtual time through the same engine, kernel and
 * model as the synthetic week, and judged against the model's targets:
 *   - no legitimate message expires (bounces) in any scenario;
 *   - an established sender is throttled at most 1 h per week for a
 *     pattern it has shown before (weekly bursts after week 2, growth up
 *     to 25 %/day, a NAT's bursts);
 *   - a legitimate new sender at any volume is established within 7 days;
 *   - snowshoe over one /48 or one /24: >= 95 % stopped, without starving
 *     a legitimate newcomer in the same prefix;
 *   - a compromised sender at 3x or more is throttled within 1 h, at 20x
 *     within 60 s.
 * Every scenario starts on c->start (a Monday); established senders are
 * released there (as if loaded from the history database) and learn.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sim_int.h"

#define HOUR SIM_HOUR
#define DAY SIM_DAY

/* The one sender a scenario is about, as data: a scenario without a
 * setup of its own adds it and starts it; the others add it after (snow)
 * or before (batches, ramp) their own events. */
struct scen_src {
	int pop;              /* MXT_SIM_ESTABLISHED, _COMPROMISED (with history) or _NEW_LEGIT */
	unsigned c, d;        /* address 198.18.c.d ... */
	unsigned v6;          /* ... or, when set, 2001:2:0:v6::/64 */
	int shape;            /* SH_* */
	double peak;          /* sessions/h at its peak */
	double growth;        /* SH_BIZ: per day */
	double cluster;       /* SH_CLUSTER: mean sessions a cluster */
	double jump_h;        /* its jump: hours from the start (jump_mult > 1) */
	double jump_len_h;
	double jump_mult;
	int jump_legit;       /* the jump is legitimate mail (retried) */
	int spam_rcpts;       /* recipients of its spam (0: drawn like its mail) */
	double gap_d, gap_len_d; /* silent from day gap_d for gap_len_d days */
};

struct scen {
	const char *name;
	const char *what;
	const char *target;
	unsigned days;        /* simulated days */
	unsigned measure_from;/* first measured day */
	int (*setup)(struct sim *s, const struct scen *sc); /* NULL: the sender alone */
	int (*judge)(struct sim *s, const struct scen *sc, char *got, size_t len);
	double within;        /* judge_comp: s from the jump to THROTTLED */
	struct scen_src src;
};

/* Add sc's sender: an MTA (it retries), weekends at 30 %; one with
 * history is released at the start (as if loaded from the history
 * database) and learns from there. */
static struct sim_src *scen_sender(struct sim *s, const struct scen *sc)
{
	const struct scen_src *d = &sc->src;
	struct mxt_key k = d->v6 ? sim_key_v6(d->v6) : sim_key_v4(198, 18, d->c, d->d);
	struct sim_src *x = sim_add_src(s, (enum mxt_sim_pop)d->pop, &k);

	if (!x)
		return NULL;
	x->shape = (uint8_t)d->shape;
	x->retries = 1;
	x->peak = d->peak;
	x->weekend = 0.3;
	x->from = s->warm_start;
	x->growth = d->growth;
	x->cluster = d->cluster;
	if (d->jump_mult > 1) {
		x->jump_at = s->warm_start + d->jump_h * HOUR;
		x->jump_to = x->jump_at + d->jump_len_h * HOUR;
		x->jump_mult = d->jump_mult;
		x->jump_legit = (uint8_t)d->jump_legit;
		x->spam_rcpts = (uint16_t)d->spam_rcpts;
	}
	if (d->gap_len_d > 0) {
		x->gap_from = s->warm_start + d->gap_d * DAY;
		x->gap_to = x->gap_from + d->gap_len_d * DAY;
	}
	if (d->pop != MXT_SIM_NEW_LEGIT && sim_release_all(s, &k, (uint64_t)s->warm_start))
		return NULL;
	return x;
}

/* Start the generators of every source. */
static int start_all(struct sim *s)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < s->nsrc && !rc; i++) {
		struct sim_src *x = &s->src[i];

		rc = sim_schedule_gen(s, (uint32_t)i, x->from, 0);
		if (!rc && x->jump_mult > 1)
			rc = sim_schedule_gen(s, (uint32_t)i, x->jump_at, 1);
	}
	return rc;
}

/* A new sender of 200-session batches every 6 h (each within 5 minutes). */
static int setup_batches(struct sim *s, const struct scen *sc)
{
	struct sim_src *x = scen_sender(s, sc);
	double t;
	int rc = 0, j;

	if (!x)
		return -ENOMEM;
	for (t = s->warm_start + HOUR; t < s->end && !rc; t += 6 * HOUR)
		for (j = 0; j < 200 && !rc; j++)
			rc = sim_push_one(s, (uint32_t)(x - s->src), t + sim_rng_range(&x->rng, 0, 300));
	return rc;
}

/* A new sender that follows the documented ramp (90 % of the probation
 * allowance of each day, around the clock), then stays at its last step. */
static int setup_ramp(struct sim *s, const struct scen *sc)
{
	const struct mxt_model_params *p = &s->c->params;
	struct sim_src *x = scen_sender(s, sc);
	double t = s->warm_start;
	unsigned d;
	int rc = 0;

	if (!x)
		return -ENOMEM;
	for (d = 0; t < s->end && !rc; d++) {
		double rate = 0.9 * p->schedule[d < p->schedule_len ? d : p->schedule_len - 1];
		double day_end = s->warm_start + (d + 1) * DAY;

		for (;;) {
			t += -log(mxt_rng_unit(&x->rng)) / (rate / HOUR);
			if (t >= day_end || rc)
				break;
			rc = sim_push_one(s, (uint32_t)(x - s->src), t);
		}
		t = day_end;
	}
	return rc;
}

/* Snowshoe bots (no retries) appearing on day 1, 09:00-15:00, 'n' each. */
static struct sim_src *bot(struct sim *s, const struct mxt_key *k, unsigned n, double day)
{
	struct sim_src *x = sim_add_src(s, MXT_SIM_SNOWSHOE, k);
	unsigned j;

	if (!x)
		return NULL;
	x->shape = SH_NONE;
	for (j = 0; j < n; j++)
		if (sim_push_one(s, (uint32_t)(x - s->src),
				 s->warm_start + day * DAY + 9 * HOUR + sim_rng_range(&x->rng, 0, 6 * HOUR)))
			return NULL;
	return x;
}

/* 5000 /64s of one /48, 3 sessions each, then the newcomer in it. */
static int setup_snow48(struct sim *s, const struct scen *sc)
{
	struct mxt_key k;
	unsigned i;

	for (i = 1; i <= 5000; i++) {
		k = sim_key_v6(i);
		if (!bot(s, &k, 3, 1))
			return -ENOMEM;
	}
	return scen_sender(s, sc) ? start_all(s) : -ENOMEM;
}

/* 250 addresses of one /24, 20 sessions/h 09-15 on days 1-5, then the
 * newcomer in the same /24. */
static int setup_snow24(struct sim *s, const struct scen *sc)
{
	struct mxt_key k;
	unsigned i, d;

	for (i = 1; i <= 250; i++) {
		k = sim_key_v4(198, 18, 77, i);
		for (d = 1; d <= 5; d++) {
			long xi = sim_kmap_find(&s->idx, &k);
			struct sim_src *x = xi >= 0 ? &s->src[s->idx.e[xi].idx] : bot(s, &k, 0, 0);
			unsigned j;

			if (!x)
				return -ENOMEM;
			for (j = 0; j < 120; j++)
				if (sim_push_one(s, (uint32_t)(x - s->src), s->warm_start + d * DAY +
						 9 * HOUR + sim_rng_range(&x->rng, 0, 6 * HOUR)))
					return -ENOMEM;
		}
	}
	return scen_sender(s, sc) ? start_all(s) : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* judges                                                             */

/* Legitimate messages expired, over every population. */
static uint64_t expired(const struct sim *s)
{
	uint64_t n = 0;
	int p;

	for (p = 0; p < MXT_SIM_POP_MAX; p++)
		if (s->r->pop[p].legit)
			n += s->r->pop[p].expired;
	return n;
}

/* The established sender: throttled at most 1 h a week, nothing expired. */
static int judge_throttled(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct mxt_sim_pop_result *p = &s->r->pop[MXT_SIM_ESTABLISHED];

	(void)sc;
	snprintf(got, len, "%.2f h/week throttled, %llu throttles, %llu expired",
		 p->throttled_h_week, (unsigned long long)p->throttles,
		 (unsigned long long)expired(s));
	return p->throttled_h_week <= 1.0 && expired(s) == 0;
}

/* After a legitimate campaign: nothing expired, nothing left queued. */
static int judge_drain(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct mxt_sim_pop_result *p = &s->r->pop[MXT_SIM_ESTABLISHED];

	(void)sc;
	snprintf(got, len, "%llu expired, %llu still queued at the end, throttled %.1f h/week",
		 (unsigned long long)expired(s), (unsigned long long)p->pending,
		 p->throttled_h_week);
	return expired(s) == 0 && p->pending == 0;
}

/* The newcomers: every one established within 7 days, nothing expired. */
static int judge_new(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct mxt_sim_pop_result *p = &s->r->pop[MXT_SIM_NEW_LEGIT];
	int ok = p->established_n == p->sources && p->days_to_establish_max <= 7;

	(void)sc;
	if (p->established_n)
		snprintf(got, len, "%llu/%llu established after %.1f d, %llu expired",
			 (unsigned long long)p->established_n, (unsigned long long)p->sources,
			 p->days_to_establish_max, (unsigned long long)expired(s));
	else
		snprintf(got, len, "0/%llu established, %llu expired",
			 (unsigned long long)p->sources, (unsigned long long)expired(s));
	return ok && expired(s) == 0;
}

/* The returning sender (the first source): established again within 7 days. */
static int judge_return(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct sim_src *x = &s->src[0];
	double back = x->gap_to, days = x->regained_at >= 0 ? (x->regained_at - back) / DAY : -1;

	(void)sc;
	if (!x->lost)
		days = 0; /* never lost its standing */
	if (days < 0)
		snprintf(got, len, "not established again in %.0f d, %llu expired",
			 (s->end - back) / DAY, (unsigned long long)expired(s));
	else
		snprintf(got, len, "%s%.1f d after its return, %llu expired",
			 x->lost ? "established again " : "never lost its standing, ", days,
			 (unsigned long long)expired(s));
	return days >= 0 && days <= 7 && expired(s) == 0;
}

/* Snowshoe: >= 95 % stopped, the newcomer's mail all delivered. */
static int judge_snow(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct mxt_sim_pop_result *p = &s->r->pop[MXT_SIM_SNOWSHOE];
	const struct mxt_sim_pop_result *n = &s->r->pop[MXT_SIM_NEW_LEGIT];

	(void)sc;
	snprintf(got, len, "%.1f %% stopped; newcomer: %llu/%llu msgs delivered, %llu expired",
		 p->spam_stopped_pct, (unsigned long long)n->delivered,
		 (unsigned long long)n->messages, (unsigned long long)expired(s));
	return p->spam_stopped_pct >= 95 && expired(s) == 0 && n->pending == 0;
}

/* The compromised sender: throttled within sc->within s of its jump. */
static int judge_comp(struct sim *s, const struct scen *sc, char *got, size_t len)
{
	const struct mxt_sim_pop_result *p = &s->r->pop[MXT_SIM_COMPROMISED];

	if (p->throttle_after >= 0)
		snprintf(got, len, "throttled %.0f s after the jump, %.1f %% of its spam stopped, "
			 "%llu expired", p->throttle_after, p->spam_stopped_pct,
			 (unsigned long long)expired(s));
	else
		snprintf(got, len, "never throttled, %.1f %% of its spam stopped",
			 p->spam_stopped_pct);
	return p->throttle_after >= 0 && p->throttle_after <= sc->within && expired(s) == 0;
}

/* ------------------------------------------------------------------ */
/* the scenarios: one row each                                        */

#define EST MXT_SIM_ESTABLISHED
#define NEW MXT_SIM_NEW_LEGIT
#define COMP MXT_SIM_COMPROMISED
#define THROTTLED_1H "<= 1 h/week throttled, 0 expired"
#define EST_7D "established <= 7 d, 0 expired"
#define SNOW_95 ">= 95 % stopped, newcomer delivered"

/* A compromised sender: 'mult' x on day 14 at 10:00 for 4 h.  The small
 * ones' spam looks like their mail (about 2 recipients a message), so
 * only the session rate can tell; the 20x one sends 25. */
#define COMPROMISED(pk, mult, rcpts)                                                        \
	{ .pop = COMP, .c = 1, .d = 6, .shape = SH_BIZ, .peak = pk, .jump_h = 14 * 24 + 10, \
	  .jump_len_h = 4, .jump_mult = mult, .spam_rcpts = rcpts }

static const struct scen scens[] = {
	{ "weekly", "50/h weekdays 08-18, 10x every Monday 09-11; weeks 3-5 measured",
	  THROTTLED_1H, 35, 14, NULL, judge_throttled, 0,
	  { .pop = EST, .c = 1, .d = 1, .shape = SH_WEEKLY, .peak = 50 } },
	{ "growth15", "20/h peak growing 15 %/day for 4 weeks",
	  THROTTLED_1H, 28, 7, NULL, judge_throttled, 0,
	  { .pop = EST, .c = 1, .d = 2, .shape = SH_BIZ, .peak = 20, .growth = 0.15 } },
	{ "growth25", "20/h peak growing 25 %/day for 3 weeks",
	  THROTTLED_1H, 21, 7, NULL, judge_throttled, 0,
	  { .pop = EST, .c = 1, .d = 2, .shape = SH_BIZ, .peak = 20, .growth = 0.25 } },
	/* throttled, then its queue must drain */
	{ "backlog", "60/h sender, a legitimate 6x campaign for 2 h on day 14",
	  "0 expired, queue drained", 21, 7, NULL, judge_drain, 0,
	  { .pop = EST, .c = 1, .d = 3, .shape = SH_BIZ, .peak = 60, .jump_h = 14 * 24 + 10,
	    .jump_len_h = 2, .jump_mult = 6, .jump_legit = 1 } },
	{ "migration", "new address at 300/h peak at once (a migration)",
	  EST_7D, 14, 0, NULL, judge_new, 0,
	  { .pop = NEW, .c = 2, .d = 1, .shape = SH_BIZ, .peak = 300 } },
	{ "batches", "new sender, 200-session batches every 6 h",
	  EST_7D, 14, 0, setup_batches, judge_new, 0,
	  { .pop = NEW, .c = 2, .d = 2, .shape = SH_NONE } },
	{ "ramp", "new sender at 90 % of each day's probation allowance",
	  EST_7D, 14, 0, setup_ramp, judge_new, 0,
	  { .pop = NEW, .c = 2, .d = 3, .shape = SH_NONE } },
	{ "return31", "100/h sender silent for 31 days, then back",
	  "established again <= 7 d, 0 expired", 45, 38, NULL, judge_return, 0,
	  { .pop = EST, .c = 1, .d = 4, .shape = SH_BIZ, .peak = 100, .gap_d = 7, .gap_len_d = 31 } },
	{ "snow48", "5000 /64s of one /48, 3 sessions each; one newcomer in the /48",
	  SNOW_95, 8, 0, setup_snow48, judge_snow, 0,
	  { .pop = NEW, .v6 = 60000, .shape = SH_BIZ, .peak = 10 } },
	{ "snow24", "250 addresses of one /24 at 20/h, 5 days; one newcomer in the /24",
	  SNOW_95, 8, 0, setup_snow24, judge_snow, 0,
	  { .pop = NEW, .c = 77, .d = 251, .shape = SH_BIZ, .peak = 10 } },
	{ "nat", "200/h peak in clusters of 8 sessions (overdispersed)",
	  THROTTLED_1H, 21, 7, NULL, judge_throttled, 0,
	  { .pop = EST, .c = 1, .d = 5, .shape = SH_CLUSTER, .peak = 200, .cluster = 8 } },
	{ "comp3x", "30/h sender, spam at 3x for 4 h on day 14",
	  "throttled <= 1 h after the jump", 15, 7, NULL, judge_comp, 3600,
	  COMPROMISED(30, 3, 0) },
	{ "comp4.5x", "30/h sender, spam at 4.5x for 4 h on day 14",
	  "throttled <= 1 h after the jump", 15, 7, NULL, judge_comp, 3600,
	  COMPROMISED(30, 4.5, 0) },
	{ "comp20x", "200/h sender, spam at 20x (25 recipients) for 4 h on day 14",
	  "throttled <= 60 s after the jump", 15, 7, NULL, judge_comp, 60,
	  COMPROMISED(200, 20, 25) },
};

#define NSCENS (sizeof(scens) / sizeof(scens[0]))

size_t mxt_sim_scenario_count(void)
{
	return NSCENS;
}

const char *mxt_sim_scenario_name(size_t i)
{
	return i < NSCENS ? scens[i].name : NULL;
}

static const struct scen *find(const char *name)
{
	size_t i;

	for (i = 0; name && i < NSCENS; i++)
		if (strcmp(scens[i].name, name) == 0)
			return &scens[i];
	return NULL;
}

int sim_setup_scenario(struct sim *s)
{
	const struct scen *sc = find(s->c->scenario);
	int p;

	if (!sc)
		return -ENOENT;
	for (p = 0; p < MXT_SIM_POP_MAX; p++)
		s->r->pop[p].legit = p == MXT_SIM_ESTABLISHED || p == MXT_SIM_NEW_LEGIT ||
				     p == MXT_SIM_COMPROMISED;
	s->warm_start = (double)s->c->start;
	s->start = s->warm_start + sc->measure_from * DAY;
	s->end = s->warm_start + sc->days * DAY;
	s->r->days = sc->days - sc->measure_from;
	s->r->warmup_days = sc->measure_from;
	s->r->scen_what = sc->what;
	s->r->scen_target = sc->target;
	if (sc->setup)
		return sc->setup(s, sc);
	return scen_sender(s, sc) ? start_all(s) : -ENOMEM;
}

void sim_scenario_judge(struct sim *s)
{
	const struct scen *sc = find(s->c->scenario);

	if (sc)
		s->r->scen_pass = sc->judge(s, sc, s->r->scen_got, sizeof(s->r->scen_got));
}
