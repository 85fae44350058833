/* SPDX-License-Identifier: MIT */
/*
 * The GDT and identity page tables the VMM gives the boot vCPU: a flat
 * 32-bit code segment (PVH entry), a 64-bit code segment, a data segment and
 * a TSS (see BOOT_SEL_* in boot/layout.h), and 4 GiB identity-mapped with
 * 2 MiB pages for the Linux 64-bit entry.
 */
#ifndef FLASHPAN_PAGETABLES_H
#define FLASHPAN_PAGETABLES_H

#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/mem.h"

#define BOOT_GDT_ENTRIES 5

/* Write the GDT and the page tables into guest memory; 0 or -EFAULT. */
int boot_write_gdt_and_pagetables(struct guest_mem *mem);
/* The KVM segment register for GDT selector `sel`. */
struct kvm_segment boot_segment(uint16_t sel);

#endif
