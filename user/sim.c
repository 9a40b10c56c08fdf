/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim.c - the simulator (sim.h): an event-driven virtual clock that feeds
 * session attempts through a software kernel (per-source GCRA limits from
 * the model's policy changes, a global budget for sources without policy)
 * and the real model, and counts what each population experienced.
 *
 * Determinism: one splitmix64 stream per source derived from the seed,
 * events ordered by (time, sequence number), no clock, no hash seeds: the
 * same configuration prints the same numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "addr.h"
#include "mxt_syn_verdict.h"
#include "jsonw.h"

#define HOUR 3600.0
#define DAY 86400.0
#define QUEUE_LIFETIME (5 * DAY)   /* Postfix maximal_queue_lifetime */
#define DEFAULT_START 1704067200ULL /* Monday 2024-01-01 00:00 UTC */
#define SYN_BATCH 1024               /* SYN observations per model call */

static const char *const pop_names[MXT_SIM_POP_MAX] = {
	"established", "new-legit", "snowshoe", "burst", "compromised", "spoofed-flood", "trace"
};

/* Fixed shape of a business day, sessions/h relative to the 10:00 peak. */
static const double day_shape[24] = {
	0.05, 0.05, 0.05, 0.05, 0.05, 0.06, 0.10, 0.30, 0.60, 0.85, 1.00, 0.95,
	0.75, 0.80, 0.85, 0.75, 0.60, 0.40, 0.25, 0.18, 0.12, 0.09, 0.07, 0.06
};

/* ------------------------------------------------------------------ */
/* randomness                                                         */

/* splitmix64 step. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double rng_unit(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

/* Uniform in [lo, hi). */
static double rng_range(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(s);
}

/* A standard normal value from a hash of (a, b): stateless, so a source's
 * jitter of a given day is the same whoever asks. */
static double hash_normal(uint64_t a, uint64_t b)
{
	uint64_t s = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL);
	double u1 = rng_unit(&s), u2 = rng_unit(&s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ------------------------------------------------------------------ */
/* a small key -> entry map (the software kernel's maps)              */

struct kent {
	struct mxt_key key;
	uint32_t used;
	uint32_t klass;         /* policy: MXT_CLASS_* */
	uint32_t flags;         /* policy: MXT_POLICY_F_* */
	uint32_t idx;           /* trace: source index */
	struct mxt_limit limit; /* policy: override */
	__u64 tat;              /* GCRA state (ns) */
	uint64_t syns, dropped; /* deltas since the last tick */
};

struct kmap {
	struct kent *e;
	size_t cap, n;
	size_t *usedlist;       /* slots in use, for clearing */
};

/* Hash of a key for the map. */
static uint64_t kmap_hash(const struct mxt_key *k)
{
	uint32_t w[5];
	uint64_t h = 0x243f6a8885a308d3ULL;
	int i;

	memcpy(w, k, sizeof(w));
	for (i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

/* Allocate a map of 'cap' slots. */
static int kmap_init(struct kmap *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	m->e = calloc(cap, sizeof(*m->e));
	m->usedlist = malloc(cap * sizeof(*m->usedlist));
	return m->e && m->usedlist ? 0 : -ENOMEM;
}

/* Free a map. */
static void kmap_free(struct kmap *m)
{
	free(m->e);
	free(m->usedlist);
}

/* Slot of k or -1. */
static long kmap_find(const struct kmap *m, const struct mxt_key *k)
{
	size_t i = kmap_hash(k) % m->cap;

	while (m->e[i].used) {
		if (memcmp(&m->e[i].key, k, sizeof(*k)) == 0)
			return (long)i;
		if (++i == m->cap)
			i = 0;
	}
	return -1;
}

/* Insert k (absent); -1 when the map is 3/4 full. */
static long kmap_insert(struct kmap *m, const struct mxt_key *k)
{
	size_t i = kmap_hash(k) % m->cap;

	if (m->n * 4 >= m->cap * 3)
		return -1;
	while (m->e[i].used)
		if (++i == m->cap)
			i = 0;
	memset(&m->e[i], 0, sizeof(m->e[i]));
	m->e[i].key = *k;
	m->e[i].used = 1;
	m->usedlist[m->n++] = i;
	return (long)i;
}

/* Delete slot i (backward shift); the used list is not kept (policy map). */
static void kmap_delete(struct kmap *m, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		j = j + 1 == m->cap ? 0 : j + 1;
		if (!m->e[j].used)
			break;
		home = kmap_hash(&m->e[j].key) % m->cap;
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->e[i] = m->e[j];
			i = j;
		}
	}
	m->e[i].used = 0;
	m->n--;
}

/* Empty a map that never deletes (deltas), in O(entries). */
static void kmap_clear(struct kmap *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		m->e[m->usedlist[i]].used = 0;
	m->n = 0;
}

/* ------------------------------------------------------------------ */
/* the simulation                                                     */

enum { EV_GEN = 0, EV_RETRY, EV_FLOOD };

/* One pending event. */
struct ev {
	double t;
	uint64_t seq;
	double birth;        /* message birth (retries) */
	uint32_t src;
	uint8_t kind;
	uint8_t spam;        /* the spam generator / a spam message */
	uint16_t tries;
	uint16_t rcpts;
};

/* One simulated source. */
struct src {
	struct mxt_key key;
	uint8_t pop;
	uint8_t retries;     /* its legitimate mail is retried (an MTA) */
	uint8_t reached;     /* bit per state seen in decisions */
	uint8_t counted;
	double peak;         /* sessions/h at its peak */
	double weekend;      /* weekend factor */
	double from, to;     /* active window */
	double jump_at, jump_to, jump_mult; /* compromised: spam window */
	double rcpt_mean;
	double first_attempt;
	double established_at;
	double throttled_at;
	uint64_t rng;
};

struct sim {
	const struct mxt_sim_config *c;
	struct mxt_sim_result *r;
	struct mxt_model *m;
	struct kmap pol, delta, trace_idx;
	struct mxt_limit cls[MXT_CLASS_MAX], global;
	__u64 global_tat;
	struct src *src;
	size_t nsrc, capsrc;
	struct ev *heap;
	size_t nheap, capheap;
	uint64_t seq;
	double warm_start, start, end;
	double flood_from, flood_to;
	uint32_t flood_rate;
	uint64_t flood_rng;
	uint64_t spoof_promoted;
	uint8_t spoof_seen[65536 / 8]; /* distinct spoofed addresses */
	struct mxt_syn_obs batch[SYN_BATCH]; /* SYN deltas handed to the model */
};

/* Heap order: time, then sequence. */
static int ev_before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

/* Push an event. */
static int heap_push(struct sim *s, struct ev e)
{
	size_t i;

	if (s->nheap == s->capheap) {
		size_t nc = s->capheap ? s->capheap * 2 : 1024;
		struct ev *nh = realloc(s->heap, nc * sizeof(*nh));

		if (!nh)
			return -ENOMEM;
		s->heap = nh;
		s->capheap = nc;
	}
	e.seq = s->seq++;
	i = s->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_before(&e, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
	return 0;
}

/* Pop the earliest event. */
static struct ev heap_pop(struct sim *s)
{
	struct ev top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct ev *best = &last;

		if (l < s->nheap && ev_before(&s->heap[l], best)) {
			m = l;
			best = &s->heap[l];
		}
		if (r < s->nheap && ev_before(&s->heap[r], best))
			m = r;
		if (m == i)
			break;
		s->heap[i] = s->heap[m];
		i = m;
	}
	if (s->nheap)
		s->heap[i] = last;
	return top;
}

/* Add a source. */
static struct src *add_src(struct sim *s, enum mxt_sim_pop pop, const struct mxt_key *k)
{
	struct src *x;

	if (s->nsrc == s->capsrc) {
		size_t nc = s->capsrc ? s->capsrc * 2 : 256;
		struct src *ns = realloc(s->src, nc * sizeof(*ns));

		if (!ns)
			return NULL;
		s->src = ns;
		s->capsrc = nc;
	}
	x = &s->src[s->nsrc++];
	memset(x, 0, sizeof(*x));
	x->key = *k;
	x->pop = (uint8_t)pop;
	x->rng = s->c->seed * 0x2545f4914f6cdd1dULL + s->nsrc * 0x9e3779b97f4a7c15ULL;
	x->established_at = -1;
	x->throttled_at = -1;
	x->first_attempt = -1;
	x->rcpt_mean = 2;
	s->r->pop[pop].used = 1;
	s->r->pop[pop].sources++;
	return x;
}

/* An IPv4 key a.b.c.d /32. */
static struct mxt_key key_v4(unsigned a, unsigned b, unsigned c, unsigned d)
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

/* An IPv6 key 2001:2:0:N::/64. */
static struct mxt_key key_v6(unsigned n)
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

/* 1 on Saturday and Sunday (UTC). */
static int weekend_at(double t)
{
	long long d = (long long)floor(t / DAY);
	int dow = (int)(((d + 4) % 7 + 7) % 7);

	return dow == 0 || dow == 6;
}

/* Sessions/h of source x at time t (normal traffic or its spam). */
static double rate_at(const struct sim *s, const struct src *x, double t, int spam)
{
	int h = (int)fmod(floor(t / HOUR), 24.0), we = weekend_at(t);
	double day = floor(t / DAY), base;

	if (t < x->from || t >= x->to)
		return 0;
	switch (x->pop) {
	case MXT_SIM_ESTABLISHED:
	case MXT_SIM_COMPROMISED:
		base = x->peak * day_shape[h] * (we ? x->weekend : 1.0) *
		       exp(0.15 * hash_normal(x->rng ^ 0xabcdef, (uint64_t)day));
		if (spam)
			return t >= x->jump_at && t < x->jump_to ? base * (x->jump_mult - 1.0) : 0;
		return base;
	case MXT_SIM_NEW_LEGIT:
		return x->peak * fmax(0.35, day_shape[h]) * (we ? 0.5 : 1.0);
	case MXT_SIM_SNOWSHOE:
		return !we && h >= 9 && h < 15 ? x->peak : 0;
	case MXT_SIM_BURST:
		return x->peak;
	default:
		(void)s;
		return 0;
	}
}

/* Next arrival after t of a piecewise-constant (hourly) Poisson process;
 * returns a time >= x->to when there is none. */
static double next_arrival(const struct sim *s, struct src *x, double t, int spam)
{
	if (t < x->from)
		t = x->from;
	while (t < x->to && t < s->end) {
		double hour_end = (floor(t / HOUR) + 1) * HOUR;
		double lambda = rate_at(s, x, t, spam) / HOUR;

		if (lambda > 0) {
			double gap = -log(rng_unit(&x->rng)) / lambda;

			if (t + gap < hour_end)
				return t + gap;
		}
		t = hour_end;
	}
	return INFINITY;
}

/* Schedule the next message of a generator. */
static int schedule_gen(struct sim *s, uint32_t i, double t, int spam)
{
	struct src *x = &s->src[i];
	double n = next_arrival(s, x, t, spam);
	struct ev e;

	if (!(n < s->end))
		return 0;
	memset(&e, 0, sizeof(e));
	e.t = n;
	e.src = i;
	e.kind = EV_GEN;
	e.spam = (uint8_t)spam;
	return heap_push(s, e);
}

/* Recipients of a new message. */
static uint16_t draw_rcpts(struct src *x, int spam)
{
	double v;

	if (spam)
		return 25;
	if (x->pop == MXT_SIM_SNOWSHOE)
		return (uint16_t)(5 + rng_next(&x->rng) % 16);
	if (x->pop == MXT_SIM_BURST)
		return 10;
	v = 1 - (x->rcpt_mean - 1) * log(rng_unit(&x->rng)); /* 1 + exponential */
	return (uint16_t)(v > 500 ? 500 : v);
}

/* ------------------------------------------------------------------ */
/* software kernel                                                    */

/* One SYN from 'key' at t: 1 passed, 0 dropped (counted for the tick).
 * The decision is the kernel's own (maps/mxt_syn_verdict.h), in its
 * order: the global budget first for a source without policy. */
static int kernel_syn(struct sim *s, const struct mxt_key *key, double t)
{
	uint64_t now = (uint64_t)(t * 1e9);
	long pi = kmap_find(&s->pol, key), di = kmap_find(&s->delta, key);
	struct kent *d;
	__u64 scratch = 0;
	int admit;

	if (di < 0)
		di = kmap_insert(&s->delta, key);
	d = di >= 0 ? &s->delta.e[di] : NULL;
	if (pi < 0) {
		admit = mxt_syn_verdict(s->cls, &s->global, &s->global_tat, MXT_CLASS_UNKNOWN, 0, NULL,
					d ? &d->tat : &scratch, now) == MXT_R_ADMITTED;
	} else {
		struct kent *p = &s->pol.e[pi];

		admit = mxt_syn_verdict(s->cls, &s->global, &s->global_tat, p->klass,
					p->flags | MXT_SOURCE_F_HAS_POLICY, &p->limit, &p->tat,
					now) == MXT_R_ADMITTED;
	}
	if (d) {
		d->syns++;
		if (!admit)
			d->dropped++;
	}
	return admit;
}

/* 1 when a key lies in the spoofed range 198.19.0.0/16. */
static int is_spoofed(const struct mxt_key *k)
{
	const uint8_t *p = (const uint8_t *)k->addr;

	return k->family == MXT_FAMILY_IPV4 && p[0] == 198 && p[1] == 19;
}

/* Model tick callback: write the policy map. */
static void on_change(void *ctx, const struct mxt_model_change *c)
{
	struct sim *s = ctx;
	long i = kmap_find(&s->pol, &c->key);

	s->r->kernel_changes++;
	if (is_spoofed(&c->key) && c->klass != MXT_CLASS_UNKNOWN && c->klass != MXT_CLASS_BLOCKED)
		s->spoof_promoted++;
	if (c->klass == MXT_CLASS_UNKNOWN) {
		if (i >= 0)
			kmap_delete(&s->pol, (size_t)i);
		return;
	}
	if (i < 0)
		i = kmap_insert(&s->pol, &c->key);
	if (i < 0)
		return; /* cannot happen: sized at twice the model */
	s->pol.e[i].klass = c->klass;
	s->pol.e[i].flags = c->flags;
	s->pol.e[i].limit = c->limit;
}

/* The daemon's tick: SYN deltas into the model, then its transitions. */
static void do_tick(struct sim *s, double t)
{
	size_t i, n = 0;

	for (i = 0; i < s->delta.n; i++) {
		struct kent *d = &s->delta.e[s->delta.usedlist[i]];

		s->batch[n].key = d->key;
		s->batch[n].syns = d->syns;
		s->batch[n].dropped = d->dropped;
		if (++n == SYN_BATCH) {
			mxt_model_observe_syns_batch(s->m, s->batch, n, (uint64_t)t);
			n = 0;
		}
	}
	if (n)
		mxt_model_observe_syns_batch(s->m, s->batch, n, (uint64_t)t);
	kmap_clear(&s->delta);
	mxt_model_tick(s->m, (uint64_t)t, on_change, s);
}

/* ------------------------------------------------------------------ */
/* attempts                                                           */

/* Remember what the model said about x. */
static void note_decision(struct src *x, const struct mxt_decision *d)
{
	if ((unsigned)d->state < MXT_STATE_MAX)
		x->reached |= (uint8_t)(1u << d->state);
	if (d->state == MXT_STATE_ESTABLISHED && x->established_at < 0)
		x->established_at = (double)d->state_since;
	if (d->state == MXT_STATE_THROTTLED && x->throttled_at < 0 && x->jump_at > 0 &&
	    (double)d->state_since >= x->jump_at)
		x->throttled_at = (double)d->state_since;
}

/* Retry a deferred/dropped message later if its sender is an MTA. */
static int maybe_retry(struct sim *s, const struct ev *e)
{
	struct src *x = &s->src[e->src];
	static const double backoff[] = { 300, 600, 1200, 2400, 4000 };
	struct ev r;
	double wait;

	if (e->spam || !x->retries)
		return 0;
	wait = backoff[e->tries < 4 ? e->tries : 4] * rng_range(&x->rng, 0.9, 1.1);
	if (e->t + wait - e->birth > QUEUE_LIFETIME || e->t + wait >= s->end)
		return 0;
	r = *e;
	r.t = e->t + wait;
	r.kind = EV_RETRY;
	r.tries = (uint16_t)(e->tries + 1);
	return heap_push(s, r);
}

/* One session attempt (or a SYN only for trace "syn" lines). */
static int attempt(struct sim *s, const struct ev *e, int syn_only)
{
	struct src *x = &s->src[e->src];
	struct mxt_sim_pop_result *pr = &s->r->pop[x->pop];
	int measured = e->t >= s->start, rc, legit = !e->spam && pr->legit;
	struct mxt_decision d;
	uint64_t now = (uint64_t)e->t;

	s->r->events++;
	if (x->first_attempt < 0)
		x->first_attempt = e->t;
	if (measured) {
		pr->attempts++;
		if (legit)
			pr->legit_attempts++;
		else
			pr->spam_attempts++;
		if (e->kind == EV_GEN && e->birth >= s->start && x->retries && !e->spam)
			pr->messages++;
	}
	if (!kernel_syn(s, &x->key, e->t)) {
		if (measured) {
			pr->dropped++;
			if (legit)
				pr->legit_stopped++;
			else
				pr->spam_stopped++;
		}
		return maybe_retry(s, e);
	}
	if (syn_only) {
		if (measured)
			pr->allowed++;
		return 0;
	}
	rc = mxt_model_admit_session(s->m, &x->key, now, MXT_OBS_CONNECT, 0, 0, &d);
	if (rc >= 0)
		note_decision(x, &d);
	if (rc == 1 || (rc >= 0 &&
			(rc = mxt_model_admit_session(s->m, &x->key, now, MXT_OBS_EOM, e->rcpts,
						      e->rcpts * 4000ULL, &d)) == 1)) {
		note_decision(x, &d);
		if (measured) {
			pr->deferred++;
			pr->deferred_by[d.code]++;
			if (legit)
				pr->legit_stopped++;
			else
				pr->spam_stopped++;
		}
		return maybe_retry(s, e);
	}
	/* admitted (or not tracked: the policy service fails open) */
	if (measured) {
		pr->allowed++;
		if (e->birth >= s->start && x->retries && !e->spam) {
			pr->delivered++;
			if (e->tries) {
				pr->delayed++;
				pr->delay_mean += e->t - e->birth; /* a sum until finish() */
			}
		}
	}
	return 0;
}

/* One second of the spoofed flood: flood_rate SYNs from random sources. */
static int flood_second(struct sim *s, const struct ev *e)
{
	struct mxt_sim_pop_result *pr = &s->r->pop[MXT_SIM_SPOOFED];
	uint32_t i;
	struct ev n;

	for (i = 0; i < s->flood_rate; i++) {
		uint32_t v = (uint32_t)rng_next(&s->flood_rng) & 0xffff;
		struct mxt_key k = key_v4(198, 19, v >> 8, v & 0xff);
		double t = e->t + i / (double)s->flood_rate;

		if (!(s->spoof_seen[v >> 3] & (1u << (v & 7)))) {
			s->spoof_seen[v >> 3] |= (uint8_t)(1u << (v & 7));
			pr->sources++;
		}

		s->r->events++;
		pr->attempts++;
		pr->spam_attempts++;
		if (kernel_syn(s, &k, t)) {
			pr->allowed++;
		} else {
			pr->dropped++;
			pr->spam_stopped++;
		}
	}
	if (e->t + 1 >= s->flood_to)
		return 0;
	n = *e;
	n.t = e->t + 1;
	return heap_push(s, n);
}

/* Run the event loop to s->end. */
static int run_loop(struct sim *s)
{
	double next_tick = floor(s->warm_start / s->c->tick) * s->c->tick + s->c->tick;
	int rc = 0;

	while (s->nheap && s->heap[0].t < s->end) {
		struct ev e = heap_pop(s);
		struct src *x;

		while (next_tick <= e.t) {
			do_tick(s, next_tick);
			next_tick += s->c->tick;
		}
		switch (e.kind) {
		case EV_FLOOD:
			rc = flood_second(s, &e);
			break;
		case EV_GEN:
			x = &s->src[e.src];
			e.birth = e.t;
			e.rcpts = draw_rcpts(x, e.spam);
			rc = attempt(s, &e, 0);
			if (!rc)
				rc = schedule_gen(s, e.src, e.t, e.spam);
			break;
		case EV_RETRY:
			rc = attempt(s, &e, 0);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	while (next_tick <= s->end) {
		do_tick(s, next_tick);
		next_tick += s->c->tick;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* synthetic week                                                     */

/* Build the populations and their first events. */
static int setup_synthetic(struct sim *s)
{
	const struct mxt_sim_config *c = s->c;
	uint64_t rng = c->seed ^ 0x5eed5eed5eedULL;
	unsigned n_est = (unsigned)fmax(1, floor(400 * c->scale));
	unsigned n_new = (unsigned)fmax(1, floor(20 * c->scale));
	unsigned n_snow = (unsigned)fmax(1, floor(300 * c->scale));
	unsigned i, day;
	struct src *x;
	struct ev e;
	int rc;

	s->r->pop[MXT_SIM_ESTABLISHED].legit = 1;
	s->r->pop[MXT_SIM_NEW_LEGIT].legit = 1;
	s->r->pop[MXT_SIM_COMPROMISED].legit = 1; /* its normal mail; spam is marked per message */
	/* established: Zipf sizes, 1 in 5 over IPv6 */
	for (i = 0; i < n_est && i < 4096; i++) {
		struct mxt_key k = i % 5 == 4 ? key_v6(i) : key_v4(198, 18, i >> 8, i & 0xff);

		x = add_src(s, MXT_SIM_ESTABLISHED, &k);
		if (!x)
			return -ENOMEM;
		x->retries = 1;
		x->peak = 1500.0 / pow(i + 1.0, 0.9);
		if (x->peak < 2)
			x->peak = 2;
		x->weekend = rng_range(&rng, 0.2, 0.5);
		x->rcpt_mean = rng_range(&rng, 1.2, 3.0);
		x->from = s->warm_start;
		x->to = INFINITY;
	}
	/* compromised: an established 200/h sender, 20x on day 3 at 10:00 for 3 h */
	{
		struct mxt_key k = key_v4(198, 18, 32, 1);

		x = add_src(s, MXT_SIM_COMPROMISED, &k);
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
	}
	/* new legitimate senders appearing in the first three days */
	for (i = 0; i < n_new; i++) {
		struct mxt_key k = key_v4(198, 18, 16 + (i >> 8), i & 0xff);

		x = add_src(s, MXT_SIM_NEW_LEGIT, &k);
		if (!x)
			return -ENOMEM;
		x->retries = 1;
		x->peak = rng_range(&rng, 8, 15);
		x->from = s->start + rng_range(&rng, 0, 3 * DAY);
		x->to = INFINITY;
	}
	/* snowshoe: a fresh block of addresses each weekday of the measured days */
	for (day = 0; day < c->days; day++) {
		double d0 = s->start + day * DAY;

		if (weekend_at(d0 + HOUR))
			continue;
		for (i = 0; i < n_snow; i++) {
			unsigned idx = day * n_snow + i;
			struct mxt_key k = key_v4(198, 18, 128 + ((idx >> 8) & 0x7f), idx & 0xff);

			x = add_src(s, MXT_SIM_SNOWSHOE, &k);
			if (!x)
				return -ENOMEM;
			x->peak = rng_range(&rng, 6, 20);
			x->from = d0;
			x->to = d0 + DAY;
		}
	}
	/* burst: one new address, day 2 13:00-15:00 at 3000/h */
	if (c->days > 2) {
		struct mxt_key k = key_v4(198, 18, 64, 1);

		x = add_src(s, MXT_SIM_BURST, &k);
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
		memset(&e, 0, sizeof(e));
		e.t = s->flood_from;
		e.kind = EV_FLOOD;
		rc = heap_push(s, e);
		if (rc)
			return rc;
	}
	/* established senders have history: released at the warm-up start */
	for (i = 0; i < s->nsrc; i++) {
		x = &s->src[i];
		if (x->pop == MXT_SIM_ESTABLISHED || x->pop == MXT_SIM_COMPROMISED) {
			rc = mxt_model_release(s->m, &x->key, (uint64_t)s->warm_start);
			if (rc)
				return rc;
		}
		rc = schedule_gen(s, i, x->from, 0);
		if (!rc && x->jump_mult > 1)
			rc = schedule_gen(s, i, x->jump_at, 1);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* trace replay                                                       */

struct tline {
	double t;
	uint32_t src;
	uint32_t line;
	uint8_t syn_only;
};

/* Order trace lines by time, then file order. */
static int cmp_tline(const void *a, const void *b)
{
	const struct tline *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Trim blanks in place. */
static char *trim(char *p)
{
	char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return p;
}

/* Read, parse and replay a CSV trace. */
static int run_trace(struct sim *s, char *err, size_t errlen)
{
	FILE *f = fopen(s->c->trace, "r");
	struct tline *lines = NULL;
	size_t n = 0, cap = 0, i;
	char buf[512];
	unsigned lineno = 0;
	int rc = 0, offsets = -1;

	if (!f) {
		snprintf(err, errlen, "%s: %s", s->c->trace, strerror(errno));
		return -errno;
	}
	if (kmap_init(&s->trace_idx, 1 << 20)) {
		fclose(f);
		return -ENOMEM;
	}
	s->r->pop[MXT_SIM_TRACE].legit = 1;
	while (fgets(buf, sizeof(buf), f)) {
		char *p = trim(buf), *ts, *as, *os, *end, *save = NULL;
		struct mxt_addr a;
		struct mxt_key k;
		double t;
		long idx;

		lineno++;
		if (!*p || *p == '#')
			continue;
		ts = strtok_r(p, ",", &save);
		as = strtok_r(NULL, ",", &save);
		os = strtok_r(NULL, ",", &save);
		ts = ts ? trim(ts) : NULL;
		errno = 0;
		t = ts ? strtod(ts, &end) : 0;
		if (!ts || end == ts || *end || errno || !isfinite(t) || t < 0) {
			if (n == 0 && lineno == 1)
				continue; /* a header line */
			snprintf(err, errlen, "%s:%u: bad time '%s'", s->c->trace, lineno, ts ? ts : "");
			rc = -EINVAL;
			goto out;
		}
		if (!as || mxt_addr_parse(trim(as), &a) || mxt_key_from_addr(&k, &a, 32, 64)) {
			snprintf(err, errlen, "%s:%u: bad source address '%s'", s->c->trace, lineno,
				 as ? trim(as) : "");
			rc = -EINVAL;
			goto out;
		}
		if (offsets < 0)
			offsets = t < 1e9;
		if ((t < 1e9) != offsets) {
			snprintf(err, errlen, "%s:%u: mixes unix times and offsets", s->c->trace, lineno);
			rc = -EINVAL;
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct tline *nl = realloc(lines, nc * sizeof(*nl));

			if (!nl) {
				rc = -ENOMEM;
				goto out;
			}
			lines = nl;
			cap = nc;
		}
		idx = kmap_find(&s->trace_idx, &k);
		if (idx < 0) {
			struct src *x;

			idx = kmap_insert(&s->trace_idx, &k);
			x = add_src(s, MXT_SIM_TRACE, &k);
			if (idx < 0 || !x) {
				snprintf(err, errlen, "%s:%u: too many sources", s->c->trace, lineno);
				rc = -ENOSPC;
				goto out;
			}
			s->trace_idx.e[idx].idx = (uint32_t)(s->nsrc - 1);
		}
		lines[n].src = s->trace_idx.e[idx].idx;
		lines[n].t = offsets ? (double)s->c->start + t : t;
		lines[n].line = lineno;
		lines[n].syn_only = 0;
		if (os) {
			os = trim(os);
			if (strcmp(os, "syn") == 0) {
				lines[n].syn_only = 1;
			} else if (strcmp(os, "session") != 0 && *os) {
				snprintf(err, errlen, "%s:%u: outcome '%s' is neither session nor syn",
					 s->c->trace, lineno, os);
				rc = -EINVAL;
				goto out;
			}
		}
		n++;
	}
	s->r->trace_lines = n;
	if (!n) {
		snprintf(err, errlen, "%s: no attempts", s->c->trace);
		rc = -EINVAL;
		goto out;
	}
	qsort(lines, n, sizeof(*lines), cmp_tline);
	s->warm_start = lines[0].t;
	s->start = lines[0].t;
	s->end = lines[n - 1].t + 1;
	{
		double next_tick = floor(s->start / s->c->tick) * s->c->tick + s->c->tick;

		for (i = 0; i < n; i++) {
			struct ev e;

			while (next_tick <= lines[i].t) {
				do_tick(s, next_tick);
				next_tick += s->c->tick;
			}
			memset(&e, 0, sizeof(e));
			e.t = lines[i].t;
			e.birth = e.t;
			e.src = lines[i].src;
			e.rcpts = 1;
			rc = attempt(s, &e, lines[i].syn_only);
			if (rc)
				goto out;
		}
		do_tick(s, next_tick);
	}
out:
	free(lines);
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* results                                                            */

/* Derived numbers of each population. */
static void finish(struct sim *s)
{
	size_t i;
	int p;

	for (i = 0; i < s->nsrc; i++) {
		struct src *x = &s->src[i];
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
	}
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		struct mxt_sim_pop_result *pr = &s->r->pop[p];

		pr->name = pop_names[p];
		pr->fp_pct = pr->legit_attempts ? 100.0 * pr->legit_stopped / pr->legit_attempts : -1;
		pr->spam_stopped_pct = pr->spam_attempts ? 100.0 * pr->spam_stopped / pr->spam_attempts
							 : -1;
		pr->delay_mean = pr->delayed ? pr->delay_mean / (double)pr->delayed : -1;
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

		pr->reached[MXT_STATE_GRAYLISTED] += s->spoof_promoted;
	}
	mxt_model_counts(s->m, &s->r->counts);
}

/* Defaults. */
void mxt_sim_config_default(struct mxt_sim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->seed = 1;
	c->days = 7;
	c->warmup_days = 14;
	c->start = DEFAULT_START;
	c->tick = 10;
	c->scale = 1.0;
	c->capacity = 1 << 18;
	mxt_model_params_default(&c->params);
	c->class_rate[MXT_CLASS_UNKNOWN] = 60;
	c->class_burst[MXT_CLASS_UNKNOWN] = 20;
	c->class_rate[MXT_CLASS_GRAYLISTED] = 60;
	c->class_burst[MXT_CLASS_GRAYLISTED] = 20;
	c->class_rate[MXT_CLASS_ESTABLISHED] = 6000;
	c->class_burst[MXT_CLASS_ESTABLISHED] = 1000;
	c->class_rate[MXT_CLASS_THROTTLED] = 600;
	c->class_burst[MXT_CLASS_THROTTLED] = 100;
	c->class_rate[MXT_CLASS_BLOCKED] = 0;
	c->class_burst[MXT_CLASS_BLOCKED] = 0;
	c->global_rate = 6000;
	c->global_burst = 1000;
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
	    (!c->trace && (!c->days || c->days > 366 || c->warmup_days > 366))) {
		snprintf(err, errlen, "sim: bad configuration");
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	s = calloc(1, sizeof(*s)); /* ~50 KB: not on the stack */
	if (!s) {
		snprintf(err, errlen, "sim: out of memory");
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
	if (mxt_model_params_check(&c->params, err, errlen)) {
		free(s);
		return -EINVAL;
	}
	s->m = mxt_model_new(&c->params, c->capacity);
	rc = s->m ? 0 : -ENOMEM;
	if (!rc)
		rc = kmap_init(&s->pol, 2 * c->capacity + 1);
	if (!rc)
		rc = kmap_init(&s->delta, 1 << 18);
	if (rc) {
		snprintf(err, errlen, "sim: out of memory");
		goto out;
	}
	for (i = 0; i < MXT_CLASS_MAX; i++) {
		s->cls[i].rate = c->class_rate[i];
		s->cls[i].burst = c->class_burst[i];
		if (mxt_limit_derive(&s->cls[i], 1)) {
			snprintf(err, errlen, "sim: bad limit for class %d", i);
			rc = -EINVAL;
			goto out;
		}
	}
	s->global.rate = c->global_rate;
	s->global.burst = c->global_burst;
	if (mxt_limit_derive(&s->global, 1)) {
		snprintf(err, errlen, "sim: bad global budget");
		rc = -EINVAL;
		goto out;
	}
	if (c->trace) {
		rc = run_trace(s, err, errlen);
	} else {
		s->start = (double)c->start;
		s->warm_start = s->start - c->warmup_days * DAY;
		s->end = s->start + c->days * DAY;
		rc = setup_synthetic(s);
		if (!rc)
			rc = run_loop(s);
		if (rc && !err[0])
			snprintf(err, errlen, "sim: %s", strerror(-rc));
	}
	if (!rc) {
		finish(s);
		if (!c->trace) {
			uint64_t by[MXT_STATE_MAX] = { 0 };

			mxt_model_foreach(s->m, 0, count_spoofed, by);
			for (i = 0; i < MXT_STATE_MAX; i++)
				r->pop[MXT_SIM_SPOOFED].reached[i] += by[i];
		}
	}
out:
	mxt_model_free(s->m);
	kmap_free(&s->pol);
	kmap_free(&s->delta);
	kmap_free(&s->trace_idx);
	free(s->src);
	free(s->heap);
	free(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* output                                                             */

/* The notes column of a population. */
static void notes_of(const struct mxt_sim_pop_result *p, int idx, char *buf, size_t len)
{
	buf[0] = 0;
	switch (idx) {
	case MXT_SIM_ESTABLISHED:
		snprintf(buf, len, "%llu throttled, %llu of %llu msgs delivered",
			 (unsigned long long)p->reached[MXT_STATE_THROTTLED],
			 (unsigned long long)p->delivered, (unsigned long long)p->messages);
		break;
	case MXT_SIM_NEW_LEGIT:
		if (p->established_n)
			snprintf(buf, len, "%llu/%llu established after %.2f d (%.2f-%.2f); "
				 "%llu msgs delayed, mean %.0f min",
				 (unsigned long long)p->established_n, (unsigned long long)p->sources,
				 p->days_to_establish, p->days_to_establish_min, p->days_to_establish_max,
				 (unsigned long long)p->delayed, p->delay_mean / 60);
		else
			snprintf(buf, len, "0/%llu established", (unsigned long long)p->sources);
		break;
	case MXT_SIM_SNOWSHOE:
	case MXT_SIM_BURST:
		snprintf(buf, len, "%llu established", (unsigned long long)p->reached[MXT_STATE_ESTABLISHED]);
		break;
	case MXT_SIM_COMPROMISED:
		if (p->throttle_after >= 0)
			snprintf(buf, len, "throttled %.0f s after the 20x jump; %llu own msgs delayed, "
				 "mean %.0f min", p->throttle_after, (unsigned long long)p->delayed,
				 p->delay_mean / 60);
		else
			snprintf(buf, len, "never throttled");
		break;
	case MXT_SIM_SPOOFED:
		snprintf(buf, len, "%llu tracked, %llu graylisted, %llu established",
			 (unsigned long long)(p->reached[MXT_STATE_NEW] + p->reached[MXT_STATE_BLOCKED]),
			 (unsigned long long)p->reached[MXT_STATE_GRAYLISTED],
			 (unsigned long long)p->reached[MXT_STATE_ESTABLISHED]);
		break;
	case MXT_SIM_TRACE:
		snprintf(buf, len, "reached: %llu graylisted, %llu established, %llu throttled, %llu blocked",
			 (unsigned long long)p->reached[MXT_STATE_GRAYLISTED],
			 (unsigned long long)p->reached[MXT_STATE_ESTABLISHED],
			 (unsigned long long)p->reached[MXT_STATE_THROTTLED],
			 (unsigned long long)p->reached[MXT_STATE_BLOCKED]);
		break;
	default:
		break;
	}
}

/* Print a percentage or "-". */
static void pct(char *buf, size_t len, double v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", v);
}

/* Print the results. */
int mxt_sim_print(const struct mxt_sim_result *r, FILE *out, int json)
{
	char notes[160], fp[16], sp[16];
	int p, st;

	if (!r || !out)
		return -EINVAL;
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "input", r->synthetic ? "synthetic" : "trace");
		mxt_jw_ku64(&w, "seed", r->seed);
		mxt_jw_ku64(&w, "days", r->days);
		mxt_jw_ku64(&w, "warmup_days", r->warmup_days);
		mxt_jw_ku64(&w, "start", r->start);
		mxt_jw_ku64(&w, "tick", r->tick);
		mxt_jw_key(&w, "scale");
		mxt_jw_double(&w, r->scale, 3);
		mxt_jw_ku64(&w, "events", r->events);
		mxt_jw_ku64(&w, "kernel_changes", r->kernel_changes);
		mxt_jw_key(&w, "populations");
		mxt_jw_arr_open(&w);
		for (p = 0; p < MXT_SIM_POP_MAX; p++) {
			const struct mxt_sim_pop_result *x = &r->pop[p];

			if (!x->used)
				continue;
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "name", x->name);
			mxt_jw_ku64(&w, "sources", x->sources);
			mxt_jw_ku64(&w, "attempts", x->attempts);
			mxt_jw_ku64(&w, "allowed", x->allowed);
			mxt_jw_ku64(&w, "deferred", x->deferred);
			mxt_jw_ku64(&w, "dropped", x->dropped);
			mxt_jw_ku64(&w, "legit_attempts", x->legit_attempts);
			mxt_jw_ku64(&w, "legit_stopped", x->legit_stopped);
			mxt_jw_ku64(&w, "spam_attempts", x->spam_attempts);
			mxt_jw_ku64(&w, "spam_stopped", x->spam_stopped);
			mxt_jw_key(&w, "false_positive_pct");
			if (x->fp_pct < 0)
				mxt_jw_null(&w);
			else
				mxt_jw_double(&w, x->fp_pct, 4);
			mxt_jw_key(&w, "spam_stopped_pct");
			if (x->spam_stopped_pct < 0)
				mxt_jw_null(&w);
			else
				mxt_jw_double(&w, x->spam_stopped_pct, 4);
			mxt_jw_ku64(&w, "messages", x->messages);
			mxt_jw_ku64(&w, "delivered", x->delivered);
			mxt_jw_ku64(&w, "delayed", x->delayed);
			mxt_jw_key(&w, "delay_mean_s");
			if (x->delay_mean < 0)
				mxt_jw_null(&w);
			else
				mxt_jw_double(&w, x->delay_mean, 0);
			mxt_jw_key(&w, "throttle_after_s");
			if (x->throttle_after < 0)
				mxt_jw_null(&w);
			else
				mxt_jw_double(&w, x->throttle_after, 0);
			mxt_jw_ku64(&w, "established", x->established_n);
			mxt_jw_key(&w, "days_to_establish");
			if (x->days_to_establish < 0)
				mxt_jw_null(&w);
			else
				mxt_jw_double(&w, x->days_to_establish, 3);
			mxt_jw_key(&w, "days_to_establish_min");
			mxt_jw_double(&w, x->days_to_establish_min, 3);
			mxt_jw_key(&w, "days_to_establish_max");
			mxt_jw_double(&w, x->days_to_establish_max, 3);
			mxt_jw_key(&w, "reached");
			mxt_jw_obj_open(&w);
			for (st = 0; st < MXT_STATE_MAX; st++)
				mxt_jw_ku64(&w, mxt_state_name((enum mxt_state)st), x->reached[st]);
			mxt_jw_obj_close(&w);
			mxt_jw_key(&w, "deferred_by");
			mxt_jw_obj_open(&w);
			for (st = 0; st < MXT_CODE_MAX; st++)
				if (x->deferred_by[st])
					mxt_jw_ku64(&w, mxt_code_info((enum mxt_code)st)->name,
						    x->deferred_by[st]);
			mxt_jw_obj_close(&w);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_key(&w, "model");
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "tracked", r->counts.tracked);
		for (st = 0; st < MXT_STATE_MAX; st++)
			mxt_jw_ku64(&w, mxt_state_name((enum mxt_state)st), r->counts.by_state[st]);
		mxt_jw_ku64(&w, "throttles", r->counts.throttles);
		mxt_jw_ku64(&w, "blocks", r->counts.blocks);
		mxt_jw_ku64(&w, "syns_untracked", r->counts.syns_untracked);
		mxt_jw_ku64(&w, "tick_scans", r->counts.tick_scans);
		mxt_jw_ku64(&w, "tick_visits", r->counts.tick_visits);
		mxt_jw_ku64(&w, "memory_bytes", r->counts.memory_bytes);
		mxt_jw_obj_close(&w);
		mxt_jw_obj_close(&w);
		return mxt_jw_finish(&w);
	}
	fprintf(out, "mxthrottle sim: %s, seed %llu", r->synthetic ? "synthetic" : "trace",
		(unsigned long long)r->seed);
	if (r->synthetic)
		fprintf(out, ", %u days from %llu (Mon) after %u days of history, scale %g", r->days,
			(unsigned long long)r->start, r->warmup_days, r->scale);
	else
		fprintf(out, ", %llu lines", (unsigned long long)r->trace_lines);
	fprintf(out, ", tick %u s\n", r->tick);
	fprintf(out, "%-14s %7s %9s %9s %8s %8s %7s %8s  %s\n", "population", "sources", "attempts",
		"allowed", "deferred", "dropped", "FP%", "stopped%", "notes");
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		const struct mxt_sim_pop_result *x = &r->pop[p];

		if (!x->used)
			continue;
		notes_of(x, p, notes, sizeof(notes));
		pct(fp, sizeof(fp), x->fp_pct);
		pct(sp, sizeof(sp), x->spam_stopped_pct);
		fprintf(out, "%-14s %7llu %9llu %9llu %8llu %8llu %7s %8s  %s\n", x->name,
			(unsigned long long)x->sources, (unsigned long long)x->attempts,
			(unsigned long long)x->allowed, (unsigned long long)x->deferred,
			(unsigned long long)x->dropped, fp, sp, notes);
	}
	fprintf(out, "model: %llu tracked (new %llu, graylisted %llu, established %llu, throttled %llu, "
		"blocked %llu), %llu throttles, %llu blocks, %llu kernel policy writes, %.1f MB\n",
		(unsigned long long)r->counts.tracked,
		(unsigned long long)r->counts.by_state[MXT_STATE_NEW],
		(unsigned long long)r->counts.by_state[MXT_STATE_GRAYLISTED],
		(unsigned long long)r->counts.by_state[MXT_STATE_ESTABLISHED],
		(unsigned long long)r->counts.by_state[MXT_STATE_THROTTLED],
		(unsigned long long)r->counts.by_state[MXT_STATE_BLOCKED],
		(unsigned long long)r->counts.throttles, (unsigned long long)r->counts.blocks,
		(unsigned long long)r->kernel_changes, r->counts.memory_bytes / 1048576.0);
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* command line                                                       */

/* Print usage. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: mxthrottle sim [--synthetic | --trace FILE] [--days N] [--seed S] [--json]\n"
		"                      [--warmup N] [--tick S] [--scale X] [--capacity N]\n"
		"                      [--start UNIX] [--set NAME=VALUE]...\n"
		"  --trace FILE   replay 'time,source[,outcome]' lines (outcome session|syn)\n"
		"  --synthetic    a synthetic week (the default)\n"
		"  --days N       measured days (7)      --warmup N  days of history first (14)\n"
		"  --seed S       random seed (1)        --tick S    model tick in seconds (10)\n"
		"  --scale X      population sizes x X   --capacity N  model capacity (262144)\n"
		"  --start UNIX   start of the measured days / of offset times (2024-01-01, a Monday)\n"
		"  --set N=V      a model parameter (see mxthrottle.conf(5)); repeatable\n"
		"  --json         one JSON object instead of the table\n");
}

/* Parse an unsigned number with bounds. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* The CLI entry point. */
int mxt_sim_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "synthetic", no_argument, NULL, 'S' },
		{ "days", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "tick", required_argument, NULL, 'k' },
		{ "scale", required_argument, NULL, 'x' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "start", required_argument, NULL, 'b' },
		{ "set", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mxt_sim_config c;
	struct mxt_sim_result *r;
	unsigned long long v;
	char err[512];
	int opt, json = 0, rc, synthetic = 0;

	mxt_sim_config_default(&c);
	optind = 0; /* full re-initialisation: we may be a subcommand */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			c.trace = optarg;
			break;
		case 'S':
			synthetic = 1;
			break;
		case 'd':
			if (parse_num(optarg, 366, &v) || !v)
				goto bad;
			c.days = (unsigned)v;
			break;
		case 's':
			if (parse_num(optarg, UINT64_MAX, &v))
				goto bad;
			c.seed = v;
			break;
		case 'w':
			if (parse_num(optarg, 366, &v))
				goto bad;
			c.warmup_days = (unsigned)v;
			break;
		case 'k':
			if (parse_num(optarg, 3600, &v) || !v)
				goto bad;
			c.tick = (unsigned)v;
			break;
		case 'x': {
			char *end;

			errno = 0;
			c.scale = strtod(optarg, &end);
			if (errno || *end || !(c.scale > 0) || c.scale > 100)
				goto bad;
			break;
		}
		case 'c':
			if (parse_num(optarg, 1 << 30, &v) || v < 16)
				goto bad;
			c.capacity = (size_t)v;
			break;
		case 'b':
			if (parse_num(optarg, 4000000000ULL, &v) || v < 86400 * 30)
				goto bad;
			c.start = v;
			break;
		case 'p': {
			char name[128], *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof(name)) {
				fprintf(stderr, "mxthrottle sim: --set wants NAME=VALUE, got '%s'\n", optarg);
				return 2;
			}
			memcpy(name, optarg, (size_t)(eq - optarg));
			name[eq - optarg] = 0;
			if (mxt_model_param_set(&c.params, name, eq + 1, err, sizeof(err))) {
				fprintf(stderr, "mxthrottle sim: --set %s\n", err);
				return 2;
			}
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (synthetic && c.trace)) {
		usage(stderr);
		return 2;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "mxthrottle sim: out of memory\n");
		return 1;
	}
	rc = mxt_sim_run(&c, r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mxthrottle sim: %s\n", err[0] ? err : strerror(-rc));
		free(r);
		return 1;
	}
	rc = mxt_sim_print(r, stdout, json);
	free(r);
	return rc ? 1 : 0;
bad:
	fprintf(stderr, "mxthrottle sim: bad value '%s'\n", optarg);
	usage(stderr);
	return 2;
}
