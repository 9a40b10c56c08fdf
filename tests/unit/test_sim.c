/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_sim.c - the simulator: the default synthetic week shows what the
 * model promises (no false positives for established senders, the
 * compromised sender throttled within a minute, snowshoe and burst spam
 * mostly stopped, the spoofed flood never established, new senders
 * established after three days), runs are deterministic for a seed, and
 * CSV traces replay in time order with errors that name the line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "sim.h"
#include "cfgkeys.h"
#include "mxt_syn_verdict.h"
/* The command line lives with the tools; the tests drive it directly. */
#define MXT_SIM_STANDALONE 1
#include "../../tools/mxthrottle/cmd_sim.c"
#include "test_util.h"
#include "capture.h"

static struct mxt_sim_result week; /* the default synthetic week, run once */
static int week_rc;

/* Run the default synthetic week (7 days after 7 days of history). */
static int setup_week(void **state)
{
	struct mxt_sim_config c;
	char err[256];

	(void)state;
	mxt_sim_config_default(&c);
	c.warmup_days = 7;
	week_rc = mxt_sim_run(&c, &week, err, sizeof(err));
	if (week_rc)
		fprintf(stderr, "sim: %s\n", err);
	mxt_sim_print(&week, stderr, 0);
	return 0;
}

/* Established senders: zero or near-zero false positives. */
static void test_week_established(void **state)
{
	const struct mxt_sim_pop_result *p = &week.pop[MXT_SIM_ESTABLISHED];

	(void)state;
	assert_int_equal(week_rc, 0);
	CHECK(p->used && p->sources == 400 && p->attempts > 300000,
	      "got %llu sources %llu attempts, want 400 and > 300000",
	      (unsigned long long)p->sources, (unsigned long long)p->attempts);
	CHECK(p->fp_pct >= 0 && p->fp_pct < 0.05, "established FP: got %.4f %%, want < 0.05 %%",
	      p->fp_pct);
	CHECK(p->reached[MXT_STATE_THROTTLED] <= 1, "got %llu established senders throttled, want <= 1",
	      (unsigned long long)p->reached[MXT_STATE_THROTTLED]);
	CHECK(p->delivered == p->messages, "got %llu of %llu messages delivered",
	      (unsigned long long)p->delivered, (unsigned long long)p->messages);
}

/* The compromised sender: throttled within one minute of its 20x jump. */
static void test_week_compromised(void **state)
{
	const struct mxt_sim_pop_result *p = &week.pop[MXT_SIM_COMPROMISED];

	(void)state;
	assert_int_equal(week_rc, 0);
	CHECK(p->throttle_after >= 0 && p->throttle_after <= 60,
	      "got throttled %.0f s after the jump, want 0..60", p->throttle_after);
	CHECK(p->spam_stopped_pct > 90, "compromised spam: got %.1f %% stopped, want > 90",
	      p->spam_stopped_pct);
	CHECK(p->delivered == p->messages, "its own mail: got %llu of %llu delivered",
	      (unsigned long long)p->delivered, (unsigned long long)p->messages);
}

/* Snowshoe and burst spam mostly stopped, never established. */
static void test_week_spam(void **state)
{
	const struct mxt_sim_pop_result *s = &week.pop[MXT_SIM_SNOWSHOE], *b = &week.pop[MXT_SIM_BURST];

	(void)state;
	assert_int_equal(week_rc, 0);
	CHECK(s->spam_stopped_pct > 50, "snowshoe: got %.1f %% stopped, want > 50", s->spam_stopped_pct);
	CHECK(b->spam_stopped_pct > 90, "burst: got %.1f %% stopped, want > 90", b->spam_stopped_pct);
	CHECK(s->reached[MXT_STATE_ESTABLISHED] == 0 && b->reached[MXT_STATE_ESTABLISHED] == 0,
	      "spam sources established: snowshoe %llu burst %llu, want 0",
	      (unsigned long long)s->reached[MXT_STATE_ESTABLISHED],
	      (unsigned long long)b->reached[MXT_STATE_ESTABLISHED]);
	CHECK(s->deferred_by[MXT_CODE_GLOBAL_BUDGET] > 0 && b->deferred_by[MXT_CODE_NEW_SENDER] > 0,
	      "expected GLOBAL_BUDGET for snowshoe and NEW_SENDER for the burst");
}

