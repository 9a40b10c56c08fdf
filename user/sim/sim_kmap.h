/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_kmap.h - the simulator's small key -> entry map (open addressing,
 * linear probing, backward-shift deletion): its software copies of the
 * kernel's policy map and per-tick SYN deltas, and its key -> source index.
 * Fixed capacity; no rehashing (the simulator sizes it up front).
 */
#ifndef MXT_SIM_KMAP_H
#define MXT_SIM_KMAP_H

#include <stddef.h>
#include <stdint.h>

#include "mxt_abi.h"

struct sim_kent {
	struct mxt_key key;
	uint32_t used;
	uint32_t klass;         /* policy: MXT_CLASS_* */
	uint32_t flags;         /* policy: MXT_POLICY_F_* */
	uint32_t idx;           /* key -> source index */
	struct mxt_limit limit; /* policy: override */
	__u64 tat;              /* GCRA state (ns) */
	uint64_t syns, dropped; /* deltas since the last tick */
};

struct sim_kmap {
	struct sim_kent *e;
	size_t cap, n;
	size_t *usedlist;       /* slots in use, for clearing */
};

/* Allocate a map of 'cap' slots: 0 or -ENOMEM. */
int sim_kmap_init(struct sim_kmap *m, size_t cap);
/* Free a map (a zeroed one too). */
void sim_kmap_free(struct sim_kmap *m);
/* Slot of k or -1. */
long sim_kmap_find(const struct sim_kmap *m, const struct mxt_key *k);
/* Insert k (absent): its zeroed slot, or -1 when the map is 3/4 full. */
long sim_kmap_insert(struct sim_kmap *m, const struct mxt_key *k);
/* Delete slot i (the used list is not kept: only for maps never cleared). */
void sim_kmap_delete(struct sim_kmap *m, size_t i);
/* Empty a map that never deletes, in O(entries). */
void sim_kmap_clear(struct sim_kmap *m);

#endif /* MXT_SIM_KMAP_H */
