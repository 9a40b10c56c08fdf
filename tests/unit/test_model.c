/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_model.c - the pattern-change model with a virtual clock: every state
 * transition, the probation schedule, a week of a steady sender with daily
 * cycles, a 20x jump, spoofed SYN floods, decide()'s explanations, the
 * table's capacity and eviction, and the parameter table.
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
#include <cmocka.h>

#include "model.h"
#include "model_params.h"
#include "sim.h"
#include "test_util.h"

#define T0 1704067200ULL /* Monday 2024-01-01 00:00 UTC */
#define HOUR 3600ULL
#define DAY 86400ULL

/* An IPv4 /32 key 198.18.a.b. */
static struct mxt_key key4(unsigned a, unsigned b)
{
	struct mxt_key k;
	uint8_t *p = (uint8_t *)k.addr;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	p[0] = 198;
	p[1] = 18;
	p[2] = (uint8_t)a;
	p[3] = (uint8_t)b;
	return k;
}

/* An IPv4 /32 key from a 32-bit number (any address). */
static struct mxt_key key_u32(uint32_t v)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	k.addr[0] = v;
	return k;
}

/* Sessions/h of a steady business sender with daily cycles: 10/h at
 * night, 200/h at 10:00, lower in the afternoon, 30 % at weekends. */
static double steady_rate(uint64_t t)
{
	static const double shape[24] = {
		10, 10, 10, 10, 10, 12, 20, 60, 120, 170, 200, 190,
		150, 160, 170, 150, 120, 80, 50, 35, 25, 18, 14, 12
	};
	uint64_t days = t / DAY;
	unsigned dow = (unsigned)((days + 4) % 7); /* 0 = Sunday */
	double r = shape[(t / HOUR) % 24];

	if (dow == 0 || dow == 6)
		r *= 0.3;
	return r;
}

typedef double (*rate_fn)(uint64_t t);

static int snap_fn(void *ctx, const struct mxt_sender *s);
static int cmp_sender(const void *a, const void *b);

/* Next Poisson arrival after t for a piecewise-constant hourly rate. */
static double next_arrival(uint64_t *rng, double t, rate_fn f, double mult)
{
	for (;;) {
		double hour_end = (floor(t / HOUR) + 1) * HOUR;
		double lambda = f((uint64_t)t) * mult / HOUR;
		double gap;

		if (lambda <= 0) {
			t = hour_end;
			continue;
		}
		gap = -log(mxt_rng_unit(rng)) / lambda;
		if (t + gap < hour_end)
			return t + gap;
		t = hour_end;
	}
}

struct run_stats {
	uint64_t attempts, deferred, throttled_events;
	uint64_t first_throttle;   /* first time a decision said THROTTLED */
	uint64_t codes[MXT_CODE_MAX];
};

/* Drive one sender from t0 to t1 with Poisson sessions of rate f x mult,
 * ticking the model every 'tick' seconds. */
static void drive(struct mxt_model *m, const struct mxt_key *k, uint64_t *rng, uint64_t t0,
		  uint64_t t1, rate_fn f, double mult, uint64_t tick, struct run_stats *st)
{
	double t = next_arrival(rng, (double)t0, f, mult);
	uint64_t next_tick = t0 + tick;
	struct mxt_decision d;
	int rc;

	while (t < (double)t1) {
		uint64_t now = (uint64_t)t;

		while (tick && next_tick <= now) {
			mxt_model_tick(m, next_tick, NULL, NULL);
			next_tick += tick;
		}
		rc = mxt_model_admit_session(m, k, now, MXT_OBS_CONNECT, 0, 0, &d);
		assert_true(rc >= 0);
		if (st) {
			st->attempts++;
			if (rc == 1) {
				st->deferred++;
				st->codes[d.code]++;
			}
			if (d.state == MXT_STATE_THROTTLED) {
				st->throttled_events++;
				if (!st->first_throttle)
					st->first_throttle = now;
			}
		}
		if (rc == 0)
			mxt_model_admit_session(m, k, now, MXT_OBS_EOM, 1, 1000, NULL);
		t = next_arrival(rng, t, f, mult);
	}
	while (tick && next_tick <= t1) {
		mxt_model_tick(m, next_tick, NULL, NULL);
		next_tick += tick;
	}
}

/* A model with default parameters. */
static struct mxt_model *model_default(size_t cap)
{
	struct mxt_model *m = mxt_model_new(NULL, cap);

	assert_non_null(m);
	return m;
}

/* ------------------------------------------------------------------ */

/* Every default in the table parses, is in range, and checks clean. */
static void test_params_table(void **state)
{
	struct mxt_model_params p, q;
	const struct mxt_model_param *tab;
	char err[256], buf[256];
	size_t n, i;

	(void)state;
	tab = mxt_model_param_table(&n);
	CHECK(n >= 30, "got %zu parameters, want >= 30", n);
	mxt_model_params_default(&p);
	for (i = 0; i < n; i++) {
		q = p;
		int rc = mxt_model_param_set(&q, tab[i].name, tab[i].defval, err, sizeof(err));

		CHECK(rc == 0, "default of %s ('%s'): got %d (%s), want 0", tab[i].name,
		      tab[i].defval, rc, err);
		CHECK(tab[i].desc && strlen(tab[i].desc) > 10, "%s: no description", tab[i].name);
		/* format -> set round trip */
		assert_int_equal(mxt_model_param_format(&p, &tab[i], buf, sizeof(buf)), 0);
		q = p;
		rc = mxt_model_param_set(&q, tab[i].name, buf, err, sizeof(err));
		CHECK(rc == 0 && memcmp(&p, &q, sizeof(p)) == 0,
		      "%s: formatted '%s' does not set back (rc %d: %s)", tab[i].name, buf, rc, err);
	}
	CHECK(mxt_model_params_check(&p, err, sizeof(err)) == 0, "defaults: %s", err);
	CHECK(p.schedule_len == 3 && p.schedule[0] == 20 && p.schedule[1] == 100 &&
	      p.schedule[2] == 500, "got schedule len %u [%u,%u,%u], want 20,100,500",
	      p.schedule_len, p.schedule[0], p.schedule[1], p.schedule[2]);
	CHECK(p.establish_days == 3, "got establish_days %u, want 3", p.establish_days);
	CHECK(p.jump_factor == 5.0, "got jump_factor %g, want 5", p.jump_factor);
	CHECK(p.absence_reset == 30 * DAY, "got absence_reset %u, want 30d", p.absence_reset);

	/* syntax and ranges */
	q = p;
	CHECK(mxt_model_param_set(&q, "throttle_cooldown", "45m", err, sizeof(err)) == 0 &&
	      q.throttle_cooldown == 2700, "got %u for 45m, want 2700", q.throttle_cooldown);
	CHECK(mxt_model_param_set(&q, "no_such_thing", "1", err, sizeof(err)) == -ENOENT,
	      "unknown name: want -ENOENT");
	CHECK(mxt_model_param_set(&q, "jump_factor", "1.2", err, sizeof(err)) == -ERANGE,
	      "jump_factor 1.2: want -ERANGE");
	CHECK(strstr(err, "jump_factor") != NULL, "error should name the key: got '%s'", err);
	CHECK(mxt_model_param_set(&q, "jump_factor", "5x", err, sizeof(err)) == -EINVAL,
	      "jump_factor 5x: want -EINVAL");
	CHECK(mxt_model_param_set(&q, "jump_factor", "-5", err, sizeof(err)) == -EINVAL,
	      "jump_factor -5: want -EINVAL");
	CHECK(mxt_model_param_set(&q, "establish_days", "", err, sizeof(err)) == -EINVAL,
	      "empty: want -EINVAL");
	CHECK(mxt_model_param_set(&q, "probation_schedule", "20,10", err, sizeof(err)) == -EINVAL,
	      "decreasing schedule: want -EINVAL");
	CHECK(mxt_model_param_set(&q, "probation_schedule", "5, 50, 200, 1000", err,
				  sizeof(err)) == 0 && q.schedule_len == 4 && q.schedule[3] == 1000,
	      "list with blanks: got len %u", q.schedule_len);
	CHECK(mxt_model_param_set(&q, "tz_offset_hours", "-5", err, sizeof(err)) == 0 &&
	      q.tz_offset_hours == -5, "tz -5: got %d", q.tz_offset_hours);
	q = p;
	q.release_factor = 6; /* > jump_factor */
	CHECK(mxt_model_params_check(&q, err, sizeof(err)) == -EINVAL,
	      "release_factor > jump_factor must be rejected");
	q = p;
	q.rate_fast_window = q.rate_window;
	CHECK(mxt_model_params_check(&q, err, sizeof(err)) == -EINVAL,
	      "rate_fast_window >= rate_window must be rejected");
	CHECK(mxt_model_new(&q, 1000) == NULL, "mxt_model_new with bad params: want NULL");
}

