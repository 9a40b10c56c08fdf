/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_fleet_conf.c - the fleet's keys in mxthrottle.conf (daemon_conf.c):
 * fleet_redis (repeatable, "none" clears), fleet_name, node_name,
 * fleet_buffer, fleet_join_timeout; bad values are refused with the key's
 * name in the message; without fleet_redis there is no fleet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "daemon_conf.h"
#include "fleet.h"

static void defaults_no_fleet(void **state)
{
	struct mxt_daemon_conf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	mxt_daemon_conf_defaults(&c, 2);
	assert_int_equal(c.fleet.nendpoints, 0);
	assert_string_equal(c.fleet.fleet, "mxthrottle");
	assert_int_equal(c.fleet.buffer, 262144);
	assert_int_equal(c.fleet.join_timeout, 10);
	assert_non_null(mxt_daemon_key_find("fleet_redis"));
	assert_non_null(mxt_daemon_key_find("node_name"));
}

static void keys_set_and_checked(void **state)
{
	struct mxt_daemon_conf c;
	char err[256];

	(void)state;
	memset(&c, 0, sizeof(c));
	mxt_daemon_conf_defaults(&c, 2);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "tcp:198.18.0.5:6379", err, sizeof(err)), 0);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "unix:/run/redis.sock", err, sizeof(err)), 0);
	assert_int_equal(c.fleet.nendpoints, 2);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "198.18.0.5", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fleet_redis"));
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_name", "mx-fleet.1", err, sizeof(err)), 0);
	assert_int_equal(mxt_daemon_conf_set(&c, "node_name", "mx1", err, sizeof(err)), 0);
	assert_int_equal(mxt_daemon_conf_set(&c, "node_name", "mx 1", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node_name"));
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_name", "a:b", err, sizeof(err)), -EINVAL);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_buffer", "10", err, sizeof(err)), -ERANGE);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_join_timeout", "601", err, sizeof(err)), -ERANGE);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_join_timeout", "0", err, sizeof(err)), 0);
	assert_int_equal(mxt_fleet_config_check(&c.fleet, err, sizeof(err)), 0);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "none", err, sizeof(err)), 0);
	assert_int_equal(c.fleet.nendpoints, 0);
	assert_int_equal(mxt_fleet_config_check(&c.fleet, err, sizeof(err)), -EINVAL);
	for (int i = 0; i < MXT_FLEET_SHARDS_MAX; i++)
		assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "tcp:h:1", err, sizeof(err)), 0);
	assert_int_equal(mxt_daemon_conf_set(&c, "fleet_redis", "tcp:h:1", err, sizeof(err)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_no_fleet),
		cmocka_unit_test(keys_set_and_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
