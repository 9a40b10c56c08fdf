// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxt-policy-load - load generator for any Postfix policy delegation server
 * (ours, postgrey, policyd-*): N persistent connections over a unix or inet
 * socket, each with at most one request in flight (as a Postfix smtpd
 * process behaves), at a fixed offered load or as fast as answers come,
 * for a duration.  Reports the achieved rate, latency percentiles and the
 * answers by kind, as text or one JSON line (--json).
 *
 * Requests are what Postfix 3.7 sends at the RCPT stage (~30 attributes,
 * ~650 bytes), grouped in transactions of 1-3 recipients sharing one
 * 'instance', from client addresses drawn from 198.18.0.0/15 (a pool of
 * --pool addresses).
 *
 * Latency is send -> complete answer, per request.  With --rate, requests
 * are scheduled on a fixed clock; when every connection is busy a request
 * waits, and "sched" latency (scheduled time -> answer) shows that queueing
 * too, so an overloaded server cannot hide behind the generator
 * (coordinated omission).  Requests sent during --warmup are not counted;
 * requests still in flight at the end are reported, not counted.
 *
 *   mxt-policy-load [-c CONNS] [-r QPS] [-d SECONDS] [-W SECONDS] [-p POOL]
 *                   [-t TIMEOUT_MS] [--state STATE] [--seed N] [--json] ENDPOINT
 *   ENDPOINT: unix:/path | inet:host:port | [inet:][v6]:port
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "policy_server.h"

#define MAX_CONNS   4096
#define REQ_BUF     2048
#define IN_BUF      8192
#define POOL_MAX    (1u << 17)   /* 198.18.0.0/15 */

enum kind { K_DUNNO, K_DEFER, K_PREPEND, K_OTHER, K_MAX };
static const char *const kind_names[K_MAX] = { "dunno", "defer", "prepend", "other" };

/* One persistent connection. */
struct conn {
	int fd;                  /* -1: down */
	int busy;                /* a request is in flight */
	int counted;             /* the in-flight request counts (sent after warmup) */
	uint64_t sent_ns, sched_ns;
	uint64_t retry_ns;       /* reconnect not before */
	uint32_t txn, rcpt_left, rcpt_count;
	uint32_t client;         /* index in the pool for this transaction */
	size_t out_len, out_off;
	size_t in_len;
	char out[REQ_BUF];
	char in[IN_BUF];
};

/* Options and results. */
struct run {
	const char *spec;
	struct mxt_policy_endpoint ep;
	unsigned nconns;
	double rate;             /* 0: max speed */
	double duration, warmup;
	unsigned pool;
	unsigned timeout_ms;
	const char *state;
	uint64_t seed;
	int json;
	struct conn *conns;
	unsigned *idle;          /* stack of idle connection indexes */
	unsigned nidle;
	int epfd;
	/* results */
	uint64_t sent, answered, in_flight_end;
	uint64_t kinds[K_MAX];
	uint64_t timeouts, closed, connect_errors, reconnects, late, unexpected;
	uint64_t *lat, *slat;    /* ns samples: send->answer, schedule->answer */
	size_t nlat, cap;
};

