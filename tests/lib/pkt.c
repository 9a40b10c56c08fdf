// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pkt.c - the test frame builder (see pkt.h).  Writes headers byte by byte
 * in network order, so there is no struct padding or alignment to worry
 * about and no dependency beyond libc.
 */
#include "pkt.h"

#include <arpa/inet.h>
#include <string.h>

#define PROTO_HOPOPTS  0
#define PROTO_ICMP     1
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_ICMPV6   58
#define PROTO_DSTOPTS  60

/* A bounded writer over the output buffer. */
struct wr {
	uint8_t *buf;
	size_t cap;
	size_t off;
	int err;
};

/* Reserve n bytes at the current offset; NULL (and err set) if they do not fit. */
static uint8_t *wr_take(struct wr *w, size_t n)
{
	uint8_t *p;

	if (w->err || n > w->cap - w->off) {
		w->err = 1;
		return NULL;
	}
	p = w->buf + w->off;
	memset(p, 0, n);
	w->off += n;
	return p;
}

/* Store a 16-bit value in network order. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Store a 32-bit value in network order. */
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Add bytes to a ones'-complement sum (RFC 1071). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

/* Fold a ones'-complement sum into the 16-bit checksum. */
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int pkt_addr(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (!text)
		return 0;
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return 6;
	return 0;
}

/* Size in bytes of IPv6 extension header 'e', 0 if unknown. */
static size_t ext_size(int e)
{
	switch (e) {
	case PKT_EXT_HOP: return 8;
	case PKT_EXT_ROUTING: return 24;
	case PKT_EXT_DEST: return 16;
	case PKT_EXT_FRAG: return 8;
	default: return 0;
	}
}

/* Protocol number that announces IPv6 extension header 'e'. */
static uint8_t ext_proto(int e)
{
	switch (e) {
	case PKT_EXT_HOP: return PROTO_HOPOPTS;
	case PKT_EXT_ROUTING: return PROTO_ROUTING;
	case PKT_EXT_DEST: return PROTO_DSTOPTS;
	default: return PROTO_FRAGMENT;
	}
}

/* Write the L4 header and payload; returns 0 or -1. */
static int put_l4(struct wr *w, const struct pkt_spec *s, int proto, size_t *payload_off)
{
	uint8_t *h;
	size_t i;

	switch (proto) {
	case PROTO_TCP: {
		int olen = s->tcp_opt_len;
		int doff;

		if (olen < 0 || olen > 40 || olen % 4)
			return -1;
		h = wr_take(w, 20 + olen);
		if (!h)
			return -1;
		put16(h, s->sport ? s->sport : 40000);
		put16(h + 2, s->dport ? s->dport : 25);
		put32(h + 4, 0x01020304);            /* seq */
		put32(h + 8, 0);                     /* ack */
		doff = s->tcp_doff ? s->tcp_doff : 5 + olen / 4;
		h[12] = (uint8_t)((doff & 0xf) << 4);
		h[13] = s->no_flags ? 0 : (s->tcp_flags ? s->tcp_flags : PKT_TCP_SYN);
		put16(h + 14, 64240);                /* window */
		if (olen >= 4) {                     /* MSS 1460, then NOPs */
			h[20] = 2;
			h[21] = 4;
			put16(h + 22, 1460);
			for (i = 24; i < (size_t)(20 + olen); i++)
				h[i] = 1;
		}
		break;
	}
	case PROTO_UDP:
		h = wr_take(w, 8);
		if (!h)
			return -1;
		put16(h, s->sport ? s->sport : 40000);
		put16(h + 2, s->dport ? s->dport : 25);
		put16(h + 4, (uint16_t)(8 + s->payload_len));
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		h = wr_take(w, 8);
		if (!h)
			return -1;
		h[0] = proto == PROTO_ICMP ? 8 : 128;  /* echo request */
		put16(h + 4, 0x1234);                 /* id */
		put16(h + 6, 1);                      /* sequence */
		break;
	default:
		break;                                /* no L4 header */
	}
	*payload_off = w->off;
	if (s->payload_len && !wr_take(w, s->payload_len))
		return -1;
	return w->err ? -1 : 0;
}

/* Fill the L4 checksum of a TCP/UDP/ICMP(v6) segment at l4 given the sum of
 * its pseudo-header (0 for ICMPv4). */
