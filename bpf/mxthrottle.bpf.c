// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxthrottle.bpf.c - the XDP program: counts every frame under one verdict
 * reason and rate-limits bare TCP SYNs to the configured (mail) ports per
 * source prefix, with a GCRA bucket per source (mxt_sources, LRU), a class
 * or override limit chosen by userspace (mxt_policy), an allowlist of
 * connector CIDRs (mxt_allow) and a per-CPU global budget for sources that
 * userspace has never classified (mxt_global).
 *
 * Decision order for a frame (first match wins, one mxt_stats reason each):
 *   config missing or of another ABI         UNCONFIGURED   pass
 *   parser anomaly / not IP / not TCP / ...  (parse.bpf.h)  pass
 *   TCP without SYN, or with ACK or RST      NOT_SYN        pass
 *   SYN to a port not in config.ports        OTHER_PORT     pass
 *   source address in mxt_allow              ALLOWLISTED    pass
 *   no mxt_policy entry, global budget spent GLOBAL_BUDGET  drop
 *   per-source state cannot be created       MAP_ERROR      pass
 *   policy class blocked                     BLOCKED        drop
 *   over the source's GCRA limit             SOURCE_LIMIT   drop
 *   otherwise                                ADMITTED       pass
 * In monitor mode (anything but MXT_MODE_ENFORCE: unknown modes fail open)
 * every drop above is counted as MONITOR instead and passed.
 *
 * Races, accepted deliberately (see also gcra.h):
 *  - The GCRA read-modify-write of mxt_source.tat_ns and the syns/dropped/
 *    last_seen updates are plain loads and stores on a shared map value.  Two
 *    CPUs taking SYNs from one source at the same instant may both admit on
 *    the same token (at most one extra SYN per CPU per race) and may lose a
 *    counter increment.  An atomic or a bpf_spin_lock would cost more than
 *    the error; the counters are statistics, not accounting.
 *  - mxt_allow.hits is the one atomic add: it is off the hot path (an
 *    allowlisted SYN skips all per-source work) and operators read it to
 *    prune the allowlist.
 *  - mxt_global is per-CPU, so it has no race: userspace splits the budget
 *    evenly over CPUs (interval and tolerance x nr_cpus).  The sum matches
 *    the configured budget when RSS spreads SYNs evenly; if RSS steers them
 *    all to one CPU only 1/nr_cpus of it is available (stricter, for
 *    unclassified sources only).  It is a flood guard, not a meter.
 *  - A SYN admitted by the global budget may still be refused by its
 *    per-source bucket: the global token is spent anyway (no refund).
 *  - Between a failed lookup and the BPF_NOEXIST insert another CPU may
 *    insert the same key: -EEXIST is not an error, we look it up again.
 *  - mxt_config is an array value that userspace overwrites in place: a SYN
 *    decided during the write may see a mix of old and new fields (at worst
 *    one SYN judged by a half-updated limit).  A mxt_policy update replaces
 *    the hash element, so a reader normally sees the old or the new value
 *    (a preallocated element freed and reused under a reader is the kernel's
 *    known, rare exception, with the same one-SYN consequence).
 *
 * Maps are pinned by name (LIBBPF_PIN_BY_NAME); the loader points libbpf's
 * pin root at MXT_PIN_DIR.  Tests and benchmarks clear the pin paths.
 */
#include <linux/errno.h>
#include "parse.bpf.h"
#include <xdp/xdp_helpers.h>
#include "mxt_syn_verdict.h"
#include "mxt_keyhash.h"

char LICENSE[] SEC("license") = "GPL";

