// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cfgkeys.c - the configuration key table, its setters and getters, the
 * defaults and the whole-config validation.  See cfgkeys.h for the
 * transactional set.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "cfgkeys.h"
#include "errfmt.h"
#include "gcra.h"

static const char *const class_names[MXT_CLASS_MAX] = {
	[MXT_CLASS_UNKNOWN] = "unknown",
	[MXT_CLASS_GRAYLISTED] = "graylisted",
	[MXT_CLASS_ESTABLISHED] = "established",
	[MXT_CLASS_THROTTLED] = "throttled",
	[MXT_CLASS_BLOCKED] = "blocked",
};

const char *mxt_class_name(unsigned int class)
{
	return class < MXT_CLASS_MAX ? class_names[class] : "?";
}

int mxt_class_by_name(const char *name)
{
	for (unsigned int c = 0; c < MXT_CLASS_MAX; c++)
		if (strcmp(class_names[c], name) == 0)
			return (int)c;
	return -EINVAL;
}

const char *mxt_mode_name(unsigned int mode)
{
	return mode == MXT_MODE_MONITOR ? "monitor" : mode == MXT_MODE_ENFORCE ? "enforce" : "?";
}

int mxt_mode_by_name(const char *name)
{
	if (strcmp(name, "monitor") == 0)
		return MXT_MODE_MONITOR;
	if (strcmp(name, "enforce") == 0)
		return MXT_MODE_ENFORCE;
	return -EINVAL;
}

/* A key's value (not an error: those go through mxt_seterr) into buf;
 * -ENOSPC when it does not fit. */
__attribute__((format(printf, 3, 4)))
static int value_fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* The limit a per-class or global key refers to. */
static struct mxt_limit *key_limit(struct mxt_config *cfg, const struct mxt_cfgkey *k)
{
	return k->arg >= MXT_CLASS_MAX ? &cfg->global : &cfg->class_limit[k->arg];
}

static const struct mxt_limit *key_limit_c(const struct mxt_config *cfg, const struct mxt_cfgkey *k)
{
	return k->arg >= MXT_CLASS_MAX ? &cfg->global : &cfg->class_limit[k->arg];
}

int mxt_rate_parse(const char *s, __u32 *rate)
{
	if (strcmp(s, "unlimited") == 0) {
		*rate = MXT_RATE_UNLIMITED;
		return 0;
	}
	return mxt_parse_u32(s, 0, MXT_RATE_MAX, rate);
}

int mxt_rate_format(__u32 rate, char *buf, size_t len)
{
	if (rate == MXT_RATE_UNLIMITED)
		return value_fmt(buf, len, "unlimited");
	return value_fmt(buf, len, "%u", rate);
}

/* Setter of "mode". */
static int set_mode(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		    const char *value, char *err, size_t errlen)
{
	int m = mxt_mode_by_name(value);

	if (m < 0) {
		mxt_seterr(err, errlen, "%s: got '%s', want monitor or enforce", k->name, value);
		return -EINVAL;
	}
	cfg->mode = (__u32)m;
	return 0;
}

/* Getter of "mode". */
static int get_mode(const struct mxt_config *cfg, const struct mxt_cfgkey *k, char *buf, size_t len)
{
	(void)k;
	return value_fmt(buf, len, "%s", mxt_mode_name(cfg->mode));
}

/* Setter of "ports": 1..8 unique ports 1..65535, comma separated (blanks
 * around an item are allowed). */
