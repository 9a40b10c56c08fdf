/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* test_control.c - the control socket's framing, bounds and answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"

struct fixture {
	char dir[64];
	char path[128];
	int lfd;
};

/* The server side of one exchange, run in a thread. */
struct served {
	struct fixture *fx;
	int rc;            /* mxt_control_accept's result */
	int argc;
	char line[MXT_CONTROL_LINE_MAX];
	char *argv[MXT_CONTROL_ARGS_MAX];
	const char *answer;
};

static void *serve_one(void *arg)
{
	struct served *s = arg;
	int fd = mxt_control_accept(s->fx->lfd, getuid(), 2000, s->line, sizeof(s->line),
				    &s->argc, s->argv);

	s->rc = fd < 0 ? fd : 0;
	if (fd >= 0) {
		if (write(fd, s->answer, strlen(s->answer)) < 0)
			s->rc = -errno;
		close(fd);
	}
	return NULL;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/mxt-ctl-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/control.sock", fx->dir);
	fx->lfd = mxt_control_listen(fx->path, (uid_t)-1);
	if (fx->lfd < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	close(fx->lfd);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A command travels as words and the body comes back verbatim. */
static void call_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct served s = { .fx = fx, .answer = "ok\nreleased 198.18.1.1\n" };
	char *argv[] = { "release", "198.18.1.1" };
	char body[128] = "";
	FILE *out = fmemopen(body, sizeof(body), "w");
	pthread_t t;
	int rc;

	pthread_create(&t, NULL, serve_one, &s);
	rc = mxt_control_call(fx->path, 2, argv, out, NULL, 0);
	fclose(out);
	pthread_join(t, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(s.rc, 0);
	assert_int_equal(s.argc, 2);
	assert_string_equal(s.argv[0], "release");
	assert_string_equal(s.argv[1], "198.18.1.1");
	assert_string_equal(body, "released 198.18.1.1\n");
}

/* An "error:" answer is reported as such, with its reason. */
static void call_error_answer(void **state)
{
	struct fixture *fx = *state;
	struct served s = { .fx = fx, .answer = "error: bad CIDR 1.2.3.4/33\n" };
	char *argv[] = { "allow", "add", "1.2.3.4/33" };
	char err[128] = "";
	pthread_t t;
	int rc;

	pthread_create(&t, NULL, serve_one, &s);
	rc = mxt_control_call(fx->path, 3, argv, NULL, err, sizeof(err));
	pthread_join(t, NULL);
	assert_int_equal(rc, -EREMOTEIO);
	assert_string_equal(err, "bad CIDR 1.2.3.4/33");
}

/* A request longer than the line bound is refused, not truncated. */
static void oversized_request_refused(void **state)
{
	struct fixture *fx = *state;
	struct served s = { .fx = fx, .answer = "ok\n" };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char big[MXT_CONTROL_LINE_MAX * 2];
	pthread_t t;
	int fd;

	memset(big, 'a', sizeof(big));
	strcpy(sun.sun_path, fx->path);
	pthread_create(&t, NULL, serve_one, &s);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	(void)!write(fd, big, sizeof(big));
	shutdown(fd, SHUT_WR);
	pthread_join(t, NULL);
	close(fd);
	if (s.rc != -EMSGSIZE)
		fail_msg("got %d, want -EMSGSIZE", s.rc);
}

/* No daemon: the client learns so plainly and can fall back to the maps. */
static void no_daemon_is_distinguishable(void **state)
{
	char *argv[] = { "status" };
	int rc;

	(void)state;
	rc = mxt_control_call("/tmp/mxt-ctl-does-not-exist.sock", 1, argv, NULL, NULL, 0);
	if (rc != -ENOENT && rc != -ECONNREFUSED)
		fail_msg("got %d, want -ENOENT or -ECONNREFUSED", rc);
}

/* The socket is born 0600, and a live socket is not stolen. */
static void socket_mode_and_liveness(void **state)
{
	struct fixture *fx = *state;
	struct stat st;

	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mxt_control_listen(fx->path, (uid_t)-1), -EADDRINUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(call_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(call_error_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_request_refused, setup, teardown),
		cmocka_unit_test(no_daemon_is_distinguishable),
		cmocka_unit_test_setup_teardown(socket_mode_and_liveness, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
