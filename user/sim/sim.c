/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim.c - the simulator's engine (sim.h): an event-driven virtual clock
 * that feeds session attempts through the software kernel (sim_kernel.c)
 * and the real model, retries deferred mail as an MTA does, counts what
 * each population experienced; and the synthetic week.  The trace replay,
 * the scenarios and the printer are in sim_trace.c, sim_scen.c and
 * sim_print.c.
 *
 * Determinism: one splitmix64 stream per source derived from the seed,
 * events ordered by (time, sequence number), no clock, no hash seeds: the
 * same configuration prints the same numbers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errfmt.h"
#include "sim_int.h"
#include "addr.h"
#include "cfgkeys.h"
#include "gcra.h"
#include "fleet_proto.h"

#define QUEUE_LIFETIME (5 * SIM_DAY) /* Postfix maximal_queue_lifetime */
#define DEFAULT_START 1704067200ULL  /* Monday 2024-01-01 00:00 UTC */
#define HOUR SIM_HOUR
#define DAY SIM_DAY

static const char *const pop_names[MXT_SIM_POP_MAX] = {
	"established", "new-legit", "snowshoe", "burst", "compromised", "spoofed-flood", "trace"
};

/* Fixed shape of a business day, sessions/h relative to the 10:00 peak. */
static const double day_shape[24] = {
	0.05, 0.05, 0.05, 0.05, 0.05, 0.06, 0.10, 0.30, 0.60, 0.85, 1.00, 0.95,
	0.75, 0.80, 0.85, 0.75, 0.60, 0.40, 0.25, 0.18, 0.12, 0.09, 0.07, 0.06
};

/* A standard normal value from a hash of (a, b): stateless, so a source's
 * jitter of a given day is the same whoever asks. */
static double hash_normal(uint64_t a, uint64_t b)
{
	uint64_t s = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);
	double u1 = mxt_rng_unit(&s), u2 = mxt_rng_unit(&s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ------------------------------------------------------------------ */
/* sources                                                            */

struct sim_src *sim_add_src(struct sim *s, enum mxt_sim_pop pop, const struct mxt_key *k)
{
	struct sim_src *x;
	long i;

	if (s->nsrc == s->capsrc) {
		size_t nc = s->capsrc ? s->capsrc * 2 : 256;
		struct sim_src *ns = realloc(s->src, nc * sizeof(*ns));

		if (!ns)
			return NULL;
		s->src = ns;
		s->capsrc = nc;
	}
	i = sim_kmap_insert(&s->idx, k);
	if (i < 0)
		return NULL;
	s->idx.e[i].idx = (uint32_t)s->nsrc;
	x = &s->src[s->nsrc++];
	memset(x, 0, sizeof(*x));
	x->key = *k;
	x->pop = (uint8_t)pop;
	x->rng = s->c->seed * 0x2545f4914f6cdd1dULL + s->nsrc * 0x9e3779b97f4a7c15ULL;
	x->established_at = -1;
	x->throttled_at = -1;
	x->first_attempt = -1;
	x->thr_since = -1;
	x->regained_at = -1;
	x->rcpt_mean = 2;
	x->to = INFINITY;
	s->r->pop[pop].used = 1;
	s->r->pop[pop].sources++;
	return x;
}

struct mxt_key sim_key_v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	p[0] = (uint8_t)a;
	p[1] = (uint8_t)b;
	p[2] = (uint8_t)c;
	p[3] = (uint8_t)d;
	return k;
}

struct mxt_key sim_key_v6(unsigned n)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV6;
	k.prefixlen = 64;
	p[0] = 0x20; p[1] = 0x01; p[2] = 0x00; p[3] = 0x02;
	p[6] = (uint8_t)(n >> 8);
	p[7] = (uint8_t)n;
	return k;
}

