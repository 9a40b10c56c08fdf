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
#include "history_db.h"

static uint64_t fixed_clock(void)
{
	return 1796000000; /* a Monday in 2026 */
}

/* One Postfix RCPT request from the i-th address counted from 198.18.0.0
 * (past 131072 beyond 198.18.0.0/15: these are model keys only, no packet
 * is ever sent). */
static void request(struct mxt_controller *c, uint32_t i)
{
	struct mxt_policy_request r;
	struct mxt_decision d;

	memset(&r, 0, sizeof(r));
	snprintf(r.request, sizeof(r.request), "smtpd_access_policy");
	snprintf(r.protocol_state, sizeof(r.protocol_state), "RCPT");
	snprintf(r.client_address, sizeof(r.client_address), "198.%u.%u.%u", 18 + (i >> 16),
		 (i >> 8) & 255, i & 255);
	snprintf(r.instance, sizeof(r.instance), "i%u", i);
	mxt_ctl_decide(c, &r, &d);
}

static int run(const char *dir, uint32_t n)
{
	struct mxt_controller c;
	struct mxt_config k;
	struct mxt_model *m;
	char path[4096], lock[4200], err[512];
	uint64_t lock_dirty, total_dirty;
	int rc_dirty, rc_full;

	mxt_config_defaults(&k, 2);
	m = mxt_model_new(NULL, n + n / 4 + 16);
	if (!m || mxt_ctl_init(&c, m, &k, NULL, n + n / 4 + 16) < 0) {
		fprintf(stderr, "ctl_checkpoint: out of memory\n");
		return 1;
	}
	c.clock = fixed_clock;
	snprintf(path, sizeof(path), "%s/ctl_checkpoint-%u.mdb", dir, n);
	snprintf(lock, sizeof(lock), "%s-lock", path);
	unlink(path);
	unlink(lock);
	if (mxt_hdb_open(path, n, 0, fixed_clock(), &c.db, err, sizeof(err)) < 0) {
		fprintf(stderr, "ctl_checkpoint: %s\n", err);
		return 1;
	}
	for (uint32_t i = 0; i < n; i++)
		request(&c, i);
	rc_dirty = mxt_ctl_checkpoint(&c);
	lock_dirty = c.st.checkpoint_lock_usec_last;
	total_dirty = c.st.checkpoint_usec_last;
	c.full_checkpoint = 1;
	rc_full = mxt_ctl_checkpoint(&c);
	printf("BENCH ctl_checkpoint n=%u dirty_records=%d dirty_lock_us=%llu dirty_total_us=%llu "
	       "full_records=%d full_lock_us=%llu full_total_us=%llu\n", n, rc_dirty,
	       (unsigned long long)lock_dirty, (unsigned long long)total_dirty, rc_full,
	       (unsigned long long)c.st.checkpoint_lock_usec_last,
	       (unsigned long long)c.st.checkpoint_usec_last);
	mxt_hdb_close(c.db);
	mxt_ctl_fini(&c);
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
