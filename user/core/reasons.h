/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reasons.h - lookups over the verdict-reason table of maps/mxt_reasons.h
 * (the X-macro that indexes mxt_stats): name, verdict and description by
 * index, and index by name.  The CLI's stats, the docs and the tests read
 * the table through here.
 */
#ifndef MXT_REASONS_LOOKUP_H
#define MXT_REASONS_LOOKUP_H

#include "mxt_reasons.h"

/* What the XDP program does with a packet counted under a reason. */
#define MXT_VERDICT_PASS 0
#define MXT_VERDICT_DROP 1

/* One row of the reason table. */
struct mxt_reason_info {
	const char *name;     /* "source_limit" */
	int verdict;          /* MXT_VERDICT_PASS or MXT_VERDICT_DROP */
	const char *verdict_name; /* "pass" or "drop" */
	const char *desc;     /* one line, in words */
};

/* The row for reason 'r', or NULL when r >= MXT_R_MAX. */
const struct mxt_reason_info *mxt_reason_info(unsigned int r);
/* The name of reason 'r', or "?" when out of range. */
const char *mxt_reason_name(unsigned int r);
/* The index of the reason called 'name', or -ENOENT. */
int mxt_reason_by_name(const char *name);

#endif /* MXT_REASONS_LOOKUP_H */
