// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxt-synflood - a TCP SYN flood generator for benchmarks, for a veth inside
 * test network namespaces only.  Two methods:
 *
 *   --method live      (default) BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES:
 *                      the kernel runs synflood_gen.bpf.o (bench/) on
 *                      'repeat' copies of one template frame in batches of
 *                      --batch, and the program copies the next of a
 *                      rotation of precomputed sources (address, port,
 *                      checksums: see build_rotation()) into each copy and
 *                      redirects it to the veth (ndo_xdp_xmit: no skb, no
 *                      socket).  The technique of xdp-project's
 *                      xdp-trafficgen.
 *   --method afpacket  AF_PACKET socket with PACKET_QDISC_BYPASS, frames
 *                      built in userspace and sent --batch at a time with
 *                      sendmmsg(2) (skb path: veth_xmit to the peer).
 *
 * Frames: Ethernet + IPv4 + TCP SYN to --dst-ip:--dst-port (default
 * 198.18.0.2:25) with the options of a Linux connect() (MSS, SACK-permitted,
 * timestamps, window scale), 74 bytes, valid IPv4 and TCP checksums.  The
 * source address changes every frame:
 *   --sources K      cycle through K addresses from --src-first (default
 *                    198.18.1.0; 198.18.0.0/24 is left to the benchmark's
 *                    own hosts), round robin;
 *   --spoof          random addresses from --src-first to the end of
 *                    198.18.0.0/15 (130816 addresses by default).
 * The source port changes every frame too.
 *
 * Safety: every source and the destination must lie in 198.18.0.0/15 (RFC
 * 2544 benchmark space), the interface must be a veth, and the tool refuses
 * to run in the initial network namespace.  The flood is bounded by
 * --duration or --count (one is required).
 *
 * --batch (default 64, at most 256) is the live-frames batch (frames run
 * and flushed to the veth together; veth's ring holds 256, so batches
 * above 64 may overflow it when the receiver falls behind) or the
 * sendmmsg vector.  --cpu pins the tool (and so, for live, the receiving
 * veth's NAPI softirq, which runs on the sending CPU).
 *
 * Output: one human line on stderr and one machine line on stdout:
 *   MXT_SYNFLOOD method=M packets=N send_errors=E seconds=S pps=R
 *     active_seconds=A active_pps=RA cpu=C cpu_end=C sources=K spoof=0|1
 *     batch=B stime=T utime=T nivcsw=N
 * packets: live, frames the BPF program rewrote and redirected (a frame
 * the veth then refuses shows in its tx_queue_N_xdp_xmit_errors);
 * afpacket, frames sendmmsg accepted (send_errors: refused ones).
 * seconds/pps: wall clock.  active_seconds/active_pps: live, the kernel's
 * timing of the run loops (see run_live()); afpacket, the wall clock.
 * stime/utime/nivcsw: getrusage() of the tool (nivcsw counts the times
 * other tasks took its CPU).
 *
 *   mxt-synflood -i IFACE -m DST_MAC [--method live|afpacket]
 *                [--sources K | --spoof] [--src-first ADDR]
 *                [--dst-ip ADDR] [--dst-port PORT]
 *                (--duration SEC | --count N) [--cpu N] [--batch N]
 *                [--bpf-obj PATH] [-v]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#define BENCH_NET      0xc6120000u  /* 198.18.0.0, host order */
#define BENCH_MASK     0xfffe0000u  /* /15 */
#define BENCH_END      (BENCH_NET + 0x20000u) /* one past 198.19.255.255 */
#define DEF_SRC_FIRST  0xc6120100u  /* 198.18.1.0 */
#define DEF_DST        0xc6120002u  /* 198.18.0.2 */
#define MAX_BATCH      256          /* kernel limit for live frames */

/* Load-time settings of synflood_gen.bpf.c (.rodata 'cfg'): the same
 * layout as there; load_gen() checks .rodata's size against it. */
struct synflood_cfg {
	uint32_t ifindex_out;
	uint32_t frame_count;
};

/* One entry of synflood_frames (the same layout as there): what differs
 * between two frames of the flood, network order. */
struct synflood_frame {
	uint32_t saddr;
	uint16_t sport;
	uint16_t ip_check;
	uint16_t tcp_check;
	uint16_t pad;
};

/* Frames in one rotation: a spoofed flood draws this many random sources
 * (each address of the default range about 8 times); a cycling one holds
 * every source at least once and at most 16 ports per source. */
#define SPOOF_ROTATION (1u << 20)
#define CYCLE_ROTATION (1u << 16)

/* The template frame: a Linux connect() SYN (20 bytes of options). */
struct syn_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct tcphdr tcp;
	uint8_t opts[20];
} __attribute__((packed));

