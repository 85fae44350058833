/* SPDX-License-Identifier: MIT */
/*
 * Where the VMM puts boot structures in guest-physical memory. Everything
 * below 1 MiB except the EBDA is free for us because there is no firmware.
 */
#ifndef FLASHPAN_LAYOUT_H
#define FLASHPAN_LAYOUT_H

#define BOOT_GDT_ADDR        0x500ULL    /* GDT, see boot/pagetables.c */
#define BOOT_PVH_INFO_ADDR   0x6000ULL   /* struct hvm_start_info */
#define BOOT_PVH_MEMMAP_ADDR 0x6100ULL   /* hvm_memmap_table_entry[] */
#define BOOT_PVH_MODLIST_ADDR 0x6800ULL  /* hvm_modlist_entry[] (the initrd) */
#define BOOT_ZERO_PAGE_ADDR  0x7000ULL   /* struct boot_params (Linux "zero page") */
#define BOOT_STACK_TOP       0x8ff0ULL   /* initial RSP/ESP */
#define BOOT_PML4_ADDR       0x9000ULL   /* identity page tables for 64-bit entry */
#define BOOT_PDPT_ADDR       0xa000ULL
#define BOOT_PD_ADDR         0xb000ULL   /* 4 pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL  /* bytes reserved, NUL included */
#define BOOT_EBDA_START      0x9fc00ULL  /* reserved up to 1 MiB; MP table lives here */
#define BOOT_MPTABLE_ADDR    BOOT_EBDA_START
#define BOOT_HIMEM_START     0x100000ULL /* bzImage protected-mode kernel goes here */

/* GDT selectors (index * 8). 0x10/0x18 are Linux's __BOOT_CS/__BOOT_DS. */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA   0x18
#define BOOT_SEL_TSS    0x20

/* Legacy devices. */
#define COM1_PORT   0x3f8
#define COM1_IRQ    4
#define I8042_DATA  0x60
#define I8042_CMD   0x64
/*
 * flashpan's debug ports: a write of BOOT_TIMER_MAGIC to BOOT_TIMER_PORT
 * records the time since the VMM started (--boot-timer prints it); a write
 * of any byte to POWEROFF_PORT powers the machine off (exit status 0); a write
 * of 1 to PANIC_PORT (pvpanic's port) reports a guest panic.
 */
#define BOOT_TIMER_PORT  0x440
#define BOOT_TIMER_MAGIC 123
#define POWEROFF_PORT    0x441
#define PANIC_PORT       0x505

/* MMIO hole contents. Virtio-mmio devices get 4 KiB each from VIRTIO_MMIO_BASE. */
#define VIRTIO_MMIO_BASE 0xd0000000ULL
#define VIRTIO_MMIO_SIZE 0x1000ULL
#define VIRTIO_MMIO_GSI_BASE 5
#define IOAPIC_ADDR 0xfec00000ULL
#define LAPIC_ADDR  0xfee00000ULL

#endif
