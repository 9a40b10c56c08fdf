/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mxthrottled.c - the controller daemon's main(): thin glue around the
 * controller (controller.c, ctl_commands.c, ctl_persist.c), the model
 * (model.c), the history database (history_db.c), the Postfix policy
 * service (policy_server.c) and the kernel half (loader.c, pinned.c).
 *
 *   mxthrottled [-dnv] [-f file] [-i iface ...]
 *     -d  foreground, log to stderr (else daemonise and log to syslog, mail)
 *     -F  foreground, log to syslog (mail): systemd's Type=notify
 *     -n  check the configuration, print "configuration OK" or the first
 *         error (file, line, reason), exit
 *     -v  more log (repeatable)
 *     -V  print the version and exit
 *     -f  configuration file (default /etc/mxthrottle/mxthrottle.conf; a
 *         missing default file means all defaults)
 *     -i  attach to this interface (repeatable; adds to "interface" lines)
 *     -T  test mode: the control socket also takes "clock advance SECONDS"
 *         and "seed ADDR SESSIONS_PER_HOUR DAYS" (demos, end-to-end tests)
 *
 * Start-up, as root: read mxthrottle.conf (refused unless root alone may
 * write it, conf_trust.h) and runtime.conf (runtime keys only,
 * daemon_conf.h), load or adopt the XDP program and its pinned maps,
 * attach, write the kernel config, hand the history file to the run user
 * (never through a symlink), open the policy and control sockets, then
 * drop to the configured user keeping CAP_BPF only.  Only then, as that
 * user, is the history checked, opened and loaded (a damaged file is moved
 * aside: history_recover.h), the connectors file read, and the kernel's
 * policy map re-seeded (after a reboot the maps are empty; the map fds
 * are open and CAP_BPF is kept).  Nothing the run user can write is parsed
 * or mapped as root.  Threads: the policy service runs in its own thread; the main
 * thread ticks, checkpoints, serves the control socket and handles
 * signals.  SIGHUP re-reads the file and keeps the running configuration
 * if the new one is bad; SIGTERM/SIGINT checkpoint and exit, leaving the
 * program attached and the maps pinned: enforcement never stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cfgkeys.h"
#include "conf_trust.h"
#include "control.h"
#include "controller.h"
#include "daemon_conf.h"
#include "errfmt.h"
#include "fleet.h"
#include "history_db.h"
#include "history_recover.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "model_params.h"
#include "notify.h"
#include "mxt_version.h"
#include "pinned.h"
#include "policy_server.h"
#include "privdrop.h"
#include "reasons.h"

#define STATS_INTERVAL 60 /* seconds between STATS log lines */

static struct mxt_policy_server *g_policy; /* for the policy thread */
static struct mxt_metrics *g_metrics;      /* NULL: metrics_listen off */

/* Warnings of the configuration read before the log is open (start-up):
 * kept, then logged once it is. */
#define EARLY_WARN_MAX 16
static char g_early_warn[EARLY_WARN_MAX][512];
static int g_nearly_warn, g_log_ready;

/* Configuration in force: the daemon's, the kernel's and the model's. */
struct daemon_cfg {
	struct mxt_daemon_conf d;
	struct mxt_model_params mp;
	char runtime[PATH_MAX + 16];  /* runtime.conf beside the history */
};

/* <directory of state_db>/runtime.conf */
static void runtime_conf_path(const struct mxt_daemon_conf *d, char *buf, size_t len)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", d->state_db);
	snprintf(buf, len, "%s/runtime.conf", dirname(tmp));
}

/* The controller's hook after "config set" (ctl_commands.c): the policy
 * service follows the mode. */
static void config_changed(void *ctx, const struct mxt_config *k)
{
	(void)ctx;
	if (g_policy)
		mxt_policy_server_set_mode(g_policy, (int)k->mode);
}


/* node_name defaults to the host name (its first label, as a key name). */
static void fleet_node_default(struct mxt_fleet_config *f)
{
	char host[MXT_FLEET_NAME_MAX] = "";

	if (f->node[0])
		return;
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == '.' || mxt_fleet_name_check((char[]){ *p, 0 }) < 0) {
			*p = '\0';
			break;
		}
	memcpy(f->node, host[0] ? host : "node", host[0] ? sizeof(host) : 5);
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: mxthrottled [-dFnTvV] [-f file] [-i interface ...]\n");
	exit(1);
}

