/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_controller.c - the glue between Postfix requests, the model, the
 * control commands and the history database, without a kernel (maps NULL)
 * and with a virtual clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr.h"
#include "cfgkeys.h"
#include "controller.h"
#include "ctl_fixture.h"
#include "history_db.h"
#include "model.h"

struct fx {
	struct ctl_fx x;
	struct mxt_model *m;
	struct mxt_controller *c;
	struct mxt_config k;
};

static int hook_calls;
static void config_hook(void *ctx, const struct mxt_config *k)
{
	(void)ctx;
	(void)k;
	hook_calls++;
}

/* A controller of 4096 senders; 'flags' and 'tmpl' as ctl_fx_open's. */
static int setup_with(void **state, unsigned flags, const struct mxt_ctl_opts *tmpl)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || ctl_fx_open(&f->x, 4096, flags, tmpl) < 0)
		return -1;
	f->m = f->x.m;
	f->c = f->x.c;
	f->k = f->x.k;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0, NULL);
}

static int setup_test_mode(void **state)
{
	return setup_with(state, CTL_FX_TEST_MODE, NULL);
}

static int setup_config_hook(void **state)
{
	const struct mxt_ctl_opts o = { .on_config = config_hook };

	return setup_with(state, 0, &o);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ctl_fx_close(&f->x);
	free(f);
	return 0;
}

/* Sessions of a new sender are admitted up to the day-0 allowance, then
 * deferred with 4.7.500/AS101; the answer names when to retry. */
static void new_sender_deferred_over_allowance(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	char inst[32];
	int admitted = 0, deferred = 0;

	for (int i = 0; i < 40; i++) {
		struct mxt_policy_request r;

		snprintf(inst, sizeof(inst), "tx%d", i);
		r = ctl_fx_rcpt("198.18.7.1", inst);
		assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
		if (d.defer) {
			deferred++;
			assert_int_equal(d.state, MXT_STATE_GRAYLISTED);
			assert_true(d.code == MXT_CODE_NEW_SENDER || d.code == MXT_CODE_GLOBAL_BUDGET ||
				    d.code == MXT_CODE_NEW_BURST);
			assert_true(d.retry_after > 0);
		} else {
			admitted++;
		}
	}
	/* Default schedule: 20 sessions in the first hour. */
	if (admitted != 20)
		fail_msg("admitted: got %d, want 20 (day-0 allowance)", admitted);
	assert_int_equal(deferred, 20);
}

/* Several RCPTs of one transaction are one session, not several. */
static void one_transaction_is_one_session(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;

	for (int i = 0; i < 30; i++) {
		struct mxt_policy_request r = ctl_fx_rcpt("198.18.7.2", "same-tx");

		assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
		if (d.defer && d.code == MXT_CODE_NEW_SENDER)
			fail_msg("RCPT %d of one transaction: got NEW_SENDER deferral, want one session", i);
	}
	assert_true(d.used <= 1.0 + 1e-9);
}

