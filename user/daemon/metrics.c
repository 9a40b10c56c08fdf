/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * metrics.c - the Prometheus endpoint (see metrics.h for where each number
 * comes from and how the server is bounded).  Names follow Prometheus'
 * conventions: mxthrottle_ prefix, _total for counters, base units
 * (seconds, bytes), variable parts as labels.
 */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "errfmt.h"
#include "metrics.h"
#include "mxt_reasons.h"
#include "mxt_version.h"
#include "pinned.h"
#include "policy_server.h"
#include "reasons.h"
#include "reply_codes.h"

const double mxt_metrics_lat_bounds[MXT_METRICS_LAT_BUCKETS] = {
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.0,
};

struct mxt_metrics {
	int fd;                               /* the bound socket (-1: none) */
	struct MHD_Daemon *httpd;
	const struct mxt_maps *maps;
	const struct mxt_policy_server *policy;
	pthread_mutex_t lock;                 /* guards 'snap' and 'have_snap' only */
	struct mxt_metrics_snapshot snap;
	int have_snap;
	/* Written by the policy thread, read by the HTTP thread: atomics. */
	_Atomic uint64_t lat_bucket[MXT_METRICS_LAT_BUCKETS + 1]; /* last: +Inf */
	_Atomic uint64_t lat_count;
	_Atomic uint64_t lat_sum_ns;
	_Atomic uint64_t by_code[MXT_CODE_MAX];
};

static const char *const reason_verdict[MXT_R_MAX] = {
#define MXT_REASON_VERDICT(id, name, verdict, desc) [MXT_R_##id] = #verdict,
	MXT_REASON_TABLE(MXT_REASON_VERDICT)
#undef MXT_REASON_VERDICT
};

/* "inet:HOST:PORT" only: Prometheus scrapes over TCP. */
static int listen_parse(const char *spec, struct mxt_policy_endpoint *ep, char *err, size_t errlen)
{
	int rc;

	if (strncmp(spec, "inet:", 5)) {
		mxt_seterr(err, errlen, "metrics_listen '%s': want inet:HOST:PORT", spec);
		return -EINVAL;
	}
	rc = mxt_policy_endpoint_parse(spec, ep);
	if (rc < 0 || (ep->family != AF_INET && ep->family != AF_INET6)) {
		mxt_seterr(err, errlen, "metrics_listen '%s': want inet:HOST:PORT", spec);
		return rc < 0 ? rc : -EINVAL;
	}
	return 0;
}

int mxt_metrics_bind(const char *spec, struct mxt_metrics **out, char *err, size_t errlen)
{
	struct mxt_policy_endpoint ep;
	struct mxt_metrics *m;
	int one = 1, rc;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		mxt_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	if (spec) {
		rc = listen_parse(spec, &ep, err, errlen);
		if (rc < 0)
			goto fail;
		m->fd = socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (m->fd < 0 ||
		    setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(m->fd, (struct sockaddr *)&ep.addr, ep.addrlen) < 0 ||
		    listen(m->fd, MXT_METRICS_MAX_CONN) < 0) {
			rc = -errno;
			mxt_seterr(err, errlen, "metrics_listen %s: %s", spec, strerror(errno));
			goto fail;
		}
	}
	*out = m;
	return 0;
fail:
	mxt_metrics_free(m);
	return rc;
}

void mxt_metrics_set_sources(struct mxt_metrics *m, const struct mxt_maps *maps,
			     const struct mxt_policy_server *policy)
{
	m->maps = maps;
	m->policy = policy;
}

int mxt_metrics_endpoint(const struct mxt_metrics *m, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (!m || m->fd < 0)
		return -ENOENT;
	if (getsockname(m->fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
		return snprintf(buf, len, "inet:%s:%u", host, port) < (int)len ? 0 : -ENOSPC;
	}
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return snprintf(buf, len, "inet:[%s]:%u", host, port) < (int)len ? 0 : -ENOSPC;
}

void mxt_metrics_snapshot_take(struct mxt_controller *ctl, struct mxt_fleet *fleet,
			       uint64_t kernel_capacity, uint64_t last_checkpoint,
			       struct mxt_metrics_snapshot *s)
{
	struct mxt_ctl_snapshot cs;

	memset(s, 0, sizeof(*s));
	mxt_ctl_snapshot(ctl, &cs);
	s->model = cs.model;
	s->ctl = cs.counters;
	s->kernel_sources = cs.kernel_sources;
	s->now = cs.now;
	s->kernel_capacity = kernel_capacity;
	s->last_checkpoint = last_checkpoint;
	if (fleet) {
		s->fleet = 1;
		mxt_fleet_get_stats(fleet, &s->fleet_st);
	}
}

void mxt_metrics_update(struct mxt_metrics *m, const struct mxt_metrics_snapshot *s)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->snap = *s;
	m->have_snap = 1;
	pthread_mutex_unlock(&m->lock);
}

