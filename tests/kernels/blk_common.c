// SPDX-License-Identifier: MIT
/* virtio-blk requests and sector patterns for the blk-* kernels. See blk_common.h. */
#include "blk_common.h"

int blk_open(struct blk *b, struct virtio_dev *d)
{
	uint64_t want = (1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			(1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
			(1ULL << VIRTIO_BLK_F_BLK_SIZE) | b->extra_features;
	int err;

	b->dev = d;
	err = virtio_dev_begin(d, want);
	if (err) {
		kprintf("blk: device at 0x%lx: %s (status %x)\n", d->base,
			err == -1 ? "not a version-2 virtio device" : "FEATURES_OK refused", virtio_status(d));
		return -1;
	}
	b->ro = virtio_has(d, VIRTIO_BLK_F_RO);
	b->seg_max = virtio_has(d, VIRTIO_BLK_F_SEG_MAX) ? virtio_config32(d, VIRTIO_BLK_CFG_SEG_MAX) : 0;
	b->capacity = virtio_config64(d, VIRTIO_BLK_CFG_CAPACITY);
	if (virtq_setup(&b->q, d, 0, b->qsize ? b->qsize : BLK_QUEUE_SIZE)) {
		kprintf("blk: device at 0x%lx: queue 0 setup failed (status %x)\n", d->base, virtio_status(d));
		return -1;
	}
	if (virtio_dev_ready(d)) {
		kprintf("blk: device at 0x%lx: DRIVER_OK not kept (status %x)\n", d->base, virtio_status(d));
		return -1;
	}
	return 0;
}

int blk_request(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len, unsigned int nseg)
{
	struct virtq_buf bufs[BLK_QUEUE_SIZE];
	bool device_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	unsigned int n = 0;
	int head;

	if (nseg > BLK_QUEUE_SIZE - 2)
		return VIRTQ_SUBMIT_FULL;
	b->hdr = (struct virtio_blk_req_hdr){ .type = type, .sector = sector };
	b->status = 0xff;
	bufs[n++] = (struct virtq_buf){ &b->hdr, sizeof(b->hdr) };
	/* Segments of whole sectors where possible, the last one takes the rest. */
	for (unsigned int i = 0; i < nseg; i++) {
		uint32_t per = len / nseg & ~(SECTOR - 1), off = per * i;

		if (!per)
			per = len / nseg;
		bufs[n++] = (struct virtq_buf){ (uint8_t *)buf + off, i + 1 == nseg ? len - off : per };
	}
	bufs[n++] = (struct virtq_buf){ (void *)&b->status, 1 };
	head = device_writes ? virtq_submit(&b->q, bufs, 1, n - 1, NULL, VIRTIO_WAIT_MS)
			     : virtq_submit(&b->q, bufs, n - 1, 1, NULL, VIRTIO_WAIT_MS);
	if (head < 0)
		return head;
	virtio_barrier();
	return b->status;
}

int blk_read(struct blk *b, uint64_t sector, void *buf, uint32_t len, unsigned int nseg)
{
	return blk_request(b, VIRTIO_BLK_T_IN, sector, buf, len, nseg);
}

int blk_write(struct blk *b, uint64_t sector, const void *buf, uint32_t len, unsigned int nseg)
{
	return blk_request(b, VIRTIO_BLK_T_OUT, sector, (void *)buf, len, nseg);
}

int blk_flush(struct blk *b)
{
	return blk_request(b, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, 0);
}

int blk_get_id(struct blk *b, char *id)
{
	int st;

	memset(id, 0, VIRTIO_BLK_ID_BYTES + 1);
	st = blk_request(b, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, 1);
	id[VIRTIO_BLK_ID_BYTES] = 0;
	for (int i = 0; id[i]; i++)
		if (id[i] <= ' ' || id[i] > '~')
			id[i] = '?';
	return st;
}

const char *blk_status_name(int st)
{
	switch (st) {
	case VIRTIO_BLK_S_OK:
		return "ok";
	case VIRTIO_BLK_S_IOERR:
		return "ioerr";
	case VIRTIO_BLK_S_UNSUPP:
		return "unsupp";
	case 0xff:
		return "no-status";
	case VIRTQ_SUBMIT_TIMEOUT:
		return "timeout";
	case VIRTQ_SUBMIT_NEEDS_RESET:
		return "needs-reset";
	case VIRTQ_SUBMIT_FULL:
		return "queue-full";
	default:
		return "bad-status";
	}
}

/* One 16-byte record: "<SSSSSSSSSS.RR>\n". */
static void record(uint8_t *r, uint64_t sector, unsigned int rec, bool w)
{
	r[0] = w ? '[' : '<';
	for (int i = 10; i >= 1; i--, sector /= 10)
		r[i] = '0' + sector % 10;
	r[11] = '.';
	r[12] = '0' + rec / 10;
	r[13] = '0' + rec % 10;
	r[14] = w ? ']' : '>';
	r[15] = '\n';
}

void blk_pattern(uint8_t *buf, uint64_t sector, bool w)
{
	for (unsigned int rec = 0; rec < SECTOR / 16; rec++)
		record(buf + 16 * rec, sector, rec, w);
}

uint32_t blk_check(const uint8_t *buf, uint64_t sector, bool w)
{
	uint8_t r[16];

	for (unsigned int rec = 0; rec < SECTOR / 16; rec++) {
		record(r, sector, rec, w);
		for (unsigned int i = 0; i < 16; i++)
			if (buf[16 * rec + i] != r[i])
				return 1 + 16 * rec + i;
	}
	return 0;
}
