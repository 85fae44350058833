// SPDX-License-Identifier: MIT
#include "devices/i8042.h"

#include <string.h>

#include "boot/layout.h"
#include "vmm/exitcode.h"

#define I8042_CMD_RESET 0xfe

/*
 * Port 0x60 (data) reads 0; port 0x64 (status) reads 0: output buffer empty,
 * input buffer empty, so a driver's wait-for-ready loops end at once. Linux's
 * i8042 probe then finds no keyboard or mouse, which is what we want.
 */
static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (off == I8042_CMD - I8042_DATA && data[0] == I8042_CMD_RESET)
		vm_request_stop(vm, atomic_load(&vm->guest_panicked) ? FP_EXIT_PANIC : FP_EXIT_OK);
}

int i8042_register(struct vm *vm)
{
	/* Ports 0x60..0x64; 0x61 is the in-kernel PIT's speaker port and never exits to us. */
	return bus_register(&vm->pio, I8042_DATA, I8042_CMD - I8042_DATA + 1, i8042_io, vm, "i8042");
}
