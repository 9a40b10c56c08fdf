/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_fleet_print.c - a fleet run beside the single-host run of the same
 * seed and populations: what each node received and applied, and per
 * population the figures a fleet must keep equal to one host's (the
 * probation allowance used, throttles and time to throttle, time to
 * establish, delivered/delayed/expired mail), as a table or JSON.
 */
#include <errno.h>
#include <stdio.h>

#include "sim.h"
#include "jsonw.h"
#include "sim_fmt.h"

/* One population's comparable figures as a JSON object. */
static void pop_json(struct mxt_jw *w, const struct mxt_sim_pop_result *x)
{
	mxt_jw_obj_open(w);
	mxt_jw_ku64(w, "attempts", x->attempts);
	mxt_jw_ku64(w, "allowed", x->allowed);
	mxt_jw_ku64(w, "deferred", x->deferred);
	mxt_jw_ku64(w, "dropped", x->dropped);
	mxt_jw_ku64(w, "probation_admitted", x->prob_admitted);
	mxt_jw_ku64(w, "probation_hours", x->prob_hours);
	mxt_jw_ku64(w, "probation_max_hour", x->prob_max_hour);
	mxt_jw_ku64(w, "throttles", x->throttles);
	mxt_jw_key(w, "throttle_after_s");
	mxt_jw_double(w, x->throttle_after, 0);
	mxt_jw_ku64(w, "established", x->established_n);
	mxt_jw_key(w, "days_to_establish");
	mxt_jw_double(w, x->days_to_establish, 3);
	mxt_jw_ku64(w, "messages", x->messages);
	mxt_jw_ku64(w, "delivered", x->delivered);
	mxt_jw_ku64(w, "delayed", x->delayed);
	mxt_jw_ku64(w, "expired", x->expired);
	mxt_jw_obj_close(w);
}

/* The comparison as one JSON object. */
static int print_json(const struct mxt_sim_result *f, const struct mxt_sim_result *one, FILE *out)
{
	struct mxt_jw w;
	unsigned k;
	int p;

	mxt_jw_init(&w, out);
	mxt_jw_obj_open(&w);
	mxt_jw_ku64(&w, "nodes", f->fleet);
	mxt_jw_kbool(&w, "isolated", f->fleet_isolated);
	mxt_jw_key(&w, "populations");
	mxt_jw_arr_open(&w);
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		if (!f->pop[p].used && !one->pop[p].used)
			continue;
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "name", f->pop[p].name);
		mxt_jw_key(&w, "single");
		pop_json(&w, &one->pop[p]);
		mxt_jw_key(&w, "fleet");
		pop_json(&w, &f->pop[p]);
		mxt_jw_obj_close(&w);
	}
	mxt_jw_arr_close(&w);
	mxt_jw_key(&w, "node_share");
	mxt_jw_arr_open(&w);
	for (k = 0; k < f->fleet && k < MXT_SIM_FLEET_MAX; k++) {
		const struct mxt_sim_node_result *n = &f->node[k];

		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "node", k + 1);
		mxt_jw_ku64(&w, "attempts", n->attempts);
		mxt_jw_ku64(&w, "allowed", n->allowed);
		mxt_jw_ku64(&w, "deferred", n->deferred);
		mxt_jw_ku64(&w, "dropped", n->dropped);
		mxt_jw_ku64(&w, "replayed", n->replayed);
		mxt_jw_ku64(&w, "stale", n->stale);
		mxt_jw_ku64(&w, "kernel_changes", n->kernel_changes);
		mxt_jw_key(&w, "jump_throttled_after_s");
		mxt_jw_double(&w, n->jump_throttled_after, 0);
		mxt_jw_ku64(&w, "new_legit_established", n->new_established);
		mxt_jw_ku64(&w, "spoofed_tracked", n->spoof_tracked);
		mxt_jw_ku64(&w, "spoofed_history", n->spoof_history);
		mxt_jw_ku64(&w, "tracked", n->counts.tracked);
		mxt_jw_ku64(&w, "throttles", n->counts.throttles);
		mxt_jw_obj_close(&w);
	}
	mxt_jw_arr_close(&w);
	mxt_jw_obj_close(&w);
	return mxt_jw_finish(&w);
}

/* One line of a population's comparable figures. */
static void pop_line(FILE *out, const char *name, const char *run, const struct mxt_sim_pop_result *x)
{
	char a[16], b[16];

	fprintf(out, "%-14s %-7s %8llu %6llu %5llu %9llu %8llu %8llu %4llu %7s %6llu %7s %8llu %9llu %7llu %7llu\n",
		name, run, (unsigned long long)x->prob_admitted, (unsigned long long)x->prob_hours,
		(unsigned long long)x->prob_max_hour, (unsigned long long)x->allowed,
		(unsigned long long)x->deferred, (unsigned long long)x->dropped,
		(unsigned long long)x->throttles,
		sim_or_dash(a, sizeof(a), x->throttle_after, 0, "s"),
		(unsigned long long)x->established_n,
		sim_or_dash(b, sizeof(b), x->days_to_establish, 2, "d"),
		(unsigned long long)x->messages, (unsigned long long)x->delivered,
		(unsigned long long)x->delayed, (unsigned long long)x->expired);
}

int mxt_sim_print_fleet(const struct mxt_sim_result *f, const struct mxt_sim_result *one, FILE *out,
			int json)
{
	char run[16], a[16];
	uint64_t total = 0;
	unsigned k;
	int p;

	if (!f || !one || !out || f->fleet > MXT_SIM_FLEET_MAX)
		return -EINVAL;
	if (json)
		return print_json(f, one, out);
	for (k = 0; k < f->fleet; k++)
		total += f->node[k].attempts;
	fprintf(out, "\nfleet of %u nodes (%s) against one host, same seed and populations\n", f->fleet,
		f->fleet_isolated ? "isolated: nothing shared" : "each replays the others' events one tick late");
	fprintf(out, "%-5s %9s %6s %9s %8s %8s %10s %7s %8s %9s %7s %8s\n", "node", "attempts", "share%",
		"allowed", "deferred", "dropped", "replayed", "stale", "k-writes", "jump-thr", "new-est",
		"spoofed");
	for (k = 0; k < f->fleet; k++) {
		const struct mxt_sim_node_result *n = &f->node[k];

		fprintf(out, "%-5u %9llu %6.1f %9llu %8llu %8llu %10llu %7llu %8llu %9s %7llu %8llu\n", k + 1,
			(unsigned long long)n->attempts, total ? 100.0 * n->attempts / total : 0.0,
			(unsigned long long)n->allowed, (unsigned long long)n->deferred,
			(unsigned long long)n->dropped, (unsigned long long)n->replayed,
			(unsigned long long)n->stale, (unsigned long long)n->kernel_changes,
			sim_or_dash(a, sizeof(a), n->jump_throttled_after, 0, "s"),
			(unsigned long long)n->new_established,
			(unsigned long long)n->spoof_history);
	}
	fprintf(out, "%-14s %-7s %8s %6s %5s %9s %8s %8s %4s %7s %6s %7s %8s %9s %7s %7s\n", "population",
		"run", "prob-adm", "prob-h", "max/h", "allowed", "deferred", "dropped", "thr", "thr-in",
		"estab", "to-est", "messages", "delivered", "delayed", "expired");
	snprintf(run, sizeof(run), "%u-node", f->fleet);
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		if (!f->pop[p].used && !one->pop[p].used)
			continue;
		pop_line(out, f->pop[p].name, "1-host", &one->pop[p]);
		pop_line(out, "", run, &f->pop[p]);
	}
	return ferror(out) ? -EIO : 0;
}
