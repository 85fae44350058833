// SPDX-License-Identifier: MIT
/* The host side of a virtio-blk disk: the --disk option and the image file, checked and locked. */
#include "devices/virtio/blk_image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int blk_config_parse(const char *arg, struct blk_config *cfg, char *err, size_t errlen)
{
	char *copy = strdup(arg), *opt, *save = NULL;

	*cfg = (struct blk_config){ 0 };
	if (!copy)
		return -ENOMEM;
	opt = strtok_r(copy, ",", &save);
	if (!opt || arg[0] == ',') {
		snprintf(err, errlen, "--disk needs PATH[,ro][,id=NAME], not '%s'", arg);
		goto fail;
	}
	cfg->path = strdup(opt);
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (!strcmp(opt, "ro")) {
			cfg->read_only = true;
		} else if (!strncmp(opt, "id=", 3) && opt[3] && strlen(opt + 3) <= BLK_ID_BYTES) {
			free(cfg->id);
			cfg->id = strdup(opt + 3);
		} else {
			snprintf(err, errlen, "--disk %s: unknown option '%s' (want ro or id=NAME, NAME 1 to %d bytes)",
				 arg, opt, BLK_ID_BYTES);
			goto fail;
		}
	}
	free(copy);
	return 0;
fail:
	free(copy);
	blk_config_free(cfg);
	return -EINVAL;
}

void blk_config_free(struct blk_config *cfg)
{
	free(cfg->path);
	free(cfg->id);
	*cfg = (struct blk_config){ 0 };
}

/*
 * Which fallocate modes the file system takes: try them on an unnamed
 * temporary file in the image's folder (same file system, no effect on the
 * image). Without O_TMPFILE, a hole punched past the end of the image is a
 * harmless probe for PUNCH_HOLE; ZERO_RANGE is then not offered.
 */
static void probe_fallocate(const char *path, struct blk_image *img)
{
	char *dir_copy = strdup(path);
	int tfd = dir_copy ? open(dirname(dir_copy), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
	struct stat st;

	free(dir_copy);
	if (tfd >= 0) {
		img->can_punch = fallocate(tfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
		img->can_zero_range = fallocate(tfd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096) == 0;
		close(tfd);
	} else if (fstat(img->fd, &st) == 0) {
		img->can_punch = fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 (st.st_size + 4095) & ~4095LL, 4096) == 0;
	}
}

static void default_id(struct blk_image *img, const struct blk_config *cfg)
{
	const char *name = cfg->id;
	char *copy = NULL;

	if (!name) {
		copy = strdup(cfg->path);
		name = copy ? basename(copy) : "";
	}
	/* NUL-padded to 20 bytes; a 20-byte id has no terminator (§5.2.6). */
	strncpy(img->id, name, sizeof(img->id));
	free(copy);
}

int blk_image_open(const struct blk_config *cfg, struct blk_image *img)
{
	struct stat st;
	uint64_t size;
	int err;

	*img = (struct blk_image){ .fd = -1 };
	img->fd = open(cfg->path, (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0 || fstat(img->fd, &st) < 0) {
		err = -errno;
		fprintf(stderr, "flashpan: --disk %s: %s\n", cfg->path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(img->fd, BLKGETSIZE64, &size) < 0) {
			err = -errno;
			fprintf(stderr, "flashpan: --disk %s: BLKGETSIZE64: %s\n", cfg->path, strerror(errno));
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		err = -EINVAL;
		fprintf(stderr, "flashpan: --disk %s: not a regular file or block device\n", cfg->path);
		goto fail;
	}
	if (size % BLK_SECTOR_SIZE) {
		err = -EINVAL;
		fprintf(stderr, "flashpan: --disk %s: size %" PRIu64 " is not a multiple of 512 bytes\n",
			cfg->path, size);
		goto fail;
	}
	/* Two VMMs must not write one image; readers share (and keep writers out). */
	if (flock(img->fd, (cfg->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		err = -errno;
		fprintf(stderr, "flashpan: --disk %s: %s\n", cfg->path,
			errno == EWOULDBLOCK ? "in use by another process (locked; is another VMM running on it?)"
					     : strerror(errno));
		goto fail;
	}
	img->capacity = size >> BLK_SECTOR_SHIFT;
	if (!cfg->read_only && S_ISREG(st.st_mode))
		probe_fallocate(cfg->path, img);
	default_id(img, cfg);
	return 0;
fail:
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	return err;
}

