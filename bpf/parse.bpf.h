/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.bpf.h - the BPF-only packet parser of the XDP program: from the
 * Ethernet header down to the TCP header, filling struct mxt_pkt for a TCP
 * segment and returning the verdict reason for everything else.
 *
 * Parsing policy (what is parsed, and what is deliberately not):
 *  - Ethernet II, then up to MXT_MAX_VLAN (2) VLAN tags, 802.1Q (0x8100)
 *    and 802.1ad (0x88a8) in any order.  A third tag is TOO_DEEP.
 *    802.3 length frames, LLC/SNAP, MPLS, PPPoE: NOT_IP.
 *  - IPv4 with any IHL >= 5 (options are skipped, never interpreted).
 *    IHL < 5 or a version nibble other than 4 is BAD_HEADER.  A fragment
 *    with a non-zero offset is FRAGMENT whatever its protocol (it holds no
 *    transport header); a first fragment (MF set, offset 0) is parsed like
 *    any datagram and so may be a counted SYN.  tot_len and the header
 *    checksum are not checked: the stack does that, and a lie there cannot
 *    make us read outside the frame.
 *  - IPv6 with up to MXT_MAX_IPV6_EXT (6) extension headers among
 *    hop-by-hop, routing, destination options and fragment, in any order and
 *    repetition (RFC 8200 ordering is not enforced).  A fragment header with
 *    a non-zero offset is FRAGMENT.  A seventh extension header is TOO_DEEP.
 *    Not parsed, so counted as NOT_TCP: AH (51) and ESP (50) (a SYN behind AH
 *    is not limited), mobility (135), HIP, shim6, no-next-header (59).
 *  - Tunnels (GRE, IPIP, 6in4, VXLAN, GENEVE) are not entered: the outer
 *    header is what we see, and it is NOT_TCP.
 *  - TCP: doff < 5 is BAD_HEADER; the whole header including options must
 *    lie inside the frame.  Checksums are not verified.
 *  - Every header is bounds-checked before it is read ("ptr + 1 >
 *    data_end"); a frame that ends inside any header is TRUNCATED.  Nothing
 *    malformed is ever dropped: the caller passes every anomaly.
 */
#ifndef MXT_PARSE_BPF_H
#define MXT_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "mxt_abi.h"

#ifndef MXT_MAX_VLAN
#define MXT_MAX_VLAN 2        /* VLAN tags parsed; one more is TOO_DEEP */
#endif
#ifndef MXT_MAX_IPV6_EXT
#define MXT_MAX_IPV6_EXT 6    /* IPv6 extension headers parsed; one more is TOO_DEEP */
#endif

/* mxt_parse() result for "a TCP header was parsed, struct mxt_pkt is
 * filled"; any other result is an enum mxt_reason. */
#define MXT_PARSE_TCP (-1)

/* TCP flag bits as in byte 13 of the TCP header. */
#define MXT_TCP_FIN 0x01
#define MXT_TCP_SYN 0x02
#define MXT_TCP_RST 0x04
#define MXT_TCP_ACK 0x10

/* An 802.1Q / 802.1ad tag as it follows the MAC addresses. */
struct mxt_vlan_hdr {
	__be16 tci;          /* priority, DEI, VLAN id */
	__be16 proto;        /* the EtherType it encapsulates */
};

/* The IPv6 fragment header (not in the UAPI headers). */
struct mxt_frag_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;     /* offset in 8-byte units << 3, low bit = M */
	__be32 identification;
};

#define MXT_IP_OFFSET  0x1fff /* offset bits of iphdr.frag_off (not in UAPI) */
#define MXT_IP_MF      0x2000 /* more-fragments bit of iphdr.frag_off */
#define MXT_IP6_OFFSET 0xfff8 /* offset bits of mxt_frag_hdr.frag_off */

/* What the program needs from a TCP segment. */
struct mxt_pkt {
	__u32 saddr[4];      /* source address, network order; IPv4 in [0] */
	__u16 dport;         /* destination port, host order */
	__u8  family;        /* MXT_FAMILY_IPV4 or MXT_FAMILY_IPV6 */
	__u8  tcp_flags;     /* byte 13 of the TCP header */
};

