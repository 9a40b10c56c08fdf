/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * controller.c - see controller.h: the tick and the policy decisions
 * (control commands: ctl_commands.c; files: ctl_persist.c).  The rule that shapes this file: the
 * model's mutex is held only for in-memory work.  Kernel map reads happen
 * before taking it, map writes and log lines after releasing it, so that a
 * Postfix policy query is never queued behind a syscall.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/time.h>

#include <bpf/bpf.h>

#include "cfgkeys.h"
#include "controller_int.h"
#include "fleet.h"
#include "history_db.h"
#include "jsonw.h"
#include "log.h"
#include "reply_codes.h"


static uint64_t clock_unix(void)
{
	return (uint64_t)time(NULL);
}

uint64_t mxt_ctl_now(const struct mxt_controller *c)
{
	return c->clock() + (uint64_t)atomic_load_explicit(&c->clock_offset, memory_order_relaxed);
}

/* Copy an optional path into one of the controller's buffers. */
static int opt_path(char *dst, size_t len, const char *src, const char *what, char *err, size_t errlen)
{
	if (src && snprintf(dst, len, "%s", src) >= (int)len) {
		mxt_seterr(err, errlen, "%s: path too long (at most %zu bytes)", what, len - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

struct mxt_controller *mxt_ctl_new(const struct mxt_ctl_opts *o, char *err, size_t errlen)
{
	struct mxt_controller *c;
	uint64_t seed;
	size_t per_map;

	if (!o || !o->model || !o->kcfg) {
		mxt_seterr(err, errlen, "controller: a model and a kernel config are required");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		mxt_seterr(err, errlen, "controller: out of memory");
		return NULL;
	}
	if (opt_path(c->allow_file, sizeof(c->allow_file), o->allow_file, "connectors file", err, errlen) < 0 ||
	    opt_path(c->runtime_conf, sizeof(c->runtime_conf), o->runtime_conf, "runtime.conf", err, errlen) < 0) {
		free(c);
		return NULL;
	}
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		mxt_seterr(err, errlen, "controller: cannot create its lock");
		return NULL;
	}
	c->model = o->model;
	c->kcfg = *o->kcfg;
	c->maps = o->maps;
	c->clock = o->clock ? o->clock : clock_unix;
	c->test_mode = o->test_mode;
	c->on_config = o->on_config;
	c->on_config_ctx = o->on_config_ctx;
	c->db = o->db;
	c->scan_max = MXT_CTL_SCAN_MAX;
	per_map = o->max_sources ? o->max_sources : (size_t)MXT_MAX_SOURCES;
	/* Sized for one map's worth, growing to both maps' (IPv4 and IPv6
	 * sources are in two maps of max_sources each): a source the table
	 * could not hold would be counted whole at every sweep. */
	c->deltas = mxt_syn_delta_new(per_map, 2 * per_map);
	if (!c->deltas) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		mxt_seterr(err, errlen, "controller: out of memory for %zu sources", per_map);
		return NULL;
	}
	/* Sources choose their addresses: keep them from choosing collisions. */
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		mxt_syn_delta_set_hash_seed(c->deltas, seed);
	return c;
}

void mxt_ctl_free(struct mxt_controller *c)
{
	if (!c)
		return;
	mxt_syn_delta_free(c->deltas);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void mxt_ctl_set_db(struct mxt_controller *c, struct mxt_hdb *db)
{
	c->db = db;
}

void mxt_ctl_set_fleet(struct mxt_controller *c, struct mxt_fleet *fleet)
{
	c->fleet = fleet;
}

int mxt_ctl_with_model(struct mxt_controller *c, mxt_ctl_model_fn fn, void *arg)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = fn(c->model, arg);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void mxt_ctl_snapshot(struct mxt_controller *c, struct mxt_ctl_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&c->lock);
	mxt_model_counts(c->model, &s->model);
	s->kernel_sources = mxt_syn_delta_count(c->deltas);
	pthread_mutex_unlock(&c->lock);
#define MXT_CTL_COUNTER_COPY(name) s->counters.name = ST_GET(c, name);
	MXT_CTL_COUNTERS(MXT_CTL_COUNTER_COPY)
#undef MXT_CTL_COUNTER_COPY
	s->now = mxt_ctl_now(c);
}

void mxt_ctl_kernel_config(struct mxt_controller *c, struct mxt_config *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->kcfg;
	pthread_mutex_unlock(&c->lock);
}

int mxt_ctl_key_from_addr(const struct mxt_controller *c, const struct mxt_addr *a,
			  struct mxt_key *key)
{
	/* No lock: the main thread is the config's only writer, and callers
	 * may hold the fleet's lock, which ranks below this one. */
	return mxt_key_from_addr(key, a, c->kcfg.v4_prefix, c->kcfg.v6_prefix);
}

int mxt_ctl_refuse_fixed_key(const char *key, char *err, size_t errlen)
{
	const struct mxt_cfgkey *k = mxt_cfgkey_find(key);

	/* One set of runtime keys for config set, SIGHUP and runtime.conf. */
	if (!k || mxt_cfgkey_runtime(k))
		return 0;
	mxt_seterr(err, errlen, "%s: the source prefix shapes every key held; it changes only "
		  "with a restart of mxthrottled", key);
	return -EINVAL;
}

int mxt_ctl_reload(struct mxt_controller *c, const struct mxt_config *kcfg,
		   const struct mxt_model_params *mp, char *err, size_t errlen)
{
	char e[200];
	int rc;

	/* kcfg is written by the main thread only: read without the lock. */
	if (kcfg->v4_prefix != c->kcfg.v4_prefix)
		return mxt_ctl_refuse_fixed_key("v4_prefix", err, errlen);
	if (kcfg->v6_prefix != c->kcfg.v6_prefix)
		return mxt_ctl_refuse_fixed_key("v6_prefix", err, errlen);
	if (mxt_model_params_check(mp, e, sizeof(e)) < 0) {
		mxt_seterr(err, errlen, "model parameters: %s", e);
		return -EINVAL;
	}
	if (c->maps && (rc = mxt_maps_config_write(c->maps, kcfg)) < 0) {
		mxt_seterr(err, errlen, "cannot write the kernel config: %s", strerror(-rc));
		return rc;
	}
	/* The policy thread reads the parameters on every decision: they
	 * change under its lock, never beneath it. */
	pthread_mutex_lock(&c->lock);
	rc = mxt_model_set_params(c->model, mp);
	if (!rc)
		c->kcfg = *kcfg;
	pthread_mutex_unlock(&c->lock);
	if (rc)
		mxt_seterr(err, errlen, "model parameters refused: %s", strerror(-rc));
	return rc;
}

const char *mxt_ctl_event_name(int old_class, uint32_t new_class)
{
	switch (new_class) {
	case MXT_CLASS_GRAYLISTED:
		return old_class == MXT_CLASS_GRAYLISTED ? "ALLOWANCE" : "GRAYLIST";
	case MXT_CLASS_ESTABLISHED:
		if (old_class == MXT_CLASS_THROTTLED || old_class == MXT_CLASS_BLOCKED)
			return "RELEASE";
		return old_class == MXT_CLASS_ESTABLISHED ? "LIMIT" : "ESTABLISH";
	case MXT_CLASS_THROTTLED:
		return old_class == MXT_CLASS_THROTTLED ? "LIMIT" : "THROTTLE";
	case MXT_CLASS_BLOCKED:
		return "BLOCK";
	default:
		return "EXPIRE";
	}
}

/* ---- ticks ---------------------------------------------------------- */

/* Changes collected under the lock, applied after it. */
struct change_buf {
	struct mxt_model_change *v;
	struct mxt_decision *why;   /* the decision at the time, for the log */
	size_t n, cap;
	int oom;
};

static void change_collect(void *ctx, const struct mxt_model_change *ch)
{
	struct change_buf *b = ctx;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		void *v = realloc(b->v, cap * sizeof(*b->v));
		void *w;

		if (!v) {
			b->oom = 1;
			return;
		}
		b->v = v;
		w = realloc(b->why, cap * sizeof(*b->why));
		if (!w) {
			b->oom = 1;
			return;
		}
		b->why = w;
		b->cap = cap;
	}
	b->v[b->n++] = *ch;
}

