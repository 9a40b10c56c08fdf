/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * capture.h - a command's output into a string, for the unit tests that
 * check what a printer or a CLI entry writes: a FILE * that collects
 * into memory (for code that takes a stream), or stdout/stderr itself
 * redirected for the length of a call (for code that writes there).
 * Include after <cmocka.h>: a capture that cannot be set up fails the
 * test.
 */
#ifndef MXT_TEST_CAPTURE_H
#define MXT_TEST_CAPTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A stream collecting into memory. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

/* Start collecting: the stream to hand to the code under test. */
static inline FILE *capture_begin(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	if (!c->f)
		fail_msg("open_memstream: %s", strerror(errno));
	return c->f;
}

/* Stop: what was written, NUL-terminated (the caller frees it). */
static inline char *capture_end(struct capture *c)
{
	if (fclose(c->f))
		fail_msg("closing the capture stream: %s", strerror(errno));
	c->f = NULL;
	return c->buf;
}

/* A file descriptor (1 or 2) redirected into an unlinked temporary file. */
struct capture_fd {
	int fd, saved, tmp;
};

/* Redirect fd until capture_fd_end(). */
static inline void capture_fd_begin(struct capture_fd *c, int fd)
{
	char path[] = "/tmp/mxt-capture-XXXXXX";

	c->fd = fd;
	c->tmp = mkstemp(path);
	if (c->tmp < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	unlink(path);
	fflush(fd == 2 ? stderr : stdout);
	c->saved = dup(fd);
	if (c->saved < 0 || dup2(c->tmp, fd) < 0)
		fail_msg("redirecting fd %d: %s", fd, strerror(errno));
}

/* Restore the fd; what was written to it into buf (NUL-terminated, cut
 * at len - 1 bytes): its length. */
static inline size_t capture_fd_end(struct capture_fd *c, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r = 1;

	fflush(c->fd == 2 ? stderr : stdout);
	if (dup2(c->saved, c->fd) < 0)
		fail_msg("restoring fd %d: %s", c->fd, strerror(errno));
	close(c->saved);
	if (lseek(c->tmp, 0, SEEK_SET) < 0)
		fail_msg("lseek: %s", strerror(errno));
	while (n + 1 < len && r > 0) {
		r = read(c->tmp, buf + n, len - 1 - n);
		if (r > 0)
			n += (size_t)r;
	}
	close(c->tmp);
	buf[n] = 0;
	return n;
}

#endif /* MXT_TEST_CAPTURE_H */
