/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_fleet_merge.c - what a node's model makes of the counts other nodes
 * of the fleet saw (mxt_model_merge_hour, the model side of fleet.c's
 * apply): the current hour's through the session path, a past hour's
 * (merged after a Redis outage) into that hour's day counts, its profile
 * slot and the rates, so that after the merge every node's model holds the
 * fleet totals a single host that saw every session would hold; another
 * node's SYN-flood block (mxt_model_block); the new-sender budget taken by
 * what other nodes admitted, a budget deferral elsewhere counted as one
 * here.  Pure: models and an injected clock, no Redis.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"
#include "test_util.h"

/* Monday 2026-11-30 00:00 UTC, and hours of it. */
#define MON0 1796083200ull
#define HOUR 3600u
#define JUMP_MINE   60   /* sessions of a split jump this node saw */
#define JUMP_OTHERS 120  /* ... and the other two nodes */

static struct mxt_model *model(void)
{
	struct mxt_model *m = mxt_model_new(NULL, 1024);

	assert_non_null(m);
	return m;
}

/* n admitted sessions at t, t+step, ... (one recipient each). */
static void sessions(struct mxt_model *m, const struct mxt_key *k, uint64_t t, unsigned n, unsigned step)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(mxt_model_observe_session(m, k, t + i * step, MXT_OBS_CONNECT, 0, 0), 0);
		assert_int_equal(mxt_model_observe_session(m, k, t + i * step, MXT_OBS_RCPT, 1, 0), 0);
	}
}

static const struct mxt_sender *rec(struct mxt_model *m, const struct mxt_key *k)
{
	const struct mxt_sender *s = mxt_model_lookup(m, k);

	assert_non_null(s);
	return s;
}

/* A past hour of a probation sender, merged late: node A saw 3 of hour
 * 10's sessions, node B 4 of them (Redis was away); a single host saw all
 * 7.  After A rolled over into hour 11 and merged B's hour 10, A's day
 * counts, hour 10's profile slot and rates are the single host's. */
static void past_hour_graylisted(void **state)
{
	struct mxt_model *a = model(), *one = model();
	struct mxt_key x = mxt_test_key4(1);
	uint64_t h10 = MON0 + 10 * HOUR, t11 = h10 + HOUR + 120;
	struct mxt_hour_counts b = { .sessions = 4, .rcpts = 4 };
	const struct mxt_sender *sa, *so;
	uint32_t day_before;
	double r_before;

	(void)state;
	sessions(a, &x, h10 + 3000, 3, 100);       /* A: 3 */
	sessions(one, &x, h10 + 3000, 3, 100);     /* the single host: A's 3 ... */
	sessions(one, &x, h10 + 3050, 4, 100);     /* ... and B's 4 */
	sessions(a, &x, t11, 1, 0);                /* hour 11: A rolls over */
	sessions(one, &x, t11, 1, 0);
	day_before = rec(a, &x)->day_sessions;
	r_before = rec(a, &x)->r_slow;
	CHECK(r_before < 0.8 * rec(one, &x)->r_slow, "A before the merge: r_slow got %.3f, want below %.3f",
	      r_before, 0.8 * rec(one, &x)->r_slow);
	CHECK(day_before == 4, "A before the merge: day_sessions got %u, want 4 (its own)", day_before);
	assert_int_equal(mxt_model_merge_hour(a, &x, t11 + 10, (uint32_t)(h10 / HOUR), &b), 0);
	sa = rec(a, &x);
	so = rec(one, &x);
	CHECK(sa->day_sessions == so->day_sessions, "day_sessions got %u, want %u (one host)",
	      sa->day_sessions, so->day_sessions);
	CHECK(sa->wd[10] == so->wd[10], "hour 10's slot got %.2f, want %.2f (one host)",
	      (double)mxt_bf16_to_float(sa->wd[10]), (double)mxt_bf16_to_float(so->wd[10]));
	CHECK(mxt_bf16_to_float(sa->wd[10]) == 7.0f, "hour 10's slot got %.2f, want 7 (the fleet's)",
	      (double)mxt_bf16_to_float(sa->wd[10]));
	/* B's sessions are taken at the end of hour 10 (the latest they can
	 * be): the rates are the single host's or a little above, never below */
	CHECK(sa->r_slow >= so->r_slow && sa->r_slow <= 1.5f * so->r_slow,
	      "r_slow got %.3f, want %.3f .. 1.5x (before the merge %.3f)", (double)sa->r_slow,
	      (double)so->r_slow, r_before);
	CHECK(sa->rr >= so->rr && sa->rr <= 1.5f * so->rr, "rr got %.3f, want %.3f .. 1.5x", (double)sa->rr,
	      (double)so->rr);
	CHECK(sa->hour_sessions == so->hour_sessions, "hour 11 untouched: got %u, want %u",
	      sa->hour_sessions, so->hour_sessions);
	mxt_model_free(a);
	mxt_model_free(one);
}