/* Connectors are never deferred, however much they send. */
static void connector_never_deferred(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	char err[128], inst[32];

	assert_int_equal(mxt_ctl_allow_add(f->c, "198.18.9.0/24", 0, err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++) {
		struct mxt_policy_request r;

		snprintf(inst, sizeof(inst), "c%d", i);
		r = ctl_fx_rcpt("198.18.9.77", inst);
		assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
		if (d.defer)
			fail_msg("connector session %d: got defer, want accept", i);
		assert_int_equal(d.code, MXT_CODE_OK_CONNECTOR);
	}
	assert_int_equal(mxt_ctl_allow_add(f->c, "198.18.9.0/33", 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_ctl_allow_del(f->c, "198.18.9.0/24", 0, err, sizeof(err)), 0);
	assert_int_equal(mxt_ctl_allow_del(f->c, "198.18.9.0/24", 0, err, sizeof(err)), -ENOENT);
}

/* A request without a valid client address is refused, not decided. */
static void bad_address_refused(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	struct mxt_policy_request r = ctl_fx_rcpt("not-an-ip", "x");

	assert_int_equal(mxt_ctl_decide(f->c, &r, &d), -EINVAL);
}

/* explain, release, graylist list, history export and errors. */
static void control_commands(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	char buf[8192];
	struct mxt_policy_request r = ctl_fx_rcpt("198.18.7.3", "e1");

	mxt_ctl_decide(f->c, &r, &d);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 2, "explain", "198.18.7.3"), 0);
	assert_non_null(strstr(buf, "graylisted"));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "explain", "198.18.7.3", "--json"), 0);
	assert_non_null(strstr(buf, "\"state\":\"graylisted\""));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 2, "graylist", "list"), 0);
	assert_non_null(strstr(buf, "198.18.7.3"));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "history", "export", "csv"), 0);
	assert_non_null(strstr(buf, "source,state,"));
	assert_non_null(strstr(buf, "198.18.7.3,graylisted,"));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 2, "release", "198.18.7.3"), 0);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "explain", "198.18.7.3", "json"), 0);
	if (!strstr(buf, "\"state\":\"established\""))
		fail_msg("after release: got %s, want state established", buf);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 2, "explain", "198.18.7.300"), -EINVAL);
	assert_non_null(strstr(buf, "198.18.7.300"));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 1, "frobnicate"), -EINVAL);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 2, "forget", "198.18.250.1"), -ENOENT);
	/* Test-mode commands do not exist outside test mode. */
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "clock", "advance", "3600"), -EINVAL);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 4, "seed", "198.18.8.8", "100", "7"), -EINVAL);
}

/* History survives a checkpoint and a new process (a new model loading
 * the same database). */
static void checkpoint_and_restore(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	struct mxt_model *m2;
	struct mxt_controller *c2;
	struct mxt_hdb *db;
	char dir[] = "/tmp/mxt-ctl-db-XXXXXX", path[64], err[256];
	const struct mxt_sender *s;
	struct mxt_key key;
	struct mxt_addr a;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/history.mdb", dir);
	assert_int_equal(mxt_hdb_open(path, 4096, 0, ctl_fx_vclock, &db, err, sizeof(err)), 0);
	mxt_ctl_set_db(f->c, db);
	for (int i = 0; i < 5; i++) {
		char inst[16];
		struct mxt_policy_request r;

		snprintf(inst, sizeof(inst), "k%d", i);
		r = ctl_fx_rcpt("2001:2::42", inst);
		mxt_ctl_decide(f->c, &r, &d);
	}
	assert_true(mxt_ctl_checkpoint(f->c) >= 1);
	mxt_ctl_set_db(f->c, NULL);
	mxt_hdb_close(db);

	m2 = mxt_model_new(NULL, 4096);
	assert_non_null(m2);
	assert_int_equal(mxt_hdb_open(path, 4096, 0, ctl_fx_vclock, &db, err, sizeof(err)), 0);
	c2 = ctl_fx_controller(m2, &f->k, db, NULL);
	assert_non_null(c2);
	assert_int_equal(mxt_ctl_restore(c2, err, sizeof(err)), 1);
	mxt_addr_parse("2001:2::42", &a);
	mxt_key_from_addr(&key, &a, 32, 64);
	s = mxt_model_lookup(m2, &key);
	assert_non_null(s);
	assert_int_equal(s->state, MXT_STATE_GRAYLISTED);
	assert_int_equal(s->day_sessions, 5);
	mxt_ctl_free(c2);
	mxt_hdb_close(db);
	mxt_model_free(m2);
	unlink(path);
	snprintf(path, sizeof(path), "%s/history.mdb-lock", dir);
	unlink(path);
	rmdir(dir);
}

/* Test mode: a seeded week makes an established sender; a 20x jump is
 * then deferred with 4.7.510 (AS201) within a minute; the clock command
 * moves the controller's time. */