/* Record size, memory footprint, bfloat16 precision. */
static void test_layout_and_bf16(void **state)
{
	struct mxt_model *m;
	double worst = 0;
	int i;

	(void)state;
	CHECK(sizeof(struct mxt_sender) <= 280, "got %zu bytes per record, want <= 280",
	      sizeof(struct mxt_sender));
	m = model_default(100000);
	/* 280 x 5/4 slots + 8 bytes of tag and due time: the hour-of-week profile costs ~140 */
	CHECK(mxt_model_memory(m) / 100000 <= 370, "got %zu bytes per source, want <= 370",
	      mxt_model_memory(m) / 100000);
	mxt_model_free(m);
	for (i = 1; i < 100000; i = i * 3 / 2 + 1) {
		double v = i * 1.37, back = mxt_bf16_to_float(mxt_float_to_bf16((float)v));

		worst = fmax(worst, fabs(back - v) / v);
	}
	CHECK(worst < 0.004, "got bf16 relative error %g, want < 0.4%%", worst);
	CHECK(mxt_float_to_bf16(-1.0f) == 0 && mxt_float_to_bf16(NAN) == 0,
	      "negative/NaN must encode as 0");
}

/* Keys are normalised: padding and host bits below the prefix ignored. */
static void test_key_normalised(void **state)
{
	struct mxt_model *m = model_default(64);
	struct mxt_key a = key4(1, 1), b = a, v6;
	uint8_t *p6 = (uint8_t *)v6.addr;

	(void)state;
	b.pad[0] = 0x55;
	b.addr[1] = 0xdeadbeef; /* beyond an IPv4 address */
	assert_int_equal(mxt_model_admit_session(m, &a, T0, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	assert_int_equal(mxt_model_admit_session(m, &b, T0 + 1, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	CHECK(mxt_model_count(m) == 1, "got %zu records, want 1 (same source)", mxt_model_count(m));
	memset(&v6, 0, sizeof(v6));
	v6.family = MXT_FAMILY_IPV6;
	v6.prefixlen = 64;
	p6[0] = 0x20; p6[1] = 0x01; p6[2] = 0x00; p6[3] = 0x02;
	p6[15] = 1;
	assert_int_equal(mxt_model_admit_session(m, &v6, T0, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	p6[15] = 2; /* same /64 */
	assert_int_equal(mxt_model_admit_session(m, &v6, T0, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	CHECK(mxt_model_count(m) == 2, "got %zu records, want 2 (one /64)", mxt_model_count(m));
	v6.family = 9;
	CHECK(mxt_model_admit_session(m, &v6, T0, MXT_OBS_CONNECT, 0, 0, NULL) == -EINVAL,
	      "bad family: want -EINVAL");
	mxt_model_free(m);
}

/* A new sender: NEW -> GRAYLISTED on its first session, allowance
 * 20 -> 100 -> 500 per clean day, ESTABLISHED at the end of day 2 (72-73 h
 * after the first session) and not one second earlier. */
static void test_probation_schedule(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(2, 1);
	struct mxt_decision d;
	uint64_t first = T0 + 10 * HOUR + 1234, t, est_at;
	uint32_t anchor = (uint32_t)(first / HOUR);

	(void)state;
	assert_int_equal(mxt_model_decide(m, &k, first - 1, &d), 0);
	CHECK(d.state == MXT_STATE_NEW && d.tracked == 0 && d.allowance == 20,
	      "unknown source: got state %d tracked %d allowance %g, want NEW/0/20", d.state,
	      d.tracked, d.allowance);
	/* 15 sessions/h, one every 4 minutes, steady and modest. */
	for (t = first; t < first + 4 * DAY; t += 240) {
		int rc = mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, &d);

		CHECK(rc == 0, "t=+%llus: got defer %d code %d, want admitted",
		      (unsigned long long)(t - first), rc, d.code);
		if (t == first)
			CHECK(d.state == MXT_STATE_GRAYLISTED && d.reason == MXT_CODE_OK_PROBATION,
			      "first session: got state %d, want GRAYLISTED", d.state);
	}
	/* Replay the schedule with decide() at the boundaries. */
	est_at = ((uint64_t)anchor + 73) * HOUR;
	CHECK(est_at >= first + 72 * HOUR && est_at < first + 73 * HOUR,
	      "establishment at +%llus, want within [72h, 73h)", (unsigned long long)(est_at - first));
	mxt_model_free(m);

	m = model_default(1024);
	for (t = first; t < first + 4 * DAY; t += 240) {
		struct { uint64_t at; double allow; enum mxt_state st; } exp[] = {
			{ first + 60, 20, MXT_STATE_GRAYLISTED },
			{ ((uint64_t)anchor + 25) * HOUR - 1, 20, MXT_STATE_GRAYLISTED },
			{ ((uint64_t)anchor + 25) * HOUR, 100, MXT_STATE_GRAYLISTED },
			{ ((uint64_t)anchor + 49) * HOUR - 1, 100, MXT_STATE_GRAYLISTED },
			{ ((uint64_t)anchor + 49) * HOUR, 500, MXT_STATE_GRAYLISTED },
			{ est_at - 1, 500, MXT_STATE_GRAYLISTED },
			{ est_at, 0, MXT_STATE_ESTABLISHED },
		};
		size_t i;

		assert_true(mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, &d) == 0);
		for (i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
			if (exp[i].at < t || exp[i].at >= t + 240)
				continue;
			assert_int_equal(mxt_model_decide(m, &k, exp[i].at, &d), 0);
			CHECK(d.state == exp[i].st, "at +%llus: got state %s, want %s",
			      (unsigned long long)(exp[i].at - first), mxt_state_name(d.state),
			      mxt_state_name(exp[i].st));
			if (exp[i].st == MXT_STATE_GRAYLISTED) {
				CHECK(d.allowance == exp[i].allow, "at +%llus: got allowance %g, want %g",
				      (unsigned long long)(exp[i].at - first), d.allowance, exp[i].allow);
				CHECK(d.next_change > exp[i].at && d.next_change <= exp[i].at + 25 * HOUR,
				      "next_change %llu not within a day of %llu",
				      (unsigned long long)d.next_change, (unsigned long long)exp[i].at);
			} else {
				CHECK(d.reason == MXT_CODE_OK_ESTABLISHED && d.state_since == est_at,
				      "got reason %d since %llu, want OK_ESTABLISHED since %llu", d.reason,
				      (unsigned long long)d.state_since, (unsigned long long)est_at);
				CHECK(d.days_active == 3, "got days_active %u, want 3", d.days_active);
			}
		}
	}
	mxt_model_free(m);
}

/* Over the allowance: NEW_SENDER until the next clock hour; too many
 * recipients: NEW_BURST; a deferring day is not clean. */
static void test_probation_defers(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(2, 2);
	struct mxt_decision d;
	uint64_t t0 = T0 + 9 * HOUR, t;
	int admitted = 0, deferred = 0, rc;

	(void)state;
	for (t = t0; t < t0 + HOUR; t += 60) { /* 60/h against 20/h */
		rc = mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, &d);
		if (rc == 1) {
			deferred++;
			CHECK(d.code == MXT_CODE_NEW_SENDER, "got code %d, want NEW_SENDER", d.code);
			CHECK(d.retry_after > 0 && d.retry_after <= t0 + HOUR - t,
			      "got retry_after %u, want 1..%llu", d.retry_after,
			      (unsigned long long)(t0 + HOUR - t));
			CHECK(d.used == 20 && d.allowance == 20, "got used %g allowance %g, want 20/20",
			      d.used, d.allowance);
		} else {
			admitted++;
		}
	}
	CHECK(admitted == 20 && deferred == 40, "got %d admitted %d deferred, want 20/40", admitted,
	      deferred);
	rc = mxt_model_admit_session(m, &k, t0 + HOUR, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 0 && d.used == 1, "next hour: got defer %d used %g, want admitted, used 1", rc,
	      d.used);
	/* recipients: 20 x 5 = 100 per hour */
	rc = mxt_model_admit_session(m, &k, t0 + HOUR + 1, MXT_OBS_EOM, 90, 1000, &d);
	CHECK(rc == 0, "90 recipients: got defer %d, want 0", rc);
	rc = mxt_model_admit_session(m, &k, t0 + HOUR + 2, MXT_OBS_EOM, 20, 1000, &d);
	CHECK(rc == 1 && d.code == MXT_CODE_NEW_BURST, "110 recipients: got defer %d code %d, want NEW_BURST",
	      rc, d.code);
	rc = mxt_model_admit_session(m, &k, t0 + HOUR + 3, MXT_OBS_RCPT, 1, 0, &d);
	CHECK(rc == 0, "101st recipient... got defer %d, want 0 (91+1 <= 100)", rc);
	/* Day 0 had 40 of 60+ attempts deferred by its own allowance: that is
	 * probation working, not misbehaviour, so the day is clean. */
	assert_int_equal(mxt_model_decide(m, &k, t0 + 26 * HOUR, &d), 0);
	CHECK(d.days_active == 1 && d.allowance == 100,
	      "after a day over its allowance: got days_active %u allowance %g, want 1/100",
	      d.days_active, d.allowance);
	mxt_model_free(m);
}

/* Optional classic greylisting delay. */
static void test_greylist_delay(void **state)
{
	struct mxt_model_params p;
	struct mxt_model *m;
	struct mxt_key k = key4(2, 3);
	struct mxt_decision d;
	int rc;

	(void)state;
	mxt_model_params_default(&p);
	assert_int_equal(mxt_model_param_set(&p, "greylist_delay", "5m", NULL, 0), 0);
	m = mxt_model_new(&p, 64);
	assert_non_null(m);
	rc = mxt_model_admit_session(m, &k, T0, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 1 && d.code == MXT_CODE_NEW_SENDER && d.retry_after == 300,
	      "first session: got defer %d code %d retry %u, want 1/NEW_SENDER/300", rc, d.code,
	      d.retry_after);
	rc = mxt_model_admit_session(m, &k, T0 + 299, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 1, "retry after 299 s: got %d, want deferred", rc);
	rc = mxt_model_admit_session(m, &k, T0 + 300, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 0, "retry after 300 s: got %d, want admitted", rc);
	mxt_model_free(m);
}

/* The gateway-wide budget for first-day senders defers a crowd of new
 * sources (snowshoe) but not senders past day 0. */
static void test_new_sender_budget(void **state)
{
	struct mxt_model *m = model_default(4096);
	struct mxt_decision d;
	struct mxt_key old = key4(3, 250);
	uint64_t t;
	unsigned i, budget_defers = 0, admitted = 0;
	int rc;

	(void)state;
	/* A sender with one clean day behind it. */
	for (t = T0; t < T0 + 26 * HOUR; t += 600)
		assert_int_equal(mxt_model_admit_session(m, &old, t, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	/* 500 brand-new sources x 10 sessions within one hour = 5000 >> 600/h. */
	for (t = T0 + 27 * HOUR; t < T0 + 28 * HOUR; t += 360) {
		for (i = 0; i < 500; i++) {
			struct mxt_key k = key4(4 + i / 250, i % 250);

			rc = mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, &d);
			if (rc == 1) {
				CHECK(d.code == MXT_CODE_GLOBAL_BUDGET, "got code %d, want GLOBAL_BUDGET",
				      d.code);
				CHECK(d.retry_after >= 1, "got retry_after %u", d.retry_after);
				budget_defers++;
			} else {
				admitted++;
			}
		}
		rc = mxt_model_admit_session(m, &old, t, MXT_OBS_CONNECT, 0, 0, &d);
		CHECK(rc == 0, "a day-1 sender must not draw on the budget: got defer code %d", d.code);
	}
	/* two /24s, each with its prefix budget: 60/h + a burst of 60 */
	CHECK(admitted >= 150 && admitted <= 2 * (60 + 60) + 10, "got %u admitted, want 150..250",
	      admitted);
	CHECK(budget_defers >= 4700, "got %u budget deferrals, want >= 4700", budget_defers);
	mxt_model_free(m);
}

/* Establish a sender by operator release and let it learn 'weeks' of the
 * steady pattern. */
static void warm_steady(struct mxt_model *m, const struct mxt_key *k, uint64_t *rng,
			uint64_t from, uint64_t to)
{
	assert_int_equal(mxt_model_release(m, k, from), 0);
	drive(m, k, rng, from, to, steady_rate, 1.0, 600, NULL);
}

/* A steady sender with daily cycles (200/h at 10:00, 10/h at night,
 * weekends 30 %) is never throttled or deferred across a week after it is
 * established -- including Monday morning after a quiet weekend. */
static void test_steady_week_never_throttled(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(5, 1);
	struct run_stats st;
	uint64_t rng = 42;
	struct mxt_decision d;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, T0);
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, T0, T0 + 7 * DAY, steady_rate, 1.0, 60, &st);
	CHECK(st.attempts > 9000, "got %llu sessions in a week, want > 9000",
	      (unsigned long long)st.attempts);
	CHECK(st.throttled_events == 0 && st.deferred == 0,
	      "got %llu throttled decisions, %llu deferred, want 0/0 (first at +%llds)",
	      (unsigned long long)st.throttled_events, (unsigned long long)st.deferred,
	      st.first_throttle ? (long long)(st.first_throttle - T0) : -1LL);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 7 * DAY + 10 * HOUR, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED, "got %s, want established", mxt_state_name(d.state));
	CHECK(d.baseline_rate > 120 && d.baseline_rate < 300,
	      "Monday 10:00 baseline: got %g, want ~200", d.baseline_rate);
	mxt_model_free(m);
}

/* A sender that ramps up through probation (within its allowance) and
 * then sends its full daily pattern is not throttled after establishment. */
static double ramp_rate(uint64_t t)
{
	uint64_t age = t - (T0 + 8 * HOUR);
	double r = steady_rate(t);

	if (age < 25 * HOUR)
		return fmin(r, 18);
	if (age < 49 * HOUR)
		return fmin(r, 90);
	return r;
}

static void test_ramp_then_full_pattern(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(5, 2);
	struct run_stats st;
	uint64_t rng = 7;
	struct mxt_decision d;

	(void)state;
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, T0 + 8 * HOUR, T0 + 14 * DAY, ramp_rate, 1.0, 300, &st);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 14 * DAY, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED, "got %s, want established", mxt_state_name(d.state));
	CHECK(st.throttled_events == 0, "got %llu throttled decisions (first at +%llds), want 0",
	      (unsigned long long)st.throttled_events,
	      st.first_throttle ? (long long)(st.first_throttle - T0) : -1LL);
	CHECK(st.deferred * 100 < st.attempts, "got %llu of %llu deferred, want < 1 %%",
	      (unsigned long long)st.deferred, (unsigned long long)st.attempts);
	mxt_model_free(m);
}

/* A 20x jump of an established sender at its 10:00 peak is throttled
 * within one minute; the throttle allows about the baseline; it lifts
 * after the rate is back to normal plus the cool-down; the baseline is not
 * poisoned by the jump. */
static void test_jump_throttled_and_released(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(6, 1);
	struct run_stats st;
	struct mxt_decision d;
	const struct mxt_sender *s;
	uint64_t rng = 99, jump = T0 + 2 * DAY + 10 * HOUR; /* Wednesday 10:00 */
	uint64_t jump_end = jump + HOUR, t, released = 0;
	double wd10_before, wd10_after;
	unsigned i;
	int saw_cooldown = 0;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, jump);
	s = mxt_model_lookup(m, &k);
	wd10_before = mxt_bf16_to_float(s->wd[10]);
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, jump, jump_end, steady_rate, 20.0, 10, &st);
	CHECK(st.first_throttle && st.first_throttle - jump <= 60,
	      "got throttled %lld s after the jump, want <= 60",
	      st.first_throttle ? (long long)(st.first_throttle - jump) : -1LL);
	CHECK(st.codes[MXT_CODE_RATE_JUMP] > 0, "got no RATE_JUMP deferrals");
	/* About the baseline still passes, up to twice it while deferred mail
	 * waits (the drain allowance): admitted in the jump hour ~ 200..420. */
	CHECK(st.attempts - st.deferred >= 150 && st.attempts - st.deferred <= 450,
	      "got %llu admitted of %llu in the jump hour, want ~200..450",
	      (unsigned long long)(st.attempts - st.deferred), (unsigned long long)st.attempts);
	assert_int_equal(mxt_model_decide(m, &k, jump_end, &d), 0);
	CHECK(d.state == MXT_STATE_THROTTLED && d.check == MXT_CHECK_FAST &&
	      d.check_rate > 5 * d.check_baseline && d.check_baseline > 100 &&
	      d.check_rate > d.check_threshold,
	      "got state %s check %d rate %g baseline %g, want throttled by the fast check, ratio > 5",
	      mxt_state_name(d.state), d.check, d.check_rate, d.check_baseline);
	CHECK(d.next_change > jump_end, "got next_change %llu, want after %llu",
	      (unsigned long long)d.next_change, (unsigned long long)jump_end);
	/* Back to normal: watch for RATE_COOLDOWN and the release. */
	for (t = jump_end; t < jump_end + 3 * HOUR; t += 60) {
		drive(m, &k, &rng, t, t + 60, steady_rate, 1.0, 60, NULL);
		assert_int_equal(mxt_model_decide(m, &k, t + 60, &d), 0);
		if (d.state == MXT_STATE_THROTTLED && d.reason == MXT_CODE_RATE_COOLDOWN)
			saw_cooldown = 1;
		if (d.state == MXT_STATE_ESTABLISHED) {
			released = t + 60;
			break;
		}
	}
	CHECK(saw_cooldown, "never saw RATE_COOLDOWN while cooling down");
	CHECK(released && released >= jump_end + 1800 && released <= jump_end + 90 * 60,
	      "released %lld s after the jump ended, want 30..90 min",
	      released ? (long long)(released - jump_end) : -1LL);
	/* The next days teach the baseline normally again, not the jump. */
	drive(m, &k, &rng, released, jump + 3 * DAY, steady_rate, 1.0, 600, NULL);
	s = mxt_model_lookup(m, &k);
	wd10_after = mxt_bf16_to_float(s->wd[10]);
	CHECK(wd10_after < wd10_before * 1.3, "got wd[10] %g after the jump, was %g: poisoned",
	      wd10_after, wd10_before);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mxt_model_decide(m, &k, jump + 3 * DAY + i * HOUR, &d), 0);
		CHECK(d.state == MXT_STATE_ESTABLISHED, "day after: got %s", mxt_state_name(d.state));
	}
	mxt_model_free(m);
}

