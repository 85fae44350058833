// SPDX-License-Identifier: MIT
/*
 * blk-hostile: breaks the virtio rules on the first virtio-blk disk, one case
 * at a time, and checks after each that the device still serves a good
 * request once reset and re-initialized (virtio 1.2 §2.1.2: a device that
 * finds the driver's data malformed sets DEVICE_NEEDS_RESET).
 *
 * Each case starts from a freshly initialized device and prints
 *   hostile <case>: status=0x<Status> needs_reset=<0|1> used=<0|1> req=<blk status>
 *                   qready=<QueueReady> -> <verdict>; good read after reset ok|BAD
 * where the verdict is what the case expects of the device:
 *   rejected   DEVICE_NEEDS_RESET set, or the request completed with an error
 *              status (never OK), or (ring set-up cases) QueueReady stayed 0
 *   ignored    nothing completed and the device did not act on it
 *   observed   the driver broke a rule whose outcome the spec leaves open;
 *              the line only says what happened
 * and "NOT REJECTED" / "NOT IGNORED" when the device did otherwise. The disk
 * holds the '<' pattern of blk_common.h; each good read checks one sector.
 * Last lines: "blk-hostile: <n> cases, <k> not as expected, <g> good reads
 * failed" and "blk-hostile ok" only when k and g are both 0.
 * Command line: case=<name> runs only that case; repeat=<n> runs them n times.
 */
#include "blk_common.h"

const char kernel_name[] = "blk-hostile";

enum expect { REJECT, IGNORE, OBSERVE };

struct obs {
	uint32_t status; /* device Status after the case */
	bool used;       /* a used entry appeared */
	int req;         /* our status byte (0xff: untouched) */
	int qready;      /* QueueReady of queue 0, -1 if not looked at */
};

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct virtio_dev *dev;
static struct blk blk;
static uint64_t ram_end;
static int nr_cases, nr_unexpected, nr_good_failed;
static uint8_t buf[SECTOR] __attribute__((aligned(4096)));
static struct virtq_desc itab[2048] __attribute__((aligned(16)));
static uint8_t big[4 * 64 * 1024] __attribute__((aligned(4096)));

/* ---- building requests by hand ---- */

#define D(a, l, f, n) ((struct virtq_desc){ .addr = (a), .len = (l), .flags = (f), .next = (n) })
#define R VIRTQ_DESC_F_NEXT
#define W (VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT)
#define WL VIRTQ_DESC_F_WRITE

/* The request header, filled; its address for a descriptor. */
static uintptr_t HDR(uint32_t t, uint64_t s)
{
	blk.hdr = (struct virtio_blk_req_hdr){ .type = t, .sector = s };
	return (uintptr_t)&blk.hdr;
}

static void put_descs(const struct virtq_desc *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		blk.q.desc[i] = d[i];
}

/* Waits for the device's reaction (or `ms`) and records it. */
static void observe(struct obs *o, uint32_t ms)
{
	virtq_wait(&blk.q, ms);
	o->used = blk.q.used->idx != blk.q.last_used;
	virtio_barrier();
	o->req = blk.status;
	o->status = virtio_status(dev);
}

/* Descriptors 0..n-1 as given, head 0 published and notified. */
static void send(struct obs *o, const struct virtq_desc *d, unsigned int n)
{
	blk.status = 0xff;
	put_descs(d, n);
	virtq_publish(&blk.q, 0);
	virtq_kick(&blk.q);
	observe(o, 500);
}

/* A good 3-descriptor IN of sector 0 with the data descriptor replaced. */
static void send_data(struct obs *o, uint64_t addr, uint32_t len)
{
	struct virtq_desc d[] = {
		D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1), D(addr, len, W, 2), D((uintptr_t)&blk.status, 1, WL, 0),
	};

	send(o, d, 3);
}

/* ---- descriptor cases ---- */

static void desc_addr_far(struct obs *o) { send_data(o, 1ULL << 44, SECTOR); }
static void desc_addr_past_ram(struct obs *o) { send_data(o, ram_end, SECTOR); }
static void desc_len_past_ram(struct obs *o) { send_data(o, ram_end - 256, SECTOR); }
static void desc_addr_mmio(struct obs *o) { send_data(o, dev->base, SECTOR); }
static void desc_addr_wraps(struct obs *o) { send_data(o, 0xfffffffffffffe00ULL, 0x400); }
static void desc_len_4g(struct obs *o) { send_data(o, (uintptr_t)buf, 0xffffffffu); }