/* A node that saw nothing of the source gets both nodes' past hour: it is
 * the single host's record (replayed at the end of that hour, rolled over). */
static void past_hour_unseen(void **state)
{
	struct mxt_model *c = model(), *one = model();
	struct mxt_key x = mxt_test_key4(2);
	uint64_t h10 = MON0 + 10 * HOUR, now = h10 + HOUR + 300;
	struct mxt_hour_counts a = { .sessions = 3, .rcpts = 3 }, b = { .sessions = 4, .rcpts = 4 };
	const struct mxt_sender *sc, *so;

	(void)state;
	sessions(one, &x, h10 + HOUR - 1, 7, 0);
	assert_int_equal(mxt_model_merge_hour(c, &x, now, (uint32_t)(h10 / HOUR), &a), 0);
	assert_int_equal(mxt_model_merge_hour(c, &x, now, (uint32_t)(h10 / HOUR), &b), 0);
	/* both brought to 'now' by evidence that counts nothing */
	assert_int_equal(mxt_model_observe_session(one, &x, now, MXT_OBS_DATA, 0, 0), 0);
	assert_int_equal(mxt_model_observe_session(c, &x, now, MXT_OBS_DATA, 0, 0), 0);
	sc = rec(c, &x);
	so = rec(one, &x);
	CHECK(sc->state == MXT_STATE_GRAYLISTED, "state got %s, want graylisted", mxt_state_name(sc->state));
	CHECK(sc->day_sessions == 7 && so->day_sessions == 7, "day_sessions got %u (one host %u), want 7",
	      sc->day_sessions, so->day_sessions);
	CHECK(sc->hour == now / HOUR, "rolled over: hour got %u, want %u", sc->hour, (unsigned)(now / HOUR));
	CHECK(sc->wd[10] == so->wd[10], "hour 10's slot got %.2f, want %.2f",
	      (double)mxt_bf16_to_float(sc->wd[10]), (double)mxt_bf16_to_float(so->wd[10]));
	CHECK(fabs(sc->r_slow - so->r_slow) <= 0.01 * so->r_slow, "r_slow got %.3f, want %.3f",
	      (double)sc->r_slow, (double)so->r_slow);
	CHECK(sc->anchor_hour == so->anchor_hour, "day 0 got hour %u, want %u", sc->anchor_hour,
	      so->anchor_hour);
	mxt_model_free(c);
	mxt_model_free(one);
}

/* The current hour: admitted counts are the hour's (the allowance used),
 * deferred ones the day's deferrals and retries to come, as this node's
 * own decisions would have counted them. */
static void current_hour(void **state)
{
	struct mxt_model *a = model();
	struct mxt_key x = mxt_test_key4(3);
	uint64_t t = MON0 + 9 * HOUR + 60;
	struct mxt_hour_counts adm = { .sessions = 5, .rcpts = 9 }, def = { .dsessions = 2, .drcpts = 2 };
	const struct mxt_sender *s;

	(void)state;
	sessions(a, &x, t, 1, 0);
	assert_int_equal(mxt_model_merge_hour(a, &x, t + 5, (uint32_t)(t / HOUR), &adm), 0);
	s = rec(a, &x);
	CHECK(s->hour_sessions == 6, "hour_sessions got %u, want 6", s->hour_sessions);
	CHECK(s->hour_rcpts == 10, "hour_rcpts got %u, want 10", s->hour_rcpts);
	assert_int_equal(mxt_model_merge_hour(a, &x, t + 6, (uint32_t)(t / HOUR), &def), 0);
	s = rec(a, &x);
	CHECK(s->hour_sessions == 6, "deferred are not admitted: hour_sessions got %u, want 6", s->hour_sessions);
	CHECK(s->day_deferred >= 2, "day_deferred got %u, want >= 2", s->day_deferred);
	CHECK(s->backlog >= 1.9f, "retries to come got %.2f, want 2", (double)s->backlog);
	mxt_model_free(a);
}

