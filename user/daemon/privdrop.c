/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * privdrop.c - least privilege for the daemon.  mxthrottled needs root to
 * load and attach XDP, bind its sockets and open its database; after that
 * it only reads and writes BPF maps, which needs CAP_BPF (the machine runs
 * with kernel.unprivileged_bpf_disabled set).  So: switch uid/gid with
 * PR_SET_KEEPCAPS, then narrow the capability sets to CAP_BPF alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privdrop.h"

int mxt_user_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw)
		return errno ? -errno : -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int mxt_drop_privileges(uid_t uid, gid_t gid)
{
	cap_value_t keep[] = { CAP_BPF };
	cap_t caps;
	int err = 0;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;

	caps = cap_init(); /* all clear */
	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) < 0 ||
	    cap_set_proc(caps) < 0)
		err = -errno;
	cap_free(caps);
	if (err)
		return err;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* mxt_hand_file(), creating the file when 'create'. */
static int hand_file(const char *path, uid_t uid, gid_t gid, int create)
{
	struct stat st;
	int fd = -1, rc = 0;

	/* O_EXCL never follows a symlink; O_PATH opens nothing for real
	 * (no FIFO blocks, no device is touched). */
	if (create)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && (!create || errno == EEXIST))
		fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISLNK(st.st_mode))
		rc = -ELOOP;
	else if (!S_ISREG(st.st_mode))
		rc = -EBADF;
	else if (st.st_nlink != 1)
		rc = -EMLINK;
	else if ((st.st_uid != uid || st.st_gid != gid) &&
		 fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int mxt_hand_file(const char *path, uid_t uid, gid_t gid)
{
	return hand_file(path, uid, gid, 1);
}

int mxt_hand_existing_file(const char *path, uid_t uid, gid_t gid)
{
	return hand_file(path, uid, gid, 0);
}

/* 1 when 'name' starts with one of 'prefixes'. */
static int state_name(const char *name, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (!strncmp(name, *prefixes, strlen(*prefixes)))
			return 1;
	return 0;
}

int mxt_hand_state_dir(const char *dir, const char *const *prefixes, uid_t uid, gid_t gid)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, lfd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid == uid)
		goto out;
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		rc = -EPERM; /* someone else's: not ours to give */
		goto out;
	}
	lfd = dup(fd);
	d = lfd < 0 ? NULL : fdopendir(lfd);
	if (!d) {
		rc = -errno;
		if (lfd >= 0)
			close(lfd);
		goto out;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !state_name(e->d_name, prefixes))
			rc = -ENOTEMPTY;
	closedir(d);
	if (!rc && fchown(fd, uid, gid) < 0)
		rc = -errno;
out:
	close(fd);
	return rc;
}
