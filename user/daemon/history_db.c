/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * history_db.c - the model's sender records in LMDB (format and crash
 * semantics in history_db.h).  Every record crosses the process boundary
 * through mxt_hdb_encode()/mxt_hdb_decode(): fixed-width little-endian
 * fields, checked lengths, a record version; never raw struct memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "errfmt.h"
#include "hdb_probe.h"
#include "history_db.h"

#define DB_META    "meta"
#define DB_SENDERS "senders"
#define META_KEY   "schema"
#define DEFAULT_RECORDS  (2u * 1024 * 1024)
#define BYTES_PER_RECORD 400u              /* key + value + node + page slack */
#define MIN_MAP          (64ull << 20)

struct mxt_hdb {
	MDB_env *env;
	MDB_dbi meta, senders;
	unsigned flags;
	char path[4096];
	char err[512];
	mxt_hdb_put_hook hook;
	void *hook_ctx;
};

/* ------------------------------------------------------------------ */
/* little-endian encoding                                             */

/* Store v little-endian at p. */
static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}
static inline void putf(uint8_t *p, float f)
{
	uint32_t b;

	memcpy(&b, &f, sizeof(b));
	put32(p, b);
}

/* Load a little-endian value from p. */
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }
static inline uint64_t get64(const uint8_t *p) { return get32(p) | ((uint64_t)get32(p + 4) << 32); }
static inline float getf(const uint8_t *p)
{
	uint32_t b = get32(p);
	float f;

	memcpy(&f, &b, sizeof(f));
	return f;
}

/* The 18-byte database key of a source. */
void mxt_hdb_encode_key(const struct mxt_key *k, uint8_t out[MXT_HDB_KEY_LEN])
{
	out[0] = k->family;
	out[1] = k->prefixlen;
	memcpy(out + 2, k->addr, 16);
}

/* Encode one record (schema 1). */
int mxt_hdb_encode(const struct mxt_sender *s, uint8_t *b, size_t len)
{
	unsigned int i;

	if (len < MXT_HDB_RECORD_LEN)
		return -ENOSPC;
	memset(b, 0, MXT_HDB_RECORD_LEN);
	put16(b + 0, MXT_HDB_SCHEMA);
	put16(b + 2, MXT_HDB_RECORD_LEN);
	b[4] = s->state;
	b[5] = s->prev_state;
	b[6] = s->code;
	b[7] = s->kclass;
	b[8] = (uint8_t)(s->flags & ~MXT_SF_VOLATILE);
	b[9] = s->wd_days;
	b[10] = s->we_days;
	b[11] = s->sess;
	put16(b + 12, s->days_active);
	put16(b + 14, s->day_deferred);
	put16(b + 16, s->hour_sessions);
	put16(b + 18, s->krate);
	put32(b + 20, s->first_seen);
	put32(b + 24, s->anchor_hour);
	put32(b + 28, s->state_since);
	put32(b + 32, s->last_session);
	put32(b + 36, s->last_seen);
	put32(b + 40, s->hour);
	put32(b + 44, s->hour_rcpts);
	put32(b + 48, s->day_sessions);
	put32(b + 52, s->rate_t);
	put32(b + 56, s->cool_from);
	putf(b + 60, s->r_fast);
	putf(b + 64, s->r_slow);
	putf(b + 68, s->rr);
	putf(b + 72, s->syn_rate);
	putf(b + 76, s->rps);
	for (i = 0; i < 24; i++)
		put16(b + 80 + 2 * i, s->wd[i]);
	for (i = 0; i < 8; i++)
		put16(b + 128 + 2 * i, s->we[i]);
	/* schema 2 */
	putf(b + 144, s->cusum);
	putf(b + 148, s->backlog);
	putf(b + 152, s->young);
	put32(b + 156, s->cusum_t);
	put16(b + 160, s->hour_demand);
	put16(b + 162, s->hour_peak);
	put16(b + 164, s->day_bdef);
	put16(b + 166, s->trig_rate);
	put16(b + 168, s->trig_base);
	put16(b + 170, s->trig_thr);
	put16(b + 172, s->burst);
	put16(b + 174, s->wk_seen);
	b[176] = s->trig;
	b[177] = s->end_why;
	b[178] = s->disp;
	memcpy(b + 180, s->wk, sizeof(s->wk));
	return MXT_HDB_RECORD_LEN;
}

