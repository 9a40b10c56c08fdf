/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fleet.c - the fleet thread and the hooks of fleet.h.  One thread owns
 * every hiredis context (synchronous API with short timeouts); per shard
 * and exchange it sends one pipeline: the node's batch (hour hashes,
 * sender records, one log entry), its heartbeat, and XREADs of the log and
 * of the operator actions.  Locks: f->lock guards the buffer, the queues
 * and the views that status reads; the controller's lock guards the model.
 * The fleet thread never holds both, the policy thread takes f->lock
 * inside the controller's (mxt_fleet_note), so they cannot deadlock.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "addr.h"
#include "controller.h"
#include "errfmt.h"
#include "fleet.h"
#include "fleet_buf.h"
#include "history_db.h"
#include "jsonw.h"
#include "log.h"

#define POLL_MS          100      /* reads between ticks: the staleness bound */
#define CONNECT_MS       200
#define COMMAND_MS       500
#define BACKOFF_MIN_MS   500
#define BACKOFF_MAX_MS   30000
#define HASH_TTL         7200     /* hour hashes: the hour and the next */
#define RECORD_TTL       (40 * 86400)
#define LOG_MAXLEN       "100000"
#define OPS_MAXLEN       "10000"
#define READ_COUNT       "64"     /* log entries per read: bounds one reply (each <= 622 kB) */
#define BATCH_MAX        16384    /* source-hours per log entry */
#define OPS_MAX          64
#define OP_LEN           512
#define NODES_MAX        64
#define TOUCH_MAX        256      /* records to rewrite after an operator action */
#define REFILL_CHUNK     1000
#define APPLY_CHUNK      256      /* deltas applied per hold of the model's lock */
#define BLOCKS_MAX       256      /* SYN-flood blocks followed (this node's, the fleet's) */
#define HIST_MAX         32       /* acknowledged batches kept per shard ... */
#define HIST_MS          10000    /* ... acknowledged so long before a Redis went away: re-sent if it lost them */

/* One source-hour of a batch, with what the hash and the record get. */
struct brec {
	struct mxt_fleet_delta d;
	uint32_t abs[MXT_FLEET_NCNT];
	int has_rec;
	uint8_t rec[MXT_HDB_RECORD_LEN];
};

/* A batch Redis acknowledged, as its log entry carried it. */
struct sent {
	uint64_t seq, at_ms;
	uint32_t span;
	uint8_t *blob;
	size_t len;
};

struct shard {
	struct mxt_fleet_endpoint ep;
	redisContext *rc;
	int up;
	uint64_t next_try_ms, backoff_ms;
	char epoch[40];          /* the data generation seen ("" = never) */
	char log_id[48];         /* last log entry read */
	char ops_id[48];         /* last action read (ops shard) */
	int refill;              /* this Redis lost its data: rewrite ours */
	uint64_t seq;            /* sequence of the next batch */
	struct brec *bv;         /* the batch in flight (re-sent until acknowledged) */
	size_t bn;
	int inflight;
	uint64_t bseq;
	uint8_t *blob;           /* the in-flight batch's deltas, as sent */
	size_t blen;
	/* The last batches Redis acknowledged: another node may not have read
	 * them when this Redis lost its data; they are sent again (same
	 * sequence numbers: who read them drops them) to the empty one. */
	struct sent hist[HIST_MAX];
	unsigned int hist_next;
	uint64_t lost_ms;        /* when it last went away */
	uint64_t ack_ms;         /* when it last acknowledged a batch */
	uint32_t bspan;          /* the batch's deltas accumulated over this many s (an outage) */
	uint64_t outages, errors, last_ok;
	char last_err[128];
};

/* What status shows of a shard: a copy the thread publishes under f->lock. */
struct shard_view {
	int up;
	uint64_t outages, last_ok;
	char last_err[128];
};

/* Another node, as its heartbeat and its log entries show it. */
struct node_view {
	char name[MXT_FLEET_NAME_MAX];
	uint64_t inc;            /* its process (a restart starts its sequences over) */
	uint64_t last_seq[MXT_FLEET_SHARDS_MAX]; /* per shard: batches applied */
	uint64_t heartbeat;      /* its unix time at its last heartbeat */
	uint64_t seen_at;        /* our time when we read it */
	uint64_t backlog, dropped;
	int shards_up;
};

