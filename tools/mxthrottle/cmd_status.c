// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cmd_status.c - "mxthrottle status [--json]": where mxt_xdp runs and in
 * which mode, the configured mode and ports, the pinned program, and how
 * full the sizeable maps are.
 *
 * JSON: {"pin_dir":S,"abi_version":N,"mode":S,"ports":[N...],
 *        "program":{"pinned":B,"id":N},
 *        "interfaces":[{"ifname":S,"ifindex":N,"mode":"native"|"skb"|"hw",
 *                       "prog_id":N,"dispatcher":B}...],
 *        "maps":{"sources":{"entries":N,"max_entries":N},"policy":{...},
 *                "allow":{...}}}
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cfgkeys.h"
#include "cli.h"
#include "loader.h"

/* The id of the program pinned at <dir>/mxt_xdp, or 0. */
static __u32 pinned_prog_id(const char *dir)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	if (mxt_pin_path(path, sizeof(path), dir, MXT_PROG_NAME))
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	static const enum mxt_map_id shown[] = { MXT_MAP_ID_SOURCES, MXT_MAP_ID_POLICY, MXT_MAP_ID_ALLOW };
	static const char *const shown_name[] = { "sources", "policy", "allow" };
	size_t fill[3] = { 0 }, nifs = 0;
	struct mxt_iface *ifs = NULL;
	struct mxt_config cfg;
	struct mxt_maps m;
	int r, json = 0, ret;
	__u32 prog_id;

	if ((r = cli_json_opts("status", argc, argv, &json)))
		return r > 0 ? 0 : -1;
	if (optind != argc)
		return cli_usage("status");
	if (cli_open_maps(c, &m, 0))
		return -1;
	ret = mxt_maps_config_read(&m, &cfg);
	if (ret) {
		cli_err("cannot read the config: %s", strerror(-ret));
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		ret = mxt_map_count(&m, shown[i], &fill[i]);
		if (ret) {
			cli_err("cannot count %s entries: %s", mxt_map_spec(shown[i])->name, strerror(-ret));
			goto out;
		}
	}
	ret = mxt_iface_list(&ifs, &nifs);
	if (ret) {
		cli_err("cannot list interfaces: %s", strerror(-ret));
		goto out;
	}
	prog_id = pinned_prog_id(c->pin_dir);

	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "pin_dir", c->pin_dir);
		mxt_jw_ku64(&w, "abi_version", cfg.abi_version);
		mxt_jw_kstr(&w, "mode", mxt_mode_name(cfg.mode));
		mxt_jw_key(&w, "ports");
		mxt_jw_arr_open(&w);
		for (__u32 i = 0; i < cfg.nports && i < MXT_MAX_PORTS; i++)
			mxt_jw_u64(&w, cfg.ports[i]);
		mxt_jw_arr_close(&w);
		mxt_jw_key(&w, "program");
		mxt_jw_obj_open(&w);
		mxt_jw_kbool(&w, "pinned", prog_id != 0);
		mxt_jw_ku64(&w, "id", prog_id);
		mxt_jw_obj_close(&w);
		mxt_jw_key(&w, "interfaces");
		mxt_jw_arr_open(&w);
		for (size_t i = 0; i < nifs; i++) {
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "ifname", ifs[i].name);
			mxt_jw_ku64(&w, "ifindex", ifs[i].ifindex);
			mxt_jw_kstr(&w, "mode", mxt_xdp_mode_name(ifs[i].mode));
			mxt_jw_ku64(&w, "prog_id", ifs[i].prog_id);
			mxt_jw_kbool(&w, "dispatcher", ifs[i].dispatcher);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_key(&w, "maps");
		mxt_jw_obj_open(&w);
		for (int i = 0; i < 3; i++) {
			mxt_jw_key(&w, shown_name[i]);
			mxt_jw_obj_open(&w);
			mxt_jw_ku64(&w, "entries", fill[i]);
			mxt_jw_ku64(&w, "max_entries", m.max_entries[shown[i]]);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_obj_close(&w);
		mxt_jw_obj_close(&w);
		ret = mxt_jw_finish(&w);
	} else {
		char ports[64];

		mxt_config_get(&cfg, "ports", ports, sizeof(ports));
		printf("pin dir     %s (ABI %u)\n", c->pin_dir, cfg.abi_version);
		printf("mode        %s, ports %s\n", mxt_mode_name(cfg.mode), ports);
		if (prog_id)
			printf("program     %s pinned, prog id %u\n", MXT_PROG_NAME, prog_id);
		else
			printf("program     not pinned\n");
		if (!nifs)
			printf("interfaces  none: mxt_xdp is not attached (run 'mxthrottle attach IFACE')\n");
		for (size_t i = 0; i < nifs; i++)
			printf("%s %s (ifindex %u) %s mode, prog id %u%s%s\n", i ? "           " : "interfaces ",
			       ifs[i].name, ifs[i].ifindex, mxt_xdp_mode_name(ifs[i].mode), ifs[i].prog_id,
			       ifs[i].dispatcher ? ", libxdp dispatcher" : "",
			       prog_id && ifs[i].prog_id != prog_id ? " (not the pinned program)" : "");
		for (int i = 0; i < 3; i++)
			printf("%-11s %zu / %u entries\n", shown_name[i], fill[i], m.max_entries[shown[i]]);
		ret = 0;
	}
out:
	free(ifs);
	mxt_maps_close(&m);
	return ret ? -1 : 0;
}
