// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_cost.c - in-kernel cost of the XDP program per frame, measured with
 * BPF_PROG_TEST_RUN on the real-clock build (mxthrottle.bpf.o, loaded
 * unpinned), next to the xdp_drop / xdp_pass baselines loaded in the same
 * run, with mxt_sources4 (IPv4 sources) pre-filled with 1k, 100k and 1M entries (the map is
 * resized to hold 1M before that load).
 *
 * Scenarios (each the median of 3 runs of -r N repeats of one frame):
 *   hot SYN, policy      SYN from a source with an entry and a policy of a
 *                        huge finite limit: allowlist miss, policy hit,
 *                        source hit, GCRA admit (the common hot path)
 *   hot SYN, no policy   the same without policy: adds the global budget
 *   allowlisted SYN      LPM hit + atomic add (65 allowlist entries)
 *   non-SYN (ACK)        parse and pass
 *   over-limit SYN       source hit, GCRA reject, drop
 *   flood, new source    SYN from a source without state or policy over
 *                        the global budget: the spoofed-flood path (policy
 *                        miss, budget reject, source miss, drop, no insert)
 * "miss and insert" (a SYN from a never-seen source, which creates its
 * entry) cannot be repeated on one frame: the first run inserts, the rest
 * hit.  It is measured instead as N single runs (repeat=1) over N distinct
 * frames, each timed by the kernel; the median is reported next to xdp_drop
 * timed the same way, because a single run includes the kernel's timer
 * overhead (two clock reads).  Compare the two, not the absolute value.
 *
 * ns/frame is the kernel's own figure (BPF_PROG_TEST_RUN's duration: time
 * inside the run loop divided by the repeat count, in whole ns, with the
 * time spent rescheduled excluded).  Wall time around the syscall is not
 * used: every XDP test run re-patches the XDP dispatcher and waits for RCU,
 * a fixed cost of milliseconds that would add ~20 ns/frame at 1e6 repeats
 * (it is in the JSON as wall_ns, for the curious).
 * The thread is pinned to one CPU.  Root needed; nothing is pinned to bpffs.
 *
 * Usage: xdp_cost [-r N] [-q] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/utsname.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include "../tests/lib/xdp_fixture.h"
#include "mxt_keyhash.h"

#ifndef MXT_BUILD_DIR
#define MXT_BUILD_DIR "build"
#endif

#define N_FILLS 3
#define N_ALLOW_EXTRA 64

static const long fills[N_FILLS] = { 1000, 100000, 1000000 };

/* A loaded program and its maps. */
struct prog {
	struct bpf_object *obj;
	int prog_fd, cfg_fd, src_fd, src4_fd, pol_fd, allow_fd, stats_fd, global_fd, gen_fd, polmark_fd;
};

/* mxt_polmark as the program and userspace would have left it for the
 * keys written directly here (policy and state entries), written whole by
 * marks_write(). */
static __u64 marks[MXT_POLMARK_WORDS];

/* The scenarios, in table order. */
enum scen {
	S_DROP, S_PASS, S_HOT_POLICY, S_HOT_NOPOLICY, S_ALLOW, S_ACK, S_OVER, S_FLOOD,
	S_MISS_INSERT, S_DROP1, S_MAX
};

static const struct {
	const char *id;      /* JSON name */
	const char *label;   /* table label */
	int reason;          /* expected mxt_stats reason, -1 for baselines */
} scen_info[S_MAX] = {
	[S_DROP] = { "xdp_drop", "xdp_drop (baseline)", -1 },
	[S_PASS] = { "xdp_pass", "xdp_pass (baseline)", -1 },
	[S_HOT_POLICY] = { "hot_syn_policy", "hot SYN, policy", MXT_R_ADMITTED },
	[S_HOT_NOPOLICY] = { "hot_syn_no_policy", "hot SYN, no policy", MXT_R_ADMITTED },
	[S_ALLOW] = { "allowlisted_syn", "allowlisted SYN", MXT_R_ALLOWLISTED },
	[S_ACK] = { "non_syn_ack", "non-SYN (ACK)", MXT_R_NOT_SYN },
	[S_OVER] = { "over_limit_syn", "over-limit SYN (drop)", MXT_R_SOURCE_LIMIT },
	[S_FLOOD] = { "flood_new_source", "flood, new src, no budget", MXT_R_GLOBAL_BUDGET },
	[S_MISS_INSERT] = { "miss_insert_r1", "miss+insert (repeat=1)", MXT_R_ADMITTED },
	[S_DROP1] = { "xdp_drop_r1", "xdp_drop (repeat=1)", -1 },
};