/* Sessions/h of source x at time t (normal traffic or its spam). */
static double rate_at(const struct sim_src *x, double t, int spam)
{
	int h = (int)fmod(floor(t / HOUR), 24.0), we = sim_weekend_at(t);
	double day = floor(t / DAY), base;

	if (t < x->from || t >= x->to || (t >= x->gap_from && t < x->gap_to))
		return 0;
	switch (x->shape) {
	case SH_BIZ:
	case SH_CLUSTER:
		base = x->peak * day_shape[h] * (we ? x->weekend : 1.0) *
		       pow(1.0 + x->growth, floor((t - x->from) / DAY));
		if (x->shape == SH_CLUSTER)
			base /= x->cluster;
		break;
	case SH_WEEKLY: {
		int monday = (int)(((long long)day + 3) % 7) == 0; /* 1970-01-05 was a Monday */

		base = !we && h >= 8 && h < 18 ? x->peak : x->peak / 10;
		if (monday && h >= 9 && h < 11)
			base = 10 * x->peak;
		break;
	}
	case SH_NONE:
		return 0;
	default:
		switch (x->pop) {
		case MXT_SIM_ESTABLISHED:
		case MXT_SIM_COMPROMISED:
			base = x->peak * day_shape[h] * (we ? x->weekend : 1.0) *
			       exp(0.15 * hash_normal(x->rng ^ 0xabcdef, (uint64_t)day));
			break;
		case MXT_SIM_NEW_LEGIT:
			return x->peak * fmax(0.35, day_shape[h]) * (we ? 0.5 : 1.0);
		case MXT_SIM_SNOWSHOE:
			return !we && h >= 9 && h < 15 ? x->peak : 0;
		case MXT_SIM_BURST:
			return x->peak;
		default:
			return 0;
		}
	}
	if (spam)
		return t >= x->jump_at && t < x->jump_to ? base * (x->jump_mult - 1.0) : 0;
	return base;
}

/* Next arrival after t of a piecewise-constant (hourly) Poisson process;
 * INFINITY when there is none before the end. */
static double next_arrival(const struct sim *s, struct sim_src *x, double t, int spam)
{
	if (t < x->from)
		t = x->from;
	while (t < x->to && t < s->end) {
		double hour_end = (floor(t / HOUR) + 1) * HOUR;
		double lambda = rate_at(x, t, spam) / HOUR;

		if (lambda > 0) {
			double gap = -log(mxt_rng_unit(&x->rng)) / lambda;

			if (t + gap < hour_end)
				return t + gap;
		}
		t = hour_end;
	}
	return INFINITY;
}

/* Queue an event of source i at t (none at or past the end). */
static int push_ev(struct sim *s, uint32_t i, double t, int kind, int jump, int spam)
{
	struct sim_ev e;

	if (!(t < s->end))
		return 0;
	memset(&e, 0, sizeof(e));
	e.t = t;
	e.src = i;
	e.kind = (uint8_t)kind;
	e.jump = (uint8_t)jump;
	e.spam = (uint8_t)spam;
	return sim_heap_push(&s->heap, e);
}

int sim_schedule_gen(struct sim *s, uint32_t i, double t, int jump)
{
	struct sim_src *x = &s->src[i];

	if (x->shape == SH_NONE)
		return 0;
	return push_ev(s, i, next_arrival(s, x, t, jump), EV_GEN, jump, jump && !x->jump_legit);
}

int sim_push_one(struct sim *s, uint32_t i, double t)
{
	return push_ev(s, i, t, EV_ONE, 0, 0);
}

/* Recipients of a new message. */
static uint16_t draw_rcpts(struct sim_src *x, int spam)
{
	double v;

	if (spam && x->spam_rcpts)
		return x->spam_rcpts;
	if (spam && x->pop != MXT_SIM_COMPROMISED)
		return 25;
	if (x->pop == MXT_SIM_SNOWSHOE)
		return (uint16_t)(5 + mxt_rng_next(&x->rng) % 16);
	if (x->pop == MXT_SIM_BURST)
		return 10;
	v = 1 - (x->rcpt_mean - 1) * log(mxt_rng_unit(&x->rng)); /* 1 + exponential */
	return (uint16_t)(v > 500 ? 500 : v);
}

/* ------------------------------------------------------------------ */
/* the daemon's side                                                  */

/* 1 when a key lies in the spoofed range 198.19.0.0/16. */
static int is_spoofed(const struct mxt_key *k)
{
	const uint8_t *p = (const uint8_t *)k->addr;

	return k->family == MXT_FAMILY_IPV4 && p[0] == 198 && p[1] == 19;
}

/* Time source x spent throttled or blocked, counted from the measured start. */
static void thr_close(struct sim *s, struct sim_src *x, double t)
{
	double from = fmax(x->thr_since, s->start);

	if (x->thr_since >= 0 && t > from)
		x->thr_total += t - from;
	x->thr_since = -1;
}

