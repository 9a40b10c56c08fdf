// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_attach.c - "mxthrottle attach IFACE [--mode native|skb]
 * [--max-sources N]" and "mxthrottle detach IFACE".  The work is in
 * user/kernel/loader.c; this file parses, reports, and maps errors to one line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "cli.h"
#include "loader.h"

int cmd_attach(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "max-sources", required_argument, NULL, 's' },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct mxt_attach_opts o = { .pin_dir = c->pin_dir, .mode = MXT_XDP_AUTO };
	struct mxt_load_info info;
	char err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "m:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (mxt_xdp_mode_parse(optarg, &o.mode))
				return cli_err("--mode: got '%s', want native or skb", optarg);
			break;
		case 's':
			if (mxt_parse_u32(optarg, 1024, 1u << 26, &o.max_sources))
				return cli_err("--max-sources: got '%s', want 1024..%u", optarg, 1u << 26);
			break;
		case 'h':
			return cli_help("attach");
		default:
			return cli_usage("attach");
		}
	}
	if (argc - optind != 1)
		return cli_usage("attach");
	o.ifname = argv[optind];
	if (mxt_attach(&o, &info, err, sizeof(err)))
		return cli_err("%s", err);
	if (info.maps_replaced)
		printf("replaced maps of another layout under %s\n", c->pin_dir);
	if (info.config_initialised)
		printf("initialised the config under %s with defaults\n", c->pin_dir);
	printf("%s mxt_xdp (prog id %u) on %s (ifindex %u) in %s mode%s; %s maps under %s\n",
	       info.already ? "already running" : info.prog_reused ? "attached pinned" : "loaded and attached",
	       info.prog_id, o.ifname, info.ifindex, mxt_xdp_mode_name(info.mode),
	       info.dispatcher ? " via the libxdp dispatcher" : "",
	       info.maps_created ? "new" : "reused", c->pin_dir);
	return 0;
}

int cmd_detach(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = { CLI_OPT_HELP, { NULL, 0, NULL, 0 } };
	char err[512];
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h')
			return cli_help("detach");
		return cli_usage("detach");
	}
	if (argc - optind != 1)
		return cli_usage("detach");
	if (mxt_detach(c->pin_dir, argv[optind], err, sizeof(err)))
		return cli_err("%s", err);
	printf("detached mxt_xdp from %s; maps and program stay pinned under %s\n",
	       argv[optind], c->pin_dir);
	return 0;
}
