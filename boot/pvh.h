/* SPDX-License-Identifier: MIT */
/*
 * PVH direct boot (xen/include/public/arch-x86/hvm/start_info.h and
 * xen/include/public/elfnote.h): a 32-bit protected-mode entry named by the
 * ELF note XEN_ELFNOTE_PHYS32_ENTRY, entered with EBX = &hvm_start_info.
 */
#ifndef FLASHPAN_BOOT_PVH_H
#define FLASHPAN_BOOT_PVH_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/linux.h"
#include "vmm/mem.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC          0x336ec578
#define HVM_MEMMAP_RAM           1
#define HVM_MEMMAP_RESERVED      2

/* start_info.h, version 1 layout (56 bytes). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version 1 */
	uint32_t memmap_entries; /* version 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* What an ELF kernel's notes say. */
struct elf_notes {
	bool has_pvh_entry;  /* XEN_ELFNOTE_PHYS32_ENTRY found */
	uint32_t pvh_entry;
	bool linux_note;     /* a note owned by "Linux": the image is a Linux vmlinux */
};

/*
 * Walk the ELF's PT_NOTE segments. Returns 0 with *out filled, or -errno with
 * err set if the image or a note is malformed.
 */
int elf_read_notes(const struct kernel_file *f, struct elf_notes *out, char *err, size_t errlen);

/*
 * Write hvm_start_info at BOOT_PVH_INFO_ADDR, its memory map at
 * BOOT_PVH_MEMMAP_ADDR and, if initrd_size > 0, one module (the initrd) at
 * BOOT_PVH_MODLIST_ADDR. 0 or -errno with err set.
 */
int pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa,
			 uint64_t initrd_gpa, uint64_t initrd_size, char *err, size_t errlen);

#endif
