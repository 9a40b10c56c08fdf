/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kernel_req.h - the oldest kernel bpf/mxthrottle.bpf.c runs on, and the
 * check the loader makes before it loads anything, so that an old kernel
 * gets one clear sentence instead of a verifier dump.
 *
 * What sets the floor (README "Kernel requirements" lists every feature):
 * bpf_ktime_get_coarse_ns(), Linux 5.11.  Everything else the program
 * uses is older: XDP (4.8, generic 4.12), LRU hash (4.10), LPM trie
 * (4.11), per-CPU arrays (4.6), BTF-defined maps (4.18, libbpf), atomic
 * add (XADD).  The daemon's batch map reads (5.6) have a fallback.
 *
 * The verdict trusts libbpf's real probe of the helper first (distribution
 * kernels backport helpers under old version numbers) and the release
 * from uname(2) only when the probe cannot run.
 */
#ifndef MXT_KERNEL_REQ_H
#define MXT_KERNEL_REQ_H

#include <stddef.h>

#define MXT_KERNEL_MIN_MAJOR 5
#define MXT_KERNEL_MIN_MINOR 11
#define MXT_KERNEL_MIN_TEXT  "5.11"

/* The decision, pure for tests: 'probe' is 1 (helper present), 0 (absent)
 * or < 0 (probe failed); 'release' is uname's ("6.1.0-18-amd64").  0, or
 * -EOPNOTSUPP with the reason in err. */
int mxt_kernel_verdict(const char *release, int probe, char *err, size_t errlen);

/* The check on this machine (probe + uname).  0 or -EOPNOTSUPP. */
int mxt_kernel_check(char *err, size_t errlen);

#endif /* MXT_KERNEL_REQ_H */
