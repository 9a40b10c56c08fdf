// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_stats.c - "mxthrottle stats [--json]": every verdict reason of
 * maps/mxt_reasons.h with its counter summed over CPUs, its verdict and
 * its description.
 *
 * JSON: {"reasons":{"not_ip":N,...,"map_error":N},
 *        "total":{"pass":N,"drop":N}}
 * (every reason is present, in table order, also when 0).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "reasons.h"

int cmd_stats(struct cli *c, int argc, char **argv)
{
	__u64 cnt[MXT_R_MAX], pass = 0, drop = 0;
	struct mxt_maps m;
	int optr, json = 0, ret;

	if ((optr = cli_json_opts("stats", argc, argv, &json)))
		return optr > 0 ? 0 : -1;
	if (optind != argc)
		return cli_usage("stats");
	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_maps_stats_read(&m, cnt);
	mxt_maps_close(&m);
	if (ret)
		return cli_err("cannot read mxt_stats: %s", strerror(-ret));
	for (unsigned int r = 0; r < MXT_R_MAX; r++) {
		if (mxt_reason_info(r)->verdict == MXT_VERDICT_DROP)
			drop += cnt[r];
		else
			pass += cnt[r];
	}
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "reasons");
		mxt_jw_obj_open(&w);
		for (unsigned int r = 0; r < MXT_R_MAX; r++)
			mxt_jw_ku64(&w, mxt_reason_name(r), cnt[r]);
		mxt_jw_obj_close(&w);
		mxt_jw_key(&w, "total");
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "pass", pass);
		mxt_jw_ku64(&w, "drop", drop);
		mxt_jw_obj_close(&w);
		mxt_jw_obj_close(&w);
		return mxt_jw_finish(&w) ? -1 : 0;
	}
	printf("%-14s %-7s %12s  %s\n", "REASON", "VERDICT", "COUNT", "DESCRIPTION");
	for (unsigned int r = 0; r < MXT_R_MAX; r++) {
		const struct mxt_reason_info *ri = mxt_reason_info(r);

		printf("%-14s %-7s %12llu  %s\n", ri->name, ri->verdict_name,
		       (unsigned long long)cnt[r], ri->desc);
	}
	printf("%-14s %-7s %12llu\n%-14s %-7s %12llu\n", "total", "pass", (unsigned long long)pass,
	       "total", "drop", (unsigned long long)drop);
	return 0;
}
