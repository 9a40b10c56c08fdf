// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pinned.c - open, check, lock and use the maps pinned under the pin
 * directory.  Layout checks compare each map's type, key and value size
 * (bpf_obj_get_info_by_fd) with the structs of mxt_abi.h, then the config's
 * abi_version, so that a CLI meeting maps of another build says so plainly
 * instead of misreading them.
 *
 * mxt_stats: the ABI fixes the reason order but not the map's shape, so
 * both shapes a per-CPU counter map can reasonably have are read: one __u64
 * per reason (max_entries >= MXT_R_MAX, the usual one) or a single entry
 * holding an array of MXT_R_MAX or more __u64.  Extra trailing counters
 * (reasons appended by a newer program) are ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "errfmt.h"
#include "pinned.h"
#include "mxt_keyhash.h"

static const struct mxt_map_spec specs[MXT_MAP_ID_MAX] = {
	[MXT_MAP_ID_CONFIG]  = { MXT_STR(MXT_MAP_CONFIG), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(struct mxt_config), 1 },
	[MXT_MAP_ID_SOURCES] = { MXT_STR(MXT_MAP_SOURCES), BPF_MAP_TYPE_LRU_HASH, sizeof(struct mxt_key),
				 sizeof(struct mxt_source), 0 },
	[MXT_MAP_ID_POLICY]  = { MXT_STR(MXT_MAP_POLICY), BPF_MAP_TYPE_HASH, sizeof(struct mxt_key),
				 sizeof(struct mxt_policy), 0 },
	[MXT_MAP_ID_ALLOW]   = { MXT_STR(MXT_MAP_ALLOW), BPF_MAP_TYPE_LPM_TRIE, sizeof(struct mxt_lpm_key),
				 sizeof(struct mxt_allow), 0 },
	[MXT_MAP_ID_STATS]   = { MXT_STR(MXT_MAP_STATS), BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				 sizeof(__u64), 0 },
	[MXT_MAP_ID_GLOBAL]  = { MXT_STR(MXT_MAP_GLOBAL), BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				 sizeof(struct mxt_global_state), 1 },
	[MXT_MAP_ID_GEN]     = { MXT_STR(MXT_MAP_GEN), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(__u64), MXT_GEN_MAX },
	[MXT_MAP_ID_SOURCES4] = { MXT_STR(MXT_MAP_SOURCES4), BPF_MAP_TYPE_LRU_HASH, sizeof(__u32),
				 sizeof(struct mxt_source), 0 },
	[MXT_MAP_ID_FRONT]   = { MXT_STR(MXT_MAP_FRONT), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(struct mxt_front_set), 0 },
	[MXT_MAP_ID_POLMARK] = { MXT_STR(MXT_MAP_POLMARK), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(__u64), MXT_POLMARK_WORDS },
	[MXT_MAP_ID_POLCOUNT] = { MXT_STR(MXT_MAP_POLCOUNT), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 sizeof(__u64), MXT_POLCOUNT_WORDS },
};

const struct mxt_map_spec *mxt_map_spec(enum mxt_map_id id)
{
	return (unsigned int)id < MXT_MAP_ID_MAX ? &specs[id] : NULL;
}

const char *mxt_pin_dir_default(void)
{
	const char *env = getenv("MXT_PIN_DIR");

	return env && *env ? env : MXT_PIN_DIR;
}

int mxt_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int mxt_pin_lock(const char *dir, int *lock_fd)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*lock_fd = fd;
	return 0;
}

void mxt_pin_unlock(int lock_fd)
{
	if (lock_fd < 0)
		return;
	flock(lock_fd, LOCK_UN);
	close(lock_fd);
}

/* A map type in words, for messages. */
static const char *type_str(__u32 type)
{
	const char *s = libbpf_bpf_map_type_str((enum bpf_map_type)type);

	return s ? s : "unknown";
}

int mxt_map_check(enum mxt_map_id id, int fd, __u32 *max_entries, __u32 *map_id,
		  char *err, size_t errlen)
{
	const struct mxt_map_spec *s = mxt_map_spec(id);
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	if (!s)
		return -EINVAL;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != s->type) {
		mxt_seterr(err, errlen, "%s is a %s map, expected %s", s->name,
		       type_str(info.type), type_str(s->type));
		return -EPROTO;
	}
	if (info.key_size != s->key_size) {
		mxt_seterr(err, errlen, "%s key %u bytes, expected %u", s->name, info.key_size, s->key_size);
		return -EPROTO;
	}
	if (id == MXT_MAP_ID_STATS) {
		int per_reason = info.value_size == sizeof(__u64) && info.max_entries >= MXT_R_MAX;
		int one_array = info.max_entries == 1 && info.value_size % sizeof(__u64) == 0 &&
				info.value_size >= MXT_R_MAX * sizeof(__u64);

		if (!per_reason && !one_array) {
			mxt_seterr(err, errlen, "%s value %u bytes x %u entries, expected %zu x %d",
			       s->name, info.value_size, info.max_entries, sizeof(__u64), MXT_R_MAX);
			return -EPROTO;
		}
	} else {
		if (info.value_size != s->value_size) {
			mxt_seterr(err, errlen, "%s value %u bytes, expected %u", s->name,
			       info.value_size, s->value_size);
			return -EPROTO;
		}
		if (s->max_entries && info.max_entries != s->max_entries) {
			mxt_seterr(err, errlen, "%s has %u entries, expected %u", s->name,
			       info.max_entries, s->max_entries);
			return -EPROTO;
		}
	}
	if (max_entries)
		*max_entries = info.max_entries;
	if (map_id)
		*map_id = info.id;
	return 0;
}

