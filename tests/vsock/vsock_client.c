// SPDX-License-Identifier: MIT
/*
 * vsock_client: the host side of flashpan's vsock tests; plain libc, so it
 * builds static for the nested test VM (which has no socat).
 *
 *   vsock_client echo  UDS PORT CONNS BYTES [SECONDS]
 *       CONNS concurrent host-initiated connections: connect to UDS, write
 *       "CONNECT PORT\n", expect "OK <n>\n" before any other byte, send BYTES
 *       of a per-connection pattern, half-close, and expect exactly those
 *       bytes back, then EOF (the guest echoes). Reports CONNECT-to-OK latency.
 *   vsock_client serve UDS_P CONNS BYTES [SECONDS]
 *       Listen on UDS_P (the target of guest connections to host port P),
 *       accept CONNS connections; on each, send BYTES of the pattern of
 *       connection 0 and half-close, and expect the same BYTES from the guest
 *       and its EOF (the guest side does the mirror image).
 *
 * One line of results; exit 0 only if every connection checked out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int idx;
	int phase;           /* 0: waiting for OK, 1: streaming, 2: done, 3: failed */
	char line[32];
	size_t line_len;
	size_t sent, got;
	int eof;             /* the peer half-closed; we may still be sending */
	double t_start, t_ok;
	const char *why;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t pattern(int idx, size_t off)
{
	return (uint8_t)(off * 131 + (size_t)idx * 7 + (off >> 9));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fail(struct conn *c, const char *why)
{
	if (c->phase < 2) {
		c->phase = 3;
		c->why = why;
	}
}

/* Send what the kernel takes; half-close at the end. */
static void pump_out(struct conn *c, size_t total)
{
	uint8_t buf[16384];

	while (c->phase == 1 && c->sent < total) {
		size_t n = total - c->sent > sizeof(buf) ? sizeof(buf) : total - c->sent;
		ssize_t w;

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(c->idx, c->sent + i);
		w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN)
				fail(c, "send failed");
			return;
		}
		c->sent += (size_t)w;
		if (c->sent == total)
			shutdown(c->fd, SHUT_WR);
	}
}

static void pump_in(struct conn *c, size_t total, bool want_ok)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t off = 0;

		if (r < 0) {
			if (errno != EAGAIN)
				fail(c, "recv failed");
			return;
		}
		if (r == 0) {
			c->eof = 1;
			if (c->phase != 1 || c->got != total)
				fail(c, c->phase == 0 ? "closed before OK" : "EOF before all bytes came back");
			return;
		}
		if (c->phase == 0 && want_ok) {
			/* The OK line, byte by byte up to its newline. */
			while (off < (size_t)r && c->phase == 0) {
				if (c->line_len == sizeof(c->line) - 1) {
					fail(c, "OK line too long");
					return;
				}
				c->line[c->line_len++] = (char)buf[off++];
				if (c->line[c->line_len - 1] == '\n') {
					c->line[c->line_len] = 0;
					if (strncmp(c->line, "OK ", 3) || c->line_len < 5) {
						fail(c, "bad OK line");
						return;
					}
					c->t_ok = now_s();
					c->phase = 1;
				}
			}
		}
		for (; off < (size_t)r; off++, c->got++) {
			if (c->got >= total || buf[off] != pattern(c->idx, c->got)) {
				fail(c, c->got >= total ? "more bytes than sent" : "wrong byte");
				return;
			}
		}
	}
}

static int run(bool serve, const char *path, int port, int nconns, size_t total, int seconds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct conn *cs = calloc((size_t)nconns, sizeof(*cs));
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(0), lfd = -1, accepted = 0, done = 0, failed = 0;
	double t0 = now_s(), deadline = t0 + seconds;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (serve) {
		unlink(path);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
			perror("vsock_client: listen");
			return 1;
		}
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = (uint64_t)-1 };
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
		printf("vsock_client: listening on %s\n", path);
		fflush(stdout);
	} else {
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &cs[i];
			char line[32];
			int n = snprintf(line, sizeof(line), "CONNECT %d\n", port);

			c->idx = i;
			c->t_start = now_s();
			c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
			    write(c->fd, line, (size_t)n) != n) {
				fail(c, "connect failed");
				continue;
			}
			fcntl(c->fd, F_SETFL, O_NONBLOCK);
			ev = (struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u64 = (uint64_t)i };
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		}
	}
	for (;;) {
		int n;

		done = failed = 0;
		for (int i = 0; i < nconns; i++) {
			done += cs[i].phase == 2;
			failed += cs[i].phase == 3;
		}
		if (done + failed == nconns || now_s() > deadline)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			if (evs[k].data.u64 == (uint64_t)-1) {
				int fd;

				while (accepted < nconns && (fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct conn *c = &cs[accepted];

					c->fd = fd;
					c->idx = 0; /* the guest cannot know the accept order */
					c->phase = 1;
					c->t_start = c->t_ok = now_s();
					ev = (struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLET,
								   .data.u64 = (uint64_t)accepted++ };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			struct conn *c = &cs[evs[k].data.u64];

			if (!c->eof)
				pump_in(c, total, !serve);
			pump_out(c, total);
			if (c->phase == 1 && c->eof && c->sent == total && c->got == total)
				c->phase = 2;
			if (c->phase >= 2) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
			}
		}
	}

	double secs = now_s() - t0, *lat = calloc((size_t)nconns, sizeof(double));
	int nlat = 0;
	const char *why = NULL;

	for (int i = 0; i < nconns; i++) {
		if (cs[i].t_ok > 0 && !serve)
			lat[nlat++] = (cs[i].t_ok - cs[i].t_start) * 1e6;
		if (cs[i].phase != 2 && !why)
			why = cs[i].phase == 3 ? cs[i].why : "timed out";
	}
	qsort(lat, (size_t)nlat, sizeof(double), cmp_double);
	printf("vsock_client %s: %d/%d connections echoed %zu bytes each correctly in %.2f s (%.1f MiB/s both ways)",
	       serve ? "serve" : "echo", done, nconns, total, secs,
	       2.0 * (double)done * (double)total / secs / 1048576.0);
	if (nlat)
		printf("; CONNECT to OK: median %.0f us, p99 %.0f us", lat[nlat / 2], lat[nlat * 99 / 100]);
	if (why)
		printf("; first failure: %s", why);
	printf("\n");
	if (serve)
		unlink(path);
	return done == nconns ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	bool serve;

	if (argc < 6 || (strcmp(argv[1], "echo") && strcmp(argv[1], "serve"))) {
		fprintf(stderr, "usage: vsock_client echo UDS PORT CONNS BYTES [SECONDS]\n"
				"       vsock_client serve UDS_P CONNS BYTES [SECONDS]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	serve = !strcmp(argv[1], "serve");
	if (serve)
		return run(true, argv[2], 0, atoi(argv[3]), strtoull(argv[4], NULL, 10),
			   argc > 5 ? atoi(argv[5]) : 60);
	return run(false, argv[2], atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 10),
		   argc > 6 ? atoi(argv[6]) : 60);
}