void mxt_metrics_observe_decision(struct mxt_metrics *m, enum mxt_code code, double seconds)
{
	size_t b = 0;

	if (!m)
		return;
	if (seconds < 0)
		seconds = 0;
	/* Prometheus buckets are cumulative at render time; here each
	 * observation lands in the first bucket whose bound holds it. */
	while (b < MXT_METRICS_LAT_BUCKETS && seconds > mxt_metrics_lat_bounds[b])
		b++;
	atomic_fetch_add_explicit(&m->lat_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_sum_ns, (uint64_t)(seconds * 1e9), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->lat_count, 1, memory_order_relaxed);
	if ((unsigned)code < MXT_CODE_MAX)
		atomic_fetch_add_explicit(&m->by_code[code], 1, memory_order_relaxed);
}

/* ---- rendering ------------------------------------------------------- */

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v)
{
	head(f, name, type, help);
	fprintf(f, "%s %.17g\n", name, v);
}

/* One sample read from a uint64_t of a state struct.  A row with 'help'
 * opens a family (its HELP and TYPE lines); a row without continues the
 * family above with other labels.  Unlabelled samples print as doubles,
 * labelled ones as integers: the exposition has always been so, and a
 * dashboard may match on either. */
struct metric {
	const char *name;
	const char *type;     /* "counter" or "gauge"; NULL on a continuation */
	const char *help;     /* NULL: a continuation row */
	const char *labels;   /* NULL: no labels */
	size_t off;           /* of the uint64_t in the struct emit() is given */
	double div;           /* 0: the value as is; 1e6: microseconds to seconds */
};

/* offsetof a uint64_t member, refused at compile time for any other size,
 * so that a row can never read half of a field or two. */
#define U64_AT(type, member)                                                           \
	(offsetof(type, member) +                                                      \
	 0 * sizeof(char[sizeof(((type *)0)->member) == sizeof(uint64_t) ? 1 : -1]))
#define SNAP(member) U64_AT(struct mxt_metrics_snapshot, member)
#define POL(member)  U64_AT(struct mxt_policy_stats, member)

