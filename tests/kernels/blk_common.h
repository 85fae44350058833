/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk requests for the blk-* test kernels (virtio 1.2 §5.2), on the
 * polling driver of virtio.h, and the sector patterns the test script writes
 * into its disk images.
 *
 * Pattern: sector S is 32 records of 16 bytes, record R (0..31) being
 * "<SSSSSSSSSS.RR>\n" (S in 10 decimal digits, R in 2). Sectors the kernels
 * write use '[' and ']' instead of '<' and '>'. tests/virtio-blk.t.sh builds
 * the same bytes with awk.
 */
#ifndef TK_BLK_COMMON_H
#define TK_BLK_COMMON_H

#include "virtio.h"

#define SECTOR 512

/* Request types and status (§5.2.6). */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

/* Feature bits (§5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* Configuration layout (§5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0
#define VIRTIO_BLK_CFG_SIZE_MAX 8
#define VIRTIO_BLK_CFG_SEG_MAX  12
#define VIRTIO_BLK_CFG_BLK_SIZE 20

#define BLK_QUEUE_SIZE 16

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk {
	struct virtio_dev *dev;
	struct virtq q;
	uint64_t capacity; /* 512-byte sectors */
	uint32_t seg_max;  /* 0: not offered */
	bool ro;           /* VIRTIO_BLK_F_RO offered */
	uint16_t qsize;    /* queue size to ask for; 0: BLK_QUEUE_SIZE */
	uint64_t extra_features; /* also accepted if offered (e.g. EVENT_IDX) */
	struct virtio_blk_req_hdr hdr;
	volatile uint8_t status;
};

/* Negotiates (RO, FLUSH, SEG_MAX, SIZE_MAX, BLK_SIZE if offered), queue 0, DRIVER_OK. 0 or -1. */
int blk_open(struct blk *b, struct virtio_dev *d);
/*
 * One request with `len` bytes of data at `buf` split into `nseg` descriptors
 * (0 for none). Returns the status byte the device wrote (0xff if none), or a
 * negative VIRTQ_SUBMIT_* value.
 */
int blk_request(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len, unsigned int nseg);
int blk_read(struct blk *b, uint64_t sector, void *buf, uint32_t len, unsigned int nseg);
int blk_write(struct blk *b, uint64_t sector, const void *buf, uint32_t len, unsigned int nseg);
int blk_flush(struct blk *b);
/* GET_ID into id[21], NUL-terminated. Returns the status like blk_request. */
int blk_get_id(struct blk *b, char *id);
/* "ok", "ioerr", "unsupp", "no-status", "timeout", "needs-reset", ... */
const char *blk_status_name(int st);

/* Fills / checks sector `sector`'s 512 bytes; `w` selects the '[' ']' variant. */
void blk_pattern(uint8_t *buf, uint64_t sector, bool w);
/* 0 if it matches, else 1 + the offset of the first bad byte. */
uint32_t blk_check(const uint8_t *buf, uint64_t sector, bool w);

#endif
