/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_daemon_conf.c - mxthrottled's configuration file (user/daemon/daemon_conf.c):
 * the defaults are valid, every daemon key is parsed into its field, the
 * repeatable keys append and stop at their bound, kernel keys are range
 * checked per line but cross-checked only after the file (so "rate 0" and
 * "burst 0" may sit on separate lines), model keys go through the extra
 * hook exactly as mxthrottled.c's config_read() sets it, and every error
 * names the file and line: "FILE:LINE: unknown key 'x'", "FILE:LINE: key:
 * ...", sections, empty values, a missing file.  runtime.conf (the run
 * user's file) takes only the runtime keys, skipping every other line with
 * FILE:LINE; the main file's owner and mode checks (conf_trust.h).  No
 * privileges needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cfgkeys.h"
#include "conf_trust.h"
#include "daemon_conf.h"
#include "model_params.h"
#include "policy_server.h"

#define NCPU 4

/* Per-test state: a temp file path and a config with the model hook. */
struct fx {
	char path[64];
	struct mxt_daemon_conf c;
	struct mxt_model_params mp;
	char err[512];
};

/* The model hook, as mxthrottled.c's model_key(). */
static int model_key(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct mxt_model_params *p = ctx;

	if (!mxt_model_param_find(name))
		return -ENOENT;
	return mxt_model_param_set(p, name, value, err, errlen);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	snprintf(f->path, sizeof(f->path), "/tmp/mxt-test-conf.XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0) {
		free(f);
		return -1;
	}
	close(fd);
	unsetenv("MXT_PIN_DIR"); /* the pin_dir default must be MXT_PIN_DIR */
	mxt_model_params_default(&f->mp);
	f->c.extra = model_key;
	f->c.extra_ctx = &f->mp;
	mxt_daemon_conf_defaults(&f->c, NCPU);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

/* Replace the temp file's contents with 'text'. */
static void put(struct fx *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	if (!fp)
		fail_msg("cannot write %s", f->path);
	fputs(text, fp);
	fclose(fp);
}

/* Load the temp file into f->c; returns the load's result. */
static int load(struct fx *f, const char *text)
{
	put(f, text);
	f->err[0] = '\0';
	return mxt_daemon_conf_load(&f->c, f->path, f->err, sizeof(f->err));
}

/* The load must fail with 'want_rc' and an error "PATH:LINE: <prefix>...". */
static void expect_error(struct fx *f, const char *text, int want_rc, int line, const char *prefix)
{
	char want[256];
	int rc = load(f, text);

	if (rc != want_rc)
		fail_msg("load of '%s': got %d (%s), want %d", text, rc, f->err, want_rc);
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", f->path, line, prefix);
	else
		snprintf(want, sizeof(want), "%s: %s", f->path, prefix);
	if (strncmp(f->err, want, strlen(want)) != 0)
		fail_msg("error of '%s': got '%s', want it to start with '%s'", text, f->err, want);
}

static void defaults_are_valid(void **state)
{
	struct fx *f = *state;
	char err[256] = "";

	assert_int_equal(f->c.nifaces, 0);
	assert_int_equal(f->c.attach_mode, MXT_XDP_AUTO);
	assert_string_equal(f->c.pin_dir, MXT_PIN_DIR);
	assert_int_equal(f->c.max_sources, MXT_MAX_SOURCES);
	assert_string_equal(f->c.state_db, "/var/lib/mxthrottle/history.mdb");
	assert_int_equal(f->c.checkpoint_interval, 60);
	assert_int_equal(f->c.tick_interval_ms, 1000);
	/* The default endpoint is Postfix's (policy_server.h), until a
	 * policy_listen line replaces it. */
	assert_int_equal(f->c.npolicy_listen, 1);
	assert_string_equal(f->c.policy_listen[0], MXT_POLICY_SRV_DEFAULT_LISTEN);
	assert_string_equal(f->c.policy_group, "postfix");
	assert_string_equal(f->c.control_socket, "/run/mxthrottle/control.sock");
	assert_string_equal(f->c.user, "mxthrottle");
	assert_int_equal(f->c.nallow, 0);
	/* The extra hook survives the defaults (they memset the struct). */
	assert_ptr_equal(f->c.extra, model_key);
	assert_ptr_equal(f->c.extra_ctx, &f->mp);
	if (mxt_config_check(&f->c.kernel, err, sizeof(err)) != 0)
		fail_msg("default kernel config: got '%s', want valid", err);
	/* Every documented key has a name, a default and a description. */
	assert_true(mxt_daemon_key_count() >= 12);
	for (size_t i = 0; i < mxt_daemon_key_count(); i++) {
		const struct mxt_daemon_key *k = mxt_daemon_key_at(i);

		assert_non_null(k);
		if (!k->name[0] || !k->defval[0] || !k->desc[0])
			fail_msg("key %zu: got an empty name, default or description", i);
	}
	assert_null(mxt_daemon_key_at(mxt_daemon_key_count()));
	/* An empty file changes nothing and is valid: the policy endpoint
	 * stays the default. */
	assert_int_equal(load(f, "# nothing\n; nothing either\n\n"), 0);
	assert_int_equal(f->c.checkpoint_interval, 60);
	assert_int_equal(f->c.npolicy_listen, 1);
	assert_string_equal(f->c.policy_listen[0], MXT_POLICY_SRV_DEFAULT_LISTEN);
}

static void every_daemon_key_parsed(void **state)
{
	struct fx *f = *state;
	int rc = load(f,
		      "interface = eth0\n"
		      "attach_mode = skb\n"
		      "pin_dir = /sys/fs/bpf/mxt-test\n"
		      "max_sources = 4096\n"
		      "state_db = /tmp/mxt-test/history.mdb\n"
		      "checkpoint_interval = 30\n"
		      "tick_interval = 250\n"
		      "policy_listen = inet:127.0.0.1:10031\n"
		      "policy_group = mail\n"
		      "control_socket = /tmp/mxt-test/control.sock\n"
		      "user = root\n"
		      "allow = 198.18.7.0/24\n"
		      "mode = monitor\n"
		      "ports = 25,587\n"
		      "unknown_rate = 90\n");

	if (rc)
		fail_msg("load: got %d (%s), want 0", rc, f->err);
	assert_int_equal(f->c.nifaces, 1);
	assert_string_equal(f->c.ifaces[0], "eth0");
	assert_int_equal(f->c.attach_mode, MXT_XDP_SKB);
	assert_string_equal(f->c.pin_dir, "/sys/fs/bpf/mxt-test");
	assert_int_equal(f->c.max_sources, 4096);
	assert_string_equal(f->c.state_db, "/tmp/mxt-test/history.mdb");
	assert_int_equal(f->c.checkpoint_interval, 30);
	assert_int_equal(f->c.tick_interval_ms, 250);
	assert_int_equal(f->c.npolicy_listen, 1);
	assert_string_equal(f->c.policy_listen[0], "inet:127.0.0.1:10031");
	assert_string_equal(f->c.policy_group, "mail");
	assert_string_equal(f->c.control_socket, "/tmp/mxt-test/control.sock");
	assert_string_equal(f->c.user, "root");
	assert_int_equal(f->c.nallow, 1);
	assert_string_equal(f->c.allow[0], "198.18.7.0/24");
	assert_int_equal(f->c.kernel.mode, MXT_MODE_MONITOR);
	assert_int_equal(f->c.kernel.nports, 2);
	assert_int_equal(f->c.kernel.ports[1], 587);
	assert_int_equal(f->c.kernel.class_limit[MXT_CLASS_UNKNOWN].rate, 90);
	/* Blanks around '=' and the value do not matter; later lines win. */
	rc = load(f, "  attach_mode=native  \ncheckpoint_interval =1\ncheckpoint_interval= 3600\n");
	if (rc)
		fail_msg("blanks around '=': got %d (%s), want 0", rc, f->err);
	assert_int_equal(f->c.attach_mode, MXT_XDP_NATIVE);
	assert_int_equal(f->c.checkpoint_interval, 3600);
	assert_int_equal(load(f, "policy_listen = unix:/var/spool/postfix/private/mxthrottle\n"), 0);
	assert_int_equal(f->c.npolicy_listen, 2);
	assert_string_equal(f->c.policy_listen[1], "unix:/var/spool/postfix/private/mxthrottle");
}

/* "auto" is attach_mode's documented default and one of its documented
 * values (mxthrottle.conf(5)): a file may say so explicitly. */
static void attach_mode_auto_accepted(void **state)
{
	struct fx *f = *state;
	int rc;

	f->c.attach_mode = MXT_XDP_SKB;
	rc = load(f, "attach_mode = auto\n");
	if (rc)
		fail_msg("attach_mode = auto: got %d (%s), want accepted", rc, f->err);
	assert_int_equal(f->c.attach_mode, MXT_XDP_AUTO);
}

static void repeatable_keys_append_and_are_bounded(void **state)
{
	struct fx *f = *state;
	char text[16384], line[96];
	size_t used = 0;

	/* interface: up to MXT_CONF_IFACES_MAX, the next one is line 9's error. */
	text[0] = '\0';
	for (int i = 0; i < MXT_CONF_IFACES_MAX; i++) {
		snprintf(line, sizeof(line), "interface = veth%d\n", i);
		strcat(text, line);
	}
	assert_int_equal(load(f, text), 0);
	assert_int_equal(f->c.nifaces, MXT_CONF_IFACES_MAX);
	assert_string_equal(f->c.ifaces[MXT_CONF_IFACES_MAX - 1], "veth7");
	mxt_daemon_conf_defaults(&f->c, NCPU);
	strcat(text, "interface = one-too-many\n");
	expect_error(f, text, -EINVAL, MXT_CONF_IFACES_MAX + 1, "interface: more than 8 interfaces");

	/* policy_listen: up to 4; "none" empties the list. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	assert_int_equal(load(f, "policy_listen = inet:127.0.0.1:1\npolicy_listen = inet:127.0.0.1:2\n"
				 "policy_listen = unix:/run/a.sock\npolicy_listen = unix:/run/b.sock\n"), 0);
	assert_int_equal(f->c.npolicy_listen, MXT_CONF_LISTEN_MAX);
	assert_string_equal(f->c.policy_listen[2], "unix:/run/a.sock");
	assert_int_equal(load(f, "policy_listen = none\n"), 0);
	assert_int_equal(f->c.npolicy_listen, 0);
	mxt_daemon_conf_defaults(&f->c, NCPU);
	expect_error(f, "policy_listen = inet:127.0.0.1:1\npolicy_listen = inet:127.0.0.1:2\n"
			"policy_listen = inet:127.0.0.1:3\npolicy_listen = inet:127.0.0.1:4\n"
			"policy_listen = inet:127.0.0.1:5\n",
		     -EINVAL, 5, "policy_listen: more than 4 endpoints");

	/* allow: up to MXT_CONF_ALLOW_MAX connectors. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	for (int i = 0; i < MXT_CONF_ALLOW_MAX; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "allow = 198.18.%d.0/24\n", i);
	assert_int_equal(load(f, text), 0);
	assert_int_equal(f->c.nallow, MXT_CONF_ALLOW_MAX);
	assert_string_equal(f->c.allow[0], "198.18.0.0/24");
	assert_string_equal(f->c.allow[MXT_CONF_ALLOW_MAX - 1], "198.18.255.0/24");
	mxt_daemon_conf_defaults(&f->c, NCPU);
	snprintf(text + used, sizeof(text) - used, "allow = 2001:2::/48\n");
	expect_error(f, text, -EINVAL, MXT_CONF_ALLOW_MAX + 1, "allow: more than 256 connectors");
	assert_int_equal(f->c.nallow, MXT_CONF_ALLOW_MAX);
}

static void rate_and_burst_zero_on_separate_lines(void **state)
{
	struct fx *f = *state;
	int rc = load(f, "unknown_rate = 0\n# the cross-key check waits for the end of the file\n"
			 "unknown_burst = 0\n");

	if (rc)
		fail_msg("rate 0 and burst 0 on separate lines: got %d (%s), want 0", rc, f->err);
	assert_int_equal(f->c.kernel.class_limit[MXT_CLASS_UNKNOWN].rate, 0);
	assert_int_equal(f->c.kernel.class_limit[MXT_CLASS_UNKNOWN].burst, 0);
	/* Burst first works too. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	assert_int_equal(load(f, "throttled_burst = 0\nthrottled_rate = 0\n"), 0);
	assert_int_equal(f->c.kernel.class_limit[MXT_CLASS_THROTTLED].rate, 0);
	/* A rate of 0 alone fails once the file is read: the error names the
	 * file (and, if any, the line of the last kernel key) and the keys. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	put(f, "unknown_rate = 0\nuser = root\n");
	f->err[0] = '\0';
	assert_int_equal(mxt_daemon_conf_load(&f->c, f->path, f->err, sizeof(f->err)), -EINVAL);
	{
		size_t n = strlen(f->path);
		const char *rest = f->err + n;

		if (strncmp(f->err, f->path, n) != 0 ||
		    (strncmp(rest, ": ", 2) != 0 && strncmp(rest, ":1: ", 4) != 0))
			fail_msg("rate 0 with burst 30: got '%s', want '%s: ...' or '%s:1: ...'", f->err,
				 f->path, f->path);
	}
	if (!strstr(f->err, "unknown_rate") || !strstr(f->err, "unknown_burst"))
		fail_msg("rate 0 with burst 30: got '%s', want both keys named", f->err);
}

static void unknown_key_names_file_and_line(void **state)
{
	struct fx *f = *state;

	expect_error(f, "# comment\nuser = root\nx = 1\n", -EINVAL, 3, "unknown key 'x'");
	assert_string_equal(strstr(f->err, "unknown"), "unknown key 'x'");
	/* Only the first error is reported. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	expect_error(f, "interfaces = eth0\nbogus = 2\n", -EINVAL, 1, "unknown key 'interfaces'");
	/* A model key is unknown without the hook. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	f->c.extra = NULL;
	expect_error(f, "jump_factor = 5\n", -EINVAL, 1, "unknown key 'jump_factor'");
	/* Direct sets report the key without file or line. */
	assert_int_equal(mxt_daemon_conf_set(&f->c, "nope", "1", f->err, sizeof(f->err)), -ENOENT);
	assert_string_equal(f->err, "unknown key 'nope'");
}

static void bad_values_name_file_line_and_key(void **state)
{
	static const struct {
		const char *text;
		const char *prefix; /* after "FILE:1: " */
	} cases[] = {
		{ "checkpoint_interval = 0\n", "checkpoint_interval: '0' is not a number in 1..3600" },
		{ "checkpoint_interval = 3601\n", "checkpoint_interval: " },
		{ "tick_interval = 99\n", "tick_interval: " },
		{ "max_sources = 1023\n", "max_sources: " },
		{ "max_sources = lots\n", "max_sources: " },
		{ "attach_mode = hw\n", "attach_mode: 'hw' is not auto, native or skb" },
		{ "attach_mode = fast\n", "attach_mode: " },
		{ "interface = eth/0\n", "interface: 'eth/0' is not an interface name" },
		{ "interface = averyveryverylongname\n", "interface: value longer than 15 bytes" },
		{ "policy_listen = tcp:127.0.0.1:1\n", "policy_listen: 'tcp:127.0.0.1:1' is not unix:PATH or inet:HOST:PORT" },
		{ "allow = 198.18.0.0/33\n", "allow: '198.18.0.0/33' is not an IPv4 or IPv6 CIDR" },
		{ "allow = example.org\n", "allow: " },
		{ "user = \n", "user: empty value" },
		{ "mode = drop\n", "mode: " },
		{ "unknown_rate = -1\n", "unknown_rate: " },
		{ "ports = 25,25\n", "ports: " },
		{ "jump_factor = 1\n", "jump_factor: " },
		{ "probation_schedule = 20,abc\n", "probation_schedule: 'abc' is not a whole number" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mxt_daemon_conf_defaults(&f->c, NCPU);
		expect_error(f, cases[i].text, -EINVAL, 1, cases[i].prefix);
	}
	/* The error line is the offending one, not the last one. */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	expect_error(f, "user = root\n\n# x\nstate_db = /tmp/x\ntick_interval = 1\nuser = nobody\n", -EINVAL, 5,
		     "tick_interval: ");
	/* A line that is not "name = value". */
	mxt_daemon_conf_defaults(&f->c, NCPU);
	expect_error(f, "user = root\njust some words\n", -EINVAL, 2, "");
	/* A value too long for its field. */
	{
		char text[PATH_MAX + 64];

		memset(text, 'a', sizeof(text));
		memcpy(text, "pin_dir = /", 11);
		text[sizeof(text) - 2] = '\n';
		text[sizeof(text) - 1] = '\0';
		mxt_daemon_conf_defaults(&f->c, NCPU);
		put(f, text);
		if (mxt_daemon_conf_load(&f->c, f->path, f->err, sizeof(f->err)) == 0)
			fail_msg("a %zu-byte pin_dir: got accepted, want refused", sizeof(text));
	}
}

static void section_header_rejected(void **state)
{
	struct fx *f = *state;

	expect_error(f, "[mxthrottled]\nuser = root\n", -EINVAL, 2, "sections are not used ([mxthrottled])");
}

static void model_keys_through_the_extra_hook(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int rc = load(f, "jump_factor = 5\nprobation_schedule = 20,100,500\nthrottle_cooldown = 45m\n"
			 "establish_days = 4\nuser = root\n");

	if (rc)
		fail_msg("model keys: got %d (%s), want 0", rc, f->err);
	assert_true(f->mp.jump_factor == 5.0);
	assert_int_equal(f->mp.schedule_len, 3);
	assert_int_equal(f->mp.schedule[0], 20);
	assert_int_equal(f->mp.schedule[1], 100);
	assert_int_equal(f->mp.schedule[2], 500);
	assert_int_equal(f->mp.throttle_cooldown, 45 * 60);
	assert_int_equal(f->mp.establish_days, 4);
	assert_string_equal(f->c.user, "root");
	if (mxt_model_params_check(&f->mp, err, sizeof(err)) != 0)
		fail_msg("model params after the file: got '%s', want valid", err);
	/* Other values of the same keys. */
	assert_int_equal(load(f, "jump_factor = 2.5\nprobation_schedule = 10,50\n"), 0);
	assert_true(f->mp.jump_factor == 2.5);
	assert_int_equal(f->mp.schedule_len, 2);
	assert_int_equal(f->mp.schedule[1], 50);
}

static void missing_file_reported(void **state)
{
	struct fx *f = *state;
	char want[128];

	unlink(f->path);
	f->err[0] = '\0';
	assert_int_equal(mxt_daemon_conf_load(&f->c, f->path, f->err, sizeof(f->err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", f->path);
	assert_string_equal(f->err, want);
	f->err[0] = '\0';
	assert_int_equal(mxt_daemon_conf_load(&f->c, "/nonexistent/dir/mxthrottle.conf", f->err,
					      sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "/nonexistent/dir/mxthrottle.conf: "));
}

/* Warnings of the runtime loader, kept for the asserts. */
struct warns {
	char text[16][512];
	int n;
};

static void collect_warn(void *ctx, const char *msg)
{
	struct warns *w = ctx;

	if (w->n < 16)
		snprintf(w->text[w->n++], sizeof(w->text[0]), "%s", msg);
}

/* One of the warnings starts with "PATH:LINE: prefix". */
static void expect_warn(const struct warns *w, const char *path, int line, const char *prefix)
{
	char want[512];

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, prefix);
	else
		snprintf(want, sizeof(want), "%s: %s", path, prefix);
	for (int i = 0; i < w->n; i++)
		if (!strncmp(w->text[i], want, strlen(want)))
			return;
	fail_msg("warnings: got %d, none starting with '%s' (first: '%s')", w->n, want,
		 w->n ? w->text[0] : "");
}

/* The kernel key's value as text. */
static const char *kget(const struct fx *f, const char *key)
{
	static char buf[64];

	if (mxt_config_get(&f->c.kernel, key, buf, sizeof(buf)) < 0)
		fail_msg("config get %s failed", key);
	return buf;
}

/* The runtime keys are exactly the kernel keys but the prefixes. */
static void runtime_keys_are_config_set_keys(void **state)
{
	(void)state;
	assert_false(mxt_cfgkey_runtime(NULL));
	for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);
		int want = strcmp(k->name, "v4_prefix") && strcmp(k->name, "v6_prefix");

		if (mxt_cfgkey_runtime(k) != want)
			fail_msg("%s: runtime got %d, want %d", k->name, mxt_cfgkey_runtime(k), want);
	}
}

/* The run user's lines that would steer start-up are refused, each with
 * FILE:LINE; the runtime lines of the same file apply. */
static void runtime_conf_refuses_all_but_runtime_keys(void **state)
{
	struct fx *f = *state;
	struct warns w = { .n = 0 };
	struct mxt_daemon_conf before = f->c;

	put(f, "# written by mxthrottled\n"
	       "unknown_burst = 7\n"
	       "user = root\n"
	       "state_db = /tmp/evil.mdb\n"
	       "pin_dir = /tmp/evil\n"
	       "control_socket = /tmp/evil.sock\n"
	       "interface = lo\n"
	       "policy_listen = inet:0.0.0.0:25\n"
	       "allow = 0.0.0.0/0\n"
	       "v4_prefix = 8\n"
	       "establish_days = 1\n"
	       "no equals sign\n"
	       "unknown_rate = fast\n"
	       "\n"
	       "  ; comment\n"
	       "mode = monitor\n"
	       "fleet_redis = tcp:198.18.9.9:6379\n");
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, f->path, collect_warn, &w), 2);
	assert_string_equal(kget(f, "unknown_burst"), "7");
	assert_string_equal(kget(f, "mode"), "monitor");
	assert_string_equal(f->c.user, before.user);
	assert_string_equal(f->c.state_db, before.state_db);
	assert_string_equal(f->c.pin_dir, before.pin_dir);
	assert_string_equal(f->c.control_socket, before.control_socket);
	assert_string_equal(f->c.policy_listen[0], before.policy_listen[0]);
	assert_int_equal(f->c.nifaces, 0);
	assert_int_equal(f->c.nallow, 0);
	assert_int_equal(f->c.kernel.v4_prefix, before.kernel.v4_prefix);
	assert_int_equal(f->mp.establish_days, 3);
	assert_int_equal(f->c.fleet.nendpoints, 0);
	assert_int_equal(w.n, 12);
	expect_warn(&w, f->path, 17, "fleet_redis: not a runtime key");
	expect_warn(&w, f->path, 3, "user: not a runtime key");
	expect_warn(&w, f->path, 4, "state_db: not a runtime key");
	expect_warn(&w, f->path, 5, "pin_dir: not a runtime key");
	expect_warn(&w, f->path, 6, "control_socket: not a runtime key");
	expect_warn(&w, f->path, 7, "interface: not a runtime key");
	expect_warn(&w, f->path, 8, "policy_listen: not a runtime key");
	expect_warn(&w, f->path, 9, "allow: not a runtime key");
	expect_warn(&w, f->path, 10, "v4_prefix: not a runtime key");
	expect_warn(&w, f->path, 11, "establish_days: not a runtime key");
	expect_warn(&w, f->path, 12, "syntax error");
	expect_warn(&w, f->path, 13, "unknown_rate");
}

