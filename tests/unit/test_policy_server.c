/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_policy_server.c - the policy server (user/daemon/policy_server.c) in a
 * thread, on a unix socket in a private temporary directory (and once on
 * inet 127.0.0.1 with an ephemeral port), with a stub decide() callback
 * standing in for the model: IPv4 clients with an odd last octet are
 * deferred with NEW_SENDER, 198.18.0.99 makes decide() fail, the rest pass.
 * Clients: persistent connections, pipelining, malformed requests (only that
 * connection closes), 200 concurrent connections, oversized requests, a
 * client stalled mid-request, Exim-style half-close, the connection limit,
 * monitor mode, stale-socket handling, and issue 9's holes: a full table of
 * idle or trickling connections still admits a new client, a trickler is
 * closed at its request's absolute deadline, a 2000-byte EHLO name still
 * gets the 451.  Every socket read has a 5 s timeout
 * so a broken server fails the test instead of hanging it.
 *
 * Harness: "test_policy_server --serve ENDPOINT [SECONDS [monitor]]" runs the server
 * with the same stub decide() (no cmocka) until SIGINT/SIGTERM or SECONDS,
 * then prints its counters; that is what mxt-policy-load is measured
 * against (see docs/mta-integration.md, "Performance").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include "mxt_abi.h"
#include "policy_server.h"

#define CLIENT_TIMEOUT_S 5

/* One test's server, its thread and what the stub saw. */
struct fixture {
	char dir[64];
	char path[100];              /* fits sun_path */
	struct mxt_policy_server *srv;
	pthread_t thread;
	int running;
	int decide_calls;        /* atomic */
	pthread_mutex_t log_lock;
	char last_log[512];
	int nlogs;
};

/* A blocking test client with its own receive buffer. */
struct client {
	int fd;
	size_t len;
	char buf[8192];
};

/* The model stand-in. */
static int stub_decide(void *ctx, const struct mxt_policy_request *req, struct mxt_decision *out)
{
	struct fixture *f = ctx;
	const unsigned char *a = (const unsigned char *)&req->client_addr.v4;

	__atomic_fetch_add(&f->decide_calls, 1, __ATOMIC_RELAXED);
	if (strcmp(req->client_address, "198.18.0.99") == 0)
		return -EIO;
	memset(out, 0, sizeof(*out));
	if (req->client_family == AF_INET && (a[3] & 1)) {
		out->code = MXT_CODE_NEW_SENDER;
		out->defer = 1;
		out->retry_after = 600;
	} else {
		out->code = MXT_CODE_OK_ESTABLISHED;
	}
	return 0;
}

/* Keeps the last log line. */
static void stub_log(void *ctx, int level, const char *msg)
{
	struct fixture *f = ctx;

	(void)level;
	pthread_mutex_lock(&f->log_lock);
	snprintf(f->last_log, sizeof(f->last_log), "%s", msg);
	f->nlogs++;
	pthread_mutex_unlock(&f->log_lock);
}

/* The server thread. */
static void *server_main(void *arg)
{
	struct fixture *f = arg;
	int rc = mxt_policy_server_run(f->srv);

	return (void *)(intptr_t)rc;
}

/* Makes the temporary directory and socket path. */
static void fixture_dir(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->log_lock, NULL);
	snprintf(f->dir, sizeof(f->dir), "/tmp/mxt-policy-test.XXXXXX");
	if (!mkdtemp(f->dir))
		fail_msg("mkdtemp: got %s, want a directory", strerror(errno));
	snprintf(f->path, sizeof(f->path), "%s/policy.sock", f->dir);
}

/* Creates the server from 'cfg' (listen defaults to the unix path) and
 * starts its thread. */
static void fixture_start(struct fixture *f, struct mxt_policy_server_config *cfg)
{
	char spec[160];
	int rc;

	if (!cfg->listen[0]) {
		snprintf(spec, sizeof(spec), "unix:%s", f->path);
		cfg->listen[0] = spec;
	}
	if (!cfg->decide) {
		cfg->decide = stub_decide;
		cfg->decide_ctx = f;
	}
	cfg->log = stub_log;
	cfg->log_ctx = f;
	rc = mxt_policy_server_create(cfg, &f->srv);
	if (rc)
		fail_msg("server create: got %d (%s), want 0", rc, strerror(-rc));
	if (pthread_create(&f->thread, NULL, server_main, f) != 0)
		fail_msg("pthread_create failed");
	f->running = 1;
}

/* Stops the thread, destroys the server, removes the directory. */
static void fixture_stop(struct fixture *f)
{
	void *ret = NULL;

	if (f->running) {
		assert_int_equal(mxt_policy_server_stop(f->srv), 0);
		pthread_join(f->thread, &ret);
		f->running = 0;
		if ((intptr_t)ret != 0)
			fail_msg("server run: got %ld, want 0", (long)(intptr_t)ret);
	}
	mxt_policy_server_destroy(f->srv);
	f->srv = NULL;
	unlink(f->path);
	rmdir(f->dir);
	pthread_mutex_destroy(&f->log_lock);
}

