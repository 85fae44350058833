// SPDX-License-Identifier: MIT
#include "vmm/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int guest_mem_init(struct guest_mem *mem, uint64_t size, bool hugepages)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	memset(mem, 0, sizeof(*mem));
	if (size == 0 || size % (2ULL << 20))
		return -EINVAL;
	/*
	 * Huge pages are reserved up front: with MAP_NORESERVE a shortage would
	 * surface later as SIGBUS when the VMM or KVM first touches a page.
	 */
	if (hugepages)
		flags = (flags & ~MAP_NORESERVE) | MAP_HUGETLB;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (!hugepages)
		madvise(p, size, MADV_MERGEABLE); /* best effort; same-page merging if enabled */
	mem->base = p;
	mem->size = size;
	mem->hugepages = hugepages;
	mem->region[0] = (struct guest_region){
		.gpa = 0,
		.size = size < MEM_HOLE_START ? size : MEM_HOLE_START,
		.hva = p,
	};
	mem->nr_regions = 1;
	if (size > MEM_HOLE_START) {
		mem->region[1] = (struct guest_region){
			.gpa = MEM_HOLE_END,
			.size = size - MEM_HOLE_START,
			.hva = mem->base + MEM_HOLE_START,
		};
		mem->nr_regions = 2;
	}
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->region[i];

		/* Written so that no sum can overflow: gpa and len are guest-controlled. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->region[0].gpa + mem->region[0].size;
}