static void __attribute__((noreturn, format(printf, 1, 2))) fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mxt_vlog(MXT_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* daemon_conf's hook for runtime.conf's refused lines. */
static void conf_warn(void *ctx, const char *msg)
{
	(void)ctx;
	if (g_log_ready)
		mxt_log_warnx("%s", msg);
	else if (g_nearly_warn < EARLY_WARN_MAX)
		snprintf(g_early_warn[g_nearly_warn++], sizeof(g_early_warn[0]), "%s", msg);
}

/* Emit the warnings kept before the log was open, to the log or (-n) to
 * stderr. */
static void early_warn_flush(int to_stderr)
{
	for (int i = 0; i < g_nearly_warn; i++) {
		if (to_stderr)
			fprintf(stderr, "mxthrottled: warning: %s\n", g_early_warn[i]);
		else
			mxt_log_warnx("%s", g_early_warn[i]);
	}
	g_nearly_warn = 0;
	g_log_ready = !to_stderr;
}

/* daemon_conf's hook for the model's keys. */
static int model_key(void *ctx, const char *name, const char *value, char *err, size_t errlen)
{
	struct mxt_model_params *p = ctx;

	if (!mxt_model_param_find(name))
		return -ENOENT;
	return mxt_model_param_set(p, name, value, err, errlen);
}

/* Defaults, then 'path' (absent default file = defaults), then -i flags. */
static int config_read(struct daemon_cfg *c, const char *path, int explicit_file,
		       char *const *ifaces, int nifaces, char *err, size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	char e[256];

	mxt_model_params_default(&c->mp);
	c->d.extra = model_key;
	c->d.extra_ctx = &c->mp;
	mxt_daemon_conf_defaults(&c->d, ncpu > 0 ? (__u32)ncpu : 1);
	if (explicit_file || access(path, F_OK) == 0) {
		/* The file decides who the daemon runs as and where it writes. */
		if (mxt_conf_trusted(path, err, errlen) < 0)
			return -EPERM;
		if (mxt_daemon_conf_load(&c->d, path, err, errlen) < 0)
			return -EINVAL;
	}
	/* Limits changed with "mxthrottle config set" while the daemon ran
	 * (ctl_commands.c, written by ctl_persist.c) persist beside the history and win over the file;
	 * the run user writes it, so it holds runtime keys only and its bad
	 * lines are skipped, never fatal. */
	runtime_conf_path(&c->d, c->runtime, sizeof(c->runtime));
	mxt_daemon_conf_load_runtime(&c->d, c->runtime, conf_warn, NULL);
	for (int i = 0; i < nifaces; i++)
		if (mxt_daemon_conf_set(&c->d, "interface", ifaces[i], e, sizeof(e)) < 0) {
			mxt_seterr(err, errlen, "-i %s: %s", ifaces[i], e);
			return -EINVAL;
		}
	if (c->d.fleet.nendpoints) {
		fleet_node_default(&c->d.fleet);
		if (mxt_fleet_config_check(&c->d.fleet, e, sizeof(e)) < 0) {
			mxt_seterr(err, errlen, "%s: %s", path, e);
			return -EINVAL;
		}
	}
	if (mxt_model_params_check(&c->mp, e, sizeof(e)) < 0) {
		/* Relations between model keys: point at the last one set. */
		if (c->d.extra_line)
			mxt_seterr(err, errlen, "%s:%d: %s", path, c->d.extra_line, e);
		else
			mxt_seterr(err, errlen, "%s: %s", path, e);
		return -EINVAL;
	}
	return 0;
}

/* mkdir -p for the parent of 'path'; a new last directory is given to uid
 * when uid != -1. */
static int make_parent(const char *path, uid_t uid, gid_t gid)
{
	char buf[PATH_MAX], *dir;

	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) < 0)
		return errno == EEXIST ? 0 : -errno;
	/* Only a directory made here changes hands: never chown /run or
	 * /var/lib because a path in the config pointed there. */
	if (uid != (uid_t)-1 && lchown(dir, uid, gid) < 0)
		return -errno;
	return 0;
}

/* As the run user: check, open and load the history.  A damaged file
 * (history_recover.h) is moved aside for the last good copy or an empty
 * history, and said so in the log; records loaded from it before the
 * damage showed stay in the model.  NULL when no history could be opened
 * at all: the daemon then runs, enforces and answers without one. */
static struct mxt_hdb *history_start(struct mxt_controller *ctl, const char *path, size_t max)
{
	struct mxt_hdb *db = NULL;
	char why[512], to[PATH_MAX + 64], lock[PATH_MAX + 8];
	struct stat st;
	int rc, use_good = 1;

	/* LMDB opens its lock file by name: a symlink planted there would
	 * point its writes elsewhere.  A lock file is only ever recreated. */
	snprintf(lock, sizeof(lock), "%s-lock", path);
	if (lstat(lock, &st) == 0 &&
	    (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) && unlink(lock) == 0)
		mxt_log_warnx("history: removed %s: not a plain file of this user's", lock);
	for (int attempt = 0; attempt < 3; attempt++) {
		rc = mxt_hdb_check_file(path, why, sizeof(why));
		if (rc == 0 || rc == -ENOENT)
			rc = mxt_hdb_open(path, max, 0, mxt_ctl_now(ctl), &db, why, sizeof(why));
		if (rc == 0) {
			mxt_ctl_set_db(ctl, db);
			rc = mxt_ctl_restore(ctl, why, sizeof(why));
			if (rc >= 0) {
				mxt_log_info("RESTORE %d senders from %s", rc, path);
				return db;
			}
			mxt_ctl_set_db(ctl, NULL);
			mxt_hdb_close(db);
			db = NULL;
		}
		if (rc == -ENOMEM)
			break;
		rc = mxt_hdb_quarantine(path, mxt_ctl_now(ctl), use_good, to, sizeof(to));
		mxt_log_errorx("HISTORY damaged: %s: %s; moved aside to %s; %s%s%s", path, why, to,
			       rc == 1 ? "restored from the last good copy " : "starting with an empty history",
			       rc == 1 ? path : "", rc == 1 ? MXT_HDB_GOOD_SUFFIX : "");
		if (rc == 1)
			use_good = 0; /* if the copy fails too, the next round starts empty */
	}
	mxt_log_errorx("HISTORY unavailable: %s: running without a history (limits and policy "
		       "answers go on; nothing is persisted)", path);
	return NULL;
}

