// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_xdp_limits.c - the XDP program's limits, through BPF_PROG_TEST_RUN on
 * the test-clock build with the clock set by the test: GCRA burst and
 * refill, class limits from mxt_policy, override limits, the blocked class,
 * IPv4 and IPv6 prefix aggregation, monitor vs enforce, the global budget
 * for sources without policy (and that it creates no state), and the
 * per-source counters.  The policy copy and the allowlist are in
 * test_xdp_limits_policy.c, the front cache and mxt_polmark in
 * test_xdp_limits_front.c.
 *
 * Each test loads a fresh program (setup/teardown in xdp_limits_fixture.h),
 * so no state leaks from one test into another.  Needs root; pins nothing.
 */
#include "xdp_limits_fixture.h"

/* Burst 5 at 60/min: 5 back to back admitted, the 6th dropped; one
 * interval later exactly one more; counters follow. */
static void test_burst_then_refill(void **state)
{
	const char *a = "198.18.1.1";

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 5);
	apply_config();
	assert_int_equal(admitted_until_drop(a, 20, MXT_R_SOURCE_LIMIT), 5);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	set_now(T0 + SEC_NS / 2);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	set_now(T0 + SEC_NS);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	/* 5 + 1 + 1 admitted or dropped at T0, 1 at T0+0.5s, 2 at T0+1s. */
	expect_source(a, 32, 10, 4, T0, T0 + SEC_NS);
}

/* After a long idle time the bucket holds its burst, not more. */
static void test_idle_refills_to_burst_only(void **state)
{
	const char *a = "198.18.1.2";

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 5);
	apply_config();
	assert_int_equal(admitted_until_drop(a, 20, MXT_R_SOURCE_LIMIT), 5);
	set_now(T0 + 3600 * SEC_NS);
	assert_int_equal(admitted_until_drop(a, 20, MXT_R_SOURCE_LIMIT), 5);
}

/* rate 0 admits nothing; MXT_RATE_UNLIMITED admits everything. */
static void test_zero_and_unlimited(void **state)
{
	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 0, 0);
	set_limit(&fx.cfg.class_limit[MXT_CLASS_ESTABLISHED], MXT_RATE_UNLIMITED, 0);
	apply_config();
	put_policy("198.18.1.4", 32, MXT_CLASS_ESTABLISHED, 0, NULL);
	expect_syn("198.18.1.3", XDP_DROP, MXT_R_SOURCE_LIMIT);
	assert_int_equal(admitted_until_drop("198.18.1.4", 2000, MXT_R_SOURCE_LIMIT), 2000);
}

/* Each class takes its own limit from config.class_limit. */
static void test_class_limits(void **state)
{
	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 4);
	set_limit(&fx.cfg.class_limit[MXT_CLASS_GRAYLISTED], 60, 2);
	set_limit(&fx.cfg.class_limit[MXT_CLASS_ESTABLISHED], 60, 10);
	set_limit(&fx.cfg.class_limit[MXT_CLASS_THROTTLED], 60, 1);
	apply_config();
	put_policy("198.18.2.1", 32, MXT_CLASS_GRAYLISTED, 0, NULL);
	put_policy("198.18.2.2", 32, MXT_CLASS_ESTABLISHED, 0, NULL);
	put_policy("198.18.2.3", 32, MXT_CLASS_THROTTLED, 0, NULL);
	put_policy("2001:2:0:2::", 64, MXT_CLASS_GRAYLISTED, 0, NULL);
	assert_int_equal(admitted_until_drop("198.18.2.1", 50, MXT_R_SOURCE_LIMIT), 2);
	assert_int_equal(admitted_until_drop("198.18.2.2", 50, MXT_R_SOURCE_LIMIT), 10);
	assert_int_equal(admitted_until_drop("198.18.2.3", 50, MXT_R_SOURCE_LIMIT), 1);
	assert_int_equal(admitted_until_drop("198.18.2.4", 50, MXT_R_SOURCE_LIMIT), 4);
	assert_int_equal(admitted_until_drop("2001:2:0:2::9", 50, MXT_R_SOURCE_LIMIT), 2);
}

