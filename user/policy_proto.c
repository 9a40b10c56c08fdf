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
	unsigned short offset;   /* into struct mxt_policy_request */
	unsigned short size;     /* of the destination */
};

#define FSTR(n, a, f) { #n, sizeof(#n) - 1, a, FK_STR, \
	offsetof(struct mxt_policy_request, f), sizeof(((struct mxt_policy_request *)0)->f) }
#define FNUM(n, a, f, k) { #n, sizeof(#n) - 1, a, k, \
	offsetof(struct mxt_policy_request, f), sizeof(((struct mxt_policy_request *)0)->f) }

static const struct field_desc fields[] = {
	FSTR(request, MXT_POLICY_A_REQUEST, request),
	FSTR(protocol_state, MXT_POLICY_A_PROTOCOL_STATE, protocol_state),
	FSTR(protocol_name, MXT_POLICY_A_PROTOCOL_NAME, protocol_name),
	{ "client_address", sizeof("client_address") - 1, MXT_POLICY_A_CLIENT_ADDRESS, FK_ADDR,
	  offsetof(struct mxt_policy_request, client_address),
	  sizeof(((struct mxt_policy_request *)0)->client_address) },
	FSTR(client_name, MXT_POLICY_A_CLIENT_NAME, client_name),
	FSTR(reverse_client_name, MXT_POLICY_A_REVERSE_CLIENT_NAME, reverse_client_name),
	FSTR(helo_name, MXT_POLICY_A_HELO_NAME, helo_name),
	FSTR(sender, MXT_POLICY_A_SENDER, sender),
	FSTR(recipient, MXT_POLICY_A_RECIPIENT, recipient),
	FNUM(recipient_count, MXT_POLICY_A_RECIPIENT_COUNT, recipient_count, FK_U32),
	FNUM(size, MXT_POLICY_A_SIZE, size, FK_U64),
	FSTR(instance, MXT_POLICY_A_INSTANCE, instance),
	FSTR(queue_id, MXT_POLICY_A_QUEUE_ID, queue_id),
};
#undef FSTR
#undef FNUM

_Static_assert(MXT_POLICY_A_MAX <= 32, "present/truncated are 32-bit masks");
_Static_assert(sizeof(fields) / sizeof(fields[0]) == MXT_POLICY_A_MAX, "one field per attr");

static const char *const perr_str[MXT_POLICY_PERR_MAX] = {
	[MXT_POLICY_PERR_NONE] = "no error",
	[MXT_POLICY_PERR_NO_EQUALS] = "line without '='",
	[MXT_POLICY_PERR_EMPTY_NAME] = "attribute with an empty name",
	[MXT_POLICY_PERR_NUL] = "NUL byte in request",
	[MXT_POLICY_PERR_LINE_TOO_LONG] = "attribute line too long",
	[MXT_POLICY_PERR_REQ_TOO_LONG] = "request too long",
	[MXT_POLICY_PERR_TOO_MANY] = "too many attributes",
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
	[MXT_POLICY_PERR_REQ_TOO_LONG] = "request-too-long",
	[MXT_POLICY_PERR_TOO_MANY] = "too-many-attributes",
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
	case MXT_POLICY_PERR_REQ_TOO_LONG:
		return -EMSGSIZE;
	case MXT_POLICY_PERR_TOO_MANY:
		return -E2BIG;
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

/* Starts a fresh request (keeps limits). */
static void start_request(struct mxt_policy_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	p->line_len = 0;
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
	return !p->done && !p->err && (p->req.nbytes > 0 || p->line_len > 0);
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
				  const char *v, size_t n)
{
	char *dst = (char *)r + f->offset;
	uint32_t bit = 1u << f->attr;
	uint64_t num;

	switch (f->kind) {
	case FK_STR:
		if (n >= f->size) {
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

/* Handles one complete line (line end stripped).  1: request complete,
 * 0: more lines expected, or an error reason (as a negative value). */
static int end_line(struct mxt_policy_parser *p)
{
	struct mxt_policy_request *r = &p->req;
	const char *line = p->line;
	size_t len = p->line_len;
	const char *eq;
	size_t name_len;

	p->line_len = 0;
	if (len == 0) {
		if (r->nattrs == 0)
			return -MXT_POLICY_PERR_EMPTY;
		if (!MXT_POLICY_HAVE(r, MXT_POLICY_A_REQUEST))
			return -MXT_POLICY_PERR_NO_REQUEST;
		return 1;
	}
	if (++r->nattrs > p->lim.attrs_max)
		return -MXT_POLICY_PERR_TOO_MANY;
	eq = memchr(line, '=', len);
	if (!eq)
		return -MXT_POLICY_PERR_NO_EQUALS;
	name_len = (size_t)(eq - line);
	if (name_len == 0)
		return -MXT_POLICY_PERR_EMPTY_NAME;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_desc *f = &fields[i];
		enum mxt_policy_perr e;

		if (f->name_len != name_len || memcmp(f->name, line, name_len) != 0)
			continue;
		e = store(r, f, eq + 1, len - name_len - 1);
		return e ? -(int)e : 0;
	}
	return 0; /* unknown attribute: ignored, as the protocol requires */
}

/* Records an error and returns its errno. */
static int fail(struct mxt_policy_parser *p, enum mxt_policy_perr e)
{
	p->err = e;
	return perr_errno(e);
}

/* Feeds bytes; see policy_proto.h. */
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
		const char *s = buf + i;
		size_t n = len - i;
		const char *nl = memchr(s, '\n', n);
		size_t seg = nl ? (size_t)(nl - s) : n;
		const char *nul = memchr(s, '\0', seg);
		int r;

		if (nul) {
			*consumed = i + (size_t)(nul - s);
			return fail(p, MXT_POLICY_PERR_NUL);
		}
		/* One byte of slack for a CR that a LF may follow. */
		if ((size_t)p->line_len + seg > (size_t)p->lim.line_max + 1u) {
			*consumed = i;
			return fail(p, MXT_POLICY_PERR_LINE_TOO_LONG);
		}
		if ((size_t)p->req.nbytes + seg + (nl ? 1u : 0u) > p->lim.request_max) {
			*consumed = i;
			return fail(p, MXT_POLICY_PERR_REQ_TOO_LONG);
		}
		memcpy(p->line + p->line_len, s, seg);
		p->line_len += (uint32_t)seg;
		p->req.nbytes += (uint32_t)seg;
		i += seg;
		if (!nl)
			break;
		i++;
		p->req.nbytes++;
		if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
			p->line_len--;
		if (p->line_len > p->lim.line_max) {
			*consumed = i;
			return fail(p, MXT_POLICY_PERR_LINE_TOO_LONG);
		}
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
	}
	*consumed = len;
	return 0;
}
