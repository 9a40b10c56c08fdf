/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * syn_delta.h - turns the kernel's cumulative per-source counters into
 * per-tick deltas for the model.  The kernel's mxt_sources is an LRU map:
 * an entry may be evicted and re-created (its counters restart from zero,
 * with a new first_seen), so a counter that went backwards, or a new
 * first_seen, means "all of it is new".  Entries not seen for a few ticks
 * are forgotten, so the table never holds more than the kernel map did.
 * About 27 bytes per source (24-byte slots at a 0.89 load; IPv6 keys
 * longer than /64 add 9 more).  Deltas are exact: the table holds each
 * key whole, and its counters modulo 2^40, which a source's counter does
 * not outrun between two passes (syn_delta.c says why).
 */
#ifndef MXT_SYN_DELTA_H
#define MXT_SYN_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include "mxt_abi.h"

struct mxt_syn_delta;

/* A table sized for 'capacity' sources that grows (doubling, one rehash
 * each time) up to 'max_capacity' (the daemon: mxt_sources4 and
 * mxt_sources each hold max_entries, so the sum; only a host that tracks
 * more than one map's worth pays for the second). */
struct mxt_syn_delta *mxt_syn_delta_new(size_t capacity, size_t max_capacity);
void mxt_syn_delta_free(struct mxt_syn_delta *t);

/* Seed the key hash (the daemon passes random bytes so that addresses
 * cannot be chosen to collide); only while empty: 0 or -EBUSY. */
int mxt_syn_delta_set_hash_seed(struct mxt_syn_delta *t, uint64_t seed);

/* Start a pass over the kernel map (one per sweep); passes and
 * mxt_syn_delta_end() alternate. */
void mxt_syn_delta_begin(struct mxt_syn_delta *t);

/* Record one entry's counters; *dsyns and *ddropped get what is new since
 * the previous pass.  -ENOSPC when full at max_capacity, -EINVAL for a
 * key the kernel does not make (not masked to its prefix, padding set),
 * -ENOMEM when a long key's words or the growth could not be allocated:
 * the deltas then count as new. */
int mxt_syn_delta_update(struct mxt_syn_delta *t, const struct mxt_key *key,
			 const struct mxt_source *v, uint64_t *dsyns, uint64_t *ddropped);

/* Start fetching the slot of 'key' into the cache: a pass over many
 * sources calls it a few entries ahead of mxt_syn_delta_update() (the
 * table is far larger than the cache; this halves the time of a pass). */
void mxt_syn_delta_prefetch(const struct mxt_syn_delta *t, const struct mxt_key *key);

/* End the pass: forget entries not seen in the last 'keep' passes
 * (at most 255). */
void mxt_syn_delta_end(struct mxt_syn_delta *t, unsigned keep);

/* Entries held; bytes held. */
size_t mxt_syn_delta_count(const struct mxt_syn_delta *t);
size_t mxt_syn_delta_memory(const struct mxt_syn_delta *t);

#endif /* MXT_SYN_DELTA_H */
