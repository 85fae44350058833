// SPDX-License-Identifier: MIT
/*
 * blk-read: reads the first virtio-blk disk, which the test filled with the
 * pattern of blk_common.h, and checks what came back. Prints:
 *   blk: <n> virtio devices; disk at 0x<base> irq <n>
 *   capacity: <N> sectors
 *   features: 0x<negotiated>
 *   read <what> sector=<s> count=<n> segs=<k>: ok | status <name> | BAD at sector <s> byte <b>
 *   past-end <what>: status <name>             (must be ioerr)
 *   blk-read ok | blk-read BAD: <n> failures
 * Reads: sectors 0, 1, 2, the middle, the last two; 8 sectors around the
 * middle in 3 descriptors; 64 KiB from sector 64 in one descriptor; the last
 * 8 sectors in 8 descriptors. Then one sector at the capacity and two
 * sectors straddling it, which the device must refuse with IOERR.
 * Then InterruptStatus (bit 0 after a completion, 0 after InterruptAck):
 *   interrupt-status: 0x<before ack> 0x<after ack>
 * and, re-initialized with a 64-entry queue, EVENT_IDX and INDIRECT_DESC
 * accepted, 21 reads made available at once with one notification:
 *   batch: <n> requests in flight: ok | BAD ...
 */
#include "blk_common.h"

const char kernel_name[] = "blk-read";

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct blk blk;
static uint8_t buf[64 * 1024] __attribute__((aligned(4096)));
static int failures;

static void read_check(const char *what, uint64_t sector, uint32_t count, unsigned int nseg)
{
	int st;

	if (sector + count > blk.capacity) {
		kprintf("read %s: skipped, disk too small\n", what);
		return;
	}
	memset(buf, 0, count * SECTOR);
	st = blk_read(&blk, sector, buf, count * SECTOR, nseg);
	if (st != VIRTIO_BLK_S_OK) {
		kprintf("read %s sector=%lu count=%u segs=%u: status %s (%d)\n", what, sector, count, nseg,
			blk_status_name(st), st);
		failures++;
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t bad = blk_check(buf + i * SECTOR, sector + i, false);

		if (bad) {
			kprintf("read %s sector=%lu count=%u segs=%u: BAD at sector %lu byte %u: got \"%c%c%c%c%c%c%c%c%c%c%c%c%c%c\"\n",
				what, sector, count, nseg, sector + i, bad - 1, buf[i * SECTOR + 0],
				buf[i * SECTOR + 1], buf[i * SECTOR + 2], buf[i * SECTOR + 3], buf[i * SECTOR + 4],
				buf[i * SECTOR + 5], buf[i * SECTOR + 6], buf[i * SECTOR + 7], buf[i * SECTOR + 8],
				buf[i * SECTOR + 9], buf[i * SECTOR + 10], buf[i * SECTOR + 11],
				buf[i * SECTOR + 12], buf[i * SECTOR + 13]);
			failures++;
			return;
		}
	}
	kprintf("read %s sector=%lu count=%u segs=%u: ok\n", what, sector, count, nseg);
}

static void past_end(const char *what, uint64_t sector, uint32_t count)
{
	int st = blk_read(&blk, sector, buf, count * SECTOR, 1);

	kprintf("past-end %s sector=%lu count=%u: status %s\n", what, sector, count, blk_status_name(st));
	if (st != VIRTIO_BLK_S_IOERR)
		failures++;
}

/* §4.2.2: bit 0 of InterruptStatus says the used ring was updated; InterruptAck clears it. */
static void interrupt_status(void)
{
	uint32_t before, after;

	read_check("for-interrupt", 5, 1, 1);
	before = virtio_read32(blk.dev, VIRTIO_MMIO_INTERRUPT_STATUS);
	virtio_write32(blk.dev, VIRTIO_MMIO_INTERRUPT_ACK, before);
	after = virtio_read32(blk.dev, VIRTIO_MMIO_INTERRUPT_STATUS);
	kprintf("interrupt-status: 0x%x 0x%x\n", before, after);
	if (!(before & 1) || after)
		failures++;
}

#define BATCH 21

/* Many requests in flight: 21 three-descriptor chains, one QueueNotify. */
static void batch(void)
{
	static struct virtio_blk_req_hdr hdrs[BATCH];
	static volatile uint8_t status[BATCH];
	int done = 0, bad = 0;

	blk.qsize = 64;
	blk.extra_features = 1ULL << VIRTIO_F_EVENT_IDX | 1ULL << VIRTIO_F_INDIRECT_DESC;
	if (blk_open(&blk, blk.dev)) {
		kprintf("batch: BAD: re-initialization failed\n");
		failures++;
		return;
	}
	memset(buf, 0, BATCH * SECTOR);
	for (int k = 0; k < BATCH; k++) {
		struct virtq_buf b[] = {
			{ &hdrs[k], sizeof(hdrs[k]) }, { buf + k * SECTOR, SECTOR }, { (void *)&status[k], 1 },
		};

		hdrs[k] = (struct virtio_blk_req_hdr){ .type = VIRTIO_BLK_T_IN, .sector = 7 * k + 3 };
		status[k] = 0xff;
		if (virtq_add(&blk.q, b, 1, 2) < 0)
			bad++;
	}
	virtq_kick(&blk.q);
	while (done < BATCH && virtq_wait(&blk.q, VIRTIO_WAIT_MS) == VIRTQ_WAIT_USED) {
		while (virtq_get_used(&blk.q, NULL) >= 0)
			done++;
	}
	for (int k = 0; k < BATCH; k++)
		if (status[k] != VIRTIO_BLK_S_OK || blk_check(buf + k * SECTOR, 7 * k + 3, false))
			bad++;
	if (done != BATCH || bad) {
		kprintf("batch: BAD: %d of %d completed, %d wrong (features 0x%lx)\n", done, BATCH, bad,
			blk.dev->features);
		failures++;
	} else {
		kprintf("batch: %d requests in flight: ok\n", BATCH);
	}
}

void kmain(struct boot_info *bi)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), i;
	uint64_t cap, mid;

	for (i = 0; i < n && devs[i].device_id != VIRTIO_ID_BLOCK; i++)
		;
	kprintf("blk: %d virtio devices", n);
	if (i == n) {
		kprintf("; no virtio-blk\nblk-read BAD: no disk\n");
		return;
	}
	kprintf("; disk at 0x%lx irq %u\n", devs[i].base, devs[i].irq);
	if (blk_open(&blk, &devs[i])) {
		kprintf("blk-read BAD: cannot open the disk\n");
		return;
	}
	cap = blk.capacity;
	mid = cap / 2;
	kprintf("capacity: %lu sectors\n", cap);
	kprintf("features: 0x%lx seg_max=%u\n", devs[i].features, blk.seg_max);
	if (cap < 16) {
		kprintf("blk-read BAD: disk too small for the test\n");
		return;
	}
	read_check("first", 0, 1, 1);
	read_check("second", 1, 1, 1);
	read_check("third", 2, 1, 1);
	read_check("middle", mid, 1, 1);
	read_check("next-to-last", cap - 2, 1, 1);
	read_check("last", cap - 1, 1, 1);
	read_check("middle-8", mid - 4, 8, 3);
	read_check("64k", 64, 128, 1);
	read_check("last-8", cap - 8, 8, blk.seg_max && blk.seg_max < 8 ? blk.seg_max : 8);
	past_end("at-capacity", cap, 1);
	past_end("straddling", cap - 1, 2);
	interrupt_status();
	batch();
	if (failures)
		kprintf("blk-read BAD: %d failures\n", failures);
	else
		kprintf("blk-read ok\n");
}
