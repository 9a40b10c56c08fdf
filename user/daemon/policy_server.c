/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_server.c - non-blocking epoll server for the Postfix policy
 * delegation protocol (see policy_server.h for the contract).
 *
 * Shape: one epoll set holding the listeners, an eventfd for stop(), and
 * the connections, level-triggered.  Each readiness event does at most one
 * read() of MXT_POLICY_SRV_INBUF bytes per connection, so a peer that
 * floods cannot starve the others; answers go to a per-connection output
 * buffer that is written at once and, on EAGAIN, under EPOLLOUT.  Input is
 * only taken from a connection while its output buffer has room for one
 * more answer: that is the whole back-pressure scheme.  Timeouts are a sweep
 * over the connection table a few times per timeout period (O(max_conn)
 * pointer reads, cheaper than a timer wheel at these sizes).
 *
 * Every connection is on one of two lists, so that admitting a connection
 * into a full table picks its victim in O(1): the idle list (nothing
 * pending), in the order they became idle, and the busy list, in the order
 * their pending request started.  The head of the idle list, else the head
 * of the busy list (the request nearest its deadline), is evicted.
 *
 * epoll_event.data carries (generation << 32 | slot) so that an event
 * queued for a connection closed earlier in the same batch cannot act on a
 * new connection that reused its slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mxt_abi.h"
#include "policy_server.h"

#define TAG_CONN     0u
#define TAG_LISTENER 1u
#define TAG_STOP     2u
#define ACCEPT_BATCH 64          /* accepts per listener event */
#define EVENT_BATCH  256
#define PAUSE_MS     100         /* listener pause after EMFILE and friends */

/* Relaxed counter updates: one writer (the loop), readers anywhere. */
#define STAT_ADD(s, field, n) \
	__atomic_store_n(&(s)->field, __atomic_load_n(&(s)->field, __ATOMIC_RELAXED) + (n), \
			 __ATOMIC_RELAXED)
#define STAT_INC(s, field) STAT_ADD(s, field, 1)

/* One listening socket. */
struct listener {
	int fd;
	struct mxt_policy_endpoint ep;
	int paused;                  /* EPOLLIN removed after an accept failure */
	uint64_t resume_ms;
	int unlink_on_close;         /* a unix socket we created */
	dev_t dev;                   /* its identity, to unlink only our own */
	ino_t ino;
};

enum { LRU_IDLE, LRU_BUSY, LRU_MAX };

/* One client connection. */
struct conn {
	int fd;
	uint32_t slot;
	uint32_t gen;
	uint32_t events;             /* epoll interest now registered */
	int eof;                     /* peer shut down its write side */
	int lru;                     /* LRU_IDLE or LRU_BUSY: the list it is on */
	struct conn *prev, *next;    /* on that list */
	uint64_t last_ms;            /* last read or write progress */
	uint64_t req_start_ms;       /* the pending request's first byte, 0: none pending */
	char peer[64];               /* for logs */
	char last_prepend[MXT_POLICY_TOKEN_LEN]; /* instance of the last PREPEND sent */
	uint32_t in_off, in_len;
	uint32_t out_off, out_len;
	char in[MXT_POLICY_SRV_INBUF];
	char out[MXT_POLICY_SRV_OUTBUF];
	struct mxt_policy_parser parser;
};

struct mxt_policy_server {
	int epfd;
	int stopfd;                  /* eventfd */
	int stopping;
	int mode;                    /* atomic */
	unsigned max_conn;
	unsigned idle_ms, request_ms, sweep_ms;
	unsigned socket_mode;
	int socket_gid_set;
	gid_t socket_gid;
	struct mxt_policy_limits limits;
	mxt_policy_decide_fn decide;
	void *decide_ctx;
	mxt_policy_log_fn log;
	void *log_ctx;
	unsigned nlisteners;
	struct listener listeners[MXT_POLICY_LISTEN_MAX];
	struct conn **conns;         /* [max_conn] */
	struct conn *lru_head[LRU_MAX], *lru_tail[LRU_MAX]; /* eviction order, oldest first */
	uint32_t *free_slots;        /* stack of free slot numbers */
	unsigned nfree;
	uint32_t next_gen;
	uint64_t now_ms;
	uint64_t next_sweep_ms;
	uint64_t last_limit_log_ms;  /* rate limit for CONN-EVICT / ACCEPT-ERROR */
	struct mxt_policy_stats stats;
};