/* Give a source a full bucket of its new class.  Its GCRA timestamp was
 * earned under the old limit: after a release from a strict class it may
 * lie far in the future and would keep refusing SYNs the new class allows.
 * Racy against the XDP program by design (it may overwrite one update). */
static void source_bucket_reset(struct mxt_controller *c, const struct mxt_key *key)
{
	mxt_source_reset_tat(c->maps, key);
}

/* One change into mxt_policy: the class and limit, or no entry at all
 * for class UNKNOWN.  Not announced: the caller bumps the generation
 * once for its whole batch (policy_announce). */
static int policy_write(struct mxt_controller *c, const struct mxt_model_change *ch, uint64_t now)
{
	struct mxt_policy pol;
	int err;

	if (ch->klass == MXT_CLASS_UNKNOWN) {
		err = mxt_policy_remove(c->maps, &ch->key);
		return err == -ENOENT ? 0 : err;
	}
	memset(&pol, 0, sizeof(pol));
	pol.class = ch->klass;
	pol.flags = ch->flags;
	pol.limit = ch->limit;
	pol.updated_unix = now;
	return mxt_policy_put(c->maps, &ch->key, &pol);
}

/* After a batch of policy_write(): one new generation, so the program
 * re-reads the policy of every source once. */
static void policy_announce(struct mxt_controller *c)
{
	int err = mxt_policy_gen_bump(c->maps);

	if (err) {
		ST_INC(c, map_errors);
		mxt_log_warnx("cannot announce policy changes (mxt_gen): %s", strerror(-err));
	}
}

