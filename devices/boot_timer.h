/* SPDX-License-Identifier: MIT */
/*
 * flashpan's debug ports (addresses in boot/layout.h):
 *   BOOT_TIMER_PORT (0x440)  write BOOT_TIMER_MAGIC (123): record the time since
 *                            the VMM started; printed to stderr with --boot-timer
 *   POWEROFF_PORT (0x441)    any write: power off, exit status 0
 *   PANIC_PORT (0x505)       pvpanic's port: writing bit 0 (PANICKED) ends the VM
 *                            with FP_EXIT_PANIC
 */
#ifndef FLASHPAN_BOOT_TIMER_H
#define FLASHPAN_BOOT_TIMER_H

#include "vmm/kvm.h"

int boot_timer_register(struct vm *vm);

#endif
