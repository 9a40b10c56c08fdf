// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * loader.c - maps, program, pins and XDP attachment (see loader.h).
 *
 * Order of a first attach, chosen so that the program never runs against
 * an unconfigured map:
 *   1. open the skeleton and compare what is already pinned with what this
 *      build's object declares (type, key, value, fixed sizes);
 *   2. create the missing maps by loading the object with every program's
 *      autoload off (libbpf pins them by name, with BTF, so bpftool prints
 *      them field by field), and reuse the pinned ones;
 *   3. write the default config if abi_version is 0;
 *   4. load the program through libxdp (freplace component of its
 *      dispatcher, or a plain XDP program), reusing the pinned maps, attach
 *      it, and pin it as <pindir>/mxt_xdp.
 * Later attaches reuse <pindir>/mxt_xdp after checking that it uses the
 * pinned maps.  The pin directory is flock'ed throughout.
 *
 * Sizes: the three sizeable maps (sources, policy, allow) adopt the
 * max_entries of their pinned copy, so a build with other defaults still
 * reuses the state; every other difference is "another layout".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "errfmt.h"
#include "mxthrottle.skel.h"
#include "cfgkeys.h"
#include "kernel_req.h"
#include "loader.h"
#include "log.h"
#include "pinned.h"

/* libxdp's text for an error (it has codes of its own). */
static const char *xdp_errstr(int err, char *buf, size_t len)
{
	if (libxdp_strerror(err, buf, len))
		snprintf(buf, len, "%s", strerror(err < 0 ? -err : err));
	return buf;
}

const char *mxt_xdp_mode_name(enum mxt_xdp_mode mode)
{
	switch (mode) {
	case MXT_XDP_NATIVE: return "native";
	case MXT_XDP_SKB:    return "skb";
	case MXT_XDP_HW:     return "hw";
	default:             return "auto";
	}
}

int mxt_xdp_mode_parse(const char *s, enum mxt_xdp_mode *mode)
{
	if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*mode = MXT_XDP_NATIVE;
	else if (!strcmp(s, "skb") || !strcmp(s, "generic"))
		*mode = MXT_XDP_SKB;
	else
		return -EINVAL;
	return 0;
}

/* libxdp's mode for ours. */
static enum xdp_attach_mode to_xdp_mode(enum mxt_xdp_mode m)
{
	return m == MXT_XDP_NATIVE ? XDP_MODE_NATIVE : m == MXT_XDP_SKB ? XDP_MODE_SKB : XDP_MODE_UNSPEC;
}

/* Ours for libxdp's mode. */
static enum mxt_xdp_mode from_xdp_mode(enum xdp_attach_mode m)
{
	return m == XDP_MODE_NATIVE ? MXT_XDP_NATIVE : m == XDP_MODE_SKB ? MXT_XDP_SKB :
	       m == XDP_MODE_HW ? MXT_XDP_HW : MXT_XDP_AUTO;
}

/* Fill out from one program if it is mxt_xdp; 1 if it was. */
static int take_if_ours(struct xdp_program *p, unsigned int ifindex, enum mxt_xdp_mode mode,
			int dispatcher, struct mxt_iface *out)
{
	const char *name = p ? xdp_program__name(p) : NULL;

	if (!name || strcmp(name, MXT_PROG_NAME) != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	if (!if_indextoname(ifindex, out->name))
		snprintf(out->name, sizeof(out->name), "if%u", ifindex);
	out->ifindex = ifindex;
	out->mode = mode;
	out->prog_id = xdp_program__id(p);
	out->dispatcher = dispatcher;
	return 1;
}

int mxt_iface_probe(unsigned int ifindex, struct mxt_iface *out,
		    char *other, size_t otherlen, __u32 *other_id)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	enum mxt_xdp_mode mode;
	int found = 0;

	if (other && otherlen)
		other[0] = '\0';
	if (other_id)
		*other_id = 0;
	mp = xdp_multiprog__get_from_ifindex((int)ifindex);
	if (!mp || libxdp_get_error(mp))
		return -ENOENT;
	mode = from_xdp_mode(xdp_multiprog__attach_mode(mp));
	p = xdp_multiprog__main_prog(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		found = take_if_ours(p, ifindex, mode, 0, out);
	} else if (p) {
		struct xdp_program *c = NULL;

		while (!found && (c = xdp_multiprog__next_prog(c, mp)))
			found = take_if_ours(c, ifindex, mode, 1, out);
	}
	if (!found && xdp_multiprog__hw_prog(mp))
		found = take_if_ours(xdp_multiprog__hw_prog(mp), ifindex, MXT_XDP_HW, 0, out);
	if (!found && p) {
		if (other && otherlen)
			snprintf(other, otherlen, "%s", xdp_program__name(p) ? xdp_program__name(p) : "?");
		if (other_id)
			*other_id = xdp_program__id(p);
	}
	xdp_multiprog__close(mp);
	return found ? 0 : -ENOENT;
}

