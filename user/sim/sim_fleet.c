/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_fleet.c - the simulator's hosts: one node (a model and a software
 * kernel) for a single host, N for a fleet.  A fleet's nodes share what
 * mxthrottled's fleet shares (docs/fleet.md): the events each node's
 * policy service counted (admitted and deferred sessions and recipients),
 * applied to the other nodes' models with the calls fleet.c makes
 * (mxt_model_merge_hour()) at the next tick, i.e. with the staleness the
 * daemon documents: one tick.  As in the daemon, an event of a clock hour
 * that has ended by then is merged into that hour.  SYN counts, BLOCKED and
 * the kernel's limits stay per node, as they do in the daemon.  With
 * fleet_isolated nothing is shared: N hosts without Redis (the control).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "fleet_proto.h"

int sim_nodes_init(struct sim *s)
{
	const struct mxt_sim_config *c = s->c;
	unsigned k;
	int rc = 0;

	s->nodes = c->fleet ? c->fleet : 1;
	/* a stream of its own: the sources' streams are those of a single host */
	s->node_rng = c->seed ^ 0xf1ee7f1ee7ULL;
	for (k = 0; k < s->nodes && !rc; k++) {
		struct sim_node *n = &s->node[k];

		n->s = s;
		n->r = &s->r->node[k];
		n->r->jump_throttled_after = -1;
		n->jump_thr_at = -1;
		n->m = mxt_model_new(&c->params, c->capacity);
		rc = n->m ? 0 : -ENOMEM;
		if (!rc)
			rc = sim_kmap_init(&n->pol, 2 * c->capacity + 1);
		if (!rc)
			rc = sim_kmap_init(&n->ksrc, 1 << 18);
		if (!rc)
			rc = sim_kmap_init(&n->delta, 1 << 18);
	}
	return rc;
}

void sim_nodes_free(struct sim *s)
{
	unsigned k;

	for (k = 0; k < MXT_SIM_FLEET_MAX; k++) {
		struct sim_node *n = &s->node[k];

		mxt_model_free(n->m);
		sim_kmap_free(&n->pol);
		sim_kmap_free(&n->ksrc);
		sim_kmap_free(&n->delta);
		free(n->seen);
		memset(n, 0, sizeof(*n));
	}
}

struct sim_node *sim_pick_node(struct sim *s)
{
	if (s->nodes < 2)
		return &s->node[0];
	return &s->node[mxt_rng_next(&s->node_rng) % s->nodes];
}

int sim_fleet_note(struct sim_node *n, const struct mxt_key *key, double t, int what, uint32_t cnt)
{
	struct sim_seen *e;

	if (n->s->c->fleet_isolated)
		return 0;
	if (n->nseen == n->capseen) {
		size_t nc = n->capseen ? 2 * n->capseen : 1024;
		struct sim_seen *ns = realloc(n->seen, nc * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		n->seen = ns;
		n->capseen = nc;
	}
	e = &n->seen[n->nseen++];
	memset(e, 0, sizeof(*e));
	e->key = *key;
	e->hour = (uint32_t)(t / 3600);
	e->n = (uint16_t)cnt;
	e->what = (uint8_t)what;
	return 0;
}

/* Node dst's model gets the events src saw, at now, through the call
 * fleet.c makes: one source-hour's counts (here one event's) into
 * mxt_model_merge_hour(), which takes the fleet-wide new-sender budgets as
 * the admitting node did.  An event of a clock hour that has ended by now
 * (counted as stale) is merged into that hour, as the daemon merges it. */
static void apply(struct sim_node *dst, const struct sim_node *src, uint64_t now)
{
	uint32_t H = (uint32_t)(now / 3600);
	size_t i;

	for (i = 0; i < src->nseen; i++) {
		const struct sim_seen *e = &src->seen[i];
		struct mxt_hour_counts hc = { 0 };

		switch (e->what) {
		case MXT_FLEET_SESS:
			hc.sessions = 1;
			break;
		case MXT_FLEET_RCPT:
			hc.rcpts = e->n;
			break;
		case MXT_FLEET_DSESS:
			hc.dsessions = 1;
			break;
		case MXT_FLEET_DRCPT:
			hc.drcpts = e->n;
			break;
		default:
			continue;
		}
		if (e->hour < H)
			dst->r->stale++;
		if (mxt_model_merge_hour(dst->m, &e->key, now, e->hour > H ? H : e->hour, &hc) == 0)
			dst->r->replayed++;
	}
}

void sim_fleet_replay(struct sim *s, double t)
{
	uint64_t now = (uint64_t)t;
	unsigned a, b;

	for (a = 0; a < s->nodes; a++)
		for (b = 0; b < s->nodes; b++)
			if (a != b)
				apply(&s->node[a], &s->node[b], now);
	for (a = 0; a < s->nodes; a++)
		s->node[a].nseen = 0;
}

int sim_release_all(struct sim *s, const struct mxt_key *k, uint64_t t)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < s->nodes && !rc; i++)
		rc = mxt_model_release(s->node[i].m, k, t);
	return rc;
}

/* Spoofed-range records of one node's model at the end. */
static int count_node(void *ctx, const struct mxt_sender *x)
{
	struct sim_node *n = ctx;
	const uint8_t *p = (const uint8_t *)x->key.addr;
	long xi;

	if (x->key.family == MXT_FAMILY_IPV4 && p[0] == 198 && p[1] == 19) {
		n->r->spoof_tracked++;
		if (x->state == MXT_STATE_GRAYLISTED || x->state == MXT_STATE_ESTABLISHED)
			n->r->spoof_history++;
	}
	xi = sim_kmap_find(&n->s->idx, &x->key);
	if (xi >= 0 && n->s->src[n->s->idx.e[xi].idx].pop == MXT_SIM_NEW_LEGIT &&
	    x->state == MXT_STATE_ESTABLISHED)
		n->r->new_established++;
	return 0;
}

void sim_fleet_finish(struct sim *s)
{
	unsigned k;

	for (k = 0; k < s->nodes; k++) {
		struct sim_node *n = &s->node[k];

		n->r->jump_throttled_after = n->jump_thr_at;
		n->r->spoof_tracked = n->r->spoof_history = n->r->new_established = 0;
		mxt_model_foreach(n->m, 0, count_node, n);
		/* promoted once and forgotten since still counts as history */
		n->r->spoof_history += n->spoof_promoted;
		mxt_model_counts(n->m, &n->r->counts);
	}
}
