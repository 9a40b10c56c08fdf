/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_fleet_buf.c - the node's buffer of counts not yet in Redis
 * (fleet_buf.h): deltas, acknowledgement, bounds and the drops they count,
 * the hourly clean-up that keeps what Redis has not acknowledged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "fleet_buf.h"

struct seen {
	int n;
	uint32_t delta[MXT_FLEET_NCNT];
	struct mxt_fleet_ent *last;
};

static int count_pending(void *ctx, struct mxt_fleet_ent *e)
{
	struct seen *s = ctx;

	s->n++;
	for (int i = 0; i < MXT_FLEET_NCNT; i++)
		s->delta[i] += e->abs[i] - e->sent[i];
	s->last = e;
	return 0;
}

static void note_ack_delta(void **state)
{
	struct mxt_fleet_buf *b = mxt_fleet_buf_new(64);
	struct mxt_key k = mxt_test_key4(1);
	struct seen s = { 0 };
	uint32_t delta[MXT_FLEET_NCNT] = { 2, 5, 0, 0 }, abs[MXT_FLEET_NCNT] = { 2, 5, 0, 0 };

	(void)state;
	assert_non_null(b);
	assert_int_equal(mxt_fleet_buf_note(b, &k, 100, MXT_FLEET_SESS, 1), 0);
	assert_int_equal(mxt_fleet_buf_note(b, &k, 100, MXT_FLEET_SESS, 1), 0);
	assert_int_equal(mxt_fleet_buf_note(b, &k, 100, MXT_FLEET_RCPT, 5), 0);
	assert_int_equal(mxt_fleet_buf_note(b, &k, 100, MXT_FLEET_NCNT, 5), -EINVAL);
	mxt_fleet_buf_pending(b, count_pending, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.delta[MXT_FLEET_SESS], 2);
	assert_int_equal(s.delta[MXT_FLEET_RCPT], 5);
	assert_int_equal(mxt_fleet_buf_backlog(b), 1);
	/* Counted while the batch was in flight: stays pending after the ack. */
	mxt_fleet_buf_note(b, &k, 100, MXT_FLEET_DSESS, 1);
	mxt_fleet_buf_ack(b, &k, 100, delta, abs);
	memset(&s, 0, sizeof(s));
	mxt_fleet_buf_pending(b, count_pending, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.delta[MXT_FLEET_SESS], 0);
	assert_int_equal(s.delta[MXT_FLEET_DSESS], 1);
	delta[0] = delta[1] = 0;
	delta[MXT_FLEET_DSESS] = abs[MXT_FLEET_DSESS] = 1;
	mxt_fleet_buf_ack(b, &k, 100, delta, abs);
	memset(&s, 0, sizeof(s));
	mxt_fleet_buf_pending(b, count_pending, &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(mxt_fleet_buf_backlog(b), 0);
	/* A Redis that lost its data: every hash again, no new deltas. */
	mxt_fleet_buf_mark_all(b);
	mxt_fleet_buf_pending(b, count_pending, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.delta[MXT_FLEET_SESS], 0);
	assert_int_equal(s.last->hash_dirty, 1);
	mxt_fleet_buf_free(b);
}

static void bounded_drops_counted(void **state)
{
	struct mxt_fleet_buf *b = mxt_fleet_buf_new(16);
	int ok = 0;

	(void)state;
	for (unsigned i = 0; i < 40; i++)
		ok += mxt_fleet_buf_note(b, &(struct mxt_key){ 0 }, i, MXT_FLEET_SESS, 3) == 0;
	assert_int_equal(ok, 16);
	assert_int_equal(b->n, 16);
	assert_int_equal(b->dropped, 24 * 3);
	/* Known entries still count when full. */
	assert_int_equal(mxt_fleet_buf_note(b, &(struct mxt_key){ 0 }, 0, MXT_FLEET_SESS, 1), 0);
	mxt_fleet_buf_free(b);
}

static void gc_keeps_unacknowledged(void **state)
{
	struct mxt_fleet_buf *b = mxt_fleet_buf_new(64);
	struct mxt_key a = mxt_test_key4(1), c = mxt_test_key4(2), d = mxt_test_key4(3);
	uint32_t one[MXT_FLEET_NCNT] = { 1, 0, 0, 0 };

	(void)state;
	mxt_fleet_buf_note(b, &a, 10, MXT_FLEET_SESS, 1); /* old, acknowledged: goes */
	mxt_fleet_buf_ack(b, &a, 10, one, one);
	mxt_fleet_buf_note(b, &c, 10, MXT_FLEET_SESS, 1); /* old, not in Redis: stays */
	mxt_fleet_buf_note(b, &d, 12, MXT_FLEET_SESS, 1); /* current: stays */
	mxt_fleet_buf_ack(b, &d, 12, one, one);
	assert_int_equal(mxt_fleet_buf_gc(b, 12), 2);
	assert_null(mxt_fleet_buf_find(b, &a, 10));
	assert_non_null(mxt_fleet_buf_find(b, &c, 10));
	assert_non_null(mxt_fleet_buf_find(b, &d, 12));
	assert_int_equal(mxt_fleet_buf_backlog(b), 1);
	assert_int_equal(mxt_fleet_buf_note(b, &a, 12, MXT_FLEET_SESS, 1), 0);
	assert_int_equal(mxt_fleet_buf_backlog(b), 2);
	mxt_fleet_buf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(note_ack_delta),
		cmocka_unit_test(bounded_drops_counted),
		cmocka_unit_test(gc_keeps_unacknowledged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
