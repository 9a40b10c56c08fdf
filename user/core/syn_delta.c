/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * syn_delta.c - open-addressing table (linear probing) of the last counters
 * seen per source; see syn_delta.h.  Deletion happens only in
 * mxt_syn_delta_end(), by rebuilding the probe runs in place (backward
 * shift), so lookups never meet tombstones.
 *
 * A slot is 24 bytes and holds the key exactly, not a hash of it: the
 * kernel masks every key to its prefix (bpf/mxthrottle.bpf.c
 * mxt_source_key), so an IPv4 key is its first address word and an IPv6
 * key up to /64 its first two; the slot keeps those two words and a tag
 * (family and prefix length).  Only IPv6 keys longer than /64 need the
 * last two words, kept in a side array that is allocated on the first
 * such key.  Keys the kernel never makes (padding or words past the
 * prefix set, unknown family) are refused, not folded onto another key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "syn_delta.h"

/* Counters are kept modulo 2^40 (CTR_BITS).  A delta is exact while a
 * source's counter moves less than 2^39 between two passes: 5.5e11 SYNs,
 * over six hours of one source at 25 Mpps, against a sweep of 16 ticks
 * (16 min at the longest tick_interval) at a million sources.  A
 * modular difference of 2^39 or more is a counter that went backwards. */
#define CTR_BITS 40
#define CTR_MASK ((1ULL << CTR_BITS) - 1)
#define CTR_BACKWARDS (1ULL << (CTR_BITS - 1))

/* tag: 0 empty, TAG_V4 + prefixlen, TAG_V6 + prefixlen (fits a byte). */
#define TAG_V4 1u
#define TAG_V6 (TAG_V4 + 33u)

/* 24 bytes, 4-byte aligned: no padding. */
struct slot {
	uint32_t addr[2];       /* key words 0 and 1 (network order) */
	uint32_t syns_lo;       /* syns, low 32 of CTR_BITS */
	uint32_t dropped_lo;    /* dropped, low 32 of CTR_BITS */
	uint32_t first_seen;    /* low bits of first_seen_ns: one life of the entry */
	uint8_t syns_hi;        /* syns, bits 32..39 */
	uint8_t dropped_hi;     /* dropped, bits 32..39 */
	uint8_t tag;            /* family and prefix length; 0 = empty */
	uint8_t pass;           /* pass it was last seen in, modulo 256 */
};
_Static_assert(sizeof(struct slot) == 24, "syn_delta slot: 24 bytes");

/* A key as the table holds it. */
struct ckey {
	uint32_t addr[2];
	uint64_t tail;          /* words 2 and 3: IPv6 longer than /64 only */
	uint8_t tag;
};

struct mxt_syn_delta {
	struct slot *slots;
	uint64_t *tails;        /* words 2-3 of long keys, per slot; NULL until one */
	size_t nslots;          /* limit x 9/8 + 1: no power-of-two rounding */
	size_t count;
	size_t limit;           /* entries the slots are sized for */
	size_t max;             /* what limit may grow to */
	uint64_t seed;          /* hash seed (mxt_syn_delta_set_hash_seed) */
	uint8_t pass;
};

/* Long keys keep their last two words in t->tails. */
static int tag_is_long(uint8_t tag)
{
	return tag > TAG_V6 + 64;
}

