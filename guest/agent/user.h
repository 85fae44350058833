/* SPDX-License-Identifier: MIT */
/*
 * The ExecRequest "user" field (GUEST-CONTRACT.md): "uid", "uid:gid" or a
 * name from /etc/passwd (and /etc/group for a group name). Resolved in the
 * agent before the fork, so the child only makes system calls.
 */
#ifndef AGENT_USER_H
#define AGENT_USER_H

#include <stddef.h>
#include <sys/types.h>

#define USER_MAX_GROUPS 64

struct user_cred {
	uid_t uid;
	gid_t gid;
	gid_t groups[USER_MAX_GROUPS];	/* supplementary, the primary gid first */
	size_t n_groups;
};

/*
 * Returns 0 or -ENOENT/-EINVAL with a message in err. The files are
 * parameters so that tests can use their own.
 */
int user_resolve(const char *spec, const char *passwd_path, const char *group_path,
		 struct user_cred *cred, char *err, size_t errlen);

#endif
