/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_history_db.c - the model's history in LMDB: every field round-trips,
 * dirty checkpoints write only changes and deletions, a checkpoint that
 * dies half-way (a forked child _exit()ing inside the write transaction, or
 * an abort) leaves the previous checkpoint intact, and a database of another
 * schema is refused with a clear message.  history_recover.c: a file cut
 * short is refused before LMDB maps it (no SIGBUS), as are foreign, bent
 * or symlinked files; a damaged file is moved aside for the good copy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <cmocka.h>
#include <lmdb.h>

#include "history_db.h"
#include "history_recover.h"
#include "model.h"
#include "test_util.h"

#define T0 1704067200ULL
#define HOUR 3600ULL
#define DAY 86400ULL

static char dir[256];
static char path[300];

/* Fresh temporary directory per test. */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mxt-hdb-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/history.lmdb", dir);
	return 0;
}

/* Remove the temporary directory. */
static int teardown(void **state)
{
	char p[400];

	(void)state;
	snprintf(p, sizeof(p), "%s/history.lmdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/history.lmdb-lock", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/junk", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

/* Key 198.18.a.b (or an IPv6 /64 when a >= 200). */
static struct mxt_key key_of(unsigned a, unsigned b)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	if (a >= 200) {
		k.family = MXT_FAMILY_IPV6;
		k.prefixlen = 64;
		p[0] = 0x20; p[1] = 0x01; p[2] = 0x00; p[3] = 0x02;
		p[6] = (uint8_t)a;
		p[7] = (uint8_t)b;
		return k;
	}
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	p[0] = 198; p[1] = 18; p[2] = (uint8_t)a; p[3] = (uint8_t)b;
	return k;
}

/* The i-th graylisted test source: odd i IPv4 198.19.x.y, even i an IPv6 /64. */
static struct mxt_key key_n(unsigned i)
{
	struct mxt_key k = key_of(i % 2 ? 2 : 210, 0);
	uint8_t *p = (uint8_t *)k.addr;

	if (i % 2) {
		p[1] = 19;
		p[2] = (uint8_t)(i >> 8);
		p[3] = (uint8_t)i;
	} else {
		p[6] = (uint8_t)(i >> 8);
		p[7] = (uint8_t)i;
	}
	return k;
}

/* A model with a mix of every kind of record; n graylisted extras. */
static struct mxt_model *mixed_model(unsigned n)
{
	struct mxt_model *m = mxt_model_new(NULL, 65536);
	struct mxt_key k;
	uint64_t t;
	unsigned i;

	assert_non_null(m);
	/* established with a learned baseline and recipients */
	k = key_of(1, 1);
	mxt_model_release(m, &k, T0 - 10 * DAY);
	for (t = T0 - 10 * DAY; t < T0; t += 90) {
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
		mxt_model_admit_session(m, &k, t, MXT_OBS_EOM, 3, 5000, NULL);
	}
	/* throttled */
	for (t = T0; t < T0 + 120; t++)
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	/* graylisted, IPv4 and IPv6 */
	for (i = 0; i < n; i++) {
		k = key_n(i);
		for (t = T0 - DAY - i; t < T0; t += 700)
			mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	}
	/* blocked (after a session) */
	k = key_of(3, 1);
	mxt_model_admit_session(m, &k, T0, MXT_OBS_CONNECT, 0, 0, NULL);
	mxt_model_observe_syns(m, &k, T0 + 1, 100000, 90000);
	/* SYN-only: not history */
	k = key_of(4, 1);
	mxt_model_observe_syns(m, &k, T0 + 1, 50, 0);
	mxt_model_tick(m, T0 + 2, NULL, NULL);
	return m;
}

/* A record with every field non-zero and distinct. */
static void fill_record(struct mxt_sender *s, uint64_t seed)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->key = key_of(9, (unsigned)(seed & 0xff));
	s->state = MXT_STATE_THROTTLED;
	s->prev_state = MXT_STATE_ESTABLISHED;
	s->code = MXT_CODE_RATE_JUMP;
	s->kclass = MXT_CLASS_THROTTLED;
	s->flags = MXT_SF_NOLEARN | MXT_SF_DAY_WD | MXT_SF_DAY_WE | MXT_SF_DAY_BAD | MXT_SF_RELEASED;
	s->wd_days = 11;
	s->we_days = 12;
	s->days_active = 513;
	s->day_deferred = 514;
	s->hour_sessions = 515;
	s->krate = 516;
	s->first_seen = 1700000001;
	s->anchor_hour = 472222;
	s->state_since = 1700000003;
	s->last_session = 1700000004;
	s->last_seen = 1700000005;
	s->hour = 472223;
	s->hour_rcpts = 70000;
	s->day_sessions = 80000;
	s->rate_t = 1700000009;
	s->cool_from = 1700000010;
	s->r_fast = 1234.5f;
	s->r_slow = 234.25f;
	s->rr = 34.125f;
	s->syn_rate = 4.0625f;
	s->rps = 1.5f;
	for (i = 0; i < 24; i++)
		s->wd[i] = (uint16_t)(0x4000 + i * 7 + seed % 5);
	for (i = 0; i < 8; i++)
		s->we[i] = (uint16_t)(0x3f00 + i * 11);
	/* schema 2 */
	s->cusum = 12.5f;
	s->backlog = 3.25f;
	s->young = 1.125f;
	s->cusum_t = 1700000011;
	s->hour_demand = 517;
	s->hour_peak = 518;
	s->day_bdef = 519;
	s->trig_rate = 0x4420;
	s->trig_base = 0x4321;
	s->trig_thr = 0x4322;
	s->burst = 0x4323;
	s->wk_seen = 0x1b1b;
	s->trig = MXT_CHECK_SUSTAINED;
	s->end_why = MXT_END_TIME;
	s->disp = 21;
	for (i = 0; i < sizeof(s->wk); i++)
		s->wk[i] = (uint8_t)(i * 37 + seed);
}

