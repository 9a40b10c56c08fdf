// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_xdp_limits.c - the XDP program's limits, through BPF_PROG_TEST_RUN on
 * the test-clock build with the clock set by the test: GCRA burst and
 * refill, class limits from mxt_policy, override limits, the blocked class,
 * IPv4 and IPv6 prefix aggregation, the allowlist, monitor vs enforce, the
 * global budget for sources without policy (and that it creates no state),
 * the per-source counters, and that the program never writes mxt_policy.
 *
 * Each test loads a fresh program (setup/teardown), so no state leaks from
 * one test into another.  The thread is pinned to one CPU because
 * mxt_global is per-CPU.  Needs root; pins nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "testclock_fixture.h"
#include "pkt.h"
#include "xdp_fixture.h"
#include "pinned.h"
#include "mxt_keyhash.h"
#include "mxt_syn_verdict.h"

#define SEC_NS 1000000000ULL
#define T0 (1000 * SEC_NS)   /* the clock at the start of each test */

/* The loaded program and the fds the tests use. */
struct fx {
	struct mxthrottle_testclock_bpf *skel;
	int prog_fd, stats_fd, cfg_fd, src_fd, src4_fd, pol_fd, allow_fd, global_fd;
	struct mxt_config cfg;
	struct mxt_maps maps;   /* the skeleton's maps, for pinned.c's readers and writers */
	__u64 allow_gen;        /* the last mxt_gen[MXT_GEN_ALLOW] written */
};

static struct fx fx;

/* Load a fresh program with the default (generous) config, clock at T0. */
static int setup(void **state)
{
	struct mxt_global_state g = { 0 };

	(void)state;
	memset(&fx, 0, sizeof(fx));
	fx.skel = mxt_fx_testclock_load();
	if (!fx.skel)
		return -1;
	fx.prog_fd = bpf_program__fd(fx.skel->progs.mxt_xdp);
	fx.stats_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_STATS);
	fx.cfg_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_CONFIG);
	fx.src_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_SOURCES);
	fx.src4_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_SOURCES4);
	fx.pol_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_POLICY);
	fx.allow_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_ALLOW);
	fx.global_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_GLOBAL);
	fx.skel->bss->mxt_test_now_ns = T0;
	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		fx.maps.fd[i] = -1;
	fx.maps.lock_fd = fx.maps.dir_fd = -1;
	fx.maps.nr_cpus = libbpf_num_possible_cpus();
	fx.maps.fd[MXT_MAP_ID_CONFIG] = fx.cfg_fd;
	fx.maps.fd[MXT_MAP_ID_SOURCES] = fx.src_fd;
	fx.maps.fd[MXT_MAP_ID_SOURCES4] = fx.src4_fd;
	fx.maps.fd[MXT_MAP_ID_POLICY] = fx.pol_fd;
	fx.maps.fd[MXT_MAP_ID_ALLOW] = fx.allow_fd;
	fx.maps.fd[MXT_MAP_ID_STATS] = fx.stats_fd;
	fx.maps.fd[MXT_MAP_ID_GLOBAL] = fx.global_fd;
	fx.maps.fd[MXT_MAP_ID_GEN] = bpf_map__fd(fx.skel->maps.MXT_MAP_GEN);
	fx.maps.fd[MXT_MAP_ID_FRONT] = bpf_map__fd(fx.skel->maps.MXT_MAP_FRONT);
	fx.maps.fd[MXT_MAP_ID_POLMARK] = bpf_map__fd(fx.skel->maps.MXT_MAP_POLMARK);
	if (mxt_fx_config_default(&fx.cfg) || mxt_fx_config_set(fx.cfg_fd, &fx.cfg))
		return -1;
	return mxt_fx_percpu_set(fx.global_fd, &g, sizeof(g)) ? -1 : 0;
}

