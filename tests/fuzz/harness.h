/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * harness.h - what the libFuzzer harnesses that need files share: die(),
 * which aborts with a message so that libFuzzer reports the input and
 * keeps it, and a private temporary directory (mkdtemp: 0700, as a
 * trusted file's would be) emptied and removed at exit.  Header-only,
 * included by the harness .c files alone.
 */
#ifndef MXT_FUZZ_HARNESS_H
#define MXT_FUZZ_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_dir[64];

/* Abort with "harness: what[: detail]" (detail may be NULL). */
static void __attribute__((noreturn)) die(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

/* Remove what the harness left in fz_dir, then fz_dir itself. */
static void fz_tmpdir_remove(void)
{
	DIR *d = opendir(fz_dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[sizeof(fz_dir) + 256 + 2];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", fz_dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(fz_dir);
}

/* Make /tmp/mxt-fuzz-<name>.XXXXXX (removed at exit) and return it; dies
 * when it cannot. */
static const char *fz_tmpdir(const char *name)
{
	snprintf(fz_dir, sizeof(fz_dir), "/tmp/mxt-fuzz-%s.XXXXXX", name);
	if (!mkdtemp(fz_dir))
		die("mkdtemp", strerror(errno));
	atexit(fz_tmpdir_remove);
	return fz_dir;
}

#endif /* MXT_FUZZ_HARNESS_H */
