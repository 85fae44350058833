// SPDX-License-Identifier: MIT
/*
 * blk-multi: every virtio-blk disk on the command line, in its order. For
 * each, one line
 *   disk <i> vd<letter> id=<GET_ID string> ro=<0|1> sectors=<capacity>
 * then a write of the '[' pattern to sector 1 of each, which a read-only
 * disk must refuse with VIRTIO_BLK_S_IOERR (and keep sector 1 as it was),
 * also when the driver did not accept VIRTIO_BLK_F_RO:
 *   disk <i> write status=<name>
 *   disk <i> write-without-ro-feature status=<name>     (read-only disks)
 *   disk <i> readback: written | unchanged | BAD ...
 * and last "blk-multi ok: <n> disks" or "blk-multi BAD: <n> failures".
 * The test fills every disk with the '<' pattern first.
 */
#include "blk_common.h"

const char kernel_name[] = "blk-multi";

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct blk blks[VIRTIO_MAX_DEVS];
static uint8_t buf[SECTOR] __attribute__((aligned(512)));
static int failures;

static void try_write(struct blk *b, int i, const char *what)
{
	int st;

	blk_pattern(buf, 1, true);
	st = blk_write(b, 1, buf, SECTOR, 1);
	kprintf("disk %d %s status=%s\n", i, what, blk_status_name(st));
	if (st != (b->ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK))
		failures++;
}

void kmain(struct boot_info *bi)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), nr = 0;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	for (int i = 0; i < n; i++) {
		struct blk *b = &blks[nr];
		int st;

		if (devs[i].device_id != VIRTIO_ID_BLOCK) {
			kprintf("device %d: %s (id %u)\n", i, virtio_id_name(devs[i].device_id), devs[i].device_id);
			continue;
		}
		if (blk_open(b, &devs[i])) {
			failures++;
			continue;
		}
		st = blk_get_id(b, id);
		if (st != VIRTIO_BLK_S_OK)
			kprintf("disk %d GET_ID status=%s\n", nr, blk_status_name(st));
		kprintf("disk %d vd%c id=%s ro=%d sectors=%lu\n", nr, 'a' + nr, id, b->ro, b->capacity);
		nr++;
	}
	for (int i = 0; i < nr; i++)
		try_write(&blks[i], i, "write");
	/* A read-only disk must refuse writes whatever the driver negotiated. */
	for (int i = 0; i < nr; i++) {
		struct blk *b = &blks[i];

		if (!b->ro)
			continue;
		if (virtio_dev_begin(b->dev, 1ULL << VIRTIO_BLK_F_FLUSH) || virtq_setup(&b->q, b->dev, 0, BLK_QUEUE_SIZE) ||
		    virtio_dev_ready(b->dev)) {
			kprintf("disk %d: re-initialization without VIRTIO_BLK_F_RO failed (status %x)\n", i,
				virtio_status(b->dev));
			failures++;
			continue;
		}
		try_write(b, i, "write-without-ro-feature");
	}
	for (int i = 0; i < nr; i++) {
		struct blk *b = &blks[i];
		int st;

		memset(buf, 0, SECTOR);
		st = blk_read(b, 1, buf, SECTOR, 1);
		if (st != VIRTIO_BLK_S_OK) {
			kprintf("disk %d readback: BAD status %s\n", i, blk_status_name(st));
			failures++;
		} else if (!blk_check(buf, 1, !b->ro)) {
			kprintf("disk %d readback: %s\n", i, b->ro ? "unchanged" : "written");
		} else {
			kprintf("disk %d readback: BAD (%s)\n", i,
				blk_check(buf, 1, b->ro) ? "neither pattern" : b->ro ? "written" : "unchanged");
			failures++;
		}
	}
	if (failures || !nr)
		kprintf("blk-multi BAD: %d failures, %d disks\n", failures, nr);
	else
		kprintf("blk-multi ok: %d disks\n", nr);
}