/* Encoding: every field survives, the layout is the documented one, and
 * bad input is refused. */
static void test_encode_roundtrip(void **state)
{
	struct mxt_sender s, back;
	uint8_t key[MXT_HDB_KEY_LEN], val[MXT_HDB_RECORD_LEN], bad[MXT_HDB_RECORD_LEN];
	int n;

	(void)state;
	fill_record(&s, 7);
	s.flags |= MXT_SF_DIRTY | MXT_SF_PENDING; /* volatile: not stored */
	mxt_hdb_encode_key(&s.key, key);
	n = mxt_hdb_encode(&s, val, sizeof(val));
	CHECK(n == MXT_HDB_RECORD_LEN, "got length %d, want %d", n, MXT_HDB_RECORD_LEN);
	CHECK(val[0] == 2 && val[1] == 0 && val[2] == (264 & 0xff) && val[3] == (264 >> 8),
	      "header bytes %u %u %u %u, want 2 0 8 1 (little-endian)", val[0], val[1], val[2], val[3]);
	CHECK(val[20] == (1700000001u & 0xff) && val[23] == (1700000001u >> 24),
	      "first_seen not little-endian at offset 20");
	CHECK(val[8] == (s.flags & ~MXT_SF_VOLATILE), "volatile flags stored: got 0x%x", val[8]);
	assert_int_equal(mxt_hdb_decode(key, sizeof(key), val, sizeof(val), &back), 0);
	s.flags &= (uint8_t)~MXT_SF_VOLATILE;
	CHECK(memcmp(&s, &back, sizeof(s)) == 0, "decoded record differs from the original");
	CHECK(mxt_hdb_encode(&s, val, MXT_HDB_RECORD_LEN - 1) == -ENOSPC, "short buffer: want -ENOSPC");
	CHECK(mxt_hdb_decode(key, sizeof(key), val, sizeof(val) - 1, &back) == -EINVAL,
	      "short value: want -EINVAL");
	CHECK(mxt_hdb_decode(key, sizeof(key) - 1, val, sizeof(val), &back) == -EINVAL,
	      "short key: want -EINVAL");
	memcpy(bad, val, sizeof(bad));
	bad[0] = 3;
	CHECK(mxt_hdb_decode(key, sizeof(key), bad, sizeof(bad), &back) == -EPROTO,
	      "record version 3: want -EPROTO");
	memcpy(bad, val, sizeof(bad));
	bad[4] = MXT_STATE_MAX;
	CHECK(mxt_hdb_decode(key, sizeof(key), bad, sizeof(bad), &back) == -EINVAL,
	      "state out of range: want -EINVAL");
	memcpy(bad, val, sizeof(bad));
	bad[63] = 0xff; /* r_fast = NaN */
	bad[62] = 0xc0;
	CHECK(mxt_hdb_decode(key, sizeof(key), bad, sizeof(bad), &back) == -EINVAL,
	      "NaN rate: want -EINVAL");
	key[0] = 5;
	CHECK(mxt_hdb_decode(key, sizeof(key), val, sizeof(val), &back) == -EINVAL,
	      "bad family: want -EINVAL");
}

struct snap {
	struct mxt_sender *v;
	size_t n;
};