int mxt_iface_list(struct mxt_iface **out, size_t *n)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct mxt_iface *arr = NULL;
	size_t cnt = 0, cap = 0;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!ifs)
		return -errno;
	for (i = ifs; i->if_index; i++) {
		struct mxt_iface f;

		if (mxt_iface_probe(i->if_index, &f, NULL, 0, NULL))
			continue;
		if (cnt == cap) {
			struct mxt_iface *a = realloc(arr, (cap * 2 + 4) * sizeof(*a));

			if (!a) {
				ret = -ENOMEM;
				free(arr);
				arr = NULL;
				cnt = 0;
				break;
			}
			arr = a;
			cap = cap * 2 + 4;
		}
		arr[cnt++] = f;
	}
	if_freenameindex(ifs);
	*out = arr;
	*n = cnt;
	return ret;
}

/* Create dir (and missing parents) on bpffs; refuse anything else. */
static int ensure_pin_dir(const char *dir, char *err, size_t errlen)
{
	char buf[PATH_MAX], probe[PATH_MAX];
	struct statfs sfs;
	char *slash;

	if (mxt_strlcpy(buf, dir, sizeof(buf)) || buf[0] != '/') {
		mxt_seterr(err, errlen, "pin directory must be an absolute path: %s", dir);
		return -EINVAL;
	}
	/* The nearest existing ancestor decides which filesystem we are on. */
	snprintf(probe, sizeof(probe), "%s", buf);
	while (access(probe, F_OK) != 0) {
		slash = strrchr(probe, '/');
		if (!slash || slash == probe) {
			snprintf(probe, sizeof(probe), "/");
			break;
		}
		*slash = '\0';
	}
	if (statfs(probe, &sfs) != 0 || sfs.f_type != BPF_FS_MAGIC) {
		mxt_seterr(err, errlen, "%s is not on a bpf filesystem (mount -t bpf bpf %s)",
		       dir, MXT_PIN_ROOT);
		return -ENOTDIR;
	}
	for (slash = buf + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			goto fail;
		*slash = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	mxt_seterr(err, errlen, "cannot create %s: %s", buf, strerror(errno));
	return -errno;
}

/* Point every map of ours in obj at its pin path. */
static int set_pin_paths(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < MXT_MAP_ID_MAX; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, mxt_map_spec(i)->name);
		int ret;

		if (!map)
			return -ENOENT;
		ret = mxt_pin_path(path, sizeof(path), dir, mxt_map_spec(i)->name);
		if (ret)
			return ret;
		ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return ret;
	}
	return 0;
}

/* Whether map id is one whose max_entries follows its pinned copy. */
static int sizeable(int id)
{
	return id == MXT_MAP_ID_SOURCES || id == MXT_MAP_ID_SOURCES4 || id == MXT_MAP_ID_POLICY ||
	       id == MXT_MAP_ID_ALLOW || id == MXT_MAP_ID_FRONT;
}

/* Pinned state, compared with what obj declares. */
struct pin_state {
	int npinned;                      /* maps present */
	__u32 max_entries[MXT_MAP_ID_MAX]; /* of the pinned copies (0 = absent) */
	__u32 map_id[MXT_MAP_ID_MAX];     /* of the pinned copies (0 = absent) */
	char why[200];                    /* the first difference, if any */
};

