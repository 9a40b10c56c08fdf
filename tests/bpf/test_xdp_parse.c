// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_xdp_parse.c - the XDP program's parser and verdict table, through
 * BPF_PROG_TEST_RUN on the test-clock build: a fixture table of frames
 * {name, frame spec, expected XDP action, expected reason}, each run once
 * and checked for the action and for the per-CPU reason counters (summed
 * over CPUs): the expected reason moves by exactly one and no other does.
 * Then truncation loops (every length below a full frame must pass as
 * TRUNCATED, or NOT_IP past the L2 header of a non-IP frame) and the
 * unconfigured cases.  Needs root; pins nothing.
 *
 * Config: enforce, ports {25, 587} (465 stored beyond nports), keys /32 and
 * /64, limits of 1e6 SYNs a minute so that every counted SYN is admitted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "testclock_fixture.h"
#include "pkt.h"
#include "xdp_fixture.h"

/* One row of the fixture table. */
struct parse_case {
	const char *name;
	struct pkt_spec spec;
	__u32 action;        /* XDP_PASS / XDP_DROP */
	__u32 reason;        /* enum mxt_reason */
};

#define V4(...) { .l3 = PKT_L3_IPV4, __VA_ARGS__ }
#define V6(...) { .l3 = PKT_L3_IPV6, __VA_ARGS__ }
#define Q  PKT_ETH_P_8021Q
#define AD PKT_ETH_P_8021AD
#define HOP PKT_EXT_HOP
#define RTG PKT_EXT_ROUTING
#define DST PKT_EXT_DEST
#define FRG PKT_EXT_FRAG
#define PASS XDP_PASS
#define R(x) MXT_R_##x

