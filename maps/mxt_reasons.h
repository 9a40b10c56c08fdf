/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt_reasons.h - the verdict-reason table: the single list that the XDP
 * program counts into, the CLI prints, the README documents and the tests
 * assert on.  Every packet the program sees is counted under exactly one
 * reason.  X-macro: MXT_REASON(id, name, verdict, description).
 *
 * Order is ABI (it indexes the per-CPU stats map): append only, and bump
 * MXT_ABI_VERSION if an entry is ever removed or reordered.
 */
#ifndef MXT_REASONS_H
#define MXT_REASONS_H

#define MXT_REASON_TABLE(X)                                                         \
	X(NOT_IP,          "not_ip",          PASS, "not IPv4/IPv6 (ARP, LLDP, ...)")   \
	X(NOT_TCP,         "not_tcp",         PASS, "IP but not TCP (UDP, ICMP, ...)")  \
	X(FRAGMENT,        "fragment",        PASS, "non-first IP fragment (cannot hold a TCP header)") \
	X(NOT_SYN,         "not_syn",         PASS, "TCP segment that is not a bare SYN (ACK, RST, SYN+ACK, data)") \
	X(OTHER_PORT,      "other_port",      PASS, "SYN to a port that is not configured")              \
	X(ALLOWLISTED,     "allowlisted",     PASS, "SYN from a connector CIDR: never limited")          \
	X(ADMITTED,        "admitted",        PASS, "counted SYN within its source's limit")             \
	X(MONITOR,         "monitor",         PASS, "counted SYN over a limit, passed because mode=monitor") \
	X(SOURCE_LIMIT,    "source_limit",    DROP, "counted SYN over its source's limit (class or override)") \
	X(BLOCKED,         "blocked",         DROP, "counted SYN from a source in class blocked")        \
	X(GLOBAL_BUDGET,   "global_budget",   DROP, "counted SYN from a source without policy, over the global budget") \
	X(TRUNCATED,       "truncated",       PASS, "anomaly: frame ends inside a header")               \
	X(BAD_HEADER,      "bad_header",      PASS, "anomaly: impossible header field (IHL<5, doff<5, bad version)") \
	X(TOO_DEEP,        "too_deep",        PASS, "anomaly: more VLAN tags or IPv6 extension headers than parsed") \
	X(UNCONFIGURED,    "unconfigured",    PASS, "config map empty or of another ABI: program passes everything") \
	X(MAP_ERROR,       "map_error",       PASS, "per-source state could not be created (fail open)")

enum mxt_reason {
#define MXT_REASON_ENUM(id, name, verdict, desc) MXT_R_##id,
	MXT_REASON_TABLE(MXT_REASON_ENUM)
#undef MXT_REASON_ENUM
	MXT_R_MAX
};

#endif /* MXT_REASONS_H */
