// SPDX-License-Identifier: MIT
/*
 * virtio-blk as a driver sees it, without KVM: requests are laid out in a
 * guest_mem as descriptor chains, the device is notified as the event loop
 * would, and its io_uring completions are drained. Plus the request parser on
 * hand-made chains and the --disk option.
 */
#include <endian.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/blk.h"
#include "devices/virtio/blk_req.h"

#define QSIZE     16
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define HDR_GPA   0x10000 /* one 16-byte header per descriptor head */
#define STAT_GPA  0x11000 /* one status byte per head */
#define DATA_GPA  0x20000 /* 64 KiB of data per head */
#define DISK_SECTORS 2048 /* 1 MiB */

#define F_RO           5
#define F_MQ           12
#define F_DISCARD      13
#define F_WRITE_ZEROES 14

struct rig {
	char path[64];
	struct vm vm;
	struct blk *blk;
	struct virtio_dev *d;
	uint16_t avail_idx, next_head;
};

static uint8_t *gpa(struct rig *t, uint64_t a)
{
	return guest_mem_ptr(&t->vm.mem, a, 1);
}

/* Sector s of the disk holds bytes (s + i) & 0xff. */
static uint8_t pattern(uint64_t s, unsigned int i)
{
	return (uint8_t)(s + i);
}

static struct rig *rig_new(const char *opts, unsigned int nr_queues)
{
	struct rig *t = calloc(1, sizeof(*t));
	struct blk_config cfg;
	char arg[128], err[128];
	uint8_t sector[512];
	int fd;

	strcpy(t->path, "/tmp/flashpan-test-blk.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	for (uint64_t s = 0; s < DISK_SECTORS; s++) {
		for (unsigned int i = 0; i < 512; i++)
			sector[i] = pattern(s, i);
		assert_int_equal(write(fd, sector, 512), 512);
	}
	close(fd);
	snprintf(arg, sizeof(arg), "%s%s", t->path, opts);
	assert_int_equal(blk_config_parse(arg, &cfg, err, sizeof(err)), 0);
	assert_int_equal(guest_mem_init(&t->vm.mem, 2 << 20, false), 0);
	assert_int_equal(loop_init(&t->vm.loop), 0);
	assert_int_equal(blk_open(&cfg, &t->blk), 0);
	blk_config_free(&cfg);
	assert_int_equal(blk_start(&t->vm, t->blk, nr_queues), 0);
	t->d = blk_virtio_dev(t->blk);
	/* What the transport does when the driver sets the rings up and DRIVER_OK. */
	t->d->driver_features = t->d->ops->features | (1ULL << 32);
	t->d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK;
	t->d->vq[0] = (struct virtq){ .size = QSIZE, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA,
				      .used_gpa = USED_GPA };
	assert_int_equal(virtq_activate(&t->d->vq[0], &t->vm.mem, false), VIRTQ_OK);
	return t;
}

static void rig_free(struct rig *t)
{
	blk_destroy(t->blk);
	loop_free(&t->vm.loop);
	guest_mem_free(&t->vm.mem);
	unlink(t->path);
	free(t);
}

static void set_desc(struct rig *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(gpa(t, DESC_GPA + 16 * i), &d, sizeof(d));
}

/*
 * Make a header + data + status chain available; returns its head. data_flags
 * is VIRTQ_DESC_F_WRITE for a device-writable data buffer; data_len 0: none.
 */