/* A throttled MTA comes back with its deferred mail in queue-run bursts:
 * deferred attempts count at throttle_retry_weight, so the throttle lifts
 * once the sender itself calms down; the backlog flush after the release
 * (grace) does not throttle it again; a new jump after the grace does. */
static void test_backlog_after_throttle(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(6, 5);
	struct mxt_model_counts c;
	struct mxt_decision d;
	struct run_stats st;
	uint64_t rng = 21, jump = T0 + 2 * DAY + 9 * HOUR, jump_end = jump + 1800, t, released = 0;
	uint64_t q_next[300];
	unsigned backlog = 0, run, q_tries[300];
	int rc0;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, jump);
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, jump, jump_end, steady_rate, 20.0, 10, &st);
	CHECK(st.first_throttle && st.first_throttle - jump <= 60, "jump not throttled within 60 s");
	/* Its normal mail deferred meanwhile, now in its queue: Postfix-like
	 * backoff (300 s doubling to 4000 s), queue runs every 300 s retry
	 * whatever is due, in a burst. */
	backlog = 300;
	for (run = 0; run < 300; run++) {
		/* offered while throttled, and deferred: the model saw them */
		rc0 = mxt_model_admit_session(m, &k, jump_end - (run % 30) * 60, MXT_OBS_CONNECT, 0,
					      0, &d);
		CHECK(rc0 == 1, "queued message %u: got %d, want deferred", run, rc0);
		q_next[run] = jump_end - (run % 30) * 60 + 300;
		q_tries[run] = 1 + run % 3;
	}
	for (t = jump_end, run = 0; t < jump_end + 6 * HOUR; t += 300, run++) {
		unsigned i, sent = 0;

		for (i = 0; i < 300; i++) {
			int rc;

			if (!q_next[i] || q_next[i] > t)
				continue;
			rc = mxt_model_admit_session(m, &k, t + sent++ / 20, MXT_OBS_CONNECT, 0, 0, &d);
			if (rc == 0) {
				q_next[i] = 0;
				backlog--;
			} else {
				uint64_t b = 300ULL << (q_tries[i] < 4 ? q_tries[i] : 4);

				q_next[i] = t + (b > 4000 ? 4000 : b);
				q_tries[i]++;
			}
		}
		drive(m, &k, &rng, t, t + 300, steady_rate, 1.0, 60, &st);
		assert_int_equal(mxt_model_decide(m, &k, t + 300, &d), 0);
		if (!released && d.state == MXT_STATE_ESTABLISHED)
			released = t + 300;
	}
	mxt_model_counts(m, &c);
	CHECK(released && released <= jump_end + 2 * HOUR,
	      "released %lld s after the jump ended, want <= 2 h",
	      released ? (long long)(released - jump_end) : -1LL);
	CHECK(backlog == 0, "got %u messages still queued, want 0", backlog);
	{
		char why[160];

		mxt_model_why(mxt_model_lookup(m, &k), why, sizeof(why));
		CHECK(c.throttles == 1,
		      "got %llu throttles, want 1 (no re-throttle by the backlog flush): %s",
		      (unsigned long long)c.throttles, why);
	}
	/* After the grace, a new jump is caught as fast as the first. */
	t = jump_end + 6 * HOUR + 3 * DAY; /* a weekday 15:30 */
	drive(m, &k, &rng, jump_end + 6 * HOUR, t, steady_rate, 1.0, 600, NULL);
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, t, t + 600, steady_rate, 20.0, 10, &st);
	CHECK(st.first_throttle && st.first_throttle - t <= 60,
	      "second jump: throttled after %lld s, want <= 60",
	      st.first_throttle ? (long long)(st.first_throttle - t) : -1LL);
	mxt_model_free(m);
}