/* Deferred attempts of a past hour: the day's deferrals and the retries to
 * come (decayed), nothing admitted. */
static void past_hour_deferred(void **state)
{
	struct mxt_model *a = model();
	struct mxt_key x = mxt_test_key4(4);
	uint64_t h10 = MON0 + 10 * HOUR, t11 = h10 + HOUR + 60;
	struct mxt_hour_counts def = { .dsessions = 3 };
	const struct mxt_sender *s;
	uint32_t sess0;

	(void)state;
	sessions(a, &x, h10 + 100, 2, 10);
	sessions(a, &x, t11, 1, 0);
	sess0 = rec(a, &x)->day_sessions;
	assert_int_equal(mxt_model_merge_hour(a, &x, t11 + 1, (uint32_t)(h10 / HOUR), &def), 0);
	s = rec(a, &x);
	CHECK(s->day_sessions == sess0, "day_sessions got %u, want %u", s->day_sessions, sess0);
	CHECK(s->day_deferred == 3, "day_deferred got %u, want 3", s->day_deferred);
	CHECK(s->backlog > 2.5f && s->backlog <= 3.0f, "retries to come got %.2f, want ~3", (double)s->backlog);
	mxt_model_free(a);
}

/* An established sender: 'per_hour' admitted sessions every hour for
 * 'days' days before 'until', on probation kept under its allowance (the
 * daemon's "ctl seed"). */
static void seed(struct mxt_model *m, const struct mxt_key *k, uint32_t per_hour, unsigned days,
		 uint64_t until)
{
	for (uint64_t h = until - days * 86400ull; h + HOUR <= until; h += HOUR) {
		struct mxt_decision d;
		uint32_t n = per_hour;

		mxt_model_decide(m, k, h, &d);
		if ((d.state == MXT_STATE_NEW || d.state == MXT_STATE_GRAYLISTED) && d.allowance >= 2 &&
		    n > (uint32_t)d.allowance - 1)
			n = (uint32_t)d.allowance - 1;
		for (uint32_t i = 0; i < n; i++)
			mxt_model_observe_session(m, k, h + (uint64_t)i * HOUR / n, MXT_OBS_CONNECT, 0, 0);
		mxt_model_tick(m, h + HOUR - 1, NULL, NULL);
	}
}

/* A jump split over three nodes while Redis was away, in the last quarter
 * of an hour (100/h -> 720/h): this node's third alone stays under the
 * checks; merged after the hour ended, the other nodes' two thirds make
 * it the jump it was. */
static void past_hour_jump(void **state)
{
	struct mxt_model_params p;
	struct mxt_model *a;
	struct mxt_key x = mxt_test_key4(7);
	uint64_t h = MON0 + 14 * 86400ull + 10 * HOUR, t11 = h + HOUR + 30;
	struct mxt_hour_counts others = { .sessions = JUMP_OTHERS };
	const struct mxt_sender *s;

	(void)state;
	mxt_model_params_default(&p);
	p.new_sender_budget = 0;
	p.prefix_budget = 0;
	a = mxt_model_new(&p, 1024);
	assert_non_null(a);
	seed(a, &x, 100, 14, h);
	s = rec(a, &x);
	CHECK(s->state == MXT_STATE_ESTABLISHED, "seeded: got %s, want established", mxt_state_name(s->state));
	sessions(a, &x, h + 2700, JUMP_MINE, 900 / JUMP_MINE);
	sessions(a, &x, t11, 1, 0);
	s = rec(a, &x);
	print_message("# before the merge: %s r_fast %.1f r_slow %.1f cusum %.1f\n", mxt_state_name(s->state),
		      (double)s->r_fast, (double)s->r_slow, (double)s->cusum);
	CHECK(s->state == MXT_STATE_ESTABLISHED, "its own third: got %s, want established",
	      mxt_state_name(s->state));
	assert_int_equal(mxt_model_merge_hour(a, &x, t11 + 1, (uint32_t)(h / HOUR), &others), 0);
	s = rec(a, &x);
	print_message("# after: %s r_fast %.1f r_slow %.1f cusum %.1f\n", mxt_state_name(s->state),
		      (double)s->r_fast, (double)s->r_slow, (double)s->cusum);
	CHECK(s->state == MXT_STATE_THROTTLED, "with the other nodes' two thirds: got %s, want throttled",
	      mxt_state_name(s->state));
	/* by the sustained check: merged sessions make no burst of their own */
	CHECK(s->trig == MXT_CHECK_SUSTAINED, "check got %s, want sustained", mxt_check_name(s->trig));
	mxt_model_free(a);
}