/* Lines that together fail the cross-key check: the whole file is
 * ignored, the main file's values stay. */
static void runtime_conf_inconsistent_file_ignored(void **state)
{
	struct fx *f = *state;
	struct warns w = { .n = 0 };
	char before[64];

	snprintf(before, sizeof(before), "%s", kget(f, "unknown_rate"));
	put(f, "unknown_rate = 0\nunknown_burst = 5\n");
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, f->path, collect_warn, &w), 0);
	assert_string_equal(kget(f, "unknown_rate"), before);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.text[0], "whole file ignored"));
	/* Together on a valid pair they apply. */
	w.n = 0;
	put(f, "unknown_rate = 0\nunknown_burst = 0\n");
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, f->path, collect_warn, &w), 2);
	assert_string_equal(kget(f, "unknown_rate"), "0");
	assert_int_equal(w.n, 0);
}

/* Bounded, printable lines only; never through a symlink; a missing file
 * is no warning. */
static void runtime_conf_bounds(void **state)
{
	struct fx *f = *state;
	struct warns w = { .n = 0 };
	char text[1024], link[80];
	FILE *fp;

	memset(text, 'x', 300);
	memcpy(text, "unknown_burst = ", 16);
	snprintf(text + 300, sizeof(text) - 300, "\nunknown_burst = 8\x1b[2J\nunknown_burst = 6\n");
	put(f, text);
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, f->path, collect_warn, &w), 1);
	assert_string_equal(kget(f, "unknown_burst"), "6");
	expect_warn(&w, f->path, 1, "line longer than 255 bytes");
	expect_warn(&w, f->path, 2, "control character in line");

	w.n = 0;
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	fwrite("unknown_burst = 4\0\nunknown_burst = 3\n", 1, 37, fp);
	fclose(fp);
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, f->path, collect_warn, &w), 1);
	assert_string_equal(kget(f, "unknown_burst"), "3");
	expect_warn(&w, f->path, 1, "NUL byte in line");

	w.n = 0;
	snprintf(link, sizeof(link), "%s.link", f->path);
	unlink(link);
	assert_int_equal(symlink(f->path, link), 0);
	put(f, "unknown_burst = 9\n");
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, link, collect_warn, &w), 0);
	assert_string_equal(kget(f, "unknown_burst"), "3");
	expect_warn(&w, link, 0, "a symbolic link: ignored");
	unlink(link);

	w.n = 0;
	assert_int_equal(mxt_daemon_conf_load_runtime(&f->c, "/nonexistent/runtime.conf",
						      collect_warn, &w), 0);
	assert_int_equal(w.n, 0);
}

