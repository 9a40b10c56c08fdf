/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt_abi.h - the one source of truth for everything the XDP program and
 * userspace share: map names, key and value layouts, classes, modes and
 * defaults.  Fixed-width fields only, explicit padding, no bool or enum
 * fields, so the layout is the same for clang -target bpf and gcc, and so
 * that bpftool prints every field by name from BTF.
 *
 * Byte order: addresses are kept in network order (as on the wire); every
 * other field is host order.
 */
#ifndef MXT_ABI_H
#define MXT_ABI_H

#include <linux/types.h>
#include "mxt_reasons.h"

/* Bump on any change to a struct below, a map's type, or the reason order. */
#define MXT_ABI_VERSION 4

#define MXT_PIN_ROOT "/sys/fs/bpf"
#define MXT_PIN_DIR  MXT_PIN_ROOT "/mxthrottle"
#define MXT_PROG_NAME "mxt_xdp"          /* program name; pinned as MXT_PIN_DIR/mxt_xdp */

/* Map names, shared as tokens so a typo fails to compile, not at run time. */
#define MXT_MAP_CONFIG  mxt_config
#define MXT_MAP_SOURCES mxt_sources
#define MXT_MAP_SOURCES4 mxt_sources4
#define MXT_MAP_POLICY  mxt_policy
#define MXT_MAP_ALLOW   mxt_allow
#define MXT_MAP_STATS   mxt_stats
#define MXT_MAP_GLOBAL  mxt_global
#define MXT_MAP_GEN     mxt_gen
#define MXT_MAP_FRONT   mxt_front
#define MXT_MAP_POLMARK mxt_polmark
#define MXT_MAP_POLCOUNT mxt_polcount
#define MXT_STR_(x) #x
#define MXT_STR(x) MXT_STR_(x)

/* Default sizes; the loader may change them before load (max_sources). */
#ifndef MXT_MAX_SOURCES
#define MXT_MAX_SOURCES (1 << 18)
#endif
#ifndef MXT_MAX_POLICY
#define MXT_MAX_POLICY (1 << 18)
#endif
#ifndef MXT_MAX_ALLOW
#define MXT_MAX_ALLOW 4096
#endif
#define MXT_MAX_PORTS 8

/* Address families in keys (not AF_* so that the BPF side needs no libc). */
#define MXT_FAMILY_IPV4 4
#define MXT_FAMILY_IPV6 6

/* Source classes: written by userspace into mxt_policy, chosen by the model. */
#define MXT_CLASS_UNKNOWN     0  /* no policy entry: never seen by the controller */
#define MXT_CLASS_GRAYLISTED  1  /* new sender on probation */
#define MXT_CLASS_ESTABLISHED 2  /* sender with a clean history */
#define MXT_CLASS_THROTTLED   3  /* sender above its own baseline */
#define MXT_CLASS_BLOCKED     4  /* every SYN dropped */
#define MXT_CLASS_MAX         5

/* Modes. */
#define MXT_MODE_MONITOR 0  /* count would-be drops, pass everything */
#define MXT_MODE_ENFORCE 1

/* mxt_policy.flags */
#define MXT_POLICY_F_OVERRIDE 0x1 /* use mxt_policy.limit, not the class limit */

/* A rate of this value means "no limit" (interval_ns 0). */
#define MXT_RATE_UNLIMITED 0xffffffffu

/*
 * A limit, enforced as GCRA (the "virtual scheduling" form of a token
 * bucket): admit a SYN at time t if tat - t <= tolerance, then move tat
 * forward by one interval.  rate and burst are what operators set; the
 * interval and tolerance are derived from them by userspace
 * (mxt_limit_derive() in gcra.h) so the fast path does no division.
 *   rate == MXT_RATE_UNLIMITED        -> interval_ns 0: always admit
 *   rate == 0 (burst must be 0 too)   -> admit nothing
 */
struct mxt_limit {
	__u32 rate;          /* SYNs per minute, long-run average */
	__u32 burst;         /* SYNs admitted back to back from idle */
	__u64 interval_ns;   /* derived: 60e9 / rate (0 = unlimited) */
	__u64 tolerance_ns;  /* derived: interval_ns * (burst - 1) */
};