/* Look at every pinned map: -EPROTO with st->why when one is of another
 * layout than obj's (or than the ABI header), or of another ABI. */
static int inspect_pins(struct bpf_object *obj, const char *dir, struct pin_state *st)
{
	char path[PATH_MAX];
	int ret = 0;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < MXT_MAP_ID_MAX && !ret; i++) {
		const struct mxt_map_spec *s = mxt_map_spec(i);
		struct bpf_map *map = bpf_object__find_map_by_name(obj, s->name);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (mxt_pin_path(path, sizeof(path), dir, s->name))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			ret = -errno;
			mxt_seterr(st->why, sizeof(st->why), "cannot open %s: %s", path, strerror(errno));
			return ret;
		}
		st->npinned++;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			ret = -errno;
			mxt_seterr(st->why, sizeof(st->why), "cannot inspect %s: %s", path, strerror(errno));
		} else if (mxt_map_check(i, fd, NULL, NULL, st->why, sizeof(st->why))) {
			ret = -EPROTO;
		} else if (map && (bpf_map__type(map) != info.type ||
				   bpf_map__key_size(map) != info.key_size ||
				   bpf_map__value_size(map) != info.value_size ||
				   (!sizeable(i) && bpf_map__max_entries(map) != info.max_entries))) {
			mxt_seterr(st->why, sizeof(st->why),
				 "%s: pinned %u/%u/%u/%u, this build %u/%u/%u/%u (type/key/value/entries)",
				 s->name, info.type, info.key_size, info.value_size, info.max_entries,
				 bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
				 bpf_map__max_entries(map));
			ret = -EPROTO;
		} else if (i == MXT_MAP_ID_CONFIG) {
			struct mxt_config cfg;
			__u32 key = 0;

			memset(&cfg, 0, sizeof(cfg));
			if (bpf_map_lookup_elem(fd, &key, &cfg) == 0 && cfg.abi_version != 0 &&
			    cfg.abi_version != MXT_ABI_VERSION) {
				mxt_seterr(st->why, sizeof(st->why), "config ABI %u, expected %u",
					 cfg.abi_version, MXT_ABI_VERSION);
				ret = -EPROTO;
			}
		}
		st->max_entries[i] = info.max_entries;
		st->map_id[i] = info.id;
		close(fd);
	}
	return ret;
}

/* Remove every pin of ours under dir (maps and program). */
static void remove_pins(const char *dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		if (!mxt_pin_path(path, sizeof(path), dir, mxt_map_spec(i)->name))
			unlink(path);
	if (!mxt_pin_path(path, sizeof(path), dir, MXT_PROG_NAME))
		unlink(path);
}

/* Open the skeleton with pin paths under dir and sizes following the
 * pinned maps (or max_sources for a new mxt_sources). */
static int open_skel(const char *dir, const struct pin_state *st, __u32 max_sources,
		     struct mxthrottle_bpf **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = dir);
	struct mxthrottle_bpf *skel;
	int ret;

	skel = mxthrottle_bpf__open_opts(&oo);
	if (!skel)
		return -errno ? -errno : -EINVAL;
	ret = set_pin_paths(skel->obj, dir);
	for (int i = 0; !ret && st && i < MXT_MAP_ID_MAX; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, mxt_map_spec(i)->name);

		if (sizeable(i) && st->max_entries[i])
			ret = bpf_map__set_max_entries(map, st->max_entries[i]);
		else if ((i == MXT_MAP_ID_SOURCES || i == MXT_MAP_ID_SOURCES4) && max_sources)
			ret = bpf_map__set_max_entries(map, max_sources);
		else if (i == MXT_MAP_ID_FRONT)  /* one slice per CPU (mxt_abi.h) */
			ret = bpf_map__set_max_entries(map, mxt_front_entries(libbpf_num_possible_cpus()));
	}
	if (ret) {
		mxthrottle_bpf__destroy(skel);
		return ret;
	}
	*out = skel;
	return 0;
}

/* The number of CPUs the global budget is split over: the online ones
 * (possible CPUs can be many more on VMs, and never see a packet). */