static void chain_loop(struct obs *o)
{
	struct virtq_desc d[] = {
		D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1), D((uintptr_t)buf, SECTOR, W, 2),
		D((uintptr_t)&blk.status, 1, W, 1),
	};

	send(o, d, 3);
}

/* Every descriptor chained, the last pointing back at the second: longer than the queue. */
static void chain_longer_than_queue(struct obs *o)
{
	struct virtq_desc d[BLK_QUEUE_SIZE];

	d[0] = D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1);
	for (unsigned int i = 1; i < BLK_QUEUE_SIZE; i++)
		d[i] = D((uintptr_t)buf, 32, W, (i + 1) % BLK_QUEUE_SIZE ? i + 1 : 1);
	send(o, d, BLK_QUEUE_SIZE);
}

static void chain_next_out_of_range(struct obs *o)
{
	struct virtq_desc d[] = { D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1), D((uintptr_t)buf, SECTOR, W, 200) };

	send(o, d, 2);
}

static void chain_over_4g(struct obs *o)
{
	struct virtq_desc d[] = {
		D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1), D((uintptr_t)big, 0x80000000u, W, 2),
		D((uintptr_t)big, 0x80000000u, W, 3), D((uintptr_t)&blk.status, 1, WL, 0),
	};

	send(o, d, 4);
}

static void chain_order(struct obs *o)
{
	struct virtq_desc d[] = {
		D(HDR(VIRTIO_BLK_T_OUT, 0), 16, R, 1), D((uintptr_t)&blk.status, 1, W, 2),
		D((uintptr_t)buf, SECTOR, 0, 0),
	};

	send(o, d, 3);
}

static void head_out_of_range(struct obs *o)
{
	blk.status = 0xff;
	virtq_publish(&blk.q, 300);
	virtq_kick(&blk.q);
	observe(o, 500);
}

static void avail_idx_ahead(struct obs *o)
{
	send_data(o, (uintptr_t)buf, SECTOR); /* a good one first, so the queue has run */
	virtq_get_used(&blk.q, NULL);
	blk.q.avail_idx += 1000;
	blk.q.avail->idx = blk.q.avail_idx;
	virtq_kick(&blk.q);
	observe(o, 500);
}

/* The same head published twice while the first is (perhaps) still in flight. */
static void double_publish(struct obs *o)
{
	struct virtq_desc d[] = {
		D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1), D((uintptr_t)big, sizeof(big), W, 2),
		D((uintptr_t)&blk.status, 1, WL, 0),
	};

	blk.status = 0xff;
	put_descs(d, 3);
	virtq_publish(&blk.q, 0);
	virtq_publish(&blk.q, 0);
	virtq_kick(&blk.q);
	observe(o, 500);
}

/* ---- indirect tables (§2.7.5.3) ---- */

static void send_indirect(struct obs *o, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct virtq_desc d[] = { D(addr, len, VIRTQ_DESC_F_INDIRECT | flags, 1), D((uintptr_t)buf, 16, 0, 0) };

	send(o, d, 2);
}

static void indirect_table(void)
{
	itab[0] = D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1);
	itab[1] = D((uintptr_t)buf, SECTOR, W, 2);
	itab[2] = D((uintptr_t)&blk.status, 1, WL, 0);
}

static void indirect_nested(struct obs *o)
{
	indirect_table();
	itab[1] = D((uintptr_t)&itab[0], 3 * 16, VIRTQ_DESC_F_INDIRECT | R, 2);
	send_indirect(o, (uintptr_t)itab, 3 * 16, 0);
}

static void indirect_loop(struct obs *o)
{
	indirect_table();
	itab[2].flags = W;
	itab[2].next = 1;
	send_indirect(o, (uintptr_t)itab, 3 * 16, 0);
}

static void indirect_bad_len(struct obs *o)
{
	indirect_table();
	send_indirect(o, (uintptr_t)itab, 40, 0);
}

static void indirect_with_next(struct obs *o)
{
	indirect_table();
	send_indirect(o, (uintptr_t)itab, 3 * 16, VIRTQ_DESC_F_NEXT);
}

static void indirect_far(struct obs *o)
{
	send_indirect(o, 1ULL << 44, 3 * 16, 0);
}

static void indirect_next_out_of_table(struct obs *o)
{
	indirect_table();
	itab[1].next = 7;
	send_indirect(o, (uintptr_t)itab, 3 * 16, 0);
}

