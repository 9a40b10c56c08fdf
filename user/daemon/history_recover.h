/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * history_recover.h - the history file is the run user's, so the daemon
 * treats it as untrusted input: checked before LMDB maps it, opened only
 * after the privilege drop, and replaced rather than fatal when damaged.
 *
 * LMDB maps the whole file and trusts its two meta pages: a file cut short
 * (a full disk, a bad copy, a hostile run user) makes the first access past
 * the end raise SIGBUS.  mxt_hdb_check_file() reads both meta pages with
 * pread(2) and refuses the file unless both carry LMDB's magic and data
 * version, agree on a sane page size, mark themselves as meta pages, and
 * every page they reference, up to last_pgno, lies within the file.
 * LMDB refuses (MDB_PAGE_NOTFOUND) any page number at or past last_pgno+1,
 * so a file that passes cannot be read past its end through the tree.
 * What is left (a hostile file with valid meta pages and forged tree
 * pages, which crashed LMDB under tests/fuzz/fuzz_hdb_file) is caught by
 * mxt_hdb_open() itself: it reads the whole file in a child process first
 * (hdb_probe.h) and refuses it when that child dies.
 *
 * A damaged file is moved aside to "<path>.damaged-YYYYmmddTHHMMSSZ" and
 * the last good copy, "<path>.good", takes its place when it passes the
 * same check; else the history starts empty.  The good copy is an LMDB
 * compacting copy (mdb_env_copyfd2(MDB_CP_COMPACT)) of a history that was
 * just read through whole or just checkpointed: made after the start-up
 * restore, every MXT_HDB_GOOD_EVERY checkpoints, and at a clean stop.
 *
 * A file truncated while mapped (another process cutting it) still raises
 * SIGBUS in the daemon: a handler cannot resume LMDB safely, so the daemon
 * dies, XDP keeps enforcing, and the next start finds the damage here.
 */
#ifndef MXT_HISTORY_RECOVER_H
#define MXT_HISTORY_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "history_db.h"

#define MXT_HDB_GOOD_SUFFIX  ".good"
#define MXT_HDB_GOOD_EVERY   60       /* checkpoints between two good copies */
#define MXT_HDB_CHECK_READ   (65536 + 4096) /* bytes of the file the check reads */

/* Pure: check the first 'len' bytes 'buf' of an LMDB data file of 'size'
 * bytes (give min(size, MXT_HDB_CHECK_READ)).  0 when LMDB may map it
 * (an empty file is a new history), -EBADMSG with 'why' saying what is
 * wrong. */
int mxt_hdb_check_image(const uint8_t *buf, size_t len, uint64_t size, char *why, size_t whylen);

/* Check the file at 'path' without following a symlink: 0 good (or
 * empty), -ENOENT absent, -EBADMSG damaged (why set), other -errno. */
int mxt_hdb_check_file(const char *path, char *why, size_t whylen);

/* Move 'path' aside to "<path>.damaged-<UTC time of now>" (name in 'to'),
 * then put the last good copy in its place if it passes the check (unless
 * use_good is 0).  Returns 1 restored from the good copy, 0 the history
 * starts empty, -errno when the file could not be moved (then it is
 * emptied in place, so that the daemon still starts). */
int mxt_hdb_quarantine(const char *path, uint64_t now, int use_good, char *to, size_t tolen);

/* Write "<path>.good" from the open history (compacting copy, fsync,
 * checked, renamed into place).  0 or -errno. */
int mxt_hdb_save_good(struct mxt_hdb *db, const char *path);

#endif /* MXT_HISTORY_RECOVER_H */
