/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_kernel.c - the simulator's kernel: the XDP program's per-SYN
 * decision, from the header the program itself uses (maps/
 * mxt_syn_verdict.h), in its order: a source without policy is charged to
 * the global budget first (a refused SYN creates no per-source state),
 * then BLOCKED drops, then the source's own GCRA bucket under its
 * override or class limit.  The maps around it are the simulator's own,
 * one set per node of a fleet.
 *
 * The global budget is one CPU's view with the whole rate and burst
 * (mxt_config_defaults(..., 1)): the kernel splits them over its CPUs
 * (mxt_limit_derive()), and a spoofed flood, spread evenly over them by
 * RSS, meets their sum.  A flood that reaches one CPU only would meet
 * 1/nr_cpus of it: the simulator shows the most a flood gets through.
 */
#include "sim_int.h"
#include "mxt_syn_verdict.h"

int sim_kernel_syn(struct sim *s, struct sim_node *n, const struct mxt_key *key, double t)
{
	uint64_t now = (uint64_t)(t * 1e9);
	long pi = sim_kmap_find(&n->pol, key), si = sim_kmap_find(&n->ksrc, key);
	long di = sim_kmap_find(&n->delta, key);
	const struct sim_kent *p = pi >= 0 ? &n->pol.e[pi] : NULL;
	__u32 flags = p ? (p->flags | MXT_SOURCE_F_HAS_POLICY) : 0;
	__u32 cls = p ? p->klass : MXT_CLASS_UNKNOWN;
	struct sim_kent *d;
	__u64 until = 0;
	__u32 r;

	if (di < 0)
		di = sim_kmap_insert(&n->delta, key);
	d = di >= 0 ? &n->delta.e[di] : NULL;
	if (d)
		d->syns++;
	if (!p && mxt_syn_global(&n->global_tat, now, &s->global) != MXT_R_ADMITTED) {
		if (d)
			d->dropped++;
		return 0;
	}
	if (si < 0)
		si = sim_kmap_insert(&n->ksrc, key);
	if (si < 0)
		return 1; /* the kernel's map is full: it fails open */
	r = mxt_syn_source(s->cls, cls, flags, p ? &p->limit : NULL, &n->ksrc.e[si].tat, now, &until);
	if (r == MXT_R_ADMITTED)
		return 1;
	if (d)
		d->dropped++;
	return 0;
}

uint64_t sim_kernel_budget_most(const struct mxt_limit *g, double secs)
{
	uint64_t span;

	if (g->interval_ns == 0)
		return g->rate ? UINT64_MAX : 0; /* unlimited, or nothing */
	span = secs > 0 ? (uint64_t)(secs * 1e9) : 0;
	/* the bucket's depth from idle, then one SYN per interval */
	return g->tolerance_ns / g->interval_ns + 1 + span / g->interval_ns;
}
