/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_ctl_checkpoint.c - the controller's checkpoint and reload against
 * the policy thread: a checkpoint copies its records under the model lock
 * and writes them without it, so a policy request made while the history
 * is being written is answered before the write ends; what changed during
 * the write reaches the next checkpoint; a failed write makes the next
 * one full.  SIGHUP's reload refuses a prefix change with "config set"'s
 * message and keeps the running configuration.
 *
 * The blocking test is an ordering, never a timing: the LMDB write stops
 * at its first record (the put hook) until the test has had its policy
 * answer; with the lock held across the write, the answer could only come
 * after the checkpoint, and the hook's safety wait (30 s) runs out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfgkeys.h"
#include "controller.h"
#include "ctl_fixture.h"
#include "history_db.h"
#include "model.h"

#define NREC      120000u   /* dirty records in the big checkpoint */
#define CAPACITY  131072u
#define SAFETY_S  30        /* never reached when the lock is free */

struct fx {
	struct ctl_fx x;
	struct mxt_model *m;
	struct mxt_controller *c;
	struct mxt_config k;
	struct mxt_hdb *db;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || ctl_fx_open(&f->x, CAPACITY, CTL_FX_HISTORY, NULL) < 0)
		return -1;
	f->m = f->x.m;
	f->c = f->x.c;
	f->k = f->x.k;
	f->db = f->x.db;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ctl_fx_close(&f->x);
	free(f);
	return 0;
}

/* A Postfix RCPT request from the i-th address of 198.18.0.0/15. */
static int decide_nth(struct fx *f, uint32_t i, struct mxt_decision *d)
{
	struct mxt_policy_request r = ctl_fx_rcpt_nth(i);

	return mxt_ctl_decide(f->c, &r, d);
}

/* 'n' senders, one session each: every one a dirty history record. */
static void fill(struct fx *f, uint32_t n)
{
	struct mxt_decision d;

	for (uint32_t i = 0; i < n; i++)
		if (decide_nth(f, i, &d) < 0)
			fail_msg("filling: request %u refused", i);
}

/* The put hook's rendezvous with the test's policy request. */
struct gate {
	sem_t writing;        /* the write phase has begun */
	sem_t answered;       /* the policy request got its answer */
	int timed_out;        /* the hook gave up waiting for it */
	int armed;
};

static int gate_hook(void *ctx, uint64_t written)
{
	struct gate *g = ctx;
	struct timespec ts;

	(void)written;
	if (!g->armed)
		return 0;
	g->armed = 0;
	sem_post(&g->writing);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += SAFETY_S;
	while (sem_timedwait(&g->answered, &ts) < 0)
		if (errno != EINTR) {
			g->timed_out = 1;
			break;
		}
	return 0;
}

struct ckpt_run {
	struct fx *f;
	int rc;
	atomic_int done;
};

static void *ckpt_thread(void *arg)
{
	struct ckpt_run *r = arg;

	r->rc = mxt_ctl_checkpoint(r->f->c);
	atomic_store(&r->done, 1);
	return NULL;
}

/* A policy request made while the history is being written is answered
 * before the write ends; the lock was held only for the copy. */
static void policy_answered_during_checkpoint(void **state)
{
	struct fx *f = *state;
	struct ckpt_run run = { .f = f, .rc = 0, .done = 0 };
	struct gate g = { .timed_out = 0, .armed = 1 };
	struct mxt_decision d;
	struct timespec ts;
	pthread_t t;
	struct mxt_ctl_snapshot snap;
	int answered_before_end, rc;

	fill(f, NREC);
	assert_int_equal(sem_init(&g.writing, 0, 0), 0);
	assert_int_equal(sem_init(&g.answered, 0, 0), 0);
	mxt_hdb_set_put_hook(f->db, gate_hook, &g);
	assert_int_equal(pthread_create(&t, NULL, ckpt_thread, &run), 0);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2 * SAFETY_S;
	assert_int_equal(sem_timedwait(&g.writing, &ts), 0);
	/* The checkpoint is inside its LMDB write now, and stays there until
	 * this request is answered. */
	rc = decide_nth(f, NREC, &d);
	answered_before_end = !atomic_load(&run.done);
	sem_post(&g.answered);
	pthread_join(t, NULL);

	assert_int_equal(rc, 0);
	if (!answered_before_end || g.timed_out)
		fail_msg("policy request during a checkpoint: got answered %s the checkpoint%s, "
			 "want answered while it writes", answered_before_end ? "during" : "after",
			 g.timed_out ? " (the write waited for it in vain)" : "");
	if (run.rc != (int)NREC)
		fail_msg("checkpoint: got %d records written, want %u", run.rc, NREC);
	mxt_ctl_snapshot(f->c, &snap);
	print_message("# checkpoint of %u records: model lock held %llu us of %llu us\n", NREC,
		      (unsigned long long)snap.counters.checkpoint_lock_usec_last,
		      (unsigned long long)snap.counters.checkpoint_usec_last);
	if (snap.counters.checkpoint_lock_usec_last >= snap.counters.checkpoint_usec_last)
		fail_msg("lock held %llu us: got the whole checkpoint (%llu us), want the copy only",
			 (unsigned long long)snap.counters.checkpoint_lock_usec_last,
			 (unsigned long long)snap.counters.checkpoint_usec_last);

	/* What changed during the write (the one new sender) is dirty still. */
	mxt_hdb_set_put_hook(f->db, NULL, NULL);
	rc = mxt_ctl_checkpoint(f->c);
	if (rc != 1)
		fail_msg("next checkpoint: got %d records, want 1 (the sender added during the write)", rc);
	sem_destroy(&g.writing);
	sem_destroy(&g.answered);
}