_Static_assert(sizeof(struct syn_frame) == 74, "syn_frame layout");

/* Command line. */
struct opts {
	const char *ifname;
	const char *method;
	const char *bpf_obj;
	uint8_t dst_mac[ETH_ALEN];
	int have_dst_mac;
	uint32_t dst_ip;         /* host order */
	uint16_t dst_port;
	uint32_t src_first;      /* host order */
	uint32_t src_count;
	int spoof;
	double duration;         /* seconds, 0 = use count */
	uint64_t count;          /* frames, 0 = use duration */
	int cpu;                 /* -1 = leave affinity alone */
	uint32_t batch;
	int verbose;
};

/* Result of one run. */
struct result {
	uint64_t packets;        /* frames generated (live) / accepted by sendmmsg */
	uint64_t send_errors;    /* afpacket: frames refused (ENOBUFS, ...) */
	double seconds;           /* wall time of the whole run */
	double active_seconds;    /* live: kernel-timed time inside the runs */
	int cpu_start, cpu_end;
};

static volatile sig_atomic_t stop;

/* Signal handler: ask the send loop to stop. */
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Monotonic time in seconds. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Strict unsigned parse of 'arg' into [min, max]; 0 or -EINVAL. */
static int parse_u64(const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!arg || !*arg || *arg == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Strict parse of a positive duration in seconds (fractions allowed). */
static int parse_seconds(const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v > 0) || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parse aa:bb:cc:dd:ee:ff. */
static int parse_mac(const char *arg, uint8_t mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char tail;
	int i;

	if (sscanf(arg, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != ETH_ALEN)
		return -EINVAL;
	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Parse a dotted IPv4 address into host order. */
static int parse_ip4(const char *arg, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, arg, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

/* Non-zero if the host-order address lies in 198.18.0.0/15. */
static int in_bench_net(uint32_t a)
{
	return (a & BENCH_MASK) == BENCH_NET;
}

/* 0 if this process is not in the initial network namespace, -EPERM if it
 * is, -errno if that cannot be told.  The reference is PID 1's namespace
 * or, where PID 1 may not be inspected (some sandboxes' init), that of
 * kthreadd (PID 2), which as a kernel thread lives in init_net. */
static int check_not_init_netns(void)
{
	struct stat self, init;
	char comm[32] = "";
	FILE *f;

	if (stat("/proc/self/ns/net", &self))
		return -errno;
	if (stat("/proc/1/ns/net", &init)) {
		f = fopen("/proc/2/comm", "re");
		if (!f)
			return -errno;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (strcmp(comm, "kthreadd\n"))
			return -ENOENT;
		if (stat("/proc/2/ns/net", &init))
			return -errno;
	}
	if (self.st_ino == init.st_ino && self.st_dev == init.st_dev)
		return -EPERM;
	return 0;
}

/* Driver name of 'ifname' (ETHTOOL_GDRVINFO) into buf; 0 or -errno. */
static int iface_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&di;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	else
		snprintf(buf, len, "%s", di.driver);
	close(fd);
	return err;
}

/* MAC address of 'ifname'; 0 or -errno. */
static int iface_mac(const char *ifname, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr = {};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* One's-complement sum of 'len' bytes (len even), read as big-endian
 * 16-bit words through a byte pointer (no aliasing tricks), added to 'sum'. */
static uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	return sum;
}

/* Fold a 32-bit one's-complement sum to 16 bits. */
static uint16_t csum_fold32(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* RFC 1624 eqn. 3 for a 32-bit field (the BPF program's twin). */
static void csum_replace4(uint16_t *sum, uint32_t from, uint32_t to)
{
	uint32_t s = (uint16_t)~*sum;

	s += (uint16_t)~from + (uint16_t)~(from >> 16);
	s += (uint16_t)to + (uint16_t)(to >> 16);
	*sum = (uint16_t)~csum_fold32(s);
}

/* RFC 1624 eqn. 3 for a 16-bit field. */
static void csum_replace2(uint16_t *sum, uint16_t from, uint16_t to)
{
	uint32_t s = (uint16_t)~*sum;

	s += (uint16_t)~from + to;
	*sum = (uint16_t)~csum_fold32(s);
}

/* Fill the template SYN from src_mac to the options' destination, with
 * source o->src_first:1024 and both checksums computed in full. */
static void build_frame(struct syn_frame *f, const struct opts *o, const uint8_t src_mac[ETH_ALEN])
{
	static const uint8_t opts[20] = {
		2, 4, 0x05, 0xb4,          /* MSS 1460 */
		4, 2,                      /* SACK permitted */
		8, 10, 0, 0, 0, 1, 0, 0, 0, 0, /* timestamps */
		1,                         /* NOP */
		3, 3, 7,                   /* window scale 7 */
	};
	struct {
		uint32_t saddr, daddr;
		uint8_t zero, proto;
		uint16_t len;
	} __attribute__((packed)) ph;
	uint32_t s;

	memset(f, 0, sizeof(*f));
	memcpy(f->eth.h_dest, o->dst_mac, ETH_ALEN);
	memcpy(f->eth.h_source, src_mac, ETH_ALEN);
	f->eth.h_proto = htons(ETH_P_IP);

	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.tot_len = htons(sizeof(*f) - sizeof(f->eth));
	f->ip.id = htons(1);
	f->ip.frag_off = htons(0x4000); /* DF */
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_TCP;
	f->ip.saddr = htonl(o->src_first);
	f->ip.daddr = htonl(o->dst_ip);
	f->ip.check = htons((uint16_t)~csum_fold32(csum_add(0, &f->ip, sizeof(f->ip))));

	f->tcp.source = htons(1024);
	f->tcp.dest = htons(o->dst_port);
	f->tcp.seq = htonl(0x6d787431); /* "mxt1" */
	f->tcp.doff = (sizeof(f->tcp) + sizeof(f->opts)) / 4;
	f->tcp.syn = 1;
	f->tcp.window = htons(64240);
	memcpy(f->opts, opts, sizeof(opts));

	ph.saddr = f->ip.saddr;
	ph.daddr = f->ip.daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = htons(sizeof(f->tcp) + sizeof(f->opts));
	s = csum_add(0, &ph, sizeof(ph));
	s = csum_add(s, &f->tcp, sizeof(f->tcp) + sizeof(f->opts));
	f->tcp.check = htons((uint16_t)~csum_fold32(s));
}

/* Pin the calling thread to o->cpu (if set); 0 or -errno. */
static int pin_cpu(const struct opts *o)
{
	cpu_set_t set;

	if (o->cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(o->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/* Default BPF object: synflood_gen.bpf.o beside this executable. */
static int default_obj(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	int w;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	w = snprintf(buf, len, "%s/synflood_gen.bpf.o", exe);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Sum of the per-CPU 'frames' counters of the generator; 0 or -errno. */
static int gen_frames(int map_fd, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = 0;
	uint64_t *vals, sum = 0;
	int i, err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	/* value: __u32 next, __u32 pad, __u64 frames */
	vals = calloc((size_t)ncpu * 2, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &key, vals)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < ncpu; i++)
		sum += vals[2 * i + 1];
	*out = sum;
out:
	free(vals);
	return err;
}

/* Next source address (host order) for frame n; *rng is xorshift32 state. */
static uint32_t next_source(const struct opts *o, uint64_t n, uint32_t *rng)
{
	uint32_t x;

	if (!o->spoof)
		return o->src_first + (uint32_t)(n % o->src_count);
	x = *rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*rng = x;
	return o->src_first + x % o->src_count;
}

/* The frames of one rotation, from the template: *count entries,
 * malloc'ed.  Cycling: entry j is source j % K with port 1024 + j % 64512;
 * spoof: a source drawn at random (xorshift32) from the range.  Both
 * checksums are computed in full for each entry. */
static struct synflood_frame *build_rotation(const struct opts *o, const struct syn_frame *tmpl,
					     uint32_t *count)
{
	uint32_t n, rng = (uint32_t)time(NULL) | 1, j;
	struct synflood_frame *r;

	if (o->spoof)
		n = SPOOF_ROTATION;
	else
		n = o->src_count * (CYCLE_ROTATION / o->src_count > 16 ? 16 :
				    CYCLE_ROTATION / o->src_count > 0 ? CYCLE_ROTATION / o->src_count : 1);
	r = calloc(n, sizeof(*r));
	if (!r)
		return NULL;
	for (j = 0; j < n; j++) {
		uint32_t saddr = htonl(next_source(o, j, &rng));
		uint16_t sport = htons((uint16_t)(1024 + j % 64512));
		uint16_t ipc = tmpl->ip.check, tcpc = tmpl->tcp.check; /* packed */

		csum_replace4(&ipc, tmpl->ip.saddr, saddr);
		csum_replace4(&tcpc, tmpl->ip.saddr, saddr);
		csum_replace2(&tcpc, tmpl->tcp.source, sport);
		r[j].saddr = saddr;
		r[j].sport = sport;
		r[j].ip_check = ipc;
		r[j].tcp_check = tcpc;
	}
	*count = n;
	return r;
}

/* Write the rotation into synflood_frames; 0 or -errno. */
static int fill_rotation(int fd, const struct synflood_frame *r, uint32_t n)
{
	uint32_t *keys = malloc((size_t)n * sizeof(*keys)), i, done = 0;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = i;
	while (done < n) {
		uint32_t cnt = n - done;

		if (bpf_map_update_batch(fd, keys + done, r + done, &cnt, NULL)) {
			err = -errno;
			break;
		}
		done += cnt;
	}
	/* Kernels without batch updates on arrays: one by one. */
	for (i = done; err == -EINVAL && i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &r[i], BPF_ANY))
			break;
	if (err == -EINVAL && i == n)
		err = 0;
	free(keys);
	return err;
}

/* Open and load the generator with its settings and rotation; 0 or -errno. */
static int load_gen(const struct opts *o, int ifindex, const struct syn_frame *tmpl,
		    struct bpf_object **objp, int *prog_fd, int *map_fd)
{
	struct synflood_cfg cfg = {
		.ifindex_out = (uint32_t)ifindex,
	};
	struct synflood_frame *rot;
	uint32_t nrot;
	struct bpf_program *prog;
	struct bpf_object *obj;
	struct bpf_map *map;
	size_t sz = 0;
	int err;

	rot = build_rotation(o, tmpl, &nrot);
	if (!rot)
		return -ENOMEM;
	cfg.frame_count = nrot;
	obj = bpf_object__open_file(o->bpf_obj, NULL);
	if (!obj) {
		err = -errno;
		mxt_log_errorx("cannot open %s: %s", o->bpf_obj, strerror(-err));
		free(rot);
		return err;
	}
	map = bpf_object__find_map_by_name(obj, ".rodata");
	if (!map || !bpf_map__initial_value(map, &sz) || sz != sizeof(cfg)) {
		mxt_log_errorx("%s: .rodata is %zu bytes, want %zu (struct synflood_cfg out of step)",
			       o->bpf_obj, sz, sizeof(cfg));
		err = -EINVAL;
		goto fail;
	}
	err = bpf_map__set_initial_value(map, &cfg, sizeof(cfg));
	if (err)
		goto fail;
	map = bpf_object__find_map_by_name(obj, "synflood_frames");
	if (!map || bpf_map__value_size(map) != sizeof(*rot)) {
		mxt_log_errorx("%s: no synflood_frames of %zu-byte entries (out of step)",
			       o->bpf_obj, sizeof(*rot));
		err = -EINVAL;
		goto fail;
	}
	err = bpf_map__set_max_entries(map, nrot);
	if (err)
		goto fail;

	prog = bpf_object__find_program_by_name(obj, "synflood_gen");
	if (!prog) {
		mxt_log_errorx("%s: no program synflood_gen", o->bpf_obj);
		err = -ENOENT;
		goto fail;
	}
	err = bpf_object__load(obj);
	if (err) {
		mxt_log_errorx("cannot load %s: %s", o->bpf_obj, strerror(-err));
		goto fail;
	}
	err = fill_rotation(bpf_map__fd(bpf_object__find_map_by_name(obj, "synflood_frames")),
			    rot, nrot);
	if (err) {
		mxt_log_errorx("cannot fill synflood_frames: %s", strerror(-err));
		goto fail;
	}
	map = bpf_object__find_map_by_name(obj, "synflood_state");
	if (!map) {
		err = -ENOENT;
		goto fail;
	}
	*prog_fd = bpf_program__fd(prog);
	*map_fd = bpf_map__fd(map);
	*objp = obj;
	free(rot);
	return 0;
fail:
	free(rot);
	bpf_object__close(obj);
	return err;
}

/*
 * The live-frames generator; 0 or -errno.
 *
 * Each BPF_PROG_RUN call has a fixed cost (~20-30 ms on the kernels tried:
 * page pool set-up and tear-down) during which nothing is sent, so calls
 * are long: the first (2^16 frames) calibrates the wall-clock rate, later
 * ones are sized to fill the rest of --duration, at most 0.5 s each so the
 * time bound holds and a signal is noticed.  The kernel's own timing of
 * each call (opts.duration, mean ns per frame) is summed as
 * res->active_seconds: time the CPU spent inside the run loop, which
 * includes the softirq work that local_bh_enable() runs after each batch
 * (the receiving veth's NAPI, on this CPU), and excludes the set-up and
 * any time other tasks ran while the loop yielded (cond_resched).  On a
 * shared machine that is the rate to compare; the wall-clock rate is
 * reported too.
 */
static int run_live(const struct opts *o, int ifindex, const struct syn_frame *frame,
		    struct result *res)
{
	struct xdp_md ctx_in = { .data_end = sizeof(*frame) };
	struct bpf_object *obj = NULL;
	uint64_t done = 0, before, want;
	int prog_fd = -1, map_fd = -1, err;
	double t0, t, c0, rate = 0, active = 0;

	err = load_gen(o, ifindex, frame, &obj, &prog_fd, &map_fd);
	if (err)
		return err;

	t0 = now_s();
	while (!stop) {
		LIBBPF_OPTS(bpf_test_run_opts, topts,
			    .data_in = frame,
			    .data_size_in = sizeof(*frame),
			    .ctx_in = &ctx_in,
			    .ctx_size_in = sizeof(ctx_in),
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = o->batch);

		t = now_s();
		if (rate <= 0) {
			want = 1u << 16;
		} else {
			double left = o->duration > 0 ? o->duration - (t - t0) : 0.5;

			if (left > 0.5)
				left = 0.5;
			want = (uint64_t)(left * rate) + 1;
		}
		if (o->count && o->count - done < want)
			want = o->count - done;
		if (want > (1u << 30))
			want = 1u << 30;
		topts.repeat = (uint32_t)want;
		before = done;
		c0 = t;
		err = bpf_prog_test_run_opts(prog_fd, &topts);
		if (err && errno != EINTR) {
			err = -errno;
			mxt_log_error("BPF_PROG_RUN (live frames)");
			goto out;
		}
		err = gen_frames(map_fd, &done);
		if (err)
			goto out;
		/* duration is the mean ns per frame of this call; a call cut
		 * short by a signal reports over the frames it did. */
		active += (double)topts.duration * (double)(done - before) / 1e9;
		t = now_s();
		if (t > c0 && done > before)   /* wall-clock rate, for sizing */
			rate = (double)(done - before) / (t - c0);
		if (o->count && done >= o->count)
			break;
		if (o->duration > 0 && t - t0 >= o->duration)
			break;
	}
	res->seconds = now_s() - t0;
	res->active_seconds = active;
	res->packets = done;
	err = 0;
out:
	bpf_object__close(obj);
	return err;
}

/* The AF_PACKET + sendmmsg generator; 0 or -errno. */
static int run_afpacket(const struct opts *o, int ifindex, const struct syn_frame *frame,
			struct result *res)
{
	static struct syn_frame frames[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	struct sockaddr_ll bind_sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = 0,   /* send only: no receive hook */
		.sll_ifindex = ifindex,
	};
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
	};
	uint32_t rng = (uint32_t)time(NULL) | 1, i, want;
	uint64_t n = 0, sent = 0, errs = 0;
	int fd, one = 1, err = 0, r;
	double t0;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		mxt_log_error("socket(AF_PACKET)");
		return err;
	}
	if (bind(fd, (struct sockaddr *)&bind_sll, sizeof(bind_sll))) {
		err = -errno;
		mxt_log_error("bind AF_PACKET to %s", o->ifname);
		goto out;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		err = -errno;
		mxt_log_error("PACKET_QDISC_BYPASS");
		goto out;
	}
	memcpy(to.sll_addr, o->dst_mac, ETH_ALEN);
	for (i = 0; i < o->batch; i++) {
		frames[i] = *frame;
		iov[i].iov_base = &frames[i];
		iov[i].iov_len = sizeof(frames[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}

	t0 = now_s();
	while (!stop) {
		want = o->batch;
		if (o->count && o->count - sent < want)
			want = (uint32_t)(o->count - sent);
		for (i = 0; i < want; i++) {
			struct syn_frame *f = &frames[i];
			uint32_t saddr = htonl(next_source(o, n, &rng));
			uint16_t sport = htons((uint16_t)(1024 + n % 64512));
			uint16_t ipc = f->ip.check, tcpc = f->tcp.check; /* packed */

			csum_replace4(&ipc, f->ip.saddr, saddr);
			csum_replace4(&tcpc, f->ip.saddr, saddr);
			csum_replace2(&tcpc, f->tcp.source, sport);
			f->ip.check = ipc;
			f->tcp.check = tcpc;
			f->ip.saddr = saddr;
			f->tcp.source = sport;
			n++;
		}
		r = sendmmsg(fd, msgs, want, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				errs += want; /* the first frame failed; count the batch */
			} else if (errno != EINTR) {
				err = -errno;
				mxt_log_error("sendmmsg on %s", o->ifname);
				goto out;
			}
		} else {
			sent += (uint64_t)r;
			errs += want - (uint32_t)r;
		}
		if (o->count && sent + errs >= o->count)
			break;
		if (o->duration > 0 && now_s() - t0 >= o->duration)
			break;
	}
	res->seconds = now_s() - t0;
	res->active_seconds = res->seconds;
	res->packets = sent;
	res->send_errors = errs;
out:
	close(fd);
	return err;
}

/* Print usage to 'f'. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: mxt-synflood -i IFACE -m DST_MAC [--method live|afpacket]\n"
		"                    [--sources K | --spoof] [--src-first ADDR]\n"
		"                    [--dst-ip ADDR] [--dst-port PORT]\n"
		"                    (--duration SEC | --count N) [--cpu N] [--batch N]\n"
		"                    [--bpf-obj PATH] [-v]\n"
		"Floods IFACE (a veth in a test namespace) with TCP SYNs whose sources\n"
		"and destination lie in 198.18.0.0/15.  Defaults: live, --sources 4096,\n"
		"--src-first 198.18.1.0, --dst-ip 198.18.0.2, --dst-port 25, --batch 64.\n");
}

/* Parse argv into *o; 0, 1 (help shown) or -EINVAL. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "method", required_argument, NULL, 'M' },
		{ "sources", required_argument, NULL, 'k' },
		{ "spoof", no_argument, NULL, 's' },
		{ "src-first", required_argument, NULL, 'f' },
		{ "dst-ip", required_argument, NULL, 'a' },
		{ "dst-port", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "bpf-obj", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int have_sources = 0, c;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "i:m:M:k:sf:a:p:d:n:c:b:o:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, o->dst_mac))
				goto bad;
			o->have_dst_mac = 1;
			break;
		case 'M':
			if (strcmp(optarg, "live") && strcmp(optarg, "afpacket"))
				goto bad;
			o->method = optarg;
			break;
		case 'k':
			if (parse_u64(optarg, 1, 0x20000, &v))
				goto bad;
			o->src_count = (uint32_t)v;
			have_sources = 1;
			break;
		case 's':
			o->spoof = 1;
			break;
		case 'f':
			if (parse_ip4(optarg, &o->src_first))
				goto bad;
			break;
		case 'a':
			if (parse_ip4(optarg, &o->dst_ip))
				goto bad;
			break;
		case 'p':
			if (parse_u64(optarg, 1, 65535, &v))
				goto bad;
			o->dst_port = (uint16_t)v;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->duration))
				goto bad;
			break;
		case 'n':
			if (parse_u64(optarg, 1, UINT64_MAX, &o->count))
				goto bad;
			break;
		case 'c':
			if (parse_u64(optarg, 0, CPU_SETSIZE - 1, &v))
				goto bad;
			o->cpu = (int)v;
			break;
		case 'b':
			if (parse_u64(optarg, 1, MAX_BATCH, &v))
				goto bad;
			o->batch = (uint32_t)v;
			break;
		case 'o':
			o->bpf_obj = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->ifname || !o->have_dst_mac) {
		mxt_log_errorx("need -i IFACE and -m DST_MAC, and no operands");
		return -EINVAL;
	}
	if (!o->duration == !o->count) {
		mxt_log_errorx("give exactly one of --duration and --count");
		return -EINVAL;
	}
	if (o->spoof && have_sources) {
		mxt_log_errorx("--spoof and --sources exclude each other");
		return -EINVAL;
	}
	if (o->spoof)
		o->src_count = in_bench_net(o->src_first) ? BENCH_END - o->src_first : 0;
	if (!in_bench_net(o->src_first) || o->src_count == 0 ||
	    !in_bench_net(o->src_first + o->src_count - 1) ||
	    o->src_first + o->src_count - 1 < o->src_first) {
		mxt_log_errorx("sources must lie inside 198.18.0.0/15");
		return -EINVAL;
	}
	if (!in_bench_net(o->dst_ip)) {
		mxt_log_errorx("--dst-ip must lie inside 198.18.0.0/15");
		return -EINVAL;
	}
	return 0;
bad:
	mxt_log_errorx("bad value for option -%c: '%s'", c, optarg);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.method = "live",
		.dst_ip = DEF_DST,
		.dst_port = 25,
		.src_first = DEF_SRC_FIRST,
		.src_count = 4096,
		.cpu = -1,
		.batch = 64,
	};
	char objbuf[PATH_MAX], drv[32];
	uint8_t src_mac[ETH_ALEN];
	struct syn_frame frame;
	struct result res = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct rusage ru;
	int ifindex, err;

	mxt_log_open("mxt-synflood", 0, 0);
	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : 2;
	mxt_log_set_verbosity(o.verbose);
	if (!o.bpf_obj) {
		if (default_obj(objbuf, sizeof(objbuf))) {
			mxt_log_errorx("cannot find synflood_gen.bpf.o: use --bpf-obj");
			return 2;
		}
		o.bpf_obj = objbuf;
	}

	err = check_not_init_netns();
	if (err) {
		mxt_log_errorx("refusing: %s (run inside a test network namespace)",
			       err == -EPERM ? "this is the initial network namespace" :
			       "cannot tell whether this is the initial network namespace");
		return 1;
	}
	ifindex = (int)if_nametoindex(o.ifname);
	if (!ifindex) {
		mxt_log_error("interface %s", o.ifname);
		return 1;
	}
	err = iface_driver(o.ifname, drv, sizeof(drv));
	if (err || strcmp(drv, "veth")) {
		mxt_log_errorx("%s is not a veth (driver '%s'): refusing", o.ifname,
			       err ? strerror(-err) : drv);
		return 1;
	}
	err = iface_mac(o.ifname, src_mac);
	if (err) {
		mxt_log_errorx("MAC of %s: %s", o.ifname, strerror(-err));
		return 1;
	}
	build_frame(&frame, &o, src_mac);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = pin_cpu(&o);
	if (err) {
		mxt_log_errorx("cannot pin to CPU %d: %s", o.cpu, strerror(-err));
		return 1;
	}
	res.cpu_start = sched_getcpu();
	if (!strcmp(o.method, "live"))
		err = run_live(&o, ifindex, &frame, &res);
	else
		err = run_afpacket(&o, ifindex, &frame, &res);
	res.cpu_end = sched_getcpu();
	if (err)
		return 1;
	getrusage(RUSAGE_SELF, &ru);

	fprintf(stderr, "mxt-synflood: sent %llu SYNs on %s in %.3f s: %.0f pps (%s, cpu %d)\n",
		(unsigned long long)res.packets, o.ifname, res.seconds,
		res.seconds > 0 ? (double)res.packets / res.seconds : 0.0, o.method, res.cpu_start);
	printf("MXT_SYNFLOOD method=%s packets=%llu send_errors=%llu seconds=%.6f pps=%.0f "
	       "active_seconds=%.6f active_pps=%.0f cpu=%d cpu_end=%d sources=%u spoof=%d "
	       "batch=%u stime=%.3f utime=%.3f nivcsw=%ld\n",
	       o.method, (unsigned long long)res.packets, (unsigned long long)res.send_errors,
	       res.seconds, res.seconds > 0 ? (double)res.packets / res.seconds : 0.0,
	       res.active_seconds,
	       res.active_seconds > 0 ? (double)res.packets / res.active_seconds : 0.0,
	       res.cpu_start, res.cpu_end, o.src_count, o.spoof, o.batch,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6, ru.ru_nivcsw);
	return 0;
}
