/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_cfgkeys.c - the configuration key table (user/core/cfgkeys.c): defaults
 * are valid and what the table says, every key round-trips, bad values and
 * unknown keys are rejected with a message naming the key, a failed set
 * changes nothing, rate 0 needs burst 0, ports parsing, config files.
 * No privileges needed.
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

#include "cfgkeys.h"
#include "gcra.h"

#define NCPU 4

/* A fresh default config or a failed test. */
static struct mxt_config defaults(void)
{
	struct mxt_config cfg;
	int ret = mxt_config_defaults(&cfg, NCPU);

	if (ret)
		fail_msg("mxt_config_defaults: got %d, want 0", ret);
	return cfg;
}

/* Check one derived limit. */
static void check_limit(const char *what, const struct mxt_limit *l, __u32 rate, __u32 burst,
			__u64 interval, __u64 tolerance)
{
	if (l->rate != rate || l->burst != burst)
		fail_msg("%s: got rate %u burst %u, want %u %u", what, l->rate, l->burst, rate, burst);
	if (l->interval_ns != interval)
		fail_msg("%s: got interval %llu ns, want %llu", what,
			 (unsigned long long)l->interval_ns, (unsigned long long)interval);
	if (l->tolerance_ns != tolerance)
		fail_msg("%s: got tolerance %llu ns, want %llu", what,
			 (unsigned long long)l->tolerance_ns, (unsigned long long)tolerance);
}

static void defaults_are_valid(void **state)
{
	struct mxt_config cfg = defaults(), copy;
	char err[200] = "";

	(void)state;
	assert_int_equal(cfg.abi_version, MXT_ABI_VERSION);
	assert_int_equal(cfg.mode, MXT_MODE_ENFORCE);
	assert_int_equal(cfg.nports, 1);
	assert_int_equal(cfg.ports[0], 25);
	assert_int_equal(cfg.v4_prefix, 32);
	assert_int_equal(cfg.v6_prefix, 64);
	assert_int_equal(cfg.nr_cpus, NCPU);
	check_limit("unknown", &cfg.class_limit[MXT_CLASS_UNKNOWN], 120, 30, 500000000ull, 29 * 500000000ull);
	check_limit("graylisted", &cfg.class_limit[MXT_CLASS_GRAYLISTED], 60, 20, 1000000000ull, 19 * 1000000000ull);
	check_limit("established", &cfg.class_limit[MXT_CLASS_ESTABLISHED], 6000, 300, 10000000ull, 299 * 10000000ull);
	check_limit("throttled", &cfg.class_limit[MXT_CLASS_THROTTLED], 30, 10, 2000000000ull, 9 * 2000000000ull);
	check_limit("blocked", &cfg.class_limit[MXT_CLASS_BLOCKED], 0, 0, 0, 0);
	/* global: 60000/min over 4 CPUs = 15000/min each (4 ms), 2000/4 = 500 burst each */
	check_limit("global", &cfg.global, 60000, 2000, 4000000ull, 499 * 4000000ull);
	copy = cfg;
	if (mxt_config_check(&copy, err, sizeof(err)))
		fail_msg("defaults do not check: %s", err);
	if (memcmp(&copy, &cfg, sizeof(cfg)) != 0)
		fail_msg("checking the defaults changed them");
}

static void table_defaults_match(void **state)
{
	struct mxt_config cfg = defaults();
	char val[64];

	(void)state;
	assert_true(mxt_cfgkey_count() == 16);
	for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);

		assert_non_null(k);
		if (!k->desc || !*k->desc || strchr(k->desc, '\n'))
			fail_msg("%s: want a one-line description", k->name);
		assert_int_equal(k->get(&cfg, k, val, sizeof(val)), 0);
		if (strcmp(val, k->defval) != 0)
			fail_msg("%s: got default %s, want %s (the table's)", k->name, val, k->defval);
		if (mxt_cfgkey_find(k->name) != k)
			fail_msg("%s: lookup by name finds another entry", k->name);
	}
	assert_null(mxt_cfgkey_at(mxt_cfgkey_count()));
	assert_null(mxt_cfgkey_find("nosuch"));
}