/* One measurement. */
struct result {
	double ns;           /* ns per frame, kernel-timed (median of the runs) */
	double wall_ns;      /* wall time per frame of the same run, syscall included */
	int reason_ok;       /* the expected reason took >= 99% of the frames */
	int done;
};

static struct result results[N_FILLS][S_MAX];

/* Print usage. */
static void usage(FILE *f)
{
	fprintf(f, "usage: xdp_cost [-r N] [-q] [--json]\n"
		   "  -r N    repeats per run (default 10000000; -q: 1000000)\n"
		   "  -q      quick: fewer repeats and single-run frames\n"
		   "  --json  one JSON object instead of the table\n");
}

/* Parse a positive integer in [1, max]; 0 or -EINVAL. */
static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	double d;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	if (*end == 'e' || *end == 'E' || *end == '.') {  /* 1e7 */
		d = strtod(s, &end);
		if (*end || d < 1 || d > (double)max)
			return -EINVAL;
		*out = (unsigned long long)d;
		return 0;
	}
	if (errno || *end || *out < 1 || *out > max)
		return -EINVAL;
	return 0;
}

/* Write an Ethernet/IPv4/TCP frame from saddr (network order) to port 25
 * with 'flags' and an MSS option; returns its length. */
static size_t tcp4_frame(unsigned char *buf, __u32 saddr, __u8 flags)
{
	struct ethhdr *eth = (void *)buf;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *th = (void *)(ip + 1);
	unsigned char *opt = (void *)(th + 1);

	memset(buf, 0, 14 + 20 + 24);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(20 + 24);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = saddr;
	ip->daddr = htonl(0xc6120002);   /* 198.18.0.2 */
	th->source = htons(40000);
	th->dest = htons(25);
	th->doff = 6;
	((__u8 *)th)[13] = flags;
	th->window = htons(64240);
	opt[0] = 2;
	opt[1] = 4;
	opt[2] = 0x05;
	opt[3] = 0xb4;
	return 14 + 20 + 24;
}

/* Now, CLOCK_MONOTONIC, in ns. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Run prog_fd 'repeat' times on frame; *kern gets the kernel's whole
 * ns/frame, *wall ns/frame by wall time around the syscall. */
static int run_rep(int prog_fd, const void *frame, size_t len, __u32 repeat, double *wall,
		   __u32 *kern)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = repeat);
	double t0, t1;
	int err;

	t0 = now_ns();
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	t1 = now_ns();
	if (err)
		return err;
	*wall = (t1 - t0) / repeat;
	*kern = opts.duration;
	return 0;
}

/* Sort helper for __u32. */
static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Median of 3 runs of 'repeat' on one frame; checks the reason if
 * stats_fd >= 0. */
static int measure(int prog_fd, int stats_fd, int reason, const void *frame, size_t len,
		   __u32 repeat, struct result *res)
{
	__u64 before[MXT_R_MAX], after[MXT_R_MAX];
	__u32 kern[3], sorted[3];
	double wall[3];
	int i, err;

	if (stats_fd >= 0 && (err = mxt_fx_stats(stats_fd, before)))
		return err;
	for (i = 0; i < 3; i++) {
		err = run_rep(prog_fd, frame, len, repeat, &wall[i], &kern[i]);
		if (err)
			return err;
	}
	memcpy(sorted, kern, sizeof(kern));
	qsort(sorted, 3, sizeof(__u32), cmp_u32);
	res->ns = sorted[1];
	for (i = 0; i < 3; i++)
		if (kern[i] == sorted[1])
			res->wall_ns = wall[i];
	res->reason_ok = 1;
	if (stats_fd >= 0 && reason >= 0) {
		if ((err = mxt_fx_stats(stats_fd, after)))
			return err;
		res->reason_ok = (after[reason] - before[reason]) * 100 >= 99ULL * 3 * repeat;
	}
	res->done = 1;
	return 0;
}