/* Configuration: one struct mxt_config at key 0, written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxt_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_CONFIG SEC(".maps");

/* Per-source state (GCRA bucket, counters) of IPv6 sources, created by
 * the program. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXT_MAX_SOURCES);
	__type(key, struct mxt_key);
	__type(value, struct mxt_source);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_SOURCES SEC(".maps");

/* Per-source state of IPv4 sources, keyed by the masked address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MXT_MAX_SOURCES);
	__type(key, __u32);
	__type(value, struct mxt_source);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_SOURCES4 SEC(".maps");

/* Per-source class and limit, written by userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MXT_MAX_POLICY);
	__type(key, struct mxt_key);
	__type(value, struct mxt_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_POLICY SEC(".maps");

/* Allowlisted CIDRs (never limited), written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MXT_MAX_ALLOW);
	__type(key, struct mxt_lpm_key);
	__type(value, struct mxt_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_ALLOW SEC(".maps");

/* Per-CPU packet counters, indexed by enum mxt_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MXT_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_STATS SEC(".maps");

/* This CPU's share of the global budget for sources without policy. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mxt_global_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_GLOBAL SEC(".maps");

/* Recently refused IPv4 sources, MXT_FRONT_SETS sets per CPU (mxt_abi.h);
 * mmapable so that the values are page-aligned (a set is one cache line)
 * and userspace reads the pending counts without a syscall per set.  The
 * loader sets max_entries (mxt_front_entries()). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MXT_FRONT_SETS);
	__type(key, __u32);
	__type(value, struct mxt_front_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_FRONT SEC(".maps");

/* Keys that may have a policy, one bit per hash, set by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MXT_POLMARK_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_POLMARK SEC(".maps");

/* Policy keys per mxt_polmark bit, kept by userspace (mxt_abi.h); the
 * program never reads it, it is declared here so that it is created and
 * pinned with the others. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MXT_POLCOUNT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_POLCOUNT SEC(".maps");

/* What userspace publishes for the fast path (mxt_abi.h, MXT_GEN_*). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MXT_GEN_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} MXT_MAP_GEN SEC(".maps");

/* mxt_gen[idx], 0 when absent. */
static __always_inline __u64 mxt_gen_read(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&MXT_MAP_GEN, &idx);

	return v ? *v : 0;
}

#ifdef MXT_TEST_CLOCK
/* The clock of the test build: tests set it through the skeleton's bss. */
volatile __u64 mxt_test_now_ns;

/* Current time in ns (test build: the global that tests set). */
static __always_inline __u64 mxt_now(struct mxt_global_state *gs)
{
	(void)gs;
	return mxt_test_now_ns;
}
#else
/* Current time in ns: the coarse clock (one tick of resolution) is enough
 * for limits of SYNs per minute.  It moves only at a tick, as jiffies do,
 * so it is read once per jiffy per CPU and cached in this CPU's
 * mxt_global entry; bpf_jiffies64() is inlined by the verifier (a load). */
static __always_inline __u64 mxt_now(struct mxt_global_state *gs)
{
	__u64 j = bpf_jiffies64();

	if (j != gs->clk_jiffies) {
		gs->clk_ns = bpf_ktime_get_coarse_ns();
		gs->clk_jiffies = j;
	}
	return gs->clk_ns;
}
#endif

/* Count the frame under 'reason' on this CPU and return 'action'. */
static __always_inline int mxt_count(__u32 reason, int action)
{
	__u64 *c = bpf_map_lookup_elem(&MXT_MAP_STATS, &reason);

	if (c)
		*c += 1;  /* per-CPU: no atomic needed */
	return action;
}

/* Is host-order 'port' one of config.ports[0..nports)? */
static __always_inline int mxt_port_match(const struct mxt_config *cfg, __u16 port)
{
	__u32 n = cfg->nports;
	int i;

#pragma unroll
	for (i = 0; i < MXT_MAX_PORTS; i++) {
		if (i >= n)
			break;
		if (cfg->ports[i] == port)
			return 1;
	}
	return 0;
}

/* Mask of the first 'bits' bits of a 32-bit word, network order;
 * bits is clamped to 0..32, so no shift is ever out of range. */
static __always_inline __u32 mxt_mask32(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return bpf_htonl((__u32)(0xffffffff00000000ULL >> bits));
}

