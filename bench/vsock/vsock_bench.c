// SPDX-License-Identifier: MIT
/*
 * vsock_bench: the host side of bench section vsock (bench/run.sh), against
 * the vsockbench tiny kernel (tests/kernels/vsockbench.c), and the host's
 * own ceiling for comparison.
 *
 *   vsock_bench h2g UDS BYTES RUNS    CONNECT 7000, write BYTES in 64 KiB writes, shut down
 *                                     writing, wait for the guest's EOF: MiB/s per run
 *   vsock_bench g2h UDS BYTES RUNS    CONNECT 7001, read (64 KiB reads) to EOF: MiB/s per run
 *   vsock_bench connect UDS N         N sequential CONNECT 7002 -> "OK" (timed from connect())
 *   vsock_bench quit UDS              CONNECT 7003 (the kernel resets)
 *   vsock_bench ceiling BYTES RUNS    two processes over a Unix stream socket on this host,
 *                                     64 KiB writes, MiB/s per run
 *   vsock_bench ceiling-connect N     connect + "CONNECT 7002\n" + "OK 1\n" reply from a
 *                                     second process on a Unix socket: the host's own latency
 * Output: "<what>: median <x> <unit> (runs: a b c ...)".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
static char buf[CHUNK];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, const char *unit, double *v, int n, int show)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%s: median %.1f %s (", what, v[n / 2], unit);
	if (show) {
		printf("runs:");
		for (int i = 0; i < n; i++)
			printf(" %.1f", v[i]);
	} else {
		printf("%d samples, p10 %.1f, p90 %.1f, max %.1f", n, v[n / 10], v[n * 9 / 10], v[n - 1]);
	}
	printf(")\n");
}

static int uconnect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die(path);
	return fd;
}

/* CONNECT port; returns the fd after the OK line, *lat = connect() to OK in seconds. */
static int vconnect(const char *uds, int port, double *lat)
{
	char line[64];
	double t0 = now_s();
	int fd = uconnect(uds), n = snprintf(line, sizeof(line), "CONNECT %d\n", port), k = 0;

	if (write(fd, line, (size_t)n) != n)
		die("write CONNECT");
	while (k < (int)sizeof(line) - 1) {
		ssize_t r = read(fd, line + k, 1);

		if (r <= 0) {
			fprintf(stderr, "vsock_bench: no OK for CONNECT %d\n", port);
			exit(1);
		}
		if (line[k++] == '\n')
			break;
	}
	if (lat)
		*lat = now_s() - t0;
	if (strncmp(line, "OK ", 3)) {
		fprintf(stderr, "vsock_bench: CONNECT %d answered %.*s\n", port, k, line);
		exit(1);
	}
	return fd;
}

static void write_all(int fd, long long bytes)
{
	for (long long off = 0; off < bytes;) {
		size_t k = bytes - off > CHUNK ? CHUNK : (size_t)(bytes - off);
		ssize_t w = write(fd, buf, k);

		if (w <= 0)
			die("write");
		off += w;
	}
}

static long long read_all(int fd)
{
	long long got = 0;

	for (;;) {
		ssize_t r = read(fd, buf, CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got;
		got += r;
	}
}

int main(int argc, char **argv)
{
	double v[1000];

	if (argc >= 5 && (!strcmp(argv[1], "h2g") || !strcmp(argv[1], "g2h"))) {
		long long bytes = atoll(argv[3]);
		int runs = atoi(argv[4]) > 1000 ? 1000 : atoi(argv[4]);
		int h2g = !strcmp(argv[1], "h2g");

		for (int i = 0; i < runs; i++) {
			int fd = vconnect(argv[2], h2g ? 7000 : 7001, NULL);
			double t0 = now_s();
			long long got;

			if (h2g) {
				write_all(fd, bytes);
				shutdown(fd, SHUT_WR);
				got = read_all(fd);
				if (got) {
					fprintf(stderr, "vsock_bench: h2g: %lld unexpected bytes\n", got);
					return 1;
				}
			} else if ((got = read_all(fd)) != bytes) {
				fprintf(stderr, "vsock_bench: g2h: got %lld of %lld bytes\n", got, bytes);
				return 1;
			}
			v[i] = (double)bytes / (now_s() - t0) / 1048576;
			close(fd);
		}
		report(h2g ? "host-to-guest" : "guest-to-host", "MiB/s", v, runs, 1);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "connect")) {
		int n = atoi(argv[3]) > 1000 ? 1000 : atoi(argv[3]);

		for (int i = 0; i < n; i++) {
			int fd = vconnect(argv[2], 7002, &v[i]);

			v[i] *= 1e6;
			close(fd);
			usleep(1000);
		}
		report("connect", "us", v, n, 0);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "quit")) {
		close(vconnect(argv[2], 7003, NULL));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "ceiling")) {
		long long bytes = atoll(argv[2]);
		int runs = atoi(argv[3]) > 1000 ? 1000 : atoi(argv[3]);

		for (int i = 0; i < runs; i++) {
			int sv[2];
			pid_t pid;
			double t0;

			if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
				die("socketpair");
			t0 = now_s();
			pid = fork();
			if (pid == 0) {
				close(sv[0]);
				write_all(sv[1], bytes);
				_exit(0);
			}
			close(sv[1]);
			if (read_all(sv[0]) != bytes)
				die("short read");
			v[i] = (double)bytes / (now_s() - t0) / 1048576;
			close(sv[0]);
			waitpid(pid, NULL, 0);
		}
		report("host ceiling (Unix socket, 2 processes)", "MiB/s", v, runs, 1);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ceiling-connect")) {
		char path[108];
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int n = atoi(argv[2]) > 1000 ? 1000 : atoi(argv[2]), l;
		pid_t pid;

		snprintf(path, sizeof(path), "/tmp/vsock_bench.%d.sock", (int)getpid());
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		l = socket(AF_UNIX, SOCK_STREAM, 0);
		unlink(path);
		if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 64))
			die("listen");
		pid = fork();
		if (pid == 0) {
			for (int i = 0; i < n; i++) {
				int fd = accept(l, NULL, NULL);
				char line[64];

				if (fd < 0 || read(fd, line, sizeof(line)) <= 0 || write(fd, "OK 1\n", 5) != 5)
					_exit(1);
				close(fd);
			}
			_exit(0);
		}
		for (int i = 0; i < n; i++) {
			int fd = vconnect(path, 7002, &v[i]);

			v[i] *= 1e6;
			close(fd);
		}
		waitpid(pid, NULL, 0);
		unlink(path);
		report("host connect ceiling", "us", v, n, 0);
		return 0;
	}
	fprintf(stderr, "usage: see bench/vsock/vsock_bench.c\n");
	return 2;
}