/* Key of mxt_sources (IPv6 sources) and mxt_policy: the source address
 * masked to the configured prefix.  Zero it whole before filling: padding
 * is hashed.  IPv4 sources have their state in mxt_sources4 instead,
 * keyed by the masked address alone (__u32, network order; the prefix is
 * config.v4_prefix): a 4-byte key is hashed and compared in a fraction of
 * the time on the hot path.  Userspace (pinned.c) shows both maps as one,
 * with IPv4 keys rebuilt as struct mxt_key. */
struct mxt_key {
	__u8  family;        /* MXT_FAMILY_IPV4 or MXT_FAMILY_IPV6 */
	__u8  prefixlen;     /* mask applied to addr (e.g. 32, 64) */
	__u8  pad[2];
	__u32 addr[4];       /* network order; IPv4 in addr[0], rest zero */
};

/* mxt_source.policy_flags: set when the source had an mxt_policy entry
 * (besides the MXT_POLICY_F_* flags copied from it). */
#define MXT_SOURCE_F_HAS_POLICY 0x80000000u

/* Value of mxt_sources and mxt_sources4 (LRU): what the kernel saw from one source, and a
 * copy of its mxt_policy entry.  The copy saves the program one hash
 * lookup per SYN on the hot path; it is valid while policy_gen equals
 * mxt_gen.policy_gen, which userspace changes after every mxt_policy
 * write (pinned.c), so a policy change reaches every source at its next
 * SYN.  allow_gen likewise remembers that the source was not allowlisted
 * under mxt_gen.allow_gen, which saves the trie lookup.  What one SYN
 * reads and writes comes first (tat_ns to the policy copy's class).
 *
 * syns and dropped leave out what the per-CPU front cache (mxt_front)
 * has absorbed since its last flush: readers add mxt_front's pending
 * counts (pinned.c does), reading mxt_sources first. */
struct mxt_source {
	__u64 tat_ns;        /* GCRA theoretical arrival time */
	__u64 syns;          /* counted SYNs (admitted + dropped + monitor) */
	__u64 dropped;       /* SYNs dropped (or would-be drops in monitor) */
	__u64 last_seen_ns;  /* clock of the latest SYN that reached this entry */
	__u64 policy_gen;    /* mxt_gen.policy_gen when the copy below was taken */
	__u64 allow_gen;     /* mxt_gen.allow_gen when the source was seen not allowlisted */
	__u32 policy_class;  /* copy of mxt_policy.class (MXT_CLASS_UNKNOWN: none) */
	__u32 policy_flags;  /* copy of mxt_policy.flags | MXT_SOURCE_F_HAS_POLICY */
	__u64 first_seen_ns; /* clock of the first SYN */
	struct mxt_limit policy_limit; /* copy of mxt_policy.limit */
};

/* Value of mxt_policy (plain hash, never evicted by traffic). */
struct mxt_policy {
	__u32 class;         /* MXT_CLASS_* */
	__u32 flags;         /* MXT_POLICY_F_* */
	struct mxt_limit limit; /* used when MXT_POLICY_F_OVERRIDE */
	__u64 updated_unix;  /* wall-clock second the controller wrote this */
};

/* Key of mxt_allow (LPM trie).  prefixlen counts bits of family+addr:
 * 8 + CIDR prefix. */
struct mxt_lpm_key {
	__u32 prefixlen;
	__u8  family;
	__u8  addr[16];      /* network order */
	__u8  pad[3];
};

/* Value of mxt_allow. */
struct mxt_allow {
	__u64 hits;          /* SYNs admitted through this entry (atomic add) */
	__u64 added_unix;    /* wall-clock second the entry was added */
};