/* Monotonic nanoseconds. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, seedable, good enough for picking addresses. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Prints usage. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: mxt-policy-load [options] ENDPOINT\n"
		"  ENDPOINT            unix:/path or inet:host:port (any policy server)\n"
		"  -c, --connections N persistent connections (default 32)\n"
		"  -r, --rate QPS      total offered queries/s; 0 = as fast as possible (default)\n"
		"  -d, --duration S    measured seconds (default 10)\n"
		"  -W, --warmup S      seconds before measuring (default 0)\n"
		"  -p, --pool N        distinct client addresses from 198.18.0.0/15 (default 4096)\n"
		"  -t, --timeout MS    answer timeout per request (default 5000)\n"
		"      --state STATE   protocol_state to send (default RCPT)\n"
		"      --seed N        random seed (default 1)\n"
		"      --json          one JSON line instead of text\n");
}

/* Strict positive-or-zero number. */
static int parse_num(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Appends one sample. */
static int record(struct run *r, uint64_t lat, uint64_t slat)
{
	if (r->nlat == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1u << 16;
		uint64_t *a = realloc(r->lat, cap * sizeof(*a));
		uint64_t *b;

		if (!a)
			return -ENOMEM;
		r->lat = a;
		b = realloc(r->slat, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		r->slat = b;
		r->cap = cap;
	}
	r->lat[r->nlat] = lat;
	r->slat[r->nlat] = slat;
	r->nlat++;
	return 0;
}

/* Classifies an answer line. */
static enum kind classify(const char *a, size_t n)
{
	if (n >= 7 && strncasecmp(a, "action=", 7) == 0) {
		a += 7;
		n -= 7;
	}
	if (n >= 5 && strncasecmp(a, "DUNNO", 5) == 0)
		return K_DUNNO;
	if (n >= 7 && strncasecmp(a, "PREPEND", 7) == 0)
		return K_PREPEND;
	if ((n >= 1 && a[0] == '4') || (n >= 5 && strncasecmp(a, "DEFER", 5) == 0))
		return K_DEFER; /* 4NN text, DEFER, DEFER_IF_PERMIT (postgrey) */
	return K_OTHER;
}

/* Opens connection 'i' (blocking connect, then non-blocking). */
static int conn_open(struct run *r, unsigned i)
{
	struct conn *c = &r->conns[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	int fd = socket(r->ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&r->ep.addr, r->ep.addrlen) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (r->ep.family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	c->fd = fd;
	c->busy = 0;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
	r->idle[r->nidle++] = i;
	return 0;
}

/* Drops connection 'i' (after EOF, error or timeout); it reconnects later. */
static void conn_drop(struct run *r, unsigned i, uint64_t now)
{
	struct conn *c = &r->conns[i];

	if (c->fd < 0)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (!c->busy) { /* remove from the idle stack */
		for (unsigned k = 0; k < r->nidle; k++)
			if (r->idle[k] == i) {
				r->idle[k] = r->idle[--r->nidle];
				break;
			}
	}
	c->busy = 0;
	c->retry_ns = now;
}

/* Writes the next request of connection 'c' into its buffer. */
static void build_request(struct run *r, struct conn *c, unsigned i, uint64_t *seed)
{
	uint32_t a;
	int n;

	if (c->rcpt_left == 0) {
		c->txn++;
		c->rcpt_left = 1 + (uint32_t)(rnd(seed) % 3);
		c->rcpt_count = 0;
		c->client = (uint32_t)(rnd(seed) % r->pool);
	}
	/* Spread the pool over the /15 so that addresses differ in every octet. */
	a = (uint32_t)(((uint64_t)c->client * 2654435761u) % POOL_MAX);
	n = snprintf(c->out, sizeof(c->out),
		     "request=smtpd_access_policy\n"
		     "protocol_state=%s\n"
		     "protocol_name=ESMTP\n"
		     "helo_name=mx%u.example.net\n"
		     "queue_id=\n"
		     "sender=bounce-%u@example.net\n"
		     "recipient=user%u@example.org\n"
		     "recipient_count=%u\n"
		     "client_address=198.%u.%u.%u\n"
		     "client_name=unknown\n"
		     "reverse_client_name=unknown\n"
		     "instance=%x.%x.%x\n"
		     "sasl_method=\nsasl_username=\nsasl_sender=\n"
		     "size=%u\n"
		     "ccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n"
		     "encryption_protocol=TLSv1.3\n"
		     "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
		     "encryption_keysize=256\n"
		     "etrn_domain=\nstress=\n"
		     "client_port=%u\n"
		     "policy_context=\n"
		     "server_address=198.19.255.254\n"
		     "server_port=25\n"
		     "compatibility_level=3.6\n"
		     "mail_version=3.7.11\n"
		     "\n",
		     r->state, c->client, (unsigned)(rnd(seed) % 100000),
		     (unsigned)(rnd(seed) % 100000), c->rcpt_count,
		     18 + (a >> 16), (a >> 8) & 0xff, a & 0xff, c->client, i, c->txn,
		     (unsigned)(1000 + rnd(seed) % 200000), (unsigned)(1024 + rnd(seed) % 60000));
	c->out_len = (size_t)n < sizeof(c->out) ? (size_t)n : sizeof(c->out) - 1;
	c->out_off = 0;
	c->rcpt_left--;
	c->rcpt_count++;
}

/* Sends what is pending on 'c'.  0, or -1 when the connection failed. */
static int conn_write(struct run *r, unsigned i)
{
	struct conn *c = &r->conns[i];

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = i };

			epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return 0;
		}
		return -1;
	}
	return 0;
}

/* Starts one request on an idle connection. */
static void send_one(struct run *r, uint64_t sched, uint64_t now, uint64_t measure_from,
		     uint64_t *seed)
{
	unsigned i = r->idle[--r->nidle];
	struct conn *c = &r->conns[i];

	build_request(r, c, i, seed);
	c->busy = 1;
	c->sched_ns = sched;
	c->sent_ns = now;
	c->counted = now >= measure_from;
	if (c->counted)
		r->sent++;
	if (sched && now > sched + 1000000u)
		r->late++;
	if (conn_write(r, i) < 0) {
		r->closed++;
		conn_drop(r, i, now);
	}
}

/* Reads answers on connection 'i'. */
static void conn_read(struct run *r, unsigned i, uint64_t end_ns)
{
	struct conn *c = &r->conns[i];
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	uint64_t now = now_ns();
	char *p, *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		r->closed++;
		conn_drop(r, i, now);
		return;
	}
	c->in_len += (size_t)n;
	p = c->in;
	while ((nl = memmem(p, c->in_len - (size_t)(p - c->in), "\n\n", 2)) != NULL) {
		size_t alen = (size_t)(nl - p);

		if (!c->busy) {
			r->unexpected++;
		} else {
			c->busy = 0;
			r->idle[r->nidle++] = i;
			if (c->counted && now <= end_ns) {
				r->answered++;
				r->kinds[classify(p, alen)]++;
				if (record(r, now - c->sent_ns, now - (c->sched_ns ? c->sched_ns : c->sent_ns))) {
					fprintf(stderr, "mxt-policy-load: out of memory for samples\n");
					exit(1);
				}
			}
		}
		p = nl + 2;
	}
	c->in_len -= (size_t)(p - c->in);
	memmove(c->in, p, c->in_len);
	if (c->in_len == sizeof(c->in)) { /* an answer larger than 8 KiB: not a policy server */
		r->closed++;
		conn_drop(r, i, now);
	}
}

