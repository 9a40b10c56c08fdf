// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxt-listen - a real TCP listener for integration tests: listens on one or
 * more ADDR:PORT (IPv4, IPv6, or dual-stack "[::]:PORT"), accepts and closes
 * every connection at once (optionally after writing a banner line), and
 * counts accepted connections per (local port, source address).
 *
 * The counts are the ground truth a test compares with the client's ok
 * count and with the XDP counters: a SYN the program admitted must become
 * exactly one accepted connection.  So the listener must never be the one
 * that loses SYNs: the backlog is large (default 4096, capped by the netns'
 * net.core.somaxconn) and accept() is drained in a loop on every wakeup.
 *
 * Counts are written as JSON on SIGUSR1 (keep running) and on SIGTERM or
 * SIGINT (then exit), to --out FILE (written to FILE.tmp and renamed, so a
 * reader never sees half a file) or to stdout.  SIGUSR2 zeroes the counts.
 * --ready FILE is created once every socket listens, for tests to wait on.
 *
 *   mxt-listen -l ADDR:PORT [-l ...] [-o FILE] [--ready FILE] [-B BACKLOG]
 *              [--banner TEXT]
 *
 * JSON: {"accepted":N,"sources":{"ADDR":N,...},"ports":{"PORT":{"ADDR":N}}}
 * IPv4 peers of a dual-stack socket are reported as plain IPv4.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTEN 16
#define MAX_KEYS 8192

/* Accepted connections from one source on one local port. */
struct entry {
	uint16_t port;
	char addr[INET6_ADDRSTRLEN];
	unsigned long n;
};

static struct entry table[MAX_KEYS];
static int nentries;
static unsigned long accepted, overflow;
static const char *out_path;
static const char *banner;

/* Add one connection from 'addr' on 'port' to the table. */
static void count(uint16_t port, const char *addr)
{
	int i;

	accepted++;
	/* Linear: tests use a handful of sources; keeps the tool obvious. */
	for (i = 0; i < nentries; i++) {
		if (table[i].port == port && strcmp(table[i].addr, addr) == 0) {
			table[i].n++;
			return;
		}
	}
	if (nentries == MAX_KEYS) {
		overflow++;
		return;
	}
	table[nentries].port = port;
	snprintf(table[nentries].addr, sizeof(table[nentries].addr), "%s", addr);
	table[nentries].n = 1;
	nentries++;
}

/* Canonical text of a peer; v4-mapped IPv6 (dual-stack socket) as IPv4. */
static void peer_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
		return;
	}
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		inet_ntop(AF_INET, &a6->s6_addr[12], buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a6, buf, (socklen_t)len);
}

/* Write the counts as JSON to f. */
static void dump_json(FILE *f)
{
	int i, j, first;

	fprintf(f, "{\"accepted\":%lu,\"overflow\":%lu,\"sources\":{", accepted, overflow);
	/* Per source, summed over ports. */
	first = 1;
	for (i = 0; i < nentries; i++) {
		unsigned long sum = 0;
		int seen = 0;

		for (j = 0; j < i && !seen; j++)
			seen = strcmp(table[j].addr, table[i].addr) == 0;
		if (seen)
			continue;
		for (j = i; j < nentries; j++)
			if (strcmp(table[j].addr, table[i].addr) == 0)
				sum += table[j].n;
		fprintf(f, "%s\"%s\":%lu", first ? "" : ",", table[i].addr, sum);
		first = 0;
	}
	fprintf(f, "},\"ports\":{");
	first = 1;
	for (i = 0; i < nentries; i++) {
		int seen = 0, inner = 1;

		for (j = 0; j < i && !seen; j++)
			seen = table[j].port == table[i].port;
		if (seen)
			continue;
		fprintf(f, "%s\"%u\":{", first ? "" : ",", table[i].port);
		first = 0;
		for (j = i; j < nentries; j++) {
			if (table[j].port != table[i].port)
				continue;
			fprintf(f, "%s\"%s\":%lu", inner ? "" : ",", table[j].addr, table[j].n);
			inner = 0;
		}
		fprintf(f, "}");
	}
	fprintf(f, "}}\n");
}

/* Write the counts to --out atomically (tmp + rename), or to stdout. */
static void dump(void)
{
	char tmp[4096];
	FILE *f;

	if (!out_path) {
		dump_json(stdout);
		fflush(stdout);
		return;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "mxt-listen: output path too long\n");
		return;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "mxt-listen: %s: %s\n", tmp, strerror(errno));
		return;
	}
	dump_json(f);
	if (fclose(f) != 0 || rename(tmp, out_path) != 0)
		fprintf(stderr, "mxt-listen: writing %s: %s\n", out_path, strerror(errno));
}