/* Source x's throttled time, from the first node's policy changes (the
 * nodes of a fleet that shares its evidence agree on it). */
static void note_thr(struct sim *s, struct sim_src *x, int state)
{
	int thr = state == MXT_STATE_THROTTLED || state == MXT_STATE_BLOCKED;

	if (thr && x->thr_since < 0) {
		x->thr_since = s->now;
		if (state == MXT_STATE_THROTTLED && s->now >= s->start)
			x->throttles++;
	} else if (!thr) {
		thr_close(s, x, s->now);
	}
}

/* Model tick callback of a node: write its policy map; note when the node
 * throttled a jump, and a source's throttled time. */
void sim_on_change(void *ctx, const struct mxt_model_change *c)
{
	struct sim_node *n = ctx;
	struct sim *s = n->s;
	long i = sim_kmap_find(&n->pol, &c->key), xi = sim_kmap_find(&s->idx, &c->key);

	s->r->kernel_changes++;
	n->r->kernel_changes++;
	if (xi >= 0) {
		struct sim_src *x = &s->src[s->idx.e[xi].idx];

		if (c->state == MXT_STATE_THROTTLED && x->jump_at > 0 && s->now >= x->jump_at &&
		    n->jump_thr_at < 0)
			n->jump_thr_at = s->now - x->jump_at;
		if (n == &s->node[0])
			note_thr(s, x, c->state);
	}
	if (is_spoofed(&c->key) && c->klass != MXT_CLASS_UNKNOWN && c->klass != MXT_CLASS_BLOCKED)
		n->spoof_promoted++;
	if (c->klass == MXT_CLASS_UNKNOWN) {
		if (i >= 0)
			sim_kmap_delete(&n->pol, (size_t)i);
		return;
	}
	if (i < 0)
		i = sim_kmap_insert(&n->pol, &c->key);
	if (i < 0)
		return; /* cannot happen: sized at twice the model */
	n->pol.e[i].klass = c->klass;
	n->pol.e[i].flags = c->flags;
	n->pol.e[i].limit = c->limit;
}

/* One node's tick at t: its SYN deltas into its model, then the model's
 * transitions into its kernel. */
static void node_tick(struct sim *s, struct sim_node *nd, double t)
{
	size_t i, n = 0;

	for (i = 0; i < nd->delta.n; i++) {
		struct sim_kent *d = &nd->delta.e[nd->delta.usedlist[i]];

		s->batch[n].key = d->key;
		s->batch[n].syns = d->syns;
		s->batch[n].dropped = d->dropped;
		if (++n == SIM_SYN_BATCH) {
			mxt_model_observe_syns_batch(nd->m, s->batch, n, (uint64_t)t);
			n = 0;
		}
	}
	if (n)
		mxt_model_observe_syns_batch(nd->m, s->batch, n, (uint64_t)t);
	sim_kmap_clear(&nd->delta);
	mxt_model_tick(nd->m, (uint64_t)t, sim_on_change, nd);
}

void sim_do_tick(struct sim *s, double t)
{
	unsigned k;

	if (s->nodes > 1)
		sim_fleet_replay(s, t);
	s->now = t;
	for (k = 0; k < s->nodes; k++)
		node_tick(s, &s->node[k], t);
}

/* ------------------------------------------------------------------ */
/* attempts                                                           */

/* Remember what the model said about x. */
static void note_decision(struct sim_src *x, const struct mxt_decision *d)
{
	if ((unsigned)d->state < MXT_STATE_MAX)
		x->reached |= (uint8_t)(1u << d->state);
	if (d->state == MXT_STATE_ESTABLISHED && x->established_at < 0)
		x->established_at = (double)d->state_since;
	if (d->state == MXT_STATE_GRAYLISTED && x->established_at >= 0)
		x->lost = 1;
	if (d->state == MXT_STATE_ESTABLISHED && x->lost && x->regained_at < 0)
		x->regained_at = (double)d->state_since;
	if (d->state == MXT_STATE_THROTTLED && x->throttled_at < 0 && x->jump_at > 0 &&
	    (double)d->state_since >= x->jump_at)
		x->throttled_at = (double)d->state_since;
}

