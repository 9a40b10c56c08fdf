/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_print.c - the simulator's results as a table or one JSON object,
 * and a scenario's one-line verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "jsonw.h"
#include "sim_fmt.h"

/* The notes column of population idx of r. */
static void notes_of(const struct mxt_sim_result *r, int idx, char *buf, size_t len)
{
	const struct mxt_sim_pop_result *p = &r->pop[idx];
	char rate[16];

	buf[0] = 0;
	switch (idx) {
	case MXT_SIM_ESTABLISHED:
		snprintf(buf, len, "%llu throttled, %llu of %llu msgs delivered",
			 (unsigned long long)p->reached[MXT_STATE_THROTTLED],
			 (unsigned long long)p->delivered, (unsigned long long)p->messages);
		break;
	case MXT_SIM_NEW_LEGIT:
		if (p->established_n)
			snprintf(buf, len, "%llu/%llu established after %.2f d (%.2f-%.2f); "
				 "%llu msgs delayed, mean %.0f min",
				 (unsigned long long)p->established_n, (unsigned long long)p->sources,
				 p->days_to_establish, p->days_to_establish_min, p->days_to_establish_max,
				 (unsigned long long)p->delayed, p->delay_mean / 60);
		else
			snprintf(buf, len, "0/%llu established", (unsigned long long)p->sources);
		break;
	case MXT_SIM_SNOWSHOE:
	case MXT_SIM_BURST:
		snprintf(buf, len, "%llu established", (unsigned long long)p->reached[MXT_STATE_ESTABLISHED]);
		break;
	case MXT_SIM_COMPROMISED:
		if (p->throttle_after >= 0)
			snprintf(buf, len, "throttled %.0f s after the 20x jump; %llu own msgs delayed, "
				 "mean %.0f min", p->throttle_after, (unsigned long long)p->delayed,
				 p->delay_mean / 60);
		else
			snprintf(buf, len, "never throttled");
		break;
	case MXT_SIM_SPOOFED:
		if (r->global_rate == MXT_RATE_UNLIMITED)
			snprintf(rate, sizeof(rate), "unlimited");
		else
			snprintf(rate, sizeof(rate), "%u/min", r->global_rate);
		snprintf(buf, len, "%llu tracked, %llu graylisted, %llu established; the global "
			 "budget (%s, burst %u a host) admits at most %llu",
			 (unsigned long long)(p->reached[MXT_STATE_NEW] + p->reached[MXT_STATE_BLOCKED]),
			 (unsigned long long)p->reached[MXT_STATE_GRAYLISTED],
			 (unsigned long long)p->reached[MXT_STATE_ESTABLISHED], rate,
			 r->global_burst, (unsigned long long)p->budget_most);
		break;
	case MXT_SIM_TRACE:
		snprintf(buf, len, "reached: %llu graylisted, %llu established, %llu throttled, %llu blocked",
			 (unsigned long long)p->reached[MXT_STATE_GRAYLISTED],
			 (unsigned long long)p->reached[MXT_STATE_ESTABLISHED],
			 (unsigned long long)p->reached[MXT_STATE_THROTTLED],
			 (unsigned long long)p->reached[MXT_STATE_BLOCKED]);
		break;
	default:
		break;
	}
}

/* "key": v with prec decimals, or null when v is negative (none). */
static void kdouble_or_null(struct mxt_jw *w, const char *key, double v, int prec)
{
	mxt_jw_key(w, key);
	if (v < 0)
		mxt_jw_null(w);
	else
		mxt_jw_double(w, v, prec);
}

/* A duration: "-", "42s", "17m", "3.2h", "1.5d". */
static const char *dur(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 120)
		snprintf(buf, len, "%.0fs", s);
	else if (s < 2 * 3600)
		snprintf(buf, len, "%.0fm", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%.1fh", s / 3600);
	else
		snprintf(buf, len, "%.1fd", s / 86400);
	return buf;
}