/* Reads the counters. */
static struct mxt_policy_stats stats_of(struct fixture *f)
{
	struct mxt_policy_stats st;

	mxt_policy_server_stats(f->srv, &st);
	return st;
}

/* Sleeps 'ms' milliseconds. */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Connects to a unix socket path (or inet endpoint spec) with timeouts. */
static void client_open_spec(struct client *c, const char *spec)
{
	struct mxt_policy_endpoint ep;
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };

	memset(c, 0, sizeof(*c));
	assert_int_equal(mxt_policy_endpoint_parse(spec, &ep), 0);
	c->fd = socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&ep.addr, ep.addrlen) < 0)
		fail_msg("connect %s: got %s, want success", spec, strerror(errno));
}

/* Connects to the fixture's unix socket. */
static void client_open(struct client *c, struct fixture *f)
{
	char spec[160];

	snprintf(spec, sizeof(spec), "unix:%s", f->path);
	client_open_spec(c, spec);
}

/* Sends all of 's'. */
static void client_send(struct client *c, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			fail_msg("send: got %s, want success", n < 0 ? strerror(errno) : "0");
		s += n;
		len -= (size_t)n;
	}
}

/* Sends a string literal (NULs inside included, the final one not). */
#define SEND_LIT(c, lit) client_send((c), (lit), sizeof(lit) - 1)

/* Reads one answer (without its "\n\n") into 'out'.  1, 0 on EOF before an
 * answer, -1 on timeout or error. */
static int client_answer(struct client *c, char *out, size_t size)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\n\n", 2);
		ssize_t n;

		if (end) {
			size_t alen = (size_t)(end - c->buf);

			snprintf(out, size, "%.*s", (int)alen, c->buf);
			memmove(c->buf, end + 2, c->len - alen - 2);
			c->len -= alen + 2;
			return 1;
		}
		if (c->len == sizeof(c->buf))
			return -1;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
		c->len += (size_t)n;
	}
}

/* 1 when the server closed the connection (EOF) without sending anything. */
static int client_sees_close(struct client *c)
{
	char b[64];
	ssize_t n = recv(c->fd, b, sizeof(b), 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Builds an RCPT-stage request for 'addr' in 'buf'. */
static size_t rcpt_request(char *buf, size_t size, const char *addr, const char *instance)
{
	int n = snprintf(buf, size,
			 "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
			 "client_address=%s\nclient_name=unknown\nhelo_name=test.example\n"
			 "sender=a@example.net\nrecipient=b@example.org\nrecipient_count=0\n"
			 "instance=%s\nsize=0\nqueue_id=\n\n", addr, instance);

	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n;
}

/* Sends one request and checks the answer against 'want'. */
static void ask(struct client *c, const char *addr, const char *instance, const char *want)
{
	char req[1024], got[1024];
	int rc;

	client_send(c, req, rcpt_request(req, sizeof(req), addr, instance));
	rc = client_answer(c, got, sizeof(got));
	if (rc != 1)
		fail_msg("answer for %s: got %s, want \"%s\"", addr,
			 rc == 0 ? "EOF" : "timeout/error", want);
	if (strcmp(got, want) != 0)
		fail_msg("answer for %s: got \"%s\", want \"%s\"", addr, got, want);
}

#define DEFER_7 "action=451 4.7.500 new sender on probation: allowance for this hour used, " \
	"retry after 600 s [198.18.0.7] (AS101)"

static void persistent_connection(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	struct mxt_policy_stats st;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	ask(&c, "198.18.0.7", "1.1", DEFER_7);
	ask(&c, "198.18.0.8", "1.2", "action=DUNNO");
	ask(&c, "2001:2::7", "1.3", "action=DUNNO");
	ask(&c, "198.18.0.99", "1.4", "action=DUNNO"); /* decide() fails: fail open */
	ask(&c, "198.18.0.7", "1.5", DEFER_7);
	client_close(&c);
	st = stats_of(&f);
	if (st.requests != 5 || st.answers[MXT_POLICY_ANSWER_DEFER] != 2 ||
	    st.answers[MXT_POLICY_ANSWER_DUNNO] != 3 || st.decide_errors != 1)
		fail_msg("stats: got requests %llu defer %llu dunno %llu decide_errors %llu, "
			 "want 5 2 3 1", (unsigned long long)st.requests,
			 (unsigned long long)st.answers[MXT_POLICY_ANSWER_DEFER],
			 (unsigned long long)st.answers[MXT_POLICY_ANSWER_DUNNO],
			 (unsigned long long)st.decide_errors);
	if (st.conn_accepted != 1)
		fail_msg("conn_accepted: got %llu, want 1", (unsigned long long)st.conn_accepted);
	fixture_stop(&f);
}

static void pipelined_requests_answered_in_order(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	char buf[8192], got[1024];
	size_t n = 0;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	/* 12 requests in one write. */
	for (int i = 0; i < 12; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "198.18.0.%d", i + 1);
		n += rcpt_request(buf + n, sizeof(buf) - n, addr, "p");
	}
	client_send(&c, buf, n);
	for (int i = 0; i < 12; i++) {
		char want[512];

		if (client_answer(&c, got, sizeof(got)) != 1)
			fail_msg("pipelined answer %d: got none, want one", i);
		if ((i + 1) & 1)
			snprintf(want, sizeof(want), "action=451 4.7.500 new sender on probation: "
				 "allowance for this hour used, retry after 600 s [198.18.0.%d] (AS101)",
				 i + 1);
		else
			snprintf(want, sizeof(want), "action=DUNNO");
		if (strcmp(got, want) != 0)
			fail_msg("pipelined answer %d: got \"%s\", want \"%s\"", i, got, want);
	}
	client_close(&c);
	fixture_stop(&f);
}

/* Minimal deferring requests in one write: one 2 KiB read yields more
 * answers than the output buffer takes, the socket then takes them all at
 * once, and the rest of the read must still be processed without a new
 * read event. */
static void pipelined_answers_overflow_one_buffer(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	char *buf = malloc(65536), got[512], want[64];
	size_t n = 0;

	(void)state;
	assert_non_null(buf);
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	for (int i = 0; i < 400; i++)
		n += (size_t)sprintf(buf + n, "request=smtpd_access_policy\nclient_address=198.18.%d.%d\n\n",
				     1 + i / 128, (i % 128) * 2 + 1);
	client_send(&c, buf, n);
	for (int i = 0; i < 400; i++) {
		if (client_answer(&c, got, sizeof(got)) != 1)
			fail_msg("answer %d of 400: got none, want one", i);
		snprintf(want, sizeof(want), "[198.18.%d.%d] (AS101)", 1 + i / 128, (i % 128) * 2 + 1);
		if (!strstr(got, want))
			fail_msg("answer %d: got \"%s\", want one ending %s", i, got, want);
	}
	client_close(&c);
	free(buf);
	fixture_stop(&f);
}

/* Sends 'n' pipelined requests on a client, for the flood test. */
struct flood {
	struct client *c;
	int n;
	int sent;
};

static void *flood_sender(void *arg)
{
	struct flood *fl = arg;
	char buf[65536];
	size_t len = 0;

	for (int i = 0; i < fl->n; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "198.18.%d.%d", 1 + (i >> 8 & 0x3f), i & 0xff);
		len += rcpt_request(buf + len, sizeof(buf) - len, addr, "f");
		if (len > sizeof(buf) - 1024 || i == fl->n - 1) {
			const char *p = buf;

			while (len > 0) {
				ssize_t w = send(fl->c->fd, p, len, MSG_NOSIGNAL);

				if (w <= 0)
					return NULL;
				p += w;
				len -= (size_t)w;
			}
		}
		fl->sent = i + 1;
	}
	/* Half-close with thousands of answers still queued: they must all
	 * still be delivered before the server closes. */
	shutdown(fl->c->fd, SHUT_WR);
	return NULL;
}

