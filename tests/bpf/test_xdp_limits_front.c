// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_xdp_limits_front.c - the XDP program's per-CPU front cache and
 * the mxt_polmark bitmap, through BPF_PROG_TEST_RUN on the test-clock
 * build: cached refusals and their pending counts, their end with a new
 * policy or config generation, the global budget charged first, the
 * 15-bit count saturating, the live-set bits; the polmark bit set and
 * cleared with the policies under it; and pinned.c showing mxt_sources4
 * and mxt_sources as one table.
 *
 * Each test loads a fresh program (setup/teardown in xdp_limits_fixture.h),
 * so no state leaks from one test into another.  Needs root; pins nothing.
 */
#include <sys/mman.h>

#include "mxt_keyhash.h"
#include "mxt_syn_verdict.h"
#include "xdp_limits_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		LIMITS_TEST(test_front_cache_counts),
		LIMITS_TEST(test_front_cache_generations),
		LIMITS_TEST(test_front_cache_live_bits),
		LIMITS_TEST(test_front_cache_count_saturates),
		LIMITS_TEST(test_front_cache_global_budget),
		LIMITS_TEST(test_sources_one_table),
		LIMITS_TEST(test_polmark),
		LIMITS_TEST(test_polmark_cleared),
	};

	return mxt_lfx_pin_cpu() ? 1 : cmocka_run_group_tests_name("xdp_limits_front", tests, NULL, NULL);
}
