/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * model_params.c - the model's tunables as one table (see model_params.h):
 * defaults are parsed from the same text an operator would write, so the
 * defaults, the parser and the documentation cannot disagree.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "errfmt.h"
#include "model_params.h"

#define OFF(f) offsetof(struct mxt_model_params, f)
#define DAY 86400.0

static const struct mxt_model_param params[] = {
	/* probation */
	{ "probation_schedule", MXT_PT_LIST, OFF(schedule), "20,100,500", 1, 10000000,
	  "sessions/h", "allowance of a sender on probation after 0, 1, 2, ... clean days" },
	{ "establish_days", MXT_PT_COUNT, OFF(establish_days), "3", 1, 365,
	  "days", "clean days on probation before a sender is ESTABLISHED" },
	{ "probation_rcpts_per_session", MXT_PT_COUNT, OFF(probation_rcpts_per_session), "5", 1, 10000,
	  "", "recipients per hour on probation = session allowance x this (NEW_BURST above)" },
	{ "clean_day_min_sessions", MXT_PT_COUNT, OFF(clean_day_min_sessions), "1", 1, 1000000,
	  "sessions", "admitted sessions a day needs to count as a clean day" },
	{ "clean_day_max_deferred_pct", MXT_PT_COUNT, OFF(clean_day_max_deferred_pct), "50", 0, 100,
	  "%", "a day on which more than this % of attempts were deferred by a new-sender budget is not clean" },
	{ "greylist_delay", MXT_PT_DURATION, OFF(greylist_delay), "0", 0, DAY,
	  "s", "defer every session this long after a sender's first one (classic greylisting; 0 = off)" },
	{ "new_sender_budget", MXT_PT_COUNT, OFF(new_sender_budget), "600", 0, 100000000,
	  "sessions/h", "gateway-wide budget for sessions of senders on their first probation day (0 = off)" },
	{ "new_sender_budget_free", MXT_PT_COUNT, OFF(new_sender_budget_free), "3", 0, 100000,
	  "sessions/h", "sessions per hour of each first-day sender that do not draw on the gateway-wide budget" },
	/* rate jumps */
	{ "jump_factor", MXT_PT_NUMBER, OFF(jump_factor), "5", 1.5, 10000,
	  "x", "fast check: throttle above this x the baseline (and the margin, and its usual bursts)" },
	{ "jump_margin", MXT_PT_COUNT, OFF(jump_margin), "60", 0, 100000000,
	  "sessions/h", "release threshold and learning cap: baseline + this at least" },
	{ "jump_fast_margin", MXT_PT_COUNT, OFF(jump_fast_margin), "480", 0, 100000000,
	  "sessions/h", "fast check: above the baseline + this at least, on the rate_fast_window rate" },
	{ "rcpt_jump_margin", MXT_PT_COUNT, OFF(rcpt_jump_margin), "300", 0, 1000000000,
	  "recipients/h", "margin of the same check on recipients (baseline x recipients per session)" },
	{ "rate_window", MXT_PT_DURATION, OFF(rate_window), "600", 60, 7200,
	  "s", "time constant of the current rate (exponentially weighted)" },
	{ "rate_fast_window", MXT_PT_DURATION, OFF(rate_fast_window), "60", 10, 600,
	  "s", "time constant of the fast rate that catches jumps within a minute" },
	{ "release_factor", MXT_PT_NUMBER, OFF(release_factor), "2", 1, 10000,
	  "x", "a throttled sender cools down once below this x its baseline (and + jump_margin)" },
	{ "throttle_cooldown", MXT_PT_DURATION, OFF(throttle_cooldown), "1800", 0, 7 * DAY,
	  "s", "time below the release threshold before THROTTLED returns to ESTABLISHED" },
	{ "throttle_allow_factor", MXT_PT_NUMBER, OFF(throttle_allow_factor), "1", 0, 100,
	  "x", "a throttled sender may still send this x its baseline per hour, plus its queue to drain ..." },
	{ "throttle_allow_min", MXT_PT_COUNT, OFF(throttle_allow_min), "60", 0, 100000000,
	  "sessions/h", "... and at least this many sessions per hour" },
	{ "throttle_retry_weight", MXT_PT_NUMBER, OFF(throttle_retry_weight), "0.25", 0, 1,
	  "", "weight in the rates of a session taken for a retry of deferred mail" },
	{ "throttle_grace", MXT_PT_DURATION, OFF(throttle_grace), "2h", 0, 7 * DAY,
	  "s", "after a throttle ends, only a renewed jump counts this long (the backlog flush)" },
	/* baseline */
	{ "throttle_max", MXT_PT_DURATION, OFF(throttle_max), "4h", 600, 7 * DAY,
	  "s", "a throttle ends after this long at the latest (then throttle_grace applies)" },
	{ "cusum_k", MXT_PT_NUMBER, OFF(cusum_k), "1.5", 1.1, 100,
	  "x", "sustained check: sessions above this x the baseline accumulate (CUSUM)" },
	{ "cusum_z", MXT_PT_NUMBER, OFF(cusum_z), "2", 0.5, 100,
	  "", "sustained check: fires when the sum exceeds z sqrt(k x baseline x dispersion)" },
	{ "cusum_min", MXT_PT_COUNT, OFF(cusum_min), "3", 1, 1000000,
	  "sessions", "sustained check: plus at least this many sessions" },
	{ "burst_factor", MXT_PT_NUMBER, OFF(burst_factor), "3", 1, 1000,
	  "x", "fast check: the fast rate must also exceed this x the sender's usual bursts" },
	{ "fast_min_count", MXT_PT_COUNT, OFF(fast_min_count), "8", 1, 1000000,
	  "sessions", "fast check: evidence of at least this many sessions in its window" },
	{ "retry_horizon", MXT_PT_DURATION, OFF(retry_horizon), "2h", 300, DAY,
	  "s", "deferred sessions are expected back as retries within about this long" },
	{ "week_memory", MXT_PT_COUNT, OFF(week_memory), "3", 1, 52,
	  "weeks", "memory of the hour-of-week profile" },
	{ "learn_up_alpha", MXT_PT_NUMBER, OFF(learn_up_alpha), "0.5", 0, 1,
	  "", "an hour above its baseline slot is learned with at least this weight (growth)" },
	{ "prefix_budget", MXT_PT_COUNT, OFF(prefix_budget), "60", 0, 100000000,
	  "sessions/h", "day-0 senders' sessions per /24 (IPv4) or /48 (IPv6), 0 off" },
	{ "prefix_v4", MXT_PT_COUNT, OFF(prefix_v4), "24", 8, 32,
	  "bits", "prefix length of the IPv4 new-sender budget" },
	{ "prefix_v6", MXT_PT_COUNT, OFF(prefix_v6), "48", 16, 128,
	  "bits", "prefix length of the IPv6 new-sender budget" },
	{ "baseline_days", MXT_PT_COUNT, OFF(baseline_days), "7", 1, 365,
	  "days", "memory of the weekday hour-of-day profile, in active days (EWMA)" },
	{ "baseline_weekend_days", MXT_PT_COUNT, OFF(baseline_weekend_days), "4", 1, 365,
	  "days", "memory of the weekend profile, in active weekend days (EWMA)" },
	{ "baseline_floor", MXT_PT_COUNT, OFF(baseline_floor), "6", 1, 100000000,
	  "sessions/h", "smallest baseline any hour is compared against" },
	{ "learn_cap_factor", MXT_PT_NUMBER, OFF(learn_cap_factor), "2", 1, 1000,
	  "x", "one hour teaches the baseline at most this x its slot (or slot + jump_margin)" },
	{ "offhours_fraction", MXT_PT_NUMBER, OFF(offhours_fraction), "0.1", 0, 1,
	  "", "baseline of any hour >= this x the sender's peak hour" },
	{ "weekend_blend", MXT_PT_NUMBER, OFF(weekend_blend), "0.3", 0, 1,
	  "", "weekend baseline >= this x the weekday baseline of the same hour" },
	{ "tz_offset_hours", MXT_PT_INT, OFF(tz_offset_hours), "0", -12, 14,
	  "h", "local time of the hour-of-day and weekend profiles = UTC + this" },
	/* SYN floods */
	{ "block_syn_rate", MXT_PT_COUNT, OFF(block_syn_rate), "1200", 1, 1000000000,
	  "SYN/min", "block a source whose SYN rate exceeds this ..." },
	{ "block_factor", MXT_PT_NUMBER, OFF(block_factor), "10", 1, 1000000,
	  "x", "... and this x its expected session rate" },
	{ "block_cooldown", MXT_PT_DURATION, OFF(block_cooldown), "600", 0, 7 * DAY,
	  "s", "time below half the block threshold before a block ends" },
	{ "syn_track_min", MXT_PT_COUNT, OFF(syn_track_min), "10", 1, 1000000000,
	  "SYNs", "SYNs in one observation before an unknown source is tracked at all" },
	/* memory */
	{ "new_expire", MXT_PT_DURATION, OFF(new_expire), "3600", 60, 30 * DAY,
	  "s", "forget a source that only ever sent SYNs after this long idle" },
	{ "absence_reset", MXT_PT_DURATION, OFF(absence_reset), "30d", DAY, 3650 * DAY,
	  "s", "an established sender without sessions this long goes back to probation" },
	{ "evict_protect", MXT_PT_DURATION, OFF(evict_protect), "7d", 0, 3650 * DAY,
	  "s", "an established sender with a session within this is never evicted" },
	/* kernel overrides */
	{ "kernel_headroom", MXT_PT_NUMBER, OFF(kernel_headroom), "4", 1, 1000,
	  "x", "per-source kernel SYN limit = session allowance x this" },
	{ "kernel_min_rate", MXT_PT_COUNT, OFF(kernel_min_rate), "10", 1, 100000000,
	  "SYN/min", "smallest per-source kernel SYN limit" },
	{ "kernel_min_burst", MXT_PT_COUNT, OFF(kernel_min_burst), "10", 1, 1000000,
	  "SYNs", "smallest burst of a per-source kernel SYN limit" },
};

