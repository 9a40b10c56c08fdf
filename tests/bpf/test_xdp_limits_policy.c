// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_xdp_limits_policy.c - the contracts between the XDP program and the
 * userspace writers of mxt_policy and mxt_allow, through BPF_PROG_TEST_RUN
 * on the test-clock build: the allowlist (IPv4, IPv6, hits, no state) and
 * the mxt_gen flag that gates its trie; the copy of a source's policy that
 * follows the policy generation; and that the program never writes
 * mxt_policy.
 *
 * Each test loads a fresh program (setup/teardown in xdp_limits_fixture.h),
 * so no state leaks from one test into another.  Needs root; pins nothing.
 */
#include "xdp_limits_fixture.h"

/* An allowlisted IPv4 CIDR is never limited, counts hits, creates no
 * per-source state, and wins over a blocked policy; a neighbour is limited. */
static void test_allowlist_ipv4(void **state)
{
	int i;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	put_allow("198.18.7.0", 24);
	put_policy("198.18.7.66", 32, MXT_CLASS_BLOCKED, 0, NULL);
	for (i = 0; i < 10; i++)
		expect_syn("198.18.7.9", XDP_PASS, MXT_R_ALLOWLISTED);
	expect_syn("198.18.7.66", XDP_PASS, MXT_R_ALLOWLISTED);
	assert_int_equal(allow_hits("198.18.7.0", 24), 11);
	expect_source_count(0);
	expect_syn("198.18.8.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.8.1", XDP_DROP, MXT_R_SOURCE_LIMIT);
	/* An ACK from the CIDR is not a counted SYN and is no hit. */
	{
		__u32 reason;

		assert_int_equal(send_flags("198.18.7.9", PKT_TCP_ACK, &reason), XDP_PASS);
		assert_int_equal(reason, MXT_R_NOT_SYN);
	}
	assert_int_equal(allow_hits("198.18.7.0", 24), 11);
}

/* An allowlisted IPv6 CIDR; the family byte keeps 0.0.0.0/0 from matching
 * IPv6 sources. */
static void test_allowlist_ipv6(void **state)
{
	int i;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	put_allow("2001:2:0:42::", 64);
	put_allow("2001:2:0:44::7", 128);
	put_allow("0.0.0.0", 0);
	for (i = 0; i < 5; i++)
		expect_syn("2001:2:0:42::7", XDP_PASS, MXT_R_ALLOWLISTED);
	expect_syn("2001:2:0:42:ffff::1", XDP_PASS, MXT_R_ALLOWLISTED);
	expect_syn("2001:2:0:44::7", XDP_PASS, MXT_R_ALLOWLISTED);
	assert_int_equal(allow_hits("2001:2:0:42::", 64), 6);
	assert_int_equal(allow_hits("2001:2:0:44::7", 128), 1);
	expect_syn("2001:2:0:44::8", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:44::8", XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn("2001:2:0:43::7", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:43::7", XDP_DROP, MXT_R_SOURCE_LIMIT);
	/* The IPv4 default route matches every IPv4 source. */
	expect_syn("198.19.200.5", XDP_PASS, MXT_R_ALLOWLISTED);
	assert_int_equal(allow_hits("0.0.0.0", 0), 1);
}

/* The trie is consulted only while mxt_gen says it may hold entries:
 * userspace sets the flag before adding (pinned.c), so skipping it is
 * safe; with the flag up an entry is honoured. */
static void test_allow_flag_gates_trie(void **state)
{
	const char *a = "198.18.9.2";

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	put_allow(a, 32);
	expect_syn(a, XDP_PASS, MXT_R_ALLOWLISTED);
	allow_flag(0); /* as if the trie had been seen empty */
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	allow_flag(1);
	expect_syn(a, XDP_PASS, MXT_R_ALLOWLISTED);
}

/* The program reads mxt_policy and never writes it: entries are neither
 * created for new sources nor changed nor evicted. */
