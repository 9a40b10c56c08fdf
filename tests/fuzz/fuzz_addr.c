// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_addr.c - libFuzzer harness for the strict parsers of user/core/addr.c
 * and the numbers of user/core/cfgkeys.c: addresses, CIDRs, plain decimals,
 * rates, and the key conversions.  Whatever parses must format and parse
 * back to the same value (the CLI prints what the daemon stores, and an
 * operator pastes it back), must agree with inet_pton(3) / a reference
 * decimal reader, and must stay inside its range.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "cfgkeys.h"

/* Aborts with a message: libFuzzer reports it and keeps the input. */
static void die(const char *what, const char *input)
{
	fprintf(stderr, "fuzz_addr: %s (input \"%s\")\n", what, input);
	abort();
}

/* Reference decimal reader: digits only, no leading zero, no overflow. */
static int ref_u32(const char *s, uint64_t *v)
{
	size_t n = strlen(s);

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return *v > UINT32_MAX ? -1 : 0;
}

/* Address: agrees with inet_pton, formats and parses back. */
static void check_addr(const char *s)
{
	struct mxt_addr a, b;
	char text[MXT_ADDRSTRLEN];
	unsigned char bin[16];
	int v4 = inet_pton(AF_INET, s, bin) == 1;
	int v6 = !v4 && inet_pton(AF_INET6, s, bin) == 1;
	int rc = mxt_addr_parse(s, &a);

	/* Stricter than inet_pton is allowed (no leading zeros), looser is not. */
	if (rc == 0 && !v4 && !v6)
		die("mxt_addr_parse accepts what inet_pton refuses", s);
	if (rc != 0)
		return;
	if (mxt_addr_format(&a, text, sizeof(text)) != 0)
		die("mxt_addr_format failed", s);
	if (mxt_addr_parse(text, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		die("address does not survive format and parse", s);
	if (memcmp(a.bytes, bin, v4 ? 4 : 16) != 0)
		die("address bytes disagree with inet_pton", s);
}

/* CIDR: prefix in range, host bits cleared, round trip, membership. */
static void check_cidr(const char *s)
{
	struct mxt_addr a, b;
	struct mxt_lpm_key lk;
	__u8 plen, plen2;
	int host = 0;
	char text[MXT_ADDRSTRLEN];

	if (mxt_cidr_parse(s, &a, &plen, &host) != 0)
		return;
	if (plen > mxt_family_bits(a.family))
		die("prefix longer than the family", s);
	b = a;
	mxt_addr_mask(&b, plen);
	if (memcmp(&a, &b, sizeof(a)) != 0)
		die("host bits left set", s);
	if (!mxt_addr_in_cidr(&a, &b, plen))
		die("a network is not inside itself", s);
	if (mxt_cidr_format(&a, plen, text, sizeof(text)) != 0)
		die("mxt_cidr_format failed", s);
	host = 0;
	if (mxt_cidr_parse(text, &b, &plen2, &host) != 0 || plen2 != plen ||
	    memcmp(&a, &b, sizeof(a)) != 0 || host)
		die("CIDR does not survive format and parse", s);
	if (mxt_lpm_key_from_cidr(&lk, &a, plen) != 0 ||
	    mxt_lpm_key_to_cidr(&lk, &b, &plen2) != 0 || plen2 != plen ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		die("CIDR does not survive the allowlist key", s);
}

/* Source keys at a few prefix lengths: the key's address is masked. */
static void check_key(const char *s)
{
	static const unsigned v4p[] = { 32, 24, 0 }, v6p[] = { 128, 64, 48 };
	struct mxt_addr a, b, m;
	struct mxt_key k;
	__u8 plen;
	char text[MXT_ADDRSTRLEN];

	if (mxt_addr_parse(s, &a) != 0)
		return;
	for (size_t i = 0; i < 3; i++) {
		if (mxt_key_from_addr(&k, &a, v4p[i], v6p[i]) != 0)
			die("mxt_key_from_addr failed", s);
		if (mxt_key_to_addr(&k, &b, &plen) != 0)
			die("mxt_key_to_addr failed", s);
		m = a;
		mxt_addr_mask(&m, plen);
		if (memcmp(&m, &b, sizeof(m)) != 0)
			die("key address is not the masked address", s);
		if (mxt_key_format(&k, text, sizeof(text)) != 0)
			die("mxt_key_format failed", s);
	}
}

/* Numbers: agree with the reference, stay in range, round trip. */
static void check_numbers(const char *s)
{
	uint64_t ref;
	__u32 v, r;
	char text[32];
	int ok_ref = ref_u32(s, &ref) == 0;
	int rc = mxt_parse_u32(s, 0, UINT32_MAX, &v);

	if ((rc == 0) != ok_ref || (rc == 0 && v != ref))
		die("mxt_parse_u32 disagrees with the reference reader", s);
	rc = mxt_parse_u32(s, 10, 1000, &v);
	if (rc == 0 && (v < 10 || v > 1000 || !ok_ref || v != ref))
		die("mxt_parse_u32 out of its range", s);
	if (mxt_rate_parse(s, &r) == 0) {
		if (r != MXT_RATE_UNLIMITED && r > MXT_RATE_MAX)
			die("rate over MXT_RATE_MAX", s);
		if (mxt_rate_format(r, text, sizeof(text)) != 0 ||
		    mxt_rate_parse(text, &v) != 0 || v != r)
			die("rate does not survive format and parse", s);
		if (strcmp(text, s) != 0)
			die("a rate formats differently from its only spelling", s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[128];

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_addr(s);
	check_cidr(s);
	check_key(s);
	check_numbers(s);
	return 0;
}