/* Decode one key + record; range-checks what the model relies on. */
int mxt_hdb_decode(const uint8_t *key, size_t klen, const uint8_t *b, size_t vlen,
		   struct mxt_sender *s)
{
	unsigned int i, bits;

	if (!key || !b || !s || klen != MXT_HDB_KEY_LEN || vlen < 4)
		return -EINVAL;
	if (get16(b) != MXT_HDB_SCHEMA && get16(b) != 1)
		return -EPROTO;
	if (get16(b + 2) != vlen ||
	    vlen != (get16(b) == 1 ? MXT_HDB_RECORD_LEN_V1 : MXT_HDB_RECORD_LEN))
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->key.family = key[0];
	s->key.prefixlen = key[1];
	memcpy(s->key.addr, key + 2, 16);
	bits = s->key.family == MXT_FAMILY_IPV4 ? 32 : s->key.family == MXT_FAMILY_IPV6 ? 128 : 0;
	if (!bits || s->key.prefixlen > bits)
		return -EINVAL;
	s->state = b[4];
	s->prev_state = b[5];
	s->code = b[6];
	s->kclass = b[7];
	s->flags = (uint8_t)(b[8] & ~MXT_SF_VOLATILE);
	s->wd_days = b[9];
	s->we_days = b[10];
	s->sess = b[11];
	if (s->state >= MXT_STATE_MAX || s->prev_state >= MXT_STATE_MAX ||
	    s->code >= MXT_CODE_MAX || s->kclass >= MXT_CLASS_MAX)
		return -EINVAL;
	s->days_active = get16(b + 12);
	s->day_deferred = get16(b + 14);
	s->hour_sessions = get16(b + 16);
	s->krate = get16(b + 18);
	s->first_seen = get32(b + 20);
	s->anchor_hour = get32(b + 24);
	s->state_since = get32(b + 28);
	s->last_session = get32(b + 32);
	s->last_seen = get32(b + 36);
	s->hour = get32(b + 40);
	s->hour_rcpts = get32(b + 44);
	s->day_sessions = get32(b + 48);
	s->rate_t = get32(b + 52);
	s->cool_from = get32(b + 56);
	s->r_fast = getf(b + 60);
	s->r_slow = getf(b + 64);
	s->rr = getf(b + 68);
	s->syn_rate = getf(b + 72);
	s->rps = getf(b + 76);
	if (!(s->r_fast >= 0) || !(s->r_slow >= 0) || !(s->rr >= 0) || !(s->syn_rate >= 0) ||
	    !(s->rps >= 0) || s->r_fast > 1e30f || s->r_slow > 1e30f || s->rr > 1e30f ||
	    s->syn_rate > 1e30f || s->rps > 1e30f)
		return -EINVAL; /* NaN, negative or absurd */
	for (i = 0; i < 24; i++)
		s->wd[i] = get16(b + 80 + 2 * i);
	for (i = 0; i < 8; i++)
		s->we[i] = get16(b + 128 + 2 * i);
	s->disp = 8;
	s->cusum_t = s->rate_t;
	if (vlen == MXT_HDB_RECORD_LEN_V1)
		return 0; /* schema 1: no hour-of-week profile or throttle details yet */
	s->cusum = getf(b + 144);
	s->backlog = getf(b + 148);
	s->young = getf(b + 152);
	if (!(s->cusum >= 0) || !(s->backlog >= 0) || !(s->young >= 0) || s->cusum > 1e30f ||
	    s->backlog > 1e30f || s->young > 1e30f)
		return -EINVAL;
	s->cusum_t = get32(b + 156);
	s->hour_demand = get16(b + 160);
	s->hour_peak = get16(b + 162);
	s->day_bdef = get16(b + 164);
	s->trig_rate = get16(b + 166);
	s->trig_base = get16(b + 168);
	s->trig_thr = get16(b + 170);
	s->burst = get16(b + 172);
	s->wk_seen = get16(b + 174);
	s->trig = b[176];
	s->end_why = b[177];
	s->disp = b[178] ? b[178] : 8;
	if (s->trig >= MXT_CHECK_MAX || s->end_why >= MXT_END_MAX)
		return -EINVAL;
	memcpy(s->wk, b + 180, sizeof(s->wk));
	return 0;
}

