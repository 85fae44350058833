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

enum boot_protocol {
	BOOT_PROTO_AUTO,  /* bzImage and ELF: linux; ELF without a usable entry but a PVH note: pvh */
	BOOT_PROTO_LINUX, /* 64-bit entry, RSI = zero page */
	BOOT_PROTO_PVH,   /* 32-bit entry from XEN_ELFNOTE_PHYS32_ENTRY, EBX = hvm_start_info */
};

struct boot_config {
	const char *kernel_path;
	const char *initrd_path; /* NULL: none */
	const char *cmdline;     /* full command line, already including profile additions */
	enum boot_protocol protocol;
	int nr_cpus;             /* for the MP table */
};

struct boot_info {
	enum boot_protocol protocol; /* what was chosen (never AUTO) */
	uint64_t entry;              /* guest-physical RIP */
	uint64_t boot_data;          /* RSI (zero page) for linux, EBX (start_info) for pvh */
	uint64_t kernel_start, kernel_end; /* guest-physical range the image occupies */
	uint64_t initrd_start, initrd_size;
};

/*
 * Load per `cfg` into `mem`. On failure returns -errno-ish negative value and
 * writes a one-line human-readable reason (no trailing newline) into err.
 */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg,
	      struct boot_info *out, char *err, size_t errlen);

const char *boot_protocol_name(enum boot_protocol p);

#endif
