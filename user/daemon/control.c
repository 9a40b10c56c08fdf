/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * control.c - both ends of the control socket (see control.h).  Every
 * length is bounded: a request is one line of at most MXT_CONTROL_LINE_MAX
 * bytes; anything longer, or a line with a NUL byte, is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "errfmt.h"

/* Fill a sockaddr_un; -ENAMETOOLONG when the path does not fit. */
static int control_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* 1 when something answers on the unix socket at 'sun'. */
static int control_is_live(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

int mxt_control_listen(const char *path, uid_t owner)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, err;

	err = control_addr(path, &sun);
	if (err)
		return err;
	if (control_is_live(&sun))
		return -EADDRINUSE;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177); /* born 0600: no window where others may connect */
	err = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old);
	/* The directory is the run user's: by now the name may be a symlink
	 * it planted, which chown() would follow as root. */
	if (!err && owner != (uid_t)-1 && lchown(path, owner, (gid_t)-1) < 0)
		err = -errno;
	if (!err && listen(fd, 16) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Split 'line' on spaces into at most MXT_CONTROL_ARGS_MAX words. */
static int control_split(char *line, int *argc, char **argv)
{
	char *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == MXT_CONTROL_ARGS_MAX)
			return -E2BIG;
		argv[n++] = w;
	}
	*argc = n;
	return n ? 0 : -EPROTO;
}

int mxt_control_accept(int lfd, uid_t self_uid, int timeout_ms, char *line,
		       size_t len, int *argc, char **argv)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	size_t used = 0;
	int fd, err = 0;

	/* The listener is non-blocking: wait for a client (the daemon only
	 * calls this when epoll says one is there, so this returns at once). */
	{
		struct pollfd lp = { .fd = lfd, .events = POLLIN };

		if (poll(&lp, 1, timeout_ms) <= 0)
			return -EAGAIN;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != 0 && cred.uid != self_uid)) {
		close(fd);
		return -EACCES;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (poll(&p, 1, timeout_ms) <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		n = read(fd, line + used, len - 1 - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (memchr(line + used, '\0', (size_t)n)) {
			err = -EPROTO;
			break;
		}
		used += (size_t)n;
		line[used] = '\0';
		nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
			break;
		}
		if (n == 0)
			break; /* peer shut down its side: the line is complete */
		if (used == len - 1) {
			err = -EMSGSIZE;
			break;
		}
	}
	if (!err)
		err = control_split(line, argc, argv);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int mxt_control_call(const char *path, int argc, char *const *argv, FILE *out,
		     char *errbuf, size_t errlen)
{
	char req[MXT_CONTROL_LINE_MAX], buf[4096];
	struct sockaddr_un sun;
	size_t used = 0;
	int fd, err, first = 1, failed = 0;
	ssize_t n;

	err = control_addr(path, &sun);
	if (err)
		return err;
	for (int i = 0; i < argc; i++) {
		int w = snprintf(req + used, sizeof(req) - used, "%s%s", i ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(req) - used || strchr(argv[i], '\n'))
			return -EMSGSIZE;
		used += (size_t)w;
	}
	if (used + 1 >= sizeof(req))
		return -EMSGSIZE;
	req[used++] = '\n';

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (write(fd, req, used) != (ssize_t)used) {
		err = -EIO;
		goto out;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *body = buf;
		size_t blen = (size_t)n;

		if (first) {
			char *nl = memchr(buf, '\n', (size_t)n);
			first = 0;
			if (!nl) {
				err = -EPROTO;
				goto out;
			}
			*nl = '\0';
			if (strncmp(buf, "error: ", 7) == 0) {
				failed = 1;
				mxt_seterr(errbuf, errlen, "%s", buf + 7);
			} else if (strcmp(buf, "ok") != 0) {
				err = -EPROTO;
				goto out;
			}
			body = nl + 1;
			blen = (size_t)n - (size_t)(body - buf);
		}
		if (out && blen && fwrite(body, 1, blen, out) != blen) {
			err = -EIO;
			goto out;
		}
	}
	if (n < 0)
		err = -errno;
	else if (first)
		err = -EPROTO; /* closed without an answer */
	else if (failed)
		err = -EREMOTEIO;
out:
	close(fd);
	return err;
}