/* Unload. */
static int teardown(void **state)
{
	(void)state;
	mxthrottle_testclock_bpf__destroy(fx.skel);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

/* Write fx.cfg to the config map, as userspace does (which announces a
 * new policy generation). */
static void apply_config(void)
{
	assert_int_equal(mxt_maps_config_write(&fx.maps, &fx.cfg), 0);
}

/* Set limit *l to rate per minute and burst, derived for one bucket. */
static void set_limit(struct mxt_limit *l, __u32 rate, __u32 burst)
{
	assert_int_equal(mxt_fx_limit(l, rate, burst, 1), 0);
}

/* Set the test clock. */
static void set_now(__u64 ns)
{
	fx.skel->bss->mxt_test_now_ns = ns;
}

/* Send one SYN (or 'flags') from src to port 25; returns the XDP action
 * and checks that exactly one reason counter moved, by one; *reason gets it. */
static __u32 send_flags(const char *src, __u8 flags, __u32 *reason)
{
	__u64 before[MXT_R_MAX], after[MXT_R_MAX];
	struct pkt_spec s = { .src = src, .tcp_flags = flags };
	uint8_t frame[PKT_MAX_FRAME];
	__u32 action = 0xdead, r, moved = 0;
	__u8 a[16];
	size_t len;

	s.l3 = mxt_fx_addr(src, a) == MXT_FAMILY_IPV6 ? PKT_L3_IPV6 : PKT_L3_IPV4;
	len = pkt_build(&s, frame, sizeof(frame), NULL);
	if (!len)
		fail_msg("pkt_build(%s) got 0, want a frame", src);
	assert_int_equal(mxt_fx_stats(fx.stats_fd, before), 0);
	assert_int_equal(mxt_fx_run(fx.prog_fd, frame, len, &action), 0);
	assert_int_equal(mxt_fx_stats(fx.stats_fd, after), 0);
	*reason = MXT_R_MAX;
	for (r = 0; r < MXT_R_MAX; r++) {
		__u64 d = after[r] - before[r];

		if (d > 1)
			fail_msg("SYN from %s: counter %s got +%llu, want +0 or +1", src,
				 mxt_fx_reason_name(r), (unsigned long long)d);
		if (d) {
			moved++;
			*reason = r;
		}
	}
	if (moved != 1)
		fail_msg("SYN from %s: counters moved got %u, want exactly 1", src, moved);
	return action;
}

/* Send a SYN from src and fail unless it gets want_action under want_reason. */
static void expect_syn(const char *src, __u32 want_action, __u32 want_reason)
{
	__u32 reason, action = send_flags(src, PKT_TCP_SYN, &reason);

	if (action != want_action || reason != want_reason)
		fail_msg("SYN from %s at t=%llu ns: got %s/%s, want %s/%s", src,
			 (unsigned long long)fx.skel->bss->mxt_test_now_ns,
			 mxt_fx_action_name(action), mxt_fx_reason_name(reason),
			 mxt_fx_action_name(want_action), mxt_fx_reason_name(want_reason));
}

/* Send SYNs from src until one is refused (at most max); returns how many
 * were admitted, and fails unless the refusal is want_reason (XDP_DROP). */
static unsigned int admitted_until_drop(const char *src, unsigned int max, __u32 want_reason)
{
	unsigned int n;

	for (n = 0; n < max; n++) {
		__u32 reason, action = send_flags(src, PKT_TCP_SYN, &reason);

		if (action == XDP_PASS && reason == MXT_R_ADMITTED)
			continue;
		if (action != XDP_DROP || reason != want_reason)
			fail_msg("SYN %u from %s: got %s/%s, want XDP_PASS/admitted or "
				 "XDP_DROP/%s", n + 1, src, mxt_fx_action_name(action),
				 mxt_fx_reason_name(reason), mxt_fx_reason_name(want_reason));
		return n;
	}
	return n;
}

/* Read the mxt_sources entry of addr at prefix as userspace does (with
 * the front cache's pending counts); 0 or -ENOENT. */
static int get_source(const char *addr, int prefix, struct mxt_source *out)
{
	struct mxt_key k;

	assert_int_equal(mxt_fx_key(&k, addr, prefix), 0);
	return mxt_source_lookup(&fx.maps, &k, out);
}

/* Fail unless the mxt_sources entry of addr/prefix has these counters. */
static void expect_source(const char *addr, int prefix, __u64 syns, __u64 dropped,
			  __u64 first, __u64 last)
{
	struct mxt_source s;

	if (get_source(addr, prefix, &s))
		fail_msg("mxt_sources[%s/%d]: got no entry, want one", addr, prefix);
	if (s.syns != syns || s.dropped != dropped)
		fail_msg("mxt_sources[%s/%d]: syns/dropped got %llu/%llu, want %llu/%llu", addr,
			 prefix, (unsigned long long)s.syns, (unsigned long long)s.dropped,
			 (unsigned long long)syns, (unsigned long long)dropped);
	if (s.first_seen_ns != first || s.last_seen_ns != last)
		fail_msg("mxt_sources[%s/%d]: first/last seen got %llu/%llu, want %llu/%llu",
			 addr, prefix, (unsigned long long)s.first_seen_ns,
			 (unsigned long long)s.last_seen_ns, (unsigned long long)first,
			 (unsigned long long)last);
}

/* Fail unless mxt_sources holds exactly n entries. */
static void expect_source_count(long n)
{
	long got = mxt_fx_count_keys(fx.src_fd, sizeof(struct mxt_key)) +
		   mxt_fx_count_keys(fx.src4_fd, sizeof(__u32));

	if (got != n)
		fail_msg("mxt_sources entries: got %ld, want %ld", got, n);
}

/* Write a mxt_policy entry for addr/prefix. */
static void put_policy(const char *addr, int prefix, __u32 cls, __u32 flags,
		       const struct mxt_limit *lim)
{
	struct mxt_policy p = { .class = cls, .flags = flags, .updated_unix = 1700000000 };
	struct mxt_key k;

	if (lim)
		p.limit = *lim;
	assert_int_equal(mxt_fx_key(&k, addr, prefix), 0);
	assert_int_equal(mxt_policy_put(&fx.maps, &k, &p), 0);
}

/* Announce a policy change, as userspace does after writing mxt_policy. */
static void bump_gen(__u64 g)
{
	__u32 key = MXT_GEN_POLICY;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx.skel->maps.MXT_MAP_GEN), &key, &g,
					     BPF_ANY), 0);
}

