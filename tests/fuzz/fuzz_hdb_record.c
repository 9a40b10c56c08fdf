// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_hdb_record.c - libFuzzer harness for the history record decoder
 * (user/daemon/history_db.c, mxt_hdb_decode): the first MXT_HDB_KEY_LEN bytes are
 * the key, the rest the value, as LMDB would hand them over from a file
 * the run user can write.  A record that decodes must be one the model can
 * take (mxt_model_restore on a small model must not crash, whatever it
 * says), and must encode and decode again to the same sender.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history_db.h"
#include "model.h"

static struct mxt_model *model;

/* Aborts with a message: libFuzzer reports it and keeps the input. */
static void die(const char *what)
{
	fprintf(stderr, "fuzz_hdb_record: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxt_sender s, t;
	uint8_t key[MXT_HDB_KEY_LEN], val[MXT_HDB_RECORD_LEN];
	int rc;

	if (!model) {
		model = mxt_model_new(NULL, 1024);
		if (!model)
			die("mxt_model_new");
	}
	if (size < MXT_HDB_KEY_LEN)
		return 0;
	rc = mxt_hdb_decode(data, MXT_HDB_KEY_LEN, data + MXT_HDB_KEY_LEN,
			    size - MXT_HDB_KEY_LEN, &s);
	if (rc == 0) {
		if (mxt_hdb_encode(&s, val, sizeof(val)) != MXT_HDB_RECORD_LEN)
			die("a decoded record does not encode");
		mxt_hdb_encode_key(&s.key, key);
		if (mxt_hdb_decode(key, sizeof(key), val, sizeof(val), &t) != 0)
			die("an encoded record does not decode");
		if (memcmp(&s, &t, sizeof(s)) != 0)
			die("record does not survive encode and decode");
		rc = mxt_model_restore(model, &s);
		if (rc != 0 && rc != -ENOSPC && rc != -EINVAL)
			die("mxt_model_restore failed with an undocumented error");
	} else if (rc != -EINVAL && rc != -EPROTO) {
		die("decode failed with an undocumented error");
	}
	return 0;
}
