// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxt-connect - a real TCP client for integration tests: opens N
 * connections to DST:PORT from each of one or more bound source addresses,
 * sequentially or with a given concurrency, optionally paced, and reports
 * how many were established (ok) and how many were not (fail).
 *
 * The connect timeout is the point of the tool: a SYN that the XDP program
 * drops is retransmitted by the kernel only after the initial RTO (1 s), so
 * with a timeout well below that (default 300 ms) every dropped SYN shows up
 * as exactly one failed connection, and every established connection as
 * exactly one admitted SYN.  That one-to-one mapping is what lets a test
 * compare mxt-connect's counts with the XDP counters and the listener's
 * accept counts exactly.
 *
 * Sockets are non-blocking and driven by poll(); a slot table of size
 * --concurrency holds the connections in flight.  Sources are used round
 * robin so that several sources can interleave in one run.
 *
 *   mxt-connect -s SRC [-s SRC...] -d DST [-p PORT] [-n N] [-c CONC]
 *               [-t TIMEOUT_MS] [-r RATE] [--banner] [--rst] [--json]
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCES 64
#define MAX_CONC 4096

/* Outcome counters of one source (or of the whole run). */
struct counts {
	unsigned long ok;       /* established */
	unsigned long timeout;  /* no answer within the timeout: dropped SYN */
	unsigned long refused;  /* RST: no listener (or a reject) */
	unsigned long error;    /* anything else (bind, unreachable, ...) */
};

struct source {
	struct sockaddr_storage addr;
	socklen_t len;
	char text[INET6_ADDRSTRLEN];
	unsigned long started;
	struct counts c;
};

enum slot_state { SLOT_FREE = 0, SLOT_CONNECTING, SLOT_READING };

/* One connection in flight. */
struct slot {
	int fd;
	enum slot_state state;
	int src;
	uint64_t deadline_ns;
};

static struct source sources[MAX_SOURCES];
static int nsources;
static struct sockaddr_storage dst;
static socklen_t dst_len;
static unsigned long per_source = 1;
static int concurrency = 1;
static unsigned timeout_ms = 300;
static double rate;          /* connection starts per second, 0 = as fast as possible */
static int read_banner;
static int use_rst;
static int json;

/* Monotonic time in nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Parse an IPv4 or IPv6 literal (port 'port') into *ss; 0 or -EINVAL. */
static int parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

/* Parse a non-negative integer option or exit with a message. */
static unsigned long parse_ulong(const char *opt, const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-') {
		fprintf(stderr, "mxt-connect: bad value for %s: '%s'\n", opt, s);
		exit(2);
	}
	return v;
}

/* Close a slot; RST instead of FIN when --rst (no TIME_WAIT left behind). */
static void slot_close(struct slot *sl)
{
	if (use_rst && sl->state == SLOT_READING) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(sl->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(sl->fd);
	sl->fd = -1;
	sl->state = SLOT_FREE;
}

/* Record the outcome 'err' (0 = established) for the slot's source. */
static void record(struct slot *sl, int err)
{
	struct counts *c = &sources[sl->src].c;

	if (err == 0)
		c->ok++;
	else if (err == ETIMEDOUT)
		c->timeout++;
	else if (err == ECONNREFUSED)
		c->refused++;
	else
		c->error++;
}

/* The connection is up: count it, then either read the banner or close. */
static void established(struct slot *sl, uint64_t now)
{
	record(sl, 0);
	if (read_banner) {
		/* Give the server the same timeout to greet and close. */
		sl->state = SLOT_READING;
		sl->deadline_ns = now + (uint64_t)timeout_ms * 1000000ull;
		return;
	}
	sl->state = SLOT_READING; /* so that --rst applies */
	slot_close(sl);
}

/* Open one connection from source 'src' into the free slot 'sl'. */
static void slot_start(struct slot *sl, int src, uint64_t now)
{
	struct source *s = &sources[src];
	int one = 1, fd, err;

	s->started++;
	sl->src = src;
	sl->deadline_ns = now + (uint64_t)timeout_ms * 1000000ull;
	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		fprintf(stderr, "mxt-connect: socket: %s\n", strerror(err));
		s->c.error++;
		return;
	}
	/* Pick the ephemeral port at connect() time, against the full 4-tuple:
	 * otherwise bind() reserves a port per source address and hundreds of
	 * sequential connections exhaust the range faster (TIME_WAIT). */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&s->addr, s->len) < 0) {
		err = errno;
		fprintf(stderr, "mxt-connect: bind %s: %s\n", s->text, strerror(err));
		close(fd);
		s->c.error++;
		return;
	}
	sl->fd = fd;
	sl->state = SLOT_CONNECTING;
	if (connect(fd, (struct sockaddr *)&dst, dst_len) == 0) {
		established(sl, now);
		return;
	}
	err = errno;
	if (err == EINPROGRESS)
		return;
	record(sl, err);
	if (err != ECONNREFUSED)
		fprintf(stderr, "mxt-connect: connect from %s: %s\n", s->text, strerror(err));
	slot_close(sl);
}

