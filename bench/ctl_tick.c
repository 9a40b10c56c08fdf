/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl_tick.c - the controller's whole tick (controller.c) against real
 * kernel maps: dump mxt_sources with batch operations, turn counters into
 * deltas, feed the model, run its clock, write policy changes.  Where
 * bench/model_tick measures the model alone, this is what mxthrottled
 * spends per tick_interval.  Maps are created here (not pinned), filled
 * with N sources whose SYN counters move between ticks.
 *   ctl_tick [-n N[,N...]] [--json]     default 10000,100000,1000000
 * A tick reads at most MXT_CTL_SCAN_MAX entries, so a sweep over N
 * sources spans several ticks.  Reports CPU ms (user+sys, getrusage) of the
 * largest single tick and of the whole sweep, for: a first sweep (every
 * source new), a sweep where 10% of the sources sent SYNs, one where none
 * did; and resident bytes per source (RSS growth / N).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bench_util.h"
#include "controller.h"
#include "cfgkeys.h"
#include "model.h"
#include "pinned.h"

static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	       ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/* Resident set size in bytes (/proc/self/statm). */
static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * sysconf(_SC_PAGESIZE);
}

/* Add 'syns' to every 'step'-th source's counter (batch update). */
static int bump(int fd, long n, long step, __u64 syns, __u64 now_ns)
{
	const long chunk = 65536;
	struct mxt_key *keys = calloc(chunk, sizeof(*keys));
	struct mxt_source *vals = calloc(chunk, sizeof(*vals));
	long i = 0;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (i < n && !err) {
		__u32 cnt = 0;

		for (; i < n && cnt < chunk; i += step, cnt++) {
			keys[cnt] = bench_key_of(i);
			memset(&vals[cnt], 0, sizeof(vals[cnt]));
			if (bpf_map_lookup_elem(fd, &keys[cnt], &vals[cnt]))
				vals[cnt].first_seen_ns = now_ns;
			vals[cnt].syns += syns;
			vals[cnt].last_seen_ns = now_ns;
		}
		if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL))
			err = -errno;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Full sweeps over mxt_sources the controller has made. */
static uint64_t sweeps_done(struct mxt_controller *c)
{
	struct mxt_ctl_snapshot s;

	mxt_ctl_snapshot(c, &s);
	return s.counters.sweeps;
}

/* Tick until one sweep over mxt_sources completes; returns its CPU ms,
 * the largest single tick in *max_ms and the ticks it took in *ticks. */
static double sweep(struct mxt_controller *c, uint64_t *now, double *max_ms, int *ticks)
{
	uint64_t sweeps = sweeps_done(c);
	double total = 0;

	*max_ms = 0;
	*ticks = 0;
	while (sweeps_done(c) == sweeps && *ticks < 1000) {
		double t0 = cpu_ms(), t;

		mxt_ctl_tick(c, (*now)++);
		t = cpu_ms() - t0;
		total += t;
		if (t > *max_ms)
			*max_ms = t;
		(*ticks)++;
	}
	return total;
}