static int cancel_hook(void *ctx, uint64_t written)
{
	(void)ctx;
	return written == 10;
}

/* The model is marked clean when copied: a write that fails must make
 * the next checkpoint rewrite everything, or the copied changes are lost. */
static void failed_write_makes_next_full(void **state)
{
	struct fx *f = *state;
	struct mxt_controller *c2;
	struct mxt_ctl_snapshot snap;
	struct mxt_model *m2;
	char err[256];
	int rc;

	fill(f, 1000);
	assert_int_equal(mxt_ctl_checkpoint(f->c), 1000);
	fill(f, 1500); /* 500 new, 1000 touched again */
	mxt_hdb_set_put_hook(f->db, cancel_hook, NULL);
	rc = mxt_ctl_checkpoint(f->c);
	assert_int_equal(rc, -ECANCELED);
	mxt_ctl_snapshot(f->c, &snap);
	assert_int_equal(snap.counters.checkpoint_errors, 1);
	mxt_hdb_set_put_hook(f->db, NULL, NULL);
	rc = mxt_ctl_checkpoint(f->c);
	if (rc != 1500)
		fail_msg("checkpoint after a failed one: got %d records, want 1500 (full)", rc);

	m2 = mxt_model_new(NULL, CAPACITY);
	assert_non_null(m2);
	c2 = ctl_fx_controller(m2, &f->k, f->db, NULL);
	assert_non_null(c2);
	rc = mxt_ctl_restore(c2, err, sizeof(err));
	if (rc != 1500)
		fail_msg("restored: got %d, want 1500", rc);
	mxt_ctl_free(c2);
	mxt_model_free(m2);
}

/* SIGHUP with another prefix: "config set"'s refusal, word for word, and
 * nothing applied (neither the prefix nor the other keys of the file). */
static void reload_refuses_prefix_change(void **state)
{
	struct fx *f = *state;
	struct mxt_model_params mp = *mxt_model_get_params(f->m), before = mp;
	struct mxt_config next = f->k;
	char set_err[512], hup_err[512];
	struct mxt_config now;

	for (int v6 = 0; v6 < 2; v6++) {
		next = f->k;
		next.mode = MXT_MODE_MONITOR;
		if (v6)
			next.v6_prefix = 48;
		else
			next.v4_prefix = 24;
		mp.baseline_days = before.baseline_days + 1;
		assert_int_equal(ctl_fx_command(f->c, set_err, sizeof(set_err), 4, "config", "set",
					 v6 ? "v6_prefix" : "v4_prefix", v6 ? "48" : "24"), -EINVAL);
		assert_int_equal(mxt_ctl_reload(f->c, &next, &mp, hup_err, sizeof(hup_err)), -EINVAL);
		if (strcmp(set_err, hup_err))
			fail_msg("reload refusal: got '%s', want config set's '%s'", hup_err, set_err);
		mxt_ctl_kernel_config(f->c, &now);
		assert_int_equal(now.v4_prefix, f->k.v4_prefix);
		assert_int_equal(now.v6_prefix, f->k.v6_prefix);
		assert_int_equal(now.mode, f->k.mode);
		assert_int_equal(mxt_model_get_params(f->m)->baseline_days, before.baseline_days);
	}
	/* The same file without the prefix change applies whole. */
	next = f->k;
	next.mode = MXT_MODE_MONITOR;
	assert_int_equal(mxt_ctl_reload(f->c, &next, &mp, hup_err, sizeof(hup_err)), 0);
	mxt_ctl_kernel_config(f->c, &now);
	assert_int_equal(now.mode, MXT_MODE_MONITOR);
	assert_int_equal(mxt_model_get_params(f->m)->baseline_days, before.baseline_days + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(policy_answered_during_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_write_makes_next_full, setup, teardown),
		cmocka_unit_test_setup_teardown(reload_refuses_prefix_change, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