static int set_ports(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		     const char *value, char *err, size_t errlen)
{
	__u16 ports[MXT_MAX_PORTS] = {};
	const char *p = value;
	__u32 n = 0;

	for (;;) {
		char item[16];
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		__u32 port;

		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(item)) {
			mxt_seterr(err, errlen, "%s: got '%s', want a comma-separated list of 1 to %d ports",
				   k->name, value, MXT_MAX_PORTS);
			return -EINVAL;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (mxt_parse_u32(item, 1, 65535, &port)) {
			mxt_seterr(err, errlen, "%s: got port '%s', want a number 1..65535", k->name, item);
			return -EINVAL;
		}
		for (__u32 i = 0; i < n; i++) {
			if (ports[i] == port) {
				mxt_seterr(err, errlen, "%s: port %u listed twice", k->name, port);
				return -EINVAL;
			}
		}
		if (n == MXT_MAX_PORTS) {
			mxt_seterr(err, errlen, "%s: more than %d ports", k->name, MXT_MAX_PORTS);
			return -E2BIG;
		}
		ports[n++] = (__u16)port;
		if (!end)
			break;
		p = end + 1;
	}
	memcpy(cfg->ports, ports, sizeof(ports));
	cfg->nports = n;
	return 0;
}

/* Getter of "ports". */
static int get_ports(const struct mxt_config *cfg, const struct mxt_cfgkey *k, char *buf, size_t len)
{
	size_t off = 0;

	(void)k;
	if (len)
		buf[0] = '\0';
	for (__u32 i = 0; i < cfg->nports && i < MXT_MAX_PORTS; i++) {
		int err = value_fmt(buf + off, len - off, "%s%u", i ? "," : "", cfg->ports[i]);

		if (err)
			return err;
		off += strlen(buf + off);
	}
	return 0;
}

/* Setter of "v4_prefix" and "v6_prefix". */
static int set_prefix(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		      const char *value, char *err, size_t errlen)
{
	int v6 = k->arg == MXT_FAMILY_IPV6;
	__u32 min = v6 ? 16 : 8, max = v6 ? 128 : 32, v;

	if (mxt_parse_u32(value, min, max, &v)) {
		mxt_seterr(err, errlen, "%s: got '%s', want a prefix length %u..%u", k->name, value, min, max);
		return -ERANGE;
	}
	if (v6)
		cfg->v6_prefix = (__u8)v;
	else
		cfg->v4_prefix = (__u8)v;
	return 0;
}

/* Getter of "v4_prefix" and "v6_prefix". */
static int get_prefix(const struct mxt_config *cfg, const struct mxt_cfgkey *k, char *buf, size_t len)
{
	return value_fmt(buf, len, "%u", k->arg == MXT_FAMILY_IPV6 ? cfg->v6_prefix : cfg->v4_prefix);
}

/* Setter of "<class>_rate" and "global_rate". */
static int set_rate(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		    const char *value, char *err, size_t errlen)
{
	__u32 rate;

	if (mxt_rate_parse(value, &rate)) {
		mxt_seterr(err, errlen, "%s: got '%s', want SYNs per minute 0..%u or unlimited",
			   k->name, value, MXT_RATE_MAX);
		return -ERANGE;
	}
	key_limit(cfg, k)->rate = rate;
	return 0;
}

/* Getter of "<class>_rate" and "global_rate". */
static int get_rate(const struct mxt_config *cfg, const struct mxt_cfgkey *k, char *buf, size_t len)
{
	return mxt_rate_format(key_limit_c(cfg, k)->rate, buf, len);
}

/* Setter of "<class>_burst" and "global_burst". */
static int set_burst(struct mxt_config *cfg, const struct mxt_cfgkey *k,
		     const char *value, char *err, size_t errlen)
{
	__u32 burst;

	if (mxt_parse_u32(value, 0, MXT_BURST_MAX, &burst)) {
		mxt_seterr(err, errlen, "%s: got '%s', want SYNs 0..%u", k->name, value, MXT_BURST_MAX);
		return -ERANGE;
	}
	key_limit(cfg, k)->burst = burst;
	return 0;
}

/* Getter of "<class>_burst" and "global_burst". */
static int get_burst(const struct mxt_config *cfg, const struct mxt_cfgkey *k, char *buf, size_t len)
{
	return value_fmt(buf, len, "%u", key_limit_c(cfg, k)->burst);
}

#define RATE_KEY(cls, idx, def, what) \
	{ #cls "_rate", "SYNs per minute admitted per source " what " (0..100000000, unlimited)", \
	  def, set_rate, get_rate, idx }
