/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_proto.c - incremental, bounded parser of Postfix policy delegation
 * requests (see policy_proto.h for the parsing policy).  The parser keeps
 * only the line being received and the fields it copies, so its memory is
 * fixed whatever the peer sends; it scans with memchr, so feeding a large
 * chunk of pipelined requests costs one pass over the bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "policy_proto.h"

enum field_kind { FK_STR, FK_ADDR, FK_U32, FK_U64 };

/* One attribute we keep: its name, where it goes and how it is checked. */
struct field_desc {
	const char *name;
	unsigned char name_len;
	unsigned char attr;      /* enum mxt_policy_attr */
	unsigned char kind;      /* enum field_kind */
	unsigned char decision;  /* read by the decision: too long or NUL is malformed */
	unsigned short offset;   /* into struct mxt_policy_request */
	unsigned short size;     /* of the destination */
};

#define FIELD(n, a, f, k, d) { #n, sizeof(#n) - 1, a, k, d, \
	offsetof(struct mxt_policy_request, f), sizeof(((struct mxt_policy_request *)0)->f) }

/* The decision attributes (d = 1) are those user/daemon/controller.c's
 * mxt_ctl_decide() and the server read; keep the two in step. */
static const struct field_desc fields[] = {
	FIELD(request, MXT_POLICY_A_REQUEST, request, FK_STR, 1),
	FIELD(protocol_state, MXT_POLICY_A_PROTOCOL_STATE, protocol_state, FK_STR, 1),
	FIELD(protocol_name, MXT_POLICY_A_PROTOCOL_NAME, protocol_name, FK_STR, 0),
	FIELD(client_address, MXT_POLICY_A_CLIENT_ADDRESS, client_address, FK_ADDR, 1),
	FIELD(client_name, MXT_POLICY_A_CLIENT_NAME, client_name, FK_STR, 0),
	FIELD(reverse_client_name, MXT_POLICY_A_REVERSE_CLIENT_NAME, reverse_client_name, FK_STR, 0),
	FIELD(helo_name, MXT_POLICY_A_HELO_NAME, helo_name, FK_STR, 0),
	FIELD(sender, MXT_POLICY_A_SENDER, sender, FK_STR, 0),
	FIELD(recipient, MXT_POLICY_A_RECIPIENT, recipient, FK_STR, 0),
	FIELD(recipient_count, MXT_POLICY_A_RECIPIENT_COUNT, recipient_count, FK_U32, 1),
	FIELD(size, MXT_POLICY_A_SIZE, size, FK_U64, 1),
	FIELD(instance, MXT_POLICY_A_INSTANCE, instance, FK_STR, 1),
	FIELD(queue_id, MXT_POLICY_A_QUEUE_ID, queue_id, FK_STR, 0),
};
#undef FIELD
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

_Static_assert(MXT_POLICY_A_MAX <= 32, "present/truncated are 32-bit masks");
_Static_assert(NFIELDS == MXT_POLICY_A_MAX, "one field per attr");
_Static_assert(MXT_POLICY_LINE_MAX_MIN > 20, "every field name fits in the shortest line");

static const char *const perr_str[MXT_POLICY_PERR_MAX] = {
	[MXT_POLICY_PERR_NONE] = "no error",
	[MXT_POLICY_PERR_NO_EQUALS] = "line without '='",
	[MXT_POLICY_PERR_EMPTY_NAME] = "attribute with an empty name",
	[MXT_POLICY_PERR_NUL] = "NUL byte in request",
	[MXT_POLICY_PERR_LINE_TOO_LONG] = "decision attribute line too long",
	[MXT_POLICY_PERR_EMPTY] = "empty request",
	[MXT_POLICY_PERR_NO_REQUEST] = "no request attribute",
	[MXT_POLICY_PERR_BAD_ADDRESS] = "client_address is not an IP address literal",
};