/* LMDB return code -> -errno. */
static int mdb_errno(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_PAGE_FULL:
	case MDB_DBS_FULL:
	case MDB_READERS_FULL:
		return -ENOSPC;
	case MDB_NOTFOUND:
		return -ENOENT;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE:
		return -EPROTO;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return -EIO;
	default:
		return rc > 0 ? -rc : -EIO;
	}
}

/* Text of the last error. */
const char *mxt_hdb_error(const struct mxt_hdb *db)
{
	return db ? db->err : "";
}

/* ------------------------------------------------------------------ */
/* header                                                             */

/* Encode a header. */
static void header_encode(const struct mxt_hdb_info *h, uint8_t b[MXT_HDB_HEADER_LEN])
{
	memset(b, 0, MXT_HDB_HEADER_LEN);
	memcpy(b, MXT_HDB_MAGIC, sizeof(MXT_HDB_MAGIC)); /* with its NUL: 8 bytes */
	put32(b + 8, h->schema);
	put32(b + 12, h->record_len);
	put64(b + 16, h->created);
	put64(b + 24, h->last_checkpoint);
	put64(b + 32, h->records);
	put64(b + 40, h->checkpoints);
}

/* Read the header in txn; -ENOENT when absent, -EPROTO when foreign. */
static int header_read(struct mxt_hdb *db, MDB_txn *txn, struct mxt_hdb_info *h)
{
	MDB_val k = { sizeof(META_KEY) - 1, (void *)META_KEY }, v;
	const uint8_t *b;
	int rc;

	rc = mdb_get(txn, db->meta, &k, &v);
	if (rc)
		return mdb_errno(rc);
	b = v.mv_data;
	if (v.mv_size < 16 || memcmp(b, MXT_HDB_MAGIC, sizeof(MXT_HDB_MAGIC)) != 0) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: header is not an mxthrottle history header",
			   db->path);
		return -EPROTO;
	}
	memset(h, 0, sizeof(*h));
	h->schema = get32(b + 8);
	h->record_len = get32(b + 12);
	/* schema 1 is read (its records lack the schema 2 tail) and the next
	 * checkpoint rewrites everything as schema 2 */
	if (!((h->schema == MXT_HDB_SCHEMA && h->record_len == MXT_HDB_RECORD_LEN) ||
	      (h->schema == 1 && h->record_len == MXT_HDB_RECORD_LEN_V1)) ||
	    v.mv_size != MXT_HDB_HEADER_LEN) {
		mxt_seterr(db->err, sizeof(db->err),
			   "history db %s: schema version %u (records of %u bytes), this build reads "
			   "version %u (%u bytes): refusing to load it; move it away to start a new history",
			   db->path, h->schema, h->record_len, MXT_HDB_SCHEMA, MXT_HDB_RECORD_LEN);
		return -EPROTO;
	}
	h->created = get64(b + 16);
	h->last_checkpoint = get64(b + 24);
	h->records = get64(b + 32);
	h->checkpoints = get64(b + 40);
	return 0;
}

/* Write the header in txn. */
static int header_write(struct mxt_hdb *db, MDB_txn *txn, const struct mxt_hdb_info *h)
{
	uint8_t b[MXT_HDB_HEADER_LEN];
	MDB_val k = { sizeof(META_KEY) - 1, (void *)META_KEY }, v = { sizeof(b), b };

	header_encode(h, b);
	return mdb_errno(mdb_put(txn, db->meta, &k, &v, 0));
}

/* ------------------------------------------------------------------ */
/* open / close                                                       */

/* Rewrite every record of an older schema as this one, and the header,
 * in txn (at open, so that checkpoints only ever write one schema). */