/* A client that writes a flood of requests before reading any answer, then
 * half-closes: the server's writes hit EAGAIN, its output buffer fills, it
 * stops reading (back-pressure) and then resumes; every answer arrives, in
 * order, and only then does the server close. */
static void pipelined_flood_with_back_pressure(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	struct flood fl = { .c = &c, .n = 6000 };
	struct mxt_policy_stats st;
	pthread_t th;
	char got[1024], want[64];

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	assert_int_equal(pthread_create(&th, NULL, flood_sender, &fl), 0);
	sleep_ms(300); /* let every buffer on the way fill up */
	st = stats_of(&f);
	if (st.requests >= (uint64_t)fl.n)
		fail_msg("before reading: got %llu requests handled, want fewer than %d "
			 "(back-pressure)", (unsigned long long)st.requests, fl.n);
	for (int i = 0; i < fl.n; i++) {
		if (client_answer(&c, got, sizeof(got)) != 1)
			fail_msg("flood answer %d: got none, want one", i);
		if (i & 1)
			snprintf(want, sizeof(want), "[198.18.%d.%d] (AS101)", 1 + (i >> 8 & 0x3f),
				 i & 0xff);
		else
			snprintf(want, sizeof(want), "action=DUNNO");
		if (!strstr(got, want))
			fail_msg("flood answer %d: got \"%s\", want one with \"%s\"", i, got, want);
	}
	pthread_join(th, NULL);
	if (!client_sees_close(&c))
		fail_msg("after the last answer to a half-closed client: got open, want EOF");
	st = stats_of(&f);
	if (st.requests != (uint64_t)fl.n || st.protocol_errors || st.io_errors)
		fail_msg("stats: got requests %llu errors %llu/%llu, want %d 0/0",
			 (unsigned long long)st.requests, (unsigned long long)st.protocol_errors,
			 (unsigned long long)st.io_errors, fl.n);
	client_close(&c);
	fixture_stop(&f);
}