/* The flood's SYNs admitted are the global budget's arithmetic: from idle,
 * its burst, then rate/min over the flood's 600 s (FLOOD_S), the flood
 * (2000/s) outpacing it; the last SYN comes less than one budget interval
 * before the end, so one SYN fewer may pass.  Nothing else drops or admits
 * them (each source sends a handful, within its own bucket). */
#define FLOOD_S 600
static void check_flood_budget(const struct mxt_sim_pop_result *p, const struct mxt_limit *g)
{
	uint64_t most = g->burst + (uint64_t)g->rate * FLOOD_S / 60;
	double stopped = 100.0 * (1.0 - (double)most / (double)p->attempts);

	CHECK(p->allowed <= most && p->allowed + 1 >= most,
	      "flood: got %llu SYNs admitted, want %llu (burst %u + %u/min x %d s) or one fewer",
	      (unsigned long long)p->allowed, (unsigned long long)most, g->burst, g->rate, FLOOD_S);
	CHECK(p->budget_most == most, "flood: the printed budget says %llu, want %llu",
	      (unsigned long long)p->budget_most, (unsigned long long)most);
	CHECK(p->allowed + p->dropped == p->attempts && p->spam_stopped == p->dropped &&
	      p->deferred == 0,
	      "flood: %llu admitted + %llu dropped of %llu SYNs (%llu deferred)",
	      (unsigned long long)p->allowed, (unsigned long long)p->dropped,
	      (unsigned long long)p->attempts, (unsigned long long)p->deferred);
	CHECK(p->spam_stopped_pct >= stopped && p->spam_stopped_pct < stopped + 0.01,
	      "flood: got %.4f %% stopped, want %.4f (the budget's share)", p->spam_stopped_pct,
	      stopped);
}

/* The spoofed flood: SYNs only, never anything past NEW. */
static void test_week_spoofed(void **state)
{
	const struct mxt_sim_pop_result *p = &week.pop[MXT_SIM_SPOOFED];

	(void)state;
	assert_int_equal(week_rc, 0);
	CHECK(p->attempts == 1200000 && p->sources > 60000,
	      "got %llu SYNs from %llu sources, want 1200000 from > 60000",
	      (unsigned long long)p->attempts, (unsigned long long)p->sources);
	CHECK(p->reached[MXT_STATE_GRAYLISTED] == 0 && p->reached[MXT_STATE_ESTABLISHED] == 0 &&
	      p->reached[MXT_STATE_THROTTLED] == 0,
	      "spoofed sources: got %llu graylisted %llu established, want 0/0",
	      (unsigned long long)p->reached[MXT_STATE_GRAYLISTED],
	      (unsigned long long)p->reached[MXT_STATE_ESTABLISHED]);
	/* No spoofed source has a policy: the shipped global budget
	 * (cfgkeys.c) alone decides, exactly. */
	{
		struct mxt_config k;

		assert_int_equal(mxt_config_defaults(&k, 1), 0);
		check_flood_budget(p, &k.global);
	}
}

/* The same flood under other budgets: the 6000/min, burst 1000 that the
 * simulator used before it took the daemon's defaults (94.9 % stopped),
 * a rate whose interval is rounded (7000/min), and a budget that admits
 * nothing: its stopped share follows the budget, nothing else.  Short
 * runs: the flood is on day 4, the other populations scaled down. */
static void test_flood_budget(void **state)
{
	static const char *const keys[] = { "global_rate", "global_burst" };
	static const char *const vals[][2] = { { "6000", "1000" }, { "7000", "3" }, { "0", "0" } };
	struct mxt_sim_result *r = calloc(1, sizeof(*r));
	struct mxt_sim_config c;
	char err[256];
	size_t i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		const struct mxt_sim_pop_result *p = &r->pop[MXT_SIM_SPOOFED];

		mxt_sim_config_default(&c);
		c.days = 5;
		c.warmup_days = 0;
		c.scale = 0.05;
		CHECK(mxt_config_set_many(&c.kernel, 2, keys, vals[i], err, sizeof(err)) == 0,
		      "global budget %s/%s: %s", vals[i][0], vals[i][1], err);
		CHECK(mxt_sim_run(&c, r, err, sizeof(err)) == 0, "run: %s", err);
		CHECK(p->used && p->attempts == 2000ull * FLOOD_S, "flood: %llu SYNs",
		      (unsigned long long)p->attempts);
		if (c.kernel.global.rate == 7000) {
			/* 60e9/7000 ns is rounded down: the budget is a little
			 * over 7000/min, and the printed bound says so */
			CHECK(p->budget_most == 3 + FLOOD_S * 1000000000ull / c.kernel.global.interval_ns &&
			      p->allowed <= p->budget_most && p->allowed + 1 >= p->budget_most,
			      "7000/min: got %llu admitted, bound %llu",
			      (unsigned long long)p->allowed, (unsigned long long)p->budget_most);
			continue;
		}
		check_flood_budget(p, &c.kernel.global);
	}
	free(r);
}

