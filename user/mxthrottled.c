// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mxthrottled.c - the daemon's main(): thin glue for now.  Reads the
 * config file, makes sure the maps are pinned (reusing what is there),
 * writes the file's config, attaches mxt_xdp to each -i interface, and then
 * waits: SIGHUP re-reads the file (a bad file keeps the running config),
 * SIGTERM/SIGINT end the process and leave program and maps pinned and
 * attached, so enforcement continues while the daemon is down.  The
 * controller (policy decisions) will grow here later.
 *
 *   mxthrottled [-dnv] [-f file] [-i iface ...]
 *     -d  stay in the foreground, log to stderr (else daemonise, syslog mail)
 *     -n  check the config file, print "configuration OK", exit
 *     -v  more log (repeatable)
 *     -f  config file (default MXT_CONF_FILE; missing default file = defaults)
 *     -i  attach to this interface (repeatable)
 * The pin directory is $MXT_PIN_DIR, else MXT_PIN_DIR.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfgkeys.h"
#include "loader.h"
#include "log.h"
#include "pinned.h"

#ifndef MXT_CONF_FILE
#define MXT_CONF_FILE "/etc/mxthrottle/mxthrottle.conf"
#endif
#define MAX_IFACES 16

/* Print the synopsis and exit 1. */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: mxthrottled [-dnv] [-f file] [-i iface ...]\n");
	exit(1);
}

/* Log an error and exit 1 (only main() and its helpers exit). */
static void __attribute__((noreturn, format(printf, 1, 2))) fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mxt_vlog(MXT_LOG_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* The config the daemon wants: defaults, then the file if there is one.
 * Returns 1 if a file was read, 0 if the (default) file is absent. */
static int read_config(const char *path, int explicit_file, struct mxt_config *cfg,
		       char *err, size_t errlen, int *failed)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	*failed = 0;
	mxt_config_defaults(cfg, ncpu > 0 ? (__u32)ncpu : 1);
	if (!explicit_file && access(path, F_OK) != 0)
		return 0;
	if (mxt_config_load_file(cfg, path, err, errlen)) {
		*failed = 1;
		return 0;
	}
	return 1;
}

/* Write cfg into the pinned config map (locked). */
static int apply_config(const char *pin_dir, const struct mxt_config *cfg, char *err, size_t errlen)
{
	struct mxt_maps m;
	int ret;

	ret = mxt_maps_open(&m, pin_dir, MXT_MAPS_LOCK | MXT_MAPS_ANY_ABI, err, errlen);
	if (ret)
		return ret;
	ret = mxt_maps_config_write(&m, cfg);
	if (ret)
		snprintf(err, errlen, "cannot write the config to %s: %s", pin_dir, strerror(-ret));
	mxt_maps_close(&m);
	return ret;
}

int main(int argc, char **argv)
{
	const char *conf = MXT_CONF_FILE, *ifaces[MAX_IFACES], *pin_dir;
	int opt, dflag = 0, nflag = 0, verbose = 0, nifaces = 0, explicit_file = 0, failed;
	struct mxt_load_info info;
	struct mxt_config cfg;
	char err[512];
	sigset_t set;
	int have_file;

	mxt_log_open("mxthrottled", 0, 0);
	while ((opt = getopt(argc, argv, "dnvf:i:")) != -1) {
		switch (opt) {
		case 'd':
			dflag = 1;
			break;
		case 'n':
			nflag = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'f':
			conf = optarg;
			explicit_file = 1;
			break;
		case 'i':
			if (nifaces == MAX_IFACES)
				fatalx("at most %d interfaces", MAX_IFACES);
			ifaces[nifaces++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	mxt_log_set_verbosity(verbose);
	pin_dir = mxt_pin_dir_default();

	have_file = read_config(conf, explicit_file, &cfg, err, sizeof(err), &failed);
	if (failed)
		fatalx("%s", err);
	if (nflag) {
		fprintf(stderr, "mxthrottled: configuration OK%s\n", have_file ? "" : " (defaults: no file)");
		return 0;
	}
	if (geteuid() != 0)
		fatalx("must be run as root (it keeps CAP_BPF and CAP_NET_ADMIN)");

	if (mxt_prepare(pin_dir, 0, &info, err, sizeof(err)))
		fatalx("%s", err);
	if (have_file && apply_config(pin_dir, &cfg, err, sizeof(err)))
		fatalx("%s", err);
	for (int i = 0; i < nifaces; i++) {
		struct mxt_attach_opts o = { .pin_dir = pin_dir, .ifname = ifaces[i], .mode = MXT_XDP_AUTO };

		if (mxt_attach(&o, &info, err, sizeof(err)))
			fatalx("%s", err);
		mxt_log_info("ATTACH %s mode=%s prog_id=%u%s%s", ifaces[i], mxt_xdp_mode_name(info.mode),
			     info.prog_id, info.already ? " already=yes" : "",
			     info.dispatcher ? " dispatcher=yes" : "");
	}

	/* Block the signals we handle before daemonising: sigwaitinfo. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fatalx("sigprocmask: %s", strerror(errno));
	if (!dflag) {
		if (daemon(0, 0))
			fatalx("daemon: %s", strerror(errno));
		mxt_log_open("mxthrottled", 1, verbose);
	}
	mxt_log_info("STARTED pin_dir=%s config=%s interfaces=%d", pin_dir,
		     have_file ? conf : "defaults", nifaces);

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			mxt_log_error("sigwaitinfo");
			return 1;
		}
		if (sig == SIGHUP) {
			struct mxt_config ncfg;

			have_file = read_config(conf, explicit_file, &ncfg, err, sizeof(err), &failed);
			if (failed) {
				mxt_log_warnx("RELOAD FAILED %s: keeping the running config", err);
				continue;
			}
			if (!have_file) {
				mxt_log_info("RELOAD no config file %s: the config in the maps stays", conf);
				continue;
			}
			if (apply_config(pin_dir, &ncfg, err, sizeof(err))) {
				mxt_log_warnx("RELOAD FAILED %s", err);
				continue;
			}
			mxt_log_info("RELOAD config=%s", conf);
			continue;
		}
		mxt_log_info("STOPPING signal=%s: mxt_xdp stays attached, maps stay pinned",
			     sig == SIGTERM ? "TERM" : "INT");
		mxt_log_close();
		return 0;
	}
}
