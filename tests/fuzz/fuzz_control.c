// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_control.c - libFuzzer harness for the control socket's request
 * reader (user/daemon/control.c, mxt_control_accept): the real code, over a real
 * unix socket in a private directory.  Each input is sent by a client that
 * then shuts down its write side, as the CLI does.  The reader must answer
 * with argv words that are non-empty, without blanks or NULs, at most
 * MXT_CONTROL_ARGS_MAX of them, within the line buffer; joined with spaces
 * they must split back into the same words.  A refused line is -EPROTO,
 * -EMSGSIZE or -E2BIG, never anything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "harness.h"

static char path[96];
static int lfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/control.sock", fz_tmpdir("control"));
	lfd = mxt_control_listen(path, (uid_t)-1);
	if (lfd < 0)
		die("mxt_control_listen", strerror(-lfd));
	return 0;
}

/* Connects a client, sends 'data', shuts down its write side. */
static int client_send(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket", NULL);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("connect", NULL);
	if (size && send(fd, data, size, MSG_NOSIGNAL) != (ssize_t)size)
		die("send", NULL);
	shutdown(fd, SHUT_WR);
	return fd;
}

/* The words must be well formed and survive join + split. */
static void check_words(int argc, char **argv, const char *line, size_t len)
{
	char joined[MXT_CONTROL_LINE_MAX + 1];
	size_t off = 0;
	int n = 0;

	if (argc < 1 || argc > MXT_CONTROL_ARGS_MAX)
		die("argc out of range", NULL);
	for (int i = 0; i < argc; i++) {
		size_t wl = strlen(argv[i]);

		if (argv[i] < line || argv[i] + wl >= line + len)
			die("a word outside the line buffer", NULL);
		if (wl == 0 || strpbrk(argv[i], " \t"))
			die("an empty word or a word with a blank", NULL);
		if (off + wl + 1 > sizeof(joined))
			die("words longer than the line", NULL);
		memcpy(joined + off, argv[i], wl);
		off += wl;
		joined[off++] = ' ';
	}
	joined[off - 1] = '\0';
	for (char *save = NULL, *w = strtok_r(joined, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n >= argc || strcmp(w, argv[n]) != 0)
			die("words do not survive join and split", NULL);
		n++;
	}
	if (n != argc)
		die("join and split lost words", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[MXT_CONTROL_LINE_MAX], *argv[MXT_CONTROL_ARGS_MAX];
	int argc = 0, cfd, fd;

	if (size > 4096) /* within one socket buffer: the client never blocks */
		return 0;
	cfd = client_send(data, size);
	fd = mxt_control_accept(lfd, geteuid(), 1000, line, sizeof(line), &argc, argv);
	if (fd >= 0) {
		check_words(argc, argv, line, sizeof(line));
		close(fd);
	} else if (fd != -EPROTO && fd != -EMSGSIZE && fd != -E2BIG) {
		fprintf(stderr, "fuzz_control: mxt_control_accept: %s\n", strerror(-fd));
		abort();
	}
	close(cfd);
	return 0;
}