struct mxt_fleet {
	struct mxt_fleet_config cfg;
	struct mxt_controller *c;
	struct mxt_fleet_ring ring;
	struct shard sh[MXT_FLEET_SHARDS_MAX];
	struct shard_view shv[MXT_FLEET_SHARDS_MAX]; /* under lock */
	int nsh;
	unsigned int ops_shard, nodes_shard;
	char k_log[160], k_ops[160], k_nodes[160], k_epoch[160];
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int kick, stop, joined, join_done;
	uint64_t now;            /* the controller's time at the last tick */
	struct mxt_fleet_buf *buf;
	char out_ops[OPS_MAX][OP_LEN];
	int nout;
	char in_ops[OPS_MAX][OP_LEN];
	int nin;
	struct mxt_key touch[TOUCH_MAX]; /* sources an action changed here */
	int ntouch;
	int remote;
	char inc[24];            /* this process, in every log entry */
	struct node_view nodes[NODES_MAX];
	int nnodes;
	/* SYN-flood blocks (main thread only): this node's, announced with
	 * the time they end; the fleet's, applied here (not announced again) */
	struct blk {
		struct mxt_key key;
		uint32_t until;
	} lblk[BLOCKS_MAX], rblk[BLOCKS_MAX];
	int nlblk, nrblk;
	struct mxt_fleet_stats st;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Copy a shard's health for status (which runs on the main thread). */
static void shard_publish(struct mxt_fleet *f, const struct shard *s)
{
	struct shard_view *v = &f->shv[s - f->sh];

	pthread_mutex_lock(&f->lock);
	v->up = s->up;
	v->outages = s->outages;
	v->last_ok = s->last_ok;
	snprintf(v->last_err, sizeof(v->last_err), "%s", s->last_err);
	pthread_mutex_unlock(&f->lock);
}

int mxt_fleet_config_check(const struct mxt_fleet_config *cfg, char *err, size_t errlen)
{
	struct mxt_fleet_endpoint e;

	if (cfg->nendpoints < 1 || cfg->nendpoints > MXT_FLEET_SHARDS_MAX) {
		mxt_seterr(err, errlen, "fleet_redis: 1..%d endpoints", MXT_FLEET_SHARDS_MAX);
		return -EINVAL;
	}
	for (int i = 0; i < cfg->nendpoints; i++)
		if (mxt_fleet_endpoint_parse(cfg->endpoints[i], &e, err, errlen) < 0)
			return -EINVAL;
	if (mxt_fleet_name_check(cfg->fleet) < 0) {
		mxt_seterr(err, errlen, "fleet_name: '%s' is not 1..63 of [A-Za-z0-9._-]", cfg->fleet);
		return -EINVAL;
	}
	if (mxt_fleet_name_check(cfg->node) < 0) {
		mxt_seterr(err, errlen, "node_name: '%s' is not 1..63 of [A-Za-z0-9._-]", cfg->node);
		return -EINVAL;
	}
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static void shard_down(struct mxt_fleet *f, struct shard *s, const char *why)
{
	/* 'why' may be the context's own errstr: copy it before the free. */
	snprintf(s->last_err, sizeof(s->last_err), "%s", why);
	if (s->rc) {
		redisFree(s->rc);
		s->rc = NULL;
	}
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->next_try_ms = mono_ms() + s->backoff_ms;
	if (s->up) {
		s->lost_ms = mono_ms();
		/* Logged once per outage; the retries are silent. */
		mxt_log_warnx("FLEET redis %s down: %s (going on with the local view, deltas buffered)",
			      s->ep.text, s->last_err);
		s->outages++;
		pthread_mutex_lock(&f->lock);
		f->st.outages++;
		pthread_mutex_unlock(&f->lock);
	}
	s->up = 0;
	shard_publish(f, s);
}

static redisReply *cmd(struct shard *s, const char *fmt, ...)
{
	va_list ap;
	void *r;

	va_start(ap, fmt);
	r = redisvCommand(s->rc, fmt, ap);
	va_end(ap);
	return r;
}

/* The id of the newest entry of stream 'key', or "0-0". */
static int stream_tail(struct shard *s, const char *key, char *id, size_t len)
{
	redisReply *r = cmd(s, "XREVRANGE %s + - COUNT 1", key);

	if (!r)
		return -EIO;
	snprintf(id, len, "0-0");
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
	    r->element[0]->element[0]->type == REDIS_REPLY_STRING)
		snprintf(id, len, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	return 0;
}

/* Connect, then compare the shard's epoch with what we knew: a Redis that
 * lost its data (restart without persistence, FLUSHALL) gets our records
 * and counts again, and its log is read from the start. */
static int shard_connect(struct mxt_fleet *f, struct shard *s)
{
	struct timeval ct = { 0, CONNECT_MS * 1000 }, tt = { 0, COMMAND_MS * 1000 };
	char fresh[40], id[48];
	uint8_t rnd[12];
	redisReply *r;
	int had = s->epoch[0] != 0, was_down = s->outages > 0;

	s->rc = s->ep.is_unix ? redisConnectUnixWithTimeout(s->ep.host, ct)
			      : redisConnectWithTimeout(s->ep.host, s->ep.port, ct);
	if (!s->rc || s->rc->err) {
		shard_down(f, s, s->rc ? s->rc->errstr : "out of memory");
		return -EIO;
	}
	redisSetTimeout(s->rc, tt);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(fresh + 2 * i, 3, "%02x", rnd[i]);
	r = cmd(s, "SET %s %s NX", f->k_epoch, fresh);
	if (r)
		freeReplyObject(r);
	r = cmd(s, "GET %s", f->k_epoch);
	if (!r || r->type != REDIS_REPLY_STRING) {
		if (r)
			freeReplyObject(r);
		shard_down(f, s, s->rc && s->rc->err ? s->rc->errstr : "no epoch");
		return -EIO;
	}
	if (!had) {
		/* First contact: read what is written from now on; the past
		 * comes from the records (join). */
		if (stream_tail(s, f->k_log, id, sizeof(id)) < 0) {
			freeReplyObject(r);
			shard_down(f, s, "XREVRANGE failed");
			return -EIO;
		}
		snprintf(s->log_id, sizeof(s->log_id), "%s", id);
		if (stream_tail(s, f->k_ops, id, sizeof(id)) == 0)
			snprintf(s->ops_id, sizeof(s->ops_id), "%s", id);
	} else if (strcmp(s->epoch, r->str)) {
		mxt_log_warnx("FLEET redis %s lost its data (epoch %s, was %s): refilling from this node",
			      s->ep.text, r->str, s->epoch);
		s->refill = 1;
		snprintf(s->log_id, sizeof(s->log_id), "0-0");
		snprintf(s->ops_id, sizeof(s->ops_id), "0-0");
	}
	snprintf(s->epoch, sizeof(s->epoch), "%s", r->str);
	freeReplyObject(r);
	s->up = 1;
	s->backoff_ms = 0;
	shard_publish(f, s);
	if (was_down) {
		mxt_log_info("FLEET redis %s up again: merging buffered deltas", s->ep.text);
		pthread_mutex_lock(&f->lock);
		f->st.reconnects++;
		pthread_mutex_unlock(&f->lock);
	}
	return 0;
}

/* ---- batches ------------------------------------------------------------ */

struct build_ctx {
	struct mxt_fleet *f;
	struct shard *sh[MXT_FLEET_SHARDS_MAX]; /* NULL: shard down or busy */
	size_t cap[MXT_FLEET_SHARDS_MAX];
	int oom;
};

/* A pending buffer entry joins its shard's batch. */
static int build_one(void *ctx, struct mxt_fleet_ent *e)
{
	struct build_ctx *b = ctx;
	unsigned int si = mxt_fleet_ring_shard(&b->f->ring, &e->key);
	struct shard *s = b->sh[si];
	struct brec *r;

	if (!s || s->bn >= BATCH_MAX)
		return 0;
	if (s->bn == b->cap[si]) {
		size_t cap = b->cap[si] ? b->cap[si] * 2 : 256;
		void *v = realloc(s->bv, cap * sizeof(*s->bv));

		if (!v) {
			b->oom = 1;
			return 1;
		}
		s->bv = v;
		b->cap[si] = cap;
	}
	r = &s->bv[s->bn++];
	memset(r, 0, sizeof(*r) - sizeof(r->rec));
	r->d.key = e->key;
	r->d.hour = e->hour;
	for (int i = 0; i < MXT_FLEET_NCNT; i++) {
		r->d.v[i] = e->abs[i] - e->sent[i];
		r->abs[i] = e->abs[i];
	}
	return 0;
}

/* Each batched delta takes its sender's record from the model, when the
 * model holds one worth sharing (not NEW).  Under the controller's lock. */
static int batch_records(struct mxt_model *model, void *ctx)
{
	struct build_ctx *b = ctx;

	for (int i = 0; i < b->f->nsh; i++) {
		struct shard *s = b->sh[i];

		if (!s)
			continue;
		for (size_t j = 0; j < s->bn; j++) {
			const struct mxt_sender *rec = mxt_model_lookup(model, &s->bv[j].d.key);

			s->bv[j].has_rec = rec && rec->state != MXT_STATE_NEW &&
					   mxt_hdb_encode(rec, s->bv[j].rec, sizeof(s->bv[j].rec)) > 0;
		}
	}
	return 0;
}

/* New batches for the shards that are up and have none in flight; the
 * sender records come from the model (controller's lock, memory only). */
static void build_batches(struct mxt_fleet *f, size_t caps[MXT_FLEET_SHARDS_MAX])
{
	struct build_ctx b = { .f = f };
	int any = 0;

	for (int i = 0; i < f->nsh; i++) {
		b.cap[i] = caps[i];
		if (f->sh[i].up && !f->sh[i].inflight) {
			b.sh[i] = &f->sh[i];
			f->sh[i].bn = 0;
			any = 1;
		}
	}
	if (!any)
		return;
	pthread_mutex_lock(&f->lock);
	mxt_fleet_buf_pending(f->buf, build_one, &b);
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < f->nsh; i++)
		caps[i] = b.cap[i];
	mxt_ctl_with_model(f->c, batch_records, &b);
	for (int i = 0; i < f->nsh; i++) {
		struct shard *s = b.sh[i];

		if (s && s->bn) {
			s->inflight = 1;
			s->bseq = ++s->seq;
			/* the first batch after an outage holds what accumulated
			 * during it: readers spread it over that span */
			s->bspan = s->lost_ms > s->ack_ms ? (uint32_t)((mono_ms() - s->lost_ms) / 1000 + 1) : 0;
		}
	}
}

/* Queue the batch's commands; returns the number of replies to read. */
static int append_batch(struct mxt_fleet *f, struct shard *s)
{
	char key[200], hf[MXT_FLEET_NCNT][MXT_FLEET_NAME_MAX + 4], hv[MXT_FLEET_NCNT][16], seq[24], span[16];
	uint8_t *blob;
	size_t nd = 0;
	int n = 0;

	for (int i = 0; i < MXT_FLEET_NCNT; i++)
		snprintf(hf[i], sizeof(hf[i]), "%s.%c", f->cfg.node, mxt_fleet_cnt_field[i]);
	blob = malloc(s->bn * MXT_FLEET_DELTA_LEN + 1);
	if (!blob)
		return -ENOMEM;
	for (size_t j = 0; j < s->bn; j++) {
		const struct brec *r = &s->bv[j];
		const char *argv[2 + 2 * MXT_FLEET_NCNT];
		int zero = 1;

		mxt_fleet_key_counts(key, sizeof(key), f->cfg.fleet, &r->d.key, r->d.hour);
		argv[0] = "HSET";
		argv[1] = key;
		for (int i = 0; i < MXT_FLEET_NCNT; i++) {
			snprintf(hv[i], sizeof(hv[i]), "%u", r->abs[i]);
			argv[2 + 2 * i] = hf[i];
			argv[3 + 2 * i] = hv[i];
			zero &= r->d.v[i] == 0;
		}
		redisAppendCommandArgv(s->rc, 2 + 2 * MXT_FLEET_NCNT, argv, NULL);
		redisAppendCommand(s->rc, "EXPIRE %s %d", key, HASH_TTL);
		n += 2;
		if (r->has_rec) {
			mxt_fleet_key_record(key, sizeof(key), f->cfg.fleet, &r->d.key);
			redisAppendCommand(s->rc, "SET %s %b EX %d", key, r->rec, (size_t)MXT_HDB_RECORD_LEN,
					   RECORD_TTL);
			n++;
		}
		if (!zero)
			mxt_fleet_delta_encode(&r->d, blob + MXT_FLEET_DELTA_LEN * nd++);
	}
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)s->bseq);
	snprintf(span, sizeof(span), "%u", s->bspan);
	/* Always one entry, even without deltas (a hash-only refill): the
	 * XADD's answer is the batch's acknowledgement. */
	redisAppendCommand(s->rc, "XADD %s MAXLEN ~ " LOG_MAXLEN " * n %s i %s q %s s %s b %b", f->k_log,
			   f->cfg.node, f->inc, seq, span, blob, nd * MXT_FLEET_DELTA_LEN);
	free(s->blob);
	s->blob = blob;
	s->blen = nd * MXT_FLEET_DELTA_LEN;
	return n + 1;
}