/* Value of the single entry of mxt_config (array, key 0). */
struct mxt_config {
	__u32 abi_version;   /* MXT_ABI_VERSION; 0 = unconfigured, pass all */
	__u32 mode;          /* MXT_MODE_* */
	__u16 ports[MXT_MAX_PORTS]; /* destination ports, host order */
	__u32 nports;        /* used entries of ports[] (1..8) */
	__u8  v4_prefix;     /* source key prefix for IPv4 (8..32) */
	__u8  v6_prefix;     /* source key prefix for IPv6 (16..128) */
	__u16 pad;
	__u32 nr_cpus;       /* CPUs the global budget is split over */
	__u32 pad2;
	struct mxt_limit class_limit[MXT_CLASS_MAX]; /* per-class limits */
	struct mxt_limit global; /* budget for SYNs of sources w/o policy; the
				  * interval/tolerance are per CPU (x nr_cpus) */
};

/* Value of mxt_global (per-CPU array, key 0): this CPU's share of the
 * global budget; its clock cache: the coarse clock only moves at a tick,
 * when jiffies do, so the program reads jiffies (an inlined load) and
 * calls the clock only when they moved; and which sets of this CPU's
 * slice of mxt_front may hold a way valid under generation front_gen
 * (one bit per set, set by the program when it fills a way, all cleared
 * when the generation changes), so that a SYN of a source that cannot be
 * in the front cache (a spoofed one) skips the probe: a bit test in a
 * line it reads anyway instead of a cache miss.  A clear bit with a valid
 * way (userspace zeroed the map) only costs that way its shortcut. */
#define MXT_FRONT_SETS 4096      /* per CPU (mxt_front, below) */
#define MXT_FRONT_WAYS 4
#define MXT_FRONT_LIVE_WORDS (MXT_FRONT_SETS / 64)
struct mxt_global_state {
	__u64 tat_ns;
	__u64 clk_jiffies;   /* jiffies when clk_ns was read */
	__u64 clk_ns;        /* bpf_ktime_get_coarse_ns() then */
	__u64 front_gen;     /* mxt_gen.policy_gen ^ allow_gen of front_live */
	__u64 front_live[MXT_FRONT_LIVE_WORDS];
};

/*
 * mxt_front (array of MXT_FRONT_SETS sets per CPU, MXT_FRONT_WAYS ways
 * each): recently refused IPv4 sources, "drop until", so that a flood of
 * over-limit SYNs is refused without the mxt_sources hash lookup.  A plain
 * mmapable array, not a per-CPU one: CPU c owns entries c * MXT_FRONT_SETS
 * to (c + 1) * MXT_FRONT_SETS - 1 (max_entries is MXT_FRONT_SETS x the
 * possible CPUs, set by whoever loads the program: mxt_front_entries()),
 * so a probe is one load from an address computed from the CPU number,
 * without the per-CPU pointer table's load, and a set (64 bytes, values
 * page-aligned) is exactly one cache line.  A CPU beyond max_entries has
 * no front cache (every SYN takes the full path: slower, same decision).
 * Set index: mxt_front_set_of() (mxt_keyhash.h).  A way is valid while
 * the set's gen equals mxt_gen.policy_gen ^ mxt_gen.allow_gen (any
 * policy, allowlist or config change empties the cache) and now <
 * until_ns.  A refusal under GCRA does not move tat_ns, so the source is
 * refused until exactly tat_ns - tolerance: the cache decides what
 * mxt_sources would.  until_ns MXT_FRONT_BLOCKED: class blocked (reason
 * BLOCKED, not SOURCE_LIMIT).  pending: MXT_FRONT_COUNT bits count the
 * SYNs the way refused since its last flush into mxt_sources (syns and
 * dropped); the program flushes them on the source's next slow-path SYN,
 * when it evicts the way, and before the count would overflow.
 * MXT_FRONT_NOPOL: the source has no policy, so each of its SYNs is
 * charged to the global budget first, as on the full path (and refused
 * under GLOBAL_BUDGET when that is spent).  The address is the masked v4
 * key address, network order; 0 = empty.
 */