/* An established sender (100/h for 14 days) whose sessions in the last
 * 30 min came to this node (a third) and to two others (held back by an
 * outage), merged with 'span' and 'others' sessions: its state after. */
static enum mxt_state after_outage(uint32_t span, uint32_t others, enum mxt_check *trig)
{
	struct mxt_model_params p;
	struct mxt_model *a;
	struct mxt_key x = mxt_test_key4(8);
	uint64_t h = MON0 + 14 * 86400ull + 10 * HOUR, now = h + 2400;
	struct mxt_hour_counts c = { .sessions = others, .span = span };
	enum mxt_state st;

	mxt_model_params_default(&p);
	p.new_sender_budget = 0;
	p.prefix_budget = 0;
	a = mxt_model_new(&p, 1024);
	assert_non_null(a);
	seed(a, &x, 100, 14, h);
	sessions(a, &x, h + 600, 17, 106);      /* its third of 100/h over 30 min */
	CHECK(rec(a, &x)->state == MXT_STATE_ESTABLISHED, "before the merge: got %s, want established",
	      mxt_state_name(rec(a, &x)->state));
	assert_int_equal(mxt_model_merge_hour(a, &x, now, (uint32_t)(h / HOUR), &c), 0);
	st = (enum mxt_state)rec(a, &x)->state;
	*trig = (enum mxt_check)rec(a, &x)->trig;
	CHECK(rec(a, &x)->hour_sessions >= 17 + others, "hour_sessions got %u, want %u",
	      rec(a, &x)->hour_sessions, 17 + others);
	mxt_model_free(a);
	return st;
}

/* The current hour's counts held back by an outage: the usual traffic,
 * spread over the outage's span, throttles no one; replayed as if at once
 * it would (a burst that never was); a real jump during the outage is
 * still throttled (sustained). */
static void current_hour_spread(void **state)
{
	enum mxt_check trig;
	enum mxt_state st;

	(void)state;
	st = after_outage(1800, 33, &trig);
	CHECK(st == MXT_STATE_ESTABLISHED, "usual traffic over 1800 s: got %s, want established",
	      mxt_state_name(st));
	st = after_outage(0, 33, &trig);
	CHECK(st == MXT_STATE_THROTTLED, "the same at once (the control): got %s, want throttled",
	      mxt_state_name(st));
	st = after_outage(1800, 667, &trig);
	CHECK(st == MXT_STATE_THROTTLED && trig == MXT_CHECK_SUSTAINED,
	      "a 20x jump over 1800 s: got %s (check %s), want throttled (sustained)", mxt_state_name(st),
	      mxt_check_name(trig));
}

/* Kernel changes reported by a tick, for the block tests. */
struct changes {
	int n;
	uint32_t klass;
};

static void on_change(void *ctx, const struct mxt_model_change *c)
{
	struct changes *ch = ctx;

	ch->n++;
	ch->klass = c->klass;
}

/* Another node's SYN-flood block: BLOCKED here (the kernel class follows
 * at the tick) until its end, extended by a later announcement, then back
 * when this node's own SYN rate does not keep it. */
