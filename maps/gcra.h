/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * gcra.h - the rate-limit arithmetic, shared verbatim by the XDP program
 * and the host (unit tests, CLI, daemon), so what the tests prove is what
 * the kernel runs.
 *
 * GCRA (generic cell rate algorithm) is a token bucket stored as a single
 * timestamp, the theoretical arrival time (TAT) of the next conforming SYN.
 * The fast path is one max, one compare and one add: no division, no
 * multiplication, no overflow as long as times stay below 2^63 ns.
 *
 * Races: on the XDP side two CPUs may admit the same token for one source
 * at the same instant (read-modify-write without atomics).  That admits at
 * most one extra SYN per CPU per race; it is accepted deliberately, as in
 * cilium's ratelimit.h, because an atomic or a lock costs more than the
 * error it prevents.
 */
#ifndef MXT_GCRA_H
#define MXT_GCRA_H

#include "mxt_abi.h"

#ifdef __bpf__
#define MXT_INLINE static __always_inline
#else
#define MXT_INLINE static inline
#endif

#define MXT_NS_PER_MIN 60000000000ULL

/* Outcome of one admission check. */
#define MXT_GCRA_ADMIT 0
#define MXT_GCRA_REJECT 1

/* Decide one SYN at 'now' against limit 'l'; advances *tat only on admit. */
MXT_INLINE int mxt_gcra_admit(__u64 *tat, __u64 now, const struct mxt_limit *l)
{
	__u64 t;

	if (l->interval_ns == 0)
		return l->rate ? MXT_GCRA_ADMIT : MXT_GCRA_REJECT;
	t = *tat > now ? *tat : now;
	if (t - now > l->tolerance_ns)
		return MXT_GCRA_REJECT;
	*tat = t + l->interval_ns;
	return MXT_GCRA_ADMIT;
}

#ifndef __bpf__
/* Fill interval_ns and tolerance_ns from rate and burst, for 'shares'
 * independent copies of the bucket (nr_cpus for the global budget, else 1).
 * Returns 0, or -EINVAL for a combination that has no meaning. */
static inline int mxt_limit_derive(struct mxt_limit *l, __u32 shares)
{
	if (shares == 0)
		shares = 1;
	if (l->rate == MXT_RATE_UNLIMITED) {
		l->interval_ns = 0;
		l->tolerance_ns = 0;
		return 0;
	}
	if (l->rate == 0) {
		if (l->burst != 0)
			return -22; /* -EINVAL: burst without refill is a one-shot */
		l->interval_ns = 0;
		l->tolerance_ns = 0;
		return 0;
	}
	if (l->burst == 0)
		return -22;
	/* Each of 'shares' buckets refills at rate/shares and holds burst/shares
	 * (at least one SYN), so the sum over CPUs matches what was asked. */
	l->interval_ns = MXT_NS_PER_MIN * shares / l->rate;
	if (l->interval_ns == 0)
		l->interval_ns = 1;
	{
		__u32 b = l->burst / shares;
		if (b == 0)
			b = 1;
		l->tolerance_ns = l->interval_ns * (__u64)(b - 1);
	}
	return 0;
}
#endif

#endif /* MXT_GCRA_H */
