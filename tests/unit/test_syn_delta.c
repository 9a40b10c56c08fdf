/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_syn_delta.c - cumulative kernel counters to per-tick deltas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "syn_delta.h"

static struct mxt_key key_of(unsigned n)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV4;
	k.prefixlen = 32;
	k.addr[0] = 0x000012c6u | (n << 16); /* 198.18.x.y, network order on LE */
	return k;
}

static void deltas_follow_counters(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(64);
	struct mxt_key k = key_of(1);
	struct mxt_source v = { .syns = 10, .dropped = 2, .first_seen_ns = 5 };
	uint64_t ds, dd;

	(void)state;
	mxt_syn_delta_begin(t);
	assert_int_equal(mxt_syn_delta_update(t, &k, &v, &ds, &dd), 0);
	assert_int_equal(ds, 10);
	assert_int_equal(dd, 2);
	mxt_syn_delta_end(t, 3);
	v.syns = 25;
	v.dropped = 7;
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	assert_int_equal(ds, 15);
	assert_int_equal(dd, 5);
	mxt_syn_delta_end(t, 3);
	mxt_syn_delta_free(t);
}

/* An LRU eviction and re-creation restarts the counters: all of it is new. */
static void new_life_counts_whole(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(64);
	struct mxt_key k = key_of(2);
	struct mxt_source v = { .syns = 100, .first_seen_ns = 5 };
	uint64_t ds, dd;

	(void)state;
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	v.syns = 130; /* more than before, but a new life */
	v.first_seen_ns = 9;
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	if (ds != 130)
		fail_msg("got delta %llu, want 130", (unsigned long long)ds);
	v.syns = 3; /* went backwards: also a new life */
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	assert_int_equal(ds, 3);
	mxt_syn_delta_free(t);
}

/* Entries not seen for 'keep' passes are forgotten; others survive the
 * backward-shift deletions around them. */
static void stale_entries_expire(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(1000);
	struct mxt_source v = { .syns = 1, .first_seen_ns = 1 };
	uint64_t ds, dd;

	(void)state;
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 1000; i++) {
		struct mxt_key k = key_of(i);
		mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	}
	mxt_syn_delta_end(t, 2);
	assert_int_equal(mxt_syn_delta_count(t), 1000);
	for (int pass = 0; pass < 2; pass++) {
		mxt_syn_delta_begin(t);
		for (unsigned i = 0; i < 1000; i += 2) { /* only the even ones stay */
			struct mxt_key k = key_of(i);
			mxt_syn_delta_update(t, &k, &v, &ds, &dd);
		}
		mxt_syn_delta_end(t, 2);
	}
	assert_int_equal(mxt_syn_delta_count(t), 500);
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 1000; i++) {
		struct mxt_key k = key_of(i);
		mxt_syn_delta_update(t, &k, &v, &ds, &dd);
		/* Survivors are found again (delta 0); forgotten ones count anew. */
		if (ds != (i % 2 ? 1u : 0u))
			fail_msg("source %u: got delta %llu, want %u", i, (unsigned long long)ds, i % 2);
	}
	mxt_syn_delta_free(t);
}

static void capacity_is_bounded(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(4);
	struct mxt_source v = { .syns = 1, .first_seen_ns = 1 };
	uint64_t ds, dd;
	int rc = 0;

	(void)state;
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 5; i++) {
		struct mxt_key k = key_of(i);
		rc = mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(ds, 1); /* still reported as new */
	assert_int_equal(mxt_syn_delta_count(t), 4);
	mxt_syn_delta_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deltas_follow_counters),
		cmocka_unit_test(new_life_counts_whole),
		cmocka_unit_test(stale_entries_expire),
		cmocka_unit_test(capacity_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
