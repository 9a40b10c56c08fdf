/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_proto.h - an incremental, bounded parser for Postfix's SMTP access
 * policy delegation protocol (SMTPD_POLICY_README): a request is a sequence
 * of "name=value" lines ended by an empty line.  Bytes are fed as they
 * arrive, in chunks of any size (one byte at a time works); each complete
 * request comes out as a struct mxt_policy_request holding bounded copies of
 * the attributes mxthrottle uses.  Unknown attributes are ignored, as the
 * protocol requires.  Both "\n" and "\r\n" end a line.
 *
 * Parsing policy (a reader who wants to "relax" or "tighten" one of these
 * should read why first):
 *  - The decision reads only client_address, request, protocol_state,
 *    instance, size and recipient_count (the "decision attributes").  Only
 *    they, and the framing itself, can make a request malformed.  Every
 *    other attribute is cut or skipped, never fatal: an SMTP client controls
 *    helo_name, sender and recipient, and a request we refuse is one Postfix
 *    lets through with its default_action (issue 9, hole 4).
 *  - An attribute line is kept up to line_max bytes, not counting its "\n"
 *    or "\r\n" (default MXT_POLICY_LINE_MAX_DEFAULT = 512, settable up to
 *    MXT_POLICY_LINE_MAX_CAP); the rest of a longer line is discarded and
 *    the value marked in 'truncated'.  A decision attribute over line_max is
 *    malformed (line-too-long) at its (line_max + 1)th byte.
 *  - A request over request_max bytes (line ends included, 8 KiB) or over
 *    attrs_max attribute lines (64; Postfix 3.7 sends ~30) is marked
 *    'oversized' but still parsed to its blank line and answered: memory
 *    stays fixed whatever the peer sends, and the time a request may take is
 *    the server's deadline.  client_address comes after sender and
 *    recipient in Postfix's order, so dropping the excess would drop it.
 *  - A NUL byte in a name or in a decision attribute is malformed
 *    (nul-byte).  In any other value it ends the value, as it would in
 *    Postfix's own C strings, and the value is marked truncated.
 *  - A line without '=', an empty name, an empty request (a lone empty
 *    line), a request without "request=", a client_address that is not an
 *    IPv4 or IPv6 literal: malformed.  The server closes that connection.
 *  - An empty client_address (Exim's $sender_host_address for local
 *    submissions) counts as absent, not as malformed.
 *  - recipient_count and size that are not decimal numbers (Exim sends
 *    size=-1 when the client gave no SIZE) are left 0 and not marked present.
 *  - A value longer than its field is truncated and its bit set in
 *    'truncated'; the request is still valid.
 *  - When an attribute repeats, the last one wins.
 *  - One input, one verdict, however it is chunked: the parser is a state
 *    machine over bytes, and an error is reported at the first byte after
 *    which the input cannot be valid, with the rule that byte broke.  Rules
 *    decided at a line end (no '=', empty request, no request=, bad address)
 *    come after every byte of that line was accepted.
 * After an error the parser stays failed until mxt_policy_parser_reset().
 */
#ifndef MXT_POLICY_PROTO_H
#define MXT_POLICY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define MXT_POLICY_LINE_MAX_DEFAULT  512u   /* bytes per attribute line, line end excluded */
#define MXT_POLICY_LINE_MAX_MIN      64u
#define MXT_POLICY_LINE_MAX_CAP      2048u  /* compile-time buffer size per parser */
#define MXT_POLICY_ATTRS_MAX_DEFAULT 64u    /* attribute lines per request */
#define MXT_POLICY_ATTRS_MAX_CAP     1024u
#define MXT_POLICY_REQ_MAX_DEFAULT   8192u  /* bytes per request, line ends included */
#define MXT_POLICY_REQ_MAX_CAP       65536u

/* Field sizes (bytes, NUL included) of the bounded copies. */
#define MXT_POLICY_ADDR_LEN   46   /* INET6_ADDRSTRLEN */
#define MXT_POLICY_NAME_LEN   256  /* DNS names, HELO argument */
#define MXT_POLICY_MAILBOX_LEN 512 /* envelope sender / recipient */
#define MXT_POLICY_TOKEN_LEN  64   /* request, protocol_state, instance, queue_id */

/* Bits of mxt_policy_request.present and .truncated: one per field. */
enum mxt_policy_attr {
	MXT_POLICY_A_REQUEST = 0,
	MXT_POLICY_A_PROTOCOL_STATE,
	MXT_POLICY_A_PROTOCOL_NAME,
	MXT_POLICY_A_CLIENT_ADDRESS,
	MXT_POLICY_A_CLIENT_NAME,
	MXT_POLICY_A_REVERSE_CLIENT_NAME,
	MXT_POLICY_A_HELO_NAME,
	MXT_POLICY_A_SENDER,
	MXT_POLICY_A_RECIPIENT,
	MXT_POLICY_A_RECIPIENT_COUNT,
	MXT_POLICY_A_SIZE,
	MXT_POLICY_A_INSTANCE,
	MXT_POLICY_A_QUEUE_ID,
	MXT_POLICY_A_MAX
};
#define MXT_POLICY_HAVE(req, a) (((req)->present >> (a)) & 1u)

