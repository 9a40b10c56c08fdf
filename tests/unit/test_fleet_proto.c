/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_fleet_proto.c - the pure parts of the fleet (fleet_proto.h):
 * endpoints, the consistent-hash ring, key names, the delta encoding of a
 * log entry and the operator actions a node announces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "test_util.h"

#include "fleet_proto.h"

static void endpoints_parse(void **state)
{
	struct mxt_fleet_endpoint e;
	char err[256];

	(void)state;
	assert_int_equal(mxt_fleet_endpoint_parse("tcp:127.0.0.1:6379", &e, err, sizeof(err)), 0);
	assert_false(e.is_unix);
	assert_string_equal(e.host, "127.0.0.1");
	assert_int_equal(e.port, 6379);
	assert_int_equal(mxt_fleet_endpoint_parse("tcp:[2001:2::1]:7000", &e, err, sizeof(err)), 0);
	assert_string_equal(e.host, "2001:2::1");
	assert_int_equal(e.port, 7000);
	assert_int_equal(mxt_fleet_endpoint_parse("unix:/run/redis/redis.sock", &e, err, sizeof(err)), 0);
	assert_true(e.is_unix);
	assert_string_equal(e.host, "/run/redis/redis.sock");
	assert_int_equal(mxt_fleet_endpoint_parse("tcp:host:0", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_fleet_endpoint_parse("tcp:host:70000", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_fleet_endpoint_parse("tcp::6379", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_fleet_endpoint_parse("tcp:host", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_fleet_endpoint_parse("unix:relative.sock", &e, err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_fleet_endpoint_parse("redis://x", &e, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tcp:HOST:PORT"));
}

static void names_checked(void **state)
{
	(void)state;
	assert_int_equal(mxt_fleet_name_check("mx-1.example_a"), 0);
	assert_int_equal(mxt_fleet_name_check(""), -EINVAL);
	assert_int_equal(mxt_fleet_name_check("a b"), -EINVAL);
	assert_int_equal(mxt_fleet_name_check("a:b"), -EINVAL);
	assert_int_equal(mxt_fleet_name_check("a*"), -EINVAL);
}

/* Every source on exactly one shard, all shards used, the same owner
 * whatever order the endpoints are listed in, and a third endpoint moves
 * about a third of the sources, all of them to the new one. */
static void ring_consistent(void **state)
{
	static struct mxt_fleet_ring r2, r2b, r3;
	const char *two[] = { "tcp:198.18.0.1:6379", "unix:/run/b.sock" };
	const char *twob[] = { "unix:/run/b.sock", "tcp:198.18.0.1:6379" };
	const char *three[] = { "tcp:198.18.0.1:6379", "unix:/run/b.sock", "tcp:198.18.0.3:6379" };
	unsigned int count[3] = { 0 }, moved = 0, n = 30000;

	(void)state;
	assert_int_equal(mxt_fleet_ring_build(&r2, two, 2), 0);
	assert_int_equal(mxt_fleet_ring_build(&r2b, twob, 2), 0);
	assert_int_equal(mxt_fleet_ring_build(&r3, three, 3), 0);
	assert_int_equal(mxt_fleet_ring_build(&r3, three, 0), -EINVAL);
	assert_int_equal(mxt_fleet_ring_build(&r3, three, 3), 0);
	for (unsigned int i = 0; i < n; i++) {
		struct mxt_key k = mxt_test_key4(i);
		unsigned int a = mxt_fleet_ring_shard(&r2, &k), b = mxt_fleet_ring_shard(&r2b, &k),
			     c = mxt_fleet_ring_shard(&r3, &k);

		assert_true(a < 2);
		assert_int_equal(b, 1 - a); /* same endpoint, other index */
		count[c]++;
		if (c != a) {
			assert_int_equal(c, 2); /* only to the newcomer */
			moved++;
		}
	}
	for (int i = 0; i < 3; i++)
		assert_in_range(count[i], n / 5, n / 2);
	assert_in_range(moved, n / 5, n / 2);
	assert_true(mxt_fleet_ring_shard_name(&r2, "ops") < 2);
}

static void key_names(void **state)
{
	struct mxt_key k = mxt_test_key4(0x0102), back;
	char hex[MXT_FLEET_KEY_HEX + 1], buf[128];

	(void)state;
	mxt_fleet_key_hex(&k, hex);
	assert_string_equal(hex, "0420c6120201000000000000000000000000");
	assert_int_equal(mxt_fleet_key_unhex(hex, &back), 0);
	assert_memory_equal(&k, &back, sizeof(k));
	assert_int_equal(mxt_fleet_key_unhex("0421c6120201000000000000000000000000", &back), -EINVAL);
	assert_int_equal(mxt_fleet_key_unhex("zz20c6120201000000000000000000000000", &back), -EINVAL);
	assert_int_equal(mxt_fleet_key_unhex("0420", &back), -EINVAL);
	assert_true(mxt_fleet_key_counts(buf, sizeof(buf), "f", &k, 490000) > 0);
	assert_string_equal(buf, "mxt:f:c:0420c6120201000000000000000000000000:490000");
	assert_true(mxt_fleet_key_record(buf, sizeof(buf), "f", &k) > 0);
	assert_string_equal(buf, "mxt:f:r:0420c6120201000000000000000000000000");
	assert_int_equal(mxt_fleet_key_record(buf, 10, "f", &k), -ENAMETOOLONG);
	assert_int_equal(mxt_fleet_key_fixed(buf, sizeof(buf), "f", "log"), 9);
	assert_string_equal(buf, "mxt:f:log");
}

static void deltas_roundtrip(void **state)
{
	struct mxt_fleet_delta d = { .key = mxt_test_key4(7), .hour = 491234, .v = { 1, 2, 3, 4000000000u } }, e;
	uint8_t blob[2 * MXT_FLEET_DELTA_LEN];

	(void)state;
	mxt_fleet_delta_encode(&d, blob);
	d.key = mxt_test_key4(8);
	mxt_fleet_delta_encode(&d, blob + MXT_FLEET_DELTA_LEN);
	assert_int_equal(mxt_fleet_delta_decode(blob, sizeof(blob), 0, &e), 0);
	assert_int_equal(e.key.addr[0], mxt_test_key4(7).addr[0]);
	assert_int_equal(e.key.family, MXT_FAMILY_IPV4);
	assert_int_equal(e.hour, 491234);
	assert_int_equal(e.v[3], 4000000000u);
	assert_int_equal(mxt_fleet_delta_decode(blob, sizeof(blob), 1, &e), 0);
	assert_int_equal(e.key.addr[0], mxt_test_key4(8).addr[0]);
	assert_int_equal(mxt_fleet_delta_decode(blob, sizeof(blob), 2, &e), -ERANGE);
	assert_int_equal(mxt_fleet_delta_decode(blob, sizeof(blob) - 1, 0, &e), -EINVAL);
	blob[0] = 9; /* no such family */
	assert_int_equal(mxt_fleet_delta_decode(blob, sizeof(blob), 0, &e), -EINVAL);
	assert_int_equal(mxt_fleet_delta_decode(blob, 0, 0, &e), -ERANGE);
}

static void ops_parse(void **state)
{
	char buf[128], *argv[8], line[64];
	char *rel[] = { "release", "198.18.0.1" }, *bad[] = { "explain", "198.18.0.1" };
	char *sp[] = { "release", "a b" };

	(void)state;
	assert_int_equal(mxt_fleet_op_parse("release 198.18.0.1", buf, sizeof(buf), argv, 8), 2);
	assert_string_equal(argv[1], "198.18.0.1");
	assert_int_equal(mxt_fleet_op_parse("allow add 198.18.0.0/24", buf, sizeof(buf), argv, 8), 3);
	assert_int_equal(mxt_fleet_op_parse("config set jump_factor 6", buf, sizeof(buf), argv, 8), 4);
	assert_int_equal(mxt_fleet_op_parse("config set jump_factor", buf, sizeof(buf), argv, 8), -EINVAL);
	/* the fleet's own SYN-flood block: key and end, nothing else */
	assert_int_equal(mxt_fleet_op_parse("block 0420c6120709000000000000000000000000 1796083800", buf,
					    sizeof(buf), argv, 8), 3);
	assert_int_equal(mxt_fleet_op_parse("block 0420c6120709000000000000000000000000", buf, sizeof(buf),
					    argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_parse("clock advance 3600", buf, sizeof(buf), argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_parse("forget", buf, sizeof(buf), argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_parse("allow list 1", buf, sizeof(buf), argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_parse("a b c d e f g h i", buf, sizeof(buf), argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_parse("", buf, sizeof(buf), argv, 8), -EINVAL);
	assert_int_equal(mxt_fleet_op_shared(2, rel), 1);
	assert_int_equal(mxt_fleet_op_shared(2, bad), 0);
	assert_int_equal(mxt_fleet_op_format(line, sizeof(line), 2, rel), 18);
	assert_string_equal(line, "release 198.18.0.1");
	assert_int_equal(mxt_fleet_op_format(line, 5, 2, rel), -ENAMETOOLONG);
	assert_int_equal(mxt_fleet_op_format(line, sizeof(line), 2, sp), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoints_parse),
		cmocka_unit_test(names_checked),
		cmocka_unit_test(ring_consistent),
		cmocka_unit_test(key_names),
		cmocka_unit_test(deltas_roundtrip),
		cmocka_unit_test(ops_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
