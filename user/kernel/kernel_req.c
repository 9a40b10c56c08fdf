/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* kernel_req.c - refuse kernels older than the program needs (see
 * kernel_req.h for the floor and why the probe wins over uname). */
#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "errfmt.h"
#include "kernel_req.h"

int mxt_kernel_verdict(const char *release, int probe, char *err, size_t errlen)
{
	int major, minor;

	if (probe > 0)
		return 0;
	if (probe == 0) {
		mxt_seterr(err, errlen, "this kernel (%s) has no bpf_ktime_get_coarse_ns() for XDP programs: "
			   "mxthrottle needs Linux %s or later", release ? release : "?", MXT_KERNEL_MIN_TEXT);
		return -EOPNOTSUPP;
	}
	/* The probe could not run: judge by the version number. */
	if (!release || sscanf(release, "%d.%d", &major, &minor) != 2)
		return 0;
	if (major > MXT_KERNEL_MIN_MAJOR || (major == MXT_KERNEL_MIN_MAJOR && minor >= MXT_KERNEL_MIN_MINOR))
		return 0;
	mxt_seterr(err, errlen, "kernel %s is too old: mxthrottle needs Linux %s or later "
		   "(bpf_ktime_get_coarse_ns)", release, MXT_KERNEL_MIN_TEXT);
	return -EOPNOTSUPP;
}

int mxt_kernel_check(char *err, size_t errlen)
{
	struct utsname u;
	int probe = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, NULL);

	return mxt_kernel_verdict(uname(&u) == 0 ? u.release : NULL, probe, err, errlen);
}
