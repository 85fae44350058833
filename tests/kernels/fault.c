// SPDX-License-Identifier: MIT
/*
 * fault: triple fault on purpose (flashpan exits 4). The IDT has limit 0,
 * so the first exception cannot be delivered: #GP, then #DF, then shutdown.
 * fault=int3 (default) | ud2 | div0 | gp picks the first exception; on
 * kvm_pvm int3 and ud2 are not emulated and depend on the VMM's work-around,
 * div0 and gp are raised by KVM's emulator itself.
 */
#include "lib.h"

const char kernel_name[] = "fault";

static bool is(const char *v, const char *w)
{
	while (*w && *v == *w) {
		v++;
		w++;
	}
	return !*w && (*v == ' ' || !*v);
}

void kmain(struct boot_info *bi)
{
	const char *how = cmdline_value(bi, "fault");
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) none = { 0, 0 };

	if (!how)
		how = "int3";
	kprintf("faulting\n");
	cli();
	__asm__ volatile("lidt %0" : : "m"(none));
	if (is(how, "ud2"))
		__asm__ volatile("ud2");
	else if (is(how, "div0"))
		__asm__ volatile("xor %%edx, %%edx; xor %%ecx, %%ecx; mov $1, %%eax; div %%ecx"
				 ::: "rax", "rcx", "rdx");
	else if (is(how, "gp"))
		/* A non-canonical address: #GP. */
		__asm__ volatile("movabs $0x8000000000000000, %%rax; mov (%%rax), %%rax" ::: "rax");
	else
		__asm__ volatile("int3");
	kprintf("fault: still running after the fault\n");
	halt_forever();
}
