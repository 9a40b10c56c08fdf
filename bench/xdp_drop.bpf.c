// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_drop.bpf.c - benchmark baseline: drops every frame and does nothing
 * else, so bench/xdp_cost.c can subtract the cost of running any XDP
 * program at all from mxthrottle's.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Drop the frame. */
SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_DROP;
}
