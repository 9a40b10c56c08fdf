/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_syn_delta.c - cumulative kernel counters to per-tick deltas. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "syn_delta.h"

static void deltas_follow_counters(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(64, 64);
	struct mxt_key k = mxt_test_key4(1);
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
	struct mxt_syn_delta *t = mxt_syn_delta_new(64, 64);
	struct mxt_key k = mxt_test_key4(2);
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
	struct mxt_syn_delta *t = mxt_syn_delta_new(1000, 1000);
	struct mxt_source v = { .syns = 1, .first_seen_ns = 1 };
	uint64_t ds, dd;

	(void)state;
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 1000; i++) {
		struct mxt_key k = mxt_test_key4(i);
		mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	}
	mxt_syn_delta_end(t, 2);
	assert_int_equal(mxt_syn_delta_count(t), 1000);
	for (int pass = 0; pass < 2; pass++) {
		mxt_syn_delta_begin(t);
		for (unsigned i = 0; i < 1000; i += 2) { /* only the even ones stay */
			struct mxt_key k = mxt_test_key4(i);
			mxt_syn_delta_update(t, &k, &v, &ds, &dd);
		}
		mxt_syn_delta_end(t, 2);
	}
	assert_int_equal(mxt_syn_delta_count(t), 500);
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 1000; i++) {
		struct mxt_key k = mxt_test_key4(i);
		mxt_syn_delta_update(t, &k, &v, &ds, &dd);
		/* Survivors are found again (delta 0); forgotten ones count anew. */
		if (ds != (i % 2 ? 1u : 0u))
			fail_msg("source %u: got delta %llu, want %u", i, (unsigned long long)ds, i % 2);
	}
	mxt_syn_delta_free(t);
}

static void capacity_is_bounded(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(4, 4);
	struct mxt_source v = { .syns = 1, .first_seen_ns = 1 };
	uint64_t ds, dd;
	int rc = 0;

	(void)state;
	mxt_syn_delta_begin(t);
	for (unsigned i = 0; i < 5; i++) {
		struct mxt_key k = mxt_test_key4(i);
		rc = mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(ds, 1); /* still reported as new */
	assert_int_equal(mxt_syn_delta_count(t), 4);
	mxt_syn_delta_free(t);
}

/* A table sized for 8 grows to its maximum of 40 (several rehashes, with
 * long IPv6 keys whose last words live in the side array) and keeps every
 * entry's counters across the moves; the 41st source is refused. */
static void grows_to_max(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(8, 40);
	size_t small = mxt_syn_delta_memory(t);
	uint64_t ds, dd;
	int rc;

	(void)state;
	for (unsigned pass = 0; pass < 2; pass++) {
		mxt_syn_delta_begin(t);
		for (unsigned i = 0; i < 40; i++) {
			struct mxt_key k = mxt_test_key4(i);
			struct mxt_source v = { .syns = 100 + pass * i, .dropped = pass * 2 * i,
						.first_seen_ns = 7 };

			if (i % 3 == 0) {  /* an IPv6 /128: a long key */
				memset(&k, 0, sizeof(k));
				k.family = MXT_FAMILY_IPV6;
				k.prefixlen = 128;
				k.addr[0] = 0x02000120u; /* 2001:2::/48 on LE */
				k.addr[2] = i;
				k.addr[3] = 0xabcd0000u | i;
			}
			rc = mxt_syn_delta_update(t, &k, &v, &ds, &dd);
			if (rc != 0)
				fail_msg("pass %u source %u: rc %d", pass, i, rc);
			/* first pass: all new; second: exactly what was added */
			if (ds != (pass ? i : 100u) || dd != (pass ? 2u * i : 0u))
				fail_msg("pass %u source %u: got %llu/%llu", pass, i,
					 (unsigned long long)ds, (unsigned long long)dd);
		}
		mxt_syn_delta_end(t, 3);
	}
	assert_int_equal(mxt_syn_delta_count(t), 40);
	assert_true(mxt_syn_delta_memory(t) > 2 * small);
	{
		struct mxt_key k = mxt_test_key4(40);
		struct mxt_source v = { .syns = 1, .first_seen_ns = 7 };

		assert_int_equal(mxt_syn_delta_update(t, &k, &v, &ds, &dd), -ENOSPC);
	}
	assert_int_equal(mxt_syn_delta_count(t), 40);
	mxt_syn_delta_free(t);
}

/* Counters past 2^32 and 2^40 (the table keeps 40 bits): deltas stay
 * exact, the largest one just under 2^39. */
static void counter_wrap_exact(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key k = mxt_test_key4(3);
	struct mxt_source v = { .first_seen_ns = 0x123456789ULL };
	const uint64_t steps[] = { 0xfffffff0ULL, 0x20, (1ULL << 39) - 0x30, 0x40,
				   (1ULL << 39) - 1, 1ULL << 33, 0, (1ULL << 39) - 1 };
	uint64_t ds, dd;

	(void)state;
	v.syns = (1ULL << 40) - 5; /* the first pass: all of it is new */
	v.dropped = v.syns - 1;
	mxt_syn_delta_begin(t);
	assert_int_equal(mxt_syn_delta_update(t, &k, &v, &ds, &dd), 0);
	CHECK(ds == v.syns && dd == v.dropped, "first pass: got %llu/%llu, want %llu/%llu",
	      (unsigned long long)ds, (unsigned long long)dd, (unsigned long long)v.syns,
	      (unsigned long long)v.dropped);
	mxt_syn_delta_end(t, 3);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		v.syns += steps[i];
		v.dropped += steps[i] / 2;
		mxt_syn_delta_begin(t);
		assert_int_equal(mxt_syn_delta_update(t, &k, &v, &ds, &dd), 0);
		CHECK(ds == steps[i] && dd == steps[i] / 2, "step %zu: got %llu/%llu, want %llu/%llu", i,
		      (unsigned long long)ds, (unsigned long long)dd, (unsigned long long)steps[i],
		      (unsigned long long)(steps[i] / 2));
		mxt_syn_delta_end(t, 3);
	}
	mxt_syn_delta_free(t);
}