static void malformed_request_closes_only_its_connection(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client bad, good;
	struct mxt_policy_stats st;
	char got[256];

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&good, &f);
	client_open(&bad, &f);
	ask(&good, "198.18.0.7", "g1", DEFER_7);
	SEND_LIT(&bad, "request=smtpd_access_policy\nno equals sign here\n\n");
	if (client_answer(&bad, got, sizeof(got)) != 0)
		fail_msg("malformed request: got an answer \"%s\", want EOF and no answer", got);
	ask(&good, "198.18.0.7", "g2", DEFER_7);
	ask(&good, "198.18.0.10", "g3", "action=DUNNO");
	st = stats_of(&f);
	if (st.protocol_errors != 1 || st.perr[MXT_POLICY_PERR_NO_EQUALS] != 1)
		fail_msg("protocol_errors: got %llu (no-equals %llu), want 1 (1)",
			 (unsigned long long)st.protocol_errors,
			 (unsigned long long)st.perr[MXT_POLICY_PERR_NO_EQUALS]);
	pthread_mutex_lock(&f.log_lock);
	if (!strstr(f.last_log, "PROTOCOL-ERROR") || !strstr(f.last_log, "reason=no-equals"))
		fail_msg("log: got \"%s\", want a PROTOCOL-ERROR reason=no-equals line", f.last_log);
	pthread_mutex_unlock(&f.log_lock);

	/* NUL byte and bad address close too; the good connection lives on. */
	client_close(&bad);
	client_open(&bad, &f);
	SEND_LIT(&bad, "request=smtpd_access_policy\nclient_address=1.2.3\n\n");
	if (!client_sees_close(&bad))
		fail_msg("bad client_address: got the connection open, want it closed");
	client_close(&bad);
	client_open(&bad, &f);
	SEND_LIT(&bad, "request=smtpd\0access\n\n");
	if (!client_sees_close(&bad))
		fail_msg("NUL byte: got the connection open, want it closed");
	ask(&good, "198.18.0.12", "g4", "action=DUNNO");
	client_close(&bad);
	client_close(&good);
	fixture_stop(&f);
}

static void two_hundred_concurrent_connections(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client *cs = calloc(200, sizeof(*cs));
	struct mxt_policy_stats st;

	(void)state;
	assert_non_null(cs);
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	for (int i = 0; i < 200; i++)
		client_open(&cs[i], &f);
	/* Every client sends before any reads: all 200 are in flight at once. */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 200; i++) {
			char req[1024], addr[32];

			snprintf(addr, sizeof(addr), "198.18.%d.%d", i / 100 + 1, (i % 100) * 2 + 1);
			client_send(&cs[i], req, rcpt_request(req, sizeof(req), addr, "c"));
		}
		for (int i = 0; i < 200; i++) {
			char got[1024], want[512];

			if (client_answer(&cs[i], got, sizeof(got)) != 1)
				fail_msg("client %d round %d: got no answer, want one", i, round);
			snprintf(want, sizeof(want), "[198.18.%d.%d] (AS101)", i / 100 + 1,
				 (i % 100) * 2 + 1);
			if (strncmp(got, "action=451 4.7.500 ", 19) != 0 || !strstr(got, want))
				fail_msg("client %d: got \"%s\", want a 451 ending %s", i, got, want);
		}
	}
	st = stats_of(&f);
	if (st.conn_active != 200 || st.requests != 400)
		fail_msg("stats: got active %llu requests %llu, want 200 400",
			 (unsigned long long)st.conn_active, (unsigned long long)st.requests);
	for (int i = 0; i < 200; i++)
		client_close(&cs[i]);
	free(cs);
	fixture_stop(&f);
}

/* Long lines the decision does not read are cut and a request over 8 KiB
 * is still answered; a decision attribute's over-long line is refused at
 * once, without waiting for its end. */
static void oversized_requests(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c, good;
	struct mxt_policy_stats st;
	char *big = malloc(20000), got[1024];
	size_t n;

	(void)state;
	assert_non_null(big);
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&good, &f);

	/* A 600-byte protocol_state line, no newline ever: refused at once. */
	client_open(&c, &f);
	n = (size_t)sprintf(big, "request=smtpd_access_policy\nprotocol_state=");
	memset(big + n, 'h', 600);
	client_send(&c, big, n + 600);
	if (!client_sees_close(&c))
		fail_msg("600-byte protocol_state: got the connection open, want it closed");
	client_close(&c);

	/* 12 KiB of lines the decision does not read: answered. */
	client_open(&c, &f);
	n = (size_t)sprintf(big, "request=smtpd_access_policy\nprotocol_state=RCPT\n");
	for (int i = 0; i < 40; i++) {
		n += (size_t)sprintf(big + n, "x%02d=", i);
		memset(big + n, 'v', 300);
		n += 300;
		big[n++] = '\n';
	}
	n += (size_t)sprintf(big + n, "client_address=198.18.0.7\n\n");
	client_send(&c, big, n);
	if (client_answer(&c, got, sizeof(got)) != 1 || strcmp(got, DEFER_7) != 0)
		fail_msg("12 KiB request: got \"%s\", want \"%s\"", got, DEFER_7);
	client_close(&c);

	ask(&good, "198.18.0.7", "o1", DEFER_7);
	st = stats_of(&f);
	if (st.perr[MXT_POLICY_PERR_LINE_TOO_LONG] != 1 || st.requests_oversized != 1)
		fail_msg("stats: got line-too-long %llu oversized %llu, want 1 1",
			 (unsigned long long)st.perr[MXT_POLICY_PERR_LINE_TOO_LONG],
			 (unsigned long long)st.requests_oversized);
	client_close(&good);
	free(big);
	fixture_stop(&f);
}

