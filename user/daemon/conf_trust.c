/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* conf_trust.c - owner and mode checks of the main configuration file
 * (see conf_trust.h). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_trust.h"
#include "errfmt.h"

int mxt_conf_stat_trusted(const struct stat *st, int is_dir, char *why, size_t whylen)
{
	const char *what = is_dir ? "directory" : "file";

	if (is_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		mxt_seterr(why, whylen, "not a %s", is_dir ? "directory" : "regular file");
		return -EPERM;
	}
	if (st->st_uid != 0) {
		mxt_seterr(why, whylen, "%s owned by uid %u, not root (chown root)", what,
			  (unsigned)st->st_uid);
		return -EPERM;
	}
	/* A sticky directory keeps root's entries root's. */
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(is_dir && (st->st_mode & S_ISVTX))) {
		mxt_seterr(why, whylen, "%s writable by %s (mode %04o; chmod go-w)", what,
			  (st->st_mode & S_IWOTH) ? "everyone" : "its group",
			  (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* stat 'path' and check it; err = "LABEL: reason". */
static int check_one(const char *path, int is_dir, const char *label, char *err, size_t errlen)
{
	struct stat st;
	char why[160];
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		mxt_seterr(err, errlen, "%s: %s", label, strerror(-rc));
		return rc;
	}
	rc = mxt_conf_stat_trusted(&st, is_dir, why, sizeof(why));
	if (rc < 0) {
		if (is_dir)
			mxt_seterr(err, errlen, "%s: %s %s; refusing a configuration others may change "
				   "(it steers a daemon started as root)", label, path, why);
		else
			mxt_seterr(err, errlen, "%s: %s; refusing a configuration others may change "
				   "(it steers a daemon started as root)", label, why);
	}
	return rc;
}

int mxt_conf_trusted(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX], real[PATH_MAX];
	int rc;

	rc = check_one(path, 0, path, err, errlen);
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
		mxt_seterr(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	/* The link's directory decides what the name points to; the target's
	 * directory decides what the file is. */
	rc = check_one(dirname(buf), 1, path, err, errlen);
	if (rc < 0)
		return rc;
	if (!realpath(path, real)) {
		rc = -errno;
		mxt_seterr(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return check_one(dirname(real), 1, path, err, errlen);
}