/* The simulator's kernel is one CPU holding the whole global budget; the
 * kernel splits it over its CPUs (mxt_limit_derive()).  A flood spread
 * evenly over 4 CPUs gets through them what it gets through the
 * simulator's one budget, give or take a SYN per CPU. */
static void test_flood_budget_cpus(void **state)
{
	struct mxt_config one, four;
	__u64 tat1 = 0, tat4[4] = { 0 };
	uint64_t got1 = 0, got4 = 0, i;

	(void)state;
	assert_int_equal(mxt_config_defaults(&one, 1), 0);
	assert_int_equal(mxt_config_defaults(&four, 4), 0);
	for (i = 0; i < 2000ull * FLOOD_S; i++) {
		__u64 now = 1000000000000ull + i * 500000; /* 2000 SYN/s */

		got1 += mxt_syn_global(&tat1, now, &one.global) == MXT_R_ADMITTED;
		got4 += mxt_syn_global(&tat4[i % 4], now, &four.global) == MXT_R_ADMITTED;
	}
	CHECK(got4 <= got1 + 4 && got4 + 4 >= got1,
	      "flood: one CPU's budget admits %llu, four CPUs' shares %llu, want within 4",
	      (unsigned long long)got1, (unsigned long long)got4);
	CHECK(got1 == one.global.burst + (uint64_t)one.global.rate * FLOOD_S / 60 - 1,
	      "one CPU: got %llu admitted", (unsigned long long)got1);
}

/* New legitimate senders: all established, three days after they start. */
static void test_week_new_senders(void **state)
{
	const struct mxt_sim_pop_result *p = &week.pop[MXT_SIM_NEW_LEGIT];

	(void)state;
	assert_int_equal(week_rc, 0);
	CHECK(p->established_n == p->sources && p->sources == 20,
	      "got %llu of %llu established", (unsigned long long)p->established_n,
	      (unsigned long long)p->sources);
	CHECK(p->days_to_establish_min >= 3.0 && p->days_to_establish <= 3.5 &&
	      p->days_to_establish_max <= 4.1,
	      "days to establishment: got %.3f (%.3f..%.3f), want >= 3, mean <= 3.5",
	      p->days_to_establish, p->days_to_establish_min, p->days_to_establish_max);
	CHECK(p->delivered == p->messages && p->messages > 5000,
	      "got %llu of %llu messages delivered", (unsigned long long)p->delivered,
	      (unsigned long long)p->messages);
	CHECK(p->fp_pct < 30, "new senders: got %.1f %% of attempts deferred, want < 30", p->fp_pct);
}

/* The same seed gives the same numbers; another seed other numbers. */
static void test_deterministic(void **state)
{
	struct mxt_sim_config c;
	struct mxt_sim_result *a = calloc(3, sizeof(*a));
	int p;

	(void)state;
	assert_non_null(a);
	mxt_sim_config_default(&c);
	c.days = 4; /* burst and compromised, no flood: quick */
	c.warmup_days = 2;
	c.scale = 0.2;
	c.seed = 77;
	assert_int_equal(mxt_sim_run(&c, &a[0], NULL, 0), 0);
	assert_int_equal(mxt_sim_run(&c, &a[1], NULL, 0), 0);
	c.seed = 78;
	assert_int_equal(mxt_sim_run(&c, &a[2], NULL, 0), 0);
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		CHECK(memcmp(&a[0].pop[p], &a[1].pop[p], sizeof(a[0].pop[p])) == 0,
		      "population %d differs between two runs with seed 77", p);
	}
	CHECK(a[0].events == a[1].events && a[0].kernel_changes == a[1].kernel_changes,
	      "events %llu/%llu differ", (unsigned long long)a[0].events,
	      (unsigned long long)a[1].events);
	CHECK(a[0].pop[MXT_SIM_ESTABLISHED].attempts != a[2].pop[MXT_SIM_ESTABLISHED].attempts,
	      "seeds 77 and 78 gave the same traffic");
	free(a);
}

