/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_util.h - scaffolding shared by the cmocka unit tests: CHECK, an
 * assertion that prints a "got X, want Y" message, and (user/shared/rng.h)
 * splitmix64, the deterministic randomness the model tests drive senders
 * with; mxt_test_key4(), the IPv4 source key of test sender n.  Include
 * after <cmocka.h>.
 */
#ifndef MXT_TEST_UTIL_H
#define MXT_TEST_UTIL_H

#include <stdint.h>
#include <string.h>

#include "mxt_abi.h"
#include "rng.h" /* mxt_rng_next, mxt_rng_unit */

/* The /32 key of IPv4 test sender n: 198.18.x.y with x.y = n mod 65536
 * (the address in network order, as the kernel keys it, on a
 * little-endian host). */
static inline struct mxt_key mxt_test_key4(unsigned n)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	k.addr[0] = 0x000012c6u | ((n & 0xffffu) << 16);
	return k;
}

/* Fail with a "got X, want Y" message. */
#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			print_error(__VA_ARGS__);              \
			print_error("\n");                     \
			fail_msg("check failed: %s", #cond);   \
		}                                              \
	} while (0)

#endif