static void seed_then_jump(void **state)
{
	struct fx *f = *state;
	struct mxt_decision d;
	char buf[4096], inst[32];
	int deferred_at = -1, throttled_at = -1;
	uint64_t before;

	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 4, "seed", "198.18.8.8", "100", "7"), 0);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "explain", "198.18.8.8", "json"), 0);
	if (!strstr(buf, "\"state\":\"established\""))
		fail_msg("after a seeded week: got %s, want established", buf);
	/* 2000 sessions/h is 20x its 100/h: one every 1.8 s (2 s here).  The state must
	 * turn THROTTLED within a minute; the deferrals (451 4.7.510) follow
	 * once the throttled allowance (about its usual traffic) is used. */
	for (int i = 0; i < 300 && deferred_at < 0; i++) {
		struct mxt_policy_request r;

		snprintf(inst, sizeof(inst), "j%d", i);
		r = ctl_fx_rcpt("198.18.8.8", inst);
		ctl_fx_vclock += 2;
		assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
		if (d.state == MXT_STATE_THROTTLED && throttled_at < 0)
			throttled_at = i;
		if (d.defer) {
			deferred_at = i;
			assert_int_equal(d.code, MXT_CODE_RATE_JUMP);
		}
	}
	if (throttled_at < 0 || (throttled_at + 1) * 2 > 60)
		fail_msg("20x jump: throttled after %d s, want within 60 s", (throttled_at + 1) * 2);
	if (deferred_at < 0)
		fail_msg("20x jump: got no 451 in %d s, want one", 300 * 2);
	/* Seeding a known source is refused (its time cannot go back). */
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 4, "seed", "198.18.8.8", "10", "7"), -EEXIST);
	before = mxt_ctl_now(f->c);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 3, "clock", "advance", "3600"), 0);
	if (mxt_ctl_now(f->c) != before + 3600)
		fail_msg("clock advance 3600: got now %llu, want %llu", (unsigned long long)mxt_ctl_now(f->c),
			 (unsigned long long)before + 3600);
}

/* "config set" through the daemon: all pairs or none, prefixes refused,
 * the hook told, the pairs persisted (later values replace earlier). */
static void config_set_applies_and_persists(void **state)
{
	struct fx *f = *state;
	char buf[1024], text[512] = "";
	struct mxt_config k;
	FILE *rf;
	size_t n;

	hook_calls = 0;
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 6, "config", "set", "mode", "monitor",
				 "throttled_burst", "9"), 0);
	mxt_ctl_kernel_config(f->c, &k);
	assert_int_equal(k.mode, MXT_MODE_MONITOR);
	assert_int_equal(k.class_limit[MXT_CLASS_THROTTLED].burst, 9);
	assert_int_equal(hook_calls, 1);
	/* One bad pair: nothing applied. */
	assert_true(ctl_fx_command(f->c, buf, sizeof(buf), 6, "config", "set", "mode", "enforce",
			    "throttled_burst", "lots") < 0);
	assert_non_null(strstr(buf, "throttled_burst"));
	mxt_ctl_kernel_config(f->c, &k);
	assert_int_equal(k.mode, MXT_MODE_MONITOR);
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 4, "config", "set", "v6_prefix", "48"), -EINVAL);
	assert_non_null(strstr(buf, "restart"));
	assert_int_equal(ctl_fx_command(f->c, buf, sizeof(buf), 4, "config", "set", "mode", "enforce"), 0);
	rf = fopen(f->x.runtime_conf, "r");
	assert_non_null(rf);
	n = fread(text, 1, sizeof(text) - 1, rf);
	text[n] = '\0';
	fclose(rf);
	if (!strstr(text, "\nmode = enforce\n") || !strstr(text, "\nthrottled_burst = 9\n") ||
	    strstr(text, "monitor"))
		fail_msg("runtime.conf: got '%s', want mode = enforce and throttled_burst = 9 once", text);
	assert_int_equal(hook_calls, 2);
}

/* Run a control command into a string (caller frees). */
static char *command_out(struct fx *f, int argc, char **argv)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	if (mxt_ctl_command(f->c, argc, argv, out, err, sizeof(err)))
		fail_msg("%s: %s", argv[0], err);
	fclose(out);
	return buf;
}

