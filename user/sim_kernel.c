/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_kernel.c - the simulator's copy of the XDP program's per-SYN
 * decision (bpf/mxthrottle.bpf.c, mxt_syn_verdict), in the same order:
 * a source without policy is charged to the global budget first (a refused
 * SYN creates no per-source state), then BLOCKED drops, then the source's
 * own GCRA bucket under its override or class limit.  Kept as one function
 * so that it can be replaced by a header shared with the BPF program.
 */
#include "sim_int.h"
#include "gcra.h"

int sim_kernel_syn(struct sim *s, const struct mxt_key *key, double t)
{
	uint64_t now = (uint64_t)(t * 1e9);
	long pi = sim_kmap_find(&s->pol, key), si = sim_kmap_find(&s->ksrc, key);
	long di = sim_kmap_find(&s->delta, key);
	const struct mxt_limit *lim;
	struct sim_kent *src, *d;
	uint32_t klass = MXT_CLASS_UNKNOWN;

	if (di < 0)
		di = sim_kmap_insert(&s->delta, key);
	d = di >= 0 ? &s->delta.e[di] : NULL;
	if (d)
		d->syns++;
	if (pi < 0 && mxt_gcra_admit(&s->global_tat, now, &s->global) != MXT_GCRA_ADMIT) {
		if (d)
			d->dropped++;
		return 0;
	}
	if (si < 0)
		si = sim_kmap_insert(&s->ksrc, key);
	if (si < 0)
		return 1; /* the kernel's map is full: it fails open */
	src = &s->ksrc.e[si];
	if (pi >= 0) {
		const struct sim_kent *p = &s->pol.e[pi];

		klass = p->klass;
		if (klass == MXT_CLASS_BLOCKED) {
			if (d)
				d->dropped++;
			return 0;
		}
		lim = (p->flags & MXT_POLICY_F_OVERRIDE) ? &p->limit
			: &s->cls[klass < MXT_CLASS_MAX ? klass : MXT_CLASS_UNKNOWN];
	} else {
		lim = &s->cls[MXT_CLASS_UNKNOWN];
	}
	if (mxt_gcra_admit(&src->tat, now, lim) == MXT_GCRA_ADMIT)
		return 1;
	if (d)
		d->dropped++;
	return 0;
}
