/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pinned.h - access to the maps the XDP program pins by name under the
 * pin directory (MXT_PIN_DIR, or $MXT_PIN_DIR, or an explicit directory so
 * that tests use a private one): open and check them against this build's
 * ABI, lock the directory while changing things (flock, as xdp-tools do),
 * read and write the config, policy and allowlist, dump sources with batch
 * lookups, and sum the per-CPU counters.
 *
 * Every check failure comes back as a negative errno plus one plain
 * sentence in the caller's buffer, e.g.
 *   no pinned maps at /sys/fs/bpf/mxthrottle: run 'mxthrottle attach IFACE' first
 *   maps at /sys/fs/bpf/mxthrottle are of another layout (mxt_sources value
 *   48 bytes, expected 40): detach and re-attach
 */
#ifndef MXT_PINNED_H
#define MXT_PINNED_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>
#include "mxt_abi.h"
#include "addr.h"

/* The maps, in the order of the tables in pinned.c. */
enum mxt_map_id {
	MXT_MAP_ID_CONFIG = 0,
	MXT_MAP_ID_SOURCES,
	MXT_MAP_ID_POLICY,
	MXT_MAP_ID_ALLOW,
	MXT_MAP_ID_STATS,
	MXT_MAP_ID_GLOBAL,
	MXT_MAP_ID_GEN,
	MXT_MAP_ID_FRONT,
	MXT_MAP_ID_POLMARK,
	MXT_MAP_ID_SOURCES4,
	MXT_MAP_ID_POLCOUNT,
	MXT_MAP_ID_MAX
};

/* What a map must look like to be ours. */
struct mxt_map_spec {
	const char *name;     /* pin name, "mxt_sources" */
	__u32 type;           /* enum bpf_map_type */
	__u32 key_size;
	__u32 value_size;     /* per CPU for per-CPU maps */
	__u32 max_entries;    /* required value, 0 = any */
};

/* Open maps (fd -1 when not open). */
struct mxt_maps {
	char dir[PATH_MAX];
	int fd[MXT_MAP_ID_MAX];
	__u32 max_entries[MXT_MAP_ID_MAX];
	__u32 map_id[MXT_MAP_ID_MAX];
	__u32 abi_version;    /* read from mxt_config at open */
	int lock_fd;          /* flock'ed pin directory, -1 if not locked */
	int dir_fd;           /* the pin directory, opened at open time, so a
			       * process that dropped root can still lock it */
	int nr_cpus;          /* possible CPUs (per-CPU value count) */
	__u64 *polmark;       /* mxt_polmark mapped (mxt_policy_put), or NULL */
	__u8 *polcount;       /* mxt_polcount mapped, or NULL (bits never cleared) */
	const struct mxt_front_set *front; /* mxt_front mapped read-only, or NULL */
	__u32 front_sets;     /* entries of that mapping */
};

/* Flags of mxt_maps_open(). */
#define MXT_MAPS_LOCK    0x1  /* flock the pin directory (exclusive) */
#define MXT_MAPS_ANY_ABI 0x2  /* accept config abi_version 0 (loader) */

/* The spec of one map. */
const struct mxt_map_spec *mxt_map_spec(enum mxt_map_id id);
/* The pin directory to use: $MXT_PIN_DIR if set and non-empty, else
 * MXT_PIN_DIR. */
const char *mxt_pin_dir_default(void);
/* "<dir>/<name>" into buf. */
int mxt_pin_path(char *buf, size_t len, const char *dir, const char *name);

/* Take an exclusive flock on the pin directory; *lock_fd receives the fd. */
int mxt_pin_lock(const char *dir, int *lock_fd);
/* Release a lock taken by mxt_pin_lock (no-op for -1). */
void mxt_pin_unlock(int lock_fd);

/* Check an open map fd against the spec of 'id'; on mismatch -EPROTO and
 * "mxt_sources value 48 bytes, expected 40" in err.  *max_entries and
 * *map_id (optional) receive the map's. */
int mxt_map_check(enum mxt_map_id id, int fd, __u32 *max_entries, __u32 *map_id,
		  char *err, size_t errlen);

/* Open every map under dir and check it (see the header comment for the
 * messages).  Returns -ENOENT when there are no maps, -EPROTO for another
 * layout or ABI, -EACCES/-EPERM without privileges. */
int mxt_maps_open(struct mxt_maps *m, const char *dir, unsigned int flags,
		  char *err, size_t errlen);
/* Close every fd and drop the lock. */
void mxt_maps_close(struct mxt_maps *m);

