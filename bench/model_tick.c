/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model_tick.c - cost of the pattern-change model at controller scale:
 * fills a model with N sources (established with learned baselines,
 * graylisted, SYN-only; default N = 100000 and 1000000), then times
 *   - an idle tick (nothing due: the common case),
 *   - a tick with every source due (a full kernel-map resync after a
 *     restart: every record advanced and reported),
 *   - a tick at a probation day end (every graylisted source due),
 *   - a full observe pass (one admitted session + one SYN observation
 *     per source), a full decide pass,
 *   - optionally (--checkpoint DIR) a full and a dirty LMDB checkpoint and
 *     a load,
 * and reports milliseconds (wall and CPU) and bytes per source: the
 * model's own accounting of its arrays (bytes_per_source) and what the
 * process really holds resident for them (rss_bytes_per_source: VmRSS
 * after the passes minus VmRSS before the model was created, over N; run
 * one N per process for a clean figure, since freed memory of an earlier
 * N may stay mapped).  Usage:
 *   build/bench/model_tick [--checkpoint DIR] [N...]
 * One "BENCH model_tick key=value ..." line per N for scripts, and with
 * --checkpoint one "BENCH model_checkpoint key=value ..." line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "history_db.h"
#include "rng.h"

#define NOW0 1704096000ULL /* Monday 2024-01-01 08:00 UTC */
#define HOUR 3600ULL
#define DAY 86400ULL

/* Monotonic clock in ms. */
static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Process CPU time in ms. */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Resident set size of this process in bytes (VmRSS), 0 if unknown. */
static size_t rss_bytes(void)
{
	char line[256];
	size_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Key of source i: IPv4 for most, an IPv6 /64 for every 8th. */
static struct mxt_key key_of(uint32_t i)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	if (i % 8 == 7) {
		k.family = MXT_FAMILY_IPV6;
		k.prefixlen = 64;
		p[0] = 0x20; p[1] = 0x01; p[2] = 0x00; p[3] = 0x02;
		p[4] = (uint8_t)(i >> 24); p[5] = (uint8_t)(i >> 16);
		p[6] = (uint8_t)(i >> 8); p[7] = (uint8_t)i;
	} else {
		k.family = MXT_FAMILY_IPV4;
		k.prefixlen = 32;
		k.addr[0] = i * 2654435761u; /* spread over the address space */
	}
	return k;
}

/* A plausible record for source i at 'now'. */
static void make_record(struct mxt_sender *s, uint32_t i, uint64_t now, uint64_t *rng)
{
	unsigned h, kind = (unsigned)(mxt_rng_next(rng) % 100);
	double peak = 2 + (double)(mxt_rng_next(rng) % 400);

	memset(s, 0, sizeof(*s));
	s->key = key_of(i);
	s->first_seen = (uint32_t)(now - 30 * DAY);
	s->anchor_hour = (uint32_t)((now - 30 * DAY) / HOUR);
	s->hour = (uint32_t)(now / HOUR);
	s->rate_t = (uint32_t)now;
	s->last_seen = (uint32_t)(now - mxt_rng_next(rng) % HOUR);
	s->rps = 1.5f;
	if (kind < 80) { /* established, learned */
		s->state = MXT_STATE_ESTABLISHED;
		s->prev_state = MXT_STATE_ESTABLISHED;
		s->code = MXT_CODE_OK_ESTABLISHED;
		s->kclass = MXT_CLASS_ESTABLISHED;
		s->days_active = 30;
		s->wd_days = 20;
		s->we_days = 8;
		s->last_session = s->last_seen;
		s->state_since = (uint32_t)(now - 27 * DAY);
		for (h = 0; h < 24; h++)
			s->wd[h] = mxt_float_to_bf16((float)(peak * (h >= 8 && h < 18 ? 1.0 : 0.1)));
		for (h = 0; h < 8; h++)
			s->we[h] = mxt_float_to_bf16((float)(peak * 0.2));
		s->r_slow = (float)peak;
		s->r_fast = (float)peak;
		s->day_sessions = (uint32_t)peak;
	} else if (kind < 95) { /* on probation, active today */
		s->state = MXT_STATE_GRAYLISTED;
		s->prev_state = MXT_STATE_GRAYLISTED;
		s->code = MXT_CODE_OK_PROBATION;
		s->kclass = MXT_CLASS_GRAYLISTED;
		s->krate = 10;
		s->anchor_hour = (uint32_t)(now / HOUR - mxt_rng_next(rng) % 24);
		s->first_seen = s->anchor_hour * (uint32_t)HOUR;
		s->last_session = s->last_seen;
		s->state_since = s->first_seen;
		s->day_sessions = 5;
		s->r_slow = 10;
	} else { /* SYN-only */
		s->state = MXT_STATE_NEW;
		s->prev_state = MXT_STATE_NEW;
		s->code = MXT_CODE_OK_PROBATION;
		s->kclass = MXT_CLASS_UNKNOWN;
		s->syn_rate = 20;
	}
}

static unsigned long changes;

/* Tick callback: count. */
static void on_change(void *ctx, const struct mxt_model_change *c)
{
	(void)ctx;
	(void)c;
	changes++;
}

