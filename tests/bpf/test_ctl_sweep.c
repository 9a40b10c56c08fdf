// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_ctl_sweep.c - the controller's sweep over a real mxt_sources map
 * (maps created here, no program, nothing pinned; needs root): a tick
 * reads its slice in chunks, and still every entry is read once per
 * sweep, the delta table forgets an entry only after three sweeps without
 * it, and the model gets exactly the SYN deltas a model fed by hand gets
 * (IPv4 and IPv6 /128 keys, small, large and 2^33-SYN steps).  Keys are
 * in 198.18.0.0/15 and 2001:2::/48, map keys only: no packet is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "test_util.h"
#include "cfgkeys.h"
#include "controller.h"
#include "log.h"
#include "model.h"
#include "pinned.h"

#define NOW0 1796000000u

struct sweep_fx {
	struct mxt_maps maps;
	struct mxt_config k;
	struct mxt_model *m;
	struct mxt_controller *c;
};

/* Source i: IPv6 /128 for every fourth, else IPv4 /32. */
static struct mxt_key key_of(long i)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	if (i % 4 == 3) {
		k.family = MXT_FAMILY_IPV6;
		k.prefixlen = 128;
		k.addr[0] = htonl(0x20010002u);
		k.addr[3] = htonl((uint32_t)i);
	} else {
		k.family = MXT_FAMILY_IPV4;
		k.prefixlen = 32;
		k.addr[0] = htonl(0xc6120000u + (uint32_t)i);
	}
	return k;
}

/* Maps for n sources (twice that room: the LRU must not evict), a
 * model and a controller over them. */
static void fx_open(struct sweep_fx *f, long n)
{
	char err[256];
	struct mxt_ctl_opts o = { .kcfg = &f->k, .maps = &f->maps, .max_sources = (size_t)(2 * n) };

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		f->maps.fd[i] = -1;
	f->maps.dir_fd = f->maps.lock_fd = -1;
	f->maps.fd[MXT_MAP_ID_SOURCES] = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "mxt_sources",
							sizeof(struct mxt_key), sizeof(struct mxt_source),
							(__u32)(2 * n), NULL);
	f->maps.fd[MXT_MAP_ID_POLICY] = bpf_map_create(BPF_MAP_TYPE_HASH, "mxt_policy",
						       sizeof(struct mxt_key), sizeof(struct mxt_policy),
						       (__u32)(2 * n), NULL);
	f->maps.fd[MXT_MAP_ID_GEN] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mxt_gen", sizeof(__u32),
						    sizeof(__u64), MXT_GEN_MAX, NULL);
	CHECK(f->maps.fd[MXT_MAP_ID_SOURCES] >= 0 && f->maps.fd[MXT_MAP_ID_POLICY] >= 0 &&
	      f->maps.fd[MXT_MAP_ID_GEN] >= 0, "cannot create maps (root?): %s", strerror(errno));
	f->maps.max_entries[MXT_MAP_ID_SOURCES] = (__u32)(2 * n);
	f->maps.max_entries[MXT_MAP_ID_POLICY] = (__u32)(2 * n);
	f->maps.nr_cpus = 1;
	mxt_config_defaults(&f->k, 2);
	f->m = mxt_model_new(NULL, (size_t)(2 * n));
	assert_non_null(f->m);
	o.model = f->m;
	f->c = mxt_ctl_new(&o, err, sizeof(err));
	CHECK(f->c, "controller: %s", err);
}

static void fx_close(struct sweep_fx *f)
{
	mxt_ctl_free(f->c);
	mxt_model_free(f->m);
	close(f->maps.fd[MXT_MAP_ID_SOURCES]);
	close(f->maps.fd[MXT_MAP_ID_POLICY]);
	close(f->maps.fd[MXT_MAP_ID_GEN]);
}

/* Set source i's kernel counters: 'syns' SYNs (half of them dropped). */
static void put(struct sweep_fx *f, long i, uint64_t syns)
{
	struct mxt_key k = key_of(i);
	struct mxt_source v;

	memset(&v, 0, sizeof(v));
	v.syns = syns;
	v.dropped = syns / 2;
	v.first_seen_ns = 1000 + (uint64_t)i;
	CHECK(bpf_map_update_elem(f->maps.fd[MXT_MAP_ID_SOURCES], &k, &v, BPF_ANY) == 0,
	      "update of source %ld: %s", i, strerror(errno));
}

/* Tick until one more sweep has ended; entries read in *read. */
static int sweep(struct sweep_fx *f, uint64_t now, uint64_t *read)
{
	struct mxt_ctl_snapshot s;
	uint64_t sweeps;
	int ticks = 0;

	mxt_ctl_snapshot(f->c, &s);
	sweeps = s.counters.sweeps;
	*read = 0;
	while (s.counters.sweeps == sweeps && ticks < 100) {
		mxt_ctl_tick(f->c, now);
		mxt_ctl_snapshot(f->c, &s);
		*read += s.counters.sources_read;
		ticks++;
	}
	return ticks;
}

static size_t kernel_sources(struct sweep_fx *f)
{
	struct mxt_ctl_snapshot s;

	mxt_ctl_snapshot(f->c, &s);
	return s.kernel_sources;
}