static const struct parse_case cases[] = {
	/* IPv4 */
	{ "ipv4_syn", V4(), PASS, R(ADMITTED) },
	{ "ipv4_syn_mss", V4(.tcp_opt_len = 4), PASS, R(ADMITTED) },
	{ "ipv4_syn_tcp_options_40", V4(.tcp_opt_len = 40), PASS, R(ADMITTED) },
	{ "ipv4_options_12", V4(.ip_opt_len = 12, .tcp_opt_len = 4), PASS, R(ADMITTED) },
	{ "ipv4_options_40", V4(.ip_opt_len = 40), PASS, R(ADMITTED) },
	{ "ipv4_syn_padded_60", V4(.pad_to = 60), PASS, R(ADMITTED) },
	{ "ipv4_syn_with_data", V4(.payload_len = 100), PASS, R(ADMITTED) },
	{ "ipv4_first_fragment_syn", V4(.more_frags = 1), PASS, R(ADMITTED) },
	{ "ipv4_later_fragment", V4(.frag_offset = 185, .more_frags = 1), PASS, R(FRAGMENT) },
	{ "ipv4_last_fragment", V4(.frag_offset = 185), PASS, R(FRAGMENT) },
	{ "ipv4_offset_1_fragment", V4(.frag_offset = 1), PASS, R(FRAGMENT) },
	{ "ipv4_later_fragment_udp", V4(.proto = 17, .frag_offset = 3), PASS, R(FRAGMENT) },
	{ "ipv4_ihl_4", V4(.ihl = 4), PASS, R(BAD_HEADER) },
	{ "ipv4_ihl_0", V4(.ihl = 16), PASS, R(BAD_HEADER) },
	{ "ipv4_version_6", V4(.ip_version = 6), PASS, R(BAD_HEADER) },
	{ "ipv4_version_0", V4(.ip_version = 16), PASS, R(BAD_HEADER) },
	{ "ipv4_ihl_15_beyond_frame", V4(.ihl = 15), PASS, R(TRUNCATED) },
	{ "ipv4_udp", V4(.proto = 17), PASS, R(NOT_TCP) },
	{ "ipv4_icmp", V4(.proto = 1), PASS, R(NOT_TCP) },
	{ "ipv4_gre", V4(.proto = 47, .payload_len = 40), PASS, R(NOT_TCP) },
	/* IPv6 */
	{ "ipv6_syn", V6(), PASS, R(ADMITTED) },
	{ "ipv6_syn_mss", V6(.tcp_opt_len = 20), PASS, R(ADMITTED) },
	{ "ipv6_hop_syn", V6(.n_ext = 1, .ext = { HOP }), PASS, R(ADMITTED) },
	{ "ipv6_routing_syn", V6(.n_ext = 1, .ext = { RTG }), PASS, R(ADMITTED) },
	{ "ipv6_dest_syn", V6(.n_ext = 1, .ext = { DST }), PASS, R(ADMITTED) },
	{ "ipv6_frag_first_syn", V6(.n_ext = 1, .ext = { FRG }, .more_frags = 1), PASS, R(ADMITTED) },
	{ "ipv6_frag_atomic_syn", V6(.n_ext = 1, .ext = { FRG }), PASS, R(ADMITTED) },
	{ "ipv6_frag_later", V6(.n_ext = 1, .ext = { FRG }, .frag_offset = 100, .more_frags = 1),
	  PASS, R(FRAGMENT) },
	{ "ipv6_frag_last", V6(.n_ext = 1, .ext = { FRG }, .frag_offset = 100), PASS, R(FRAGMENT) },
	{ "ipv6_hop_frag_later", V6(.n_ext = 2, .ext = { HOP, FRG }, .frag_offset = 1), PASS,
	  R(FRAGMENT) },
	{ "ipv6_four_ext_syn", V6(.n_ext = 4, .ext = { HOP, DST, RTG, FRG }), PASS, R(ADMITTED) },
	{ "ipv6_six_ext_syn", V6(.n_ext = 6, .ext = { HOP, DST, RTG, FRG, DST, DST }), PASS,
	  R(ADMITTED) },
	{ "ipv6_seven_ext", V6(.n_ext = 7, .ext = { HOP, DST, RTG, FRG, DST, DST, DST }), PASS,
	  R(TOO_DEEP) },
	{ "ipv6_seven_ext_udp", V6(.n_ext = 7, .ext = { HOP, DST, DST, DST, DST, DST, DST },
	  .proto = 17), PASS, R(TOO_DEEP) },
	{ "ipv6_six_ext_udp", V6(.n_ext = 6, .ext = { HOP, DST, DST, DST, DST, DST },
	  .proto = 17), PASS, R(NOT_TCP) },
	{ "ipv6_udp", V6(.proto = 17), PASS, R(NOT_TCP) },
	{ "ipv6_icmpv6", V6(.proto = 58), PASS, R(NOT_TCP) },
	{ "ipv6_hop_icmpv6", V6(.n_ext = 1, .ext = { HOP }, .proto = 58), PASS, R(NOT_TCP) },
	{ "ipv6_ah_not_parsed", V6(.proto = 51, .payload_len = 24), PASS, R(NOT_TCP) },
	{ "ipv6_no_next_header", V6(.proto = 59), PASS, R(NOT_TCP) },
	{ "ipv6_version_4", V6(.ip_version = 4), PASS, R(BAD_HEADER) },
	/* VLAN */
	{ "vlan_q_ipv4_syn", V4(.nvlan = 1, .vlan_tpid = { Q }), PASS, R(ADMITTED) },
	{ "vlan_ad_ipv4_syn", V4(.nvlan = 1, .vlan_tpid = { AD }), PASS, R(ADMITTED) },
	{ "vlan_ad_q_ipv4_syn", V4(.nvlan = 2, .vlan_tpid = { AD, Q }), PASS, R(ADMITTED) },
	{ "vlan_q_q_ipv4_syn", V4(.nvlan = 2, .vlan_tpid = { Q, Q }), PASS, R(ADMITTED) },
	{ "vlan_q_ad_ipv4_syn", V4(.nvlan = 2, .vlan_tpid = { Q, AD }), PASS, R(ADMITTED) },
	{ "vlan_ad_ad_ipv6_syn", V6(.nvlan = 2, .vlan_tpid = { AD, AD }), PASS, R(ADMITTED) },
	{ "vlan_q_ipv6_hop_syn", V6(.nvlan = 1, .vlan_tpid = { Q }, .n_ext = 1, .ext = { HOP }),
	  PASS, R(ADMITTED) },
	{ "vlan_three_tags", V4(.nvlan = 3, .vlan_tpid = { AD, Q, Q }), PASS, R(TOO_DEEP) },
	{ "vlan_q_arp", { .l3 = PKT_L3_ARP, .nvlan = 1 }, PASS, R(NOT_IP) },
	{ "vlan_ad_q_udp", V4(.nvlan = 2, .vlan_tpid = { AD, Q }, .proto = 17), PASS, R(NOT_TCP) },
	{ "vlan_q_ack", V4(.nvlan = 1, .tcp_flags = PKT_TCP_ACK), PASS, R(NOT_SYN) },
	/* TCP header */
	{ "tcp_doff_4", V4(.tcp_doff = 4), PASS, R(BAD_HEADER) },
	{ "tcp_doff_0", V4(.tcp_doff = 16), PASS, R(BAD_HEADER) },
	{ "ipv6_tcp_doff_4", V6(.tcp_doff = 4), PASS, R(BAD_HEADER) },
	{ "tcp_doff_15_beyond_frame", V4(.tcp_doff = 15, .tcp_opt_len = 4), PASS, R(TRUNCATED) },
	/* TCP flags */
	{ "syn_ack", V4(.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK), PASS, R(NOT_SYN) },
	{ "rst", V4(.tcp_flags = PKT_TCP_RST), PASS, R(NOT_SYN) },
	{ "syn_rst", V4(.tcp_flags = PKT_TCP_SYN | PKT_TCP_RST), PASS, R(NOT_SYN) },
	{ "ack", V4(.tcp_flags = PKT_TCP_ACK), PASS, R(NOT_SYN) },
	{ "psh_ack_data", V4(.tcp_flags = PKT_TCP_PSH | PKT_TCP_ACK, .payload_len = 64), PASS,
	  R(NOT_SYN) },
	{ "fin", V4(.tcp_flags = PKT_TCP_FIN), PASS, R(NOT_SYN) },
	{ "no_flags", V4(.no_flags = 1), PASS, R(NOT_SYN) },
	{ "ipv6_syn_ack", V6(.tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK), PASS, R(NOT_SYN) },
	/* Only SYN, ACK and RST decide; FIN/PSH with SYN is still a counted SYN. */
	{ "syn_fin_counted", V4(.tcp_flags = PKT_TCP_SYN | PKT_TCP_FIN), PASS, R(ADMITTED) },
	{ "syn_psh_counted", V4(.tcp_flags = PKT_TCP_SYN | PKT_TCP_PSH), PASS, R(ADMITTED) },
	/* Ports */
	{ "other_port_80", V4(.dport = 80), PASS, R(OTHER_PORT) },
	{ "second_port_587", V4(.dport = 587), PASS, R(ADMITTED) },
	{ "ipv6_second_port_587", V6(.dport = 587), PASS, R(ADMITTED) },
	{ "port_465_beyond_nports", V4(.dport = 465), PASS, R(OTHER_PORT) },
	{ "sport_25_dport_other", V4(.sport = 25, .dport = 40000), PASS, R(OTHER_PORT) },
	{ "ipv6_other_port", V6(.dport = 443), PASS, R(OTHER_PORT) },
	{ "port_byte_swapped_6400", V4(.dport = 6400), PASS, R(OTHER_PORT) },
	/* Not IP */
	{ "arp", { .l3 = PKT_L3_ARP }, PASS, R(NOT_IP) },
	{ "lldp", { .l3 = PKT_L3_RAW, .ethertype = PKT_ETH_P_LLDP, .payload_len = 46 }, PASS,
	  R(NOT_IP) },
	{ "ethernet_only_ipv4_type", { .l3 = PKT_L3_RAW, .ethertype = 0x0800 }, PASS,
	  R(TRUNCATED) },
};