/* Model, kernel map and controller, after the per-state senders. */
static const struct metric snap_metrics[] = {
	{ "mxthrottle_senders_capacity", "gauge", "Senders the model's table may hold.",
	  NULL, SNAP(model.capacity), 0 },
	{ "mxthrottle_model_memory_bytes", "gauge", "Memory of the model's table.",
	  NULL, SNAP(model.memory_bytes), 0 },
	{ "mxthrottle_model_evictions_total", "counter",
	  "Sender records evicted to make room for newcomers.", NULL, SNAP(model.evicted), 0 },
	{ "mxthrottle_model_rejected_total", "counter",
	  "Newcomers not tracked because nothing was evictable.", NULL, SNAP(model.rejected_full), 0 },
	{ "mxthrottle_model_expired_total", "counter", "Sender records forgotten by age.",
	  NULL, SNAP(model.expired), 0 },
	{ "mxthrottle_state_transitions_total", "counter",
	  "Sender state changes, by the state entered.", "to=\"established\"",
	  SNAP(model.established), 0 },
	{ "mxthrottle_state_transitions_total", NULL, NULL, "to=\"throttled\"",
	  SNAP(model.throttles), 0 },
	{ "mxthrottle_state_transitions_total", NULL, NULL, "to=\"blocked\"",
	  SNAP(model.blocks), 0 },
	{ "mxthrottle_kernel_sources", "gauge",
	  "Entries of the kernel's per-source LRU map seen by the last sweeps.",
	  NULL, SNAP(kernel_sources), 0 },
	{ "mxthrottle_kernel_sources_capacity", "gauge",
	  "Size (max_entries) of the kernel's per-source LRU map.", NULL, SNAP(kernel_capacity), 0 },
	{ "mxthrottle_ticks_total", "counter", "Controller ticks.", NULL, SNAP(ctl.ticks), 0 },
	{ "mxthrottle_tick_duration_seconds", "gauge", "Wall time of the last controller tick.",
	  NULL, SNAP(ctl.tick_usec_last), 1e6 },
	{ "mxthrottle_kernel_policy_changes_total", "counter",
	  "Kernel policy map entries written or deleted.", NULL, SNAP(ctl.changes_written), 0 },
	{ "mxthrottle_map_errors_total", "counter", "Failed kernel map reads or writes.",
	  NULL, SNAP(ctl.map_errors), 0 },
	{ "mxthrottle_checkpoints_total", "counter", "History checkpoints written.",
	  NULL, SNAP(ctl.checkpoints), 0 },
	{ "mxthrottle_checkpoint_errors_total", "counter", "History checkpoints that failed.",
	  NULL, SNAP(ctl.checkpoint_errors), 0 },
	{ "mxthrottle_checkpoint_duration_seconds", "gauge",
	  "Wall time of the last history checkpoint.", NULL, SNAP(ctl.checkpoint_usec_last), 1e6 },
	{ "mxthrottle_checkpoint_last_timestamp_seconds", "gauge",
	  "Unix time of the last good checkpoint (or of the start-up, before the first).",
	  NULL, SNAP(last_checkpoint), 0 },
};

/* The fleet's health: Redis reachable, data flowing both ways, nothing lost. */
static const struct metric fleet_metrics[] = {
	{ "mxthrottle_fleet_outages_total", "counter",
	  "Redis shard connections lost or refused.", NULL, SNAP(fleet_st.outages), 0 },
	{ "mxthrottle_fleet_reconnects_total", "counter",
	  "Redis shard connections won back after an outage.", NULL, SNAP(fleet_st.reconnects), 0 },
	{ "mxthrottle_fleet_exchanges_total", "counter",
	  "Pipelines sent to Redis (all shards).", NULL, SNAP(fleet_st.exchanges), 0 },
	{ "mxthrottle_fleet_round_trips_total", "counter",
	  "Pipelines Redis answered.", NULL, SNAP(fleet_st.round_trips), 0 },
	{ "mxthrottle_fleet_exchange_duration_seconds", "gauge",
	  "Wall time of the last exchange with every shard.", NULL,
	  SNAP(fleet_st.exchange_usec_last), 1e6 },
	{ "mxthrottle_fleet_deltas_sent_total", "counter",
	  "Source-hours of this node written to Redis.", NULL, SNAP(fleet_st.deltas_sent), 0 },
	{ "mxthrottle_fleet_deltas_applied_total", "counter",
	  "Source-hours of other nodes applied here.", NULL, SNAP(fleet_st.deltas_applied), 0 },
	{ "mxthrottle_fleet_bad_entries_total", "counter",
	  "Undecodable log entries read from Redis.", NULL, SNAP(fleet_st.bad), 0 },
	{ "mxthrottle_fleet_backlog", "gauge",
	  "Source-hours waiting for Redis.", NULL, SNAP(fleet_st.backlog), 0 },
	{ "mxthrottle_fleet_dropped_total", "counter",
	  "Source-hours lost because the buffer was full.", NULL, SNAP(fleet_st.dropped), 0 },
};