static void stalled_client_does_not_block_others(void **state)
{
	/* Generous timeouts: the test must not flake on a loaded CI machine. */
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE,
		.request_timeout_ms = 1500, .idle_timeout_ms = 2500 };
	struct fixture f;
	struct client stalled, idle, good;
	struct mxt_policy_stats st;
	char req[1024], got[512];
	size_t n;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&stalled, &f);
	client_open(&idle, &f);
	client_open(&good, &f);
	n = rcpt_request(req, sizeof(req), "198.18.0.7", "s");
	client_send(&stalled, req, n / 2);
	for (int i = 0; i < 20; i++)
		ask(&good, "198.18.0.9", "x", "action=451 4.7.500 new sender on probation: "
		    "allowance for this hour used, retry after 600 s [198.18.0.9] (AS101)");
	/* The stalled client finishes in time and is answered. */
	client_send(&stalled, req + n / 2, n - n / 2);
	if (client_answer(&stalled, got, sizeof(got)) != 1 || strcmp(got, DEFER_7) != 0)
		fail_msg("late half: got \"%s\", want \"%s\"", got, DEFER_7);
	/* Stalling past request_timeout closes it. */
	client_send(&stalled, req, n / 2);
	if (!client_sees_close(&stalled))
		fail_msg("stalled past request_timeout: got open, want closed");
	/* And a silent connection goes after idle_timeout (> request timeout). */
	if (!client_sees_close(&idle))
		fail_msg("idle past idle_timeout: got open, want closed");
	st = stats_of(&f);
	if (st.conn_deadline_closed != 1 || st.conn_idle_closed < 1)
		fail_msg("timeouts: got deadline %llu idle %llu, want 1 and >= 1 (the good one "
			 "may also idle out)", (unsigned long long)st.conn_deadline_closed,
			 (unsigned long long)st.conn_idle_closed);
	client_close(&stalled);
	client_close(&idle);
	client_close(&good);
	fixture_stop(&f);
}

/* Exim's ${readsocket} writes the request, shuts down its write side and
 * reads until EOF: it must still get the answer. */
static void half_close_still_gets_answer(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	char req[1024], got[512];

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	client_send(&c, req, rcpt_request(req, sizeof(req), "198.18.0.7", "e"));
	shutdown(c.fd, SHUT_WR);
	if (client_answer(&c, got, sizeof(got)) != 1 || strcmp(got, DEFER_7) != 0)
		fail_msg("after SHUT_WR: got \"%s\", want \"%s\"", got, DEFER_7);
	if (!client_sees_close(&c))
		fail_msg("after the answer: got open, want EOF");
	client_close(&c);
	fixture_stop(&f);
}

/* A full table closes its longest-idle connection for a new one. */
static void connection_limit_evicts_the_oldest_idle(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE, .max_conn = 4 };
	struct fixture f;
	struct client cs[5];
	struct mxt_policy_stats st;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	for (int i = 0; i < 4; i++) {
		client_open(&cs[i], &f);
		ask(&cs[i], "198.18.0.8", "l", "action=DUNNO");
	}
	/* cs[0] is now the longest idle: it made its request first. */
	for (int i = 1; i < 4; i++)
		ask(&cs[i], "198.18.0.8", "l", "action=DUNNO");
	client_open(&cs[4], &f);
	ask(&cs[4], "198.18.0.7", "l", DEFER_7);
	if (!client_sees_close(&cs[0]))
		fail_msg("longest idle with max_conn 4: got open, want closed");
	for (int i = 1; i < 5; i++)
		ask(&cs[i], "198.18.0.7", "l", DEFER_7);
	st = stats_of(&f);
	if (st.conn_evicted != 1 || st.conn_refused != 0 || st.conn_active != 4)
		fail_msg("stats: got evicted %llu refused %llu active %llu, want 1 0 4",
			 (unsigned long long)st.conn_evicted, (unsigned long long)st.conn_refused,
			 (unsigned long long)st.conn_active);
	for (int i = 0; i < 5; i++)
		client_close(&cs[i]);
	fixture_stop(&f);
}

/* Hole 3 (issue 9): a table full of idle connections must not lock out a
 * new client: the oldest idle one is closed to admit it. */