/* The loaded program and the fds the tests use. */
struct fx {
	struct mxthrottle_testclock_bpf *skel;
	int prog_fd, stats_fd, cfg_fd;
	struct mxt_config cfg;
};

static struct fx fx;

/* Open, unpin, load the test-clock program; write the default config. */
static int group_setup(void **state)
{
	(void)state;
	if (mxt_fx_pin_cpu() < 0)
		return -1;
	fx.skel = mxt_fx_testclock_load();
	if (!fx.skel)
		return -1;
	fx.prog_fd = bpf_program__fd(fx.skel->progs.mxt_xdp);
	fx.stats_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_STATS);
	fx.cfg_fd = bpf_map__fd(fx.skel->maps.MXT_MAP_CONFIG);
	fx.skel->bss->mxt_test_now_ns = 1000000000000ULL;
	if (mxt_fx_config_default(&fx.cfg) || mxt_fx_config_set(fx.cfg_fd, &fx.cfg))
		return -1;
	return 0;
}

/* Unload. */
static int group_teardown(void **state)
{
	(void)state;
	mxthrottle_testclock_bpf__destroy(fx.skel);
	memset(&fx, 0, sizeof(fx));
	return 0;
}

/* Before each test: restore the default config (a failed test may have
 * left another one behind). */
static int restore_config(void **state)
{
	(void)state;
	return mxt_fx_config_set(fx.cfg_fd, &fx.cfg) ? -1 : 0;
}

/* Run one frame; fail unless the action is want_action and exactly the
 * want_reason counter moved, by one. */