static const char *const perr_name[MXT_POLICY_PERR_MAX] = {
	[MXT_POLICY_PERR_NONE] = "none",
	[MXT_POLICY_PERR_NO_EQUALS] = "no-equals",
	[MXT_POLICY_PERR_EMPTY_NAME] = "empty-name",
	[MXT_POLICY_PERR_NUL] = "nul-byte",
	[MXT_POLICY_PERR_LINE_TOO_LONG] = "line-too-long",
	[MXT_POLICY_PERR_EMPTY] = "empty-request",
	[MXT_POLICY_PERR_NO_REQUEST] = "no-request-attribute",
	[MXT_POLICY_PERR_BAD_ADDRESS] = "bad-client-address",
};

/* Words for an error reason. */
const char *mxt_policy_perr_str(enum mxt_policy_perr err)
{
	if ((int)err < 0 || err >= MXT_POLICY_PERR_MAX)
		return "unknown error";
	return perr_str[err];
}

/* Grep-able token for an error reason. */
const char *mxt_policy_perr_name(enum mxt_policy_perr err)
{
	if ((int)err < 0 || err >= MXT_POLICY_PERR_MAX)
		return "unknown";
	return perr_name[err];
}

/* The negative errno a reason is reported with. */
static int perr_errno(enum mxt_policy_perr err)
{
	switch (err) {
	case MXT_POLICY_PERR_NONE:
		return 0;
	case MXT_POLICY_PERR_LINE_TOO_LONG:
		return -EMSGSIZE;
	default:
		return -EBADMSG;
	}
}

/* Validates limits and fills in defaults. */
int mxt_policy_limits_check(const struct mxt_policy_limits *in, struct mxt_policy_limits *out)
{
	struct mxt_policy_limits l = { 0 };

	if (in)
		l = *in;
	if (!l.line_max)
		l.line_max = MXT_POLICY_LINE_MAX_DEFAULT;
	if (!l.attrs_max)
		l.attrs_max = MXT_POLICY_ATTRS_MAX_DEFAULT;
	if (!l.request_max)
		l.request_max = MXT_POLICY_REQ_MAX_DEFAULT;
	if (l.line_max < MXT_POLICY_LINE_MAX_MIN || l.line_max > MXT_POLICY_LINE_MAX_CAP)
		return -EINVAL;
	if (l.attrs_max > MXT_POLICY_ATTRS_MAX_CAP)
		return -EINVAL;
	if (l.request_max < l.line_max + 2 || l.request_max > MXT_POLICY_REQ_MAX_CAP)
		return -EINVAL;
	if (out)
		*out = l;
	return 0;
}

/* Starts a fresh line. */
static void start_line(struct mxt_policy_parser *p)
{
	p->line_len = 0;
	p->line_total = 0;
	p->eq = -1;
	p->field = -1;
	p->cr = 0;
	p->cut = 0;
}

/* Starts a fresh request (keeps limits). */
static void start_request(struct mxt_policy_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	start_line(p);
	p->done = 0;
}

/* Prepares a parser. */
int mxt_policy_parser_init(struct mxt_policy_parser *p, const struct mxt_policy_limits *lim)
{
	struct mxt_policy_limits l;
	int err = mxt_policy_limits_check(lim, &l);

	if (err)
		return err;
	p->lim = l;
	p->err = MXT_POLICY_PERR_NONE;
	start_request(p);
	return 0;
}

/* Forgets partial input and errors. */
void mxt_policy_parser_reset(struct mxt_policy_parser *p)
{
	p->err = MXT_POLICY_PERR_NONE;
	start_request(p);
}

/* 1 while a request is partly received. */
int mxt_policy_parser_pending(const struct mxt_policy_parser *p)
{
	return !p->done && !p->err && (p->req.nbytes > 0 || p->line_total > 0 || p->cr);
}

