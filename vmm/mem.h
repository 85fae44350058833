/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: one anonymous host mapping split into at most two
 * guest-physical regions around the 32-bit MMIO hole. Every access the VMM
 * makes to guest memory goes through guest_mem_ptr(), which refuses any range
 * that is not wholly inside one region. Nothing the guest wrote is trusted.
 */
#ifndef FLASHPAN_MEM_H
#define FLASHPAN_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RAM stops at 3 GiB; [3 GiB, 4 GiB) holds MMIO (virtio, IOAPIC, LAPIC). */
#define MEM_HOLE_START 0xC0000000ULL
#define MEM_HOLE_END   0x100000000ULL

#define GUEST_MEM_MAX_REGIONS 2

struct guest_region {
	uint64_t gpa;  /* first guest-physical address */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host address of gpa */
};

struct guest_mem {
	struct guest_region region[GUEST_MEM_MAX_REGIONS];
	int nr_regions;
	uint64_t size;   /* total RAM bytes */
	uint8_t *base;   /* the one mapping */
	bool hugepages;
};

/* Map `size` bytes (a multiple of 2 MiB) of guest RAM; 0 or -errno. */
int guest_mem_init(struct guest_mem *mem, uint64_t size, bool hugepages);
void guest_mem_free(struct guest_mem *mem);

/* Host pointer for [gpa, gpa + len), or NULL unless wholly inside one region. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* End of RAM below 4 GiB (the first region's end). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