/* Write one change into mxt_policy and log it. */
static void change_apply(struct mxt_controller *c, const struct mxt_model_change *ch,
			 const struct mxt_decision *d)
{
	const struct mxt_code_info *ci = mxt_code_info(ch->code);
	char who[MXT_ADDRSTRLEN];
	struct mxt_policy old;
	int old_class = -1, err = 0;
	const char *ev;

	mxt_key_format(&ch->key, who, sizeof(who));
	if (c->maps) {
		if (mxt_policy_lookup(c->maps, &ch->key, &old) == 0)
			old_class = (int)old.class;
		err = policy_write(c, ch, mxt_ctl_now(c));
		if (err) {
			ST_INC(c, map_errors);
			mxt_log_warnx("cannot write policy of [%s]: %s", who, strerror(-err));
			return;
		}
		if (old_class != (int)ch->klass)
			source_bucket_reset(c, &ch->key);
	}
	ST_INC(c, changes_written);
	ev = mxt_ctl_event_name(old_class, ch->klass);
	if (!strcmp(ev, "EXPIRE") || !strcmp(ev, "LIMIT") || !strcmp(ev, "ALLOWANCE")) {
		mxt_log_debug("%s [%s] %s state=%s", ev, who, ci ? ci->as_tag : "-",
			      mxt_state_name(ch->state));
		return;
	}
	/* the model's own words for why (the check that fired, with its rate
	 * and ratio), the same as explain and history export print */
	mxt_log_info("%s [%s] %s %s state=%s %s allowance=%.0f/h kernel=%s%s (%s)",
		     ev, who, ci ? ci->as_tag : "-", ci ? ci->status : "-",
		     mxt_state_name(ch->state), ch->why, d->allowance, mxt_class_name(ch->klass),
		     ch->flags & MXT_POLICY_F_OVERRIDE ? "/override" : "",
		     ci ? ci->text : "");
}

_Static_assert(sizeof(struct mxt_syn_obs) <= sizeof(struct mxt_source_entry),
	       "tick compacts observations over the dumped entries");

#define SLICE_PREFETCH 8 /* entries whose delta slot is fetched ahead */

/* Turn n dumped entries into SYN deltas and give the active ones to the
 * model; under the lock. */
static void slice_observe(struct mxt_controller *c, struct mxt_source_entry *src, size_t n,
			  uint64_t now)
{
	struct mxt_syn_obs *obs = (struct mxt_syn_obs *)src;
	struct mxt_key key;
	size_t nobs = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t ds, dd;

		/* src[i + SLICE_PREFETCH] lies past what the compaction wrote */
		if (i + SLICE_PREFETCH < n)
			mxt_syn_delta_prefetch(c->deltas, &src[i + SLICE_PREFETCH].key);
		/* A source the table cannot hold is left out, not counted whole
		 * at every sweep: a false flood would block a real sender. */
		if (mxt_syn_delta_update(c->deltas, &src[i].key, &src[i].val, &ds, &dd) < 0 || !ds)
			continue;
		/* Compact the active ones in place as observations: the dump
		 * is ours, an observation is smaller than an entry, and
		 * obs[nobs] never reaches past src[i] (nobs <= i). */
		key = src[i].key;
		obs[nobs].key = key;
		obs[nobs].syns = ds;
		obs[nobs].dropped = dd;
		nobs++;
	}
	if (nobs)
		mxt_model_observe_syns_batch(c->model, obs, nobs, now);
}