/* Small senders: a night-time jump of a 10/h sender to 200/h is caught by
 * the slow window within minutes; a burst of 3 sessions from a ~1/h sender
 * is not a "change". */
static double tiny_rate(uint64_t t)
{
	(void)t;
	return 1.0;
}

static void test_small_senders(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(6, 2), tiny = key4(6, 3);
	struct run_stats st;
	struct mxt_decision d;
	uint64_t rng = 5, jump = T0 + 1 * DAY + 3 * HOUR; /* Tuesday 03:00 */
	int i;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, jump);
	memset(&st, 0, sizeof(st));
	drive(m, &k, &rng, jump, jump + HOUR, steady_rate, 20.0, 10, &st);
	CHECK(st.first_throttle && st.first_throttle - jump <= 10 * 60,
	      "night jump 10/h -> 200/h: throttled after %lld s, want <= 600",
	      st.first_throttle ? (long long)(st.first_throttle - jump) : -1LL);

	assert_int_equal(mxt_model_release(m, &tiny, T0 - 14 * DAY), 0);
	drive(m, &tiny, &rng, T0 - 14 * DAY, jump, tiny_rate, 1.0, 3600, NULL);
	for (i = 0; i < 3; i++) {
		int rc = mxt_model_admit_session(m, &tiny, jump + 10 + i * 5, MXT_OBS_CONNECT, 0, 0, &d);

		CHECK(rc == 0 && d.state == MXT_STATE_ESTABLISHED,
		      "tiny sender, burst session %d: got defer %d state %s, want admitted/established",
		      i, rc, mxt_state_name(d.state));
	}
	mxt_model_free(m);
}

/* A jump in recipients (same session rate, 30x recipients per message)
 * throttles too. */
static void test_recipient_jump(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(6, 4);
	struct mxt_decision d;
	uint64_t rng = 11, t, jump = T0 + 2 * DAY + 10 * HOUR;
	int throttled = 0;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, jump);
	for (t = jump; t < jump + 15 * 60 && !throttled; t += 18) { /* 200/h */
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, &d);
		mxt_model_admit_session(m, &k, t, MXT_OBS_EOM, 30, 10000, &d);
		throttled = d.state == MXT_STATE_THROTTLED;
	}
	CHECK(throttled, "30 recipients per message instead of 1: never throttled");
	CHECK(t - jump <= 5 * 60, "recipient jump: throttled after %llu s, want <= 300",
	      (unsigned long long)(t - jump));
	mxt_model_free(m);
}

struct change_log {
	unsigned n;
	struct mxt_model_change last[64];
	unsigned by_class[MXT_CLASS_MAX];
};

