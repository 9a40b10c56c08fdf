/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_ops_units.c - the operations modules without a kernel: the minimum
 * kernel verdict (user/kernel/kernel_req.c), the program's XDP run configuration
 * as libxdp reads it, the metrics_listen key, and the Prometheus endpoint
 * (user/daemon/metrics.c): histogram buckets, the exposition text (every
 * row reading the field it names), and the HTTP server's manners over a
 * real loopback socket.  No privileges needed.
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
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <xdp/libxdp.h>

#include "daemon_conf.h"
#include "kernel_req.h"
#include "metrics.h"

static void kernel_verdicts(void **state)
{
	char err[256] = "";

	(void)state;
	/* The probe wins: a backported old number passes, a new one without
	 * the helper does not. */
	assert_int_equal(mxt_kernel_verdict("4.18.0-513.el8.x86_64", 1, err, sizeof(err)), 0);
	assert_int_equal(mxt_kernel_verdict("6.1.0-18-amd64", 0, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "5.11"));
	/* No probe: the release decides. */
	assert_int_equal(mxt_kernel_verdict("5.10.0-28-amd64", -EPERM, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "kernel 5.10.0-28-amd64 is too old"));
	assert_int_equal(mxt_kernel_verdict("4.19.0", -EPERM, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_equal(mxt_kernel_verdict("5.11.0", -EPERM, err, sizeof(err)), 0);
	assert_int_equal(mxt_kernel_verdict("6.1.0", -EPERM, err, sizeof(err)), 0);
	assert_int_equal(mxt_kernel_verdict("garbage", -EPERM, err, sizeof(err)), 0);
	assert_int_equal(mxt_kernel_verdict(NULL, -EPERM, err, sizeof(err)), 0);
}

/* The object's XDP_RUN_CONFIG as libxdp's dispatcher reads it (parsing
 * only: no kernel, no privileges). */
static void xdp_run_config(void **state)
{
	struct xdp_program *p;

	(void)state;
	p = xdp_program__open_file(MXT_BUILD_DIR "/mxthrottle.bpf.o", "xdp", NULL);
	assert_int_equal(libxdp_get_error(p), 0);
	assert_int_equal(xdp_program__run_prio(p), 10);
	assert_true(xdp_program__chain_call_enabled(p, XDP_PASS));
	assert_false(xdp_program__chain_call_enabled(p, XDP_DROP));
	xdp_program__close(p);
}

static void metrics_listen_key(void **state)
{
	struct mxt_daemon_conf c;
	char err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	mxt_daemon_conf_defaults(&c, 2);
	assert_string_equal(c.metrics_listen, "");          /* off by default */
	assert_non_null(mxt_daemon_key_find("metrics_listen")); /* documented */
	assert_int_equal(mxt_daemon_conf_set(&c, "metrics_listen", "inet:127.0.0.1:9725", err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "inet:127.0.0.1:9725");
	assert_int_equal(mxt_daemon_conf_set(&c, "metrics_listen", "none", err, sizeof(err)), 0);
	assert_string_equal(c.metrics_listen, "");
	assert_int_equal(mxt_daemon_conf_set(&c, "metrics_listen", "unix:/run/m.sock", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "inet:HOST:PORT"));
	assert_int_equal(mxt_daemon_conf_set(&c, "metrics_listen", "inet:127.0.0.1", err, sizeof(err)), -EINVAL);
}

static void bind_refusals(void **state)
{
	struct mxt_metrics *m = (void *)1;
	char err[256];

	(void)state;
	assert_true(mxt_metrics_bind("unix:/tmp/x", &m, err, sizeof(err)) < 0);
	assert_null(m);
	assert_true(mxt_metrics_bind("inet:198.18.0.1:notaport", &m, err, sizeof(err)) < 0);
	assert_null(m);
}

/* The exposition of 'm' as a string (free it). */
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

static void histogram_and_text(void **state)
{
	struct mxt_metrics_snapshot s;
	struct mxt_metrics *m;
	char err[256], *t;

	(void)state;
	assert_int_equal(mxt_metrics_bind(NULL, &m, err, sizeof(err)), 0);
	mxt_metrics_observe_decision(m, MXT_CODE_NEW_SENDER, 0.000001);  /* first bucket */
	mxt_metrics_observe_decision(m, MXT_CODE_NEW_SENDER, 0.00001);   /* == bound: still first */
	mxt_metrics_observe_decision(m, MXT_CODE_OK_ESTABLISHED, 0.003); /* le 0.005 */
	mxt_metrics_observe_decision(m, MXT_CODE_OK_ESTABLISHED, 99);    /* +Inf only */
	memset(&s, 0, sizeof(s));
	s.model.by_state[MXT_STATE_GRAYLISTED] = 7;
	s.model.evicted = 3;
	s.ctl.tick_usec_last = 1500;
	s.last_checkpoint = 1000;
	s.fleet = 1;
	s.fleet_st.outages = 2;
	s.fleet_st.backlog = 5;
	mxt_metrics_update(m, &s);
	t = render(m, 1042);
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"1e-05\"} 2\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"0.0025\"} 2\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"0.005\"} 3\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"2\"} 3\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decision_duration_seconds_count 4\n"));
	assert_non_null(strstr(t, "mxthrottle_policy_decisions_total{code=\"NEW_SENDER\",status=\"4.7.500\",as=\"AS101\"} 2\n"));
	assert_non_null(strstr(t, "mxthrottle_senders{state=\"graylisted\"} 7\n"));
	assert_non_null(strstr(t, "mxthrottle_model_evictions_total 3\n"));
	assert_non_null(strstr(t, "mxthrottle_tick_duration_seconds 0.0015\n"));
	assert_non_null(strstr(t, "mxthrottle_checkpoint_age_seconds 42\n"));
	assert_non_null(strstr(t, "# TYPE mxthrottle_policy_decision_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "mxthrottle_fleet_outages_total 2\n"));
	assert_non_null(strstr(t, "mxthrottle_fleet_backlog 5\n"));
	free(t);
	mxt_metrics_free(m);
}

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

/* Every scalar row shows the field it names: a snapshot whose every
 * 64-bit counter holds a value of its own is rendered, and each sample of
 * the model, kernel map, controller and fleet must show its field's value
 * (scaled where the unit is seconds).  A row with a wrong offset shows
 * another field's value. */
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

/* One HTTP exchange with the server at 127.0.0.1:port; the status code. */
static int http(unsigned port, const char *request, char *body, size_t blen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char buf[65536];
	size_t got = 0;
	ssize_t n;
	int fd, code = -1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	if (body) {
		char *b = strstr(buf, "\r\n\r\n");

		snprintf(body, blen, "%s", b ? b + 4 : "");
	}
	return code;
}

static void http_manners(void **state)
{
	struct mxt_metrics *m;
	char err[256], ep[64], body[65536];
	unsigned port;

	(void)state;
	assert_int_equal(mxt_metrics_bind("inet:127.0.0.1:0", &m, err, sizeof(err)), 0);
	assert_int_equal(mxt_metrics_endpoint(m, ep, sizeof(ep)), 0);
	assert_int_equal(sscanf(ep, "inet:127.0.0.1:%u", &port), 1);
	assert_int_equal(mxt_metrics_start(m), 0);
	mxt_metrics_observe_decision(m, MXT_CODE_RATE_JUMP, 0.0001);
	assert_int_equal(http(port, "GET /metrics HTTP/1.0\r\n\r\n", body, sizeof(body)), 200);
	assert_non_null(strstr(body, "status=\"4.7.510\",as=\"AS201\"} 1\n"));
	assert_int_equal(http(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n", NULL, 0), 200);
	assert_int_equal(http(port, "GET / HTTP/1.0\r\n\r\n", NULL, 0), 404);
	assert_int_equal(http(port, "GET /metrics/../etc HTTP/1.0\r\n\r\n", NULL, 0), 404);
	assert_int_equal(http(port, "PUT /metrics HTTP/1.0\r\n\r\n", NULL, 0), 405);
	/* A body is refused before it is read: no answer, or an error. */
	assert_true(http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello", NULL, 0) != 200);
	assert_true(http(port, "garbage\r\n\r\n", NULL, 0) != 200);
	mxt_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kernel_verdicts),
		cmocka_unit_test(xdp_run_config),
		cmocka_unit_test(metrics_listen_key),
		cmocka_unit_test(bind_refusals),
		cmocka_unit_test(histogram_and_text),
		cmocka_unit_test(every_row_reads_its_field),
		cmocka_unit_test(one_head_per_family),
		cmocka_unit_test(http_manners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
