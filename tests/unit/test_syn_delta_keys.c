/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_syn_delta_keys.c - the delta table holds every key the kernel makes
 * exactly (IPv4, IPv6 up to /64 in the slot, longer IPv6 with a side
 * array), refuses keys it does not make, and over thousands of random
 * passes gives the same deltas as a plain reference with whole keys and
 * 64-bit counters: arrivals, eviction of vanished sources, new lives,
 * a full table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"
#include "syn_delta.h"

static struct mxt_key key6(uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint8_t plen)
{
	struct mxt_key k;

	memset(&k, 0, sizeof(k));
	k.family = MXT_FAMILY_IPV6;
	k.prefixlen = plen;
	k.addr[0] = a0;
	k.addr[1] = a1;
	k.addr[2] = a2;
	k.addr[3] = a3;
	return k;
}

/* Keys equal in the words a slot holds are told apart by prefix length,
 * family and (for long IPv6 keys) the last two words. */
static void similar_keys_stay_apart(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key k[6];
	struct mxt_source v = { .first_seen_ns = 1 };
	uint64_t ds, dd;

	(void)state;
	k[0] = key6(0x20010002, 0, 0, 0, 64);
	k[1] = key6(0x20010002, 0, 0, 0, 48);
	k[2] = key6(0x20010002, 0, 0, 0, 128);
	k[3] = key6(0x20010002, 0, 0, 1, 128);
	k[4] = key6(0x20010002, 0, 1, 0, 96);
	k[5] = key6(0x20010002, 0, 0, 0, 0);
	k[5].family = MXT_FAMILY_IPV4;
	k[5].prefixlen = 32;
	for (int pass = 0; pass < 3; pass++) {
		mxt_syn_delta_begin(t);
		for (unsigned i = 0; i < 6; i++) {
			v.syns = 100 * (pass + 1) + i;
			assert_int_equal(mxt_syn_delta_update(t, &k[i], &v, &ds, &dd), 0);
			CHECK(ds == (pass ? 100u : 100u + i), "pass %d key %u: got %llu", pass, i,
			      (unsigned long long)ds);
		}
		mxt_syn_delta_end(t, 3);
	}
	assert_int_equal(mxt_syn_delta_count(t), 6);
	mxt_syn_delta_free(t);
}

/* Keys the kernel never makes are refused and counted as new, never
 * folded onto another source. */
static void foreign_keys_refused(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key bad[5];
	struct mxt_source v = { .syns = 9, .dropped = 4, .first_seen_ns = 1 };
	uint64_t ds, dd;

	(void)state;
	bad[0] = key6(1, 2, 3, 0, 64);          /* word past the /64 set */
	bad[1] = key6(1, 0, 0, 0, 129);         /* prefix too long */
	bad[2] = key6(1, 0, 0, 0, 32);
	bad[2].family = MXT_FAMILY_IPV4;
	bad[2].addr[1] = 5;                     /* IPv4 with a second word */
	bad[3] = key6(1, 0, 0, 0, 32);
	bad[3].family = 0;                      /* no family */
	bad[4] = key6(1, 0, 0, 0, 64);
	bad[4].pad[1] = 1;                      /* padding set */
	mxt_syn_delta_begin(t);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < 5; i++) {
			mxt_syn_delta_prefetch(t, &bad[i]); /* a hint: no effect, no fault */
			CHECK(mxt_syn_delta_update(t, &bad[i], &v, &ds, &dd) == -EINVAL,
			      "key %u: want -EINVAL", i);
			CHECK(ds == 9 && dd == 4, "key %u: got %llu/%llu, want 9/4", i,
			      (unsigned long long)ds, (unsigned long long)dd);
		}
	}
	assert_int_equal(mxt_syn_delta_count(t), 0);
	mxt_syn_delta_free(t);
}

static void seed_only_while_empty(void **state)
{
	struct mxt_syn_delta *t = mxt_syn_delta_new(16, 16);
	struct mxt_key k = key6(7, 0, 0, 0, 64);
	struct mxt_source v = { .syns = 1, .first_seen_ns = 1 };
	uint64_t ds, dd;

	(void)state;
	assert_int_equal(mxt_syn_delta_set_hash_seed(t, 42), 0);
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	assert_int_equal(mxt_syn_delta_set_hash_seed(t, 43), -EBUSY);
	v.syns = 5;
	mxt_syn_delta_begin(t);
	mxt_syn_delta_update(t, &k, &v, &ds, &dd);
	assert_int_equal(ds, 4);
	mxt_syn_delta_free(t);
}

/* ---- against a reference ------------------------------------------------ */

#define UNIVERSE 600  /* keys the kernel may hold */
#define CAPACITY 400  /* smaller: the table fills and refuses */
#define KEEP 3

/* What the kernel map holds for one key, and what the reference remembers. */
struct ref {
	struct mxt_key key;
	struct mxt_source v;   /* the kernel's counters */
	int live;              /* in the kernel map this pass */
	int known;             /* the reference remembers it */
	uint64_t syns, dropped, first_seen; /* as last read */
	unsigned last_pass;
};

/* Key i: a mix of every form, many sharing their first words. */
static struct mxt_key ref_key(unsigned i)
{
	uint32_t hi = 0x20010002u + (i % 7);

	switch (i % 5) {
	case 0:
		return key6(0x0a000000u + i, 0, 0, 0, 32); /* fixed below: IPv4 */
	case 1:
		return key6(hi, i, 0, 0, 64);
	case 2:
		return key6(hi, i % 11, i, 0, 96);
	case 3:
		return key6(hi, i % 11, 0, i, 128);
	default:
		return key6(hi, i % 11, 0, 0, (uint8_t)(112 + i % 17));
	}
}