/* Copy persistable records (volatile flags cleared). */
static int snap_fn(void *ctx, const struct mxt_sender *s)
{
	struct snap *sn = ctx;

	sn->v[sn->n] = *s;
	sn->v[sn->n].flags &= (uint8_t)~MXT_SF_VOLATILE;
	sn->n++;
	return 0;
}

/* Order by key. */
static int cmp_sender(const void *a, const void *b)
{
	return memcmp(&((const struct mxt_sender *)a)->key, &((const struct mxt_sender *)b)->key,
		      sizeof(struct mxt_key));
}

/* Sorted snapshot of the model's history records. */
static struct snap snapshot(const struct mxt_model *m)
{
	struct snap sn;

	sn.v = calloc(mxt_model_count(m) + 1, sizeof(*sn.v));
	sn.n = 0;
	assert_non_null(sn.v);
	mxt_model_foreach(m, MXT_ITER_PERSIST, snap_fn, &sn);
	qsort(sn.v, sn.n, sizeof(*sn.v), cmp_sender);
	return sn;
}

/* Two snapshots hold the same records, every field. */
static void same_snap(const struct snap *a, const struct snap *b, const char *what)
{
	size_t i;

	CHECK(a->n == b->n, "%s: got %zu records, want %zu", what, b->n, a->n);
	for (i = 0; i < a->n; i++)
		CHECK(memcmp(&a->v[i], &b->v[i], sizeof(a->v[i])) == 0,
		      "%s: record %zu differs (state %u/%u, days %u/%u, rate %g/%g)", what, i,
		      a->v[i].state, b->v[i].state, a->v[i].days_active, b->v[i].days_active,
		      a->v[i].r_slow, b->v[i].r_slow);
}

/* Load the history at 'path' into a fresh model and snapshot it. */
static struct snap load_snap(struct mxt_hdb_stats *st)
{
	struct mxt_model *m = mxt_model_new(NULL, 65536);
	struct mxt_hdb *db;
	struct snap sn;
	char err[512];
	int rc;

	assert_non_null(m);
	rc = mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err));
	CHECK(rc == 0, "open: got %d (%s)", rc, err);
	rc = mxt_hdb_load(db, m, st);
	CHECK(rc == 0, "load: got %d (%s)", rc, mxt_hdb_error(db));
	mxt_hdb_close(db);
	sn = snapshot(m);
	mxt_model_free(m);
	return sn;
}

/* A full checkpoint round-trips every field of every history record;
 * SYN-only records are not saved; the header counts. */
static void test_checkpoint_roundtrip(void **state)
{
	struct mxt_model *m = mixed_model(40);
	struct mxt_hdb_stats st, ls;
	struct mxt_hdb_info info;
	struct mxt_hdb *db;
	struct snap a, b;
	char err[512];
	int rc;

	(void)state;
	rc = mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err));
	CHECK(rc == 0, "open: got %d (%s)", rc, err);
	rc = mxt_hdb_checkpoint(db, m, T0 + 100, 0, &st);
	CHECK(rc == 0, "checkpoint: got %d (%s)", rc, mxt_hdb_error(db));
	a = snapshot(m);
	CHECK(st.full == 1 && st.written == a.n && a.n == mxt_model_count(m) - 1,
	      "got full %d written %llu, want full, %zu (all but the SYN-only one)", st.full,
	      (unsigned long long)st.written, a.n);
	assert_int_equal(mxt_hdb_info(db, &info), 0);
	CHECK(info.schema == MXT_HDB_SCHEMA && info.record_len == MXT_HDB_RECORD_LEN &&
	      info.records == a.n &&
	      info.checkpoints == 1 && info.last_checkpoint == T0 + 100 && info.created == T0,
	      "header: schema %u len %u records %llu checkpoints %llu", info.schema,
	      info.record_len, (unsigned long long)info.records, (unsigned long long)info.checkpoints);
	CHECK(info.map_size >= 2000000ull * 170, "map size %llu too small for 2M records",
	      (unsigned long long)info.map_size);
	mxt_hdb_close(db);
	b = load_snap(&ls);
	CHECK(ls.loaded == a.n && ls.skipped_bad == 0 && ls.skipped_full == 0,
	      "load: got loaded %llu bad %llu full %llu", (unsigned long long)ls.loaded,
	      (unsigned long long)ls.skipped_bad, (unsigned long long)ls.skipped_full);
	same_snap(&a, &b, "round trip");
	{
		/* Every state survives, including THROTTLED and BLOCKED. */
		unsigned seen[MXT_STATE_MAX] = { 0 };
		size_t i;

		for (i = 0; i < b.n; i++)
			seen[b.v[i].state]++;
		CHECK(seen[MXT_STATE_GRAYLISTED] == 40 && seen[MXT_STATE_THROTTLED] == 1 &&
		      seen[MXT_STATE_BLOCKED] == 1 && seen[MXT_STATE_NEW] == 0,
		      "states loaded: graylisted %u throttled %u blocked %u new %u",
		      seen[MXT_STATE_GRAYLISTED], seen[MXT_STATE_THROTTLED], seen[MXT_STATE_BLOCKED],
		      seen[MXT_STATE_NEW]);
	}
	free(a.v);
	free(b.v);
	mxt_model_free(m);
}