/* The policy server's connections and errors, after the answers by action. */
static const struct metric policy_metrics[] = {
	{ "mxthrottle_policy_decide_errors_total", "counter",
	  "Requests answered DUNNO because the decision failed.", NULL, POL(decide_errors), 0 },
	{ "mxthrottle_policy_protocol_errors_total", "counter",
	  "Malformed policy requests (their connection was closed).", NULL, POL(protocol_errors), 0 },
	{ "mxthrottle_policy_connections_open", "gauge", "Policy connections open now.",
	  NULL, POL(conn_active), 0 },
	{ "mxthrottle_policy_connections_accepted_total", "counter",
	  "Policy connections accepted.", NULL, POL(conn_accepted), 0 },
	{ "mxthrottle_policy_connections_refused_total", "counter",
	  "Policy connections closed unanswered at once: no slot or no memory.",
	  NULL, POL(conn_refused), 0 },
	{ "mxthrottle_policy_connections_evicted_total", "counter",
	  "Idle policy connections closed to admit a new one into a full table.",
	  NULL, POL(conn_evicted), 0 },
	{ "mxthrottle_policy_connections_idle_closed_total", "counter",
	  "Policy connections closed after the idle timeout with nothing pending.",
	  NULL, POL(conn_idle_closed), 0 },
	{ "mxthrottle_policy_connections_deadline_closed_total", "counter",
	  "Policy connections closed: a request not done by its absolute deadline.",
	  NULL, POL(conn_deadline_closed), 0 },
	{ "mxthrottle_policy_io_errors_total", "counter",
	  "Policy connection read/write and accept failures.", NULL, POL(io_errors), 0 },
};

#define EMIT(f, rows, base) emit(f, rows, sizeof(rows) / sizeof((rows)[0]), base)

/* Write every row of 'rows', each read from 'base'. */
static void emit(FILE *f, const struct metric *rows, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		const struct metric *r = &rows[i];
		uint64_t v;

		memcpy(&v, (const char *)base + r->off, sizeof(v));
		if (r->help)
			head(f, r->name, r->type, r->help);
		if (r->labels)
			fprintf(f, "%s{%s} %llu\n", r->name, r->labels, (unsigned long long)v);
		else
			fprintf(f, "%s %.17g\n", r->name, r->div ? (double)v / r->div : (double)v);
	}
}

static void render_xdp(struct mxt_metrics *m, FILE *f)
{
	__u64 r[MXT_R_MAX] = { 0 };

	if (!m->maps || mxt_maps_stats_read(m->maps, r) < 0)
		return;
	head(f, "mxthrottle_xdp_packets_total", "counter",
	     "Packets seen by the XDP program, by verdict reason (all interfaces together).");
	for (unsigned i = 0; i < MXT_R_MAX; i++)
		fprintf(f, "mxthrottle_xdp_packets_total{reason=\"%s\",verdict=\"%s\"} %llu\n",
			mxt_reason_name(i), reason_verdict[i][0] == 'D' ? "drop" : "pass",
			(unsigned long long)r[i]);
}

/* What the main thread pushed: model, kernel map, controller, fleet. */
static void render_snapshot(FILE *f, const struct mxt_metrics_snapshot *s, uint64_t now)
{
	head(f, "mxthrottle_senders", "gauge", "Senders the model tracks, by state.");
	for (int st = 0; st < MXT_STATE_MAX; st++)
		fprintf(f, "mxthrottle_senders{state=\"%s\"} %llu\n", mxt_state_name((enum mxt_state)st),
			(unsigned long long)s->model.by_state[st]);
	EMIT(f, snap_metrics, s);
	one(f, "mxthrottle_checkpoint_age_seconds", "gauge",
	    "Seconds since the last good checkpoint (or since the start-up, before the first).",
	    (double)(now > s->last_checkpoint ? now - s->last_checkpoint : 0));
	if (s->fleet)
		EMIT(f, fleet_metrics, s);
}

/* Decisions and their latency (counted here), then the server's own
 * counters when there is a server. */
