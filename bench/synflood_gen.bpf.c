// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * synflood_gen.bpf.c - the in-kernel half of build/mxt-synflood --method
 * live: a SYN-flood generator for benchmarks, never attached to an
 * interface.  Userspace hands the kernel one template SYN frame through
 * BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES (the technique of
 * xdp-project's xdp-trafficgen); the kernel runs this program on each of
 * 'repeat' copies of it, and every frame the program returns XDP_REDIRECT
 * for is transmitted on cfg.ifindex_out (the sending veth) through the
 * driver's ndo_xdp_xmit, with no skb and no socket on the way.
 *
 * The generator must be cheaper than the cheapest receiver (a bare
 * XDP_DROP), or every ratio to that floor is compressed by the
 * generator's own cost.  So it computes nothing per frame: userspace
 * precomputes, for every frame of one rotation, the four fields that
 * differ between frames (source address, source port, both checksums,
 * complete and valid) into synflood_frames, and the program copies entry
 * n % frame_count into the frame.  The rotation is the only per-frame
 * work: a counter that wraps, no division, no random numbers (a spoofed
 * flood's random sources are drawn by userspace into the table).  The
 * fields are written whole, not patched: in live-frames mode a page is
 * initialised from the template once and then recycled with whatever the
 * previous frame left in it.
 *
 * Counter: one per-CPU array entry (the rotation index and the frames
 * redirected), read by userspace after the run (the run's 'repeat' may
 * be cut short by a signal).  A redirect the target then fails to queue
 * (veth ring full, peer without NAPI) is not visible here: the sending
 * veth's tx_queue_N_xdp_xmit_errors counter shows it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Load-time settings, written by mxt-synflood before load.  The layout is
 * repeated in tools/mxt-synflood.c: keep both in step (userspace checks
 * the size of .rodata against its copy). */
struct synflood_cfg {
	__u32 ifindex_out;   /* redirect target: the sending veth */
	__u32 frame_count;   /* entries of synflood_frames in one rotation */
};

const volatile struct synflood_cfg cfg = {};

/* The fields of one frame, network order, checksums final.  Repeated in
 * tools/mxt-synflood.c. */
struct synflood_frame {
	__u32 saddr;
	__u16 sport;
	__u16 ip_check;
	__u16 tcp_check;
	__u16 pad;
};

/* One rotation of frames; max_entries is set by userspace before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synflood_frame);
} synflood_frames SEC(".maps");

/* Per-CPU generator state. */
struct synflood_state {
	__u32 next;          /* index of the next frame in the rotation */
	__u32 pad;
	__u64 frames;        /* frames redirected on this CPU */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synflood_state);
} synflood_state SEC(".maps");

/* Copy the next precomputed source into the frame and redirect it. */
SEC("xdp")
int synflood_gen(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);   /* template has IHL 5 */
	struct synflood_state *st;
	struct synflood_frame *f;
	__u32 zero = 0, i;

	if ((void *)(tcp + 1) > data_end)
		return XDP_ABORTED;
	st = bpf_map_lookup_elem(&synflood_state, &zero);
	if (!st)
		return XDP_ABORTED;
	i = st->next;
	f = bpf_map_lookup_elem(&synflood_frames, &i);
	if (!f)
		return XDP_ABORTED;
	st->next = i + 1 < cfg.frame_count ? i + 1 : 0;
	st->frames++;

	ip->saddr = f->saddr;
	ip->check = f->ip_check;
	tcp->source = f->sport;
	tcp->check = f->tcp_check;
	return bpf_redirect(cfg.ifindex_out, 0);
}