/* A loaded model behaves like the original (decisions equal), and the
 * restored sources are reported to the next tick for the kernel map. */
static unsigned changes;
static void count_change(void *ctx, const struct mxt_model_change *c)
{
	(void)ctx;
	(void)c;
	changes++;
}

static void test_loaded_model_decides_the_same(void **state)
{
	struct mxt_model *m = mixed_model(10), *m2 = mxt_model_new(NULL, 65536);
	struct mxt_decision d1, d2;
	struct mxt_hdb *db;
	struct mxt_key k = key_of(1, 1);
	char err[512];

	(void)state;
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, NULL), 0);
	assert_int_equal(mxt_hdb_load(db, m2, NULL), 0);
	mxt_hdb_close(db);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 200, &d1), 0);
	assert_int_equal(mxt_model_decide(m2, &k, T0 + 200, &d2), 0);
	CHECK(memcmp(&d1, &d2, sizeof(d1)) == 0 && d1.state == MXT_STATE_THROTTLED,
	      "decisions differ after load: state %d/%d ratio %g/%g", d1.state, d2.state, d1.ratio,
	      d2.ratio);
	changes = 0;
	mxt_model_tick(m2, T0 + 201, count_change, NULL);
	CHECK(changes == mxt_model_count(m2), "restored: got %u kernel updates, want %zu", changes,
	      mxt_model_count(m2));
	mxt_model_free(m);
	mxt_model_free(m2);
}

/* A dirty checkpoint writes only changed records and deletes forgotten
 * ones; the result equals a full checkpoint. */
static void test_dirty_checkpoint(void **state)
{
	struct mxt_model *m = mixed_model(100);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	struct mxt_key k;
	struct snap a, b;
	char err[512];
	uint64_t t;

	(void)state;
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, &st), 0);
	/* Nothing changed: nothing written. */
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 101, MXT_HDB_DIRTY_ONLY, &st), 0);
	CHECK(st.full == 0 && st.written == 0 && st.deleted == 0,
	      "idle dirty checkpoint: got full %d written %llu deleted %llu, want 0/0/0", st.full,
	      (unsigned long long)st.written, (unsigned long long)st.deleted);
	/* Two sessions from existing sources, one new source, one forgotten. */
	t = T0 + 200;
	k = key_n(1);
	mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	k = key_n(4);
	mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	k = key_of(5, 5);
	mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	k = key_n(5);
	assert_int_equal(mxt_model_forget(m, &k, t), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, t, MXT_HDB_DIRTY_ONLY, &st), 0);
	CHECK(st.full == 0 && st.written == 3 && st.deleted == 1,
	      "dirty checkpoint: got full %d written %llu deleted %llu, want 0/3/1", st.full,
	      (unsigned long long)st.written, (unsigned long long)st.deleted);
	mxt_hdb_close(db);
	a = snapshot(m);
	b = load_snap(NULL);
	same_snap(&a, &b, "after dirty checkpoint");
	free(a.v);
	free(b.v);
	mxt_model_free(m);
}

/* Put hook for the crash test: die inside the write transaction. */
static int die_midway(void *ctx, uint64_t written)
{
	uint64_t at = *(uint64_t *)ctx;

	if (written == at)
		_exit(0); /* no commit, no cleanup: like kill -9 */
	return 0;
}

/* Put hook for the abort test. */
static int cancel_midway(void *ctx, uint64_t written)
{
	return written == *(uint64_t *)ctx;
}

/* A checkpoint that dies half-way (fork + _exit inside the transaction)
 * or is aborted leaves the previous checkpoint intact; the db remains
 * writable afterwards. */