/* Monotonic milliseconds. */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sends one formatted line to the log callback, or to the project logger. */
__attribute__((format(printf, 3, 4)))
static void slog(struct mxt_policy_server *s, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->log) {
		s->log(s->log_ctx, level, msg);
		return;
	}
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		mxt_log_errorx("%s", msg);
		break;
	case LOG_WARNING:
		mxt_log_warnx("%s", msg);
		break;
	case LOG_DEBUG:
		mxt_log_debug("%s", msg);
		break;
	default:
		mxt_log_info("%s", msg);
	}
}

/* epoll data for an object. */
static uint64_t ev_data(uint32_t tag, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)gen << 32) | ((uint64_t)tag << 28) | (idx & 0x0fffffffu);
}

/* ------------------------------------------------------------------ */
/* Endpoints                                                           */

/* Parses a decimal port 0..65535. */
static int parse_port(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);
	unsigned long v = 0;

	if (n == 0 || n > 5 || n >= size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	memcpy(out, s, n + 1);
	return 0;
}

/* Parses an endpoint specification; see policy_server.h. */
int mxt_policy_endpoint_parse(const char *spec, struct mxt_policy_endpoint *ep)
{
	char host[256], port[8];
	const char *hp, *colon;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (!spec || !ep)
		return -EINVAL;
	memset(ep, 0, sizeof(*ep));
	if (strncmp(spec, "unix:", 5) == 0 || spec[0] == '/') {
		const char *path = spec[0] == '/' ? spec : spec + 5;
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;
		size_t n = strlen(path);

		if (n == 0)
			return -EINVAL;
		if (n >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, n + 1);
		memcpy(ep->path, path, n + 1);
		ep->family = AF_UNIX;
		ep->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		return 0;
	}
	hp = strncmp(spec, "inet:", 5) == 0 ? spec + 5 : spec;
	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (!close || close[1] != ':' || (size_t)(close - hp - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, hp + 1, (size_t)(close - hp - 1));
		host[close - hp - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || (size_t)(colon - hp) >= sizeof(host))
			return -EINVAL;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		if (strchr(host, ':'))
			return -EINVAL; /* bare IPv6 needs brackets */
	}
	if (host[0] == '\0')
		return -EINVAL;
	if (parse_port(colon + 1, port, sizeof(port)))
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res)
		return -EADDRNOTAVAIL;
	if (res->ai_addrlen > sizeof(ep->addr)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
	ep->addrlen = res->ai_addrlen;
	ep->family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

/* Writes "inet:1.2.3.4:25" / "inet:[::1]:25" / "unix:/p" for an address. */
static int format_sockaddr(const struct sockaddr_storage *ss, const char *path, char *buf,
			   size_t size)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	switch (ss->ss_family) {
	case AF_UNIX:
		n = snprintf(buf, size, "unix:%s", path);
		break;
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		n = snprintf(buf, size, "inet:%s:%u", a, ntohs(sin->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		n = snprintf(buf, size, "inet:[%s]:%u", a, ntohs(sin6->sin6_port));
		break;
	}
	default:
		n = snprintf(buf, size, "unknown");
	}
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return 0;
}

/* Listener 'i' as a string. */
int mxt_policy_server_endpoint(const struct mxt_policy_server *srv, unsigned i, char *buf,
			       size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!srv || i >= srv->nlisteners)
		return -ENOENT;
	if (srv->listeners[i].ep.family == AF_UNIX)
		return format_sockaddr(&srv->listeners[i].ep.addr, srv->listeners[i].ep.path,
				       buf, size);
	memset(&ss, 0, sizeof(ss));
	if (getsockname(srv->listeners[i].fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return format_sockaddr(&ss, NULL, buf, size);
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */

/* Refuses to create a socket in a world-writable, non-sticky directory,
 * where someone else could swap the path under us. */
static int check_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	if (stat(dir, &st) < 0)
		return -errno;
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return -EPERM;
	return 0;
}

/* Removes a stale unix socket at 'path': only a socket, only when nobody
 * accepts on it.  0 when the path is free now, -EADDRINUSE (live server),
 * -EEXIST (not a socket), other -errno. */
static int clear_stale_socket(const struct mxt_policy_endpoint *ep)
{
	struct stat st;
	int fd, rc;

	if (lstat(ep->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog answers EAGAIN. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)&ep->addr, ep->addrlen);
	if (rc == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	rc = errno;
	close(fd);
	if (rc == EAGAIN || rc == EINPROGRESS)
		return -EADDRINUSE;
	if (rc == ENOENT)
		return 0;
	if (rc != ECONNREFUSED)
		return -rc;
	if (unlink(ep->path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Creates, binds and listens on one endpoint. */
static int open_listener(struct mxt_policy_server *s, const char *spec, struct listener *l)
{
	int fd = -1, one = 1, rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	rc = mxt_policy_endpoint_parse(spec, &l->ep);
	if (rc) {
		slog(s, LOG_ERR, "LISTEN-ERROR %s: bad address (%s)", spec, strerror(-rc));
		return rc;
	}
	if (l->ep.family == AF_UNIX) {
		struct stat st;

		rc = check_parent_dir(l->ep.path);
		if (rc) {
			slog(s, LOG_ERR, "LISTEN-ERROR %s: unsafe or missing directory (%s)", spec,
			     strerror(-rc));
			return rc;
		}
		rc = clear_stale_socket(&l->ep);
		if (rc) {
			slog(s, LOG_ERR, "LISTEN-ERROR %s: %s", spec,
			     rc == -EADDRINUSE ? "another server is listening there" :
			     rc == -EEXIST ? "path exists and is not a socket" : strerror(-rc));
			return rc;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail_errno;
		if (bind(fd, (const struct sockaddr *)&l->ep.addr, l->ep.addrlen) < 0)
			goto fail_errno;
		/* Nobody can connect before listen(): fixing the mode now is race-free. */
		if (chmod(l->ep.path, s->socket_mode) < 0)
			goto fail_unlink;
		if (s->socket_gid_set && lchown(l->ep.path, (uid_t)-1, s->socket_gid) < 0)
			goto fail_unlink;
		if (lstat(l->ep.path, &st) < 0)
			goto fail_unlink;
		l->dev = st.st_dev;
		l->ino = st.st_ino;
		l->unlink_on_close = 1;
	} else {
		fd = socket(l->ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto fail_errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l->ep.family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&l->ep.addr, l->ep.addrlen) < 0)
			goto fail_errno;
	}
	if (listen(fd, SOMAXCONN) < 0)
		goto fail_unlink;
	l->fd = fd;
	return 0;

fail_unlink:
	rc = -errno;
	if (l->ep.family == AF_UNIX)
		unlink(l->ep.path);
	goto fail;
fail_errno:
	rc = -errno;
fail:
	slog(s, LOG_ERR, "LISTEN-ERROR %s: %s", spec, strerror(-rc));
	if (fd >= 0)
		close(fd);
	l->unlink_on_close = 0;
	return rc;
}

/* Closes a listener; removes its unix socket if it is still ours. */
static void close_listener(struct listener *l)
{
	struct stat st;

	if (l->fd < 0)
		return;
	if (l->unlink_on_close && lstat(l->ep.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->ep.path);
	close(l->fd);
	l->fd = -1;
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/* Registers the epoll interest 'want' for 'c' when it changed. */
static int conn_arm(struct mxt_policy_server *s, struct conn *c, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.u64 = ev_data(TAG_CONN, c->gen, c->slot) };

	if (want == c->events)
		return 0;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -errno;
	c->events = want;
	return 0;
}

/* Takes 'c' off its list. */
static void lru_unlink(struct mxt_policy_server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->lru_head[c->lru] = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->lru_tail[c->lru] = c->prev;
	c->prev = c->next = NULL;
}

/* Puts 'c' at the tail (youngest end) of list 'lru'. */
static void lru_append(struct mxt_policy_server *s, struct conn *c, int lru)
{
	c->lru = lru;
	c->next = NULL;
	c->prev = s->lru_tail[lru];
	if (c->prev)
		c->prev->next = c;
	else
		s->lru_head[lru] = c;
	s->lru_tail[lru] = c;
}

/* 1 while 'c' holds a request: partly read, unparsed, or its answer unsent. */
static int conn_busy(const struct conn *c)
{
	return c->in_len || c->out_len || mxt_policy_parser_pending(&c->parser);
}

/* Starts the deadline of a request that just began, or moves 'c' to the
 * idle list when it has nothing pending.  The deadline is not moved by
 * later bytes of the same request: that is what stops tricklers. */
static void conn_track(struct mxt_policy_server *s, struct conn *c)
{
	if (conn_busy(c)) {
		if (c->req_start_ms == 0) {
			c->req_start_ms = s->now_ms ? s->now_ms : 1;
			lru_unlink(s, c);
			lru_append(s, c, LRU_BUSY);
		}
	} else if (c->lru != LRU_IDLE || c->req_start_ms) {
		c->req_start_ms = 0;
		lru_unlink(s, c);
		lru_append(s, c, LRU_IDLE);
	}
}

/* Closes and frees a connection. */
static void conn_close(struct mxt_policy_server *s, struct conn *c)
{
	lru_unlink(s, c);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	s->conns[c->slot] = NULL;
	s->free_slots[s->nfree++] = c->slot;
	STAT_INC(&s->stats, conn_closed);
	STAT_ADD(&s->stats, conn_active, (uint64_t)-1);
	free(c);
}

/* Free bytes at the end of the output buffer after compaction. */
static size_t out_room(struct conn *c)
{
	if (c->out_len == 0)
		c->out_off = 0;
	return sizeof(c->out) - c->out_off - c->out_len;
}

/* 1 when one more answer surely fits. */
static int out_has_answer_room(struct conn *c)
{
	if (out_room(c) >= MXT_POLICY_REPLY_MAX + 2)
		return 1;
	if (sizeof(c->out) - c->out_len >= MXT_POLICY_REPLY_MAX + 2) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
		return 1;
	}
	return 0;
}

/* Writes as much pending output as the socket takes.  0, or -errno (fatal). */
static int conn_flush(struct mxt_policy_server *s, struct conn *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (uint32_t)n;
			c->out_len -= (uint32_t)n;
			c->last_ms = s->now_ms;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n < 0 ? -errno : -EIO;
	}
	c->out_off = 0;
	return 0;
}

/* Computes the answer to the request just parsed and queues it. */
static void conn_answer(struct mxt_policy_server *s, struct conn *c)
{
	const struct mxt_policy_request *req = &c->parser.req;
	char line[MXT_POLICY_REPLY_MAX];
	struct mxt_decision d;
	int kind;
	size_t n;

	STAT_INC(&s->stats, requests);
	c->req_start_ms = 0; /* the next request, if any, has its own deadline */
	if (req->oversized)
		STAT_INC(&s->stats, requests_oversized);
	if (req->truncated)
		STAT_INC(&s->stats, requests_truncated);
	if (req->client_family == 0 || strcmp(req->request, "smtpd_access_policy") != 0) {
		STAT_INC(&s->stats, skipped);
		kind = mxt_policy_reply_compose(line, sizeof(line), MXT_POLICY_ANSWER_DUNNO,
						NULL, NULL, NULL, 0, NULL);
	} else {
		memset(&d, 0, sizeof(d));
		if (s->decide(s->decide_ctx, req, &d) < 0) {
			STAT_INC(&s->stats, decide_errors);
			memset(&d, 0, sizeof(d)); /* defer = 0: DUNNO */
		}
		kind = mxt_policy_reply_format(line, sizeof(line), &d,
					       __atomic_load_n(&s->mode, __ATOMIC_RELAXED),
					       req->client_address);
		if (kind == MXT_POLICY_ANSWER_PREPEND && req->instance[0]) {
			/* One header per message, not one per recipient. */
			if (strcmp(req->instance, c->last_prepend) == 0) {
				STAT_INC(&s->stats, prepend_suppressed);
				kind = mxt_policy_reply_compose(line, sizeof(line),
								MXT_POLICY_ANSWER_DUNNO, NULL, NULL,
								NULL, 0, NULL);
			} else {
				snprintf(c->last_prepend, sizeof(c->last_prepend), "%s",
					 req->instance);
			}
		}
	}
	if (kind < 0) /* cannot happen with a REPLY_MAX buffer; fail open anyway */
		kind = mxt_policy_reply_compose(line, sizeof(line), MXT_POLICY_ANSWER_DUNNO,
						NULL, NULL, NULL, 0, NULL);
	n = strlen(line);
	/* Room for REPLY_MAX + 2 was checked before parsing. */
	memcpy(c->out + c->out_off + c->out_len, line, n);
	memcpy(c->out + c->out_off + c->out_len + n, "\n\n", 2);
	c->out_len += (uint32_t)(n + 2);
	STAT_INC(&s->stats, answers[kind]);
}

/* Parses buffered input while answers fit.  0, or -1 when 'c' was closed. */
static int conn_process(struct mxt_policy_server *s, struct conn *c)
{
	while (c->in_len > 0 && out_has_answer_room(c)) {
		size_t used = 0;
		int rc = mxt_policy_parser_feed(&c->parser, c->in + c->in_off, c->in_len, &used);

		c->in_off += (uint32_t)used;
		c->in_len -= (uint32_t)used;
		if (rc < 0) {
			enum mxt_policy_perr e = c->parser.err;

			STAT_INC(&s->stats, protocol_errors);
			if (e < MXT_POLICY_PERR_MAX)
				STAT_INC(&s->stats, perr[e]);
			slog(s, LOG_WARNING,
			     "PROTOCOL-ERROR peer=%s reason=%s: %s; closing connection", c->peer,
			     mxt_policy_perr_name(e), mxt_policy_perr_str(e));
			/* Earlier requests were fine: try to deliver their answers. */
			conn_flush(s, c);
			conn_close(s, c);
			return -1;
		}
		if (rc == 1)
			conn_answer(s, c);
	}
	if (c->in_len == 0)
		c->in_off = 0;
	return 0;
}

/* Brings the epoll interest of 'c' in line with its state, or closes it
 * when it is done.  0, or -1 when closed. */
static int conn_settle(struct mxt_policy_server *s, struct conn *c)
{
	uint32_t want = 0;

	/* Flush, and while that makes room, answer input already read: a read
	 * can hold more requests than one output buffer of answers, and no new
	 * read event will come for bytes already taken off the socket.  Ends
	 * because each round either consumes input or leaves output unsent. */
	for (;;) {
		if (conn_flush(s, c) < 0) {
			STAT_INC(&s->stats, io_errors);
			conn_close(s, c);
			return -1;
		}
		if (c->in_len == 0 || !out_has_answer_room(c))
			break;
		if (conn_process(s, c) < 0)
			return -1;
	}
	if (c->eof && c->out_len == 0 && c->in_len == 0) {
		conn_close(s, c);
		return -1;
	}
	if (!c->eof && c->in_len == 0 && out_has_answer_room(c))
		want |= EPOLLIN;
	if (c->out_len > 0)
		want |= EPOLLOUT;
	if (conn_arm(s, c, want) < 0) {
		STAT_INC(&s->stats, io_errors);
		conn_close(s, c);
		return -1;
	}
	conn_track(s, c);
	return 0;
}

/* Handles readiness of one connection. */
static void conn_event(struct mxt_policy_server *s, struct conn *c, uint32_t events)
{
	if (events & EPOLLOUT) {
		int rc = conn_flush(s, c);

		if (rc < 0) {
			STAT_INC(&s->stats, io_errors);
			conn_close(s, c);
			return;
		}
		if (conn_process(s, c) < 0)
			return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof && c->in_len == 0 &&
	    out_has_answer_room(c)) {
		ssize_t n;

		do
			n = recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			c->in_off = 0;
			c->in_len = (uint32_t)n;
			c->last_ms = s->now_ms;
			if (conn_process(s, c) < 0)
				return;
		} else if (n == 0) {
			c->eof = 1;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			STAT_INC(&s->stats, io_errors);
			conn_close(s, c);
			return;
		}
	}
	conn_settle(s, c);
}

/* Describes the peer of a new connection for logs. */
static void describe_peer(int fd, int family, char *buf, size_t size)
{
	if (family == AF_UNIX) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(buf, size, "unix:pid=%ld,uid=%u", (long)cr.pid, (unsigned)cr.uid);
		else
			snprintf(buf, size, "unix");
	} else {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
		    format_sockaddr(&ss, NULL, buf, size) < 0)
			snprintf(buf, size, "inet");
	}
}

/* Closes the connection that matters least to admit a new one: the
 * longest idle, else the busy one whose request started first.  1 when one
 * was closed, 0 when there is none. */
static int evict_one(struct mxt_policy_server *s)
{
	struct conn *c = s->lru_head[LRU_IDLE];
	int idle = c != NULL;

	if (!c)
		c = s->lru_head[LRU_BUSY];
	if (!c)
		return 0;
	STAT_INC(&s->stats, conn_evicted);
	if (s->now_ms - s->last_limit_log_ms >= 1000) {
		s->last_limit_log_ms = s->now_ms;
		slog(s, LOG_WARNING, "CONN-EVICT peer=%s %s %u ms: connection table full "
		     "(max_conn=%u or no file descriptor); closing it to admit a new one", c->peer,
		     idle ? "idle for" : "request pending for",
		     (unsigned)(s->now_ms - (idle ? c->last_ms : c->req_start_ms)), s->max_conn);
	}
	conn_close(s, c);
	return 1;
}

/* Accepts pending connections on listener 'idx'. */
static void accept_ready(struct mxt_policy_server *s, unsigned idx)
{
	struct listener *l = &s->listeners[idx];

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			/* Out of descriptors: one of ours gives way, as with max_conn. */
			if ((errno == EMFILE || errno == ENFILE) && evict_one(s))
				continue;
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the listener stays readable,
			 * so pause it or the loop would spin. */
			STAT_INC(&s->stats, accept_errors);
			if (s->now_ms - s->last_limit_log_ms >= 1000) {
				s->last_limit_log_ms = s->now_ms;
				slog(s, LOG_WARNING, "ACCEPT-ERROR listener=%u: %s; pausing %d ms",
				     idx, strerror(errno), PAUSE_MS);
			}
			ev = (struct epoll_event){ .events = 0,
				.data.u64 = ev_data(TAG_LISTENER, 0, idx) };
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, l->fd, &ev);
			l->paused = 1;
			l->resume_ms = s->now_ms + PAUSE_MS;
			if (s->next_sweep_ms > l->resume_ms)
				s->next_sweep_ms = l->resume_ms;
			return;
		}
		if (s->nfree == 0 && !evict_one(s)) {
			close(fd);
			STAT_INC(&s->stats, conn_refused);
			continue;
		}
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			STAT_INC(&s->stats, conn_refused);
			continue;
		}
		memset(c, 0, offsetof(struct conn, in)); /* buffers need no clearing */
		c->fd = fd;
		mxt_policy_parser_init(&c->parser, &s->limits);
		c->slot = s->free_slots[--s->nfree];
		c->gen = ++s->next_gen;
		c->last_ms = s->now_ms;
		c->events = EPOLLIN;
		if (l->ep.family != AF_UNIX) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		}
		describe_peer(fd, l->ep.family, c->peer, sizeof(c->peer));
		ev = (struct epoll_event){ .events = EPOLLIN,
			.data.u64 = ev_data(TAG_CONN, c->gen, c->slot) };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			s->free_slots[s->nfree++] = c->slot;
			free(c);
			STAT_INC(&s->stats, conn_refused);
			continue;
		}
		s->conns[c->slot] = c;
		lru_append(s, c, LRU_IDLE);
		STAT_INC(&s->stats, conn_accepted);
		STAT_INC(&s->stats, conn_active);
	}
}

