// SPDX-License-Identifier: MIT
/* reset: i8042 pulse-reset (flashpan exits 0). */
#include "lib.h"

const char kernel_name[] = "reset";

void kmain(struct boot_info *bi)
{
	kprintf("resetting\n");
	reset();
}
