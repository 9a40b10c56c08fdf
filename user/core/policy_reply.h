/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_reply.h - the one-line answer of the policy service, built from the
 * model's decision (decision.h), the mode and the client address:
 *
 *   enforce, deferring code:  action=451 4.7.500 <text>, retry after N s [198.18.0.7] (AS101)
 *   monitor, deferring code:  action=PREPEND X-Mxthrottle: would-defer 4.7.500 (AS101) <text>, retry after N s [198.18.0.7]
 *   anything else:            action=DUNNO
 *
 * Status, AS tag and text come from reply_codes.h.  ", retry after N s" is
 * left out when retry_after is 0; " [ip]" when the address is empty or
 * not an IP literal.  IPv6
 * addresses are written as the plain literal in brackets ("[2001:2::7]"),
 * never with an "IPv6:" prefix.
 *
 * A code defers only when both the decision says so (d->defer) and its row
 * in the table does (defers = 1): a mismatch answers DUNNO (fail open).
 * DUNNO rather than OK so that the MTA's later restrictions still run.
 *
 * Output is one line without line end (the server adds "\n\n"), at most
 * MXT_POLICY_REPLY_MAX - 1 bytes: "action=" plus an SMTP reply of at most
 * 504 characters, inside RFC 5321's 512-octet reply line.  Only printable
 * US-ASCII is written: control characters become ' ', 8-bit bytes '?', so
 * nothing can end the line or the answer early.  When the text does not fit
 * it is cut; the status, the AS tag and the address always survive.
 */
#ifndef MXT_POLICY_REPLY_H
#define MXT_POLICY_REPLY_H

#include <stddef.h>
#include <stdint.h>
#include "decision.h"

#define MXT_POLICY_REPLY_MAX 512   /* bytes of an answer line, NUL included */
#define MXT_POLICY_HEADER_NAME "X-Mxthrottle"

/* The kind of an answer. */
enum mxt_policy_answer {
	MXT_POLICY_ANSWER_DUNNO = 0,   /* action=DUNNO */
	MXT_POLICY_ANSWER_DEFER,       /* action=451 ... */
	MXT_POLICY_ANSWER_PREPEND,     /* action=PREPEND X-Mxthrottle: would-defer ... */
	MXT_POLICY_ANSWER_MAX
};

/* Grep-able word for an answer kind: "DUNNO", "DEFER", "PREPEND". */
const char *mxt_policy_answer_name(enum mxt_policy_answer a);

/*
 * Writes the answer for decision 'd' in 'mode' (MXT_MODE_ENFORCE or
 * MXT_MODE_MONITOR from mxt_abi.h; any other value acts as monitor) about
 * 'client_address' (may be NULL) into 'buf' of 'size' bytes (at least
 * MXT_POLICY_REPLY_MAX).  Returns the answer kind (>= 0), or -EINVAL
 * (buf NULL or too small; 'd' NULL).
 */
int mxt_policy_reply_format(char *buf, size_t size, const struct mxt_decision *d, int mode,
			    const char *client_address);

/*
 * The formatter under mxt_policy_reply_format(), with the parts given
 * (for custom texts, and for tests): 'kind' DEFER or PREPEND builds the
 * line from 'status' ("4.7.500"), 'as_tag' ("AS101"), 'text',
 * 'retry_after' (0: no retry phrase) and 'client_address'; DUNNO ignores
 * them.  Every part is sanitised.  Returns 'kind' or -EINVAL.
 */
int mxt_policy_reply_compose(char *buf, size_t size, enum mxt_policy_answer kind,
			     const char *status, const char *as_tag, const char *text,
			     uint32_t retry_after, const char *client_address);

#endif /* MXT_POLICY_REPLY_H */
