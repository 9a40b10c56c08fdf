/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* history_recover.c - check, quarantine and good copy of the history file
 * (see history_recover.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "errfmt.h"
#include "history_recover.h"
#include "readfull.h"

/* LMDB 0.9's on-disk layout (mdb.c): a 16-byte page header (pgno, pad,
 * flags at 10), then on pages 0 and 1 the meta: magic, data version,
 * address, map size, two MDB_db (the first one's md_pad is the page size),
 * last page number, transaction id.  Native endianness, 64-bit words. */
#define LMDB_MAGIC        0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_P_META       0x08u
#define LMDB_PAGEHDR      16
#define LMDB_FLAGS_OFF    10
#define META_MAGIC        0
#define META_VERSION      4
#define META_PSIZE        24
#define META_FREE_ROOT    64
#define META_MAIN_ROOT    112
#define META_LAST_PG      120
#define META_LEN          136
#define LMDB_P_INVALID    (~(uint64_t)0)

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Check the meta page 'which' (0 or 1) at 'page'. */
static int check_meta(const uint8_t *page, int which, uint32_t psize, uint64_t size,
		      char *why, size_t whylen)
{
	const uint8_t *m = page + LMDB_PAGEHDR;
	uint64_t last, pages = size / psize;
	uint64_t roots[2] = { rd64(m + META_FREE_ROOT), rd64(m + META_MAIN_ROOT) };

	if (rd32(m + META_MAGIC) != LMDB_MAGIC) {
		mxt_seterr(why, whylen, "meta page %d: not an LMDB file (magic 0x%08x)", which,
			  rd32(m + META_MAGIC));
		return -EBADMSG;
	}
	if (rd32(m + META_VERSION) != LMDB_DATA_VERSION) {
		mxt_seterr(why, whylen, "meta page %d: LMDB data version %u, want %u", which,
			  rd32(m + META_VERSION), LMDB_DATA_VERSION);
		return -EBADMSG;
	}
	if (!(rd16(page + LMDB_FLAGS_OFF) & LMDB_P_META) || rd32(m + META_PSIZE) != psize) {
		mxt_seterr(why, whylen, "meta page %d: not a meta page of %u-byte pages", which, psize);
		return -EBADMSG;
	}
	last = rd64(m + META_LAST_PG);
	if (last >= pages) {
		mxt_seterr(why, whylen, "truncated: meta page %d needs %llu pages of %u bytes "
			  "(%llu bytes), the file has %llu bytes", which,
			  (unsigned long long)last + 1, psize,
			  (unsigned long long)(last + 1) * psize, (unsigned long long)size);
		return -EBADMSG;
	}
	for (int i = 0; i < 2; i++)
		if (roots[i] != LMDB_P_INVALID && (roots[i] > last || roots[i] < 2)) {
			mxt_seterr(why, whylen, "meta page %d: root page %llu outside pages 2..%llu",
				  which, (unsigned long long)roots[i], (unsigned long long)last);
			return -EBADMSG;
		}
	return 0;
}

int mxt_hdb_check_image(const uint8_t *buf, size_t len, uint64_t size, char *why, size_t whylen)
{
	uint32_t psize;
	int rc;

	if (size == 0)
		return 0;
	if (len > size)
		len = (size_t)size;
	if (len < LMDB_PAGEHDR + META_LEN) {
		mxt_seterr(why, whylen, "%llu bytes: shorter than an LMDB meta page",
			  (unsigned long long)size);
		return -EBADMSG;
	}
	psize = rd32(buf + LMDB_PAGEHDR + META_PSIZE);
	if (psize < 512 || psize > 65536 || (psize & (psize - 1))) {
		if (rd32(buf + LMDB_PAGEHDR + META_MAGIC) != LMDB_MAGIC)
			mxt_seterr(why, whylen, "meta page 0: not an LMDB file (magic 0x%08x)",
				  rd32(buf + LMDB_PAGEHDR + META_MAGIC));
		else
			mxt_seterr(why, whylen, "meta page 0: page size %u is not a power of two "
				  "in 512..65536", psize);
		return -EBADMSG;
	}
	if (size < 2ull * psize || len < (size_t)psize + LMDB_PAGEHDR + META_LEN) {
		mxt_seterr(why, whylen, "truncated: %llu bytes, shorter than its two meta pages "
			  "of %u bytes", (unsigned long long)size, psize);
		return -EBADMSG;
	}
	rc = check_meta(buf, 0, psize, size, why, whylen);
	if (!rc)
		rc = check_meta(buf + psize, 1, psize, size, why, whylen);
	return rc;
}

int mxt_hdb_check_file(const char *path, char *why, size_t whylen)
{
	uint8_t *buf;
	struct stat st;
	size_t len, want;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP) {
			mxt_seterr(why, whylen, "a symbolic link, not the history file");
			return -EBADMSG;
		}
		mxt_seterr(why, whylen, "%s", strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mxt_seterr(why, whylen, "not a regular file");
		close(fd);
		return -EBADMSG;
	}
	want = st.st_size < MXT_HDB_CHECK_READ ? (size_t)st.st_size : MXT_HDB_CHECK_READ;
	buf = malloc(want ? want : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	len = mxt_read_upto(fd, buf, want);  /* a fresh fd: from offset 0 */
	close(fd);
	rc = mxt_hdb_check_image(buf, len, (uint64_t)st.st_size, why, whylen);
	free(buf);
	return rc;
}

/* Copy the file 'from' over 'to' (created or truncated, not through a
 * symlink), fsync'd.  0 or -errno. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, rc = 0;

	in = open(from, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf)), w = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		if (r <= 0)
			break;
		while (w < r) {
			ssize_t n = write(out, buf + w, (size_t)(r - w));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			w += n;
		}
		if (rc)
			break;
	}
	if (!rc && fsync(out) < 0)
		rc = -errno;
	close(out);
	close(in);
	return rc;
}

int mxt_hdb_quarantine(const char *path, uint64_t now, int use_good, char *to, size_t tolen)
{
	char good[PATH_MAX + 8], why[256], stamp[32];
	time_t t = (time_t)now;
	struct tm tm;
	int rc;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	/* Never over an earlier damaged file (a failed good copy is moved
	 * aside in the same second as the file it replaced). */
	rc = -EEXIST;
	for (int n = 0; n < 10 && rc == -EEXIST; n++) {
		if ((size_t)snprintf(to, tolen, n ? "%s.damaged-%s.%d" : "%s.damaged-%s", path, stamp, n) >=
		    tolen)
			return -ENAMETOOLONG;
		rc = renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) < 0 ? -errno : 0;
		if (rc == -EINVAL) /* a file system without RENAME_NOREPLACE */
			rc = rename(path, to) < 0 ? -errno : 0;
	}
	if (rc < 0) {
		/* A directory the run user cannot write: empty the file in place
		 * (it is the run user's) so that LMDB starts a new history. */
		if (truncate(path, 0) < 0)
			unlink(path);
		snprintf(to, tolen, "(not moved: %s; emptied in place)", strerror(-rc));
		return rc;
	}
	snprintf(good, sizeof(good), "%s%s", path, MXT_HDB_GOOD_SUFFIX);
	if (!use_good || mxt_hdb_check_file(good, why, sizeof(why)) < 0)
		return 0;
	if (copy_file(good, path) < 0 || mxt_hdb_check_file(path, why, sizeof(why)) < 0) {
		unlink(path);
		return 0;
	}
	return 1;
}

int mxt_hdb_save_good(struct mxt_hdb *db, const char *path)
{
	char good[PATH_MAX + 8], tmp[PATH_MAX + 16], why[256];
	int fd, rc;

	if ((size_t)snprintf(good, sizeof(good), "%s%s", path, MXT_HDB_GOOD_SUFFIX) >= sizeof(good) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", good) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = mxt_hdb_copy_fd(db, fd);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && mxt_hdb_check_file(tmp, why, sizeof(why)) < 0)
		rc = -EBADMSG;
	if (!rc && rename(tmp, good) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