/* Print the results. */
int mxt_sim_print(const struct mxt_sim_result *r, FILE *out, int json)
{
	char notes[160], fp[16], sp[16], d1[16], d2[16];
	int p, st;

	if (!r || !out)
		return -EINVAL;
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "input", r->synthetic ? "synthetic" : "trace");
		mxt_jw_ku64(&w, "seed", r->seed);
		mxt_jw_ku64(&w, "days", r->days);
		mxt_jw_ku64(&w, "warmup_days", r->warmup_days);
		mxt_jw_ku64(&w, "start", r->start);
		mxt_jw_ku64(&w, "tick", r->tick);
		mxt_jw_key(&w, "scale");
		mxt_jw_double(&w, r->scale, 3);
		mxt_jw_ku64(&w, "events", r->events);
		mxt_jw_ku64(&w, "kernel_changes", r->kernel_changes);
		if (r->fleet > 1) {
			mxt_jw_ku64(&w, "fleet", r->fleet);
			mxt_jw_kbool(&w, "fleet_isolated", r->fleet_isolated);
		}
		if (r->scenario) {
			mxt_jw_kstr(&w, "scenario", r->scenario);
			mxt_jw_kstr(&w, "target", r->scen_target);
			mxt_jw_kstr(&w, "measured", r->scen_got);
			mxt_jw_kbool(&w, "pass", r->scen_pass);
		}
		mxt_jw_key(&w, "populations");
		mxt_jw_arr_open(&w);
		for (p = 0; p < MXT_SIM_POP_MAX; p++) {
			const struct mxt_sim_pop_result *x = &r->pop[p];

			if (!x->used)
				continue;
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "name", x->name);
			mxt_jw_ku64(&w, "sources", x->sources);
			mxt_jw_ku64(&w, "attempts", x->attempts);
			mxt_jw_ku64(&w, "allowed", x->allowed);
			mxt_jw_ku64(&w, "deferred", x->deferred);
			mxt_jw_ku64(&w, "dropped", x->dropped);
			mxt_jw_ku64(&w, "legit_attempts", x->legit_attempts);
			mxt_jw_ku64(&w, "legit_stopped", x->legit_stopped);
			mxt_jw_ku64(&w, "spam_attempts", x->spam_attempts);
			mxt_jw_ku64(&w, "spam_stopped", x->spam_stopped);
			kdouble_or_null(&w, "false_positive_pct", x->fp_pct, 4);
			kdouble_or_null(&w, "spam_stopped_pct", x->spam_stopped_pct, 4);
			mxt_jw_ku64(&w, "messages", x->messages);
			mxt_jw_ku64(&w, "delivered", x->delivered);
			mxt_jw_ku64(&w, "delayed", x->delayed);
			mxt_jw_ku64(&w, "expired", x->expired);
			mxt_jw_ku64(&w, "pending", x->pending);
			mxt_jw_key(&w, "delay_max_s");
			mxt_jw_double(&w, x->delay_max, 0);
			mxt_jw_key(&w, "throttled_h_week");
			mxt_jw_double(&w, x->throttled_h_week, 3);
			mxt_jw_ku64(&w, "throttles", x->throttles);
			kdouble_or_null(&w, "delay_mean_s", x->delay_mean, 0);
			kdouble_or_null(&w, "throttle_after_s", x->throttle_after, 0);
			mxt_jw_ku64(&w, "established", x->established_n);
			kdouble_or_null(&w, "days_to_establish", x->days_to_establish, 3);
			mxt_jw_key(&w, "days_to_establish_min");
			mxt_jw_double(&w, x->days_to_establish_min, 3);
			mxt_jw_key(&w, "days_to_establish_max");
			mxt_jw_double(&w, x->days_to_establish_max, 3);
			mxt_jw_key(&w, "reached");
			mxt_jw_obj_open(&w);
			for (st = 0; st < MXT_STATE_MAX; st++)
				mxt_jw_ku64(&w, mxt_state_name((enum mxt_state)st), x->reached[st]);
			mxt_jw_obj_close(&w);
			mxt_jw_key(&w, "deferred_by");
			mxt_jw_obj_open(&w);
			for (st = 0; st < MXT_CODE_MAX; st++)
				if (x->deferred_by[st])
					mxt_jw_ku64(&w, mxt_code_info((enum mxt_code)st)->name,
						    x->deferred_by[st]);
			mxt_jw_obj_close(&w);
			if (p == MXT_SIM_SPOOFED)
				mxt_jw_ku64(&w, "global_budget_most", x->budget_most);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_key(&w, "model");
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "tracked", r->counts.tracked);
		for (st = 0; st < MXT_STATE_MAX; st++)
			mxt_jw_ku64(&w, mxt_state_name((enum mxt_state)st), r->counts.by_state[st]);
		mxt_jw_ku64(&w, "throttles", r->counts.throttles);
		mxt_jw_ku64(&w, "blocks", r->counts.blocks);
		mxt_jw_ku64(&w, "syns_untracked", r->counts.syns_untracked);
		mxt_jw_ku64(&w, "tick_scans", r->counts.tick_scans);
		mxt_jw_ku64(&w, "tick_visits", r->counts.tick_visits);
		mxt_jw_ku64(&w, "memory_bytes", r->counts.memory_bytes);
		mxt_jw_obj_close(&w);
		mxt_jw_obj_close(&w);
		return mxt_jw_finish(&w);
	}
	fprintf(out, "mxthrottle sim: %s, seed %llu", r->synthetic ? "synthetic" : "trace",
		(unsigned long long)r->seed);
	if (r->synthetic)
		fprintf(out, ", %u days from %llu (Mon) after %u days of history, scale %g", r->days,
			(unsigned long long)r->start, r->warmup_days, r->scale);
	else
		fprintf(out, ", %llu lines", (unsigned long long)r->trace_lines);
	fprintf(out, ", tick %u s", r->tick);
	if (r->fleet > 1)
		fprintf(out, ", fleet of %u nodes%s", r->fleet, r->fleet_isolated ? " (isolated)" : "");
	fprintf(out, "\n");
	fprintf(out, "%-14s %7s %9s %9s %8s %8s %7s %8s %8s %9s %8s %9s %9s %7s\n", "population",
		"sources", "attempts", "allowed", "deferred", "dropped", "FP%", "stopped%", "messages",
		"delivered", "delayed", "mean-dly", "max-dly", "expired");
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		const struct mxt_sim_pop_result *x = &r->pop[p];

		if (!x->used)
			continue;
		notes_of(r, p, notes, sizeof(notes));
		sim_or_dash(fp, sizeof(fp), x->fp_pct, 2, "");
		sim_or_dash(sp, sizeof(sp), x->spam_stopped_pct, 2, "");
		fprintf(out, "%-14s %7llu %9llu %9llu %8llu %8llu %7s %8s %8llu %9llu %8llu %9s %9s %7llu\n",
			x->name, (unsigned long long)x->sources, (unsigned long long)x->attempts,
			(unsigned long long)x->allowed, (unsigned long long)x->deferred,
			(unsigned long long)x->dropped, fp, sp, (unsigned long long)x->messages,
			(unsigned long long)x->delivered, (unsigned long long)x->delayed,
			dur(d1, sizeof(d1), x->delayed ? x->delay_mean : -1),
			dur(d2, sizeof(d2), x->delayed ? x->delay_max : -1),
			(unsigned long long)x->expired);
		if (notes[0])
			fprintf(out, "%14s   %s\n", "", notes);
	}
	fprintf(out, "model: %llu tracked (new %llu, graylisted %llu, established %llu, throttled %llu, "
		"blocked %llu), %llu throttles, %llu blocks, %llu kernel policy writes, %.1f MB\n",
		(unsigned long long)r->counts.tracked,
		(unsigned long long)r->counts.by_state[MXT_STATE_NEW],
		(unsigned long long)r->counts.by_state[MXT_STATE_GRAYLISTED],
		(unsigned long long)r->counts.by_state[MXT_STATE_ESTABLISHED],
		(unsigned long long)r->counts.by_state[MXT_STATE_THROTTLED],
		(unsigned long long)r->counts.by_state[MXT_STATE_BLOCKED],
		(unsigned long long)r->counts.throttles, (unsigned long long)r->counts.blocks,
		(unsigned long long)r->kernel_changes, r->counts.memory_bytes / 1048576.0);
	return ferror(out) ? -EIO : 0;
}


