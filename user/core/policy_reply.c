/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_reply.c - formats the policy service's one-line answer (see
 * policy_reply.h).  Every byte that goes out passes an allow-list: the
 * answer must stay one line, and the SMTP reply text plain ASCII.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mxt_abi.h"
#include "policy_reply.h"
#include "reply_codes.h"

#define STATUS_MAX 11  /* "4.999.999" */
#define TAG_MAX    15
#define ADDR_MAX   45  /* INET6_ADDRSTRLEN - 1 */

static const char *const answer_names[MXT_POLICY_ANSWER_MAX] = {
	[MXT_POLICY_ANSWER_DUNNO] = "DUNNO",
	[MXT_POLICY_ANSWER_DEFER] = "DEFER",
	[MXT_POLICY_ANSWER_PREPEND] = "PREPEND",
};

/* Word for an answer kind. */
const char *mxt_policy_answer_name(enum mxt_policy_answer a)
{
	if ((int)a < 0 || a >= MXT_POLICY_ANSWER_MAX)
		return "UNKNOWN";
	return answer_names[a];
}

/* A bounded string under construction; never overflows, cuts instead. */
struct sbuf {
	char *p;
	size_t cap;   /* characters allowed (NUL excluded) */
	size_t len;
};

/* Appends at most 'n' bytes of 's' as they are (callers pass clean text). */
static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	size_t room = b->cap - b->len;

	if (n > room)
		n = room;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Appends a clean C string. */
static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* Copies 's' keeping only characters of 'allow' (a ctype-like test), at most
 * 'max' of them, into 'out' (max + 1 bytes).  Returns the length. */
static size_t filter(char *out, size_t max, const char *s, int (*allow)(unsigned char))
{
	size_t n = 0;

	for (; s && *s && n < max; s++)
		if (allow((unsigned char)*s))
			out[n++] = *s;
	out[n] = '\0';
	return n;
}

/* Characters of an enhanced status code. */
static int status_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || c == '.';
}

/* Characters of an AS tag. */
static int tag_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Copies 's' to 'out' (ADDR_MAX + 1 bytes) when it is an IPv4 or IPv6
 * literal; anything else yields "" (the address is then left out). */
static void clean_addr(char *out, const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	size_t n = s ? strnlen(s, ADDR_MAX + 1) : 0;

	out[0] = '\0';
	if (n == 0 || n > ADDR_MAX)
		return;
	memcpy(out, s, n);
	out[n] = '\0';
	if (inet_pton(AF_INET, out, bin) != 1 && inet_pton(AF_INET6, out, bin) != 1)
		out[0] = '\0';
}

/* 1 when 's' is a 4.X.Y enhanced status (RFC 3463 class 4, 1-3 digit parts). */
static int is_transient_status(const char *s)
{
	int parts = 0, digits = 0;

	if (s[0] != '4' || s[1] != '.')
		return 0;
	for (const char *c = s + 2; ; c++) {
		if (*c >= '0' && *c <= '9') {
			if (++digits > 3)
				return 0;
		} else if (*c == '.' || *c == '\0') {
			if (digits == 0)
				return 0;
			parts++;
			digits = 0;
			if (*c == '\0')
				break;
		} else {
			return 0;
		}
	}
	return parts == 2;
}

/* Appends free text, made printable ASCII, cut to the room left minus 'keep'. */
static void sb_put_text(struct sbuf *b, const char *s, size_t keep)
{
	size_t limit = b->cap - b->len > keep ? b->cap - b->len - keep : 0;

	for (; s && *s && limit > 0; s++, limit--) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80)
			c = '?';
		b->p[b->len++] = (char)c;
	}
	b->p[b->len] = '\0';
}

