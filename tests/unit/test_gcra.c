/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_gcra.c - the rate-limit arithmetic of maps/gcra.h, the very code
 * the XDP program runs: a burst of N back to back, the (N+1)th refused,
 * refill after one interval, the long-run rate, unlimited, rate 0, the
 * per-CPU split of the global budget, and no overflow at large times.
 * No privileges needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "gcra.h"

#define NS 1000000000ull

/* A derived limit, or a failed test. */
static struct mxt_limit limit(__u32 rate, __u32 burst, __u32 shares)
{
	struct mxt_limit l = { .rate = rate, .burst = burst };
	int ret = mxt_limit_derive(&l, shares);

	if (ret)
		fail_msg("derive rate %u burst %u shares %u: got %d, want 0", rate, burst, shares, ret);
	return l;
}

/* Admit SYNs at 'now' until one is refused; returns how many got in. */
static unsigned int drain(__u64 *tat, __u64 now, const struct mxt_limit *l, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && mxt_gcra_admit(tat, now, l) == MXT_GCRA_ADMIT)
		n++;
	return n;
}

static void burst_back_to_back(void **state)
{
	static const struct { __u32 rate, burst; } cases[] = {
		{ 60, 5 }, { 120, 30 }, { 6000, 300 }, { 1, 1 }, { 100000000, 1000000 }, { 30, 10 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_limit l = limit(cases[i].rate, cases[i].burst, 1);
		__u64 tat = 0, now = 1000 * NS;
		unsigned int got = drain(&tat, now, &l, cases[i].burst + 10);

		if (got != cases[i].burst)
			fail_msg("rate %u burst %u: got %u admitted back to back, want %u",
				 cases[i].rate, cases[i].burst, got, cases[i].burst);
	}
}

static void next_one_refused_and_tat_unchanged(void **state)
{
	struct mxt_limit l = limit(60, 5, 1);
	__u64 tat = 0, now = 1000 * NS, before;

	(void)state;
	assert_int_equal(drain(&tat, now, &l, 5), 5);
	before = tat;
	if (mxt_gcra_admit(&tat, now, &l) != MXT_GCRA_REJECT)
		fail_msg("6th SYN of burst 5: got admitted, want refused");
	if (tat != before)
		fail_msg("refused SYN moved tat: got %llu, want %llu",
			 (unsigned long long)tat, (unsigned long long)before);
}

static void refill_after_one_interval(void **state)
{
	struct mxt_limit l = limit(60, 5, 1); /* one SYN per second */
	__u64 tat = 0, now = 1000 * NS;

	(void)state;
	assert_int_equal(l.interval_ns, NS);
	assert_int_equal(drain(&tat, now, &l, 100), 5);
	if (mxt_gcra_admit(&tat, now + l.interval_ns - 1, &l) != MXT_GCRA_REJECT)
		fail_msg("1 ns before the refill: got admitted, want refused");
	if (mxt_gcra_admit(&tat, now + l.interval_ns, &l) != MXT_GCRA_ADMIT)
		fail_msg("one interval later: got refused, want admitted");
	if (mxt_gcra_admit(&tat, now + l.interval_ns, &l) != MXT_GCRA_REJECT)
		fail_msg("second SYN one interval later: got admitted, want refused");
	/* idle long enough for the whole burst to come back, and no more */
	assert_int_equal(drain(&tat, now + 100 * NS, &l, 100), 5);
}

static void long_run_rate(void **state)
{
	struct mxt_limit l = limit(120, 30, 1);
	__u64 tat = 0, t0 = 5000 * NS;
	unsigned int admitted = 0;

	(void)state;
	/* one SYN every ms for 60 s: burst + 120/min */
	for (__u64 t = t0; t < t0 + 60 * NS; t += NS / 1000)
		admitted += mxt_gcra_admit(&tat, t, &l) == MXT_GCRA_ADMIT;
	if (admitted < 30 + 120 - 1 || admitted > 30 + 120)
		fail_msg("60 s at 1000 SYN/s against 120/min burst 30: got %u admitted, want 149..150",
			 admitted);
}

static void unlimited_always_admits(void **state)
{
	struct mxt_limit l = limit(MXT_RATE_UNLIMITED, 0, 1);
	__u64 tat = 77, now = 1000 * NS;

	(void)state;
	assert_int_equal(l.interval_ns, 0);
	for (int i = 0; i < 100000; i++)
		if (mxt_gcra_admit(&tat, now, &l) != MXT_GCRA_ADMIT)
			fail_msg("unlimited: SYN %d got refused, want admitted", i);
	if (tat != 77)
		fail_msg("unlimited moved tat: got %llu, want 77", (unsigned long long)tat);
	l = limit(MXT_RATE_UNLIMITED, 500, 8);
	assert_int_equal(mxt_gcra_admit(&tat, now, &l), MXT_GCRA_ADMIT);
}

static void rate_zero_admits_nothing(void **state)
{
	struct mxt_limit l = limit(0, 0, 1), bad = { .rate = 0, .burst = 5 };
	__u64 tat = 0;

	(void)state;
	for (__u64 t = 0; t < 100 * NS; t += NS)
		if (mxt_gcra_admit(&tat, t, &l) != MXT_GCRA_REJECT)
			fail_msg("rate 0: got admitted at %llu, want refused", (unsigned long long)t);
	if (mxt_limit_derive(&bad, 1) != -22)
		fail_msg("rate 0 burst 5: got %d from derive, want -22", mxt_limit_derive(&bad, 1));
	bad.rate = 60;
	bad.burst = 0;
	if (mxt_limit_derive(&bad, 1) != -22)
		fail_msg("rate 60 burst 0: got %d from derive, want -22", mxt_limit_derive(&bad, 1));
}

static void derive_for_cpus(void **state)
{
	static const __u32 cpus[] = { 1, 2, 4, 8, 64 };

	(void)state;
	for (size_t i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++) {
		__u32 n = cpus[i];
		struct mxt_limit l = limit(60000, 2000, n);
		__u64 want_iv = 60 * NS * n / 60000;
		unsigned int total = 0;

		if (l.interval_ns != want_iv)
			fail_msg("%u CPUs: got interval %llu, want %llu", n,
				 (unsigned long long)l.interval_ns, (unsigned long long)want_iv);
		/* every CPU's bucket drains its share; together: the burst */
		for (__u32 c = 0; c < n; c++) {
			__u64 tat = 0;

			total += drain(&tat, 1000 * NS, &l, 100000);
		}
		/* each CPU holds burst/n rounded down (at least 1): the sum
		 * loses at most n-1 SYNs of the burst, never exceeds it */
		if (total != n * (2000 / n ? 2000 / n : 1) || total > 2000 || total + n <= 2000)
			fail_msg("%u CPUs, burst 2000: got %u admitted over all CPUs, want %u",
				 n, total, n * (2000 / n ? 2000 / n : 1));
	}
	/* a burst smaller than the CPU count still admits one per CPU */
	{
		struct mxt_limit l = limit(60, 2, 8);
		__u64 tat = 0;

		assert_int_equal(l.tolerance_ns, 0);
		assert_int_equal(drain(&tat, 1000 * NS, &l, 10), 1);
	}
	/* shares 0 is treated as 1 */
	{
		struct mxt_limit a = limit(120, 30, 0), b = limit(120, 30, 1);

		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void derive_extremes(void **state)
{
	struct mxt_limit fast = limit(100000000, 1000000, 1);
	struct mxt_limit slow = limit(1, 1000000, 4096);

	(void)state;
	assert_int_equal(fast.interval_ns, 600);  /* 60e9 / 1e8 */
	assert_int_equal(fast.tolerance_ns, 600ull * 999999);
	/* 1 SYN/min split over 4096 CPUs: 4096 min interval, no overflow */
	assert_int_equal(slow.interval_ns, 60 * NS * 4096);
	assert_int_equal(slow.tolerance_ns, 60 * NS * 4096 * (1000000 / 4096 - 1));
	{
		struct mxt_limit huge = { .rate = 0xfffffffe, .burst = 1 };

		assert_int_equal(mxt_limit_derive(&huge, 1), 0);
		if (huge.interval_ns == 0)
			fail_msg("rate 2^32-2: got interval 0 (unlimited), want at least 1 ns");
	}
}

static void no_overflow_at_large_times(void **state)
{
	struct mxt_limit l = limit(120, 30, 1);
	__u64 now = (1ull << 63) - 3600 * NS; /* ~292 years of uptime */
	__u64 tat = 0, before;

	(void)state;
	/* a stale tat far in the past counts as an idle bucket */
	assert_int_equal(drain(&tat, now, &l, 100), 30);
	if (tat <= now || tat - now != 30 * l.interval_ns)
		fail_msg("tat after 30 SYNs: got now+%lld, want now+%llu", (long long)(tat - now),
			 (unsigned long long)(30 * l.interval_ns));
	before = tat;
	assert_int_equal(mxt_gcra_admit(&tat, now, &l), MXT_GCRA_REJECT);
	assert_int_equal(tat, before);
	/* refills in the far future */
	assert_int_equal(drain(&tat, now + 1800 * NS, &l, 100), 30);
	/* a tat in the future (a clock that jumped back) refuses, never wraps */
	tat = 100 * NS + l.tolerance_ns + 1;
	assert_int_equal(mxt_gcra_admit(&tat, 100 * NS, &l), MXT_GCRA_REJECT);
	/* time 0 works */
	tat = 0;
	assert_int_equal(drain(&tat, 0, &l, 100), 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_back_to_back),
		cmocka_unit_test(next_one_refused_and_tat_unchanged),
		cmocka_unit_test(refill_after_one_interval),
		cmocka_unit_test(long_run_rate),
		cmocka_unit_test(unlimited_always_admits),
		cmocka_unit_test(rate_zero_admits_nothing),
		cmocka_unit_test(derive_for_cpus),
		cmocka_unit_test(derive_extremes),
		cmocka_unit_test(no_overflow_at_large_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