/* One random move of a kernel entry between passes. */
static void ref_move(struct ref *r, uint64_t *rng)
{
	uint64_t x = mxt_rng_next(rng), add;

	if (!r->live && x % 4) /* gone for a few passes: long enough to be forgotten */
		return;
	switch ((x >> 2) % 16) {
	case 0: /* evicted: gone from the map */
		r->live = 0;
		return;
	case 1: /* a new life, counters from zero */
		r->v.first_seen_ns += 1 + (x >> 40);
		r->v.syns = x >> 60;
		r->v.dropped = r->v.syns / 2;
		break;
	case 2: /* a large step, below 2^39 */
		add = (x >> 25) & ((1ULL << 38) - 1);
		r->v.syns += add;
		r->v.dropped += add / 3;
		break;
	default: /* a few SYNs, or none */
		add = (x >> 8) % 4 ? 0 : (x >> 16) % 1000;
		r->v.syns += add;
		r->v.dropped += add / 4;
		break;
	}
	r->live = 1;
}

/* The delta the reference expects for r in this pass; 1 if r fits. */
static int ref_expect(struct ref *r, unsigned pass, size_t *count, uint64_t *ds, uint64_t *dd)
{
	if (r->known && r->first_seen == r->v.first_seen_ns && r->v.syns >= r->syns) {
		*ds = r->v.syns - r->syns;
		*dd = r->v.dropped - r->dropped;
	} else {
		*ds = r->v.syns;
		*dd = r->v.dropped;
	}
	if (!r->known) {
		if (*count >= CAPACITY)
			return 0;
		(*count)++;
		r->known = 1;
	}
	r->syns = r->v.syns;
	r->dropped = r->v.dropped;
	r->first_seen = r->v.first_seen_ns;
	r->last_pass = pass;
	return 1;
}

/* Forget what was not seen in the last KEEP passes. */
static void ref_end(struct ref *refs, unsigned pass, size_t *count)
{
	for (unsigned i = 0; i < UNIVERSE; i++) {
		if (refs[i].known && pass - refs[i].last_pass >= KEEP) {
			refs[i].known = 0;
			(*count)--;
		}
	}
}

static void matches_reference(void **state)
{
	static struct ref refs[UNIVERSE];
	struct mxt_syn_delta *t = mxt_syn_delta_new(CAPACITY, CAPACITY);
	unsigned order[UNIVERSE];
	uint64_t rng = 20261204;
	size_t count = 0, refused = 0, forgotten = 0, relative = 0;

	(void)state;
	memset(refs, 0, sizeof(refs));
	mxt_syn_delta_set_hash_seed(t, 7);
	for (unsigned i = 0; i < UNIVERSE; i++) {
		refs[i].key = ref_key(i);
		if (i % 5 == 0) {
			refs[i].key.family = MXT_FAMILY_IPV4;
			refs[i].key.prefixlen = (uint8_t)(24 + i % 9);
		}
		refs[i].v.first_seen_ns = i + 1;
		refs[i].v.syns = (i % 3 == 0) ? (1ULL << 40) - i : i;
		order[i] = i;
	}
	for (unsigned pass = 1; pass <= 2000; pass++) {
		/* the map's order changes from pass to pass */
		for (unsigned i = UNIVERSE - 1; i > 0; i--) {
			unsigned j = (unsigned)(mxt_rng_next(&rng) % (i + 1)), x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		mxt_syn_delta_begin(t);
		for (unsigned n = 0; n < UNIVERSE; n++) {
			struct ref *r = &refs[order[n]];
			uint64_t ds, dd, wds, wdd;
			int rc, fits;

			ref_move(r, &rng);
			if (!r->live)
				continue;
			if (n + 1 < UNIVERSE)
				mxt_syn_delta_prefetch(t, &refs[order[n + 1]].key);
			fits = ref_expect(r, pass, &count, &wds, &wdd);
			refused += !fits;
			relative += wds != r->v.syns;
			rc = mxt_syn_delta_update(t, &r->key, &r->v, &ds, &dd);
			CHECK(rc == (fits ? 0 : -ENOSPC), "pass %u key %u: rc %d, want %d", pass,
			      order[n], rc, fits ? 0 : -ENOSPC);
			CHECK(ds == wds && dd == wdd, "pass %u key %u: got %llu/%llu, want %llu/%llu",
			      pass, order[n], (unsigned long long)ds, (unsigned long long)dd,
			      (unsigned long long)wds, (unsigned long long)wdd);
		}
		mxt_syn_delta_end(t, KEEP);
		forgotten += count;
		ref_end(refs, pass, &count);
		forgotten -= count;
		CHECK(mxt_syn_delta_count(t) == count, "pass %u: count %zu, want %zu", pass,
		      mxt_syn_delta_count(t), count);
	}
	/* the run went through every case it is meant to */
	print_message("refused %zu, forgotten %zu, relative deltas %zu\n", refused, forgotten, relative);
	CHECK(refused > 1000 && forgotten > 1000 && relative > 100000,
	      "refused %zu, forgotten %zu, relative deltas %zu", refused, forgotten, relative);
	mxt_syn_delta_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(similar_keys_stay_apart),
		cmocka_unit_test(foreign_keys_refused),
		cmocka_unit_test(seed_only_while_empty),
		cmocka_unit_test(matches_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