#define BURST_KEY(cls, idx, def, what) \
	{ #cls "_burst", "SYNs admitted back to back per source " what " (0..1000000; 0 only with rate 0)", \
	  def, set_burst, get_burst, idx }

static const struct mxt_cfgkey cfgkeys[] = {
	{ "mode", "enforce: drop SYNs over their limit; monitor: count them, pass everything",
	  "enforce", set_mode, get_mode, 0 },
	{ "ports", "TCP destination ports whose SYNs are limited (1 to 8, comma separated)",
	  "25", set_ports, get_ports, 0 },
	{ "v4_prefix", "IPv4 source prefix length one source is counted under (8..32)",
	  "32", set_prefix, get_prefix, MXT_FAMILY_IPV4 },
	{ "v6_prefix", "IPv6 source prefix length one source is counted under (16..128)",
	  "64", set_prefix, get_prefix, MXT_FAMILY_IPV6 },
	RATE_KEY(unknown, MXT_CLASS_UNKNOWN, "120", "without policy (class unknown)"),
	BURST_KEY(unknown, MXT_CLASS_UNKNOWN, "30", "without policy (class unknown)"),
	RATE_KEY(graylisted, MXT_CLASS_GRAYLISTED, "60", "in class graylisted"),
	BURST_KEY(graylisted, MXT_CLASS_GRAYLISTED, "20", "in class graylisted"),
	RATE_KEY(established, MXT_CLASS_ESTABLISHED, "6000", "in class established"),
	BURST_KEY(established, MXT_CLASS_ESTABLISHED, "300", "in class established"),
	RATE_KEY(throttled, MXT_CLASS_THROTTLED, "30", "in class throttled"),
	BURST_KEY(throttled, MXT_CLASS_THROTTLED, "10", "in class throttled"),
	RATE_KEY(blocked, MXT_CLASS_BLOCKED, "0", "in class blocked"),
	BURST_KEY(blocked, MXT_CLASS_BLOCKED, "0", "in class blocked"),
	{ "global_rate", "SYNs per minute admitted from all sources without policy together (0..100000000, unlimited)",
	  "60000", set_rate, get_rate, MXT_CLASS_MAX },
	{ "global_burst", "SYNs admitted back to back from all sources without policy together (0..1000000)",
	  "2000", set_burst, get_burst, MXT_CLASS_MAX },
};

#define NKEYS (sizeof(cfgkeys) / sizeof(cfgkeys[0]))

size_t mxt_cfgkey_count(void)
{
	return NKEYS;
}

const struct mxt_cfgkey *mxt_cfgkey_at(size_t i)
{
	return i < NKEYS ? &cfgkeys[i] : NULL;
}

const struct mxt_cfgkey *mxt_cfgkey_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(cfgkeys[i].name, name) == 0)
			return &cfgkeys[i];
	return NULL;
}

int mxt_cfgkey_runtime(const struct mxt_cfgkey *k)
{
	return k && k->set != set_prefix;
}

/* Validate one limit's rate/burst pair and derive it; 'what' names it
 * ("unknown" or "global") in the message. */
static int check_limit(struct mxt_limit *l, const char *what, __u32 shares,
		       char *err, size_t errlen)
{
	if (l->rate != MXT_RATE_UNLIMITED && l->rate > MXT_RATE_MAX) {
		mxt_seterr(err, errlen, "%s_rate: got %u, want 0..%u or unlimited", what, l->rate, MXT_RATE_MAX);
		return -ERANGE;
	}
	if (l->burst > MXT_BURST_MAX) {
		mxt_seterr(err, errlen, "%s_burst: got %u, want 0..%u", what, l->burst, MXT_BURST_MAX);
		return -ERANGE;
	}
	if (l->rate == 0 && l->burst != 0) {
		mxt_seterr(err, errlen, "%s_rate 0 (admit nothing) needs %s_burst 0, got %u: "
			   "set both at once", what, what, l->burst);
		return -EINVAL;
	}
	if (l->rate != 0 && l->rate != MXT_RATE_UNLIMITED && l->burst == 0) {
		mxt_seterr(err, errlen, "%s_burst 0 needs %s_rate 0, got %u: a limit that refills "
			   "admits at least one SYN", what, what, l->rate);
		return -EINVAL;
	}
	if (mxt_limit_derive(l, shares)) {
		mxt_seterr(err, errlen, "%s: rate %u burst %u cannot be derived", what, l->rate, l->burst);
		return -EINVAL;
	}
	return 0;
}

