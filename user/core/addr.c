// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * addr.c - strict address, CIDR and number parsing; key building and
 * formatting.  The parsing policy is stated in addr.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"

int mxt_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL; /* leading zero */
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = (__u32)v;
	return 0;
}

int mxt_strlcpy(char *dst, const char *src, size_t size)
{
	int n;

	if (size == 0)
		return -ENAMETOOLONG;
	n = snprintf(dst, size, "%s", src);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= size ? -ENAMETOOLONG : 0;
}

unsigned int mxt_family_bits(__u8 family)
{
	return family == MXT_FAMILY_IPV4 ? 32 : family == MXT_FAMILY_IPV6 ? 128 : 0;
}

int mxt_addr_parse(const char *s, struct mxt_addr *a)
{
	struct mxt_addr r;

	if (!s || !*s)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, r.bytes) != 1)
			return -EINVAL;
		r.family = MXT_FAMILY_IPV6;
	} else {
		if (inet_pton(AF_INET, s, r.bytes) != 1)
			return -EINVAL;
		r.family = MXT_FAMILY_IPV4;
	}
	*a = r;
	return 0;
}

void mxt_addr_mask(struct mxt_addr *a, unsigned int prefixlen)
{
	unsigned int bits = mxt_family_bits(a->family), i;

	if (bits == 0)
		return;
	for (i = 0; i < 16; i++) {
		unsigned int start = i * 8;

		if (start >= bits || prefixlen <= start)
			a->bytes[i] = 0;
		else if (prefixlen < start + 8)
			a->bytes[i] &= (__u8)(0xff << (start + 8 - prefixlen));
	}
}

int mxt_cidr_parse(const char *s, struct mxt_addr *a, __u8 *prefixlen, int *host_bits)
{
	char buf[MXT_ADDRSTRLEN];
	struct mxt_addr r, m;
	const char *slash;
	__u32 len;
	int err;

	if (!s || !*s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash) {
		size_t n = (size_t)(slash - s);

		if (n == 0 || n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, s, n);
		buf[n] = '\0';
	} else if (mxt_strlcpy(buf, s, sizeof(buf))) {
		return -EINVAL;
	}
	err = mxt_addr_parse(buf, &r);
	if (err)
		return err;
	len = mxt_family_bits(r.family);
	if (slash) {
		err = mxt_parse_u32(slash + 1, 0, len, &len);
		if (err)
			return err;
	}
	m = r;
	mxt_addr_mask(&m, len);
	if (host_bits)
		*host_bits = memcmp(&m, &r, sizeof(m)) != 0;
	*a = m;
	*prefixlen = (__u8)len;
	return 0;
}

int mxt_addr_in_cidr(const struct mxt_addr *a, const struct mxt_addr *net, unsigned int prefixlen)
{
	struct mxt_addr m = *a;

	if (a->family != net->family || prefixlen > mxt_family_bits(a->family))
		return 0;
	mxt_addr_mask(&m, prefixlen);
	return memcmp(m.bytes, net->bytes, sizeof(m.bytes)) == 0;
}

int mxt_key_from_addr(struct mxt_key *k, const struct mxt_addr *a,
		      unsigned int v4_prefix, unsigned int v6_prefix)
{
	unsigned int plen = a->family == MXT_FAMILY_IPV4 ? v4_prefix : v6_prefix;
	struct mxt_addr m = *a;

	if (!mxt_family_bits(a->family) || plen > mxt_family_bits(a->family))
		return -EINVAL;
	mxt_addr_mask(&m, plen);
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	k->prefixlen = (__u8)plen;
	memcpy(k->addr, m.bytes, a->family == MXT_FAMILY_IPV4 ? 4 : 16);
	return 0;
}

int mxt_key_to_addr(const struct mxt_key *k, struct mxt_addr *a, __u8 *prefixlen)
{
	unsigned int bits = mxt_family_bits(k->family);

	if (!bits || k->prefixlen > bits)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->family = k->family;
	memcpy(a->bytes, k->addr, bits / 8);
	if (prefixlen)
		*prefixlen = k->prefixlen;
	return 0;
}

int mxt_lpm_key_from_cidr(struct mxt_lpm_key *k, const struct mxt_addr *a, unsigned int prefixlen)
{
	struct mxt_addr m = *a;
	unsigned int bits = mxt_family_bits(a->family);

	if (!bits || prefixlen > bits)
		return -EINVAL;
	mxt_addr_mask(&m, prefixlen);
	memset(k, 0, sizeof(*k));
	k->prefixlen = 8 + prefixlen; /* the family byte is part of the match */
	k->family = a->family;
	memcpy(k->addr, m.bytes, bits / 8);
	return 0;
}

int mxt_lpm_key_to_cidr(const struct mxt_lpm_key *k, struct mxt_addr *a, __u8 *prefixlen)
{
	unsigned int bits = mxt_family_bits(k->family);

	if (!bits || k->prefixlen < 8 || k->prefixlen - 8 > bits)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->family = k->family;
	memcpy(a->bytes, k->addr, bits / 8);
	*prefixlen = (__u8)(k->prefixlen - 8);
	return 0;
}

int mxt_addr_format(const struct mxt_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int af = a->family == MXT_FAMILY_IPV4 ? AF_INET :
		 a->family == MXT_FAMILY_IPV6 ? AF_INET6 : -1;

	if (af < 0 || !inet_ntop(af, a->bytes, tmp, sizeof(tmp)))
		return -EINVAL;
	return mxt_strlcpy(buf, tmp, len) ? -ENOSPC : 0;
}

int mxt_cidr_format(const struct mxt_addr *a, unsigned int prefixlen, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int err, n;

	err = mxt_addr_format(a, tmp, sizeof(tmp));
	if (err)
		return err;
	n = snprintf(buf, len, "%s/%u", tmp, prefixlen);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int mxt_key_format(const struct mxt_key *k, char *buf, size_t len)
{
	struct mxt_addr a;
	__u8 plen;
	int err;

	err = mxt_key_to_addr(k, &a, &plen);
	if (err)
		return err;
	if (plen == mxt_family_bits(a.family))
		return mxt_addr_format(&a, buf, len);
	return mxt_cidr_format(&a, plen, buf, len);
}

int mxt_lpm_key_format(const struct mxt_lpm_key *k, char *buf, size_t len)
{
	struct mxt_addr a;
	__u8 plen;
	int err;

	err = mxt_lpm_key_to_cidr(k, &a, &plen);
	if (err)
		return err;
	return mxt_cidr_format(&a, plen, buf, len);
}
