/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol: loading an ELF vmlinux or a bzImage and writing the
 * zero page (struct boot_params) with its e820 memory map.
 *
 * The structures follow Documentation/arch/x86/boot.rst ("THE LINUX/x86 BOOT
 * PROTOCOL") and Documentation/arch/x86/zero-page.rst; they are written here
 * from the offsets in those documents, and every offset is checked at compile
 * time in linux.c.
 */
#ifndef FLASHPAN_BOOT_LINUX_H
#define FLASHPAN_BOOT_LINUX_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

/* Boot protocol, "The Real-Mode Kernel Header": constants we use. */
#define LINUX_HDRS_MAGIC        0x53726448 /* "HdrS" at 0x202 */
#define LINUX_BOOT_FLAG         0xaa55
#define LINUX_MIN_VERSION       0x020c     /* 2.12: xloadflags, 64-bit entry */
#define LINUX_LOADED_HIGH       0x01       /* loadflags bit 0 */
#define LINUX_CAN_USE_HEAP      0x80       /* loadflags bit 7 */
#define LINUX_XLF_KERNEL_64     0x0001     /* xloadflags bit 0: 64-bit entry at +0x200 */
#define LINUX_LOADER_UNDEFINED  0xff       /* type_of_loader: "undefined" boot loader */
#define LINUX_INITRD_ADDR_MAX   0x7fffffffULL /* default when the header has none */
#define LINUX_COMMAND_LINE_SIZE 2048       /* arch/x86 COMMAND_LINE_SIZE, for ELF vmlinux */
#define LINUX_E820_MAX          128        /* zero page e820_table entries */
#define LINUX_E820_RAM          1
#define LINUX_E820_RESERVED     2

/* The setup header as it sits at 0x1f1 in both the bzImage and the zero page. */
struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* The zero page; only the fields a direct-boot loader fills are named. */
struct boot_params {
	uint8_t _pad0[0xc0];
	uint32_t ext_ramdisk_image;  /* 0x0c0 */
	uint32_t ext_ramdisk_size;   /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;   /* 0x0c8 */
	uint8_t _pad1[0x1e8 - 0xcc];
	uint8_t e820_entries;        /* 0x1e8 */
	uint8_t _pad2[0x1f1 - 0x1e9];
	struct setup_header hdr;     /* 0x1f1 */
	uint8_t _pad3[0x2d0 - 0x1f1 - sizeof(struct setup_header)];
	struct e820_entry e820_table[LINUX_E820_MAX]; /* 0x2d0 */
	uint8_t _pad4[0x1000 - 0x2d0 - LINUX_E820_MAX * sizeof(struct e820_entry)];
} __attribute__((packed));

/* An open kernel or initrd file; reads are bounds-checked against `size`. */
struct kernel_file {
	int fd;
	uint64_t size;
};

/* Read exactly [off, off + len) of the file; 0, or -EIO if short or out of range. */
int kernel_file_read(const struct kernel_file *f, uint64_t off, void *buf, uint64_t len);

/* What a loader learned about the kernel it placed. */
struct linux_kernel {
	bool bzimage;
	uint64_t entry64;        /* 64-bit entry point (guest-physical) */
	bool entry64_ok;         /* entry64 lies inside a loaded segment */
	uint64_t start, end;     /* guest-physical range the kernel may occupy */
	uint64_t initrd_addr_max; /* last byte the initrd may occupy */
	uint32_t cmdline_max;    /* longest command line, NUL excluded */
	struct setup_header hdr; /* bzImage: the image's header; ELF: zero */
};

/*
 * Place a vmlinux's PT_LOAD segments at their physical addresses. Any failure
 * is reported in err ("kernel: ...") and returned as a negative errno.
 */
int linux_load_elf(struct guest_mem *mem, const struct kernel_file *f,
		   struct linux_kernel *k, char *err, size_t errlen);

/*
 * Read and check an ELF64 x86_64 header and its program headers into
 * phdr[LINUX_ELF_MAX_PHNUM] (shared with the PVH note parser).
 */
#define LINUX_ELF_MAX_PHNUM 64 /* vmlinux has about 5; anything near 64 is not a kernel */
int linux_elf_headers(const struct kernel_file *f, Elf64_Ehdr *eh, Elf64_Phdr *phdr,
		      char *err, size_t errlen);

/* Place a bzImage's protected-mode kernel at 1 MiB after checking its header. */
int linux_load_bzimage(struct guest_mem *mem, const struct kernel_file *f,
		       struct linux_kernel *k, char *err, size_t errlen);

/*
 * The guest's memory map from its RAM regions (boot protocol: e820):
 * RAM [0, EBDA), reserved [EBDA, 1 MiB), RAM [1 MiB, low end), RAM above 4 GiB.
 * Returns the number of entries written (at most `max`).
 */
int linux_e820_map(const struct guest_mem *mem, struct e820_entry *out, int max);

/* Write the zero page at BOOT_ZERO_PAGE_ADDR; the command line is at cmdline_gpa. */
int linux_write_zero_page(struct guest_mem *mem, const struct linux_kernel *k,
			  uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size,
			  char *err, size_t errlen);

#endif
