/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl_persist.c - what the controller keeps on disk: the connectors
 * (in memory, in the kernel's LPM map and in allow_file), the keys
 * "config set" records in runtime_conf, and the history checkpoints.
 * Files are rewritten whole (temp file + fsync + rename) and never under
 * the model's lock, so the policy thread does not wait for the disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller_int.h"
#include "history_db.h"
#include "log.h"

/* ---- connectors ---------------------------------------------------------- */

/* The connectors as they were under the lock, for allow_save(). */
struct allow_copy {
	struct mxt_ctl_cidr v[MXT_CTL_ALLOW_MAX];
	int n;
	uint64_t gen;
};

/* Copy the connectors (lock held). */
static void allow_copy_locked(const struct mxt_controller *c, struct allow_copy *a)
{
	memcpy(a->v, c->allow, (size_t)c->nallow * sizeof(a->v[0]));
	a->n = c->nallow;
	a->gen = c->allow_gen;
}

/* Rewrite allow_file from a copy, without the lock (the fsync must not
 * stall the policy thread): temp file + rename, so a crash leaves either
 * the old list or the new one.  Main thread only, so saves never
 * interleave; an older copy than the one in the file is not written. */
static int allow_save(struct mxt_controller *c, const struct allow_copy *a)
{
	char tmp[sizeof(c->allow_file) + 8], text[MXT_ADDRSTRLEN];
	FILE *f;
	int fd;

	if (!c->allow_file[0] || a->gen < c->allow_saved_gen)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->allow_file);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# connectors added at run time by 'mxthrottle allow add'; one CIDR per line\n");
	for (int i = 0; i < a->n; i++) {
		mxt_cidr_format(&a->v[i].net, a->v[i].prefixlen, text, sizeof(text));
		fprintf(f, "%s\n", text);
	}
	fd = fileno(f);
	if (fflush(f) || fsync(fd)) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	if (rename(tmp, c->allow_file) < 0)
		return -errno;
	c->allow_saved_gen = a->gen;
	return 0;
}

/* Index of the connector 'x' in allow[], or -1 (lock held). */
static int allow_index_locked(const struct mxt_controller *c, const struct mxt_ctl_cidr *x)
{
	for (int i = 0; i < c->nallow; i++)
		if (c->allow[i].prefixlen == x->prefixlen && !memcmp(&c->allow[i].net, &x->net, sizeof(x->net)))
			return i;
	return -1;
}

/* End a change of allow[] whose result is 'rc': copy (when persisting),
 * unlock, then write the copy outside the lock.  Frees 'copy'. */
static int allow_unlock_save(struct mxt_controller *c, struct allow_copy *copy, int rc)
{
	if (!rc && copy)
		allow_copy_locked(c, copy);
	pthread_mutex_unlock(&c->lock);
	if (!rc && copy)
		rc = allow_save(c, copy);
	free(copy);
	return rc;
}

