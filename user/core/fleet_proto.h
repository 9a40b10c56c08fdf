/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet_proto.h - the pure parts of the fleet (docs/fleet.md): Redis
 * endpoints, the consistent-hash ring that puts each source on one shard,
 * the names of the keys, the binary deltas a node's log entry carries and
 * the operator actions it announces.  No I/O, no threads: unit-tested.
 */
#ifndef MXT_FLEET_PROTO_H
#define MXT_FLEET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "mxt_abi.h"

#define MXT_FLEET_SHARDS_MAX  8
#define MXT_FLEET_RING_POINTS 160   /* points per endpoint: ~1/N moves when one joins */
#define MXT_FLEET_NAME_MAX    64    /* fleet_name, node_name (with NUL) */
#define MXT_FLEET_EP_MAX      256   /* endpoint text (with NUL) */
#define MXT_FLEET_KEY_HEX     36    /* 18 key bytes as hex */
#define MXT_FLEET_DELTA_LEN   38    /* 18 key + u32 hour + 4 x u32 counts */

/* One Redis server: "tcp:HOST:PORT" or "unix:PATH". */
struct mxt_fleet_endpoint {
	int is_unix;
	char host[MXT_FLEET_EP_MAX]; /* or the socket path */
	int port;
	char text[MXT_FLEET_EP_MAX]; /* as configured */
};

/* Parse an endpoint; 0 or -EINVAL with the reason in err. */
int mxt_fleet_endpoint_parse(const char *s, struct mxt_fleet_endpoint *e, char *err, size_t errlen);

/* A name that may appear inside a Redis key and a log entry: 1..63 of
 * [A-Za-z0-9._-].  0 or -EINVAL. */
int mxt_fleet_name_check(const char *s);

/* The ring: sorted points, each owned by one shard. */
struct mxt_fleet_ring {
	size_t n;
	uint64_t pt[MXT_FLEET_SHARDS_MAX * MXT_FLEET_RING_POINTS];
	uint8_t shard[MXT_FLEET_SHARDS_MAX * MXT_FLEET_RING_POINTS];
};

/* Build the ring over n endpoint names (1..MXT_FLEET_SHARDS_MAX); the
 * same names in any order give the same owners.  0 or -EINVAL. */
int mxt_fleet_ring_build(struct mxt_fleet_ring *r, const char *const *names, size_t n);
/* The shard (index into the names given to build) of a source key. */
unsigned int mxt_fleet_ring_shard(const struct mxt_fleet_ring *r, const struct mxt_key *k);
/* The shard of a fixed name ("ops", "nodes"). */
unsigned int mxt_fleet_ring_shard_name(const struct mxt_fleet_ring *r, const char *name);

/* Source key <-> 36 hex characters (family, prefixlen, 16 address bytes). */
void mxt_fleet_key_hex(const struct mxt_key *k, char out[MXT_FLEET_KEY_HEX + 1]);
int mxt_fleet_key_unhex(const char *hex, struct mxt_key *k);

/* Redis key names (docs/fleet.md); snprintf-like: length or -ENAMETOOLONG. */
int mxt_fleet_key_counts(char *buf, size_t len, const char *fleet, const struct mxt_key *k, uint32_t hour);
int mxt_fleet_key_record(char *buf, size_t len, const char *fleet, const struct mxt_key *k);
int mxt_fleet_key_fixed(char *buf, size_t len, const char *fleet, const char *what);

/* Counts a node keeps per source and hour. */
enum mxt_fleet_cnt_idx {
	MXT_FLEET_SESS = 0,  /* sessions admitted */
	MXT_FLEET_RCPT,      /* recipients admitted */
	MXT_FLEET_DSESS,     /* sessions deferred */
	MXT_FLEET_DRCPT,     /* recipients deferred */
	MXT_FLEET_NCNT
};
/* Field suffixes in the hour hashes: "s", "r", "d", "e". */
extern const char mxt_fleet_cnt_field[MXT_FLEET_NCNT];

/* One source's change in one hour, as a log entry carries it. */
struct mxt_fleet_delta {
	struct mxt_key key;
	uint32_t hour;
	uint32_t v[MXT_FLEET_NCNT];
};

/* Encode one delta into MXT_FLEET_DELTA_LEN bytes (little-endian). */
void mxt_fleet_delta_encode(const struct mxt_fleet_delta *d, uint8_t *out);
/* Decode the i-th delta of a blob; 0, -ERANGE (past the end) or -EINVAL
 * (a blob of another length or a key that is no source). */
int mxt_fleet_delta_decode(const uint8_t *blob, size_t len, size_t i, struct mxt_fleet_delta *d);

/* Operator actions announced to the fleet: split 'line' (a copy in buf)
 * into argv and check that it is one of release/reset/forget ADDR, allow
 * add|del CIDR, config set KEY VALUE..., or the fleet's own block KEYHEX
 * UNTIL (a SYN-flood block).  Returns argc or -EINVAL. */
int mxt_fleet_op_parse(const char *line, char *buf, size_t buflen, char **argv, int maxargs);
/* 1 when argv is an action the fleet shares. */
int mxt_fleet_op_shared(int argc, char *const *argv);
/* Join argv with single spaces; length or -ENAMETOOLONG. */
int mxt_fleet_op_format(char *buf, size_t len, int argc, char *const *argv);

#endif /* MXT_FLEET_PROTO_H */