static void full_table_admits_a_new_client(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE, .max_conn = 8 };
	struct fixture f;
	struct client idle[8], tr[8], fresh;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	/* Eight idle connections fill the table (each answered once, so the
	 * server has surely accepted it). */
	for (int i = 0; i < 8; i++) {
		client_open(&idle[i], &f);
		ask(&idle[i], "198.18.0.8", "f", "action=DUNNO");
	}
	client_open(&fresh, &f);
	ask(&fresh, "198.18.0.7", "f1", DEFER_7);
	/* The oldest idle connection made room. */
	if (!client_sees_close(&idle[0]))
		fail_msg("oldest idle connection: got open, want closed to admit a new client");
	ask(&idle[7], "198.18.0.7", "f2", DEFER_7);
	/* Tricklers holding half a request in every slot: a new client still
	 * gets in (the one whose request began first goes). */
	for (int i = 0; i < 8; i++)
		client_close(&idle[i]);
	client_close(&fresh);
	sleep_ms(100);
	for (int i = 0; i < 8; i++) {
		client_open(&tr[i], &f);
		SEND_LIT(&tr[i], "request=smtpd_access_policy\nhelo_name=slow");
	}
	client_open(&fresh, &f);
	ask(&fresh, "198.18.0.7", "f3", DEFER_7);
	{
		int closed = 0;

		/* The victim was closed before the new client was read. */
		for (int i = 0; i < 8; i++) {
			char b;
			ssize_t r = recv(tr[i].fd, &b, 1, MSG_DONTWAIT);

			/* A reset when the server closed with our bytes unread. */
			if (r == 0 || (r < 0 && errno == ECONNRESET))
				closed++;
		}
		if (closed != 1)
			fail_msg("tricklers closed: got %d, want 1 (to admit a new client)", closed);
	}
	{
		struct mxt_policy_stats st = stats_of(&f);

		if (st.conn_evicted != 2 || st.conn_refused != 0)
			fail_msg("stats: got evicted %llu refused %llu, want 2 0",
				 (unsigned long long)st.conn_evicted,
				 (unsigned long long)st.conn_refused);
	}
	for (int i = 0; i < 8; i++)
		client_close(&tr[i]);
	client_close(&fresh);
	fixture_stop(&f);
}

/* Hole 3: a client sending one byte at a time, well within the request
 * timeout each time, is closed at the request's absolute deadline. */
static void trickler_closed_at_the_deadline(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE,
		.request_timeout_ms = 1000, .idle_timeout_ms = 60000 };
	struct fixture f;
	struct client c;
	char req[1024];
	size_t n, i;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	n = rcpt_request(req, sizeof(req), "198.18.0.7", "t");
	/* 200 ms a byte: the whole request would take n / 5 seconds (> 60),
	 * the deadline is 1 s after the first byte. */
	for (i = 0; i < n; i++) {
		if (send(c.fd, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		sleep_ms(200);
		if (i > 0 && i % 5 == 0) {
			char b;

			if (recv(c.fd, &b, 1, MSG_DONTWAIT) == 0)
				break; /* closed */
		}
	}
	if (i >= n)
		fail_msg("trickler: got the whole request in over %zu s, want closed after 1 s",
			 n / 5);
	if (stats_of(&f).conn_deadline_closed != 1)
		fail_msg("conn_deadline_closed: got %llu, want 1",
			 (unsigned long long)stats_of(&f).conn_deadline_closed);
	client_close(&c);
	fixture_stop(&f);
}

/* Hole 4: a graylisted client with a 2000-byte EHLO name still gets its
 * 451 (it used to get no answer, and Postfix's default_action let it in). */
static void long_helo_still_deferred(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	char *big = malloc(8192), got[1024];
	size_t n;

	(void)state;
	assert_non_null(big);
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	n = (size_t)sprintf(big, "request=smtpd_access_policy\nprotocol_state=RCPT\nhelo_name=");
	memset(big + n, 'h', 2000);
	n += 2000;
	n += (size_t)sprintf(big + n, "\nsender=");
	memset(big + n, 's', 2000);
	n += 2000;
	n += (size_t)sprintf(big + n, "@example.net\nclient_address=198.18.0.7\ninstance=h1\n\n");
	client_send(&c, big, n);
	if (client_answer(&c, got, sizeof(got)) != 1)
		fail_msg("2000-byte helo_name: got no answer, want \"%s\"", DEFER_7);
	if (strcmp(got, DEFER_7) != 0)
		fail_msg("2000-byte helo_name: got \"%s\", want \"%s\"", got, DEFER_7);
	/* The connection stays usable. */
	ask(&c, "198.18.0.7", "h2", DEFER_7);
	client_close(&c);
	free(big);
	fixture_stop(&f);
}

static void monitor_mode_prepends_once_per_transaction(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_MONITOR };
	struct fixture f;
	struct client c;
	struct mxt_policy_stats st;
	const char *prepend = "action=PREPEND X-Mxthrottle: would-defer 4.7.500 (AS101) new sender "
			      "on probation: allowance for this hour used, retry after 600 s "
			      "[198.18.0.7]";

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	ask(&c, "198.18.0.7", "m1", prepend);
	ask(&c, "198.18.0.7", "m1", "action=DUNNO"); /* 2nd recipient: no 2nd header */
	ask(&c, "198.18.0.7", "m2", prepend);
	assert_int_equal(mxt_policy_server_set_mode(f.srv, MXT_MODE_ENFORCE), 0);
	ask(&c, "198.18.0.7", "m3", DEFER_7);
	assert_int_equal(mxt_policy_server_set_mode(f.srv, 5), -EINVAL);
	st = stats_of(&f);
	if (st.answers[MXT_POLICY_ANSWER_PREPEND] != 2 || st.prepend_suppressed != 1)
		fail_msg("stats: got prepend %llu suppressed %llu, want 2 1",
			 (unsigned long long)st.answers[MXT_POLICY_ANSWER_PREPEND],
			 (unsigned long long)st.prepend_suppressed);
	client_close(&c);
	fixture_stop(&f);
}

