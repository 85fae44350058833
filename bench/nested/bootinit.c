// SPDX-License-Identifier: MIT
/*
 * bootinit: /init of the nested boot-latency benchmark's guest (bench/run.sh, section nested).
 * Static, no libc start-up work beyond what -static brings. It mounts devtmpfs on /dev (as a
 * real /init would), writes 123 to the boot-timer port 0x440 (ioperm + outb; flashpan
 * --boot-timer prints its line, QEMU's isa-debugcon at 0x440 writes the byte to stderr),
 * prints a marker on the console and resets the machine (the kernel's reboot=k: i8042).
 *
 * Built by bench/bench.mk with -static; bench/run.sh packs it alone into an uncompressed cpio.
 */
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	static const char marker[] = "flashpan-bench: /init reached\n";

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	if (ioperm(0x440, 1, 1) == 0)
		outb(123, 0x440);
	else
		perror("bootinit: ioperm");
	if (write(STDOUT_FILENO, marker, sizeof(marker) - 1) < 0) {
		/* no console: nothing to report */
	}
	sync();
	reboot(RB_AUTOBOOT);
	perror("bootinit: reboot");
	for (;;)
		pause();
}
