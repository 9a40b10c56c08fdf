// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * make_seeds.c - writes the binary seeds of the history fuzzers from the
 * real encoder: tests/fuzz/corpus/hdb_record/ (key + value of senders in
 * every state, IPv4 and IPv6) and tests/fuzz/corpus/hdb_file/ (history.mdb
 * files written by mxt_hdb_checkpoint, empty and with senders).  Run by
 * hand ("make fuzz-seeds") when the record format changes; the output is
 * committed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history_db.h"
#include "model.h"

#define T0  1704067200ULL
#define DAY 86400ULL

/* Key 198.18.a.b, or 2001:2:0:a::/64 when v6. */
static struct mxt_key key(unsigned a, unsigned b, int v6)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	if (v6) {
		k.family = MXT_FAMILY_IPV6;
		k.prefixlen = 64;
		p[0] = 0x20; p[1] = 0x01; p[3] = 0x02; p[6] = (uint8_t)a; p[7] = (uint8_t)b;
	} else {
		k.family = MXT_FAMILY_IPV4;
		k.prefixlen = 32;
		p[0] = 198; p[1] = 18; p[2] = (uint8_t)a; p[3] = (uint8_t)b;
	}
	return k;
}

/* Senders in every state the history keeps. */
static struct mxt_model *model(unsigned extra)
{
	struct mxt_model *m = mxt_model_new(NULL, 4096);
	struct mxt_key k;

	if (!m)
		exit(1);
	k = key(1, 1, 0);
	mxt_model_release(m, &k, T0 - 10 * DAY);
	for (uint64_t t = T0 - 10 * DAY; t < T0; t += 900) {
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
		mxt_model_admit_session(m, &k, t, MXT_OBS_EOM, 3, 5000, NULL);
	}
	for (uint64_t t = T0; t < T0 + 120; t++)
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	for (unsigned i = 0; i < extra; i++) {
		k = key(2, i, (int)(i & 1));
		for (uint64_t t = T0 - DAY; t < T0; t += 3600)
			mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	}
	k = key(3, 1, 0);
	mxt_model_admit_session(m, &k, T0, MXT_OBS_CONNECT, 0, 0, NULL);
	mxt_model_observe_syns(m, &k, T0 + 1, 100000, 90000);
	mxt_model_tick(m, T0 + 2, NULL, NULL);
	return m;
}

static const char *outdir;
static unsigned nrec;

/* Writes one sender as a record seed. */
static int write_record(void *ctx, const struct mxt_sender *s)
{
	uint8_t buf[MXT_HDB_KEY_LEN + MXT_HDB_RECORD_LEN];
	char path[512];
	FILE *f;

	(void)ctx;
	if (nrec >= 8)
		return 0;
	mxt_hdb_encode_key(&s->key, buf);
	if (mxt_hdb_encode(s, buf + MXT_HDB_KEY_LEN, MXT_HDB_RECORD_LEN) < 0)
		exit(1);
	snprintf(path, sizeof(path), "%s/hdb_record/seed-%u", outdir, nrec++);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, sizeof(buf), 1, f) != 1 || fclose(f))
		exit(1);
	return 0;
}

/* Writes a history.mdb of the model to corpus/hdb_file/NAME. */
static void write_file(struct mxt_model *m, const char *name)
{
	char path[512], lock[520], err[512];
	struct mxt_hdb *db;

	snprintf(path, sizeof(path), "%s/hdb_file/%s", outdir, name);
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	if (mxt_hdb_open(path, 64, 0, T0, &db, err, sizeof(err)) ||
	    (m && mxt_hdb_checkpoint(db, m, T0 + 3, 0, NULL) < 0)) {
		fprintf(stderr, "make_seeds: %s\n", err);
		exit(1);
	}
	mxt_hdb_close(db);
	unlink(lock);
}

int main(int argc, char **argv)
{
	struct mxt_model *m;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
		return 2;
	}
	outdir = argv[1];
	m = model(6);
	mxt_model_foreach(m, 0, write_record, NULL);
	write_file(NULL, "seed-empty.mdb");
	write_file(m, "seed-senders.mdb");
	mxt_model_free(m);
	return 0;
}