/* Tick callback recording changes. */
static void log_change(void *ctx, const struct mxt_model_change *c)
{
	struct change_log *l = ctx;

	if (l->n < 64)
		l->last[l->n] = *c;
	l->n++;
	if (c->klass < MXT_CLASS_MAX)
		l->by_class[c->klass]++;
}

/* Spoofed SYNs -- millions, from many addresses, even heavy per address --
 * never create history: nothing becomes GRAYLISTED or ESTABLISHED, no
 * policy entry is written except BLOCKED for real floods, and SYN-only
 * records expire. */
static void test_spoofed_syns_never_promote(void **state)
{
	struct mxt_model *m = model_default(1 << 16);
	struct mxt_model_counts c;
	struct change_log log;
	struct mxt_decision d;
	uint64_t rng = 1, t, total = 0;
	unsigned i;

	(void)state;
	memset(&log, 0, sizeof(log));
	/* 2M SYNs from random addresses, 1 or 2 per address per tick. */
	for (t = T0; t < T0 + 200; t++) {
		for (i = 0; i < 10000; i++) {
			struct mxt_key k = key_u32((uint32_t)mxt_rng_next(&rng));
			uint64_t n = 1 + (mxt_rng_next(&rng) & 1);

			assert_int_equal(mxt_model_observe_syns(m, &k, t, n, 0), 0);
			total += n;
		}
		mxt_model_tick(m, t, log_change, &log);
	}
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 0 && c.syns_untracked == total,
	      "random-source flood: got %llu tracked, %llu untracked SYNs, want 0/%llu",
	      (unsigned long long)c.tracked, (unsigned long long)c.syns_untracked,
	      (unsigned long long)total);
	/* 2000 addresses x 50 SYNs per second for an hour: tracked, never promoted. */
	for (t = T0 + 1000; t < T0 + 1000 + HOUR; t++) {
		for (i = 0; i < 2000; i += (t % 10) ? 2000 : 1) {
			struct mxt_key k = key4(10 + i / 250, i % 250);

			assert_int_equal(mxt_model_observe_syns(m, &k, t, 500, 400), 0);
		}
		mxt_model_tick(m, t, log_change, &log);
	}
	mxt_model_counts(m, &c);
	CHECK(c.by_state[MXT_STATE_GRAYLISTED] == 0 && c.by_state[MXT_STATE_ESTABLISHED] == 0 &&
	      c.by_state[MXT_STATE_THROTTLED] == 0,
	      "SYN-only sources: got %llu graylisted %llu established, want 0/0",
	      (unsigned long long)c.by_state[MXT_STATE_GRAYLISTED],
	      (unsigned long long)c.by_state[MXT_STATE_ESTABLISHED]);
	CHECK(c.tracked == 2000, "got %llu tracked, want 2000", (unsigned long long)c.tracked);
	CHECK(log.by_class[MXT_CLASS_GRAYLISTED] == 0 && log.by_class[MXT_CLASS_ESTABLISHED] == 0,
	      "policy writes for SYN-only sources: got %u graylisted %u established, want 0",
	      log.by_class[MXT_CLASS_GRAYLISTED], log.by_class[MXT_CLASS_ESTABLISHED]);
	for (i = 0; i < 2000; i += 97) {
		struct mxt_key k = key4(10 + i / 250, i % 250);
		const struct mxt_sender *s = mxt_model_lookup(m, &k);

		assert_non_null(s);
		CHECK(s->days_active == 0 && s->wd_days == 0 && s->last_session == 0 &&
		      (s->state == MXT_STATE_NEW || s->state == MXT_STATE_BLOCKED),
		      "SYN-only record %u: got state %s days %u learned %u last_session %u", i,
		      mxt_state_name((enum mxt_state)s->state), s->days_active, s->wd_days,
		      s->last_session);
		assert_int_equal(mxt_model_decide(m, &k, T0 + 1000 + HOUR, &d), 0);
		CHECK(d.state == MXT_STATE_NEW || d.state == MXT_STATE_BLOCKED,
		      "decide: got %s", mxt_state_name(d.state));
	}
	/* A week of silence later they are all forgotten and reported gone. */
	for (t = T0 + 2 * HOUR; t < T0 + 7 * DAY; t += 600)
		mxt_model_tick(m, t, log_change, &log);
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 0, "got %llu SYN-only records after a week, want 0",
	      (unsigned long long)c.tracked);
	mxt_model_free(m);
}

/* The batch SYN call does exactly what single calls do. */
static void test_syn_batch_equivalent(void **state)
{
	static struct mxt_syn_obs obs[5000];
	static struct mxt_sender a[4096], b[4096];
	struct mxt_model *m1 = model_default(8192), *m2 = model_default(8192);
	struct mxt_sender *pa = a, *pb = b;
	uint64_t rng = 9, t;
	size_t i, na, nb;
	int rc;

	(void)state;
	for (t = T0; t < T0 + 300; t += 10) {
		for (i = 0; i < 5000; i++) {
			obs[i].key = key4(40 + (unsigned)(mxt_rng_next(&rng) % 12), (unsigned)(mxt_rng_next(&rng) % 250));
			obs[i].syns = mxt_rng_next(&rng) % 4 ? 1 + mxt_rng_next(&rng) % 3 : 5 + mxt_rng_next(&rng) % 400;
			obs[i].dropped = obs[i].syns / 2;
		}
		obs[17].key.family = 9; /* one invalid key */
		for (i = 0; i < 5000; i++)
			mxt_model_observe_syns(m1, &obs[i].key, t, obs[i].syns, obs[i].dropped);
		rc = mxt_model_observe_syns_batch(m2, obs, 5000, t);
		CHECK(rc == -EINVAL, "batch with an invalid key: got %d, want -EINVAL", rc);
		mxt_model_tick(m1, t, NULL, NULL);
		mxt_model_tick(m2, t, NULL, NULL);
	}
	mxt_model_foreach(m1, 0, snap_fn, &pa);
	mxt_model_foreach(m2, 0, snap_fn, &pb);
	na = (size_t)(pa - a);
	nb = (size_t)(pb - b);
	CHECK(na == nb && na > 1000, "got %zu/%zu records", na, nb);
	qsort(a, na, sizeof(a[0]), cmp_sender);
	qsort(b, nb, sizeof(b[0]), cmp_sender);
	CHECK(memcmp(a, b, na * sizeof(a[0])) == 0, "batch and single calls differ");
	assert_int_equal(mxt_model_observe_syns_batch(m2, NULL, 0, t), 0);
	mxt_model_free(m1);
	mxt_model_free(m2);
}

/* A real SYN flood from one address: BLOCKED (HARD_LIMIT), reported to
 * the kernel, and back to its previous state after the cool-down. */
