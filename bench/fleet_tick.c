/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet_tick.c - the fleet's cost (fleet.c, docs/fleet.md): three nodes in
 * one process (controllers without kernel maps, each with its own model
 * and fleet thread) share N sources through a Redis given on the command
 * line.  Each source has one session at one of the three nodes (source i
 * at node i mod 3); the nodes tick every 100 ms until every node has every
 * other node's sessions.  Reports, per N: controller tick time (largest),
 * fleet exchange time per tick (mean and largest; one exchange = one
 * pipeline per shard = one Redis round trip per shard), round trips per
 * tick, ticks and wall time until the fleet agrees, and Redis bytes per
 * source (INFO memory used_memory growth / N).
 *   fleet_tick -r unix:/path/redis.sock [-r ...] [-n N[,N...]] [--json]
 * Keys are 240.0.0.0/4 (reserved; model keys only, never packets).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench_util.h"
#include "cfgkeys.h"
#include "controller.h"
#include "fleet.h"
#include "log.h"
#include "model.h"

#define NODES 3

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* used_memory over every endpoint, bytes. */
static long long redis_used(char eps[][MXT_FLEET_EP_MAX], int n)
{
	long long sum = 0;

	for (int i = 0; i < n; i++) {
		struct mxt_fleet_endpoint e;
		char err[128];
		redisContext *rc;
		redisReply *r;
		const char *p;

		if (mxt_fleet_endpoint_parse(eps[i], &e, err, sizeof(err)) < 0)
			return -1;
		rc = e.is_unix ? redisConnectUnix(e.host) : redisConnect(e.host, e.port);
		if (!rc || rc->err)
			return -1;
		r = redisCommand(rc, "INFO memory");
		if (r && r->type == REDIS_REPLY_STRING && (p = strstr(r->str, "used_memory:")))
			sum += atoll(p + 12);
		if (r)
			freeReplyObject(r);
		redisFree(rc);
	}
	return sum;
}

/* One session of a sender at one node. */
struct session {
	struct mxt_fleet *fleet;
	struct mxt_key key;
	uint64_t now;
};

/* Admit the session and note it for the fleet, as the policy path does
 * (the controller's lock held). */
static int session_one(struct mxt_model *model, void *ctx)
{
	struct session *ss = ctx;
	int rc = mxt_model_admit_session(model, &ss->key, ss->now, MXT_OBS_CONNECT, 0, 0, NULL);

	if (rc >= 0)
		mxt_fleet_note(ss->fleet, &ss->key, ss->now, rc ? MXT_FLEET_DSESS : MXT_FLEET_SESS, 1);
	return rc;
}