/* The table's form of k; -EINVAL for a key the kernel does not make. */
static int ckey_of(const struct mxt_key *k, struct ckey *c)
{
	memset(c, 0, sizeof(*c));
	if (k->pad[0] || k->pad[1])
		return -EINVAL;
	if (k->family == MXT_FAMILY_IPV4 && k->prefixlen <= 32) {
		if (k->addr[1] || k->addr[2] || k->addr[3])
			return -EINVAL;
		c->tag = (uint8_t)(TAG_V4 + k->prefixlen);
	} else if (k->family == MXT_FAMILY_IPV6 && k->prefixlen <= 128) {
		c->tag = (uint8_t)(TAG_V6 + k->prefixlen);
		if (tag_is_long(c->tag))
			c->tail = (uint64_t)k->addr[2] | (uint64_t)k->addr[3] << 32;
		else if (k->addr[2] || k->addr[3])
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	c->addr[0] = k->addr[0];
	c->addr[1] = k->addr[1];
	return 0;
}

/* Home slot of a key: seeded hash, multiply-shift range reduction. */
static size_t home_of(const struct mxt_syn_delta *t, const uint32_t addr[2], uint64_t tail,
		      uint8_t tag)
{
	uint64_t h = mxt_mix64(t->seed ^ ((uint64_t)addr[0] | (uint64_t)addr[1] << 32));

	h = mxt_mix64(h ^ tail ^ tag);
	return (size_t)(((unsigned __int128)h * t->nslots) >> 64);
}

static size_t slot_home(const struct mxt_syn_delta *t, size_t i)
{
	const struct slot *s = &t->slots[i];

	return home_of(t, s->addr, tag_is_long(s->tag) ? t->tails[i] : 0, s->tag);
}

static size_t next_slot(const struct mxt_syn_delta *t, size_t i)
{
	return i + 1 == t->nslots ? 0 : i + 1;
}

static size_t nslots_for(size_t capacity)
{
	return capacity + capacity / 8 + 1;
}

struct mxt_syn_delta *mxt_syn_delta_new(size_t capacity, size_t max_capacity)
{
	struct mxt_syn_delta *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nslots = nslots_for(capacity);
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->limit = capacity;
	t->max = max_capacity > capacity ? max_capacity : capacity;
	return t;
}

/* Move every entry into slots sized for 'capacity' (one rehash); on
 * failure the table is left as it was. */
static int grow(struct mxt_syn_delta *t, size_t capacity)
{
	struct mxt_syn_delta n = *t;

	n.nslots = nslots_for(capacity);
	n.slots = calloc(n.nslots, sizeof(*n.slots));
	n.tails = NULL;
	if (!n.slots)
		return -ENOMEM;
	if (t->tails && !(n.tails = calloc(n.nslots, sizeof(*n.tails)))) {
		free(n.slots);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nslots; i++) {
		const struct slot *s = &t->slots[i];
		uint64_t tail;
		size_t j;

		if (!s->tag)
			continue;
		tail = tag_is_long(s->tag) ? t->tails[i] : 0;
		for (j = home_of(&n, s->addr, tail, s->tag); n.slots[j].tag; j = next_slot(&n, j))
			;
		n.slots[j] = *s;
		if (tag_is_long(s->tag))
			n.tails[j] = tail;
	}
	free(t->slots);
	free(t->tails);
	n.limit = capacity;
	*t = n;
	return 0;
}

int mxt_syn_delta_set_hash_seed(struct mxt_syn_delta *t, uint64_t seed)
{
	if (t->count)
		return -EBUSY;
	t->seed = seed;
	return 0;
}

void mxt_syn_delta_free(struct mxt_syn_delta *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->tails);
	free(t);
}

void mxt_syn_delta_begin(struct mxt_syn_delta *t)
{
	t->pass++;
}

static uint64_t ctr_get(uint32_t lo, uint8_t hi)
{
	return (uint64_t)hi << 32 | lo;
}

static void slot_store(struct mxt_syn_delta *t, struct slot *s, const struct mxt_source *v)
{
	s->pass = t->pass;
	s->syns_lo = (uint32_t)v->syns;
	s->syns_hi = (uint8_t)(v->syns >> 32);
	s->dropped_lo = (uint32_t)v->dropped;
	s->dropped_hi = (uint8_t)(v->dropped >> 32);
	s->first_seen = (uint32_t)v->first_seen_ns;
}