/* The IPv4 source address masked to the configured prefix (clamped to
 * 32): the key of mxt_sources4 and of the front cache.  Every clamped
 * prefix 0..32 is a shift of a 64-bit word within range, so the mask
 * needs no branch (mxt_mask32() has three, for IPv6's words). */
static __always_inline __u32 mxt_addr4(const struct mxt_config *cfg, const struct mxt_pkt *pkt)
{
	__u32 plen = cfg->v4_prefix;

	if (plen > 32)
		plen = 32;
	return pkt->saddr[0] & bpf_htonl((__u32)(0xffffffff00000000ULL >> plen));
}

/* The first word of a struct mxt_key: family, prefixlen, zero padding. */
static __always_inline __u32 mxt_key_head(__u8 family, int plen)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return family | (__u32)(plen & 0xff) << 8;
#else
	return (__u32)family << 24 | (__u32)(plen & 0xff) << 16;
#endif
}

/* Fill the source key: family, prefix (clamped to the family's width) and
 * the address masked to it.  Written as whole 32-bit words, padding
 * included (padding is hashed): the map's hash reads the key back a word
 * at a time at once, and a word assembled from a zeroing store and byte
 * stores cannot be forwarded from the store buffer (measured: the key
 * built just before its lookup cost 8 ns when written as memset + bytes).
 * An IPv4 key takes addr4 (mxt_addr4()), which the front cache and
 * mxt_sources4 use alone. */
static __always_inline void mxt_source_key(struct mxt_key *k, const struct mxt_config *cfg,
					   const struct mxt_pkt *pkt, __u32 addr4)
{
	__u32 *w = (__u32 *)k;  /* family, prefixlen, pad[2]; then addr[4] */
	int plen, i;

	if (pkt->family == MXT_FAMILY_IPV4) {
		plen = cfg->v4_prefix;
		if (plen > 32)
			plen = 32;
		w[0] = mxt_key_head(MXT_FAMILY_IPV4, plen);
		w[1] = addr4;
		w[2] = 0;
		w[3] = 0;
		w[4] = 0;
		return;
	}
	plen = cfg->v6_prefix;
	if (plen > 128)
		plen = 128;
	w[0] = mxt_key_head(pkt->family, plen);
#pragma unroll
	for (i = 0; i < 4; i++)
		w[1 + i] = pkt->saddr[i] & mxt_mask32(plen - 32 * i);
}

/* Look the full source address up in the allowlist; on a hit count it. */
static __always_inline int mxt_allowlisted(const struct mxt_pkt *pkt)
{
	struct mxt_lpm_key lk = {};
	struct mxt_allow *a;

	lk.family = pkt->family;
	if (pkt->family == MXT_FAMILY_IPV4) {
		lk.prefixlen = 8 + 32;
		__builtin_memcpy(lk.addr, pkt->saddr, 4);
	} else {
		lk.prefixlen = 8 + 128;
		__builtin_memcpy(lk.addr, pkt->saddr, 16);
	}
	a = bpf_map_lookup_elem(&MXT_MAP_ALLOW, &lk);
	if (!a)
		return 0;
	__sync_fetch_and_add(&a->hits, 1);
	return 1;
}

/* Count a would-be drop: XDP_DROP under 'reason' when enforcing, else
 * XDP_PASS under MONITOR. */
static __always_inline int mxt_drop(const struct mxt_config *cfg, __u32 reason)
{
	if (cfg->mode == MXT_MODE_ENFORCE)
		return mxt_count(reason, XDP_DROP);
	return mxt_count(MXT_R_MONITOR, XDP_PASS);
}

/* The policy that applies to one source: a copy of its mxt_policy entry
 * (policy_flags has MXT_SOURCE_F_HAS_POLICY when there is one). */
struct mxt_pcopy {
	__u32 class;
	__u32 flags;
	struct mxt_limit limit;
};