/* Parse the TCP header at l4; returns MXT_PARSE_TCP or a reason. */
static __always_inline int mxt_parse_tcp(void *l4, void *data_end, struct mxt_pkt *pkt)
{
	struct tcphdr *th = l4;
	__u32 doff;

	if ((void *)(th + 1) > data_end)
		return MXT_R_TRUNCATED;
	doff = th->doff;
	if (doff < 5)
		return MXT_R_BAD_HEADER;
	/* doff is 4 bits, so l4 + doff * 4 is at most 60 bytes on. */
	if (l4 + doff * 4 > data_end)
		return MXT_R_TRUNCATED;
	pkt->dport = bpf_ntohs(th->dest);
	pkt->tcp_flags = ((__u8 *)th)[13];
	return MXT_PARSE_TCP;
}

/* Parse IPv4 at l3; returns MXT_PARSE_TCP or a reason. */
static __always_inline int mxt_parse_ipv4(void *l3, void *data_end, struct mxt_pkt *pkt)
{
	struct iphdr *iph = l3;
	__u32 hlen;

	if ((void *)(iph + 1) > data_end)
		return MXT_R_TRUNCATED;
	if (iph->version != 4 || iph->ihl < 5)
		return MXT_R_BAD_HEADER;
	if (iph->frag_off & bpf_htons(MXT_IP_OFFSET))
		return MXT_R_FRAGMENT;
	if (iph->protocol != IPPROTO_TCP)
		return MXT_R_NOT_TCP;
	hlen = iph->ihl * 4;  /* 20..60 */
	pkt->family = MXT_FAMILY_IPV4;
	pkt->saddr[0] = iph->saddr;
	return mxt_parse_tcp(l3 + hlen, data_end, pkt);
}

/* Parse IPv6 and its extension headers at l3; returns MXT_PARSE_TCP or a
 * reason. */
static __always_inline int mxt_parse_ipv6(void *l3, void *data_end, struct mxt_pkt *pkt)
{
	struct ipv6hdr *ip6h = l3;
	void *p = ip6h + 1;
	__u8 nexthdr;
	int i;

	if (p > data_end)
		return MXT_R_TRUNCATED;
	if (ip6h->version != 6)
		return MXT_R_BAD_HEADER;
	nexthdr = ip6h->nexthdr;

	/* A bounded loop (kernel >= 5.3), not unrolled: clang 14 cannot unroll
	 * it and the verifier walks at most MXT_MAX_IPV6_EXT iterations. */
	for (i = 0; i < MXT_MAX_IPV6_EXT; i++) {
		if (nexthdr == IPPROTO_TCP)
			break;
		if (nexthdr == IPPROTO_FRAGMENT) {
			struct mxt_frag_hdr *fh = p;

			if ((void *)(fh + 1) > data_end)
				return MXT_R_TRUNCATED;
			if (fh->frag_off & bpf_htons(MXT_IP6_OFFSET))
				return MXT_R_FRAGMENT;
			nexthdr = fh->nexthdr;
			p = fh + 1;
		} else if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
			   nexthdr == IPPROTO_DSTOPTS) {
			struct ipv6_opt_hdr *oh = p;
			__u32 len;

			if ((void *)(oh + 1) > data_end)
				return MXT_R_TRUNCATED;
			len = ((__u32)oh->hdrlen + 1) * 8;  /* 8..2048 */
			nexthdr = oh->nexthdr;
			if (p + len > data_end)
				return MXT_R_TRUNCATED;
			p += len;
		} else {
			return MXT_R_NOT_TCP;
		}
	}
	if (nexthdr != IPPROTO_TCP) {
		if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
		    nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT)
			return MXT_R_TOO_DEEP;
		return MXT_R_NOT_TCP;
	}
	pkt->family = MXT_FAMILY_IPV6;
	__builtin_memcpy(pkt->saddr, &ip6h->saddr, sizeof(pkt->saddr));
	return mxt_parse_tcp(p, data_end, pkt);
}

/* Parse the frame from Ethernet to TCP; returns MXT_PARSE_TCP with *pkt
 * filled, or the enum mxt_reason the frame is to be counted under. */
static __always_inline int mxt_parse(struct xdp_md *ctx, struct mxt_pkt *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *p = eth + 1;
	__be16 proto;
	int i;

	if (p > data_end)
		return MXT_R_TRUNCATED;
	proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < MXT_MAX_VLAN; i++) {
		struct mxt_vlan_hdr *vh = p;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > data_end)
			return MXT_R_TRUNCATED;
		proto = vh->proto;
		p = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		return mxt_parse_ipv4(p, data_end, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return mxt_parse_ipv6(p, data_end, pkt);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return MXT_R_TOO_DEEP;
	return MXT_R_NOT_IP;
}

#endif /* MXT_PARSE_BPF_H */
