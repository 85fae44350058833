// SPDX-License-Identifier: MIT
/*
 * PVH boot: find the kernel's 32-bit entry in its ELF notes and describe
 * the machine to it in struct hvm_start_info (Xen's
 * public/arch-x86/hvm/start_info.h, version 1: with a memory map).
 */
#include "boot/pvh.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "memmap_paddr");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

#define NOTE_SEGMENT_MAX (64 * 1024) /* vmlinux's notes take a few hundred bytes */
#define PVH_MEMMAP_MAX 8
_Static_assert(BOOT_PVH_MEMMAP_ADDR + PVH_MEMMAP_MAX * sizeof(struct hvm_memmap_table_entry) <=
	       BOOT_PVH_MODLIST_ADDR, "memmap overlaps the module list");

static uint64_t align4(uint64_t x)
{
	return (x + 3) & ~3ULL;
}

/*
 * Walk one note segment: each note is namesz, descsz, type (32 bits each),
 * then the name and the descriptor, each padded to 4 bytes (ELF gABI, "Note
 * Section"). Records the PVH entry and whether a "Linux" note is present.
 */
static int scan_notes(const uint8_t *buf, uint64_t len, struct elf_notes *out,
		      char *err, size_t errlen)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;

		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		name_off = off + 12;
		desc_off = name_off + align4(namesz);
		next = desc_off + align4(descsz);
		if (next > len)
			return 0; /* a truncated note ends the walk, like a reader that stops at garbage */
		if (namesz == 6 && !memcmp(buf + name_off, "Linux", 6))
			out->linux_note = true;
		if (namesz == 4 && !memcmp(buf + name_off, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t val = 0;

			/* Linux emits it as _ASM_PTR (8 bytes on x86_64); others as 4. */
			if (descsz != 4 && descsz != 8) {
				snprintf(err, errlen, "kernel: PVH entry note has a %u-byte value (want 4 or 8)",
					 descsz);
				return -ENOEXEC;
			}
			memcpy(&val, buf + desc_off, descsz);
			if (val > UINT32_MAX) {
				snprintf(err, errlen, "kernel: PVH entry 0x%" PRIx64 " is not a 32-bit address", val);
				return -ENOEXEC;
			}
			out->pvh_entry = (uint32_t)val;
			out->has_pvh_entry = true;
		}
		off = next;
	}
	return 0;
}

int elf_read_notes(const struct kernel_file *f, struct elf_notes *out, char *err, size_t errlen)
{
	Elf64_Phdr phdr[LINUX_ELF_MAX_PHNUM];
	Elf64_Ehdr eh;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = linux_elf_headers(f, &eh, phdr, err, errlen);
	if (ret)
		return ret;
	for (int i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *ph = &phdr[i];
		uint8_t *buf;

		if (ph->p_type != PT_NOTE || ph->p_filesz == 0)
			continue;
		if (ph->p_filesz > NOTE_SEGMENT_MAX || ph->p_offset > f->size ||
		    ph->p_filesz > f->size - ph->p_offset) {
			snprintf(err, errlen, "kernel: note segment %d [0x%" PRIx64 "+0x%" PRIx64
				 ") is too large or past the end of the file", i, ph->p_offset, ph->p_filesz);
			return -ENOEXEC;
		}
		buf = malloc(ph->p_filesz);
		if (!buf) {
			snprintf(err, errlen, "kernel: out of memory reading notes");
			return -ENOMEM;
		}
		ret = kernel_file_read(f, ph->p_offset, buf, ph->p_filesz);
		if (ret)
			snprintf(err, errlen, "kernel: cannot read note segment %d", i);
		else
			ret = scan_notes(buf, ph->p_filesz, out, err, errlen);
		free(buf);
		if (ret)
			return ret;
	}
	return 0;
}

int pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa,
			 uint64_t initrd_gpa, uint64_t initrd_size, char *err, size_t errlen)
{
	struct hvm_memmap_table_entry *mm;
	struct e820_entry e820[PVH_MEMMAP_MAX];
	struct hvm_start_info *si;
	int n;

	n = linux_e820_map(mem, e820, PVH_MEMMAP_MAX);
	si = guest_mem_ptr(mem, BOOT_PVH_INFO_ADDR, sizeof(*si));
	mm = guest_mem_ptr(mem, BOOT_PVH_MEMMAP_ADDR, n * sizeof(*mm));
	if (!si || !mm) {
		snprintf(err, errlen, "boot: PVH start_info area below 1 MiB is outside guest RAM");
		return -EFAULT;
	}
	for (int i = 0; i < n; i++) {
		/* The e820 types and the start_info memmap types are the same numbers. */
		mm[i] = (struct hvm_memmap_table_entry){
			.addr = e820[i].addr,
			.size = e820[i].size,
			.type = e820[i].type == LINUX_E820_RAM ? HVM_MEMMAP_RAM : HVM_MEMMAP_RESERVED,
		};
	}
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = cmdline_gpa,
		.memmap_paddr = BOOT_PVH_MEMMAP_ADDR,
		.memmap_entries = (uint32_t)n,
	};
	if (initrd_size) {
		struct hvm_modlist_entry *mod = guest_mem_ptr(mem, BOOT_PVH_MODLIST_ADDR, sizeof(*mod));

		if (!mod) {
			snprintf(err, errlen, "boot: PVH module list is outside guest RAM");
			return -EFAULT;
		}
		*mod = (struct hvm_modlist_entry){ .paddr = initrd_gpa, .size = initrd_size };
		si->nr_modules = 1;
		si->modlist_paddr = BOOT_PVH_MODLIST_ADDR;
	}
	return 0;
}