static int upgrade_records(struct mxt_hdb *db, MDB_txn *txn, struct mxt_hdb_info *h)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = mdb_errno(mdb_cursor_open(txn, db->senders, &cur));
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t vb[MXT_HDB_RECORD_LEN];
		struct mxt_sender s;
		MDB_val nv = { sizeof(vb), vb };
		int r;

		if (mxt_hdb_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &s))
			continue; /* left for the load to count as undecodable */
		mxt_hdb_encode(&s, vb, sizeof(vb));
		r = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT);
		if (r) {
			mdb_cursor_close(cur);
			return mdb_errno(r);
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return mdb_errno(rc);
	h->schema = MXT_HDB_SCHEMA;
	h->record_len = MXT_HDB_RECORD_LEN;
	return header_write(db, txn, h);
}

/* Open or create the history at 'path'. */
int mxt_hdb_open(const char *path, size_t max_records, unsigned flags, uint64_t now,
		 struct mxt_hdb **out, char *err, size_t errlen)
{
	struct mxt_hdb *db;
	struct mxt_hdb_info h;
	MDB_txn *txn = NULL;
	MDB_stat st;
	unsigned envflags = MDB_NOSUBDIR | MDB_NOTLS;
	unsigned dbflags = (flags & MXT_HDB_RDONLY) ? 0 : MDB_CREATE;
	uint64_t map;
	int rc;