static void expect_frame(const char *what, const uint8_t *frame, size_t len,
			 __u32 want_action, __u32 want_reason)
{
	__u64 before[MXT_R_MAX], after[MXT_R_MAX];
	__u32 action = 0xdead, r;
	int err;

	assert_int_equal(mxt_fx_stats(fx.stats_fd, before), 0);
	err = mxt_fx_run(fx.prog_fd, frame, len, &action);
	if (err)
		fail_msg("%s (len %zu): BPF_PROG_TEST_RUN got %s, want success", what, len,
			 strerror(-err));
	assert_int_equal(mxt_fx_stats(fx.stats_fd, after), 0);
	if (action != want_action)
		fail_msg("%s (len %zu): action got %s, want %s", what, len,
			 mxt_fx_action_name(action), mxt_fx_action_name(want_action));
	for (r = 0; r < MXT_R_MAX; r++) {
		__u64 delta = after[r] - before[r];
		__u64 want = r == want_reason ? 1 : 0;

		if (delta != want)
			fail_msg("%s (len %zu): counter %s got +%llu, want +%llu "
				 "(expected reason %s)", what, len, mxt_fx_reason_name(r),
				 (unsigned long long)delta, (unsigned long long)want,
				 mxt_fx_reason_name(want_reason));
	}
}

/* One row of the fixture table (the row is the test's state). */
static void test_case(void **state)
{
	const struct parse_case *c = *state;
	uint8_t frame[PKT_MAX_FRAME];
	size_t len = pkt_build(&c->spec, frame, sizeof(frame), NULL);

	if (!len)
		fail_msg("%s: pkt_build got 0, want a frame", c->name);
	expect_frame(c->name, frame, len, c->action, c->reason);
}

/* Truncate a full counted SYN at every length from 14 (the least
 * BPF_PROG_TEST_RUN accepts) to full-1: each must pass as TRUNCATED; the
 * full frame must be admitted. */
static void truncation_loop(const char *name, const struct pkt_spec *spec)
{
	uint8_t frame[PKT_MAX_FRAME];
	struct pkt_layout lay;
	char what[96];
	size_t len;

	len = pkt_build(spec, frame, sizeof(frame), &lay);
	if (!len)
		fail_msg("%s: pkt_build got 0, want a frame", name);
	for (len = 14; len < lay.full_len; len++) {
		snprintf(what, sizeof(what), "%s truncated", name);
		expect_frame(what, frame, len, XDP_PASS, MXT_R_TRUNCATED);
	}
	expect_frame(name, frame, lay.full_len, XDP_PASS, MXT_R_ADMITTED);
}

/* IPv4 with IP options and TCP options, cut everywhere. */
static void test_truncate_ipv4(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_IPV4, .ip_opt_len = 8, .tcp_opt_len = 12 };

	(void)state;
	truncation_loop("ipv4+options", &s);
}

/* IPv4 first fragment, cut everywhere. */
static void test_truncate_ipv4_first_fragment(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_IPV4, .more_frags = 1, .tcp_opt_len = 4 };

	(void)state;
	truncation_loop("ipv4 first fragment", &s);
}

/* IPv6 with every extension header kind and TCP options, cut everywhere. */
static void test_truncate_ipv6_ext(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_IPV6, .n_ext = 4, .ext = { HOP, RTG, DST, FRG },
			      .tcp_opt_len = 8 };

	(void)state;
	truncation_loop("ipv6+ext", &s);
}

/* Two VLAN tags, IPv4, cut everywhere (including inside the tags). */
static void test_truncate_qinq_ipv4(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_IPV4, .nvlan = 2, .vlan_tpid = { AD, Q },
			      .tcp_opt_len = 4 };

	(void)state;
	truncation_loop("qinq+ipv4", &s);
}

/* One VLAN tag, IPv6 with hop-by-hop, cut everywhere. */
static void test_truncate_vlan_ipv6(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_IPV6, .nvlan = 1, .n_ext = 1, .ext = { HOP } };

	(void)state;
	truncation_loop("vlan+ipv6+hop", &s);
}

/* ARP behind a VLAN tag cut everywhere: TRUNCATED inside the tag, NOT_IP
 * after it (ARP is not parsed). */
static void test_truncate_vlan_arp(void **state)
{
	struct pkt_spec s = { .l3 = PKT_L3_ARP, .nvlan = 1 };
	uint8_t frame[PKT_MAX_FRAME];
	struct pkt_layout lay;
	size_t len;

	(void)state;
	assert_true(pkt_build(&s, frame, sizeof(frame), &lay) > 0);
	for (len = 14; len <= lay.full_len; len++)
		expect_frame("vlan+arp", frame, len, XDP_PASS,
			     len < lay.l3_off ? MXT_R_TRUNCATED : MXT_R_NOT_IP);
}

