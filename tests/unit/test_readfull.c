// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_readfull.c - mxt_read_upto(): stops at the length asked for, at end
 * of file, and at an error, and gathers a file delivered in pieces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "readfull.h"

/* A pipe holding 'n' bytes of 'c' written in pieces of 7, writer closed. */
static int pipe_of(size_t n, char c)
{
	char piece[7];
	int p[2];

	if (pipe(p) < 0)
		return -1;
	memset(piece, c, sizeof(piece));
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(piece) ? n - done : sizeof(piece);

		if (write(p[1], piece, k) != (ssize_t)k)
			return -1;
		done += k;
	}
	close(p[1]);
	return p[0];
}

static void stops_at_len(void **state)
{
	char buf[64];
	int fd = pipe_of(100, 'a');

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(mxt_read_upto(fd, buf, 40), 40);
	assert_int_equal(buf[39], 'a');
	/* the rest is still there */
	assert_int_equal(mxt_read_upto(fd, buf, sizeof(buf)), 60);
	close(fd);
}

static void stops_at_eof(void **state)
{
	char buf[200];
	int fd = pipe_of(123, 'b');

	(void)state;
	assert_true(fd >= 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mxt_read_upto(fd, buf, sizeof(buf)), 123);
	assert_int_equal(buf[122], 'b');
	assert_int_equal(buf[123], 0);
	close(fd);
}

static void error_reads_nothing(void **state)
{
	char buf[8];
	int p[2];

	(void)state;
	assert_int_equal(mxt_read_upto(-1, buf, sizeof(buf)), 0);
	/* an empty non-blocking pipe with its writer open: EAGAIN */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(mxt_read_upto(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stops_at_len),
		cmocka_unit_test(stops_at_eof),
		cmocka_unit_test(error_reads_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