static __u32 budget_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (__u32)n : 1;
}

/* The ids of the maps program fd uses (at most max); returns how many, or
 * -errno. */
static int prog_map_ids(int fd, __u32 *ids, __u32 max)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), n;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	n = info.nr_map_ids < max ? info.nr_map_ids : max;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return (int)n;
}

/* The first interface whose mxt_xdp uses one of the maps pinned under dir
 * (as recorded in st); 0 and its name in ifname, or -ENOENT. */
static int pins_in_use(const struct pin_state *st, char *ifname, size_t len)
{
	struct mxt_iface *ifs = NULL;
	size_t n = 0;
	int found = 0;

	if (mxt_iface_list(&ifs, &n))
		return 0; /* cannot tell: say "in use", the safe answer */
	for (size_t i = 0; i < n && !found; i++) {
		__u32 ids[64];
		int fd = bpf_prog_get_fd_by_id(ifs[i].prog_id), cnt;

		if (fd < 0)
			continue;
		cnt = prog_map_ids(fd, ids, 64);
		close(fd);
		for (int k = 0; k < cnt && !found; k++)
			for (int m = 0; m < MXT_MAP_ID_MAX && !found; m++)
				if (st->map_id[m] && ids[k] == st->map_id[m]) {
					snprintf(ifname, len, "%s", ifs[i].name);
					found = 1;
				}
	}
	free(ifs);
	return found ? 0 : -ENOENT;
}

/* mxt_prepare() with the pin directory already locked. */
static int prepare_locked(const char *dir, __u32 max_sources, struct mxt_load_info *info,
			  struct pin_state *st, char *err, size_t errlen)
{
	struct mxthrottle_bpf *skel = NULL;
	struct mxt_maps maps;
	struct mxt_config cfg;
	int ret;

	ret = open_skel(dir, NULL, 0, &skel);
	if (ret) {
		mxt_seterr(err, errlen, "cannot open the BPF object: %s", strerror(-ret));
		return ret;
	}
	ret = inspect_pins(skel->obj, dir, st);
	if (ret == -EPROTO) {
		char user[IF_NAMESIZE] = "?";

		if (pins_in_use(st, user, sizeof(user)) == 0) {
			mxt_seterr(err, errlen, "maps at %s are of another layout (%s) and mxt_xdp on %s uses "
			       "them: detach it first", dir, st->why, user);
			goto out;
		}
		mxt_log_warnx("replacing maps of another layout at %s (%s): their state is lost",
			      dir, st->why);
		remove_pins(dir);
		info->maps_replaced = 1;
		memset(st, 0, sizeof(*st));
		ret = 0;
	} else if (ret) {
		mxt_seterr(err, errlen, "%s", st->why);
		goto out;
	}
	if (max_sources && st->max_entries[MXT_MAP_ID_SOURCES] &&
	    st->max_entries[MXT_MAP_ID_SOURCES] != max_sources) {
		mxt_seterr(err, errlen, "%s/mxt_sources is pinned with %u entries, not %u: to resize, detach "
		       "every interface and remove it, then attach with --max-sources",
		       dir, st->max_entries[MXT_MAP_ID_SOURCES], max_sources);
		ret = -EEXIST;
		goto out;
	}
	if (st->npinned < MXT_MAP_ID_MAX) {
		struct bpf_program *p;

		mxthrottle_bpf__destroy(skel);
		skel = NULL;
		ret = open_skel(dir, st, max_sources, &skel);
		if (ret) {
			mxt_seterr(err, errlen, "cannot open the BPF object: %s", strerror(-ret));
			goto out;
		}
		bpf_object__for_each_program(p, skel->obj)
			bpf_program__set_autoload(p, false);
		ret = bpf_object__load(skel->obj);
		if (ret) {
			mxt_seterr(err, errlen, "cannot create the maps under %s: %s", dir, strerror(-ret));
			goto out;
		}
		info->maps_created = 1;
		mxt_log_debug("created maps under %s", dir);
	}
	ret = mxt_maps_open(&maps, dir, MXT_MAPS_ANY_ABI, err, errlen);
	if (ret)
		goto out;
	for (int i = 0; i < MXT_MAP_ID_MAX; i++)
		st->max_entries[i] = maps.max_entries[i];
	info->max_sources = maps.max_entries[MXT_MAP_ID_SOURCES];
	if (maps.abi_version == 0) {
		ret = mxt_config_defaults(&cfg, budget_cpus());
		if (!ret)
			ret = mxt_maps_config_write(&maps, &cfg);
		if (ret)
			mxt_seterr(err, errlen, "cannot write the default config: %s", strerror(-ret));
		else
			info->config_initialised = 1;
	}
	mxt_maps_close(&maps);
out:
	mxthrottle_bpf__destroy(skel);
	return ret;
}