/* MXT_POLICY_F_OVERRIDE uses the policy's own limit; without the flag the
 * policy's limit is ignored. */
static void test_override_limit(void **state)
{
	struct mxt_limit l3, l7;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_GRAYLISTED], 60, 2);
	set_limit(&fx.cfg.class_limit[MXT_CLASS_ESTABLISHED], 60, 10);
	apply_config();
	set_limit(&l3, 60, 3);
	set_limit(&l7, 60, 7);
	put_policy("198.18.3.1", 32, MXT_CLASS_ESTABLISHED, MXT_POLICY_F_OVERRIDE, &l3);
	put_policy("198.18.3.2", 32, MXT_CLASS_GRAYLISTED, 0, &l7);
	put_policy("198.18.3.3", 32, 77 /* unknown class */, MXT_POLICY_F_OVERRIDE, &l7);
	assert_int_equal(admitted_until_drop("198.18.3.1", 50, MXT_R_SOURCE_LIMIT), 3);
	assert_int_equal(admitted_until_drop("198.18.3.2", 50, MXT_R_SOURCE_LIMIT), 2);
	assert_int_equal(admitted_until_drop("198.18.3.3", 50, MXT_R_SOURCE_LIMIT), 7);
	/* Refill follows the override's interval too. */
	set_now(T0 + SEC_NS);
	assert_int_equal(admitted_until_drop("198.18.3.1", 50, MXT_R_SOURCE_LIMIT), 1);
}

/* A class number this program does not know falls back to the unknown
 * class's limit. */
static void test_unknown_class_value(void **state)
{
	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 4);
	apply_config();
	put_policy("198.18.3.9", 32, 9, 0, NULL);
	put_policy("198.18.3.10", 32, 0xffffffffu, 0, NULL);
	assert_int_equal(admitted_until_drop("198.18.3.9", 50, MXT_R_SOURCE_LIMIT), 4);
	assert_int_equal(admitted_until_drop("198.18.3.10", 50, MXT_R_SOURCE_LIMIT), 4);
}

/* Class blocked drops every SYN, whatever the limit (override included),
 * and counts it in the source; non-SYNs from it pass. */
static void test_blocked(void **state)
{
	struct mxt_limit unl = { .rate = MXT_RATE_UNLIMITED };
	__u32 reason;

	(void)state;
	put_policy("198.18.4.1", 32, MXT_CLASS_BLOCKED, 0, NULL);
	put_policy("198.18.4.2", 32, MXT_CLASS_BLOCKED, MXT_POLICY_F_OVERRIDE, &unl);
	put_policy("2001:2:0:4::", 64, MXT_CLASS_BLOCKED, 0, NULL);
	expect_syn("198.18.4.1", XDP_DROP, MXT_R_BLOCKED);
	expect_syn("198.18.4.1", XDP_DROP, MXT_R_BLOCKED);
	expect_syn("198.18.4.2", XDP_DROP, MXT_R_BLOCKED);
	expect_syn("2001:2:0:4::1", XDP_DROP, MXT_R_BLOCKED);
	expect_source("198.18.4.1", 32, 2, 2, T0, T0);
	expect_source("2001:2:0:4::", 64, 1, 1, T0, T0);
	assert_int_equal(send_flags("198.18.4.1", PKT_TCP_ACK, &reason), XDP_PASS);
	assert_int_equal(reason, MXT_R_NOT_SYN);
	assert_int_equal(send_flags("198.18.4.1", PKT_TCP_SYN | PKT_TCP_ACK, &reason), XDP_PASS);
	assert_int_equal(reason, MXT_R_NOT_SYN);
}

