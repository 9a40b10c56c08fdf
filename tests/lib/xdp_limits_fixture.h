/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_limits_fixture.h - the shared fixture of the test_xdp_limits*.c
 * tests (limits and classes, policy copy and allowlist, front cache and
 * polmark): a fresh test-clock program per test with a generous config and
 * the clock at T0, and the cmocka helpers that send SYNs, expect verdicts
 * and read or write mxt_sources, mxt_policy and mxt_allow as userspace
 * does (through pinned.c).
 *
 * Header-only, included by those BPF tests alone (it needs cmocka and the
 * test-clock skeleton), one fixture per test binary.  The thread must be
 * pinned to one CPU (mxt_lfx_pin_cpu) because mxt_global is per-CPU.
 */
#ifndef MXT_TEST_XDP_LIMITS_FIXTURE_H
#define MXT_TEST_XDP_LIMITS_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "testclock_fixture.h"
#include "pkt.h"
#include "xdp_fixture.h"
#include "pinned.h"

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
static inline int setup(void **state)
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
static inline int teardown(void **state)
{
	(void)state;
	mxthrottle_testclock_bpf__destroy(fx.skel);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

/* Write fx.cfg to the config map, as userspace does (which announces a
 * new policy generation). */
static inline void apply_config(void)
{
	assert_int_equal(mxt_maps_config_write(&fx.maps, &fx.cfg), 0);
}

/* Set limit *l to rate per minute and burst, derived for one bucket. */
static inline void set_limit(struct mxt_limit *l, __u32 rate, __u32 burst)
{
	assert_int_equal(mxt_fx_limit(l, rate, burst, 1), 0);
}

/* Set the test clock. */
static inline void set_now(__u64 ns)
{
	fx.skel->bss->mxt_test_now_ns = ns;
}

/* Send one SYN (or 'flags') from src to port 25; returns the XDP action
 * and checks that exactly one reason counter moved, by one; *reason gets it. */
static inline __u32 send_flags(const char *src, __u8 flags, __u32 *reason)
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
static inline void expect_syn(const char *src, __u32 want_action, __u32 want_reason)
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
static inline unsigned int admitted_until_drop(const char *src, unsigned int max, __u32 want_reason)
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
static inline int get_source(const char *addr, int prefix, struct mxt_source *out)
{
	struct mxt_key k;

	assert_int_equal(mxt_fx_key(&k, addr, prefix), 0);
	return mxt_source_lookup(&fx.maps, &k, out);
}

/* Fail unless the mxt_sources entry of addr/prefix has these counters. */
static inline void expect_source(const char *addr, int prefix, __u64 syns, __u64 dropped,
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
static inline void expect_source_count(long n)
{
	long got = mxt_fx_count_keys(fx.src_fd, sizeof(struct mxt_key)) +
		   mxt_fx_count_keys(fx.src4_fd, sizeof(__u32));

	if (got != n)
		fail_msg("mxt_sources entries: got %ld, want %ld", got, n);
}

/* Write a mxt_policy entry for addr/prefix. */
static inline void put_policy(const char *addr, int prefix, __u32 cls, __u32 flags,
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
static inline void bump_gen(__u64 g)
{
	__u32 key = MXT_GEN_POLICY;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx.skel->maps.MXT_MAP_GEN), &key, &g,
					     BPF_ANY), 0);
}

/* Set mxt_gen[MXT_GEN_ALLOW], as userspace does around allowlist changes. */
static inline void allow_flag(__u64 v)
{
	__u32 key = MXT_GEN_ALLOW;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx.skel->maps.MXT_MAP_GEN), &key, &v,
					     BPF_ANY), 0);
}

/* Write a mxt_allow entry for addr/prefix. */
static inline void put_allow(const char *addr, int prefix)
{
	struct mxt_allow v = { .added_unix = 1700000000 };
	struct mxt_lpm_key k;

	assert_int_equal(mxt_fx_lpm_key(&k, addr, prefix), 0);
	allow_flag(++fx.allow_gen);
	assert_int_equal(bpf_map_update_elem(fx.allow_fd, &k, &v, BPF_ANY), 0);
}

/* Hits of the mxt_allow entry addr/prefix. */
static inline __u64 allow_hits(const char *addr, int prefix)
{
	struct mxt_allow v;
	struct mxt_lpm_key k;

	assert_int_equal(mxt_fx_lpm_key(&k, addr, prefix), 0);
	if (bpf_map_lookup_elem(fx.allow_fd, &k, &v))
		fail_msg("mxt_allow[%s/%d]: got no entry, want one", addr, prefix);
	return v.hits;
}

/* A test with the fixture: a fresh program before it, unloaded after. */
#define LIMITS_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Pin the thread to one CPU before any test; 0, or 1 with the reason on
 * stderr (main's exit status). */
static inline int mxt_lfx_pin_cpu(void)
{
	if (mxt_fx_pin_cpu() < 0) {
		fprintf(stderr, "cannot pin to one CPU: mxt_global is per-CPU\n");
		return 1;
	}
	return 0;
}

#endif /* MXT_TEST_XDP_LIMITS_FIXTURE_H */