/* 2048 entries: more than any queue this device offers. */
static void indirect_too_long(struct obs *o)
{
	itab[0] = D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1);
	for (unsigned int i = 1; i < 2047; i++)
		itab[i] = D((uintptr_t)buf, 0, W, i + 1);
	itab[2047] = D((uintptr_t)&blk.status, 1, WL, 0);
	send_indirect(o, (uintptr_t)itab, sizeof(itab), 0);
}

/* 34 entries (32 of 16 bytes = one sector): longer than the queue, which Linux does too. */
static void indirect_longer_than_queue(struct obs *o)
{
	itab[0] = D(HDR(VIRTIO_BLK_T_IN, 0), 16, R, 1);
	for (unsigned int i = 1; i <= 32; i++)
		itab[i] = D((uintptr_t)buf + 16 * (i - 1), 16, W, i + 1);
	itab[33] = D((uintptr_t)&blk.status, 1, WL, 0);
	send_indirect(o, (uintptr_t)itab, 34 * 16, 0);
}

/* ---- virtio-blk requests (§5.2.6) ---- */

static void req_no_status(struct obs *o)
{
	struct virtq_desc d[] = { D(HDR(VIRTIO_BLK_T_IN, 0), 16, 0, 0) };

	send(o, d, 1);
}

static void req_short_header(struct obs *o)
{
	struct virtq_desc d[] = { D(HDR(VIRTIO_BLK_T_IN, 0), 8, R, 1), D((uintptr_t)&blk.status, 1, WL, 0) };

	send(o, d, 2);
}

static void send_req(struct obs *o, uint32_t type, uint64_t sector, uint32_t len, uint16_t data_flags)
{
	struct virtq_desc d[] = {
		D(HDR(type, sector), 16, R, 1), D((uintptr_t)big, len, data_flags | R, 2),
		D((uintptr_t)&blk.status, 1, WL, 0),
	};

	send(o, d, 3);
}

static void req_partial_sector(struct obs *o) { send_req(o, VIRTIO_BLK_T_IN, 0, 100, VIRTQ_DESC_F_WRITE); }
static void req_past_end(struct obs *o) { send_req(o, VIRTIO_BLK_T_IN, blk.capacity, SECTOR, VIRTQ_DESC_F_WRITE); }
static void req_sector_wraps(struct obs *o) { send_req(o, VIRTIO_BLK_T_IN, 1ULL << 55, SECTOR, VIRTQ_DESC_F_WRITE); }
static void req_sector_max(struct obs *o) { send_req(o, VIRTIO_BLK_T_IN, ~0ULL, SECTOR, VIRTQ_DESC_F_WRITE); }
static void req_unknown_type(struct obs *o) { send_req(o, 0x55, 0, SECTOR, VIRTQ_DESC_F_WRITE); }
static void req_read_into_readonly(struct obs *o) { send_req(o, VIRTIO_BLK_T_IN, 0, SECTOR, 0); }
static void req_write_past_end(struct obs *o)
{
	send_req(o, VIRTIO_BLK_T_OUT, blk.capacity - 1, 2 * SECTOR, 0);
}

/* ---- ring set-up (§4.2.3.2) ---- */

static void setup_queue(struct obs *o, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	virtio_reset(dev);
	virtio_dev_begin(dev, 0);
	o->qready = (int)virtq_program(&blk.q, num, desc, avail, used);
	virtio_write32(dev, VIRTIO_MMIO_STATUS, virtio_status(dev) | VIRTIO_STATUS_DRIVER_OK);
	/* If the queue did come up, see whether the device uses it. */
	if (o->qready)
		send_data(o, (uintptr_t)buf, SECTOR);
	o->status = virtio_status(dev);
}

static uintptr_t qd(void) { return (uintptr_t)blk.q.desc; }
static uintptr_t qa(void) { return (uintptr_t)blk.q.avail; }
static uintptr_t qu(void) { return (uintptr_t)blk.q.used; }

