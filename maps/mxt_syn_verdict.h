/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt_syn_verdict.h - the decision on one counted SYN (right port, bare
 * SYN, source not allowlisted), shared verbatim by the XDP program and the
 * simulator (user/sim/sim.c), so the simulator runs the kernel's checks in the
 * kernel's order.  No BPF helper and no map inside: the caller finds the
 * state and the policy and passes them with the time.
 *
 * Order (the program's):
 *   1. a source without policy (never classified by the controller) is
 *      charged to the global budget first: a spoofed flood is refused
 *      before it may create per-source state (mxt_syn_global());
 *   2. then the source's own bucket: class BLOCKED refuses everything,
 *      else GCRA against the override limit, the class limit, or the
 *      limit of class UNKNOWN for a source without policy or of a class
 *      this build does not know (mxt_syn_source()).
 * A SYN admitted by the global budget may still be refused by its bucket:
 * the global token is spent anyway (no refund).
 */
#ifndef MXT_SYN_VERDICT_H
#define MXT_SYN_VERDICT_H

#include "gcra.h"

/* Time until which a refused source stays refused, for a limit that
 * admits nothing: forever, until the policy generation changes. */
#define MXT_UNTIL_FOREVER (MXT_FRONT_BLOCKED - 1)

/* Step 1, for a source without policy: MXT_R_GLOBAL_BUDGET when this
 * CPU's share of the budget is spent, else MXT_R_ADMITTED (go on). */
MXT_INLINE __u32 mxt_syn_global(__u64 *global_tat, __u64 now, const struct mxt_limit *global)
{
	return mxt_gcra_admit(global_tat, now, global) == MXT_GCRA_ADMIT ? MXT_R_ADMITTED
									 : MXT_R_GLOBAL_BUDGET;
}

/* The limit of a source: flags are mxt_source.policy_flags (with
 * MXT_SOURCE_F_HAS_POLICY when it has a policy), class_limit the
 * config's MXT_CLASS_MAX limits, override the policy's own limit. */
MXT_INLINE const struct mxt_limit *mxt_syn_limit(const struct mxt_limit *class_limit, __u32 cls,
						 __u32 flags, const struct mxt_limit *override)
{
	if (!(flags & MXT_SOURCE_F_HAS_POLICY))
		return &class_limit[MXT_CLASS_UNKNOWN];
	if (flags & MXT_POLICY_F_OVERRIDE)
		return override;
	if (cls < MXT_CLASS_MAX)
		return &class_limit[cls];
	return &class_limit[MXT_CLASS_UNKNOWN]; /* a class this build does not know */
}

/* Step 2, the source's bucket at *tat: MXT_R_BLOCKED, MXT_R_SOURCE_LIMIT
 * or MXT_R_ADMITTED.  On a refusal *until receives the time up to which
 * every SYN of the source will be refused as long as its policy stays
 * (GCRA does not move tat on a refusal): MXT_FRONT_BLOCKED for class
 * BLOCKED, MXT_UNTIL_FOREVER for a limit that admits nothing. */
MXT_INLINE __u32 mxt_syn_source(const struct mxt_limit *class_limit, __u32 cls, __u32 flags,
				const struct mxt_limit *override, __u64 *tat, __u64 now,
				__u64 *until)
{
	const struct mxt_limit *lim;

	if ((flags & MXT_SOURCE_F_HAS_POLICY) && cls == MXT_CLASS_BLOCKED) {
		*until = MXT_FRONT_BLOCKED;
		return MXT_R_BLOCKED;
	}
	lim = mxt_syn_limit(class_limit, cls, flags, override);
	if (mxt_gcra_admit(tat, now, lim) == MXT_GCRA_ADMIT)
		return MXT_R_ADMITTED;
	*until = lim->interval_ns ? *tat - lim->tolerance_ns : MXT_UNTIL_FOREVER;
	return MXT_R_SOURCE_LIMIT;
}

/* Both steps in order, for a caller whose per-source state exists
 * already (the simulator): the reason the SYN is counted under. */
MXT_INLINE __u32 mxt_syn_verdict(const struct mxt_limit *class_limit, const struct mxt_limit *global,
				 __u64 *global_tat, __u32 cls, __u32 flags,
				 const struct mxt_limit *override, __u64 *tat, __u64 now)
{
	__u64 until;

	if (!(flags & MXT_SOURCE_F_HAS_POLICY) &&
	    mxt_syn_global(global_tat, now, global) != MXT_R_ADMITTED)
		return MXT_R_GLOBAL_BUDGET;
	return mxt_syn_source(class_limit, cls, flags, override, tat, now, &until);
}

#endif /* MXT_SYN_VERDICT_H */
