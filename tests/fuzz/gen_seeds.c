// SPDX-License-Identifier: MIT
/*
 * Seed corpus for the fuzzers: well-formed inputs they mutate from.
 *   gen_seeds DIR   writes DIR/fuzz_virtq/seed-* and DIR/fuzz_blk_req/seed-*
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "devices/virtio/blk_req.h"

static const char *dir;

static void put(const char *fuzzer, const char *name, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, fuzzer);
	if (mkdir(path, 0755) && errno != EEXIST)
		perror(path);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", dir, fuzzer, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len)
		perror(path);
	if (f)
		fclose(f);
}

/* ---- fuzz_virtq: setup header + guest memory ---- */

struct vq_setup {
	uint16_t size;
	uint8_t flags, iov_cap;
	uint64_t desc_gpa, avail_gpa, used_gpa;
} __attribute__((packed));

static uint8_t vq_seed[sizeof(struct vq_setup) + 0x7000];

static void desc(uint8_t *mem, uint64_t at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(mem + at, &d, sizeof(d));
}

static void seeds_virtq(void)
{
	struct vq_setup s = { .size = 16, .iov_cap = 8, .desc_gpa = 0, .avail_gpa = 0x1000, .used_gpa = 0x2000 };
	uint8_t *mem = vq_seed + sizeof(s);
	uint16_t avail[4] = { 0, 2, 0, 3 };

	/* A direct chain (header, data, status) and an indirect one with the same shape. */
	desc(mem, 0, 0x3000, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(mem, 16, 0x4000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(mem, 32, 0x5000, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(mem, 48, 0x6000, 48, VIRTQ_DESC_F_INDIRECT, 0);
	desc(mem, 0x6000, 0x3000, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(mem, 0x6010, 0x4000, 512, VIRTQ_DESC_F_NEXT, 2);
	desc(mem, 0x6020, 0x5000, 1, VIRTQ_DESC_F_WRITE, 0);
	memcpy(mem + 0x1000, avail, sizeof(avail));
	memcpy(vq_seed, &s, sizeof(s));
	put("fuzz_virtq", "two-chains", vq_seed, sizeof(vq_seed));
	s.flags = 1; /* EVENT_IDX */
	memcpy(vq_seed, &s, sizeof(s));
	put("fuzz_virtq", "event-idx", vq_seed, sizeof(vq_seed));
}

/* ---- fuzz_blk_req: limits, buffer list, bytes ---- */

struct br_limits {
	uint64_t capacity;
	uint8_t flags, nr_bufs;
	uint16_t advance;
} __attribute__((packed));

struct br_buf {
	uint16_t len;
	uint8_t writable;
} __attribute__((packed));

static void blk_seed(const char *name, uint32_t type, uint64_t sector, const void *payload, uint16_t payload_len,
		     bool payload_writable, uint8_t flags)
{
	uint8_t buf[1024], *p = buf;
	struct br_limits l = { .capacity = 2048, .flags = flags, .nr_bufs = payload_len ? 3 : 2, .advance = 512 };
	struct br_buf hdr = { 16, 0 }, data = { payload_len, payload_writable }, st = { 1, 1 };
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	memcpy(p, &l, sizeof(l)), p += sizeof(l);
	memcpy(p, &hdr, sizeof(hdr)), p += sizeof(hdr);
	if (payload_len)
		memcpy(p, &data, sizeof(data)), p += sizeof(data);
	memcpy(p, &st, sizeof(st)), p += sizeof(st);
	memcpy(p, h, 16), p += 16;
	if (payload && !payload_writable)
		memcpy(p, payload, payload_len), p += payload_len;
	put("fuzz_blk_req", name, buf, (size_t)(p - buf));
}

static void seeds_blk_req(void)
{
	uint64_t ranges[4] = { 8, 16, 100, 1u << 0 | 8ULL << 32 };
	uint8_t sector[512] = { 0 };

	blk_seed("in", VIRTIO_BLK_T_IN, 4, NULL, 1024, true, 0);
	blk_seed("out", VIRTIO_BLK_T_OUT, 4, sector, 512, false, 0);
	blk_seed("out-ro", VIRTIO_BLK_T_OUT, 4, sector, 512, false, 1);
	blk_seed("flush", VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false, 0);
	blk_seed("get-id", VIRTIO_BLK_T_GET_ID, 0, NULL, 20, true, 0);
	blk_seed("discard", VIRTIO_BLK_T_DISCARD, 0, ranges, 16, false, 6);
	blk_seed("write-zeroes", VIRTIO_BLK_T_WRITE_ZEROES, 0, ranges, 32, false, 6);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	seeds_virtq();
	seeds_blk_req();
	return 0;
}