/* Handle poll events on a busy slot. */
static void slot_event(struct slot *sl, short revents, uint64_t now)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	char buf[512];
	ssize_t n;

	if (sl->state == SLOT_CONNECTING) {
		if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err == 0 && (revents & POLLOUT)) {
			established(sl, now);
			return;
		}
		if (err == 0)
			err = ECONNREFUSED; /* POLLERR/POLLHUP without SO_ERROR */
		record(sl, err);
		slot_close(sl);
		return;
	}
	/* SLOT_READING: drain until EOF or error; the banner is not checked. */
	for (;;) {
		n = read(sl->fd, buf, sizeof(buf));
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		slot_close(sl);
		return;
	}
}

/* Expire slots whose deadline passed. */
static void slot_expire(struct slot *sl, uint64_t now)
{
	if (sl->state == SLOT_FREE || now < sl->deadline_ns)
		return;
	if (sl->state == SLOT_CONNECTING)
		record(sl, ETIMEDOUT); /* closing a SYN_SENT socket sends nothing */
	slot_close(sl);
}

/* Print the totals as JSON or as "ok=N fail=N". */
static void report(uint64_t elapsed_ns)
{
	struct counts t = {0};
	int i;

	for (i = 0; i < nsources; i++) {
		t.ok += sources[i].c.ok;
		t.timeout += sources[i].c.timeout;
		t.refused += sources[i].c.refused;
		t.error += sources[i].c.error;
	}
	if (!json) {
		printf("ok=%lu fail=%lu timeout=%lu refused=%lu error=%lu elapsed_ms=%llu\n",
		       t.ok, t.timeout + t.refused + t.error, t.timeout, t.refused, t.error,
		       (unsigned long long)(elapsed_ns / 1000000));
		return;
	}
	printf("{\"ok\":%lu,\"fail\":%lu,\"timeout\":%lu,\"refused\":%lu,\"error\":%lu,"
	       "\"elapsed_ms\":%llu,\"sources\":{",
	       t.ok, t.timeout + t.refused + t.error, t.timeout, t.refused, t.error,
	       (unsigned long long)(elapsed_ns / 1000000));
	for (i = 0; i < nsources; i++) {
		const struct counts *c = &sources[i].c;

		printf("%s\"%s\":{\"ok\":%lu,\"fail\":%lu,\"timeout\":%lu,\"refused\":%lu,\"error\":%lu}",
		       i ? "," : "", sources[i].text, c->ok, c->timeout + c->refused + c->error,
		       c->timeout, c->refused, c->error);
	}
	printf("}}\n");
}

/* Print the usage text. */
static void usage(void)
{
	fprintf(stderr,
		"usage: mxt-connect -s SRC [-s SRC...] -d DST [-p PORT] [-n N] [-c CONC]\n"
		"                   [-t TIMEOUT_MS] [-r RATE] [--banner] [--rst] [--json]\n"
		"  -s, --src ADDR        bind to this source (repeat: used round robin)\n"
		"  -d, --dst ADDR        destination address (IPv4 or IPv6)\n"
		"  -p, --port PORT       destination port (default 25)\n"
		"  -n, --count N         connections per source (default 1)\n"
		"  -c, --concurrency C   connections in flight (default 1: sequential)\n"
		"  -t, --timeout MS      connect timeout (default 300; < 1000 so a dropped\n"
		"                        SYN is never retransmitted)\n"
		"  -r, --rate R          start at most R connections per second (total)\n"
		"  -b, --banner          read until the server closes (or the timeout)\n"
		"      --rst             close established connections with RST\n"
		"  -j, --json            print JSON (totals and per source)\n"
		"exit: 0 when it ran (whatever the outcomes), 2 on usage errors\n");
}