static void render_policy(struct mxt_metrics *m, FILE *f)
{
	struct mxt_policy_stats p;
	uint64_t cum = 0;

	head(f, "mxthrottle_policy_decisions_total", "counter",
	     "Policy decisions, by reply code (the SMTP status and the AS tag of the reply).");
	for (int c = 0; c < MXT_CODE_MAX; c++) {
		const struct mxt_code_info *ci = mxt_code_info((enum mxt_code)c);

		fprintf(f, "mxthrottle_policy_decisions_total{code=\"%s\",status=\"%s\",as=\"%s\"} %llu\n",
			ci->name, ci->status, ci->as_tag,
			(unsigned long long)atomic_load_explicit(&m->by_code[c], memory_order_relaxed));
	}
	head(f, "mxthrottle_policy_decision_duration_seconds", "histogram",
	     "Time the daemon took to decide one policy request.");
	for (int b = 0; b <= MXT_METRICS_LAT_BUCKETS; b++) {
		cum += atomic_load_explicit(&m->lat_bucket[b], memory_order_relaxed);
		if (b < MXT_METRICS_LAT_BUCKETS)
			fprintf(f, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"%g\"} %llu\n",
				mxt_metrics_lat_bounds[b], (unsigned long long)cum);
		else
			fprintf(f, "mxthrottle_policy_decision_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cum);
	}
	/* The count is the +Inf bucket, so the two never disagree. */
	fprintf(f, "mxthrottle_policy_decision_duration_seconds_sum %.9f\n",
		(double)atomic_load_explicit(&m->lat_sum_ns, memory_order_relaxed) / 1e9);
	fprintf(f, "mxthrottle_policy_decision_duration_seconds_count %llu\n", (unsigned long long)cum);
	if (!m->policy)
		return;
	mxt_policy_server_stats(m->policy, &p);
	one(f, "mxthrottle_policy_requests_total", "counter", "Complete policy requests parsed.",
	    (double)p.requests);
	head(f, "mxthrottle_policy_answers_total", "counter", "Policy answers sent, by action.");
	for (int a = 0; a < MXT_POLICY_ANSWER_MAX; a++) {
		char lower[16];
		const char *n = mxt_policy_answer_name((enum mxt_policy_answer)a);
		size_t i;

		for (i = 0; n[i] && i + 1 < sizeof(lower); i++)
			lower[i] = (char)(n[i] | 0x20);
		lower[i] = '\0';
		fprintf(f, "mxthrottle_policy_answers_total{action=\"%s\"} %llu\n", lower,
			(unsigned long long)p.answers[a]);
	}
	/* One family for both kinds of I/O failure: the operator's remedy
	 * (descriptors, peers) is the same. */
	p.io_errors += p.accept_errors;
	EMIT(f, policy_metrics, &p);
}

int mxt_metrics_render(struct mxt_metrics *m, FILE *f, uint64_t now)
{
	struct mxt_metrics_snapshot s;
	int have;

	if (!m || !f)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	s = m->snap;
	have = m->have_snap;
	pthread_mutex_unlock(&m->lock);

	head(f, "mxthrottle_build_info", "gauge", "Version of the running daemon (always 1).");
	fprintf(f, "mxthrottle_build_info{version=\"%s\"} 1\n", MXT_VERSION);
	render_xdp(m, f);
	if (have)
		render_snapshot(f, &s, now);
	render_policy(m, f);
	return ferror(f) ? -EIO : 0;
}

/* ---- HTTP --------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* libmicrohttpd's request handler: GET/HEAD /metrics, nothing else. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req_cls)
{
	struct mxt_metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL;
	size_t blen = 0;
	FILE *f;

	(void)version;
	(void)upload;
	/* First call: headers only.  A request with a body is refused
	 * before any of it is read. */
	if (!*req_cls) {
		*req_cls = m;
		if (*upload_size)
			return MHD_NO;
		return MHD_YES;
	}
	if (*upload_size)
		return MHD_NO;
	if (strcmp(url, "/metrics"))
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	f = open_memstream(&body, &blen);
	if (!f)
		return MHD_NO;
	if (mxt_metrics_render(m, f, (uint64_t)time(NULL)) < 0) {
		fclose(f);
		free(body);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "error\n");
	}
	fclose(f);
	r = MHD_create_response_from_buffer(blen, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int mxt_metrics_start(struct mxt_metrics *m)
{
	if (!m || m->fd < 0)
		return -EINVAL;
	m->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
				    handle, m,
				    MHD_OPTION_LISTEN_SOCKET, m->fd,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MXT_METRICS_MAX_CONN,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MXT_METRICS_MAX_PER_IP,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MXT_METRICS_TIMEOUT_S,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MXT_METRICS_MEM_LIMIT,
				    MHD_OPTION_END);
	return m->httpd ? 0 : -EIO;
}

void mxt_metrics_free(struct mxt_metrics *m)
{
	if (!m)
		return;
	if (m->httpd) {
		/* MHD owns the listening socket once started: it closes it. */
		MHD_stop_daemon(m->httpd);
		m->fd = -1;
	}
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