/* Legitimate messages of a scenario result (every legitimate population). */
static void legit_msgs(const struct mxt_sim_result *r, uint64_t v[4], double *mean, double *max)
{
	double sum = 0;
	int p;

	memset(v, 0, 4 * sizeof(*v));
	*mean = -1;
	*max = -1;
	for (p = 0; p < MXT_SIM_POP_MAX; p++) {
		const struct mxt_sim_pop_result *x = &r->pop[p];

		if (!x->used || !x->legit)
			continue;
		v[0] += x->messages;
		v[1] += x->delivered;
		v[2] += x->delayed;
		v[3] += x->expired;
		if (x->delayed) {
			sum += x->delay_mean * (double)x->delayed;
			if (x->delay_max > *max)
				*max = x->delay_max;
		}
	}
	if (v[2])
		*mean = sum / (double)v[2];
}

int mxt_sim_print_scenario(const struct mxt_sim_result *r, FILE *out, int hdr)
{
	char d1[16], d2[16];
	uint64_t v[4];
	double mean, max;

	if (!r || !out || !r->scenario)
		return -EINVAL;
	if (hdr)
		fprintf(out, "%-12s %8s %8s %7s %7s %7s %7s  %-4s %s\n", "scenario", "messages",
			"deliverd", "delayed", "meandly", "maxdly", "expired", "", "target: measured");
	legit_msgs(r, v, &mean, &max);
	fprintf(out, "%-12s %8llu %8llu %7llu %7s %7s %7llu  %-4s %s: %s\n", r->scenario,
		(unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
		dur(d1, sizeof(d1), mean), dur(d2, sizeof(d2), max), (unsigned long long)v[3],
		r->scen_pass ? "PASS" : "FAIL", r->scen_target, r->scen_got);
	return ferror(out) ? -EIO : 0;
}