#define MXT_FRONT_BLOCKED 0xffffffffffffffffULL
#define MXT_FRONT_COUNT 0x7fff   /* pending: refusals not yet flushed */
#define MXT_FRONT_NOPOL 0x8000   /* pending: the source has no policy */
struct mxt_front_set {
	__u64 gen;
	__u32 addr[MXT_FRONT_WAYS];
	__u16 pending[MXT_FRONT_WAYS];
	__u64 until_ns[MXT_FRONT_WAYS];
};

/*
 * mxt_polmark (array of MXT_POLMARK_WORDS __u64, mmapable): one bit per
 * hash of a key (mxt_polmark_bit(), mxt_keyhash.h).  A clear bit proves
 * the key has no mxt_policy entry, so a SYN of a spoofed flood is charged
 * to the global budget without a hash lookup in mxt_sources or
 * mxt_policy; a set bit only means "look".  Set (atomically) by userspace
 * before it writes a key's mxt_policy entry, and cleared by userspace
 * when the last policy entry on the bit goes (it counts them in
 * mxt_polcount).  The program sets the bit of a key before it creates
 * that key's mxt_sources entry, and again when it meets such an entry
 * under a clear bit: there the bit is only a hint (the source then takes
 * the front cache and its refused SYNs are counted in its entry), since
 * for a source without policy the shortcut decides what the full path
 * would.
 *
 * mxt_polcount (array of MXT_POLCOUNT_WORDS __u64, mmapable, userspace
 * only: the program never reads it): one byte per mxt_polmark bit (byte
 * word * 64 + bit), the number of mxt_policy keys on that bit; 255 sticks
 * (the bit is then never cleared).
 */
#define MXT_POLMARK_WORDS (1u << 15)   /* 2^21 bits, 256 KiB */
#define MXT_POLCOUNT_WORDS (MXT_POLMARK_WORDS * 8)  /* a byte per bit, 2 MiB */
#define MXT_POLCOUNT_STICKY 255

/* mxt_gen (array of MXT_GEN_MAX __u64, one writer-owned word each, so that
 * writers never overwrite each other's word): what userspace publishes so
 * the program can skip work on its hot path.
 *  MXT_GEN_POLICY  a new, never repeated value (a CLOCK_MONOTONIC
 *                  timestamp) written after each change to mxt_policy; the
 *                  program re-reads a source's policy when its copy is of
 *                  another generation.  A timestamp rather than a counter,
 *                  so two racing writers (daemon, CLI) never write back the
 *                  same value.
 *  MXT_GEN_ALLOW   non-zero while mxt_allow may hold entries, a new value
 *                  (timestamp, as above) at every change; 0 only after
 *                  userspace saw it empty (under the pin-dir lock): the
 *                  program then skips the trie lookup.  A source whose
 *                  allow_gen equals it was checked under this allowlist. */
#define MXT_GEN_POLICY 0
#define MXT_GEN_ALLOW  1  /* 0: empty; else a new timestamp at each change */
#define MXT_GEN_MAX    2

#ifndef __bpf__
_Static_assert(sizeof(struct mxt_limit) == 24, "mxt_limit layout");
_Static_assert(sizeof(struct mxt_key) == 20, "mxt_key layout");
_Static_assert(sizeof(struct mxt_source) == 88, "mxt_source layout");
_Static_assert(sizeof(struct mxt_front_set) == 64, "mxt_front_set layout: one cache line");
_Static_assert(sizeof(struct mxt_global_state) == 32 + MXT_FRONT_SETS / 8, "mxt_global_state layout");
_Static_assert(sizeof(struct mxt_policy) == 40, "mxt_policy layout");
_Static_assert(sizeof(struct mxt_lpm_key) == 24, "mxt_lpm_key layout");
_Static_assert(sizeof(struct mxt_allow) == 16, "mxt_allow layout");
_Static_assert(sizeof(struct mxt_config) == 40 + 24 * (MXT_CLASS_MAX + 1), "mxt_config layout");
#endif

#ifndef __bpf__
/* max_entries of mxt_front for 'ncpus' possible CPUs. */
static inline __u32 mxt_front_entries(int ncpus)
{
	return MXT_FRONT_SETS * (__u32)(ncpus > 0 ? ncpus : 1);
}
#endif

#endif /* MXT_ABI_H */
