// SPDX-License-Identifier: MIT
#include "boot/pagetables.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"

/*
 * Segment descriptors (Intel SDM vol. 3, 3.4.5). Encoded from
 * flags (G, D/B, L, AVL nibble), access byte, base and limit.
 */
#define GDT_ENTRY(flags, access, base, limit)                                          \
	((((uint64_t)(base) & 0xff000000ULL) << 32) | (((uint64_t)(flags) & 0xf) << 52) | \
	 (((uint64_t)(limit) & 0xf0000ULL) << 32) | (((uint64_t)(access) & 0xff) << 40) | \
	 (((uint64_t)(base) & 0x00ffffffULL) << 16) | ((uint64_t)(limit) & 0xffffULL))

static const uint64_t boot_gdt[BOOT_GDT_ENTRIES] = {
	[0] = 0,
	[BOOT_SEL_CODE32 / 8] = GDT_ENTRY(0xc, 0x9b, 0, 0xfffff), /* G, D: 32-bit code */
	[BOOT_SEL_CODE64 / 8] = GDT_ENTRY(0xa, 0x9b, 0, 0xfffff), /* G, L: 64-bit code */
	[BOOT_SEL_DATA / 8] = GDT_ENTRY(0xc, 0x93, 0, 0xfffff),   /* G, B: data */
	[BOOT_SEL_TSS / 8] = GDT_ENTRY(0x8, 0x8b, 0, 0xfffff),    /* busy 32-bit TSS */
};

struct kvm_segment boot_segment(uint16_t sel)
{
	uint64_t d = boot_gdt[sel / 8];
	uint32_t limit = (d & 0xffff) | ((d >> 32) & 0xf0000);
	uint8_t access = d >> 40, flags = (d >> 52) & 0xf;

	return (struct kvm_segment){
		.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000),
		.limit = (flags & 0x8) ? (limit << 12) | 0xfff : limit,
		.selector = sel,
		.type = access & 0xf,
		.present = (access >> 7) & 1,
		.dpl = (access >> 5) & 3,
		.db = (flags >> 2) & 1,
		.s = (access >> 4) & 1,
		.l = (flags >> 1) & 1,
		.g = (flags >> 3) & 1,
		.avl = flags & 1,
	};
}

int boot_write_gdt_and_pagetables(struct guest_mem *mem)
{
	uint64_t *gdt = guest_mem_ptr(mem, BOOT_GDT_ADDR, sizeof(boot_gdt));
	uint64_t *pml4 = guest_mem_ptr(mem, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, BOOT_PD_ADDR, 4 * 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -EFAULT;
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	/* Present | writable; 2 MiB pages have PS (bit 7) in the PD entry. */
	pml4[0] = BOOT_PDPT_ADDR | 0x3;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;
	return 0;
}