int mxt_config_check(struct mxt_config *cfg, char *err, size_t errlen)
{
	int ret;

	if (cfg->abi_version != MXT_ABI_VERSION) {
		mxt_seterr(err, errlen, "config is ABI %u, expected %u", cfg->abi_version, MXT_ABI_VERSION);
		return -EPROTO;
	}
	if (cfg->mode != MXT_MODE_MONITOR && cfg->mode != MXT_MODE_ENFORCE) {
		mxt_seterr(err, errlen, "mode: got %u, want monitor or enforce", cfg->mode);
		return -EINVAL;
	}
	if (cfg->nports < 1 || cfg->nports > MXT_MAX_PORTS) {
		mxt_seterr(err, errlen, "ports: got %u ports, want 1..%d", cfg->nports, MXT_MAX_PORTS);
		return -EINVAL;
	}
	for (__u32 i = 0; i < MXT_MAX_PORTS; i++) {
		if (i >= cfg->nports) {
			cfg->ports[i] = 0;
			continue;
		}
		if (cfg->ports[i] == 0) {
			mxt_seterr(err, errlen, "ports: got port 0, want 1..65535");
			return -EINVAL;
		}
		for (__u32 j = 0; j < i; j++) {
			if (cfg->ports[j] == cfg->ports[i]) {
				mxt_seterr(err, errlen, "ports: port %u listed twice", cfg->ports[i]);
				return -EINVAL;
			}
		}
	}
	if (cfg->v4_prefix < 8 || cfg->v4_prefix > 32) {
		mxt_seterr(err, errlen, "v4_prefix: got %u, want 8..32", cfg->v4_prefix);
		return -ERANGE;
	}
	if (cfg->v6_prefix < 16 || cfg->v6_prefix > 128) {
		mxt_seterr(err, errlen, "v6_prefix: got %u, want 16..128", cfg->v6_prefix);
		return -ERANGE;
	}
	if (cfg->nr_cpus == 0)
		cfg->nr_cpus = 1;
	cfg->pad = 0;
	cfg->pad2 = 0;
	for (unsigned int c = 0; c < MXT_CLASS_MAX; c++) {
		ret = check_limit(&cfg->class_limit[c], class_names[c], 1, err, errlen);
		if (ret)
			return ret;
	}
	return check_limit(&cfg->global, "global", cfg->nr_cpus, err, errlen);
}

int mxt_config_set_many(struct mxt_config *cfg, size_t n, const char *const keys[],
			const char *const values[], char *err, size_t errlen)
{
	struct mxt_config tmp = *cfg;
	int ret;

	for (size_t i = 0; i < n; i++) {
		const struct mxt_cfgkey *k = mxt_cfgkey_find(keys[i]);

		if (!k) {
			mxt_seterr(err, errlen, "unknown config key '%s'", keys[i]);
			return -ENOENT;
		}
		ret = k->set(&tmp, k, values[i], err, errlen);
		if (ret)
			return ret;
	}
	ret = mxt_config_check(&tmp, err, errlen);
	if (ret)
		return ret;
	*cfg = tmp;
	return 0;
}

int mxt_config_set(struct mxt_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen)
{
	return mxt_config_set_many(cfg, 1, &key, &value, err, errlen);
}

