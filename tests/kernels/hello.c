// SPDX-License-Identifier: MIT
/* hello: one line, then an i8042 reset (flashpan exits 0). */
#include "lib.h"

const char kernel_name[] = "hello";

void kmain(struct boot_info *bi)
{
	kprintf("hello from flashpan test kernel (protocol: %s)\n", bi->protocol);
	reset();
}