/* v4_prefix 24: addresses of one /24 share a bucket and an entry. */
static void test_ipv4_prefix_24(void **state)
{
	(void)state;
	fx.cfg.v4_prefix = 24;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 3);
	apply_config();
	expect_syn("198.18.5.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.5.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.5.200", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.5.200", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("198.18.5.7", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("198.18.6.1", XDP_PASS, MXT_R_ADMITTED);
	expect_source("198.18.5.0", 24, 5, 2, T0, T0);
	expect_source("198.18.6.0", 24, 1, 0, T0, T0);
	expect_source_count(2);
	/* A policy keyed on the /24 applies to every address in it. */
	put_policy("198.18.7.0", 24, MXT_CLASS_BLOCKED, 0, NULL);
	expect_syn("198.18.7.99", XDP_DROP, MXT_R_BLOCKED);
}

/* v4_prefix 20 masks inside a byte: 198.18.16.0/20 holds .16.x to .31.x. */
static void test_ipv4_prefix_20(void **state)
{
	(void)state;
	fx.cfg.v4_prefix = 20;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	expect_syn("198.18.16.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.31.254", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.20.3", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("198.18.32.1", XDP_PASS, MXT_R_ADMITTED);
	expect_source("198.18.16.0", 20, 3, 1, T0, T0);
	expect_source("198.18.32.0", 20, 1, 0, T0, T0);
	expect_source_count(2);
}

/* v6_prefix 64: two addresses of one /64 share a bucket, another /64 does
 * not; the key is the masked /64. */
static void test_ipv6_prefix_64(void **state)
{
	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 3);
	apply_config();
	expect_syn("2001:2::1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2::ffff:1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2::dead:beef:1:2", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2::1", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("2001:2:0:1::1", XDP_PASS, MXT_R_ADMITTED);
	expect_source("2001:2::", 64, 4, 1, T0, T0);
	expect_source("2001:2:0:1::", 64, 1, 0, T0, T0);
	expect_source_count(2);
}

/* v6_prefix 56 masks inside a 32-bit word. */
static void test_ipv6_prefix_56(void **state)
{
	(void)state;
	fx.cfg.v6_prefix = 56;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	expect_syn("2001:2:0:ff::1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:aa:1::1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:1ff::1", XDP_PASS, MXT_R_ADMITTED);
	expect_source("2001:2::", 56, 2, 0, T0, T0);
	expect_source("2001:2:0:100::", 56, 1, 0, T0, T0);
	expect_source_count(2);
}

/* Monitor mode passes would-be drops as MONITOR and counts them in the
 * source; switching to enforce drops. */
static void test_monitor_vs_enforce(void **state)
{
	const char *a = "198.18.9.1";

	(void)state;
	fx.cfg.mode = MXT_MODE_MONITOR;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	put_policy("198.18.9.2", 32, MXT_CLASS_BLOCKED, 0, NULL);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_PASS, MXT_R_MONITOR);
	expect_syn(a, XDP_PASS, MXT_R_MONITOR);
	expect_syn("198.18.9.2", XDP_PASS, MXT_R_MONITOR);
	expect_source(a, 32, 4, 2, T0, T0);
	expect_source("198.18.9.2", 32, 1, 1, T0, T0);
	fx.cfg.mode = MXT_MODE_ENFORCE;
	apply_config();
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("198.18.9.2", XDP_DROP, MXT_R_BLOCKED);
	expect_source(a, 32, 5, 3, T0, T0);
	/* A mode this program does not know fails open, like monitor. */
	fx.cfg.mode = 7;
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_MONITOR);
}

/* The global budget: sources without policy beyond it are dropped as
 * GLOBAL_BUDGET and get no mxt_sources entry; sources with policy are
 * unaffected; an existing entry counts the drop; it refills in time. */