static void test_crash_mid_checkpoint(void **state)
{
	struct mxt_model *m = mixed_model(3000);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	struct snap before, after, now_snap;
	uint64_t half, t;
	char err[512];
	pid_t pid;
	int status, rc;
	unsigned i;

	(void)state;
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, &st), 0);
	mxt_hdb_close(db);
	before = snapshot(m);
	/* Change every record. */
	for (t = T0 + 3 * DAY, i = 0; i < 3000; i++) {
		struct mxt_key k = key_n(i);

		mxt_model_admit_session(m, &k, t + i, MXT_OBS_CONNECT, 0, 0, NULL);
	}
	half = before.n / 2;

	/* 1. A child dies in the middle of a full checkpoint. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mxt_hdb *cdb;

		if (mxt_hdb_open(path, 0, 0, T0, &cdb, err, sizeof(err)))
			_exit(2);
		mxt_hdb_set_put_hook(cdb, die_midway, &half);
		mxt_hdb_checkpoint(cdb, m, T0 + 4 * DAY, 0, NULL);
		_exit(3); /* not reached */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child: got status 0x%x, want exit 0 from inside the transaction", status);
	after = load_snap(&st);
	same_snap(&before, &after, "after a crash mid-checkpoint");
	free(after.v);

	/* 2. An aborted checkpoint (hook cancels): -ECANCELED, previous intact,
	 *    and the model stays dirty. */
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	mxt_hdb_set_put_hook(db, cancel_midway, &half);
	rc = mxt_hdb_checkpoint(db, m, T0 + 4 * DAY, MXT_HDB_DIRTY_ONLY, &st);
	CHECK(rc == -ECANCELED, "cancelled checkpoint: got %d, want -ECANCELED", rc);
	mxt_hdb_close(db);
	after = load_snap(NULL);
	same_snap(&before, &after, "after an aborted checkpoint");
	free(after.v);

	/* 3. The db is still writable (the dead child's lock recovered). */
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	rc = mxt_hdb_checkpoint(db, m, T0 + 4 * DAY, MXT_HDB_DIRTY_ONLY, &st);
	CHECK(rc == 0, "checkpoint after the crash: got %d (%s)", rc, mxt_hdb_error(db));
	CHECK(st.written == 3000, "dirty after failures: got %llu written, want 3000",
	      (unsigned long long)st.written);
	mxt_hdb_close(db);
	now_snap = snapshot(m);
	after = load_snap(NULL);
	same_snap(&now_snap, &after, "after recovery");
	free(after.v);
	free(now_snap.v);
	free(before.v);
	mxt_model_free(m);
}

/* Write a raw header of another schema with plain LMDB. */
static void write_raw_header(uint32_t schema)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t b[MXT_HDB_HEADER_LEN];
	MDB_val k = { 6, (void *)"schema" }, v = { sizeof(b), b };

	memset(b, 0, sizeof(b));
	memcpy(b, "MXTHIST", 8);
	b[8] = (uint8_t)schema;
	b[12] = 200; /* record length 200 */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "senders", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A schema 1 history (144-byte records) is read, upgraded in place at
 * open, and loads with the new fields empty. */
static void test_schema1_upgraded(void **state)
{
	struct mxt_sender s;
	struct mxt_hdb *db = NULL;
	struct mxt_hdb_info info;
	struct mxt_hdb_stats lst;
	struct mxt_model *m;
	const struct mxt_sender *back;
	uint8_t key[MXT_HDB_KEY_LEN], val[MXT_HDB_RECORD_LEN], hdr[MXT_HDB_HEADER_LEN];
	MDB_val k = { 6, (void *)"schema" }, v = { sizeof(hdr), hdr };
	MDB_val rk = { sizeof(key), key }, rv = { MXT_HDB_RECORD_LEN_V1, val };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	char err[512];

	(void)state;
	fill_record(&s, 3);
	s.state = MXT_STATE_ESTABLISHED;
	s.kclass = MXT_CLASS_ESTABLISHED;
	mxt_hdb_encode_key(&s.key, key);
	mxt_hdb_encode(&s, val, sizeof(val));
	val[0] = 1; /* the same first 144 bytes, as schema 1 wrote them */
	val[2] = MXT_HDB_RECORD_LEN_V1;
	val[3] = 0;
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "MXTHIST", 8);
	hdr[8] = 1;
	hdr[12] = MXT_HDB_RECORD_LEN_V1;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_dbi_open(txn, "senders", MDB_CREATE, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &rk, &rv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_info(db, &info), 0);
	CHECK(info.schema == MXT_HDB_SCHEMA && info.record_len == MXT_HDB_RECORD_LEN,
	      "after open: schema %u len %u, want %u/%u", info.schema, info.record_len,
	      MXT_HDB_SCHEMA, MXT_HDB_RECORD_LEN);
	m = mxt_model_new(NULL, 64);
	assert_non_null(m);
	assert_int_equal(mxt_hdb_load(db, m, &lst), 0);
	CHECK(lst.loaded == 1 && lst.skipped_bad == 0, "loaded %llu, bad %llu, want 1/0",
	      (unsigned long long)lst.loaded, (unsigned long long)lst.skipped_bad);
	back = mxt_model_lookup(m, &s.key);
	assert_non_null(back);
	CHECK(back->days_active == s.days_active && back->r_slow == s.r_slow &&
	      memcmp(back->wd, s.wd, sizeof(s.wd)) == 0 && back->trig == 0 && back->wk_seen == 0,
	      "upgraded record: days %u rate %g trig %u", back->days_active, back->r_slow, back->trig);
	mxt_model_free(m);
	mxt_hdb_close(db);
}

