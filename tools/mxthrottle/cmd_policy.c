// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_policy.c - "mxthrottle policy set ADDR CLASS [--rate R --burst B]",
 * "policy del ADDR", "policy list [--json]": manual entries of mxt_policy
 * (a class for a source, optionally with its own limit).  The daemon will
 * normally own this map; these commands are for operators and tests.
 * ADDR is masked to the configured prefix (v4_prefix / v6_prefix), exactly
 * as the XDP program keys the source.
 *
 * JSON (list): {"policy":[{"source":S,"class":S,"override":B,
 *               ["rate":N|"unlimited","burst":N,] "updated_unix":N}...]}
 * (rate and burst only for overrides), sorted like "allow list".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "cfgkeys.h"
#include "cli.h"

/* Order policy entries: family, address, prefix length. */
static int cmp_policy(const void *a, const void *b)
{
	const struct mxt_key *x = &((const struct mxt_policy_entry *)a)->key;
	const struct mxt_key *y = &((const struct mxt_policy_entry *)b)->key;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (d)
		return d;
	return x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
}

/* "policy set ADDR CLASS [--rate R --burst B]". */
static int policy_set(struct cli *c, const char *addr, const char *class,
		      const char *rate, const char *burst)
{
	char keystr[MXT_ADDRSTRLEN], err[256], rs[24];
	struct mxt_policy pol;
	struct mxt_config cfg;
	struct mxt_addr a;
	struct mxt_key key;
	struct mxt_maps m;
	int cls, ret;

	memset(&pol, 0, sizeof(pol));
	cls = mxt_class_by_name(class);
	if (cls < 0)
		return cli_err("unknown class '%s': want unknown, graylisted, established, throttled "
			       "or blocked", class);
	if (!rate != !burst)
		return cli_err("--rate and --burst go together");
	if (rate) {
		if (mxt_limit_parse(rate, burst, &pol.limit, err, sizeof(err)))
			return cli_err("%s", err);
		pol.flags |= MXT_POLICY_F_OVERRIDE;
	}
	pol.class = (__u32)cls;
	pol.updated_unix = (__u64)time(NULL);
	if (cli_open_maps(c, &m, MXT_MAPS_LOCK))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	if (ret) {
		cli_err("cannot read the config: %s", strerror(-ret));
		goto out;
	}
	ret = cli_source_key(addr, &cfg, &key, &a);
	if (ret)
		goto out;
	mxt_key_format(&key, keystr, sizeof(keystr));
	ret = mxt_policy_update(&m, &key, &pol);
	if (ret == -E2BIG || ret == -ENOSPC)
		cli_err("cannot set the policy of %s: mxt_policy is full (%u entries)", keystr,
			m.max_entries[MXT_MAP_ID_POLICY]);
	else if (ret)
		cli_err("cannot set the policy of %s: %s", keystr, strerror(-ret));
	else if (rate) {
		mxt_rate_format(pol.limit.rate, rs, sizeof(rs));
		printf("%s: class %s, override %s SYNs/min burst %u\n", keystr, class, rs, pol.limit.burst);
	} else {
		printf("%s: class %s\n", keystr, class);
	}
out:
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}

/* "policy del ADDR". */
static int policy_del(struct cli *c, const char *addr)
{
	char keystr[MXT_ADDRSTRLEN];
	struct mxt_config cfg;
	struct mxt_addr a;
	struct mxt_key key;
	struct mxt_maps m;
	int ret;

	if (cli_open_maps(c, &m, MXT_MAPS_LOCK))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	if (ret) {
		cli_err("cannot read the config: %s", strerror(-ret));
		goto out;
	}
	ret = cli_source_key(addr, &cfg, &key, &a);
	if (ret)
		goto out;
	mxt_key_format(&key, keystr, sizeof(keystr));
	ret = mxt_policy_delete(&m, &key);
	if (ret == -ENOENT)
		cli_err("no policy entry for %s", keystr);
	else if (ret)
		cli_err("cannot delete the policy of %s: %s", keystr, strerror(-ret));
	else
		printf("%s: policy removed\n", keystr);
out:
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}

/* "policy list [--json]". */
static int policy_list(struct cli *c, int json)
{
	struct mxt_policy_entry *e = NULL;
	struct mxt_maps m;
	size_t n = 0;
	int ret;

	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_policy_dump(&m, &e, &n);
	mxt_maps_close(&m);
	if (ret)
		return cli_err("cannot read mxt_policy: %s", strerror(-ret));
	qsort(e, n, sizeof(*e), cmp_policy);
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "policy");
		mxt_jw_arr_open(&w);
		for (size_t i = 0; i < n; i++) {
			char src[MXT_ADDRSTRLEN];
			int ovr = !!(e[i].val.flags & MXT_POLICY_F_OVERRIDE);

			mxt_key_format(&e[i].key, src, sizeof(src));
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "source", src);
			mxt_jw_kstr(&w, "class", mxt_class_name(e[i].val.class));
			mxt_jw_kbool(&w, "override", ovr);
			if (ovr) {
				cli_jw_rate(&w, "rate", e[i].val.limit.rate);
				mxt_jw_ku64(&w, "burst", e[i].val.limit.burst);
			}
			mxt_jw_ku64(&w, "updated_unix", e[i].val.updated_unix);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_obj_close(&w);
		ret = mxt_jw_finish(&w);
	} else {
		printf("%-40s %-11s %-26s %s\n", "SOURCE", "CLASS", "LIMIT", "UPDATED");
		for (size_t i = 0; i < n; i++) {
			char src[MXT_ADDRSTRLEN], when[32], lim[40] = "class", rs[24];

			mxt_key_format(&e[i].key, src, sizeof(src));
			cli_fmt_time(e[i].val.updated_unix, when, sizeof(when));
			if (e[i].val.flags & MXT_POLICY_F_OVERRIDE) {
				mxt_rate_format(e[i].val.limit.rate, rs, sizeof(rs));
				snprintf(lim, sizeof(lim), "%s/min burst %u", rs, e[i].val.limit.burst);
			}
			printf("%-40s %-11s %-26s %s\n", src, mxt_class_name(e[i].val.class), lim, when);
		}
	}
	free(e);
	return ret ? -1 : 0;
}

int cmd_policy(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		CLI_OPT_JSON, CLI_OPT_HELP, { NULL, 0, NULL, 0 },
	};
	const char *rate = NULL, *burst = NULL, *sub;
	int opt, json = 0;

	while ((opt = getopt_long(argc, argv, "r:b:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			rate = optarg;
			break;
		case 'b':
			burst = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help("policy");
		default:
			return cli_usage("policy");
		}
	}
	if (optind >= argc)
		return cli_usage("policy");
	sub = argv[optind++];
	if (!strcmp(sub, "list") && optind == argc && !rate && !burst)
		return policy_list(c, json);
	if (!strcmp(sub, "set") && argc - optind == 2 && !json)
		return policy_set(c, argv[optind], argv[optind + 1], rate, burst);
	if (!strcmp(sub, "del") && argc - optind == 1 && !json && !rate && !burst)
		return policy_del(c, argv[optind]);
	return cli_usage("policy");
}