/* Write a file. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A CSV trace: offsets, a header, comments, unsorted lines, IPv6, syn
 * outcomes; replayed in time order; counts add up. */
static void test_trace_replay(void **state)
{
	char path[] = "/tmp/mxt-sim-trace-XXXXXX", path2[] = "/tmp/mxt-sim-trace2-XXXXXX";
	struct mxt_sim_config c;
	struct mxt_sim_result *r = calloc(2, sizeof(*r));
	const struct mxt_sim_pop_result *p;
	char *text, err[256];
	size_t len = 0, cap = 1 << 20;
	int fd, h, j, rc;

	(void)state;
	assert_non_null(r);
	text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "time,source,outcome\n# steady sender\n");
	/* 4 days of a sender at 10 sessions/h, written newest first */
	for (h = 4 * 24 - 1; h >= 0; h--)
		for (j = 9; j >= 0; j--)
			len += (size_t)snprintf(text + len, cap - len, "%d,198.18.1.1,session\n",
						h * 3600 + j * 360 + 7);
	for (j = 0; j < 100; j++) /* a fast IPv6 newcomer: 100 in 500 s */
		len += (size_t)snprintf(text + len, cap - len, "%d,2001:2::7\n", 7200 + j * 5);
	for (j = 0; j < 50; j++) /* SYN-only */
		len += (size_t)snprintf(text + len, cap - len, "%d,198.19.3.4,syn\n", 3600 + j);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, text);
	mxt_sim_config_default(&c);
	c.trace = path;
	rc = mxt_sim_run(&c, &r[0], err, sizeof(err));
	CHECK(rc == 0, "trace: got %d (%s)", rc, err);
	p = &r[0].pop[MXT_SIM_TRACE];
	CHECK(r[0].trace_lines == 960 + 100 + 50 && p->attempts == r[0].trace_lines,
	      "got %llu lines %llu attempts, want 1110", (unsigned long long)r[0].trace_lines,
	      (unsigned long long)p->attempts);
	CHECK(p->allowed + p->deferred + p->dropped == p->attempts, "counts do not add up");
	CHECK(p->sources == 3, "got %llu sources, want 3", (unsigned long long)p->sources);
	CHECK(p->reached[MXT_STATE_ESTABLISHED] == 1 && p->reached[MXT_STATE_GRAYLISTED] == 2,
	      "reached: got %llu established %llu graylisted, want 1/2",
	      (unsigned long long)p->reached[MXT_STATE_ESTABLISHED],
	      (unsigned long long)p->reached[MXT_STATE_GRAYLISTED]);
	CHECK(p->deferred_by[MXT_CODE_NEW_SENDER] >= 70,
	      "the fast newcomer: got %llu NEW_SENDER deferrals, want >= 70 (20 allowed in its hour)",
	      (unsigned long long)p->deferred_by[MXT_CODE_NEW_SENDER]);

	/* The same lines sorted give the same result. */
	len = 0;
	len += (size_t)snprintf(text + len, cap - len, "3600,198.19.3.4,syn\n");
	fd = mkstemp(path2);
	assert_true(fd >= 0);
	close(fd);
	{
		/* Build sorted text: steady sender ascending, others after. */
		len = 0;
		for (h = 0; h < 4 * 24; h++)
			for (j = 0; j < 10; j++)
				len += (size_t)snprintf(text + len, cap - len, "%d,198.18.1.1,session\n",
							h * 3600 + j * 360 + 7);
		for (j = 0; j < 50; j++)
			len += (size_t)snprintf(text + len, cap - len, "%d,198.19.3.4,syn\n", 3600 + j);
		for (j = 0; j < 100; j++)
			len += (size_t)snprintf(text + len, cap - len, "%d,2001:2::7,session\n",
						7200 + j * 5);
	}
	write_file(path2, text);
	c.trace = path2;
	assert_int_equal(mxt_sim_run(&c, &r[1], err, sizeof(err)), 0);
	CHECK(r[1].pop[MXT_SIM_TRACE].allowed == p->allowed &&
	      r[1].pop[MXT_SIM_TRACE].deferred == p->deferred &&
	      r[1].pop[MXT_SIM_TRACE].dropped == p->dropped,
	      "unsorted vs sorted trace: allowed %llu/%llu deferred %llu/%llu",
	      (unsigned long long)p->allowed, (unsigned long long)r[1].pop[MXT_SIM_TRACE].allowed,
	      (unsigned long long)p->deferred, (unsigned long long)r[1].pop[MXT_SIM_TRACE].deferred);

	/* Errors name the line. */
	write_file(path2, "0,198.18.0.1\n5,198.18.0.300\n");
	rc = mxt_sim_run(&c, &r[1], err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, ":2:") && strstr(err, "198.18.0.300"),
	      "bad address: got %d '%s'", rc, err);
	write_file(path2, "0,198.18.0.1,maybe\n");
	rc = mxt_sim_run(&c, &r[1], err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, ":1:") && strstr(err, "maybe"), "bad outcome: got %d '%s'",
	      rc, err);
	write_file(path2, "5,198.18.0.1\n1704067200,198.18.0.1\n");
	rc = mxt_sim_run(&c, &r[1], err, sizeof(err));
	CHECK(rc == -EINVAL && strstr(err, "mixes"), "mixed times: got %d '%s'", rc, err);
	c.trace = "/nonexistent/trace.csv";
	rc = mxt_sim_run(&c, &r[1], err, sizeof(err));
	CHECK(rc == -ENOENT && strstr(err, "/nonexistent/trace.csv"), "missing file: got %d '%s'",
	      rc, err);
	unlink(path);
	unlink(path2);
	free(text);
	free(r);
}

