// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * synflood_gen.bpf.c - the in-kernel half of build/mxt-synflood --method
 * live: a SYN-flood generator for benchmarks, never attached to an
 * interface.  Userspace hands the kernel one template SYN frame through
 * BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (the technique of
 * xdp-project's xdp-trafficgen); the kernel runs this program on each of
 * 'repeat' copies of it, and every frame the program returns XDP_REDIRECT
 * for is transmitted on cfg.ifindex_out (the sending veth) through the
 * driver's ndo_xdp_xmit, with no skb and no socket on the way.
 *
 * Per frame the program rewrites the IPv4 source address and the TCP
 * source port:
 *   cycling mode: source = cfg.src_first + (n % cfg.src_count), n counting
 *                 the frames this CPU generated (K sources, round robin);
 *   spoof mode:   source = cfg.src_first + (random % cfg.src_count).
 * Userspace checks that the whole range lies inside 198.18.0.0/15.
 *
 * Checksums: the IPv4 header checksum and the TCP checksum (whose
 * pseudo-header covers the source address) are both updated incrementally
 * (RFC 1624), so every frame is valid for a receiver that verifies them:
 * the "no filter" and netfilter runs hand the SYNs to the TCP stack, which
 * drops segments with a bad checksum early and would make them look
 * cheaper than they are.  The update is computed from the values present
 * in the frame, not from the template: in live-frames mode a page is
 * initialised from the template once and then recycled with whatever the
 * previous run of this program left in it.
 *
 * Counters: one per-CPU array entry, read by userspace after the run to
 * report how many frames were generated (the test run's 'repeat' may be
 * cut short by a signal).  A redirect that the target then fails to queue
 * (veth ring full, peer without NAPI) is not visible here: the sending
 * veth's tx_queue_N_xdp_xmit_errors counter shows it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Load-time settings, written by mxt-synflood before load.  The layout is
 * repeated in tools/mxt-synflood.c: keep both in step (userspace checks
 * the size of .rodata against its copy). */
struct synflood_cfg {
	__u32 ifindex_out;   /* redirect target: the sending veth */
	__u32 spoof;         /* 0: cycle through the range; 1: random in it */
	__u32 src_first;     /* first source address, host order */
	__u32 src_count;     /* number of source addresses (>= 1) */
};

const volatile struct synflood_cfg cfg = {};

/* Per-CPU generator state. */
struct synflood_state {
	__u64 frames;        /* frames rewritten and redirected on this CPU */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synflood_state);
} synflood_state SEC(".maps");

/* Fold a 32-bit one's-complement sum to 16 bits. */
static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Replace a 32-bit field 'from' by 'to' under checksum *sum (RFC 1624
 * eqn. 3, HC' = ~(~HC + ~m + m')).  One's-complement sums do not depend
 * on byte order, so network-order words are added as they are. */
static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~from + (__u16)~(from >> 16);
	s += (__u16)to + (__u16)(to >> 16);
	*sum = (__u16)~csum_fold32(s);
}

/* Replace a 16-bit field 'from' by 'to' under checksum *sum. */
static __always_inline void csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~from + to;
	*sum = (__u16)~csum_fold32(s);
}

/* Rewrite the frame's source address and port, then redirect it. */
SEC("xdp")
int synflood_gen(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);   /* template has IHL 5 */
	struct synflood_state *st;
	__u32 zero = 0, idx, saddr;
	__u16 sport;
	__u64 n;

	if ((void *)(tcp + 1) > data_end)
		return XDP_ABORTED;
	st = bpf_map_lookup_elem(&synflood_state, &zero);
	if (!st || cfg.src_count == 0)
		return XDP_ABORTED;

	n = st->frames++;
	if (cfg.spoof)
		idx = bpf_get_prandom_u32() % cfg.src_count;
	else
		idx = (__u32)(n % cfg.src_count);
	saddr = bpf_htonl(cfg.src_first + idx);
	/* Ephemeral-looking source port, changing every frame. */
	sport = bpf_htons(1024 + (__u16)(n % 64512));

	csum_replace4(&ip->check, ip->saddr, saddr);
	csum_replace4(&tcp->check, ip->saddr, saddr);   /* pseudo-header */
	csum_replace2(&tcp->check, tcp->source, sport);
	ip->saddr = saddr;
	tcp->source = sport;

	return bpf_redirect(cfg.ifindex_out, 0);
}
