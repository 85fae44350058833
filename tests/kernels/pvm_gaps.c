// SPDX-License-Identifier: MIT
/*
 * pvm-gaps: instructions KVM's emulator cannot execute on kvm_pvm hosts (see
 * PLATFORM.md), which the VMM has to complete itself.
 *  - int3 with an IDT #BP handler: the handler must run once and execution
 *    continue after the int3.
 *  - with vmcall=1 on the command line: vmcall with RAX = 12345 (no such
 *    hypercall); KVM's answer is RAX = -1000 (-KVM_ENOSYS) and RIP past it.
 *    Where vmcall is #UD (no VMX/SVM, e.g. QEMU TCG) the #UD handler skips it.
 */
#include "lib.h"

const char kernel_name[] = "pvm-gaps";

static volatile int bp_count, ud_count;
static volatile uint64_t bp_rip;

static void on_bp(struct trap_frame *f)
{
	bp_count++;
	bp_rip = f->rip; /* #BP is a trap: RIP is already past the int3 */
}

static void on_ud(struct trap_frame *f)
{
	ud_count++;
	f->rip += 3;
}

void kmain(struct boot_info *bi)
{
	uint64_t after;

	trap_set_handler(3, on_bp);
	trap_set_handler(6, on_ud);
	__asm__ volatile("int3\n\t"
			 "1: lea 1b(%%rip), %0" : "=r"(after));
	if (bp_count == 1 && bp_rip == after)
		kprintf("int3 ok\n");
	else
		kprintf("int3 BAD: handler ran %d times, rip %lx want %lx\n", bp_count, bp_rip, after);

	if (cmdline_uint(bi, "vmcall", 0) == 1) {
		int64_t rax = 12345;

		kprintf("vmcall: calling\n");
		__asm__ volatile("vmcall" : "+a"(rax) : "b"(0), "c"(0), "d"(0), "S"(0) : "memory");
		if (ud_count)
			kprintf("vmcall: #UD\n");
		else
			kprintf("vmcall ok rax=%ld\n", rax);
	}
	kprintf("pvm-gaps done\n");
	reset();
}