/* qsort comparator. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile (nearest rank) of sorted samples, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)ceil(q * (double)n);
	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return (double)v[k - 1] / 1000.0;
}

/* Runs the load. */
static int run_load(struct run *r)
{
	uint64_t seed = r->seed ? r->seed : 1;
	uint64_t start = now_ns();
	uint64_t measure_from = start + (uint64_t)(r->warmup * 1e9);
	uint64_t end = measure_from + (uint64_t)(r->duration * 1e9);
	uint64_t interval = r->rate > 0 ? (uint64_t)(1e9 / r->rate) : 0;
	uint64_t next = start, last_check = start;
	struct epoll_event evs[256];

	for (unsigned i = 0; i < r->nconns; i++) {
		int rc;

		r->conns[i].fd = -1;
		rc = conn_open(r, i);
		if (rc) {
			fprintf(stderr, "mxt-policy-load: connect %s: %s\n", r->spec, strerror(-rc));
			return rc;
		}
	}
	for (;;) {
		uint64_t now = now_ns();
		struct timespec ts;
		uint64_t wait;
		int n;

		if (now >= end)
			break;
		if (interval) {
			while (next <= now && r->nidle > 0) {
				send_one(r, next, now, measure_from, &seed);
				next += interval;
			}
		} else {
			while (r->nidle > 0)
				send_one(r, 0, now, measure_from, &seed);
		}
		/* Timeouts and reconnects, every 10 ms. */
		if (now - last_check >= 10000000u) {
			last_check = now;
			for (unsigned i = 0; i < r->nconns; i++) {
				struct conn *c = &r->conns[i];

				if (c->fd >= 0 && c->busy &&
				    now - c->sent_ns >= (uint64_t)r->timeout_ms * 1000000u) {
					r->timeouts++;
					conn_drop(r, i, now);
				}
				if (c->fd < 0 && now >= c->retry_ns) {
					if (conn_open(r, i) == 0) {
						r->reconnects++;
					} else {
						r->connect_errors++;
						c->retry_ns = now + 100000000u;
					}
				}
			}
		}
		wait = end - now;
		if (wait > 10000000u)
			wait = 10000000u;
		if (interval && r->nidle > 0)
			wait = next > now ? (next - now < wait ? next - now : wait) : 0;
		ts.tv_sec = (time_t)(wait / 1000000000u);
		ts.tv_nsec = (long)(wait % 1000000000u);
		n = epoll_pwait2(r->epfd, evs, 256, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mxt-policy-load: epoll_pwait2");
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			unsigned i = evs[k].data.u32;
			struct conn *c = &r->conns[i];

			if (c->fd < 0)
				continue;
			if (evs[k].events & EPOLLOUT) {
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

				if (conn_write(r, i) < 0) {
					r->closed++;
					conn_drop(r, i, now_ns());
					continue;
				}
				if (c->out_off == c->out_len)
					epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			}
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(r, i, end);
		}
	}
	for (unsigned i = 0; i < r->nconns; i++) {
		if (r->conns[i].fd >= 0 && r->conns[i].busy && r->conns[i].counted)
			r->in_flight_end++;
		if (r->conns[i].fd >= 0)
			close(r->conns[i].fd);
	}
	return 0;
}

