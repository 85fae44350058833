/* SPDX-License-Identifier: MIT */
/* Small file-system helpers of the guest init. All return 0 or -1 with errno set. */
#ifndef FLASHPAN_GUEST_INIT_FSUTIL_H
#define FLASHPAN_GUEST_INIT_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: every missing component with mode; an existing directory is fine. */
int fsutil__mkdir_p(const char *path, mode_t mode);

/* Writes data to an existing file (kernel interfaces: cgroup files, sysctl). */
int fsutil__write(const char *path, const char *data);

/*
 * Replaces path with a new regular file (mode 0644) holding data: written to a
 * temporary file next to it and renamed over it, so a symlink at path (a
 * resolv.conf pointing into /run, say) is replaced, not followed.
 */
int fsutil__replace(const char *path, const char *data, size_t len);

/* Reads a whole small file into buf (NUL-terminated); returns its length or -1. */
ssize_t fsutil__read(const char *path, char *buf, size_t len);

/* Is path the root of a mount (its device differs from its parent's)? */
bool fsutil__is_mountpoint(const char *path);

#endif