static void fleet_block(void **state)
{
	struct mxt_model *a = model();
	struct mxt_key x = mxt_test_key4(6);
	uint64_t t = MON0 + 60;
	struct changes ch = { 0 };
	const struct mxt_sender *s;

	(void)state;
	assert_int_equal(mxt_model_block(a, &x, t, (uint32_t)t + 600), 0);
	s = rec(a, &x);
	CHECK(s->state == MXT_STATE_BLOCKED, "state got %s, want blocked", mxt_state_name(s->state));
	mxt_model_tick(a, t, on_change, &ch);
	CHECK(ch.n == 1 && ch.klass == MXT_CLASS_BLOCKED, "tick: got %d changes (class %u), want 1 (blocked)",
	      ch.n, ch.klass);
	CHECK(mxt_model_block_until(a, &x) == t + 600, "until got %u, want %u", mxt_model_block_until(a, &x),
	      (unsigned)(t + 600));
	assert_int_equal(mxt_model_block(a, &x, t + 300, (uint32_t)t + 900), 0);
	CHECK(mxt_model_block_until(a, &x) == t + 900, "extended: until got %u, want %u",
	      mxt_model_block_until(a, &x), (unsigned)(t + 900));
	ch.n = 0;
	mxt_model_tick(a, t + 899, on_change, &ch);
	CHECK(rec(a, &x)->state == MXT_STATE_BLOCKED, "before its end: got %s, want blocked",
	      mxt_state_name(rec(a, &x)->state));
	mxt_model_tick(a, t + 901, on_change, &ch);
	CHECK(mxt_model_block_until(a, &x) == 0, "after its end: until got %u, want 0 (not blocked)",
	      mxt_model_block_until(a, &x));
	CHECK(ch.n == 1 && ch.klass != MXT_CLASS_BLOCKED, "after its end: got %d changes (class %u), want 1",
	      ch.n, ch.klass);
	assert_int_equal(mxt_model_block(a, &x, t + 1000, (uint32_t)t + 1000), -EINVAL);
	mxt_model_free(a);
}

/* The new-sender budget is fleet-wide: newcomers another node admitted
 * take it here too, so this node defers the next newcomer as a single
 * host would; a node that never heard of them admits it. */
static void budget_fleet_wide(void **state)
{
	struct mxt_model_params p;
	struct mxt_model *b, *alone;
	struct mxt_decision d;
	struct mxt_hour_counts one = { .sessions = 1 };
	struct mxt_key nk = mxt_test_key4(200);
	uint64_t t = MON0 + 9 * HOUR + 60;
	int rc;

	(void)state;
	mxt_model_params_default(&p);
	p.new_sender_budget = 60;      /* one a minute, bursts of 10 */
	p.new_sender_budget_free = 0;
	p.prefix_budget = 0;
	b = mxt_model_new(&p, 1024);
	alone = mxt_model_new(&p, 1024);
	assert_non_null(b);
	assert_non_null(alone);
	for (unsigned i = 0; i < 10; i++) {
		struct mxt_key k = mxt_test_key4(100 + i);

		assert_int_equal(mxt_model_merge_hour(b, &k, t, (uint32_t)(t / HOUR), &one), 0);
	}
	rc = mxt_model_admit_session(b, &nk, t, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 1 && d.code == MXT_CODE_GLOBAL_BUDGET, "after 10 admitted elsewhere: got rc %d code %d, "
	      "want deferred by the budget (%d)", rc, (int)d.code, (int)MXT_CODE_GLOBAL_BUDGET);
	rc = mxt_model_admit_session(alone, &nk, t, MXT_OBS_CONNECT, 0, 0, &d);
	CHECK(rc == 0, "a node that heard of none: got rc %d (code %d), want admitted", rc, (int)d.code);
	mxt_model_free(b);
	mxt_model_free(alone);
}

/* A budget deferral on another node counts against the day here too: the
 * deltas carry no reason, so a deferred CONNECT of a day-0 sender under its
 * hour's schedule while a budget applies is taken for a budget deferral.
 * Snowshoe senders deferred by the budget get no clean day on any node;
 * deferrals above the schedule (its own allowance) stay plain ones. */