/* Set mxt_gen[MXT_GEN_ALLOW], as userspace does around allowlist changes. */
static void allow_flag(__u64 v)
{
	__u32 key = MXT_GEN_ALLOW;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx.skel->maps.MXT_MAP_GEN), &key, &v,
					     BPF_ANY), 0);
}

/* Write a mxt_allow entry for addr/prefix. */
static void put_allow(const char *addr, int prefix)
{
	struct mxt_allow v = { .added_unix = 1700000000 };
	struct mxt_lpm_key k;

	assert_int_equal(mxt_fx_lpm_key(&k, addr, prefix), 0);
	allow_flag(++fx.allow_gen);
	assert_int_equal(bpf_map_update_elem(fx.allow_fd, &k, &v, BPF_ANY), 0);
}

/* Hits of the mxt_allow entry addr/prefix. */
static __u64 allow_hits(const char *addr, int prefix)
{
	struct mxt_allow v;
	struct mxt_lpm_key k;

	assert_int_equal(mxt_fx_lpm_key(&k, addr, prefix), 0);
	if (bpf_map_lookup_elem(fx.allow_fd, &k, &v))
		fail_msg("mxt_allow[%s/%d]: got no entry, want one", addr, prefix);
	return v.hits;
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

/* The entry as the program left it, without the front cache's pending
 * counts (what pinned.c adds); fails if absent. */
static struct mxt_source raw_source(const char *addr, int prefix)
{
	struct mxt_source s;
	struct mxt_key k;

	assert_int_equal(mxt_fx_key(&k, addr, prefix), 0);
	if (k.family == MXT_FAMILY_IPV4)
		assert_int_equal(bpf_map_lookup_elem(fx.src4_fd, &k.addr[0], &s), 0);
	else
		assert_int_equal(bpf_map_lookup_elem(fx.src_fd, &k, &s), 0);
	return s;
}

/* Refusals from the per-CPU front cache: the entry is not touched (its
 * raw counters lag), readers through pinned.c see every SYN, the cache
 * refuses exactly until the bucket refills, and the next slow-path SYN
 * flushes the pending count into the entry. */
static void test_front_cache_counts(void **state)
{
	const char *a = "198.18.20.1";
	struct mxt_source raw;
	int i;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 2);
	apply_config();
	assert_int_equal(admitted_until_drop(a, 5, MXT_R_SOURCE_LIMIT), 2);
	for (i = 0; i < 10; i++)
		expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	raw = raw_source(a, 32);
	if (raw.syns != 3 || raw.dropped != 1)
		fail_msg("raw entry syns/dropped got %llu/%llu, want 3/1 (the rest in the cache)",
			 (unsigned long long)raw.syns, (unsigned long long)raw.dropped);
	expect_source(a, 32, 13, 11, T0, T0);
	/* tat = T0 + 2 s, tolerance 1 s: refused until T0 + 1 s exactly. */
	set_now(T0 + SEC_NS - 1);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	set_now(T0 + SEC_NS);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	raw = raw_source(a, 32);
	if (raw.syns != 15 || raw.dropped != 12)
		fail_msg("raw entry after the flush: syns/dropped got %llu/%llu, want 15/12",
			 (unsigned long long)raw.syns, (unsigned long long)raw.dropped);
	expect_source(a, 32, 15, 12, T0, T0 + SEC_NS);
}