static void every_key_round_trips(void **state)
{
	/* key, value, and a companion pair where the key cannot change alone */
	static const struct { const char *k, *v, *k2, *v2; } cases[] = {
		{ "mode", "monitor", NULL, NULL },
		{ "mode", "enforce", NULL, NULL },
		{ "ports", "25,587,465", NULL, NULL },
		{ "ports", "1,2,3,4,5,6,7,65535", NULL, NULL },
		{ "v4_prefix", "24", NULL, NULL },
		{ "v4_prefix", "8", NULL, NULL },
		{ "v6_prefix", "48", NULL, NULL },
		{ "v6_prefix", "128", NULL, NULL },
		{ "unknown_rate", "600", NULL, NULL },
		{ "unknown_rate", "unlimited", NULL, NULL },
		{ "unknown_rate", "100000000", NULL, NULL },
		{ "unknown_burst", "1000000", NULL, NULL },
		{ "unknown_rate", "0", "unknown_burst", "0" },
		{ "graylisted_rate", "1", NULL, NULL },
		{ "graylisted_burst", "1", NULL, NULL },
		{ "established_rate", "12000", NULL, NULL },
		{ "established_burst", "600", NULL, NULL },
		{ "throttled_rate", "10", NULL, NULL },
		{ "throttled_burst", "3", NULL, NULL },
		{ "blocked_rate", "6", "blocked_burst", "2" },
		{ "blocked_burst", "5", "blocked_rate", "unlimited" },
		{ "global_rate", "1200000", NULL, NULL },
		{ "global_burst", "40000", NULL, NULL },
		{ "global_rate", "0", "global_burst", "0" },
	};
	int covered[32] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_config cfg = defaults();
		const char *keys[2] = { cases[i].k, cases[i].k2 }, *vals[2] = { cases[i].v, cases[i].v2 };
		size_t n = cases[i].k2 ? 2 : 1;
		char err[200] = "", got[64];
		int ret = mxt_config_set_many(&cfg, n, keys, vals, err, sizeof(err));

		if (ret)
			fail_msg("set %s %s: got %d (%s), want 0", cases[i].k, cases[i].v, ret, err);
		for (size_t j = 0; j < n; j++) {
			assert_int_equal(mxt_config_get(&cfg, keys[j], got, sizeof(got)), 0);
			if (strcmp(got, vals[j]) != 0)
				fail_msg("get %s after set: got %s, want %s", keys[j], got, vals[j]);
			covered[mxt_cfgkey_find(keys[j]) - mxt_cfgkey_at(0)] = 1;
		}
	}
	for (size_t i = 0; i < mxt_cfgkey_count(); i++)
		if (!covered[i])
			fail_msg("key %s: no round-trip case", mxt_cfgkey_at(i)->name);
}

/* Set key=value on a default config; expect failure naming 'name' in the
 * message and an unchanged config. */
static void expect_reject(const char *key, const char *value, const char *name)
{
	struct mxt_config cfg = defaults(), before = cfg;
	char err[200] = "";
	int ret = mxt_config_set(&cfg, key, value, err, sizeof(err));

	if (ret == 0)
		fail_msg("set %s '%s': got 0, want an error", key, value);
	if (!strstr(err, name))
		fail_msg("set %s '%s': got message \"%s\", want one naming %s", key, value, err, name);
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
		fail_msg("set %s '%s' failed but changed the config", key, value);
}