/* Read the source's mxt_policy entry into 'pc'. */
static __always_inline void mxt_policy_read(const struct mxt_key *key, struct mxt_pcopy *pc)
{
	struct mxt_policy *pol = bpf_map_lookup_elem(&MXT_MAP_POLICY, key);

	if (!pol) {
		pc->class = MXT_CLASS_UNKNOWN;
		pc->flags = 0;
		return;
	}
	pc->class = pol->class;
	pc->flags = pol->flags | MXT_SOURCE_F_HAS_POLICY;
	if (pol->flags & MXT_POLICY_F_OVERRIDE)
		pc->limit = pol->limit;
}

/* Add a way's pending refusals to its source's counters.  The count is
 * zeroed (the no-policy flag kept) before the counters grow, so that a
 * reader of mxt_sources then mxt_front (pinned.c) may miss a flush in
 * flight but never counts one twice. */
static __always_inline void mxt_front_flush_into(struct mxt_front_set *fs, int w,
						 struct mxt_source *src)
{
	__u16 p = fs->pending[w & (MXT_FRONT_WAYS - 1)];

	if (!(p & MXT_FRONT_COUNT))
		return;
	fs->pending[w & (MXT_FRONT_WAYS - 1)] = p & MXT_FRONT_NOPOL;
	asm volatile("" ::: "memory");
	src->syns += p & MXT_FRONT_COUNT;
	src->dropped += p & MXT_FRONT_COUNT;
}

/* Flush a way whose source is not at hand: look its entry up. */
static __always_inline void mxt_front_flush(struct mxt_front_set *fs, int w)
{
	struct mxt_source *src;
	__u32 addr = fs->addr[w & (MXT_FRONT_WAYS - 1)];

	if (!(fs->pending[w & (MXT_FRONT_WAYS - 1)] & MXT_FRONT_COUNT))
		return;
	src = bpf_map_lookup_elem(&MXT_MAP_SOURCES4, &addr);
	if (src)
		mxt_front_flush_into(fs, w, src);
	else  /* evicted by the LRU: its counts went with it */
		fs->pending[w & (MXT_FRONT_WAYS - 1)] = 0;
}

/* The way of 'addr' in 'fs' if valid under 'gen', else -1. */
static __always_inline int mxt_front_find(const struct mxt_front_set *fs, __u32 addr, __u64 gen)
{
	int w;

	if (fs->gen != gen)
		return -1;
#pragma unroll
	for (w = 0; w < MXT_FRONT_WAYS; w++)
		if (fs->addr[w] == addr)
			return w;
	return -1;
}

/* Remember that 'addr' is refused until 'until', with 'nopol'
 * (MXT_FRONT_NOPOL or 0): reuse its way (keeping its count), else an
 * empty or expired one, else evict the way that expires first. */
static __always_inline void mxt_front_put(struct mxt_front_set *fs, __u32 addr, __u64 gen,
					  __u64 now, __u64 until, __u16 nopol)
{
	int w, pick = -1;

	if (fs->gen != gen) {
		/* Another generation: every way is stale.  Flush, empty. */
#pragma unroll
		for (w = 0; w < MXT_FRONT_WAYS; w++) {
			mxt_front_flush(fs, w);
			fs->addr[w] = 0;
			fs->until_ns[w] = 0;
		}
		fs->gen = gen;
	}
#pragma unroll
	for (w = 0; w < MXT_FRONT_WAYS; w++)
		if (pick < 0 && (fs->addr[w] == addr || fs->addr[w] == 0 || fs->until_ns[w] <= now))
			pick = w;
	if (pick < 0) {
		pick = 0;
#pragma unroll
		for (w = 1; w < MXT_FRONT_WAYS; w++)
			if (fs->until_ns[w] < fs->until_ns[pick & (MXT_FRONT_WAYS - 1)])
				pick = w;
	}
	pick &= MXT_FRONT_WAYS - 1;
	if (fs->addr[pick] != addr) {
		mxt_front_flush(fs, pick);
		fs->addr[pick] = addr;
		fs->pending[pick] = nopol;
	} else {
		fs->pending[pick] = (fs->pending[pick] & MXT_FRONT_COUNT) | nopol;
	}
	fs->until_ns[pick] = until;
}