/* Median kernel time of n single runs, each on its own frame (source
 * first + i); checks the reason if stats_fd >= 0. */
static int measure_single(int prog_fd, int stats_fd, int reason, __u32 first, __u32 n,
			  struct result *res)
{
	__u64 before[MXT_R_MAX], after[MXT_R_MAX];
	unsigned char frame[128];
	__u32 *t, i;
	double wall;
	int err = 0;

	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (stats_fd >= 0 && (err = mxt_fx_stats(stats_fd, before)))
		goto out;
	for (i = 0; i < n; i++) {
		size_t len = tcp4_frame(frame, htonl(first + i), 0x02);

		err = run_rep(prog_fd, frame, len, 1, &wall, &t[i]);
		if (err)
			goto out;
	}
	qsort(t, n, sizeof(*t), cmp_u32);
	res->ns = t[n / 2];
	res->wall_ns = 0;
	res->reason_ok = 1;
	if (stats_fd >= 0 && reason >= 0) {
		if ((err = mxt_fx_stats(stats_fd, after)))
			goto out;
		res->reason_ok = (after[reason] - before[reason]) * 100 >= 99ULL * n;
	}
	res->done = 1;
out:
	free(t);
	return err;
}

/* Open and load a BPF object from the build dir, unpinned; max_sources
 * > 0 resizes mxt_sources and mxt_sources4 first. */
static int prog_load(struct prog *p, const char *file, const char *prog_name, long max_sources)
{
	char path[512];
	struct bpf_program *prog;
	struct bpf_map *m;
	int err, n;

	memset(p, 0, sizeof(*p));
	p->cfg_fd = p->src_fd = p->pol_fd = p->allow_fd = p->stats_fd = p->global_fd = p->gen_fd = -1;
	p->polmark_fd = p->src4_fd = -1;
	n = snprintf(path, sizeof(path), "%s/%s", MXT_BUILD_DIR, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		err = -errno;
		fprintf(stderr, "xdp_cost: open %s: %s\n", path, strerror(-err));
		return err;
	}
	if ((err = mxt_fx_unpin(p->obj)))
		return err;
	if (max_sources > 0) {
		m = bpf_object__find_map_by_name(p->obj, MXT_STR(MXT_MAP_SOURCES));
		if (!m || (err = bpf_map__set_max_entries(m, (__u32)max_sources)))
			return m ? err : -ENOENT;
		m = bpf_object__find_map_by_name(p->obj, MXT_STR(MXT_MAP_SOURCES4));
		if (!m || (err = bpf_map__set_max_entries(m, (__u32)max_sources)))
			return m ? err : -ENOENT;
	}
	if ((err = bpf_object__load(p->obj))) {
		fprintf(stderr, "xdp_cost: load %s: %s\n", path, strerror(-err));
		return err;
	}
	prog = bpf_object__find_program_by_name(p->obj, prog_name);
	if (!prog)
		return -ENOENT;
	p->prog_fd = bpf_program__fd(prog);
#define FD(field, name) do { m = bpf_object__find_map_by_name(p->obj, MXT_STR(name)); \
		if (m) p->field = bpf_map__fd(m); } while (0)
	FD(cfg_fd, MXT_MAP_CONFIG);
	FD(src_fd, MXT_MAP_SOURCES);
	FD(pol_fd, MXT_MAP_POLICY);
	FD(allow_fd, MXT_MAP_ALLOW);
	FD(stats_fd, MXT_MAP_STATS);
	FD(global_fd, MXT_MAP_GLOBAL);
	FD(gen_fd, MXT_MAP_GEN);
	FD(polmark_fd, MXT_MAP_POLMARK);
	FD(src4_fd, MXT_MAP_SOURCES4);