static void test_block_and_unblock(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(7, 1);
	struct change_log log;
	struct mxt_decision d;
	uint64_t t, t1;
	int rc;

	(void)state;
	memset(&log, 0, sizeof(log));
	assert_int_equal(mxt_model_admit_session(m, &k, T0, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	mxt_model_tick(m, T0, log_change, &log);
	CHECK(log.n == 1 && log.last[0].klass == MXT_CLASS_GRAYLISTED &&
	      (log.last[0].flags & MXT_POLICY_F_OVERRIDE) && log.last[0].limit.rate >= 10,
	      "probation policy: got %u changes, class %u flags %u rate %u", log.n,
	      log.last[0].klass, log.last[0].flags, log.last[0].limit.rate);
	for (t = T0 + 1; t < T0 + 60; t++)
		assert_int_equal(mxt_model_observe_syns(m, &k, t, 200, 150), 0); /* 12000/min */
	mxt_model_tick(m, T0 + 60, log_change, &log);
	CHECK(log.n == 2 && log.last[1].klass == MXT_CLASS_BLOCKED,
	      "got %u changes, last class %u, want BLOCKED", log.n, log.last[1].klass);
	rc = mxt_model_admit_session(m, &k, T0 + 61, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 1 && d.code == MXT_CODE_HARD_LIMIT && d.next_change > T0 + 61,
	      "blocked: got defer %d code %d next_change %llu", rc, d.code,
	      (unsigned long long)d.next_change);
	/* SYNs stop: unblocked once half the threshold + block_cooldown passed. */
	for (t1 = T0 + 60; t1 < T0 + 3600; t1 += 10) {
		mxt_model_tick(m, t1, log_change, &log);
		if (log.n == 3)
			break;
	}
	CHECK(log.n == 3 && log.last[2].klass == MXT_CLASS_GRAYLISTED,
	      "got %u changes, last class %u, want back to GRAYLISTED", log.n, log.last[2].klass);
	CHECK(t1 - T0 >= 600 && t1 - T0 <= 1200, "unblocked after %llu s, want 600..1200",
	      (unsigned long long)(t1 - T0));
	mxt_model_free(m);
}

/* decide() explains (fields set, next_change sane) and is a pure read. */
static void test_decide_explains_and_is_pure(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(8, 1);
	struct mxt_decision d, d2;
	struct mxt_sender before;
	uint64_t t;

	(void)state;
	for (t = T0 + 9 * HOUR; t < T0 + 9 * HOUR + 1800; t += 120)
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	before = *mxt_model_lookup(m, &k);
	/* Well after a day end: decide sees the new day, the table does not change. */
	assert_int_equal(mxt_model_decide(m, &k, T0 + 40 * HOUR, &d), 0);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 40 * HOUR, &d2), 0);
	CHECK(memcmp(&before, mxt_model_lookup(m, &k), sizeof(before)) == 0,
	      "decide() changed the record");
	CHECK(memcmp(&d, &d2, sizeof(d)) == 0, "decide() is not repeatable");
	CHECK(d.tracked == 1 && d.state == MXT_STATE_GRAYLISTED && d.days_active == 1 &&
	      d.allowance == 100 && d.used == 0 && d.first_seen == T0 + 9 * HOUR &&
	      d.last_seen == T0 + 9 * HOUR + 1680 && d.defer == 0 && d.code == MXT_CODE_OK_PROBATION,
	      "graylisted: got tracked %d state %s days %u allowance %g used %g first %llu",
	      d.tracked, mxt_state_name(d.state), d.days_active, d.allowance, d.used,
	      (unsigned long long)d.first_seen);
	CHECK(d.next_change == (T0 / HOUR + 9 + 49) * HOUR,
	      "got next_change %llu, want end of day 1 %llu", (unsigned long long)d.next_change,
	      (unsigned long long)((T0 / HOUR + 9 + 49) * HOUR));
	CHECK(d.current_rate >= 0 && d.current_rate < 1, "got current_rate %g 30 h later, want ~0",
	      d.current_rate);
	/* Right after the burst: a current rate near 30/h. */
	assert_int_equal(mxt_model_decide(m, &k, T0 + 9 * HOUR + 1700, &d), 0);
	CHECK(d.current_rate > 10 && d.current_rate < 40 && d.used == 15,
	      "got current_rate %g used %g, want ~25 and 15", d.current_rate, d.used);
	mxt_model_free(m);
}

/* The kernel hears about every class change and only about changes. */
static void test_tick_reports_changes(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(9, 1);
	struct change_log log;
	uint64_t t;
	int n;

	(void)state;
	memset(&log, 0, sizeof(log));
	for (t = T0 + 8 * HOUR; t < T0 + 4 * DAY; t += 300) {
		mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
		mxt_model_tick(m, t, log_change, &log);
	}
	/* graylisted 20/h (10 SYN/min, the floor), 100/h (4 x 100/60 = 7 ->
	 * still the floor: no change), 500/h (34 SYN/min), established */
	CHECK(log.n == 3, "got %u changes, want 3", log.n);
	CHECK(log.last[0].klass == MXT_CLASS_GRAYLISTED && log.last[1].klass == MXT_CLASS_GRAYLISTED &&
	      log.last[2].klass == MXT_CLASS_ESTABLISHED,
	      "got classes %u %u %u", log.last[0].klass, log.last[1].klass, log.last[2].klass);
	CHECK(log.last[0].limit.rate == 10 && log.last[1].limit.rate == 34 &&
	      (log.last[1].flags & MXT_POLICY_F_OVERRIDE) && log.last[1].limit.interval_ns > 0,
	      "override rates: got %u %u, want 10 34", log.last[0].limit.rate, log.last[1].limit.rate);
	CHECK(log.last[2].flags == 0, "established: got flags %u, want class limit", log.last[2].flags);
	n = mxt_model_tick(m, t + 1, log_change, &log);
	CHECK(n == 0, "idle tick: got %d changes, want 0", n);
	assert_int_equal(mxt_model_forget(m, &k, t + 2), 0);
	n = mxt_model_tick(m, t + 3, log_change, &log);
	CHECK(n == 1 && log.last[3].klass == MXT_CLASS_UNKNOWN,
	      "forget: got %d changes, class %u, want 1 deletion", n, log.last[3].klass);
	CHECK(mxt_model_forget(m, &k, t + 4) == -ENOENT, "forget twice: want -ENOENT");
	mxt_model_free(m);
}

/* Capacity bound and eviction order: NEW first, then idle GRAYLISTED;
 * recently active ESTABLISHED never; SYN-only observations evict NEW only. */
