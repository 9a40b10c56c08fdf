/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_addr.c - strict parsing of addresses, CIDRs and numbers, masking of
 * source keys and allowlist keys, and formatting round trips
 * (user/core/addr.c).  No privileges needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "addr.h"

/* Parse s as an address or fail the test. */
static struct mxt_addr addr_of(const char *s)
{
	struct mxt_addr a;
	int ret = mxt_addr_parse(s, &a);

	if (ret)
		fail_msg("mxt_addr_parse(\"%s\"): got %d, want 0", s, ret);
	return a;
}

/* Format an address (for messages). */
static const char *fmt_addr(const struct mxt_addr *a, char *buf, size_t len)
{
	if (mxt_addr_format(a, buf, len))
		snprintf(buf, len, "<unformattable>");
	return buf;
}

static void parse_valid_addresses(void **state)
{
	static const struct { const char *in; int family; const char *bytes; } cases[] = {
		{ "198.18.0.5", MXT_FAMILY_IPV4, "\xc6\x12\x00\x05" },
		{ "0.0.0.0", MXT_FAMILY_IPV4, "\x00\x00\x00\x00" },
		{ "255.255.255.255", MXT_FAMILY_IPV4, "\xff\xff\xff\xff" },
		{ "2001:2::1", MXT_FAMILY_IPV6,
		  "\x20\x01\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01" },
		{ "::", MXT_FAMILY_IPV6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0" },
		{ "::ffff:198.18.0.1", MXT_FAMILY_IPV6,
		  "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc6\x12\x00\x01" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_addr a = addr_of(cases[i].in);
		size_t n = cases[i].family == MXT_FAMILY_IPV4 ? 4 : 16;

		if (a.family != cases[i].family)
			fail_msg("%s: got family %u, want %d", cases[i].in, a.family, cases[i].family);
		if (memcmp(a.bytes, cases[i].bytes, n) != 0)
			fail_msg("%s: got other bytes than want", cases[i].in);
		for (size_t j = n; j < 16; j++)
			if (a.bytes[j])
				fail_msg("%s: got byte %zu = %u, want 0", cases[i].in, j, a.bytes[j]);
	}
}

static void parse_invalid_addresses(void **state)
{
	static const char *const bad[] = {
		"", " 198.18.0.5", "198.18.0.5 ", "198.18.0", "198.18.0.256", "198.18.00.5",
		"198.18.0.05", "198.18.0.5x", "198.18.0.5.1", "1.2.3.-4", "0x1.2.3.4",
		"2001:2::1%eth0", "2001:2:::1", "gggg::", "2001:2::1/64", "198.18.0.5/32",
		"2001:2::1 ", ":::", "localhost",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mxt_addr a;
		int ret = mxt_addr_parse(bad[i], &a);

		if (ret != -EINVAL)
			fail_msg("mxt_addr_parse(\"%s\"): got %d, want %d", bad[i], ret, -EINVAL);
	}
	assert_int_equal(mxt_addr_parse(NULL, NULL), -EINVAL);
}

static void parse_valid_cidrs(void **state)
{
	static const struct { const char *in, *net; int plen, host_bits; } cases[] = {
		{ "198.18.0.0/24", "198.18.0.0", 24, 0 },
		{ "198.18.0.5/24", "198.18.0.0", 24, 1 },
		{ "198.18.0.5", "198.18.0.5", 32, 0 },
		{ "198.18.0.5/32", "198.18.0.5", 32, 0 },
		{ "198.19.255.255/15", "198.18.0.0", 15, 1 },
		{ "0.0.0.0/0", "0.0.0.0", 0, 0 },
		{ "198.18.2.3/0", "0.0.0.0", 0, 1 },
		{ "2001:2::/48", "2001:2::", 48, 0 },
		{ "2001:2:0:1::5/64", "2001:2:0:1::", 64, 1 },
		{ "2001:2::1", "2001:2::1", 128, 0 },
		{ "2001:2::ff/121", "2001:2::80", 121, 1 },
		{ "::/0", "::", 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_addr a, want = addr_of(cases[i].net);
		char got[MXT_ADDRSTRLEN];
		int hb = -1, ret;
		__u8 plen = 0;

		ret = mxt_cidr_parse(cases[i].in, &a, &plen, &hb);
		if (ret)
			fail_msg("mxt_cidr_parse(\"%s\"): got %d, want 0", cases[i].in, ret);
		if (memcmp(&a, &want, sizeof(a)) != 0)
			fail_msg("%s: got network %s, want %s", cases[i].in,
				 fmt_addr(&a, got, sizeof(got)), cases[i].net);
		if (plen != cases[i].plen)
			fail_msg("%s: got /%u, want /%d", cases[i].in, plen, cases[i].plen);
		if (hb != cases[i].host_bits)
			fail_msg("%s: got host_bits %d, want %d", cases[i].in, hb, cases[i].host_bits);
	}
}

static void parse_invalid_cidrs(void **state)
{
	static const char *const bad[] = {
		"198.18.0.0/33", "/24", "198.18.0.0/", "198.18.0.0/24x", "198.18.0.0/-1",
		"198.18.0.0/024", "198.18.0.0/ 24", "198.18.0.0/+24", "198.18.0.0/24/8",
		"2001:2::/129", "2001:2::/1280", "198.18.0/24", "", "198.18.0.0 /24",
		"198.18.0.0/4294967320",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mxt_addr a;
		__u8 plen;
		int ret = mxt_cidr_parse(bad[i], &a, &plen, NULL);

		if (ret == 0)
			fail_msg("mxt_cidr_parse(\"%s\"): got 0, want an error", bad[i]);
	}
}

/* Build the source key of 'in' with the given prefixes and compare it with
 * 'want' (an address) and the prefix it should carry. */
static void check_key(const char *in, unsigned int v4p, unsigned int v6p, const char *want,
		      unsigned int want_plen)
{
	struct mxt_addr a = addr_of(in), w = addr_of(want);
	struct mxt_key k, z;
	int ret;

	memset(&k, 0xaa, sizeof(k)); /* the builder must zero padding itself */
	ret = mxt_key_from_addr(&k, &a, v4p, v6p);
	if (ret)
		fail_msg("key of %s: got %d, want 0", in, ret);
	memset(&z, 0, sizeof(z));
	z.family = w.family;
	z.prefixlen = (__u8)want_plen;
	memcpy(z.addr, w.bytes, w.family == MXT_FAMILY_IPV4 ? 4 : 16);
	if (memcmp(&k, &z, sizeof(k)) != 0) {
		char got[MXT_ADDRSTRLEN];

		mxt_key_format(&k, got, sizeof(got));
		fail_msg("key of %s (v4 /%u, v6 /%u): got %s (pad %u%u), want %s/%u", in, v4p, v6p,
			 got, k.pad[0], k.pad[1], want, want_plen);
	}
}

static void source_key_masking(void **state)
{
	(void)state;
	check_key("198.18.0.5", 32, 64, "198.18.0.5", 32);
	check_key("198.18.0.5", 24, 64, "198.18.0.0", 24);
	check_key("198.18.77.200", 20, 64, "198.18.64.0", 20);
	check_key("198.19.255.255", 8, 64, "198.0.0.0", 8);
	check_key("2001:2:0:1:aaaa:bbbb:cccc:dddd", 32, 64, "2001:2:0:1::", 64);
	check_key("2001:2:0:1:aaaa:bbbb:cccc:dddd", 32, 48, "2001:2::", 48);
	check_key("2001:2:0:1:aaaa:bbbb:cccc:dddd", 32, 128, "2001:2:0:1:aaaa:bbbb:cccc:dddd", 128);
	check_key("2001:2:0:1:aaaa:bbbb:cccc:dddd", 32, 61, "2001:2:0:0::", 61);
	check_key("2001:2:0:f:aaaa::", 32, 61, "2001:2:0:8::", 61);
	check_key("2001:2::1", 32, 16, "2001::", 16);
}

static void source_key_rejects_bad_prefix(void **state)
{
	struct mxt_addr a4 = addr_of("198.18.0.5"), a6 = addr_of("2001:2::1");
	struct mxt_key k;

	(void)state;
	assert_int_equal(mxt_key_from_addr(&k, &a4, 33, 64), -EINVAL);
	assert_int_equal(mxt_key_from_addr(&k, &a6, 32, 129), -EINVAL);
	a4.family = 5;
	assert_int_equal(mxt_key_from_addr(&k, &a4, 32, 64), -EINVAL);
}

static void lpm_key_building(void **state)
{
	struct mxt_addr a = addr_of("198.18.0.5"), back;
	struct mxt_lpm_key k;
	__u8 plen;

	(void)state;
	memset(&k, 0xaa, sizeof(k));
	assert_int_equal(mxt_lpm_key_from_cidr(&k, &a, 24), 0);
	if (k.prefixlen != 8 + 24)
		fail_msg("lpm prefixlen: got %u, want %u", k.prefixlen, 8 + 24);
	if (k.family != MXT_FAMILY_IPV4)
		fail_msg("lpm family: got %u, want %d", k.family, MXT_FAMILY_IPV4);
	if (memcmp(k.addr, "\xc6\x12\x00\x00", 4) != 0)
		fail_msg("lpm addr: got %u.%u.%u.%u, want 198.18.0.0", k.addr[0], k.addr[1], k.addr[2], k.addr[3]);
	for (size_t i = 4; i < sizeof(k.addr); i++)
		if (k.addr[i])
			fail_msg("lpm addr byte %zu: got %u, want 0", i, k.addr[i]);
	for (size_t i = 0; i < sizeof(k.pad); i++)
		if (k.pad[i])
			fail_msg("lpm pad byte %zu: got %u, want 0", i, k.pad[i]);
	assert_int_equal(mxt_lpm_key_to_cidr(&k, &back, &plen), 0);
	assert_int_equal(plen, 24);
	assert_int_equal(mxt_lpm_key_from_cidr(&k, &a, 33), -EINVAL);

	a = addr_of("2001:2::1");
	assert_int_equal(mxt_lpm_key_from_cidr(&k, &a, 128), 0);
	if (k.prefixlen != 8 + 128)
		fail_msg("lpm prefixlen: got %u, want %u", k.prefixlen, 8 + 128);
}

static void format_round_trips(void **state)
{
	static const char *const cidrs[] = {
		"198.18.0.0/24", "198.18.0.5/32", "0.0.0.0/0", "198.18.0.0/15",
		"2001:2::/48", "2001:2::/64", "2001:2::1/128", "::/0", "2001:2:0:8::/61",
	};
	static const struct { const char *addr; unsigned int v4p, v6p; const char *want; } keys[] = {
		{ "198.18.0.5", 32, 64, "198.18.0.5" },
		{ "198.18.0.5", 24, 64, "198.18.0.0/24" },
		{ "2001:2::77", 32, 64, "2001:2::/64" },
		{ "2001:2::77", 32, 48, "2001:2::/48" },
		{ "2001:2::77", 32, 128, "2001:2::77" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
		char out[MXT_ADDRSTRLEN], again[MXT_ADDRSTRLEN];
		struct mxt_lpm_key k, k2;
		struct mxt_addr a;
		__u8 plen;

		assert_int_equal(mxt_cidr_parse(cidrs[i], &a, &plen, NULL), 0);
		assert_int_equal(mxt_lpm_key_from_cidr(&k, &a, plen), 0);
		assert_int_equal(mxt_lpm_key_format(&k, out, sizeof(out)), 0);
		if (strcmp(out, cidrs[i]) != 0)
			fail_msg("format of %s: got %s, want %s", cidrs[i], out, cidrs[i]);
		assert_int_equal(mxt_cidr_parse(out, &a, &plen, NULL), 0);
		assert_int_equal(mxt_lpm_key_from_cidr(&k2, &a, plen), 0);
		assert_int_equal(mxt_cidr_format(&a, plen, again, sizeof(again)), 0);
		if (memcmp(&k, &k2, sizeof(k)) != 0 || strcmp(again, out) != 0)
			fail_msg("round trip of %s: got %s, want %s", cidrs[i], again, out);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct mxt_addr a = addr_of(keys[i].addr);
		char out[MXT_ADDRSTRLEN];
		struct mxt_key k;

		assert_int_equal(mxt_key_from_addr(&k, &a, keys[i].v4p, keys[i].v6p), 0);
		assert_int_equal(mxt_key_format(&k, out, sizeof(out)), 0);
		if (strcmp(out, keys[i].want) != 0)
			fail_msg("key of %s: got %s, want %s", keys[i].addr, out, keys[i].want);
	}
}

static void format_small_buffer(void **state)
{
	struct mxt_addr a = addr_of("198.18.0.5");
	char small[8];

	(void)state;
	assert_int_equal(mxt_addr_format(&a, small, sizeof(small)), -ENOSPC);
	assert_int_equal(mxt_cidr_format(&a, 32, small, sizeof(small)), -ENOSPC);
	a.family = 9;
	assert_int_equal(mxt_addr_format(&a, small, sizeof(small)), -EINVAL);
}

static void addr_in_cidr(void **state)
{
	static const struct { const char *addr, *net; unsigned int plen; int want; } cases[] = {
		{ "198.18.0.77", "198.18.0.0", 24, 1 },
		{ "198.18.1.77", "198.18.0.0", 24, 0 },
		{ "198.19.1.77", "198.18.0.0", 15, 1 },
		{ "198.18.0.77", "198.18.0.77", 32, 1 },
		{ "2001:2::1", "0.0.0.0", 0, 0 },          /* other family */
		{ "2001:2:0:ffff::1", "2001:2::", 48, 1 },
		{ "2001:3::1", "2001:2::", 48, 0 },
		{ "198.18.0.1", "198.18.0.0", 33, 0 },     /* impossible prefix */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxt_addr a = addr_of(cases[i].addr), net = addr_of(cases[i].net);
		int got = mxt_addr_in_cidr(&a, &net, cases[i].plen);

		if (!!got != cases[i].want)
			fail_msg("%s in %s/%u: got %s, want %s", cases[i].addr, cases[i].net,
				 cases[i].plen, got ? "yes" : "no", cases[i].want ? "yes" : "no");
	}
}

static void parse_u32_strict(void **state)
{
	static const struct { const char *in; __u32 min, max; int ret; __u32 val; } cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "42", 0, 100, 0, 42 },
		{ "4294967295", 0, 4294967295u, 0, 4294967295u },
		{ "4294967296", 0, 4294967295u, -ERANGE, 0 },
		{ "99999999999999999999", 0, 4294967295u, -ERANGE, 0 },
		{ "101", 0, 100, -ERANGE, 0 },
		{ "7", 8, 32, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "0x10", 0, 100, -EINVAL, 0 },
		{ "010", 0, 100, -EINVAL, 0 },
		{ "1.5", 0, 100, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 v = 12345;
		int ret = mxt_parse_u32(cases[i].in, cases[i].min, cases[i].max, &v);

		if (ret != cases[i].ret)
			fail_msg("mxt_parse_u32(\"%s\", %u, %u): got %d, want %d", cases[i].in,
				 cases[i].min, cases[i].max, ret, cases[i].ret);
		if (ret == 0 && v != cases[i].val)
			fail_msg("mxt_parse_u32(\"%s\"): got %u, want %u", cases[i].in, v, cases[i].val);
		if (ret != 0 && v != 12345)
			fail_msg("mxt_parse_u32(\"%s\") failed but wrote %u", cases[i].in, v);
	}
	assert_int_equal(mxt_parse_u32(NULL, 0, 1, &(__u32){ 0 }), -EINVAL);
}

static void strlcpy_checked(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(mxt_strlcpy(buf, "abc", sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(mxt_strlcpy(buf, "1234567", sizeof(buf)), 0);
	assert_string_equal(buf, "1234567");
	assert_int_equal(mxt_strlcpy(buf, "12345678", sizeof(buf)), -ENAMETOOLONG);
	if (strcmp(buf, "1234567") != 0)
		fail_msg("truncated copy: got \"%s\", want \"1234567\"", buf);
	assert_int_equal(mxt_strlcpy(buf, "x", 0), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid_addresses),
		cmocka_unit_test(parse_invalid_addresses),
		cmocka_unit_test(parse_valid_cidrs),
		cmocka_unit_test(parse_invalid_cidrs),
		cmocka_unit_test(source_key_masking),
		cmocka_unit_test(source_key_rejects_bad_prefix),
		cmocka_unit_test(lpm_key_building),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(format_small_buffer),
		cmocka_unit_test(addr_in_cidr),
		cmocka_unit_test(parse_u32_strict),
		cmocka_unit_test(strlcpy_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