/* Retry a deferred/dropped message later if its sender is an MTA; count
 * it expired when the next try would pass the queue lifetime. */
static int maybe_retry(struct sim *s, const struct sim_ev *e)
{
	struct sim_src *x = &s->src[e->src];
	static const double backoff[] = { 300, 600, 1200, 2400, 4000 };
	struct sim_ev r;
	double wait;

	if (e->spam || !x->retries)
		return 0;
	wait = backoff[e->tries < 4 ? e->tries : 4] * sim_rng_range(&x->rng, 0.9, 1.1);
	if (e->t + wait - e->birth > QUEUE_LIFETIME) {
		if (e->birth >= s->start && s->r->pop[x->pop].legit)
			s->r->pop[x->pop].expired++;
		return 0;
	}
	if (e->t + wait >= s->end)
		return 0;
	r = *e;
	r.t = e->t + wait;
	r.kind = EV_RETRY;
	r.tries = (uint16_t)(e->tries + 1);
	return sim_heap_push(&s->heap, r);
}

/* A session admitted to x on probation: the allowance it used. */
static void note_probation(struct sim *s, struct sim_src *x, double t)
{
	struct mxt_sim_pop_result *pr = &s->r->pop[x->pop];
	uint32_t h = (uint32_t)(t / HOUR);

	if (t < s->start)
		return;
	pr->prob_admitted++;
	if (!x->prob_n || x->prob_hour != h) {
		x->prob_hour = h;
		x->prob_n = 0;
		pr->prob_hours++;
	}
	if (++x->prob_n > pr->prob_max_hour)
		pr->prob_max_hour = x->prob_n;
}

/* One admit at node n, noted for the other nodes as mxthrottled's policy
 * service notes it for its fleet (admitted or deferred, untracked not). */
static int admit(struct sim *s, struct sim_node *n, struct sim_src *x, double t,
		 enum mxt_obs_kind kind, struct mxt_decision *d)
{
	int rcpt = kind == MXT_OBS_RCPT;
	int rc = mxt_model_admit_session(n->m, &x->key, (uint64_t)t, kind, rcpt, 0, d);

	if (rc < 0)
		return rc;
	note_decision(x, d);
	if (s->nodes > 1 &&
	    sim_fleet_note(n, &x->key, t, rcpt ? (rc ? MXT_FLEET_DRCPT : MXT_FLEET_RCPT)
					      : (rc ? MXT_FLEET_DSESS : MXT_FLEET_SESS), 1))
		return -ENOMEM;
	if (!rc && !rcpt &&
	    (d->state == MXT_STATE_NEW || d->state == MXT_STATE_GRAYLISTED))
		note_probation(s, x, t);
	return rc;
}

/* CONNECT, then one RCPT per recipient, at node n: the recipients left
 * when one was deferred (the MTA retries those), 0 when all were
 * admitted; -ENOMEM. */
static int session(struct sim *s, struct sim_node *n, struct sim_src *x, const struct sim_ev *e,
		   struct mxt_decision *d)
{
	unsigned j;
	int rc;

	rc = admit(s, n, x, e->t, MXT_OBS_CONNECT, d);
	if (rc == -ENOMEM)
		return rc;
	if (rc == 1)
		return e->rcpts ? e->rcpts : 1;
	for (j = 0; j < e->rcpts; j++) {
		rc = admit(s, n, x, e->t, MXT_OBS_RCPT, d);
		if (rc == -ENOMEM)
			return rc;
		if (rc == 1)
			return (int)(e->rcpts - j);
	}
	return 0; /* admitted (or not tracked: the policy service fails open) */
}