static void test_capacity_and_eviction(void **state)
{
	struct mxt_model *m = model_default(64);
	struct mxt_model_counts c;
	struct change_log log;
	struct mxt_key k;
	uint64_t t = T0;
	unsigned i;
	int rc;

	(void)state;
	memset(&log, 0, sizeof(log));
	for (i = 0; i < 30; i++) { /* established, active */
		k = key4(20, i);
		assert_int_equal(mxt_model_release(m, &k, t), 0);
	}
	for (i = 0; i < 20; i++) { /* graylisted, i = 0 idle longest */
		k = key4(21, i);
		assert_int_equal(mxt_model_admit_session(m, &k, t + i, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	}
	for (i = 0; i < 14; i++) { /* SYN-only */
		k = key4(22, i);
		assert_int_equal(mxt_model_observe_syns(m, &k, t + 100, 50, 0), 0);
	}
	mxt_model_tick(m, t + 100, log_change, &log);
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 64, "got %llu tracked, want 64 (full)", (unsigned long long)c.tracked);
	/* A SYN-only newcomer may evict a NEW record only. */
	k = key4(23, 1);
	assert_int_equal(mxt_model_observe_syns(m, &k, t + 200, 50, 0), 0);
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 64 && c.evicted == 1 && c.by_state[MXT_STATE_NEW] == 14,
	      "got tracked %llu evicted %llu new %llu", (unsigned long long)c.tracked,
	      (unsigned long long)c.evicted, (unsigned long long)c.by_state[MXT_STATE_NEW]);
	/* 14 graylisted newcomers: evict the 14 NEW ones first. */
	for (i = 0; i < 14; i++) {
		k = key4(24, i);
		assert_int_equal(mxt_model_admit_session(m, &k, t + 300, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	}
	mxt_model_counts(m, &c);
	CHECK(c.by_state[MXT_STATE_NEW] == 0 && c.by_state[MXT_STATE_GRAYLISTED] == 34 &&
	      c.by_state[MXT_STATE_ESTABLISHED] == 30,
	      "got new %llu graylisted %llu established %llu, want 0/34/30",
	      (unsigned long long)c.by_state[MXT_STATE_NEW],
	      (unsigned long long)c.by_state[MXT_STATE_GRAYLISTED],
	      (unsigned long long)c.by_state[MXT_STATE_ESTABLISHED]);
	/* Now SYN-only newcomers cannot get in at all. */
	k = key4(23, 2);
	assert_int_equal(mxt_model_observe_syns(m, &k, t + 400, 50, 0), 0);
	CHECK(mxt_model_lookup(m, &k) == NULL, "a SYN-only source evicted history");
	/* A graylisted newcomer evicts the oldest-idle graylisted one (21.0). */
	k = key4(25, 1);
	assert_int_equal(mxt_model_admit_session(m, &k, t + 500, MXT_OBS_CONNECT, 0, 0, NULL), 0);
	k = key4(21, 0);
	CHECK(mxt_model_lookup(m, &k) == NULL, "oldest idle graylisted 198.18.21.0 still tracked");
	k = key4(21, 19);
	CHECK(mxt_model_lookup(m, &k) != NULL, "a more recent graylisted source was evicted");
	/* The evicted graylisted source's policy entry is deleted at the tick. */
	log.n = 0;
	mxt_model_tick(m, t + 501, log_change, &log);
	CHECK(log.n >= 1 && log.last[0].klass == MXT_CLASS_UNKNOWN,
	      "eviction: got %u changes (class %u), want a deletion", log.n, log.last[0].klass);
	mxt_model_free(m);

	/* A table of active established sources: no newcomer evicts them. */
	m = model_default(64);
	for (i = 0; i < 64; i++) {
		k = key4(20 + i / 32, i % 32);
		assert_int_equal(mxt_model_release(m, &k, t + 600), 0);
	}
	mxt_model_counts(m, &c);
	CHECK(c.by_state[MXT_STATE_ESTABLISHED] == 64, "got %llu established, want 64",
	      (unsigned long long)c.by_state[MXT_STATE_ESTABLISHED]);
	k = key4(26, 1);
	rc = mxt_model_admit_session(m, &k, t + 700, MXT_OBS_CONNECT, 0, 0, NULL);
	CHECK(rc == -ENOSPC, "newcomer into a table of active established: got %d, want -ENOSPC", rc);
	/* A flood of SYN-heavy newcomers changes nothing (and fails fast). */
	for (i = 0; i < 10000; i++) {
		k = key_u32(0x0a000000u + i);
		assert_int_equal(mxt_model_observe_syns(m, &k, t + 700 + i / 1000, 50, 0), 0);
	}
	mxt_model_counts(m, &c);
	CHECK(c.by_state[MXT_STATE_ESTABLISHED] == 64 && c.rejected_full == 10001,
	      "SYN flood into a full table: got %llu established, %llu rejected, want 64/10001",
	      (unsigned long long)c.by_state[MXT_STATE_ESTABLISHED],
	      (unsigned long long)c.rejected_full);
	k = key4(26, 1);
	/* ...unless one of them has been idle beyond evict_protect (7 d). */
	for (i = 0; i < 63; i++) {
		k = key4(20 + i / 32, i % 32);
		mxt_model_admit_session(m, &k, t + 8 * DAY, MXT_OBS_CONNECT, 0, 0, NULL);
	}
	k = key4(26, 1);
	rc = mxt_model_admit_session(m, &k, t + 8 * DAY, MXT_OBS_CONNECT, 0, 0, NULL);
	CHECK(rc == 0, "with an idle established source: got %d, want admitted", rc);
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 64 && c.rejected_full == 10001, "got tracked %llu rejected %llu, want 64/10001",
	      (unsigned long long)c.tracked, (unsigned long long)c.rejected_full);
	k = key4(21, 31); /* the one left idle */
	CHECK(mxt_model_lookup(m, &k) == NULL, "the idle established source was not the one evicted");
	mxt_model_free(m);
}

/* A silent day changes nothing; 30 days of silence -> probation. */
static void test_absence(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(11, 1);
	struct mxt_sender before;
	struct mxt_decision d;
	uint64_t rng = 3, last;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, T0 + 2 * DAY); /* to Wednesday 00:00 */
	/* Thursday silent, Friday 10:00 back at 200/h: no throttle. */
	/* One SYN (not evidence) brings the record to Thursday noon: the last
	 * hours of Tuesday's source day are folded now, lazily. */
	assert_int_equal(mxt_model_observe_syns(m, &k, T0 + 3 * DAY + 12 * HOUR, 1, 0), 0);
	before = *mxt_model_lookup(m, &k);
	assert_int_equal(mxt_model_observe_syns(m, &k, T0 + 4 * DAY + 2 * HOUR, 1, 0), 0);
	CHECK(memcmp(before.wd, mxt_model_lookup(m, &k)->wd, sizeof(before.wd)) == 0 &&
	      memcmp(before.we, mxt_model_lookup(m, &k)->we, sizeof(before.we)) == 0 &&
	      before.wd_days == mxt_model_lookup(m, &k)->wd_days,
	      "a silent day changed the baseline");
	drive(m, &k, &rng, T0 + 4 * DAY + 10 * HOUR, T0 + 4 * DAY + 11 * HOUR, steady_rate, 1.0,
	      60, NULL);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 4 * DAY + 11 * HOUR, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED, "after a silent day: got %s", mxt_state_name(d.state));
	last = mxt_model_lookup(m, &k)->last_session;
	assert_int_equal(mxt_model_decide(m, &k, last + 30 * DAY - 1, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED, "after 30 d - 1 s: got %s", mxt_state_name(d.state));
	mxt_model_tick(m, last + 30 * DAY, NULL, NULL);
	assert_int_equal(mxt_model_decide(m, &k, last + 30 * DAY, &d), 0);
	/* back on probation, with its own level as the allowance */
	CHECK(d.state == MXT_STATE_GRAYLISTED && d.days_active == 0 && d.allowance >= 20 &&
	      d.allowance == d.baseline_rate && d.learned,
	      "after 30 d: got %s days %u allowance %g baseline %g",
	      mxt_state_name(d.state), d.days_active, d.allowance, d.baseline_rate);
	/* ... and 30 more days without a session: forgotten. */
	mxt_model_tick(m, last + 61 * DAY, NULL, NULL);
	CHECK(mxt_model_lookup(m, &k) == NULL, "a probation sender absent 30 d is still tracked");
	mxt_model_free(m);
}

/* Operator release and reset. */
static void test_release_and_reset(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(12, 1);
	struct mxt_decision d;
	uint64_t rng = 17, t = T0 + 2 * DAY + 10 * HOUR;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 14 * DAY, t);
	drive(m, &k, &rng, t, t + 300, steady_rate, 20.0, 10, NULL);
	assert_int_equal(mxt_model_decide(m, &k, t + 300, &d), 0);
	CHECK(d.state == MXT_STATE_THROTTLED, "got %s, want throttled", mxt_state_name(d.state));
	assert_int_equal(mxt_model_release(m, &k, t + 301), 0);
	assert_int_equal(mxt_model_decide(m, &k, t + 301, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED && d.code == MXT_CODE_OK_ESTABLISHED,
	      "released: got %s", mxt_state_name(d.state));
	/* The operator vouched: the new level is learned, not throttled. */
	drive(m, &k, &rng, t + 301, t + 3600, steady_rate, 20.0, 60, NULL);
	assert_int_equal(mxt_model_decide(m, &k, t + 3600, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED, "relearning: got %s", mxt_state_name(d.state));
	assert_int_equal(mxt_model_reset(m, &k, t + 3601), 0);
	assert_int_equal(mxt_model_decide(m, &k, t + 3601, &d), 0);
	CHECK(d.state == MXT_STATE_GRAYLISTED && d.days_active == 0 && d.allowance == 20,
	      "reset: got %s days %u allowance %g", mxt_state_name(d.state), d.days_active,
	      d.allowance);
	/* Release of a never-seen source tracks it as established. */
	k = key4(12, 2);
	assert_int_equal(mxt_model_release(m, &k, t), 0);
	assert_int_equal(mxt_model_decide(m, &k, t + 1, &d), 0);
	CHECK(d.state == MXT_STATE_ESTABLISHED && d.tracked, "got %s", mxt_state_name(d.state));
	mxt_model_free(m);
}

/* Snapshot of every record, for comparisons. */
static int snap_fn(void *ctx, const struct mxt_sender *s)
{
	struct mxt_sender **p = ctx;

	**p = *s;
	(*p)->flags &= (uint8_t)~MXT_SF_VOLATILE;
	(*p)++;
	return 0;
}

/* Compare by key. */
static int cmp_sender(const void *a, const void *b)
{
	return memcmp(&((const struct mxt_sender *)a)->key, &((const struct mxt_sender *)b)->key,
		      sizeof(struct mxt_key));
}

/* Run a mixed workload ticking every 'tick' seconds; snapshot sorted. */
static size_t mixed_run(uint64_t tick, struct mxt_sender *out)
{
	struct mxt_model *m = model_default(4096);
	struct mxt_sender *p = out;
	uint64_t rng = 123, t;
	size_t n;
	unsigned i;

	for (i = 0; i < 20; i++) {
		struct mxt_key k = key4(30, i);

		if (i < 10)
			mxt_model_release(m, &k, T0 - 3 * DAY);
	}
	for (t = T0 - 3 * DAY; t < T0 + 5 * DAY; t += 37) {
		unsigned i2 = (unsigned)(mxt_rng_next(&rng) % 20);
		struct mxt_key k = key4(30, i2);
		double r = i2 < 10 ? steady_rate(t) / 40 : 4;

		if (mxt_rng_unit(&rng) < r / 97.0)
			mxt_model_admit_session(m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
		if (t % tick < 37)
			mxt_model_tick(m, t, NULL, NULL);
	}
	mxt_model_tick(m, T0 + 5 * DAY, NULL, NULL);
	mxt_model_foreach(m, 0, snap_fn, &p);
	n = (size_t)(p - out);
	qsort(out, n, sizeof(*out), cmp_sender);
	mxt_model_free(m);
	return n;
}

/* Results do not depend on how often the tick runs, and repeat exactly. */
static void test_tick_independent_and_deterministic(void **state)
{
	static struct mxt_sender a[64], b[64], c[64];
	size_t na, nb, nc, i;

	(void)state;
	na = mixed_run(10, a);
	nb = mixed_run(3600, b);
	nc = mixed_run(10, c);
	CHECK(na == 20 && nb == 20 && nc == 20, "got %zu/%zu/%zu records, want 20", na, nb, nc);
	CHECK(memcmp(a, c, na * sizeof(a[0])) == 0, "two identical runs differ");
	for (i = 0; i < na; i++) {
		/* The hour counters may be rolled at different times: compare
		 * what matters. */
		CHECK(a[i].state == b[i].state && a[i].days_active == b[i].days_active &&
		      memcmp(a[i].wd, b[i].wd, sizeof(a[i].wd)) == 0 && a[i].state_since == b[i].state_since,
		      "record %zu: tick 10 s vs 1 h: state %d/%d days %u/%u since %u/%u", i, a[i].state,
		      b[i].state, a[i].days_active, b[i].days_active, a[i].state_since, b[i].state_since);
	}
}

/* Weekends are compared with weekends: a weekday-level Saturday is a
 * change for a sender whose Saturdays are quiet, Monday's peak is not. */
static void test_weekend_profile(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_key k = key4(13, 1);
	struct mxt_decision sat, mon;
	uint64_t rng = 8;

	(void)state;
	warm_steady(m, &k, &rng, T0 - 21 * DAY, T0 + 5 * DAY);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 5 * DAY + 10 * HOUR, &sat), 0);
	assert_int_equal(mxt_model_decide(m, &k, T0 + 7 * DAY + 10 * HOUR, &mon), 0);
	CHECK(sat.baseline_rate > 40 && sat.baseline_rate < 100,
	      "Saturday 10:00 baseline: got %g, want ~60", sat.baseline_rate);
	CHECK(mon.baseline_rate > 150 && mon.baseline_rate < 260,
	      "Monday 10:00 baseline: got %g, want ~200", mon.baseline_rate);
	mxt_model_free(m);
}