/* One complete request: bounded, NUL-terminated copies of what we use. */
struct mxt_policy_request {
	char request[MXT_POLICY_TOKEN_LEN];         /* "smtpd_access_policy" */
	char protocol_state[MXT_POLICY_TOKEN_LEN];  /* "RCPT", "CONNECT", "DATA", ... */
	char protocol_name[MXT_POLICY_TOKEN_LEN];   /* "SMTP", "ESMTP" */
	char client_address[MXT_POLICY_ADDR_LEN];   /* literal as sent, no brackets */
	char client_name[MXT_POLICY_NAME_LEN];      /* verified name or "unknown" */
	char reverse_client_name[MXT_POLICY_NAME_LEN]; /* PTR name or "unknown" */
	char helo_name[MXT_POLICY_NAME_LEN];        /* HELO/EHLO argument */
	char sender[MXT_POLICY_MAILBOX_LEN];        /* envelope sender, "" for <> */
	char recipient[MXT_POLICY_MAILBOX_LEN];     /* envelope recipient */
	char instance[MXT_POLICY_TOKEN_LEN];        /* one value per message transaction */
	char queue_id[MXT_POLICY_TOKEN_LEN];        /* may be empty before DATA */
	uint64_t size;                              /* SIZE= or message size, 0 if unknown */
	uint32_t recipient_count;                   /* accepted recipients so far */
	int client_family;                          /* AF_INET, AF_INET6, 0 if absent */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} client_addr;                              /* binary form of client_address */
	uint32_t present;                           /* 1 << MXT_POLICY_A_* seen (valid) */
	uint32_t truncated;                         /* 1 << MXT_POLICY_A_* cut to fit */
	uint32_t nattrs;                            /* attribute lines, unknown ones included */
	uint32_t nbytes;                            /* request bytes, line ends included (saturates) */
	uint32_t oversized;                         /* 1: over request_max or attrs_max */
};

/* Why a request was refused (mxt_policy_parser.err). */
enum mxt_policy_perr {
	MXT_POLICY_PERR_NONE = 0,
	MXT_POLICY_PERR_NO_EQUALS,     /* line without '=' */
	MXT_POLICY_PERR_EMPTY_NAME,    /* "=value" */
	MXT_POLICY_PERR_NUL,           /* NUL byte */
	MXT_POLICY_PERR_LINE_TOO_LONG, /* decision attribute line over line_max */
	MXT_POLICY_PERR_EMPTY,         /* empty line with no attribute before it */
	MXT_POLICY_PERR_NO_REQUEST,    /* no request= attribute */
	MXT_POLICY_PERR_BAD_ADDRESS,   /* client_address not an IP literal */
	MXT_POLICY_PERR_MAX
};

/* Limits of one parser; 0 in a field means its default. */
struct mxt_policy_limits {
	uint32_t line_max;     /* [MXT_POLICY_LINE_MAX_MIN, MXT_POLICY_LINE_MAX_CAP] */
	uint32_t attrs_max;    /* [1, MXT_POLICY_ATTRS_MAX_CAP] */
	uint32_t request_max;  /* [line_max + 2, MXT_POLICY_REQ_MAX_CAP] */
};

/* Parser state of one connection.  Plain data: embed it, no destructor. */
struct mxt_policy_parser {
	struct mxt_policy_limits lim;    /* in force */
	struct mxt_policy_request req;   /* being filled; complete after a 1 return */
	enum mxt_policy_perr err;        /* sticky error, NONE while healthy */
	int done;                        /* req complete; next feed starts a new one */
	uint32_t line_len;               /* bytes kept in line[] */
	uint32_t line_total;             /* bytes of the line seen, CR held back excluded */
	int32_t eq;                      /* offset of the first '=' in the line, -1: none yet */
	int16_t field;                   /* index of the named field, -1: unknown or none */
	uint8_t cr;                      /* a CR was read: a line end if LF follows */
	uint8_t cut;                     /* value cut (line too long, NUL in it) */
	char line[MXT_POLICY_LINE_MAX_CAP]; /* the line being received, up to line_max */
};

/* Checks 'in' and writes the limits in force (defaults filled) to 'out'.
 * Returns 0 or -EINVAL when a value is out of range. */
int mxt_policy_limits_check(const struct mxt_policy_limits *in, struct mxt_policy_limits *out);

/* Prepares 'p' with limits 'lim' (NULL: defaults).  0 or -EINVAL. */
int mxt_policy_parser_init(struct mxt_policy_parser *p, const struct mxt_policy_limits *lim);

/* Forgets any partial request and any error; keeps the limits. */
void mxt_policy_parser_reset(struct mxt_policy_parser *p);

/*
 * Feeds 'len' bytes.  Returns 1 when a request completed: it is in p->req
 * (valid until the next feed or reset) and *consumed says how many bytes of
 * 'buf' it took (feed the rest next; pipelined requests come out one per
 * call).  Returns 0 when every byte was consumed and no request completed
 * yet.  Returns a negative errno when the input is malformed: -EMSGSIZE (a
 * decision attribute's line too long), -EBADMSG (anything else); p->err
 * says which; *consumed counts the bytes before the one that decided it,
 * or up to and including the line end for rules decided there.  Errors
 * are sticky.
 */
int mxt_policy_parser_feed(struct mxt_policy_parser *p, const char *buf, size_t len,
			   size_t *consumed);

/* 1 when a request is partly received (bytes after the last request). */
int mxt_policy_parser_pending(const struct mxt_policy_parser *p);

/* Words for an error reason, for logs: "line without '='". */
const char *mxt_policy_perr_str(enum mxt_policy_perr err);

/* Short grep-able token for an error reason: "no-equals". */
const char *mxt_policy_perr_name(enum mxt_policy_perr err);

#endif /* MXT_POLICY_PROTO_H */