/* As root, before the drop: the state directory and the files the run
 * user reads and rewrites after it must be its own (privdrop.h: never
 * through a planted name; the directory only when it holds nothing else). */
static void state_hand(const struct daemon_cfg *cfg, const char *dir, const char *allow_file,
		       uid_t uid, gid_t gid)
{
	char tmp[PATH_MAX], lock[PATH_MAX + 8], good[PATH_MAX + 8];
	const char *prefixes[] = { NULL, "runtime.conf", "connectors", NULL };
	const char *files[] = { cfg->d.state_db, lock };
	const char *existing[] = { cfg->runtime, allow_file, good };
	int rc;

	snprintf(tmp, sizeof(tmp), "%s", cfg->d.state_db);
	prefixes[0] = basename(tmp);
	snprintf(lock, sizeof(lock), "%s-lock", cfg->d.state_db);
	snprintf(good, sizeof(good), "%s%s", cfg->d.state_db, MXT_HDB_GOOD_SUFFIX);
	rc = mxt_hand_state_dir(dir, prefixes, uid, gid);
	if (rc < 0)
		mxt_log_warnx("state directory %s not handed to %s: %s", dir, cfg->d.user,
			      rc == -ENOTEMPTY ? "it holds other files than mxthrottle's" : strerror(-rc));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if ((rc = mxt_hand_file(files[i], uid, gid)) < 0)
			mxt_log_warnx("cannot hand %s to %s: %s (the history check decides)", files[i],
				      cfg->d.user, strerror(-rc));
	for (size_t i = 0; i < sizeof(existing) / sizeof(existing[0]); i++)
		if ((rc = mxt_hand_existing_file(existing[i], uid, gid)) < 0 && rc != -ENOENT)
			mxt_log_warnx("cannot hand %s to %s: %s", existing[i], cfg->d.user, strerror(-rc));
}

/* A fresh good copy of the history (history_recover.h). */
static void history_save_good(struct mxt_hdb *db, const char *path)
{
	int rc;

	if (!db)
		return;
	rc = mxt_hdb_save_good(db, path);
	if (rc < 0)
		mxt_log_warnx("history: cannot write the good copy %s%s: %s", path, MXT_HDB_GOOD_SUFFIX,
			      strerror(-rc));
	else
		mxt_log_debug("history: good copy %s%s written", path, MXT_HDB_GOOD_SUFFIX);
}

/* The policy service's decide(): the controller's, timed for the metrics'
 * latency histogram and counted by reply code.  Policy thread, lock-free
 * on the metrics side. */
static int metrics_decide(void *ctx, const struct mxt_policy_request *req, struct mxt_decision *out)
{
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = mxt_ctl_decide(ctx, req, out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc >= 0)
		mxt_metrics_observe_decision(g_metrics, out->code,
					     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return rc;
}

/* Sender counts for systemd's STATUS= line. */
static void notify_status(struct mxt_controller *ctl)
{
	struct mxt_ctl_snapshot s;

	mxt_ctl_snapshot(ctl, &s);
	mxt_notify_status_counts(&s.model);
}

static void *policy_thread(void *arg)
{
	(void)arg;
	mxt_policy_server_run(g_policy);
	return NULL;
}

/* The policy service speaks syslog priorities (LOG_ERR, LOG_WARNING...). */
static void policy_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	if (level <= LOG_WARNING)
		mxt_log_warnx("policy: %s", msg);
	else if (level <= LOG_INFO)
		mxt_log_info("policy: %s", msg);
	else
		mxt_log_debug("policy: %s", msg);
}

/* Connectors from the configuration and the connectors file; the
 * kernel's, added by the CLI while no daemon ran, are adopted (and
 * persisted), not lost. */
static void allow_sync(struct mxt_controller *ctl, const struct mxt_daemon_conf *d)
{
	char err[256];

	for (int i = 0; i < d->nallow; i++)
		if (mxt_ctl_allow_add(ctl, d->allow[i], 0, err, sizeof(err)) < 0)
			mxt_log_warnx("connector %s: %s", d->allow[i], err);
	if (mxt_ctl_allow_load(ctl, err, sizeof(err)) < 0)
		mxt_log_warnx("%s", err);
	mxt_ctl_allow_adopt(ctl);
}

