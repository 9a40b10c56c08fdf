/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rng.h - splitmix64, the one deterministic random stream of the project:
 * the unit tests and the benchmarks drive senders with it (the simulator
 * may too), so the same seed gives the same run on any machine.  Pure
 * core: no state but the caller's 64-bit seed.  Its finaliser,
 * mxt_mix64(), is also the 64-bit mixer of the core's seeded hash tables
 * (the model's records, the SYN delta table).
 */
#ifndef MXT_RNG_H
#define MXT_RNG_H

#include <stdint.h>

/* splitmix64's finaliser: mixes every bit of z into the whole word. */
static inline uint64_t mxt_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The next 64 random bits of the stream at *s. */
static inline uint64_t mxt_rng_next(uint64_t *s)
{
	return mxt_mix64(*s += 0x9e3779b97f4a7c15ULL);
}

/* Uniform in (0, 1). */
static inline double mxt_rng_unit(uint64_t *s)
{
	return ((mxt_rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

#endif /* MXT_RNG_H */