int sim_attempt(struct sim *s, struct sim_ev *e, int syn_only)
{
	struct sim_src *x = &s->src[e->src];
	struct mxt_sim_pop_result *pr = &s->r->pop[x->pop];
	int measured = e->t >= s->start, legit = !e->spam && pr->legit;
	int born = e->birth >= s->start && x->retries && !e->spam;
	struct sim_node *n = sim_pick_node(s);
	struct mxt_decision d;
	int left;

	s->r->events++;
	if (x->first_attempt < 0)
		x->first_attempt = e->t;
	if (measured) {
		pr->attempts++;
		if (legit)
			pr->legit_attempts++;
		else
			pr->spam_attempts++;
		if (e->tries == 0 && born)
			pr->messages++;
	}
	if (measured)
		n->r->attempts++;
	if (!sim_kernel_syn(s, n, &x->key, e->t)) {
		if (measured) {
			n->r->dropped++;
			pr->dropped++;
			if (legit)
				pr->legit_stopped++;
			else
				pr->spam_stopped++;
		}
		return maybe_retry(s, e);
	}
	if (syn_only) {
		if (measured) {
			n->r->allowed++;
			pr->allowed++;
		}
		return 0;
	}
	left = session(s, n, x, e, &d);
	if (left < 0)
		return left;
	if (left) {
		if (measured) {
			n->r->deferred++;
			pr->deferred++;
			pr->deferred_by[d.code]++;
			if (legit)
				pr->legit_stopped++;
			else
				pr->spam_stopped++;
		}
		e->rcpts = (uint16_t)left;
		return maybe_retry(s, e);
	}
	if (measured) {
		n->r->allowed++;
		pr->allowed++;
		if (born) {
			double delay = e->t - e->birth;

			pr->delivered++;
			if (e->tries) {
				pr->delayed++;
				pr->delay_mean += delay; /* a sum until finish() */
				if (delay > pr->delay_max)
					pr->delay_max = delay;
			}
		}
	}
	return 0;
}

/* One second of the spoofed flood: flood_rate SYNs from random sources. */
static int flood_second(struct sim *s, const struct sim_ev *e)
{
	struct mxt_sim_pop_result *pr = &s->r->pop[MXT_SIM_SPOOFED];
	uint32_t i;
	struct sim_ev n;

	for (i = 0; i < s->flood_rate; i++) {
		uint32_t v = (uint32_t)mxt_rng_next(&s->flood_rng) & 0xffff;
		struct mxt_key k = sim_key_v4(198, 19, v >> 8, v & 0xff);
		double t = e->t + i / (double)s->flood_rate;
		struct sim_node *nd = sim_pick_node(s);

		if (!(s->spoof_seen[v >> 3] & (1u << (v & 7)))) {
			s->spoof_seen[v >> 3] |= (uint8_t)(1u << (v & 7));
			pr->sources++;
		}

		s->r->events++;
		pr->attempts++;
		pr->spam_attempts++;
		nd->r->attempts++;
		if (sim_kernel_syn(s, nd, &k, t)) {
			nd->r->allowed++;
			pr->allowed++;
		} else {
			nd->r->dropped++;
			pr->dropped++;
			pr->spam_stopped++;
		}
	}
	if (e->t + 1 >= s->flood_to)
		return 0;
	n = *e;
	n.t = e->t + 1;
	return sim_heap_push(&s->heap, n);
}

/* The rest of a cluster of sessions (a NAT's users acting together):
 * geometric size of mean x->cluster, spread over the next minute. */
static int cluster(struct sim *s, const struct sim_ev *e)
{
	struct sim_src *x = &s->src[e->src];
	double q = 1.0 - 1.0 / x->cluster;
	unsigned k = q > 0 ? (unsigned)floor(log(mxt_rng_unit(&x->rng)) / log(q)) : 0, j;
	int rc = 0;

	for (j = 0; j < k && j < 1000 && !rc; j++)
		rc = sim_push_one(s, e->src, e->t + sim_rng_range(&x->rng, 0, 60));
	return rc;
}

