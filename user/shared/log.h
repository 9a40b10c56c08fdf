/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * log.h - the one logger of libmxthrottle, the CLI and the daemon: stderr
 * in the foreground, syslog facility mail as a daemon (mail operators look
 * there).  OpenBSD style: mxt_log_warn() appends strerror(errno),
 * mxt_log_warnx() does not.  libbpf's and libxdp's own messages are routed
 * through it one level down (their warnings are our info), as xdp-tools do,
 * so that a plain run shows only what we have to say.
 *
 * Library code logs only through here and never exits; only main() decides
 * what is fatal.
 */
#ifndef MXT_LOG_H
#define MXT_LOG_H

#include <stdarg.h>

/* Severities, most severe first.  MXT_LOG_TRACE carries libbpf's debug
 * output and shows only at verbosity 2. */
enum mxt_log_level {
	MXT_LOG_ERROR = 0,
	MXT_LOG_WARN,
	MXT_LOG_INFO,
	MXT_LOG_DEBUG,
	MXT_LOG_TRACE,
};

/* Start logging as 'ident'.  use_syslog: 0 = stderr, 1 = syslog(LOG_MAIL).
 * verbosity: -1 errors and warnings, 0 also info (the default), 1 also
 * debug, 2 also libbpf/libxdp debug output.  Also installs the libbpf and
 * libxdp print callbacks.  May be called again to switch. */
void mxt_log_open(const char *ident, int use_syslog, int verbosity);
/* Stop logging to syslog (closelog); later messages go to stderr. */
void mxt_log_close(void);
/* Change the verbosity (same scale as mxt_log_open). */
void mxt_log_set_verbosity(int verbosity);
/* Non-zero if a message of 'level' would be emitted. */
int mxt_log_enabled(enum mxt_log_level level);

/* Emit one message; with_errno appends ": strerror(saved errno)". */
void mxt_vlog(enum mxt_log_level level, int with_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Error with ": strerror(errno)" appended. */
void mxt_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error without errno. */
void mxt_log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning with ": strerror(errno)" appended. */
void mxt_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Warning without errno. */
void mxt_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational event (one grep-able event per line). */
void mxt_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debugging detail, shown with -v. */
void mxt_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MXT_LOG_H */