/* One STATS line: model states, kernel verdicts, policy answers. */
static void log_stats(struct mxt_controller *ctl, const struct mxt_maps *maps,
		      struct mxt_policy_server *ps)
{
	struct mxt_ctl_snapshot s;
	const struct mxt_model_counts *k = &s.model;
	struct mxt_policy_stats p = { 0 };
	__u64 r[MXT_R_MAX] = { 0 };

	mxt_ctl_snapshot(ctl, &s);
	if (ps)
		mxt_policy_server_stats(ps, &p);
	if (maps)
		mxt_maps_stats_read(maps, r);
	mxt_log_info("STATS tracked=%llu new=%llu graylisted=%llu established=%llu throttled=%llu "
		     "blocked=%llu xdp_admitted=%llu xdp_dropped=%llu xdp_global=%llu xdp_monitor=%llu "
		     "policy_requests=%llu policy_defer=%llu policy_prepend=%llu "
		     "policy_conn_active=%llu policy_evicted=%llu policy_idle_closed=%llu "
		     "policy_deadline_closed=%llu policy_refused=%llu policy_protocol_errors=%llu "
		     "policy_oversized=%llu tick_us=%llu",
		     (unsigned long long)k->tracked, (unsigned long long)k->by_state[MXT_STATE_NEW],
		     (unsigned long long)k->by_state[MXT_STATE_GRAYLISTED],
		     (unsigned long long)k->by_state[MXT_STATE_ESTABLISHED],
		     (unsigned long long)k->by_state[MXT_STATE_THROTTLED],
		     (unsigned long long)k->by_state[MXT_STATE_BLOCKED],
		     (unsigned long long)r[MXT_R_ADMITTED],
		     (unsigned long long)(r[MXT_R_SOURCE_LIMIT] + r[MXT_R_BLOCKED]),
		     (unsigned long long)r[MXT_R_GLOBAL_BUDGET], (unsigned long long)r[MXT_R_MONITOR],
		     (unsigned long long)p.requests,
		     (unsigned long long)p.answers[MXT_POLICY_ANSWER_DEFER],
		     (unsigned long long)p.answers[MXT_POLICY_ANSWER_PREPEND],
		     (unsigned long long)p.conn_active, (unsigned long long)p.conn_evicted,
		     (unsigned long long)p.conn_idle_closed, (unsigned long long)p.conn_deadline_closed,
		     (unsigned long long)p.conn_refused, (unsigned long long)p.protocol_errors,
		     (unsigned long long)p.requests_oversized,
		     (unsigned long long)s.counters.tick_usec_last);
}

/* SIGHUP: re-read the file; apply it whole or keep the running
 * configuration.  A changed source prefix is refused as "config set"
 * refuses it (mxt_ctl_refuse_fixed_key); the model's parameters change
 * under the controller's lock (mxt_ctl_reload), never beneath the policy
 * thread. */
static void reload(struct daemon_cfg *cfg, struct mxt_controller *ctl, const char *conf_path,
		   int explicit_file, char *const *ifaces, int nifaces)
{
	struct daemon_cfg next;
	char err[512];

	mxt_notify_reloading();
	memset(&next, 0, sizeof(next));
	if (config_read(&next, conf_path, explicit_file, ifaces, nifaces, err, sizeof(err)) < 0 ||
	    mxt_ctl_reload(ctl, &next.d.kernel, &next.mp, err, sizeof(err)) < 0) {
		mxt_log_errorx("RELOAD refused, keeping the running configuration: %s", err);
		mxt_notify_ready("reload refused: running configuration kept");
		return;
	}
	if (g_policy)
		mxt_policy_server_set_mode(g_policy, (int)next.d.kernel.mode);
	cfg->d.kernel = next.d.kernel;
	cfg->mp = next.mp;
	cfg->d.checkpoint_interval = next.d.checkpoint_interval;
	mxt_log_info("RELOAD %s: %s mode (interfaces, sockets and users need a restart)",
		     conf_path, mxt_mode_name(next.d.kernel.mode));
	mxt_notify_ready("reloaded");
}