/* Redis has the batch: its counts are acknowledged in the buffer, its
 * log entry kept for a while (struct shard, hist). */
static void ack_batch(struct mxt_fleet *f, struct shard *s)
{
	struct sent *h = &s->hist[s->hist_next++ % HIST_MAX];
	uint64_t recs = 0;

	free(h->blob);
	h->seq = s->bseq;
	h->at_ms = mono_ms();
	s->ack_ms = h->at_ms;
	h->span = s->bspan;
	h->blob = s->blob;
	h->len = s->blen;
	s->blob = NULL;
	s->blen = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t j = 0; j < s->bn; j++) {
		mxt_fleet_buf_ack(f->buf, &s->bv[j].d.key, s->bv[j].d.hour, s->bv[j].d.v, s->bv[j].abs);
		recs += s->bv[j].has_rec;
	}
	f->st.batches++;
	f->st.deltas_sent += s->bn;
	f->st.records_sent += recs;
	pthread_mutex_unlock(&f->lock);
	s->inflight = 0;
	s->bn = 0;
}

/* ---- reading ------------------------------------------------------------ */

/* One undecodable entry more (status reads the counters under the lock). */
static void count_bad(struct mxt_fleet *f)
{
	pthread_mutex_lock(&f->lock);
	f->st.bad++;
	pthread_mutex_unlock(&f->lock);
}

/* The view of node 'name' (created), or NULL when the table is full. */
static struct node_view *node_get(struct mxt_fleet *f, const char *name)
{
	for (int i = 0; i < f->nnodes; i++)
		if (!strcmp(f->nodes[i].name, name))
			return &f->nodes[i];
	if (f->nnodes == NODES_MAX || mxt_fleet_name_check(name) < 0)
		return NULL;
	memset(&f->nodes[f->nnodes], 0, sizeof(f->nodes[0]));
	snprintf(f->nodes[f->nnodes].name, sizeof(f->nodes[0].name), "%s", name);
	return &f->nodes[f->nnodes++];
}

/* The value of field 'name' in a stream entry's field array. */
static const redisReply *entry_field(const redisReply *fields, const char *name)
{
	if (fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (fields->element[i]->type == REDIS_REPLY_STRING && !strcmp(fields->element[i]->str, name))
			return fields->element[i + 1];
	return NULL;
}

/* Deltas of other nodes, gathered outside the model's lock, each with the
 * span its batch accumulated over. */
struct applied {
	struct mxt_fleet_delta *v;
	uint32_t *span;
	size_t n, cap;
};

static int applied_push(struct applied *a, const struct mxt_fleet_delta *d, uint32_t span)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		void *v = realloc(a->v, cap * sizeof(*a->v)), *sp;

		if (!v)
			return -ENOMEM;
		a->v = v;
		sp = realloc(a->span, cap * sizeof(*a->span));
		if (!sp)
			return -ENOMEM;
		a->span = sp;
		a->cap = cap;
	}
	a->span[a->n] = span;
	a->v[a->n++] = *d;
	return 0;
}

/* One log entry: another node's batch for this shard. */
static void read_log_entry(struct mxt_fleet *f, unsigned int si, const redisReply *fields,
			   struct applied *out)
{
	const redisReply *n = entry_field(fields, "n"), *q = entry_field(fields, "q"),
			 *b = entry_field(fields, "b"), *inc = entry_field(fields, "i"), *sf = entry_field(fields, "s");
	struct mxt_fleet_delta d;
	struct node_view *nv;
	uint64_t seq, incv, span = 0;

	if (!n || !q || !b || !inc || n->type != REDIS_REPLY_STRING || q->type != REDIS_REPLY_STRING ||
	    b->type != REDIS_REPLY_STRING || inc->type != REDIS_REPLY_STRING) {
		count_bad(f);
		return;
	}
	if (!strcmp(n->str, f->cfg.node))
		return;
	seq = strtoull(q->str, NULL, 10);
	incv = strtoull(inc->str, NULL, 16);
	if (sf && sf->type == REDIS_REPLY_STRING)
		span = strtoull(sf->str, NULL, 10); /* absent (an older node): at once */
	pthread_mutex_lock(&f->lock);
	nv = node_get(f, n->str);
	if (nv && nv->inc != incv) {
		nv->inc = incv;
		memset(nv->last_seq, 0, sizeof(nv->last_seq));
	}
	if (nv && seq <= nv->last_seq[si]) {
		f->st.dups++;
		nv = NULL;
	} else if (nv) {
		nv->last_seq[si] = seq;
		f->st.entries_read++;
	}
	pthread_mutex_unlock(&f->lock);
	if (!nv)
		return;
	for (size_t i = 0;; i++) {
		int rc = mxt_fleet_delta_decode((const uint8_t *)b->str, b->len, i, &d);

		if (rc == -ERANGE)
			break;
		if (rc < 0) {
			count_bad(f);
			break;
		}
		if (applied_push(out, &d, span > UINT32_MAX ? UINT32_MAX : (uint32_t)span) < 0)
			break;
	}
}

