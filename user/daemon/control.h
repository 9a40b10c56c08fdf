/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * control.h - the daemon's root-only control socket.  While mxthrottled
 * runs it owns the allowlist, the policy map and the history, so the CLI's
 * changes go through it (and persist) instead of racing it on the maps.
 * Protocol: the client sends one request line (at most MXT_CONTROL_LINE_MAX
 * bytes, words separated by spaces), then shuts down its write side; the
 * daemon answers with "ok\n" or "error: <reason>\n" followed by any body,
 * and closes.
 */
#ifndef MXT_CONTROL_H
#define MXT_CONTROL_H

#include <stdio.h>
#include <sys/types.h>

#define MXT_CONTROL_LINE_MAX 512
#define MXT_CONTROL_ARGS_MAX 32
#define MXT_CONTROL_DEFAULT "/run/mxthrottle/control.sock"

/* Create, bind and listen on a unix socket at 'path' (mode 0600, owned by
 * 'owner' when owner != (uid_t)-1).  A stale socket file is replaced only
 * if nobody answers on it.  Returns the listening fd or -errno. */
int mxt_control_listen(const char *path, uid_t owner);

/* Accept one client on 'lfd', refuse it unless its peer uid is 0 or
 * 'self_uid', and read its request line (bounded, timeout_ms).  Splits it
 * into argv (modifies 'line').  Returns the client fd (caller answers and
 * closes it) or -errno; -EACCES for a refused peer, -EPROTO for a bad line
 * (the fd is closed in both cases). */
int mxt_control_accept(int lfd, uid_t self_uid, int timeout_ms, char *line,
		       size_t len, int *argc, char **argv);

/* Client side: send 'argv' joined by spaces to the daemon at 'path', copy
 * the answer body to 'out'.  Returns 0 for "ok", -EREMOTEIO for an
 * "error:" answer (its text copied to errbuf), -ENOENT/-ECONNREFUSED when
 * no daemon listens (the caller falls back to the maps), other -errno. */
int mxt_control_call(const char *path, int argc, char *const *argv, FILE *out,
		     char *errbuf, size_t errlen);

#endif /* MXT_CONTROL_H */
