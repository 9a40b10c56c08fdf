/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h - a frame builder for tests and tools: Ethernet with 0..4 VLAN tags
 * (802.1Q / 802.1ad), IPv4 (options, fragments, bad IHL/version), IPv6 with
 * hop-by-hop, routing, destination-options and fragment extension headers,
 * TCP (flags, ports, options, bad doff), UDP, ICMP/ICMPv6, ARP, any other
 * EtherType, and truncation at any length.
 *
 * Dependency-free (libc only): it is linked into every test binary.
 * Every length and offset is in bytes; every field of struct pkt_spec is in
 * host order; zero means "the default" unless said otherwise, so
 * `struct pkt_spec s = { .l3 = PKT_L3_IPV4 };` is a SYN from 198.18.0.1:40000
 * to 198.18.0.2:25.  Checksums (IPv4 header, TCP, UDP, ICMP, ICMPv6) are
 * computed on the full frame before truncation.  Header fields given as
 * numbers (ip_version, ihl, tcp_doff) are written masked to their 4 bits, so
 * 16 writes a zero field.
 */
#ifndef MXT_TEST_PKT_H
#define MXT_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_MAX_FRAME 4096   /* largest frame pkt_build() writes */
#define PKT_MAX_VLAN  4      /* VLAN tags pkt_build() can stack */
#define PKT_MAX_EXT   10     /* IPv6 extension headers pkt_build() can chain */

/* EtherTypes (host order). */
#define PKT_ETH_P_IP     0x0800
#define PKT_ETH_P_ARP    0x0806
#define PKT_ETH_P_8021Q  0x8100
#define PKT_ETH_P_8021AD 0x88a8
#define PKT_ETH_P_IPV6   0x86dd
#define PKT_ETH_P_LLDP   0x88cc

/* TCP flags. */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_PSH 0x08
#define PKT_TCP_ACK 0x10

/* Layer 3 of the frame. */
enum pkt_l3 {
	PKT_L3_IPV4 = 1,
	PKT_L3_IPV6,
	PKT_L3_ARP,          /* an ARP request from src for dst (IPv4 text) */
	PKT_L3_RAW,          /* EtherType 'ethertype', then payload_len zero bytes */
};

/* IPv6 extension headers, with the sizes pkt_build() writes them in. */
enum pkt_ext {
	PKT_EXT_HOP = 1,     /* hop-by-hop options, 8 bytes (PadN) */
	PKT_EXT_ROUTING,     /* routing type 0, segments left 0, one address: 24 bytes */
	PKT_EXT_DEST,        /* destination options, 16 bytes (PadN) */
	PKT_EXT_FRAG,        /* fragment: frag_offset, more_frags; 8 bytes */
};

/* What to build. */
struct pkt_spec {
	/* Layer 2 */
	int nvlan;                          /* VLAN tags, outermost first */
	uint16_t vlan_tpid[PKT_MAX_VLAN];   /* PKT_ETH_P_8021Q (default) or _8021AD */
	uint16_t vlan_id[PKT_MAX_VLAN];     /* VLAN id (default 100 + index) */
	int l3;                             /* enum pkt_l3 (required) */
	uint16_t ethertype;                 /* PKT_L3_RAW: the EtherType */
	/* Layer 3 */
	const char *src, *dst;              /* addresses as text (default 198.18.0.1 ->
					     * 198.18.0.2, 2001:2::1 -> 2001:2::2) */
	int ip_version;                     /* version nibble to write (default 4 / 6) */
	int ihl;                            /* IPv4 IHL field to write (default from ip_opt_len) */
	int ip_opt_len;                     /* IPv4 option bytes, multiple of 4, <= 40 */
	uint16_t frag_offset;               /* fragment offset, 8-byte units (IPv4, IPv6 FRAG) */
	int more_frags;                     /* IPv4 MF / IPv6 M bit */
	int n_ext;                          /* IPv6 extension headers, in order */
	int ext[PKT_MAX_EXT];               /* enum pkt_ext */
	int proto;                          /* L4 protocol number (default TCP) */
	/* Layer 4 */
	uint16_t sport, dport;              /* default 40000 -> 25 */
	uint8_t tcp_flags;                  /* default SYN; set no_flags for none */
	int no_flags;                       /* really write tcp_flags = 0 */
	int tcp_doff;                       /* doff field to write (default from tcp_opt_len) */
	int tcp_opt_len;                    /* TCP option bytes (MSS first), mult. of 4, <= 40 */
	size_t payload_len;                 /* zero bytes after the L4 header */
	/* Frame */
	size_t pad_to;                      /* pad with zeros to this length (e.g. 60) */
	size_t truncate;                    /* if non-zero and shorter, cut the frame here */
};

/* Where pkt_build() put the headers (offsets from the frame start). */
struct pkt_layout {
	size_t l3_off;       /* after the Ethernet header and VLAN tags */
	size_t l4_off;       /* after the IP header(s) (= l3_off for ARP/RAW) */
	size_t payload_off;  /* after the L4 header */
	size_t full_len;     /* length before truncation */
	size_t len;          /* length returned */
};

/* Build the frame described by 's' into buf (capacity cap); returns its
 * length, or 0 if the spec is invalid or does not fit.  'lay' may be NULL. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap, struct pkt_layout *lay);

/* Parse an IPv4 or IPv6 address as text into 16 bytes (IPv4 in the first
 * 4, network order); returns 4, 6, or 0 if it is neither. */
int pkt_addr(const char *text, uint8_t out[16]);

#endif /* MXT_TEST_PKT_H */
