/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reply_codes.h - every decision the controller can explain, with the
 * SMTP enhanced status (4.7.500-4.7.699 range, as Exchange Online Protection
 * uses for IP throttling), the ASnnn tag senders quote to postmasters, the
 * grep-able log event, and the reason in words.  The policy service, the
 * CLI's "explain", the logs, the README's reply-code table and the tests all
 * read this one table.  X-macro:
 *   MXT_CODE(id, enhanced_status, as_tag, log_event, defers, text)
 * 'defers' = 1 when the policy service answers 451 for it.
 */
#ifndef MXT_REPLY_CODES_H
#define MXT_REPLY_CODES_H

#define MXT_CODE_TABLE(X)                                                       \
	X(OK_ESTABLISHED, "2.0.0",   "AS000", "PASS",      0, "established sender within its own pattern") \
	X(OK_PROBATION,   "2.0.0",   "AS100", "PASS",      0, "new sender on probation, within its allowance") \
	X(OK_CONNECTOR,   "2.0.0",   "AS001", "PASS",      0, "connector (allowlisted CIDR): never limited") \
	X(NEW_SENDER,     "4.7.500", "AS101", "GRAYLIST",  1, "new sender on probation: allowance for this hour used") \
	X(NEW_BURST,      "4.7.501", "AS102", "GRAYLIST",  1, "new sender on probation: too many messages or recipients at once") \
	X(RATE_JUMP,      "4.7.510", "AS201", "THROTTLE",  1, "sending rate far above this IP's previous pattern") \
	X(RATE_COOLDOWN,  "4.7.511", "AS202", "THROTTLE",  1, "throttled after a rate jump, cooling down") \
	X(HARD_LIMIT,     "4.7.520", "AS301", "BLOCK",     1, "connection rate far above any limit") \
	X(GLOBAL_BUDGET,  "4.7.530", "AS401", "DEFER",     1, "too many new senders at once on this gateway")

enum mxt_code {
#define MXT_CODE_ENUM(id, st, as, ev, d, txt) MXT_CODE_##id,
	MXT_CODE_TABLE(MXT_CODE_ENUM)
#undef MXT_CODE_ENUM
	MXT_CODE_MAX
};

/* One row of the table, for code that iterates (README generator, tests). */
struct mxt_code_info {
	const char *name;     /* "NEW_SENDER" */
	const char *status;   /* "4.7.500" */
	const char *as_tag;   /* "AS101" */
	const char *event;    /* "GRAYLIST" */
	int defers;           /* 1: answer 451 */
	const char *text;     /* reason in words */
};

/* Row for 'code', or NULL when out of range. (user/core/reply_codes.c) */
const struct mxt_code_info *mxt_code_info(enum mxt_code code);

#endif /* MXT_REPLY_CODES_H */
