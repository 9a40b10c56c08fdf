/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * controller.c - see controller.h.  The rule that shapes this file: the
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
#include <sys/time.h>

#include <bpf/bpf.h>

#include "cfgkeys.h"
#include "controller.h"
#include "fleet.h"
#include "history_db.h"
#include "jsonw.h"
#include "log.h"
#include "reply_codes.h"

/* The counters (controller.h): relaxed atomics, any thread. */
#define ST_INC(c, f)    atomic_fetch_add_explicit(&(c)->st.f, 1, memory_order_relaxed)
#define ST_SET(c, f, v) atomic_store_explicit(&(c)->st.f, (v), memory_order_relaxed)
#define ST_GET(c, f)    atomic_load_explicit(&(c)->st.f, memory_order_relaxed)

static uint64_t clock_unix(void)
{
	return (uint64_t)time(NULL);
}

uint64_t mxt_ctl_now(const struct mxt_controller *c)
{
	return c->clock() + (uint64_t)atomic_load_explicit(&c->clock_offset, memory_order_relaxed);
}

static uint64_t usec_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int mxt_ctl_init(struct mxt_controller *c, struct mxt_model *model, const struct mxt_config *kcfg,
		 const struct mxt_maps *maps, size_t max_sources)
{
	memset(c, 0, sizeof(*c));
	if (pthread_mutex_init(&c->lock, NULL))
		return -ENOMEM;
	c->model = model;
	c->kcfg = *kcfg;
	c->maps = maps;
	c->clock = clock_unix;
	c->scan_max = MXT_CTL_SCAN_MAX;
	c->deltas = mxt_syn_delta_new(max_sources ? max_sources : MXT_MAX_SOURCES);
	if (!c->deltas) {
		pthread_mutex_destroy(&c->lock);
		return -ENOMEM;
	}
	return 0;
}

void mxt_ctl_fini(struct mxt_controller *c)
{
	mxt_syn_delta_free(c->deltas);
	c->deltas = NULL;
	pthread_mutex_destroy(&c->lock);
}

void mxt_ctl_set_kernel_config(struct mxt_controller *c, const struct mxt_config *kcfg)
{
	pthread_mutex_lock(&c->lock);
	c->kcfg = *kcfg;
	pthread_mutex_unlock(&c->lock);
}

