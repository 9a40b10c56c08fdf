/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * history_db.h - persistence of the model's sender records (model.h) in
 * LMDB: one file (MDB_NOSUBDIR, plus LMDB's "<path>-lock"), two named
 * databases:
 *
 *   "meta"     key "schema": the header (below), written in the same
 *              transaction as the records it describes.
 *   "senders"  key: 18 bytes = family, prefixlen, 16 address bytes
 *              (network order); value: one record, schema 2 (below).
 *
 * Checkpoints are one write transaction each: LMDB's copy-on-write B-tree
 * only switches its meta page at commit, so a crash (or an abort) in the
 * middle of a checkpoint leaves the previous checkpoint intact and
 * loadable.  A checkpoint is either full (the "senders" db is emptied and
 * rewritten, records appended in key order) or dirty-only (records changed
 * since the last checkpoint are written, forgotten ones deleted); a
 * dirty-only checkpoint falls back to full when the model lost track of
 * deletions.  SYN-only (NEW) sources are not history and are not saved.
 *
 * Encoding: explicit little-endian, fixed width, never a raw struct.
 *   header (48 bytes): magic "MXTHIST\0", u32 schema, u32 record length,
 *     u64 created, u64 last checkpoint, u64 records, u64 checkpoints
 *   record, schema 1 (144 bytes):
 *     0 u16 record version (1)   2 u16 length (144)
 *     4 u8 state  5 u8 prev_state  6 u8 code  7 u8 kclass  8 u8 flags
 *     9 u8 wd_days  10 u8 we_days  11 u8 sess (schema 1: 0)
 *    12 u16 days_active  14 u16 day_deferred  16 u16 hour_sessions  18 u16 krate
 *    20 u32 first_seen  24 anchor_hour  28 state_since  32 last_session
 *    36 last_seen  40 hour  44 hour_rcpts  48 day_sessions  52 rate_t  56 cool_from
 *    60 f32 r_fast  64 r_slow  68 rr  72 syn_rate  76 rps   (IEEE-754 bits)
 *    80 u16 wd[24]  128 u16 we[8]
 *   schema 2 (264 bytes): the same 144, then
 *   144 f32 cusum  148 backlog  152 young  156 u32 cusum_t
 *   160 u16 hour_demand  162 hour_peak  164 day_bdef  166 trig_rate
 *   168 trig_base  170 trig_thr  172 burst  174 wk_seen
 *   176 u8 trig  177 end_why  178 disp  179 0  180 u8 wk[84]
 * A schema 1 database is loaded (the new fields start empty) and the
 * next checkpoint rewrites it whole as schema 2.
 * A database of another schema (or not a history db at all) is refused
 * with -EPROTO and a message that says what was found.
 *
 * Threads: one handle per process, used by one thread at a time; LMDB's
 * own lock file serialises writers of different processes.  A daemon
 * whose model is shared between threads checkpoints in three steps so
 * that its model lock never spans the disk: mxt_hdb_snapshot_need() and
 * mxt_hdb_snapshot_take() under the lock (memory copies only; the
 * allocation, mxt_hdb_snapshot_reserve(), happens between the two,
 * outside it), then mxt_hdb_snapshot_write() without the lock.
 * mxt_hdb_checkpoint() does all three for single-threaded callers.
 */
#ifndef MXT_HISTORY_DB_H
#define MXT_HISTORY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define MXT_HDB_SCHEMA      2
#define MXT_HDB_RECORD_LEN  264
#define MXT_HDB_RECORD_LEN_V1 144  /* schema 1: read, rewritten as 2 */
#define MXT_HDB_KEY_LEN     18
#define MXT_HDB_HEADER_LEN  48
#define MXT_HDB_MAGIC       "MXTHIST"   /* + NUL: 8 bytes */

/* mxt_hdb_open() flags */
#define MXT_HDB_RDONLY      0x1   /* read only (CLI inspection) */
/* mxt_hdb_checkpoint() flags */
#define MXT_HDB_DIRTY_ONLY  0x1   /* write changed records, delete forgotten ones */

struct mxt_hdb;

/* What the header says. */
struct mxt_hdb_info {
	uint32_t schema;
	uint32_t record_len;
	uint64_t created;          /* unix s */
	uint64_t last_checkpoint;  /* unix s (0: never) */
	uint64_t records;          /* as counted at the last checkpoint */
	uint64_t checkpoints;
	uint64_t map_size;         /* bytes LMDB may grow the file to */
};

/* What a checkpoint or load did. */
struct mxt_hdb_stats {
	uint64_t written;      /* records put */
	uint64_t deleted;      /* records deleted (dirty checkpoint) */
	uint64_t loaded;       /* records restored into the model */
	uint64_t skipped_full; /* not restored: model full */
	uint64_t skipped_bad;  /* not restored: undecodable record */
	int full;              /* the checkpoint rewrote everything */
};

/* Open or create the history at 'path', sized for 'max_records' (>= 2M
 * advised; 0: 2M); 'now' stamps a new header.  0 or -errno with 'err'
 * saying why (-EPROTO: another schema or not a history db). */
int mxt_hdb_open(const char *path, size_t max_records, unsigned flags, uint64_t now,
		 struct mxt_hdb **out, char *err, size_t errlen);
/* Close (NULL is fine). */
void mxt_hdb_close(struct mxt_hdb *db);
/* Save the model's records in one transaction (flags: MXT_HDB_DIRTY_ONLY);
 * on success the model's dirty flags are cleared.  0 or -errno. */
int mxt_hdb_checkpoint(struct mxt_hdb *db, struct mxt_model *m, uint64_t now, unsigned flags,
		       struct mxt_hdb_stats *st);
/* What a checkpoint writes, copied out of the model: the records (all,
 * or only the dirty ones) and the keys forgotten since the last one. */
struct mxt_hdb_snapshot {
	struct mxt_sender *recs;       /* copies of the records to put */
	size_t n, cap;
	struct mxt_key *removed;       /* keys to delete (dirty-only) */
	size_t nremoved, cap_removed;
	const struct mxt_sender **order; /* recs in key order (write's own) */
	int full;                      /* empty the db, then write recs */
};
/* Upper bounds of what a snapshot of 'm' needs now (model lock held). */
void mxt_hdb_snapshot_need(const struct mxt_model *m, size_t *records, size_t *removed);
/* Make room for that many (no lock needed).  0 or -ENOMEM. */
int mxt_hdb_snapshot_reserve(struct mxt_hdb_snapshot *snap, size_t records, size_t removed);
/* Copy what a checkpoint with 'flags' writes (model lock held; no
 * allocation, no syscall).  0, or -ENOBUFS when the model grew past the
 * reserve since mxt_hdb_snapshot_need() (reserve more and retry).  The
 * model's dirty flags are left to the caller (mxt_model_mark_clean). */
int mxt_hdb_snapshot_take(struct mxt_hdb_snapshot *snap, const struct mxt_model *m, unsigned flags);
/* Write a snapshot in one transaction (the put hook applies).  0 or -errno. */
int mxt_hdb_snapshot_write(struct mxt_hdb *db, struct mxt_hdb_snapshot *snap, uint64_t now,
			   struct mxt_hdb_stats *st);
/* Release a snapshot's memory. */
void mxt_hdb_snapshot_free(struct mxt_hdb_snapshot *snap);
/* Restore every record into the model.  0 or -errno. */
int mxt_hdb_load(struct mxt_hdb *db, struct mxt_model *m, struct mxt_hdb_stats *st);
/* The header.  0 or -errno. */
int mxt_hdb_info(struct mxt_hdb *db, struct mxt_hdb_info *info);
/* Write a compacting copy of the history to 'fd' (history_recover.c's
 * good copy); runs in a read transaction, beside checkpoints.  0 or -errno. */
int mxt_hdb_copy_fd(struct mxt_hdb *db, int fd);
/* Text of the last error of this handle ("" when none). */
const char *mxt_hdb_error(const struct mxt_hdb *db);

/* Encoding, exposed for tests and tools. */
void mxt_hdb_encode_key(const struct mxt_key *k, uint8_t out[MXT_HDB_KEY_LEN]);
/* Encode 's' into buf (>= MXT_HDB_RECORD_LEN): returns the length or -ENOSPC. */
int mxt_hdb_encode(const struct mxt_sender *s, uint8_t *buf, size_t len);
/* Decode a key and a value into 's': 0 or -EINVAL (-EPROTO: other version). */
int mxt_hdb_decode(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
		   struct mxt_sender *s);

/* Test hook: called after each record put by a checkpoint with the count
 * so far; a non-zero return aborts the checkpoint (-ECANCELED). */
typedef int (*mxt_hdb_put_hook)(void *ctx, uint64_t written);
void mxt_hdb_set_put_hook(struct mxt_hdb *db, mxt_hdb_put_hook hook, void *ctx);

#endif /* MXT_HISTORY_DB_H */
