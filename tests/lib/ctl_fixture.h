/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ctl_fixture.h - a controller without a kernel for the unit tests and
 * benchmarks that drive it (test_controller, test_ctl_checkpoint,
 * bench/ctl_checkpoint): a model, the default kernel config, a virtual
 * clock the caller moves (ctl_fx_vclock), a private temporary directory
 * for runtime.conf and, when asked, a history database; Postfix requests
 * and control commands as one-liners.  Header-only and free of cmocka,
 * so a benchmark can use it: every binary gets its own clock.
 */
#ifndef MXT_CTL_FIXTURE_H
#define MXT_CTL_FIXTURE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgkeys.h"
#include "controller.h"
#include "history_db.h"
#include "model.h"

#define CTL_FX_EPOCH 1796000000u /* a Monday in 2026, 00:53 UTC */

static uint64_t ctl_fx_vclock = CTL_FX_EPOCH;

/* The controller's clock: whatever the test set. */
static inline uint64_t ctl_fx_clock(void)
{
	return ctl_fx_vclock;
}

/* A Postfix RCPT request of transaction 'inst' from 'addr'. */
static inline struct mxt_policy_request ctl_fx_rcpt(const char *addr, const char *inst)
{
	struct mxt_policy_request r;

	memset(&r, 0, sizeof(r));
	snprintf(r.request, sizeof(r.request), "smtpd_access_policy");
	snprintf(r.protocol_state, sizeof(r.protocol_state), "RCPT");
	snprintf(r.client_address, sizeof(r.client_address), "%s", addr);
	snprintf(r.instance, sizeof(r.instance), "%s", inst);
	return r;
}

/* The RCPT request of the i-th address counted from 198.18.0.0, in a
 * transaction of its own.  Past 131072 the addresses leave 198.18.0.0/15:
 * they are model keys only, no packet is ever sent. */
static inline struct mxt_policy_request ctl_fx_rcpt_nth(uint32_t i)
{
	char addr[32], inst[16];

	snprintf(addr, sizeof(addr), "198.%u.%u.%u", 18 + (i >> 16), (i >> 8) & 255, i & 255);
	snprintf(inst, sizeof(inst), "i%u", i);
	return ctl_fx_rcpt(addr, inst);
}

#define CTL_FX_HISTORY   1u /* open a history database in the fixture's directory */
#define CTL_FX_TEST_MODE 2u /* "clock advance" and "seed" allowed */

struct ctl_fx {
	struct mxt_model *m;
	struct mxt_controller *c;
	struct mxt_config k;
	struct mxt_hdb *db;       /* CTL_FX_HISTORY, else NULL */
	char dir[32];             /* private, removed by ctl_fx_close() */
	char path[64];            /* the history: <dir>/history.mdb */
	char runtime_conf[64];    /* what "config set" writes: <dir>/runtime.conf */
};

/* A controller on the virtual clock over 'm' and 'k', with 'db' (may be
 * NULL); 'tmpl' (may be NULL) gives the other options. */
static inline struct mxt_controller *ctl_fx_controller(struct mxt_model *m, const struct mxt_config *k,
						       struct mxt_hdb *db, const struct mxt_ctl_opts *tmpl)
{
	struct mxt_ctl_opts o = { 0 };
	struct mxt_controller *c;
	char err[256];

	if (tmpl)
		o = *tmpl;
	o.model = m;
	o.kcfg = k;
	o.db = db;
	o.clock = ctl_fx_clock;
	if (!o.max_sources)
		o.max_sources = 1024; /* no kernel here: the delta table stays unused */
	c = mxt_ctl_new(&o, err, sizeof(err));
	if (!c)
		fprintf(stderr, "ctl_fx: %s\n", err);
	return c;
}

/* Set up 'f' for 'capacity' senders; 'tmpl' as for ctl_fx_controller().
 * 0, or -1 with the reason on stderr. */
static inline int ctl_fx_open(struct ctl_fx *f, size_t capacity, unsigned flags,
			      const struct mxt_ctl_opts *tmpl)
{
	struct mxt_ctl_opts o = { 0 };
	char err[256];

	memset(f, 0, sizeof(*f));
	ctl_fx_vclock = CTL_FX_EPOCH;
	snprintf(f->dir, sizeof(f->dir), "/tmp/mxt-ctlfx-XXXXXX");
	if (!mkdtemp(f->dir)) {
		perror("ctl_fx: mkdtemp");
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/history.mdb", f->dir);
	snprintf(f->runtime_conf, sizeof(f->runtime_conf), "%s/runtime.conf", f->dir);
	mxt_config_defaults(&f->k, 2);
	f->m = mxt_model_new(NULL, capacity);
	if (!f->m) {
		fprintf(stderr, "ctl_fx: cannot create a model of %zu\n", capacity);
		return -1;
	}
	if ((flags & CTL_FX_HISTORY) &&
	    mxt_hdb_open(f->path, capacity, 0, ctl_fx_vclock, &f->db, err, sizeof(err)) < 0) {
		fprintf(stderr, "ctl_fx: %s\n", err);
		return -1;
	}
	if (tmpl)
		o = *tmpl;
	if (!o.runtime_conf)
		o.runtime_conf = f->runtime_conf;
	if (flags & CTL_FX_TEST_MODE)
		o.test_mode = 1;
	o.max_sources = capacity;
	f->c = ctl_fx_controller(f->m, &f->k, f->db, &o);
	return f->c ? 0 : -1;
}

/* Undo ctl_fx_open(), files and directory included (a partial one too). */
static inline void ctl_fx_close(struct ctl_fx *f)
{
	char lock[80];

	mxt_ctl_free(f->c);
	mxt_hdb_close(f->db);
	mxt_model_free(f->m);
	if (!f->dir[0])
		return;
	snprintf(lock, sizeof(lock), "%s-lock", f->path);
	unlink(f->path);
	unlink(lock);
	unlink(f->runtime_conf);
	rmdir(f->dir);
}

/* Run one control command (words as arguments); its output, or its
 * error text when it fails, in 'buf'.  Returns the command's rc. */
static inline int ctl_fx_command(struct mxt_controller *c, char *buf, size_t len, int argc, ...)
{
	char *argv[16], err[256] = "";
	FILE *out;
	va_list ap;
	int rc;

	if (argc < 0 || argc > 16)
		return -1;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	out = fmemopen(buf, len, "w");
	if (!out)
		return -1;
	rc = mxt_ctl_command(c, argc, argv, out, err, sizeof(err));
	fclose(out);
	if (rc < 0)
		snprintf(buf, len, "%s", err);
	return rc;
}

#endif /* MXT_CTL_FIXTURE_H */