/* What preparing and attaching both start with: a kernel that can run the
 * program, the pin directory on bpffs, and its lock (held on success). */
static int open_pin_dir_locked(const char *dir, int *lock_fd, char *err, size_t errlen)
{
	int ret = mxt_kernel_check(err, errlen);

	if (ret)
		return ret;
	ret = ensure_pin_dir(dir, err, errlen);
	if (ret)
		return ret;
	ret = mxt_pin_lock(dir, lock_fd);
	if (ret)
		mxt_seterr(err, errlen, "cannot lock %s: %s", dir, strerror(-ret));
	return ret;
}

int mxt_prepare(const char *pin_dir, __u32 max_sources, struct mxt_load_info *info,
		char *err, size_t errlen)
{
	const char *dir = pin_dir ? pin_dir : mxt_pin_dir_default();
	struct pin_state st;
	int ret, lock_fd = -1;

	memset(info, 0, sizeof(*info));
	ret = open_pin_dir_locked(dir, &lock_fd, err, errlen);
	if (ret)
		return ret;
	ret = prepare_locked(dir, max_sources, info, &st, err, errlen);
	mxt_pin_unlock(lock_fd);
	return ret;
}

/* Whether program fd is mxt_xdp using exactly the pinned maps (every map
 * of ours it references has the pinned map's id). */
static int prog_uses_maps(int fd, const struct mxt_maps *maps)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), ids[64];
	int n, ours = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || strcmp(info.name, MXT_PROG_NAME) != 0)
		return 0;
	n = prog_map_ids(fd, ids, 64);
	for (int i = 0; i < n; i++) {
		struct bpf_map_info mi;
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			return 0;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen)) {
			close(mfd);
			return 0;
		}
		close(mfd);
		for (int m = 0; m < MXT_MAP_ID_MAX; m++) {
			if (strcmp(mi.name, mxt_map_spec(m)->name) != 0)
				continue;
			if (mi.id != maps->map_id[m])
				return 0;
			ours++;
		}
	}
	return ours > 0;
}

/* Attach xprog to ifindex trying the modes 'mode' allows; 0 or -errno
 * with a message. */
static int attach_modes(struct xdp_program *xprog, const char *ifname, unsigned int ifindex,
			enum mxt_xdp_mode mode, char *err, size_t errlen)
{
	enum mxt_xdp_mode tries[2];
	char ebuf[128], first[160] = "";
	int ntries = 0, ret = -EINVAL;

	if (mode == MXT_XDP_AUTO) {
		tries[ntries++] = MXT_XDP_NATIVE;
		tries[ntries++] = MXT_XDP_SKB;
	} else {
		tries[ntries++] = mode;
	}
	for (int t = 0; t < ntries; t++) {
		ret = xdp_program__attach(xprog, (int)ifindex, to_xdp_mode(tries[t]), 0);
		if (ret == 0)
			return 0;
		if (t + 1 < ntries) {
			snprintf(first, sizeof(first), " (native mode: %s)",
				 xdp_errstr(ret, ebuf, sizeof(ebuf)));
			mxt_log_debug("native attach to %s failed: %s; trying skb mode", ifname, ebuf);
		}
	}
	if (ret == -EBUSY || ret == -EEXIST)
		mxt_seterr(err, errlen, "cannot attach mxt_xdp to %s: another XDP program is attached", ifname);
	else if (ret == -EOPNOTSUPP && mode == MXT_XDP_NATIVE)
		mxt_seterr(err, errlen, "cannot attach mxt_xdp to %s in native mode: not supported by the "
		       "driver (use --mode skb)", ifname);
	else
		mxt_seterr(err, errlen, "cannot attach mxt_xdp to %s in %s mode: %s%s", ifname,
		       mxt_xdp_mode_name(mode == MXT_XDP_AUTO ? MXT_XDP_SKB : mode),
		       xdp_errstr(ret, ebuf, sizeof(ebuf)), first);
	return ret;
}