/* A cached refusal ends with the policy generation: a new policy (here
 * an unlimited override) applies from the next SYN; a blocked class is
 * cached under its own reason; a config change empties the cache too. */
static void test_front_cache_generations(void **state)
{
	const char *a = "198.18.20.2";
	struct mxt_limit unl = { .rate = MXT_RATE_UNLIMITED };

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	put_policy(a, 32, MXT_CLASS_ESTABLISHED, MXT_POLICY_F_OVERRIDE, &unl);
	bump_gen(11);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	put_policy(a, 32, MXT_CLASS_BLOCKED, 0, NULL);
	bump_gen(12);
	expect_syn(a, XDP_DROP, MXT_R_BLOCKED);
	expect_syn(a, XDP_DROP, MXT_R_BLOCKED);
	expect_source(a, 32, 6, 4, T0, T0);
	/* Back to no policy, refused by the unknown class ... */
	{
		struct mxt_key k;

		assert_int_equal(mxt_fx_key(&k, a, 32), 0);
		assert_int_equal(mxt_policy_delete(&fx.maps, &k), 0);
	}
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	/* ... until a looser class limit is configured. */
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], MXT_RATE_UNLIMITED, 0);
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_source(a, 32, 9, 6, T0, T0);
}

/* A source whose key carries no mxt_polmark bit has neither policy nor
 * state: over the global budget it is refused without an entry; its first
 * admitted SYN creates the entry and sets the bit; a policy written
 * through pinned.c sets it too. */
static void test_polmark(void **state)
{
	struct mxt_key k;
	__u64 mask, w = 0;
	__u32 word;

	(void)state;
	assert_int_equal(mxt_fx_key(&k, "198.18.21.1", 32), 0);
	mxt_polmark_bit(&k, &word, &mask);
	assert_int_equal(bpf_map_lookup_elem(fx.maps.fd[MXT_MAP_ID_POLMARK], &word, &w), 0);
	assert_false(w & mask);
	expect_syn("198.18.21.1", XDP_PASS, MXT_R_ADMITTED);
	assert_int_equal(bpf_map_lookup_elem(fx.maps.fd[MXT_MAP_ID_POLMARK], &word, &w), 0);
	assert_true(w & mask);
	assert_int_equal(mxt_fx_key(&k, "198.18.21.2", 32), 0);
	mxt_polmark_bit(&k, &word, &mask);
	put_policy("198.18.21.2", 32, MXT_CLASS_ESTABLISHED, 0, NULL);
	assert_int_equal(bpf_map_lookup_elem(fx.maps.fd[MXT_MAP_ID_POLMARK], &word, &w), 0);
	assert_true(w & mask);
}