/* One announced action: queued for the controller's next tick. */
static void read_op_entry(struct mxt_fleet *f, const redisReply *fields)
{
	const redisReply *n = entry_field(fields, "n"), *c = entry_field(fields, "c");
	char buf[OP_LEN], *argv[40];

	if (!n || !c || n->type != REDIS_REPLY_STRING || c->type != REDIS_REPLY_STRING) {
		count_bad(f);
		return;
	}
	if (!strcmp(n->str, f->cfg.node))
		return;
	if (mxt_fleet_op_parse(c->str, buf, sizeof(buf), argv, 40) < 0) {
		count_bad(f);
		mxt_log_warnx("FLEET ignored an action from %s: '%.80s'", n->str, c->str);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (f->nin == OPS_MAX) {
		f->st.ops_dropped++;
	} else {
		snprintf(f->in_ops[f->nin++], OP_LEN, "%s", c->str);
	}
	pthread_mutex_unlock(&f->lock);
}

/* An XREAD reply: [[stream, [[id, fields]...]]...]. */
static void read_streams(struct mxt_fleet *f, unsigned int si, const redisReply *r, struct applied *out)
{
	struct shard *s = &f->sh[si];

	if (!r || r->type != REDIS_REPLY_ARRAY)
		return; /* nil: nothing new */
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *st = r->element[i], *ents;
		int is_ops;

		if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
		    st->element[0]->type != REDIS_REPLY_STRING)
			continue;
		is_ops = !strcmp(st->element[0]->str, f->k_ops);
		ents = st->element[1];
		for (size_t j = 0; ents->type == REDIS_REPLY_ARRAY && j < ents->elements; j++) {
			const redisReply *e = ents->element[j];

			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING)
				continue;
			if (is_ops) {
				snprintf(s->ops_id, sizeof(s->ops_id), "%s", e->element[0]->str);
				read_op_entry(f, e->element[1]);
			} else {
				snprintf(s->log_id, sizeof(s->log_id), "%s", e->element[0]->str);
				read_log_entry(f, si, e->element[1], out);
			}
		}
	}
}

/* HGETALL of the heartbeats: "unix seq backlog dropped shards_up". */
static void read_nodes(struct mxt_fleet *f, const redisReply *r, uint64_t now)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		unsigned long long hb, seq, backlog, dropped;
		int up;
		struct node_view *nv;

		if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (sscanf(r->element[i + 1]->str, "%llu %llu %llu %llu %d", &hb, &seq, &backlog, &dropped,
			   &up) != 5)
			continue;
		nv = node_get(f, r->element[i]->str);
		if (!nv)
			continue;
		nv->heartbeat = hb;
		nv->seen_at = now;
		nv->backlog = backlog;
		nv->dropped = dropped;
		nv->shards_up = up;
	}
	pthread_mutex_unlock(&f->lock);
}

/* One chunk [from, to) of the deltas apply() merges, and what it counted. */
struct apply_chunk {
	const struct applied *a;
	size_t from, to;
	uint64_t now, sessions, past;
};

/* Merge one chunk of deltas into the model.  Under the controller's lock. */
static int apply_chunk(struct mxt_model *model, void *ctx)
{
	struct apply_chunk *x = ctx;
	uint64_t now = x->now;

	for (size_t i = x->from; i < x->to; i++) {
		const struct mxt_fleet_delta *d = &x->a->v[i];
		struct mxt_hour_counts hc = {
			.sessions = d->v[MXT_FLEET_SESS], .rcpts = d->v[MXT_FLEET_RCPT],
			.dsessions = d->v[MXT_FLEET_DSESS], .drcpts = d->v[MXT_FLEET_DRCPT],
			.span = x->a->span[i],
		};

		/* A node whose clock runs ahead sends a future hour: counted
		 * in ours (the hours of a fleet's clocks agree within seconds). */
		if (mxt_model_merge_hour(model, &d->key, now, d->hour > now / 3600 ? (uint32_t)(now / 3600)
										       : d->hour, &hc) < 0)
			continue;
		x->past += d->hour < now / 3600;
		x->sessions += hc.sessions + hc.dsessions;
	}
	return 0;
}

/* Other nodes' events into the model (controller's lock, memory only).
 * A delta of a past hour (merged after an outage) goes to that hour's
 * counts in the model (mxt_model_merge_hour), not to the current one. */
static void apply(struct mxt_fleet *f, const struct applied *a)
{
	struct apply_chunk x = { .a = a };

	if (!a->n)
		return;
	x.now = mxt_ctl_now(f->c);
	for (x.from = 0; x.from < a->n; x.from = x.to) {
		if (x.from)
			sched_yield(); /* let the policy thread in between chunks */
		x.to = a->n - x.from > APPLY_CHUNK ? x.from + APPLY_CHUNK : a->n;
		mxt_ctl_with_model(f->c, apply_chunk, &x);
	}
	pthread_mutex_lock(&f->lock);
	f->st.deltas_applied += a->n;
	f->st.sessions_applied += x.sessions;
	f->st.stale += x.past;
	pthread_mutex_unlock(&f->lock);
}

/* ---- refill and join ------------------------------------------------------ */

struct rec_list {
	struct mxt_fleet *f;
	unsigned int shard;
	struct mxt_key *k;
	uint8_t (*rec)[MXT_HDB_RECORD_LEN];
	size_t n, cap;
	int oom;
};

static int rec_collect(void *ctx, const struct mxt_sender *s)
{
	struct rec_list *l = ctx;

	if (mxt_fleet_ring_shard(&l->f->ring, &s->key) != l->shard)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		void *k = realloc(l->k, cap * sizeof(*l->k)), *r;

		if (!k) {
			l->oom = 1;
			return 1;
		}
		l->k = k;
		r = realloc(l->rec, cap * sizeof(*l->rec));
		if (!r) {
			l->oom = 1;
			return 1;
		}
		l->rec = r;
		l->cap = cap;
	}
	l->k[l->n] = s->key;
	mxt_hdb_encode(s, l->rec[l->n], MXT_HDB_RECORD_LEN);
	l->n++;
	return 0;
}

/* The batches acknowledged shortly before this Redis went away again,
 * oldest first, now that it is back without them (refill): a node that had
 * not read them yet reads them now, a node that had drops them (sequence
 * numbers).  Ahead of any new batch, so that readers see the sequence
 * numbers in order. */
static int resend_hist(struct mxt_fleet *f, struct shard *s)
{
	uint64_t since = s->lost_ms > HIST_MS ? s->lost_ms - HIST_MS : 0;
	int n = 0, rc = 0;

	for (unsigned int k = 0; k < HIST_MAX; k++) {
		const struct sent *h = &s->hist[(s->hist_next + k) % HIST_MAX];
		char seq[24], span[16];

		if (!h->seq || h->at_ms < since)
			continue;
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)h->seq);
		snprintf(span, sizeof(span), "%u", h->span);
		redisAppendCommand(s->rc, "XADD %s MAXLEN ~ " LOG_MAXLEN " * n %s i %s q %s s %s b %b", f->k_log,
				   f->cfg.node, f->inc, seq, span, h->blob ? (const char *)h->blob : "", h->len);
		n++;
	}
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;

		if (redisGetReply(s->rc, (void **)&r) != REDIS_OK)
			rc = -EIO;
		if (r)
			freeReplyObject(r);
		if (rc)
			break;
	}
	return rc;
}

/* Every record of the rec_list's shard, from the model.  Under the
 * controller's lock. */
static int rec_collect_all(struct mxt_model *model, void *ctx)
{
	return mxt_model_foreach(model, MXT_ITER_PERSIST, rec_collect, ctx);
}

/* A Redis that lost its data gets every record this node holds (its model,
 * restored from its LMDB history) and its hours' counts again. */
static int refill(struct mxt_fleet *f, struct shard *s, unsigned int si)
{
	struct rec_list l = { .f = f, .shard = si };
	char key[200];
	int rc = 0;

	mxt_ctl_with_model(f->c, rec_collect_all, &l);
	for (size_t i = 0; i < l.n && !rc; i += REFILL_CHUNK) {
		size_t end = i + REFILL_CHUNK < l.n ? i + REFILL_CHUNK : l.n;

		for (size_t j = i; j < end; j++) {
			mxt_fleet_key_record(key, sizeof(key), f->cfg.fleet, &l.k[j]);
			redisAppendCommand(s->rc, "SET %s %b EX %d", key, l.rec[j], (size_t)MXT_HDB_RECORD_LEN,
					   RECORD_TTL);
		}
		for (size_t j = i; j < end && !rc; j++) {
			redisReply *r = NULL;

			if (redisGetReply(s->rc, (void **)&r) != REDIS_OK)
				rc = -EIO;
			if (r)
				freeReplyObject(r);
		}
	}
	if (!rc)
		rc = resend_hist(f, s);
	pthread_mutex_lock(&f->lock);
	mxt_fleet_buf_mark_all(f->buf);
	if (!rc)
		f->st.refills++;
	pthread_mutex_unlock(&f->lock);
	if (!rc)
		mxt_log_info("FLEET redis %s refilled with %zu sender records", s->ep.text, l.n);
	free(l.k);
	free(l.rec);
	return rc;
}