/* Strip blanks at both ends of s in place; returns the new start. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int mxt_config_load_file(struct mxt_config *cfg, const char *path, char *err, size_t errlen)
{
	unsigned int first_line[sizeof(cfgkeys) / sizeof(cfgkeys[0])] = { 0 };
	struct mxt_config tmp = *cfg;
	unsigned int lineno = 0;
	char *line = NULL, msg[200];
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		mxt_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	while (getline(&line, &cap, f) >= 0) {
		const struct mxt_cfgkey *k;
		char *p = trim(line), *eq, *name, *value;

		lineno++;
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			mxt_seterr(err, errlen, "%s:%u: want 'name = value', got '%s'", path, lineno, p);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		name = trim(p);
		value = trim(eq + 1);
		k = mxt_cfgkey_find(name);
		if (!k) {
			mxt_seterr(err, errlen, "%s:%u: unknown key '%s'", path, lineno, name);
			ret = -ENOENT;
			break;
		}
		if (first_line[k - cfgkeys]) {
			mxt_seterr(err, errlen, "%s:%u: %s set twice (first on line %u)", path, lineno, name,
				   first_line[k - cfgkeys]);
			ret = -EINVAL;
			break;
		}
		first_line[k - cfgkeys] = lineno;
		ret = k->set(&tmp, k, value, msg, sizeof(msg));
		if (ret) {
			mxt_seterr(err, errlen, "%s:%u: %s", path, lineno, msg);
			break;
		}
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		mxt_seterr(err, errlen, "%s: read error", path);
	}
	free(line);
	fclose(f);
	if (ret)
		return ret;
	ret = mxt_config_check(&tmp, msg, sizeof(msg));
	if (ret) {
		mxt_seterr(err, errlen, "%s: %s", path, msg);
		return ret;
	}
	*cfg = tmp;
	return 0;
}

int mxt_config_get(const struct mxt_config *cfg, const char *key, char *buf, size_t len)
{
	const struct mxt_cfgkey *k = mxt_cfgkey_find(key);

	if (!k)
		return -ENOENT;
	return k->get(cfg, k, buf, len);
}

int mxt_config_defaults(struct mxt_config *cfg, __u32 nr_cpus)
{
	char err[160];
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->abi_version = MXT_ABI_VERSION;
	cfg->nr_cpus = nr_cpus ? nr_cpus : 1;
	for (size_t i = 0; i < NKEYS; i++) {
		ret = cfgkeys[i].set(cfg, &cfgkeys[i], cfgkeys[i].defval, err, sizeof(err));
		if (ret)
			return ret;
	}
	return mxt_config_check(cfg, err, sizeof(err));
}

int mxt_limit_parse(const char *rate, const char *burst, struct mxt_limit *l,
		    char *err, size_t errlen)
{
	struct mxt_limit t = {};

	if (mxt_rate_parse(rate, &t.rate)) {
		mxt_seterr(err, errlen, "rate: got '%s', want SYNs per minute 0..%u or unlimited",
			   rate, MXT_RATE_MAX);
		return -ERANGE;
	}
	if (mxt_parse_u32(burst, 0, MXT_BURST_MAX, &t.burst)) {
		mxt_seterr(err, errlen, "burst: got '%s', want SYNs 0..%u", burst, MXT_BURST_MAX);
		return -ERANGE;
	}
	if (t.rate == 0 && t.burst != 0) {
		mxt_seterr(err, errlen, "rate 0 (admit nothing) needs burst 0, got burst %u", t.burst);
		return -EINVAL;
	}
	if (t.rate != 0 && t.rate != MXT_RATE_UNLIMITED && t.burst == 0) {
		mxt_seterr(err, errlen, "burst 0 needs rate 0, got rate %u: a limit that refills "
			   "admits at least one SYN", t.rate);
		return -EINVAL;
	}
	if (mxt_limit_derive(&t, 1)) {
		mxt_seterr(err, errlen, "rate %u burst %u cannot be derived", t.rate, t.burst);
		return -EINVAL;
	}
	*l = t;
	return 0;
}

long long mxt_limit_tokens(const struct mxt_limit *l, __u64 tat, __u64 now)
{
	__u64 backlog;

	if (l->interval_ns == 0)
		return l->rate ? -1 : 0;
	backlog = tat > now ? tat - now : 0;
	if (backlog > l->tolerance_ns)
		return 0;
	return (long long)((l->tolerance_ns - backlog) / l->interval_ns + 1);
}
