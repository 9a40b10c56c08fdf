/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_util.h - scaffolding shared by the cmocka unit tests: CHECK, an
 * assertion that prints a "got X, want Y" message, and splitmix64, the
 * deterministic randomness the model tests drive senders with.  Include
 * after <cmocka.h>.
 */
#ifndef MXT_TEST_UTIL_H
#define MXT_TEST_UTIL_H

#include <stdint.h>

/* Fail with a "got X, want Y" message. */
#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			print_error(__VA_ARGS__);              \
			print_error("\n");                     \
			fail_msg("check failed: %s", #cond);   \
		}                                              \
	} while (0)

/* splitmix64: deterministic test randomness. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static inline double rng_unit(uint64_t *s)
{
	return ((rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

#endif
