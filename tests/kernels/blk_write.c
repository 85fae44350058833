// SPDX-License-Identifier: MIT
/*
 * blk-write: writes the '[' ']' pattern of blk_common.h to sectors of the
 * first virtio-blk disk, flushes, and reads them back through the device.
 * The test then compares the whole image on the host. Prints:
 *   capacity: <N> sectors
 *   write sector=<s> count=<n> segs=<k> status=<name>    (one per write)
 *   flush status=<name>                 (only if VIRTIO_BLK_F_FLUSH is offered)
 *   readback sector=<s> count=<n>: ok | BAD at sector <s> byte <b> | status <name>
 *   blk-write ok | blk-write BAD: <n> failures
 * Written: sector 0; sector 3; the middle; 16 sectors from 100 in 4
 * descriptors; the last 4 sectors in 2. Nothing else may change.
 */
#include "blk_common.h"

const char kernel_name[] = "blk-write";

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct blk blk;
static uint8_t buf[16 * SECTOR] __attribute__((aligned(4096)));
static int failures;

struct range {
	uint64_t sector;
	uint32_t count, segs;
};

static void write_range(const struct range *r)
{
	int st;

	for (uint32_t i = 0; i < r->count; i++)
		blk_pattern(buf + i * SECTOR, r->sector + i, true);
	st = blk_write(&blk, r->sector, buf, r->count * SECTOR, r->segs);
	kprintf("write sector=%lu count=%u segs=%u status=%s\n", r->sector, r->count, r->segs,
		blk_status_name(st));
	if (st != VIRTIO_BLK_S_OK)
		failures++;
}

static void read_back(const struct range *r)
{
	int st;

	memset(buf, 0, sizeof(buf));
	st = blk_read(&blk, r->sector, buf, r->count * SECTOR, 1);
	if (st != VIRTIO_BLK_S_OK) {
		kprintf("readback sector=%lu count=%u: status %s\n", r->sector, r->count, blk_status_name(st));
		failures++;
		return;
	}
	for (uint32_t i = 0; i < r->count; i++) {
		uint32_t bad = blk_check(buf + i * SECTOR, r->sector + i, true);

		if (bad) {
			kprintf("readback sector=%lu count=%u: BAD at sector %lu byte %u\n", r->sector, r->count,
				r->sector + i, bad - 1);
			failures++;
			return;
		}
	}
	kprintf("readback sector=%lu count=%u: ok\n", r->sector, r->count);
}

void kmain(struct boot_info *bi)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), i;
	uint64_t cap;

	for (i = 0; i < n && devs[i].device_id != VIRTIO_ID_BLOCK; i++)
		;
	if (i == n || blk_open(&blk, &devs[i])) {
		kprintf("blk-write BAD: no usable virtio-blk disk\n");
		return;
	}
	cap = blk.capacity;
	kprintf("capacity: %lu sectors\n", cap);
	if (cap < 256 || blk.ro) {
		kprintf("blk-write BAD: disk too small or read-only\n");
		return;
	}
	const struct range ranges[] = {
		{ 0, 1, 1 }, { 3, 1, 1 }, { cap / 2, 1, 1 }, { 100, 16, 4 }, { cap - 4, 4, 2 },
	};
	const unsigned int nr = sizeof(ranges) / sizeof(ranges[0]);

	for (unsigned int k = 0; k < nr; k++)
		write_range(&ranges[k]);
	if (virtio_has(&devs[i], VIRTIO_BLK_F_FLUSH)) {
		int st = blk_flush(&blk);

		kprintf("flush status=%s\n", blk_status_name(st));
		if (st != VIRTIO_BLK_S_OK)
			failures++;
	} else {
		kprintf("flush: VIRTIO_BLK_F_FLUSH not offered\n");
	}
	for (unsigned int k = 0; k < nr; k++)
		read_back(&ranges[k]);
	if (failures)
		kprintf("blk-write BAD: %d failures\n", failures);
	else
		kprintf("blk-write ok\n");
}
