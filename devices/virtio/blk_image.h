/* SPDX-License-Identifier: MIT */
/* The host side of a virtio-blk disk: the image file behind one --disk option. */
#ifndef FLASHPAN_VIRTIO_BLK_IMAGE_H
#define FLASHPAN_VIRTIO_BLK_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_req.h"

struct blk_image {
	int fd;
	uint64_t capacity;        /* in 512-byte sectors */
	bool can_punch;           /* FALLOC_FL_PUNCH_HOLE works: DISCARD can be offered */
	bool can_zero_range;      /* FALLOC_FL_ZERO_RANGE works: WRITE_ZEROES can be offered */
	char id[BLK_ID_BYTES];    /* the GET_ID answer */
};

/*
 * Open and check the image: it exists, is a regular file or block device,
 * its size is a multiple of 512, it is locked (exclusive when writable,
 * shared when read-only), and which fallocate modes its file system takes.
 * Failures are the user's configuration: printed once, -errno returned.
 */
int blk_image_open(const struct blk_config *cfg, struct blk_image *img);

#endif
