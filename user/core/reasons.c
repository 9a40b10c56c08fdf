// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* reasons.c - the verdict-reason table of mxt_reasons.h as data. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "reasons.h"

#define MXT_V_PASS MXT_VERDICT_PASS
#define MXT_V_DROP MXT_VERDICT_DROP
#define MXT_VN_PASS "pass"
#define MXT_VN_DROP "drop"

static const struct mxt_reason_info mxt_reasons[MXT_R_MAX] = {
#define MXT_REASON_ROW(id, name, verdict, desc) \
	[MXT_R_##id] = { name, MXT_V_##verdict, MXT_VN_##verdict, desc },
	MXT_REASON_TABLE(MXT_REASON_ROW)
#undef MXT_REASON_ROW
};

const struct mxt_reason_info *mxt_reason_info(unsigned int r)
{
	return r < MXT_R_MAX ? &mxt_reasons[r] : NULL;
}

const char *mxt_reason_name(unsigned int r)
{
	return r < MXT_R_MAX ? mxt_reasons[r].name : "?";
}

int mxt_reason_by_name(const char *name)
{
	for (unsigned int r = 0; r < MXT_R_MAX; r++)
		if (strcmp(mxt_reasons[r].name, name) == 0)
			return (int)r;
	return -ENOENT;
}
