/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy_server.h - the policy delegation server: a single-threaded,
 * non-blocking epoll loop meant to run in a thread of its own beside the
 * daemon's tick loop.  It listens on unix and/or inet sockets, keeps many
 * persistent connections (one per Postfix smtpd process), parses requests
 * with policy_proto, asks the daemon's decide() callback and answers with
 * policy_reply.  decide() runs on the server thread and must not block on
 * disk or kernel maps: it reads the in-memory model under a lock.
 *
 * Protocol manners (SMTPD_POLICY_README): one answer per request, in order;
 * the connection stays open for the next request; a malformed request gets
 * no answer, a warning in the log, and that connection (only) is closed.
 * A peer that shuts down its write side after a request (Exim's
 * ${readsocket}) still gets its answers, then the server closes.
 *
 * Bounds: at most max_conn connections; per connection a
 * MXT_POLICY_SRV_INBUF input buffer, a parser (policy_proto.h limits) and a
 * MXT_POLICY_SRV_OUTBUF output buffer.  A peer that does not read its
 * answers stops being read (back-pressure).
 *
 * Deadlines (issue 9, hole 3): a request must be complete, and its answer
 * taken by the peer, within request_timeout_ms of its first byte: an
 * absolute deadline, which a peer trickling one byte at a time cannot push
 * back.  A connection with nothing pending is closed after idle_timeout_ms
 * without progress.  When the table is full (max_conn, or the process out of
 * file descriptors), the server closes one connection to admit the new one
 * rather than refuse it: the least recently active idle connection (no
 * request pending), or failing that the least recently active of all.  So a
 * flood of idle or trickling connections costs each of them its slot in
 * turn, never a new client its answer.  Postfix reconnects and retries when
 * it finds a policy connection closed.
 * Nothing in the loop blocks: sockets are non-blocking, EAGAIN waits for
 * epoll, writes are buffered.
 *
 * Unix sockets are created with mode 0660 (or tighter, configurable) and an
 * optional group; a stale socket (nobody answers on it) is removed before
 * bind, anything that is not a socket, or a socket with a live server
 * behind it, is left alone and the server refuses to start.  The directory
 * holding the socket must not be writable by untrusted users.
 *
 * Thread safety: mxt_policy_server_stop(), _stats() and _set_mode() may be
 * called from any thread (stop() also from a signal handler); the rest from
 * one thread at a time.
 */
#ifndef MXT_POLICY_SERVER_H
#define MXT_POLICY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "decision.h"
#include "policy_proto.h"
#include "policy_reply.h"

#define MXT_POLICY_LISTEN_MAX               4
#define MXT_POLICY_SRV_MAX_CONN_DEFAULT     1024u
#define MXT_POLICY_SRV_MAX_CONN_CAP         65536u
#define MXT_POLICY_SRV_IDLE_MS_DEFAULT      (600u * 1000u)  /* > Postfix's max_idle 300s */
#define MXT_POLICY_SRV_REQUEST_MS_DEFAULT   (30u * 1000u)
#define MXT_POLICY_SRV_SOCKET_MODE_DEFAULT  0660u
#define MXT_POLICY_SRV_INBUF                2048u  /* bytes read per connection at a time */
#define MXT_POLICY_SRV_OUTBUF               4096u  /* pending answers per connection */
/* In Postfix's queue directory: Debian chroots smtpd there, so Postfix
 * names it unix:private/mxthrottle (docs/mta-integration.md). */
#define MXT_POLICY_SRV_DEFAULT_LISTEN       "unix:/var/spool/postfix/private/mxthrottle"

/* The daemon's verdict for one request: fill 'out', return 0; a negative
 * return answers DUNNO (fail open) and counts in decide_errors. */
typedef int (*mxt_policy_decide_fn)(void *ctx, const struct mxt_policy_request *req,
				    struct mxt_decision *out);

/* Log sink: 'level' is a syslog priority (LOG_WARNING, LOG_INFO, ...);
 * 'msg' one line, no newline, starting with an uppercase event word. */
typedef void (*mxt_policy_log_fn)(void *ctx, int level, const char *msg);

/* Server settings; zero fields take their defaults. */
struct mxt_policy_server_config {
	const char *listen[MXT_POLICY_LISTEN_MAX]; /* "unix:/path" | "inet:host:port"; NULL ends */
	unsigned socket_mode;        /* unix socket mode, within 0660; 0: 0660 */
	int socket_gid_set;          /* 1: chown unix sockets to socket_gid */
	gid_t socket_gid;            /* e.g. the postfix group */
	unsigned max_conn;           /* 0: 1024 */
	unsigned idle_timeout_ms;    /* nothing pending; 0: 600 s */
	unsigned request_timeout_ms; /* from a request's first byte to its answer sent; 0: 30 s */
	struct mxt_policy_limits limits; /* parser limits; zeros: defaults */
	int mode;                    /* MXT_MODE_MONITOR (0) or MXT_MODE_ENFORCE (mxt_abi.h) */
	mxt_policy_decide_fn decide; /* required */
	void *decide_ctx;
	mxt_policy_log_fn log;       /* NULL: the project logger (log.h) */
	void *log_ctx;
};