/* Read the next chunk of the sweep into *src (malloc'ed), *n entries;
 * the whole map where batch operations are missing.  0 or -errno. */
static int slice_read(struct mxt_controller *c, size_t want, struct mxt_source_entry **src,
		      size_t *n, int *sweep_start)
{
	int err = mxt_sources_scan(c->maps, &c->scan, want, src, n);

	if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */) {
		memset(&c->scan, 0, sizeof(c->scan));
		err = mxt_sources_dump(c->maps, src, n);
		*sweep_start = 1;
		c->scan.done = 1;
	}
	return err;
}

/* The tick's slice of the sweep over mxt_sources, at most c->scan_max
 * entries, read and observed MXT_CTL_READ_CHUNK at a time so that the
 * buffers stay small; the lock is taken per chunk, never across a read.
 * Returns the entries read. */
static size_t sweep_slice(struct mxt_controller *c, uint64_t now)
{
	int sweep_start = !c->scan.started || c->scan.done;
	size_t total = 0;

	while (total < c->scan_max) {
		size_t want = c->scan_max - total, n = 0;
		struct mxt_source_entry *src = NULL;
		int err;

		if (want > MXT_CTL_READ_CHUNK)
			want = MXT_CTL_READ_CHUNK;
		err = slice_read(c, want, &src, &n, &sweep_start);
		/* The next hash bucket does not fit in what is left: next tick. */
		if (err == -ENOSPC && total > 0)
			break;
		if (err) {
			ST_INC(c, map_errors);
			mxt_log_warnx("cannot read mxt_sources: %s", strerror(-err));
			break;
		}
		pthread_mutex_lock(&c->lock);
		if (sweep_start)
			mxt_syn_delta_begin(c->deltas);
		sweep_start = 0;
		slice_observe(c, src, n, now);
		/* A kernel entry unseen for 3 sweeps was evicted by the LRU. */
		if (c->scan.done) {
			mxt_syn_delta_end(c->deltas, 3);
			ST_INC(c, sweeps);
		}
		pthread_mutex_unlock(&c->lock);
		free(src);
		total += n;
		if (c->scan.done || n == 0)
			break;
	}
	return total;
}

int mxt_ctl_tick(struct mxt_controller *c, uint64_t now)
{
	struct change_buf b = { 0 };
	size_t n = 0;
	uint64_t t0 = mxt_ctl_usec_now();

	/* 1. Kernel counters: the next slice of the sweep, read outside the
	 * lock, deltas and SYN observations under it. */
	if (c->maps)
		n = sweep_slice(c, now);

	/* 2. The model's clock, under the lock. */
	pthread_mutex_lock(&c->lock);
	mxt_model_tick(c->model, now, change_collect, &b);
	for (size_t i = 0; i < b.n; i++)
		mxt_model_decide(c->model, &b.v[i].key, now, &b.why[i]);
	pthread_mutex_unlock(&c->lock);

	/* 3. Kernel writes and log lines, outside the lock. */
	for (size_t i = 0; i < b.n; i++)
		change_apply(c, &b.v[i], &b.why[i]);
	mxt_fleet_changes(c->fleet, b.v, b.n, now);
	if (c->maps && b.n)
		policy_announce(c);
	if (b.oom)
		mxt_log_warnx("out of memory collecting policy changes: some wait for the next reseed");
	free(b.v);
	free(b.why);
	mxt_fleet_tick(c->fleet, now);
	ST_INC(c, ticks);
	ST_SET(c, sources_read, n);
	ST_SET(c, tick_usec_last, mxt_ctl_usec_now() - t0);
	return b.oom ? -ENOMEM : (int)b.n;
}