/* Counts per state and the iteration filters. */
static int count_fn(void *ctx, const struct mxt_sender *s)
{
	(void)s;
	(*(unsigned *)ctx)++;
	return 0;
}

static void test_counts_and_iteration(void **state)
{
	struct mxt_model *m = model_default(1024);
	struct mxt_model_counts c;
	struct mxt_key k;
	unsigned n = 0;

	(void)state;
	k = key4(14, 1);
	mxt_model_admit_session(m, &k, T0, MXT_OBS_CONNECT, 0, 0, NULL);
	k = key4(14, 2);
	mxt_model_release(m, &k, T0);
	k = key4(14, 3);
	mxt_model_observe_syns(m, &k, T0, 100, 0);
	mxt_model_counts(m, &c);
	CHECK(c.tracked == 3 && c.by_state[MXT_STATE_NEW] == 1 && c.by_state[MXT_STATE_GRAYLISTED] == 1 &&
	      c.by_state[MXT_STATE_ESTABLISHED] == 1, "got counts %llu/%llu/%llu/%llu",
	      (unsigned long long)c.tracked, (unsigned long long)c.by_state[0],
	      (unsigned long long)c.by_state[1], (unsigned long long)c.by_state[2]);
	mxt_model_foreach(m, MXT_ITER_PERSIST, count_fn, &n);
	CHECK(n == 2, "persistable records: got %u, want 2 (SYN-only skipped)", n);
	mxt_model_mark_clean(m);
	n = 0;
	mxt_model_foreach(m, MXT_ITER_DIRTY, count_fn, &n);
	CHECK(n == 0, "dirty after mark_clean: got %u, want 0", n);
	k = key4(14, 1);
	mxt_model_admit_session(m, &k, T0 + 5, MXT_OBS_CONNECT, 0, 0, NULL);
	mxt_model_foreach(m, MXT_ITER_DIRTY, count_fn, &n);
	CHECK(n == 1, "dirty after one session: got %u, want 1", n);
	mxt_model_free(m);
}

/* The behaviours of issue 8, each over days or weeks of virtual time with
 * the model driven as mxthrottled drives it (CONNECT + one RCPT per
 * recipient, SYN deltas and mxt_model_tick() every second, Postfix-like
 * retries over a 5-day queue lifetime), judged against its target by the
 * simulator's scenario harness (sim_scen.c, which lists the targets). */
static void run_scenario(const char *name)
{
	struct mxt_sim_config c;
	struct mxt_sim_result *r = calloc(1, sizeof(*r));
	char err[256];

	assert_non_null(r);
	mxt_sim_config_default(&c);
	c.scenario = name;
	assert_int_equal(mxt_sim_run(&c, r, err, sizeof(err)), 0);
	CHECK(r->scen_pass, "scenario %s: target %s; got %s", name, r->scen_target, r->scen_got);
	free(r);
}

static void test_scenario_weekly(void **state)
{
	(void)state;
	run_scenario("weekly");
}

static void test_scenario_growth15(void **state)
{
	(void)state;
	run_scenario("growth15");
}

static void test_scenario_growth25(void **state)
{
	(void)state;
	run_scenario("growth25");
}

static void test_scenario_backlog(void **state)
{
	(void)state;
	run_scenario("backlog");
}

static void test_scenario_migration(void **state)
{
	(void)state;
	run_scenario("migration");
}

static void test_scenario_batches(void **state)
{
	(void)state;
	run_scenario("batches");
}

static void test_scenario_ramp(void **state)
{
	(void)state;
	run_scenario("ramp");
}

static void test_scenario_return31(void **state)
{
	(void)state;
	run_scenario("return31");
}

static void test_scenario_snow48(void **state)
{
	(void)state;
	run_scenario("snow48");
}

static void test_scenario_snow24(void **state)
{
	(void)state;
	run_scenario("snow24");
}

static void test_scenario_nat(void **state)
{
	(void)state;
	run_scenario("nat");
}

static void test_scenario_comp3x(void **state)
{
	(void)state;
	run_scenario("comp3x");
}

static void test_scenario_comp4_5x(void **state)
{
	(void)state;
	run_scenario("comp4.5x");
}

static void test_scenario_comp20x(void **state)
{
	(void)state;
	run_scenario("comp20x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_table),
		cmocka_unit_test(test_layout_and_bf16),
		cmocka_unit_test(test_key_normalised),
		cmocka_unit_test(test_probation_schedule),
		cmocka_unit_test(test_probation_defers),
		cmocka_unit_test(test_greylist_delay),
		cmocka_unit_test(test_new_sender_budget),
		cmocka_unit_test(test_steady_week_never_throttled),
		cmocka_unit_test(test_ramp_then_full_pattern),
		cmocka_unit_test(test_jump_throttled_and_released),
		cmocka_unit_test(test_backlog_after_throttle),
		cmocka_unit_test(test_small_senders),
		cmocka_unit_test(test_recipient_jump),
		cmocka_unit_test(test_spoofed_syns_never_promote),
		cmocka_unit_test(test_syn_batch_equivalent),
		cmocka_unit_test(test_block_and_unblock),
		cmocka_unit_test(test_decide_explains_and_is_pure),
		cmocka_unit_test(test_tick_reports_changes),
		cmocka_unit_test(test_capacity_and_eviction),
		cmocka_unit_test(test_absence),
		cmocka_unit_test(test_release_and_reset),
		cmocka_unit_test(test_tick_independent_and_deterministic),
		cmocka_unit_test(test_weekend_profile),
		cmocka_unit_test(test_counts_and_iteration),
		cmocka_unit_test(test_scenario_weekly),
		cmocka_unit_test(test_scenario_growth15),
		cmocka_unit_test(test_scenario_growth25),
		cmocka_unit_test(test_scenario_backlog),
		cmocka_unit_test(test_scenario_migration),
		cmocka_unit_test(test_scenario_batches),
		cmocka_unit_test(test_scenario_ramp),
		cmocka_unit_test(test_scenario_return31),
		cmocka_unit_test(test_scenario_snow48),
		cmocka_unit_test(test_scenario_snow24),
		cmocka_unit_test(test_scenario_nat),
		cmocka_unit_test(test_scenario_comp3x),
		cmocka_unit_test(test_scenario_comp4_5x),
		cmocka_unit_test(test_scenario_comp20x),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