static void l4_csum(uint8_t *l4, size_t len, int proto, uint32_t pseudo)
{
	size_t at;

	if (proto == PROTO_TCP && len >= 20)
		at = 16;
	else if (proto == PROTO_UDP && len >= 8)
		at = 6;
	else if ((proto == PROTO_ICMP || proto == PROTO_ICMPV6) && len >= 4)
		at = 2;
	else
		return;
	if (proto == PROTO_ICMP)
		pseudo = 0;
	l4[at] = l4[at + 1] = 0;
	put16(l4 + at, csum_fold(csum_add(pseudo, l4, len)));
}

/* Write an IPv4 header and what follows; returns 0 or -1. */
static int put_ipv4(struct wr *w, const struct pkt_spec *s, struct pkt_layout *lay)
{
	uint8_t src[16], dst[16];
	int proto = s->proto ? s->proto : PROTO_TCP;
	int olen = s->ip_opt_len;
	size_t l3 = w->off, l4, i;
	uint32_t pseudo;
	uint8_t *h;
	int ihl;

	if (pkt_addr(s->src ? s->src : "198.18.0.1", src) != 4 ||
	    pkt_addr(s->dst ? s->dst : "198.18.0.2", dst) != 4)
		return -1;
	if (olen < 0 || olen > 40 || olen % 4 || s->frag_offset > 0x1fff)
		return -1;
	h = wr_take(w, 20 + olen);
	if (!h)
		return -1;
	ihl = s->ihl ? s->ihl : 5 + olen / 4;
	h[0] = (uint8_t)(((s->ip_version ? s->ip_version : 4) & 0xf) << 4 | (ihl & 0xf));
	put16(h + 4, 0x4d58);                                   /* id */
	put16(h + 6, (uint16_t)((s->more_frags ? 0x2000 : 0) | s->frag_offset));
	h[8] = 64;                                              /* ttl */
	h[9] = (uint8_t)proto;
	memcpy(h + 12, src, 4);
	memcpy(h + 16, dst, 4);
	for (i = 0; i < (size_t)olen; i++)                      /* NOPs, then EOL */
		h[20 + i] = i + 1 == (size_t)olen ? 0 : 1;
	l4 = w->off;
	lay->l4_off = l4;
	if (put_l4(w, s, proto, &lay->payload_off))
		return -1;
	h = w->buf + l3;
	put16(h + 2, (uint16_t)(w->off - l3));                  /* tot_len */
	put16(h + 10, csum_fold(csum_add(0, h, 20 + olen)));
	pseudo = csum_add(0, src, 4);
	pseudo = csum_add(pseudo, dst, 4);
	pseudo += proto + (uint32_t)(w->off - l4);
	l4_csum(w->buf + l4, w->off - l4, proto, pseudo);
	return 0;
}

/* Write an IPv6 header, its extension headers and what follows; 0 or -1. */
static int put_ipv6(struct wr *w, const struct pkt_spec *s, struct pkt_layout *lay)
{
	uint8_t src[16], dst[16];
	int proto = s->proto ? s->proto : PROTO_TCP;
	size_t l3 = w->off, l4;
	uint32_t pseudo;
	uint8_t *h, *e;
	int i;

	if (pkt_addr(s->src ? s->src : "2001:2::1", src) != 6 ||
	    pkt_addr(s->dst ? s->dst : "2001:2::2", dst) != 6)
		return -1;
	if (s->n_ext < 0 || s->n_ext > PKT_MAX_EXT || s->frag_offset > 0x1fff)
		return -1;
	h = wr_take(w, 40);
	if (!h)
		return -1;
	h[0] = (uint8_t)(((s->ip_version ? s->ip_version : 6) & 0xf) << 4);
	h[6] = s->n_ext ? ext_proto(s->ext[0]) : (uint8_t)proto;
	h[7] = 64;                                              /* hop limit */
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	for (i = 0; i < s->n_ext; i++) {
		size_t n = ext_size(s->ext[i]);
		uint8_t next = i + 1 < s->n_ext ? ext_proto(s->ext[i + 1]) : (uint8_t)proto;

		if (!n)
			return -1;
		e = wr_take(w, n);
		if (!e)
			return -1;
		e[0] = next;
		switch (s->ext[i]) {
		case PKT_EXT_FRAG:
			put16(e + 2, (uint16_t)(s->frag_offset << 3 | (s->more_frags ? 1 : 0)));
			put32(e + 4, 0x4d58);
			break;
		case PKT_EXT_ROUTING:
			e[1] = (uint8_t)(n / 8 - 1);
			e[2] = 0;                               /* type 0 */
			e[3] = 0;                               /* segments left */
			memcpy(e + 8, dst, 16);
			break;
		default:                                        /* PadN fills the rest */
			e[1] = (uint8_t)(n / 8 - 1);
			e[2] = 1;
			e[3] = (uint8_t)(n - 4);
			break;
		}
	}
	l4 = w->off;
	lay->l4_off = l4;
	if (put_l4(w, s, proto, &lay->payload_off))
		return -1;
	h = w->buf + l3;
	put16(h + 4, (uint16_t)(w->off - l3 - 40));             /* payload length */
	pseudo = csum_add(0, src, 16);
	pseudo = csum_add(pseudo, dst, 16);
	pseudo += proto + (uint32_t)(w->off - l4);
	l4_csum(w->buf + l4, w->off - l4, proto, pseudo);
	return 0;
}