/* The config (key 0 of mxt_config). */
int mxt_maps_config_read(const struct mxt_maps *m, struct mxt_config *cfg);
int mxt_maps_config_write(const struct mxt_maps *m, const struct mxt_config *cfg);

/* Per-reason counters summed over CPUs; out has MXT_R_MAX entries. */
int mxt_maps_stats_read(const struct mxt_maps *m, __u64 *out);

/* One entry of each dumpable map. */
struct mxt_source_entry {
	struct mxt_key key;
	struct mxt_source val;
};
struct mxt_policy_entry {
	struct mxt_key key;
	struct mxt_policy val;
};
struct mxt_allow_entry {
	struct mxt_lpm_key key;
	struct mxt_allow val;
};

/* Every entry of mxt_sources (batch lookups, get_next_key fallback);
 * *out is malloc'ed (free it), *n entries.  Here and in the scan and the
 * lookup below, syns and dropped include what the program's per-CPU
 * front cache (mxt_front) has not flushed into the entry yet: never more
 * than the program counted, so a reader's deltas never go backwards. */
int mxt_sources_dump(const struct mxt_maps *m, struct mxt_source_entry **out, size_t *n);
/* A position in a sweep over mxt_sources that spans several calls. */
struct mxt_scan_cursor {
	unsigned char token[64]; /* the kernel's batch token (a bucket index for hashes) */
	int started;             /* token holds a position */
	int done;                /* the last slice reached the end: the next call starts over */
	int phase;               /* 0: mxt_sources4 (IPv4), 1: mxt_sources (IPv6) */
	int tok_valid;           /* token holds a position in the current phase's map */
};
/* One slice of a sweep: up to 'max' entries from where 'cur' stands (a
 * zeroed cursor starts at the beginning); *out is malloc'ed.  Lets the
 * daemon bound the work of one tick on a map of a million sources.
 * -EINVAL/-EOPNOTSUPP where the kernel has no batch operations. */
int mxt_sources_scan(const struct mxt_maps *m, struct mxt_scan_cursor *cur, size_t max,
		     struct mxt_source_entry **out, size_t *n);
int mxt_policy_dump(const struct mxt_maps *m, struct mxt_policy_entry **out, size_t *n);
int mxt_allow_dump(const struct mxt_maps *m, struct mxt_allow_entry **out, size_t *n);
/* Number of entries of a map (a full walk). */
int mxt_map_count(const struct mxt_maps *m, enum mxt_map_id id, size_t *n);

/* Single-entry operations; lookups return -ENOENT when absent. */
int mxt_source_lookup(const struct mxt_maps *m, const struct mxt_key *k, struct mxt_source *v);
/* Give source k a full bucket (tat_ns 0), racing the program by design;
 * 0, -ENOENT or -errno. */
int mxt_source_reset_tat(const struct mxt_maps *m, const struct mxt_key *k);
int mxt_policy_lookup(const struct mxt_maps *m, const struct mxt_key *k, struct mxt_policy *v);
/* Add mxt_front's pending refusals to n entries read from mxt_sources
 * just before (the order matters: see mxt_abi.h).  Maps with no mxt_front
 * (fd -1) are left alone.  0 or -errno. */
int mxt_sources_add_pending(const struct mxt_maps *m, struct mxt_source_entry *e, size_t n);
/* Announce a change of mxt_policy to the program (mxt_gen); the update and
 * delete below do it themselves. */
int mxt_policy_gen_bump(const struct mxt_maps *m);
/* Write or delete without announcing, for a batch of changes that ends
 * with one mxt_policy_gen_bump(). */
int mxt_policy_put(const struct mxt_maps *m, const struct mxt_key *k, const struct mxt_policy *v);
int mxt_policy_remove(const struct mxt_maps *m, const struct mxt_key *k);
int mxt_policy_update(const struct mxt_maps *m, const struct mxt_key *k, const struct mxt_policy *v);
int mxt_policy_delete(const struct mxt_maps *m, const struct mxt_key *k);
/* Add net/len; -EEXIST if that exact CIDR is already there (untouched). */
int mxt_allow_add(const struct mxt_maps *m, const struct mxt_lpm_key *k);
int mxt_allow_delete(const struct mxt_maps *m, const struct mxt_lpm_key *k);
/* The most specific allowlist entry containing address a (what the XDP
 * program matches), or -ENOENT. */
int mxt_allow_match(const struct mxt_maps *m, const struct mxt_addr *a, struct mxt_allow_entry *out);

#endif /* MXT_PINNED_H */