/* pinned.c shows mxt_sources4 and mxt_sources as one table: a sweep in
 * slices of one entry, and a dump, each return every IPv4 and IPv6
 * source once, IPv4 keys rebuilt with the config's prefix. */
static void test_sources_one_table(void **state)
{
	struct mxt_scan_cursor cur;
	struct mxt_source_entry *e;
	int seen4 = 0, seen6 = 0, calls = 0;
	size_t n;

	(void)state;
	expect_syn("198.18.22.1", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("198.18.22.2", XDP_PASS, MXT_R_ADMITTED);
	expect_syn("2001:2:0:22::1", XDP_PASS, MXT_R_ADMITTED);
	memset(&cur, 0, sizeof(cur));
	do {
		assert_int_equal(mxt_sources_scan(&fx.maps, &cur, 1, &e, &n), 0);
		for (size_t i = 0; i < n; i++) {
			if (e[i].key.family == MXT_FAMILY_IPV4 && e[i].key.prefixlen == 32)
				seen4++;
			else if (e[i].key.family == MXT_FAMILY_IPV6 && e[i].key.prefixlen == 64)
				seen6++;
			assert_int_equal(e[i].val.syns, 1);
		}
		free(e);
		assert_true(++calls < 20);
	} while (!cur.done);
	if (seen4 != 2 || seen6 != 1)
		fail_msg("scan: IPv4/IPv6 entries got %d/%d, want 2/1", seen4, seen6);
	assert_int_equal(mxt_sources_dump(&fx.maps, &e, &n), 0);
	free(e);
	assert_int_equal(n, 3);
	assert_int_equal(mxt_map_count(&fx.maps, MXT_MAP_ID_SOURCES, &n), 0);
	assert_int_equal(n, 3);
}

/* Map mxt_polmark and mxt_polcount into fx.maps, as mxt_maps_open()
 * does, so that pinned.c counts policy keys per bit and clears bits. */
static void map_marks(void)
{
	void *pm = mmap(NULL, MXT_POLMARK_WORDS * sizeof(__u64), PROT_READ | PROT_WRITE,
			MAP_SHARED, fx.maps.fd[MXT_MAP_ID_POLMARK], 0);
	void *pc = mmap(NULL, MXT_POLCOUNT_WORDS * sizeof(__u64), PROT_READ | PROT_WRITE,
			MAP_SHARED, bpf_map__fd(fx.skel->maps.MXT_MAP_POLCOUNT), 0);

	assert_true(pm != MAP_FAILED && pc != MAP_FAILED);
	fx.maps.polmark = pm;
	fx.maps.polcount = pc;
	fx.maps.fd[MXT_MAP_ID_POLCOUNT] = bpf_map__fd(fx.skel->maps.MXT_MAP_POLCOUNT);
}

static void unmap_marks(void)
{
	munmap(fx.maps.polmark, MXT_POLMARK_WORDS * sizeof(__u64));
	munmap(fx.maps.polcount, MXT_POLCOUNT_WORDS * sizeof(__u64));
	fx.maps.polmark = NULL;
	fx.maps.polcount = NULL;
}

/* Is k's mxt_polmark bit set (read through the map, not the mapping)? */
static int mark_of(const struct mxt_key *k)
{
	__u64 mask, w = 0;
	__u32 word;

	mxt_polmark_bit(k, &word, &mask);
	assert_int_equal(bpf_map_lookup_elem(fx.maps.fd[MXT_MAP_ID_POLMARK], &word, &w), 0);
	return (w & mask) != 0;
}

/* An IPv6 /64 key in 2001:2::/32 on the same mxt_polmark bit as k, and
 * an address of it in text. */
static void colliding_key(const struct mxt_key *k, struct mxt_key *out, char *text, size_t len)
{
	__u64 mask, m2;
	__u32 word, w2;

	mxt_polmark_bit(k, &word, &mask);
	for (__u32 i = 1; i < (1u << 30); i++) {
		memset(out, 0, sizeof(*out));
		out->family = MXT_FAMILY_IPV6;
		out->prefixlen = 64;
		out->addr[0] = htonl(0x20010002);
		out->addr[1] = htonl(i);
		mxt_polmark_bit(out, &w2, &m2);
		if (w2 == word && m2 == mask) {
			snprintf(text, len, "2001:2:%x:%x::1", i >> 16, i & 0xffff);
			return;
		}
	}
	fail_msg("no IPv6 key on the bit of the IPv4 key: got none, want one");
}

/* Deleting the last policy on a mxt_polmark bit clears it, not before:
 * a key sharing the bit keeps it set and keeps its policy applied; a
 * source whose entry outlives its policy's bit is judged as without
 * policy (what the full path decides) and marked again; a key that was
 * never counted keeps its bit. */
static void test_polmark_cleared(void **state)
{
	const char *a = "198.18.23.1", *c = "198.18.23.3";
	struct mxt_key ka, kb, kc;
	char b[64];

	(void)state;
	/* A key written by a writer without the mapping is not counted:
	 * deleting it later must leave its bit alone. */
	assert_int_equal(mxt_fx_key(&kc, "198.18.23.4", 32), 0);
	put_policy("198.18.23.4", 32, MXT_CLASS_BLOCKED, 0, NULL);
	map_marks();
	assert_int_equal(mxt_policy_delete(&fx.maps, &kc), 0);
	assert_true(mark_of(&kc));
	assert_int_equal(mxt_fx_key(&ka, a, 32), 0);
	assert_int_equal(mxt_fx_key(&kc, c, 32), 0);
	colliding_key(&ka, &kb, b, sizeof(b));

	/* One policy on the bit: set, then cleared with it. */
	put_policy(a, 32, MXT_CLASS_BLOCKED, 0, NULL);
	assert_true(mark_of(&ka));
	assert_int_equal(mxt_policy_delete(&fx.maps, &ka), 0);
	assert_false(mark_of(&ka));

	/* Two keys on one bit: the bit stays until the last one goes. */
	put_policy(a, 32, MXT_CLASS_BLOCKED, 0, NULL);
	put_policy(a, 32, MXT_CLASS_BLOCKED, 0, NULL);  /* rewrite: counted once */
	assert_int_equal(mxt_policy_update(&fx.maps, &kb, &(struct mxt_policy){
		.class = MXT_CLASS_BLOCKED }), 0);
	assert_int_equal(mxt_policy_delete(&fx.maps, &ka), 0);
	assert_true(mark_of(&kb));
	expect_syn(b, XDP_DROP, MXT_R_BLOCKED);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	assert_int_equal(mxt_policy_delete(&fx.maps, &kb), 0);
	/* Cleared under a's entry (its SYN found the bit set by b's policy
	 * and had no reason to mark it); a's next SYN marks it again. */
	assert_false(mark_of(&ka));
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	assert_true(mark_of(&ka));

	/* An entry under a bit cleared by its policy's removal. */
	expect_syn(c, XDP_PASS, MXT_R_ADMITTED);
	assert_int_equal(mxt_policy_update(&fx.maps, &kc, &(struct mxt_policy){
		.class = MXT_CLASS_BLOCKED }), 0);
	expect_syn(c, XDP_DROP, MXT_R_BLOCKED);
	assert_int_equal(mxt_policy_delete(&fx.maps, &kc), 0);
	if (mark_of(&kc)) {
		/* Another key of this test shares c's bit: nothing to show. */
		unmap_marks();
		return;
	}
	expect_syn(c, XDP_PASS, MXT_R_ADMITTED);
	assert_true(mark_of(&kc));
	expect_source(c, 32, 3, 1, T0, T0);
	unmap_marks();
}

/* A source without policy refused from the front cache is still charged
 * to the global budget first, so the reasons and the budget follow the
 * simulator's decision (mxt_syn_verdict(), the shared header) SYN by SYN. */
static void test_front_cache_global_budget(void **state)
{
	const char *a = "198.18.24.1";
	__u64 gtat = 0, tat = 0;
	__u32 want;
	int i;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	set_limit(&fx.cfg.global, 120, 3);
	apply_config();
	for (i = 0; i < 8; i++) {
		__u32 reason, action;

		set_now(T0 + (__u64)i * (SEC_NS / 10));
		want = mxt_syn_verdict(fx.cfg.class_limit, &fx.cfg.global, &gtat, MXT_CLASS_UNKNOWN,
				       0, NULL, &tat, T0 + (__u64)i * (SEC_NS / 10));
		action = send_flags(a, PKT_TCP_SYN, &reason);
		if (reason != want || action != (want == MXT_R_ADMITTED ? XDP_PASS : XDP_DROP))
			fail_msg("SYN %d: got %s/%s, want %s", i + 1, mxt_fx_action_name(action),
				 mxt_fx_reason_name(reason), mxt_fx_reason_name(want));
	}
	/* The last SYN was refused by the budget, from the front cache. */
	assert_int_equal(want, MXT_R_GLOBAL_BUDGET);
	{
		struct mxt_source src;

		assert_int_equal(get_source(a, 32, &src), 0);
		if (src.syns != 8 || src.dropped != 7)
			fail_msg("mxt_sources[%s]: syns/dropped got %llu/%llu, want 8/7", a,
				 (unsigned long long)src.syns, (unsigned long long)src.dropped);
	}
}

/* A front-cache way counts its refusals in 15 bits: past that the SYN
 * takes the full path, which flushes the count; nothing is lost. */
static void test_front_cache_count_saturates(void **state)
{
	const char *a = "198.18.25.1";
	struct pkt_spec s = { .src = a, .tcp_flags = PKT_TCP_SYN, .l3 = PKT_L3_IPV4 };
	uint8_t frame[PKT_MAX_FRAME], out[4096];
	__u64 before[MXT_R_MAX], after[MXT_R_MAX];
	const __u32 n = 3 * MXT_FRONT_COUNT;
	size_t len;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	len = pkt_build(&s, frame, sizeof(frame), NULL);
	assert_true(len > 0);
	assert_int_equal(mxt_fx_stats(fx.stats_fd, before), 0);
	{
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = n);

		assert_int_equal(bpf_prog_test_run_opts(fx.prog_fd, &opts), 0);
		assert_int_equal(opts.retval, XDP_DROP);
	}
	assert_int_equal(mxt_fx_stats(fx.stats_fd, after), 0);
	assert_int_equal(after[MXT_R_SOURCE_LIMIT] - before[MXT_R_SOURCE_LIMIT], n);
	expect_source(a, 32, 2 + n, 1 + n, T0, T0);
}