/* Write an ARP request; returns 0 or -1. */
static int put_arp(struct wr *w, const struct pkt_spec *s, struct pkt_layout *lay)
{
	uint8_t src[16], dst[16];
	uint8_t *h;

	if (pkt_addr(s->src ? s->src : "198.18.0.1", src) != 4 ||
	    pkt_addr(s->dst ? s->dst : "198.18.0.2", dst) != 4)
		return -1;
	h = wr_take(w, 28);
	if (!h)
		return -1;
	put16(h, 1);                    /* Ethernet */
	put16(h + 2, PKT_ETH_P_IP);
	h[4] = 6;
	h[5] = 4;
	put16(h + 6, 1);                /* request */
	memcpy(h + 8, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(h + 14, src, 4);
	memcpy(h + 24, dst, 4);
	lay->l4_off = lay->payload_off = w->off;
	return 0;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap, struct pkt_layout *lay)
{
	struct pkt_layout dummy;
	struct wr w = { .buf = buf, .cap = cap };
	uint16_t type;
	uint8_t *h;
	int i, rc;

	if (!lay)
		lay = &dummy;
	memset(lay, 0, sizeof(*lay));
	if (!s || !buf || s->nvlan < 0 || s->nvlan > PKT_MAX_VLAN)
		return 0;
	switch (s->l3) {
	case PKT_L3_IPV4: type = PKT_ETH_P_IP; break;
	case PKT_L3_IPV6: type = PKT_ETH_P_IPV6; break;
	case PKT_L3_ARP: type = PKT_ETH_P_ARP; break;
	case PKT_L3_RAW: type = s->ethertype; break;
	default: return 0;
	}

	h = wr_take(&w, 14);
	if (!h)
		return 0;
	memcpy(h, "\x02\x00\x00\x00\x00\x02", 6);       /* dst MAC */
	memcpy(h + 6, "\x02\x00\x00\x00\x00\x01", 6);   /* src MAC */
	for (i = 0; i < s->nvlan; i++) {
		uint16_t tpid = s->vlan_tpid[i] ? s->vlan_tpid[i] : PKT_ETH_P_8021Q;
		uint16_t vid = s->vlan_id[i] ? s->vlan_id[i] : (uint16_t)(100 + i);

		put16(w.buf + w.off - 2, tpid);         /* EtherType slot before the tag */
		h = wr_take(&w, 4);
		if (!h)
			return 0;
		put16(h, vid & 0x0fff);
	}
	put16(w.buf + w.off - 2, type);
	lay->l3_off = w.off;

	switch (s->l3) {
	case PKT_L3_IPV4: rc = put_ipv4(&w, s, lay); break;
	case PKT_L3_IPV6: rc = put_ipv6(&w, s, lay); break;
	case PKT_L3_ARP: rc = put_arp(&w, s, lay); break;
	default:
		lay->l4_off = lay->payload_off = w.off;
		rc = s->payload_len && !wr_take(&w, s->payload_len) ? -1 : 0;
		break;
	}
	if (rc || w.err)
		return 0;
	if (s->pad_to > w.off && !wr_take(&w, s->pad_to - w.off))
		return 0;
	lay->full_len = lay->len = w.off;
	if (s->truncate && s->truncate < w.off)
		lay->len = s->truncate;
	return lay->len;
}
