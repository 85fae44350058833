/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 §5.2) backed by a host file or block device, with
 * its I/O on io_uring.
 *
 * The event loop pops every available chain, queues one io_uring operation
 * per request (readv, writev, fsync with IORING_FSYNC_DATASYNC, fallocate)
 * and submits them in one io_uring_enter. Completions arrive on an eventfd
 * registered with the ring, also on the event loop. No VMM thread ever
 * blocks on disk I/O. Requests carry the device's reset generation: a
 * completion from before a driver reset is dropped, never written to the
 * new rings.
 */
#ifndef FLASHPAN_VIRTIO_BLK_H
#define FLASHPAN_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/virtio/mmio.h"

/* One `--disk PATH[,ro][,id=NAME]`. */
struct blk_config {
	char *path;
	char *id;       /* GET_ID answer; NULL: the file's basename, truncated to 20 bytes */
	bool read_only;
};

struct blk;

/*
 * Parse `PATH[,ro][,id=NAME]` into *cfg (strings are allocated; free with
 * blk_config_free). Returns 0, or -EINVAL with a message in err.
 */
int blk_config_parse(const char *arg, struct blk_config *cfg, char *err, size_t errlen);
void blk_config_free(struct blk_config *cfg);

/*
 * Open and check the disk: exists, size a multiple of 512, flock (exclusive
 * when writable, shared when read-only), what fallocate modes the file
 * supports. Failures are the user's configuration; printed once. 0 or -errno.
 */
int blk_open(const struct blk_config *cfg, struct blk **out);
/* Set up the io_uring and its eventfd on vm's loop, with nr_queues queues. 0 or -errno. */
int blk_start(struct vm *vm, struct blk *b, unsigned int nr_queues);
/* blk_start, then give the device its virtio-mmio window (the next vdX). 0 or -errno. */
int blk_attach(struct vm *vm, struct blk *b, unsigned int nr_queues);
/* The virtio device (for tests that drive it without KVM). */
struct virtio_dev *blk_virtio_dev(struct blk *b);
/* Wait until no request is in flight, completing each. Event-loop thread or after it stopped. */
void blk_drain(struct blk *b);
/* Drain, unregister, close the file and free. NULL is fine. */
void blk_destroy(struct blk *b);

#endif
