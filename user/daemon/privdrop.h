/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* privdrop.h - give up root after start-up, keeping only CAP_BPF. */
#ifndef MXT_PRIVDROP_H
#define MXT_PRIVDROP_H

#include <sys/types.h>

/* Look up 'user'; fills uid/gid.  -ENOENT when it does not exist. */
int mxt_user_lookup(const char *user, uid_t *uid, gid_t *gid);

/* Switch to uid/gid (supplementary groups: just gid), keeping CAP_BPF in
 * the permitted and effective sets and nothing else, and set no_new_privs.
 * Already-open descriptors (maps, sockets, the database) stay usable;
 * bpf() itself still needs CAP_BPF because unprivileged BPF is disabled. */
int mxt_drop_privileges(uid_t uid, gid_t gid);

/* As root, before the drop: make sure the regular file 'path' exists (an
 * empty one is made when absent) and belongs to uid/gid, without ever
 * following a symlink or touching a file with other hard links: the file
 * lies in a directory the run user may write, so its name may point
 * anywhere.  Such a name is left alone (-ELOOP, -EMLINK, -EBADF for "not
 * a regular file"); the run user's own checks then deal with it. */
int mxt_hand_file(const char *path, uid_t uid, gid_t gid);
/* Same for a file that is only handed over when present (-ENOENT else). */
int mxt_hand_existing_file(const char *path, uid_t uid, gid_t gid);

/* As root, before the drop: give the directory 'dir' to uid/gid when root
 * owns it and it holds nothing but the daemon's state files (names that
 * start with one of the NULL-ended 'prefixes'): systemd's StateDirectory=
 * of a unit without User= is root's, and systemd gives its whole tree back
 * to root at every start.  A directory with anything else in it (a
 * state_db put straight in /var/lib) is never given away: -ENOTEMPTY.
 * 0 also when uid already owns it. */
int mxt_hand_state_dir(const char *dir, const char *const *prefixes, uid_t uid, gid_t gid);

#endif /* MXT_PRIVDROP_H */