int mxt_ctl_refuse_fixed_key(const char *key, char *err, size_t errlen)
{
	const struct mxt_cfgkey *k = mxt_cfgkey_find(key);

	/* One set of runtime keys for config set, SIGHUP and runtime.conf. */
	if (!k || mxt_cfgkey_runtime(k))
		return 0;
	snprintf(err, errlen, "%s: the source prefix shapes every key held; it changes only "
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
		snprintf(err, errlen, "model parameters: %s", e);
		return -EINVAL;
	}
	if (c->maps && (rc = mxt_maps_config_write(c->maps, kcfg)) < 0) {
		snprintf(err, errlen, "cannot write the kernel config: %s", strerror(-rc));
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
		snprintf(err, errlen, "model parameters refused: %s", strerror(-rc));
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

int mxt_ctl_tick(struct mxt_controller *c, uint64_t now)
{
	struct mxt_source_entry *src = NULL;
	struct change_buf b = { 0 };
	struct mxt_syn_obs *obs = NULL;
	struct mxt_key key;
	size_t n = 0, nobs = 0;
	uint64_t t0 = usec_now();
	int err = 0, sweep_start = 0;

	/* 1. Kernel counters, outside the lock: the next slice of the sweep
	 * (the whole map, where batch operations are missing). */
	if (c->maps) {
		sweep_start = !c->scan.started || c->scan.done;
		err = mxt_sources_scan(c->maps, &c->scan, c->scan_max, &src, &n);
		if (err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */) {
			memset(&c->scan, 0, sizeof(c->scan));
			err = mxt_sources_dump(c->maps, &src, &n);
			sweep_start = 1;
			c->scan.done = 1;
		}
		if (err) {
			ST_INC(c, map_errors);
			mxt_log_warnx("cannot read mxt_sources: %s", strerror(-err));
			n = 0;
			sweep_start = 0;
		}
	}

	/* 2. Model work, under the lock. */
	pthread_mutex_lock(&c->lock);
	if (sweep_start)
		mxt_syn_delta_begin(c->deltas);
	for (size_t i = 0; i < n; i++) {
		uint64_t ds, dd;

		mxt_syn_delta_update(c->deltas, &src[i].key, &src[i].val, &ds, &dd);
		if (!ds)
			continue;
		/* Compact the active ones in place as observations: the dump
		 * is ours, an observation is smaller than an entry, and
		 * obs[nobs] never reaches past src[i] (nobs <= i). */
		key = src[i].key;
		obs = (struct mxt_syn_obs *)src;
		obs[nobs].key = key;
		obs[nobs].syns = ds;
		obs[nobs].dropped = dd;
		nobs++;
	}
	/* A kernel entry unseen for 3 sweeps was evicted by the LRU. */
	if (c->maps && c->scan.done) {
		mxt_syn_delta_end(c->deltas, 3);
		ST_INC(c, sweeps);
	}
	if (nobs)
		mxt_model_observe_syns_batch(c->model, obs, nobs, now);
	mxt_model_tick(c->model, now, change_collect, &b);
	for (size_t i = 0; i < b.n; i++)
		mxt_model_decide(c->model, &b.v[i].key, now, &b.why[i]);
	pthread_mutex_unlock(&c->lock);
	free(src);

	/* 3. Kernel writes and log lines, outside the lock. */
	for (size_t i = 0; i < b.n; i++)
		change_apply(c, &b.v[i], &b.why[i]);
	if (c->maps && b.n)
		policy_announce(c);
	if (b.oom)
		mxt_log_warnx("out of memory collecting policy changes: some wait for the next reseed");
	free(b.v);
	free(b.why);
	mxt_fleet_tick(c->fleet, now);
	ST_INC(c, ticks);
	ST_SET(c, sources_read, n);
	ST_SET(c, tick_usec_last, usec_now() - t0);
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

/* ---- connectors ---------------------------------------------------------- */

/* The connectors as they were under the lock, for allow_save(). */
struct allow_copy {
	struct mxt_ctl_cidr v[MXT_CTL_ALLOW_MAX];
	int n;
	uint64_t gen;
};

/* Copy the connectors (lock held). */
static void allow_copy_locked(const struct mxt_controller *c, struct allow_copy *a)
{
	memcpy(a->v, c->allow, (size_t)c->nallow * sizeof(a->v[0]));
	a->n = c->nallow;
	a->gen = c->allow_gen;
}

/* Rewrite allow_file from a copy, without the lock (the fsync must not
 * stall the policy thread): temp file + rename, so a crash leaves either
 * the old list or the new one.  Main thread only, so saves never
 * interleave; an older copy than the one in the file is not written. */
static int allow_save(struct mxt_controller *c, const struct allow_copy *a)
{
	char tmp[sizeof(c->allow_file) + 8], text[MXT_ADDRSTRLEN];
	FILE *f;
	int fd;

	if (!c->allow_file[0] || a->gen < c->allow_saved_gen)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->allow_file);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# connectors added at run time by 'mxthrottle allow add'; one CIDR per line\n");
	for (int i = 0; i < a->n; i++) {
		mxt_cidr_format(&a->v[i].net, a->v[i].prefixlen, text, sizeof(text));
		fprintf(f, "%s\n", text);
	}
	fd = fileno(f);
	if (fflush(f) || fsync(fd)) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	if (rename(tmp, c->allow_file) < 0)
		return -errno;
	c->allow_saved_gen = a->gen;
	return 0;
}

int mxt_ctl_allow_add(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen)
{
	struct allow_copy *copy = NULL;
	struct mxt_ctl_cidr x;
	struct mxt_lpm_key lk;
	int rc = 0, dup = 0;

	if (mxt_cidr_parse(cidr, &x.net, &x.prefixlen, NULL) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 CIDR", cidr);
		return -EINVAL;
	}
	if (c->maps) {
		mxt_lpm_key_from_cidr(&lk, &x.net, x.prefixlen);
		rc = mxt_allow_add(c->maps, &lk);
		if (rc == -EEXIST)
			rc = 0; /* already in the pinned map (restart): keep its hits */
		if (rc) {
			snprintf(err, errlen, "cannot add %s to mxt_allow: %s", cidr, strerror(-rc));
			return rc;
		}
	}
	if (persist && !(copy = malloc(sizeof(*copy)))) {
		snprintf(err, errlen, "cannot record connector %s: out of memory", cidr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->nallow; i++)
		if (c->allow[i].prefixlen == x.prefixlen && !memcmp(&c->allow[i].net, &x.net, sizeof(x.net)))
			dup = 1;
	if (!dup) {
		if (c->nallow == MXT_CTL_ALLOW_MAX) {
			rc = -ENOSPC;
		} else {
			c->allow[c->nallow++] = x;
			c->allow_gen++;
		}
	}
	if (!rc && copy)
		allow_copy_locked(c, copy);
	pthread_mutex_unlock(&c->lock);
	if (!rc && copy)
		rc = allow_save(c, copy);
	free(copy);
	if (rc)
		snprintf(err, errlen, "cannot record connector %s: %s", cidr, strerror(-rc));
	return rc;
}

int mxt_ctl_allow_del(struct mxt_controller *c, const char *cidr, int persist, char *err, size_t errlen)
{
	struct allow_copy *copy = NULL;
	struct mxt_ctl_cidr x;
	struct mxt_lpm_key lk;
	int rc = -ENOENT;

	if (mxt_cidr_parse(cidr, &x.net, &x.prefixlen, NULL) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 CIDR", cidr);
		return -EINVAL;
	}
	if (persist && !(copy = malloc(sizeof(*copy)))) {
		snprintf(err, errlen, "%s: out of memory", cidr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->nallow; i++) {
		if (c->allow[i].prefixlen == x.prefixlen && !memcmp(&c->allow[i].net, &x.net, sizeof(x.net))) {
			c->allow[i] = c->allow[--c->nallow];
			c->allow_gen++;
			rc = 0;
			break;
		}
	}
	if (!rc && copy)
		allow_copy_locked(c, copy);
	pthread_mutex_unlock(&c->lock);
	if (!rc && copy)
		rc = allow_save(c, copy);
	free(copy);
	if (c->maps) {
		int krc;

		mxt_lpm_key_from_cidr(&lk, &x.net, x.prefixlen);
		krc = mxt_allow_delete(c->maps, &lk);
		if (rc == -ENOENT && krc == 0)
			rc = 0; /* only in the kernel (added with the CLI alone) */
	}
	if (rc)
		snprintf(err, errlen, "%s: %s", cidr, rc == -ENOENT ? "not a connector" : strerror(-rc));
	return rc;
}

int mxt_ctl_allow_load(struct mxt_controller *c, char *err, size_t errlen)
{
	char line[256];
	FILE *f;
	int lineno = 0, rc = 0;

	if (!c->allow_file[0])
		return 0;
	f = fopen(c->allow_file, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, e[200];

		lineno++;
		p[strcspn(p, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		rc = mxt_ctl_allow_add(c, p, 0, e, sizeof(e));
		if (rc) {
			snprintf(err, errlen, "%s:%d: %s", c->allow_file, lineno, e);
			break;
		}
	}
	fclose(f);
	return rc;
}

/* ---- explain ------------------------------------------------------------- */

static void fmt_time(uint64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void mxt_explain_print(FILE *out, const struct mxt_key *key, const struct mxt_decision *d,
		       const struct mxt_sender *s, uint64_t now, int json)
{
	const struct mxt_code_info *ci = mxt_code_info(d->code);
	char who[MXT_ADDRSTRLEN], t1[40], t2[40];

	mxt_key_format(key, who, sizeof(who));
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_kstr(&w, "source", who);
		mxt_jw_kbool(&w, "tracked", s != NULL);
		mxt_jw_kstr(&w, "state", mxt_state_name(d->state));
		mxt_jw_kstr(&w, "code", ci ? ci->name : "");
		mxt_jw_kstr(&w, "status", ci ? ci->status : "");
		mxt_jw_kstr(&w, "as", ci ? ci->as_tag : "");
		mxt_jw_kstr(&w, "reason", ci ? ci->text : "");
		mxt_jw_kbool(&w, "defer", d->defer);
		mxt_jw_key(&w, "current_rate");
		mxt_jw_double(&w, d->current_rate, 2);
		mxt_jw_key(&w, "baseline_rate");
		mxt_jw_double(&w, d->baseline_rate, 2);
		mxt_jw_key(&w, "ratio");
		mxt_jw_double(&w, d->ratio, 2);
		mxt_jw_key(&w, "allowance");
		mxt_jw_double(&w, d->allowance, 1);
		mxt_jw_key(&w, "used");
		mxt_jw_double(&w, d->used, 1);
		mxt_jw_ku64(&w, "days_active", d->days_active);
		mxt_jw_ku64(&w, "first_seen", d->first_seen);
		mxt_jw_ku64(&w, "next_change", d->next_change);
		mxt_jw_ku64(&w, "retry_after", d->retry_after);
		mxt_jw_ku64(&w, "now", now);
		if (s) {
			char why[160];

			mxt_model_why(s, why, sizeof(why));
			mxt_jw_kstr(&w, "why", why);
			mxt_jw_ku64(&w, "state_since", s->state_since);
			mxt_jw_ku64(&w, "last_session", s->last_session);
			mxt_jw_kstr(&w, "kernel_class", mxt_class_name(s->kclass));
			mxt_jw_ku64(&w, "kernel_rate", s->krate);
		}
		mxt_jw_obj_close(&w);
		mxt_jw_finish(&w); /* ends the line */
		return;
	}
	fprintf(out, "%s: %s%s\n", who, mxt_state_name(d->state), s ? "" : " (not tracked)");
	if (ci)
		fprintf(out, "  reason:     %s %s %s: %s\n", ci->as_tag, ci->status, ci->name, ci->text);
	fprintf(out, "  answer now: %s\n", d->defer ? "451 (deferred)" : "accept (DUNNO)");
	fmt_time(d->first_seen, t1, sizeof(t1));
	fprintf(out, "  first seen: %s, %u clean day(s)\n", t1, d->days_active);
	fprintf(out, "  rate:       %.1f sessions/h now, baseline %.1f/h expected at this hour, ratio %.2f\n",
		d->current_rate, d->baseline_rate, d->ratio);
	fprintf(out, "  allowance:  %.0f sessions/h, %.0f used this hour\n", d->allowance, d->used);
	if (s) {
		char why[160];

		mxt_model_why(s, why, sizeof(why));
		if (why[0])
			fprintf(out, "  why:        %s\n", why);
	}
	fmt_time(d->next_change, t2, sizeof(t2));
	if (d->next_change)
		fprintf(out, "  next:       %s (in %lld s): %s\n", t2,
			(long long)d->next_change - (long long)now,
			d->state == MXT_STATE_THROTTLED || d->state == MXT_STATE_BLOCKED ?
				"throttle may lift" : "allowance grows");
	if (d->defer)
		fprintf(out, "  retry after %u s\n", d->retry_after);
	if (s)
		fprintf(out, "  kernel:     class %s%s\n", mxt_class_name(s->kclass),
			s->krate ? " with its own SYN limit" : "");
}

/* ---- control commands ---------------------------------------------------- */

/* Key of a textual address under the current prefixes. */
static int ctl_key(struct mxt_controller *c, const char *text, struct mxt_key *key,
		   char *err, size_t errlen)
{
	struct mxt_addr a;

	if (mxt_addr_parse(text, &a) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", text);
		return -EINVAL;
	}
	mxt_key_from_addr(key, &a, c->kcfg.v4_prefix, c->kcfg.v6_prefix);
	return 0;
}

/* A record and its baseline at the time, copied under the lock so that
 * a listing is formatted without it. */
struct list_row {
	struct mxt_sender s;
	double base;
};

/* The rows of a listing, as copied. */
struct list_copy {
	struct list_row *v;
	size_t n, cap;
	const struct mxt_model *m;
	uint64_t now;
	int only_state;        /* -1: all */
};

/* Iteration callback (lock held): copy one row. */
static int list_copy_one(void *ctx, const struct mxt_sender *s)
{
	struct list_copy *l = ctx;

	if (l->only_state >= 0 && s->state != l->only_state)
		return 0;
	if (l->n == l->cap)
		return -ENOBUFS;
	l->v[l->n].s = *s;
	l->v[l->n].base = mxt_model_expected(l->m, s, l->now);
	l->n++;
	return 0;
}

/* Copy the records of a listing: the room is made outside the lock from a
 * count taken under it, so the lock covers memory copies only. */
static int list_copy_take(struct mxt_controller *c, struct list_copy *l)
{
	int rc = -ENOBUFS;

	for (int attempt = 0; attempt < 4 && rc == -ENOBUFS; attempt++) {
		size_t n;

		pthread_mutex_lock(&c->lock);
		n = mxt_model_count(c->model);
		pthread_mutex_unlock(&c->lock);
		free(l->v);
		l->cap = n + n / 8 + 64;
		l->v = calloc(l->cap, sizeof(*l->v)); /* zeroed: faulted in outside the lock */
		if (!l->v)
			return -ENOMEM;
		l->n = 0;
		pthread_mutex_lock(&c->lock);
		rc = mxt_model_foreach(c->model, 0, list_copy_one, l);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

/* One row of a listing, as JSON, CSV or text. */
static void list_print(FILE *out, struct mxt_jw *w, int csv, const struct list_row *r)
{
	const struct mxt_sender *s = &r->s;
	const struct mxt_code_info *ci = mxt_code_info(s->code);
	char who[MXT_ADDRSTRLEN], why[160];

	mxt_key_format(&s->key, who, sizeof(who));
	mxt_model_why(s, why, sizeof(why));
	if (w) {
		mxt_jw_obj_open(w);
		mxt_jw_kstr(w, "source", who);
		mxt_jw_kstr(w, "state", mxt_state_name(s->state));
		mxt_jw_kstr(w, "as", ci ? ci->as_tag : "");
		mxt_jw_ku64(w, "first_seen", s->first_seen);
		mxt_jw_ku64(w, "last_seen", s->last_seen);
		mxt_jw_ku64(w, "last_session", s->last_session);
		mxt_jw_ku64(w, "state_since", s->state_since);
		mxt_jw_ku64(w, "days_active", s->days_active);
		mxt_jw_key(w, "rate");
		mxt_jw_double(w, s->r_slow, 2);
		mxt_jw_key(w, "baseline");
		mxt_jw_double(w, r->base, 2);
		mxt_jw_kstr(w, "kernel_class", mxt_class_name(s->kclass));
		mxt_jw_kstr(w, "why", why);
		mxt_jw_obj_close(w);
	} else if (csv) {
		fprintf(out, "%s,%s,%s,%u,%u,%u,%u,%u,%.2f,%.2f,%s,%s\n", who, mxt_state_name(s->state),
			ci ? ci->as_tag : "", s->first_seen, s->last_seen, s->last_session,
			s->state_since, s->days_active, s->r_slow, r->base, mxt_class_name(s->kclass), why);
	} else {
		fprintf(out, "%-40s %-11s %-5s %4u %10.1f %10.1f\n", who, mxt_state_name(s->state),
			ci ? ci->as_tag : "", s->days_active, s->r_slow, r->base);
	}
}

static int list_records(struct mxt_controller *c, FILE *out, int only_state, int json, int csv)
{
	struct list_copy l = { NULL, 0, 0, c->model, mxt_ctl_now(c), only_state };
	struct mxt_jw w;
	int rc = list_copy_take(c, &l);

	if (rc) {
		free(l.v);
		return rc;
	}
	if (json) {
		mxt_jw_init(&w, out);
		mxt_jw_arr_open(&w);
	} else if (csv) {
		fprintf(out, "source,state,as,first_seen,last_seen,last_session,state_since,days_active,rate_per_hour,baseline_per_hour,kernel_class,why\n");
	} else {
		fprintf(out, "%-40s %-11s %-5s %4s %10s %10s\n", "SOURCE", "STATE", "AS", "DAYS", "RATE/h", "BASE/h");
	}
	for (size_t i = 0; i < l.n; i++)
		list_print(out, json ? &w : NULL, csv, &l.v[i]);
	if (json) {
		mxt_jw_arr_close(&w);
		mxt_jw_finish(&w); /* ends the line */
	}
	free(l.v);
	return 0;
}

static void status_print(struct mxt_controller *c, FILE *out, int json)
{
	struct mxt_model_counts k;

	pthread_mutex_lock(&c->lock);
	mxt_model_counts(c->model, &k);
	pthread_mutex_unlock(&c->lock);
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "tracked", k.tracked);
		mxt_jw_ku64(&w, "capacity", k.capacity);
		mxt_jw_key(&w, "states");
		mxt_jw_obj_open(&w);
		for (int s = 0; s < MXT_STATE_MAX; s++)
			mxt_jw_ku64(&w, mxt_state_name(s), k.by_state[s]);
		mxt_jw_obj_close(&w);
		mxt_jw_ku64(&w, "throttles", k.throttles);
		mxt_jw_ku64(&w, "established", k.established);
		mxt_jw_ku64(&w, "blocks", k.blocks);
		mxt_jw_ku64(&w, "admitted", k.admitted);
		mxt_jw_ku64(&w, "ticks", ST_GET(c, ticks));
		mxt_jw_ku64(&w, "tick_usec_last", ST_GET(c, tick_usec_last));
		mxt_jw_ku64(&w, "decisions", ST_GET(c, decisions));
		mxt_jw_ku64(&w, "checkpoints", ST_GET(c, checkpoints));
		mxt_jw_ku64(&w, "checkpoint_errors", ST_GET(c, checkpoint_errors));
		mxt_jw_ku64(&w, "checkpoint_usec_last", ST_GET(c, checkpoint_usec_last));
		mxt_jw_ku64(&w, "checkpoint_lock_usec_last", ST_GET(c, checkpoint_lock_usec_last));
		mxt_jw_ku64(&w, "map_errors", ST_GET(c, map_errors));
		mxt_jw_ku64(&w, "connectors", (uint64_t)c->nallow);
		if (c->fleet) {
			mxt_jw_key(&w, "fleet");
			mxt_fleet_status_brief(c->fleet, out, &w);
		}
		mxt_jw_obj_close(&w);
		mxt_jw_finish(&w); /* ends the line */
		return;
	}
	fprintf(out, "tracked %llu of %llu:", (unsigned long long)k.tracked, (unsigned long long)k.capacity);
	for (int s = 0; s < MXT_STATE_MAX; s++)
		fprintf(out, " %s=%llu", mxt_state_name(s), (unsigned long long)k.by_state[s]);
	fprintf(out, "\nticks %llu (last %llu us), decisions %llu, checkpoints %llu (%llu errors), connectors %d\n",
		(unsigned long long)ST_GET(c, ticks), (unsigned long long)ST_GET(c, tick_usec_last),
		(unsigned long long)ST_GET(c, decisions), (unsigned long long)ST_GET(c, checkpoints),
		(unsigned long long)ST_GET(c, checkpoint_errors), c->nallow);
	if (c->fleet)
		mxt_fleet_status_brief(c->fleet, out, NULL);
}

/* Record "key = value" pairs in runtime_conf (read after the main config
 * file at start and reload): existing keys are replaced, the file is
 * rewritten whole (temp file + rename). */
static int runtime_conf_save(struct mxt_controller *c, int n, const char *const *keys,
			     const char *const *vals)
{
	char names[64][64], values[64][128], line[256], tmp[sizeof(c->runtime_conf) + 8];
	int count = 0;
	FILE *f;

	if (!c->runtime_conf[0])
		return 0;
	f = fopen(c->runtime_conf, "r");
	while (f && count < 64 && fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		char k[64], v[128];

		if (line[0] == '#' || !eq || sscanf(line, " %63[^= ] = %127[^\n]", k, v) != 2)
			continue;
		snprintf(names[count], sizeof(names[0]), "%s", k);
		snprintf(values[count], sizeof(values[0]), "%s", v);
		count++;
	}
	if (f)
		fclose(f);
	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < count; j++)
			if (!strcmp(names[j], keys[i]))
				break;
		if (j == count) {
			if (count == 64)
				return -ENOSPC;
			count++;
		}
		snprintf(names[j], sizeof(names[0]), "%s", keys[i]);
		snprintf(values[j], sizeof(values[0]), "%s", vals[i]);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->runtime_conf);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# written by mxthrottled for 'mxthrottle config set'; read after mxthrottle.conf\n");
	for (int j = 0; j < count; j++)
		fprintf(f, "%s = %s\n", names[j], values[j]);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		unlink(tmp);
		return -EIO;
	}
	fclose(f);
	return rename(tmp, c->runtime_conf) < 0 ? -errno : 0;
}

/* "config set KEY VALUE ...": check all, apply to the kernel, persist. */
static int config_set(struct mxt_controller *c, int argc, char **argv, FILE *out,
		      char *err, size_t errlen)
{
	const char *keys[16], *vals[16];
	struct mxt_config next;
	int n = (argc - 2) / 2, rc;
	char val[128];

	if (argc < 4 || (argc - 2) % 2 || n > 16) {
		snprintf(err, errlen, "config set KEY VALUE [KEY VALUE ...] (at most 16 pairs)");
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		keys[i] = argv[2 + 2 * i];
		vals[i] = argv[3 + 2 * i];
		if ((rc = mxt_ctl_refuse_fixed_key(keys[i], err, errlen)))
			return rc;
	}
	pthread_mutex_lock(&c->lock);
	next = c->kcfg;
	pthread_mutex_unlock(&c->lock);
	rc = mxt_config_set_many(&next, (size_t)n, keys, vals, err, errlen);
	if (rc)
		return rc;
	if (c->maps && (rc = mxt_maps_config_write(c->maps, &next)) < 0) {
		snprintf(err, errlen, "cannot write the kernel config: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->kcfg = next;
	pthread_mutex_unlock(&c->lock);
	if (c->on_config)
		c->on_config(c->on_config_ctx, &next);
	rc = runtime_conf_save(c, n, keys, vals);
	if (rc) {
		snprintf(err, errlen, "applied, but not persisted to %s: %s", c->runtime_conf, strerror(-rc));
		return rc;
	}
	for (int i = 0; i < n; i++) {
		mxt_config_get(&next, keys[i], val, sizeof(val));
		fprintf(out, "%s = %s\n", keys[i], val);
		mxt_log_info("CONFIG %s = %s by operator", keys[i], val);
	}
	return 0;
}

/* 1 when argv ends with "json" or "--json" (then dropped from argc). */
static int take_json(int *argc, char **argv)
{
	if (*argc > 1 && (!strcmp(argv[*argc - 1], "--json") || !strcmp(argv[*argc - 1], "json"))) {
		(*argc)--;
		return 1;
	}
	return 0;
}

int mxt_ctl_command(struct mxt_controller *c, int argc, char **argv, FILE *out,
		    char *err, size_t errlen)
{
	int json = take_json(&argc, argv);
	struct mxt_key key;
	uint64_t now = mxt_ctl_now(c);
	int rc;

	if (argc < 1) {
		snprintf(err, errlen, "empty command");
		return -EINVAL;
	}
	if (!strcmp(argv[0], "explain") && argc == 2) {
		struct mxt_decision d;
		const struct mxt_sender *s;
		struct mxt_sender copy;

		if ((rc = ctl_key(c, argv[1], &key, err, errlen)))
			return rc;
		pthread_mutex_lock(&c->lock);
		mxt_model_decide(c->model, &key, now, &d);
		s = mxt_model_lookup(c->model, &key);
		if (s)
			copy = *s;
		pthread_mutex_unlock(&c->lock);
		mxt_explain_print(out, &key, &d, s ? &copy : NULL, now, json);
		return 0;
	}
	if ((!strcmp(argv[0], "release") || !strcmp(argv[0], "reset") || !strcmp(argv[0], "forget")) &&
	    argc == 2) {
		char who[MXT_ADDRSTRLEN];

		if ((rc = ctl_key(c, argv[1], &key, err, errlen)))
			return rc;
		pthread_mutex_lock(&c->lock);
		if (!strcmp(argv[0], "release"))
			rc = mxt_model_release(c->model, &key, now);
		else if (!strcmp(argv[0], "reset"))
			rc = mxt_model_reset(c->model, &key, now);
		else
			rc = mxt_model_forget(c->model, &key, now);
		pthread_mutex_unlock(&c->lock);
		mxt_key_format(&key, who, sizeof(who));
		if (rc) {
			snprintf(err, errlen, "%s %s: %s", argv[0], who,
				 rc == -ENOENT ? "not tracked" : strerror(-rc));
			return rc;
		}
		/* Operator actions are logged as such; the kernel follows at once. */
		mxt_log_info("%s [%s] by operator", !strcmp(argv[0], "release") ? "RELEASE" :
			     !strcmp(argv[0], "reset") ? "GRAYLIST" : "FORGET", who);
		mxt_fleet_announce(c->fleet, argc, argv);
		mxt_ctl_tick(c, now);
		fprintf(out, "%s %s\n", !strcmp(argv[0], "release") ? "released" :
			!strcmp(argv[0], "reset") ? "reset to probation" : "forgot", who);
		return 0;
	}
	if (!strcmp(argv[0], "graylist") && (argc == 1 || (argc == 2 && !strcmp(argv[1], "list"))))
		return list_records(c, out, MXT_STATE_GRAYLISTED, json, 0);
	if (!strcmp(argv[0], "history") && argc >= 2 && !strcmp(argv[1], "export")) {
		int csv = argc == 3 && !strcmp(argv[2], "csv");

		if (argc == 3 && !csv && strcmp(argv[2], "json")) {
			snprintf(err, errlen, "history export: format '%s' is not csv or json", argv[2]);
			return -EINVAL;
		}
		return list_records(c, out, -1, json || (argc == 3 && !csv) || argc == 2, csv);
	}
	if (!strcmp(argv[0], "allow") && argc == 3 && !strcmp(argv[1], "add")) {
		if ((rc = mxt_ctl_allow_add(c, argv[2], 1, err, errlen)))
			return rc;
		mxt_log_info("ALLOW [%s] connector added by operator", argv[2]);
		mxt_fleet_announce(c->fleet, argc, argv);
		fprintf(out, "connector %s added\n", argv[2]);
		return 0;
	}
	if (!strcmp(argv[0], "allow") && argc == 3 && !strcmp(argv[1], "del")) {
		if ((rc = mxt_ctl_allow_del(c, argv[2], 1, err, errlen)))
			return rc;
		mxt_log_info("DISALLOW [%s] connector removed by operator", argv[2]);
		mxt_fleet_announce(c->fleet, argc, argv);
		fprintf(out, "connector %s removed\n", argv[2]);
		return 0;
	}
	if (!strcmp(argv[0], "config") && argc >= 2 && !strcmp(argv[1], "set")) {
		rc = config_set(c, argc, argv, out, err, errlen);
		if (rc == 0)
			mxt_fleet_announce(c->fleet, argc, argv);
		return rc;
	}
	if (!strcmp(argv[0], "fleet") && argc == 2 && !strcmp(argv[1], "status")) {
		if (!c->fleet) {
			snprintf(err, errlen, "no fleet: fleet_redis is not set in mxthrottle.conf");
			return -ENOENT;
		}
		mxt_fleet_status(c->fleet, out, json);
		return 0;
	}
	if (!strcmp(argv[0], "status") && argc == 1) {
		status_print(c, out, json);
		return 0;
	}
	if (!strcmp(argv[0], "checkpoint") && argc == 1) {
		rc = mxt_ctl_checkpoint(c);
		if (rc < 0) {
			snprintf(err, errlen, "checkpoint failed: %s", strerror(-rc));
			return rc;
		}
		fprintf(out, "checkpoint: %d records written\n", rc);
		return 0;
	}
	if (c->test_mode && !strcmp(argv[0], "clock") && argc == 3 && !strcmp(argv[1], "advance")) {
		__u32 secs;

		if (mxt_parse_u32(argv[2], 1, 366u * 86400u, &secs) < 0) {
			snprintf(err, errlen, "clock advance: '%s' is not 1..31622400 seconds", argv[2]);
			return -EINVAL;
		}
		atomic_fetch_add_explicit(&c->clock_offset, (int64_t)secs, memory_order_relaxed);
		mxt_log_info("CLOCK advanced by %u s (test mode)", secs);
		mxt_ctl_tick(c, mxt_ctl_now(c));
		fprintf(out, "clock advanced by %u s\n", secs);
		return 0;
	}
	if (c->test_mode && !strcmp(argv[0], "seed") && argc == 4) {
		__u32 per_hour, days;

		if ((rc = ctl_key(c, argv[1], &key, err, errlen)))
			return rc;
		if (mxt_parse_u32(argv[2], 1, 3600, &per_hour) < 0 || mxt_parse_u32(argv[3], 1, 60, &days) < 0) {
			snprintf(err, errlen, "seed ADDR SESSIONS_PER_HOUR(1..3600) DAYS(1..60)");
			return -EINVAL;
		}
		rc = mxt_ctl_seed(c, &key, per_hour, days, now);
		if (rc < 0) {
			snprintf(err, errlen, "seed: %s", strerror(-rc));
			return rc;
		}
		/* A tick, not a re-seed: the changes of other senders that it
		 * writes too are logged as the timer's ticks log them. */
		mxt_ctl_tick(c, now);
		fprintf(out, "seeded %s with %u sessions/h over %u days\n", argv[1], per_hour, days);
		return 0;
	}
	snprintf(err, errlen, "unknown command '%s' (or wrong arguments)", argv[0]);
	return -EINVAL;
}

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

/* ---- persistence ----------------------------------------------------------- */

/* Copy what the next checkpoint writes and mark the model clean, in one
 * hold of the lock: memory copies only.  The room is reserved before,
 * outside the lock, from a count taken under it; should the model grow
 * past it in between, reserve again.  Adds the time the lock was held
 * for the copy to *held. */
static int checkpoint_copy(struct mxt_controller *c, struct mxt_hdb_snapshot *snap, uint64_t *held)
{
	unsigned flags = c->full_checkpoint ? 0 : MXT_HDB_DIRTY_ONLY;
	int rc = -ENOBUFS;

	for (int attempt = 0; attempt < 4 && rc == -ENOBUFS; attempt++) {
		size_t nrec, nrm;
		uint64_t t0;

		pthread_mutex_lock(&c->lock);
		mxt_hdb_snapshot_need(c->model, &nrec, &nrm);
		pthread_mutex_unlock(&c->lock);
		rc = mxt_hdb_snapshot_reserve(snap, nrec + nrec / 8 + 64, nrm + nrm / 8 + 64);
		if (rc)
			return rc;
		t0 = usec_now();
		pthread_mutex_lock(&c->lock);
		rc = mxt_hdb_snapshot_take(snap, c->model, flags);
		if (!rc)
			mxt_model_mark_clean(c->model);
		pthread_mutex_unlock(&c->lock);
		*held += usec_now() - t0;
	}
	return rc;
}

/* Copy under the lock, write without it: the policy thread never waits
 * for the disk.  The model is marked clean at the copy; should the write
 * fail, the next checkpoint rewrites everything (full_checkpoint), so no
 * change is lost, and the previous checkpoint stays intact in the db. */
int mxt_ctl_checkpoint(struct mxt_controller *c)
{
	struct mxt_hdb_snapshot snap = { 0 };
	struct mxt_hdb_stats st;
	uint64_t t0 = usec_now(), held = 0;
	int rc;

	if (!c->db)
		return 0;
	rc = checkpoint_copy(c, &snap, &held);
	if (!rc)
		rc = mxt_hdb_snapshot_write(c->db, &snap, mxt_ctl_now(c), &st);
	mxt_hdb_snapshot_free(&snap);
	ST_SET(c, checkpoint_lock_usec_last, held);
	if (rc < 0) {
		c->full_checkpoint = 1;
		ST_INC(c, checkpoint_errors);
		mxt_log_warnx("checkpoint failed: %s (next one rewrites everything)",
			      mxt_hdb_error(c->db)[0] ? mxt_hdb_error(c->db) : strerror(-rc));
		return rc;
	}
	c->full_checkpoint = 0;
	ST_INC(c, checkpoints);
	ST_SET(c, checkpoint_records_last, st.written + st.deleted);
	ST_SET(c, checkpoint_usec_last, usec_now() - t0);
	return (int)st.written;
}

int mxt_ctl_restore(struct mxt_controller *c, char *err, size_t errlen)
{
	struct mxt_hdb_stats st;
	int rc;

	if (!c->db)
		return 0;
	pthread_mutex_lock(&c->lock);
	rc = mxt_hdb_load(c->db, c->model, &st);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		snprintf(err, errlen, "%s", mxt_hdb_error(c->db));
		return rc;
	}
	if (st.skipped_full || st.skipped_bad)
		mxt_log_warnx("history: %llu records not restored (model full), %llu undecodable",
			      (unsigned long long)st.skipped_full, (unsigned long long)st.skipped_bad);
	return (int)st.loaded;
}
