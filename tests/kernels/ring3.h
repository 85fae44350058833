/* SPDX-License-Identifier: MIT */
/*
 * Ring 3 for the benchmark kernels: on an emulating KVM host (kvm_pvm) guest
 * code at CPL0 runs in KVM's instruction emulator and CPL3 code runs natively,
 * so the request loops run in user mode. The whole first 4 GiB stays identity-
 * mapped, now user-accessible (virtqueues and the MMIO windows included); user
 * code gets IOPL 3 and IF 0 and comes back to ring 0 through `int $0x80`
 * (RAX = call number, RDI = argument).
 */
#ifndef TINY_RING3_H
#define TINY_RING3_H

#include "lib.h"

/*
 * User-accessible page tables, a GDT with DPL-3 segments and a TSS, and
 * `on_call` for int $0x80, also when kvm_pvm delivers it as #UD
 * (PLATFORM.md): the #UD handler recognises the instruction and steps over it.
 */
void ring3_setup(trap_fn on_call);
/* iretq to user_main at CPL3 on a stack of its own; never returns. */
void ring3_enter(void (*user_main)(void)) __attribute__((noreturn));
/* Whether a call arrived as #UD rather than through the gate. */
bool ring3_ud_seen(void);

/* From ring 3: call into ring 0. */
static inline void ring3_call(uint64_t nr, const void *arg)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : "D"(arg) : "memory");
}

#endif