/* Another schema version, a foreign LMDB file and a non-LMDB file are
 * refused with a message that says what was found. */
static void test_other_schema_rejected(void **state)
{
	struct mxt_hdb *db = NULL;
	char err[512], junk[400];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, fd;

	(void)state;
	write_raw_header(3);
	rc = mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err));
	CHECK(rc == -EPROTO && db == NULL, "schema 3: got %d, want -EPROTO", rc);
	CHECK(strstr(err, "schema version 3") && strstr(err, "reads version 2") && strstr(err, path),
	      "schema 3: unclear message '%s'", err);
	rc = mxt_hdb_open(path, 0, MXT_HDB_RDONLY, T0, &db, err, sizeof(err));
	CHECK(rc == -EPROTO, "schema 3 read-only: got %d, want -EPROTO", rc);
	unlink(path);
	snprintf(junk, sizeof(junk), "%s-lock", path);
	unlink(junk);

	/* An LMDB file of something else (records, no header). */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "senders", MDB_CREATE, &dbi), 0);
	{
		MDB_val k = { 3, (void *)"abc" }, v = { 3, (void *)"xyz" };

		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	rc = mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err));
	CHECK(rc == -EPROTO && strstr(err, "without a header"),
	      "foreign LMDB: got %d '%s', want -EPROTO", rc, err);

	/* Not LMDB at all. */
	snprintf(junk, sizeof(junk), "%s/junk", dir);
	fd = open(junk, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(write(fd, "garbage!", 8), 8);
	close(fd);
	rc = mxt_hdb_open(junk, 0, 0, T0, &db, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, junk), "junk file: got %d '%s', want an error naming it", rc, err);
	snprintf(junk, sizeof(junk), "%s/junk-lock", dir);
	unlink(junk);
}

/* Read-only handles refuse checkpoints; loads fail cleanly on bad records. */
static void test_readonly_and_bad_records(void **state)
{
	struct mxt_model *m = mixed_model(5), *m2 = mxt_model_new(NULL, 1024);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	char err[512];
	int rc;

	(void)state;
	CHECK(mxt_hdb_open(path, 0, MXT_HDB_RDONLY, T0, &db, err, sizeof(err)) < 0,
	      "read-only open of a missing db must fail");
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, NULL), 0);
	mxt_hdb_close(db);
	/* Corrupt one record with plain LMDB. */
	{
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_cursor *cur;
		MDB_val k, v;
		uint8_t b[MXT_HDB_RECORD_LEN];

		assert_int_equal(mdb_env_create(&env), 0);
		assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
		assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
		assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
		assert_int_equal(mdb_dbi_open(txn, "senders", 0, &dbi), 0);
		assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
		assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
		memcpy(b, v.mv_data, sizeof(b));
		b[4] = 77; /* state out of range */
		v.mv_data = b;
		assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
		mdb_cursor_close(cur);
		assert_int_equal(mdb_txn_commit(txn), 0);
		mdb_env_close(env);
	}
	rc = mxt_hdb_open(path, 0, MXT_HDB_RDONLY, T0, &db, err, sizeof(err));
	CHECK(rc == 0, "read-only open: got %d (%s)", rc, err);
	rc = mxt_hdb_checkpoint(db, m, T0 + 200, 0, NULL);
	CHECK(rc == -EROFS, "checkpoint on a read-only handle: got %d, want -EROFS", rc);
	rc = mxt_hdb_load(db, m2, &st);
	CHECK(rc == 0 && st.skipped_bad == 1 && st.loaded == mxt_model_count(m) - 2,
	      "load with one bad record: got rc %d loaded %llu bad %llu", rc,
	      (unsigned long long)st.loaded, (unsigned long long)st.skipped_bad);
	mxt_hdb_close(db);
	mxt_model_free(m);
	mxt_model_free(m2);
}

