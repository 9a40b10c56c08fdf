/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* reply_codes.c - the code table of reply_codes.h as data. */
#include <stddef.h>
#include "reply_codes.h"

static const struct mxt_code_info mxt_codes[MXT_CODE_MAX] = {
#define MXT_CODE_ROW(id, st, as, ev, d, txt) [MXT_CODE_##id] = { #id, st, as, ev, d, txt },
	MXT_CODE_TABLE(MXT_CODE_ROW)
#undef MXT_CODE_ROW
};

const struct mxt_code_info *mxt_code_info(enum mxt_code code)
{
	if ((int)code < 0 || code >= MXT_CODE_MAX)
		return NULL;
	return &mxt_codes[code];
}