/* struct stat with the given owner and mode. */
static struct stat st_of(uid_t uid, mode_t mode)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_uid = uid;
	st.st_mode = mode;
	return st;
}

/* Root alone may write the main file and its directory. */
static void conf_trust_modes(void **state)
{
	struct stat st;
	char why[160];

	(void)state;
	st = st_of(0, S_IFREG | 0644);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), 0);
	st = st_of(0, S_IFREG | 0600);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), 0);
	st = st_of(0, S_IFREG | 0664);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "file writable by its group (mode 0664; chmod go-w)");
	st = st_of(0, S_IFREG | 0646);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "file writable by everyone (mode 0646; chmod go-w)");
	st = st_of(104, S_IFREG | 0644);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "file owned by uid 104, not root (chown root)");
	st = st_of(0, S_IFDIR | 0755);
	assert_int_equal(mxt_conf_stat_trusted(&st, 0, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "not a regular file");
	assert_int_equal(mxt_conf_stat_trusted(&st, 1, why, sizeof(why)), 0);
	st = st_of(0, S_IFDIR | 0775);
	assert_int_equal(mxt_conf_stat_trusted(&st, 1, why, sizeof(why)), -EPERM);
	assert_string_equal(why, "directory writable by its group (mode 0775; chmod go-w)");
	/* /tmp: nobody else may rename or remove root's file there. */
	st = st_of(0, S_IFDIR | 01777);
	assert_int_equal(mxt_conf_stat_trusted(&st, 1, why, sizeof(why)), 0);
	st = st_of(0, S_IFDIR | 0777);
	assert_int_equal(mxt_conf_stat_trusted(&st, 1, why, sizeof(why)), -EPERM);
	st = st_of(1000, S_IFDIR | 0755);
	assert_int_equal(mxt_conf_stat_trusted(&st, 1, why, sizeof(why)), -EPERM);
}