/* Index of the slot of c, or of the empty slot that ends its probe run. */
static size_t slot_find(const struct mxt_syn_delta *t, const struct ckey *c)
{
	size_t i = home_of(t, c->addr, c->tail, c->tag);

	for (;; i = next_slot(t, i)) {
		const struct slot *s = &t->slots[i];

		if (!s->tag)
			return i;
		if (s->tag == c->tag && s->addr[0] == c->addr[0] && s->addr[1] == c->addr[1] &&
		    (!tag_is_long(c->tag) || t->tails[i] == c->tail))
			return i;
	}
}

int mxt_syn_delta_update(struct mxt_syn_delta *t, const struct mxt_key *key,
			 const struct mxt_source *v, uint64_t *dsyns, uint64_t *ddropped)
{
	struct ckey c;
	struct slot *s;
	uint64_t d;
	size_t i;

	*dsyns = v->syns;
	*ddropped = v->dropped;
	if (ckey_of(key, &c) < 0)
		return -EINVAL;
	if (tag_is_long(c.tag) && !t->tails && !(t->tails = calloc(t->nslots, sizeof(*t->tails))))
		return -ENOMEM;
	i = slot_find(t, &c);
	s = &t->slots[i];
	if (!s->tag) {
		if (t->count >= t->limit) {
			int err;

			if (t->limit >= t->max)
				return -ENOSPC;
			if ((err = grow(t, t->max - t->limit > t->limit ? 2 * t->limit : t->max)) < 0)
				return err;
			i = slot_find(t, &c);
			s = &t->slots[i];
		}
		s->addr[0] = c.addr[0];
		s->addr[1] = c.addr[1];
		s->tag = c.tag;
		if (tag_is_long(c.tag))
			t->tails[i] = c.tail;
		t->count++;
		slot_store(t, s, v);
		return 0;
	}
	d = (v->syns - ctr_get(s->syns_lo, s->syns_hi)) & CTR_MASK;
	/* Otherwise a new life of the kernel entry: everything it holds is new. */
	if ((uint32_t)v->first_seen_ns == s->first_seen && d < CTR_BACKWARDS) {
		*dsyns = d;
		*ddropped = (v->dropped - ctr_get(s->dropped_lo, s->dropped_hi)) & CTR_MASK;
	}
	slot_store(t, s, v);
	return 0;
}

void mxt_syn_delta_prefetch(const struct mxt_syn_delta *t, const struct mxt_key *key)
{
	struct ckey c;

	if (ckey_of(key, &c) == 0)
		__builtin_prefetch(&t->slots[home_of(t, c.addr, c.tail, c.tag)], 1);
}

/* Distance of slot i from the home slot of its key. */
static size_t probe_distance(const struct mxt_syn_delta *t, size_t i)
{
	size_t h = slot_home(t, i);

	return i >= h ? i - h : i + t->nslots - h;
}

/* Remove slot i, shifting later members of its probe run back. */
static void slot_delete(struct mxt_syn_delta *t, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t gap;

		j = next_slot(t, j);
		if (!t->slots[j].tag)
			break;
		gap = j >= i ? j - i : j + t->nslots - i;
		/* Move j into the hole i if j's home is not in (i, j]. */
		if (probe_distance(t, j) >= gap) {
			t->slots[i] = t->slots[j];
			if (tag_is_long(t->slots[j].tag))
				t->tails[i] = t->tails[j];
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->count--;
}

void mxt_syn_delta_end(struct mxt_syn_delta *t, unsigned keep)
{
	if (keep > UINT8_MAX)
		keep = UINT8_MAX;
	for (size_t i = 0; i < t->nslots; i++) {
		/* Re-examine slot i after a delete: a later entry may have moved in. */
		while (t->slots[i].tag && (uint8_t)(t->pass - t->slots[i].pass) >= keep)
			slot_delete(t, i);
	}
}

size_t mxt_syn_delta_count(const struct mxt_syn_delta *t)
{
	return t->count;
}

size_t mxt_syn_delta_memory(const struct mxt_syn_delta *t)
{
	return sizeof(*t) + t->nslots * (sizeof(struct slot) + (t->tails ? sizeof(*t->tails) : 0));
}