/* 100000 sources: a sweep takes two ticks (65536 entries at most each, in
 * chunks), reads each entry once, and an entry gone from the map is
 * forgotten after three sweeps, not before. */
static void each_entry_once_per_sweep(void **state)
{
	const long n = 100000;
	struct sweep_fx f;
	uint64_t read;
	int ticks;

	(void)state;
	fx_open(&f, n);
	for (long i = 0; i < n; i++)
		put(&f, i, 20);
	for (int s = 0; s < 2; s++) {
		ticks = sweep(&f, NOW0 + (uint64_t)s, &read);
		CHECK(ticks == 2 && read == (uint64_t)n, "sweep %d: %d ticks read %llu, want 2 and %ld",
		      s, ticks, (unsigned long long)read, n);
		CHECK(kernel_sources(&f) == (size_t)n, "sweep %d: %zu sources, want %ld", s,
		      kernel_sources(&f), n);
	}
	for (long i = 0; i < n; i += 4) {
		struct mxt_key k = key_of(i);

		assert_int_equal(bpf_map_delete_elem(f.maps.fd[MXT_MAP_ID_SOURCES], &k), 0);
	}
	for (int s = 1; s <= 3; s++) {
		size_t want = s < 3 ? (size_t)n : (size_t)(n - n / 4);

		ticks = sweep(&f, NOW0 + 10 + (uint64_t)s, &read);
		CHECK(read == (uint64_t)(n - n / 4), "sweep %d without a quarter: read %llu", s,
		      (unsigned long long)read);
		CHECK(kernel_sources(&f) == want, "sweep %d without a quarter: %zu sources, want %zu", s,
		      kernel_sources(&f), want);
	}
	fx_close(&f);
}

static void no_change(void *ctx, const struct mxt_model_change *ch)
{
	(void)ctx;
	(void)ch;
}

/* Counters of source i after the second sweep: some unchanged, some
 * small steps (below syn_track_min), some large, a few past 2^32. */
static uint64_t second(long i, uint64_t first)
{
	if (i % 1000 == 7)
		return first + (1ULL << 33) + (uint64_t)i;
	return first + (uint64_t)(i % 5) * (uint64_t)(i % 3) * (i % 7 == 0 ? 40 : 1);
}

/* 40000 sources, one tick a sweep (three chunks): what the controller's
 * model holds equals what a model fed the deltas by hand holds. */
static void deltas_reach_model_exactly(void **state)
{
	const long n = 40000;
	struct mxt_model *ref = mxt_model_new(NULL, 2 * (size_t)n);
	struct mxt_model_counts got, want;
	struct sweep_fx f;
	struct mxt_syn_obs *obs = calloc((size_t)n, sizeof(*obs));
	uint64_t read, tracked = 0;

	(void)state;
	assert_non_null(ref);
	assert_non_null(obs);
	fx_open(&f, n);
	for (int pass = 0; pass < 2; pass++) {
		uint64_t now = NOW0 + 30u * (uint64_t)pass;
		size_t nobs = 0;

		for (long i = 0; i < n; i++) {
			uint64_t first = (uint64_t)(i % 13) + 1;
			uint64_t syns = pass ? second(i, first) : first;

			put(&f, i, syns);
			if (syns - (pass ? first : 0)) {
				obs[nobs].key = key_of(i);
				obs[nobs].syns = syns - (pass ? first : 0);
				obs[nobs].dropped = syns / 2 - (pass ? first / 2 : 0);
				nobs++;
			}
		}
		assert_int_equal(sweep(&f, now, &read), 1);
		assert_int_equal(mxt_model_observe_syns_batch(ref, obs, nobs, now), 0);
		mxt_model_tick(ref, now, no_change, NULL);
	}
	for (long i = 0; i < n; i++) {
		struct mxt_key k = key_of(i);
		const struct mxt_sender *a = mxt_model_lookup(f.m, &k), *b = mxt_model_lookup(ref, &k);

		CHECK(!a == !b, "source %ld: tracked %d, want %d", i, !!a, !!b);
		if (!a)
			continue;
		tracked++;
		CHECK(a->syn_rate == b->syn_rate && a->state == b->state,
		      "source %ld: syn_rate %g state %u, want %g %u", i, a->syn_rate, a->state,
		      b->syn_rate, b->state);
	}
	mxt_model_counts(f.m, &got);
	mxt_model_counts(ref, &want);
	CHECK(got.syns_untracked == want.syns_untracked && got.blocks == want.blocks,
	      "untracked SYNs %llu, blocks %llu; want %llu, %llu",
	      (unsigned long long)got.syns_untracked, (unsigned long long)got.blocks,
	      (unsigned long long)want.syns_untracked, (unsigned long long)want.blocks);
	/* the comparison covered both kinds of source */
	CHECK(tracked > 1000 && want.syns_untracked > 1000 && want.blocks > 10,
	      "tracked %llu, untracked SYNs %llu, blocks %llu", (unsigned long long)tracked,
	      (unsigned long long)want.syns_untracked, (unsigned long long)want.blocks);
	fx_close(&f);
	mxt_model_free(ref);
	free(obs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_entry_once_per_sweep),
		cmocka_unit_test(deltas_reach_model_exactly),
	};

	mxt_log_set_verbosity(-1); /* the BLOCK lines of 40 sources are not news */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
