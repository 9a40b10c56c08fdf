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

struct slot {
	struct mxt_key key;
	uint32_t pass;          /* pass number it was last seen in; 0 = empty */
	uint64_t syns;
	uint64_t dropped;
	uint64_t first_seen_ns; /* identifies one life of the kernel entry */
};

struct mxt_syn_delta {
	struct slot *slots;
	size_t mask;            /* slots - 1 (power of two) */
	size_t count;
	size_t limit;           /* the capacity asked for */
	uint32_t pass;
};

/* FNV-1a over the key's bytes (the key is zero-padded by construction). */
static size_t key_hash(const struct mxt_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

struct mxt_syn_delta *mxt_syn_delta_new(size_t capacity)
{
	struct mxt_syn_delta *t = calloc(1, sizeof(*t));
	size_t n = 16;

	if (!t)
		return NULL;
	while (n < capacity + capacity / 4 + 1)
		n <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
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
	size_t i = key_hash(key) & t->mask;
	struct slot *s;

	for (;; i = (i + 1) & t->mask) {
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
	if (v->first_seen_ns != s->first_seen_ns || v->syns < s->syns || v->dropped < s->dropped) {
		/* A new life of the kernel entry: everything it holds is new. */
		*dsyns = v->syns;
		*ddropped = v->dropped;
	} else {
		*dsyns = v->syns - s->syns;
		*ddropped = v->dropped - s->dropped;
	}
store:
	s->pass = t->pass;
	s->syns = v->syns;
	s->dropped = v->dropped;
	s->first_seen_ns = v->first_seen_ns;
	return 0;
}

/* Distance of slot i from the home slot of its key. */
static size_t probe_distance(const struct mxt_syn_delta *t, size_t i)
{
	return (i - (key_hash(&t->slots[i].key) & t->mask)) & t->mask;
}

/* Remove slot i, shifting later members of its probe run back. */
static void slot_delete(struct mxt_syn_delta *t, size_t i)
{
	size_t j = i;

	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].pass)
			break;
		/* Move j into the hole i if j's home is not in (i, j]. */
		if (probe_distance(t, j) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->count--;
}

void mxt_syn_delta_end(struct mxt_syn_delta *t, unsigned keep)
{
	for (size_t i = 0; i <= t->mask; i++) {
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
	return sizeof(*t) + (t->mask + 1) * sizeof(struct slot);
}
