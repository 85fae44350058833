// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the virtio-blk request parser (devices/virtio/blk_req.c).
 *
 * Input: disk limits, then a list of buffers (length, device-writable flag),
 * then their bytes. Each buffer is its own heap block, so AddressSanitizer
 * sees any access past one. The chain is ordered as virtq_pop() delivers it
 * (readable buffers first); the harness then checks what the parser promises:
 * the status byte is the last writable byte, the data slice lies inside the
 * chain's buffers in the right direction and adds up, sectors stay inside
 * the capacity; and it performs what the device would do with the buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/blk_req.h"

#define MAX_BUFS 32

struct fuzz_limits {
	uint64_t capacity;
	uint8_t flags;   /* bit 0 read-only, 1 discard, 2 write zeroes */
	uint8_t nr_bufs;
	uint16_t advance; /* a short transfer of this many bytes, after parsing */
} __attribute__((packed));

struct fuzz_buf {
	uint16_t len;
	uint8_t writable;
} __attribute__((packed));

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* Index of the buffer holding [p, p + len), or -1. */
static int owner(struct iovec *bufs, int n, const void *p, size_t len)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *b = bufs[i].iov_base;

		if (b && (const uint8_t *)p >= b && (const uint8_t *)p + len <= b + bufs[i].iov_len)
			return i;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_limits fl;
	struct blk_limits lim;
	struct fuzz_buf fb[MAX_BUFS];
	struct iovec bufs[MAX_BUFS], iov[MAX_BUFS];
	struct virtq_chain c = { .iov = iov, .iov_cap = MAX_BUFS };
	struct blk_req r;
	int n, nw = 0, st, last_writable = -1;
	uint64_t sum = 0;

	if (size < sizeof(fl))
		return 0;
	memcpy(&fl, data, sizeof(fl));
	data += sizeof(fl), size -= sizeof(fl);
	n = fl.nr_bufs % (MAX_BUFS + 1);
	if (size < n * sizeof(fb[0]))
		return 0;
	memcpy(fb, data, n * sizeof(fb[0]));
	data += n * sizeof(fb[0]), size -= n * sizeof(fb[0]);
	lim = (struct blk_limits){ .capacity = fl.capacity, .read_only = fl.flags & 1,
				   .discard = fl.flags & 2, .write_zeroes = fl.flags & 4 };

	/* Readable buffers first, as virtq_pop() delivers them; bytes from the input. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n; i++) {
			size_t len = fb[i].len % 4096, k = c.nr_out + c.nr_in, take;

			if ((fb[i].writable & 1) != pass)
				continue;
			bufs[k] = (struct iovec){ .iov_base = len ? malloc(len) : NULL, .iov_len = len };
			take = size < len ? size : len;
			if (len) {
				memset(bufs[k].iov_base, 0, len);
				memcpy(bufs[k].iov_base, data, take);
			}
			data += take, size -= take;
			iov[k] = bufs[k];
			if (pass) {
				c.nr_in++, c.in_len += (uint32_t)len;
				if (len)
					last_writable = (int)k;
			} else {
				c.nr_out++, c.out_len += (uint32_t)len;
			}
		}
	}
	nw = c.nr_out + c.nr_in;

	st = blk_req_parse(&c, &lim, &r);
	if (st == BLK_REQ_NO_STATUS) {
		check(c.in_len == 0);
		goto out;
	}
	check(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP);
	check(last_writable >= 0);
	check(r.status == (uint8_t *)bufs[last_writable].iov_base + bufs[last_writable].iov_len - 1);
	*r.status = (uint8_t)st;
	if (st != VIRTIO_BLK_S_OK)
		goto out;

	for (unsigned int i = 0; i < r.nr_data; i++) {
		int o = r.data[i].iov_len ? owner(bufs, nw, r.data[i].iov_base, r.data[i].iov_len) : 0;

		check(o >= 0);
		/* Direction: IN and GET_ID fill writable buffers, the others read readable ones. */
		if (r.data[i].iov_len)
			check((o >= c.nr_out) == (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_GET_ID));
		check(!r.data[i].iov_len || (uint8_t *)r.data[i].iov_base + r.data[i].iov_len - 1 != r.status);
		sum += r.data[i].iov_len;
	}
	check(sum == r.data_len);
	switch (r.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		check(r.data_len % BLK_SECTOR_SIZE == 0);
		check(r.sector <= lim.capacity && (r.data_len >> BLK_SECTOR_SHIFT) <= lim.capacity - r.sector);
		check(r.type == VIRTIO_BLK_T_IN || !lim.read_only);
		for (unsigned int i = 0; i < r.nr_data; i++) {
			if (r.type == VIRTIO_BLK_T_IN && r.data[i].iov_len)
				memset(r.data[i].iov_base, 0x5a, r.data[i].iov_len);
		}
		/* A short transfer: the rest must still add up. */
		blk_iov_advance(&r.data, &r.nr_data, fl.advance < r.data_len ? fl.advance : r.data_len);
		sum = 0;
		for (unsigned int i = 0; i < r.nr_data; i++)
			sum += r.data[i].iov_len;
		check(sum == r.data_len - (fl.advance < r.data_len ? fl.advance : r.data_len));
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_iov_from_buf(r.data, r.nr_data, "fuzz-disk-id-0123456", BLK_ID_BYTES);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		check(!lim.read_only && r.nr_ranges >= 1 && r.nr_ranges <= BLK_MAX_RANGES);
		for (unsigned int i = 0; i < r.nr_ranges; i++)
			check(r.range[i].sector <= lim.capacity &&
			      r.range[i].nr_sectors <= lim.capacity - r.range[i].sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		check(r.data_len == 0);
		break;
	default:
		check(0);
	}
out:
	for (int i = 0; i < nw; i++)
		free(bufs[i].iov_base);
	return 0;
}