/* Serve one control client (the CLI). */
static void control_serve(int lfd, struct mxt_controller *ctl)
{
	char line[MXT_CONTROL_LINE_MAX], err[256] = "", *argv[MXT_CONTROL_ARGS_MAX];
	char *body = NULL;
	size_t blen = 0;
	FILE *out;
	int argc = 0, fd, rc;

	fd = mxt_control_accept(lfd, geteuid(), 1000, line, sizeof(line), &argc, argv);
	if (fd < 0) {
		if (fd != -EAGAIN)
			mxt_log_warnx("control: refused a client: %s", strerror(-fd));
		return;
	}
	out = open_memstream(&body, &blen);
	if (!out) {
		close(fd);
		return;
	}
	rc = mxt_ctl_command(ctl, argc, argv, out, err, sizeof(err));
	fclose(out);
	if (rc < 0)
		dprintf(fd, "error: %s\n", err[0] ? err : strerror(-rc));
	else {
		dprintf(fd, "ok\n");
		for (size_t off = 0; off < blen;) {
			ssize_t w = write(fd, body + off, blen - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(body);
	close(fd);
}

/* Everything start-up builds and the loop and shutdown use. */
struct daemon {
	const char *conf_path;
	char *ifaces[MXT_CONF_IFACES_MAX];
	int nifaces, foreground, fg_syslog, check_only, verbose, explicit_file, test_mode;
	struct daemon_cfg cfg;
	struct mxt_maps maps;
	struct mxt_model *model;
	struct mxt_controller *ctl;
	struct mxt_fleet *fleet;
	struct mxt_hdb *db;
	pthread_t ptid;
	int policy_running, ctl_fd, tfd, sfd, efd, wfd;
	uid_t run_uid;
	gid_t run_gid;
	sigset_t mask;
};

/* Command line: returns 0 to go on, 1 when it already answered (-V). */
static int parse_options(struct daemon *dm, int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "dFf:hi:nTvV")) != -1) {
		switch (opt) {
		case 'd': dm->foreground = 1; break;
		case 'F': dm->fg_syslog = 1; break;
		case 'f': dm->conf_path = optarg; dm->explicit_file = 1; break;
		case 'i':
			if (dm->nifaces == MXT_CONF_IFACES_MAX)
				usage();
			dm->ifaces[dm->nifaces++] = optarg;
			break;
		case 'n': dm->check_only = 1; break;
		case 'T': dm->test_mode = 1; break;
		case 'v': dm->verbose++; break;
		case 'V': printf("mxthrottled %s\n", MXT_VERSION); return 1;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	return 0;
}

/* Read and check the configuration (trust checks, runtime.conf) before
 * anything touches the kernel; -1: reported, exit 1. */
static int load_config(struct daemon *dm)
{
	char err[512];

	memset(&dm->cfg, 0, sizeof(dm->cfg));
	if (config_read(&dm->cfg, dm->conf_path, dm->explicit_file, dm->ifaces, dm->nifaces,
			err, sizeof(err)) < 0) {
		fprintf(stderr, "mxthrottled: %s\n", err);
		return -1;
	}
	return 0;
}

/* Root and a known run user are needed before detaching, so that a
 * mistake is seen on the terminal; -1: reported, exit 1. */
static int check_user_and_detach(struct daemon *dm)
{
	const struct daemon_cfg *cfg = &dm->cfg;
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "mxthrottled: must be started as root (it loads XDP, then drops to '%s')\n",
			cfg->d.user);
		return -1;
	}
	if (cfg->d.user[0] && strcmp(cfg->d.user, "root")) {
		rc = mxt_user_lookup(cfg->d.user, &dm->run_uid, &dm->run_gid);
		if (rc < 0) {
			fprintf(stderr, "mxthrottled: user '%s': %s\n", cfg->d.user,
				rc == -ENOENT ? "no such user (set user = root to keep root)" : strerror(-rc));
			return -1;
		}
	}
	if (!dm->foreground && !dm->fg_syslog && daemon(0, 0) < 0) {
		perror("mxthrottled: daemon");
		return -1;
	}
	mxt_log_open("mxthrottled", !dm->foreground, dm->verbose);
	early_warn_flush(0);
	return 0;
}

/* Kernel half: attach (or adopt what is pinned), write the config. */
static void attach_kernel(struct daemon *dm)
{
	struct daemon_cfg *cfg = &dm->cfg;
	char err[512];
	int rc;

	for (int i = 0; i < cfg->d.nifaces; i++) {
		struct mxt_attach_opts ao = { .pin_dir = cfg->d.pin_dir, .ifname = cfg->d.ifaces[i],
					      .mode = cfg->d.attach_mode, .max_sources = cfg->d.max_sources };
		struct mxt_load_info li;

		if (mxt_attach(&ao, &li, err, sizeof(err)) < 0)
			fatalx("attach %s: %s", cfg->d.ifaces[i], err);
		mxt_log_info("ATTACH %s mode=%s prog_id=%u%s%s", cfg->d.ifaces[i], mxt_xdp_mode_name(li.mode),
			     li.prog_id, li.already ? " (already attached)" : "",
			     li.prog_reused ? " (pinned program reused)" : "");
	}
	if (cfg->d.nifaces == 0) {
		struct mxt_load_info li;

		if (mxt_prepare(cfg->d.pin_dir, cfg->d.max_sources, &li, err, sizeof(err)) < 0)
			fatalx("prepare maps in %s: %s", cfg->d.pin_dir, err);
		mxt_log_info("no interface configured: maps in %s ready, attach with 'mxthrottle attach IFACE' or ip link",
			     cfg->d.pin_dir);
	}
	if (mxt_maps_open(&dm->maps, cfg->d.pin_dir, MXT_MAPS_ANY_ABI, err, sizeof(err)) < 0)
		fatalx("%s", err);
	if ((rc = mxt_maps_config_write(&dm->maps, &cfg->d.kernel)) < 0)
		fatalx("cannot write kernel config: %s", strerror(-rc));
}

