// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_hdb_file.c - libFuzzer harness for a whole history.mdb file: the
 * input is written to a private temporary file, which is checked and
 * opened read-only the way the daemon opens its state file
 * (mxt_hdb_check_file, then mxt_hdb_open), then its header read and its
 * records loaded into a model.  The file is owned by the run
 * user, so any input is fair: open may refuse it (with a reason), but no
 * input may crash the process.  The seeds are real files written by
 * mxt_hdb_checkpoint and cut at the sizes of issue 9 (hole 2).
 *
 * A crash found here is a real bug: LMDB maps the file and trusts it, so
 * it is the validation before mapping (history_db.c) that must refuse what
 * LMDB cannot read safely.
 *
 * The meta-page check (history_recover.c) stops a file cut short; a file
 * with sound meta pages and forged tree pages still crashed LMDB (SIGSEGV
 * in mdb_dbi_open, SIGFPE in mdb_env_open: the crash-* inputs), so
 * mxt_hdb_open() reads the file in a child process first (hdb_probe.c).  The
 * probe's child is not instrumented for coverage: it runs the same LMDB
 * reads the parent would, which is the point.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "history_db.h"
#include "history_recover.h"
#include "model.h"

static char path[96], lock[112];
static struct mxt_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/history.mdb", fz_tmpdir("hdb"));
	snprintf(lock, sizeof(lock), "%s-lock", path);
	model = mxt_model_new(NULL, 4096);
	if (!model)
		die("mxt_model_new", "failed");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxt_hdb *db = NULL;
	struct mxt_hdb_info info;
	struct mxt_hdb_stats st;
	char err[512] = "";
	int fd, rc;

	if (size > (1u << 20))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		die("write", strerror(errno));
	close(fd);
	unlink(lock);
	/* The daemon's order (mxthrottled.c, history_start): check, then open. */
	rc = mxt_hdb_check_image(data, size < MXT_HDB_CHECK_READ ? size : MXT_HDB_CHECK_READ, size,
				 err, sizeof(err));
	if (rc != 0 && rc != -EBADMSG)
		die("mxt_hdb_check_image", "an undocumented error");
	if ((mxt_hdb_check_file(path, err, sizeof(err)) == 0) != (rc == 0))
		die("mxt_hdb_check_file", "disagrees with mxt_hdb_check_image");
	if (rc != 0)
		return 0;
	err[0] = '\0';
	rc = mxt_hdb_open(path, 4096, MXT_HDB_RDONLY, 1700000000, &db, err, sizeof(err));
	if (rc != 0) {
		if (!err[0])
			die("mxt_hdb_open", "refused without a reason");
		return 0;
	}
	mxt_hdb_info(db, &info);
	mxt_hdb_load(db, model, &st);
	mxt_hdb_close(db);
	return 0;
}
