/* SPDX-License-Identifier: MIT */
/* flashpan's process exit statuses; documented in --help and README.md. */
#ifndef FLASHPAN_EXITCODE_H
#define FLASHPAN_EXITCODE_H

enum fp_exit {
	FP_EXIT_OK = 0,           /* guest reset (i8042, reboot=k) or powered off */
	FP_EXIT_ERROR = 1,        /* host-side failure at run time (out of memory, I/O) */
	FP_EXIT_CONFIG = 2,       /* bad options or configuration, unusable kernel/initrd image */
	FP_EXIT_KVM = 3,          /* /dev/kvm missing or lacking a capability, KVM ioctl failed,
				     unhandled exit or emulation failure */
	FP_EXIT_TRIPLE_FAULT = 4, /* guest triple fault (KVM_EXIT_SHUTDOWN) */
	FP_EXIT_PANIC = 5,        /* guest reported a panic (pvpanic port or console) */
	/* 128 + signal number: stopped by SIGINT/SIGTERM, guest torn down cleanly */
};

#endif
