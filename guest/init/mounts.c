// SPDX-License-Identifier: MIT
#include "guest/init/mounts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/init/console.h"
#include "guest/init/fsutil.h"
#include "guest/init/render.h"

/* Where the overlay's parts are mounted before the pivot; gone from view after it. */
#define STAGE "/mnt"
#define STAGE_LOWER STAGE "/lower" /* + index on the command line */
#define STAGE_UPPER STAGE "/upper"
#define STAGE_ROOT STAGE "/root"

struct pseudo_fs {
	const char *source, *target, *type;
	unsigned long flags;
	const char *options;
	mode_t mode; /* of the mount point, when it has to be created */
};

/* Order matters: /dev before /dev/pts, /sys before /sys/fs/cgroup. */
static const struct pseudo_fs pseudo_fs[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555 },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755 },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", 0755 },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755 },
	{ "tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777 },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0755 },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void mounts__pseudo(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pseudo_fs); i++) {
		const struct pseudo_fs *p = &pseudo_fs[i];

		if (fsutil__mkdir_p(p->target, p->mode) < 0)
			console__fatal("mkdir %s: %s", p->target, strerror(errno));
		if (fsutil__is_mountpoint(p->target))
			continue;
		if (mount(p->source, p->target, p->type, p->flags, p->options) < 0 && errno != EBUSY)
			console__fatal("mount %s on %s: %s", p->type, p->target, strerror(errno));
	}
	/* /dev/ptmx must reach this devpts instance (Documentation/filesystems/devpts.rst). */
	if (access("/dev/ptmx", F_OK) < 0 && symlink("pts/ptmx", "/dev/ptmx") < 0)
		console__log("warning: no /dev/ptmx: %s", strerror(errno));
	/* Conveniences that devtmpfs does not provide and programs expect. */
	if (symlink("/proc/self/fd", "/dev/fd") < 0 && errno != EEXIST)
		console__log("warning: /dev/fd: %s", strerror(errno));
}

static void mount_dev(const char *dev, const char *target, const char *type, unsigned long flags,
		      const char *what)
{
	char src[64];

	snprintf(src, sizeof(src), "/dev/%s", dev);
	if (fsutil__mkdir_p(target, 0755) < 0)
		console__fatal("%s: mkdir %s: %s", what, target, strerror(errno));
	if (mount(src, target, type, flags, NULL) < 0)
		console__fatal("%s: mount %s (%s%s) on %s: %s", what, src, type,
			       flags & MS_RDONLY ? ", read-only" : "", target, strerror(errno));
}

/*
 * Moves /dev, /proc, /sys, /run and /tmp (with what is mounted below them)
 * into the new root, so that the agent finds the same mounts after the pivot.
 */
static void move_pseudo_fs(const char *new_root)
{
	static const char *const tops[] = { "/dev", "/proc", "/sys", "/run", "/tmp" };
	char target[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tops); i++) {
		snprintf(target, sizeof(target), "%s%s", new_root, tops[i]);
		if (fsutil__mkdir_p(target, strcmp(tops[i], "/tmp") ? 0755 : 01777) < 0)
			console__fatal("overlay: mkdir %s: %s", target, strerror(errno));
		if (mount(tops[i], target, NULL, MS_MOVE, NULL) < 0)
			console__fatal("overlay: move %s to %s: %s", tops[i], target, strerror(errno));
	}
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one at "/", and
 * the umount of "." then detaches it (pivot_root(2), NOTES): no put_old
 * directory is needed in the overlay. When the old root is the initramfs
 * (rootfs cannot be pivoted), fall back to moving the new root over it and
 * chroot, as switch_root does.
 */
static void pivot_to(const char *new_root)
{
	if (chdir(new_root) < 0)
		console__fatal("overlay: chdir %s: %s", new_root, strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			console__fatal("overlay: detach the old root: %s", strerror(errno));
	} else if (errno == EINVAL) {
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			console__fatal("overlay: switch root to %s: %s", new_root, strerror(errno));
	} else {
		console__fatal("overlay: pivot_root to %s: %s", new_root, strerror(errno));
	}
	if (chdir("/") < 0)
		console__fatal("overlay: chdir /: %s", strerror(errno));
}

void mounts__overlay_root(const struct cmdline_config *cfg)
{
	char path[PATH_MAX], opts[1024];
	size_t i;

	/* MS_MOVE and pivot_root refuse shared mounts; keep everything private. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		console__fatal("overlay: make / private: %s", strerror(errno));
	if (fsutil__mkdir_p(STAGE, 0755) < 0 ||
	    mount("flashpan-overlay", STAGE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0)
		console__fatal("overlay: tmpfs on " STAGE ": %s", strerror(errno));

	for (i = 0; i < cfg->nr_lowers; i++) {
		snprintf(path, sizeof(path), STAGE_LOWER "%zu", i);
		mount_dev(cfg->lower[i], path, cfg->lowerfs[i], MS_RDONLY, "overlay lower");
	}
	mount_dev(cfg->upper, STAGE_UPPER, "ext4", 0, "overlay upper");
	if (fsutil__mkdir_p(STAGE_UPPER "/upper", 0755) < 0 ||
	    fsutil__mkdir_p(STAGE_UPPER "/work", 0755) < 0)
		console__fatal("overlay upper: mkdir upper/ and work/ on /dev/%s: %s", cfg->upper,
			       strerror(errno));

	if (render__overlay_options(cfg, STAGE_LOWER, STAGE_UPPER, opts, sizeof(opts)) < 0)
		console__fatal("overlay: too many lowers for the mount options");
	if (fsutil__mkdir_p(STAGE_ROOT, 0755) < 0 ||
	    mount("overlay", STAGE_ROOT, "overlay", 0, opts) < 0)
		console__fatal("overlay: mount overlay (%s) on " STAGE_ROOT ": %s", opts,
			       strerror(errno));

	move_pseudo_fs(STAGE_ROOT);
	pivot_to(STAGE_ROOT);
}

void mounts__extra_disks(const struct cmdline_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nr_disks; i++) {
		const struct cmdline_disk *d = &cfg->disks[i];

		mount_dev(d->dev, d->path, "ext4", d->ro ? MS_RDONLY : 0, "extra disk");
	}
}
