/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hdb_probe.h - reads an LMDB history file in a child process before the
 * daemon maps it.  LMDB trusts its file: a truncated file raises SIGBUS,
 * a page number or node offset out of range a SIGSEGV, in the process
 * that maps it (issue 9, hole 2; found again by tests/fuzz/fuzz_hdb_file).
 * The file belongs to the run user and lives on a disk that can fail, so
 * it is read once, whole, where a crash costs nothing but a verdict.
 */
#ifndef MXT_HDB_PROBE_H
#define MXT_HDB_PROBE_H

#include <stddef.h>

/*
 * Opens 'path' read-only in a forked child, without a lock file, with the
 * map size the caller will use, and reads every page LMDB can reach from
 * it: the free list, the main database and every named database, keys and
 * values byte by byte.  Returns 0 when the file is absent, when the child
 * read it all, or when it is no LMDB file at all (mxt_hdb_open then says
 * so); -EBADMSG with 'err' set when reading it killed the child or LMDB
 * reported it corrupt; other -errno when the child could not be run.
 * Call it before the process starts threads (the child runs LMDB and
 * malloc after fork()).
 */
int mxt_hdb_probe(const char *path, size_t mapsize, char *err, size_t errlen);

#endif /* MXT_HDB_PROBE_H */