/* Loading into a smaller model keeps what fits and counts the rest. */
static void test_load_into_small_model(void **state)
{
	struct mxt_model *m = mixed_model(100), *small = mxt_model_new(NULL, 32);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	char err[512];

	(void)state;
	assert_non_null(small);
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, NULL), 0);
	assert_int_equal(mxt_hdb_load(db, small, &st), 0);
	CHECK(mxt_model_count(small) == 32 && st.loaded + st.skipped_full >= 102 &&
	      st.skipped_bad == 0, "got %zu held, loaded %llu, skipped_full %llu",
	      mxt_model_count(small), (unsigned long long)st.loaded,
	      (unsigned long long)st.skipped_full);
	mxt_hdb_close(db);
	mxt_model_free(m);
	mxt_model_free(small);
}

/* Remove every file of the test directory (good copies, damaged ones). */
static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

/* A checkpointed history of n graylisted extras (well over 32 KiB for
 * n = 600); returns the number of records written. */
static uint64_t make_history(unsigned n)
{
	struct mxt_model *m = mixed_model(n);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	char err[512];

	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_checkpoint(db, m, T0 + 100, 0, &st), 0);
	mxt_hdb_close(db);
	mxt_model_free(m);
	return st.written;
}

/* The first bytes of 'p' and its size. */
static size_t read_head(const char *p, uint8_t *buf, size_t len, uint64_t *size)
{
	struct stat sb;
	int fd = open(p, O_RDONLY);
	ssize_t r;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	r = pread(fd, buf, len, 0);
	close(fd);
	assert_true(r >= 0);
	*size = (uint64_t)sb.st_size;
	return (size_t)r;
}

/* The sizes: each cut is refused by the check, with a reason,
 * before anything maps the file; the whole file passes. */
static void test_truncated_refused(void **state)
{
	static const unsigned kib[] = { 4, 8, 12, 16, 24, 32 };
	char why[256];
	struct stat sb;
	int rc;

	(void)state;
	make_history(600);
	assert_int_equal(stat(path, &sb), 0);
	CHECK(sb.st_size > 64 * 1024, "history of %lld bytes, want > 64 KiB", (long long)sb.st_size);
	rc = mxt_hdb_check_file(path, why, sizeof(why));
	CHECK(rc == 0, "whole file: got %d (%s), want 0", rc, why);
	for (size_t i = 0; i < sizeof(kib) / sizeof(kib[0]); i++) {
		assert_int_equal(truncate(path, (off_t)kib[i] * 1024), 0);
		why[0] = '\0';
		rc = mxt_hdb_check_file(path, why, sizeof(why));
		CHECK(rc == -EBADMSG && strstr(why, "truncated"),
		      "%u KiB: got %d (%s), want -EBADMSG and 'truncated'", kib[i], rc, why);
	}
	/* Shorter than one meta page, and empty (a new history). */
	assert_int_equal(truncate(path, 100), 0);
	rc = mxt_hdb_check_file(path, why, sizeof(why));
	CHECK(rc == -EBADMSG && strstr(why, "shorter than an LMDB meta page"), "100 B: got %d (%s)", rc, why);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(mxt_hdb_check_file(path, why, sizeof(why)), 0);
	empty_dir();
}

/* The pure check on images bent one field at a time. */
static void test_check_image_fields(void **state)
{
	static uint8_t img[MXT_HDB_CHECK_READ], bent[MXT_HDB_CHECK_READ];
	uint32_t psize, v;
	uint64_t size, big = 1ull << 40;
	size_t len;
	char why[256];

	(void)state;
	make_history(50);
	len = read_head(path, img, sizeof(img), &size);
	assert_int_equal(mxt_hdb_check_image(img, len, size, why, sizeof(why)), 0);
	memcpy(&psize, img + 16 + 24, 4);
	assert_int_equal(psize & (psize - 1), 0);
#define BENT(off, val, want)                                                         \
	do {                                                                         \
		memcpy(bent, img, len);                                              \
		v = (val);                                                           \
		memcpy(bent + (off), &v, 4);                                         \
		why[0] = '\0';                                                       \
		CHECK(mxt_hdb_check_image(bent, len, size, why, sizeof(why)) == -EBADMSG && \
		      strstr(why, want), "offset %d: got '%s', want '%s'", (int)(off), why, want); \
	} while (0)
	BENT(16, 0x12345678, "meta page 0: not an LMDB file");
	BENT(psize + 16, 0x12345678, "meta page 1: not an LMDB file");
	BENT(16 + 4, 2, "LMDB data version 2");
	BENT(16 + 24, 1000, "page size 1000");
	BENT(psize + 16 + 24, psize * 2, "meta page 1: not a meta page");
	BENT(10, 0, "meta page 0: not a meta page");
	/* last_pgno (8 bytes) far past the end; a root page past last_pgno. */
	memcpy(bent, img, len);
	memcpy(bent + psize + 16 + 120, &big, 8);
	CHECK(mxt_hdb_check_image(bent, len, size, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "truncated: meta page 1"), "last_pgno: got '%s'", why);
	memcpy(bent, img, len);
	memcpy(bent + 16 + 112, &big, 8);
	CHECK(mxt_hdb_check_image(bent, len, size, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "root page"), "root: got '%s'", why);
	/* A short read of a long file is not trusted either. */
	CHECK(mxt_hdb_check_image(img, psize, size, why, sizeof(why)) == -EBADMSG,
	      "short buffer: got '%s'", why);
#undef BENT
	empty_dir();
}