/* mxt_attach() with the pin directory locked and the maps prepared. */
static int attach_locked(const struct mxt_attach_opts *o, const char *dir, unsigned int ifindex,
			 struct mxt_load_info *info, const struct pin_state *st,
			 char *err, size_t errlen)
{
	struct mxthrottle_bpf *skel = NULL;
	struct xdp_program *xprog = NULL;
	char path[PATH_MAX], other[32];
	struct mxt_iface f;
	struct mxt_maps maps;
	__u32 other_id;
	int ret, fd;

	ret = mxt_maps_open(&maps, dir, 0, err, errlen);
	if (ret)
		return ret;
	if (mxt_iface_probe(ifindex, &f, other, sizeof(other), &other_id) == 0) {
		fd = bpf_prog_get_fd_by_id(f.prog_id);
		if (fd >= 0 && !prog_uses_maps(fd, &maps)) {
			mxt_seterr(err, errlen, "mxt_xdp on %s (prog id %u) does not use the maps at %s: "
			       "detach %s and attach again", o->ifname, f.prog_id, dir, o->ifname);
			ret = -EEXIST;
		} else if (o->mode != MXT_XDP_AUTO && o->mode != f.mode) {
			mxt_seterr(err, errlen, "mxt_xdp is already attached to %s in %s mode: detach it first "
			       "to change the mode", o->ifname, mxt_xdp_mode_name(f.mode));
			ret = -EEXIST;
		} else {
			info->already = 1;
		}
		if (fd >= 0)
			close(fd);
		goto found;
	}
	if (other_id) {
		/* libxdp's dispatcher may take us in as one more component;
		 * any other program is never replaced. */
		if (strcmp(other, "xdp_dispatcher") != 0) {
			mxt_seterr(err, errlen, "%s already runs XDP program '%s' (id %u): mxthrottle does not "
			       "replace it", o->ifname, other, other_id);
			ret = -EBUSY;
			goto out;
		}
	}

	ret = mxt_pin_path(path, sizeof(path), dir, MXT_PROG_NAME);
	if (ret)
		goto out;
	fd = bpf_obj_get(path);
	if (fd >= 0 && prog_uses_maps(fd, &maps)) {
		xprog = xdp_program__from_fd(fd);
		close(fd);
		ret = (int)libxdp_get_error(xprog);
		if (ret || !xprog) {
			xprog = NULL;
			mxt_seterr(err, errlen, "cannot use the pinned program %s: %s", path,
			       strerror(ret ? -ret : EINVAL));
			ret = ret ? ret : -EINVAL;
			goto out;
		}
		info->prog_reused = 1;
	} else {
		DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .prog_name = MXT_PROG_NAME);

		if (fd >= 0) {
			mxt_log_warnx("%s does not use the maps at %s: replacing it", path, dir);
			close(fd);
			unlink(path);
		}
		ret = open_skel(dir, st, o->max_sources, &skel);
		if (ret) {
			mxt_seterr(err, errlen, "cannot open the BPF object: %s", strerror(-ret));
			goto out;
		}
		xo.obj = skel->obj;
		xprog = xdp_program__create(&xo);
		ret = (int)libxdp_get_error(xprog);
		if (ret || !xprog) {
			xprog = NULL;
			mxt_seterr(err, errlen, "cannot prepare the XDP program: %s", strerror(ret ? -ret : EINVAL));
			ret = ret ? ret : -EINVAL;
			goto out;
		}
	}
	ret = attach_modes(xprog, o->ifname, ifindex, o->mode, err, errlen);
	if (ret)
		goto out;
	if (!info->prog_reused && bpf_obj_pin(xdp_program__fd(xprog), path) && errno != EEXIST)
		mxt_log_warn("cannot pin the program at %s", path);
	if (mxt_iface_probe(ifindex, &f, NULL, 0, NULL)) {
		mxt_seterr(err, errlen, "mxt_xdp attached to %s but not found there afterwards", o->ifname);
		ret = -ENOENT;
		goto out;
	}