#undef FD
	return 0;
}

/* Key of an IPv4 source at /32 (addr network order). */
static struct mxt_key key4(__u32 addr)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	k.addr[0] = addr;
	return k;
}

/* Set k's bit in marks[]. */
static void mark(const struct mxt_key *k)
{
	__u64 mask;
	__u32 word;

	mxt_polmark_bit(k, &word, &mask);
	marks[word] |= mask;
}

/* Write marks[] into the program's mxt_polmark (no map: nothing to do). */
static int marks_write(const struct prog *p)
{
	for (__u32 w = 0; p->polmark_fd >= 0 && w < MXT_POLMARK_WORDS; w++)
		if (marks[w] && bpf_map_update_elem(p->polmark_fd, &w, &marks[w], BPF_ANY))
			return -errno;
	return 0;
}

/* Fill mxt_sources4 with n entries 240.0.0.0 + i (batch, else one by one):
 * map keys only, never packets; 240.0.0.0/4 (reserved) holds 1M of them,
 * and none collides with the frames measured (198.18.0.0/15). */
static int prefill(int fd, long n)
{
	const long chunk = 65536;
	__u32 *keys;
	struct mxt_source *vals;
	long i, done;
	int err = 0;

	keys = calloc(chunk, sizeof(*keys));
	vals = calloc(chunk, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (done = 0; done < n; done += chunk) {
		__u32 cnt = (__u32)(n - done < chunk ? n - done : chunk), want;

		for (i = 0; i < (long)cnt; i++) {
			struct mxt_key k = key4(htonl(0xf0000000u + (__u32)(done + i)));

			mark(&k);
			keys[i] = k.addr[0];
			vals[i].first_seen_ns = vals[i].last_seen_ns = 1;
			vals[i].syns = 1;
		}
		want = cnt;
		if (!bpf_map_update_batch(fd, keys, vals, &cnt, NULL) && cnt == want)
			continue;
		for (i = 0; i < (long)want; i++)      /* no batch ops: one by one */
			if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY)) {
				err = -errno;
				goto out;
			}
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Set up config, policy, allowlist and hot sources of a loaded mxthrottle. */
static int prime(struct prog *p, struct mxt_config *cfg)
{
	struct mxt_policy pol = { .class = MXT_CLASS_ESTABLISHED };
	struct mxt_source src = { .syns = 1, .first_seen_ns = 1, .last_seen_ns = 1 };
	struct mxt_allow al = { 0 };
	struct mxt_lpm_key lk;
	struct mxt_key k;
	char text[64];
	int i, err;

	/* A huge finite limit, so GCRA does its full arithmetic and admits:
	 * ~14 ns interval, ~60 s tolerance. */
	if ((err = mxt_fx_config_default(cfg)))
		return err;
	for (i = 0; i < MXT_CLASS_MAX; i++)
		if ((err = mxt_fx_limit(&cfg->class_limit[i], 0xfffffffe, 0xfffffffe, 1)))
			return err;
	if ((err = mxt_fx_limit(&cfg->global, 0xfffffffe, 0xfffffffe, 1)))
		return err;
	if ((err = mxt_fx_config_set(p->cfg_fd, cfg)))
		return err;

	memset(marks, 0, sizeof(marks));
	k = key4(htonl(0xc6120001));          /* 198.18.0.1: hot, policy */
	mark(&k);
	if (bpf_map_update_elem(p->pol_fd, &k, &pol, BPF_ANY) ||
	    bpf_map_update_elem(p->src4_fd, &k.addr[0], &src, BPF_ANY))
		return -errno;
	k = key4(htonl(0xc6120002));          /* 198.18.0.2: hot, no policy */
	mark(&k);
	if (bpf_map_update_elem(p->src4_fd, &k.addr[0], &src, BPF_ANY))
		return -errno;
	k = key4(htonl(0xc6120004));          /* 198.18.0.4: override 1/min, burst 1 */
	mark(&k);
	pol.flags = MXT_POLICY_F_OVERRIDE;
	if ((err = mxt_fx_limit(&pol.limit, 1, 1, 1)))
		return err;
	if (bpf_map_update_elem(p->pol_fd, &k, &pol, BPF_ANY) ||
	    bpf_map_update_elem(p->src4_fd, &k.addr[0], &src, BPF_ANY))
		return -errno;

	/* Announce the policy writes, as userspace does (pinned.c): the first
	 * SYN of each source then copies its policy into its state. */
	{
		__u64 g = 1;
		__u32 key = MXT_GEN_POLICY;

		if (bpf_map_update_elem(p->gen_fd, &key, &g, BPF_ANY))
			return -errno;
		key = MXT_GEN_ALLOW; /* entries follow */
		if (bpf_map_update_elem(p->gen_fd, &key, &g, BPF_ANY))
			return -errno;
	}

	/* Allowlist: 198.19.2.0/24 and 64 unrelated entries (v4 and v6). */
	if ((err = mxt_fx_lpm_key(&lk, "198.19.2.0", 24)))
		return err;
	if (bpf_map_update_elem(p->allow_fd, &lk, &al, BPF_ANY))
		return -errno;
	for (i = 0; i < N_ALLOW_EXTRA; i++) {
		if (i % 2)
			snprintf(text, sizeof(text), "198.19.%d.0", i);
		else
			snprintf(text, sizeof(text), "2001:2:%x::", i);
		if ((err = mxt_fx_lpm_key(&lk, text, i % 2 ? 24 : 48)))
			return err;
		if (bpf_map_update_elem(p->allow_fd, &lk, &al, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Run every scenario for one fill level. */
static int bench_fill(int f, const struct prog *drop, const struct prog *pass, __u32 repeat,
		      __u32 nsingle)
{
	unsigned char syn1[128], syn2[128], syn_allow[128], ack[128], syn_over[128], syn_flood[128];
	size_t l1, l2, la, lk, lo, lf;
	struct mxt_config cfg;
	struct prog p;
	long max = fills[f] + 1000 > MXT_MAX_SOURCES ? fills[f] + fills[f] / 4 : 0;
	int err;

	if ((err = prog_load(&p, "mxthrottle.bpf.o", MXT_PROG_NAME, max)))
		return err;
	if ((err = prime(&p, &cfg)) || (err = prefill(p.src4_fd, fills[f])) ||
	    (err = marks_write(&p))) {
		fprintf(stderr, "xdp_cost: set-up for %ld entries: %s\n", fills[f], strerror(-err));
		goto out;
	}
	l1 = tcp4_frame(syn1, htonl(0xc6120001), 0x02);
	l2 = tcp4_frame(syn2, htonl(0xc6120002), 0x02);
	la = tcp4_frame(syn_allow, htonl(0xc613020a), 0x02);    /* 198.19.2.10 */
	lk = tcp4_frame(ack, htonl(0xc6120001), 0x10);
	lo = tcp4_frame(syn_over, htonl(0xc6120004), 0x02);
	lf = tcp4_frame(syn_flood, htonl(0xc613714d), 0x02);    /* 198.19.113.77 */

#define M(s, prog, stats, frame, len) \
	if ((err = measure(prog, stats, scen_info[s].reason, frame, len, repeat, &results[f][s]))) \
		goto out
	M(S_DROP, drop->prog_fd, -1, syn1, l1);
	M(S_PASS, pass->prog_fd, -1, syn1, l1);
	M(S_HOT_POLICY, p.prog_fd, p.stats_fd, syn1, l1);
	M(S_HOT_NOPOLICY, p.prog_fd, p.stats_fd, syn2, l2);
	M(S_ALLOW, p.prog_fd, p.stats_fd, syn_allow, la);
	M(S_ACK, p.prog_fd, p.stats_fd, ack, lk);
	M(S_OVER, p.prog_fd, p.stats_fd, syn_over, lo);
	/* Flood: shrink the global budget to 1/min, burst 1, and spend that one
	 * token from another source, so that every flood frame is refused and
	 * its source never gets an entry. */
	if ((err = mxt_fx_limit(&cfg.global, 1, 1, 1)) || (err = mxt_fx_config_set(p.cfg_fd, &cfg)))
		goto out;
	{
		unsigned char spend[128];
		size_t ls = tcp4_frame(spend, htonl(0xc6137101), 0x02);   /* 198.19.113.1 */
		double w;
		__u32 k;

		if ((err = run_rep(p.prog_fd, spend, ls, 1, &w, &k)))
			goto out;
	}
	M(S_FLOOD, p.prog_fd, p.stats_fd, syn_flood, lf);
#undef M
	/* Back to the huge budget, with this CPU's bucket emptied (its TAT is a
	 * minute ahead after the flood). */
	{
		struct mxt_global_state g = { 0 };

		if ((err = mxt_fx_limit(&cfg.global, 0xfffffffe, 0xfffffffe, 1)) ||
		    (err = mxt_fx_config_set(p.cfg_fd, &cfg)) ||
		    (err = mxt_fx_percpu_set(p.global_fd, &g, sizeof(g))))
			goto out;
	}
	/* Distinct new sources 100.64.0.0 + i: each run misses and inserts. */
	err = measure_single(p.prog_fd, p.stats_fd, MXT_R_ADMITTED, 0x64400000u, nsingle,
			     &results[f][S_MISS_INSERT]);
	if (!err)
		err = measure_single(drop->prog_fd, -1, -1, 0x64400000u, nsingle,
				     &results[f][S_DROP1]);
out:
	if (err)
		fprintf(stderr, "xdp_cost: %ld entries: %s\n", fills[f], strerror(-err));
	bpf_object__close(p.obj);
	return err;
}

/* Instruction counts of the program as loaded (xlated, jited, verified). */
static int prog_stats(__u32 *xlated, __u32 *jited, __u32 *verified)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	struct prog p;
	int err;

	if ((err = prog_load(&p, "mxthrottle.bpf.o", MXT_PROG_NAME, 0)))
		return err;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(p.prog_fd, &info, &len);
	if (!err) {
		*xlated = info.xlated_prog_len / 8;
		*jited = info.jited_prog_len;
		*verified = info.verified_insns;
	}
	bpf_object__close(p.obj);
	return err;
}

/* Print the results as a table. */
static void print_table(__u32 repeat, __u32 nsingle, int cpu, __u32 xl, __u32 ji, __u32 ve)
{
	struct utsname u;
	int s, f;

	uname(&u);
	printf("xdp_cost: ns/frame (kernel-timed), BPF_PROG_TEST_RUN, median of 3 x %u repeats, CPU %d, "
	       "kernel %s\n", repeat, cpu, u.release);
	printf("mxt_xdp: %u xlated insns, %u jited bytes, %u insns processed by the verifier\n\n",
	       xl, ji, ve);
	printf("%-28s %-14s", "scenario", "reason");
	for (f = 0; f < N_FILLS; f++)
		printf(" %9ld", fills[f]);
	printf("   (mxt_sources4 entries)\n");
	for (s = 0; s < S_MAX; s++) {
		if (s == S_MISS_INSERT)
			printf("-- single runs over %u distinct frames, kernel-timed (incl. timer):\n",
			       nsingle);
		printf("%-28s %-14s", scen_info[s].label,
		       scen_info[s].reason >= 0 ? mxt_fx_reason_name(scen_info[s].reason) : "-");
		for (f = 0; f < N_FILLS; f++) {
			const struct result *r = &results[f][s];

			if (!r->done)
				printf(" %9s", "n/a");
			else
				printf(" %8.0f%s", r->ns, r->reason_ok ? " " : "!");
		}
		printf("\n");
	}
	printf("%-28s %-14s", "hot SYN, policy - xdp_drop", "");
	for (f = 0; f < N_FILLS; f++)
		printf(" %+8.0f ", results[f][S_HOT_POLICY].ns - results[f][S_DROP].ns);
	printf("\n%-28s %-14s", "miss+insert - xdp_drop (r=1)", "");
	for (f = 0; f < N_FILLS; f++)
		printf(" %+8.0f ", results[f][S_MISS_INSERT].ns - results[f][S_DROP1].ns);
	printf("\n(! = the expected reason counted < 99%% of the frames)\n");
}

/* Print the results as one JSON object. */
static void print_json(__u32 repeat, __u32 nsingle, int cpu, __u32 xl, __u32 ji, __u32 ve)
{
	int s, f, first = 1;

	printf("{\"repeat\":%u,\"single_frames\":%u,\"cpu\":%d,\"prog\":{\"xlated_insns\":%u,"
	       "\"jited_bytes\":%u,\"verified_insns\":%u},\"results\":[", repeat, nsingle, cpu,
	       xl, ji, ve);
	for (f = 0; f < N_FILLS; f++)
		for (s = 0; s < S_MAX; s++) {
			const struct result *r = &results[f][s];

			if (!r->done)
				continue;
			printf("%s{\"scenario\":\"%s\",\"entries\":%ld,\"reason\":\"%s\","
			       "\"ns\":%.0f,\"wall_ns\":%.1f,\"reason_ok\":%s}", first ? "" : ",",
			       scen_info[s].id, fills[f],
			       scen_info[s].reason >= 0 ? mxt_fx_reason_name(scen_info[s].reason) : "",
			       r->ns, r->wall_ns, r->reason_ok ? "true" : "false");
			first = 0;
		}
	printf("]}\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long rep = 0;
	__u32 repeat, nsingle, xl = 0, ji = 0, ve = 0;
	struct prog drop, pass;
	int c, quick = 0, json = 0, cpu, f, err, bad = 0;

	while ((c = getopt_long(argc, argv, "r:qh", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_count(optarg, 1000000000ULL, &rep)) {
				fprintf(stderr, "xdp_cost: -r: not a count in 1..1e9: %s\n", optarg);
				return 2;
			}
			break;
		case 'q': quick = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	repeat = rep ? (__u32)rep : quick ? 1000000 : 10000000;
	nsingle = quick ? 10000 : 100000;
	libbpf_set_print(NULL);

	cpu = mxt_fx_pin_cpu();
	if (cpu < 0) {
		fprintf(stderr, "xdp_cost: pin to a CPU: %s\n", strerror(-cpu));
		return 1;
	}
	if ((err = prog_load(&drop, "xdp_drop.bpf.o", "xdp_drop", 0)) ||
	    (err = prog_load(&pass, "xdp_pass.bpf.o", "xdp_pass", 0))) {
		fprintf(stderr, "xdp_cost: load baselines: %s (root needed)\n", strerror(-err));
		return 1;
	}
	if ((err = prog_stats(&xl, &ji, &ve))) {
		fprintf(stderr, "xdp_cost: load mxthrottle.bpf.o: %s\n", strerror(-err));
		return 1;
	}
	for (f = 0; f < N_FILLS; f++)
		if (bench_fill(f, &drop, &pass, repeat, nsingle))
			bad = 1;
	for (f = 0; f < N_FILLS; f++)
		for (c = 0; c < S_MAX; c++)
			if (results[f][c].done && !results[f][c].reason_ok)
				bad = 1;
	if (json)
		print_json(repeat, nsingle, cpu, xl, ji, ve);
	else
		print_table(repeat, nsingle, cpu, xl, ji, ve);
	bpf_object__close(drop.obj);
	bpf_object__close(pass.obj);
	return bad;
}