	if (!path || !out) {
		mxt_seterr(err, errlen, "history db: no path");
		return -EINVAL;
	}
	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db) {
		mxt_seterr(err, errlen, "history db %s: out of memory", path);
		return -ENOMEM;
	}
	db->flags = flags;
	if (snprintf(db->path, sizeof(db->path), "%s", path) >= (int)sizeof(db->path)) {
		mxt_seterr(err, errlen, "history db: path too long");
		free(db);
		return -ENAMETOOLONG;
	}
	if (!max_records)
		max_records = DEFAULT_RECORDS;
	map = (uint64_t)max_records * BYTES_PER_RECORD;
	if (map < MIN_MAP)
		map = MIN_MAP;
	if (flags & MXT_HDB_RDONLY)
		envflags |= MDB_RDONLY;
	/* LMDB trusts the file it maps: read it once where a crash is harmless. */
	rc = mxt_hdb_probe(path, (size_t)map, err, errlen);
	if (rc) {
		free(db);
		return rc;
	}
	rc = mdb_env_create(&db->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(db->env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(db->env, (size_t)map);
	if (!rc)
		rc = mdb_env_open(db->env, path, envflags, 0600);
	if (rc) {
		mxt_seterr(err, errlen, "history db %s: %s", path,
			   rc == MDB_INVALID ? "not an LMDB file (not an mxthrottle history)"
					 : mdb_strerror(rc));
		rc = mdb_errno(rc);
		goto fail;
	}
	rc = mdb_txn_begin(db->env, NULL, (flags & MXT_HDB_RDONLY) ? MDB_RDONLY : 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, DB_META, dbflags, &db->meta);
	if (!rc)
		rc = mdb_dbi_open(txn, DB_SENDERS, dbflags, &db->senders);
	if (rc) {
		mxt_seterr(err, errlen, "history db %s: %s", path,
			   rc == MDB_NOTFOUND ? "not an mxthrottle history (no meta/senders databases)"
					  : mdb_strerror(rc));
		rc = rc == MDB_NOTFOUND ? -EPROTO : mdb_errno(rc);
		goto fail;
	}
	rc = header_read(db, txn, &h);
	if (!rc && h.schema != MXT_HDB_SCHEMA && !(flags & MXT_HDB_RDONLY)) {
		rc = upgrade_records(db, txn, &h);
		if (rc) {
			mxt_seterr(err, errlen, "history db %s: upgrading schema %u: %s", path,
				   h.schema, strerror(-rc));
			goto fail;
		}
	}
	if (rc == -ENOENT) {
		rc = mdb_stat(txn, db->senders, &st);
		if (!rc && st.ms_entries) {
			mxt_seterr(err, errlen, "history db %s: records without a header: refusing it",
				   path);
			rc = -EPROTO;
			goto fail;
		}
		if (flags & MXT_HDB_RDONLY) {
			mxt_seterr(err, errlen, "history db %s: empty (no header)", path);
			rc = -ENOENT;
			goto fail;
		}
		memset(&h, 0, sizeof(h));
		h.schema = MXT_HDB_SCHEMA;
		h.record_len = MXT_HDB_RECORD_LEN;
		h.created = now;
		rc = header_write(db, txn, &h);
		if (rc) {
			mxt_seterr(err, errlen, "history db %s: writing the header: %s", path,
				   strerror(-rc));
			goto fail;
		}
	} else if (rc) {
		mxt_seterr(err, errlen, "%s", db->err[0] ? db->err : "history db: bad header");
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc) {
		mxt_seterr(err, errlen, "history db %s: %s", path, mdb_strerror(rc));
		rc = mdb_errno(rc);
		goto fail;
	}
	*out = db;
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	if (db->env)
		mdb_env_close(db->env);
	free(db);
	return rc;
}

/* Close. */
void mxt_hdb_close(struct mxt_hdb *db)
{
	if (!db)
		return;
	if (db->env)
		mdb_env_close(db->env);
	free(db);
}

int mxt_hdb_copy_fd(struct mxt_hdb *db, int fd)
{
	if (!db || fd < 0)
		return -EINVAL;
	return mdb_errno(mdb_env_copyfd2(db->env, fd, MDB_CP_COMPACT));
}

/* Install the test hook. */
void mxt_hdb_set_put_hook(struct mxt_hdb *db, mxt_hdb_put_hook hook, void *ctx)
{
	if (!db)
		return;
	db->hook = hook;
	db->hook_ctx = ctx;
}

/* The header. */
int mxt_hdb_info(struct mxt_hdb *db, struct mxt_hdb_info *info)
{
	MDB_envinfo ei;
	MDB_txn *txn;
	int rc;

	if (!db || !info)
		return -EINVAL;
	rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return mdb_errno(rc);
	rc = header_read(db, txn, info);
	mdb_txn_abort(txn);
	if (!rc && !mdb_env_info(db->env, &ei))
		info->map_size = ei.me_mapsize;
	return rc;
}

/* ------------------------------------------------------------------ */
/* checkpoint                                                         */

/* Snapshot: size, fill (under the caller's model lock), release. */
int mxt_hdb_snapshot_reserve(struct mxt_hdb_snapshot *snap, size_t records, size_t removed)
{
	if (records > snap->cap) {
		struct mxt_sender *v = realloc(snap->recs, records * sizeof(*v));

		if (!v)
			return -ENOMEM;
		/* Fault the pages in now: the copy under the lock must not. */
		memset(v + snap->cap, 0, (records - snap->cap) * sizeof(*v));
		snap->recs = v;
		snap->cap = records;
	}
	if (removed > snap->cap_removed) {
		struct mxt_key *k = realloc(snap->removed, removed * sizeof(*k));

		if (!k)
			return -ENOMEM;
		snap->removed = k;
		snap->cap_removed = removed;
	}
	return 0;
}

void mxt_hdb_snapshot_free(struct mxt_hdb_snapshot *snap)
{
	free(snap->recs);
	free(snap->removed);
	free(snap->order);
	memset(snap, 0, sizeof(*snap));
}

/* Count a forgotten key. */
static int count_key_fn(void *ctx, const struct mxt_key *k)
{
	(void)k;
	(*(size_t *)ctx)++;
	return 0;
}

void mxt_hdb_snapshot_need(const struct mxt_model *m, size_t *records, size_t *removed)
{
	*records = mxt_model_count(m);
	*removed = 0;
	mxt_model_foreach_removed(m, count_key_fn, removed);
}

/* Iteration callback: copy one record. */
static int copy_rec_fn(void *ctx, const struct mxt_sender *s)
{
	struct mxt_hdb_snapshot *snap = ctx;

	if (snap->n == snap->cap)
		return -ENOBUFS;
	snap->recs[snap->n++] = *s;
	return 0;
}

/* Iteration callback: copy one forgotten key. */
static int copy_key_fn(void *ctx, const struct mxt_key *k)
{
	struct mxt_hdb_snapshot *snap = ctx;

	if (snap->nremoved == snap->cap_removed)
		return -ENOBUFS;
	snap->removed[snap->nremoved++] = *k;
	return 0;
}

int mxt_hdb_snapshot_take(struct mxt_hdb_snapshot *snap, const struct mxt_model *m, unsigned flags)
{
	snap->full = !(flags & MXT_HDB_DIRTY_ONLY) || mxt_model_removed_overflow(m);
	snap->n = 0;
	snap->nremoved = 0;
	if (!snap->full) {
		int rc = mxt_model_foreach_removed(m, copy_key_fn, snap);

		if (rc)
			return rc;
	}
	return mxt_model_foreach(m, MXT_ITER_PERSIST | (snap->full ? 0 : MXT_ITER_DIRTY),
				 copy_rec_fn, snap);
}

/* Order records by their database key. */
static int cmp_key(const void *a, const void *b)
{
	const struct mxt_sender *x = *(const struct mxt_sender *const *)a;
	const struct mxt_sender *y = *(const struct mxt_sender *const *)b;
	uint8_t kx[MXT_HDB_KEY_LEN], ky[MXT_HDB_KEY_LEN];

	mxt_hdb_encode_key(&x->key, kx);
	mxt_hdb_encode_key(&y->key, ky);
	return memcmp(kx, ky, sizeof(kx));
}

/* Delete the snapshot's forgotten keys (absent is fine). */
static int delete_removed(struct mxt_hdb *db, MDB_txn *txn, const struct mxt_hdb_snapshot *snap,
			  uint64_t *deleted)
{
	uint8_t kb[MXT_HDB_KEY_LEN];
	MDB_val key = { sizeof(kb), kb };

	for (size_t i = 0; i < snap->nremoved; i++) {
		int rc;

		mxt_hdb_encode_key(&snap->removed[i], kb);
		rc = mdb_del(txn, db->senders, &key, NULL);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc)
			return mdb_errno(rc);
		(*deleted)++;
	}
	return 0;
}