#define NPARAMS (sizeof(params) / sizeof(params[0]))

/* The table and its length. */
const struct mxt_model_param *mxt_model_param_table(size_t *n)
{
	if (n)
		*n = NPARAMS;
	return params;
}

/* Row of 'name', or NULL. */
const struct mxt_model_param *mxt_model_param_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < NPARAMS; i++)
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

/* Name of a value type. */
const char *mxt_param_type_name(enum mxt_param_type t)
{
	static const char *const names[MXT_PT_MAX] = { "count", "number", "int", "duration", "list" };

	return (unsigned)t < MXT_PT_MAX ? names[t] : "?";
}

/* Strict decimal integer (optional '-' when 'neg'), whole string. */
static int parse_int(const char *s, int neg, long long *out)
{
	const char *p = s;
	long long v = 0;
	int minus = 0;

	if (neg && *p == '-') {
		minus = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (LLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (*p)
		return -EINVAL;
	*out = minus ? -v : v;
	return 0;
}

/* Integer with an optional s/m/h/d unit, in seconds. */
static int parse_duration(const char *s, long long *out)
{
	char buf[32];
	size_t n = strlen(s);
	long long mult = 1, v;
	int rc;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n + 1);
	switch (buf[n - 1]) {
	case 's': mult = 1; buf[--n] = 0; break;
	case 'm': mult = 60; buf[--n] = 0; break;
	case 'h': mult = 3600; buf[--n] = 0; break;
	case 'd': mult = 86400; buf[--n] = 0; break;
	default: break;
	}
	rc = parse_int(buf, 0, &v);
	if (rc)
		return rc;
	if (v > LLONG_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

/* Strict decimal number (digits, optional fraction), finite. */
static int parse_number(const char *s, double *out)
{
	const char *p = s;
	char *end;
	int digits = 0;

	/* Only [0-9]+(.[0-9]+)? : no sign, exponent, hex, inf or blanks. */
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			digits++;
	}
	if (!digits || *p)
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	if (errno || *end || !isfinite(*out))
		return -ERANGE;
	return 0;
}

/* Check one value against a row's range. */
static int in_range(const struct mxt_model_param *row, double v, const char *value,
		    char *err, size_t errlen)
{
	if (v < row->min || v > row->max) {
		mxt_seterr(err, errlen, "%s: %s is out of range [%g, %g]%s%s", row->name, value,
		       row->min, row->max, row->unit[0] ? " " : "", row->unit);
		return -ERANGE;
	}
	return 0;
}

/* Parse a schedule list into 'sched' / '*len'. */
static int parse_list(const struct mxt_model_param *row, const char *value, uint32_t *sched,
		      uint32_t *len, char *err, size_t errlen)
{
	char buf[256], *tok, *save = NULL;
	uint32_t n = 0;
	long long v;
	int rc;

	if (strlen(value) >= sizeof(buf)) {
		mxt_seterr(err, errlen, "%s: list too long", row->name);
		return -EINVAL;
	}
	memcpy(buf, value, strlen(value) + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		for (char *e = tok + strlen(tok); e > tok && e[-1] == ' ';)
			*--e = 0;
		if (n >= MXT_SCHEDULE_MAX) {
			mxt_seterr(err, errlen, "%s: more than %d entries", row->name, MXT_SCHEDULE_MAX);
			return -EINVAL;
		}
		rc = parse_int(tok, 0, &v);
		if (rc) {
			mxt_seterr(err, errlen, "%s: '%s' is not a whole number", row->name, tok);
			return -EINVAL;
		}
		rc = in_range(row, (double)v, tok, err, errlen);
		if (rc)
			return rc;
		if (n && (uint32_t)v < sched[n - 1]) {
			mxt_seterr(err, errlen, "%s: entries must not decrease (%lld after %u)", row->name,
			       v, sched[n - 1]);
			return -EINVAL;
		}
		sched[n++] = (uint32_t)v;
	}
	if (n == 0) {
		mxt_seterr(err, errlen, "%s: empty list", row->name);
		return -EINVAL;
	}
	*len = n;
	return 0;
}

/* Set 'name' from text; range-checked; *p unchanged on error. */
int mxt_model_param_set(struct mxt_model_params *p, const char *name, const char *value,
			char *err, size_t errlen)
{
	const struct mxt_model_param *row = mxt_model_param_find(name);
	char *base = (char *)p;
	long long iv;
	double dv;
	int rc;

	if (!p || !name || !value) {
		mxt_seterr(err, errlen, "missing name or value");
		return -EINVAL;
	}
	if (!row) {
		mxt_seterr(err, errlen, "unknown model parameter '%s'", name);
		return -ENOENT;
	}
	switch (row->type) {
	case MXT_PT_COUNT:
	case MXT_PT_INT:
		rc = parse_int(value, row->type == MXT_PT_INT, &iv);
		if (rc) {
			mxt_seterr(err, errlen, "%s: '%s' is not a whole number", name, value);
			return -EINVAL;
		}
		rc = in_range(row, (double)iv, value, err, errlen);
		if (rc)
			return rc;
		if (row->type == MXT_PT_INT)
			*(int32_t *)(base + row->offset) = (int32_t)iv;
		else
			*(uint32_t *)(base + row->offset) = (uint32_t)iv;
		return 0;
	case MXT_PT_DURATION:
		rc = parse_duration(value, &iv);
		if (rc) {
			mxt_seterr(err, errlen, "%s: '%s' is not a duration (N, Ns, Nm, Nh or Nd)",
			       name, value);
			return -EINVAL;
		}
		rc = in_range(row, (double)iv, value, err, errlen);
		if (rc)
			return rc;
		*(uint32_t *)(base + row->offset) = (uint32_t)iv;
		return 0;
	case MXT_PT_NUMBER:
		rc = parse_number(value, &dv);
		if (rc) {
			mxt_seterr(err, errlen, "%s: '%s' is not a number", name, value);
			return -EINVAL;
		}
		rc = in_range(row, dv, value, err, errlen);
		if (rc)
			return rc;
		*(double *)(base + row->offset) = dv;
		return 0;
	case MXT_PT_LIST: {
		uint32_t sched[MXT_SCHEDULE_MAX], len = 0;

		rc = parse_list(row, value, sched, &len, err, errlen);
		if (rc)
			return rc;
		memset(p->schedule, 0, sizeof(p->schedule));
		memcpy(p->schedule, sched, len * sizeof(sched[0]));
		p->schedule_len = len;
		return 0;
	}
	default:
		break;
	}
	mxt_seterr(err, errlen, "%s: bad table row", name);
	return -EINVAL;
}

/* Fill every field with its default (the table's text, parsed). */
void mxt_model_params_default(struct mxt_model_params *p)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < NPARAMS; i++)
		(void)mxt_model_param_set(p, params[i].name, params[i].defval, NULL, 0);
}