/* Prints the results. */
static void report(struct run *r)
{
	double qps = r->duration > 0 ? (double)r->answered / r->duration : 0;
	double p[5], s[3];
	static const double qs[5] = { 0.50, 0.90, 0.99, 0.999, 1.0 };

	qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u64);
	qsort(r->slat, r->nlat, sizeof(*r->slat), cmp_u64);
	for (int i = 0; i < 5; i++)
		p[i] = pct_us(r->lat, r->nlat, qs[i]);
	s[0] = pct_us(r->slat, r->nlat, 0.50);
	s[1] = pct_us(r->slat, r->nlat, 0.99);
	s[2] = pct_us(r->slat, r->nlat, 1.0);
	if (r->json) {
		struct mxt_jw w;

		mxt_jw_init(&w, stdout);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "endpoint", r->spec);
		mxt_jw_ku64(&w, "connections", r->nconns);
		mxt_jw_key(&w, "offered_qps");
		mxt_jw_double(&w, r->rate, 1);
		mxt_jw_key(&w, "duration_s");
		mxt_jw_double(&w, r->duration, 3);
		mxt_jw_ku64(&w, "requests", r->sent);
		mxt_jw_ku64(&w, "answers", r->answered);
		mxt_jw_key(&w, "qps");
		mxt_jw_double(&w, qps, 1);
		mxt_jw_key(&w, "latency_us");
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "p50");
		mxt_jw_double(&w, p[0], 1);
		mxt_jw_key(&w, "p90");
		mxt_jw_double(&w, p[1], 1);
		mxt_jw_key(&w, "p99");
		mxt_jw_double(&w, p[2], 1);
		mxt_jw_key(&w, "p999");
		mxt_jw_double(&w, p[3], 1);
		mxt_jw_key(&w, "max");
		mxt_jw_double(&w, p[4], 1);
		mxt_jw_obj_close(&w);
		mxt_jw_key(&w, "sched_latency_us");
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "p50");
		mxt_jw_double(&w, s[0], 1);
		mxt_jw_key(&w, "p99");
		mxt_jw_double(&w, s[1], 1);
		mxt_jw_key(&w, "max");
		mxt_jw_double(&w, s[2], 1);
		mxt_jw_obj_close(&w);
		mxt_jw_key(&w, "answers_by_kind");
		mxt_jw_obj_open(&w);
		for (int k = 0; k < K_MAX; k++)
			mxt_jw_ku64(&w, kind_names[k], r->kinds[k]);
		mxt_jw_obj_close(&w);
		mxt_jw_key(&w, "errors");
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "timeouts", r->timeouts);
		mxt_jw_ku64(&w, "closed", r->closed);
		mxt_jw_ku64(&w, "connect", r->connect_errors);
		mxt_jw_ku64(&w, "unexpected_answers", r->unexpected);
		mxt_jw_obj_close(&w);
		mxt_jw_ku64(&w, "reconnects", r->reconnects);
		mxt_jw_ku64(&w, "late_sends", r->late);
		mxt_jw_ku64(&w, "in_flight_at_end", r->in_flight_end);
		mxt_jw_obj_close(&w);
		mxt_jw_finish(&w);
		return;
	}
	printf("mxt-policy-load: %s, %u connections, ", r->spec, r->nconns);
	if (r->rate > 0)
		printf("offered %.0f q/s, ", r->rate);
	else
		printf("max speed, ");
	printf("%.1f s\n", r->duration);
	printf("requests %llu  answers %llu  qps %.1f\n", (unsigned long long)r->sent,
	       (unsigned long long)r->answered, qps);
	printf("latency us (send->answer): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	       p[0], p[1], p[2], p[3], p[4]);
	if (r->rate > 0)
		printf("latency us (scheduled->answer): p50 %.1f  p99 %.1f  max %.1f  late sends %llu\n",
		       s[0], s[1], s[2], (unsigned long long)r->late);
	printf("answers: dunno %llu  defer %llu  prepend %llu  other %llu\n",
	       (unsigned long long)r->kinds[K_DUNNO], (unsigned long long)r->kinds[K_DEFER],
	       (unsigned long long)r->kinds[K_PREPEND], (unsigned long long)r->kinds[K_OTHER]);
	printf("errors: timeouts %llu  closed %llu  connect %llu  unexpected %llu  "
	       "reconnects %llu  in flight at end %llu\n",
	       (unsigned long long)r->timeouts, (unsigned long long)r->closed,
	       (unsigned long long)r->connect_errors, (unsigned long long)r->unexpected,
	       (unsigned long long)r->reconnects, (unsigned long long)r->in_flight_end);
}