static void bad_values_rejected(void **state)
{
	(void)state;
	expect_reject("mode", "Enforce", "mode");
	expect_reject("mode", "", "mode");
	expect_reject("v4_prefix", "7", "v4_prefix");
	expect_reject("v4_prefix", "33", "v4_prefix");
	expect_reject("v4_prefix", "24x", "v4_prefix");
	expect_reject("v6_prefix", "15", "v6_prefix");
	expect_reject("v6_prefix", "129", "v6_prefix");
	expect_reject("unknown_rate", "100000001", "unknown_rate");
	expect_reject("unknown_rate", "-1", "unknown_rate");
	expect_reject("unknown_rate", "Unlimited", "unknown_rate");
	expect_reject("unknown_burst", "1000001", "unknown_burst");
	expect_reject("established_burst", "0", "established_burst");
	expect_reject("global_rate", "1e6", "global_rate");
	expect_reject("global_burst", "", "global_burst");
	expect_reject("ports", "0", "ports");
	expect_reject("ports", "65536", "ports");
	expect_reject("ports", "", "ports");
	expect_reject("ports", ",", "ports");
	expect_reject("ports", "25,", "ports");
	expect_reject("ports", "25,,587", "ports");
	expect_reject("ports", "smtp", "ports");
	expect_reject("ports", "25,25", "ports");
	expect_reject("ports", "1,2,3,4,5,6,7,8,9", "ports");
	expect_reject("nosuch", "1", "nosuch");
	expect_reject("", "1", "''");
}

static void rate_zero_needs_burst_zero(void **state)
{
	struct mxt_config cfg = defaults(), before = cfg;
	const char *k[2] = { "unknown_rate", "unknown_burst" }, *v[2] = { "0", "0" };
	char err[200] = "";
	__u64 tat = 0;

	(void)state;
	/* rate 0 alone while burst is 30: rejected, nothing changed */
	assert_int_not_equal(mxt_config_set(&cfg, "unknown_rate", "0", err, sizeof(err)), 0);
	if (!strstr(err, "unknown_rate") || !strstr(err, "unknown_burst"))
		fail_msg("got message \"%s\", want one naming unknown_rate and unknown_burst", err);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	/* burst 0 alone while rate is 120: rejected too */
	assert_int_not_equal(mxt_config_set(&cfg, "unknown_burst", "0", err, sizeof(err)), 0);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	/* both together: accepted, and the limit admits nothing */
	assert_int_equal(mxt_config_set_many(&cfg, 2, k, v, err, sizeof(err)), 0);
	check_limit("unknown", &cfg.class_limit[MXT_CLASS_UNKNOWN], 0, 0, 0, 0);
	assert_int_equal(mxt_gcra_admit(&tat, 1000, &cfg.class_limit[MXT_CLASS_UNKNOWN]), MXT_GCRA_REJECT);
	/* burst > 0 with rate 0 through the policy override parser as well */
	{
		struct mxt_limit l;

		assert_int_not_equal(mxt_limit_parse("0", "5", &l, err, sizeof(err)), 0);
		if (!strstr(err, "burst"))
			fail_msg("got message \"%s\", want one naming burst", err);
		assert_int_equal(mxt_limit_parse("0", "0", &l, err, sizeof(err)), 0);
		assert_int_equal(mxt_limit_parse("600", "50", &l, err, sizeof(err)), 0);
		check_limit("override", &l, 600, 50, 100000000ull, 49 * 100000000ull);
		assert_int_equal(mxt_limit_parse("unlimited", "0", &l, err, sizeof(err)), 0);
		assert_int_equal(l.rate, MXT_RATE_UNLIMITED);
	}
}

static void set_many_is_atomic(void **state)
{
	struct mxt_config cfg = defaults(), before = cfg;
	const char *k[3] = { "mode", "unknown_rate", "v4_prefix" }, *v[3] = { "monitor", "60", "99" };
	char err[200] = "";

	(void)state;
	assert_int_not_equal(mxt_config_set_many(&cfg, 3, k, v, err, sizeof(err)), 0);
	if (!strstr(err, "v4_prefix"))
		fail_msg("got message \"%s\", want one naming v4_prefix", err);
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
		fail_msg("a failed set of 3 keys applied some: got mode %u rate %u, want %u %u",
			 cfg.mode, cfg.class_limit[0].rate, before.mode, before.class_limit[0].rate);
}