/* Format the current value of 'row'. */
int mxt_model_param_format(const struct mxt_model_params *p, const struct mxt_model_param *row,
			   char *buf, size_t len)
{
	const char *base = (const char *)p;
	size_t off = 0;
	int n = 0;
	uint32_t i;

	if (!p || !row || !buf || !len)
		return -EINVAL;
	switch (row->type) {
	case MXT_PT_COUNT:
	case MXT_PT_DURATION:
		n = snprintf(buf, len, "%u", *(const uint32_t *)(base + row->offset));
		break;
	case MXT_PT_INT:
		n = snprintf(buf, len, "%d", *(const int32_t *)(base + row->offset));
		break;
	case MXT_PT_NUMBER:
		n = snprintf(buf, len, "%g", *(const double *)(base + row->offset));
		break;
	case MXT_PT_LIST:
		buf[0] = 0;
		for (i = 0; i < p->schedule_len && i < MXT_SCHEDULE_MAX; i++) {
			n = snprintf(buf + off, len - off, "%s%u", i ? "," : "", p->schedule[i]);
			if (n < 0 || (size_t)n >= len - off)
				return -ENOSPC;
			off += (size_t)n;
		}
		return 0;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return 0;
}

/* Check every range and the relations between values. */
int mxt_model_params_check(const struct mxt_model_params *p, char *err, size_t errlen)
{
	const char *base = (const char *)p;
	size_t i;
	uint32_t k;

	if (!p) {
		mxt_seterr(err, errlen, "no parameters");
		return -EINVAL;
	}
	for (i = 0; i < NPARAMS; i++) {
		const struct mxt_model_param *row = &params[i];
		double v;

		switch (row->type) {
		case MXT_PT_COUNT:
		case MXT_PT_DURATION:
			v = *(const uint32_t *)(base + row->offset);
			break;
		case MXT_PT_INT:
			v = *(const int32_t *)(base + row->offset);
			break;
		case MXT_PT_NUMBER:
			v = *(const double *)(base + row->offset);
			if (!isfinite(v))
				v = row->max + 1;
			break;
		case MXT_PT_LIST:
			if (p->schedule_len < 1 || p->schedule_len > MXT_SCHEDULE_MAX) {
				mxt_seterr(err, errlen, "%s: needs 1..%d entries", row->name,
				       MXT_SCHEDULE_MAX);
				return -EINVAL;
			}
			for (k = 0; k < p->schedule_len; k++) {
				if (p->schedule[k] < row->min || p->schedule[k] > row->max ||
				    (k && p->schedule[k] < p->schedule[k - 1])) {
					mxt_seterr(err, errlen, "%s: entry %u (%u) out of range or decreasing",
					       row->name, k, p->schedule[k]);
					return -EINVAL;
				}
			}
			continue;
		default:
			continue;
		}
		if (v < row->min || v > row->max) {
			mxt_seterr(err, errlen, "%s: %g is out of range [%g, %g]", row->name, v, row->min,
			       row->max);
			return -EINVAL;
		}
	}
	if (p->release_factor > p->jump_factor) {
		mxt_seterr(err, errlen, "release_factor (%g) must not exceed jump_factor (%g)",
		       p->release_factor, p->jump_factor);
		return -EINVAL;
	}
	if (p->rate_fast_window >= p->rate_window) {
		mxt_seterr(err, errlen, "rate_fast_window (%u) must be shorter than rate_window (%u)",
		       p->rate_fast_window, p->rate_window);
		return -EINVAL;
	}
	if (p->new_expire >= p->absence_reset) {
		mxt_seterr(err, errlen, "new_expire (%u) must be shorter than absence_reset (%u)",
		       p->new_expire, p->absence_reset);
		return -EINVAL;
	}
	return 0;
}