/* Entry 'set' of this CPU's slice of mxt_front (NULL: no cache on this
 * CPU). */
static __always_inline struct mxt_front_set *mxt_front_at(__u32 set)
{
	__u32 idx = bpf_get_smp_processor_id() * MXT_FRONT_SETS + set;

	return bpf_map_lookup_elem(&MXT_MAP_FRONT, &idx);
}

/* May this CPU's front-cache set hold a way valid under gen? */
static __always_inline int mxt_front_live(const struct mxt_global_state *gs, __u32 set, __u64 gen)
{
	return gs->front_gen == gen &&
	       ((gs->front_live[(set >> 6) & (MXT_FRONT_LIVE_WORDS - 1)] >> (set & 63)) & 1);
}

/* Note that this CPU's set may now hold a way valid under gen. */
static __always_inline void mxt_front_mark_live(struct mxt_global_state *gs, __u32 set, __u64 gen)
{
	int i;

	if (gs->front_gen != gen) {
#pragma unroll
		for (i = 0; i < MXT_FRONT_LIVE_WORDS; i++)
			gs->front_live[i] = 0;
		gs->front_gen = gen;
	}
	gs->front_live[(set >> 6) & (MXT_FRONT_LIVE_WORDS - 1)] |= 1ULL << (set & 63);
}

/* The state of a source: mxt_sources4 at *addr4 for IPv4, else
 * mxt_sources at key.  Each lookup must name its map as a constant for
 * the verifier to inline it; the barrier keeps clang from merging the two
 * calls into one with a variable map (that call goes through the map's
 * ops, ~6 ns more). */
static __always_inline struct mxt_source *mxt_source_find(int v4, const __u32 *addr4,
							  const struct mxt_key *key)
{
	struct mxt_source *src;

	if (v4) {
		src = bpf_map_lookup_elem(&MXT_MAP_SOURCES4, addr4);
		asm volatile("" ::: "memory");
		return src;
	}
	return bpf_map_lookup_elem(&MXT_MAP_SOURCES, key);
}

/* A SYN of a source refused from way w of the front cache until now:
 * count it in the way and drop it under the reason the full path would
 * give.  A source without policy is charged to the global budget first,
 * as on the full path (mxt_syn_verdict.h). */
static __always_inline int mxt_front_refuse(const struct mxt_config *cfg, struct mxt_front_set *fs,
					    int w, struct mxt_global_state *gs, __u64 now)
{
	__u16 p = fs->pending[w & (MXT_FRONT_WAYS - 1)];

	fs->pending[w & (MXT_FRONT_WAYS - 1)] = p + 1;
	if (p & MXT_FRONT_NOPOL) {
		if (mxt_syn_global(&gs->tat_ns, now, &cfg->global) != MXT_R_ADMITTED)
			return mxt_drop(cfg, MXT_R_GLOBAL_BUDGET);
		return mxt_drop(cfg, MXT_R_SOURCE_LIMIT);
	}
	return mxt_drop(cfg, fs->until_ns[w & (MXT_FRONT_WAYS - 1)] == MXT_FRONT_BLOCKED ?
			     MXT_R_BLOCKED : MXT_R_SOURCE_LIMIT);
}

/* This CPU's front-cache way of a source, where mxt_syn() found one that
 * no longer refuses (expired, or its count full): its pending refusals
 * go into the source's counters before the source is counted again. */
struct mxt_front_ref {
	struct mxt_front_set *fs;  /* NULL: no way found (nor looked up) */
	int w;                     /* way in fs, -1: none */
	__u32 set;                 /* the source's set (IPv4 only) */
	__u32 addr4;               /* masked IPv4 source, 0 for IPv6 */
};