static void test_policy_untouched(void **state)
{
	struct mxt_limit l;
	struct mxt_policy before[3], after;
	struct mxt_key k;
	const char *addrs[3] = { "198.18.13.1", "198.18.13.2", "2001:2:0:13::" };
	int i, j;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_GRAYLISTED], 60, 1);
	set_limit(&fx.cfg.global, 60, 2);
	apply_config();
	set_limit(&l, 120, 2);
	put_policy(addrs[0], 32, MXT_CLASS_GRAYLISTED, 0, NULL);
	put_policy(addrs[1], 32, MXT_CLASS_ESTABLISHED, MXT_POLICY_F_OVERRIDE, &l);
	put_policy(addrs[2], 64, MXT_CLASS_BLOCKED, 0, NULL);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mxt_fx_key(&k, addrs[i], i == 2 ? 64 : 32), 0);
		assert_int_equal(bpf_map_lookup_elem(fx.pol_fd, &k, &before[i]), 0);
	}
	for (j = 0; j < 5; j++) {
		__u32 reason;

		send_flags("198.18.13.1", PKT_TCP_SYN, &reason);
		send_flags("198.18.13.2", PKT_TCP_SYN, &reason);
		send_flags("2001:2:0:13::5", PKT_TCP_SYN, &reason);
		send_flags("198.18.13.77", PKT_TCP_SYN, &reason);   /* no policy */
	}
	if (mxt_fx_count_keys(fx.pol_fd, sizeof(struct mxt_key)) != 3)
		fail_msg("mxt_policy entries: got %ld, want 3",
			 mxt_fx_count_keys(fx.pol_fd, sizeof(struct mxt_key)));
	for (i = 0; i < 3; i++) {
		assert_int_equal(mxt_fx_key(&k, addrs[i], i == 2 ? 64 : 32), 0);
		assert_int_equal(bpf_map_lookup_elem(fx.pol_fd, &k, &after), 0);
		if (memcmp(&before[i], &after, sizeof(after)))
			fail_msg("mxt_policy[%s]: got a changed value, want it untouched", addrs[i]);
	}
}

/* A source's state carries a copy of its policy: a policy written later
 * reaches it when mxt_gen changes (userspace bumps it after every write),
 * not before; each new generation is read once and copied again. */
static void test_policy_copy_follows_generation(void **state)
{
	const char *a = "198.18.9.1";
	struct mxt_limit unl;
	struct mxt_source v;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	put_policy(a, 32, MXT_CLASS_BLOCKED, 0, NULL);
	/* Same generation: the copy (no policy) still applies. */
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	bump_gen(7);
	expect_syn(a, XDP_DROP, MXT_R_BLOCKED);
	assert_int_equal(get_source(a, 32, &v), 0);
	assert_int_equal(v.policy_gen, 7);
	assert_int_equal(v.policy_class, MXT_CLASS_BLOCKED);
	assert_true(v.policy_flags & MXT_SOURCE_F_HAS_POLICY);
	/* An override arrives with the next generation, limit included. */
	set_limit(&unl, MXT_RATE_UNLIMITED, 1);
	put_policy(a, 32, MXT_CLASS_ESTABLISHED, MXT_POLICY_F_OVERRIDE, &unl);
	bump_gen(8);
	for (int i = 0; i < 10; i++)
		expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	/* A deleted policy: back to the unknown class and the global budget. */
	{
		struct mxt_key k;

		assert_int_equal(mxt_fx_key(&k, a, 32), 0);
		assert_int_equal(bpf_map_delete_elem(fx.pol_fd, &k), 0);
	}
	bump_gen(9);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	assert_int_equal(get_source(a, 32, &v), 0);
	assert_false(v.policy_flags & MXT_SOURCE_F_HAS_POLICY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LIMITS_TEST(test_allowlist_ipv4),
		LIMITS_TEST(test_allowlist_ipv6),
		LIMITS_TEST(test_allow_flag_gates_trie),
		LIMITS_TEST(test_policy_untouched),
		LIMITS_TEST(test_policy_copy_follows_generation),
	};

	return mxt_lfx_pin_cpu() ? 1 : cmocka_run_group_tests_name("xdp_limits_policy", tests, NULL, NULL);
}