/* A config of abi_version 'abi' passes a SYN and an ACK as UNCONFIGURED. */
static void expect_unconfigured(__u32 abi)
{
	struct pkt_spec syn = { .l3 = PKT_L3_IPV4 };
	struct pkt_spec ack = { .l3 = PKT_L3_IPV4, .tcp_flags = PKT_TCP_ACK };
	uint8_t frame[PKT_MAX_FRAME];
	struct mxt_config c = fx.cfg;
	size_t len;

	c.abi_version = abi;
	/* An over-everything config: would drop every counted SYN if used. */
	c.class_limit[MXT_CLASS_UNKNOWN].rate = 0;
	c.class_limit[MXT_CLASS_UNKNOWN].interval_ns = 0;
	assert_int_equal(mxt_fx_config_set(fx.cfg_fd, &c), 0);
	len = pkt_build(&syn, frame, sizeof(frame), NULL);
	expect_frame("unconfigured syn", frame, len, XDP_PASS, MXT_R_UNCONFIGURED);
	len = pkt_build(&ack, frame, sizeof(frame), NULL);
	expect_frame("unconfigured ack", frame, len, XDP_PASS, MXT_R_UNCONFIGURED);
	assert_int_equal(mxt_fx_config_set(fx.cfg_fd, &fx.cfg), 0);
	len = pkt_build(&syn, frame, sizeof(frame), NULL);
	expect_frame("configured again", frame, len, XDP_PASS, MXT_R_ADMITTED);
}

/* abi_version 0 (never configured) passes everything. */
static void test_unconfigured_abi0(void **state)
{
	(void)state;
	expect_unconfigured(0);
}

/* A config of another ABI passes everything. */
static void test_unconfigured_other_abi(void **state)
{
	(void)state;
	expect_unconfigured(MXT_ABI_VERSION + 1);
}

/* With the default config, a SYN from a source over a zero limit is dropped:
 * proves the table above would have seen a drop had the parser counted a
 * frame it should not have. */
static void test_enforce_drop_sanity(void **state)
{
	struct pkt_spec syn = { .l3 = PKT_L3_IPV4, .src = "198.18.99.1" };
	uint8_t frame[PKT_MAX_FRAME];
	struct mxt_config c = fx.cfg;
	size_t len;

	(void)state;
	c.class_limit[MXT_CLASS_UNKNOWN].rate = 0;
	c.class_limit[MXT_CLASS_UNKNOWN].burst = 0;
	assert_int_equal(mxt_limit_derive(&c.class_limit[MXT_CLASS_UNKNOWN], 1), 0);
	assert_int_equal(mxt_fx_config_set(fx.cfg_fd, &c), 0);
	len = pkt_build(&syn, frame, sizeof(frame), NULL);
	expect_frame("syn over zero limit", frame, len, XDP_DROP, MXT_R_SOURCE_LIMIT);
	assert_int_equal(mxt_fx_config_set(fx.cfg_fd, &fx.cfg), 0);
}

int main(void)
{
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_setup(test_truncate_ipv4, restore_config),
		cmocka_unit_test_setup(test_truncate_ipv4_first_fragment, restore_config),
		cmocka_unit_test_setup(test_truncate_ipv6_ext, restore_config),
		cmocka_unit_test_setup(test_truncate_qinq_ipv4, restore_config),
		cmocka_unit_test_setup(test_truncate_vlan_ipv6, restore_config),
		cmocka_unit_test_setup(test_truncate_vlan_arp, restore_config),
		cmocka_unit_test_setup(test_unconfigured_abi0, restore_config),
		cmocka_unit_test_setup(test_unconfigured_other_abi, restore_config),
		cmocka_unit_test_setup(test_enforce_drop_sanity, restore_config),
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests;
	size_t i;
	int rc;

	tests = calloc(ncases + nfixed, sizeof(*tests));
	if (!tests)
		return 1;
	for (i = 0; i < ncases; i++) {
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].setup_func = restore_config;
		tests[i].initial_state = (void *)&cases[i];
	}
	memcpy(tests + ncases, fixed, sizeof(fixed));
	rc = _cmocka_run_group_tests("xdp_parse", tests, ncases + nfixed, group_setup,
				     group_teardown);
	free(tests);
	return rc;
}
