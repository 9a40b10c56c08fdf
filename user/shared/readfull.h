/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * readfull.h - read a bounded file into a caller's buffer: the loop that
 * the daemon's readers of small files (runtime.conf, the history file's
 * check) share, so a read interrupted by a signal is retried alike in all.
 */
#ifndef MXT_READFULL_H
#define MXT_READFULL_H

#include <stddef.h>

/* Read from fd into buf until len bytes or end of file, retrying a read
 * interrupted by a signal; a read error ends it as end of file does (the
 * callers judge what they got, e.g. a file cut short).  Returns the bytes
 * read. */
size_t mxt_read_upto(int fd, void *buf, size_t len);

#endif