static void ports_parsing(void **state)
{
	static const struct { const char *in; int n; __u16 p[8]; const char *out; } cases[] = {
		{ "25", 1, { 25 }, "25" },
		{ "25,587,465", 3, { 25, 587, 465 }, "25,587,465" },
		{ " 25 , 587\t", 2, { 25, 587 }, "25,587" },
		{ "1,2,3,4,5,6,7,8", 8, { 1, 2, 3, 4, 5, 6, 7, 8 }, "1,2,3,4,5,6,7,8" },
		{ "65535", 1, { 65535 }, "65535" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_config cfg = defaults();
		char err[200] = "", got[64];

		if (mxt_config_set(&cfg, "ports", cases[i].in, err, sizeof(err)))
			fail_msg("ports '%s': got error \"%s\", want success", cases[i].in, err);
		if ((int)cfg.nports != cases[i].n)
			fail_msg("ports '%s': got %u ports, want %d", cases[i].in, cfg.nports, cases[i].n);
		for (int j = 0; j < MXT_MAX_PORTS; j++)
			if (cfg.ports[j] != (j < cases[i].n ? cases[i].p[j] : 0))
				fail_msg("ports '%s': got ports[%d] = %u, want %u", cases[i].in, j,
					 cfg.ports[j], j < cases[i].n ? cases[i].p[j] : 0);
		mxt_config_get(&cfg, "ports", got, sizeof(got));
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("ports '%s': got back '%s', want '%s'", cases[i].in, got, cases[i].out);
	}
	/* shrinking the list clears the tail */
	{
		struct mxt_config cfg = defaults();
		char err[200];

		assert_int_equal(mxt_config_set(&cfg, "ports", "1,2,3", err, sizeof(err)), 0);
		assert_int_equal(mxt_config_set(&cfg, "ports", "9", err, sizeof(err)), 0);
		if (cfg.ports[1] || cfg.ports[2])
			fail_msg("ports after 1,2,3 then 9: got tail %u,%u, want 0,0", cfg.ports[1], cfg.ports[2]);
	}
}

static void check_rejects_corrupt_config(void **state)
{
	struct mxt_config cfg;
	char err[200];

	(void)state;
	cfg = defaults();
	cfg.abi_version = 0;
	assert_int_equal(mxt_config_check(&cfg, err, sizeof(err)), -EPROTO);
	cfg = defaults();
	cfg.mode = 7;
	assert_int_not_equal(mxt_config_check(&cfg, err, sizeof(err)), 0);
	cfg = defaults();
	cfg.nports = 0;
	assert_int_not_equal(mxt_config_check(&cfg, err, sizeof(err)), 0);
	cfg = defaults();
	cfg.nports = 2;
	cfg.ports[1] = 25;
	assert_int_not_equal(mxt_config_check(&cfg, err, sizeof(err)), 0);
	cfg = defaults();
	cfg.class_limit[MXT_CLASS_THROTTLED].burst = 0;
	assert_int_not_equal(mxt_config_check(&cfg, err, sizeof(err)), 0);
	if (!strstr(err, "throttled_burst"))
		fail_msg("got message \"%s\", want one naming throttled_burst", err);
}

static void class_and_mode_names(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < MXT_CLASS_MAX; c++)
		if (mxt_class_by_name(mxt_class_name(c)) != (int)c)
			fail_msg("class %u: got %d back from its name %s", c,
				 mxt_class_by_name(mxt_class_name(c)), mxt_class_name(c));
	assert_int_equal(mxt_class_by_name("Blocked"), -EINVAL);
	assert_string_equal(mxt_class_name(MXT_CLASS_MAX), "?");
	assert_int_equal(mxt_mode_by_name("monitor"), MXT_MODE_MONITOR);
	assert_int_equal(mxt_mode_by_name("enforce"), MXT_MODE_ENFORCE);
	assert_int_equal(mxt_mode_by_name("off"), -EINVAL);
}