/* Parse options, run, report. */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "banner", no_argument, NULL, 'b' },
		{ "rst", no_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *dst_text = NULL;
	const char *src_text[MAX_SOURCES];
	struct slot *slots;
	struct pollfd *pfd;
	int *pidx;
	uint16_t port = 25;
	unsigned long total, started = 0, done;
	uint64_t t0, next_start, interval_ns = 0;
	int opt, i, next_src = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "s:d:p:n:c:t:r:bjh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (nsources == MAX_SOURCES) {
				fprintf(stderr, "mxt-connect: at most %d sources\n", MAX_SOURCES);
				return 2;
			}
			src_text[nsources++] = optarg;
			break;
		case 'd': dst_text = optarg; break;
		case 'p': port = (uint16_t)parse_ulong("--port", optarg, 65535); break;
		case 'n': per_source = parse_ulong("--count", optarg, 10000000); break;
		case 'c': concurrency = (int)parse_ulong("--concurrency", optarg, MAX_CONC); break;
		case 't': timeout_ms = (unsigned)parse_ulong("--timeout", optarg, 600000); break;
		case 'r':
			errno = 0;
			rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || rate < 0) {
				fprintf(stderr, "mxt-connect: bad value for --rate: '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b': read_banner = 1; break;
		case 'R': use_rst = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind != argc || !dst_text || nsources == 0 || concurrency < 1 || port == 0 ||
	    timeout_ms == 0) {
		usage();
		return 2;
	}
	if (parse_addr(dst_text, port, &dst, &dst_len) < 0) {
		fprintf(stderr, "mxt-connect: bad destination '%s'\n", dst_text);
		return 2;
	}
	for (i = 0; i < nsources; i++) {
		struct source *s = &sources[i];

		if (parse_addr(src_text[i], 0, &s->addr, &s->len) < 0 ||
		    s->addr.ss_family != dst.ss_family) {
			fprintf(stderr, "mxt-connect: bad source '%s' (must be of the destination's family)\n",
				src_text[i]);
			return 2;
		}
		/* Canonical text, so JSON keys compare equal to the CLI's output. */
		inet_ntop(s->addr.ss_family,
			  s->addr.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&s->addr)->sin_addr
						       : (void *)&((struct sockaddr_in6 *)&s->addr)->sin6_addr,
			  s->text, sizeof(s->text));
		/* Per-source counts are JSON keys: a repeated source would
		 * print a duplicate key. */
		for (int j = 0; j < i; j++) {
			if (strcmp(sources[j].text, s->text) == 0) {
				fprintf(stderr, "mxt-connect: source '%s' given twice\n", s->text);
				return 2;
			}
		}
	}

	slots = calloc((size_t)concurrency, sizeof(*slots));
	pfd = calloc((size_t)concurrency, sizeof(*pfd));
	pidx = calloc((size_t)concurrency, sizeof(*pidx));
	if (!slots || !pfd || !pidx) {
		fprintf(stderr, "mxt-connect: out of memory\n");
		return 1;
	}
	for (i = 0; i < concurrency; i++)
		slots[i].fd = -1;
	if (rate > 0)
		interval_ns = (uint64_t)(1e9 / rate);

	total = per_source * (unsigned long)nsources;
	t0 = now_ns();
	next_start = t0;
	done = 0;
	while (done < total) {
		uint64_t now = now_ns(), wake;
		int n = 0, busy = 0, ms, r;

		/* Start as many connections as free slots and the pacing allow. */
		for (i = 0; i < concurrency && started < total; i++) {
			if (slots[i].state != SLOT_FREE)
				continue;
			if (interval_ns && now < next_start)
				break;
			slot_start(&slots[i], next_src, now);
			next_src = (next_src + 1) % nsources;
			started++;
			if (interval_ns)
				next_start += interval_ns;
		}
		/* Completed ones are those started and no longer busy. */
		wake = UINT64_MAX;
		for (i = 0; i < concurrency; i++) {
			if (slots[i].state == SLOT_FREE)
				continue;
			busy++;
			pfd[n].fd = slots[i].fd;
			pfd[n].events = slots[i].state == SLOT_CONNECTING ? POLLOUT : POLLIN;
			pfd[n].revents = 0;
			pidx[n++] = i;
			if (slots[i].deadline_ns < wake)
				wake = slots[i].deadline_ns;
		}
		done = started - (unsigned long)busy;
		if (done >= total)
			break;
		if (interval_ns && started < total && busy < concurrency && next_start < wake)
			wake = next_start;
		if (wake == UINT64_MAX)
			continue; /* nothing in flight: loop starts the next one */
		ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		r = poll(pfd, (nfds_t)n, ms);
		if (r < 0 && errno != EINTR) {
			perror("mxt-connect: poll");
			return 1;
		}
		now = now_ns();
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents)
				slot_event(&slots[pidx[i]], pfd[i].revents, now);
		for (i = 0; i < concurrency; i++)
			slot_expire(&slots[i], now);
	}
	report(now_ns() - t0);
	free(slots);
	free(pfd);
	free(pidx);
	return 0;
}