/* Bench one size. */
static int bench(size_t n, const char *ckdir)
{
	size_t rss0 = rss_bytes(), rss1, rss2;
	struct mxt_model *m = mxt_model_new(NULL, n);
	struct mxt_model_counts cnt;
	struct mxt_sender rec;
	struct mxt_decision d;
	uint64_t rng = 42, now = NOW0;
	double w, c, t_fill, t_idle_w = 0, t_idle_c = 0, t_all_w, t_all_c, t_day_w, t_day_c;
	double t_obs_w, t_obs_c, t_dec_w, t_dec_c, t_adm_c, t_syn_c, t_batch_c;
	unsigned long ch_all, ch_day;
	size_t i;
	int k, defers = 0;

	if (!m) {
		perror("mxt_model_new");
		return 1;
	}
	w = wall_ms();
	for (i = 0; i < n; i++) {
		make_record(&rec, (uint32_t)i, now, &rng);
		if (mxt_model_restore(m, &rec)) {
			fprintf(stderr, "restore %zu failed\n", i);
			return 1;
		}
	}
	t_fill = wall_ms() - w;
	rss1 = rss_bytes();

	/* Every restored record is PENDING: the first tick reports them all. */
	changes = 0;
	w = wall_ms();
	c = cpu_ms();
	mxt_model_tick(m, now, on_change, NULL);
	t_all_c = cpu_ms() - c;
	t_all_w = wall_ms() - w;
	ch_all = changes;

	/* Idle ticks: nothing due. */
	for (k = 0; k < 100; k++) {
		w = wall_ms();
		c = cpu_ms();
		mxt_model_tick(m, now + 1 + k, on_change, NULL);
		t_idle_c += cpu_ms() - c;
		t_idle_w += wall_ms() - w;
	}
	t_idle_w /= 100;
	t_idle_c /= 100;

	/* Full observe pass: one admitted session and one SYN report per
	 * source; the SYN reports (the daemon's per-tick delta pass) timed
	 * on their own too. */
	w = wall_ms();
	c = cpu_ms();
	for (i = 0; i < n; i++) {
		struct mxt_key key = key_of((uint32_t)i);

		defers += mxt_model_admit_session(m, &key, now + 200, MXT_OBS_CONNECT, 0, 0, NULL) == 1;
	}
	t_adm_c = cpu_ms() - c;
	c = cpu_ms();
	for (i = 0; i < n; i++) {
		struct mxt_key key = key_of((uint32_t)i);

		mxt_model_observe_syns(m, &key, now + 200, 1, 0);
	}
	t_syn_c = cpu_ms() - c;
	t_obs_c = t_adm_c + t_syn_c;
	t_obs_w = wall_ms() - w;
	/* The same SYN pass through the batch call, 4096 at a time. */
	{
		static struct mxt_syn_obs batch[4096];
		size_t j, nb;

		c = cpu_ms();
		for (i = 0; i < n; i += nb) {
			nb = n - i < 4096 ? n - i : 4096;
			for (j = 0; j < nb; j++) {
				batch[j].key = key_of((uint32_t)(i + j));
				batch[j].syns = 1;
				batch[j].dropped = 0;
			}
			mxt_model_observe_syns_batch(m, batch, nb, now + 201);
		}
		t_batch_c = cpu_ms() - c;
	}

	/* Full decide pass (the policy service's read, CLI explain). */
	w = wall_ms();
	c = cpu_ms();
	for (i = 0; i < n; i++) {
		struct mxt_key key = key_of((uint32_t)i);

		mxt_model_decide(m, &key, now + 300, &d);
	}
	t_dec_c = cpu_ms() - c;
	t_dec_w = wall_ms() - w;

	/* A day later: every active graylisted source's probation day ended,
	 * SYN-only ones expired; established ones are not due. */
	mxt_model_tick(m, now + 400, on_change, NULL);
	changes = 0;
	w = wall_ms();
	c = cpu_ms();
	mxt_model_tick(m, now + DAY + 2 * HOUR, on_change, NULL);
	t_day_c = cpu_ms() - c;
	t_day_w = wall_ms() - w;
	ch_day = changes;

	mxt_model_counts(m, &cnt);
	rss2 = rss_bytes();
	if (rss1 > rss2)
		rss2 = rss1;
	printf("N=%zu: record %zu B, footprint %.1f B/source (%.1f MB), fill %.0f ms\n", n,
	       sizeof(struct mxt_sender), (double)mxt_model_memory(m) / n,
	       mxt_model_memory(m) / 1048576.0, t_fill);
	printf("  resident: %.1f B/source (VmRSS %.1f MB -> %.1f MB)\n",
	       rss2 > rss0 ? (double)(rss2 - rss0) / n : 0.0, rss0 / 1048576.0, rss2 / 1048576.0);
	printf("  tick, nothing due:        %8.3f ms wall %8.3f ms cpu\n", t_idle_w, t_idle_c);
	printf("  tick, all %zu due (resync): %8.1f ms wall %8.1f ms cpu (%lu changes)\n", n, t_all_w,
	       t_all_c, ch_all);
	printf("  tick, probation day end:  %8.1f ms wall %8.1f ms cpu (%lu changes)\n", t_day_w,
	       t_day_c, ch_day);
	printf("  observe pass (session+SYN per source): %8.1f ms wall %8.1f ms cpu (%.0f ns/source)\n",
	       t_obs_w, t_obs_c, t_obs_c * 1e6 / n);
	printf("    of which admit_session: %8.1f ms cpu, observe_syns: %8.1f ms cpu (%.0f ns/source)\n",
	       t_adm_c, t_syn_c, t_syn_c * 1e6 / n);
	printf("  SYN pass, batch API:      %8.1f ms cpu (%.0f ns/source)\n", t_batch_c,
	       t_batch_c * 1e6 / n);
	printf("  decide pass:              %8.1f ms wall %8.1f ms cpu (%.0f ns/source)\n", t_dec_w,
	       t_dec_c, t_dec_c * 1e6 / n);
	printf("BENCH model_tick n=%zu record_bytes=%zu bytes_per_source=%.1f rss_bytes_per_source=%.1f "
	       "tick_idle_ms=%.3f tick_all_due_ms=%.1f tick_day_end_ms=%.1f observe_pass_ms=%.1f "
	       "syn_pass_ms=%.1f syn_batch_ms=%.1f decide_pass_ms=%.1f\n",
	       n, sizeof(struct mxt_sender), (double)mxt_model_memory(m) / n,
	       rss2 > rss0 ? (double)(rss2 - rss0) / n : 0.0, t_idle_c, t_all_c,
	       t_day_c, t_obs_c, t_syn_c, t_batch_c, t_dec_c);

	if (ckdir) {
		char path[4096], err[512];
		struct mxt_hdb *db;
		struct mxt_hdb_stats st;
		struct mxt_model *m2 = mxt_model_new(NULL, n);
		double full_w, full_c, dirty_w, load_w;
		unsigned long long full_n, dirty_n, load_n;
		int rc, rc_all = 0;

		snprintf(path, sizeof(path), "%s/model_tick-%zu.lmdb", ckdir, n);
		unlink(path);
		rc = mxt_hdb_open(path, n, 0, now, &db, err, sizeof(err));
		if (rc || !m2) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		w = wall_ms();
		c = cpu_ms();
		rc = mxt_hdb_checkpoint(db, m, now + DAY, 0, &st);
		full_c = cpu_ms() - c;
		full_w = wall_ms() - w;
		full_n = (unsigned long long)st.written;
		rc_all |= rc;
		printf("  checkpoint, full:   %8.0f ms wall %8.0f ms cpu (%llu records) rc %d\n", full_w,
		       full_c, full_n, rc);
		for (i = 0; i < n; i += 10) { /* 10 % of the sources change */
			struct mxt_key key = key_of((uint32_t)i);

			mxt_model_observe_session(m, &key, now + DAY + 10, MXT_OBS_CONNECT, 0, 0);
		}
		w = wall_ms();
		rc = mxt_hdb_checkpoint(db, m, now + DAY + 20, MXT_HDB_DIRTY_ONLY, &st);
		dirty_w = wall_ms() - w;
		dirty_n = (unsigned long long)st.written;
		rc_all |= rc;
		printf("  checkpoint, dirty:  %8.0f ms (%llu records) rc %d\n", dirty_w, dirty_n, rc);
		w = wall_ms();
		rc = mxt_hdb_load(db, m2, &st);
		load_w = wall_ms() - w;
		load_n = (unsigned long long)st.loaded;
		rc_all |= rc;
		printf("  load:               %8.0f ms (%llu records) rc %d\n", load_w, load_n, rc);
		printf("BENCH model_checkpoint n=%zu full_ms=%.0f full_cpu_ms=%.0f full_records=%llu "
		       "dirty_ms=%.0f dirty_records=%llu load_ms=%.0f load_records=%llu rc=%d\n",
		       n, full_w, full_c, full_n, dirty_w, dirty_n, load_w, load_n, rc_all);
		mxt_hdb_close(db);
		mxt_model_free(m2);
		unlink(path);
		snprintf(path, sizeof(path), "%s/model_tick-%zu.lmdb-lock", ckdir, n);
		unlink(path);
	}
	(void)defers;
	mxt_model_free(m);
	return 0;
}

/* Parse the sizes and bench each. */
int main(int argc, char **argv)
{
	const char *ckdir = NULL;
	size_t sizes[8];
	int nsizes = 0, i, rc = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc) {
			ckdir = argv[++i];
		} else if (nsizes < 8) {
			char *end;
			unsigned long long v = strtoull(argv[i], &end, 10);

			if (*end || v < 16 || v > (1ULL << 26)) {
				fprintf(stderr, "usage: %s [--checkpoint DIR] [N...]\n", argv[0]);
				return 2;
			}
			sizes[nsizes++] = (size_t)v;
		}
	}
	if (!nsizes) {
		sizes[nsizes++] = 100000;
		sizes[nsizes++] = 1000000;
	}
	for (i = 0; i < nsizes && !rc; i++)
		rc = bench(sizes[i], ckdir);
	return rc;
}