static void qsize_not_pow2(struct obs *o) { setup_queue(o, 12, qd(), qa(), qu()); }
static void qsize_zero(struct obs *o) { setup_queue(o, 0, qd(), qa(), qu()); }
static void qsize_over_max(struct obs *o)
{
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	setup_queue(o, 2 * virtio_read32(dev, VIRTIO_MMIO_QUEUE_NUM_MAX), qd(), qa(), qu());
}
static void ring_desc_far(struct obs *o) { setup_queue(o, BLK_QUEUE_SIZE, 1ULL << 44, qa(), qu()); }
static void ring_used_past_ram(struct obs *o) { setup_queue(o, BLK_QUEUE_SIZE, qd(), qa(), ram_end - 8); }
static void ring_avail_in_mmio(struct obs *o) { setup_queue(o, BLK_QUEUE_SIZE, qd(), dev->base, qu()); }
static void ring_desc_misaligned(struct obs *o) { setup_queue(o, BLK_QUEUE_SIZE, qd() + 8, qa(), qu()); }

/* ---- order of initialization, registers ---- */

static void notify_before_driver_ok(struct obs *o)
{
	virtio_reset(dev);
	virtio_dev_begin(dev, 0);
	virtq_setup(&blk.q, dev, 0, BLK_QUEUE_SIZE);
	send_data(o, (uintptr_t)buf, SECTOR);
	o->qready = (int)virtio_read32(dev, VIRTIO_MMIO_QUEUE_READY);
}

static void notify_queue_not_ready(struct obs *o)
{
	virtio_reset(dev);
	virtio_dev_begin(dev, 0);
	virtq_init_rings(&blk.q, dev, 0, BLK_QUEUE_SIZE);
	virtio_dev_ready(dev);
	send_data(o, (uintptr_t)buf, SECTOR);
}

static void notify_bad_queue(struct obs *o)
{
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 9);
	virtio_write32(dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff0000u);
	observe(o, 100);
}

/* Features: status must come back without FEATURES_OK (§3.1.1 step 6). */
static void features(struct obs *o, uint32_t lo, uint32_t hi)
{
	virtio_reset(dev);
	virtio_write32(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES, lo);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write32(dev, VIRTIO_MMIO_DRIVER_FEATURES, hi);
	virtio_write32(dev, VIRTIO_MMIO_STATUS, virtio_status(dev) | VIRTIO_STATUS_FEATURES_OK);
	o->status = virtio_status(dev);
	/* Rejected means the device did not keep FEATURES_OK: report it as needs_reset-like. */
	o->qready = -1;
}

static void features_unoffered(struct obs *o) { features(o, 0, 1u | 1u << 18); }
static void features_no_version1(struct obs *o) { features(o, 1u << VIRTIO_BLK_F_FLUSH, 0); }

