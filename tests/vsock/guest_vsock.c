// SPDX-License-Identifier: MIT
/*
 * guest_vsock: the guest side of the vsock tests, a static program for the
 * test initramfs (AF_VSOCK through Linux's virtio-vsock driver).
 *
 *   guest_vsock echo PORT N
 *       Listen on vsock PORT, echo every connection until its EOF (one child
 *       process per connection), exit 0 after N connections ended.
 *   guest_vsock exchange PORT N BYTES
 *       N times, one after another: connect to the host (CID 2) PORT, send
 *       BYTES of the pattern of connection 0 and half-close, expect the same
 *       BYTES back and EOF (tests/vsock/vsock_client.c "serve" is the peer).
 *
 * Prints one "guest_vsock: ..." result line.
 */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static uint8_t pattern(size_t off)
{
	return (uint8_t)(off * 131 + (off >> 9)); /* vsock_client's pattern(0, off) */
}

static void echo_one(int fd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				_exit(1);
			off += w;
		}
	}
	_exit(n < 0);
}

static int echo(unsigned port, int n)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY };
	int lfd = socket(AF_VSOCK, SOCK_STREAM, 0), done = 0, bad = 0, status;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
		printf("guest_vsock: echo: cannot listen on port %u: %s\n", port, strerror(errno));
		return 1;
	}
	printf("guest_vsock: echo listening on port %u\n", port);
	fflush(stdout);
	for (int accepted = 0; accepted < n;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		accepted++;
		if (fork() == 0) {
			close(lfd);
			echo_one(fd);
		}
		close(fd);
		while (waitpid(-1, &status, WNOHANG) > 0) {
			done++;
			bad += !WIFEXITED(status) || WEXITSTATUS(status);
		}
	}
	while (done < n && wait(&status) > 0) {
		done++;
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	printf("guest_vsock: echo served %d connections on port %u, %d failed\n", done, port, bad);
	return bad != 0;
}

static const char *exchange_one(unsigned port, size_t total)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_HOST };
	static char buf[65536];
	size_t sent = 0, got = 0;
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0), eof = 0;
	const char *why = NULL;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return "connect failed";
	while (!why) {
		struct pollfd p = { .fd = fd, .events = (eof ? 0 : POLLIN) | (sent < total ? POLLOUT : 0) };

		if (eof && sent == total)
			break;

		if (poll(&p, 1, 20000) <= 0) {
			why = "timed out";
			break;
		}
		if ((p.revents & POLLOUT) && sent < total) {
			size_t n = total - sent > sizeof(buf) ? sizeof(buf) : total - sent;
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				buf[i] = (char)pattern(sent + i);
			w = send(fd, buf, n, MSG_DONTWAIT);
			if (w > 0) {
				sent += (size_t)w;
				if (sent == total)
					shutdown(fd, SHUT_WR);
			} else if (w < 0 && errno != EAGAIN) {
				why = "send failed";
			}
		}
		if (!eof && (p.revents & (POLLIN | POLLHUP))) {
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (r == 0) {
				eof = 1; /* the host is done sending; we may not be */
				if (got != total)
					why = "EOF too early";
				continue;
			}
			if (r < 0 && errno != EAGAIN)
				why = "recv failed";
			for (ssize_t i = 0; i < r && !why; i++, got++)
				if (got >= total || (uint8_t)buf[i] != pattern(got))
					why = "wrong byte";
		}
	}
	close(fd);
	return why;
}

static int exchange(unsigned port, int n, size_t total)
{
	int ok = 0;
	const char *why = NULL;

	for (int i = 0; i < n; i++) {
		const char *w = exchange_one(port, total);

		if (w && !why)
			why = w;
		ok += !w;
	}
	printf("guest_vsock: exchange %d/%d connections to host port %u moved %zu bytes each way correctly%s%s\n",
	       ok, n, port, total, why ? "; first failure: " : "", why ? why : "");
	return ok != n;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return echo((unsigned)atoi(argv[2]), atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "exchange"))
		return exchange((unsigned)atoi(argv[2]), atoi(argv[3]), strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: guest_vsock echo PORT N | exchange PORT N BYTES\n");
	return 2;
}
