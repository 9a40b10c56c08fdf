/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sim_trace.c - the simulator's CSV trace replay (sim.h describes the
 * format): parse every line with errors that name it, sort by time (file
 * order breaks ties), replay each attempt through the engine.  A trace is
 * what happened: nothing is retried.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errfmt.h"
#include "sim_int.h"
#include "addr.h"

struct tline {
	double t;
	uint32_t src;
	uint32_t line;
	uint8_t syn_only;
};

/* Order trace lines by time, then file order. */
static int cmp_tline(const void *a, const void *b)
{
	const struct tline *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Trim blanks in place. */
static char *trim(char *p)
{
	char *e;

	while (*p == ' ' || *p == '\t')
		p++;
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return p;
}

/* Read, parse and replay a CSV trace. */
int sim_run_trace(struct sim *s, char *err, size_t errlen)
{
	FILE *f = fopen(s->c->trace, "r");
	struct tline *lines = NULL;
	size_t n = 0, cap = 0, i;
	char buf[512];
	unsigned lineno = 0;
	int rc = 0, offsets = -1;

	if (!f) {
		mxt_seterr(err, errlen, "%s: %s", s->c->trace, strerror(errno));
		return -errno;
	}
	s->r->pop[MXT_SIM_TRACE].legit = 1;
	while (fgets(buf, sizeof(buf), f)) {
		char *p = trim(buf), *ts, *as, *os, *end, *save = NULL;
		struct mxt_addr a;
		struct mxt_key k;
		double t;
		long idx;

		lineno++;
		if (!*p || *p == '#')
			continue;
		ts = strtok_r(p, ",", &save);
		as = strtok_r(NULL, ",", &save);
		os = strtok_r(NULL, ",", &save);
		ts = ts ? trim(ts) : NULL;
		errno = 0;
		t = ts ? strtod(ts, &end) : 0;
		if (!ts || end == ts || *end || errno || !isfinite(t) || t < 0) {
			if (n == 0 && lineno == 1)
				continue; /* a header line */
			mxt_seterr(err, errlen, "%s:%u: bad time '%s'", s->c->trace, lineno, ts ? ts : "");
			rc = -EINVAL;
			goto out;
		}
		if (!as || mxt_addr_parse(trim(as), &a) || mxt_key_from_addr(&k, &a, 32, 64)) {
			mxt_seterr(err, errlen, "%s:%u: bad source address '%s'", s->c->trace, lineno,
				   as ? trim(as) : "");
			rc = -EINVAL;
			goto out;
		}
		if (offsets < 0)
			offsets = t < 1e9;
		if ((t < 1e9) != offsets) {
			mxt_seterr(err, errlen, "%s:%u: mixes unix times and offsets", s->c->trace, lineno);
			rc = -EINVAL;
			goto out;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 4096;
			struct tline *nl = realloc(lines, nc * sizeof(*nl));

			if (!nl) {
				rc = -ENOMEM;
				goto out;
			}
			lines = nl;
			cap = nc;
		}
		idx = sim_kmap_find(&s->idx, &k);
		if (idx < 0) {
			if (!sim_add_src(s, MXT_SIM_TRACE, &k)) {
				mxt_seterr(err, errlen, "%s:%u: too many sources", s->c->trace, lineno);
				rc = -ENOSPC;
				goto out;
			}
			idx = sim_kmap_find(&s->idx, &k);
		}
		lines[n].src = s->idx.e[idx].idx;
		lines[n].t = offsets ? (double)s->c->start + t : t;
		lines[n].line = lineno;
		lines[n].syn_only = 0;
		if (os) {
			os = trim(os);
			if (strcmp(os, "syn") == 0) {
				lines[n].syn_only = 1;
			} else if (strcmp(os, "session") != 0 && *os) {
				mxt_seterr(err, errlen, "%s:%u: outcome '%s' is neither session nor syn",
					   s->c->trace, lineno, os);
				rc = -EINVAL;
				goto out;
			}
		}
		n++;
	}
	s->r->trace_lines = n;
	if (!n) {
		mxt_seterr(err, errlen, "%s: no attempts", s->c->trace);
		rc = -EINVAL;
		goto out;
	}
	qsort(lines, n, sizeof(*lines), cmp_tline);
	s->warm_start = lines[0].t;
	s->start = lines[0].t;
	s->end = lines[n - 1].t + 1;
	{
		double next_tick = floor(s->start / s->c->tick) * s->c->tick + s->c->tick;

		for (i = 0; i < n; i++) {
			struct sim_ev e;

			while (next_tick <= lines[i].t) {
				sim_do_tick(s, next_tick);
				next_tick += s->c->tick;
			}
			memset(&e, 0, sizeof(e));
			e.t = lines[i].t;
			e.birth = e.t;
			e.src = lines[i].src;
			e.rcpts = 1;
			rc = sim_attempt(s, &e, lines[i].syn_only);
			if (rc)
				goto out;
		}
		sim_do_tick(s, next_tick);
	}
out:
	free(lines);
	fclose(f);
	return rc;
}

