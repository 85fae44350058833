/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * finds its CPUs, its IOAPIC and how ISA IRQs are wired.
 */
#ifndef FLASHPAN_BOOT_MPTABLE_H
#define FLASHPAN_BOOT_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

#define MPTABLE_MAX_CPUS 64
#define MPTABLE_ISA_IRQS 24 /* IO interrupt entries for IRQ 0..23 -> IOAPIC pin 0..23 (all pins: virtio GSIs go past 15) */

/* MP spec 4.1: the floating pointer structure (16 bytes). */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* the configuration table */
	uint8_t length;    /* in 16-byte units: 1 */
	uint8_t specrev;   /* 4 = version 1.4 */
	uint8_t checksum;  /* all bytes sum to 0 */
	uint8_t feature1;  /* 0: a configuration table is present */
	uint8_t feature2;  /* bit 7 IMCR: 0, virtual wire mode */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

/* MP spec 4.2: the configuration table header (44 bytes). */
struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* header and base entries */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;    /* local APIC address */
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* MP spec 4.3, entry types and their 20- or 8-byte layouts. */
enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_SMI = 2, MP_IRQ_EXTINT = 3 };
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc { /* also the local interrupt entry (type 4): same layout */
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

/* Bytes the tables take for nr_cpus. */
size_t mptable_size(int nr_cpus);

/*
 * Write the floating pointer and configuration table at BOOT_MPTABLE_ADDR
 * for nr_cpus (1..MPTABLE_MAX_CPUS) CPUs with APIC ids 0..n-1 (0 the BSP) and
 * the IOAPIC (id nr_cpus) at IOAPIC_ADDR. 0 or -errno with err set.
 */
int mptable_write(struct guest_mem *mem, int nr_cpus, char *err, size_t errlen);

#endif