/* Take a shared record unless the model holds a newer one (last_seen) of
 * its sender; 1 when taken.  Under the controller's lock. */
static int learn_record(struct mxt_model *model, void *ctx)
{
	const struct mxt_sender *rec = ctx, *mine = mxt_model_lookup(model, &rec->key);

	return (!mine || mine->last_seen < rec->last_seen) && mxt_model_restore(model, rec) == 0;
}

/* Learn the shared records of one shard: those this node does not hold,
 * or holds older (last_seen), replace its own.  Bounded by 'deadline'. */
static int join_shard(struct mxt_fleet *f, struct shard *s, uint64_t deadline)
{
	char pattern[200], cursor[32] = "0";
	uint64_t learned = 0;

	snprintf(pattern, sizeof(pattern), "mxt:%s:r:*", f->cfg.fleet);
	do {
		redisReply *r = cmd(s, "SCAN %s MATCH %s COUNT 1000", cursor, pattern), *keys;

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			return -EIO;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str ? r->element[0]->str : "0");
		keys = r->element[1];
		for (size_t i = 0; i < keys->elements; i++)
			redisAppendCommand(s->rc, "GET %s", keys->element[i]->str);
		for (size_t i = 0; i < keys->elements; i++) {
			redisReply *v = NULL;
			const char *hex = strrchr(keys->element[i]->str, ':');
			struct mxt_sender rec;
			struct mxt_key k;
			uint8_t kb[MXT_HDB_KEY_LEN];

			if (redisGetReply(s->rc, (void **)&v) != REDIS_OK) {
				freeReplyObject(r);
				return -EIO;
			}
			if (v && v->type == REDIS_REPLY_STRING && hex && mxt_fleet_key_unhex(hex + 1, &k) == 0) {
				mxt_hdb_encode_key(&k, kb);
				if (mxt_hdb_decode(kb, sizeof(kb), (const uint8_t *)v->str, v->len, &rec) == 0)
					learned += (uint64_t)mxt_ctl_with_model(f->c, learn_record, &rec);
			}
			if (v)
				freeReplyObject(v);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") && mono_ms() < deadline);
	pthread_mutex_lock(&f->lock);
	f->st.joined_records += learned;
	pthread_mutex_unlock(&f->lock);
	return strcmp(cursor, "0") ? -ETIMEDOUT : (int)learned;
}

static void join(struct mxt_fleet *f)
{
	uint64_t deadline = mono_ms() + (uint64_t)f->cfg.join_timeout * 1000u;
	int ok = 1;
	long learned = 0;

	for (int i = 0; i < f->nsh; i++) {
		struct shard *s = &f->sh[i];
		int rc;

		while (!s->up && mono_ms() < deadline && !f->stop) {
			if (mono_ms() >= s->next_try_ms && shard_connect(f, s) == 0)
				break;
			{
				struct timespec ts = { 0, 50 * 1000000L };

				nanosleep(&ts, NULL);
			}
		}
		if (!s->up) {
			ok = 0;
			continue;
		}
		rc = join_shard(f, s, deadline);
		if (rc < 0) {
			ok = 0;
			if (rc == -EIO)
				shard_down(f, s, "join failed");
		} else {
			learned += rc;
		}
	}
	if (ok)
		mxt_log_info("FLEET joined %s as %s: %ld sender records learned from %d shard(s)",
			     f->cfg.fleet, f->cfg.node, learned, f->nsh);
	else
		mxt_log_warnx("FLEET join of %s incomplete (%ld records learned): answering from the local view",
			      f->cfg.fleet, learned);
	pthread_mutex_lock(&f->lock);
	f->joined = ok;
	f->join_done = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

/* ---- the exchange -------------------------------------------------------- */

/* A sender an action touched, and its record as the action left it. */
struct touched {
	int has;                          /* 0: gone from the model (forget) */
	uint8_t rec[MXT_HDB_RECORD_LEN];
};

/* The senders the actions touched, read from the model. */
struct touch_list {
	const struct mxt_key *key;
	struct touched *tv;
	int n;
};

/* Encode each touched sender's record.  Under the controller's lock. */
static int touch_records(struct mxt_model *model, void *ctx)
{
	struct touch_list *t = ctx;

	for (int i = 0; i < t->n; i++) {
		const struct mxt_sender *rec = mxt_model_lookup(model, &t->key[i]);

		t->tv[i].has = rec && mxt_hdb_encode(rec, t->tv[i].rec, sizeof(t->tv[i].rec)) > 0;
	}
	return 0;
}

/* One pipeline per shard that is up: batch, heartbeat, reads. */
static void exchange(struct mxt_fleet *f, int ticked, struct applied *got)
{
	char ops[OPS_MAX][OP_LEN], hb[128];
	struct mxt_key touch[TOUCH_MAX];
	struct touched *tv = NULL;
	int nops = 0, ntouch;
	uint64_t t0 = mono_us(), now;
	struct mxt_fleet_stats snap;

	pthread_mutex_lock(&f->lock);
	if (f->sh[f->ops_shard].up) {
		nops = f->nout;
		memcpy(ops, f->out_ops, sizeof(ops[0]) * (size_t)nops);
		f->nout = 0;
	}
	ntouch = f->ntouch;
	memcpy(touch, f->touch, sizeof(touch[0]) * (size_t)ntouch);
	f->ntouch = 0;
	now = f->now;
	snap = f->st;
	snap.backlog = mxt_fleet_buf_backlog(f->buf);
	snap.dropped = f->buf->dropped;
	pthread_mutex_unlock(&f->lock);

	if (ntouch && (tv = calloc((size_t)ntouch, sizeof(*tv)))) {
		/* The records as the actions left them (or gone: forget), so
		 * that a joining node does not learn the state before them. */
		struct touch_list t = { .key = touch, .tv = tv, .n = ntouch };

		mxt_ctl_with_model(f->c, touch_records, &t);
	}
	for (int si = 0; si < f->nsh; si++) {
		struct shard *s = &f->sh[si];
		int nrep = 0, batch_rep = -1, xread_rep, nodes_rep = -1, ops_rep = -1, up = 0, err = 0;

		if (!s->up)
			continue;
		if (s->refill) {
			if (refill(f, s, (unsigned)si) < 0) {
				shard_down(f, s, s->rc && s->rc->err ? s->rc->errstr : "refill failed");
				continue;
			}
			s->refill = 0;
		}
		if (s->inflight) {
			int n = append_batch(f, s);

			if (n < 0)
				continue;
			nrep += n;
			batch_rep = nrep - 1;
		}
		for (int i = 0; tv && i < ntouch; i++) {
			char key[200];

			if (mxt_fleet_ring_shard(&f->ring, &touch[i]) != (unsigned)si)
				continue;
			mxt_fleet_key_record(key, sizeof(key), f->cfg.fleet, &touch[i]);
			if (tv[i].has)
				redisAppendCommand(s->rc, "SET %s %b EX %d", key, tv[i].rec,
						   (size_t)MXT_HDB_RECORD_LEN, RECORD_TTL);
			else
				redisAppendCommand(s->rc, "DEL %s", key);
			nrep++;
		}
		if ((unsigned)si == f->ops_shard && nops) {
			for (int i = 0; i < nops; i++)
				redisAppendCommand(s->rc, "XADD %s MAXLEN ~ " OPS_MAXLEN " * n %s c %s", f->k_ops,
						   f->cfg.node, ops[i]);
			nrep += nops;
			ops_rep = nrep - 1;
		}
		if ((unsigned)si == f->nodes_shard && ticked) {
			for (int i = 0; i < f->nsh; i++)
				up += f->sh[i].up;
			snprintf(hb, sizeof(hb), "%llu %llu %llu %llu %d", (unsigned long long)now,
				 (unsigned long long)s->seq, (unsigned long long)snap.backlog,
				 (unsigned long long)snap.dropped, up);
			redisAppendCommand(s->rc, "HSET %s %s %s", f->k_nodes, f->cfg.node, hb);
			redisAppendCommand(s->rc, "HGETALL %s", f->k_nodes);
			nrep += 2;
			nodes_rep = nrep - 1;
		}
		if ((unsigned)si == f->ops_shard)
			redisAppendCommand(s->rc, "XREAD COUNT " READ_COUNT " STREAMS %s %s %s %s", f->k_log,
					   f->k_ops, s->log_id, s->ops_id);
		else
			redisAppendCommand(s->rc, "XREAD COUNT " READ_COUNT " STREAMS %s %s", f->k_log, s->log_id);
		xread_rep = nrep++;
		pthread_mutex_lock(&f->lock);
		f->st.exchanges++;
		pthread_mutex_unlock(&f->lock);
		for (int i = 0; i < nrep; i++) {
			redisReply *r = NULL;

			if (redisGetReply(s->rc, (void **)&r) != REDIS_OK) {
				err = 1;
				break;
			}
			if (r && r->type == REDIS_REPLY_ERROR && (i == batch_rep || i == ops_rep || i == xread_rep)) {
				snprintf(s->last_err, sizeof(s->last_err), "%s", r->str);
				err = 2;
			}
			if (i == batch_rep && r && r->type == REDIS_REPLY_STRING)
				ack_batch(f, s);
			if (i == ops_rep && r && r->type == REDIS_REPLY_STRING) {
				pthread_mutex_lock(&f->lock);
				f->st.ops_sent += (uint64_t)nops;
				pthread_mutex_unlock(&f->lock);
				nops = 0;
			}
			if (i == nodes_rep)
				read_nodes(f, r, now);
			if (i == xread_rep)
				read_streams(f, (unsigned)si, r, got);
			if (r)
				freeReplyObject(r);
		}
		if (err == 1) {
			shard_down(f, s, s->rc && s->rc->err ? s->rc->errstr : "no reply");
			continue;
		}
		s->last_ok = now;
		pthread_mutex_lock(&f->lock);
		f->st.round_trips++;
		pthread_mutex_unlock(&f->lock);
		if (err)
			shard_publish(f, s);
	}
	if (nops) {
		/* Not sent (the ops shard went down): back to the queue front. */
		pthread_mutex_lock(&f->lock);
		for (int i = 0; i < nops && f->nout < OPS_MAX; i++) {
			memmove(f->out_ops[1], f->out_ops[0], sizeof(f->out_ops[0]) * (size_t)f->nout);
			snprintf(f->out_ops[0], OP_LEN, "%s", ops[nops - 1 - i]);
			f->nout++;
		}
		pthread_mutex_unlock(&f->lock);
	}
	free(tv);
	pthread_mutex_lock(&f->lock);
	f->st.exchange_usec_last = mono_us() - t0;
	pthread_mutex_unlock(&f->lock);
}

static void *fleet_thread(void *arg)
{
	struct mxt_fleet *f = arg;
	size_t caps[MXT_FLEET_SHARDS_MAX] = { 0 };
	struct applied got = { 0 };
	uint32_t gc_hour = 0;

	join(f);
	for (;;) {
		struct timespec ts;
		int ticked, stop;
		uint64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&f->lock);
		while (!f->kick && !f->stop)
			if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) == ETIMEDOUT)
				break;
		ticked = f->kick;
		f->kick = 0;
		stop = f->stop;
		now = f->now;
		pthread_mutex_unlock(&f->lock);

		for (int i = 0; i < f->nsh; i++)
			if (!f->sh[i].up && mono_ms() >= f->sh[i].next_try_ms)
				shard_connect(f, &f->sh[i]);
		if (ticked || stop)
			build_batches(f, caps);
		got.n = 0;
		exchange(f, ticked, &got);
		apply(f, &got);
		if (now && now / 3600 != gc_hour) {
			/* Hashes of the hour before stay 2 h in Redis; the buffer
			 * keeps what Redis has not acknowledged. */
			gc_hour = (uint32_t)(now / 3600);
			pthread_mutex_lock(&f->lock);
			mxt_fleet_buf_gc(f->buf, gc_hour > 0 ? gc_hour - 1 : 0);
			pthread_mutex_unlock(&f->lock);
		}
		if (stop)
			break;
	}
	free(got.v);
	free(got.span);
	return NULL;
}

