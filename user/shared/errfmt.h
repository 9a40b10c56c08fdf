/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one way a function reports an error in text: the caller hands in
 * an optional buffer (err, errlen), the callee fills it with one line
 * and returns a negative code.  Kept apart from any module so the pure
 * core and the daemon share it without depending on each other.
 */
#ifndef MXT_ERRFMT_H
#define MXT_ERRFMT_H

#include <stddef.h>

/* printf into an optional error buffer (err NULL or errlen 0: nothing);
 * truncates, never fails. */
void mxt_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