int mxt_ctl_reseed_kernel(struct mxt_controller *c, uint64_t now)
{
	struct change_buf b = { 0 };
	int written = 0;

	/* Restored records are PENDING in the model, so its tick reports
	 * every one of them, with the model's own derivation of limits. */
	pthread_mutex_lock(&c->lock);
	mxt_model_tick(c->model, now, change_collect, &b);
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; c->maps && i < b.n; i++) {
		if (policy_write(c, &b.v[i], now) == 0)
			written += b.v[i].klass != MXT_CLASS_UNKNOWN;
		else
			ST_INC(c, map_errors);
	}
	if (c->maps && b.n)
		policy_announce(c);
	free(b.v);
	free(b.why);
	return b.oom ? -ENOMEM : written;
}

/* ---- policy decisions --------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* 1 the first time a message transaction (instance, client) is seen:
 * Postfix asks at RCPT (where main.cf puts us), once per recipient, so
 * the first request of a transaction is what counts as a session.  A
 * direct-mapped table: a collision costs one miscounted session, never
 * memory. */
static int instance_is_new(struct mxt_controller *c, const struct mxt_policy_request *req)
{
	uint64_t h = fnv1a(fnv1a(1469598103934665603ULL, req->instance), req->client_address);
	uint64_t *slot;

	if (!req->instance[0])
		return 1; /* no instance attribute: every request is a session */
	h |= 1; /* 0 marks an empty slot */
	slot = &c->instances[(h >> 1) % MXT_CTL_INSTANCES];
	if (*slot == h)
		return 0;
	*slot = h;
	return 1;
}

/* Index of the connector holding 'a', or -1.  Linear: connectors are few
 * (trusted partners and relays), and the scan touches no kernel map. */
static int allow_find(const struct mxt_controller *c, const struct mxt_addr *a)
{
	for (int i = 0; i < c->nallow; i++)
		if (mxt_addr_in_cidr(a, &c->allow[i].net, c->allow[i].prefixlen))
			return i;
	return -1;
}

/* The model's event for a Postfix protocol state. */
static int obs_kind(const char *state, enum mxt_obs_kind *kind)
{
	if (!strcasecmp(state, "RCPT"))
		*kind = MXT_OBS_RCPT;
	else if (!strcasecmp(state, "DATA"))
		*kind = MXT_OBS_DATA;
	else if (!strcasecmp(state, "END-OF-MESSAGE"))
		*kind = MXT_OBS_EOM;
	else if (!strcasecmp(state, "CONNECT") || !strcasecmp(state, "EHLO") ||
		 !strcasecmp(state, "HELO") || !strcasecmp(state, "MAIL"))
		*kind = MXT_OBS_CONNECT;
	else
		return -EINVAL; /* VRFY, ETRN, ...: not mail, not counted */
	return 0;
}

/* The model's admit, and what it counted for the fleet (fleet.h). */
static int admit(struct mxt_controller *c, const struct mxt_key *key, uint64_t now,
		 enum mxt_obs_kind kind, uint32_t n, uint64_t size, struct mxt_decision *out)
{
	int rc = mxt_model_admit_session(c->model, key, now, kind, n, size, out);
	int rcpt = kind == MXT_OBS_RCPT || kind == MXT_OBS_EOM;

	if (c->fleet && rc >= 0 && (kind == MXT_OBS_CONNECT || rcpt))
		mxt_fleet_note(c->fleet, key, now, rcpt ? (rc ? MXT_FLEET_DRCPT : MXT_FLEET_RCPT)
						       : (rc ? MXT_FLEET_DSESS : MXT_FLEET_SESS),
			       kind == MXT_OBS_CONNECT ? 1 : n);
	return rc;
}

/* The model's observe (connectors), counted for the fleet likewise. */
static void observe(struct mxt_controller *c, const struct mxt_key *key, uint64_t now,
		    enum mxt_obs_kind kind, uint32_t n, uint64_t size)
{
	if (mxt_model_observe_session(c->model, key, now, kind, n, size) == 0 && c->fleet)
		mxt_fleet_note(c->fleet, key, now, kind == MXT_OBS_CONNECT ? MXT_FLEET_SESS : MXT_FLEET_RCPT,
			       kind == MXT_OBS_CONNECT ? 1 : n);
}