static void requests_without_client_skip_the_model(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct fixture f;
	struct client c;
	char got[256];
	struct mxt_policy_stats st;

	(void)state;
	fixture_dir(&f);
	fixture_start(&f, &cfg);
	client_open(&c, &f);
	SEND_LIT(&c, "request=smtpd_access_policy\nclient_address=\n\n");
	assert_int_equal(client_answer(&c, got, sizeof(got)), 1);
	assert_string_equal(got, "action=DUNNO");
	SEND_LIT(&c, "request=other_policy\nclient_address=198.18.0.7\n\n");
	assert_int_equal(client_answer(&c, got, sizeof(got)), 1);
	assert_string_equal(got, "action=DUNNO");
	st = stats_of(&f);
	if (st.skipped != 2 || __atomic_load_n(&f.decide_calls, __ATOMIC_RELAXED) != 0)
		fail_msg("got skipped %llu decide calls %d, want 2 0", (unsigned long long)st.skipped,
			 f.decide_calls);
	client_close(&c);
	fixture_stop(&f);
}

static void unix_socket_safety(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct mxt_policy_server *other = NULL;
	struct fixture f;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	char spec[160];
	int fd, rc;

	(void)state;
	fixture_dir(&f);
	snprintf(spec, sizeof(spec), "unix:%s", f.path);

	/* A regular file at the path is never removed. */
	fd = open(f.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	cfg.listen[0] = spec;
	cfg.decide = stub_decide;
	cfg.decide_ctx = &f;
	rc = mxt_policy_server_create(&cfg, &other);
	if (rc != -EEXIST || other)
		fail_msg("regular file at path: got %d, want -EEXIST", rc);
	if (stat(f.path, &st) != 0 || !S_ISREG(st.st_mode))
		fail_msg("regular file at path: got it removed, want it kept");
	unlink(f.path);

	/* A stale socket (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f.path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	fixture_start(&f, &cfg);
	if (stat(f.path, &st) != 0 || !S_ISSOCK(st.st_mode))
		fail_msg("stale socket: got no socket, want a fresh one");
	if ((st.st_mode & 07777) != 0660)
		fail_msg("socket mode: got %04o, want 0660", (unsigned)(st.st_mode & 07777));

	/* A live server at the path is left alone. */
	rc = mxt_policy_server_create(&cfg, &other);
	if (rc != -EADDRINUSE || other)
		fail_msg("live server at path: got %d, want -EADDRINUSE", rc);
	{
		struct client c;

		client_open(&c, &f);
		ask(&c, "198.18.0.7", "u", DEFER_7);
		client_close(&c);
	}
	/* Too permissive a mode is refused. */
	{
		struct mxt_policy_server_config bad = cfg;

		bad.socket_mode = 0666;
		if (mxt_policy_server_create(&bad, &other) != -EINVAL)
			fail_msg("socket_mode 0666: got accepted, want -EINVAL");
	}
	assert_int_equal(mxt_policy_server_stop(f.srv), 0);
	pthread_join(f.thread, NULL);
	f.running = 0;
	mxt_policy_server_destroy(f.srv);
	f.srv = NULL;
	if (lstat(f.path, &st) == 0)
		fail_msg("after destroy: got the socket still there, want it removed");
	fixture_stop(&f);
}

static void inet_listener_and_endpoints(void **state)
{
	struct mxt_policy_server_config cfg = { .mode = MXT_MODE_ENFORCE };
	struct mxt_policy_endpoint ep;
	struct fixture f;
	struct client c;
	char unix_spec[160], ep_str[160];

	(void)state;
	fixture_dir(&f);
	snprintf(unix_spec, sizeof(unix_spec), "unix:%s", f.path);
	cfg.listen[0] = "inet:127.0.0.1:0";
	cfg.listen[1] = unix_spec;
	fixture_start(&f, &cfg);
	assert_int_equal(mxt_policy_server_endpoint(f.srv, 0, ep_str, sizeof(ep_str)), 0);
	if (strncmp(ep_str, "inet:127.0.0.1:", 15) != 0 || strcmp(ep_str, "inet:127.0.0.1:0") == 0)
		fail_msg("inet endpoint: got \"%s\", want inet:127.0.0.1:<port>", ep_str);
	client_open_spec(&c, ep_str);
	ask(&c, "198.18.0.7", "i", DEFER_7);
	client_close(&c);
	assert_int_equal(mxt_policy_server_endpoint(f.srv, 1, ep_str, sizeof(ep_str)), 0);
	assert_string_equal(ep_str, unix_spec);
	assert_int_equal(mxt_policy_server_endpoint(f.srv, 2, ep_str, sizeof(ep_str)), -ENOENT);
	fixture_stop(&f);

	assert_int_equal(mxt_policy_endpoint_parse("inet:[::1]:10031", &ep), 0);
	assert_int_equal(ep.family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ep.addr)->sin6_port), 10031);
	assert_int_equal(mxt_policy_endpoint_parse("127.0.0.1:10023", &ep), 0);
	assert_int_equal(ep.family, AF_INET);
	assert_int_equal(mxt_policy_endpoint_parse("/run/mxthrottle/policy.sock", &ep), 0);
	assert_int_equal(ep.family, AF_UNIX);
	assert_string_equal(ep.path, "/run/mxthrottle/policy.sock");
	{
		static const char *const bad[] = {
			"inet:127.0.0.1", "inet::25", "inet:127.0.0.1:65536", "inet:127.0.0.1:x",
			"inet:::1:25", "unix:", "inet:[::1]25", "",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (mxt_policy_endpoint_parse(bad[i], &ep) == 0)
				fail_msg("endpoint \"%s\": got accepted, want an error", bad[i]);
	}
}

