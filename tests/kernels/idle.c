// SPDX-License-Identifier: MIT
/* idle: one line, then halts with interrupts off until the VMM is stopped from outside. */
#include "lib.h"

const char kernel_name[] = "idle";

void kmain(struct boot_info *bi)
{
	kprintf("idle: halting (protocol: %s)\n", bi->protocol);
	for (;;)
		__asm__ volatile("cli; hlt");
}