/* The model and the controller over the maps; the state directory is
 * prepared as root, its files are opened only after the drop. */
static void build_controller(struct daemon *dm)
{
	struct daemon_cfg *cfg = &dm->cfg;
	char dir[PATH_MAX], tmp[PATH_MAX], allow_file[PATH_MAX + 16], err[256];
	struct mxt_ctl_opts o = {
		.kcfg = &cfg->d.kernel,
		.maps = &dm->maps,
		.max_sources = dm->maps.max_entries[MXT_MAP_ID_SOURCES],
		.test_mode = dm->test_mode,
		.allow_file = allow_file,
		.runtime_conf = cfg->runtime,
		.on_config = config_changed,
	};
	uint64_t seed;
	int rc;

	dm->model = mxt_model_new(&cfg->mp, dm->maps.max_entries[MXT_MAP_ID_SOURCES]);
	if (!dm->model)
		fatalx("cannot create the model: %s", strerror(errno));
	if (getrandom(&seed, sizeof(seed), 0) == sizeof(seed))
		mxt_model_set_hash_seed(dm->model, seed);
	o.model = dm->model;
	snprintf(tmp, sizeof(tmp), "%s", cfg->d.state_db);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(allow_file, sizeof(allow_file), "%s/connectors", dir);
	dm->ctl = mxt_ctl_new(&o, err, sizeof(err));
	if (!dm->ctl)
		fatalx("%s", err);
	if (dm->test_mode)
		mxt_log_warnx("test mode: control commands 'clock advance' and 'seed' are enabled");
	/* The history is opened after the drop; as root, only make its
	 * directory and make sure its files are the run user's (without
	 * following any name the run user may have planted there). */
	if ((rc = make_parent(cfg->d.state_db, dm->run_uid, dm->run_gid)) < 0)
		mxt_log_errorx("cannot create the directory of %s: %s", cfg->d.state_db, strerror(-rc));
	if (dm->run_uid != (uid_t)-1)
		state_hand(cfg, dir, allow_file, dm->run_uid, dm->run_gid);
}

