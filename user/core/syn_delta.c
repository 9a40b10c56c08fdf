/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * syn_delta.c - open-addressing table (linear probing) of the last counters
 * seen per source; see syn_delta.h.  Deletion happens only in
 * mxt_syn_delta_end(), by rebuilding the probe runs in place (backward
 * shift), so lookups never meet tombstones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "syn_delta.h"

/* 40 bytes: 'dropped' is kept modulo 2^32 (a delta within one tick never
 * reaches that), first_seen only as its low 32 bits, which is enough to
 * tell one life of a kernel entry from the next; 'syns' whole, so that a
 * counter that went backwards is seen as such. */
struct slot {
	struct mxt_key key;
	uint32_t pass;          /* pass number it was last seen in; 0 = empty */
	uint64_t syns;
	uint32_t dropped;
	uint32_t first_seen;    /* low bits of first_seen_ns: one life */
};

struct mxt_syn_delta {
	struct slot *slots;
	size_t nslots;          /* capacity x 5/4 + 1: no power-of-two rounding */
	size_t count;
	size_t limit;           /* the capacity asked for */
	uint32_t pass;
};

/* FNV-1a over the key's bytes (the key is zero-padded by construction). */
static uint32_t key_hash(const struct mxt_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* Home slot of a key: multiply-shift range reduction, any table size. */
static size_t home_of(const struct mxt_syn_delta *t, const struct mxt_key *k)
{
	return (size_t)(((uint64_t)key_hash(k) * t->nslots) >> 32);
}

static size_t next_slot(const struct mxt_syn_delta *t, size_t i)
{
	return i + 1 == t->nslots ? 0 : i + 1;
}

struct mxt_syn_delta *mxt_syn_delta_new(size_t capacity)
{
	struct mxt_syn_delta *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nslots = capacity + capacity / 4 + 1;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->limit = capacity;
	return t;
}

void mxt_syn_delta_free(struct mxt_syn_delta *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t);
}

void mxt_syn_delta_begin(struct mxt_syn_delta *t)
{
	if (++t->pass == 0)
		t->pass = 1; /* 0 marks empty slots */
}

int mxt_syn_delta_update(struct mxt_syn_delta *t, const struct mxt_key *key,
			 const struct mxt_source *v, uint64_t *dsyns, uint64_t *ddropped)
{
	size_t i = home_of(t, key);
	struct slot *s;

	for (;; i = next_slot(t, i)) {
		s = &t->slots[i];
		if (!s->pass)
			break;
		if (!memcmp(&s->key, key, sizeof(*key)))
			goto found;
	}
	*dsyns = v->syns;
	*ddropped = v->dropped;
	if (t->count >= t->limit)
		return -ENOSPC;
	s->key = *key;
	t->count++;
	goto store;
found:
	if ((uint32_t)v->first_seen_ns != s->first_seen || v->syns < s->syns) {
		/* A new life of the kernel entry: everything it holds is new. */
		*dsyns = v->syns;
		*ddropped = v->dropped;
	} else {
		*dsyns = v->syns - s->syns;
		*ddropped = (uint32_t)((uint32_t)v->dropped - s->dropped);
	}
store:
	s->pass = t->pass;
	s->syns = v->syns;
	s->dropped = (uint32_t)v->dropped;
	s->first_seen = (uint32_t)v->first_seen_ns;
	return 0;
}

/* Distance of slot i from the home slot of its key. */
static size_t probe_distance(const struct mxt_syn_delta *t, size_t i)
{
	size_t h = home_of(t, &t->slots[i].key);

	return i >= h ? i - h : i + t->nslots - h;
}

/* Remove slot i, shifting later members of its probe run back. */
static void slot_delete(struct mxt_syn_delta *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t gap;

		j = next_slot(t, j);
		if (!t->slots[j].pass)
			break;
		gap = j >= i ? j - i : j + t->nslots - i;
		/* Move j into the hole i if j's home is not in (i, j]. */
		if (probe_distance(t, j) >= gap) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->count--;
}

void mxt_syn_delta_end(struct mxt_syn_delta *t, unsigned keep)
{
	for (size_t i = 0; i < t->nslots; i++) {
		/* Re-examine slot i after a delete: a later entry may have moved in. */
		while (t->slots[i].pass && t->pass - t->slots[i].pass >= keep)
			slot_delete(t, i);
	}
}

size_t mxt_syn_delta_count(const struct mxt_syn_delta *t)
{
	return t->count;
}

size_t mxt_syn_delta_memory(const struct mxt_syn_delta *t)
{
	return sizeof(*t) + t->nslots * sizeof(struct slot);
}