/* JSON output holds every population and balanced braces; the table has
 * a header and one row per population. */
static void test_output(void **state)
{
	struct capture c;
	size_t len, i;
	int depth = 0, min = 0;
	char *buf;

	(void)state;
	assert_int_equal(week_rc, 0);
	assert_int_equal(mxt_sim_print(&week, capture_begin(&c), 1), 0);
	buf = capture_end(&c);
	len = strlen(buf);
	CHECK(buf[0] == '{' && buf[len - 1] == '\n', "JSON framing: got '%c'...", buf[0]);
	for (i = 0; i < len; i++) {
		depth += buf[i] == '{' || buf[i] == '[';
		depth -= buf[i] == '}' || buf[i] == ']';
		if (depth < min)
			min = depth;
	}
	CHECK(depth == 0 && min == 0, "JSON braces unbalanced (%d)", depth);
	CHECK(strstr(buf, "\"name\":\"established\"") && strstr(buf, "\"name\":\"spoofed-flood\"") &&
	      strstr(buf, "\"throttle_after_s\":") && strstr(buf, "\"false_positive_pct\":0"),
	      "JSON lacks fields: %.200s", buf);
	free(buf);
	assert_int_equal(mxt_sim_print(&week, capture_begin(&c), 0), 0);
	buf = capture_end(&c);
	CHECK(strstr(buf, "population") && strstr(buf, "FP%") && strstr(buf, "\nestablished ") &&
	      strstr(buf, "\ncompromised ") && strstr(buf, "throttled "),
	      "table: %.300s", buf);
	free(buf);
}

/* The simulator's kernel is the one that ships: its defaults are the
 * daemon's (cfgkeys.c), and --kernel-set goes through the same table. */
static void test_kernel_defaults(void **state)
{
	struct mxt_sim_config c;
	struct mxt_config k;
	int i;

	(void)state;
	mxt_sim_config_default(&c);
	assert_int_equal(mxt_config_defaults(&k, 1), 0);
	for (i = 0; i < MXT_CLASS_MAX; i++)
		CHECK(c.kernel.class_limit[i].rate == k.class_limit[i].rate &&
		      c.kernel.class_limit[i].burst == k.class_limit[i].burst,
		      "class %s: sim %u/%u, daemon %u/%u", mxt_class_name((unsigned)i),
		      c.kernel.class_limit[i].rate, c.kernel.class_limit[i].burst,
		      k.class_limit[i].rate, k.class_limit[i].burst);
	CHECK(c.kernel.global.rate == k.global.rate && c.kernel.global.burst == k.global.burst,
	      "global: sim %u/%u, daemon %u/%u", c.kernel.global.rate, c.kernel.global.burst,
	      k.global.rate, k.global.burst);
}

/* A scenario runs, is judged, and prints its verdict line; an unknown
 * one is a usage error. */
