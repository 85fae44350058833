// SPDX-License-Identifier: MIT
#include "guest/init/console.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void console__ensure_stdio(void)
{
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		fd = open("/dev/console", O_RDWR | O_NOCTTY);
		if (fd < 0)
			fd = open("/dev/null", O_RDWR);
		if (fd >= 0 && fd != i) {
			dup2(fd, i);
			close(fd);
		}
	}
}

void console__log(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "flashpan-init: %s\n", msg);
}

/*
 * Do a and b reach the same place? The same device node (the kernel's
 * /dev/console of the initramfs and devtmpfs's one are different inodes of one
 * device) or the same file. Then one copy of the message is enough.
 */
static bool same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	if (S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void console__fatal(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	int n, con;

	memcpy(msg, "FATAL: ", 7);
	va_start(ap, fmt);
	n = vsnprintf(msg + 7, sizeof(msg) - 8, fmt, ap);
	va_end(ap);
	n = n < 0 ? 7 : 7 + (n < (int)sizeof(msg) - 8 ? n : (int)sizeof(msg) - 9);
	msg[n++] = '\n';

	if (write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nothing better to do: the console below may still work */
	}
	con = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (con >= 0) {
		if (!same_file(con, STDERR_FILENO) && write(con, msg, (size_t)n) < 0) {
			/* as above */
		}
		close(con);
	}
	if (getpid() == 1)
		sync(); /* the disks keep what was written before the reset */
	exit(1);
}