/* ---- hooks ---------------------------------------------------------------- */

struct mxt_fleet *mxt_fleet_start(const struct mxt_fleet_config *cfg, struct mxt_controller *c,
				  char *err, size_t errlen)
{
	const char *names[MXT_FLEET_SHARDS_MAX];
	struct mxt_fleet *f;

	if (mxt_fleet_config_check(cfg, err, errlen) < 0)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		mxt_seterr(err, errlen, "out of memory");
		return NULL;
	}
	f->cfg = *cfg;
	f->c = c;
	f->nsh = cfg->nendpoints;
	for (int i = 0; i < f->nsh; i++) {
		mxt_fleet_endpoint_parse(cfg->endpoints[i], &f->sh[i].ep, err, errlen);
		names[i] = f->sh[i].ep.text;
		snprintf(f->sh[i].log_id, sizeof(f->sh[i].log_id), "0-0");
		snprintf(f->sh[i].ops_id, sizeof(f->sh[i].ops_id), "0-0");
	}
	mxt_fleet_ring_build(&f->ring, names, (size_t)f->nsh);
	f->ops_shard = mxt_fleet_ring_shard_name(&f->ring, "ops");
	f->nodes_shard = mxt_fleet_ring_shard_name(&f->ring, "nodes");
	mxt_fleet_key_fixed(f->k_log, sizeof(f->k_log), cfg->fleet, "log");
	mxt_fleet_key_fixed(f->k_ops, sizeof(f->k_ops), cfg->fleet, "ops");
	mxt_fleet_key_fixed(f->k_nodes, sizeof(f->k_nodes), cfg->fleet, "nodes");
	mxt_fleet_key_fixed(f->k_epoch, sizeof(f->k_epoch), cfg->fleet, "epoch");
	f->buf = mxt_fleet_buf_new(cfg->buffer ? cfg->buffer : 262144);
	if (!f->buf) {
		free(f);
		mxt_seterr(err, errlen, "out of memory for the fleet buffer");
		return NULL;
	}
	f->now = mxt_ctl_now(c);
	{
		uint64_t r = 0;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint64_t)time(NULL) ^ (uint64_t)mono_us();
		snprintf(f->inc, sizeof(f->inc), "%llx", (unsigned long long)r);
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (pthread_create(&f->tid, NULL, fleet_thread, f)) {
		mxt_fleet_buf_free(f->buf);
		free(f);
		mxt_seterr(err, errlen, "cannot start the fleet thread");
		return NULL;
	}
	return f;
}

int mxt_fleet_join_wait(struct mxt_fleet *f)
{
	struct timespec ts;
	int joined;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += f->cfg.join_timeout + 1;
	pthread_mutex_lock(&f->lock);
	while (!f->join_done)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) == ETIMEDOUT)
			break;
	joined = f->joined;
	pthread_mutex_unlock(&f->lock);
	return joined;
}

