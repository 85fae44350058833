/* SPDX-License-Identifier: MIT */
/*
 * Messages of the guest init. PID 1's stdout and stderr are the console the
 * kernel opened (console=ttyS0): the host reads them on the VM's serial port.
 */
#ifndef FLASHPAN_GUEST_INIT_CONSOLE_H
#define FLASHPAN_GUEST_INIT_CONSOLE_H

/* Gives PID 1 a stdin/stdout/stderr on /dev/console when the kernel could not. */
void console__ensure_stdio(void);

/* "flashpan-init: <message>" on stderr. */
void console__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * "FATAL: <reason>" on stderr and on /dev/console (once when they are the same),
 * then exit(1). For PID 1 that panics the kernel; panic=1 resets the VM, which
 * ends the VMM (GUEST-CONTRACT.md, "Guest init").
 */
void console__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
