/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl_commands.c - the control commands the daemon runs for the CLI
 * (control.c splits the line): a table of {name, subcommand, argument
 * counts, handler, usage} instead of a chain of comparisons, and the
 * formatters of their answers (explain, listings, status).  Like the
 * tick, a command reads the model under its lock and formats without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfgkeys.h"
#include "controller_int.h"
#include "fleet.h"
#include "jsonw.h"
#include "log.h"
#include "reply_codes.h"

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

/* Explain a decision for "explain", in words or JSON. */
static void explain_print(FILE *out, const struct mxt_key *key, const struct mxt_decision *d,
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
		mxt_seterr(err, errlen, "'%s' is not an IPv4 or IPv6 address", text);
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
	struct mxt_ctl_snapshot snap;
	const struct mxt_model_counts *k = &snap.model;
	const struct mxt_ctl_counters *n = &snap.counters;

	mxt_ctl_snapshot(c, &snap);
	if (json) {
		struct mxt_jw w;

		mxt_jw_init(&w, out);
		mxt_jw_obj_open(&w);
		mxt_jw_ku64(&w, "tracked", k->tracked);
		mxt_jw_ku64(&w, "capacity", k->capacity);
		mxt_jw_key(&w, "states");
		mxt_jw_obj_open(&w);
		for (int s = 0; s < MXT_STATE_MAX; s++)
			mxt_jw_ku64(&w, mxt_state_name(s), k->by_state[s]);
		mxt_jw_obj_close(&w);
		mxt_jw_ku64(&w, "throttles", k->throttles);
		mxt_jw_ku64(&w, "established", k->established);
		mxt_jw_ku64(&w, "blocks", k->blocks);
		mxt_jw_ku64(&w, "admitted", k->admitted);
		mxt_jw_ku64(&w, "ticks", n->ticks);
		mxt_jw_ku64(&w, "tick_usec_last", n->tick_usec_last);
		mxt_jw_ku64(&w, "decisions", n->decisions);
		mxt_jw_ku64(&w, "checkpoints", n->checkpoints);
		mxt_jw_ku64(&w, "checkpoint_errors", n->checkpoint_errors);
		mxt_jw_ku64(&w, "checkpoint_usec_last", n->checkpoint_usec_last);
		mxt_jw_ku64(&w, "checkpoint_lock_usec_last", n->checkpoint_lock_usec_last);
		mxt_jw_ku64(&w, "map_errors", n->map_errors);
		mxt_jw_ku64(&w, "connectors", (uint64_t)c->nallow);
		if (c->fleet) {
			mxt_jw_key(&w, "fleet");
			mxt_fleet_status_brief(c->fleet, out, &w);
		}
		mxt_jw_obj_close(&w);
		mxt_jw_finish(&w); /* ends the line */
		return;
	}
	fprintf(out, "tracked %llu of %llu:", (unsigned long long)k->tracked, (unsigned long long)k->capacity);
	for (int s = 0; s < MXT_STATE_MAX; s++)
		fprintf(out, " %s=%llu", mxt_state_name(s), (unsigned long long)k->by_state[s]);
	fprintf(out, "\nticks %llu (last %llu us), decisions %llu, checkpoints %llu (%llu errors), connectors %d\n",
		(unsigned long long)n->ticks, (unsigned long long)n->tick_usec_last,
		(unsigned long long)n->decisions, (unsigned long long)n->checkpoints,
		(unsigned long long)n->checkpoint_errors, c->nallow);
	if (c->fleet)
		mxt_fleet_status_brief(c->fleet, out, NULL);
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
		mxt_seterr(err, errlen, "config set KEY VALUE [KEY VALUE ...] (at most 16 pairs)");
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
		mxt_seterr(err, errlen, "cannot write the kernel config: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_lock(&c->lock);
	c->kcfg = next;
	pthread_mutex_unlock(&c->lock);
	if (c->on_config)
		c->on_config(c->on_config_ctx, &next);
	rc = mxt_ctl_runtime_conf_save(c, n, keys, vals);
	if (rc) {
		mxt_seterr(err, errlen, "applied, but not persisted to %s: %s", c->runtime_conf, strerror(-rc));
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

/* One command as the dispatcher hands it over. */
struct ctl_req {
	struct mxt_controller *c;
	int argc;              /* without a trailing "json"/"--json" */
	char **argv;
	FILE *out;
	char *err;
	size_t errlen;
	int json;
	uint64_t now;          /* the controller's time when the command came */
};

static int cmd_explain(const struct ctl_req *r)
{
	struct mxt_controller *c = r->c;
	struct mxt_decision d;
	const struct mxt_sender *s;
	struct mxt_sender copy;
	struct mxt_key key;
	int rc;

	if ((rc = ctl_key(c, r->argv[1], &key, r->err, r->errlen)))
		return rc;
	pthread_mutex_lock(&c->lock);
	mxt_model_decide(c->model, &key, r->now, &d);
	s = mxt_model_lookup(c->model, &key);
	if (s)
		copy = *s;
	pthread_mutex_unlock(&c->lock);
	explain_print(r->out, &key, &d, s ? &copy : NULL, r->now, r->json);
	return 0;
}

/* release, reset and forget: one operator action on one sender. */
static int cmd_sender(const struct ctl_req *r)
{
	struct mxt_controller *c = r->c;
	const char *verb = r->argv[0];
	char who[MXT_ADDRSTRLEN];
	struct mxt_key key;
	int rc;

	if ((rc = ctl_key(c, r->argv[1], &key, r->err, r->errlen)))
		return rc;
	pthread_mutex_lock(&c->lock);
	if (!strcmp(verb, "release"))
		rc = mxt_model_release(c->model, &key, r->now);
	else if (!strcmp(verb, "reset"))
		rc = mxt_model_reset(c->model, &key, r->now);
	else
		rc = mxt_model_forget(c->model, &key, r->now);
	pthread_mutex_unlock(&c->lock);
	mxt_key_format(&key, who, sizeof(who));
	if (rc) {
		mxt_seterr(r->err, r->errlen, "%s %s: %s", verb, who,
			  rc == -ENOENT ? "not tracked" : strerror(-rc));
		return rc;
	}
	/* Operator actions are logged as such; the kernel follows at once. */
	mxt_log_info("%s [%s] by operator", !strcmp(verb, "release") ? "RELEASE" :
		     !strcmp(verb, "reset") ? "GRAYLIST" : "FORGET", who);
	mxt_fleet_announce(c->fleet, r->argc, r->argv);
	mxt_ctl_tick(c, r->now);
	fprintf(r->out, "%s %s\n", !strcmp(verb, "release") ? "released" :
		!strcmp(verb, "reset") ? "reset to probation" : "forgot", who);
	return 0;
}

static int cmd_graylist(const struct ctl_req *r)
{
	return list_records(r->c, r->out, MXT_STATE_GRAYLISTED, r->json, 0);
}

/* "history export [csv|json]": JSON unless csv; more words than that
 * fall back to the text listing, as they always have. */
static int cmd_history_export(const struct ctl_req *r)
{
	int csv = r->argc == 3 && !strcmp(r->argv[2], "csv");

	if (r->argc == 3 && !csv && strcmp(r->argv[2], "json")) {
		mxt_seterr(r->err, r->errlen, "history export: format '%s' is not csv or json", r->argv[2]);
		return -EINVAL;
	}
	return list_records(r->c, r->out, -1, r->json || (r->argc == 3 && !csv) || r->argc == 2, csv);
}

static int cmd_allow_add(const struct ctl_req *r)
{
	int rc;

	if ((rc = mxt_ctl_allow_add(r->c, r->argv[2], 1, r->err, r->errlen)))
		return rc;
	mxt_log_info("ALLOW [%s] connector added by operator", r->argv[2]);
	mxt_fleet_announce(r->c->fleet, r->argc, r->argv);
	fprintf(r->out, "connector %s added\n", r->argv[2]);
	return 0;
}

static int cmd_allow_del(const struct ctl_req *r)
{
	int rc;

	if ((rc = mxt_ctl_allow_del(r->c, r->argv[2], 1, r->err, r->errlen)))
		return rc;
	mxt_log_info("DISALLOW [%s] connector removed by operator", r->argv[2]);
	mxt_fleet_announce(r->c->fleet, r->argc, r->argv);
	fprintf(r->out, "connector %s removed\n", r->argv[2]);
	return 0;
}

static int cmd_config_set(const struct ctl_req *r)
{
	int rc = config_set(r->c, r->argc, r->argv, r->out, r->err, r->errlen);

	if (rc == 0)
		mxt_fleet_announce(r->c->fleet, r->argc, r->argv);
	return rc;
}

static int cmd_fleet_status(const struct ctl_req *r)
{
	if (!r->c->fleet) {
		mxt_seterr(r->err, r->errlen, "no fleet: fleet_redis is not set in mxthrottle.conf");
		return -ENOENT;
	}
	mxt_fleet_status(r->c->fleet, r->out, r->json);
	return 0;
}

static int cmd_status(const struct ctl_req *r)
{
	status_print(r->c, r->out, r->json);
	return 0;
}

static int cmd_checkpoint(const struct ctl_req *r)
{
	int rc = mxt_ctl_checkpoint(r->c);

	if (rc < 0) {
		mxt_seterr(r->err, r->errlen, "checkpoint failed: %s", strerror(-rc));
		return rc;
	}
	fprintf(r->out, "checkpoint: %d records written\n", rc);
	return 0;
}

static int cmd_clock_advance(const struct ctl_req *r)
{
	struct mxt_controller *c = r->c;
	__u32 secs;

	if (mxt_parse_u32(r->argv[2], 1, 366u * 86400u, &secs) < 0) {
		mxt_seterr(r->err, r->errlen, "clock advance: '%s' is not 1..31622400 seconds", r->argv[2]);
		return -EINVAL;
	}
	atomic_fetch_add_explicit(&c->clock_offset, (int64_t)secs, memory_order_relaxed);
	mxt_log_info("CLOCK advanced by %u s (test mode)", secs);
	mxt_ctl_tick(c, mxt_ctl_now(c));
	fprintf(r->out, "clock advanced by %u s\n", secs);
	return 0;
}

static int cmd_seed(const struct ctl_req *r)
{
	struct mxt_controller *c = r->c;
	__u32 per_hour, days;
	struct mxt_key key;
	int rc;

	if ((rc = ctl_key(c, r->argv[1], &key, r->err, r->errlen)))
		return rc;
	if (mxt_parse_u32(r->argv[2], 1, 3600, &per_hour) < 0 || mxt_parse_u32(r->argv[3], 1, 60, &days) < 0) {
		mxt_seterr(r->err, r->errlen, "seed ADDR SESSIONS_PER_HOUR(1..3600) DAYS(1..60)");
		return -EINVAL;
	}
	rc = mxt_ctl_seed(c, &key, per_hour, days, r->now);
	if (rc < 0) {
		mxt_seterr(r->err, r->errlen, "seed: %s", strerror(-rc));
		return rc;
	}
	/* A tick, not a re-seed: the changes of other senders that it
	 * writes too are logged as the timer's ticks log them. */
	mxt_ctl_tick(c, r->now);
	fprintf(r->out, "seeded %s with %u sessions/h over %u days\n", r->argv[1], per_hour, days);
	return 0;
}

/* A command matches when argv[0] is 'name', argv[1] is 'sub' (if set) and
 * the word count, the command included and a trailing json excluded, is
 * within [min_argc, max_argc].  The entries never overlap, so their order
 * does not matter; "usage" documents each line. */
struct ctl_cmd {
	const char *name;
	const char *sub;
	int min_argc, max_argc;
	int test_only;         /* mxthrottled -T only */
	int (*run)(const struct ctl_req *r);
	const char *usage;
};

#define ANY_ARGC 0x7fffffff

static const struct ctl_cmd commands[] = {
	{ "explain",    NULL,      2, 2, 0, cmd_explain,        "explain ADDR [json]" },
	{ "release",    NULL,      2, 2, 0, cmd_sender,         "release ADDR" },
	{ "reset",      NULL,      2, 2, 0, cmd_sender,         "reset ADDR" },
	{ "forget",     NULL,      2, 2, 0, cmd_sender,         "forget ADDR" },
	{ "graylist",   NULL,      1, 1, 0, cmd_graylist,       "graylist [json]" },
	{ "graylist",   "list",    2, 2, 0, cmd_graylist,       "graylist list [json]" },
	{ "history",    "export",  2, ANY_ARGC, 0, cmd_history_export, "history export [csv|json]" },
	{ "allow",      "add",     3, 3, 0, cmd_allow_add,      "allow add CIDR" },
	{ "allow",      "del",     3, 3, 0, cmd_allow_del,      "allow del CIDR" },
	{ "config",     "set",     2, ANY_ARGC, 0, cmd_config_set, "config set KEY VALUE [KEY VALUE ...]" },
	{ "fleet",      "status",  2, 2, 0, cmd_fleet_status,   "fleet status [json]" },
	{ "status",     NULL,      1, 1, 0, cmd_status,         "status [json]" },
	{ "checkpoint", NULL,      1, 1, 0, cmd_checkpoint,     "checkpoint" },
	{ "clock",      "advance", 3, 3, 1, cmd_clock_advance,  "clock advance SECONDS" },
	{ "seed",       NULL,      4, 4, 1, cmd_seed,           "seed ADDR SESSIONS_PER_HOUR DAYS" },
};

static const struct ctl_cmd *command_find(const struct mxt_controller *c, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct ctl_cmd *k = &commands[i];

		if (strcmp(argv[0], k->name) || argc < k->min_argc || argc > k->max_argc)
			continue;
		if (k->test_only && !c->test_mode)
			continue;
		if (k->sub && (argc < 2 || strcmp(argv[1], k->sub)))
			continue;
		return k;
	}
	return NULL;
}

int mxt_ctl_command(struct mxt_controller *c, int argc, char **argv, FILE *out,
		    char *err, size_t errlen)
{
	struct ctl_req r = { c, 0, argv, out, err, errlen, 0, mxt_ctl_now(c) };
	const struct ctl_cmd *k;

	r.json = take_json(&argc, argv);
	r.argc = argc;
	if (argc < 1) {
		mxt_seterr(err, errlen, "empty command");
		return -EINVAL;
	}
	k = command_find(c, argc, argv);
	if (!k) {
		mxt_seterr(err, errlen, "unknown command '%s' (or wrong arguments)", argv[0]);
		return -EINVAL;
	}
	return k->run(&r);
}