int mxt_ctl_decide(void *ctx, const struct mxt_policy_request *req, struct mxt_decision *out)
{
	struct mxt_controller *c = ctx;
	struct mxt_addr a;
	struct mxt_key key;
	enum mxt_obs_kind kind;
	uint64_t now = mxt_ctl_now(c);
	int rc = 0, fresh;

	memset(out, 0, sizeof(*out));
	if (mxt_addr_parse(req->client_address, &a) < 0)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	ST_INC(c, decisions);
	mxt_key_from_addr(&key, &a, c->kcfg.v4_prefix, c->kcfg.v6_prefix);
	if (obs_kind(req->protocol_state, &kind) < 0) {
		rc = mxt_model_decide(c->model, &key, now, out);
		out->defer = 0;
		goto out;
	}
	fresh = instance_is_new(c, req);
	if (allow_find(c, &a) >= 0) {
		/* Connectors are never deferred, but their sessions are still
		 * history: if one is removed later it is not a stranger. */
		ST_INC(c, connector_sessions);
		if (fresh && kind != MXT_OBS_CONNECT)
			observe(c, &key, now, MXT_OBS_CONNECT, 0, req->size);
		observe(c, &key, now, kind, kind == MXT_OBS_RCPT ? 1 : 0, req->size);
		mxt_model_decide(c->model, &key, now, out);
		out->code = MXT_CODE_OK_CONNECTOR;
		out->defer = 0;
		out->retry_after = 0;
		goto out;
	}
	if (fresh && kind != MXT_OBS_CONNECT) {
		/* The transaction's first request stands for its session. */
		rc = admit(c, &key, now, MXT_OBS_CONNECT, 0, req->size, out);
		if (rc != 0)
			goto out; /* deferred (1) or untracked (<0: out is filled) */
	}
	switch (kind) {
	case MXT_OBS_RCPT:
		rc = admit(c, &key, now, kind, 1, req->size, out);
		break;
	case MXT_OBS_EOM:
		/* Recipients were counted at RCPT, unless this is the first
		 * we hear of the transaction (policy only at END-OF-MESSAGE). */
		rc = admit(c, &key, now, kind, fresh ? req->recipient_count : 0, req->size, out);
		break;
	default:
		rc = admit(c, &key, now, kind, 0, req->size, out);
		break;
	}
out:
	pthread_mutex_unlock(&c->lock);
	if (rc == -ENOSPC)
		return 0; /* the model answered for an untracked newcomer */
	return rc < 0 ? rc : 0;
}

/* ---- test mode ------------------------------------------------------------ */

int mxt_ctl_seed(struct mxt_controller *c, const struct mxt_key *key, uint32_t per_hour,
		 uint32_t days, uint64_t now)
{
	uint64_t start = now - (uint64_t)days * 86400u;
	struct mxt_model_params saved, noblimit;
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (mxt_model_lookup(c->model, key)) {
		rc = -EEXIST; /* time must not go backwards for a known source */
		goto out;
	}
	/* The gateway-wide new-sender budget is a rate over *present* time:
	 * replaying past hours against it would defer them all.  Seeding
	 * runs without it. */
	saved = *mxt_model_get_params(c->model);
	noblimit = saved;
	noblimit.new_sender_budget = 0;
	noblimit.prefix_budget = 0; /* per /24 or /48: a rate over present time too */
	mxt_model_set_params(c->model, &noblimit);
	/* Hour by hour, as a well-behaved sender would: on probation it
	 * stays just under its allowance, so its days count as clean. */
	for (uint64_t hour = start - start % 3600; hour + 3600 <= now; hour += 3600) {
		struct mxt_decision d;
		uint32_t n = per_hour;

		mxt_model_decide(c->model, key, hour, &d);
		if ((d.state == MXT_STATE_NEW || d.state == MXT_STATE_GRAYLISTED) && d.allowance >= 2 &&
		    n > (uint32_t)d.allowance - 1)
			n = (uint32_t)d.allowance - 1;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t t = hour + (uint64_t)i * 3600u / n;
			int r = mxt_model_admit_session(c->model, key, t, MXT_OBS_CONNECT, 0, 0, NULL);

			if (r == 0)
				r = mxt_model_admit_session(c->model, key, t, MXT_OBS_RCPT, 1, 0, NULL);
			if (r < 0) {
				rc = r;
				goto restore;
			}
		}
	}
restore:
	mxt_model_set_params(c->model, &saved);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

