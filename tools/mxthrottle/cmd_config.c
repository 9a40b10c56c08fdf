// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_config.c - "mxthrottle config get [KEY] [--json]" and "config set KEY
 * VALUE [KEY VALUE ...]" over the config map, through the key table of
 * user/core/cfgkeys.c.  A set validates the whole resulting config (every limit
 * re-derived) before the single map write; several pairs are applied
 * together, which is how a class moves to rate 0 / burst 0.
 *
 * JSON: {"mode":"enforce","ports":"25",...}: every key (or the one asked
 * for) with its value as a string, exactly as "config set" accepts it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cfgkeys.h"
#include <bpf/libbpf.h>

#include "cli.h"

/* "config get [KEY] [--json]". */
static int config_get(struct cli *c, const char *key, int json)
{
	struct mxt_config cfg;
	struct mxt_maps m;
	char val[128];
	int ret;

	if (key && !mxt_cfgkey_find(key))
		return cli_err("unknown config key '%s' (see 'mxthrottle config get')", key);
	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	mxt_maps_close(&m);
	if (ret)
		return cli_err("cannot read the config: %s", strerror(-ret));
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
			const struct mxt_cfgkey *k = mxt_cfgkey_at(i);

			if (key && strcmp(key, k->name))
				continue;
			k->get(&cfg, k, val, sizeof(val));
			mxt_jw_kstr(&w, k->name, val);
		}
		mxt_jw_obj_close(&w);
		return mxt_jw_finish(&w) ? -1 : 0;
	}
	if (key) {
		mxt_config_get(&cfg, key, val, sizeof(val));
		printf("%s\n", val);
		return 0;
	}
	for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);

		k->get(&cfg, k, val, sizeof(val));
		if (strcmp(val, k->defval))
			printf("%-18s %-10s (default %s)\n", k->name, val, k->defval);
		else
			printf("%-18s %s\n", k->name, val);
	}
	return 0;
}

/* "config set KEY VALUE [KEY VALUE ...]". */
static int config_set(struct cli *c, int n, char **kv)
{
	const char *keys[64], *vals[64];
	struct mxt_config cfg;
	struct mxt_maps m;
	char err[256], val[128];
	int ret, npairs = n / 2;

	if (n % 2 || npairs < 1 || npairs > 64)
		return cli_usage("config");
	for (int i = 0; i < npairs; i++) {
		keys[i] = kv[2 * i];
		vals[i] = kv[2 * i + 1];
	}
	/* Maps pinned by another loader (xdp-loader, ip link) start with an
	 * empty config, on which the program passes everything: the first
	 * "config set" writes the defaults under the values given. */
	if (cli_open_maps(c, &m, MXT_MAPS_LOCK | MXT_MAPS_ANY_ABI))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	if (ret) {
		cli_err("cannot read the config: %s", strerror(-ret));
		goto out;
	}
	if (cfg.abi_version == 0) {
		long ncpu = libbpf_num_possible_cpus();

		mxt_config_defaults(&cfg, ncpu > 0 ? (__u32)ncpu : 1);
		fprintf(stderr, "mxthrottle: %s was unconfigured: defaults written with these values\n",
			c->pin_dir);
	}
	ret = mxt_config_set_many(&cfg, (size_t)npairs, keys, vals, err, sizeof(err));
	if (ret) {
		cli_err("%s; nothing changed", err);
		goto out;
	}
	ret = mxt_maps_config_write(&m, &cfg);
	if (ret) {
		cli_err("cannot write the config: %s", strerror(-ret));
		goto out;
	}
	for (int i = 0; i < npairs; i++) {
		mxt_config_get(&cfg, keys[i], val, sizeof(val));
		printf("%s = %s\n", keys[i], val);
	}
out:
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}

int cmd_config(struct cli *c, int argc, char **argv)
{
	int r, json = 0;
	const char *sub;

	if ((r = cli_json_opts("config", argc, argv, &json)))
		return r > 0 ? 0 : -1;
	if (optind >= argc)
		return cli_usage("config");
	sub = argv[optind++];
	if (!strcmp(sub, "get") && argc - optind <= 1)
		return config_get(c, optind < argc ? argv[optind] : NULL, json);
	if (!strcmp(sub, "set") && !json)
		return config_set(c, argc - optind, argv + optind);
	return cli_usage("config");
}