static int run(long n, char eps[][MXT_FLEET_EP_MAX], int neps, int json)
{
	struct mxt_model *m[NODES];
	struct mxt_controller *c[NODES];
	struct mxt_fleet *fl[NODES];
	struct mxt_fleet_config fc;
	struct mxt_fleet_stats st0[NODES], st[NODES];
	struct mxt_config kcfg;
	uint64_t now = (uint64_t)time(NULL), t0, tick_max = 0, ex_sum = 0, ex_max = 0, ex_n = 0;
	long long mem0, mem1;
	char err[256];
	int ticks = 0, done = 0;

	mxt_config_defaults(&kcfg, 1);
	memset(&fc, 0, sizeof(fc));
	for (int i = 0; i < neps; i++)
		snprintf(fc.endpoints[i], sizeof(fc.endpoints[i]), "%s", eps[i]);
	fc.nendpoints = neps;
	snprintf(fc.fleet, sizeof(fc.fleet), "bench%ld-%ld", n, (long)getpid());
	fc.buffer = (uint32_t)(n + 1024);
	fc.join_timeout = 5;
	mem0 = redis_used(eps, neps);
	for (int i = 0; i < NODES; i++) {
		m[i] = mxt_model_new(NULL, (size_t)n + (size_t)n / 4 + 1024);
		struct mxt_ctl_opts o = { .model = m[i], .kcfg = &kcfg, .max_sources = 1024 };

		if (!m[i] || !(c[i] = mxt_ctl_new(&o, err, sizeof(err)))) {
			fprintf(stderr, "fleet_tick: out of memory\n");
			return 1;
		}
		snprintf(fc.node, sizeof(fc.node), "b%d", i + 1);
		fl[i] = mxt_fleet_start(&fc, c[i], err, sizeof(err));
		if (!fl[i]) {
			fprintf(stderr, "fleet_tick: %s\n", err);
			return 1;
		}
		mxt_ctl_set_fleet(c[i], fl[i]);
		mxt_fleet_join_wait(fl[i]);
	}
	/* One session per source, at one node each, as the controller's
	 * policy path counts it. */
	for (long i = 0; i < n; i++) {
		struct session ss = { .fleet = fl[i % NODES], .key = bench_key_of(i), .now = now };

		mxt_ctl_with_model(c[i % NODES], session_one, &ss);
	}
	for (int i = 0; i < NODES; i++)
		mxt_fleet_get_stats(fl[i], &st0[i]);
	t0 = mono_us();
	while (!done && mono_us() - t0 < 600u * 1000000u) {
		struct timespec ts = { 0, 100 * 1000000L };

		for (int i = 0; i < NODES; i++) {
			struct mxt_ctl_snapshot cs;

			mxt_ctl_tick(c[i], now);
			mxt_ctl_snapshot(c[i], &cs);
			if (cs.counters.tick_usec_last > tick_max)
				tick_max = cs.counters.tick_usec_last;
		}
		ticks++;
		nanosleep(&ts, NULL);
		done = 1;
		for (int i = 0; i < NODES; i++) {
			mxt_fleet_get_stats(fl[i], &st[i]);
			if (st[i].exchanges > st0[i].exchanges) {
				ex_sum += st[i].exchange_usec_last;
				ex_n++;
				if (st[i].exchange_usec_last > ex_max)
					ex_max = st[i].exchange_usec_last;
			}
			if (st[i].backlog || st[i].sessions_applied - st0[i].sessions_applied <
						     (uint64_t)(n - (n - i + NODES - 1) / NODES))
				done = 0;
		}
	}
	{
		double wall = (double)(mono_us() - t0) / 1e6;
		uint64_t rt = 0, ex = 0, applied = 0;

		for (int i = 0; i < NODES; i++) {
			rt += st[i].round_trips - st0[i].round_trips;
			ex += st[i].exchanges - st0[i].exchanges;
			applied += st[i].sessions_applied - st0[i].sessions_applied;
		}
		mem1 = redis_used(eps, neps);
		if (json)
			printf("MXT_BENCH {\"sources\":%ld,\"nodes\":%d,\"shards\":%d,\"agreed\":%s,"
			       "\"ticks\":%d,\"wall_s\":%.2f,\"ctl_tick_ms_max\":%.2f,"
			       "\"exchange_ms_mean\":%.2f,\"exchange_ms_max\":%.2f,"
			       "\"round_trips_per_tick\":%.2f,\"sessions_applied\":%llu,"
			       "\"redis_bytes_per_source\":%.0f}\n",
			       n, NODES, neps, done ? "true" : "false", ticks, wall, tick_max / 1e3,
			       ex_n ? ex_sum / 1e3 / (double)ex_n : 0.0, ex_max / 1e3,
			       (double)rt / (double)(ticks * NODES), (unsigned long long)applied,
			       mem0 >= 0 && mem1 >= 0 ? (double)(mem1 - mem0) / (double)n : -1.0);
		else
			printf("%ld sources, %d nodes, %d shard(s): agreed=%s after %d ticks (%.1f s); "
			       "controller tick max %.2f ms; exchange mean %.2f ms, max %.2f ms; "
			       "%.2f round trips per node and tick; Redis %.0f bytes/source\n",
			       n, NODES, neps, done ? "yes" : "no", ticks, wall, tick_max / 1e3,
			       ex_n ? ex_sum / 1e3 / (double)ex_n : 0.0, ex_max / 1e3,
			       (double)rt / (double)(ticks * NODES),
			       mem0 >= 0 && mem1 >= 0 ? (double)(mem1 - mem0) / (double)n : -1.0);
		(void)ex;
	}
	for (int i = 0; i < NODES; i++) {
		mxt_ctl_set_fleet(c[i], NULL);
		mxt_fleet_stop(fl[i]);
		mxt_ctl_free(c[i]);
		mxt_model_free(m[i]);
	}
	return done ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
	};
	char eps[MXT_FLEET_SHARDS_MAX][MXT_FLEET_EP_MAX];
	const char *list = "100000,1000000";
	long sizes[BENCH_SIZES_MAX];
	int neps = 0, json = 0, opt, rc = 0, nsizes;

	while ((opt = getopt_long(argc, argv, "r:n:j", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (neps == MXT_FLEET_SHARDS_MAX)
				return 2;
			snprintf(eps[neps++], MXT_FLEET_EP_MAX, "%s", optarg);
			break;
		case 'n':
			list = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			fprintf(stderr, "usage: fleet_tick -r ENDPOINT [-r ...] [-n N[,N...]] [--json]\n");
			return 2;
		}
	}
	/* Warnings only: the daemon's GRAYLIST lines for every learned
	 * source would measure the terminal, not the fleet. */
	mxt_log_open("fleet_tick", 0, -1);
	if (!neps) {
		fprintf(stderr, "fleet_tick: -r ENDPOINT (a Redis to use) is required\n");
		return 2;
	}
	nsizes = bench_sizes("fleet_tick", list, 3, 4000000, sizes);
	if (nsizes < 0)
		return 2;
	for (int i = 0; i < nsizes; i++)
		rc |= run(sizes[i], eps, neps, json);
	return rc;
}
