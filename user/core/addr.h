/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * addr.h - strict parsing and formatting of IPv4/IPv6 addresses, CIDRs and
 * numbers, and the conversions between them and the map keys of
 * mxt_abi.h (struct mxt_key for mxt_sources/mxt_policy, struct
 * mxt_lpm_key for mxt_allow).
 *
 * Parsing policy (one place, so the CLI, the daemon's config and the tests
 * agree):
 *  - Addresses are what inet_pton(3) accepts and nothing more: no
 *    surrounding blanks, no trailing junk, no IPv4 shorthand ("10.1"), no
 *    leading zeros in IPv4 octets, no IPv6 zone ("%eth0").  IPv4-mapped
 *    IPv6 ("::ffff:198.18.0.1") stays IPv6: that is how the XDP program
 *    sees such a packet.
 *  - A CIDR is ADDR or ADDR/LEN, LEN decimal 0..32 (IPv4) or 0..128
 *    (IPv6).  A missing /LEN means the full length.  Host bits set below
 *    the prefix ("198.18.0.5/24") are ACCEPTED AND CLEARED (the result is
 *    198.18.0.0/24); the parser reports that it cleared some so that the
 *    CLI can say so.  Rejecting would only annoy operators pasting an
 *    interface address; the map can hold only the network anyway.
 *  - Numbers are plain decimal: digits only, no sign, no blanks, no "0x",
 *    no leading zeros ("010" is rejected, it reads as octal to some).
 *
 * All functions return 0 or a negative errno (-EINVAL syntax, -ERANGE value
 * out of range, -ENAMETOOLONG/-ENOSPC buffer too small).
 */
#ifndef MXT_ADDR_H
#define MXT_ADDR_H

#include <stddef.h>
#include <linux/types.h>
#include "errfmt.h" /* mxt_seterr, long reached through this header */
#include "mxt_abi.h"

/* Longest text any formatter here produces, with its NUL:
 * a full IPv6 address (45) + "/128". */
#define MXT_ADDRSTRLEN 52

/* An address of either family. */
struct mxt_addr {
	__u8 family;      /* MXT_FAMILY_IPV4 or MXT_FAMILY_IPV6 */
	__u8 bytes[16];   /* network order; IPv4 uses bytes[0..3], rest zero */
};

/* Parse a plain decimal number into *out, within [min, max]. */
int mxt_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
/* Copy src into dst of 'size' bytes; -ENAMETOOLONG (dst truncated,
 * terminated) when it does not fit. */
int mxt_strlcpy(char *dst, const char *src, size_t size);

/* Bits in an address of 'family' (32 or 128), 0 for an unknown family. */
unsigned int mxt_family_bits(__u8 family);

/* Parse one address (no /LEN). */
int mxt_addr_parse(const char *s, struct mxt_addr *a);
/* Parse ADDR[/LEN]; clears host bits and sets *host_bits (if not NULL) to
 * 1 when some were set. */
int mxt_cidr_parse(const char *s, struct mxt_addr *a, __u8 *prefixlen, int *host_bits);
/* Clear every bit of 'a' after the first 'prefixlen'. */
void mxt_addr_mask(struct mxt_addr *a, unsigned int prefixlen);
/* Non-zero if 'a' lies inside net/prefixlen (same family). */
int mxt_addr_in_cidr(const struct mxt_addr *a, const struct mxt_addr *net, unsigned int prefixlen);

/* Build the mxt_sources/mxt_policy key of 'a': zeroed whole, masked to
 * v4_prefix or v6_prefix by family. */
int mxt_key_from_addr(struct mxt_key *k, const struct mxt_addr *a,
		      unsigned int v4_prefix, unsigned int v6_prefix);
/* The (masked) address and prefix held in a key. */
int mxt_key_to_addr(const struct mxt_key *k, struct mxt_addr *a, __u8 *prefixlen);
/* Build the mxt_allow key of net/prefixlen (masked, zeroed whole). */
int mxt_lpm_key_from_cidr(struct mxt_lpm_key *k, const struct mxt_addr *a, unsigned int prefixlen);
/* The network and CIDR prefix held in an mxt_allow key. */
int mxt_lpm_key_to_cidr(const struct mxt_lpm_key *k, struct mxt_addr *a, __u8 *prefixlen);

/* "198.18.0.5", "2001:2::1". */
int mxt_addr_format(const struct mxt_addr *a, char *buf, size_t len);
/* "198.18.0.0/24", always with /LEN. */
int mxt_cidr_format(const struct mxt_addr *a, unsigned int prefixlen, char *buf, size_t len);
/* A source key: "198.18.0.5" at full length, "2001:2::/64" otherwise. */
int mxt_key_format(const struct mxt_key *k, char *buf, size_t len);
/* An allowlist key: always "net/len". */
int mxt_lpm_key_format(const struct mxt_lpm_key *k, char *buf, size_t len);

#endif /* MXT_ADDR_H */
