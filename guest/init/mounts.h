/* SPDX-License-Identifier: MIT */
/*
 * The guest init's mounts (GUEST-CONTRACT.md, "Guest init"): the kernel's
 * pseudo file systems, the overlay root and the extra disks. Failures are
 * fatal (console__fatal) with the device, the place and the errno text.
 */
#ifndef FLASHPAN_GUEST_INIT_MOUNTS_H
#define FLASHPAN_GUEST_INIT_MOUNTS_H

#include "guest/init/cmdline.h"

/*
 * proc on /proc, sysfs on /sys, devtmpfs on /dev, devpts on /dev/pts, tmpfs on
 * /dev/shm, /run and /tmp, cgroup2 on /sys/fs/cgroup. What is mounted already
 * (the kernel mounts devtmpfs itself with CONFIG_DEVTMPFS_MOUNT) is kept.
 */
void mounts__pseudo(void);

/*
 * matchlock.overlay=1: each lower read-only at a private staging place, the
 * upper (ext4) read-write with upper/ and work/, overlayfs over them with the
 * last lower on top, the pseudo file systems moved into it, then pivot_root.
 * Afterwards "/" is the overlay and the old root is detached.
 */
void mounts__overlay_root(const struct cmdline_config *cfg);

/* matchlock.disk.<dev>=<path>[,ro]: ext4, the mount point created first. */
void mounts__extra_disks(const struct cmdline_config *cfg);

#endif