/* One attempt at a checkpoint transaction. */
static int checkpoint_txn(struct mxt_hdb *db, const struct mxt_hdb_snapshot *snap, uint64_t now,
			  struct mxt_hdb_stats *st)
{
	struct mxt_hdb_info h;
	uint8_t kb[MXT_HDB_KEY_LEN], vb[MXT_HDB_RECORD_LEN];
	MDB_val key = { sizeof(kb), kb }, val = { sizeof(vb), vb };
	MDB_txn *txn = NULL;
	MDB_stat ms;
	uint64_t deleted = 0;
	size_t i;
	int rc;

	rc = mdb_errno(mdb_txn_begin(db->env, NULL, 0, &txn));
	if (rc) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: begin: %s", db->path, strerror(-rc));
		return rc;
	}
	rc = header_read(db, txn, &h);
	if (rc)
		goto abort;
	if (snap->full) {
		rc = mdb_errno(mdb_drop(txn, db->senders, 0));
		if (rc) {
			mxt_seterr(db->err, sizeof(db->err), "history db %s: emptying: %s", db->path, strerror(-rc));
			goto abort;
		}
	} else {
		rc = delete_removed(db, txn, snap, &deleted);
		if (rc) {
			mxt_seterr(db->err, sizeof(db->err), "history db %s: delete: %s", db->path, strerror(-rc));
			goto abort;
		}
	}
	for (i = 0; i < snap->n; i++) {
		mxt_hdb_encode_key(&snap->order[i]->key, kb);
		mxt_hdb_encode(snap->order[i], vb, sizeof(vb));
		rc = mdb_errno(mdb_put(txn, db->senders, &key, &val, snap->full ? MDB_APPEND : 0));
		if (rc) {
			mxt_seterr(db->err, sizeof(db->err), "history db %s: put: %s", db->path, strerror(-rc));
			goto abort;
		}
		if (db->hook && db->hook(db->hook_ctx, i + 1)) {
			mxt_seterr(db->err, sizeof(db->err), "history db %s: checkpoint cancelled", db->path);
			rc = -ECANCELED;
			goto abort;
		}
	}
	rc = mdb_errno(mdb_stat(txn, db->senders, &ms));
	if (rc)
		goto abort;
	h.last_checkpoint = now;
	h.records = ms.ms_entries;
	h.checkpoints++;
	rc = header_write(db, txn, &h);
	if (rc) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: header: %s", db->path, strerror(-rc));
		goto abort;
	}
	rc = mdb_errno(mdb_txn_commit(txn));
	txn = NULL;
	if (rc) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: commit: %s", db->path, strerror(-rc));
		return rc;
	}
	st->written = snap->n;
	st->deleted = deleted;
	st->full = snap->full;
	return 0;
