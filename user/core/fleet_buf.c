/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet_buf.c - see fleet_buf.h.  Open addressing with linear probing and
 * no deletion in place: entries leave only through the hourly rebuild
 * (mxt_fleet_buf_gc), so probing never meets a tombstone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_buf.h"

static uint64_t ent_hash(const struct mxt_key *k, uint32_t hour)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL ^ hour;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static int ent_is(const struct mxt_fleet_ent *e, const struct mxt_key *k, uint32_t hour)
{
	return e->used && e->hour == hour && !memcmp(&e->key, k, sizeof(*k));
}

struct mxt_fleet_buf *mxt_fleet_buf_new(size_t max)
{
	struct mxt_fleet_buf *b;
	size_t cap = 32;

	if (max < 16)
		max = 16;
	while (cap < 2 * max)
		cap *= 2;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->t = calloc(cap, sizeof(*b->t));
	b->q = calloc(max, sizeof(*b->q));
	if (!b->t || !b->q) {
		free(b->t);
		free(b->q);
		free(b);
		return NULL;
	}
	b->cap = cap;
	b->max = max;
	b->oldest = UINT32_MAX;
	return b;
}

void mxt_fleet_buf_free(struct mxt_fleet_buf *b)
{
	if (!b)
		return;
	free(b->t);
	free(b->q);
	free(b);
}

/* Put a slot on the pending list (at most once: nq <= n <= max). */
static void enqueue(struct mxt_fleet_buf *b, struct mxt_fleet_ent *e)
{
	if (e->queued)
		return;
	e->queued = 1;
	b->q[b->nq++] = (size_t)(e - b->t);
}

/* The slot of (key, hour), or the free slot where it would go. */
static struct mxt_fleet_ent *slot_of(struct mxt_fleet_buf *b, const struct mxt_key *k, uint32_t hour)
{
	size_t i = ent_hash(k, hour) & (b->cap - 1);

	while (b->t[i].used && !ent_is(&b->t[i], k, hour))
		i = (i + 1) & (b->cap - 1);
	return &b->t[i];
}

struct mxt_fleet_ent *mxt_fleet_buf_find(struct mxt_fleet_buf *b, const struct mxt_key *key, uint32_t hour)
{
	struct mxt_fleet_ent *e = slot_of(b, key, hour);

	return e->used ? e : NULL;
}

int mxt_fleet_buf_note(struct mxt_fleet_buf *b, const struct mxt_key *key, uint32_t hour,
		       enum mxt_fleet_cnt_idx idx, uint32_t n)
{
	struct mxt_fleet_ent *e;

	if ((unsigned)idx >= MXT_FLEET_NCNT)
		return -EINVAL;
	e = slot_of(b, key, hour);
	if (!e->used) {
		if (b->n >= b->max) {
			b->dropped += n;
			return -ENOSPC;
		}
		memset(e, 0, sizeof(*e));
		e->key = *key;
		e->hour = hour;
		e->used = 1;
		b->n++;
		if (hour < b->oldest)
			b->oldest = hour;
	}
	e->abs[idx] = (uint64_t)e->abs[idx] + n > UINT32_MAX ? UINT32_MAX : e->abs[idx] + n;
	enqueue(b, e);
	return 0;
}

static int ent_pending(const struct mxt_fleet_ent *e)
{
	if (e->hash_dirty)
		return 1;
	for (int i = 0; i < MXT_FLEET_NCNT; i++)
		if (e->abs[i] != e->sent[i])
			return 1;
	return 0;
}

int mxt_fleet_buf_pending(struct mxt_fleet_buf *b, mxt_fleet_ent_fn fn, void *ctx)
{
	size_t keep = 0, i;
	int rc = 0;

	/* Compacts the list as it goes: entries sent and acknowledged leave. */
	for (i = 0; i < b->nq; i++) {
		struct mxt_fleet_ent *e = &b->t[b->q[i]];

		if (!ent_pending(e)) {
			e->queued = 0;
			continue;
		}
		b->q[keep++] = b->q[i];
		if ((rc = fn(ctx, e)))
			break;
	}
	if (rc)
		for (i++; i < b->nq; i++)
			b->q[keep++] = b->q[i];
	b->nq = keep;
	return rc;
}

void mxt_fleet_buf_ack(struct mxt_fleet_buf *b, const struct mxt_key *key, uint32_t hour,
		       const uint32_t delta[MXT_FLEET_NCNT], const uint32_t abs[MXT_FLEET_NCNT])
{
	struct mxt_fleet_ent *e = mxt_fleet_buf_find(b, key, hour);
	int same = 1;

	if (!e)
		return;
	for (int i = 0; i < MXT_FLEET_NCNT; i++) {
		e->sent[i] += delta[i];
		if (e->sent[i] > e->abs[i])
			e->sent[i] = e->abs[i];
		same &= abs[i] == e->abs[i];
	}
	/* The hash holds 'abs'; newer counts rewrite it with the next batch. */
	if (same)
		e->hash_dirty = 0;
}

void mxt_fleet_buf_mark_all(struct mxt_fleet_buf *b)
{
	for (size_t i = 0; i < b->cap; i++)
		if (b->t[i].used) {
			b->t[i].hash_dirty = 1;
			enqueue(b, &b->t[i]);
		}
}

int mxt_fleet_buf_gc(struct mxt_fleet_buf *b, uint32_t keep_from)
{
	struct mxt_fleet_ent *old = b->t, *nt;
	size_t cap = b->cap;

	if (b->oldest >= keep_from)
		return (int)b->n;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	b->t = nt;
	b->n = 0;
	b->nq = 0;
	b->oldest = UINT32_MAX;
	for (size_t i = 0; i < cap; i++) {
		struct mxt_fleet_ent *e;

		if (!old[i].used || (old[i].hour < keep_from && !ent_pending(&old[i])))
			continue;
		e = slot_of(b, &old[i].key, old[i].hour);
		*e = old[i];
		e->queued = 0;
		if (ent_pending(e))
			enqueue(b, e);
		b->n++;
		if (e->hour < b->oldest)
			b->oldest = e->hour;
	}
	free(old);
	return (int)b->n;
}

size_t mxt_fleet_buf_backlog(const struct mxt_fleet_buf *b)
{
	/* The pending list, as of the last pass over it: O(1), because the
	 * fleet thread asks under the lock the policy thread notes under. */
	return b->nq;
}
