/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_util.h - scaffolding shared by the cmocka unit tests: CHECK, an
 * assertion that prints a "got X, want Y" message, and (user/shared/rng.h)
 * splitmix64, the deterministic randomness the model tests drive senders
 * with.  Include after <cmocka.h>.
 */
#ifndef MXT_TEST_UTIL_H
#define MXT_TEST_UTIL_H

#include <stdint.h>

#include "rng.h" /* mxt_rng_next, mxt_rng_unit */

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
