// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the split-virtqueue chain walker (devices/virtio/queue.c).
 *
 * The input is a queue set-up (size, event_idx, the caller's iovec capacity,
 * ring addresses) followed by the bytes of a small guest memory: 64 KiB at
 * guest-physical 0 and 4 KiB at 4 GiB, each its own heap block so that
 * AddressSanitizer sees any access past a region. The harness pops chains
 * the way a device does, reads every readable byte, writes every writable
 * one, pushes the chain back and exercises the notification helpers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/queue.h"

#define LOW_SIZE  0x10000
#define HIGH_GPA  0x100000000ULL
#define HIGH_SIZE 0x1000

struct fuzz_setup {
	uint16_t size;
	uint8_t flags;    /* bit 0: EVENT_IDX */
	uint8_t iov_cap;
	uint64_t desc_gpa, avail_gpa, used_gpa;
} __attribute__((packed));

#define check(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static bool inside(const struct guest_mem *m, const void *p, size_t len)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const uint8_t *b = m->region[i].hva;

		if ((const uint8_t *)p >= b && (const uint8_t *)p + len <= b + m->region[i].size)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_setup s;
	struct guest_mem mem = { .nr_regions = 2 };
	struct virtq q = { 0 };
	struct iovec iov[256];
	uint8_t sink = 0;
	size_t rest, n;

	if (size < sizeof(s))
		return 0;
	memcpy(&s, data, sizeof(s));
	data += sizeof(s);
	rest = size - sizeof(s);
	mem.region[0] = (struct guest_region){ .gpa = 0, .size = LOW_SIZE, .hva = calloc(1, LOW_SIZE) };
	mem.region[1] = (struct guest_region){ .gpa = HIGH_GPA, .size = HIGH_SIZE, .hva = calloc(1, HIGH_SIZE) };
	mem.size = LOW_SIZE + HIGH_SIZE;
	n = rest < LOW_SIZE ? rest : LOW_SIZE;
	memcpy(mem.region[0].hva, data, n);
	if (rest > n)
		memcpy(mem.region[1].hva, data + n, rest - n < HIGH_SIZE ? rest - n : HIGH_SIZE);

	q.size = s.size;
	q.desc_gpa = s.desc_gpa;
	q.avail_gpa = s.avail_gpa;
	q.used_gpa = s.used_gpa;
	if (virtq_activate(&q, &mem, s.flags & 1) != VIRTQ_OK)
		goto out;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
			struct virtq_chain c = { .iov = iov, .iov_cap = s.iov_cap ? s.iov_cap : 1 };
			uint32_t out = 0, in = 0;
			int r = virtq_pop(&q, &c);

			if (r <= 0) {
				check(r >= VIRTQ_ERR_LENGTH);
				break;
			}
			check(c.head < q.size && c.nr_out + c.nr_in <= c.iov_cap);
			for (unsigned int k = 0; k < (unsigned int)c.nr_out + c.nr_in; k++) {
				uint8_t *p = iov[k].iov_base;

				check(!iov[k].iov_len || inside(&mem, p, iov[k].iov_len));
				if (k < c.nr_out) {
					for (size_t j = 0; j < iov[k].iov_len; j++)
						sink ^= p[j];
					out += (uint32_t)iov[k].iov_len;
				} else {
					if (iov[k].iov_len)
						memset(p, 0xa5, iov[k].iov_len);
					in += (uint32_t)iov[k].iov_len;
				}
			}
			check(out == c.out_len && in == c.in_len);
			virtq_push(&q, c.head, c.in_len);
		}
		virtq_needs_interrupt(&q);
		if (!virtq_enable_notify(&q))
			break;
	}
	(void)virtq_pending(&q);
	__asm__ volatile("" : : "r"(sink)); /* keep the reads */
out:
	free(mem.region[0].hva);
	free(mem.region[1].hva);
	return 0;
}
