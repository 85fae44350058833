/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk requests (virtio 1.2 §5.2.6): parse and validate one descriptor
 * chain. No I/O happens here, so the parser can be unit-tested and fuzzed on
 * its own.
 *
 * A request is a 16-byte header (le32 type, le32 reserved, le64 sector) in
 * the device-readable buffers, then data (readable for OUT, DISCARD and
 * WRITE_ZEROES; writable for IN and GET_ID), then one status byte: the last
 * device-writable byte. §2.6.4: the device must not assume how the driver
 * split these over descriptors, so the header is gathered across buffers and
 * the status byte may share a buffer with data.
 */
#ifndef FLASHPAN_VIRTIO_BLK_REQ_H
#define FLASHPAN_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/queue.h"

/* Request types (§5.2.6). */
#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Status byte values. */
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Segment flags for DISCARD and WRITE_ZEROES (§5.2.6: struct virtio_blk_discard_write_zeroes). */
#define VIRTIO_BLK_WZ_F_UNMAP 1

#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE  512
#define BLK_ID_BYTES     20 /* GET_ID answer: NUL-padded, not NUL-terminated when 20 long */
#define BLK_MAX_RANGES   8  /* max_discard_seg and max_write_zeroes_seg we offer */
#define BLK_MAX_RANGE_SECTORS (1u << 22) /* 2 GiB per DISCARD/WRITE_ZEROES segment */

/* Returned by blk_req_parse() when there is no status byte to answer in. */
#define BLK_REQ_NO_STATUS (-1)

/* What the device offers; requests are checked against it. */
struct blk_limits {
	uint64_t capacity;      /* in 512-byte sectors */
	bool read_only;
	bool discard;           /* VIRTIO_BLK_F_DISCARD offered */
	bool write_zeroes;      /* VIRTIO_BLK_F_WRITE_ZEROES offered */
};

/* One DISCARD / WRITE_ZEROES segment, copied out of guest memory. */
struct blk_range {
	uint64_t sector;
	uint32_t nr_sectors;
	uint32_t flags;
};

struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;     /* host address of the status byte */
	struct iovec *data;  /* the data buffers: a slice of the chain's iovecs, trimmed */
	uint16_t nr_data;
	uint64_t data_len;   /* bytes in data */
	struct blk_range range[BLK_MAX_RANGES];
	uint16_t nr_ranges;
};

/*
 * Parse chain `c` (as virtq_pop() returned it: readable buffers first). The
 * chain's iovec array is trimmed in place so that r->data covers exactly the
 * data bytes. Returns VIRTIO_BLK_S_OK when the request is to be executed,
 * VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP when it is to be answered at once
 * with that status (r->status is then valid), or BLK_REQ_NO_STATUS when the
 * chain has no writable byte for a status.
 */
int blk_req_parse(struct virtq_chain *c, const struct blk_limits *lim, struct blk_req *r);

/* Copy `len` bytes from `src` into the iovecs; returns the bytes copied. */
size_t blk_iov_from_buf(const struct iovec *iov, unsigned int nr, const void *src, size_t len);
/* Drop the first `n` bytes of an iovec array in place (after a short read or write). */
void blk_iov_advance(struct iovec **iov, uint16_t *nr, uint64_t n);

#endif