int mxt_ctl_allow_add(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen)
{
	struct allow_copy *copy = NULL;
	struct mxt_ctl_cidr x;
	struct mxt_lpm_key lk;
	int rc = 0;

	if (mxt_cidr_parse(cidr, &x.net, &x.prefixlen, NULL) < 0) {
		mxt_seterr(err, errlen, "'%s' is not an IPv4 or IPv6 CIDR", cidr);
		return -EINVAL;
	}
	if (c->maps) {
		mxt_lpm_key_from_cidr(&lk, &x.net, x.prefixlen);
		rc = mxt_allow_add(c->maps, &lk);
		if (rc == -EEXIST)
			rc = 0; /* already in the pinned map (restart): keep its hits */
		if (rc) {
			mxt_seterr(err, errlen, "cannot add %s to mxt_allow: %s", cidr, strerror(-rc));
			return rc;
		}
	}
	if (persist && !(copy = malloc(sizeof(*copy)))) {
		mxt_seterr(err, errlen, "cannot record connector %s: out of memory", cidr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if (allow_index_locked(c, &x) < 0) {
		if (c->nallow == MXT_CTL_ALLOW_MAX) {
			rc = -ENOSPC;
		} else {
			c->allow[c->nallow++] = x;
			c->allow_gen++;
		}
	}
	rc = allow_unlock_save(c, copy, rc);
	if (rc)
		mxt_seterr(err, errlen, "cannot record connector %s: %s", cidr, strerror(-rc));
	return rc;
}

int mxt_ctl_allow_del(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen)
{
	struct allow_copy *copy = NULL;
	struct mxt_ctl_cidr x;
	struct mxt_lpm_key lk;
	int rc = -ENOENT, i;

	if (mxt_cidr_parse(cidr, &x.net, &x.prefixlen, NULL) < 0) {
		mxt_seterr(err, errlen, "'%s' is not an IPv4 or IPv6 CIDR", cidr);
		return -EINVAL;
	}
	if (persist && !(copy = malloc(sizeof(*copy)))) {
		mxt_seterr(err, errlen, "%s: out of memory", cidr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	if ((i = allow_index_locked(c, &x)) >= 0) {
		c->allow[i] = c->allow[--c->nallow];
		c->allow_gen++;
		rc = 0;
	}
	rc = allow_unlock_save(c, copy, rc);
	if (c->maps) {
		int krc;

		mxt_lpm_key_from_cidr(&lk, &x.net, x.prefixlen);
		krc = mxt_allow_delete(c->maps, &lk);
		if (rc == -ENOENT && krc == 0)
			rc = 0; /* only in the kernel (added with the CLI alone) */
	}
	if (rc)
		mxt_seterr(err, errlen, "%s: %s", cidr, rc == -ENOENT ? "not a connector" : strerror(-rc));
	return rc;
}

int mxt_ctl_allow_load(struct mxt_controller *c, char *err, size_t errlen)
{
	char line[256];
	FILE *f;
	int lineno = 0, rc = 0;

	if (!c->allow_file[0])
		return 0;
	f = fopen(c->allow_file, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, e[200];

		lineno++;
		p[strcspn(p, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		rc = mxt_ctl_allow_add(c, p, 0, e, sizeof(e));
		if (rc) {
			mxt_seterr(err, errlen, "%s:%d: %s", c->allow_file, lineno, e);
			break;
		}
	}
	fclose(f);
	return rc;
}

/* 1 when 'x' is one of our connectors. */
static int allow_known(struct mxt_controller *c, const struct mxt_ctl_cidr *x)
{
	int known;

	pthread_mutex_lock(&c->lock);
	known = allow_index_locked(c, x) >= 0;
	pthread_mutex_unlock(&c->lock);
	return known;
}

int mxt_ctl_allow_adopt(struct mxt_controller *c)
{
	struct mxt_allow_entry *e = NULL;
	size_t n = 0;
	int adopted = 0;

	if (!c->maps || mxt_allow_dump(c->maps, &e, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct mxt_ctl_cidr x;
		char text[MXT_ADDRSTRLEN], err[256];

		memset(&x, 0, sizeof(x));
		if (mxt_lpm_key_to_cidr(&e[i].key, &x.net, &x.prefixlen) < 0 || allow_known(c, &x))
			continue;
		mxt_cidr_format(&x.net, x.prefixlen, text, sizeof(text));
		if (mxt_ctl_allow_add(c, text, 1, err, sizeof(err)) == 0) {
			mxt_log_info("ALLOW [%s] adopted from the kernel map", text);
			adopted++;
		} else {
			mxt_log_warnx("connector %s in the kernel map not adopted: %s", text, err);
		}
	}
	free(e);
	return adopted;
}

/* ---- runtime.conf ------------------------------------------------------- */

/* Record "key = value" pairs in runtime_conf (read after the main config
 * file at start and reload): existing keys are replaced, the file is
 * rewritten whole (temp file + rename). */
int mxt_ctl_runtime_conf_save(struct mxt_controller *c, int n, const char *const *keys,
			      const char *const *vals)
{
	char names[64][64], values[64][128], line[256], tmp[sizeof(c->runtime_conf) + 8];
	int count = 0;
	FILE *f;

	if (!c->runtime_conf[0])
		return 0;
	f = fopen(c->runtime_conf, "r");
	while (f && count < 64 && fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		char k[64], v[128];

		if (line[0] == '#' || !eq || sscanf(line, " %63[^= ] = %127[^\n]", k, v) != 2)
			continue;
		snprintf(names[count], sizeof(names[0]), "%s", k);
		snprintf(values[count], sizeof(values[0]), "%s", v);
		count++;
	}
	if (f)
		fclose(f);
	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < count; j++)
			if (!strcmp(names[j], keys[i]))
				break;
		if (j == count) {
			if (count == 64)
				return -ENOSPC;
			count++;
		}
		snprintf(names[j], sizeof(names[0]), "%s", keys[i]);
		snprintf(values[j], sizeof(values[0]), "%s", vals[i]);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->runtime_conf);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# written by mxthrottled for 'mxthrottle config set'; read after mxthrottle.conf\n");
	for (int j = 0; j < count; j++)
		fprintf(f, "%s = %s\n", names[j], values[j]);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	return rename(tmp, c->runtime_conf) < 0 ? -errno : 0;
}

/* ---- history checkpoints ------------------------------------------------ */

/* Copy what the next checkpoint writes and mark the model clean, in one
 * hold of the lock: memory copies only.  The room is reserved before,
 * outside the lock, from a count taken under it; should the model grow
 * past it in between, reserve again.  Adds the time the lock was held
 * for the copy to *held. */
static int checkpoint_copy(struct mxt_controller *c, struct mxt_hdb_snapshot *snap, uint64_t *held)
{
	unsigned flags = c->full_checkpoint ? 0 : MXT_HDB_DIRTY_ONLY;
	int rc = -ENOBUFS;

	for (int attempt = 0; attempt < 4 && rc == -ENOBUFS; attempt++) {
		size_t nrec, nrm;
		uint64_t t0;

		pthread_mutex_lock(&c->lock);
		mxt_hdb_snapshot_need(c->model, &nrec, &nrm);
		pthread_mutex_unlock(&c->lock);
		rc = mxt_hdb_snapshot_reserve(snap, nrec + nrec / 8 + 64, nrm + nrm / 8 + 64);
		if (rc)
			return rc;
		t0 = mxt_ctl_usec_now();
		pthread_mutex_lock(&c->lock);
		rc = mxt_hdb_snapshot_take(snap, c->model, flags);
		if (!rc)
			mxt_model_mark_clean(c->model);
		pthread_mutex_unlock(&c->lock);
		*held += mxt_ctl_usec_now() - t0;
	}
	return rc;
}

/* Copy under the lock, write without it: the policy thread never waits
 * for the disk.  The model is marked clean at the copy; should the write
 * fail, the next checkpoint rewrites everything (full_checkpoint), so no
 * change is lost, and the previous checkpoint stays intact in the db. */
int mxt_ctl_checkpoint(struct mxt_controller *c)
{
	struct mxt_hdb_snapshot snap = { 0 };
	struct mxt_hdb_stats st;
	uint64_t t0 = mxt_ctl_usec_now(), held = 0;
	int rc;

	if (!c->db)
		return 0;
	rc = checkpoint_copy(c, &snap, &held);
	if (!rc)
		rc = mxt_hdb_snapshot_write(c->db, &snap, mxt_ctl_now(c), &st);
	mxt_hdb_snapshot_free(&snap);
	ST_SET(c, checkpoint_lock_usec_last, held);
	if (rc < 0) {
		c->full_checkpoint = 1;
		ST_INC(c, checkpoint_errors);
		mxt_log_warnx("checkpoint failed: %s (next one rewrites everything)",
			      mxt_hdb_error(c->db)[0] ? mxt_hdb_error(c->db) : strerror(-rc));
		return rc;
	}
	c->full_checkpoint = 0;
	ST_INC(c, checkpoints);
	ST_SET(c, checkpoint_records_last, st.written + st.deleted);
	ST_SET(c, checkpoint_usec_last, mxt_ctl_usec_now() - t0);
	return (int)st.written;
}

int mxt_ctl_checkpoint_all(struct mxt_controller *c)
{
	c->full_checkpoint = 1;
	return mxt_ctl_checkpoint(c);
}

int mxt_ctl_restore(struct mxt_controller *c, char *err, size_t errlen)
{
	struct mxt_hdb_stats st;
	int rc;

	if (!c->db)
		return 0;
	pthread_mutex_lock(&c->lock);
	rc = mxt_hdb_load(c->db, c->model, &st);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		mxt_seterr(err, errlen, "%s", mxt_hdb_error(c->db));
		return rc;
	}
	if (st.skipped_full || st.skipped_bad)
		mxt_log_warnx("history: %llu records not restored (model full), %llu undecodable",
			      (unsigned long long)st.skipped_full, (unsigned long long)st.skipped_bad);
	return (int)st.loaded;
}

