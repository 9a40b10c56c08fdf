/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_hdb_probe.c - a damaged history file is refused, not mapped
 * (user/daemon/hdb_probe.c through mxt_hdb_open): a history cut short, which made
 * LMDB raise SIGBUS in the daemon (issue 9, hole 2), and a file whose
 * meta page points past its end.  A sound file still opens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "hdb_probe.h"
#include "history_db.h"

#define T0 1704067200ULL

static char dir[64], path[128], lock[140];

static int setup(void **state)
{
	struct mxt_hdb *db = NULL;
	char err[512];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mxt-hdb-probe.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/history.mdb", dir);
	snprintf(lock, sizeof(lock), "%s-lock", path);
	if (mxt_hdb_open(path, 64, 0, T0, &db, err, sizeof(err)) != 0)
		return -1;
	mxt_hdb_close(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(lock);
	rmdir(dir);
	return 0;
}

/* Opens the history read-only; returns rc, err in 'err'. */
static int open_ro(char *err, size_t len)
{
	struct mxt_hdb *db = NULL;
	int rc = mxt_hdb_open(path, 64, MXT_HDB_RDONLY, T0, &db, err, len);

	mxt_hdb_close(db);
	return rc;
}

static void sound_file_opens(void **state)
{
	char err[512] = "";
	int rc;

	(void)state;
	rc = open_ro(err, sizeof(err));
	if (rc != 0)
		fail_msg("sound history: got %d (%s), want 0", rc, err);
	assert_int_equal(mxt_hdb_probe("/nonexistent/history.mdb", 0, err, sizeof(err)), 0);
}

static void cut_file_is_refused(void **state)
{
	static const off_t sizes[] = { 8192, 12288 };
	char err[512];
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (truncate(path, sizes[i]) < 0)
			fail_msg("truncate: %s", strerror(errno));
		err[0] = '\0';
		rc = open_ro(err, sizeof(err));
		if (rc != -EBADMSG || !strstr(err, "damaged") || !strstr(err, path))
			fail_msg("history cut to %lld bytes: got %d '%s', want -EBADMSG naming it damaged",
				 (long long)sizes[i], rc, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(sound_file_opens, setup, teardown),
		cmocka_unit_test_setup_teardown(cut_file_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
