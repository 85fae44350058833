// SPDX-License-Identifier: MIT
/*
 * smp: brings up cpus=N (command line) processors with INIT-SIPI-SIPI and a
 * real-mode trampoline at 0x10000 (smp_tramp.S). Each AP prints
 * "cpu <apicid> up" and increments a counter; the BSP waits (bounded) and
 * prints "smp: all N cpus up" or "smp: only K of N cpus", then resets.
 * sipi=each sends the IPIs to APIC ids 1..N-1 one by one instead of the
 * all-excluding-self broadcast.
 */
#include "lib.h"

const char kernel_name[] = "smp";

#define TRAMP_BASE 0x10000UL
#define MAX_CPUS 64
#define AP_STACK 8192

#define APIC_ID      0x20
#define APIC_SVR     0xf0
#define APIC_ICR_LO  0x300
#define APIC_ICR_HI  0x310
#define ICR_INIT     0x00000500
#define ICR_STARTUP  0x00000600
#define ICR_ASSERT   0x00004000
#define ICR_LEVEL    0x00008000
#define ICR_BUSY     0x00001000
#define ICR_ALL_BUT_SELF 0x000c0000

struct smp_tramp_data {
	uint64_t cr3, stacks, entry;
	uint32_t next, pad;
};

extern const char smp_tramp_start[], smp_tramp_end[], smp_tramp_data[];

static uint8_t ap_stacks[MAX_CPUS][AP_STACK] __attribute__((aligned(16)));
static volatile uint32_t ap_up;

static void ap_main(void)
{
	idt_load();
	kprintf("cpu %u up\n", lapic_read(APIC_ID) >> 24);
	__atomic_add_fetch(&ap_up, 1, __ATOMIC_RELEASE);
	halt_forever();
}

static void delay(uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < cycles)
		cpu_relax();
}

static void send_ipi(uint32_t dest, uint32_t lo)
{
	for (int i = 0; i < 100000 && (lapic_read(APIC_ICR_LO) & ICR_BUSY); i++)
		cpu_relax();
	lapic_write(APIC_ICR_HI, dest << 24);
	lapic_write(APIC_ICR_LO, lo);
}

static void start_aps(uint32_t n, bool each)
{
	struct smp_tramp_data *d;
	uint64_t cr3;
	uint32_t sipi = ICR_STARTUP | (TRAMP_BASE >> 12);

	kmemcpy((void *)TRAMP_BASE, smp_tramp_start, smp_tramp_end - smp_tramp_start);
	d = (void *)(TRAMP_BASE + (smp_tramp_data - smp_tramp_start));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	d->cr3 = cr3;
	d->stacks = (uint64_t)ap_stacks;
	d->entry = (uint64_t)ap_main;
	d->next = 0;

	lapic_write(APIC_SVR, 0x1ff); /* software-enable, spurious vector 0xff */
	if (each) {
		for (uint32_t id = 1; id < n; id++) {
			send_ipi(id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
			delay(100000);
			send_ipi(id, sipi);
			delay(10000);
			send_ipi(id, sipi);
		}
	} else {
		send_ipi(0, ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT | ICR_LEVEL);
		delay(100000);
		send_ipi(0, ICR_ALL_BUT_SELF | sipi);
		delay(10000);
		send_ipi(0, ICR_ALL_BUT_SELF | sipi);
	}
}

void kmain(struct boot_info *bi)
{
	uint32_t n = (uint32_t)cmdline_uint(bi, "cpus", 1);
	const char *how = cmdline_value(bi, "sipi");
	bool each = how && how[0] == 'e';

	if (n < 1)
		n = 1;
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	kprintf("cpu %u up (bsp)\n", lapic_read(APIC_ID) >> 24);
	if (n > 1) {
		start_aps(n, each);
		/* Bounded wait: ~2^34 TSC cycles (several seconds) or 20M polls. */
		uint64_t t0 = rdtsc();

		for (uint32_t i = 0; i < 20000000; i++) {
			if (__atomic_load_n(&ap_up, __ATOMIC_ACQUIRE) >= n - 1)
				break;
			if (rdtsc() - t0 > (1ULL << 34))
				break;
			cpu_relax();
		}
	}
	uint32_t up = __atomic_load_n(&ap_up, __ATOMIC_ACQUIRE) + 1;

	if (up >= n)
		kprintf("smp: all %u cpus up\n", n);
	else
		kprintf("smp: only %u of %u cpus\n", up, n);
	reset();
}