static void test_scenario(void **state)
{
	struct mxt_sim_config c;
	struct mxt_sim_result *r = calloc(1, sizeof(*r));
	char *argv_bad[] = { "sim", "--scenario", "nosuch", NULL };
	struct capture cap;
	char *buf;
	int rc;

	(void)state;
	assert_non_null(r);
	CHECK(mxt_sim_scenario_count() >= 14 && mxt_sim_scenario_name(0) &&
	      !mxt_sim_scenario_name(mxt_sim_scenario_count()), "scenario list");
	mxt_sim_config_default(&c);
	c.scenario = "comp20x";
	rc = mxt_sim_run(&c, r, NULL, 0);
	assert_int_equal(rc, 0);
	CHECK(r->scenario && strcmp(r->scenario, "comp20x") == 0 && r->scen_got[0],
	      "scenario result: '%s'", r->scen_got);
	CHECK(r->pop[MXT_SIM_COMPROMISED].throttle_after >= 0 &&
	      r->pop[MXT_SIM_COMPROMISED].throttle_after <= 60 && r->scen_pass,
	      "comp20x: got '%s'", r->scen_got);
	assert_int_equal(mxt_sim_print_scenario(r, capture_begin(&cap), 1), 0);
	buf = capture_end(&cap);
	CHECK(strstr(buf, "scenario") && strstr(buf, "\ncomp20x ") && strstr(buf, "PASS"),
	      "scenario line: %s", buf);
	free(buf);
	CHECK(mxt_sim_main(3, argv_bad) == 2, "--scenario nosuch: want 2");
	free(r);
}

/* The CLI entry: usage errors return 2; a trace run prints JSON; the
 * --kernel-set keys are applied together (a global budget of nothing
 * needs rate 0 and burst 0 at once), a bad one is a usage error. */
static void test_main(void **state)
{
	char path[] = "/tmp/mxt-sim-main-XXXXXX";
	char *argv_bad[] = { "sim", "--days", "zero", NULL };
	char *argv_set[] = { "sim", "--set", "jump_factor=0.5", NULL };
	char *argv_both[] = { "sim", "--synthetic", "--trace", "x", NULL };
	char *argv_ok[] = { "sim", "--trace", path, "--json", NULL };
	char *argv_none[] = { "sim", "--trace", path, "--json", "--kernel-set", "global_rate=0",
			      "--kernel-set", "global_burst=0", NULL };
	char *argv_half[] = { "sim", "--trace", path, "--kernel-set", "global_rate=0", NULL };
	char *argv_key[] = { "sim", "--trace", path, "--kernel-set", "=0", NULL };
	struct capture_fd cap;
	char buf[4096];
	int fd, rc;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "0,198.18.0.1\n60,198.18.0.1\n120,198.18.0.2,syn\n");
	CHECK(mxt_sim_main(3, argv_bad) == 2, "--days zero: want 2");
	CHECK(mxt_sim_main(3, argv_set) == 2, "--set jump_factor=0.5: want 2");
	CHECK(mxt_sim_main(4, argv_both) == 2, "--synthetic with --trace: want 2");
	capture_fd_begin(&cap, 1);
	rc = mxt_sim_main(4, argv_ok);
	capture_fd_end(&cap, buf, sizeof(buf));
	CHECK(rc == 0 && strstr(buf, "\"input\":\"trace\"") && strstr(buf, "\"attempts\":3") &&
	      strstr(buf, "\"dropped\":0"), "trace run: got rc %d output '%s'", rc, buf);
	capture_fd_begin(&cap, 1);
	rc = mxt_sim_main(8, argv_none);
	capture_fd_end(&cap, buf, sizeof(buf));
	CHECK(rc == 0 && strstr(buf, "\"attempts\":3,\"allowed\":0,\"deferred\":0,\"dropped\":3"),
	      "global budget 0/0: got rc %d output '%s'", rc, buf);
	capture_fd_begin(&cap, 2);
	rc = mxt_sim_main(5, argv_half);
	capture_fd_end(&cap, buf, sizeof(buf));
	CHECK(rc == 2 && strstr(buf, "global_burst"), "global_rate=0 alone: got rc %d '%s'", rc, buf);
	CHECK(mxt_sim_main(5, argv_key) == 2, "--kernel-set =0: want 2");
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_week_established),
		cmocka_unit_test(test_week_compromised),
		cmocka_unit_test(test_week_spam),
		cmocka_unit_test(test_week_spoofed),
		cmocka_unit_test(test_flood_budget),
		cmocka_unit_test(test_flood_budget_cpus),
		cmocka_unit_test(test_week_new_senders),
		cmocka_unit_test(test_output),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_trace_replay),
		cmocka_unit_test(test_main),
		cmocka_unit_test(test_kernel_defaults),
		cmocka_unit_test(test_scenario),
	};

	return cmocka_run_group_tests(tests, setup_week, NULL);
}
