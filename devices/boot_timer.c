// SPDX-License-Identifier: MIT
#include "devices/boot_timer.h"

#include <stdio.h>
#include <string.h>

#include "boot/layout.h"
#include "vmm/exitcode.h"

static void boot_timer_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (data[0] == BOOT_TIMER_MAGIC && vm->boot_timer_print) {
		uint64_t ns = now_ns() - vm->t0_ns;

		fprintf(stderr, "flashpan: boot-timer: %llu.%03llu ms since VMM start\n",
			(unsigned long long)(ns / 1000000), (unsigned long long)(ns / 1000 % 1000));
	}
}

static void poweroff_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (is_write)
		vm_request_stop(vm, FP_EXIT_OK);
	else
		memset(data, 0, len);
}

static void panic_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		/* pvpanic: reading reports the events supported (bit 0: PANICKED). */
		memset(data, 0, len);
		data[0] = 1;
		return;
	}
	if (data[0] & 1) {
		atomic_store(&vm->guest_panicked, true);
		vm_request_stop(vm, FP_EXIT_PANIC);
	}
}

int boot_timer_register(struct vm *vm)
{
	int err = bus_register(&vm->pio, BOOT_TIMER_PORT, 1, boot_timer_io, vm, "boot-timer");

	if (!err)
		err = bus_register(&vm->pio, POWEROFF_PORT, 1, poweroff_io, vm, "poweroff");
	if (!err)
		err = bus_register(&vm->pio, PANIC_PORT, 1, panic_io, vm, "pvpanic");
	return err;
}
