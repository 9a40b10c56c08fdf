/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cmd_sim.c - "mxthrottle sim": the simulator's command line (sim.h):
 * options into a struct mxt_sim_config, a run, the table or JSON (a
 * fleet run is followed by the single-host run it is compared with).  Also
 * built alone as build/mxt-sim (tools/mxt-sim.c includes this file).
 * Runs without root and without a daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "cfgkeys.h"
#include "cmd_sim.h"

/* Print usage. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: mxthrottle sim [--synthetic | --trace FILE] [--days N] [--seed S] [--json]\n"
		"                      [--warmup N] [--tick S] [--scale X] [--capacity N]\n"
		"                      [--start UNIX] [--set NAME=VALUE]... [--kernel-set KEY=VALUE]...\n"
		"                      [--fleet N [--fleet-isolated]]\n"
		"       mxthrottle sim --scenario NAME|all [--fleet N] [--set NAME=VALUE]... [--json]\n"
		"  --trace FILE   replay 'time,source[,outcome]' lines (outcome session|syn)\n"
		"  --synthetic    a synthetic week (the default)\n"
		"  --days N       measured days (7)      --warmup N  days of history first (14)\n"
		"  --seed S       random seed (1)        --tick S    model tick in seconds (1)\n"
		"  --scale X      population sizes x X   --capacity N  model capacity (262144)\n"
		"  --start UNIX   start of the measured days / of offset times (2024-01-01, a Monday)\n"
		"  --set N=V      a model parameter (see mxthrottle.conf(5)); repeatable\n"
		"  --kernel-set K=V  a kernel key as 'mxthrottle config set' takes it; repeatable\n"
		"  --scenario S   one scenario judged against its target, or all of them:\n"
		"                 weekly growth15 growth25 backlog migration batches ramp return31\n"
		"                 snow48 snow24 nat comp3x comp4.5x comp20x\n"
		"  --fleet N      N nodes (1-16), each attempt to one drawn at random; each node\n"
		"                 replays the others' events one tick late; compared with one host\n"
		"  --fleet-isolated  the N nodes share nothing (a fleet without Redis)\n"
		"  --json         one JSON object instead of the table\n");
}

/* Parse an unsigned number with bounds. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

/* After fleet run f: the single-host run of the same configuration, and
 * the fleet's table, then the comparison (one JSON object with json). */
static int run_single(const struct mxt_sim_config *fc, const struct mxt_sim_result *f, int json)
{
	struct mxt_sim_config c = *fc;
	struct mxt_sim_result *one = calloc(1, sizeof(*one));
	char err[512];
	int rc;

	if (!one) {
		fprintf(stderr, "mxthrottle sim: out of memory\n");
		return -ENOMEM;
	}
	c.fleet = 1;
	c.fleet_isolated = 0;
	rc = mxt_sim_run(&c, one, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mxthrottle sim: single host: %s\n", err[0] ? err : strerror(-rc));
		free(one);
		return rc;
	}
	if (json)
		printf("{\"fleet_run\": ");
	rc = mxt_sim_print(f, stdout, json);
	if (!rc && json)
		printf(", \"single_run\": ");
	if (!rc && json)
		rc = mxt_sim_print(one, stdout, json);
	if (!rc && json)
		printf(", \"comparison\": ");
	if (!rc)
		rc = mxt_sim_print_fleet(f, one, stdout, json);
	if (!rc && json)
		printf("}\n");
	free(one);
	return rc;
}

/* Run one scenario or all ("all"), one line each (a JSON array with json). */
static int run_scenarios(struct mxt_sim_config *c, const char *name, int json)
{
	struct mxt_sim_result *r = calloc(1, sizeof(*r));
	char err[512];
	size_t i, n = 0;
	int rc = 0, failed = 0;

	if (!r) {
		fprintf(stderr, "mxthrottle sim: out of memory\n");
		return 1;
	}
	if (json)
		printf("[");
	for (i = 0; i < mxt_sim_scenario_count() && !rc; i++) {
		c->scenario = mxt_sim_scenario_name(i);
		if (strcmp(name, "all") != 0 && strcmp(name, c->scenario) != 0)
			continue;
		rc = mxt_sim_run(c, r, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "mxthrottle sim: %s: %s\n", c->scenario,
				err[0] ? err : strerror(-rc));
			break;
		}
		if (json && n)
			printf(",");
		rc = json ? mxt_sim_print(r, stdout, 1) : mxt_sim_print_scenario(r, stdout, n == 0);
		failed += !r->scen_pass;
		n++;
	}
	if (json)
		printf("]\n");
	free(r);
	if (!rc && !n) {
		fprintf(stderr, "mxthrottle sim: no scenario '%s'\n", name);
		return 2;
	}
	if (!rc && !json)
		printf("%zu scenarios, %zu met their target\n", n, n - (size_t)failed);
	return rc ? 1 : 0;
}

#define KSET_MAX 64 /* --kernel-set options of one run (more than there are keys) */