/* Run the event loop to s->end. */
int sim_run_loop(struct sim *s)
{
	double next_tick = floor(s->warm_start / s->c->tick) * s->c->tick + s->c->tick;
	int rc = 0;

	while (s->heap.n && s->heap.ev[0].t < s->end) {
		struct sim_ev e = sim_heap_pop(&s->heap);
		struct sim_src *x;

		while (next_tick <= e.t) {
			sim_do_tick(s, next_tick);
			next_tick += s->c->tick;
		}
		switch (e.kind) {
		case EV_FLOOD:
			rc = flood_second(s, &e);
			break;
		case EV_GEN:
		case EV_ONE:
			x = &s->src[e.src];
			e.birth = e.t;
			e.rcpts = draw_rcpts(x, e.spam);
			rc = sim_attempt(s, &e, 0);
			if (!rc && e.kind == EV_GEN && x->shape == SH_CLUSTER)
				rc = cluster(s, &e);
			if (!rc && e.kind == EV_GEN)
				rc = sim_schedule_gen(s, e.src, e.t, e.jump);
			break;
		case EV_RETRY:
			rc = sim_attempt(s, &e, 0);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	while (next_tick <= s->end) {
		sim_do_tick(s, next_tick);
		next_tick += s->c->tick;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* synthetic week                                                     */

/* The most SYNs of a flood of 'syns' over secs that the global budgets
 * of 'nodes' hosts admit together. */
static uint64_t flood_budget_most(const struct mxt_limit *g, unsigned nodes, double secs,
				  uint64_t syns)
{
	uint64_t one = sim_kernel_budget_most(g, secs);

	if (one >= syns)
		return syns; /* also the unlimited budget */
	return one * nodes < syns ? one * nodes : syns;
}

/* Build the populations and their first events. */
static int setup_synthetic(struct sim *s)
{
	const struct mxt_sim_config *c = s->c;
	uint64_t rng = c->seed ^ 0x5eed5eed5eedULL;
	unsigned n_est = (unsigned)fmax(1, floor(400 * c->scale));
	unsigned n_new = (unsigned)fmax(1, floor(20 * c->scale));
	unsigned n_snow = (unsigned)fmax(1, floor(300 * c->scale));
	unsigned i, day;
	struct sim_src *x;
	struct sim_ev e;
	int rc;

	s->r->pop[MXT_SIM_ESTABLISHED].legit = 1;
	s->r->pop[MXT_SIM_NEW_LEGIT].legit = 1;
	s->r->pop[MXT_SIM_COMPROMISED].legit = 1; /* its normal mail; spam is marked per message */
	/* established: Zipf sizes, 1 in 5 over IPv6 */
	for (i = 0; i < n_est && i < 4096; i++) {
		struct mxt_key k = i % 5 == 4 ? sim_key_v6(i) : sim_key_v4(198, 18, i >> 8, i & 0xff);

		x = sim_add_src(s, MXT_SIM_ESTABLISHED, &k);
		if (!x)
			return -ENOMEM;
		x->retries = 1;
		x->peak = 1500.0 / pow(i + 1.0, 0.9);
		if (x->peak < 2)
			x->peak = 2;
		x->weekend = sim_rng_range(&rng, 0.2, 0.5);
		x->rcpt_mean = sim_rng_range(&rng, 1.2, 3.0);
		x->from = s->warm_start;
		x->to = INFINITY;
	}
	/* compromised: an established 200/h sender, 20x on day 3 at 10:00 for 3 h */
	{
		struct mxt_key k = sim_key_v4(198, 18, 32, 1);

		x = sim_add_src(s, MXT_SIM_COMPROMISED, &k);
		if (!x)
			return -ENOMEM;
		x->retries = 1;
		x->peak = 200;
		x->weekend = 0.3;
		x->from = s->warm_start;
		x->to = INFINITY;
		x->jump_at = s->start + 3 * DAY + 10 * HOUR;
		x->jump_to = x->jump_at + 3 * HOUR;
		x->jump_mult = 20;
		x->spam_rcpts = 25;
	}
	/* new legitimate senders appearing in the first three days */
	for (i = 0; i < n_new; i++) {
		struct mxt_key k = sim_key_v4(198, 18, 16 + (i >> 8), i & 0xff);

		x = sim_add_src(s, MXT_SIM_NEW_LEGIT, &k);
		if (!x)
			return -ENOMEM;
		x->retries = 1;
		x->peak = sim_rng_range(&rng, 8, 15);
		x->from = s->start + sim_rng_range(&rng, 0, 3 * DAY);
		x->to = INFINITY;
	}
	/* snowshoe: a fresh block of addresses each weekday of the measured days */
	for (day = 0; day < c->days; day++) {
		double d0 = s->start + day * DAY;

		if (sim_weekend_at(d0 + HOUR))
			continue;
		for (i = 0; i < n_snow; i++) {
			unsigned idx = day * n_snow + i;
			struct mxt_key k = sim_key_v4(198, 18, 128 + ((idx >> 8) & 0x7f), idx & 0xff);

			x = sim_add_src(s, MXT_SIM_SNOWSHOE, &k);
			if (!x)
				return -ENOMEM;
			x->peak = sim_rng_range(&rng, 6, 20);
			x->from = d0;
			x->to = d0 + DAY;
		}
	}
	/* burst: one new address, day 2 13:00-15:00 at 3000/h */
	if (c->days > 2) {
		struct mxt_key k = sim_key_v4(198, 18, 64, 1);

		x = sim_add_src(s, MXT_SIM_BURST, &k);
		if (!x)
			return -ENOMEM;
		x->peak = 3000;
		x->from = s->start + 2 * DAY + 13 * HOUR;
		x->to = x->from + 2 * HOUR;
	}
	/* spoofed flood: day 4 03:00, 10 minutes, 2000 SYN/s */
	if (c->days > 4) {
		s->flood_from = s->start + 4 * DAY + 3 * HOUR;
		s->flood_to = s->flood_from + 600;
		s->flood_rate = 2000;
		s->flood_rng = c->seed ^ 0xf100dULL;
		s->r->pop[MXT_SIM_SPOOFED].used = 1;
		s->r->pop[MXT_SIM_SPOOFED].budget_most =
			flood_budget_most(&s->global, s->nodes, s->flood_to - s->flood_from,
					  (uint64_t)(s->flood_rate * (s->flood_to - s->flood_from)));
		memset(&e, 0, sizeof(e));
		e.t = s->flood_from;
		e.kind = EV_FLOOD;
		rc = sim_heap_push(&s->heap, e);
		if (rc)
			return rc;
	}
	/* established senders have history: released at the warm-up start */
	for (i = 0; i < s->nsrc; i++) {
		x = &s->src[i];
		if (x->pop == MXT_SIM_ESTABLISHED || x->pop == MXT_SIM_COMPROMISED) {
			rc = sim_release_all(s, &x->key, (uint64_t)s->warm_start);
			if (rc)
				return rc;
		}
		rc = sim_schedule_gen(s, i, x->from, 0);
		if (!rc && x->jump_mult > 1)
			rc = sim_schedule_gen(s, i, x->jump_at, 1);
		if (rc)
			return rc;
	}
	return 0;
}


/* ------------------------------------------------------------------ */
/* results                                                            */

/* Derived numbers of each population. */
static void finish(struct sim *s)
{
	size_t i;
	int p;

	for (i = 0; i < s->nsrc; i++) {
		struct sim_src *x = &s->src[i];
		struct mxt_sim_pop_result *pr = &s->r->pop[x->pop];
		int st;

		for (st = 0; st < MXT_STATE_MAX; st++)
			if (x->reached & (1u << st))
				pr->reached[st]++;
		if (x->pop == MXT_SIM_NEW_LEGIT && x->established_at > 0 && x->first_attempt > 0) {
			double days = (x->established_at - x->first_attempt) / DAY;

			if (!pr->established_n || days < pr->days_to_establish_min)
				pr->days_to_establish_min = days;
			pr->established_n++;
			pr->days_to_establish += days;
			if (days > pr->days_to_establish_max)
				pr->days_to_establish_max = days;
		}
		if (x->jump_at > 0)
			pr->throttle_after = x->throttled_at >= 0 ? x->throttled_at - x->jump_at : -1;
		thr_close(s, x, s->end);
		if (s->end > s->start) {
			double hw = x->thr_total / HOUR / ((s->end - s->start) / (7 * DAY));

			if (hw > pr->throttled_h_week)
				pr->throttled_h_week = hw;
		}
		pr->throttles += x->throttles;
	}
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		struct mxt_sim_pop_result *pr = &s->r->pop[p];

		pr->name = pop_names[p];
		pr->fp_pct = pr->legit_attempts ? 100.0 * pr->legit_stopped / pr->legit_attempts : -1;
		pr->spam_stopped_pct = pr->spam_attempts ? 100.0 * pr->spam_stopped / pr->spam_attempts
							 : -1;
		pr->delay_mean = pr->delayed ? pr->delay_mean / (double)pr->delayed : -1;
		pr->pending = pr->messages - pr->delivered - pr->expired;
		if (pr->established_n)
			pr->days_to_establish /= (double)pr->established_n;
		else
			pr->days_to_establish = -1;
		if (p != MXT_SIM_COMPROMISED)
			pr->throttle_after = -1;
	}
	/* Spoofed sources: what the model holds about them at the end. */
	{
		struct mxt_sim_pop_result *pr = &s->r->pop[MXT_SIM_SPOOFED];

		pr->reached[MXT_STATE_GRAYLISTED] += s->node[0].spoof_promoted;
	}
	mxt_model_counts(s->node[0].m, &s->r->counts);
}

/* Defaults: the kernel's are the daemon's (cfgkeys.c), on one CPU. */
void mxt_sim_config_default(struct mxt_sim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->days = 7;
	c->warmup_days = 14;
	c->start = DEFAULT_START;
	c->tick = 1;
	c->scale = 1.0;
	c->capacity = 1 << 18;
	mxt_model_params_default(&c->params);
	if (mxt_config_defaults(&c->kernel, 1))
		memset(&c->kernel, 0, sizeof(c->kernel)); /* mxt_sim_run() refuses it */
}

/* Spoofed: records the model holds in 198.19.0.0/16 at the end, by state. */
static int count_spoofed(void *ctx, const struct mxt_sender *x)
{
	uint64_t *by = ctx;

	if (is_spoofed(&x->key) && x->state < MXT_STATE_MAX)
		by[x->state]++;
	return 0;
}

/* Run a simulation. */
int mxt_sim_run(const struct mxt_sim_config *c, struct mxt_sim_result *r, char *err, size_t errlen)
{
	struct sim *s;
	char ebuf[256];
	int rc, i;

	if (!err || !errlen) {
		err = ebuf;
		errlen = sizeof(ebuf);
	}
	err[0] = 0;
	if (!c || !r || !c->tick || !c->capacity || c->scale <= 0 || c->scale > 100 ||
	    c->kernel.abi_version != MXT_ABI_VERSION || c->fleet > MXT_SIM_FLEET_MAX ||
	    (!c->trace && (!c->days || c->days > 366 || c->warmup_days > 366))) {
		mxt_seterr(err, errlen, "sim: bad configuration");
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	s = calloc(1, sizeof(*s)); /* ~50 KB: not on the stack */
	if (!s) {
		mxt_seterr(err, errlen, "sim: out of memory");
		return -ENOMEM;
	}
	s->c = c;
	s->r = r;
	r->seed = c->seed;
	r->days = c->days;
	r->warmup_days = c->warmup_days;
	r->tick = c->tick;
	r->start = c->start;
	r->scale = c->scale;
	r->synthetic = !c->trace;
	r->scenario = c->scenario;
	r->fleet = c->fleet ? c->fleet : 1;
	r->fleet_isolated = c->fleet_isolated;
	if (mxt_model_params_check(&c->params, err, errlen)) {
		free(s);
		return -EINVAL;
	}
	rc = sim_nodes_init(s);
	if (!rc)
		rc = sim_kmap_init(&s->idx, c->trace ? 1 << 20 : 1 << 16);
	if (rc) {
		mxt_seterr(err, errlen, "sim: out of memory");
		goto out;
	}
	/* derived for one CPU: the software kernel is one CPU's view */
	for (i = 0; i < MXT_CLASS_MAX; i++)
		s->cls[i] = c->kernel.class_limit[i];
	s->global = c->kernel.global;
	r->global_rate = s->global.rate;
	r->global_burst = s->global.burst;
	if (c->trace) {
		rc = sim_run_trace(s, err, errlen);
	} else {
		s->start = (double)c->start;
		s->warm_start = s->start - c->warmup_days * DAY;
		s->end = s->start + c->days * DAY;
		rc = c->scenario ? sim_setup_scenario(s) : setup_synthetic(s);
		if (!rc)
			rc = sim_run_loop(s);
		if (rc && !err[0])
			mxt_seterr(err, errlen, "sim: %s", strerror(-rc));
	}
	if (!rc) {
		finish(s);
		if (c->scenario)
			sim_scenario_judge(s);
		if (!c->trace && !c->scenario) {
			uint64_t by[MXT_STATE_MAX] = { 0 };

			mxt_model_foreach(s->node[0].m, 0, count_spoofed, by);
			for (i = 0; i < MXT_STATE_MAX; i++)
				r->pop[MXT_SIM_SPOOFED].reached[i] += by[i];
		}
		if (s->nodes > 1)
			sim_fleet_finish(s);
	}
out:
	sim_nodes_free(s);
	sim_kmap_free(&s->idx);
	free(s->src);
	sim_heap_free(&s->heap);
	free(s);
	return rc;
}