static void driver_ok_without_features_ok(struct obs *o)
{
	virtio_reset(dev);
	virtio_write32(dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	virtio_write32(dev, VIRTIO_MMIO_STATUS,
		       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	o->status = virtio_status(dev);
}

/* §4.2.2.2: control registers are 32-bit; an 8-bit write of 0 to Status is no reset. */
static void narrow_status_write(struct obs *o)
{
	*(volatile uint8_t *)(dev->base + VIRTIO_MMIO_STATUS) = 0;
	*(volatile uint16_t *)(dev->base + VIRTIO_MMIO_QUEUE_READY) = 0;
	o->status = virtio_status(dev);
	send_data(o, (uintptr_t)buf, SECTOR);
}

/* Config space: writes to read-only fields and reads past its end change nothing. */
static void config_abuse(struct obs *o)
{
	uint64_t cap = virtio_config64(dev, VIRTIO_BLK_CFG_CAPACITY);

	virtio_write32(dev, VIRTIO_MMIO_CONFIG, 0x12345678);
	*(volatile uint64_t *)(dev->base + VIRTIO_MMIO_CONFIG) = 1;
	(void)virtio_read32(dev, 0xffc);
	(void)*(volatile uint64_t *)(dev->base + 0xff8);
	virtio_write32(dev, 0xffc, 1);
	if (virtio_config64(dev, VIRTIO_BLK_CFG_CAPACITY) != cap)
		kprintf("hostile config-abuse: capacity changed to %lu\n",
			virtio_config64(dev, VIRTIO_BLK_CFG_CAPACITY));
	send_data(o, (uintptr_t)buf, SECTOR);
}

/*
 * Reset with reads in flight: after Status reads 0 the device must not touch
 * the old rings or buffers. Counts bytes changed afterwards (0x5a refilled).
 */
static void reset_in_flight(struct obs *o)
{
	static struct virtio_blk_req_hdr hdrs[4];
	uint32_t late = 0;
	uint16_t used_before;

	for (unsigned int i = 0; i < 4; i++) {
		struct virtq_buf b[] = {
			{ &hdrs[i], 16 }, { big + i * 65536, 65536 }, { (void *)&blk.status, 1 },
		};

		hdrs[i] = (struct virtio_blk_req_hdr){ .type = VIRTIO_BLK_T_IN, .sector = 64 + 128 * i };

		virtq_add(&blk.q, b, 1, 2);
	}
	virtq_kick(&blk.q);
	virtio_reset(dev);
	used_before = blk.q.used->idx;
	memset(big, 0x5a, sizeof(big));
	virtio_barrier();
	for (uint64_t dl = virtio_deadline(200); !virtio_expired(dl);)
		cpu_relax();
	for (unsigned int i = 0; i < sizeof(big); i++)
		late += big[i] != 0x5a;
	o->used = blk.q.used->idx != used_before || late;
	o->status = virtio_status(dev);
	kprintf("hostile reset-in-flight: %u bytes written after reset, used idx %s after reset\n", late,
		o->used ? "moved" : "still");
}

/* ---- the harness ---- */

struct hostile_case {
	const char *name;
	void (*run)(struct obs *o);
	enum expect expect;
};

static const struct hostile_case cases[] = {
	{ "desc-addr-far", desc_addr_far, REJECT },
	{ "desc-addr-past-ram", desc_addr_past_ram, REJECT },
	{ "desc-len-past-ram", desc_len_past_ram, REJECT },
	{ "desc-addr-mmio", desc_addr_mmio, REJECT },
	{ "desc-addr-wraps", desc_addr_wraps, REJECT },
	{ "desc-len-4g", desc_len_4g, REJECT },
	{ "chain-loop", chain_loop, REJECT },
	{ "chain-longer-than-queue", chain_longer_than_queue, REJECT },
	{ "chain-next-out-of-range", chain_next_out_of_range, REJECT },
	{ "chain-over-4g", chain_over_4g, REJECT },
	{ "chain-readable-after-writable", chain_order, REJECT },
	{ "head-out-of-range", head_out_of_range, REJECT },
	{ "avail-idx-far-ahead", avail_idx_ahead, REJECT },
	{ "head-published-twice", double_publish, OBSERVE },
	{ "indirect-nested", indirect_nested, REJECT },
	{ "indirect-loop", indirect_loop, REJECT },
	{ "indirect-len-not-16n", indirect_bad_len, REJECT },
	{ "indirect-with-next", indirect_with_next, OBSERVE },
	{ "indirect-table-far", indirect_far, REJECT },
	{ "indirect-next-out-of-table", indirect_next_out_of_table, REJECT },
	{ "indirect-2048-entries", indirect_too_long, REJECT },
	{ "indirect-longer-than-queue", indirect_longer_than_queue, OBSERVE },
	{ "req-no-status", req_no_status, REJECT },
	{ "req-short-header", req_short_header, REJECT },
	{ "req-partial-sector", req_partial_sector, REJECT },
	{ "req-past-end", req_past_end, REJECT },
	{ "req-sector-times-512-wraps", req_sector_wraps, REJECT },
	{ "req-sector-max", req_sector_max, REJECT },
	{ "req-write-past-end", req_write_past_end, REJECT },
	{ "req-unknown-type", req_unknown_type, REJECT },
	{ "req-read-into-readable-buffer", req_read_into_readonly, OBSERVE },
	{ "qsize-not-power-of-2", qsize_not_pow2, REJECT },
	{ "qsize-zero", qsize_zero, REJECT },
	{ "qsize-over-max", qsize_over_max, REJECT },
	{ "ring-desc-far", ring_desc_far, REJECT },
	{ "ring-used-past-ram", ring_used_past_ram, REJECT },
	{ "ring-avail-in-mmio", ring_avail_in_mmio, REJECT },
	{ "ring-desc-misaligned", ring_desc_misaligned, REJECT },
	{ "notify-before-driver-ok", notify_before_driver_ok, IGNORE },
	{ "notify-queue-not-ready", notify_queue_not_ready, IGNORE },
	{ "notify-bad-queue", notify_bad_queue, IGNORE },
	{ "features-unoffered", features_unoffered, REJECT },
	{ "features-no-version-1", features_no_version1, REJECT },
	{ "driver-ok-without-features-ok", driver_ok_without_features_ok, REJECT },
	{ "narrow-register-writes", narrow_status_write, OBSERVE },
	{ "config-abuse", config_abuse, OBSERVE },
	{ "reset-in-flight", reset_in_flight, IGNORE },
};

static bool rejected(const struct hostile_case *c, const struct obs *o)
{
	if (o->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
		return true;
	if (o->used && o->req != VIRTIO_BLK_S_OK)
		return true;
	if (o->qready == 0)
		return true;
	/* Feature and status cases: the device refused to keep the bit that was asked for. */
	if (c->run == features_unoffered || c->run == features_no_version1)
		return !(o->status & VIRTIO_STATUS_FEATURES_OK);
	if (c->run == driver_ok_without_features_ok)
		return !(o->status & VIRTIO_STATUS_DRIVER_OK);
	return false;
}

/* Reset, re-initialize, read one sector and check it. */
static bool good_read(uint64_t sector)
{
	int st;

	if (blk_open(&blk, dev))
		return false;
	memset(buf, 0, SECTOR);
	st = blk_read(&blk, sector, buf, SECTOR, 1);
	if (st != VIRTIO_BLK_S_OK) {
		kprintf("  good read of sector %lu: status %s (device status 0x%x)\n", sector, blk_status_name(st),
			virtio_status(dev));
		return false;
	}
	if (blk_check(buf, sector, false)) {
		kprintf("  good read of sector %lu: wrong data\n", sector);
		return false;
	}
	return true;
}

static void run_case(const struct hostile_case *c, unsigned int k)
{
	struct obs o = { .req = 0xff, .qready = -1 };
	const char *verdict;
	bool ok;

	if (blk_open(&blk, dev)) {
		kprintf("hostile %s: could not initialize the device first\n", c->name);
		nr_unexpected++;
		return;
	}
	c->run(&o);
	switch (c->expect) {
	case REJECT:
		ok = rejected(c, &o);
		verdict = ok ? "rejected" : "NOT REJECTED";
		break;
	case IGNORE:
		ok = !o.used && !(o.status & VIRTIO_STATUS_NEEDS_RESET);
		verdict = ok ? "ignored" : "NOT IGNORED";
		break;
	default:
		ok = true;
		verdict = "observed";
		break;
	}
	nr_unexpected += !ok;
	kprintf("hostile %s: status=0x%x needs_reset=%d used=%d req=%s qready=%d -> %s", c->name, o.status,
		!!(o.status & VIRTIO_STATUS_NEEDS_RESET), o.used, blk_status_name(o.req), o.qready, verdict);
	if (good_read((k * 37 + 5) % blk.capacity)) {
		kprintf("; good read after reset ok\n");
	} else {
		kprintf("; good read after reset BAD\n");
		nr_good_failed++;
	}
}

void kmain(struct boot_info *bi)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), i;
	const char *only = cmdline_value(bi, "case");
	uint64_t repeat = cmdline_uint(bi, "repeat", 1);

	for (int m = 0; m < bi->nr_mem; m++)
		if (bi->mem[m].type == 1 && bi->mem[m].addr + bi->mem[m].size > ram_end &&
		    bi->mem[m].addr + bi->mem[m].size <= (1ULL << 32))
			ram_end = bi->mem[m].addr + bi->mem[m].size;
	for (i = 0; i < n && devs[i].device_id != VIRTIO_ID_BLOCK; i++)
		;
	if (i == n) {
		kprintf("blk-hostile BAD: no virtio-blk disk\n");
		return;
	}
	dev = &devs[i];
	if (!good_read(0)) {
		kprintf("blk-hostile BAD: the first good read failed\n");
		return;
	}
	kprintf("blk-hostile: disk at 0x%lx, %lu sectors, RAM ends at 0x%lx\n", dev->base, blk.capacity, ram_end);
	for (unsigned int k = 0; k < repeat * (sizeof(cases) / sizeof(cases[0])); k++) {
		const struct hostile_case *c = &cases[k % (sizeof(cases) / sizeof(cases[0]))];

		if (only) {
			size_t l = kstrlen(c->name), j;

			for (j = 0; j < l && only[j] == c->name[j]; j++)
				;
			if (j < l || (only[l] && only[l] != ' '))
				continue;
		}
		nr_cases++;
		run_case(c, k);
	}
	virtio_reset(dev);
	kprintf("blk-hostile: %d cases, %d not as expected, %d good reads failed\n", nr_cases, nr_unexpected,
		nr_good_failed);
	if (!nr_unexpected && !nr_good_failed && nr_cases)
		kprintf("blk-hostile ok\n");
}
