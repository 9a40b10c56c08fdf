// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_top.c - "mxthrottle top [-n N] [-i SECONDS] [--json]": sources by
 * recent SYN rate.  Two snapshots of mxt_sources, -i seconds apart (default
 * 1); rate = SYN delta / measured interval, in SYNs per second; a source
 * absent from the first snapshot (or evicted and created again in between,
 * seen as another first_seen) counts all its SYNs as new.  Sorted by
 * rate, ties by total SYNs; the first N (default 10) are shown.
 *
 * JSON: {"interval":F,"sources":[{"source":S,"class":S,"syns":N,
 *        "dropped":N,"delta":N,"rate":F}...]}
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cfgkeys.h"
#include "cli.h"

/* One line of the result. */
struct top_row {
	struct mxt_source_entry e;
	__u64 delta;
	double rate;
};

/* Order source entries by key (bsearch over the first snapshot). */
static int cmp_key(const void *a, const void *b)
{
	return memcmp(&((const struct mxt_source_entry *)a)->key,
		      &((const struct mxt_source_entry *)b)->key, sizeof(struct mxt_key));
}

/* Order policy entries by key. */
static int cmp_pkey(const void *a, const void *b)
{
	return memcmp(&((const struct mxt_policy_entry *)a)->key,
		      &((const struct mxt_policy_entry *)b)->key, sizeof(struct mxt_key));
}

/* Highest rate first, then most SYNs, then by key for a stable output. */
static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (x->e.val.syns != y->e.val.syns)
		return x->e.val.syns < y->e.val.syns ? 1 : -1;
	return cmp_key(&x->e, &y->e);
}

/* Parse a positive number of seconds (decimal, fraction allowed). */
static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || strspn(s, "0123456789.") != strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.01 && v <= 3600))
		return -ERANGE;
	*out = v;
	return 0;
}

int cmd_top(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		CLI_OPT_JSON, CLI_OPT_HELP, { NULL, 0, NULL, 0 },
	};
	struct mxt_source_entry *s1 = NULL, *s2 = NULL;
	struct mxt_policy_entry *pol = NULL;
	size_t n1 = 0, n2 = 0, npol = 0;
	struct top_row *rows = NULL;
	double interval = 1.0, elapsed;
	__u32 count = 10;
	struct timespec t1, t2, nap;
	struct mxt_maps m;
	int opt, json = 0, ret = -1;

	while ((opt = getopt_long(argc, argv, "n:i:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (mxt_parse_u32(optarg, 1, 1000000, &count))
				return cli_err("-n: got '%s', want 1..1000000", optarg);
			break;
		case 'i':
			if (parse_seconds(optarg, &interval))
				return cli_err("-i: got '%s', want seconds 0.01..3600", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			return cli_help("top");
		default:
			return cli_usage("top");
		}
	}
	if (optind != argc)
		return cli_usage("top");
	if (cli_open_maps(c, &m, 0))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ret = mxt_sources_dump(&m, &s1, &n1);
	if (ret)
		goto dump_fail;
	nap.tv_sec = (time_t)interval;
	nap.tv_nsec = (long)((interval - (double)nap.tv_sec) * 1e9);
	while (nanosleep(&nap, &nap) && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t2);
	ret = mxt_sources_dump(&m, &s2, &n2);
	if (ret)
		goto dump_fail;
	ret = mxt_policy_dump(&m, &pol, &npol);
	if (ret) {
		cli_err("cannot read mxt_policy: %s", strerror(-ret));
		goto out;
	}
	elapsed = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	if (elapsed <= 0)
		elapsed = interval;
	qsort(s1, n1, sizeof(*s1), cmp_key);
	qsort(pol, npol, sizeof(*pol), cmp_pkey);
	rows = calloc(n2 ? n2 : 1, sizeof(*rows));
	if (!rows) {
		ret = cli_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n2; i++) {
		const struct mxt_source_entry *old = bsearch(&s2[i], s1, n1, sizeof(*s1), cmp_key);

		rows[i].e = s2[i];
		/* absent before, or evicted and created again in between: all
		 * of its SYNs are new */
		if (old && old->val.first_seen_ns == s2[i].val.first_seen_ns &&
		    old->val.syns <= s2[i].val.syns)
			rows[i].delta = s2[i].val.syns - old->val.syns;
		else
			rows[i].delta = s2[i].val.syns;
		rows[i].rate = (double)rows[i].delta / elapsed;
	}
	qsort(rows, n2, sizeof(*rows), cmp_row);
	if (n2 > count)
		n2 = count;

	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "interval");
		mxt_jw_double(&w, elapsed, 3);
		mxt_jw_key(&w, "sources");
		mxt_jw_arr_open(&w);
		for (size_t i = 0; i < n2; i++) {
			const struct mxt_policy_entry *p = bsearch(&rows[i].e, pol, npol, sizeof(*pol), cmp_pkey);
			char src[MXT_ADDRSTRLEN];

			mxt_key_format(&rows[i].e.key, src, sizeof(src));
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "source", src);
			mxt_jw_kstr(&w, "class", mxt_class_name(p ? p->val.class : MXT_CLASS_UNKNOWN));
			mxt_jw_ku64(&w, "syns", rows[i].e.val.syns);
			mxt_jw_ku64(&w, "dropped", rows[i].e.val.dropped);
			mxt_jw_ku64(&w, "delta", rows[i].delta);
			mxt_jw_key(&w, "rate");
			mxt_jw_double(&w, rows[i].rate, 2);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_obj_close(&w);
		ret = mxt_jw_finish(&w) ? -1 : 0;
	} else {
		printf("%-40s %-11s %12s %12s %10s\n", "SOURCE", "CLASS", "SYNS", "DROPPED", "SYN/s");
		for (size_t i = 0; i < n2; i++) {
			const struct mxt_policy_entry *p = bsearch(&rows[i].e, pol, npol, sizeof(*pol), cmp_pkey);
			char src[MXT_ADDRSTRLEN];

			mxt_key_format(&rows[i].e.key, src, sizeof(src));
			printf("%-40s %-11s %12llu %12llu %10.2f\n", src,
			       mxt_class_name(p ? p->val.class : MXT_CLASS_UNKNOWN),
			       (unsigned long long)rows[i].e.val.syns,
			       (unsigned long long)rows[i].e.val.dropped, rows[i].rate);
		}
		ret = 0;
	}
	goto out;
dump_fail:
	cli_err("cannot read mxt_sources: %s", strerror(-ret));
out:
	free(s1);
	free(s2);
	free(pol);
	free(rows);
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}