/* A SYN refused by its source's bucket (reason BLOCKED or SOURCE_LIMIT,
 * refused until 'until'): count the drop in the entry and remember an
 * IPv4 source in this CPU's front cache, so that its next SYNs up to
 * 'until' are refused there. */
static __always_inline int mxt_syn_refused(const struct mxt_config *cfg, struct mxt_global_state *gs,
					   struct mxt_source *src, struct mxt_front_ref *fr,
					   __u64 fgen, __u64 now, __u64 until, __u32 reason)
{
	src->dropped++;
	if (fr->addr4) {
		if (!fr->fs)
			fr->fs = mxt_front_at(fr->set);
		if (fr->fs) {
			mxt_front_put(fr->fs, fr->addr4, fgen, now, until,
				      src->policy_flags & MXT_SOURCE_F_HAS_POLICY ? 0 : MXT_FRONT_NOPOL);
			mxt_front_mark_live(gs, fr->set, fgen);
		}
	}
	return mxt_drop(cfg, reason);
}

/* Count a SYN in the entry of its source, whose policy copy is current,
 * and decide it: first the global budget when 'charge_global' (a source
 * without policy not charged yet), then the source's own bucket. */
static __always_inline int mxt_syn_counted(const struct mxt_config *cfg, struct mxt_global_state *gs,
					   struct mxt_source *src, struct mxt_front_ref *fr,
					   __u64 fgen, __u64 now, int charge_global)
{
	__u64 until = 0;
	__u32 reason;

	if (fr->w >= 0 && fr->fs)  /* this source's cached refusals, now expired */
		mxt_front_flush_into(fr->fs, fr->w, src);
	src->syns++;
	src->last_seen_ns = now;
	if (charge_global && mxt_syn_global(&gs->tat_ns, now, &cfg->global) != MXT_R_ADMITTED) {
		src->dropped++;
		return mxt_drop(cfg, MXT_R_GLOBAL_BUDGET);
	}
	reason = mxt_syn_source(cfg->class_limit, src->policy_class, src->policy_flags,
				&src->policy_limit, &src->tat_ns, now, &until);
	if (reason != MXT_R_ADMITTED)
		return mxt_syn_refused(cfg, gs, src, fr, fgen, now, until, reason);
	if (fr->w >= 0 && fr->fs)
		fr->fs->until_ns[fr->w & (MXT_FRONT_WAYS - 1)] = 0;
	return mxt_count(MXT_R_ADMITTED, XDP_PASS);
}

/* Decide a counted SYN (right port, bare SYN).
 *
 * Fast paths, each deciding exactly what the full path would:
 *  - an IPv4 source refused recently on this CPU is refused from the
 *    front cache (mxt_front), with no hash lookup and no key built, and
 *    without the mark's probe (one cache line fewer);
 *  - a source whose key has no mxt_polmark bit has no policy (userspace
 *    marks a key before writing its policy) and normally no entry in
 *    mxt_sources (this program marks a key before creating its entry):
 *    the global budget is charged at once and a refusal touches no
 *    per-source map.  For a source without policy that is the full
 *    path's decision even when its entry exists (a bit cleared by
 *    userspace under an entry: pinned.c), which then marks the key
 *    again;
 *  - a marked source whose entry's copies are current (policy of
 *    generation pgen, not allowlisted under agen), the steady state of
 *    every sender that keeps sending, is decided from the entry alone:
 *    one hash lookup, and no key built for an IPv4 source.
 * Full path: the source's state, which carries a copy of its policy and
 * of its allowlist check; the trie and mxt_policy only when those copies
 * are of an older generation or the source is new. */
