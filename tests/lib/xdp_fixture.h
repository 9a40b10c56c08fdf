/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_fixture.h - helpers for the BPF_PROG_TEST_RUN tests and benchmarks of
 * the XDP program: clear pin paths so nothing lands on the host's bpffs,
 * pin the calling thread to one CPU (per-CPU maps), run a frame, read the
 * per-CPU reason counters, fill a default config.
 *
 * Header-only (static inline) so that unit tests, which link every .c of
 * tests/lib too, pay nothing for it.  Functions return 0 / -errno.
 */
#ifndef MXT_TEST_XDP_FIXTURE_H
#define MXT_TEST_XDP_FIXTURE_H

#ifndef _GNU_SOURCE
#error "xdp_fixture.h needs -D_GNU_SOURCE (sched_getcpu, CPU_SET)"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mxt_abi.h"
#include "gcra.h"

/* Name of a verdict reason ("admitted"), or "?" if out of range. */
static inline const char *mxt_fx_reason_name(unsigned int r)
{
	switch (r) {
#define MXT_FX_NAME(id, name, verdict, desc) case MXT_R_##id: return name;
	MXT_REASON_TABLE(MXT_FX_NAME)
#undef MXT_FX_NAME
	default:
		return "?";
	}
}

/* Name of an XDP action ("XDP_PASS"). */
static inline const char *mxt_fx_action_name(unsigned int a)
{
	switch (a) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	default: return "?";
	}
}

/* Clear the pin path of every map of obj (call between open and load), so
 * that loading neither pins to nor reuses maps from the host's bpffs; and
 * size mxt_front for every CPU, as the loader does. */
static inline int mxt_fx_unpin(struct bpf_object *obj)
{
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
		if (!strcmp(bpf_map__name(map), MXT_STR(MXT_MAP_FRONT))) {
			err = bpf_map__set_max_entries(map, mxt_front_entries(libbpf_num_possible_cpus()));
			if (err)
				return err;
		}
	}
	return 0;
}

/* Pin the calling thread to the CPU it runs on, so that every
 * BPF_PROG_TEST_RUN sees the same per-CPU map slots.  Returns the CPU or
 * -errno. */
static inline int mxt_fx_pin_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return cpu;
}

/* Run prog_fd once on a frame; *action gets the XDP verdict. */
static inline int mxt_fx_run(int prog_fd, const void *frame, size_t len, __u32 *action)
{
	unsigned char out[4096];
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = (__u32)len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return err < 0 ? err : -EIO;
	*action = opts.retval;
	return 0;
}

/* Read every reason counter of the per-CPU stats map, summed over CPUs. */
static inline int mxt_fx_stats(int stats_fd, __u64 out[MXT_R_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 r;
	int c;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (r = 0; r < MXT_R_MAX; r++) {
		if (bpf_map_lookup_elem(stats_fd, &r, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		out[r] = 0;
		for (c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
	free(vals);
	return 0;
}

/* Write the same per-CPU value 'val' (size vsize) to key 0 of a per-CPU
 * array on every CPU. */
static inline int mxt_fx_percpu_set(int fd, const void *val, size_t vsize)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t stride = (vsize + 7) & ~(size_t)7;
	unsigned char *buf;
	__u32 zero = 0;
	int c, err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	buf = calloc((size_t)ncpu, stride);
	if (!buf)
		return -ENOMEM;
	for (c = 0; c < ncpu; c++)
		memcpy(buf + (size_t)c * stride, val, vsize);
	if (bpf_map_update_elem(fd, &zero, buf, BPF_ANY))
		err = -errno;
	free(buf);
	return err;
}

/* Number of keys in a hash map (walks it with get_next_key). */
static inline long mxt_fx_count_keys(int fd, size_t key_size)
{
	unsigned char cur[64], next[64];
	long n = 0;
	int err;

	if (key_size > sizeof(cur))
		return -EINVAL;
	err = bpf_map_get_next_key(fd, NULL, next);
	while (!err) {
		n++;
		memcpy(cur, next, key_size);
		err = bpf_map_get_next_key(fd, cur, next);
	}
	return errno == ENOENT ? n : -errno;
}

/* Set a limit of 'rate' SYNs a minute with burst 'burst' over 'shares'
 * buckets (mxt_limit_derive); returns 0 / -EINVAL. */
static inline int mxt_fx_limit(struct mxt_limit *l, __u32 rate, __u32 burst, __u32 shares)
{
	memset(l, 0, sizeof(*l));
	l->rate = rate;
	l->burst = burst;
	return mxt_limit_derive(l, shares);
}

/* A config that counts SYNs to ports 25 and 587, keys /32 and /64, enforces,
 * and lets 1e6 SYNs a minute (burst 1e6) through every class and the
 * global budget. */
static inline int mxt_fx_config_default(struct mxt_config *c)
{
	int i, err;

	memset(c, 0, sizeof(*c));
	c->abi_version = MXT_ABI_VERSION;
	c->mode = MXT_MODE_ENFORCE;
	c->ports[0] = 25;
	c->ports[1] = 587;
	c->ports[2] = 465;   /* beyond nports: must not match */
	c->nports = 2;
	c->v4_prefix = 32;
	c->v6_prefix = 64;
	c->nr_cpus = 1;
	for (i = 0; i < MXT_CLASS_MAX; i++) {
		err = mxt_fx_limit(&c->class_limit[i], 1000000, 1000000, 1);
		if (err)
			return err;
	}
	return mxt_fx_limit(&c->global, 1000000, 1000000, 1);
}

/* Write config c at key 0 of the config map. */
static inline int mxt_fx_config_set(int cfg_fd, const struct mxt_config *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(cfg_fd, &zero, c, BPF_ANY) ? -errno : 0;
}

/* Parse a text address into 16 bytes (IPv4 in the first 4); returns
 * MXT_FAMILY_IPV4, MXT_FAMILY_IPV6 or 0. */
static inline int mxt_fx_addr(const char *text, __u8 out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1)
		return MXT_FAMILY_IPV4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return MXT_FAMILY_IPV6;
	return 0;
}

/* Fill a source / policy key for a text address at 'prefix' bits, masked as
 * the program masks it.  Returns 0 / -EINVAL. */
static inline int mxt_fx_key(struct mxt_key *k, const char *addr, int prefix)
{
	__u8 a[16];
	int fam = mxt_fx_addr(addr, a), width, i;

	width = fam == MXT_FAMILY_IPV4 ? 32 : 128;
	if (!fam || prefix < 0 || prefix > width)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		int bits = prefix - 8 * i;

		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= (__u8)(0xff00 >> bits);
	}
	memset(k, 0, sizeof(*k));
	k->family = (__u8)fam;
	k->prefixlen = (__u8)prefix;
	memcpy(k->addr, a, fam == MXT_FAMILY_IPV4 ? 4 : 16);
	return 0;
}

/* Fill an allowlist key for a text address and CIDR prefix. */
static inline int mxt_fx_lpm_key(struct mxt_lpm_key *k, const char *addr, int prefix)
{
	__u8 a[16];
	int fam = mxt_fx_addr(addr, a);

	if (!fam || prefix < 0 || prefix > (fam == MXT_FAMILY_IPV4 ? 32 : 128))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->prefixlen = 8 + (__u32)prefix;
	k->family = (__u8)fam;
	memcpy(k->addr, a, 16);
	return 0;
}

#endif /* MXT_TEST_XDP_FIXTURE_H */