/* Builds an answer from its parts; see policy_reply.h. */
int mxt_policy_reply_compose(char *buf, size_t size, enum mxt_policy_answer kind,
			     const char *status, const char *as_tag, const char *text,
			     uint32_t retry_after, const char *client_address)
{
	char st[STATUS_MAX + 1], tag[TAG_MAX + 1], addr[ADDR_MAX + 1];
	char tail[128];
	struct sbuf b, t;
	int text_empty;

	if (!buf || size < MXT_POLICY_REPLY_MAX)
		return -EINVAL;
	b = (struct sbuf){ .p = buf, .cap = MXT_POLICY_REPLY_MAX - 1, .len = 0 };
	buf[0] = '\0';
	if (kind == MXT_POLICY_ANSWER_DUNNO) {
		sb_puts(&b, "action=DUNNO");
		return kind;
	}
	if (kind != MXT_POLICY_ANSWER_DEFER && kind != MXT_POLICY_ANSWER_PREPEND)
		return -EINVAL;

	filter(st, STATUS_MAX, status, status_char);
	if (kind == MXT_POLICY_ANSWER_DEFER && !is_transient_status(st))
		st[0] = '\0'; /* "451 2.0.0" would be nonsense: let the MTA pick one */
	filter(tag, TAG_MAX, as_tag, tag_char);
	clean_addr(addr, client_address);
	text_empty = !text || !*text;

	/* The tail is built first so that the text is what gets cut. */
	t = (struct sbuf){ .p = tail, .cap = sizeof(tail) - 1, .len = 0 };
	tail[0] = '\0';
	if (retry_after) {
		char num[32];

		snprintf(num, sizeof(num), "%sretry after %u s", text_empty ? "" : ", ",
			 (unsigned)retry_after);
		sb_puts(&t, num);
	}
	if (addr[0]) {
		sb_puts(&t, t.len || !text_empty ? " [" : "[");
		sb_puts(&t, addr);
		sb_puts(&t, "]");
	}
	if (kind == MXT_POLICY_ANSWER_DEFER && tag[0]) {
		sb_puts(&t, " (");
		sb_puts(&t, tag);
		sb_puts(&t, ")");
	}

	if (kind == MXT_POLICY_ANSWER_DEFER) {
		sb_puts(&b, "action=451 ");
		if (st[0]) {
			sb_puts(&b, st);
			sb_puts(&b, " ");
		}
	} else {
		sb_puts(&b, "action=PREPEND " MXT_POLICY_HEADER_NAME ": would-defer");
		if (st[0]) {
			sb_puts(&b, " ");
			sb_puts(&b, st);
		}
		if (tag[0]) {
			sb_puts(&b, " (");
			sb_puts(&b, tag);
			sb_puts(&b, ")");
		}
		sb_puts(&b, " ");
	}
	sb_put_text(&b, text, t.len);
	sb_putn(&b, tail, t.len);
	/* No trailing blank: Postfix would keep it in the reply or header. */
	while (b.len > 0 && b.p[b.len - 1] == ' ')
		b.p[--b.len] = '\0';
	return kind;
}

/* Formats the answer for a decision; see policy_reply.h. */
int mxt_policy_reply_format(char *buf, size_t size, const struct mxt_decision *d, int mode,
			    const char *client_address)
{
	const struct mxt_code_info *ci;
	enum mxt_policy_answer kind;

	if (!buf || size < MXT_POLICY_REPLY_MAX || !d)
		return -EINVAL;
	ci = mxt_code_info(d->code);
	if (!d->defer || !ci || !ci->defers)
		kind = MXT_POLICY_ANSWER_DUNNO;
	else if (mode == MXT_MODE_ENFORCE)
		kind = MXT_POLICY_ANSWER_DEFER;
	else
		kind = MXT_POLICY_ANSWER_PREPEND;
	if (kind == MXT_POLICY_ANSWER_DUNNO)
		return mxt_policy_reply_compose(buf, size, kind, NULL, NULL, NULL, 0, NULL);
	return mxt_policy_reply_compose(buf, size, kind, ci->status, ci->as_tag, ci->text,
					d->retry_after, client_address);
}