static struct mxt_policy_server *serve_srv;

/* SIGINT/SIGTERM/SIGALRM in --serve mode. */
static void serve_signal(int sig)
{
	(void)sig;
	mxt_policy_server_stop(serve_srv); /* async-signal-safe */
}

/* The harness: a server with the stub model, outside cmocka. */
static int serve(const char *spec, unsigned seconds, int mode)
{
	struct mxt_policy_server_config cfg = { .mode = mode };
	struct mxt_policy_stats st;
	struct fixture f;
	char ep[160];
	int rc;

	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.log_lock, NULL);
	cfg.listen[0] = spec;
	cfg.decide = stub_decide;
	cfg.decide_ctx = &f;
	rc = mxt_policy_server_create(&cfg, &serve_srv);
	if (rc) {
		fprintf(stderr, "serve %s: %s\n", spec, strerror(-rc));
		return 1;
	}
	mxt_policy_server_endpoint(serve_srv, 0, ep, sizeof(ep));
	printf("serving %s\n", ep);
	fflush(stdout);
	signal(SIGINT, serve_signal);
	signal(SIGTERM, serve_signal);
	signal(SIGALRM, serve_signal);
	if (seconds)
		alarm(seconds);
	rc = mxt_policy_server_run(serve_srv);
	mxt_policy_server_stats(serve_srv, &st);
	printf("requests %llu defer %llu dunno %llu protocol_errors %llu conn_accepted %llu "
	       "idle_closed %llu deadline_closed %llu evicted %llu refused %llu\n",
	       (unsigned long long)st.requests,
	       (unsigned long long)st.answers[MXT_POLICY_ANSWER_DEFER],
	       (unsigned long long)st.answers[MXT_POLICY_ANSWER_DUNNO],
	       (unsigned long long)st.protocol_errors, (unsigned long long)st.conn_accepted,
	       (unsigned long long)st.conn_idle_closed, (unsigned long long)st.conn_deadline_closed,
	       (unsigned long long)st.conn_evicted, (unsigned long long)st.conn_refused);
	mxt_policy_server_destroy(serve_srv);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(persistent_connection),
		cmocka_unit_test(pipelined_requests_answered_in_order),
		cmocka_unit_test(pipelined_answers_overflow_one_buffer),
		cmocka_unit_test(pipelined_flood_with_back_pressure),
		cmocka_unit_test(malformed_request_closes_only_its_connection),
		cmocka_unit_test(two_hundred_concurrent_connections),
		cmocka_unit_test(oversized_requests),
		cmocka_unit_test(stalled_client_does_not_block_others),
		cmocka_unit_test(half_close_still_gets_answer),
		cmocka_unit_test(connection_limit_evicts_the_oldest_idle),
		cmocka_unit_test(monitor_mode_prepends_once_per_transaction),
		cmocka_unit_test(requests_without_client_skip_the_model),
		cmocka_unit_test(unix_socket_safety),
		cmocka_unit_test(inet_listener_and_endpoints),
		cmocka_unit_test(full_table_admits_a_new_client),
		cmocka_unit_test(trickler_closed_at_the_deadline),
		cmocka_unit_test(long_helo_still_deferred),
	};

	if (argc >= 3 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2], argc >= 4 ? (unsigned)strtoul(argv[3], NULL, 10) : 0,
			     argc >= 5 && strcmp(argv[4], "monitor") == 0 ? MXT_MODE_MONITOR :
			     MXT_MODE_ENFORCE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