void mxt_maps_close(struct mxt_maps *m)
{
	if (m->polmark)
		munmap(m->polmark, MXT_POLMARK_WORDS * sizeof(__u64));
	m->polmark = NULL;
	if (m->polcount)
		munmap(m->polcount, MXT_POLCOUNT_WORDS * sizeof(__u64));
	m->polcount = NULL;
	if (m->front)
		munmap((void *)m->front, (size_t)m->front_sets * sizeof(struct mxt_front_set));
	m->front = NULL;
	m->front_sets = 0;
	for (int i = 0; i < MXT_MAP_ID_MAX; i++) {
		if (m->fd[i] >= 0)
			close(m->fd[i]);
		m->fd[i] = -1;
	}
	mxt_pin_unlock(m->lock_fd);
	m->lock_fd = -1;
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	m->dir_fd = -1;
}

/* Lock the pin directory for an allowlist change, unless this process
 * holds the lock already (MXT_MAPS_LOCK): 1 when locked here, else 0. */
static int allow_lock(const struct mxt_maps *m)
{
	if (m->lock_fd >= 0 || m->dir_fd < 0)
		return 0;
	while (flock(m->dir_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return 0; /* unlocked: the race it guards is only narrower */
	return 1;
}

static void allow_unlock(const struct mxt_maps *m, int locked)
{
	if (locked)
		flock(m->dir_fd, LOCK_UN);
}

int mxt_maps_open(struct mxt_maps *m, const char *dir, unsigned int flags,
		  char *err, size_t errlen)
{
	char path[PATH_MAX], why[160];
	struct mxt_config cfg;
	struct stat st;
	int ret, found = 0;

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		m->fd[i] = -1;
	m->lock_fd = -1;
	m->dir_fd = -1;
	if (mxt_strlcpy(m->dir, dir, sizeof(m->dir))) {
		mxt_seterr(err, errlen, "pin directory name too long: %s", dir);
		return -ENAMETOOLONG;
	}
	if (stat(dir, &st) < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			mxt_seterr(err, errlen, "no pinned maps at %s: run 'mxthrottle attach IFACE' first", dir);
		else
			mxt_seterr(err, errlen, "%s: %s", dir, strerror(-ret));
		return ret;
	}
	m->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (flags & MXT_MAPS_LOCK) {
		ret = mxt_pin_lock(dir, &m->lock_fd);
		if (ret) {
			mxt_seterr(err, errlen, "cannot lock %s: %s", dir, strerror(-ret));
			mxt_maps_close(m);
			return ret;
		}
	}
	for (int i = 0; i < MXT_MAP_ID_MAX; i++) {
		ret = mxt_pin_path(path, sizeof(path), dir, specs[i].name);
		if (ret)
			goto fail;
		m->fd[i] = bpf_obj_get(path);
		if (m->fd[i] < 0) {
			ret = -errno;
			if (ret == -ENOENT)
				continue;
			if (ret == -EACCES || ret == -EPERM)
				mxt_seterr(err, errlen, "cannot open %s: %s (run as root)", path, strerror(-ret));
			else
				mxt_seterr(err, errlen, "cannot open %s: %s", path, strerror(-ret));
			goto fail;
		}
		found++;
	}
	if (!found) {
		mxt_seterr(err, errlen, "no pinned maps at %s: run 'mxthrottle attach IFACE' first", dir);
		ret = -ENOENT;
		goto fail;
	}
	/* A map of another layout says more than a missing one: check first. */
	for (int i = 0; i < MXT_MAP_ID_MAX; i++) {
		if (m->fd[i] < 0)
			continue;
		why[0] = '\0';
		ret = mxt_map_check(i, m->fd[i], &m->max_entries[i], &m->map_id[i], why, sizeof(why));
		if (ret == -EPROTO) {
			mxt_seterr(err, errlen, "maps at %s are of another layout (%s): detach and re-attach",
			       dir, why);
			goto fail;
		} else if (ret) {
			mxt_seterr(err, errlen, "cannot inspect %s/%s: %s", dir, specs[i].name, strerror(-ret));
			goto fail;
		}
	}
	for (int i = 0; i < MXT_MAP_ID_MAX; i++) {
		if (m->fd[i] < 0) {
			mxt_seterr(err, errlen, "maps at %s are incomplete (%s missing): detach and re-attach",
			       dir, specs[i].name);
			ret = -EPROTO;
			goto fail;
		}
	}
	ret = mxt_maps_config_read(m, &cfg);
	if (ret) {
		mxt_seterr(err, errlen, "cannot read %s/%s: %s", dir, specs[MXT_MAP_ID_CONFIG].name,
		       strerror(-ret));
		goto fail;
	}
	m->abi_version = cfg.abi_version;
	if (cfg.abi_version == 0 && !(flags & MXT_MAPS_ANY_ABI)) {
		mxt_seterr(err, errlen, "maps at %s are ABI 0 (unconfigured, e.g. loaded by xdp-loader): write a config with 'mxthrottle config set mode enforce' or re-attach", dir);
		ret = -EPROTO;
		goto fail;
	}
	if (cfg.abi_version != 0 && cfg.abi_version != MXT_ABI_VERSION) {
		mxt_seterr(err, errlen, "maps at %s are ABI %u, expected %u: detach and re-attach",
		       dir, cfg.abi_version, MXT_ABI_VERSION);
		ret = -EPROTO;
		goto fail;
	}
	m->nr_cpus = libbpf_num_possible_cpus();
	if (m->nr_cpus <= 0) {
		ret = m->nr_cpus ? m->nr_cpus : -EINVAL;
		mxt_seterr(err, errlen, "cannot count possible CPUs: %s", strerror(-ret));
		goto fail;
	}
	/* Mapped, so that policy writers set their bits atomically; without
	 * the mapping mxt_policy_put() falls back to a lookup and update. */
	{
		void *pm = mmap(NULL, MXT_POLMARK_WORDS * sizeof(__u64), PROT_READ | PROT_WRITE,
				MAP_SHARED, m->fd[MXT_MAP_ID_POLMARK], 0);

		m->polmark = pm == MAP_FAILED ? NULL : pm;
		pm = mmap(NULL, MXT_POLCOUNT_WORDS * sizeof(__u64), PROT_READ | PROT_WRITE,
			  MAP_SHARED, m->fd[MXT_MAP_ID_POLCOUNT], 0);
		m->polcount = pm == MAP_FAILED ? NULL : pm;
	}
	/* Read-only: userspace only adds up the pending counts. */
	if (m->max_entries[MXT_MAP_ID_FRONT]) {
		size_t sz = (size_t)m->max_entries[MXT_MAP_ID_FRONT] * sizeof(struct mxt_front_set);
		void *fm = mmap(NULL, sz, PROT_READ, MAP_SHARED, m->fd[MXT_MAP_ID_FRONT], 0);

		if (fm != MAP_FAILED) {
			m->front = fm;
			m->front_sets = m->max_entries[MXT_MAP_ID_FRONT];
		}
	}
	return 0;
fail:
	mxt_maps_close(m);
	return ret;
}

int mxt_maps_config_read(const struct mxt_maps *m, struct mxt_config *cfg)
{
	__u32 key = 0;

	memset(cfg, 0, sizeof(*cfg));
	return bpf_map_lookup_elem(m->fd[MXT_MAP_ID_CONFIG], &key, cfg) ? -errno : 0;
}

int mxt_maps_config_write(const struct mxt_maps *m, const struct mxt_config *cfg)
{
	__u32 key = 0;

	if (bpf_map_update_elem(m->fd[MXT_MAP_ID_CONFIG], &key, cfg, BPF_ANY))
		return -errno;
	/* The program's front cache holds refusals decided under the old
	 * limits: a new generation empties it. */
	return mxt_policy_gen_bump(m);
}

int mxt_maps_stats_read(const struct mxt_maps *m, __u64 *out)
{
	int fd = m->fd[MXT_MAP_ID_STATS], ncpu = m->nr_cpus, ret = 0;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	size_t stride;
	__u64 *buf;

	memset(out, 0, MXT_R_MAX * sizeof(*out));
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	/* Per-CPU values are copied out each rounded up to 8 bytes. */
	stride = ((size_t)info.value_size + 7) / 8;
	buf = calloc((size_t)ncpu, stride * sizeof(__u64));
	if (!buf)
		return -ENOMEM;
	if (info.max_entries == 1 && stride >= MXT_R_MAX) {
		__u32 key = 0;

		if (bpf_map_lookup_elem(fd, &key, buf)) {
			ret = -errno;
			goto out;
		}
		for (int c = 0; c < ncpu; c++)
			for (int r = 0; r < MXT_R_MAX; r++)
				out[r] += buf[(size_t)c * stride + (size_t)r];
	} else {
		for (__u32 r = 0; r < MXT_R_MAX; r++) {
			if (bpf_map_lookup_elem(fd, &r, buf)) {
				ret = -errno;
				goto out;
			}
			for (int c = 0; c < ncpu; c++)
				out[r] += buf[(size_t)c * stride];
		}
	}
out:
	free(buf);
	return ret;
}

/* Grow the parallel key/value arrays to hold 'cap' entries. */
static int dump_grow(void **keys, void **vals, size_t *cap, size_t want, size_t ksz, size_t vsz)
{
	void *k, *v;

	if (want <= *cap)
		return 0;
	k = realloc(*keys, want * ksz);
	if (!k)
		return -ENOMEM;
	*keys = k;
	v = realloc(*vals, want * vsz);
	if (!v)
		return -ENOMEM;
	*vals = v;
	*cap = want;
	return 0;
}

/* Walk a map with get_next_key + lookup (maps without batch support, e.g.
 * the LPM trie).  Under heavy churn the walk may restart at the first key
 * (the previous key was evicted); 'limit' bounds it. */
static int dump_walk(int fd, size_t ksz, size_t vsz, size_t limit,
		     void **keys, void **vals, size_t *cap, size_t *n)
{
	unsigned char prev[64], next[64];
	int have_prev = 0, ret;

	if (ksz > sizeof(prev))
		return -EINVAL;
	*n = 0;
	while (bpf_map_get_next_key(fd, have_prev ? prev : NULL, next) == 0) {
		if (*n >= limit)
			break;
		ret = dump_grow(keys, vals, cap, *n + 1 > *cap ? *cap * 2 + 16 : *cap, ksz, vsz);
		if (ret)
			return ret;
		if (bpf_map_lookup_elem(fd, next, (char *)*vals + *n * vsz) == 0) {
			memcpy((char *)*keys + *n * ksz, next, ksz);
			(*n)++;
		}
		memcpy(prev, next, ksz);
		have_prev = 1;
	}
	if (errno != ENOENT && *n < limit)
		return -errno;
	return 0;
}

/* Every key and value of a (non per-CPU) map: batch lookups when the map
 * supports them, else a key walk.  *keys and *vals are malloc'ed. */
static int map_dump(int fd, size_t ksz, size_t vsz, __u32 max_entries,
		    void **keys, void **vals, size_t *n)
{
	size_t cap = 0, limit = (size_t)max_entries * 2 + 1024;
	unsigned char tok_in[64], tok_out[64];
	void *in = NULL;
	int ret;

	*keys = NULL;
	*vals = NULL;
	*n = 0;
	ret = dump_grow(keys, vals, &cap, max_entries < 4096 ? max_entries + 1 : 4096, ksz, vsz);
	if (ret)
		goto fail;
	for (;;) {
		__u32 count;

		if (*n == cap) {
			ret = dump_grow(keys, vals, &cap, cap * 2, ksz, vsz);
			if (ret)
				goto fail;
		}
		count = (__u32)(cap - *n);
		ret = bpf_map_lookup_batch(fd, in, tok_out, (char *)*keys + *n * ksz,
					   (char *)*vals + *n * vsz, &count, NULL);
		if (ret < 0)
			ret = -errno;
		if (ret == 0 || ret == -ENOENT) {
			*n += count;
			if (ret == -ENOENT || *n >= limit)
				break;
			memcpy(tok_in, tok_out, sizeof(tok_in));
			in = tok_in;
			continue;
		}
		if (ret == -ENOSPC && cap < limit) {
			/* one hash bucket holds more than 'count' entries */
			ret = dump_grow(keys, vals, &cap, cap * 2, ksz, vsz);
			if (ret)
				goto fail;
			continue;
		}
		if (!in && *n == 0 && (ret == -EINVAL || ret == -ENOTSUP || ret == -EOPNOTSUPP ||
				       ret == -524 /* ENOTSUPP */)) {
			ret = dump_walk(fd, ksz, vsz, limit, keys, vals, &cap, n);
			if (ret)
				goto fail;
			break;
		}
		goto fail;
	}
	return 0;
fail:
	free(*keys);
	free(*vals);
	*keys = NULL;
	*vals = NULL;
	*n = 0;
	return ret;
}

/* Dump map 'id' into an array of {key, value} entries of 'esz' bytes
 * whose value starts at offset 'voff'. */
static int dump_entries(const struct mxt_maps *m, enum mxt_map_id id, size_t esz, size_t voff,
			void **out, size_t *n)
{
	const struct mxt_map_spec *s = &specs[id];
	void *keys, *vals;
	char *ents;
	int ret;

	ret = map_dump(m->fd[id], s->key_size, s->value_size, m->max_entries[id], &keys, &vals, n);
	if (ret)
		return ret;
	ents = calloc(*n ? *n : 1, esz);
	if (!ents) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < *n; i++) {
		memcpy(ents + i * esz, (char *)keys + i * s->key_size, s->key_size);
		memcpy(ents + i * esz + voff, (char *)vals + i * s->value_size, s->value_size);
	}
	*out = ents;
out:
	free(keys);
	free(vals);
	return ret;
}

/* The config's IPv4 prefix, the prefix of every mxt_sources4 key. */
static __u8 v4_prefix(const struct mxt_maps *m)
{
	struct mxt_config cfg;

	if (mxt_maps_config_read(m, &cfg) || cfg.v4_prefix == 0 || cfg.v4_prefix > 32)
		return 32;
	return cfg.v4_prefix;
}

/* The struct mxt_key of an mxt_sources4 key. */
static void key4_of(struct mxt_key *k, __u32 addr, __u8 plen)
{
	memset(k, 0, sizeof(*k));
	k->family = MXT_FAMILY_IPV4;
	k->prefixlen = plen;
	k->addr[0] = addr;
}

/* One pending count of mxt_front, summed over CPUs. */
struct front_pending {
	__u32 addr;
	__u32 count;
};

/* Order of front_pending by address. */
static int fp_cmp(const void *a, const void *b)
{
	__u32 x = ((const struct front_pending *)a)->addr, y = ((const struct front_pending *)b)->addr;

	return x < y ? -1 : x > y;
}

/* Add way w of set fs to fp[k] if it holds pending refusals. */
static int front_pending_add(const struct mxt_front_set *fs, struct front_pending **fp,
			     size_t *cap, size_t *k)
{
	for (int w = 0; w < MXT_FRONT_WAYS; w++) {
		unsigned int count = fs->pending[w] & MXT_FRONT_COUNT;

		if (!count || !fs->addr[w])
			continue;
		if (*k == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			void *t = realloc(*fp, nc * sizeof(**fp));

			if (!t)
				return -ENOMEM;
			*fp = t;
			*cap = nc;
		}
		(*fp)[*k].addr = fs->addr[w];
		(*fp)[*k].count = count;
		(*k)++;
	}
	return 0;
}

/* Every way of mxt_front with pending refusals, sorted by address, equal
 * addresses (other CPUs) merged; *out malloc'ed.  Read through the
 * mapping when there is one, else set by set. */
static int front_pending_read(const struct mxt_maps *m, struct front_pending **out, size_t *n)
{
	int fd = m->fd[MXT_MAP_ID_FRONT], ret = 0;
	struct front_pending *fp = NULL;
	struct bpf_map_info info;
	__u32 len = sizeof(info), nsets;
	size_t cap = 0, k = 0;

	*out = NULL;
	*n = 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	nsets = info.max_entries;
	for (__u32 set = 0; set < nsets && !ret; set++) {
		struct mxt_front_set fs;

		if (m->front && set < m->front_sets) {
			fs = m->front[set];
		} else if (bpf_map_lookup_elem(fd, &set, &fs)) {
			ret = -errno;
			break;
		}
		ret = front_pending_add(&fs, &fp, &cap, &k);
	}
	if (ret) {
		free(fp);
		return ret;
	}
	if (k) {
		size_t j = 0;

		qsort(fp, k, sizeof(*fp), fp_cmp);
		for (size_t i = 1; i < k; i++) {
			if (fp[i].addr == fp[j].addr)
				fp[j].count += fp[i].count;
			else
				fp[++j] = fp[i];
		}
		k = j + 1;
	}
	*out = fp;
	*n = k;
	return 0;
}

int mxt_sources_add_pending(const struct mxt_maps *m, struct mxt_source_entry *e, size_t n)
{
	struct front_pending *fp, want;
	size_t nfp;
	int ret;

	if (m->fd[MXT_MAP_ID_FRONT] < 0 || n == 0)
		return 0;
	ret = front_pending_read(m, &fp, &nfp);
	if (ret || nfp == 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		const struct front_pending *hit;

		if (e[i].key.family != MXT_FAMILY_IPV4)
			continue;
		want.addr = e[i].key.addr[0];
		hit = bsearch(&want, fp, nfp, sizeof(*fp), fp_cmp);
		if (hit) {
			e[i].val.syns += hit->count;
			e[i].val.dropped += hit->count;
		}
	}
	free(fp);
	return 0;
}

int mxt_sources_dump(const struct mxt_maps *m, struct mxt_source_entry **out, size_t *n)
{
	struct mxt_source_entry *all;
	void *keys = NULL, *vals = NULL;
	size_t n4 = 0;
	int ret;

	ret = dump_entries(m, MXT_MAP_ID_SOURCES, sizeof(**out),
			   offsetof(struct mxt_source_entry, val), (void **)out, n);
	if (ret)
		return ret;
	if (m->fd[MXT_MAP_ID_SOURCES4] >= 0)
		ret = map_dump(m->fd[MXT_MAP_ID_SOURCES4], sizeof(__u32), sizeof(struct mxt_source),
			       m->max_entries[MXT_MAP_ID_SOURCES4], &keys, &vals, &n4);
	if (!ret && n4) {
		__u8 plen = v4_prefix(m);

		all = realloc(*out, (*n + n4) * sizeof(*all));
		if (!all) {
			ret = -ENOMEM;
		} else {
			*out = all;
			for (size_t i = 0; i < n4; i++) {
				key4_of(&all[*n + i].key, ((__u32 *)keys)[i], plen);
				memcpy(&all[*n + i].val, (char *)vals + i * sizeof(struct mxt_source),
				       sizeof(struct mxt_source));
			}
			*n += n4;
		}
	}
	free(keys);
	free(vals);
	if (!ret)
		ret = mxt_sources_add_pending(m, *out, *n);
	if (ret) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

/* Turn the first n of 'max' values read into the tail of ents (see
 * mxt_sources_scan) and their keys into entries, in place.  Entry i ends
 * no later than value i + 1 begins, so no value is overwritten before it
 * is moved. */
static void scan_entries(struct mxt_source_entry *ents, size_t max, size_t n, const char *keys,
			 size_t ksz, __u8 plen)
{
	const size_t vsz = sizeof(struct mxt_source), esz = sizeof(*ents);
	const char *vals = (const char *)ents + max * (esz - vsz);

	_Static_assert(offsetof(struct mxt_source_entry, val) == sizeof(struct mxt_source_entry) -
		       sizeof(struct mxt_source), "mxt_source_entry: the value comes last");
	for (size_t i = 0; i < n; i++) {
		memmove(&ents[i].val, vals + i * vsz, vsz);
		memset(&ents[i], 0, offsetof(struct mxt_source_entry, val));
		if (ksz == sizeof(__u32))
			key4_of(&ents[i].key, *(const __u32 *)(const void *)(keys + i * ksz), plen);
		else
			memcpy(&ents[i].key, keys + i * ksz, ksz);
	}
}

int mxt_sources_scan(const struct mxt_maps *m, struct mxt_scan_cursor *cur, size_t max,
		     struct mxt_source_entry **out, size_t *n)
{
	const size_t vsz = sizeof(struct mxt_source);
	unsigned char tok_out[sizeof(cur->token)];
	struct mxt_source_entry *ents = NULL;
	char *keys, *vals;
	size_t got = 0, ksz;
	__u8 plen = v4_prefix(m);
	int ret = 0, fd;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return -EINVAL;
	if (cur->done)
		memset(cur, 0, sizeof(*cur)); /* the previous sweep ended: start over */
	/* Phase 0: mxt_sources4, phase 1: mxt_sources.  One call reads from
	 * one map; 'started' stays set across the change of phase, so the
	 * caller sees one sweep over both. */
	if (cur->phase == 0 && m->fd[MXT_MAP_ID_SOURCES4] < 0)
		cur->phase = 1;
	fd = m->fd[cur->phase == 0 ? MXT_MAP_ID_SOURCES4 : MXT_MAP_ID_SOURCES];
	ksz = cur->phase == 0 ? sizeof(__u32) : sizeof(struct mxt_key);
	/* Values are read into the tail of the entries and moved into place
	 * (scan_entries): one buffer of entries, no second copy of the values. */
	keys = malloc(max * ksz);
	ents = malloc(max * sizeof(*ents));
	if (!keys || !ents) {
		ret = -ENOMEM;
		goto out;
	}
	vals = (char *)ents + max * (sizeof(*ents) - vsz);
	while (got < max) {
		__u32 count = (__u32)(max - got);

		ret = bpf_map_lookup_batch(fd, cur->tok_valid ? cur->token : NULL, tok_out,
					   keys + got * ksz, vals + got * vsz, &count, NULL);
		if (ret < 0)
			ret = -errno;
		if (ret == 0 || ret == -ENOENT) {
			got += count;
			memcpy(cur->token, tok_out, sizeof(cur->token));
			cur->tok_valid = 1;
			cur->started = 1;
			if (ret == -ENOENT) {
				ret = 0;
				cur->tok_valid = 0;
				if (cur->phase == 0)
					cur->phase = 1;
				else
					cur->done = 1;
				break;
			}
			continue;
		}
		/* The next hash bucket does not fit in what is left of this
		 * slice: the next call resumes at it. */
		if (ret == -ENOSPC && got > 0)
			ret = 0;
		break;
	}
	if (ret)
		goto out;
	scan_entries(ents, max, got, keys, ksz, plen);
	ret = mxt_sources_add_pending(m, ents, got);
	if (ret)
		goto out;
	*out = ents;
	*n = got;
	ents = NULL;
out:
	free(keys);
	free(ents);
	return ret;
}

int mxt_policy_dump(const struct mxt_maps *m, struct mxt_policy_entry **out, size_t *n)
{
	return dump_entries(m, MXT_MAP_ID_POLICY, sizeof(**out),
			    offsetof(struct mxt_policy_entry, val), (void **)out, n);
}

int mxt_allow_dump(const struct mxt_maps *m, struct mxt_allow_entry **out, size_t *n)
{
	return dump_entries(m, MXT_MAP_ID_ALLOW, sizeof(**out),
			    offsetof(struct mxt_allow_entry, val), (void **)out, n);
}

int mxt_map_count(const struct mxt_maps *m, enum mxt_map_id id, size_t *n)
{
	const struct mxt_map_spec *s = mxt_map_spec(id);
	void *keys, *vals;
	int ret;

	if (!s || id == MXT_MAP_ID_STATS || id == MXT_MAP_ID_GLOBAL || id == MXT_MAP_ID_FRONT)
		return -EINVAL;
	ret = map_dump(m->fd[id], s->key_size, s->value_size, m->max_entries[id], &keys, &vals, n);
	if (ret)
		return ret;
	free(keys);
	free(vals);
	if (id == MXT_MAP_ID_SOURCES && m->fd[MXT_MAP_ID_SOURCES4] >= 0) {
		size_t n4;

		/* One table of sources for the reader: IPv4 and IPv6. */
		ret = mxt_map_count(m, MXT_MAP_ID_SOURCES4, &n4);
		if (!ret)
			*n += n4;
	}
	return ret;
}

/* The map and the key bytes of source k: mxt_sources4 and the address
 * for IPv4 (when that map is there), else mxt_sources and k. */
static int source_map(const struct mxt_maps *m, const struct mxt_key *k, const void **kp)
{
	if (k->family == MXT_FAMILY_IPV4 && m->fd[MXT_MAP_ID_SOURCES4] >= 0) {
		*kp = &k->addr[0];
		return m->fd[MXT_MAP_ID_SOURCES4];
	}
	*kp = k;
	return m->fd[MXT_MAP_ID_SOURCES];
}

int mxt_source_reset_tat(const struct mxt_maps *m, const struct mxt_key *k)
{
	struct mxt_source v;
	const void *kp;
	int fd = source_map(m, k, &kp);

	if (bpf_map_lookup_elem(fd, kp, &v))
		return -errno;
	v.tat_ns = 0;
	return bpf_map_update_elem(fd, kp, &v, BPF_EXIST) ? -errno : 0;
}

int mxt_source_lookup(const struct mxt_maps *m, const struct mxt_key *k, struct mxt_source *v)
{
	struct mxt_source_entry e;
	const void *kp;
	int ret, fd = source_map(m, k, &kp);

	if (bpf_map_lookup_elem(fd, kp, v))
		return -errno;
	e.key = *k;
	e.val = *v;
	ret = mxt_sources_add_pending(m, &e, 1);
	if (!ret)
		*v = e.val;
	return ret;
}

int mxt_policy_lookup(const struct mxt_maps *m, const struct mxt_key *k, struct mxt_policy *v)
{
	return bpf_map_lookup_elem(m->fd[MXT_MAP_ID_POLICY], k, v) ? -errno : 0;
}

int mxt_policy_gen_bump(const struct mxt_maps *m)
{
	struct timespec ts;
	__u32 key = MXT_GEN_POLICY;
	__u64 g;

	/* Never repeated, whoever else writes (see mxt_abi.h, mxt_gen). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	g = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	return bpf_map_update_elem(m->fd[MXT_MAP_ID_GEN], &key, &g, BPF_ANY) ? -errno : 0;
}

/* Publish whether mxt_allow may hold entries (mxt_gen[MXT_GEN_ALLOW]):
 * 0 when empty, else a new value at every change (see mxt_abi.h). */
static int allow_flag_set(const struct mxt_maps *m, int nonempty)
{
	__u32 key = MXT_GEN_ALLOW;
	struct timespec ts;
	__u64 v = 0;

	if (nonempty) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	}
	return bpf_map_update_elem(m->fd[MXT_MAP_ID_GEN], &key, &v, BPF_ANY) ? -errno : 0;
}

/* Set the mxt_polmark bit of k: through the mapping (atomic), else by a
 * lookup and update (which another writer of the same word may undo:
 * only where the mapping failed). */
static int polmark_set(const struct mxt_maps *m, const struct mxt_key *k)
{
	__u64 mask, w;
	__u32 word;

	if (m->fd[MXT_MAP_ID_POLMARK] < 0)
		return 0;
	mxt_polmark_bit(k, &word, &mask);
	if (m->polmark) {
		__atomic_fetch_or(&m->polmark[word], mask, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (bpf_map_lookup_elem(m->fd[MXT_MAP_ID_POLMARK], &word, &w))
		return -errno;
	w |= mask;
	return bpf_map_update_elem(m->fd[MXT_MAP_ID_POLMARK], &word, &w, BPF_ANY) ? -errno : 0;
}

/* k's counter in mxt_polcount, or NULL when either map is not mapped
 * (then nothing is counted and no bit is ever cleared). */
static __u8 *polcount_of(const struct mxt_maps *m, const struct mxt_key *k)
{
	__u64 mask;
	__u32 word;

	if (!m->polcount || !m->polmark)
		return NULL;
	mxt_polmark_bit(k, &word, &mask);
	return &m->polcount[(size_t)word * 64 + (size_t)__builtin_ctzll(mask)];
}

/* Add 'delta' (+1 or -1) to a counter; a counter at
 * MXT_POLCOUNT_STICKY stays, and so does one at 0 for -1 (a key written
 * uncounted, by a writer without the mapping: its bit must stay).
 * Returns the new value, MXT_POLCOUNT_STICKY when it did not move. */
static unsigned int polcount_add(__u8 *c, int delta)
{
	__u8 v = __atomic_load_n(c, __ATOMIC_SEQ_CST);

	for (;;) {
		if (v == MXT_POLCOUNT_STICKY || (delta < 0 && v == 0))
			return MXT_POLCOUNT_STICKY;
		if (__atomic_compare_exchange_n(c, &v, (__u8)(v + delta), 0, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return (__u8)(v + delta);
	}
}

/* One policy key less on k's bit: when it was the last, clear the bit.
 * A writer that counted itself in meanwhile set the bit before its
 * insert: the count is read again after the clear and the bit restored
 * when it moved (the window left is a SYN of a key whose policy is not
 * yet announced: what any policy write races with). */
static void polcount_put(const struct mxt_maps *m, const struct mxt_key *k)
{
	__u8 *c = polcount_of(m, k);
	__u64 mask;
	__u32 word;

	if (!c || polcount_add(c, -1) != 0)
		return;
	mxt_polmark_bit(k, &word, &mask);
	__atomic_fetch_and(&m->polmark[word], ~mask, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(c, __ATOMIC_SEQ_CST) != 0)
		__atomic_fetch_or(&m->polmark[word], mask, __ATOMIC_SEQ_CST);
}

int mxt_policy_put(const struct mxt_maps *m, const struct mxt_key *k, const struct mxt_policy *v)
{
	int fd = m->fd[MXT_MAP_ID_POLICY], ret;
	__u8 *c = polcount_of(m, k);

	if (!c) {
		/* The mark first: the program must never skip a policy that exists. */
		ret = polmark_set(m, k);
		if (ret)
			return ret;
		return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
	}
	/* Counted: a new key adds one to its bit's count (before its mark,
	 * before its insert); an existing key is replaced in place.  A key
	 * deleted between the two attempts is tried again. */
	for (int tries = 0; tries < 8; tries++) {
		polcount_add(c, +1);
		ret = polmark_set(m, k);
		if (!ret && bpf_map_update_elem(fd, k, v, BPF_NOEXIST) == 0)
			return 0;
		ret = ret ? ret : -errno;
		polcount_put(m, k);
		if (ret != -EEXIST)
			return ret;
		if (bpf_map_update_elem(fd, k, v, BPF_EXIST) == 0)
			return 0;
		if (errno != ENOENT)
			return -errno;
	}
	return -EAGAIN;
}

int mxt_policy_remove(const struct mxt_maps *m, const struct mxt_key *k)
{
	if (bpf_map_delete_elem(m->fd[MXT_MAP_ID_POLICY], k))
		return -errno;
	polcount_put(m, k);
	return 0;
}

int mxt_policy_update(const struct mxt_maps *m, const struct mxt_key *k, const struct mxt_policy *v)
{
	/* Write first, then announce: the program reads the generation
	 * before the policy, so it can never keep this write's old value
	 * under the new generation. */
	int ret = mxt_policy_put(m, k, v);

	return ret ? ret : mxt_policy_gen_bump(m);
}

int mxt_policy_delete(const struct mxt_maps *m, const struct mxt_key *k)
{
	int ret = mxt_policy_remove(m, k);

	return ret ? ret : mxt_policy_gen_bump(m);
}

int mxt_allow_add(const struct mxt_maps *m, const struct mxt_lpm_key *k)
{
	struct mxt_allow v = { .hits = 0, .added_unix = (__u64)time(NULL) };
	int locked, ret;

	/* Under the pin-dir lock, like the flag's clearing in
	 * mxt_allow_delete(); the flag first: the program must never skip a
	 * trie that holds an entry. */
	locked = allow_lock(m);
	ret = allow_flag_set(m, 1);
	if (!ret && bpf_map_update_elem(m->fd[MXT_MAP_ID_ALLOW], k, &v, BPF_NOEXIST))
		ret = -errno;
	allow_unlock(m, locked);
	return ret;
}

int mxt_allow_delete(const struct mxt_maps *m, const struct mxt_lpm_key *k)
{
	struct mxt_lpm_key next;
	int locked, ret;

	if (bpf_map_delete_elem(m->fd[MXT_MAP_ID_ALLOW], k))
		return -errno;
	/* Clear the flag only when the trie is seen empty, under the pin-dir
	 * lock that every add takes too, so that no add slips in between. */
	locked = allow_lock(m);
	if (!locked && m->lock_fd < 0)
		return 0; /* flag stays set: only a missed shortcut */
	ret = bpf_map_get_next_key(m->fd[MXT_MAP_ID_ALLOW], NULL, &next);
	if (ret && errno == ENOENT)
		allow_flag_set(m, 0);
	allow_unlock(m, locked);
	return 0;
}

int mxt_allow_match(const struct mxt_maps *m, const struct mxt_addr *a, struct mxt_allow_entry *out)
{
	struct mxt_allow_entry *ents;
	int ret, best = -1, best_len = -1;
	size_t n;

	ret = mxt_allow_dump(m, &ents, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		struct mxt_addr net;
		__u8 plen;

		if (mxt_lpm_key_to_cidr(&ents[i].key, &net, &plen))
			continue;
		if (plen > best_len && mxt_addr_in_cidr(a, &net, plen)) {
			best = (int)i;
			best_len = plen;
		}
	}
	if (best >= 0)
		*out = ents[best];
	free(ents);
	return best >= 0 ? 0 : -ENOENT;
}