/* Closes connections past their deadline and resumes paused listeners. */
static void sweep(struct mxt_policy_server *s)
{
	for (unsigned i = 0; i < s->max_conn; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		if (c->req_start_ms && s->now_ms - c->req_start_ms >= s->request_ms) {
			STAT_INC(&s->stats, conn_deadline_closed);
			slog(s, LOG_INFO, "TIMEOUT peer=%s request not done %u ms after its first "
			     "byte; closing connection", c->peer,
			     (unsigned)(s->now_ms - c->req_start_ms));
			conn_close(s, c);
		} else if (!c->req_start_ms && s->now_ms - c->last_ms >= s->idle_ms) {
			STAT_INC(&s->stats, conn_idle_closed);
			slog(s, LOG_INFO, "TIMEOUT peer=%s idle for %u ms; closing connection",
			     c->peer, (unsigned)(s->now_ms - c->last_ms));
			conn_close(s, c);
		}
	}
	for (unsigned i = 0; i < s->nlisteners; i++) {
		struct listener *l = &s->listeners[i];

		if (l->paused && s->now_ms >= l->resume_ms) {
			struct epoll_event ev = { .events = EPOLLIN,
				.data.u64 = ev_data(TAG_LISTENER, 0, i) };

			if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, l->fd, &ev) == 0)
				l->paused = 0;
		}
	}
	s->next_sweep_ms = s->now_ms + s->sweep_ms;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */

