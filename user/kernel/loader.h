/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loader.h - load, pin, attach and detach the XDP program.
 *
 * State lives in bpffs, never in a process: the maps are pinned by name
 * under the pin directory and REUSED by every later load, and the program
 * is pinned as <pindir>/mxt_xdp and reused for every further interface, so
 * a re-attach, a second interface or a daemon restart loses nothing and
 * loads no second copy.  The pinned program can also be attached by hand:
 *   ip link set dev eth0 xdpdrv pinned /sys/fs/bpf/mxthrottle/mxt_xdp
 *
 * Attach goes through libxdp: its multi-program dispatcher where the kernel
 * allows freplace, and a plain single-program attach where it does not
 * (e.g. freplace denied with EPERM); both are handled everywhere here.
 * Native mode is tried first and generic (skb) mode second, unless a mode
 * is forced.  Detach removes only mxt_xdp, never another program.
 */
#ifndef MXT_LOADER_H
#define MXT_LOADER_H

#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>

/* XDP attach modes. */
enum mxt_xdp_mode {
	MXT_XDP_AUTO = 0,  /* native, else skb */
	MXT_XDP_NATIVE,
	MXT_XDP_SKB,
	MXT_XDP_HW,        /* reported only, never requested */
};

/* "native", "skb", "hw", "auto". */
const char *mxt_xdp_mode_name(enum mxt_xdp_mode mode);
/* Parse "native" or "skb" (also "drv", "generic"); -EINVAL otherwise. */
int mxt_xdp_mode_parse(const char *s, enum mxt_xdp_mode *mode);

/* What mxt_prepare() and mxt_attach() did. */
struct mxt_load_info {
	int maps_created;       /* some maps did not exist and were created */
	int maps_replaced;      /* maps of another layout, unused, were replaced */
	int config_initialised; /* config had abi_version 0: defaults written */
	int prog_reused;        /* the pinned program was reused */
	int already;            /* mxt_xdp was already attached there */
	unsigned int ifindex;
	enum mxt_xdp_mode mode; /* as attached */
	__u32 prog_id;
	int dispatcher;         /* attached through libxdp's dispatcher */
	__u32 max_sources;      /* mxt_sources max_entries in effect */
};

/* Attach options. */
struct mxt_attach_opts {
	const char *pin_dir;    /* NULL: mxt_pin_dir_default() */
	const char *ifname;
	enum mxt_xdp_mode mode; /* AUTO, NATIVE or SKB */
	__u32 max_sources;      /* mxt_sources size for new maps; 0 = default */
};

/* Make sure compatible maps are pinned under pin_dir (creating what is
 * missing, replacing maps of another layout only when no interface runs
 * mxt_xdp) and that the config is initialised.  Loads no program. */
int mxt_prepare(const char *pin_dir, __u32 max_sources, struct mxt_load_info *info,
		char *err, size_t errlen);

/* mxt_prepare(), then load (or reuse) and pin the program and attach it to
 * o->ifname.  Attaching where mxt_xdp already runs is a success with
 * info->already set (unless another mode was forced). */
int mxt_attach(const struct mxt_attach_opts *o, struct mxt_load_info *info,
	       char *err, size_t errlen);

/* Detach mxt_xdp from ifname, leaving any other XDP program alone and the
 * maps and the pinned program in place. */
int mxt_detach(const char *pin_dir, const char *ifname, char *err, size_t errlen);

/* One interface where mxt_xdp runs. */
struct mxt_iface {
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	enum mxt_xdp_mode mode;
	__u32 prog_id;
	int dispatcher;         /* component of libxdp's dispatcher */
};

/* Whether mxt_xdp runs on ifindex: 0 and *out filled, or -ENOENT; when
 * another program is attached there, its name and id go to other/other_id
 * (if not NULL; "" / 0 when nothing is attached). */
int mxt_iface_probe(unsigned int ifindex, struct mxt_iface *out,
		    char *other, size_t otherlen, __u32 *other_id);
/* Every interface (of this network namespace) where mxt_xdp runs; *out is
 * malloc'ed. */
int mxt_iface_list(struct mxt_iface **out, size_t *n);

#endif /* MXT_LOADER_H */
