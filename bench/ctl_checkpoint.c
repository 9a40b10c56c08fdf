/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl_checkpoint.c - how long the daemon's checkpoint holds the model lock
 * (the time a policy answer may wait behind it) against how long the whole
 * checkpoint takes: N senders made through the controller's own policy
 * path (one session each, so every record is dirty), then a dirty
 * checkpoint (all N changed) and a full one, into an LMDB file in DIR.
 * Usage:
 *   build/bench/ctl_checkpoint DIR [N...]      (default N: 100000)
 * One "BENCH ctl_checkpoint key=value ..." line per N.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgkeys.h"
#include "controller.h"
#include "ctl_fixture.h"
#include "history_db.h"

static int run(const char *dir, uint32_t n)
{
	struct mxt_controller *c;
	struct mxt_ctl_snapshot dirty, full;
	struct mxt_config k;
	struct mxt_model *m;
	struct mxt_hdb *db;
	char path[4096], lock[4200], err[512];
	int rc_dirty, rc_full;

	mxt_config_defaults(&k, 2);
	m = mxt_model_new(NULL, n + n / 4 + 16);
	if (!m) {
		fprintf(stderr, "ctl_checkpoint: out of memory\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ctl_checkpoint-%u.mdb", dir, n);
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	unlink(lock);
	if (mxt_hdb_open(path, n, 0, ctl_fx_clock(), &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "ctl_checkpoint: %s\n", err);
		return 1;
	}
	c = ctl_fx_controller(m, &k, db, NULL);
	if (!c)
		return 1;
	for (uint32_t i = 0; i < n; i++) {
		struct mxt_policy_request r = ctl_fx_rcpt_nth(i);
		struct mxt_decision d;

		mxt_ctl_decide(c, &r, &d);
	}
	rc_dirty = mxt_ctl_checkpoint(c);
	mxt_ctl_snapshot(c, &dirty);
	rc_full = mxt_ctl_checkpoint_all(c);
	mxt_ctl_snapshot(c, &full);
	printf("BENCH ctl_checkpoint n=%u dirty_records=%d dirty_lock_us=%llu dirty_total_us=%llu "
	       "full_records=%d full_lock_us=%llu full_total_us=%llu\n", n, rc_dirty,
	       (unsigned long long)dirty.counters.checkpoint_lock_usec_last,
	       (unsigned long long)dirty.counters.checkpoint_usec_last, rc_full,
	       (unsigned long long)full.counters.checkpoint_lock_usec_last,
	       (unsigned long long)full.counters.checkpoint_usec_last);
	mxt_ctl_free(c);
	mxt_hdb_close(db);
	mxt_model_free(m);
	unlink(path);
	unlink(lock);
	return rc_dirty < 0 || rc_full < 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: ctl_checkpoint DIR [N...]\n");
		return 2;
	}
	if (argc == 2)
		return run(argv[1], 100000);
	for (int i = 2; i < argc; i++) {
		char *end;
		unsigned long n = strtoul(argv[i], &end, 10);

		if (*end || n < 1 || n > (1ul << 24)) {
			fprintf(stderr, "ctl_checkpoint: N '%s' is not 1..16777216\n", argv[i]);
			return 2;
		}
		rc |= run(argv[1], (uint32_t)n);
	}
	return rc;
}
