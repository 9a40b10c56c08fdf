/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_util.h - what the controller benchmarks (ctl_tick, fleet_tick)
 * share: the key of their i-th source and the list of sizes given with
 * -n.  Keys are in 240.0.0.0/4 (reserved): map and model keys only, never
 * packets.  Header-only.
 */
#ifndef MXT_BENCH_UTIL_H
#define MXT_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "mxt_abi.h"

#define BENCH_SIZES_MAX 16

/* The key of source i: 240.0.0.0 + i, /32. */
static inline struct mxt_key bench_key_of(long i)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	k.addr[0] = htonl(0xf0000000u + (__u32)i);
	return k;
}

/* Parse "N[,N...]" (at most BENCH_SIZES_MAX, each lo..hi) into sizes[];
 * the count, or -1 after saying why on stderr as 'prog'. */
static inline int bench_sizes(const char *prog, const char *list, long lo, long hi,
			      long sizes[BENCH_SIZES_MAX])
{
	const char *p = list;
	int n = 0;

	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || (*end && *end != ',') || v < lo || v > hi) {
			fprintf(stderr, "%s: -n %s: want N[,N...], each %ld..%ld\n", prog, list, lo, hi);
			return -1;
		}
		if (n == BENCH_SIZES_MAX) {
			fprintf(stderr, "%s: -n %s: at most %d sizes\n", prog, list, BENCH_SIZES_MAX);
			return -1;
		}
		sizes[n++] = v;
		if (!*end)
			return n;
		p = end + 1;
	}
}

#endif /* MXT_BENCH_UTIL_H */