void mxt_fleet_stop(struct mxt_fleet *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->tid, NULL);
	for (int i = 0; i < f->nsh; i++) {
		if (f->sh[i].rc)
			redisFree(f->sh[i].rc);
		free(f->sh[i].bv);
		free(f->sh[i].blob);
		for (int k = 0; k < HIST_MAX; k++)
			free(f->sh[i].hist[k].blob);
	}
	mxt_fleet_buf_free(f->buf);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void mxt_fleet_note(struct mxt_fleet *f, const struct mxt_key *key, uint64_t now,
		    enum mxt_fleet_cnt_idx idx, uint32_t n)
{
	if (!f || !n)
		return;
	pthread_mutex_lock(&f->lock);
	mxt_fleet_buf_note(f->buf, key, (uint32_t)(now / 3600), idx, n);
	pthread_mutex_unlock(&f->lock);
}

/* ---- SYN-flood blocks ------------------------------------------------------ */

/* Queue one line on the ops stream (f->lock held). */
static void op_enqueue(struct mxt_fleet *f, const char *line)
{
	if (f->nout == OPS_MAX)
		f->st.ops_dropped++;
	else
		snprintf(f->out_ops[f->nout++], OP_LEN, "%s", line);
	f->kick = 1;
	pthread_cond_signal(&f->cond);
}

/* Announce this node's block of 'key' until 'until'. */
static void block_announce(struct mxt_fleet *f, const struct mxt_key *key, uint32_t until)
{
	char hex[MXT_FLEET_KEY_HEX + 1], line[OP_LEN];

	mxt_fleet_key_hex(key, hex);
	snprintf(line, sizeof(line), "block %s %u", hex, until);
	pthread_mutex_lock(&f->lock);
	op_enqueue(f, line);
	f->st.blocks_sent++;
	pthread_mutex_unlock(&f->lock);
}

/* The entry of 'key' in a block list, or NULL. */
static struct blk *blk_find(struct blk *v, int n, const struct mxt_key *key)
{
	for (int i = 0; i < n; i++)
		if (!memcmp(&v[i].key, key, sizeof(*key)))
			return &v[i];
	return NULL;
}

/* Remember 'key' until 'until' in a block list (a full list forgets the
 * entry that ends first). */
static void blk_put(struct blk *v, int *n, const struct mxt_key *key, uint32_t until)
{
	struct blk *b = blk_find(v, *n, key);

	if (!b && *n < BLOCKS_MAX) {
		b = &v[(*n)++];
	} else if (!b) {
		b = &v[0];
		for (int i = 1; i < *n; i++)
			if (v[i].until < b->until)
				b = &v[i];
	}
	b->key = *key;
	b->until = until;
}

/* A sender's block in the model: read (block_get) or set (block_set). */
struct block_op {
	const struct mxt_key *key;
	uint64_t now;
	uint32_t until;   /* unix seconds; 0: not blocked */
};

/* The end of the sender's block, 0 if none.  Under the controller's lock. */
static int block_get(struct mxt_model *model, void *ctx)
{
	struct block_op *b = ctx;

	b->until = mxt_model_block_until(model, b->key);
	return 0;
}

/* Block the sender until b->until; 0 or -errno.  Under the controller's lock. */
static int block_set(struct mxt_model *model, void *ctx)
{
	const struct block_op *b = ctx;

	return mxt_model_block(model, b->key, b->now, b->until);
}

void mxt_fleet_changes(struct mxt_fleet *f, const struct mxt_model_change *v, size_t n, uint64_t now)
{
	if (!f)
		return;
	for (size_t i = 0; i < n; i++) {
		struct block_op b = { .key = &v[i].key };
		const struct blk *r;

		if (v[i].state != MXT_STATE_BLOCKED)
			continue;
		r = blk_find(f->rblk, f->nrblk, &v[i].key);
		if (r && r->until > now)
			continue; /* the fleet's block, applied here */
		mxt_ctl_with_model(f->c, block_get, &b);
		if (!b.until)
			continue;
		blk_put(f->lblk, &f->nlblk, &v[i].key, b.until);
		block_announce(f, &v[i].key, b.until);
	}
}

/* This node's blocks that last longer than announced (the flood goes on)
 * are announced again before the other nodes' copies end; ended ones are
 * dropped.  Under the controller's lock. */
static int blocks_renew_locked(struct mxt_model *model, void *ctx)
{
	struct mxt_fleet *f = ctx;
	uint32_t half = mxt_model_get_params(model)->block_cooldown / 2;

	for (int i = 0; i < f->nlblk; i++) {
		uint32_t until = mxt_model_block_until(model, &f->lblk[i].key);

		if (!until) {
			f->lblk[i--] = f->lblk[--f->nlblk];
		} else if (until >= f->lblk[i].until + half) {
			f->lblk[i].until = until;
			block_announce(f, &f->lblk[i].key, until);
		}
	}
	return 0;
}

/* blocks_renew_locked(), when this node announced any block. */
static void blocks_renew(struct mxt_fleet *f)
{
	if (f->nlblk)
		mxt_ctl_with_model(f->c, blocks_renew_locked, f);
}

/* "block KEYHEX UNTIL" of another node: BLOCKED here too; 1 when applied. */
static int block_apply(struct mxt_fleet *f, char **argv, uint64_t now)
{
	struct mxt_key key;
	struct block_op b = { .key = &key, .now = now };
	char *end, who[64];
	unsigned long long until;
	int rc;

	errno = 0;
	until = strtoull(argv[2], &end, 10);
	if (mxt_fleet_key_unhex(argv[1], &key) < 0 || errno || *end || until > UINT32_MAX) {
		mxt_log_warnx("FLEET ignored a block from the fleet: '%.40s %.20s'", argv[1], argv[2]);
		return 0;
	}
	if (until <= now)
		return 0; /* over already */
	b.until = (uint32_t)until;
	rc = mxt_ctl_with_model(f->c, block_set, &b);
	mxt_key_format(&key, who, sizeof(who));
	if (rc < 0) {
		mxt_log_warnx("FLEET block [%s] from the fleet not applied: %s", who, strerror(-rc));
		return 0;
	}
	blk_put(f->rblk, &f->nrblk, &key, (uint32_t)until);
	mxt_log_info("FLEET block [%s] from the fleet until %llu", who, until);
	pthread_mutex_lock(&f->lock);
	f->st.blocks_applied++;
	pthread_mutex_unlock(&f->lock);
	return 1;
}

void mxt_fleet_tick(struct mxt_fleet *f, uint64_t now)
{
	char ops[OPS_MAX][OP_LEN];
	int n, blocks = 0;

	if (!f || f->remote)
		return;
	pthread_mutex_lock(&f->lock);
	f->now = now;
	f->kick = 1;
	pthread_cond_signal(&f->cond);
	n = f->nin;
	memcpy(ops, f->in_ops, sizeof(ops[0]) * (size_t)n);
	f->nin = 0;
	pthread_mutex_unlock(&f->lock);
	blocks_renew(f);
	/* Actions of other nodes, run here as if typed here, but not
	 * announced again. */
	for (int i = 0; i < n; i++) {
		char buf[OP_LEN], err[256] = "", *argv[40], *body = NULL;
		size_t blen = 0;
		int argc = mxt_fleet_op_parse(ops[i], buf, sizeof(buf), argv, 40), rc;
		FILE *out;

		if (argc < 0)
			continue;
		if (!strcmp(argv[0], "block")) {
			blocks += block_apply(f, argv, now);
			continue;
		}
		out = open_memstream(&body, &blen);
		if (!out)
			continue;
		f->remote = 1;
		rc = mxt_ctl_command(f->c, argc, argv, out, err, sizeof(err));
		f->remote = 0;
		fclose(out);
		free(body);
		if (rc < 0 && rc != -ENOENT)
			mxt_log_warnx("FLEET action '%s' failed here: %s", ops[i], err);
		else
			mxt_log_info("FLEET applied '%s' from the fleet", ops[i]);
		pthread_mutex_lock(&f->lock);
		f->st.ops_applied++;
		pthread_mutex_unlock(&f->lock);
	}
	if (blocks) {
		/* The kernel follows the fleet's blocks now, not a tick later. */
		f->remote = 1;
		mxt_ctl_tick(f->c, now);
		f->remote = 0;
	}
}

