// SPDX-License-Identifier: MIT
/*
 * vk_host: the host side of the vsock tiny-kernel tests (tests/vsock-kernels.t.sh).
 * The stream pattern is the one of tests/kernels/vsock_drv.h: byte k is byte
 * (k & 7) of (k / 8 + seed) * 0x9e3779b97f4a7c15, little endian.
 *
 *   vk_host xfer connect UDS PORT BYTES SEED ORDER   host-initiated (CONNECT PORT, retried
 *   vk_host xfer listen PATH_P BYTES SEED ORDER      until OK) or guest-initiated (accept one)
 *       ORDER send-first: send BYTES of SEED, shut down writing, then expect BYTES of SEED+1
 *       and EOF; recv-first: the other way round. Then wait for the guest's close (HUP).
 *   vk_host rst-expect UDS PORT      CONNECT, OK, then the connection must end with no data
 *   vk_host refused UDS PORT         CONNECT must be closed without an OK line
 *   vk_host abort UDS PORT BYTES     CONNECT, OK, send BYTES, close at once without reading
 *   vk_host reset-expect PATH_P      accept one, read until EOF/reset: report the bytes
 * Prints one line "vk_host <mode>: ok ..." or "vk_host <mode>: BAD ..."; exit 0 only if ok.
 * A global bound of 60 s (alarm).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *mode = "?";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((noreturn, format(printf, 1, 2))) bad(const char *fmt, ...)
{
	va_list ap;

	printf("vk_host %s: BAD ", mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static uint8_t pat_byte(uint64_t seed, uint64_t k)
{
	return (uint8_t)(((k >> 3) + seed) * 0x9e3779b97f4a7c15ULL >> (8 * (k & 7)));
}

static void pat_fill(uint8_t *p, size_t n, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat_byte(seed, off + i);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Reads the reply line byte by byte (nothing past the newline). 1: OK, 0: closed without OK. */
static int read_ok(int fd, char *line, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r = read(fd, line + n, 1);

		if (r <= 0)
			break;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	return n > 3 && !strncmp(line, "OK ", 3) && line[n - 1] == '\n';
}

/* CONNECT PORT; retried (the guest's driver may not be up yet) for up to `secs`. */
static int connect_port(const char *uds, unsigned port, double secs, double *lat)
{
	double end = now_s() + secs;
	char line[64];

	for (;;) {
		int fd = unix_connect(uds);

		if (fd >= 0) {
			int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
			double t0 = now_s();

			if (write(fd, line, n) == n && read_ok(fd, line, sizeof(line))) {
				if (lat)
					*lat = now_s() - t0;
				return fd;
			}
			close(fd);
		}
		if (now_s() > end)
			bad("no OK for CONNECT %u in %.0f s", port, secs);
		usleep(100000);
	}
}

static int accept_one(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd;

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		bad("cannot listen on %s: %s", path, strerror(errno));
	fd = accept(l, NULL, NULL);
	if (fd < 0)
		bad("accept: %s", strerror(errno));
	close(l);
	unlink(path);
	return fd;
}

static void send_all(int fd, uint64_t n, uint64_t seed)
{
	static uint8_t buf[65536];
	uint64_t off = 0;

	while (off < n) {
		size_t k = n - off > sizeof(buf) ? sizeof(buf) : (size_t)(n - off);
		ssize_t w;

		pat_fill(buf, k, seed, off);
		w = write(fd, buf, k);
		if (w <= 0)
			bad("write at %llu of %llu: %s", (unsigned long long)off, (unsigned long long)n,
			    w < 0 ? strerror(errno) : "0");
		off += (uint64_t)w;
	}
}

