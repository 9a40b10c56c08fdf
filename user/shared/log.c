// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * log.c - stderr/syslog logger with OpenBSD's warn/warnx split, and the
 * print callbacks that route libbpf's and libxdp's chatter one level down
 * (their WARN is our INFO, their INFO our DEBUG, their DEBUG our TRACE).
 *
 * Every message is formatted into one buffer and written with one call, so
 * lines from concurrent processes do not interleave mid-line; trailing
 * newlines (libbpf ends its messages with one) are stripped and each
 * remaining line is emitted separately.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <syslog.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static const char *log_ident = "mxthrottle";
static int log_syslog;
/* Any thread logs; the main thread may change it (SIGHUP). */
static _Atomic int log_verbosity;

/* Map one of our levels to a syslog priority. */
static int syslog_prio(enum mxt_log_level level)
{
	switch (level) {
	case MXT_LOG_ERROR:
		return LOG_ERR;
	case MXT_LOG_WARN:
		return LOG_WARNING;
	case MXT_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* The Postfix-style word put in front of a message of 'level'. */
static const char *level_prefix(enum mxt_log_level level)
{
	switch (level) {
	case MXT_LOG_WARN:
		return "warning: ";
	case MXT_LOG_DEBUG:
	case MXT_LOG_TRACE:
		return "debug: ";
	default:
		return "";
	}
}

int mxt_log_enabled(enum mxt_log_level level)
{
	return (int)level <= (int)MXT_LOG_INFO + log_verbosity;
}

/* Write one already formatted line to the current sink. */
static void emit_line(enum mxt_log_level level, const char *line)
{
	if (log_syslog)
		syslog(syslog_prio(level), "%s%s", level_prefix(level), line);
	else
		fprintf(stderr, "%s: %s%s\n", log_ident, level_prefix(level), line);
}

void mxt_vlog(enum mxt_log_level level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	char buf[2048];
	char *line, *nl;
	int n;

	if (!mxt_log_enabled(level))
		goto out;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (with_errno)
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(saved));
	/* One emitted line per text line; drop empty trailing ones. */
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line)
			emit_line(level, line);
		if (!nl)
			break;
	}
out:
	errno = saved;
}

#define MXT_LOG_FN(fname, level, with_errno)                 \
	void fname(const char *fmt, ...)                     \
	{                                                    \
		va_list ap;                                  \
		va_start(ap, fmt);                           \
		mxt_vlog(level, with_errno, fmt, ap);        \
		va_end(ap);                                  \
	}

/* One function per severity, with and without errno. */
MXT_LOG_FN(mxt_log_error, MXT_LOG_ERROR, 1)
MXT_LOG_FN(mxt_log_errorx, MXT_LOG_ERROR, 0)
MXT_LOG_FN(mxt_log_warn, MXT_LOG_WARN, 1)
MXT_LOG_FN(mxt_log_warnx, MXT_LOG_WARN, 0)
MXT_LOG_FN(mxt_log_info, MXT_LOG_INFO, 0)
MXT_LOG_FN(mxt_log_debug, MXT_LOG_DEBUG, 0)
#undef MXT_LOG_FN

/* libbpf print callback: libbpf's levels shifted one level down. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum mxt_log_level l = level == LIBBPF_WARN ? MXT_LOG_INFO :
			       level == LIBBPF_INFO ? MXT_LOG_DEBUG : MXT_LOG_TRACE;

	mxt_vlog(l, 0, fmt, ap);
	return 0;
}

/* libxdp print callback: the same shift as for libbpf. */
static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum mxt_log_level l = level == LIBXDP_WARN ? MXT_LOG_INFO :
			       level == LIBXDP_INFO ? MXT_LOG_DEBUG : MXT_LOG_TRACE;

	mxt_vlog(l, 0, fmt, ap);
	return 0;
}

void mxt_log_set_verbosity(int verbosity)
{
	if (verbosity < -1)
		verbosity = -1;
	if (verbosity > 2)
		verbosity = 2;
	log_verbosity = verbosity;
}

void mxt_log_open(const char *ident, int use_syslog, int verbosity)
{
	if (log_syslog)
		closelog();
	if (ident && *ident)
		log_ident = ident;
	mxt_log_set_verbosity(verbosity);
	log_syslog = use_syslog;
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

void mxt_log_close(void)
{
	if (log_syslog)
		closelog();
	log_syslog = 0;
}