static void tokens_available(void **state)
{
	struct mxt_config cfg = defaults();
	const struct mxt_limit *l = &cfg.class_limit[MXT_CLASS_UNKNOWN]; /* 120/min, 30 */
	struct mxt_limit unl = { .rate = MXT_RATE_UNLIMITED };
	__u64 now = 1000000000000ull, tat = 0;
	long long t;

	(void)state;
	t = mxt_limit_tokens(l, tat, now);
	if (t != 30)
		fail_msg("idle bucket: got %lld tokens, want 30", t);
	for (int i = 0; i < 10; i++)
		mxt_gcra_admit(&tat, now, l);
	t = mxt_limit_tokens(l, tat, now);
	if (t != 20)
		fail_msg("after 10 SYNs: got %lld tokens, want 20", t);
	while (mxt_gcra_admit(&tat, now, l) == MXT_GCRA_ADMIT)
		;
	t = mxt_limit_tokens(l, tat, now);
	if (t != 0)
		fail_msg("empty bucket: got %lld tokens, want 0", t);
	t = mxt_limit_tokens(l, tat, now + l->interval_ns);
	if (t != 1)
		fail_msg("one interval later: got %lld tokens, want 1", t);
	mxt_limit_derive(&unl, 1);
	assert_int_equal(mxt_limit_tokens(&unl, 0, now), -1);
	assert_int_equal(mxt_limit_tokens(&cfg.class_limit[MXT_CLASS_BLOCKED], 0, now), 0);
}

/* Write text to a fresh temporary file; returns its path (static). */
static const char *tmpfile_with(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/mxt-cfgkeys-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text as a config file over the defaults; return ret, err in err. */
static int load_text(const char *text, struct mxt_config *cfg, char *err, size_t errlen)
{
	const char *path = tmpfile_with(text);
	int ret;

	*cfg = defaults();
	ret = mxt_config_load_file(cfg, path, err, errlen);
	unlink(path);
	return ret;
}

static void config_file(void **state)
{
	struct mxt_config cfg, def = defaults();
	char err[300] = "";
	int ret;

	(void)state;
	ret = load_text("# mxthrottle.conf\n\nmode = monitor\n  ports=25, 587\n"
			"unknown_rate = 0\nunknown_burst = 0\n", &cfg, err, sizeof(err));
	if (ret)
		fail_msg("valid file: got %d (%s), want 0", ret, err);
	assert_int_equal(cfg.mode, MXT_MODE_MONITOR);
	assert_int_equal(cfg.nports, 2);
	assert_int_equal(cfg.class_limit[MXT_CLASS_UNKNOWN].rate, 0);

	ret = load_text("mode = monitor\nnosuch = 1\n", &cfg, err, sizeof(err));
	if (!ret || !strstr(err, ":2:") || !strstr(err, "nosuch"))
		fail_msg("unknown key on line 2: got %d \"%s\", want an error at :2: naming nosuch", ret, err);
	assert_memory_equal(&cfg, &def, sizeof(cfg));

	ret = load_text("mode = monitor\nmode = enforce\n", &cfg, err, sizeof(err));
	if (!ret || !strstr(err, ":2:") || !strstr(err, "line 1"))
		fail_msg("repeated key: got %d \"%s\", want an error at :2: citing line 1", ret, err);

	ret = load_text("v4_prefix 24\n", &cfg, err, sizeof(err));
	if (!ret || !strstr(err, ":1:"))
		fail_msg("line without '=': got %d \"%s\", want an error at :1:", ret, err);

	ret = load_text("mode = monitor\nunknown_rate = 0\n", &cfg, err, sizeof(err));
	if (!ret || !strstr(err, "unknown_burst"))
		fail_msg("rate 0 with default burst: got %d \"%s\", want an error naming unknown_burst", ret, err);
	assert_memory_equal(&cfg, &def, sizeof(cfg));

	ret = mxt_config_load_file(&cfg, "/nonexistent/mxthrottle.conf", err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_are_valid),
		cmocka_unit_test(table_defaults_match),
		cmocka_unit_test(every_key_round_trips),
		cmocka_unit_test(bad_values_rejected),
		cmocka_unit_test(rate_zero_needs_burst_zero),
		cmocka_unit_test(set_many_is_atomic),
		cmocka_unit_test(ports_parsing),
		cmocka_unit_test(check_rejects_corrupt_config),
		cmocka_unit_test(class_and_mode_names),
		cmocka_unit_test(tokens_available),
		cmocka_unit_test(config_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