/* For a throttle, the syslog line, explain and history export name the
 * same check with the same rate, baseline and ratio: the model's words. */
static void throttle_reported_alike(void **state)
{
	struct fx *f = *state;
	struct mxt_key k;
	struct mxt_addr a;
	char why[160], logf[] = "/tmp/mxt-ctl-log-XXXXXX", line[4096], *ex, *csv;
	char *argv_ex[] = { "explain", "198.18.7.9" };
	char *argv_hist[] = { "history", "export", "csv" };
	uint64_t t0 = ctl_fx_vclock, t;
	int fd, saved, found = 0;
	FILE *lf;

	assert_int_equal(mxt_addr_parse("198.18.7.9", &a), 0);
	mxt_key_from_addr(&k, &a, f->k.v4_prefix, f->k.v6_prefix);
	assert_int_equal(mxt_model_release(f->m, &k, t0), 0);
	/* two weekdays at 100 sessions/h, then 20x at Wednesday 10:00 */
	for (t = t0; t < t0 + 2 * 86400; t += 36) {
		mxt_model_admit_session(f->m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
		mxt_model_admit_session(f->m, &k, t, MXT_OBS_RCPT, 1, 0, NULL);
		if (t % 3600 < 36)
			mxt_model_tick(f->m, t, NULL, NULL);
	}
	t = t0 - t0 % 86400 + 2 * 86400 + 10 * 3600;
	mxt_model_tick(f->m, t, NULL, NULL);
	for (int i = 0; i < 120; i++, t += 2)
		mxt_model_admit_session(f->m, &k, t, MXT_OBS_CONNECT, 0, 0, NULL);
	assert_int_equal(mxt_model_lookup(f->m, &k)->state, MXT_STATE_THROTTLED);
	mxt_model_why(mxt_model_lookup(f->m, &k), why, sizeof(why));
	assert_non_null(strstr(why, "check="));
	/* the THROTTLE line of the tick, from stderr */
	fd = mkstemp(logf);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	mxt_ctl_tick(f->c, t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lf = fdopen(fd, "r");
	assert_non_null(lf);
	rewind(lf);
	while (fgets(line, sizeof(line), lf))
		if (strstr(line, "THROTTLE [198.18.7.9]") && strstr(line, why))
			found = 1;
	fclose(lf);
	unlink(logf);
	if (!found)
		fail_msg("no THROTTLE line with '%s'", why);
	ctl_fx_vclock = t;
	ex = command_out(f, 2, argv_ex);
	csv = command_out(f, 3, argv_hist);
	if (!strstr(ex, why))
		fail_msg("explain lacks '%s': %s", why, ex);
	if (!strstr(csv, why))
		fail_msg("history export lacks '%s': %s", why, csv);
	free(ex);
	free(csv);
	ctl_fx_vclock = t0;
}

/* mxt_ctl_new refuses what it cannot build, with the reason. */
static void new_refuses_bad_options(void **state)
{
	struct fx *f = *state;
	struct mxt_ctl_opts o = { .model = f->m };
	struct mxt_controller *c;
	char err[256] = "", longpath[5000];

	assert_null(mxt_ctl_new(NULL, err, sizeof(err)));
	assert_null(mxt_ctl_new(&o, err, sizeof(err)));
	if (!strstr(err, "required"))
		fail_msg("no kernel config: got '%s', want '... required'", err);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	o.kcfg = &f->k;
	o.allow_file = longpath;
	err[0] = '\0';
	assert_null(mxt_ctl_new(&o, err, sizeof(err)));
	if (!strstr(err, "connectors file: path too long"))
		fail_msg("long allow_file: got '%s', want 'connectors file: path too long'", err);
	o.allow_file = NULL;
	c = mxt_ctl_new(&o, err, sizeof(err));
	assert_non_null(c);
	mxt_ctl_free(c);
	mxt_ctl_free(NULL);
}

/* One snapshot: the model's counts, the counters, the controller's time. */
static void snapshot_counts(void **state)
{
	struct fx *f = *state;
	struct mxt_policy_request r = ctl_fx_rcpt("198.18.7.5", "s1");
	struct mxt_ctl_snapshot s;
	struct mxt_decision d;
	char err[128];

	assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
	assert_int_equal(mxt_ctl_allow_add(f->c, "198.18.9.0/24", 0, err, sizeof(err)), 0);
	r = ctl_fx_rcpt("198.18.9.1", "s2");
	assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
	mxt_ctl_tick(f->c, ctl_fx_vclock);
	mxt_ctl_snapshot(f->c, &s);
	if (s.counters.decisions != 2 || s.counters.connector_sessions != 1 || s.counters.ticks != 1)
		fail_msg("counters: got decisions %llu, connector sessions %llu, ticks %llu; want 2, 1, 1",
			 (unsigned long long)s.counters.decisions,
			 (unsigned long long)s.counters.connector_sessions,
			 (unsigned long long)s.counters.ticks);
	assert_int_equal(s.model.tracked, 2);
	assert_int_equal(s.model.capacity, 4096);
	assert_int_equal(s.now, ctl_fx_vclock);
}

/* Under the lock: counts the senders the model tracks; returns -77 so
 * that the caller sees fn's result. */
static int count_tracked(struct mxt_model *model, void *ctx)
{
	struct mxt_model_counts mc;

	mxt_model_counts(model, &mc);
	*(uint64_t *)ctx = mc.tracked;
	return -77;
}

/* mxt_ctl_with_model gives fn the controller's model, returns fn's
 * result, and leaves the lock free: the calls after it, which take the
 * lock again, return (a lock left held would hang here). */
static void with_model(void **state)
{
	struct fx *f = *state;
	struct mxt_policy_request r = ctl_fx_rcpt("198.18.7.6", "s1");
	struct mxt_ctl_snapshot s;
	struct mxt_decision d;
	uint64_t tracked = 99;

	assert_int_equal(mxt_ctl_with_model(f->c, count_tracked, &tracked), -77);
	assert_int_equal(tracked, 0);
	assert_int_equal(mxt_ctl_decide(f->c, &r, &d), 0);
	assert_int_equal(mxt_ctl_with_model(f->c, count_tracked, &tracked), -77);
	assert_int_equal(tracked, 1);
	mxt_ctl_snapshot(f->c, &s);
	assert_int_equal(s.model.tracked, 1);
}

static void event_names(void **state)
{
	(void)state;
	assert_string_equal(mxt_ctl_event_name(-1, MXT_CLASS_GRAYLISTED), "GRAYLIST");
	assert_string_equal(mxt_ctl_event_name(MXT_CLASS_GRAYLISTED, MXT_CLASS_ESTABLISHED), "ESTABLISH");
	assert_string_equal(mxt_ctl_event_name(MXT_CLASS_ESTABLISHED, MXT_CLASS_THROTTLED), "THROTTLE");
	assert_string_equal(mxt_ctl_event_name(MXT_CLASS_THROTTLED, MXT_CLASS_ESTABLISHED), "RELEASE");
	assert_string_equal(mxt_ctl_event_name(MXT_CLASS_ESTABLISHED, MXT_CLASS_BLOCKED), "BLOCK");
	assert_string_equal(mxt_ctl_event_name(MXT_CLASS_GRAYLISTED, MXT_CLASS_UNKNOWN), "EXPIRE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(new_sender_deferred_over_allowance, setup, teardown),
		cmocka_unit_test_setup_teardown(one_transaction_is_one_session, setup, teardown),
		cmocka_unit_test_setup_teardown(connector_never_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_address_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(control_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(seed_then_jump, setup_test_mode, teardown),
		cmocka_unit_test_setup_teardown(config_set_applies_and_persists, setup_config_hook, teardown),
		cmocka_unit_test_setup_teardown(throttle_reported_alike, setup, teardown),
		cmocka_unit_test_setup_teardown(new_refuses_bad_options, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(with_model, setup, teardown),
		cmocka_unit_test(event_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
