/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* daemon_conf.c - parse and check mxthrottle.conf (see daemon_conf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <ini.h>

#include "addr.h"
#include "cfgkeys.h"
#include "daemon_conf.h"
#include "errfmt.h"
#include "pinned.h"
#include "readfull.h"

static const struct mxt_daemon_key daemon_keys[] = {
	{ "interface", "(none)", "interface to attach the XDP program to; repeatable (up to 8)" },
	{ "attach_mode", "auto", "auto (native, else generic), native or skb" },
	{ "pin_dir", MXT_PIN_DIR, "bpffs directory of the pinned maps and program" },
	{ "max_sources", "262144", "size of the kernel's per-source LRU map (new maps only)" },
	{ "state_db", "/var/lib/mxthrottle/history.mdb", "LMDB file holding every sender's history" },
	{ "checkpoint_interval", "60", "seconds between history checkpoints (1..3600); kill -9 loses at most this" },
	{ "tick_interval", "1000", "milliseconds between controller ticks (100..60000)" },
	{ "policy_listen", "unix:/var/spool/postfix/private/mxthrottle", "Postfix policy endpoint, unix:PATH or inet:HOST:PORT; repeatable (up to 4); \"none\" disables. The default lies inside Postfix's chroot (main.cf: unix:private/mxthrottle)" },
	{ "policy_group", "postfix", "group that may connect to the policy unix socket" },
	{ "metrics_listen", "none", "Prometheus endpoint (GET /metrics), inet:HOST:PORT, e.g. inet:127.0.0.1:9725; \"none\": off" },
	{ "control_socket", "/run/mxthrottle/control.sock", "root-only control socket used by the mxthrottle CLI" },
	{ "user", "mxthrottle", "user to run as after start-up (keeps CAP_BPF only); root keeps root" },
	{ "allow", "(none)", "connector CIDR never limited (trusted partners, on-prem relays); repeatable" },
	{ "fleet_redis", "(none)", "Redis endpoint shared by a fleet of MX hosts, tcp:HOST:PORT or unix:PATH; repeatable (up to 8: sources are sharded by a consistent hash); the fleet shares session counts, sender states, SYN-flood blocks, the new-sender budgets and operator actions; none: no fleet, nothing is shared" },
	{ "fleet_name", "mxthrottle", "name of the fleet: the prefix of its Redis keys ([A-Za-z0-9._-], up to 63)" },
	{ "node_name", "(host name)", "this node's name in the fleet, unique per node ([A-Za-z0-9._-], up to 63)" },
	{ "fleet_buffer", "262144", "source-hours of counts buffered while Redis is away (1024..16777216); beyond, counts are dropped and counted" },
	{ "fleet_join_timeout", "10", "seconds to learn the fleet's shared history at start-up before answering from the local view (0..600)" },
};

size_t mxt_daemon_key_count(void)
{
	return sizeof(daemon_keys) / sizeof(daemon_keys[0]);
}

const struct mxt_daemon_key *mxt_daemon_key_at(size_t i)
{
	return i < mxt_daemon_key_count() ? &daemon_keys[i] : NULL;
}

const struct mxt_daemon_key *mxt_daemon_key_find(const char *name)
{
	for (size_t i = 0; i < mxt_daemon_key_count(); i++)
		if (!strcmp(daemon_keys[i].name, name))
			return &daemon_keys[i];
	return NULL;
}

/* The documented default of a daemon key (the table is the one source). */
static const char *daemon_key_default(const char *name)
{
	const struct mxt_daemon_key *k = mxt_daemon_key_find(name);

	return k ? k->defval : "";
}

void mxt_daemon_conf_defaults(struct mxt_daemon_conf *c, __u32 nr_cpus)
{
	mxt_conf_extra_fn extra = c->extra;
	void *extra_ctx = c->extra_ctx;

	memset(c, 0, sizeof(*c));
	c->extra = extra;
	c->extra_ctx = extra_ctx;
	c->attach_mode = MXT_XDP_AUTO;
	snprintf(c->pin_dir, sizeof(c->pin_dir), "%s", mxt_pin_dir_default()); /* $MXT_PIN_DIR or MXT_PIN_DIR */
	c->max_sources = MXT_MAX_SOURCES;
	snprintf(c->state_db, sizeof(c->state_db), "/var/lib/mxthrottle/history.mdb");
	c->checkpoint_interval = 60;
	c->tick_interval_ms = 1000;
	snprintf(c->policy_listen[0], sizeof(c->policy_listen[0]), "%s", daemon_key_default("policy_listen"));
	c->npolicy_listen = 1;
	snprintf(c->policy_group, sizeof(c->policy_group), "postfix");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/mxthrottle/control.sock");
	snprintf(c->user, sizeof(c->user), "mxthrottle");
	snprintf(c->fleet.fleet, sizeof(c->fleet.fleet), "mxthrottle");
	c->fleet.buffer = 262144;
	c->fleet.join_timeout = 10;
	mxt_config_defaults(&c->kernel, nr_cpus);
}

/* Copy a string value into a fixed field, refusing what does not fit. */
static int conf_str(char *dst, size_t size, const char *name, const char *value,
		    char *err, size_t errlen)
{
	if ((size_t)snprintf(dst, size, "%s", value) >= size) {
		mxt_seterr(err, errlen, "%s: value longer than %zu bytes", name, size - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Parse an unsigned value within [min, max]. */
static int conf_u32(__u32 *dst, const char *name, const char *value, __u32 min, __u32 max,
		    char *err, size_t errlen)
{
	if (mxt_parse_u32(value, min, max, dst) < 0) {
		mxt_seterr(err, errlen, "%s: '%s' is not a number in %u..%u", name, value, min, max);
		return -ERANGE;
	}
	return 0;
}

int mxt_daemon_conf_set(struct mxt_daemon_conf *c, const char *name, const char *value,
			char *err, size_t errlen)
{
	const struct mxt_cfgkey *k;
	int rc;

	if (!strcmp(name, "interface")) {
		if (c->nifaces == MXT_CONF_IFACES_MAX) {
			mxt_seterr(err, errlen, "interface: more than %d interfaces", MXT_CONF_IFACES_MAX);
			return -E2BIG;
		}
		if (!*value || strchr(value, '/') || strchr(value, ' ')) {
			mxt_seterr(err, errlen, "interface: '%s' is not an interface name", value);
			return -EINVAL;
		}
		rc = conf_str(c->ifaces[c->nifaces], IF_NAMESIZE, name, value, err, errlen);
		if (!rc)
			c->nifaces++;
		return rc;
	}
	if (!strcmp(name, "attach_mode")) {
		if (!strcmp(value, "auto")) {
			c->attach_mode = MXT_XDP_AUTO;
			return 0;
		}
		if (mxt_xdp_mode_parse(value, &c->attach_mode) < 0 || c->attach_mode == MXT_XDP_HW) {
			mxt_seterr(err, errlen, "attach_mode: '%s' is not auto, native or skb", value);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(name, "pin_dir"))
		return conf_str(c->pin_dir, sizeof(c->pin_dir), name, value, err, errlen);
	if (!strcmp(name, "max_sources"))
		return conf_u32(&c->max_sources, name, value, 1024, 1u << 26, err, errlen);
	if (!strcmp(name, "state_db"))
		return conf_str(c->state_db, sizeof(c->state_db), name, value, err, errlen);
	if (!strcmp(name, "checkpoint_interval"))
		return conf_u32(&c->checkpoint_interval, name, value, 1, 3600, err, errlen);
	if (!strcmp(name, "tick_interval"))
		return conf_u32(&c->tick_interval_ms, name, value, 100, 60000, err, errlen);
	if (!strcmp(name, "policy_listen")) {
		/* The first line replaces the default; more lines add to it. */
		if (!c->policy_listen_given) {
			c->policy_listen_given = 1;
			c->npolicy_listen = 0;
		}
		if (!strcmp(value, "none")) {
			c->npolicy_listen = 0;
			return 0;
		}
		if (c->npolicy_listen == MXT_CONF_LISTEN_MAX) {
			mxt_seterr(err, errlen, "policy_listen: more than %d endpoints", MXT_CONF_LISTEN_MAX);
			return -E2BIG;
		}
		if (strncmp(value, "unix:", 5) && strncmp(value, "inet:", 5)) {
			mxt_seterr(err, errlen, "policy_listen: '%s' is not unix:PATH or inet:HOST:PORT", value);
			return -EINVAL;
		}
		rc = conf_str(c->policy_listen[c->npolicy_listen], MXT_CONF_STR, name, value, err, errlen);
		if (!rc)
			c->npolicy_listen++;
		return rc;
	}
	if (!strcmp(name, "policy_group"))
		return conf_str(c->policy_group, sizeof(c->policy_group), name, value, err, errlen);
	if (!strcmp(name, "metrics_listen")) {
		if (!strcmp(value, "none")) {
			c->metrics_listen[0] = '\0';
			return 0;
		}
		if (strncmp(value, "inet:", 5) || !strchr(value + 5, ':')) {
			mxt_seterr(err, errlen, "metrics_listen: '%s' is not inet:HOST:PORT or none", value);
			return -EINVAL;
		}
		return conf_str(c->metrics_listen, sizeof(c->metrics_listen), name, value, err, errlen);
	}
	if (!strcmp(name, "control_socket"))
		return conf_str(c->control_socket, sizeof(c->control_socket), name, value, err, errlen);
	if (!strcmp(name, "user"))
		return conf_str(c->user, sizeof(c->user), name, value, err, errlen);
	if (!strcmp(name, "allow")) {
		struct mxt_addr net;
		__u8 plen;

		if (c->nallow == MXT_CONF_ALLOW_MAX) {
			mxt_seterr(err, errlen, "allow: more than %d connectors", MXT_CONF_ALLOW_MAX);
			return -E2BIG;
		}
		if (mxt_cidr_parse(value, &net, &plen, NULL) < 0) {
			mxt_seterr(err, errlen, "allow: '%s' is not an IPv4 or IPv6 CIDR", value);
			return -EINVAL;
		}
		return conf_str(c->allow[c->nallow++], sizeof(c->allow[0]), name, value, err, errlen);
	}
	if (!strcmp(name, "fleet_redis")) {
		struct mxt_fleet_endpoint e;

		if (!strcmp(value, "none")) {
			c->fleet.nendpoints = 0;
			return 0;
		}
		if (c->fleet.nendpoints == MXT_FLEET_SHARDS_MAX) {
			mxt_seterr(err, errlen, "fleet_redis: more than %d endpoints", MXT_FLEET_SHARDS_MAX);
			return -E2BIG;
		}
		if ((rc = mxt_fleet_endpoint_parse(value, &e, err, errlen)) < 0)
			return rc;
		rc = conf_str(c->fleet.endpoints[c->fleet.nendpoints], MXT_FLEET_EP_MAX, name, value, err, errlen);
		if (!rc)
			c->fleet.nendpoints++;
		return rc;
	}
	if (!strcmp(name, "fleet_name") || !strcmp(name, "node_name")) {
		if (mxt_fleet_name_check(value) < 0) {
			mxt_seterr(err, errlen, "%s: '%s' is not 1..63 of [A-Za-z0-9._-]", name, value);
			return -EINVAL;
		}
		return conf_str(name[0] == 'f' ? c->fleet.fleet : c->fleet.node, MXT_FLEET_NAME_MAX, name,
				value, err, errlen);
	}
	if (!strcmp(name, "fleet_buffer"))
		return conf_u32(&c->fleet.buffer, name, value, 1024, 1u << 24, err, errlen);
	if (!strcmp(name, "fleet_join_timeout"))
		return conf_u32(&c->fleet.join_timeout, name, value, 0, 600, err, errlen);
	if ((k = mxt_cfgkey_find(name)))
		/* Range check only: relations between keys (a rate of 0 needs
		 * a burst of 0 on another line) are checked once the whole
		 * file is read. */
		return k->set(&c->kernel, k, value, err, errlen);
	if (c->extra) {
		rc = c->extra(c->extra_ctx, name, value, err, errlen);
		if (rc != -ENOENT)
			return rc;
	}
	mxt_seterr(err, errlen, "unknown key '%s'", name);
	return -ENOENT;
}

struct conf_parse {
	struct mxt_daemon_conf *c;
	FILE *f;
	int lineno;            /* line the reader returned last */
	int kernel_line;       /* line of the last kernel key */
	char err[256];
	int failed;
};

/* inih's line reader, counting lines: Debian's inih is built without
 * INI_HANDLER_LINENO, and checks across keys need a line to point at. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	char *r = fgets(str, num, p->f);

	if (r)
		p->lineno++;
	return r;
}

/* inih callback: one "name = value"; only the first error is kept. */
static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_parse *p = user;

	if (p->failed)
		return 0;
	if (section && *section) {
		mxt_seterr(p->err, sizeof(p->err), "sections are not used ([%s])", section);
		p->failed = 1;
		return 0;
	}
	if (!value || !*value) {
		mxt_seterr(p->err, sizeof(p->err), "%s: empty value", name);
		p->failed = 1;
		return 0;
	}
	if (mxt_daemon_conf_set(p->c, name, value, p->err, sizeof(p->err)) < 0) {
		p->failed = 1;
		return 0;
	}
	if (mxt_cfgkey_find(name))
		p->kernel_line = p->lineno;
	else if (p->c->extra && mxt_daemon_key_find(name) == NULL)
		p->c->extra_line = p->lineno;
	return 1;
}

int mxt_daemon_conf_load(struct mxt_daemon_conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_parse p = { .c = c };
	int line;

	p.f = fopen(path, "r");
	if (!p.f) {
		int e = errno;

		mxt_seterr(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	c->extra_line = 0;
	line = ini_parse_stream(conf_reader, &p, conf_handler, &p);
	fclose(p.f);
	if (line == -2) {
		mxt_seterr(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (line > 0) {
		mxt_seterr(err, errlen, "%s:%d: %s", path, line, p.failed ? p.err : "syntax error (want name = value)");
		return -EINVAL;
	}
	if (mxt_config_check(&c->kernel, p.err, sizeof(p.err)) < 0) {
		/* Checked once the file is read (a rate of 0 and its burst of 0
		 * may be on two lines): point at the last kernel key. */
		if (p.kernel_line)
			mxt_seterr(err, errlen, "%s:%d: %s", path, p.kernel_line, p.err);
		else
			mxt_seterr(err, errlen, "%s: %s", path, p.err);
		return -EINVAL;
	}
	return 0;
}

/* printf to the runtime loader's warning hook. */
__attribute__((format(printf, 3, 4)))
static void rt_warn(mxt_conf_warn_fn warn, void *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(ctx, msg);
}

/* Trim blanks at both ends, in place. */
static char *rt_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* 1 when the name is safe to repeat in a log line. */
static int rt_name_printable(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return 0;
	return n > 0 && n < 64;
}

/* One line of runtime.conf into 'cfg': 1 taken, 0 blank or comment,
 * -errno with 'why' set. */
static int rt_line(struct mxt_config *cfg, char *line, size_t len, char *why, size_t whylen)
{
	const struct mxt_cfgkey *k;
	char *eq, *name, *value;

	if (len >= MXT_RUNTIME_LINE_MAX) {
		mxt_seterr(why, whylen, "line longer than %d bytes", MXT_RUNTIME_LINE_MAX - 1);
		return -E2BIG;
	}
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f) {
			mxt_seterr(why, whylen, "control character in line");
			return -EINVAL;
		}
	line = rt_trim(line);
	if (!*line || *line == '#' || *line == ';')
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		mxt_seterr(why, whylen, "syntax error (want name = value)");
		return -EINVAL;
	}
	*eq = '\0';
	name = rt_trim(line);
	value = rt_trim(eq + 1);
	if (!rt_name_printable(name)) {
		mxt_seterr(why, whylen, "syntax error (want name = value)");
		return -EINVAL;
	}
	k = mxt_cfgkey_find(name);
	if (!mxt_cfgkey_runtime(k)) {
		mxt_seterr(why, whylen, "%s: not a runtime key: refused (only the keys of "
			  "'mxthrottle config set' may be here; set it in mxthrottle.conf)", name);
		return -EPERM;
	}
	if (!*value) {
		mxt_seterr(why, whylen, "%s: empty value", name);
		return -EINVAL;
	}
	return k->set(cfg, k, value, why, whylen) < 0 ? -EINVAL : 1;
}

int mxt_daemon_conf_load_runtime(struct mxt_daemon_conf *c, const char *path,
				 mxt_conf_warn_fn warn, void *ctx)
{
	char buf[MXT_RUNTIME_FILE_MAX + 1], why[300];
	struct mxt_config next = c->kernel;
	struct stat st;
	size_t len;
	int fd, lineno = 0, applied = 0;

	/* No symlink to follow, no FIFO to block on, as root. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			rt_warn(warn, ctx, "%s: %s: ignored", path,
				errno == ELOOP ? "a symbolic link" : strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) < 0)
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode) || st.st_size > MXT_RUNTIME_FILE_MAX) {
		rt_warn(warn, ctx, "%s: %s: ignored", path,
			!S_ISREG(st.st_mode) ? "not a regular file" : "larger than 64 KiB");
		close(fd);
		return 0;
	}
	len = mxt_read_upto(fd, buf, sizeof(buf));
	close(fd);
	if (len > MXT_RUNTIME_FILE_MAX) {
		rt_warn(warn, ctx, "%s: larger than 64 KiB: ignored", path);
		return 0;
	}
	for (size_t off = 0; off < len;) {
		char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - line) : len - off;
		int rc;

		lineno++;
		off += llen + 1;
		if (memchr(line, '\0', llen)) {
			rt_warn(warn, ctx, "%s:%d: NUL byte in line: refused, line ignored", path, lineno);
			continue;
		}
		line[llen] = '\0';
		rc = rt_line(&next, line, llen, why, sizeof(why));
		if (rc < 0)
			rt_warn(warn, ctx, "%s:%d: %s; line ignored", path, lineno, why);
		else
			applied += rc;
	}
	if (mxt_config_check(&next, why, sizeof(why)) < 0) {
		rt_warn(warn, ctx, "%s: %s: whole file ignored, mxthrottle.conf's values stay", path, why);
		return 0;
	}
	c->kernel = next;
	return applied;
}