/* Strict unsigned decimal, no sign, no blanks; 0 on success. */
static int parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -1;
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Stores one attribute value into the request.  0 or a parse error. */
static enum mxt_policy_perr store(struct mxt_policy_request *r, const struct field_desc *f,
				  const char *v, size_t n, int cut)
{
	char *dst = (char *)r + f->offset;
	uint32_t bit = 1u << f->attr;
	uint64_t num;

	switch (f->kind) {
	case FK_STR:
		if (n >= f->size || cut) {
			if (n >= f->size)
				n = f->size - 1u;
			r->truncated |= bit;
		} else {
			r->truncated &= ~bit;
		}
		memcpy(dst, v, n);
		dst[n] = '\0';
		r->present |= bit;
		return MXT_POLICY_PERR_NONE;
	case FK_ADDR:
		r->present &= ~bit;
		r->client_family = 0;
		dst[0] = '\0';
		memset(&r->client_addr, 0, sizeof(r->client_addr));
		if (n == 0)
			return MXT_POLICY_PERR_NONE; /* absent: no remote client */
		if (n >= f->size)
			return MXT_POLICY_PERR_BAD_ADDRESS;
		memcpy(dst, v, n);
		dst[n] = '\0';
		if (inet_pton(AF_INET, dst, &r->client_addr.v4) == 1)
			r->client_family = AF_INET;
		else if (inet_pton(AF_INET6, dst, &r->client_addr.v6) == 1)
			r->client_family = AF_INET6;
		else {
			dst[0] = '\0';
			return MXT_POLICY_PERR_BAD_ADDRESS;
		}
		r->present |= bit;
		return MXT_POLICY_PERR_NONE;
	case FK_U32:
		if (parse_decimal(v, n, UINT32_MAX, &num) == 0) {
			r->recipient_count = (uint32_t)num;
			r->present |= bit;
		} else {
			r->recipient_count = 0;
			r->present &= ~bit;
		}
		return MXT_POLICY_PERR_NONE;
	case FK_U64:
		if (parse_decimal(v, n, UINT64_MAX, &num) == 0) {
			r->size = num;
			r->present |= bit;
		} else {
			r->size = 0;
			r->present &= ~bit;
		}
		return MXT_POLICY_PERR_NONE;
	}
	return MXT_POLICY_PERR_NONE;
}

/* Handles the end of a line.  1: request complete, 0: more lines
 * expected, or an error reason (as a negative value). */
static int end_line(struct mxt_policy_parser *p)
{
	struct mxt_policy_request *r = &p->req;
	int rc = 0;

	if (p->line_total == 0) {
		if (r->nattrs == 0)
			return -MXT_POLICY_PERR_EMPTY;
		if (!MXT_POLICY_HAVE(r, MXT_POLICY_A_REQUEST))
			return -MXT_POLICY_PERR_NO_REQUEST;
		return 1;
	}
	if (r->nattrs < UINT32_MAX && ++r->nattrs > p->lim.attrs_max)
		r->oversized = 1;
	if (p->eq < 0)
		return -MXT_POLICY_PERR_NO_EQUALS;
	if (p->field >= 0) {
		enum mxt_policy_perr e = store(r, &fields[p->field], p->line + p->eq + 1,
					       p->line_len - (uint32_t)p->eq - 1u, p->cut);

		rc = e ? -(int)e : 0;
	}
	start_line(p);
	return rc;
}