/* A counter that went backwards (by less than 2^39) across a 2^32 or 2^40
 * boundary is a new life too, not a huge delta. */
static void backwards_across_wrap(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key k = mxt_test_key4(4);
	struct mxt_source v = { .syns = (1ULL << 40) + 10, .first_seen_ns = 7 };
	const uint64_t back[] = { (1ULL << 40) - 10, (1ULL << 39) + (1ULL << 32) + 3, 1ULL << 38,
				  (1ULL << 32) - 3, 2 };
	uint64_t ds, dd;

	(void)state;
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	for (size_t i = 0; i < sizeof(back) / sizeof(back[0]); i++) {
		v.syns = back[i];
		mxt_syn_delta_begin(t);
		mxt_syn_delta_update(t, &k, &v, &ds, &dd);
		CHECK(ds == back[i], "step %zu: got %llu, want %llu", i, (unsigned long long)ds,
		      (unsigned long long)back[i]);
		mxt_syn_delta_end(t, 3);
	}
	mxt_syn_delta_free(t);
}

/* The pass number is kept modulo 256: over 600 passes, a source seen in
 * every other pass keeps exact deltas and one gone for 3 passes is
 * forgotten, on both sides of every wrap. */
static void pass_number_wraps(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key every = mxt_test_key4(5), other = mxt_test_key4(6), rare = mxt_test_key4(7);
	struct mxt_source ve = { .first_seen_ns = 1 }, vo = { .first_seen_ns = 2 },
			  vr = { .first_seen_ns = 3 };
	uint64_t ds, dd;

	(void)state;
	for (unsigned pass = 0; pass < 600; pass++) {
		mxt_syn_delta_begin(t);
		ve.syns += 2;
		mxt_syn_delta_update(t, &every, &ve, &ds, &dd);
		CHECK(ds == 2, "pass %u: every: got %llu, want 2", pass,
		      (unsigned long long)ds);
		if (pass % 2 == 0) {
			vo.syns += 3;
			mxt_syn_delta_update(t, &other, &vo, &ds, &dd);
			CHECK(ds == 3, "pass %u: other: got %llu, want 3", pass,
			      (unsigned long long)ds);
		}
		if (pass % 100 == 0) {
			vr.syns += 1;
			mxt_syn_delta_update(t, &rare, &vr, &ds, &dd);
			/* forgotten since its last pass: counted whole */
			CHECK(ds == vr.syns, "pass %u: rare: got %llu, want %llu", pass,
			      (unsigned long long)ds, (unsigned long long)vr.syns);
		}
		mxt_syn_delta_end(t, 3);
		CHECK(mxt_syn_delta_count(t) == (pass % 100 < 3 ? 3u : 2u), "pass %u: count %zu", pass,
		      mxt_syn_delta_count(t));
	}
	mxt_syn_delta_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deltas_follow_counters),
		cmocka_unit_test(new_life_counts_whole),
		cmocka_unit_test(stale_entries_expire),
		cmocka_unit_test(capacity_is_bounded),
		cmocka_unit_test(grows_to_max),
		cmocka_unit_test(counter_wrap_exact),
		cmocka_unit_test(backwards_across_wrap),
		cmocka_unit_test(pass_number_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
