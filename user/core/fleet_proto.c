/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet_proto.c - see fleet_proto.h.  Everything here is a pure function
 * of its arguments, so that every node derives the same shard, the same
 * key names and the same decoding from the same configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errfmt.h"
#include "fleet_proto.h"

const char mxt_fleet_cnt_field[MXT_FLEET_NCNT] = { 's', 'r', 'd', 'e' };

int mxt_fleet_endpoint_parse(const char *s, struct mxt_fleet_endpoint *e, char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	if (!s || strlen(s) >= sizeof(e->text)) {
		mxt_seterr(err, errlen, "fleet_redis: endpoint missing or too long");
		return -EINVAL;
	}
	snprintf(e->text, sizeof(e->text), "%s", s);
	if (!strncmp(s, "unix:", 5)) {
		if (s[5] != '/' || strlen(s + 5) >= 108) {
			mxt_seterr(err, errlen, "fleet_redis: '%s': unix:PATH needs an absolute path under 108 bytes", s);
			return -EINVAL;
		}
		e->is_unix = 1;
		snprintf(e->host, sizeof(e->host), "%s", s + 5);
		return 0;
	}
	if (!strncmp(s, "tcp:", 4)) {
		const char *colon = strrchr(s + 4, ':');
		char *end;
		long port;

		if (!colon || colon == s + 4) {
			mxt_seterr(err, errlen, "fleet_redis: '%s' is not tcp:HOST:PORT", s);
			return -EINVAL;
		}
		port = strtol(colon + 1, &end, 10);
		if (*end || port < 1 || port > 65535 || colon == end) {
			mxt_seterr(err, errlen, "fleet_redis: '%s': port is not 1..65535", s);
			return -EINVAL;
		}
		/* "[::1]:6379" for IPv6 literals */
		if (s[4] == '[' && colon[-1] == ']')
			snprintf(e->host, sizeof(e->host), "%.*s", (int)(colon - s - 6), s + 5);
		else
			snprintf(e->host, sizeof(e->host), "%.*s", (int)(colon - s - 4), s + 4);
		e->port = (int)port;
		if (!e->host[0]) {
			mxt_seterr(err, errlen, "fleet_redis: '%s': empty host", s);
			return -EINVAL;
		}
		return 0;
	}
	mxt_seterr(err, errlen, "fleet_redis: '%s' is not tcp:HOST:PORT or unix:PATH", s);
	return -EINVAL;
}

int mxt_fleet_name_check(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n >= MXT_FLEET_NAME_MAX)
		return -EINVAL;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '.' || *s == '_' || *s == '-'))
			return -EINVAL;
	return 0;
}

/* FNV-1a 64 with a final avalanche, so that near names spread. */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

struct ring_pt {
	uint64_t pt;
	uint8_t shard;
};

static int pt_cmp(const void *a, const void *b)
{
	const struct ring_pt *x = a, *y = b;

	if (x->pt != y->pt)
		return x->pt < y->pt ? -1 : 1;
	return (int)x->shard - (int)y->shard;
}

int mxt_fleet_ring_build(struct mxt_fleet_ring *r, const char *const *names, size_t n)
{
	struct ring_pt *v;
	size_t k = 0;

	if (n < 1 || n > MXT_FLEET_SHARDS_MAX)
		return -EINVAL;
	v = malloc(n * MXT_FLEET_RING_POINTS * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t s = 0; s < n; s++)
		for (unsigned int i = 0; i < MXT_FLEET_RING_POINTS; i++) {
			char buf[MXT_FLEET_EP_MAX + 16];
			int len = snprintf(buf, sizeof(buf), "%s#%u", names[s], i);

			v[k].pt = hash_bytes(buf, (size_t)len);
			v[k].shard = (uint8_t)s;
			k++;
		}
	qsort(v, k, sizeof(*v), pt_cmp);
	r->n = k;
	for (size_t i = 0; i < k; i++) {
		r->pt[i] = v[i].pt;
		r->shard[i] = v[i].shard;
	}
	free(v);
	return 0;
}

