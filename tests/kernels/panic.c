// SPDX-License-Identifier: MIT
/*
 * panic: what a Linux guest does on panic with pvpanic: the message, then
 * PVPANIC_PANICKED (1) to the pvpanic port, then halt forever. flashpan must
 * exit 5; a VMM without pvpanic hangs here (QEMU microvm does).
 * With pvpanic_only=1 on the command line the banner is left out, so only
 * the port can tell the VMM (flashpan also recognises the banner).
 */
#include "lib.h"

const char kernel_name[] = "panic";

void kmain(struct boot_info *bi)
{
	if (cmdline_uint(bi, "pvpanic_only", 0) == 1)
		kprintf("panic: reporting through the pvpanic port only\n");
	else
		kprintf("Kernel panic - not syncing: test\n");
	outb(PANIC_PORT, 1);
	halt_forever();
}