/* Creates the server; see policy_server.h. */
int mxt_policy_server_create(const struct mxt_policy_server_config *cfg,
			     struct mxt_policy_server **out)
{
	struct mxt_policy_server *s;
	struct epoll_event ev;
	unsigned timeout_min;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!cfg || !cfg->decide || !cfg->listen[0])
		return -EINVAL;
	if (cfg->mode != MXT_MODE_MONITOR && cfg->mode != MXT_MODE_ENFORCE)
		return -EINVAL;
	if (cfg->socket_mode & ~MXT_POLICY_SRV_SOCKET_MODE_DEFAULT)
		return -EINVAL; /* 0660 or tighter */
	if (cfg->max_conn > MXT_POLICY_SRV_MAX_CONN_CAP)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = -1;
	s->stopfd = -1;
	for (unsigned i = 0; i < MXT_POLICY_LISTEN_MAX; i++)
		s->listeners[i].fd = -1;
	rc = mxt_policy_limits_check(&cfg->limits, &s->limits);
	if (rc)
		goto fail;
	s->mode = cfg->mode;
	s->max_conn = cfg->max_conn ? cfg->max_conn : MXT_POLICY_SRV_MAX_CONN_DEFAULT;
	s->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : MXT_POLICY_SRV_IDLE_MS_DEFAULT;
	s->request_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms :
		MXT_POLICY_SRV_REQUEST_MS_DEFAULT;
	timeout_min = s->idle_ms < s->request_ms ? s->idle_ms : s->request_ms;
	s->sweep_ms = timeout_min / 4;
	if (s->sweep_ms < 5)
		s->sweep_ms = 5;
	if (s->sweep_ms > 1000)
		s->sweep_ms = 1000;
	s->socket_mode = cfg->socket_mode ? cfg->socket_mode : MXT_POLICY_SRV_SOCKET_MODE_DEFAULT;
	s->socket_gid_set = cfg->socket_gid_set;
	s->socket_gid = cfg->socket_gid;
	s->decide = cfg->decide;
	s->decide_ctx = cfg->decide_ctx;
	s->log = cfg->log;
	s->log_ctx = cfg->log_ctx;

	s->conns = calloc(s->max_conn, sizeof(*s->conns));
	s->free_slots = calloc(s->max_conn, sizeof(*s->free_slots));
	if (!s->conns || !s->free_slots) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < s->max_conn; i++)
		s->free_slots[i] = s->max_conn - 1 - i;
	s->nfree = s->max_conn;

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto fail_errno;
	s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->stopfd < 0)
		goto fail_errno;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = ev_data(TAG_STOP, 0, 0) };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev) < 0)
		goto fail_errno;

	for (unsigned i = 0; i < MXT_POLICY_LISTEN_MAX && cfg->listen[i]; i++) {
		rc = open_listener(s, cfg->listen[i], &s->listeners[i]);
		if (rc)
			goto fail;
		s->nlisteners = i + 1;
		ev = (struct epoll_event){ .events = EPOLLIN,
			.data.u64 = ev_data(TAG_LISTENER, 0, i) };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listeners[i].fd, &ev) < 0)
			goto fail_errno;
	}
	s->now_ms = mono_ms();
	s->next_sweep_ms = s->now_ms + s->sweep_ms;
	*out = s;
	return 0;