/* The owner of the first point at or after h (wrapping). */
static unsigned int ring_owner(const struct mxt_fleet_ring *r, uint64_t h)
{
	size_t lo = 0, hi = r->n;

	if (!r->n)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->pt[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return r->shard[lo == r->n ? 0 : lo];
}

static void key_bytes(const struct mxt_key *k, uint8_t out[18])
{
	out[0] = k->family;
	out[1] = k->prefixlen;
	memcpy(out + 2, k->addr, 16);
}

unsigned int mxt_fleet_ring_shard(const struct mxt_fleet_ring *r, const struct mxt_key *k)
{
	uint8_t b[18];

	key_bytes(k, b);
	return ring_owner(r, hash_bytes(b, sizeof(b)));
}

unsigned int mxt_fleet_ring_shard_name(const struct mxt_fleet_ring *r, const char *name)
{
	return ring_owner(r, hash_bytes(name, strlen(name)));
}

void mxt_fleet_key_hex(const struct mxt_key *k, char out[MXT_FLEET_KEY_HEX + 1])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t b[18];

	key_bytes(k, b);
	for (int i = 0; i < 18; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[MXT_FLEET_KEY_HEX] = '\0';
}

static int unhex1(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A key as the model holds it: a known family, a prefix in range. */
static int key_valid(const struct mxt_key *k)
{
	if (k->family == MXT_FAMILY_IPV4)
		return k->prefixlen >= 1 && k->prefixlen <= 32;
	if (k->family == MXT_FAMILY_IPV6)
		return k->prefixlen >= 1 && k->prefixlen <= 128;
	return 0;
}

int mxt_fleet_key_unhex(const char *hex, struct mxt_key *k)
{
	uint8_t b[18];

	if (!hex || strlen(hex) < MXT_FLEET_KEY_HEX)
		return -EINVAL;
	for (int i = 0; i < 18; i++) {
		int hi = unhex1(hex[2 * i]), lo = unhex1(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	memset(k, 0, sizeof(*k));
	k->family = b[0];
	k->prefixlen = b[1];
	memcpy(k->addr, b + 2, 16);
	return key_valid(k) ? 0 : -EINVAL;
}

static int fit(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}

int mxt_fleet_key_counts(char *buf, size_t len, const char *fleet, const struct mxt_key *k, uint32_t hour)
{
	char hex[MXT_FLEET_KEY_HEX + 1];

	mxt_fleet_key_hex(k, hex);
	return fit(snprintf(buf, len, "mxt:%s:c:%s:%u", fleet, hex, hour), len);
}

int mxt_fleet_key_record(char *buf, size_t len, const char *fleet, const struct mxt_key *k)
{
	char hex[MXT_FLEET_KEY_HEX + 1];

	mxt_fleet_key_hex(k, hex);
	return fit(snprintf(buf, len, "mxt:%s:r:%s", fleet, hex), len);
}

int mxt_fleet_key_fixed(char *buf, size_t len, const char *fleet, const char *what)
{
	return fit(snprintf(buf, len, "mxt:%s:%s", fleet, what), len);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void mxt_fleet_delta_encode(const struct mxt_fleet_delta *d, uint8_t *out)
{
	key_bytes(&d->key, out);
	put32(out + 18, d->hour);
	for (int i = 0; i < MXT_FLEET_NCNT; i++)
		put32(out + 22 + 4 * i, d->v[i]);
}

int mxt_fleet_delta_decode(const uint8_t *blob, size_t len, size_t i, struct mxt_fleet_delta *d)
{
	const uint8_t *p;

	if (!blob || len % MXT_FLEET_DELTA_LEN)
		return -EINVAL;
	if (i >= len / MXT_FLEET_DELTA_LEN)
		return -ERANGE;
	p = blob + i * MXT_FLEET_DELTA_LEN;
	memset(d, 0, sizeof(*d));
	d->key.family = p[0];
	d->key.prefixlen = p[1];
	memcpy(d->key.addr, p + 2, 16);
	d->hour = get32(p + 18);
	for (int j = 0; j < MXT_FLEET_NCNT; j++)
		d->v[j] = get32(p + 22 + 4 * j);
	return key_valid(&d->key) ? 0 : -EINVAL;
}

int mxt_fleet_op_shared(int argc, char *const *argv)
{
	if (argc == 2 && (!strcmp(argv[0], "release") || !strcmp(argv[0], "reset") ||
			  !strcmp(argv[0], "forget")))
		return 1;
	if (argc == 3 && !strcmp(argv[0], "allow") && (!strcmp(argv[1], "add") || !strcmp(argv[1], "del")))
		return 1;
	if (argc >= 4 && argc % 2 == 0 && !strcmp(argv[0], "config") && !strcmp(argv[1], "set"))
		return 1;
	/* the fleet's own: "block KEYHEX UNTIL", a SYN-flood block (fleet.c) */
	if (argc == 3 && !strcmp(argv[0], "block"))
		return 1;
	return 0;
}

int mxt_fleet_op_parse(const char *line, char *buf, size_t buflen, char **argv, int maxargs)
{
	char *save = NULL, *tok;
	int argc = 0;

	if (!line || (size_t)snprintf(buf, buflen, "%s", line) >= buflen)
		return -EINVAL;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (argc == maxargs)
			return -EINVAL;
		argv[argc++] = tok;
	}
	return mxt_fleet_op_shared(argc, argv) ? argc : -EINVAL;
}

int mxt_fleet_op_format(char *buf, size_t len, int argc, char *const *argv)
{
	size_t off = 0;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		int n;

		if (strchr(argv[i], ' ') || !argv[i][0])
			return -EINVAL;
		n = snprintf(buf + off, len - off, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENAMETOOLONG;
		off += (size_t)n;
	}
	return (int)off;
}