/* Reads to EOF checking the pattern; returns the byte count. */
static uint64_t recv_all(int fd, uint64_t seed, bool check)
{
	static uint8_t buf[65536];
	uint64_t off = 0;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r == 0)
			return off;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (!check)
				return off;
			bad("read at %llu: %s", (unsigned long long)off, strerror(errno));
		}
		for (ssize_t i = 0; check && i < r; i++)
			if (buf[i] != pat_byte(seed, off + (uint64_t)i))
				bad("byte %llu is 0x%02x, want 0x%02x", (unsigned long long)(off + (uint64_t)i), buf[i],
				    pat_byte(seed, off + (uint64_t)i));
		off += (uint64_t)r;
	}
}

/* Waits for the peer to close its end entirely (POLLHUP). */
static bool wait_hup(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	return poll(&p, 1, ms) == 1 && (p.revents & (POLLHUP | POLLERR));
}

int main(int argc, char **argv)
{
	alarm(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		goto usage;
	mode = argv[1];
	if (!strcmp(mode, "xfer") && argc >= 7 && argc == (strcmp(argv[2], "listen") ? 8 : 7)) {
		bool listen_side = !strcmp(argv[2], "listen");
		int k = listen_side ? 4 : 5;
		uint64_t n = strtoull(argv[k], NULL, 0), seed = strtoull(argv[k + 1], NULL, 0), got;
		bool send_first = !strcmp(argv[k + 2], "send-first");
		double t0, t1;
		int fd = listen_side ? accept_one(argv[3]) : connect_port(argv[3], (unsigned)atoi(argv[4]), 30, NULL);

		t0 = now_s();
		if (send_first) {
			send_all(fd, n, seed);
			shutdown(fd, SHUT_WR);
			got = recv_all(fd, seed + 1, true);
		} else {
			got = recv_all(fd, seed + 1, true);
			send_all(fd, n, seed);
			shutdown(fd, SHUT_WR);
		}
		t1 = now_s();
		if (got != n)
			bad("got %llu bytes, want %llu", (unsigned long long)got, (unsigned long long)n);
		if (!wait_hup(fd, 10000))
			bad("the guest did not close the connection within 10 s");
		printf("vk_host xfer: ok %s %s: sent %llu, got %llu checked, %.2f s (%.1f MiB/s each way)\n",
		       listen_side ? "guest-initiated" : "host-initiated", argv[k + 2], (unsigned long long)n,
		       (unsigned long long)got, t1 - t0, n / (t1 - t0) / 1048576);
		return 0;
	}
	if (!strcmp(mode, "rst-expect") && argc == 4) {
		int fd = connect_port(argv[2], (unsigned)atoi(argv[3]), 30, NULL);
		uint64_t got = recv_all(fd, 0, false);

		if (got)
			bad("%llu bytes before the end", (unsigned long long)got);
		printf("vk_host rst-expect: ok connection ended after OK with no data\n");
		return 0;
	}
	if (!strcmp(mode, "refused") && argc == 4) {
		int fd = unix_connect(argv[2]);
		char line[64];
		int n = snprintf(line, sizeof(line), "CONNECT %s\n", argv[3]);

		if (fd < 0 || write(fd, line, n) != n)
			bad("cannot connect to %s", argv[2]);
		if (read_ok(fd, line, sizeof(line)))
			bad("got '%s' for a port nobody listens on", line);
		printf("vk_host refused: ok closed without OK\n");
		return 0;
	}
	if (!strcmp(mode, "abort") && argc == 5) {
		int fd = connect_port(argv[2], (unsigned)atoi(argv[3]), 30, NULL);

		send_all(fd, strtoull(argv[4], NULL, 0), 31);
		close(fd);
		printf("vk_host abort: ok sent %s bytes and closed\n", argv[4]);
		return 0;
	}
	if (!strcmp(mode, "reset-expect") && argc == 3) {
		int fd = accept_one(argv[2]);
		uint64_t got = recv_all(fd, 41, true);

		printf("vk_host reset-expect: ok %llu bytes, then the connection ended\n", (unsigned long long)got);
		return 0;
	}
usage:
	fprintf(stderr, "usage: see tests/vsock/vk_host.c\n");
	return 2;
}
