/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cfgkeys.h - the configuration keys over struct mxt_config (the value of
 * the mxt_config map): one table of name, one-line description, default
 * as text, setter and getter.  The CLI's "config get/set", the daemon's
 * config file and the mxthrottle.conf(5) page all read this table, so a
 * key exists, is validated and is documented in exactly one place.
 *
 * Setting is transactional: values are parsed into a scratch copy, the
 * whole resulting config is validated and every limit re-derived
 * (mxt_limit_derive), and only then is the caller's config replaced.  A
 * failed set leaves it untouched.  Several keys may be set at once
 * (mxt_config_set_many), which is needed to move a class from a refilling
 * limit to "admit nothing": rate 0 requires burst 0, and burst 0 requires
 * rate 0, so neither can change alone.
 */
#ifndef MXT_CFGKEYS_H
#define MXT_CFGKEYS_H

#include <stddef.h>
#include <linux/types.h>
#include "mxt_abi.h"

/* Ranges of the operator-visible numbers. */
#define MXT_RATE_MAX  100000000u  /* SYNs per minute; or "unlimited" */
#define MXT_BURST_MAX 1000000u

/* One configuration key. */
struct mxt_cfgkey {
	const char *name;    /* "unknown_rate" */
	const char *desc;    /* one line, for "config get" listings and man pages */
	const char *defval;  /* the default, as it would be written in a config */
	/* Parse 'value' into cfg (range-checked, no cross-key checks). */
	int (*set)(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		   const char *value, char *err, size_t errlen);
	/* Format the current value as it would be written in a config. */
	int (*get)(const struct mxt_config *cfg, const struct mxt_cfgkey *k,
		   char *buf, size_t len);
	int arg;             /* class index of per-class keys; MXT_CLASS_MAX = global */
};

/* Number of keys, the i-th key (table order), and lookup by name. */
size_t mxt_cfgkey_count(void);
const struct mxt_cfgkey *mxt_cfgkey_at(size_t i);
const struct mxt_cfgkey *mxt_cfgkey_find(const char *name);
/* 1 when k may change while the daemon runs: the keys "config set"
 * accepts and runtime.conf may hold (every key but the source prefixes,
 * which shape every key the model holds and need a restart). */
int mxt_cfgkey_runtime(const struct mxt_cfgkey *k);

/* Names of classes ("unknown", ..., "blocked") and modes. */
const char *mxt_class_name(unsigned int class);
int mxt_class_by_name(const char *name);     /* index or -EINVAL */
const char *mxt_mode_name(unsigned int mode);
int mxt_mode_by_name(const char *name);      /* MXT_MODE_* or -EINVAL */

/* Fill cfg with the defaults (every key's defval), for a global budget
 * split over nr_cpus CPUs. */
int mxt_config_defaults(struct mxt_config *cfg, __u32 nr_cpus);
/* Validate every field and re-derive every limit in place; on error cfg
 * may have been partly re-derived (callers use a scratch copy). */
int mxt_config_check(struct mxt_config *cfg, char *err, size_t errlen);
/* Set one key from text; all or nothing. */
int mxt_config_set(struct mxt_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen);
/* Set n keys at once; all or nothing (duplicate keys: the last wins). */
int mxt_config_set_many(struct mxt_config *cfg, size_t n, const char *const keys[],
			const char *const values[], char *err, size_t errlen);
/* Apply a config file on top of cfg, all or nothing.  Syntax: one
 * "name = value" per line, blank lines, and lines starting with '#'
 * (after optional blanks) as comments; unknown and repeated keys are
 * errors.  err gets "FILE:LINE: reason" (or "FILE: reason" for a problem
 * of the whole config, e.g. unknown_rate 0 with unknown_burst 30). */
int mxt_config_load_file(struct mxt_config *cfg, const char *path, char *err, size_t errlen);
/* Format one key's value; -ENOENT for an unknown key. */
int mxt_config_get(const struct mxt_config *cfg, const char *key, char *buf, size_t len);

/* Parse a rate ("unlimited" or 0..MXT_RATE_MAX SYNs/minute). */
int mxt_rate_parse(const char *s, __u32 *rate);
/* Format a rate: "unlimited" or the number. */
int mxt_rate_format(__u32 rate, char *buf, size_t len);
/* Build and derive a per-source limit (shares 1) from text, as for a
 * policy override; err names what is wrong. */
int mxt_limit_parse(const char *rate, const char *burst, struct mxt_limit *l,
		    char *err, size_t errlen);
/* Tokens (SYNs admissible back to back) left at 'now' for a bucket whose
 * theoretical arrival time is 'tat': -1 = unlimited, 0 = none. */
long long mxt_limit_tokens(const struct mxt_limit *l, __u64 tat, __u64 now);

#endif /* MXT_CFGKEYS_H */