found:
	if (!ret) {
		info->ifindex = ifindex;
		info->mode = f.mode;
		info->prog_id = f.prog_id;
		info->dispatcher = f.dispatcher;
	}
out:
	xdp_program__close(xprog);
	mxthrottle_bpf__destroy(skel);
	mxt_maps_close(&maps);
	return ret;
}

int mxt_attach(const struct mxt_attach_opts *o, struct mxt_load_info *info,
	       char *err, size_t errlen)
{
	const char *dir = o->pin_dir ? o->pin_dir : mxt_pin_dir_default();
	unsigned int ifindex;
	struct pin_state st;
	int ret, lock_fd = -1;

	memset(info, 0, sizeof(*info));
	ifindex = if_nametoindex(o->ifname);
	if (!ifindex) {
		mxt_seterr(err, errlen, "unknown interface '%s'", o->ifname);
		return -ENODEV;
	}
	if (o->mode != MXT_XDP_AUTO && o->mode != MXT_XDP_NATIVE && o->mode != MXT_XDP_SKB) {
		mxt_seterr(err, errlen, "mode must be native or skb");
		return -EINVAL;
	}
	/* An old kernel gets one sentence, not a verifier dump. */
	ret = open_pin_dir_locked(dir, &lock_fd, err, errlen);
	if (ret)
		return ret;
	ret = prepare_locked(dir, o->max_sources, info, &st, err, errlen);
	if (!ret)
		ret = attach_locked(o, dir, ifindex, info, &st, err, errlen);
	mxt_pin_unlock(lock_fd);
	return ret;
}

int mxt_detach(const char *pin_dir, const char *ifname, char *err, size_t errlen)
{
	const char *dir = pin_dir ? pin_dir : mxt_pin_dir_default();
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p;
	unsigned int ifindex;
	int ret = -ENOENT, lock_fd = -1;
	char ebuf[128];

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		mxt_seterr(err, errlen, "unknown interface '%s'", ifname);
		return -ENODEV;
	}
	if (access(dir, F_OK) == 0 && mxt_pin_lock(dir, &lock_fd))
		lock_fd = -1;
	mp = xdp_multiprog__get_from_ifindex((int)ifindex);
	if (!mp || libxdp_get_error(mp)) {
		mp = NULL;
		mxt_seterr(err, errlen, "mxt_xdp is not attached to %s (no XDP program there)", ifname);
		goto out;
	}
	p = xdp_multiprog__main_prog(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		const char *name = p ? xdp_program__name(p) : NULL;

		if (!name || strcmp(name, MXT_PROG_NAME) != 0) {
			mxt_seterr(err, errlen, "mxt_xdp is not attached to %s (it runs '%s', id %u: left alone)",
			       ifname, name ? name : "?", p ? xdp_program__id(p) : 0);
			goto out;
		}
		ret = xdp_multiprog__detach(mp);
	} else {
		struct xdp_program *c = NULL;

		while ((c = xdp_multiprog__next_prog(c, mp)))
			if (xdp_program__name(c) && !strcmp(xdp_program__name(c), MXT_PROG_NAME))
				break;
		if (!c) {
			mxt_seterr(err, errlen, "mxt_xdp is not attached to %s (its XDP dispatcher does not "
			       "hold it)", ifname);
			goto out;
		}
		ret = xdp_program__detach(c, (int)ifindex, xdp_multiprog__attach_mode(mp), 0);
	}
	if (ret)
		mxt_seterr(err, errlen, "cannot detach mxt_xdp from %s: %s", ifname,
		       xdp_errstr(ret, ebuf, sizeof(ebuf)));
out:
	xdp_multiprog__close(mp);
	mxt_pin_unlock(lock_fd);
	return ret;
}
