// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * readfull.c - see readfull.h.
 */
#include <errno.h>
#include <unistd.h>

#include "readfull.h"

size_t mxt_read_upto(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}
