// SPDX-License-Identifier: MIT
/* Listening sockets for the agent; see transport.h. */
#include "guest/agent/transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

static int listen_on(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int transport_listen_vsock(uint32_t port)
{
	struct sockaddr_vm vm = {
		.svm_family = AF_VSOCK,
		.svm_port = port,
		.svm_cid = VMADDR_CID_ANY,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	return listen_on(fd, (struct sockaddr *)&vm, sizeof(vm));
}

int transport_listen_unix(const char *prefix, uint32_t port)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(un.sun_path, sizeof(un.sun_path), "%s_%u", prefix, port);
	if (n < 0 || (size_t)n >= sizeof(un.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(un.sun_path);
	return listen_on(fd, (struct sockaddr *)&un, sizeof(un));
}

int transport_accept(int listen_fd)
{
	int fd;

	do {
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}
