// SPDX-License-Identifier: MIT
/*
 * responder: the host end of a guest's network for `make test-linux` (tests/linux/net.sh):
 * a gateway that only answers ARP and ping. Static, so it runs in the nested test VM
 * (busybox only, no python).
 *
 *   responder [--gw IP] [--mac AA:BB:..] [--stream] [--timeout S] -- CMD ARGS...
 *   responder [--gw IP] [--mac ...] [--stream] --fd N
 *
 * First form (the launcher): creates an AF_UNIX socketpair (SOCK_DGRAM, one Ethernet frame per
 * datagram; --stream: SOCK_STREAM with a 4-byte big-endian length before each frame), forks,
 * and execs CMD in the child with the other end as descriptor 3; every argument "@FD@" of CMD
 * is replaced by "3" (so: `responder -- flashpan-static run ... --net fd=@FD@`). The parent
 * answers on its end until CMD exits, then prints its counters on stderr and exits with CMD's
 * status (124 if --timeout S ran out first: CMD is killed).
 * Second form: answers on an inherited descriptor N until the peer closes it.
 *
 * Answers (default gateway 192.168.100.1, MAC 02:00:00:00:00:01):
 *   - ARP request (Ethernet/IPv4) for the gateway address: an ARP reply from the gateway MAC;
 *   - ICMP echo request addressed to the gateway: an echo reply, IPv4 and ICMP checksums
 *     computed afresh, after checking the request's own checksums (bad ones are counted and
 *     not answered).
 * Everything else is counted and ignored. No frame ever leaves the socketpair.
 * Counters line: "responder: frames N arp-req N arp-reply N echo-req N echo-reply N bad-csum N
 * other N".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static uint32_t gw_ip; /* network order */
static int stream_mode;
static struct {
	unsigned long frames, arp_req, arp_reply, echo_req, echo_reply, bad_csum, other;
} st;