static void test_global_budget(void **state)
{
	struct mxt_source s;
	__u64 stats[MXT_R_MAX];

	(void)state;
	set_limit(&fx.cfg.global, 60, 3);
	apply_config();
	put_policy("198.18.11.1", 32, MXT_CLASS_ESTABLISHED, 0, NULL);
	expect_syn("198.18.10.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.10.2", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:10::1", XDP_PASS, MXT_R_ADMITTED);
	expect_source_count(3);
	expect_syn("198.18.10.4", XDP_DROP, MXT_R_GLOBAL_BUDGET);
	expect_syn("2001:2:0:10::1", XDP_DROP, MXT_R_GLOBAL_BUDGET);
	assert_int_equal(get_source("198.18.10.4", 32, &s), -ENOENT);
	expect_source_count(3);
	expect_source("2001:2:0:10::", 64, 2, 1, T0, T0);
	/* A source with a policy entry does not draw on the budget. */
	expect_syn("198.18.11.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.11.1", XDP_PASS, MXT_R_ADMITTED);
	expect_source_count(4);
	/* Monitor: passed as MONITOR, still no state created. */
	fx.cfg.mode = MXT_MODE_MONITOR;
	apply_config();
	expect_syn("198.18.10.5", XDP_PASS, MXT_R_MONITOR);
	assert_int_equal(get_source("198.18.10.5", 32, &s), -ENOENT);
	fx.cfg.mode = MXT_MODE_ENFORCE;
	apply_config();
	/* One interval later, one more new source fits. */
	set_now(T0 + SEC_NS);
	expect_syn("198.18.10.6", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.10.7", XDP_DROP, MXT_R_GLOBAL_BUDGET);
	expect_source_count(5);
	expect_source("198.18.10.6", 32, 1, 0, T0 + SEC_NS, T0 + SEC_NS);
	assert_int_equal(mxt_fx_stats(fx.stats_fd, stats), 0);
	assert_int_equal(stats[MXT_R_GLOBAL_BUDGET], 3);
	assert_int_equal(stats[MXT_R_MONITOR], 1);
	assert_int_equal(stats[MXT_R_ADMITTED], 6);
}

/* first_seen stays, last_seen moves, syns and dropped count, tat is the
 * GCRA state; for IPv4 and IPv6. */
static void test_source_counters(void **state)
{
	struct mxt_source s;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	expect_syn("198.18.12.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:12::1", XDP_PASS, MXT_R_ADMITTED);
	expect_source("198.18.12.1", 32, 1, 0, T0, T0);
	assert_int_equal(get_source("198.18.12.1", 32, &s), 0);
	assert_int_equal(s.tat_ns, T0 + SEC_NS);
	set_now(T0 + 5 * SEC_NS);
	expect_syn("198.18.12.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.12.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.12.1", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("2001:2:0:12::2", XDP_PASS, MXT_R_ADMITTED);
	expect_source("198.18.12.1", 32, 4, 1, T0, T0 + 5 * SEC_NS);
	expect_source("2001:2:0:12::", 64, 2, 0, T0, T0 + 5 * SEC_NS);
	/* Non-SYNs and other ports leave the entry alone. */
	{
		__u32 reason;

		set_now(T0 + 9 * SEC_NS);
		assert_int_equal(send_flags("198.18.12.1", PKT_TCP_ACK, &reason), XDP_PASS);
		assert_int_equal(reason, MXT_R_NOT_SYN);
	}
	expect_source("198.18.12.1", 32, 4, 1, T0, T0 + 5 * SEC_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LIMITS_TEST(test_burst_then_refill),
		LIMITS_TEST(test_idle_refills_to_burst_only),
		LIMITS_TEST(test_zero_and_unlimited),
		LIMITS_TEST(test_class_limits),
		LIMITS_TEST(test_override_limit),
		LIMITS_TEST(test_unknown_class_value),
		LIMITS_TEST(test_blocked),
		LIMITS_TEST(test_ipv4_prefix_24),
		LIMITS_TEST(test_ipv4_prefix_20),
		LIMITS_TEST(test_ipv6_prefix_64),
		LIMITS_TEST(test_ipv6_prefix_56),
		LIMITS_TEST(test_monitor_vs_enforce),
		LIMITS_TEST(test_global_budget),
		LIMITS_TEST(test_source_counters),
	};

	return mxt_lfx_pin_cpu() ? 1 : cmocka_run_group_tests_name("xdp_limits", tests, NULL, NULL);
}
