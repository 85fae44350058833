// SPDX-License-Identifier: MIT
/*
 * timer: interrupts from the in-kernel irqchip.
 *  1. 8259 PIC remapped to 0x20/0x28, IRQ0 unmasked, PIT channel 0 at 100 Hz
 *     (rate generator); the BSP gets them through LINT0 (ExtINT).
 *     Prints "lvt0: <hex>" as found at boot (flashpan sets 0x700, ExtINT; KVM
 *     does too at reset, but QEMU leaves it masked), and where it is not
 *     ExtINT programs it (virtual wire mode, as Linux does) and says so.
 *     Prints "pit: N ticks".
 *  2. LAPIC timer, periodic, vector 0x40, divide by 16, small initial count.
 *     Prints "lapic: N ticks".
 *  Then "timer ok", or "timer BAD: ..." naming what did not arrive, and reset.
 * The first interrupt of each source is awaited by polling against a TSC
 * deadline (a hlt with no interrupt coming would never return); once one has
 * arrived, the rest are awaited with hlt.
 */
#include "lib.h"

const char kernel_name[] = "timer";

#define WANT_TICKS 5
#define PIT_HZ 1193182
#define PIT_VECTOR 0x20
#define LAPIC_VECTOR 0x40

#define APIC_SVR   0xf0
#define APIC_EOI   0xb0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT0  0x350
#define APIC_TICR  0x380
#define APIC_TDCR  0x3e0
#define LVT_MASKED 0x10000
#define LVT_PERIODIC 0x20000

static volatile uint32_t pit_ticks, lapic_ticks;

static void on_pit(struct trap_frame *f)
{
	pit_ticks++;
	outb(0x20, 0x20); /* non-specific EOI to the master PIC */
}

static void on_lapic(struct trap_frame *f)
{
	lapic_ticks++;
	lapic_write(APIC_EOI, 0);
}

static void on_spurious(struct trap_frame *f)
{
}

static void pic_init(void)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(0xa0, 0x11);
	outb(0x21, 0x20); /* ICW2: vector base */
	outb(0xa1, 0x28);
	outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01); /* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0xa1, 0xff);
	outb(0x21, 0xfe); /* only IRQ0 */
}

/* Wait for `want` ticks of *counter: first one by polling, then with hlt. */
static uint32_t wait_ticks(volatile uint32_t *counter, uint32_t want)
{
	uint64_t t0 = rdtsc();

	sti();
	for (uint32_t i = 0; i < 20000000 && !*counter; i++) {
		if (rdtsc() - t0 > (1ULL << 33))
			break;
		cpu_relax();
	}
	for (uint32_t i = 0; *counter && *counter < want && i < 1000; i++)
		sti_hlt();
	cli();
	return *counter;
}

void kmain(struct boot_info *bi)
{
	uint32_t div = PIT_HZ / 100;
	uint32_t pit, lapic;

	trap_set_handler(PIT_VECTOR, on_pit);
	trap_set_handler(LAPIC_VECTOR, on_lapic);
	trap_set_handler(0x27, on_spurious);
	trap_set_handler(0xff, on_spurious);

	uint32_t lvt0 = lapic_read(APIC_LVT0);

	kprintf("lvt0: %x\n", lvt0);
	if ((lvt0 & (LVT_MASKED | 0x700)) != 0x700) {
		/* LVT writes are forced masked while the APIC is software-disabled. */
		lapic_write(APIC_SVR, 0x1ff);
		lapic_write(APIC_LVT0, 0x700);
		kprintf("lvt0: set to ExtINT\n");
	}
	pic_init();
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
	pit = wait_ticks(&pit_ticks, WANT_TICKS);
	outb(0x21, 0xff);
	kprintf("pit: %u ticks\n", pit);
	if (!pit)
		kprintf("pit: no interrupt (lapic lvt0=%x svr=%x)\n",
			lapic_read(APIC_LVT0), lapic_read(APIC_SVR));

	lapic_write(APIC_SVR, 0x1ff);
	lapic_write(APIC_TDCR, 0x3); /* divide by 16 */
	lapic_write(APIC_LVT_TIMER, LVT_PERIODIC | LAPIC_VECTOR);
	lapic_write(APIC_TICR, 100000); /* 1.6 ms at a 1 GHz APIC clock */
	lapic = wait_ticks(&lapic_ticks, WANT_TICKS);
	lapic_write(APIC_LVT_TIMER, LVT_MASKED);
	lapic_write(APIC_TICR, 0);
	kprintf("lapic: %u ticks\n", lapic);

	if (pit >= WANT_TICKS && lapic >= WANT_TICKS)
		kprintf("timer ok\n");
	else
		kprintf("timer BAD:%s%s\n", pit >= WANT_TICKS ? "" : " pit",
			lapic >= WANT_TICKS ? "" : " lapic");
	reset();
}