/* Symlinks and non-files are refused without being followed. */
static void test_check_file_kinds(void **state)
{
	char why[256], link[400];

	(void)state;
	make_history(10);
	snprintf(link, sizeof(link), "%s/link.mdb", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(mxt_hdb_check_file(link, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "symbolic link"));
	assert_int_equal(mxt_hdb_check_file(dir, why, sizeof(why)), -EBADMSG);
	assert_string_equal(why, "not a regular file");
	snprintf(link, sizeof(link), "%s/absent.mdb", dir);
	assert_int_equal(mxt_hdb_check_file(link, why, sizeof(why)), -ENOENT);
	empty_dir();
}

/* A damaged history is moved aside and replaced by the good copy, which
 * loads every record; without a good copy the history starts empty. */
static void test_quarantine_and_good_copy(void **state)
{
	struct mxt_model *m = mxt_model_new(NULL, 65536);
	struct mxt_hdb_stats st;
	struct mxt_hdb *db;
	char err[512], to[600], good[400];
	uint64_t written = make_history(300);
	struct stat sb;

	(void)state;
	assert_non_null(m);
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_save_good(db, path), 0);
	mxt_hdb_close(db);
	snprintf(good, sizeof(good), "%s%s", path, MXT_HDB_GOOD_SUFFIX);
	assert_int_equal(mxt_hdb_check_file(good, err, sizeof(err)), 0);

	assert_int_equal(truncate(path, 16 * 1024), 0);
	assert_int_equal(mxt_hdb_quarantine(path, T0, 1, to, sizeof(to)), 1);
	CHECK(strstr(to, ".damaged-20240101T000000Z") != NULL, "moved to '%s'", to);
	assert_int_equal(stat(to, &sb), 0);
	assert_int_equal(sb.st_size, 16 * 1024);
	assert_int_equal(mxt_hdb_check_file(path, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_open(path, 0, 0, T0, &db, err, sizeof(err)), 0);
	assert_int_equal(mxt_hdb_load(db, m, &st), 0);
	CHECK(st.loaded == written && st.skipped_bad == 0, "restored %llu of %llu",
	      (unsigned long long)st.loaded, (unsigned long long)written);
	mxt_hdb_close(db);

	/* No good copy to use: moved aside, nothing in its place; a second
	 * damaged file in the same second gets a name of its own. */
	assert_int_equal(truncate(path, 8 * 1024), 0);
	assert_int_equal(mxt_hdb_quarantine(path, T0 + 1, 0, to, sizeof(to)), 0);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(stat(to, &sb), 0);
	assert_int_equal(sb.st_size, 8 * 1024);
	make_history(5);
	assert_int_equal(truncate(path, 12 * 1024), 0);
	assert_int_equal(mxt_hdb_quarantine(path, T0 + 1, 0, to, sizeof(to)), 0);
	CHECK(strstr(to, ".damaged-20240101T000001Z.1") != NULL, "second move to '%s'", to);
	assert_int_equal(stat(to, &sb), 0);
	assert_int_equal(sb.st_size, 12 * 1024);
	/* A damaged good copy is not used either. */
	assert_int_equal(truncate(good, 12 * 1024), 0);
	make_history(5);
	assert_int_equal(truncate(path, 8 * 1024), 0);
	assert_int_equal(mxt_hdb_quarantine(path, T0 + 2, 1, to, sizeof(to)), 0);
	assert_int_equal(stat(path, &sb), -1);
	mxt_model_free(m);
	empty_dir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test_setup_teardown(test_checkpoint_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loaded_model_decides_the_same, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema1_upgraded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_schema_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_and_bad_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_into_small_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_image_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_file_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_and_good_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
