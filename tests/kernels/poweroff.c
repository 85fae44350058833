// SPDX-License-Identifier: MIT
/* poweroff: flashpan's poweroff port (exit 0); reset if nobody listens (QEMU). */
#include "lib.h"

const char kernel_name[] = "poweroff";

void kmain(struct boot_info *bi)
{
	kprintf("powering off\n");
	poweroff();
}