void mxt_fleet_announce(struct mxt_fleet *f, int argc, char *const *argv)
{
	char line[OP_LEN];

	if (!f || f->remote || !mxt_fleet_op_shared(argc, argv) ||
	    mxt_fleet_op_format(line, sizeof(line), argc, argv) < 0)
		return;
	pthread_mutex_lock(&f->lock);
	/* Two words: release, reset or forget of one source. */
	if (argc == 2 && f->ntouch < TOUCH_MAX) {
		struct mxt_addr a;

		if (mxt_addr_parse(argv[1], &a) == 0 &&
		    mxt_ctl_key_from_addr(f->c, &a, &f->touch[f->ntouch]) == 0)
			f->ntouch++;
	}
	op_enqueue(f, line);
	pthread_mutex_unlock(&f->lock);
}

int mxt_fleet_remote(const struct mxt_fleet *f)
{
	return f && f->remote;
}

void mxt_fleet_get_stats(struct mxt_fleet *f, struct mxt_fleet_stats *st)
{
	pthread_mutex_lock(&f->lock);
	*st = f->st;
	st->backlog = mxt_fleet_buf_backlog(f->buf);
	st->dropped = f->buf->dropped;
	pthread_mutex_unlock(&f->lock);
}

static int shards_up(struct mxt_fleet *f)
{
	int up = 0;

	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->nsh; i++)
		up += f->shv[i].up;
	pthread_mutex_unlock(&f->lock);
	return up;
}

void mxt_fleet_status_brief(struct mxt_fleet *f, FILE *out, struct mxt_jw *w)
{
	struct mxt_fleet_stats st;
	int up;

	mxt_fleet_get_stats(f, &st);
	up = shards_up(f);
	if (w) {
		mxt_jw_obj_open(w);
		mxt_jw_kstr(w, "fleet", f->cfg.fleet);
		mxt_jw_kstr(w, "node", f->cfg.node);
		mxt_jw_kstr(w, "view", up == f->nsh ? "fleet" : "local");
		mxt_jw_ku64(w, "shards", (uint64_t)f->nsh);
		mxt_jw_ku64(w, "shards_up", (uint64_t)up);
		mxt_jw_ku64(w, "outages", st.outages);
		mxt_jw_ku64(w, "reconnects", st.reconnects);
		mxt_jw_ku64(w, "backlog", st.backlog);
		mxt_jw_ku64(w, "dropped", st.dropped);
		mxt_jw_ku64(w, "batches", st.batches);
		mxt_jw_ku64(w, "deltas_sent", st.deltas_sent);
		mxt_jw_ku64(w, "records_sent", st.records_sent);
		mxt_jw_ku64(w, "deltas_applied", st.deltas_applied);
		mxt_jw_ku64(w, "sessions_applied", st.sessions_applied);
		mxt_jw_ku64(w, "stale", st.stale);
		mxt_jw_ku64(w, "dups", st.dups);
		mxt_jw_ku64(w, "refills", st.refills);
		mxt_jw_ku64(w, "joined_records", st.joined_records);
		mxt_jw_ku64(w, "ops_sent", st.ops_sent);
		mxt_jw_ku64(w, "ops_applied", st.ops_applied);
		mxt_jw_ku64(w, "blocks_sent", st.blocks_sent);
		mxt_jw_ku64(w, "blocks_applied", st.blocks_applied);
		mxt_jw_ku64(w, "round_trips", st.round_trips);
		mxt_jw_ku64(w, "exchanges", st.exchanges);
		mxt_jw_ku64(w, "exchange_usec_last", st.exchange_usec_last);
		mxt_jw_obj_close(w);
		return;
	}
	fprintf(out, "fleet %s node %s: %s view, %d of %d redis up, %llu outages, backlog %llu, dropped %llu, "
		"applied %llu sessions of other nodes\n",
		f->cfg.fleet, f->cfg.node, up == f->nsh ? "fleet" : "local", up, f->nsh,
		(unsigned long long)st.outages, (unsigned long long)st.backlog,
		(unsigned long long)st.dropped, (unsigned long long)st.sessions_applied);
}

void mxt_fleet_status(struct mxt_fleet *f, FILE *out, int json)
{
	struct node_view nodes[NODES_MAX];
	struct shard_view sh[MXT_FLEET_SHARDS_MAX];
	int nn;
	uint64_t now;

	/* A copy under the lock: the thread updates the views. */
	pthread_mutex_lock(&f->lock);
	nn = f->nnodes;
	memcpy(nodes, f->nodes, sizeof(nodes[0]) * (size_t)nn);
	memcpy(sh, f->shv, sizeof(sh[0]) * (size_t)f->nsh);
	now = f->now;
	pthread_mutex_unlock(&f->lock);
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_key(&w, "self");
		mxt_fleet_status_brief(f, out, &w);
		mxt_jw_key(&w, "endpoints");
		mxt_jw_arr_open(&w);
		for (int i = 0; i < f->nsh; i++) {
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "endpoint", f->sh[i].ep.text);
			mxt_jw_kstr(&w, "health", sh[i].up ? "up" : "down");
			mxt_jw_ku64(&w, "outages", sh[i].outages);
			mxt_jw_ku64(&w, "last_ok", sh[i].last_ok);
			mxt_jw_kstr(&w, "last_error", sh[i].last_err);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_key(&w, "nodes");
		mxt_jw_arr_open(&w);
		for (int i = 0; i < nn; i++) {
			mxt_jw_obj_open(&w);
			mxt_jw_kstr(&w, "node", nodes[i].name);
			mxt_jw_ku64(&w, "heartbeat", nodes[i].heartbeat);
			mxt_jw_ki64(&w, "lag", nodes[i].heartbeat ? (int64_t)(now - nodes[i].heartbeat) : -1);
			mxt_jw_ku64(&w, "backlog", nodes[i].backlog);
			mxt_jw_ku64(&w, "dropped", nodes[i].dropped);
			mxt_jw_ku64(&w, "shards_up", (uint64_t)nodes[i].shards_up);
			mxt_jw_obj_close(&w);
		}
		mxt_jw_arr_close(&w);
		mxt_jw_obj_close(&w);
		mxt_jw_finish(&w);
		return;
	}
	mxt_fleet_status_brief(f, out, NULL);
	fprintf(out, "%-40s %-6s %8s  %s\n", "ENDPOINT", "HEALTH", "OUTAGES", "LAST ERROR");
	for (int i = 0; i < f->nsh; i++)
		fprintf(out, "%-40s %-6s %8llu  %s\n", f->sh[i].ep.text, sh[i].up ? "up" : "down",
			(unsigned long long)sh[i].outages, sh[i].last_err[0] ? sh[i].last_err : "-");
	fprintf(out, "%-24s %8s %8s %8s %9s\n", "NODE", "LAG(s)", "BACKLOG", "DROPPED", "SHARDS_UP");
	for (int i = 0; i < nn; i++)
		fprintf(out, "%-24s %8lld %8llu %8llu %9d\n", nodes[i].name,
			nodes[i].heartbeat ? (long long)(now - nodes[i].heartbeat) : -1LL,
			(unsigned long long)nodes[i].backlog, (unsigned long long)nodes[i].dropped,
			nodes[i].shards_up);
}