abort:
	mdb_txn_abort(txn);
	return rc;
}

/* Write a snapshot in one transaction (no model involved: no lock). */
int mxt_hdb_snapshot_write(struct mxt_hdb *db, struct mxt_hdb_snapshot *snap, uint64_t now,
			   struct mxt_hdb_stats *st)
{
	struct mxt_hdb_stats local;
	int rc = 0, attempt;

	if (!db || !snap)
		return -EINVAL;
	if (db->flags & MXT_HDB_RDONLY) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: opened read-only", db->path);
		return -EROFS;
	}
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	db->err[0] = 0;
	free(snap->order);
	snap->order = malloc((snap->n ? snap->n : 1) * sizeof(*snap->order));
	if (!snap->order)
		return -ENOMEM;
	for (size_t i = 0; i < snap->n; i++)
		snap->order[i] = &snap->recs[i];
	qsort(snap->order, snap->n, sizeof(*snap->order), cmp_key);
	for (attempt = 0; attempt < 4; attempt++) {
		MDB_envinfo ei;

		rc = checkpoint_txn(db, snap, now, st);
		if (rc != -ENOSPC || mdb_env_info(db->env, &ei))
			break;
		/* Map full: grow it (no transaction is open now) and retry. */
		if (mdb_env_set_mapsize(db->env, ei.me_mapsize * 2))
			break;
	}
	if (!rc)
		db->err[0] = 0; /* a map-full first attempt is not an error */
	return rc;
}

/* Save the model's records in one transaction: snapshot, write, and mark
 * the model clean only once the write is committed. */
int mxt_hdb_checkpoint(struct mxt_hdb *db, struct mxt_model *m, uint64_t now, unsigned flags,
		       struct mxt_hdb_stats *st)
{
	struct mxt_hdb_snapshot snap = { 0 };
	size_t nrec, nrm;
	int rc;

	if (!db || !m)
		return -EINVAL;
	mxt_hdb_snapshot_need(m, &nrec, &nrm);
	rc = mxt_hdb_snapshot_reserve(&snap, nrec ? nrec : 1, nrm ? nrm : 1);
	if (!rc)
		rc = mxt_hdb_snapshot_take(&snap, m, flags);
	if (!rc)
		rc = mxt_hdb_snapshot_write(db, &snap, now, st);
	if (!rc)
		mxt_model_mark_clean(m);
	mxt_hdb_snapshot_free(&snap);
	return rc;
}

/* ------------------------------------------------------------------ */
/* load                                                               */

/* Restore every record into the model. */
int mxt_hdb_load(struct mxt_hdb *db, struct mxt_model *m, struct mxt_hdb_stats *st)
{
	struct mxt_hdb_stats local;
	struct mxt_hdb_info h;
	struct mxt_sender s;
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, mrc;

	if (!db || !m)
		return -EINVAL;
	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	db->err[0] = 0;
	rc = mdb_errno(mdb_txn_begin(db->env, NULL, MDB_RDONLY, &txn));
	if (rc) {
		mxt_seterr(db->err, sizeof(db->err), "history db %s: begin: %s", db->path, strerror(-rc));
		return rc;
	}
	rc = header_read(db, txn, &h);
	if (rc)
		goto out;
	rc = mdb_errno(mdb_cursor_open(txn, db->senders, &cur));
	if (rc)
		goto out;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (mxt_hdb_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &s)) {
			st->skipped_bad++;
			continue;
		}
		rc = mxt_model_restore(m, &s);
		if (rc == -ENOSPC) {
			st->skipped_full++;
			rc = 0;
		} else if (rc) {
			st->skipped_bad++;
			rc = 0;
		} else {
			st->loaded++;
		}
	}
	if (mrc != MDB_NOTFOUND) {
		rc = mdb_errno(mrc);
		mxt_seterr(db->err, sizeof(db->err), "history db %s: reading: %s", db->path, mdb_strerror(mrc));
	}
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc;
}
