/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_policy_reply.c - the policy answer formatter (user/core/policy_reply.c):
 * every deferring code of reply_codes.h becomes a 451 with its status, text,
 * bracketed address and AS tag; the rest DUNNO; monitor mode a PREPEND;
 * every byte printable ASCII and the line bounded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mxt_abi.h"
#include "policy_reply.h"
#include "reply_codes.h"

/* Fails unless every byte of 's' is printable ASCII. */
static void assert_clean(const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			fail_msg("byte %#x at %td in \"%s\": got unprintable, want printable ASCII",
				 (unsigned char)*c, c - s, s);
}

static void every_deferring_code_formats_451(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX], want[1024];
	int ndefer = 0;

	(void)state;
	for (int code = 0; code < MXT_CODE_MAX; code++) {
		const struct mxt_code_info *ci = mxt_code_info((enum mxt_code)code);
		struct mxt_decision d = { .code = (enum mxt_code)code, .defer = 1,
					  .retry_after = 900 };
		int kind;

		assert_non_null(ci);
		kind = mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_ENFORCE, "198.18.0.7");
		if (!ci->defers) {
			if (kind != MXT_POLICY_ANSWER_DUNNO || strcmp(buf, "action=DUNNO") != 0)
				fail_msg("%s (defers=0) with defer=1: got %d \"%s\", want DUNNO",
					 ci->name, kind, buf);
			continue;
		}
		ndefer++;
		snprintf(want, sizeof(want),
			 "action=451 %s %s, retry after 900 s [198.18.0.7] (%s)",
			 ci->status, ci->text, ci->as_tag);
		if (kind != MXT_POLICY_ANSWER_DEFER || strcmp(buf, want) != 0)
			fail_msg("%s: got %d \"%s\", want DEFER \"%s\"", ci->name, kind, buf, want);
		if (strncmp(ci->status, "4.7.5", 5) != 0 && strncmp(ci->status, "4.7.6", 5) != 0)
			fail_msg("%s: status got %s, want 4.7.5xx-4.7.6xx", ci->name, ci->status);
		assert_clean(buf);
	}
	/* Counted from the X-macro itself, independently of mxt_code_info(). */
#define COUNT_DEFERS(id, st, as, ev, d, txt) + (d)
	if (ndefer != 0 MXT_CODE_TABLE(COUNT_DEFERS) || ndefer == 0)
		fail_msg("deferring codes formatted: got %d, want %d", ndefer, 0 MXT_CODE_TABLE(COUNT_DEFERS));
#undef COUNT_DEFERS
}

static void ipv6_is_a_plain_bracketed_literal(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX];
	struct mxt_decision d = { .code = MXT_CODE_RATE_JUMP, .defer = 1, .retry_after = 60 };

	(void)state;
	assert_int_equal(mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_ENFORCE,
						 "2001:2::7"), MXT_POLICY_ANSWER_DEFER);
	if (!strstr(buf, ", retry after 60 s [2001:2::7] (AS201)"))
		fail_msg("got \"%s\", want \"... [2001:2::7] (AS201)\"", buf);
	if (strstr(buf, "IPv6:") || strstr(buf, "ipv6:"))
		fail_msg("got \"%s\", want no IPv6: prefix", buf);
}

static void no_defer_is_dunno(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX];

	(void)state;
	for (int code = 0; code < MXT_CODE_MAX; code++) {
		for (int mode = MXT_MODE_MONITOR; mode <= MXT_MODE_ENFORCE; mode++) {
			struct mxt_decision d = { .code = (enum mxt_code)code, .defer = 0 };
			int kind = mxt_policy_reply_format(buf, sizeof(buf), &d, mode, "198.18.0.7");

			if (kind != MXT_POLICY_ANSWER_DUNNO || strcmp(buf, "action=DUNNO") != 0)
				fail_msg("code %d mode %d defer=0: got %d \"%s\", want action=DUNNO",
					 code, mode, kind, buf);
		}
	}
	/* A code outside the table fails open. */
	{
		struct mxt_decision d = { .code = MXT_CODE_MAX, .defer = 1 };

		assert_int_equal(mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_ENFORCE,
							 "198.18.0.7"), MXT_POLICY_ANSWER_DUNNO);
		assert_string_equal(buf, "action=DUNNO");
	}
}

static void monitor_prepends_would_defer(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX], want[1024];

	(void)state;
	for (int code = 0; code < MXT_CODE_MAX; code++) {
		const struct mxt_code_info *ci = mxt_code_info((enum mxt_code)code);
		struct mxt_decision d = { .code = (enum mxt_code)code, .defer = 1,
					  .retry_after = 1800 };
		int kind = mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_MONITOR,
						   "198.18.3.4");

		if (!ci->defers) {
			assert_int_equal(kind, MXT_POLICY_ANSWER_DUNNO);
			continue;
		}
		snprintf(want, sizeof(want),
			 "action=PREPEND X-Mxthrottle: would-defer %s (%s) %s, retry after 1800 s "
			 "[198.18.3.4]", ci->status, ci->as_tag, ci->text);
		if (kind != MXT_POLICY_ANSWER_PREPEND || strcmp(buf, want) != 0)
			fail_msg("%s monitor: got %d \"%s\", want PREPEND \"%s\"", ci->name, kind, buf,
				 want);
	}
	/* An unknown mode must not defer mail: it acts as monitor. */
	{
		struct mxt_decision d = { .code = MXT_CODE_NEW_SENDER, .defer = 1 };

		assert_int_equal(mxt_policy_reply_format(buf, sizeof(buf), &d, 7, "198.18.0.1"),
				 MXT_POLICY_ANSWER_PREPEND);
	}
}

