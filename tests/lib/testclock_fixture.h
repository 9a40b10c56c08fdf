/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * testclock_fixture.h - load the test-clock build of the XDP program
 * (mxthrottle_testclock.skel.h) for BPF_PROG_TEST_RUN tests: opened, its
 * maps unpinned (nothing may touch the host's bpffs), loaded.  Header-only
 * and included by the BPF tests alone, which have the skeleton.
 */
#ifndef MXT_TESTCLOCK_FIXTURE_H
#define MXT_TESTCLOCK_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mxthrottle_testclock.skel.h"
#include "xdp_fixture.h"

/* The loaded skeleton, or NULL with the reason on stderr. */
static inline struct mxthrottle_testclock_bpf *mxt_fx_testclock_load(void)
{
	struct mxthrottle_testclock_bpf *skel = mxthrottle_testclock_bpf__open();
	int err;

	if (!skel) {
		fprintf(stderr, "open skeleton: %s\n", strerror(errno));
		return NULL;
	}
	if (mxt_fx_unpin(skel->obj)) {
		mxthrottle_testclock_bpf__destroy(skel);
		return NULL;
	}
	err = mxthrottle_testclock_bpf__load(skel);
	if (err) {
		fprintf(stderr, "load skeleton: %s (root needed)\n", strerror(-err));
		mxthrottle_testclock_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

#endif /* MXT_TESTCLOCK_FIXTURE_H */
