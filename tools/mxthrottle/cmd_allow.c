// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_allow.c - "mxthrottle allow add|del CIDR" and "allow list [--json]":
 * the connector CIDRs (mxt_allow, an LPM trie) whose SYNs are never
 * limited.  A CIDR with host bits set is accepted and normalised (with a
 * warning).  Adding a CIDR that is already there succeeds and keeps its
 * hit counter; deleting one that is not there is an error.
 *
 * JSON (list): {"allow":[{"cidr":S,"hits":N,"added_unix":N}...]}
 * sorted IPv4 first, then by address and prefix length.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "cli.h"
#include "log.h"

/* Order allowlist entries: family, address, prefix length. */
static int cmp_allow(const void *a, const void *b)
{
	const struct mxt_lpm_key *x = &((const struct mxt_allow_entry *)a)->key;
	const struct mxt_lpm_key *y = &((const struct mxt_allow_entry *)b)->key;
	int d;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	d = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (d)
		return d;
	return x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
}

/* Parse a CIDR argument into an allowlist key, warning about host bits. */
static int parse_allow_cidr(const char *arg, struct mxt_lpm_key *k, char *canon, size_t len)
{
	struct mxt_addr a;
	int host_bits;
	__u8 plen;

	if (mxt_cidr_parse(arg, &a, &plen, &host_bits))
		return cli_err("bad CIDR '%s': want ADDR or ADDR/LEN (IPv4 /0-32, IPv6 /0-128)", arg);
	mxt_lpm_key_from_cidr(k, &a, plen);
	mxt_lpm_key_format(k, canon, len);
	if (host_bits)
		mxt_log_warnx("%s has host bits set: using %s", arg, canon);
	return 0;
}

/* "allow add CIDR" / "allow del CIDR". */
static int allow_change(struct cli *c, int add, const char *arg)
{
	char canon[MXT_ADDRSTRLEN];
	struct mxt_lpm_key k;
	struct mxt_maps m;
	int ret;

	if (parse_allow_cidr(arg, &k, canon, sizeof(canon)))
		return -1;
	if (cli_open_maps(c, &m, MXT_MAPS_LOCK))
		return -1;
	ret = add ? mxt_allow_add(&m, &k) : mxt_allow_delete(&m, &k);
	mxt_maps_close(&m);
	if (add && ret == -EEXIST) {
		printf("%s is already allowlisted\n", canon);
		return 0;
	}
	if (add && ret == -ENOSPC)
		return cli_err("cannot add %s: the allowlist is full (%s)", canon, strerror(-ret));
	if (!add && ret == -ENOENT)
		return cli_err("%s is not in the allowlist", canon);
	if (ret)
		return cli_err("cannot %s %s: %s", add ? "add" : "delete", canon, strerror(-ret));
	printf("%s %s\n", add ? "allowlisted" : "removed", canon);
	return 0;
}

/* "allow list [--json]". */
static int allow_list(struct cli *c, int json)
{
	struct mxt_allow_entry *e = NULL;
	struct mxt_maps m;
	size_t n = 0;
	int ret;

	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_allow_dump(&m, &e, &n);
	mxt_maps_close(&m);
	if (ret)
		return cli_err("cannot read mxt_allow: %s", strerror(-ret));
	qsort(e, n, sizeof(*e), cmp_allow);
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "allow");
		mxt_jw_arr_open(&w);
		for (size_t i = 0; i < n; i++) {
			char cidr[MXT_ADDRSTRLEN];

			mxt_lpm_key_format(&e[i].key, cidr, sizeof(cidr));
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "cidr", cidr);
			mxt_jw_ku64(&w, "hits", e[i].val.hits);
			mxt_jw_ku64(&w, "added_unix", e[i].val.added_unix);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_obj_close(&w);
		ret = mxt_jw_finish(&w);
	} else {
		printf("%-44s %12s  %s\n", "CIDR", "HITS", "ADDED");
		for (size_t i = 0; i < n; i++) {
			char cidr[MXT_ADDRSTRLEN], when[32];

			mxt_lpm_key_format(&e[i].key, cidr, sizeof(cidr));
			cli_fmt_time(e[i].val.added_unix, when, sizeof(when));
			printf("%-44s %12llu  %s\n", cidr, (unsigned long long)e[i].val.hits, when);
		}
	}
	free(e);
	return ret ? -1 : 0;
}

int cmd_allow(struct cli *c, int argc, char **argv)
{
	int r, json = 0;
	const char *sub;

	if ((r = cli_json_opts("allow", argc, argv, &json)))
		return r > 0 ? 0 : -1;
	if (optind >= argc)
		return cli_usage("allow");
	sub = argv[optind++];
	if (!strcmp(sub, "list") && optind == argc)
		return allow_list(c, json);
	if ((!strcmp(sub, "add") || !strcmp(sub, "del")) && argc - optind == 1 && !json)
		return allow_change(c, sub[0] == 'a', argv[optind]);
	return cli_usage("allow");
}