static void retry_and_address_are_optional(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX];
	struct mxt_decision d = { .code = MXT_CODE_HARD_LIMIT, .defer = 1, .retry_after = 0 };

	(void)state;
	mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_ENFORCE, "198.18.0.9");
	assert_string_equal(buf, "action=451 4.7.520 connection rate far above any limit "
				 "[198.18.0.9] (AS301)");
	mxt_policy_reply_format(buf, sizeof(buf), &d, MXT_MODE_ENFORCE, NULL);
	assert_string_equal(buf, "action=451 4.7.520 connection rate far above any limit (AS301)");
}

static void sanitises_every_part(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX];
	int kind;

	(void)state;
	kind = mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_DEFER,
					"4.7.5\n00", "AS\r1 01", "bad\ntext\r\n\naction=OK\t\x7f\xc3\xa9",
					5, "198.18.0.1\n\naction=OK");
	assert_int_equal(kind, MXT_POLICY_ANSWER_DEFER);
	assert_clean(buf);
	if (strchr(buf, '\n') || strchr(buf, '\r'))
		fail_msg("got a line break in \"%s\", want none", buf);
	/* The address was not a literal: left out rather than half-kept. */
	assert_string_equal(buf, "action=451 4.7.500 bad text   action=OK  ??, retry after 5 s "
				 "(AS101)");
	mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_PREPEND, "4.7.500", "AS101",
				 "x", 0, "2001:2::7]\r\nX-Evil: 1");
	assert_string_equal(buf, "action=PREPEND X-Mxthrottle: would-defer 4.7.500 (AS101) x");
	/* A 451 must carry a class-4 status or none at all. */
	mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_DEFER, "2.0.0", "AS000",
				 "x", 0, "198.18.0.1");
	assert_string_equal(buf, "action=451 x [198.18.0.1] (AS000)");
	mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_DEFER, "4.7.5000", "AS1",
				 "x", 0, NULL);
	assert_string_equal(buf, "action=451 x (AS1)");
	/* Empty text: no dangling comma. */
	mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_DEFER, "4.7.500", "AS101",
				 "", 30, "198.18.0.1");
	assert_string_equal(buf, "action=451 4.7.500 retry after 30 s [198.18.0.1] (AS101)");
}

static void length_is_bounded(void **state)
{
	char buf[MXT_POLICY_REPLY_MAX + 64];
	char *text = malloc(5000);
	const char *tail = ", retry after 4294967295 s [2001:2:ffff:ffff:ffff:ffff:ffff:ffff] (AS101)";
	size_t n;

	(void)state;
	assert_non_null(text);
	memset(text, 'T', 4999);
	text[4999] = '\0';
	memset(buf, 'Z', sizeof(buf));
	for (int k = MXT_POLICY_ANSWER_DEFER; k <= MXT_POLICY_ANSWER_PREPEND; k++) {
		mxt_policy_reply_compose(buf, sizeof(buf), (enum mxt_policy_answer)k, "4.7.500",
					 "AS101", text, 4294967295u,
					 "2001:2:ffff:ffff:ffff:ffff:ffff:ffff");
		n = strlen(buf);
		if (n > MXT_POLICY_REPLY_MAX - 1)
			fail_msg("kind %d: got %zu bytes, want <= %d", k, n, MXT_POLICY_REPLY_MAX - 1);
		if (n < MXT_POLICY_REPLY_MAX - 1)
			fail_msg("kind %d: got %zu bytes, want the text to fill up to %d", k, n,
				 MXT_POLICY_REPLY_MAX - 1);
		if (k == MXT_POLICY_ANSWER_DEFER && strcmp(buf + n - strlen(tail), tail) != 0)
			fail_msg("cut answer: got tail \"%s\", want \"%s\"", buf + n - strlen(tail),
				 tail);
		assert_clean(buf);
	}
	/* The SMTP reply inside must fit RFC 5321's 512-octet line with CRLF. */
	if (MXT_POLICY_REPLY_MAX - 1 - strlen("action=") + 2 > 512)
		fail_msg("reply bound: got %zu, want <= 512", MXT_POLICY_REPLY_MAX - 1 - 7 + 2);
	free(text);
}

static void rejects_bad_arguments(void **state)
{
	char small[64], buf[MXT_POLICY_REPLY_MAX];
	struct mxt_decision d = { .code = MXT_CODE_NEW_SENDER, .defer = 1 };

	(void)state;
	assert_int_equal(mxt_policy_reply_format(NULL, 512, &d, MXT_MODE_ENFORCE, "::1"), -EINVAL);
	assert_int_equal(mxt_policy_reply_format(small, sizeof(small), &d, MXT_MODE_ENFORCE, "::1"),
			 -EINVAL);
	assert_int_equal(mxt_policy_reply_format(buf, sizeof(buf), NULL, MXT_MODE_ENFORCE, "::1"),
			 -EINVAL);
	assert_int_equal(mxt_policy_reply_compose(buf, sizeof(buf), MXT_POLICY_ANSWER_MAX, NULL,
						  NULL, NULL, 0, NULL), -EINVAL);
	assert_string_equal(mxt_policy_answer_name(MXT_POLICY_ANSWER_DEFER), "DEFER");
	assert_string_equal(mxt_policy_answer_name(MXT_POLICY_ANSWER_MAX), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_deferring_code_formats_451),
		cmocka_unit_test(ipv6_is_a_plain_bracketed_literal),
		cmocka_unit_test(no_defer_is_dunno),
		cmocka_unit_test(monitor_prepends_would_defer),
		cmocka_unit_test(retry_and_address_are_optional),
		cmocka_unit_test(sanitises_every_part),
		cmocka_unit_test(length_is_bounded),
		cmocka_unit_test(rejects_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