static void remote_budget_deferral(void **state)
{
	struct mxt_model_params p;
	struct mxt_model *b, *off;
	struct mxt_hour_counts adm = { .sessions = 1 }, dfr = { .dsessions = 1 };
	struct mxt_key x = mxt_test_key4(300), y = mxt_test_key4(301);
	uint64_t t = MON0 + 9 * HOUR + 60;
	uint32_t H = (uint32_t)(t / HOUR);
	const struct mxt_sender *s;

	(void)state;
	mxt_model_params_default(&p);
	p.new_sender_budget = 60;
	p.new_sender_budget_free = 0;
	b = mxt_model_new(&p, 1024);
	p.new_sender_budget = 0;
	p.prefix_budget = 0;
	off = mxt_model_new(&p, 1024);
	assert_non_null(b);
	assert_non_null(off);
	/* x: one session admitted, then 3 deferred elsewhere by the budget */
	assert_int_equal(mxt_model_merge_hour(b, &x, t, H, &adm), 0);
	assert_int_equal(mxt_model_merge_hour(off, &x, t, H, &adm), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(mxt_model_merge_hour(b, &x, t + 1 + i, H, &dfr), 0);
		assert_int_equal(mxt_model_merge_hour(off, &x, t + 1 + i, H, &dfr), 0);
	}
	s = rec(b, &x);
	CHECK(s->day_deferred == 3 && s->day_bdef == 3, "budget on: day_deferred %u day_bdef %u, want 3 and 3",
	      s->day_deferred, s->day_bdef);
	s = rec(off, &x);
	CHECK(s->day_deferred == 3 && s->day_bdef == 0, "no budget: day_deferred %u day_bdef %u, want 3 and 0",
	      s->day_deferred, s->day_bdef);
	/* y: its hour's whole allowance admitted, then deferred: its own
	 * allowance deferred it, not a budget */
	for (uint32_t i = 0; i < p.schedule[0]; i++)
		assert_int_equal(mxt_model_merge_hour(b, &y, t + i, H, &adm), 0);
	assert_int_equal(mxt_model_merge_hour(b, &y, t + 100, H, &dfr), 0);
	s = rec(b, &y);
	CHECK(s->day_deferred == 1 && s->day_bdef == 0, "above the schedule: day_deferred %u day_bdef %u, "
	      "want 1 and 0", s->day_deferred, s->day_bdef);
	/* the next day: x's day 0 (75 % budget-deferred) was not clean, y's was */
	t += 26 * HOUR;
	assert_int_equal(mxt_model_merge_hour(b, &x, t, (uint32_t)(t / HOUR), &adm), 0);
	assert_int_equal(mxt_model_merge_hour(b, &y, t, (uint32_t)(t / HOUR), &adm), 0);
	CHECK(rec(b, &x)->days_active == 0, "x: %u clean days, want 0", rec(b, &x)->days_active);
	CHECK(rec(b, &y)->days_active == 1, "y: %u clean days, want 1", rec(b, &y)->days_active);
	mxt_model_free(b);
	mxt_model_free(off);
}

/* Bad input: a future hour, no counts, no model, forged counts. */
static void bad_input(void **state)
{
	struct mxt_model *a = model();
	struct mxt_key x = mxt_test_key4(5);
	struct mxt_hour_counts c = { .sessions = 1 };
	uint64_t t = MON0 + 60;

	(void)state;
	assert_int_equal(mxt_model_merge_hour(a, &x, t, (uint32_t)(t / HOUR) + 1, &c), -EINVAL);
	assert_int_equal(mxt_model_merge_hour(a, &x, t, (uint32_t)(t / HOUR), NULL), -EINVAL);
	assert_int_equal(mxt_model_merge_hour(NULL, &x, t, (uint32_t)(t / HOUR), &c), -EINVAL);
	CHECK(mxt_model_lookup(a, &x) == NULL, "nothing tracked after bad input");
	/* counts off the network are bounded: a forged 4e9 replays 65535 */
	c.sessions = UINT32_MAX;
	c.dsessions = UINT32_MAX;
	assert_int_equal(mxt_model_merge_hour(a, &x, t, (uint32_t)(t / HOUR), &c), 0);
	CHECK(mxt_model_lookup(a, &x)->hour_sessions == UINT16_MAX, "hour_sessions got %u, want 65535",
	      mxt_model_lookup(a, &x)->hour_sessions);
	mxt_model_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(past_hour_graylisted),
		cmocka_unit_test(past_hour_unseen),
		cmocka_unit_test(current_hour),
		cmocka_unit_test(past_hour_deferred),
		cmocka_unit_test(past_hour_jump),
		cmocka_unit_test(current_hour_spread),
		cmocka_unit_test(fleet_block),
		cmocka_unit_test(budget_fleet_wide),
		cmocka_unit_test(remote_budget_deferral),
		cmocka_unit_test(bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
