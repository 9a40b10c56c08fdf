/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet_buf.h - what one node saw, per source and clock hour, until Redis
 * has it: absolute counts (what the node admitted and deferred) and what
 * of them was acknowledged.  The policy thread notes into it (memory only,
 * O(1)); the fleet thread takes the differences as deltas and acknowledges
 * them once Redis has answered.  Bounded: a source-hour that does not fit
 * is dropped and counted, never a crash, never a wait.  Not thread-safe
 * (fleet.c holds its lock around every call).
 */
#ifndef MXT_FLEET_BUF_H
#define MXT_FLEET_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "fleet_proto.h"

struct mxt_fleet_ent {
	struct mxt_key key;
	uint32_t hour;
	uint32_t used;                 /* 0: free slot */
	uint32_t abs[MXT_FLEET_NCNT];  /* this node's counts in the hour */
	uint32_t sent[MXT_FLEET_NCNT]; /* ... of which Redis acknowledged */
	uint16_t hash_dirty;           /* the hour hash must be rewritten */
	uint16_t queued;               /* in the pending list */
};

struct mxt_fleet_buf {
	struct mxt_fleet_ent *t;
	size_t cap;         /* slots (power of two, 2 x max) */
	size_t n;           /* entries held */
	size_t max;         /* entries allowed */
	uint64_t dropped;   /* counts lost: the buffer was full */
	uint32_t oldest;    /* lowest hour held (for the hourly clean-up) */
	size_t *q;          /* slots that may have something to send */
	size_t nq;
};

/* A buffer for at most 'max' source-hours (>= 16).  NULL on ENOMEM. */
struct mxt_fleet_buf *mxt_fleet_buf_new(size_t max);
void mxt_fleet_buf_free(struct mxt_fleet_buf *b);

/* Add n to count idx of (key, hour).  0, or -ENOSPC (dropped, counted). */
int mxt_fleet_buf_note(struct mxt_fleet_buf *b, const struct mxt_key *key, uint32_t hour,
		       enum mxt_fleet_cnt_idx idx, uint32_t n);
/* The entry of (key, hour), or NULL. */
struct mxt_fleet_ent *mxt_fleet_buf_find(struct mxt_fleet_buf *b, const struct mxt_key *key,
					 uint32_t hour);
/* Entries with something to send: unacknowledged counts or a hash to
 * rewrite.  Visits them in table order; fn returns non-zero to stop. */
typedef int (*mxt_fleet_ent_fn)(void *ctx, struct mxt_fleet_ent *e);
int mxt_fleet_buf_pending(struct mxt_fleet_buf *b, mxt_fleet_ent_fn fn, void *ctx);
/* Redis has 'delta' of (key, hour) and the hash at 'abs': acknowledge. */
void mxt_fleet_buf_ack(struct mxt_fleet_buf *b, const struct mxt_key *key, uint32_t hour,
		       const uint32_t delta[MXT_FLEET_NCNT], const uint32_t abs[MXT_FLEET_NCNT]);
/* Every hash to be rewritten (Redis lost its data). */
void mxt_fleet_buf_mark_all(struct mxt_fleet_buf *b);
/* Drop acknowledged entries of hours before 'keep_from'; returns entries
 * left.  -ENOMEM leaves the buffer as it was. */
int mxt_fleet_buf_gc(struct mxt_fleet_buf *b, uint32_t keep_from);
/* Entries with unacknowledged counts (or acknowledged since the last
 * mxt_fleet_buf_pending() pass: it is exact after one). */
size_t mxt_fleet_buf_backlog(const struct mxt_fleet_buf *b);

#endif /* MXT_FLEET_BUF_H */