/* The field named by the first 'n' bytes of the line, or -1. */
static int find_field(const char *name, size_t n)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].name_len == n && memcmp(fields[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

/* 1 when the line names a decision attribute. */
static int line_is_decision(const struct mxt_policy_parser *p)
{
	return p->field >= 0 && fields[p->field].decision;
}

/* Takes one byte of line content (not a line end).  0 or an error reason. */
static enum mxt_policy_perr line_byte(struct mxt_policy_parser *p, char b)
{
	if (b == '\0') {
		if (p->eq < 0 || line_is_decision(p))
			return MXT_POLICY_PERR_NUL;
		p->cut = 1; /* the value ends here, as a C string would */
	}
	if (p->line_total < UINT32_MAX)
		p->line_total++;
	if (p->line_total > p->lim.line_max) {
		if (line_is_decision(p))
			return MXT_POLICY_PERR_LINE_TOO_LONG;
		p->cut = 1;
	}
	if (b == '=' && p->eq < 0) {
		if (p->line_total == 1)
			return MXT_POLICY_PERR_EMPTY_NAME;
		/* A name longer than the line kept is no field we know. */
		p->eq = (int32_t)(p->line_total - 1u);
		p->field = p->line_total <= p->lim.line_max ?
			(int16_t)find_field(p->line, p->line_len) : -1;
	}
	if (!p->cut)
		p->line[p->line_len++] = b;
	return MXT_POLICY_PERR_NONE;
}

/* Records an error and returns its errno. */
static int fail(struct mxt_policy_parser *p, enum mxt_policy_perr e)
{
	p->err = e;
	return perr_errno(e);
}

/* Counts request bytes (saturating) and marks the request oversized. */
static void count_bytes(struct mxt_policy_parser *p, size_t n)
{
	p->req.nbytes = n > UINT32_MAX - p->req.nbytes ? UINT32_MAX : p->req.nbytes + (uint32_t)n;
	if (p->req.nbytes > p->lim.request_max)
		p->req.oversized = 1;
}

/* Length of the run of plain bytes at 'buf' (no line end, CR, NUL, nor
 * '=' while the name is being read) that fits the line kept: the bulk of a
 * line, which line_byte() would take one by one with the same effect. */
static size_t plain_run(const struct mxt_policy_parser *p, const char *buf, size_t len)
{
	char eq = p->eq < 0 ? '=' : '\n'; /* '\n' stops the scan anyway */
	size_t room, n = 0;

	if (p->cr || p->line_total >= p->lim.line_max)
		return 0;
	room = p->lim.line_max - p->line_total;
	if (len > room)
		len = room;
	while (n < len && buf[n] != '\n' && buf[n] != '\r' && buf[n] != '\0' && buf[n] != eq)
		n++;
	return n;
}

/*
 * Feeds bytes; see policy_proto.h.  One byte at a time through line_byte()
 * and end_line() (runs of plain bytes in bulk, to the same effect),
 * with no decision depending on where a chunk ends: that is what makes the
 * verdict the same however the input is cut.  A CR is held back until the
 * next byte says whether it ends the line.
 */
int mxt_policy_parser_feed(struct mxt_policy_parser *p, const char *buf, size_t len,
			   size_t *consumed)
{
	size_t i = 0;

	*consumed = 0;
	if (p->err)
		return perr_errno(p->err);
	if (p->done)
		start_request(p);
	while (i < len) {
		size_t run = plain_run(p, buf + i, len - i);
		char b = buf[i];
		enum mxt_policy_perr e;
		int r;

		if (run) {
			if (!p->cut) {
				memcpy(p->line + p->line_len, buf + i, run);
				p->line_len += (uint32_t)run;
			}
			p->line_total += (uint32_t)run;
			count_bytes(p, run);
			i += run;
			continue;
		}
		count_bytes(p, 1);
		i++;
		if (b == '\n') {
			p->cr = 0;
			r = end_line(p);
			if (r < 0) {
				*consumed = i;
				return fail(p, (enum mxt_policy_perr)-r);
			}
			if (r == 1) {
				p->done = 1;
				*consumed = i;
				return 1;
			}
			continue;
		}
		if (p->cr) {
			p->cr = 0;
			e = line_byte(p, '\r');
			if (e) {
				*consumed = i - 1;
				return fail(p, e);
			}
		}
		if (b == '\r') {
			p->cr = 1;
			continue;
		}
		e = line_byte(p, b);
		if (e) {
			*consumed = i - 1;
			return fail(p, e);
		}
	}
	*consumed = len;
	return 0;
}
