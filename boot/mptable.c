// SPDX-License-Identifier: MIT
/*
 * MP table (Intel MultiProcessor Specification 1.4) for a machine with
 * nr_cpus local APICs, KVM's in-kernel IOAPIC and one ISA bus. Linux finds
 * the floating pointer by scanning the last KiB of base memory (639 KiB,
 * BOOT_EBDA_START), where it is written; the configuration table follows it
 * and stays inside the range the e820 map reserves ([EBDA, 1 MiB)).
 */
#include "boot/mptable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/layout.h"

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf_intel");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");

/* The largest table (64 CPUs: 1496 bytes) ends well below 1 MiB. */
_Static_assert(BOOT_MPTABLE_ADDR + 16 + 44 + MPTABLE_MAX_CPUS * 20 + 8 + 8 +
	       (MPTABLE_ISA_IRQS + 2) * 8 <= BOOT_HIMEM_START, "MP table must stay below 1 MiB");

#define MP_SPEC_REV     4    /* 1.4 */
#define MP_APIC_VERSION 0x14 /* KVM's local APIC */
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_SIGNATURE 0x600 /* family 6 */
#define MP_CPU_FEATURES  0x201 /* CPUID.1:EDX FPU | APIC */
#define MP_BUS_ISA      0
#define MP_IRQ_DEFAULT  0    /* polarity and trigger: conforms to the bus */
#define MP_ALL_APICS    0xff

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static size_t mpc_entries_size(int nr_cpus)
{
	return nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (MPTABLE_ISA_IRQS + 2) * sizeof(struct mpc_intsrc);
}

size_t mptable_size(int nr_cpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) + mpc_entries_size(nr_cpus);
}

int mptable_write(struct guest_mem *mem, int nr_cpus, char *err, size_t errlen)
{
	uint64_t mpc_gpa = BOOT_MPTABLE_ADDR + sizeof(struct mpf_intel);
	size_t size, mpc_len;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t *base, *p;
	uint8_t ioapic_id = (uint8_t)nr_cpus;

	if (nr_cpus < 1 || nr_cpus > MPTABLE_MAX_CPUS) {
		snprintf(err, errlen, "boot: %d CPUs requested; the MP table supports 1 to %d",
			 nr_cpus, MPTABLE_MAX_CPUS);
		return -EINVAL;
	}
	size = mptable_size(nr_cpus);
	base = guest_mem_ptr(mem, BOOT_MPTABLE_ADDR, size);
	if (!base) {
		snprintf(err, errlen, "boot: MP table at 0x%llx is outside guest RAM", BOOT_MPTABLE_ADDR);
		return -EFAULT;
	}
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)mpc_gpa;
	mpf->length = 1;
	mpf->specrev = MP_SPEC_REV;

	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	mpc_len = sizeof(*mpc) + mpc_entries_size(nr_cpus);
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)mpc_len;
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "FLASHPAN", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = (uint16_t)(nr_cpus + 1 + 1 + MPTABLE_ISA_IRQS + 2);
	mpc->lapic = (uint32_t)LAPIC_ADDR;

	p = (uint8_t *)(mpc + 1);
	for (int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpufeature = MP_CPU_SIGNATURE,
			.featureflag = MP_CPU_FEATURES,
		};

		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}

	struct mpc_bus bus = { .type = MP_BUS, .busid = MP_BUS_ISA };

	memcpy(bus.bustype, "ISA   ", 6);
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);

	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = ioapic_id,
		.apicver = MP_IOAPIC_VERSION,
		.flags = 1, /* enabled */
		.apicaddr = (uint32_t)IOAPIC_ADDR,
	};

	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);

	/* ISA IRQ n is wired to IOAPIC pin n, as KVM's default GSI routing does. */
	for (int irq = 0; irq < MPTABLE_ISA_IRQS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_IRQ_INT,
			.irqflag = MP_IRQ_DEFAULT,
			.srcbus = MP_BUS_ISA,
			.srcbusirq = (uint8_t)irq,
			.dstapic = ioapic_id,
			.dstirq = (uint8_t)irq,
		};

		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}

	/* MP spec 5.1, virtual wire mode: the PIC on LINT0 (ExtINT), NMI on LINT1. */
	struct mpc_intsrc lint[2] = {
		{ .type = MP_LINTSRC, .irqtype = MP_IRQ_EXTINT, .srcbus = MP_BUS_ISA,
		  .dstapic = MP_ALL_APICS, .dstirq = 0 },
		{ .type = MP_LINTSRC, .irqtype = MP_IRQ_NMI, .srcbus = MP_BUS_ISA,
		  .dstapic = MP_ALL_APICS, .dstirq = 1 },
	};

	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);

	if ((size_t)(p - base) != size) {
		snprintf(err, errlen, "boot: MP table size mismatch (internal error)");
		return -EINVAL;
	}
	mpc->checksum = mp_checksum(mpc, mpc_len);
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