static uint16_t submit(struct rig *t, uint32_t type, uint64_t sector, uint32_t data_len, uint16_t data_flags)
{
	uint16_t head = t->next_head, i = head;
	uint16_t *avail = (uint16_t *)gpa(t, AVAIL_GPA);
	uint32_t le_type = htole32(type);
	uint64_t le_sector = htole64(sector);

	t->next_head = (uint16_t)((t->next_head + 3) % (QSIZE - 2));
	memset(gpa(t, HDR_GPA + 16 * head), 0, 16);
	memcpy(gpa(t, HDR_GPA + 16 * head), &le_type, 4);
	memcpy(gpa(t, HDR_GPA + 16 * head + 8), &le_sector, 8);
	*gpa(t, STAT_GPA + head) = 0xee;
	set_desc(t, i, HDR_GPA + 16 * head, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	if (data_len) {
		i++;
		set_desc(t, i, DATA_GPA + 0x10000ULL * head, data_len, VIRTQ_DESC_F_NEXT | data_flags,
			 (uint16_t)(i + 1));
	}
	i++;
	set_desc(t, i, STAT_GPA + head, 1, VIRTQ_DESC_F_WRITE, 0);
	avail[2 + t->avail_idx % QSIZE] = head;
	__atomic_store_n(&avail[1], ++t->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* Notify queue 0 as the event loop does, then wait for every completion. */
static void run(struct rig *t)
{
	pthread_mutex_lock(&t->d->lock);
	t->d->ops->notify(t->d, 0);
	pthread_mutex_unlock(&t->d->lock);
	blk_drain(t->blk);
}

static uint16_t used_idx(struct rig *t)
{
	return ((uint16_t *)gpa(t, USED_GPA))[1];
}

/* The used element for `head`: its length; fails the test if head was not returned. */
static uint32_t used_len(struct rig *t, uint16_t head)
{
	uint32_t *ring = (uint32_t *)gpa(t, USED_GPA + 4);

	for (uint16_t i = 0; i < used_idx(t); i++) {
		if (ring[2 * (i % QSIZE)] == head)
			return ring[2 * (i % QSIZE) + 1];
	}
	fail_msg("head %u not in the used ring", head);
	return 0;
}

static uint8_t status_of(struct rig *t, uint16_t head)
{
	return *gpa(t, STAT_GPA + head);
}

static uint8_t *data_of(struct rig *t, uint16_t head)
{
	return gpa(t, DATA_GPA + 0x10000ULL * head);
}

static void test_read_known_sectors(void **state)
{
	struct rig *t = rig_new("", 1);
	uint16_t a = submit(t, VIRTIO_BLK_T_IN, 5, 4096, VIRTQ_DESC_F_WRITE);
	uint16_t b = submit(t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, VIRTQ_DESC_F_WRITE);

	run(t);
	assert_int_equal(used_idx(t), 2);
	assert_int_equal(status_of(t, a), VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(t, a), 4096 + 1);
	for (unsigned int i = 0; i < 4096; i++)
		assert_int_equal(data_of(t, a)[i], pattern(5 + i / 512, i % 512));
	assert_int_equal(status_of(t, b), VIRTIO_BLK_S_OK);
	assert_int_equal(data_of(t, b)[7], pattern(DISK_SECTORS - 1, 7));
	rig_free(t);
}

static void test_write_flush_reaches_file(void **state)
{
	struct rig *t = rig_new("", 1);
	uint16_t w, f;
	uint8_t back[1024];
	int fd;

	memset(data_of(t, 0), 0x5a, 1024);
	w = submit(t, VIRTIO_BLK_T_OUT, 100, 1024, 0);
	run(t);
	f = submit(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	run(t);
	assert_int_equal(status_of(t, w), VIRTIO_BLK_S_OK);
	assert_int_equal(used_len(t, w), 1);
	assert_int_equal(status_of(t, f), VIRTIO_BLK_S_OK);
	fd = open(t->path, O_RDONLY);
	assert_int_equal(pread(fd, back, sizeof(back), 100 * 512), sizeof(back));
	close(fd);
	for (unsigned int i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], 0x5a);
	rig_free(t);
}

static void test_get_id(void **state)
{
	struct rig *t = rig_new(",id=serial-42", 1);
	uint16_t h = submit(t, VIRTIO_BLK_T_GET_ID, 0, 20, VIRTQ_DESC_F_WRITE);

	memset(data_of(t, h), 0xff, 20);
	run(t);
	assert_int_equal(status_of(t, h), VIRTIO_BLK_S_OK);
	assert_memory_equal(data_of(t, h), "serial-42\0\0\0\0\0\0\0\0\0\0\0", 20);
	rig_free(t);

	/* Default: the file name, truncated to 20 bytes. */
	t = rig_new("", 1);
	h = submit(t, VIRTIO_BLK_T_GET_ID, 0, 20, VIRTQ_DESC_F_WRITE);
	run(t);
	assert_memory_equal(data_of(t, h), "flashpan-test-blk.", 18);
	rig_free(t);
}

static void test_bad_requests_get_ioerr(void **state)
{
	struct rig *t = rig_new("", 1);
	uint16_t past_end = submit(t, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, VIRTQ_DESC_F_WRITE);
	uint16_t straddle = submit(t, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, VIRTQ_DESC_F_WRITE);
	uint16_t overflow = submit(t, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 1024, 0);

	run(t);
	assert_int_equal(status_of(t, past_end), VIRTIO_BLK_S_IOERR);
	assert_int_equal(status_of(t, straddle), VIRTIO_BLK_S_IOERR);
	assert_int_equal(status_of(t, overflow), VIRTIO_BLK_S_IOERR);

	uint16_t odd = submit(t, VIRTIO_BLK_T_IN, 0, 100, VIRTQ_DESC_F_WRITE);
	uint16_t in_readable = submit(t, VIRTIO_BLK_T_IN, 0, 512, 0);
	uint16_t out_writable = submit(t, VIRTIO_BLK_T_OUT, 0, 512, VIRTQ_DESC_F_WRITE);
	uint16_t flush_data = submit(t, VIRTIO_BLK_T_FLUSH, 0, 512, 0);
	run(t);
	assert_int_equal(status_of(t, odd), VIRTIO_BLK_S_IOERR);
	assert_int_equal(status_of(t, in_readable), VIRTIO_BLK_S_IOERR);
	assert_int_equal(status_of(t, out_writable), VIRTIO_BLK_S_IOERR);
	assert_int_equal(status_of(t, flush_data), VIRTIO_BLK_S_IOERR);

	uint16_t unknown = submit(t, 42, 0, 0, 0);
	run(t);
	assert_int_equal(status_of(t, unknown), VIRTIO_BLK_S_UNSUPP);
	/* The device goes on: a good request after all that works. */
	uint16_t good = submit(t, VIRTIO_BLK_T_IN, 3, 512, VIRTQ_DESC_F_WRITE);
	run(t);
	assert_int_equal(status_of(t, good), VIRTIO_BLK_S_OK);
	assert_int_equal(data_of(t, good)[0], pattern(3, 0));
	assert_true(virtio_running(t->d));
	rig_free(t);
}

static void test_read_only_refuses_writes(void **state)
{
	struct rig *t = rig_new(",ro", 1);
	uint16_t w;
	uint8_t back[512];
	int fd;

	assert_true(t->d->ops->features & (1ULL << F_RO));
	assert_false(t->d->ops->features & (1ULL << F_DISCARD));
	assert_false(t->d->ops->features & (1ULL << F_WRITE_ZEROES));
	memset(data_of(t, 0), 0x11, 512);
	w = submit(t, VIRTIO_BLK_T_OUT, 0, 512, 0);
	run(t);
	assert_int_equal(status_of(t, w), VIRTIO_BLK_S_IOERR);
	fd = open(t->path, O_RDONLY);
	assert_int_equal(pread(fd, back, 512, 0), 512);
	close(fd);
	assert_int_equal(back[1], pattern(0, 1));
	rig_free(t);
}

/* The image shrank under us: a read past the new end fails alone, after a short read. */
static void test_short_read_then_eof_is_ioerr_for_that_request_only(void **state)
{
	struct rig *t = rig_new("", 1);
	uint16_t straddle, good;

	assert_int_equal(truncate(t->path, 1000 * 512 + 256), 0);
	straddle = submit(t, VIRTIO_BLK_T_IN, 999, 1024, VIRTQ_DESC_F_WRITE);
	good = submit(t, VIRTIO_BLK_T_IN, 10, 512, VIRTQ_DESC_F_WRITE);
	run(t);
	assert_int_equal(status_of(t, straddle), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_len(t, straddle), 512 + 256 + 1); /* what was read, and the status */
	assert_int_equal(data_of(t, straddle)[600], pattern(1000, 600 - 512));
	assert_int_equal(status_of(t, good), VIRTIO_BLK_S_OK);
	assert_int_equal(data_of(t, good)[1], pattern(10, 1));
	rig_free(t);
}

static void test_reset_drops_in_flight(void **state)
{
	struct rig *t = rig_new("", 1);

	submit(t, VIRTIO_BLK_T_IN, 0, 65536, VIRTQ_DESC_F_WRITE);
	submit(t, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	pthread_mutex_lock(&t->d->lock);
	t->d->ops->notify(t->d, 0);
	/* What the transport does on a status write of 0, while both are in flight. */
	t->d->ops->reset(t->d);
	virtq_reset(&t->d->vq[0]);
	pthread_mutex_unlock(&t->d->lock);
	blk_drain(t->blk);
	assert_int_equal(used_idx(t), 0);
	assert_int_equal(status_of(t, 0), 0xee);
	rig_free(t);
}

static void test_chain_without_status_fails_device(void **state)
{
	struct rig *t = rig_new("", 1);
	uint16_t *avail = (uint16_t *)gpa(t, AVAIL_GPA);

	set_desc(t, 0, HDR_GPA, 16, 0, 0); /* a header and nothing writable */
	avail[2] = 0;
	avail[1] = ++t->avail_idx;
	run(t);
	assert_true(t->d->status & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(used_idx(t), 0);
	rig_free(t);
}

static void test_write_zeroes_and_discard(void **state)
{
	struct rig *t = rig_new("", 1);
	struct { uint64_t sector; uint32_t n, flags; } seg = { htole64(8), htole32(16), 0 };
	uint16_t h;

	if (!(t->d->ops->features & (1ULL << F_WRITE_ZEROES))) {
		rig_free(t);
		skip();
	}
	memcpy(data_of(t, 0), &seg, sizeof(seg));
	h = submit(t, VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(seg), 0);
	run(t);
	assert_int_equal(status_of(t, h), VIRTIO_BLK_S_OK);
	h = submit(t, VIRTIO_BLK_T_IN, 8, 8192, VIRTQ_DESC_F_WRITE);
	run(t);
	for (unsigned int i = 0; i < 8192; i++)
		assert_int_equal(data_of(t, h)[i], 0);
	/* DISCARD with the UNMAP flag set is unsupported (§5.2.6.2). */
	seg.flags = htole32(VIRTIO_BLK_WZ_F_UNMAP);
	h = submit(t, VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), 0);
	memcpy(data_of(t, h), &seg, sizeof(seg));
	run(t);
	assert_int_equal(status_of(t, h), VIRTIO_BLK_S_UNSUPP);
	rig_free(t);
}

static void test_multi_queue_config(void **state)
{
	struct rig *t = rig_new("", 4);
	uint16_t nq = 0;
	uint64_t cap = 0;

	assert_true(t->d->ops->features & (1ULL << F_MQ));
	assert_int_equal(t->d->ops->nr_queues, 4);
	t->d->ops->config_read(t->d, 34, (uint8_t *)&nq, 2);
	t->d->ops->config_read(t->d, 0, (uint8_t *)&cap, 8);
	assert_int_equal(le16toh(nq), 4);
	assert_int_equal(le64toh(cap), DISK_SECTORS);
	rig_free(t);
}

/* The parser on hand-made chains: framing is the driver's choice (§2.6.4). */
static void test_parse_header_split_and_status_in_data_buffer(void **state)
{
	uint8_t hdr[16] = { VIRTIO_BLK_T_IN, 0, 0, 0, 0, 0, 0, 0, 2 }, data[1025];
	struct iovec iov[3] = { { hdr, 5 }, { hdr + 5, 11 }, { data, sizeof(data) } };
	struct virtq_chain c = { .nr_out = 2, .nr_in = 1, .out_len = 16, .in_len = sizeof(data), .iov = iov,
				 .iov_cap = 3 };
	struct blk_limits lim = { .capacity = 8 };
	struct blk_req r;

	assert_int_equal(blk_req_parse(&c, &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.type, VIRTIO_BLK_T_IN);
	assert_int_equal(r.sector, 2);
	assert_int_equal(r.data_len, 1024);
	assert_ptr_equal(r.status, &data[1024]);
	assert_int_equal(r.nr_data, 1);
	assert_int_equal(r.data[0].iov_len, 1024);
}

static void test_parse_short_header_and_no_status(void **state)
{
	uint8_t hdr[16] = { 0 }, st;
	struct iovec iov[2] = { { hdr, 15 }, { &st, 1 } };
	struct virtq_chain c = { .nr_out = 1, .nr_in = 1, .out_len = 15, .in_len = 1, .iov = iov, .iov_cap = 2 };
	struct blk_limits lim = { .capacity = 8 };
	struct blk_req r;

	assert_int_equal(blk_req_parse(&c, &lim, &r), VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(r.status, &st);
	c = (struct virtq_chain){ .nr_out = 1, .out_len = 16, .iov = iov, .iov_cap = 2 };
	iov[0].iov_len = 16;
	assert_int_equal(blk_req_parse(&c, &lim, &r), BLK_REQ_NO_STATUS);
}

static void test_parse_discard_ranges(void **state)
{
	uint8_t hdr[16] = { VIRTIO_BLK_T_DISCARD }, st;
	uint64_t seg[2 * (BLK_MAX_RANGES + 1)] = { 0 };
	struct iovec iov[3];
	struct virtq_chain c;
	struct blk_limits lim = { .capacity = 100, .discard = true };
	struct blk_req r;
	/* The parser trims the chain in place: lay it out afresh for each try. */
#define CHAIN(seg_bytes)                                                                              \
	(iov[0] = (struct iovec){ hdr, 16 }, iov[1] = (struct iovec){ seg, seg_bytes },              \
	 iov[2] = (struct iovec){ &st, 1 },                                                          \
	 c = (struct virtq_chain){ .nr_out = 2, .nr_in = 1, .out_len = 16 + (seg_bytes), .in_len = 1, \
				   .iov = iov, .iov_cap = 3 },                                        \
	 &c)

	seg[0] = 10, seg[1] = 5;   /* sectors 10..14 */
	seg[2] = 90, seg[3] = 10;  /* 90..99: the last sectors */
	assert_int_equal(blk_req_parse(CHAIN(32), &lim, &r), VIRTIO_BLK_S_OK);
	assert_int_equal(r.nr_ranges, 2);
	assert_int_equal(r.range[1].sector, 90);
	seg[3] = 11;               /* one past the end */
	assert_int_equal(blk_req_parse(CHAIN(32), &lim, &r), VIRTIO_BLK_S_IOERR);
	seg[3] = 10;
	assert_int_equal(blk_req_parse(CHAIN(24), &lim, &r), VIRTIO_BLK_S_IOERR); /* not whole segments */
	lim.read_only = true;      /* never offered on a read-only disk, refused anyway */
	assert_int_equal(blk_req_parse(CHAIN(32), &lim, &r), VIRTIO_BLK_S_IOERR);
	lim.read_only = false, lim.discard = false;
	assert_int_equal(blk_req_parse(CHAIN(32), &lim, &r), VIRTIO_BLK_S_UNSUPP);
	lim.discard = true;
	assert_int_equal(blk_req_parse(CHAIN(sizeof(seg)), &lim, &r), VIRTIO_BLK_S_IOERR); /* too many */
#undef CHAIN
}

static void test_disk_option(void **state)
{
	struct blk_config cfg;
	char err[200];

	assert_int_equal(blk_config_parse("a.img,ro,id=root", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, "a.img");
	assert_true(cfg.read_only);
	assert_string_equal(cfg.id, "root");
	blk_config_free(&cfg);
	assert_int_equal(blk_config_parse("b.img", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.read_only);
	assert_null(cfg.id);
	blk_config_free(&cfg);
	assert_int_not_equal(blk_config_parse("", &cfg, err, sizeof(err)), 0);
	assert_int_not_equal(blk_config_parse("c.img,rw", &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "'rw'"));
	assert_int_not_equal(blk_config_parse("c.img,id=", &cfg, err, sizeof(err)), 0);
	assert_int_not_equal(blk_config_parse("c.img,id=123456789012345678901", &cfg, err, sizeof(err)), 0);
}

static void test_open_refuses_odd_size_and_second_writer(void **state)
{
	char path[] = "/tmp/flashpan-test-blk.XXXXXX";
	struct blk_config cfg = { .path = path };
	struct blk *a, *b;
	int fd = mkstemp(path);

	assert_int_equal(ftruncate(fd, 1000), 0);
	assert_int_not_equal(blk_open(&cfg, &a), 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(blk_open(&cfg, &a), 0);
	assert_int_not_equal(blk_open(&cfg, &b), 0); /* locked by a */
	blk_destroy(a);
	assert_int_equal(blk_open(&cfg, &b), 0);
	blk_destroy(b);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_known_sectors),
		cmocka_unit_test(test_write_flush_reaches_file),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_bad_requests_get_ioerr),
		cmocka_unit_test(test_read_only_refuses_writes),
		cmocka_unit_test(test_short_read_then_eof_is_ioerr_for_that_request_only),
		cmocka_unit_test(test_reset_drops_in_flight),
		cmocka_unit_test(test_chain_without_status_fails_device),
		cmocka_unit_test(test_write_zeroes_and_discard),
		cmocka_unit_test(test_multi_queue_config),
		cmocka_unit_test(test_parse_header_split_and_status_in_data_buffer),
		cmocka_unit_test(test_parse_short_header_and_no_status),
		cmocka_unit_test(test_parse_discard_ranges),
		cmocka_unit_test(test_disk_option),
		cmocka_unit_test(test_open_refuses_odd_size_and_second_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
