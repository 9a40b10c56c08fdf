/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt_keyhash.h - the two hashes of a source key that the XDP program and
 * userspace must compute alike: the mxt_front set of an IPv4 address and
 * the mxt_polmark bit of a key (mxt_abi.h describes both maps).  A
 * multiplicative hash: a few instructions on the program's hot path, and
 * enough spread for addresses that differ in their low bits.
 */
#ifndef MXT_KEYHASH_H
#define MXT_KEYHASH_H

#include "mxt_abi.h"

#ifdef __bpf__
#define MXT_KH_INLINE static __always_inline
#else
#define MXT_KH_INLINE static inline
#endif

#define MXT_KH_MUL 0x9e3779b97f4a7c15ULL  /* 2^64 / golden ratio */

/* The mxt_front set of a masked IPv4 key address (network order). */
MXT_KH_INLINE __u32 mxt_front_set_of(__u32 addr)
{
	return (__u32)(((__u64)addr * MXT_KH_MUL) >> 52) & (MXT_FRONT_SETS - 1);
}

/* The mxt_polmark bit of the key whose address words fold to 'h0' (see
 * below): word index and mask. */
MXT_KH_INLINE void mxt_polmark_bit_of(__u64 h0, __u8 family, __u32 *word, __u64 *mask)
{
	__u64 h = (h0 ^ family) * MXT_KH_MUL;
	__u32 bit = (__u32)(h >> 43);           /* top 21 bits */

	*word = (bit >> 6) & (MXT_POLMARK_WORDS - 1);
	*mask = 1ULL << (bit & 63);
}

/* The mxt_polmark bit of a key: word index and mask. */
MXT_KH_INLINE void mxt_polmark_bit(const struct mxt_key *k, __u32 *word, __u64 *mask)
{
	__u64 h0 = ((__u64)k->addr[0] | (__u64)k->addr[1] << 32) ^
		   ((__u64)k->addr[2] | (__u64)k->addr[3] << 32) * MXT_KH_MUL;

	mxt_polmark_bit_of(h0, k->family, word, mask);
}

/* The same for an IPv4 key of masked address 'addr' (addr[1..3] are 0,
 * so the fold is the address): the program's hot path needs no key. */
MXT_KH_INLINE void mxt_polmark_bit4(__u32 addr, __u32 *word, __u64 *mask)
{
	mxt_polmark_bit_of(addr, MXT_FAMILY_IPV4, word, mask);
}

#endif /* MXT_KEYHASH_H */
