// SPDX-License-Identifier: MIT
#include "ring3.h"

#define SEL_UDATA 0x20
#define SEL_UCODE 0x28
#define SEL_TSS   0x30

#define PTE_P  1ULL
#define PTE_W  2ULL
#define PTE_U  4ULL
#define PTE_PS 0x80ULL

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t gdt64[8] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[16384] __attribute__((aligned(16)));
static uint8_t ustack[65536] __attribute__((aligned(16)));
static trap_fn ring3_on_call;
static bool ud_seen;

bool ring3_ud_seen(void)
{
	return ud_seen;
}

static void on_ud(struct trap_frame *f)
{
	const uint8_t *ip = (const uint8_t *)f->rip;

	if ((f->cs & 3) == 3 && ip[0] == 0xcd && ip[1] == 0x80) {
		if (!ud_seen)
			kprintf("%s: int $0x80 from ring 3 arrived as #UD; taken as the call\n", kernel_name);
		ud_seen = true;
		f->rip += 2;
		ring3_on_call(f);
		return;
	}
	kprintf("unexpected exception 6 rip=%lx cs=%lx\n", f->rip, f->cs);
	outb(PANIC_PORT, 1);
	reset();
}

void ring3_setup(trap_fn on_call)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gd, id;
	uint64_t cr4, t = (uint64_t)(uintptr_t)&tss;
	struct idt_entry {
		uint16_t off_lo, sel;
		uint8_t ist, type;
		uint16_t off_mid;
		uint32_t off_hi, zero;
	} *idt;

	/* Page tables: 4 GiB identity of 2 MiB pages, all user-accessible. */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P | PTE_W | PTE_U | PTE_PS;
		pdpt[i] = (uint64_t)(uintptr_t)pd[i] | PTE_P | PTE_W | PTE_U;
	}
	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W | PTE_U;
	/* No SMEP/SMAP: ring 0 still runs (traps) from these user pages. */
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 &= ~((1ULL << 20) | (1ULL << 21));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");

	/* GDT: the boot selectors, then user data/code (DPL 3) and the TSS. */
	gdt64[0] = 0;
	gdt64[1] = 0x00cf9b000000ffffULL;
	gdt64[2] = 0x00af9b000000ffffULL;
	gdt64[3] = 0x00cf93000000ffffULL;
	gdt64[4] = 0x00cff3000000ffffULL; /* 0x20: data, DPL 3 */
	gdt64[5] = 0x00affb000000ffffULL; /* 0x28: code64, DPL 3 */
	tss.rsp[0] = (uint64_t)(uintptr_t)(kstack + sizeof(kstack));
	tss.iomap_base = sizeof(tss); /* no bitmap: IOPL 3 decides */
	gdt64[6] = (sizeof(tss) - 1) | (t & 0xffffff) << 16 | 0x89ULL << 40 | ((t >> 24) & 0xff) << 56;
	gdt64[7] = t >> 32;
	gd.limit = sizeof(gdt64) - 1;
	gd.base = (uint64_t)(uintptr_t)gdt64;
	__asm__ volatile("lgdt %0" : : "m"(gd));
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS));

	/* int $0x80 from ring 3: the gate's DPL 3 (lib.c made it DPL 0). */
	__asm__ volatile("sidt %0" : "=m"(id));
	idt = (struct idt_entry *)id.base;
	idt[0x80].type = 0xee;
	ring3_on_call = on_call;
	trap_set_handler(0x80, on_call);
	trap_set_handler(6, on_ud);
}

void ring3_enter(void (*user_main)(void))
{
	uint64_t sp = (uint64_t)(uintptr_t)(ustack + sizeof(ustack) - 8);

	__asm__ volatile("pushq %0\n\t"
			 "pushq %1\n\t"
			 "pushq $0x3002\n\t" /* IOPL 3, IF 0 */
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "iretq"
			 :
			 : "i"(SEL_UDATA | 3), "r"(sp), "i"(SEL_UCODE | 3), "r"((uint64_t)(uintptr_t)user_main)
			 : "memory");
	__builtin_unreachable();
}