/* Parses options, runs the load, prints the report; exits 1 when nothing
 * was answered, 2 on bad usage. */
int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "pool", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { .nconns = 32, .duration = 10, .pool = 4096, .timeout_ms = 5000,
			 .state = "RCPT", .seed = 1 };
	double v;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:r:d:W:p:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_num(optarg, MAX_CONNS, &v) || v < 1 || v != floor(v))
				goto bad;
			r.nconns = (unsigned)v;
			break;
		case 'r':
			if (parse_num(optarg, 1e8, &v))
				goto bad;
			r.rate = v;
			break;
		case 'd':
			if (parse_num(optarg, 86400, &v) || v <= 0)
				goto bad;
			r.duration = v;
			break;
		case 'W':
			if (parse_num(optarg, 3600, &v))
				goto bad;
			r.warmup = v;
			break;
		case 'p':
			if (parse_num(optarg, POOL_MAX, &v) || v < 1 || v != floor(v))
				goto bad;
			r.pool = (unsigned)v;
			break;
		case 't':
			if (parse_num(optarg, 3600000, &v) || v < 1 || v != floor(v))
				goto bad;
			r.timeout_ms = (unsigned)v;
			break;
		case 'S':
			if (!*optarg || strpbrk(optarg, "\r\n=") || strlen(optarg) > 32)
				goto bad;
			r.state = optarg;
			break;
		case 's':
			if (parse_num(optarg, 1.8e19, &v) || v != floor(v))
				goto bad;
			r.seed = (uint64_t)v;
			break;
		case 'j':
			r.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	r.spec = argv[optind];
	rc = mxt_policy_endpoint_parse(r.spec, &r.ep);
	if (rc) {
		fprintf(stderr, "mxt-policy-load: bad endpoint %s: %s\n", r.spec, strerror(-rc));
		return 2;
	}
	r.conns = calloc(r.nconns, sizeof(*r.conns));
	r.idle = calloc(r.nconns, sizeof(*r.idle));
	r.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!r.conns || !r.idle || r.epfd < 0) {
		perror("mxt-policy-load");
		return 1;
	}
	rc = run_load(&r);
	if (rc)
		return 1;
	report(&r);
	free(r.conns);
	free(r.idle);
	free(r.lat);
	free(r.slat);
	close(r.epfd);
	return r.answered > 0 ? 0 : 1;
bad:
	fprintf(stderr, "mxt-policy-load: bad value for -%c: %s\n", opt, optarg);
	return 2;
}
