/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART on COM1 (port 0x3f8, IRQ 4), enough for Linux's 8250 driver
 * as a console: output goes to a file descriptor (or nowhere), input comes
 * from a file descriptor watched by the event loop.
 */
#ifndef FLASHPAN_SERIAL_H
#define FLASHPAN_SERIAL_H

#include "vmm/kvm.h"

struct serial;

/*
 * Register COM1 on vm's PIO bus. out_fd < 0 discards output; in_fd < 0 means
 * no input. Returns NULL (after printing why) on failure.
 */
struct serial *serial_create(struct vm *vm, int out_fd, int in_fd);
void serial_destroy(struct serial *s);

#endif
