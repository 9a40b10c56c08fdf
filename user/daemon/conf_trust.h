/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * conf_trust.h - may a file steer a daemon started as root?  mxthrottled
 * reads mxthrottle.conf as root, and the file decides who the daemon runs
 * as and where it writes; so, as OpenSSH's StrictModes, the file and the
 * directories it is reached through must be owned by root and writable by
 * root alone (a sticky directory, such as /tmp, is accepted: nobody else
 * may rename or remove root's file in it).  Files the run user writes
 * (runtime.conf, connectors, the history) are never trusted this way:
 * see daemon_conf.h and history_recover.h.
 */
#ifndef MXT_CONF_TRUST_H
#define MXT_CONF_TRUST_H

#include <stddef.h>
#include <sys/stat.h>

/* Pure: 0 when 'st' (a file, or a directory when is_dir) is owned by root
 * and writable by root alone; else -EPERM with 'why' saying what is wrong
 * and how to fix it. */
int mxt_conf_stat_trusted(const struct stat *st, int is_dir, char *why, size_t whylen);

/* 0 when the file at 'path', its directory, and the directory of the file
 * it resolves to are trusted; else -errno with err = "PATH: reason". */
int mxt_conf_trusted(const char *path, char *err, size_t errlen);

#endif /* MXT_CONF_TRUST_H */