/* Parse "A.B.C.D:PORT" or "[V6]:PORT" into *ss; 0 or -1. */
static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = arg;
	size_t hl;
	char *end;
	unsigned long port;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	colon = strrchr(arg, ':');
	if (!colon)
		return -1;
	hl = (size_t)(colon - arg);
	if (arg[0] == '[') {
		if (hl < 2 || arg[hl - 1] != ']')
			return -1;
		h = arg + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		return -1;
	if (arg[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (arg[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* Open a listening socket on 'arg'; returns the fd or -1. */
static int open_listener(const char *arg, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0;

	if (parse_listen(arg, &ss, &len) < 0) {
		fprintf(stderr, "mxt-listen: bad listen address '%s' (A.B.C.D:PORT or [V6]:PORT)\n", arg);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("mxt-listen: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:25" means both families; a specific v6 address only v6. */
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr))
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		fprintf(stderr, "mxt-listen: %s: %s\n", arg, strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* Accept every pending connection on listener 'fd', count, close. */
static void drain(int fd, uint16_t port)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	char text[INET6_ADDRSTRLEN];
	int c;

	for (;;) {
		plen = sizeof(peer);
		c = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				perror("mxt-listen: accept");
			return;
		}
		peer_text(&peer, text, sizeof(text));
		count(port, text);
		if (banner) {
			/* Best effort: a fresh socket's send buffer takes a line. */
			ssize_t r = send(c, banner, strlen(banner), MSG_NOSIGNAL);
			(void)r;
		}
		close(c);
	}
}

/* Print the usage text. */
static void usage(void)
{
	fprintf(stderr,
		"usage: mxt-listen -l ADDR:PORT [-l ...] [-o FILE] [--ready FILE] [-B BACKLOG]\n"
		"                  [--banner TEXT]\n"
		"  -l, --listen ADDR:PORT  A.B.C.D:PORT, [V6]:PORT, or [::]:PORT (dual-stack)\n"
		"  -o, --out FILE          write JSON counts here (default stdout)\n"
		"  -r, --ready FILE        create FILE once listening\n"
		"  -B, --backlog N         listen() backlog (default 4096)\n"
		"  -b, --banner TEXT       send TEXT\\r\\n before closing\n"
		"signals: USR1 write counts, USR2 zero counts, TERM/INT write counts and exit\n");
}

/* Parse options, listen, count until TERM/INT. */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "ready", required_argument, NULL, 'r' },
		{ "backlog", required_argument, NULL, 'B' },
		{ "banner", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *listen_args[MAX_LISTEN];
	const char *ready = NULL;
	int fds[MAX_LISTEN];
	uint16_t ports[MAX_LISTEN];
	int nlisten = 0, backlog = 4096, opt, i, ep, sfd;
	struct epoll_event ev, evs[MAX_LISTEN + 1];
	sigset_t mask;
	char bannerbuf[1024];
	char *end;

	while ((opt = getopt_long(argc, argv, "l:o:r:B:b:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (nlisten == MAX_LISTEN) {
				fprintf(stderr, "mxt-listen: at most %d listeners\n", MAX_LISTEN);
				return 2;
			}
			listen_args[nlisten++] = optarg;
			break;
		case 'o': out_path = optarg; break;
		case 'r': ready = optarg; break;
		case 'B':
			backlog = (int)strtol(optarg, &end, 10);
			if (*end || backlog < 1) {
				fprintf(stderr, "mxt-listen: bad backlog '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (snprintf(bannerbuf, sizeof(bannerbuf), "%s\r\n", optarg) >= (int)sizeof(bannerbuf)) {
				fprintf(stderr, "mxt-listen: banner too long\n");
				return 2;
			}
			banner = bannerbuf;
			break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || nlisten == 0) {
		usage();
		return 2;
	}

	/* Signals arrive through a signalfd so that a dump never interrupts
	 * an accept loop half way (no async-signal-safety concerns). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror("mxt-listen: sigprocmask");
		return 1;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || ep < 0) {
		perror("mxt-listen: signalfd/epoll");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.u32 = MAX_LISTEN;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	for (i = 0; i < nlisten; i++) {
		fds[i] = open_listener(listen_args[i], backlog, &ports[i]);
		if (fds[i] < 0)
			return 1;
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
			perror("mxt-listen: epoll_ctl");
			return 1;
		}
	}
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
			fprintf(stderr, "mxt-listen: %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}

	for (;;) {
		int n = epoll_wait(ep, evs, MAX_LISTEN + 1, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mxt-listen: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;
			struct signalfd_siginfo si;

			if (k < MAX_LISTEN) {
				drain(fds[k], ports[k]);
				continue;
			}
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			switch (si.ssi_signo) {
			case SIGUSR1:
				/* Accept what is queued first, so a dump taken after
				 * the clients finished includes all of them. */
				for (int j = 0; j < nlisten; j++)
					drain(fds[j], ports[j]);
				dump();
				break;
			case SIGUSR2:
				nentries = 0;
				accepted = overflow = 0;
				break;
			default:
				for (int j = 0; j < nlisten; j++)
					drain(fds[j], ports[j]);
				dump();
				return 0;
			}
		}
	}
}
