// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_config.c - libFuzzer harness for the configuration loaders: the
 * kernel keys (user/core/cfgkeys.c, mxt_config_load_file) and the daemon's file
 * (user/daemon/daemon_conf.c through inih, mxt_daemon_conf_load).  The input is
 * written to a private temporary file (0600 in a 0700 directory, as a
 * trusted config would be) and loaded both ways.  A file that loads must
 * give a config that passes mxt_config_check, and every key's value must
 * survive "config get" then "config set" unchanged; a file that does not
 * load must say why.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgkeys.h"
#include "daemon_conf.h"
#include "harness.h"

static char path[96];
static int fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/mxthrottle.conf", fz_tmpdir("config"));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open", strerror(errno));
	return 0;
}

/* Every key, formatted, set back onto the defaults: the same config. */
static void check_round_trip(const struct mxt_config *cfg)
{
	static char names[128][64], values[128][64];
	const char *keys[128], *vals[128];
	struct mxt_config again;
	char err[256];
	size_t n = mxt_cfgkey_count();

	if (n > 128)
		die("round trip", "more than 128 keys");
	for (size_t i = 0; i < n; i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);

		snprintf(names[i], sizeof(names[i]), "%s", k->name);
		if (mxt_config_get(cfg, k->name, values[i], sizeof(values[i])) != 0)
			die("config get", k->name);
		keys[i] = names[i];
		vals[i] = values[i];
	}
	if (mxt_config_defaults(&again, 2) != 0)
		die("defaults", "failed");
	if (mxt_config_set_many(&again, n, keys, vals, err, sizeof(err)) != 0)
		die("a loaded config does not set back", err);
	if (memcmp(&again, cfg, sizeof(again)) != 0)
		die("round trip", "config get + set gave another config");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxt_config cfg;
	static struct mxt_daemon_conf dc;
	char err[512] = "";
	int rc;

	if (size > 65536)
		return 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		die("write", strerror(errno));

	if (mxt_config_defaults(&cfg, 2) != 0)
		die("defaults", "failed");
	rc = mxt_config_load_file(&cfg, path, err, sizeof(err));
	if (rc == 0) {
		struct mxt_config checked = cfg;

		if (mxt_config_check(&checked, err, sizeof(err)) != 0)
			die("a loaded config fails its check", err);
		check_round_trip(&cfg);
	} else if (!err[0]) {
		die("mxt_config_load_file", "refused without a reason");
	}

	mxt_daemon_conf_defaults(&dc, 2);
	err[0] = '\0';
	rc = mxt_daemon_conf_load(&dc, path, err, sizeof(err));
	if (rc == 0) {
		if (dc.nifaces > MXT_CONF_IFACES_MAX || dc.npolicy_listen > MXT_CONF_LISTEN_MAX ||
		    dc.nallow > MXT_CONF_ALLOW_MAX)
			die("mxt_daemon_conf_load", "a repeatable key over its maximum");
		if (memchr(dc.user, '\0', sizeof(dc.user)) == NULL ||
		    memchr(dc.pin_dir, '\0', sizeof(dc.pin_dir)) == NULL)
			die("mxt_daemon_conf_load", "a string without its NUL");
		check_round_trip(&dc.kernel);
	} else if (!err[0]) {
		die("mxt_daemon_conf_load", "refused without a reason");
	}
	return 0;
}