/* On a real file: the error names the file (trusted only when this test
 * runs as root, which owns the file it made). */
static void conf_trust_file(void **state)
{
	struct fx *f = *state;
	int want = geteuid() == 0 ? 0 : -EPERM;

	put(f, "mode = enforce\n");
	assert_int_equal(chmod(f->path, 0644), 0);
	f->err[0] = '\0';
	assert_int_equal(mxt_conf_trusted(f->path, f->err, sizeof(f->err)), want);
	assert_int_equal(chmod(f->path, 0666), 0);
	assert_int_equal(mxt_conf_trusted(f->path, f->err, sizeof(f->err)), -EPERM);
	if (strncmp(f->err, f->path, strlen(f->path)) || !strstr(f->err, "refusing"))
		fail_msg("error: got '%s', want '%s: ... refusing ...'", f->err, f->path);
	assert_int_equal(mxt_conf_trusted("/nonexistent/x.conf", f->err, sizeof(f->err)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(defaults_are_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(every_daemon_key_parsed, setup, teardown),
		cmocka_unit_test_setup_teardown(attach_mode_auto_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(repeatable_keys_append_and_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(rate_and_burst_zero_on_separate_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_key_names_file_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_values_name_file_line_and_key, setup, teardown),
		cmocka_unit_test_setup_teardown(section_header_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(model_keys_through_the_extra_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_file_reported, setup, teardown),
		cmocka_unit_test(runtime_keys_are_config_set_keys),
		cmocka_unit_test_setup_teardown(runtime_conf_refuses_all_but_runtime_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(runtime_conf_inconsistent_file_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(runtime_conf_bounds, setup, teardown),
		cmocka_unit_test(conf_trust_modes),
		cmocka_unit_test_setup_teardown(conf_trust_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
