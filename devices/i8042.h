/* SPDX-License-Identifier: MIT */
/*
 * Just enough of the i8042 keyboard controller for Linux's `reboot=k`: the
 * pulse-reset command (0xfe to port 0x64) ends the VM with status 0 (or the
 * panic status if the guest reported a panic first).
 */
#ifndef FLASHPAN_I8042_H
#define FLASHPAN_I8042_H

#include "vmm/kvm.h"

int i8042_register(struct vm *vm);

#endif
