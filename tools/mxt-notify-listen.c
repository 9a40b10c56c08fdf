/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxt-notify-listen - stands in for systemd's end of sd_notify(3) in the
 * tests: binds a unix datagram socket at PATH (give it to the daemon as
 * $NOTIFY_SOCKET) and appends every field of every message it receives,
 * one "VAR=value" per line in arrival order, to OUTFILE (flushed per
 * message, so a test can poll it).  Runs until SIGTERM/SIGINT.  No
 * systemd (PID 1) needed.
 *   mxt-notify-listen PATH OUTFILE
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sigaction sa = { .sa_handler = on_signal };
	char buf[4096];
	FILE *out;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: mxt-notify-listen PATH OUTFILE\n");
		return 1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[1]);
	out = fopen(argv[2], "a");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!out || fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("mxt-notify-listen");
		return 1;
	}
	/* No SA_RESTART: a signal ends the blocking recv. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mxt-notify-listen: recv");
			break;
		}
		buf[n] = '\0';
		/* A message is newline-separated assignments; keep them as lines. */
		fputs(buf, out);
		if (n == 0 || buf[n - 1] != '\n')
			fputc('\n', out);
		fflush(out);
	}
	fclose(out);
	unlink(argv[1]);
	return 0;
}