/* Sockets, while still root: privileged paths and ports. */
static void open_sockets(struct daemon *dm)
{
	struct daemon_cfg *cfg = &dm->cfg;
	struct mxt_policy_server_config pcfg;
	char err[512];
	int rc;

	memset(&pcfg, 0, sizeof(pcfg));
	for (int i = 0; i < cfg->d.npolicy_listen; i++) {
		pcfg.listen[i] = cfg->d.policy_listen[i];
		if (!strncmp(cfg->d.policy_listen[i], "unix:", 5)) {
			char tmp[PATH_MAX];
			struct stat st;

			/* Not created: the default lies in Postfix's queue
			 * directory, which only Postfix's installation makes. */
			snprintf(tmp, sizeof(tmp), "%s", cfg->d.policy_listen[i] + 5);
			if (stat(dirname(tmp), &st) < 0)
				fatalx("policy_listen %s: directory %s missing (is Postfix installed? see policy_listen in mxthrottle.conf(5))",
				       cfg->d.policy_listen[i], tmp);
		}
	}
	if (cfg->d.policy_group[0]) {
		struct group *g = getgrnam(cfg->d.policy_group);

		if (g) {
			pcfg.socket_gid_set = 1;
			pcfg.socket_gid = g->gr_gid;
		} else {
			mxt_log_warnx("policy_group '%s' does not exist: socket left to root's group", cfg->d.policy_group);
		}
	}
	pcfg.mode = (int)cfg->d.kernel.mode;
	pcfg.decide = metrics_decide;
	pcfg.decide_ctx = dm->ctl;
	pcfg.log = policy_log;
	if (cfg->d.npolicy_listen > 0) {
		rc = mxt_policy_server_create(&pcfg, &g_policy);
		if (rc < 0)
			fatalx("policy service: %s", strerror(-rc));
	}
	if (cfg->d.metrics_listen[0] &&
	    mxt_metrics_bind(cfg->d.metrics_listen, &g_metrics, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* Owned by the run user, so that it can remove its socket at exit. */
	if ((rc = make_parent(cfg->d.control_socket, dm->run_uid, dm->run_gid)) < 0)
		fatalx("cannot create the directory of %s: %s", cfg->d.control_socket, strerror(-rc));
	dm->ctl_fd = mxt_control_listen(cfg->d.control_socket, dm->run_uid);
	if (dm->ctl_fd < 0)
		fatalx("control socket %s: %s", cfg->d.control_socket, strerror(-dm->ctl_fd));
}

/* Least privilege from here on. */
static void drop_privileges(struct daemon *dm)
{
	int rc;

	if (dm->run_uid != (uid_t)-1) {
		rc = mxt_drop_privileges(dm->run_uid, dm->run_gid);
		if (rc < 0)
			fatalx("cannot drop privileges to %s: %s", dm->cfg.d.user, strerror(-rc));
		mxt_log_info("running as %s with CAP_BPF only", dm->cfg.d.user);
	}
}

/* As the run user: its files (history, connectors).  The re-seed
 * writes through the map fds opened above (CAP_BPF is kept). */
static void open_history_and_reseed(struct daemon *dm)
{
	int rc;

	dm->db = history_start(dm->ctl, dm->cfg.d.state_db, dm->maps.max_entries[MXT_MAP_ID_SOURCES]);
	allow_sync(dm->ctl, &dm->cfg.d);
	rc = mxt_ctl_reseed_kernel(dm->ctl, mxt_ctl_now(dm->ctl));
	mxt_log_info("RESEED %d kernel policy entries", rc);
}

/* Signals blocked first (the threads inherit the mask); the fleet is
 * joined before the policy thread answers; metrics after the drop. */
static void start_threads(struct daemon *dm)
{
	struct daemon_cfg *cfg = &dm->cfg;
	struct mxt_controller *ctl = dm->ctl;
	char err[512];

	sigemptyset(&dm->mask);
	sigaddset(&dm->mask, SIGHUP);
	sigaddset(&dm->mask, SIGTERM);
	sigaddset(&dm->mask, SIGINT);
	sigaddset(&dm->mask, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &dm->mask, NULL); /* inherited by the policy thread */
	if (cfg->d.fleet.nendpoints) {
		/* Learn the shared history before answering (bounded). */
		fleet_node_default(&cfg->d.fleet);
		dm->fleet = mxt_fleet_start(&cfg->d.fleet, ctl, err, sizeof(err));
		if (!dm->fleet)
			fatalx("fleet: %s", err);
		mxt_ctl_set_fleet(ctl, dm->fleet);
		mxt_log_info("FLEET %s node %s: %d redis endpoint(s), joining", cfg->d.fleet.fleet,
			     cfg->d.fleet.node, cfg->d.fleet.nendpoints);
		mxt_fleet_join_wait(dm->fleet);
		mxt_ctl_reseed_kernel(ctl, mxt_ctl_now(ctl));
	}
	if (g_policy) {
		if (pthread_create(&dm->ptid, NULL, policy_thread, NULL))
			fatalx("cannot start the policy thread");
		dm->policy_running = 1;
		for (int i = 0; i < cfg->d.npolicy_listen; i++)
			mxt_log_info("POLICY listening on %s (%s mode)", cfg->d.policy_listen[i],
				     mxt_mode_name(cfg->d.kernel.mode));
	}
	if (g_metrics) {
		/* After the drop: the HTTP thread gets CAP_BPF only. */
		mxt_metrics_set_sources(g_metrics, &dm->maps, g_policy);
		struct mxt_metrics_snapshot snap;

		mxt_metrics_snapshot_take(ctl, dm->fleet, dm->maps.max_entries[MXT_MAP_ID_SOURCES], mxt_ctl_now(ctl), &snap);
		mxt_metrics_update(g_metrics, &snap);
		if (mxt_metrics_start(g_metrics) < 0)
			fatalx("metrics_listen %s: cannot start the HTTP server", cfg->d.metrics_listen);
		mxt_log_info("METRICS listening on %s", cfg->d.metrics_listen);
	}
}

/* One epoll over signals, the tick timer, the control socket and the
 * optional watchdog timer. */
static void open_event_loop(struct daemon *dm)
{
	struct itimerspec its = { 0 };
	struct epoll_event ev = { .events = EPOLLIN };

	dm->sfd = signalfd(-1, &dm->mask, SFD_CLOEXEC);
	dm->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	dm->efd = epoll_create1(EPOLL_CLOEXEC);
	if (dm->sfd < 0 || dm->tfd < 0 || dm->efd < 0)
		fatalx("cannot set up the event loop: %s", strerror(errno));
	its.it_interval.tv_sec = dm->cfg.d.tick_interval_ms / 1000;
	its.it_interval.tv_nsec = (long)(dm->cfg.d.tick_interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(dm->tfd, 0, &its, NULL);
	ev.data.fd = dm->sfd;
	epoll_ctl(dm->efd, EPOLL_CTL_ADD, dm->sfd, &ev);
	ev.data.fd = dm->tfd;
	epoll_ctl(dm->efd, EPOLL_CTL_ADD, dm->tfd, &ev);
	ev.data.fd = dm->ctl_fd;
	epoll_ctl(dm->efd, EPOLL_CTL_ADD, dm->ctl_fd, &ev);
	uint64_t wd_usec = mxt_notify_watchdog_interval();

	if (wd_usec) {
		its.it_interval.tv_sec = (time_t)(wd_usec / 1000000);
		its.it_interval.tv_nsec = (long)(wd_usec % 1000000) * 1000L;
		its.it_value = its.it_interval;
		dm->wfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (dm->wfd < 0 || timerfd_settime(dm->wfd, 0, &its, NULL) < 0)
			fatalx("cannot set up the watchdog timer: %s", strerror(errno));
		ev.data.fd = dm->wfd;
		epoll_ctl(dm->efd, EPOLL_CTL_ADD, dm->wfd, &ev);
	}
}

/* Serve ticks, the control socket and signals until SIGTERM/SIGINT;
 * READY is sent only here, once XDP is attached and the policy socket
 * listens. */
static void run_loop(struct daemon *dm)
{
	struct daemon_cfg *cfg = &dm->cfg;
	struct mxt_controller *ctl = dm->ctl;
	uint64_t last_ckpt, last_stats;
	unsigned ckpts_since_good = 0;

	mxt_log_info("START mxthrottled: %d interface(s), pin_dir %s, %s mode, history %s",
		     cfg->d.nifaces, cfg->d.pin_dir, mxt_mode_name(cfg->d.kernel.mode),
		     dm->db ? cfg->d.state_db : "none");
	last_ckpt = last_stats = mxt_ctl_now(ctl);
	mxt_notify_ready("started");
	notify_status(ctl);
	/* The history was just read through whole: a good copy of it. */
	history_save_good(dm->db, cfg->d.state_db);

	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(dm->efd, evs, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatalx("epoll: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == dm->tfd) {
				uint64_t ticks, now = mxt_ctl_now(ctl);

				if (read(dm->tfd, &ticks, sizeof(ticks)) < 0)
					continue;
				mxt_ctl_tick(ctl, now);
				if (now - last_ckpt >= cfg->d.checkpoint_interval) {
					if (mxt_ctl_checkpoint(ctl) >= 0 &&
					    ++ckpts_since_good >= MXT_HDB_GOOD_EVERY) {
						history_save_good(dm->db, cfg->d.state_db);
						ckpts_since_good = 0;
					}
					last_ckpt = now;
				}
				if (now - last_stats >= STATS_INTERVAL) {
					log_stats(ctl, &dm->maps, g_policy);
					notify_status(ctl);
					last_stats = now;
				}
				if (g_metrics) {
					struct mxt_metrics_snapshot snap;

					mxt_metrics_snapshot_take(ctl, dm->fleet, dm->maps.max_entries[MXT_MAP_ID_SOURCES],
								  last_ckpt, &snap);
					mxt_metrics_update(g_metrics, &snap);
				}
			} else if (fd == dm->wfd) {
				uint64_t ticks;

				if (read(dm->wfd, &ticks, sizeof(ticks)) > 0)
					mxt_notify_watchdog();
			} else if (fd == dm->ctl_fd) {
				control_serve(dm->ctl_fd, ctl);
			} else if (fd == dm->sfd) {
				struct signalfd_siginfo si;

				if (read(dm->sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP)
					reload(cfg, ctl, dm->conf_path, dm->explicit_file, dm->ifaces, dm->nifaces);
				else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					return;
			}
		}
	}
}

/* Stop the threads, write a last checkpoint; the XDP program and its
 * maps stay pinned and keep enforcing. */
static void shutdown_daemon(struct daemon *dm)
{
	int rc;

	mxt_notify_stopping();
	mxt_metrics_free(g_metrics);
	if (dm->policy_running) {
		mxt_policy_server_stop(g_policy);
		pthread_join(dm->ptid, NULL);
	}
	if (dm->fleet) {
		/* The policy thread, which reads it, has stopped. */
		mxt_ctl_set_fleet(dm->ctl, NULL);
		mxt_fleet_stop(dm->fleet);
		dm->fleet = NULL;
	}
	rc = mxt_ctl_checkpoint(dm->ctl);
	if (rc >= 0)
		history_save_good(dm->db, dm->cfg.d.state_db);
	mxt_log_info("STOP checkpoint of %d senders; XDP program and maps stay pinned and enforcing", rc);
	mxt_policy_server_destroy(g_policy);
	close(dm->ctl_fd);
	unlink(dm->cfg.d.control_socket);
	mxt_hdb_close(dm->db);
	mxt_ctl_free(dm->ctl);
	mxt_model_free(dm->model);
	mxt_maps_close(&dm->maps);
	mxt_log_close();
}

/* The start-up order is security-relevant: configuration trust checks
 * before the kernel, sockets before the drop, history after it, READY
 * last. */
int main(int argc, char **argv)
{
	static struct daemon dm = {
		.conf_path = MXT_CONF_DEFAULT, .ctl_fd = -1, .wfd = -1,
		.run_uid = (uid_t)-1, .run_gid = (gid_t)-1,
	};

	if (parse_options(&dm, argc, argv))
		return 0;
	if (load_config(&dm) < 0)
		return 1;
	if (dm.check_only) {
		early_warn_flush(1);
		printf("configuration OK\n");
		return 0;
	}
	if (check_user_and_detach(&dm) < 0)
		return 1;
	attach_kernel(&dm);
	build_controller(&dm);
	open_sockets(&dm);
	drop_privileges(&dm);
	open_history_and_reseed(&dm);
	start_threads(&dm);
	open_event_loop(&dm);
	run_loop(&dm);
	shutdown_daemon(&dm);
	return 0;
}
