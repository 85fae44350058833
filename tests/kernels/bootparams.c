// SPDX-License-Identifier: MIT
/*
 * bootparams: prints what the loader handed over, one fact per line:
 *   cmdline: <exact command line>
 *   mem: 0x<addr> 0x<size> <type>        (e820 or PVH memmap, in order)
 *   ram-total: <N> KiB                   (sum of type-1 entries)
 *   ram-end: 0x<addr>                    (highest end of a type-1 entry)
 *   initrd: addr=0x<a> size=<n> fnv1a=<8 hex>   or   initrd: none
 *   initrd ok | initrd BAD ...           (with expect_initrd_sum=<hex>)
 * FNV-1a, 32-bit: h = 0x811c9dc5; per byte h ^= b, h *= 0x01000193.
 */
#include "lib.h"

const char kernel_name[] = "bootparams";

static uint32_t fnv1a(const uint8_t *p, uint64_t n)
{
	uint32_t h = 0x811c9dc5;

	while (n--) {
		h ^= *p++;
		h *= 0x01000193;
	}
	return h;
}

void kmain(struct boot_info *bi)
{
	uint64_t total = 0, end = 0;

	kprintf("cmdline: %s\n", bi->cmdline);
	for (int i = 0; i < bi->nr_mem; i++) {
		const struct mem_region *m = &bi->mem[i];

		kprintf("mem: 0x%lx 0x%lx %u\n", m->addr, m->size, m->type);
		if (m->type == 1) {
			total += m->size;
			if (m->addr + m->size > end)
				end = m->addr + m->size;
		}
	}
	kprintf("ram-total: %lu KiB\n", total >> 10);
	kprintf("ram-end: 0x%lx\n", end);
	if (!bi->initrd_size) {
		kprintf("initrd: none\n");
	} else {
		uint32_t h = fnv1a((const uint8_t *)bi->initrd_addr, bi->initrd_size);

		kprintf("initrd: addr=0x%lx size=%lu fnv1a=%08x\n", bi->initrd_addr,
			bi->initrd_size, h);
		const char *v = cmdline_value(bi, "expect_initrd_sum");

		if (v) {
			uint32_t want = 0;

			if (v[0] == '0' && v[1] == 'x')
				v += 2;
			for (; (*v >= '0' && *v <= '9') || ((*v | 0x20) >= 'a' && (*v | 0x20) <= 'f'); v++)
				want = want * 16 + (*v <= '9' ? *v - '0' : (*v | 0x20) - 'a' + 10);
			if (h == want)
				kprintf("initrd ok\n");
			else
				kprintf("initrd BAD: fnv1a=%08x want %08x\n", h, want);
		}
	}
	reset();
}