/* The CLI entry point. */
int mxt_sim_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trace", required_argument, NULL, 't' },
		{ "synthetic", no_argument, NULL, 'S' },
		{ "days", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "tick", required_argument, NULL, 'k' },
		{ "scale", required_argument, NULL, 'x' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "start", required_argument, NULL, 'b' },
		{ "scenario", required_argument, NULL, 'n' },
		{ "kernel-set", required_argument, NULL, 'K' },
		{ "set", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "fleet", required_argument, NULL, 'F' },
		{ "fleet-isolated", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char kname[KSET_MAX][64]; /* 4 KB: off the stack */
	const char *kkey[KSET_MAX], *kval[KSET_MAX];
	size_t nkset = 0;
	struct mxt_sim_config c;
	struct mxt_sim_result *r;
	unsigned long long v;
	char err[512];
	int opt, json = 0, rc, synthetic = 0;
	const char *scenario = NULL;

	mxt_sim_config_default(&c);
	optind = 0; /* full re-initialisation: we may be a subcommand */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			c.trace = optarg;
			break;
		case 'S':
			synthetic = 1;
			break;
		case 'd':
			if (parse_num(optarg, 366, &v) || !v)
				goto bad;
			c.days = (unsigned)v;
			break;
		case 's':
			if (parse_num(optarg, UINT64_MAX, &v))
				goto bad;
			c.seed = v;
			break;
		case 'w':
			if (parse_num(optarg, 366, &v))
				goto bad;
			c.warmup_days = (unsigned)v;
			break;
		case 'k':
			if (parse_num(optarg, 3600, &v) || !v)
				goto bad;
			c.tick = (unsigned)v;
			break;
		case 'x': {
			char *end;

			errno = 0;
			c.scale = strtod(optarg, &end);
			if (errno || *end || !(c.scale > 0) || c.scale > 100)
				goto bad;
			break;
		}
		case 'c':
			if (parse_num(optarg, 1 << 30, &v) || v < 16)
				goto bad;
			c.capacity = (size_t)v;
			break;
		case 'b':
			if (parse_num(optarg, 4000000000ULL, &v) || v < 86400 * 30)
				goto bad;
			c.start = v;
			break;
		case 'p': {
			char name[128], *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof(name)) {
				fprintf(stderr, "mxthrottle sim: --set wants NAME=VALUE, got '%s'\n", optarg);
				return 2;
			}
			memcpy(name, optarg, (size_t)(eq - optarg));
			name[eq - optarg] = 0;
			if (mxt_model_param_set(&c.params, name, eq + 1, err, sizeof(err))) {
				fprintf(stderr, "mxthrottle sim: --set %s\n", err);
				return 2;
			}
			break;
		}
		case 'j':
			json = 1;
			break;
		case 'F':
			if (parse_num(optarg, MXT_SIM_FLEET_MAX, &v) || !v)
				goto bad;
			c.fleet = (unsigned)v;
			break;
		case 'I':
			c.fleet_isolated = 1;
			break;
		case 'n':
			scenario = optarg;
			break;
		case 'K': {
			const char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || (size_t)(eq - optarg) >= sizeof(kname[0]) ||
			    nkset == KSET_MAX) {
				fprintf(stderr, "mxthrottle sim: --kernel-set wants KEY=VALUE (at most "
					"%d), got '%s'\n", KSET_MAX, optarg);
				return 2;
			}
			memcpy(kname[nkset], optarg, (size_t)(eq - optarg));
			kname[nkset][eq - optarg] = 0;
			kkey[nkset] = kname[nkset];
			kval[nkset++] = eq + 1;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* all at once, as 'config set' does: global_rate=0 needs global_burst=0 */
	if (nkset && mxt_config_set_many(&c.kernel, nkset, kkey, kval, err, sizeof(err))) {
		fprintf(stderr, "mxthrottle sim: --kernel-set %s\n", err);
		return 2;
	}
	if (optind < argc || (synthetic && c.trace) || (scenario && (synthetic || c.trace)) ||
	    (c.fleet_isolated && c.fleet < 2)) {
		usage(stderr);
		return 2;
	}
	if (scenario)
		return run_scenarios(&c, scenario, json);
	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "mxthrottle sim: out of memory\n");
		return 1;
	}
	rc = mxt_sim_run(&c, r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "mxthrottle sim: %s\n", err[0] ? err : strerror(-rc));
		free(r);
		return 1;
	}
	if (c.fleet > 1)
		rc = run_single(&c, r, json);
	else
		rc = mxt_sim_print(r, stdout, json);
	free(r);
	return rc ? 1 : 0;
bad:
	fprintf(stderr, "mxthrottle sim: bad value '%s'\n", optarg);
	usage(stderr);
	return 2;
}

#ifndef MXT_SIM_STANDALONE
int cmd_sim(struct cli *c, int argc, char **argv)
{
	(void)c;
	return mxt_sim_main(argc, argv) ? -1 : 0;
}
#endif
