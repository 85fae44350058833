/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading: ELF vmlinux (Linux 64-bit boot protocol or PVH), bzImage
 * (Linux boot protocol >= 2.12, 64-bit entry). boot_load() reads the image,
 * places it, the initrd, the command line and the boot information
 * (zero page with e820, or hvm_start_info with a memory map) in guest memory,
 * writes the MP table, and says where and how to enter the kernel.
 */
#ifndef FLASHPAN_BOOT_H
#define FLASHPAN_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

/*
 * AUTO: a bzImage boots with linux; an ELF vmlinux boots with linux (64-bit
 * entry at e_entry) too, even when it carries a PVH note. Only an ELF whose
 * e_entry lies in none of its loaded segments falls back to pvh, and only
 * if it has a XEN_ELFNOTE_PHYS32_ENTRY note. PVH must be asked for by name.
 */
enum boot_protocol {
	BOOT_PROTO_AUTO,  /* see above */
	BOOT_PROTO_LINUX, /* 64-bit entry, RSI = zero page */
	BOOT_PROTO_PVH,   /* 32-bit entry from XEN_ELFNOTE_PHYS32_ENTRY, EBX = hvm_start_info */
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;     /* the command line */
	const char *linux_cmdline_extra; /* appended when the image is Linux (CPU profile); may be NULL */
	enum boot_protocol protocol;
	int nr_cpus;             /* for the MP table */
};

struct boot_info {
	enum boot_protocol protocol; /* what was chosen (never AUTO) */
	bool linux_image;            /* a bzImage, or an ELF with a "Linux" note */
	uint64_t entry;              /* guest-physical RIP */
	uint64_t boot_data;          /* RSI (zero page) for linux, EBX (start_info) for pvh */
	uint64_t kernel_start, kernel_end; /* guest-physical range the image occupies */
	uint64_t initrd_start, initrd_size;
};

/*
 * Limits and policies:
 * - the kernel file must be a regular file no larger than guest RAM; ELF
 *   segments must lie in RAM at or above 1 MiB (boot structures live below);
 * - command line: at most hdr.cmdline_size bytes for a bzImage, 2047 for an
 *   ELF (Linux's COMMAND_LINE_SIZE 2048 counts the NUL), NUL excluded;
 * - initrd: page-aligned as high as possible below min(initrd_addr_max + 1,
 *   end of RAM below 4 GiB) and above the kernel's end (for a bzImage that is
 *   max(1 MiB + image, pref_address + init_size)); an empty initrd file is
 *   treated as no initrd;
 * - nr_cpus 1..64 (MP table);
 * - the MP table is written for every protocol.
 *
 * Load per `cfg` into `mem`. On failure returns -errno-ish negative value and
 * writes a one-line human-readable reason (no trailing newline) into err.
 */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg,
	      struct boot_info *out, char *err, size_t errlen);

const char *boot_protocol_name(enum boot_protocol p);

#endif