/* Counters since create(); conn_active is a gauge.  One struct of
 * uint64_t, read as a whole by mxt_policy_server_stats(): the STATS log
 * line and metrics take their names from these fields. */
struct mxt_policy_stats {
	uint64_t requests;                        /* complete requests parsed */
	uint64_t answers[MXT_POLICY_ANSWER_MAX];  /* answers sent, by kind */
	uint64_t skipped;            /* answered DUNNO unasked: no client address, other request type */
	uint64_t decide_errors;      /* decide() < 0: answered DUNNO */
	uint64_t prepend_suppressed; /* monitor: repeat would-defer in one transaction, DUNNO instead */
	uint64_t requests_oversized; /* over request_max bytes or attrs_max lines, still answered */
	uint64_t requests_truncated; /* an attribute cut to fit, still answered */
	uint64_t protocol_errors;    /* malformed requests (connection closed) */
	uint64_t perr[MXT_POLICY_PERR_MAX]; /* the same, by reason */
	uint64_t conn_accepted;
	uint64_t conn_refused;       /* accepted, then closed unanswered: no slot, no memory */
	uint64_t conn_evicted;       /* closed to admit a new connection into a full table */
	uint64_t conn_idle_closed;   /* closed after idle_timeout_ms with nothing pending */
	uint64_t conn_deadline_closed; /* request or its answer not done within request_timeout_ms */
	uint64_t conn_closed;        /* every close, whatever the cause */
	uint64_t conn_active;        /* open now */
	uint64_t io_errors;          /* read/write failures (reset by peer, ...) */
	uint64_t accept_errors;      /* accept() failures (EMFILE, ...) */
};

/* A parsed listen/connect address. */
struct mxt_policy_endpoint {
	int family;                  /* AF_UNIX, AF_INET or AF_INET6 */
	socklen_t addrlen;
	struct sockaddr_storage addr;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* AF_UNIX */
};

struct mxt_policy_server;

/*
 * Parses "unix:PATH", "/abs/path", "inet:HOST:PORT", "HOST:PORT",
 * "inet:[V6]:PORT" into 'ep'.  HOST may be a name ("localhost": first
 * address found).  Port 0 is allowed (ephemeral; see _endpoint()).
 * Returns 0, -EINVAL (syntax), -ENAMETOOLONG or -EADDRNOTAVAIL (no address).
 */
int mxt_policy_endpoint_parse(const char *spec, struct mxt_policy_endpoint *ep);

/* Creates the server and binds every listener (so errors show at start-up,
 * before privileges are dropped).  0 or -errno; *out is NULL on error. */
int mxt_policy_server_create(const struct mxt_policy_server_config *cfg,
			     struct mxt_policy_server **out);

/* Runs the loop until mxt_policy_server_stop().  0 or -errno (epoll failed). */
int mxt_policy_server_run(struct mxt_policy_server *srv);

/* One loop iteration, waiting at most 'timeout_ms' (-1: until an event or
 * the next timeout sweep).  1 when stop was requested, 0, or -errno. */
int mxt_policy_server_poll(struct mxt_policy_server *srv, int timeout_ms);

/* Asks the loop to return.  Async-signal-safe.  0 or -errno. */
int mxt_policy_server_stop(struct mxt_policy_server *srv);

/* Closes every connection and listener, removes unix sockets it created
 * (when still the same inode), frees 'srv'.  NULL is fine. */
void mxt_policy_server_destroy(struct mxt_policy_server *srv);

/* Copies the counters (relaxed reads: each counter exact, the set not a
 * snapshot of one instant). */
void mxt_policy_server_stats(const struct mxt_policy_server *srv, struct mxt_policy_stats *out);

/* Switches between MXT_MODE_MONITOR and MXT_MODE_ENFORCE.  0 or -EINVAL. */
int mxt_policy_server_set_mode(struct mxt_policy_server *srv, int mode);

/* Writes listener 'i' as "unix:/path" or "inet:127.0.0.1:PORT" (actual
 * port, after an ephemeral bind).  0, -ENOENT (no such listener), -ENOSPC. */
int mxt_policy_server_endpoint(const struct mxt_policy_server *srv, unsigned i,
			       char *buf, size_t size);

#endif /* MXT_POLICY_SERVER_H */