fail_errno:
	rc = -errno;
fail:
	mxt_policy_server_destroy(s);
	return rc;
}

/* One loop iteration; see policy_server.h. */
int mxt_policy_server_poll(struct mxt_policy_server *s, int timeout_ms)
{
	struct epoll_event evs[EVENT_BATCH];
	int n, wait_ms;

	if (!s)
		return -EINVAL;
	if (s->stopping)
		return 1;
	s->now_ms = mono_ms();
	wait_ms = s->next_sweep_ms > s->now_ms ? (int)(s->next_sweep_ms - s->now_ms) : 0;
	if (timeout_ms >= 0 && timeout_ms < wait_ms)
		wait_ms = timeout_ms;
	n = epoll_wait(s->epfd, evs, EVENT_BATCH, wait_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	s->now_ms = mono_ms();
	for (int i = 0; i < n; i++) {
		uint64_t data = evs[i].data.u64;
		uint32_t gen = (uint32_t)(data >> 32);
		uint32_t tag = (uint32_t)(data >> 28) & 0xfu;
		uint32_t idx = (uint32_t)data & 0x0fffffffu;

		if (tag == TAG_STOP) {
			uint64_t v;

			if (read(s->stopfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			s->stopping = 1;
		} else if (tag == TAG_LISTENER) {
			if (idx < s->nlisteners)
				accept_ready(s, idx);
		} else if (idx < s->max_conn) {
			struct conn *c = s->conns[idx];

			if (c && c->gen == gen)
				conn_event(s, c, evs[i].events);
		}
	}
	if (s->now_ms >= s->next_sweep_ms)
		sweep(s);
	return s->stopping ? 1 : 0;
}

/* Runs until stopped. */
int mxt_policy_server_run(struct mxt_policy_server *s)
{
	int rc;

	if (!s)
		return -EINVAL;
	while ((rc = mxt_policy_server_poll(s, -1)) == 0)
		;
	return rc < 0 ? rc : 0;
}

/* Requests the loop to stop (async-signal-safe). */
int mxt_policy_server_stop(struct mxt_policy_server *s)
{
	uint64_t one = 1;

	if (!s)
		return -EINVAL;
	if (write(s->stopfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* Tears everything down. */
void mxt_policy_server_destroy(struct mxt_policy_server *s)
{
	if (!s)
		return;
	if (s->conns) {
		for (unsigned i = 0; i < s->max_conn; i++)
			if (s->conns[i])
				conn_close(s, s->conns[i]);
	}
	for (unsigned i = 0; i < MXT_POLICY_LISTEN_MAX; i++)
		close_listener(&s->listeners[i]);
	if (s->stopfd >= 0)
		close(s->stopfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->conns);
	free(s->free_slots);
	free(s);
}

/* Copies the counters. */
void mxt_policy_server_stats(const struct mxt_policy_server *s, struct mxt_policy_stats *out)
{
	const uint64_t *src = (const uint64_t *)&s->stats;
	uint64_t *dst = (uint64_t *)out;

	_Static_assert(sizeof(struct mxt_policy_stats) % sizeof(uint64_t) == 0,
		       "stats are all uint64_t");
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* Switches mode. */
int mxt_policy_server_set_mode(struct mxt_policy_server *s, int mode)
{
	if (!s || (mode != MXT_MODE_MONITOR && mode != MXT_MODE_ENFORCE))
		return -EINVAL;
	__atomic_store_n(&s->mode, mode, __ATOMIC_RELAXED);
	return 0;
}
