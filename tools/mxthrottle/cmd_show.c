// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_show.c - "mxthrottle show ADDR [--json]": everything known about one
 * source: its key (ADDR masked to the configured prefix), counters, first
 * and last SYN, class and effective limit and where the limit comes from
 * (class or override), the GCRA tokens available now, and whether an
 * allowlist CIDR covers it (then no limit applies at all).
 *
 * Tokens now = (tolerance - max(0, tat - now)) / interval + 1, clamped to
 * 0..burst: the SYNs the source could send back to back this instant; with
 * none, next_token_in = tat - now - tolerance seconds.  (A source throttled
 * under a strict limit keeps its tat when its limit changes, so it may wait
 * longer than its new limit alone would make it.)
 *
 * JSON: {"source":S,"key":S,"seen":B,"syns":N,"dropped":N,
 *        "first_seen_ago":F|null,"last_seen_ago":F|null,
 *        "class":S,"policy":B,
 *        "limit":{"from":"class"|"override","rate":N|"unlimited","burst":N},
 *        "global_budget":B,"tokens":N|"unlimited","next_token_in":F|null,
 *        "allowlisted":B,"allow_cidr":S|null,"allow_hits":N|null}
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include "cfgkeys.h"
#include "cli.h"

int cmd_show(struct cli *c, int argc, char **argv)
{
	char keystr[MXT_ADDRSTRLEN], addrstr[MXT_ADDRSTRLEN], cidr[MXT_ADDRSTRLEN] = "";
	struct mxt_allow_entry allow;
	struct mxt_source src;
	struct mxt_policy pol;
	struct mxt_config cfg;
	const struct mxt_limit *lim;
	struct mxt_addr addr;
	struct mxt_key key;
	struct mxt_maps m;
	int r, json = 0, ret, seen, has_pol, allowed;
	double first_ago = 0, last_ago = 0, next_in = -1;
	const char *cls, *from;
	long long tokens;
	char rate[24];
	__u64 now;

	if ((r = cli_json_opts("show", argc, argv, &json)))
		return r > 0 ? 0 : -1;
	if (argc - optind != 1)
		return cli_usage("show");
	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	if (ret) {
		cli_err("cannot read the config: %s", strerror(-ret));
		goto out;
	}
	ret = cli_source_key(argv[optind], &cfg, &key, &addr);
	if (ret)
		goto out;
	now = cli_now_ns();
	ret = mxt_source_lookup(&m, &key, &src);
	seen = ret == 0;
	if (ret && ret != -ENOENT) {
		cli_err("cannot read mxt_sources: %s", strerror(-ret));
		goto out;
	}
	if (!seen)
		memset(&src, 0, sizeof(src));
	ret = mxt_policy_lookup(&m, &key, &pol);
	has_pol = ret == 0;
	if (ret && ret != -ENOENT) {
		cli_err("cannot read mxt_policy: %s", strerror(-ret));
		goto out;
	}
	ret = mxt_allow_match(&m, &addr, &allow);
	allowed = ret == 0;
	if (ret && ret != -ENOENT) {
		cli_err("cannot read mxt_allow: %s", strerror(-ret));
		goto out;
	}
	ret = 0;
	if (allowed)
		mxt_lpm_key_format(&allow.key, cidr, sizeof(cidr));
	mxt_key_format(&key, keystr, sizeof(keystr));
	mxt_addr_format(&addr, addrstr, sizeof(addrstr));
	if (has_pol && (pol.flags & MXT_POLICY_F_OVERRIDE) && pol.class != MXT_CLASS_BLOCKED)
		lim = &pol.limit;
	else if (has_pol && pol.class < MXT_CLASS_MAX)
		lim = &cfg.class_limit[pol.class];
	else
		lim = &cfg.class_limit[MXT_CLASS_UNKNOWN];
	tokens = has_pol && pol.class == MXT_CLASS_BLOCKED ? 0 : mxt_limit_tokens(lim, src.tat_ns, now);
	if (tokens == 0 && lim->interval_ns && !(has_pol && pol.class == MXT_CLASS_BLOCKED) &&
	    src.tat_ns > now + lim->tolerance_ns)
		next_in = (double)(src.tat_ns - now - lim->tolerance_ns) / 1e9;
	else if (tokens > 0)
		next_in = 0;
	if (seen) {
		first_ago = src.first_seen_ns && now > src.first_seen_ns ? (double)(now - src.first_seen_ns) / 1e9 : 0;
		last_ago = src.last_seen_ns && now > src.last_seen_ns ? (double)(now - src.last_seen_ns) / 1e9 : 0;
	}
	cls = mxt_class_name(has_pol ? pol.class : MXT_CLASS_UNKNOWN);
	from = has_pol && (pol.flags & MXT_POLICY_F_OVERRIDE) &&
			   pol.class != MXT_CLASS_BLOCKED ? "override" : "class";

	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "source", addrstr);
		mxt_jw_kstr(&w, "key", keystr);
		mxt_jw_kbool(&w, "seen", seen);
		mxt_jw_ku64(&w, "syns", src.syns);
		mxt_jw_ku64(&w, "dropped", src.dropped);
		mxt_jw_key(&w, "first_seen_ago");
		if (seen)
			mxt_jw_double(&w, first_ago, 3);
		else
			mxt_jw_null(&w);
		mxt_jw_key(&w, "last_seen_ago");
		if (seen)
			mxt_jw_double(&w, last_ago, 3);
		else
			mxt_jw_null(&w);
		mxt_jw_kstr(&w, "class", cls);
		mxt_jw_kbool(&w, "policy", has_pol);
		mxt_jw_key(&w, "limit");
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "from", from);
		cli_jw_rate(&w, "rate", lim->rate);
		mxt_jw_ku64(&w, "burst", lim->burst);
		mxt_jw_obj_close(&w);
		mxt_jw_kbool(&w, "global_budget", !has_pol);
		if (tokens < 0)
			mxt_jw_kstr(&w, "tokens", "unlimited");
		else
			mxt_jw_ku64(&w, "tokens", (__u64)tokens);
		mxt_jw_key(&w, "next_token_in");
		if (next_in >= 0)
			mxt_jw_double(&w, next_in, 3);
		else
			mxt_jw_null(&w);
		mxt_jw_kbool(&w, "allowlisted", allowed);
		mxt_jw_key(&w, "allow_cidr");
		if (allowed)
			mxt_jw_str(&w, cidr);
		else
			mxt_jw_null(&w);
		mxt_jw_key(&w, "allow_hits");
		if (allowed)
			mxt_jw_u64(&w, allow.val.hits);
		else
			mxt_jw_null(&w);
		mxt_jw_obj_close(&w);
		ret = mxt_jw_finish(&w) ? -1 : 0;
		goto out;
	}

	mxt_rate_format(lim->rate, rate, sizeof(rate));
	printf("source       %s (key %s)\n", addrstr, keystr);
	if (allowed)
		printf("allowlisted  yes, by %s (%llu hits): never limited\n", cidr,
		       (unsigned long long)allow.val.hits);
	else
		printf("allowlisted  no\n");
	printf("class        %s (%s)\n", cls, has_pol ? "policy entry" : "no policy entry");
	if (has_pol && pol.class == MXT_CLASS_BLOCKED)
		printf("limit        every SYN dropped (class blocked)\n");
	else
		printf("limit        %s SYNs/min, burst %u (%s%s)%s\n", rate, lim->burst, from,
		       strcmp(from, "class") ? "" : has_pol ? " limit" : " unknown limit",
		       has_pol ? "" : "; also charged to the global budget");
	if (tokens < 0)
		printf("tokens       unlimited\n");
	else if (tokens == 0 && next_in > 0)
		printf("tokens       0 available now, next in %.1f s\n", next_in);
	else
		printf("tokens       %lld available now\n", tokens);
	if (!seen) {
		printf("seen         never (no entry in mxt_sources)\n");
	} else {
		printf("syns         %llu\n", (unsigned long long)src.syns);
		printf("dropped      %llu\n", (unsigned long long)src.dropped);
		printf("first seen   %.1f s ago\n", first_ago);
		printf("last seen    %.1f s ago\n", last_ago);
	}
out:
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}