static __always_inline int mxt_syn(const struct mxt_config *cfg, const struct mxt_pkt *pkt,
				   struct mxt_global_state *gs)
{
	struct mxt_front_ref fr;
	struct mxt_source *src;
	struct mxt_pcopy pc;
	struct mxt_key key;
	__u64 now, pgen, agen, fgen;
	__u64 *pm, pmask = 0;
	__u32 word;
	int charged = 0, v4 = pkt->family == MXT_FAMILY_IPV4;

	/* Field by field: an initializer would be copied from .rodata, and
	 * pc is only needed off the hot path. */
	fr.fs = NULL;
	fr.w = -1;
	fr.set = 0;
	fr.addr4 = 0;
	now = mxt_now(gs);
	/* The generations are read before the policy: a copy taken now can
	 * only be older than what it is labelled with, never newer. */
	pgen = mxt_gen_read(MXT_GEN_POLICY);
	agen = mxt_gen_read(MXT_GEN_ALLOW);
	fgen = pgen ^ agen;
	if (v4) {
		fr.addr4 = mxt_addr4(cfg, pkt);
		/* The front cache first, but only where it may hold a way:
		 * a spoofed SYN pays a bit test, not a cache miss. */
		fr.set = mxt_front_set_of(fr.addr4);
		if (fr.addr4 && mxt_front_live(gs, fr.set, fgen)) {
			fr.fs = mxt_front_at(fr.set);
			if (fr.fs) {
				fr.w = mxt_front_find(fr.fs, fr.addr4, fgen);
				if (fr.w >= 0 &&
				    now < fr.fs->until_ns[fr.w & (MXT_FRONT_WAYS - 1)] &&
				    (fr.fs->pending[fr.w & (MXT_FRONT_WAYS - 1)] & MXT_FRONT_COUNT) !=
					    MXT_FRONT_COUNT)
					return mxt_front_refuse(cfg, fr.fs, fr.w, gs, now);
			}
		}
		mxt_polmark_bit4(fr.addr4, &word, &pmask);
	} else {
		mxt_source_key(&key, cfg, pkt, 0);
		mxt_polmark_bit(&key, &word, &pmask);
	}

	pm = bpf_map_lookup_elem(&MXT_MAP_POLMARK, &word);
	if (pm && !(*pm & pmask)) {
		if (agen && mxt_allowlisted(pkt))
			return mxt_count(MXT_R_ALLOWLISTED, XDP_PASS);
		if (mxt_syn_global(&gs->tat_ns, now, &cfg->global) != MXT_R_ADMITTED)
			return mxt_drop(cfg, MXT_R_GLOBAL_BUDGET);
		charged = 1;
	}

	src = mxt_source_find(v4, &fr.addr4, &key);
	if (src && !charged && src->policy_gen == pgen && src->allow_gen == agen)
		return mxt_syn_counted(cfg, gs, src, &fr, fgen, now,
				       !(src->policy_flags & MXT_SOURCE_F_HAS_POLICY));

	/* An empty allowlist (allow_gen 0) costs no trie lookup, nor does a
	 * source already checked under this allowlist. */
	if (agen && !charged && !(src && src->allow_gen == agen)) {
		if (mxt_allowlisted(pkt))
			return mxt_count(MXT_R_ALLOWLISTED, XDP_PASS);
	}
	__builtin_memset(&pc, 0, sizeof(pc));
	/* The key of an IPv4 source is built only here, off the hot path. */
	if (v4)
		mxt_source_key(&key, cfg, pkt, fr.addr4);
	if (src && src->policy_gen == pgen) {
		pc.class = src->policy_class;
		pc.flags = src->policy_flags;
	} else {
		if (!charged)  /* charged: no mark, so no policy */
			mxt_policy_read(&key, &pc);
		if (src) {
			src->policy_gen = pgen;
			src->policy_class = pc.class;
			src->policy_flags = pc.flags;
			src->policy_limit = pc.limit;
		}
	}
	if (src && src->allow_gen != agen)  /* not allowlisted under agen */
		src->allow_gen = agen;
	if (src && charged && pm)  /* an entry under a cleared mark: mark it again */
		__sync_fetch_and_or(pm, pmask);

