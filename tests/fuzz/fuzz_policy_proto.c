// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_policy_proto.c - libFuzzer harness for the policy request parser
 * (user/core/policy_proto.c).  The input is fed three ways: in one piece, byte by
 * byte, and in chunks whose sizes come from the input's first 8 bytes; the
 * three outcomes (every completed request, then the error or the pending
 * state) must be identical: one input, one verdict, however it arrives
 * (issue 9, hole 6).  Each completed request is also checked against the
 * parser's promises: NUL-terminated fields, client_family agreeing with
 * client_address, oversized agreeing with the limits.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_proto.h"

#define MAX_REQS 64

/* What a feed produced: a digest of each request and how it ended. */
struct outcome {
	unsigned nreq;
	uint64_t digest[MAX_REQS];
	int final_rc;                /* last feed's return: 0 or -errno */
	enum mxt_policy_perr err;
	int pending;
};

/* Aborts with a message: libFuzzer reports it and keeps the input. */
static void die(const char *what)
{
	fprintf(stderr, "fuzz_policy_proto: %s\n", what);
	abort();
}

/* FNV-1a over bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* Checks one completed request and returns its digest (the fields as
 * strings, so bytes after a terminator do not count). */
static uint64_t check_request(const struct mxt_policy_parser *p)
{
	const struct mxt_policy_request *r = &p->req;
	const char *const strs[] = { r->request, r->protocol_state, r->protocol_name,
				     r->client_address, r->client_name, r->reverse_client_name,
				     r->helo_name, r->sender, r->recipient, r->instance,
				     r->queue_id };
	const size_t sizes[] = { sizeof(r->request), sizeof(r->protocol_state),
				 sizeof(r->protocol_name), sizeof(r->client_address),
				 sizeof(r->client_name), sizeof(r->reverse_client_name),
				 sizeof(r->helo_name), sizeof(r->sender), sizeof(r->recipient),
				 sizeof(r->instance), sizeof(r->queue_id) };
	uint64_t h = 1469598103934665603ULL;
	unsigned char bin[16];

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		size_t n = strnlen(strs[i], sizes[i]);

		if (n == sizes[i])
			die("field not NUL-terminated");
		h = fnv(h, strs[i], n + 1);
	}
	if (!MXT_POLICY_HAVE(r, MXT_POLICY_A_REQUEST))
		die("request completed without request=");
	if (r->client_family == AF_INET) {
		if (inet_pton(AF_INET, r->client_address, bin) != 1 || memcmp(bin, &r->client_addr.v4, 4))
			die("client_family AF_INET disagrees with client_address");
	} else if (r->client_family == AF_INET6) {
		if (inet_pton(AF_INET6, r->client_address, bin) != 1 || memcmp(bin, &r->client_addr.v6, 16))
			die("client_family AF_INET6 disagrees with client_address");
	} else if (r->client_family != 0 || r->client_address[0]) {
		die("client_address without a family");
	}
	if (r->oversized != (r->nbytes > p->lim.request_max || r->nattrs > p->lim.attrs_max))
		die("oversized disagrees with the limits");
	h = fnv(h, &r->size, sizeof(r->size));
	h = fnv(h, &r->recipient_count, sizeof(r->recipient_count));
	h = fnv(h, &r->client_family, sizeof(r->client_family));
	h = fnv(h, &r->present, sizeof(r->present));
	h = fnv(h, &r->truncated, sizeof(r->truncated));
	h = fnv(h, &r->nattrs, sizeof(r->nattrs));
	h = fnv(h, &r->nbytes, sizeof(r->nbytes));
	h = fnv(h, &r->oversized, sizeof(r->oversized));
	return h;
}

/* Feeds data[0..len) in chunks of next_chunk() bytes. */
static void run(const uint8_t *data, size_t len, const struct mxt_policy_limits *lim,
		uint64_t seed, int mode, struct outcome *o)
{
	struct mxt_policy_parser p;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	if (mxt_policy_parser_init(&p, lim) != 0)
		die("init");
	while (off < len) {
		size_t chunk = len - off, used = 0;
		int rc;

		if (mode == 1)
			chunk = 1;
		else if (mode == 2) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			chunk = 1 + (size_t)(seed >> 33) % 700;
			if (chunk > len - off)
				chunk = len - off;
		}
		/* Pipelined requests come out one per call: feed a chunk to its end. */
		for (size_t cend = off + chunk; off < cend;) {
			rc = mxt_policy_parser_feed(&p, (const char *)data + off, cend - off, &used);
			if (used > cend - off)
				die("consumed more than given");
			off += used;
			o->final_rc = rc < 0 ? rc : 0;
			if (rc < 0) {
				o->err = p.err;
				if (p.err == MXT_POLICY_PERR_NONE)
					die("error without a reason");
				return;
			}
			if (rc == 1) {
				if (o->nreq < MAX_REQS)
					o->digest[o->nreq] = check_request(&p);
				o->nreq++;
				continue;
			}
			if (off != cend)
				die("returned 0 without consuming everything");
		}
	}
	o->pending = mxt_policy_parser_pending(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxt_policy_limits lim = { 0 };
	struct outcome whole, bytes, chunks;
	uint64_t seed = 0;

	if (size < 9)
		return 0;
	memcpy(&seed, data, 8);
	/* One byte picks small limits now and then, so their edges are hit. */
	if (data[8] & 1)
		lim = (struct mxt_policy_limits){ .line_max = 64, .attrs_max = 4, .request_max = 256 };
	data += 9;
	size -= 9;
	run(data, size, &lim, seed, 0, &whole);
	run(data, size, &lim, seed, 1, &bytes);
	run(data, size, &lim, seed, 2, &chunks);
	if (memcmp(&whole, &bytes, sizeof(whole)) != 0)
		die("byte-by-byte feed disagrees with a single feed");
	if (memcmp(&whole, &chunks, sizeof(whole)) != 0)
		die("chunked feed disagrees with a single feed");
	return 0;
}