/* Stream framing: a receive buffer holding partial frames. */
static uint8_t sbuf[1 << 17];
static size_t slen;

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (; n > 1; n -= 2, b += 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static int send_frame(int fd, const uint8_t *f, size_t n)
{
	if (stream_mode) {
		uint8_t hdr[4] = { n >> 24, n >> 16, n >> 8, n };
		struct iovec iov[2] = { { hdr, 4 }, { (void *)f, n } };
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

		return sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)(n + 4) ? 0 : -1;
	}
	return send(fd, f, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

static void handle(int fd, uint8_t *f, size_t n)
{
	uint8_t out[2048];

	st.frames++;
	if (n < 14) {
		st.other++;
		return;
	}
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

	if (type == 0x0806 && n >= 42) {
		const uint8_t *a = f + 14;
		uint32_t tpa;

		memcpy(&tpa, a + 24, 4);
		/* htype 1, ptype 0x0800, hlen 6, plen 4, op 1 (request), for the gateway */
		if (a[0] == 0 && a[1] == 1 && a[2] == 8 && a[3] == 0 && a[4] == 6 && a[5] == 4 && a[6] == 0 &&
		    a[7] == 1 && tpa == gw_ip) {
			uint8_t *r = out + 14;

			st.arp_req++;
			memcpy(out, f + 6, 6);
			memcpy(out + 6, gw_mac, 6);
			out[12] = 0x08;
			out[13] = 0x06;
			memcpy(r, a, 6);
			r[6] = 0;
			r[7] = 2; /* reply */
			memcpy(r + 8, gw_mac, 6);
			memcpy(r + 14, &gw_ip, 4);
			memcpy(r + 18, a + 8, 6);  /* target: the sender's MAC */
			memcpy(r + 24, a + 14, 4); /* and IP */
			memset(out + 42, 0, 18);   /* padded to the 60-byte minimum */
			if (send_frame(fd, out, 60) == 0)
				st.arp_reply++;
			return;
		}
		st.other++;
		return;
	}
	if (type == 0x0800 && n >= 34) {
		uint8_t *ip = f + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
		uint32_t dst;

		memcpy(&dst, ip + 16, 4);
		if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 || 14 + tot > n || ip[9] != 1 || dst != gw_ip ||
		    ip[ihl] != 8 /* echo request */) {
			st.other++;
			return;
		}
		st.echo_req++;
		if (csum(ip, ihl) != 0 || csum(ip + ihl, tot - ihl) != 0) {
			st.bad_csum++;
			return;
		}
		if (14 + tot > sizeof(out)) {
			st.other++;
			return;
		}
		uint8_t *r = out + 14;

		memcpy(out, f + 6, 6);
		memcpy(out + 6, gw_mac, 6);
		out[12] = 0x08;
		out[13] = 0x00;
		memcpy(r, ip, tot);
		memcpy(r + 12, ip + 16, 4); /* source: the gateway */
		memcpy(r + 16, ip + 12, 4); /* destination: the sender */
		r[8] = 64;                  /* TTL */
		r[10] = r[11] = 0;
		uint16_t c = csum(r, ihl);
		r[10] = c >> 8;
		r[11] = c & 0xff;
		r[ihl] = 0; /* echo reply, same code, id, sequence and data */
		r[ihl + 2] = r[ihl + 3] = 0;
		c = csum(r + ihl, tot - ihl);
		r[ihl + 2] = c >> 8;
		r[ihl + 3] = c & 0xff;
		if (send_frame(fd, out, 14 + tot) == 0)
			st.echo_reply++;
		return;
	}
	st.other++;
}

/* Reads what is there and handles whole frames. Returns -1 when the peer closed. */
static int pump(int fd)
{
	if (!stream_mode) {
		uint8_t f[65536];
		ssize_t n = recv(fd, f, sizeof(f), MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		handle(fd, f, (size_t)n);
		return 0;
	}
	ssize_t n = recv(fd, sbuf + slen, sizeof(sbuf) - slen, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	slen += (size_t)n;
	for (;;) {
		if (slen < 4)
			break;
		size_t len = (size_t)sbuf[0] << 24 | (size_t)sbuf[1] << 16 | (size_t)sbuf[2] << 8 | sbuf[3];

		if (len > sizeof(sbuf) - 4)
			return -1;
		if (slen < 4 + len)
			break;
		handle(fd, sbuf + 4, len);
		memmove(sbuf, sbuf + 4 + len, slen - 4 - len);
		slen -= 4 + len;
	}
	return 0;
}

static void counters(void)
{
	fprintf(stderr,
		"responder: frames %lu arp-req %lu arp-reply %lu echo-req %lu echo-reply %lu bad-csum %lu other %lu\n",
		st.frames, st.arp_req, st.arp_reply, st.echo_req, st.echo_reply, st.bad_csum, st.other);
}

static void usage(void)
{
	fprintf(stderr, "usage: responder [--gw IP] [--mac MAC] [--stream] [--timeout S] -- CMD ARGS...\n"
			"       responder [--gw IP] [--mac MAC] [--stream] --fd N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *gw = "192.168.100.1";
	int fd = -1, i, sv[2], status = 0;
	long timeout_s = 0;
	pid_t child = -1;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--") ) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--gw") && i + 1 < argc) {
			gw = argv[++i];
		} else if (!strcmp(argv[i], "--mac") && i + 1 < argc) {
			if (sscanf(argv[++i], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &gw_mac[0], &gw_mac[1], &gw_mac[2],
				   &gw_mac[3], &gw_mac[4], &gw_mac[5]) != 6)
				usage();
		} else if (!strcmp(argv[i], "--stream")) {
			stream_mode = 1;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			timeout_s = atol(argv[++i]);
		} else if (!strcmp(argv[i], "--fd") && i + 1 < argc) {
			fd = atoi(argv[++i]);
		} else {
			usage();
		}
	}
	if (inet_pton(AF_INET, gw, &gw_ip) != 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (fd < 0) {
		if (i >= argc)
			usage();
		if (socketpair(AF_UNIX, stream_mode ? SOCK_STREAM : SOCK_DGRAM, 0, sv)) {
			perror("responder: socketpair");
			return 1;
		}
		child = fork();
		if (child < 0) {
			perror("responder: fork");
			return 1;
		}
		if (child == 0) {
			close(sv[0]);
			if (sv[1] != 3) {
				if (dup2(sv[1], 3) < 0)
					_exit(127);
				close(sv[1]);
			}
			for (int k = i; k < argc; k++)
				if (!strcmp(argv[k], "@FD@"))
					argv[k] = "3";
				else if (strstr(argv[k], "@FD@")) { /* e.g. --net fd=@FD@,mtu=1400 */
					char *s = strdup(argv[k]), *p = strstr(s, "@FD@");

					memmove(p + 1, p + 4, strlen(p + 4) + 1);
					*p = '3';
					argv[k] = s;
				}
			execvp(argv[i], argv + i);
			fprintf(stderr, "responder: exec %s: %s\n", argv[i], strerror(errno));
			_exit(127);
		}
		close(sv[1]);
		fd = sv[0];
	}
	time_t deadline = timeout_s > 0 ? time(NULL) + timeout_s : 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 200);

		if (r > 0 && pump(fd) < 0)
			break;
		if (child > 0) {
			pid_t w = waitpid(child, &status, WNOHANG);

			if (w == child) {
				child = 0;
				while (pump(fd) == 0 && poll(&p, 1, 0) > 0)
					;
				break;
			}
		}
		if (deadline && time(NULL) >= deadline) {
			fprintf(stderr, "responder: timed out after %ld s\n", timeout_s);
			if (child > 0) {
				kill(child, SIGKILL);
				waitpid(child, &status, 0);
			}
			counters();
			return 124;
		}
	}
	if (child > 0)
		waitpid(child, &status, 0);
	counters();
	if (child < 0)
		return 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
