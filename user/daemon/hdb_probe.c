/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hdb_probe.c - reads a history file whole in a child process, so that a
 * file LMDB cannot read safely is refused instead of crashing the daemon
 * (see hdb_probe.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lmdb.h>

#include "errfmt.h"
#include "hdb_probe.h"

#define PROBE_OK      0
#define PROBE_FOREIGN 3    /* not an LMDB file of this version: mxt_hdb_open says so */
#define PROBE_CORRUPT 4    /* LMDB reported an error reading it */
#define MAIN_DBI_PROBE 1   /* LMDB's MAIN_DBI: the named databases are its records */
/* CPU seconds the child may spend: a B-tree whose pages point back at
 * each other sends LMDB round in circles forever (found by fuzz_hdb_file),
 * so the read is bounded.  An honest file costs milliseconds per MiB:
 * 2 s plus 1 s per 16 MiB is far above that and far below "never". */
#define PROBE_CPU_BASE 2
#define PROBE_CPU_PER  (16u << 20)

/* Touches every byte of 'v', so that pages behind it are really read. */
static unsigned touch(const MDB_val *v)
{
	const volatile unsigned char *p = v->mv_data;
	unsigned sum = 0;

	for (size_t i = 0; i < v->mv_size; i++)
		sum += p[i];
	return sum;
}

/* Walks every record of 'dbi'; named databases found in the main one are
 * walked too ('depth' 0 only: names live in the main database). */
static int walk(MDB_txn *txn, MDB_dbi dbi, int depth, unsigned *sum)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (mdb_cursor_open(txn, dbi, &cur))
		return -1;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		*sum += touch(&k) + touch(&v);
		if (depth == 0 && dbi == MAIN_DBI_PROBE) {
			char name[512];
			MDB_dbi sub;

			if (k.mv_size == 0 || k.mv_size >= sizeof(name))
				continue;
			memcpy(name, k.mv_data, k.mv_size);
			name[k.mv_size] = '\0';
			if (memchr(name, '\0', k.mv_size))
				continue;
			if (mdb_dbi_open(txn, name, 0, &sub) == 0 && walk(txn, sub, 1, sum) < 0)
				break;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : -1;
}

/* The child: open the file as mxt_hdb_open() does (same map size, read
 * only, no lock file), open its databases, read everything; say how it
 * went in the exit status. */
static int probe_child(const char *path, size_t mapsize)
{
	static const char *const names[] = { "meta", "senders" };
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	unsigned sum = 0;
	int rc;

	rc = mdb_env_create(&env);
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 16);
	if (!rc && mapsize)
		rc = mdb_env_set_mapsize(env, mapsize);
	if (!rc)
		rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return PROBE_FOREIGN;
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	for (size_t i = 0; !rc && i < sizeof(names) / sizeof(names[0]); i++) {
		rc = mdb_dbi_open(txn, names[i], 0, &dbi);
		if (rc == MDB_NOTFOUND) /* not created yet, or not ours: mxt_hdb_open decides */
			rc = 0;
	}
	if (!rc && (walk(txn, 0, 1, &sum) < 0 || walk(txn, MAIN_DBI_PROBE, 0, &sum) < 0))
		rc = -1;
	(void)sum;
	return rc ? PROBE_CORRUPT : PROBE_OK;
}

/* Probes 'path'; see hdb_probe.h. */
int mxt_hdb_probe(const char *path, size_t mapsize, char *err, size_t errlen)
{
	struct stat st;
	pid_t pid;
	int status;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGXCPU };
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		rlim_t cpu = PROBE_CPU_BASE + (rlim_t)st.st_size / PROBE_CPU_PER;
		struct rlimit lim = { .rlim_cur = cpu, .rlim_max = cpu + 1 };
		struct rlimit nocore = { 0, 0 };

		/* SIGXCPU at the soft limit, SIGKILL one second later. */
		setrlimit(RLIMIT_CPU, &lim);
		setrlimit(RLIMIT_CORE, &nocore);

		/* A crash here is the expected verdict, not news: die by the
		 * signal itself (no sanitizer or fuzzer handler inherited from
		 * the parent), and say nothing on the daemon's stderr. */
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			signal(fatal[i], SIG_DFL);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		_exit(probe_child(path, mapsize));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) &&
	    (WEXITSTATUS(status) == PROBE_OK || WEXITSTATUS(status) == PROBE_FOREIGN))
		return 0;
	if (err && errlen) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_CORRUPT)
			mxt_seterr(err, errlen, "history db %s: damaged: LMDB reports an error reading it",
				   path);
		else if (WIFSIGNALED(status) &&
			 (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL))
			mxt_seterr(err, errlen, "history db %s: damaged: reading it did not end "
				   "within its CPU time limit (a loop in its pages)", path);
		else if (WIFSIGNALED(status))
			mxt_seterr(err, errlen, "history db %s: damaged: reading it raised %s",
				   path, strsignal(WTERMSIG(status)));
		else
			mxt_seterr(err, errlen, "history db %s: damaged: reading it failed (exit %d)",
				   path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	return -EBADMSG;
}