/* The live-set bitmap in mxt_global only lets SYNs skip the front
 * probe: with it zeroed under a valid way (userspace rewrote the map),
 * the full path decides the same and the way's pending count survives. */
static void test_front_cache_live_bits(void **state)
{
	const char *a = "198.18.26.1";
	struct mxt_global_state g = { 0 };
	int i;

	(void)state;
	set_limit(&fx.cfg.class_limit[MXT_CLASS_UNKNOWN], 60, 1);
	apply_config();
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	for (i = 0; i < 4; i++)
		expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	assert_int_equal(mxt_fx_percpu_set(fx.global_fd, &g, sizeof(g)), 0);
	for (i = 0; i < 3; i++)
		expect_syn(a, XDP_DROP, MXT_R_SOURCE_LIMIT);
	expect_source(a, 32, 8, 7, T0, T0);
	set_now(T0 + SEC_NS);
	expect_syn(a, XDP_PASS, MXT_R_ADMITTED);
	expect_source(a, 32, 9, 7, T0, T0 + SEC_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_burst_then_refill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_refills_to_burst_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_and_unlimited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_class_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_override_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_class_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_prefix_24, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_prefix_20, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_prefix_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_prefix_56, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlist_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlist_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_monitor_vs_enforce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_global_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_copy_follows_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_flag_gates_trie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_cache_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_cache_generations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polmark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_one_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_polmark_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_cache_global_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_cache_count_saturates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_cache_live_bits, setup, teardown),
	};

	if (mxt_fx_pin_cpu() < 0) {
		fprintf(stderr, "cannot pin to one CPU: mxt_global is per-CPU\n");
		return 1;
	}
	return cmocka_run_group_tests_name("xdp_limits", tests, NULL, NULL);
}
