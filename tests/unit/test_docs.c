/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_docs.c - the README documents the same tables the code uses: every
 * verdict reason (maps/mxt_reasons.h) and every reply code
 * (user/core/reply_codes.h) must appear in README.md's tables, so docs cannot
 * silently drift from the code.  Runs from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mxt_reasons.h"
#include "reply_codes.h"
#include "cfgkeys.h"
#include "daemon_conf.h"
#include "model_params.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void readme_lists_every_reason(void **state)
{
	static const char *const names[] = {
#define MXT_REASON_NAME(id, name, verdict, desc) name,
		MXT_REASON_TABLE(MXT_REASON_NAME)
#undef MXT_REASON_NAME
	};
	char *readme = slurp("README.md");
	char row[96];

	(void)state;
	assert_non_null(readme);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(row, sizeof(row), "| `%s` |", names[i]);
		if (!strstr(readme, row))
			fail_msg("README.md has no reason row %s: got none, want one", row);
	}
	free(readme);
}

static void readme_lists_every_reply_code(void **state)
{
	char *readme = slurp("README.md");
	char row[96];

	(void)state;
	assert_non_null(readme);
	for (int c = 0; c < MXT_CODE_MAX; c++) {
		const struct mxt_code_info *ci = mxt_code_info(c);

		assert_non_null(ci);
		snprintf(row, sizeof(row), "| %s | %s |", ci->status, ci->as_tag);
		if (!strstr(readme, row))
			fail_msg("README.md has no reply-code row '%s': got none, want one", row);
	}
	free(readme);
}

static void code_table_is_well_formed(void **state)
{
	(void)state;
	for (int c = 0; c < MXT_CODE_MAX; c++) {
		const struct mxt_code_info *ci = mxt_code_info(c);

		assert_non_null(ci);
		if (ci->defers) {
			/* Deferring codes live in the 4.7.500-4.7.699 range. */
			int sub = atoi(ci->status + 4);
			if (strncmp(ci->status, "4.7.", 4) != 0 || sub < 500 || sub > 699)
				fail_msg("%s: got status %s, want 4.7.500-699", ci->name, ci->status);
		}
		if (strncmp(ci->as_tag, "AS", 2) != 0 || strlen(ci->as_tag) != 5)
			fail_msg("%s: got tag %s, want ASnnn", ci->name, ci->as_tag);
		for (int d = 0; d < c; d++)
			if (strcmp(mxt_code_info(d)->as_tag, ci->as_tag) == 0)
				fail_msg("%s and %s share tag %s", mxt_code_info(d)->name, ci->name, ci->as_tag);
	}
	assert_null(mxt_code_info(MXT_CODE_MAX));
}

/* Every configuration key, with its default, is in mxthrottle.conf(5). */
static void man_page_lists_every_key(void **state)
{
	char *man = slurp("man/mxthrottle.conf.5");
	char row[256];
	size_t n;
	const struct mxt_model_param *t = mxt_model_param_table(&n);

	(void)state;
	assert_non_null(man);
	for (size_t i = 0; i < mxt_daemon_key_count(); i++) {
		const struct mxt_daemon_key *k = mxt_daemon_key_at(i);
		snprintf(row, sizeof(row), ".It Cm %s Pq default: Ql %s\n", k->name, k->defval);
		if (!strstr(man, row))
			fail_msg("mxthrottle.conf.5: got no '%s', want one", row);
	}
	for (size_t i = 0; i < mxt_cfgkey_count(); i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_at(i);
		snprintf(row, sizeof(row), ".It Cm %s Pq default: Ql %s\n", k->name, k->defval);
		if (!strstr(man, row))
			fail_msg("mxthrottle.conf.5: got no '%s', want one", row);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(row, sizeof(row), ".It Cm %s Pq default: Ql %s", t[i].name, t[i].defval);
		if (!strstr(man, row))
			fail_msg("mxthrottle.conf.5: got no '%s', want one", row);
	}
	free(man);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(readme_lists_every_reason),
		cmocka_unit_test(readme_lists_every_reply_code),
		cmocka_unit_test(code_table_is_well_formed),
		cmocka_unit_test(man_page_lists_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