static int run(long n, int json)
{
	struct mxt_maps maps;
	struct mxt_config k;
	struct mxt_model *m;
	struct mxt_controller *c;
	struct mxt_ctl_opts o = { .kcfg = &k, .maps = &maps, .max_sources = (size_t)n };
	char err[256];
	double first, tenth, idle, first_max, tenth_max, idle_max;
	int ticks = 0;
	long rss0, rss1;
	uint64_t now = 1796000000;
	int rc;

	memset(&maps, 0, sizeof(maps));
	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		maps.fd[i] = -1;
	maps.dir_fd = maps.lock_fd = -1;
	maps.fd[MXT_MAP_ID_SOURCES] = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "mxt_sources",
						     sizeof(struct mxt_key), sizeof(struct mxt_source),
						     (__u32)n, NULL);
	maps.fd[MXT_MAP_ID_POLICY] = bpf_map_create(BPF_MAP_TYPE_HASH, "mxt_policy",
						    sizeof(struct mxt_key), sizeof(struct mxt_policy),
						    (__u32)n, NULL);
	maps.fd[MXT_MAP_ID_GEN] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mxt_gen", sizeof(__u32),
						 sizeof(__u64), MXT_GEN_MAX, NULL);
	if (maps.fd[MXT_MAP_ID_SOURCES] < 0 || maps.fd[MXT_MAP_ID_POLICY] < 0 || maps.fd[MXT_MAP_ID_GEN] < 0) {
		fprintf(stderr, "ctl_tick: cannot create maps (root?): %s\n", strerror(errno));
		return -1;
	}
	maps.max_entries[MXT_MAP_ID_SOURCES] = (__u32)n;
	maps.max_entries[MXT_MAP_ID_POLICY] = (__u32)n;
	maps.nr_cpus = 1;
	if ((rc = bump(maps.fd[MXT_MAP_ID_SOURCES], n, 1, 20, 1)) < 0) {
		fprintf(stderr, "ctl_tick: fill: %s\n", strerror(-rc));
		return -1;
	}
	mxt_config_defaults(&k, 2);
	rss0 = rss_bytes();
	m = mxt_model_new(NULL, (size_t)n);
	if (!m)
		return -1;
	o.model = m;
	c = mxt_ctl_new(&o, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "ctl_tick: %s\n", err);
		return -1;
	}
	first = sweep(c, &now, &first_max, &ticks);
	rss1 = rss_bytes();
	bump(maps.fd[MXT_MAP_ID_SOURCES], n, 10, 20, 2);
	tenth = sweep(c, &now, &tenth_max, &ticks);
	idle = sweep(c, &now, &idle_max, &ticks);
	if (json)
		printf("MXT_BENCH {\"part\":\"ctl_tick\",\"sources\":%ld,\"first_ms\":%.1f,\"tenth_ms\":%.1f,"
		       "\"idle_ms\":%.1f,\"first_tick_max_ms\":%.1f,\"tenth_tick_max_ms\":%.1f,"
		       "\"idle_tick_max_ms\":%.1f,\"ticks_per_sweep\":%d,\"tracked\":%zu,"
		       "\"rss_per_source\":%.0f}\n",
		       n, first, tenth, idle, first_max, tenth_max, idle_max, ticks, mxt_model_count(m),
		       (double)(rss1 - rss0) / (double)n);
	else
		printf("%9ld  %5d  %7.1f /%7.1f  %7.1f /%7.1f  %7.1f /%7.1f  %9zu  %8.0f\n", n, ticks,
		       first_max, first, tenth_max, tenth, idle_max, idle, mxt_model_count(m),
		       (double)(rss1 - rss0) / (double)n);
	mxt_ctl_free(c);
	mxt_model_free(m);
	close(maps.fd[MXT_MAP_ID_SOURCES]);
	close(maps.fd[MXT_MAP_ID_POLICY]);
	close(maps.fd[MXT_MAP_ID_GEN]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *list = "10000,100000,1000000";
	long sizes[BENCH_SIZES_MAX];
	int json = 0, nsizes;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			list = argv[++i];
		else {
			fprintf(stderr, "usage: ctl_tick [-n N[,N...]] [--json]\n");
			return 1;
		}
	}
	nsizes = bench_sizes("ctl_tick", list, 16, 1L << 26, sizes);
	if (nsizes < 0)
		return 1;
	if (!json)
		printf("%9s  %5s  %16s  %16s  %16s  %9s  %8s\n", "sources", "ticks", "first: tick/sweep",
		       "10%: tick/sweep", "idle: tick/sweep", "tracked", "RSS B/src");
	for (int i = 0; i < nsizes; i++) {
		if (run(sizes[i], json) < 0)
			return 1;
	}
	return 0;
}
