// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_metrics_rows.c - the rows of the Prometheus exposition
 * (user/daemon/metrics.c) read the field they name: a snapshot whose every
 * 64-bit counter holds a value of its own is rendered, and each sample of
 * the model, kernel map, controller and fleet must show its field's value
 * (scaled where the unit is seconds).  A row with a wrong offset shows
 * another field's value and fails here.  No privileges needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

/* A sample and the field it must show. */
struct want {
	const char *sample;      /* name, with labels if any */
	const uint64_t *field;
	double div;              /* 0: printed as is */
};

/* Give every uint64_t of [p, p + n) a value no other field has. */
static void fill(void *p, size_t n, uint64_t *next)
{
	uint64_t *u = p;

	for (size_t i = 0; i < n / sizeof(*u); i++)
		u[i] = (*next)++ * 1000 + 7;
}

static char *render(struct mxt_metrics *m, uint64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(mxt_metrics_render(m, f, now), 0);
	fclose(f);
	return buf;
}

static void every_row_reads_its_field(void **state)
{
	struct mxt_metrics_snapshot s;
	struct mxt_metrics *m;
	uint64_t next = 1;
	char err[256], line[256], val[32], *t;
	const struct want want[] = {
		{ "mxthrottle_senders_capacity", &s.model.capacity, 0 },
		{ "mxthrottle_model_memory_bytes", &s.model.memory_bytes, 0 },
		{ "mxthrottle_model_evictions_total", &s.model.evicted, 0 },
		{ "mxthrottle_model_rejected_total", &s.model.rejected_full, 0 },
		{ "mxthrottle_model_expired_total", &s.model.expired, 0 },
		{ "mxthrottle_state_transitions_total{to=\"established\"}", &s.model.established, 0 },
		{ "mxthrottle_state_transitions_total{to=\"throttled\"}", &s.model.throttles, 0 },
		{ "mxthrottle_state_transitions_total{to=\"blocked\"}", &s.model.blocks, 0 },
		{ "mxthrottle_kernel_sources", &s.kernel_sources, 0 },
		{ "mxthrottle_kernel_sources_capacity", &s.kernel_capacity, 0 },
		{ "mxthrottle_ticks_total", &s.ctl.ticks, 0 },
		{ "mxthrottle_tick_duration_seconds", &s.ctl.tick_usec_last, 1e6 },
		{ "mxthrottle_kernel_policy_changes_total", &s.ctl.changes_written, 0 },
		{ "mxthrottle_map_errors_total", &s.ctl.map_errors, 0 },
		{ "mxthrottle_checkpoints_total", &s.ctl.checkpoints, 0 },
		{ "mxthrottle_checkpoint_errors_total", &s.ctl.checkpoint_errors, 0 },
		{ "mxthrottle_checkpoint_duration_seconds", &s.ctl.checkpoint_usec_last, 1e6 },
		{ "mxthrottle_checkpoint_last_timestamp_seconds", &s.last_checkpoint, 0 },
		{ "mxthrottle_fleet_outages_total", &s.fleet_st.outages, 0 },
		{ "mxthrottle_fleet_reconnects_total", &s.fleet_st.reconnects, 0 },
		{ "mxthrottle_fleet_exchanges_total", &s.fleet_st.exchanges, 0 },
		{ "mxthrottle_fleet_round_trips_total", &s.fleet_st.round_trips, 0 },
		{ "mxthrottle_fleet_exchange_duration_seconds", &s.fleet_st.exchange_usec_last, 1e6 },
		{ "mxthrottle_fleet_deltas_sent_total", &s.fleet_st.deltas_sent, 0 },
		{ "mxthrottle_fleet_deltas_applied_total", &s.fleet_st.deltas_applied, 0 },
		{ "mxthrottle_fleet_bad_entries_total", &s.fleet_st.bad, 0 },
		{ "mxthrottle_fleet_backlog", &s.fleet_st.backlog, 0 },
		{ "mxthrottle_fleet_dropped_total", &s.fleet_st.dropped, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	fill(&s.model, sizeof(s.model), &next);
	fill(&s.ctl, sizeof(s.ctl), &next);
	fill(&s.fleet_st, sizeof(s.fleet_st), &next);
	s.kernel_sources = next++ * 1000 + 7;
	s.kernel_capacity = next++ * 1000 + 7;
	s.last_checkpoint = next++ * 1000 + 7;
	s.fleet = 1;
	assert_int_equal(mxt_metrics_bind(NULL, &m, err, sizeof(err)), 0);
	mxt_metrics_update(m, &s);
	t = render(m, s.last_checkpoint + 5);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct want *w = &want[i];

		if (strchr(w->sample, '{'))
			snprintf(val, sizeof(val), "%llu", (unsigned long long)*w->field);
		else
			snprintf(val, sizeof(val), "%.17g",
				 w->div ? (double)*w->field / w->div : (double)*w->field);
		snprintf(line, sizeof(line), "\n%s %s\n", w->sample, val);
		if (!strstr(t, line))
			fail_msg("sample %s: got another value, want %s (its field's)", w->sample, val);
	}
	assert_non_null(strstr(t, "\nmxthrottle_checkpoint_age_seconds 5\n"));
	free(t);
	/* Without a fleet, no fleet family at all. */
	s.fleet = 0;
	mxt_metrics_update(m, &s);
	t = render(m, s.last_checkpoint);
	assert_null(strstr(t, "mxthrottle_fleet_"));
	assert_non_null(strstr(t, "\nmxthrottle_checkpoint_age_seconds 0\n"));
	free(t);
	mxt_metrics_free(m);
}

/* Each family's HELP and TYPE lines come once, before its first sample. */
static void one_head_per_family(void **state)
{
	struct mxt_metrics_snapshot s;
	struct mxt_metrics *m;
	char err[256], *t, *p;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.fleet = 1;
	assert_int_equal(mxt_metrics_bind(NULL, &m, err, sizeof(err)), 0);
	mxt_metrics_update(m, &s);
	t = render(m, 0);
	p = strstr(t, "# TYPE mxthrottle_state_transitions_total counter\n"
		      "mxthrottle_state_transitions_total{to=\"established\"} 0\n"
		      "mxthrottle_state_transitions_total{to=\"throttled\"} 0\n"
		      "mxthrottle_state_transitions_total{to=\"blocked\"} 0\n");
	assert_non_null(p);
	assert_null(strstr(p + 1, "# TYPE mxthrottle_state_transitions_total"));
	assert_non_null(strstr(t, "# HELP mxthrottle_fleet_backlog Source-hours waiting for Redis.\n"
				  "# TYPE mxthrottle_fleet_backlog gauge\n"
				  "mxthrottle_fleet_backlog 0\n"));
	free(t);
	mxt_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_row_reads_its_field),
		cmocka_unit_test(one_head_per_family),
	};

	return cmocka_run_group_tests_name("metrics_rows", tests, NULL, NULL);
}
