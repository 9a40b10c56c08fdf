/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_sim_fleet.c - the simulated fleet (sim --fleet N): three nodes that
 * replay each other's events one tick late keep what one host keeps for
 * the same seed and populations -- a new sender's hourly allowance
 * (within one tick's worth), the day it is established, the compromised
 * sender throttled on every node, a spoofed flood leaving no history on
 * any node, snowshoe spam one new-sender budget -- while three isolated
 * nodes (nothing shared, the control) give a new sender three allowances
 * and snowshoe three budgets.  One node is the single host,
 * byte for byte.
 */
#include <errno.h>
#include <math.h>
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
/* The command line lives with the tools; the tests drive it directly. */
#define MXT_SIM_STANDALONE 1
#include "../../tools/mxthrottle/cmd_sim.c"
#include "test_util.h"
#include "capture.h"

#define NODES 3
#define BURST_PER_S (3000.0 / 3600.0) /* the synthetic burst sender's rate */

static struct mxt_sim_result one, fleet, iso; /* single host, fleet, isolated fleet */
static int rc_one, rc_fleet, rc_iso;

/* A short synthetic run: 5 days (burst day 2, jump day 3, flood day 4)
 * after 2 days of history, a fifth of the populations. */
static void small_config(struct mxt_sim_config *c, unsigned nodes, int isolated)
{
	mxt_sim_config_default(c);
	c->warmup_days = 2;
	c->days = 5;
	c->scale = 0.2;
	c->fleet = nodes;
	c->fleet_isolated = isolated;
}

/* Run the three configurations once for every test. */
static int setup_runs(void **state)
{
	struct mxt_sim_config c;
	char err[256];

	(void)state;
	small_config(&c, 1, 0);
	rc_one = mxt_sim_run(&c, &one, err, sizeof(err));
	if (rc_one)
		fprintf(stderr, "single: %s\n", err);
	small_config(&c, NODES, 0);
	rc_fleet = mxt_sim_run(&c, &fleet, err, sizeof(err));
	if (rc_fleet)
		fprintf(stderr, "fleet: %s\n", err);
	small_config(&c, NODES, 1);
	rc_iso = mxt_sim_run(&c, &iso, err, sizeof(err));
	if (rc_iso)
		fprintf(stderr, "isolated: %s\n", err);
	if (!rc_one && !rc_fleet)
		mxt_sim_print_fleet(&fleet, &one, stderr, 0);
	if (!rc_one && !rc_iso)
		mxt_sim_print_fleet(&iso, &one, stderr, 0);
	return 0;
}

/* Sessions the other nodes may admit before a node hears of them: the
 * sender's rate over one tick at each of them (docs/fleet.md). */
static double tick_worth(double per_s, unsigned tick)
{
	return ceil(per_s * tick * (NODES - 1));
}

/* A new sender over its allowance (the burst): the fleet admits per
 * probation hour what one host admits, within one tick's worth. */
static void test_allowance(void **state)
{
	const struct mxt_sim_pop_result *a = &one.pop[MXT_SIM_BURST], *b = &fleet.pop[MXT_SIM_BURST];
	double slack = tick_worth(BURST_PER_S, fleet.tick);

	(void)state;
	assert_int_equal(rc_one, 0);
	assert_int_equal(rc_fleet, 0);
	CHECK(a->prob_hours > 0 && a->prob_max_hour >= 10 && a->deferred + a->dropped > a->allowed,
	      "single host: got %llu probation hours, at most %llu admitted in one, want a sender "
	      "held at its allowance", (unsigned long long)a->prob_hours,
	      (unsigned long long)a->prob_max_hour);
	CHECK(fabs((double)b->prob_max_hour - (double)a->prob_max_hour) <= slack,
	      "most admitted in one probation hour: got %llu on %u nodes, want %llu +- %.0f",
	      (unsigned long long)b->prob_max_hour, NODES, (unsigned long long)a->prob_max_hour, slack);
	CHECK(b->prob_hours == a->prob_hours &&
	      fabs((double)b->prob_admitted - (double)a->prob_admitted) <= slack * (double)a->prob_hours,
	      "admitted on probation: got %llu in %llu hours on %u nodes, want %llu in %llu (+- %.0f/h)",
	      (unsigned long long)b->prob_admitted, (unsigned long long)b->prob_hours, NODES,
	      (unsigned long long)a->prob_admitted, (unsigned long long)a->prob_hours, slack);
}

/* The control: nodes that share nothing give the sender one allowance
 * each, so the check above can tell replay from no replay. */
static void test_allowance_isolated(void **state)
{
	const struct mxt_sim_pop_result *a = &one.pop[MXT_SIM_BURST], *c = &iso.pop[MXT_SIM_BURST];

	(void)state;
	assert_int_equal(rc_iso, 0);
	CHECK(c->prob_max_hour >= 2.5 * (double)a->prob_max_hour &&
	      c->prob_max_hour <= NODES * a->prob_max_hour,
	      "isolated nodes: got %llu in one probation hour, want ~%u x %llu",
	      (unsigned long long)c->prob_max_hour, NODES, (unsigned long long)a->prob_max_hour);
	CHECK(iso.node[0].replayed == 0 && fleet.node[0].replayed > 0,
	      "replayed at node 1: got %llu isolated, %llu shared; want 0 and > 0",
	      (unsigned long long)iso.node[0].replayed, (unsigned long long)fleet.node[0].replayed);
}

/* New legitimate senders: established on the same day step, and every
 * node's model holds them established. */
static void test_establish(void **state)
{
	const struct mxt_sim_pop_result *a = &one.pop[MXT_SIM_NEW_LEGIT], *b = &fleet.pop[MXT_SIM_NEW_LEGIT];
	unsigned k;

	(void)state;
	assert_int_equal(rc_fleet, 0);
	CHECK(a->established_n > 0 && b->established_n == a->established_n,
	      "new senders established: got %llu on %u nodes, want %llu (> 0)",
	      (unsigned long long)b->established_n, NODES, (unsigned long long)a->established_n);
	CHECK(floor(b->days_to_establish_max) == floor(a->days_to_establish_max) &&
	      floor(b->days_to_establish_min) == floor(a->days_to_establish_min),
	      "days to establish: got %.2f-%.2f on %u nodes, want the day step of %.2f-%.2f",
	      b->days_to_establish_min, b->days_to_establish_max, NODES, a->days_to_establish_min,
	      a->days_to_establish_max);
	for (k = 0; k < NODES; k++)
		CHECK(fleet.node[k].new_established == a->established_n,
		      "node %u: got %llu new senders established, want %llu", k + 1,
		      (unsigned long long)fleet.node[k].new_established,
		      (unsigned long long)a->established_n);
	CHECK(b->delivered == b->messages && b->expired == 0,
	      "new senders' mail: got %llu of %llu delivered, %llu expired",
	      (unsigned long long)b->delivered, (unsigned long long)b->messages,
	      (unsigned long long)b->expired);
}

/* The compromised sender's 20x jump: throttled within a minute on every
 * node, once, as on one host; its own mail still delivered. */
static void test_compromised(void **state)
{
	const struct mxt_sim_pop_result *a = &one.pop[MXT_SIM_COMPROMISED], *b = &fleet.pop[MXT_SIM_COMPROMISED];
	unsigned k;

	(void)state;
	assert_int_equal(rc_fleet, 0);
	CHECK(a->throttle_after >= 0 && a->throttle_after <= 60 && b->throttle_after >= 0 &&
	      b->throttle_after <= 60 && b->throttles == a->throttles,
	      "throttled: got %.0f s after the jump, %llu times on %u nodes; %.0f s, %llu on one host",
	      b->throttle_after, (unsigned long long)b->throttles, NODES, a->throttle_after,
	      (unsigned long long)a->throttles);
	for (k = 0; k < NODES; k++)
		CHECK(fleet.node[k].jump_throttled_after >= 0 && fleet.node[k].jump_throttled_after <= 60,
		      "node %u: got throttled %.0f s after the jump, want 0..60", k + 1,
		      fleet.node[k].jump_throttled_after);
	CHECK(b->delivered == b->messages && b->spam_stopped_pct > 90,
	      "got %llu of %llu own msgs delivered, %.1f %% spam stopped", (unsigned long long)b->delivered,
	      (unsigned long long)b->messages, b->spam_stopped_pct);
}

/* The spoofed flood, spread over the nodes: no history on any of them. */
static void test_spoofed(void **state)
{
	unsigned k;

	(void)state;
	assert_int_equal(rc_fleet, 0);
	CHECK(fleet.pop[MXT_SIM_SPOOFED].attempts > 100000,
	      "flood: got %llu SYNs, want > 100000",
	      (unsigned long long)fleet.pop[MXT_SIM_SPOOFED].attempts);
	for (k = 0; k < NODES; k++)
		CHECK(fleet.node[k].spoof_history == 0 && fleet.node[k].spoof_tracked == 0,
		      "node %u: got %llu spoofed sources tracked, %llu with history, want 0", k + 1,
		      (unsigned long long)fleet.node[k].spoof_tracked,
		      (unsigned long long)fleet.node[k].spoof_history);
}

/* The new-sender budgets are fleet-wide: snowshoe spam spread over the
 * nodes gets about what one host's budget admits (each node takes what
 * the others admitted, one tick late), not a budget per node as isolated
 * nodes give it. */
static void test_budget(void **state)
{
	const struct mxt_sim_pop_result *a = &one.pop[MXT_SIM_SNOWSHOE], *b = &fleet.pop[MXT_SIM_SNOWSHOE];
	const struct mxt_sim_pop_result *c = &iso.pop[MXT_SIM_SNOWSHOE];

	(void)state;
	assert_int_equal(rc_one, 0);
	assert_int_equal(rc_fleet, 0);
	assert_int_equal(rc_iso, 0);
	CHECK(a->allowed > 0 && (double)b->allowed <= 1.1 * (double)a->allowed + 10.0,
	      "snowshoe admitted: got %llu on %u nodes, want ~%llu (one host)", (unsigned long long)b->allowed,
	      NODES, (unsigned long long)a->allowed);
	CHECK((double)c->allowed >= 2.0 * (double)a->allowed,
	      "control: got %llu on %u isolated nodes, want ~%u x %llu", (unsigned long long)c->allowed,
	      NODES, NODES, (unsigned long long)a->allowed);
}

/* Attempts are spread uniformly; every node hears of the others' events. */
static void test_share(void **state)
{
	uint64_t total = 0, pops = 0;
	unsigned k;
	int p;

	(void)state;
	assert_int_equal(rc_fleet, 0);
	for (k = 0; k < NODES; k++)
		total += fleet.node[k].attempts;
	for (p = 0; p < MXT_SIM_POP_MAX; p++)
		pops += fleet.pop[p].attempts;
	CHECK(total == pops && total > 0, "node attempts: got %llu, want the populations' %llu",
	      (unsigned long long)total, (unsigned long long)pops);
	for (k = 0; k < NODES; k++) {
		double share = (double)fleet.node[k].attempts / (double)total;

		CHECK(fabs(share - 1.0 / NODES) < 0.01, "node %u: got %.3f of the attempts, want 1/%u",
		      k + 1, share, NODES);
		CHECK(fleet.node[k].replayed > fleet.node[k].stale,
		      "node %u: got %llu events applied, %llu stale", k + 1,
		      (unsigned long long)fleet.node[k].replayed, (unsigned long long)fleet.node[k].stale);
	}
	CHECK(fleet.node[NODES].attempts == 0, "node %u exists: got %llu attempts", NODES + 1,
	      (unsigned long long)fleet.node[NODES].attempts);
}

/* Print r into a string (caller frees). */
static char *printed(const struct mxt_sim_result *r, int json)
{
	struct capture c;

	assert_int_equal(mxt_sim_print(r, capture_begin(&c), json), 0);
	return capture_end(&c);
}

/* One node is the single host: the same output, table and JSON. */
static void test_one_node(void **state)
{
	struct mxt_sim_config c;
	struct mxt_sim_result *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	char err[256], *ta, *tb, *ja, *jb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	small_config(&c, 0, 0);
	c.days = 3;
	c.scale = 0.1;
	assert_int_equal(mxt_sim_run(&c, a, err, sizeof(err)), 0);
	c.fleet = 1;
	assert_int_equal(mxt_sim_run(&c, b, err, sizeof(err)), 0);
	ta = printed(a, 0);
	tb = printed(b, 0);
	ja = printed(a, 1);
	jb = printed(b, 1);
	CHECK(strcmp(ta, tb) == 0 && strcmp(ja, jb) == 0 && strstr(ta, "fleet") == NULL,
	      "fleet 1: got\n%s\nwant\n%s", tb, ta);
	free(ta);
	free(tb);
	free(ja);
	free(jb);
	free(a);
	free(b);
}

/* Run the CLI with stdout into a buffer: its exit code. */
static int run_cli(int argc, char **argv, char *buf, size_t len)
{
	struct capture_fd c;
	int rc;

	capture_fd_begin(&c, 1);
	rc = mxt_sim_main(argc, argv);
	capture_fd_end(&c, buf, len);
	return rc;
}

/* The CLI: bad --fleet values are usage errors; --fleet 1 prints what no
 * --fleet prints; --fleet 2 adds the comparison (JSON too). */
static void test_cli(void **state)
{
	char path[] = "/tmp/mxt-simf-trace-XXXXXX";
	char *argv_zero[] = { "sim", "--fleet", "0", NULL };
	char *argv_big[] = { "sim", "--fleet", "17", NULL };
	char *argv_iso[] = { "sim", "--fleet-isolated", NULL };
	char *argv_plain[] = { "sim", "--trace", path, NULL };
	char *argv_one[] = { "sim", "--trace", path, "--fleet", "1", NULL };
	char *argv_two[] = { "sim", "--trace", path, "--fleet", "2", NULL };
	char *argv_json[] = { "sim", "--trace", path, "--fleet", "2", "--json", NULL };
	static char a[8192], b[8192];
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("0,198.18.0.1\n60,198.18.0.1\n120,198.18.0.2,syn\n4000,198.18.0.1\n", f);
	fclose(f);
	CHECK(mxt_sim_main(3, argv_zero) == 2, "--fleet 0: want 2");
	CHECK(mxt_sim_main(3, argv_big) == 2, "--fleet 17: want 2");
	CHECK(mxt_sim_main(2, argv_iso) == 2, "--fleet-isolated alone: want 2");
	CHECK(run_cli(3, argv_plain, a, sizeof(a)) == 0 && run_cli(5, argv_one, b, sizeof(b)) == 0 &&
	      strcmp(a, b) == 0, "--fleet 1: got\n%s\nwant\n%s", b, a);
	CHECK(run_cli(5, argv_two, b, sizeof(b)) == 0 && strstr(b, "fleet of 2 nodes") &&
	      strstr(b, "1-host") && strstr(b, "2-node"), "--fleet 2: got\n%s", b);
	CHECK(run_cli(6, argv_json, b, sizeof(b)) == 0 && strstr(b, "\"fleet_run\"") &&
	      strstr(b, "\"single_run\"") && strstr(b, "\"node_share\"") && strstr(b, "\"fleet\":2"),
	      "--fleet 2 --json: got\n%s", b);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowance),
		cmocka_unit_test(test_allowance_isolated),
		cmocka_unit_test(test_establish),
		cmocka_unit_test(test_compromised),
		cmocka_unit_test(test_spoofed),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_one_node),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup_runs, NULL);
}
