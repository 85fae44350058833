// SPDX-License-Identifier: MIT
/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst) for a direct
 * boot without firmware: an ELF vmlinux is placed by its program headers, a
 * bzImage's protected-mode kernel at 1 MiB, and both are entered at their
 * 64-bit entry with RSI pointing at the zero page written here.
 *
 * Everything in the image is untrusted input: every size and offset is
 * checked against the file and against guest RAM (through guest_mem_ptr)
 * before anything is copied.
 */
#include "boot/linux.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot/layout.h"

/* Offsets from boot.rst "The Real-Mode Kernel Header" and zero-page.rst. */
#define HDR_OFF(f) (0x1f1 + offsetof(struct setup_header, f))
_Static_assert(HDR_OFF(boot_flag) == 0x1fe, "boot_flag");
_Static_assert(HDR_OFF(header) == 0x202, "header");
_Static_assert(HDR_OFF(version) == 0x206, "version");
_Static_assert(HDR_OFF(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(HDR_OFF(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(HDR_OFF(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(HDR_OFF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(HDR_OFF(kernel_alignment) == 0x230, "kernel_alignment");
_Static_assert(HDR_OFF(xloadflags) == 0x236, "xloadflags");
_Static_assert(HDR_OFF(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(HDR_OFF(pref_address) == 0x258, "pref_address");
_Static_assert(HDR_OFF(init_size) == 0x260, "init_size");
_Static_assert(HDR_OFF(kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct e820_entry) == 20, "e820_entry");
_Static_assert(sizeof(struct boot_params) == 4096, "boot_params");

#define MIB (UINT64_C(1) << 20)
#define KERNEL_HIGH_VADDR 0xffffffff80000000ULL /* __START_KERNEL_map */

/* ---- ELF vmlinux -------------------------------------------------------- */

static int elf_check_header(const struct kernel_file *f, Elf64_Ehdr *eh, char *err, size_t errlen)
{
	uint64_t ph_end;

	if (f->size < sizeof(*eh)) {
		snprintf(err, errlen, "kernel: ELF header truncated (file is %" PRIu64 " bytes, need %zu)",
			 f->size, sizeof(*eh));
		return -ENOEXEC;
	}
	if (kernel_file_read(f, 0, eh, sizeof(*eh))) {
		snprintf(err, errlen, "kernel: cannot read the ELF header");
		return -EIO;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(err, errlen, "kernel: ELF class %u is not ELF64", eh->e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "kernel: ELF is not little-endian");
		return -ENOEXEC;
	}
	if (eh->e_machine != EM_X86_64) {
		snprintf(err, errlen, "kernel: ELF machine %u is not x86_64 (%u)", eh->e_machine, EM_X86_64);
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		snprintf(err, errlen, "kernel: ELF type %u is not an executable", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_phnum == 0) {
		snprintf(err, errlen, "kernel: ELF has no program headers (no PT_LOAD)");
		return -ENOEXEC;
	}
	if (eh->e_phnum > LINUX_ELF_MAX_PHNUM) {
		snprintf(err, errlen, "kernel: ELF has %u program headers (at most %d accepted)",
			 eh->e_phnum, LINUX_ELF_MAX_PHNUM);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(err, errlen, "kernel: ELF program header size %u is not %zu",
			 eh->e_phentsize, sizeof(Elf64_Phdr));
		return -ENOEXEC;
	}
	ph_end = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > f->size || ph_end > f->size) {
		snprintf(err, errlen, "kernel: ELF program headers [0x%" PRIx64 "-0x%" PRIx64
			 ") lie past the end of the file (%" PRIu64 " bytes)", eh->e_phoff, ph_end, f->size);
		return -ENOEXEC;
	}
	return 0;
}

int linux_elf_headers(const struct kernel_file *f, Elf64_Ehdr *eh, Elf64_Phdr *phdr,
		      char *err, size_t errlen)
{
	int ret = elf_check_header(f, eh, err, errlen);

	if (ret)
		return ret;
	if (kernel_file_read(f, eh->e_phoff, phdr, (uint64_t)eh->e_phnum * sizeof(*phdr))) {
		snprintf(err, errlen, "kernel: cannot read the ELF program headers");
		return -EIO;
	}
	return 0;
}

static int elf_check_segment(const struct guest_mem *mem, const struct kernel_file *f,
			     int i, const Elf64_Phdr *ph, char *err, size_t errlen)
{
	uint64_t end = ph->p_paddr + ph->p_memsz;

	if (ph->p_filesz > ph->p_memsz) {
		snprintf(err, errlen, "kernel: segment %d has p_filesz 0x%" PRIx64 " > p_memsz 0x%" PRIx64,
			 i, ph->p_filesz, ph->p_memsz);
		return -ENOEXEC;
	}
	if (ph->p_offset > f->size || ph->p_filesz > f->size - ph->p_offset) {
		snprintf(err, errlen, "kernel: segment %d file range [0x%" PRIx64 "+0x%" PRIx64
			 ") lies past the end of the file (%" PRIu64 " bytes)",
			 i, ph->p_offset, ph->p_filesz, f->size);
		return -ENOEXEC;
	}
	if (end < ph->p_paddr || !guest_mem_ptr(mem, ph->p_paddr, ph->p_memsz)) {
		snprintf(err, errlen, "kernel: segment %d [0x%" PRIx64 "-0x%" PRIx64
			 ") lies outside guest RAM (%" PRIu64 " MiB)", i, ph->p_paddr, end, mem->size / MIB);
		return -ENOEXEC;
	}
	/* Zero page, page tables, command line and MP table all live below 1 MiB. */
	if (ph->p_paddr < BOOT_HIMEM_START) {
		snprintf(err, errlen, "kernel: segment %d [0x%" PRIx64 "-0x%" PRIx64
			 ") overlaps the boot structures below 1 MiB", i, ph->p_paddr, end);
		return -ENOEXEC;
	}
	return 0;
}

int linux_load_elf(struct guest_mem *mem, const struct kernel_file *f,
		   struct linux_kernel *k, char *err, size_t errlen)
{
	Elf64_Phdr phdr[LINUX_ELF_MAX_PHNUM];
	const Elf64_Phdr *first = NULL;
	Elf64_Ehdr eh;
	int ret, nr_load = 0;

	memset(k, 0, sizeof(*k));
	ret = linux_elf_headers(f, &eh, phdr, err, errlen);
	if (ret)
		return ret;

	/* Check every segment before copying any. */
	k->start = UINT64_MAX;
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		ret = elf_check_segment(mem, f, i, ph, err, errlen);
		if (ret)
			return ret;
		if (!first)
			first = ph;
		nr_load++;
		if (ph->p_paddr < k->start)
			k->start = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > k->end)
			k->end = ph->p_paddr + ph->p_memsz;
	}
	if (!nr_load) {
		snprintf(err, errlen, "kernel: ELF has no PT_LOAD segment");
		return -ENOEXEC;
	}

	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];
		uint8_t *dst;

		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		dst = guest_mem_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (kernel_file_read(f, ph->p_offset, dst, ph->p_filesz)) {
			snprintf(err, errlen, "kernel: cannot read segment %d", i);
			return -EIO;
		}
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}

	/*
	 * vmlinux's e_entry is physical (phys_startup_64); an image linked with
	 * a virtual entry is translated by its first segment's vaddr - paddr.
	 */
	k->entry64 = eh.e_entry;
	if (k->entry64 >= KERNEL_HIGH_VADDR)
		k->entry64 -= first->p_vaddr - first->p_paddr;
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];

		if (ph->p_type == PT_LOAD && k->entry64 >= ph->p_paddr &&
		    k->entry64 - ph->p_paddr < ph->p_filesz)
			k->entry64_ok = true;
	}
	k->initrd_addr_max = LINUX_INITRD_ADDR_MAX;
	k->cmdline_max = LINUX_COMMAND_LINE_SIZE - 1; /* COMMAND_LINE_SIZE counts the NUL */
	return 0;
}

/* ---- bzImage ------------------------------------------------------------ */

int linux_load_bzimage(struct guest_mem *mem, const struct kernel_file *f,
		       struct linux_kernel *k, char *err, size_t errlen)
{
	struct setup_header *hdr = &k->hdr;
	uint64_t setup_size, pm_size, run_start, run_end, low_end = guest_mem_low_end(mem);
	unsigned int setup_sects;
	uint8_t hdr_end;
	void *dst;

	memset(k, 0, sizeof(*k));
	k->bzimage = true;
	if (f->size < 0x1f1 + sizeof(*hdr)) {
		snprintf(err, errlen, "kernel: bzImage truncated (%" PRIu64 " bytes, no room for the setup header)",
			 f->size);
		return -ENOEXEC;
	}
	if (kernel_file_read(f, 0x1f1, hdr, sizeof(*hdr))) {
		snprintf(err, errlen, "kernel: cannot read the bzImage setup header");
		return -EIO;
	}
	if (hdr->header != LINUX_HDRS_MAGIC) {
		snprintf(err, errlen, "kernel: no \"HdrS\" magic at 0x202: not a bzImage");
		return -ENOEXEC;
	}
	/* Only the part of the header this kernel has: 0x202 + the byte at 0x201. */
	if (kernel_file_read(f, 0x201, &hdr_end, 1) == 0 &&
	    0x202u + hdr_end - 0x1f1u < sizeof(*hdr)) {
		size_t len = 0x202u + hdr_end - 0x1f1u;

		memset((uint8_t *)hdr + len, 0, sizeof(*hdr) - len);
	}
	if (hdr->version < LINUX_MIN_VERSION) {
		snprintf(err, errlen, "kernel: bzImage boot protocol %u.%02u is too old (need 2.12 for the 64-bit entry)",
			 hdr->version >> 8, hdr->version & 0xff);
		return -ENOEXEC;
	}
	if (!(hdr->xloadflags & LINUX_XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel: bzImage has no 64-bit entry point (xloadflags 0x%x lacks XLF_KERNEL_64)",
			 hdr->xloadflags);
		return -ENOEXEC;
	}
	if (!(hdr->loadflags & LINUX_LOADED_HIGH)) {
		snprintf(err, errlen, "kernel: image loads low (zImage); only bzImage is supported");
		return -ENOEXEC;
	}

	/* "The Real-Mode Kernel Header": setup_sects 0 means 4; plus the boot sector. */
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= f->size) {
		snprintf(err, errlen, "kernel: bzImage truncated (setup is %" PRIu64 " bytes, file %" PRIu64 ")",
			 setup_size, f->size);
		return -ENOEXEC;
	}
	pm_size = f->size - setup_size;

	/*
	 * The decompressor runs from max(load address, pref_address) and needs
	 * init_size bytes there (boot.rst, "init_size"); keep all of it in RAM.
	 */
	run_start = hdr->pref_address > BOOT_HIMEM_START ? hdr->pref_address : BOOT_HIMEM_START;
	run_end = run_start + hdr->init_size;
	if (run_end < BOOT_HIMEM_START + pm_size)
		run_end = BOOT_HIMEM_START + pm_size;
	if (run_start >= low_end || run_end > low_end || run_end < run_start) {
		snprintf(err, errlen, "kernel: bzImage needs [0x%" PRIx64 "-0x%" PRIx64
			 ") (image %" PRIu64 " MiB, init_size %u MiB) but guest RAM below 4 GiB ends at 0x%" PRIx64,
			 (uint64_t)BOOT_HIMEM_START, run_end, pm_size / MIB, hdr->init_size / (1U << 20), low_end);
		return -EFBIG;
	}
	dst = guest_mem_ptr(mem, BOOT_HIMEM_START, pm_size);
	if (!dst || kernel_file_read(f, setup_size, dst, pm_size)) {
		snprintf(err, errlen, "kernel: cannot load the bzImage protected-mode kernel");
		return -EIO;
	}

	k->start = BOOT_HIMEM_START;
	k->end = run_end;
	k->entry64 = BOOT_HIMEM_START + 0x200; /* "64-bit BOOT PROTOCOL": startup_64 */
	k->entry64_ok = true;
	k->initrd_addr_max = hdr->initrd_addr_max ? hdr->initrd_addr_max : LINUX_INITRD_ADDR_MAX;
	k->cmdline_max = hdr->cmdline_size; /* boot.rst: "without the terminating zero" */
	return 0;
}

/* ---- zero page ---------------------------------------------------------- */

int linux_e820_map(const struct guest_mem *mem, struct e820_entry *out, int max)
{
	struct e820_entry map[4];
	int n = 0;

	map[n++] = (struct e820_entry){ 0, BOOT_EBDA_START, LINUX_E820_RAM };
	map[n++] = (struct e820_entry){ BOOT_EBDA_START, BOOT_HIMEM_START - BOOT_EBDA_START,
					LINUX_E820_RESERVED };
	map[n++] = (struct e820_entry){ BOOT_HIMEM_START, guest_mem_low_end(mem) - BOOT_HIMEM_START,
					LINUX_E820_RAM };
	if (mem->nr_regions == 2)
		map[n++] = (struct e820_entry){ mem->region[1].gpa, mem->region[1].size, LINUX_E820_RAM };
	if (n > max)
		n = max;
	memcpy(out, map, n * sizeof(*out));
	return n;
}

int linux_write_zero_page(struct guest_mem *mem, const struct linux_kernel *k,
			  uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size,
			  char *err, size_t errlen)
{
	struct boot_params *bp = guest_mem_ptr(mem, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	struct setup_header *hdr;

	if (!bp) {
		snprintf(err, errlen, "boot: zero page at 0x%llx is outside guest RAM", BOOT_ZERO_PAGE_ADDR);
		return -EFAULT;
	}
	memset(bp, 0, sizeof(*bp));
	hdr = &bp->hdr;
	if (k->bzimage) {
		/* boot.rst, "Details of Header Fields": the loader copies the header and fills in its part. */
		*hdr = k->hdr;
		hdr->loadflags |= LINUX_CAN_USE_HEAP;
		hdr->heap_end_ptr = 0xfe00; /* real-mode heap; unused by the 64-bit entry */
	} else {
		/* What a vmlinux's startup_64 reads (the fields a bzImage would carry). */
		hdr->boot_flag = LINUX_BOOT_FLAG;
		hdr->header = LINUX_HDRS_MAGIC;
		hdr->kernel_alignment = 0x1000000;
		hdr->cmdline_size = k->cmdline_max;
	}
	hdr->type_of_loader = LINUX_LOADER_UNDEFINED;
	hdr->cmd_line_ptr = (uint32_t)cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(cmdline_gpa >> 32);
	hdr->ramdisk_image = (uint32_t)initrd_gpa;
	hdr->ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	bp->e820_entries = (uint8_t)linux_e820_map(mem, bp->e820_table, LINUX_E820_MAX);
	return 0;
}