	if (!(pc.flags & MXT_SOURCE_F_HAS_POLICY) && !charged) {
		/* Flood guard (as in katran): a source the controller has never
		 * classified is charged to this CPU's global budget before it
		 * may create per-source state, so a spoofed SYN flood from
		 * random addresses neither churns the LRU nor evicts real
		 * senders.  A refused SYN updates an existing entry's counters
		 * but never creates one. */
		if (src)
			return mxt_syn_counted(cfg, gs, src, &fr, fgen, now, 1);
		if (mxt_syn_global(&gs->tat_ns, now, &cfg->global) != MXT_R_ADMITTED)
			return mxt_drop(cfg, MXT_R_GLOBAL_BUDGET);
	}

	if (!src) {
		struct mxt_source init = {
			.first_seen_ns = now,
			.policy_gen = pgen,
			.allow_gen = agen,
			.policy_class = pc.class,
			.policy_flags = pc.flags,
			.policy_limit = pc.limit,
		};
		long err;

		/* The mark first, so that a SYN on another CPU never skips
		 * this entry (see the fast paths above). */
		if (pm && !(*pm & pmask))
			__sync_fetch_and_or(pm, pmask);
		if (v4)
			err = bpf_map_update_elem(&MXT_MAP_SOURCES4, &fr.addr4, &init, BPF_NOEXIST);
		else
			err = bpf_map_update_elem(&MXT_MAP_SOURCES, &key, &init, BPF_NOEXIST);
		if (err && err != -EEXIST)  /* -EEXIST: another CPU won the race */
			return mxt_count(MXT_R_MAP_ERROR, XDP_PASS);
		src = mxt_source_find(v4, &fr.addr4, &key);
		if (!src)  /* evicted at once by a full LRU: fail open */
			return mxt_count(MXT_R_MAP_ERROR, XDP_PASS);
	}
	return mxt_syn_counted(cfg, gs, src, &fr, fgen, now, 0);
}

/* Where libxdp's dispatcher runs mxt_xdp among other XDP programs on the
 * same interface: early (priority 10, below libxdp's default 50: a SYN
 * flood should be cut before costlier programs see it), and the next
 * program runs only after XDP_PASS; a drop ends the chain. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(mxt_xdp);

/* The XDP entry point: count every frame under one reason, drop only
 * counted SYNs over a limit in enforce mode. */
SEC("xdp")
int mxt_xdp(struct xdp_md *ctx)
{
	const struct mxt_config *cfg;
	struct mxt_global_state *gs;
	/* Zeroed whole: clang may spill fields that one family leaves unset,
	 * and the verifier refuses to read an uninitialised register. */
	struct mxt_pkt pkt = {};
	__u32 zero = 0;
	int r;

	cfg = bpf_map_lookup_elem(&MXT_MAP_CONFIG, &zero);
	if (!cfg || cfg->abi_version != MXT_ABI_VERSION)
		return mxt_count(MXT_R_UNCONFIGURED, XDP_PASS);

	r = mxt_parse(ctx, &pkt);
	if (r != MXT_PARSE_TCP)
		return mxt_count(r, XDP_PASS);
	if ((pkt.tcp_flags & (MXT_TCP_SYN | MXT_TCP_ACK | MXT_TCP_RST)) != MXT_TCP_SYN)
		return mxt_count(MXT_R_NOT_SYN, XDP_PASS);
	if (!mxt_port_match(cfg, pkt.dport))
		return mxt_count(MXT_R_OTHER_PORT, XDP_PASS);
	gs = bpf_map_lookup_elem(&MXT_MAP_GLOBAL, &zero);
	if (!gs)  /* cannot happen: a per-CPU array of one entry */
		return mxt_count(MXT_R_MAP_ERROR, XDP_PASS);
	return mxt_syn(cfg, &pkt, gs);
}
