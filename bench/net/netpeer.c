// SPDX-License-Identifier: MIT
/*
 * netpeer: the host side of the virtio-net benchmark (bench/run.sh, section net) and the host's
 * own ceiling for it.
 *
 *   netpeer launch sink|source SIZE -- CMD ARGS...
 *       A SOCK_DGRAM AF_UNIX socketpair: a child process sinks (reads and drops every datagram)
 *       or sources (sends SIZE-byte frames as fast as the socket takes them) on one end; CMD is
 *       exec'd with the other end as descriptor 3 (every "@FD@" in ARGS becomes "3"). The child
 *       dies with CMD (PR_SET_PDEATHSIG).
 *   netpeer tap-source IFNAME SIZE -- CMD ARGS...
 *       A child sends SIZE-byte frames on interface IFNAME (a TAP whose other end CMD opens) with
 *       an AF_PACKET socket, as fast as it can (drops when the TAP's queue is full are ignored);
 *       CMD is exec'd. For host-to-guest over a TAP.
 *   netpeer ceiling dgram SIZE WARM_MS MS
 *       Two host processes on a SOCK_DGRAM socketpair: one sends SIZE-byte frames, the other
 *       receives; frames counted by the receiver over MS after WARM_MS.
 *   netpeer ceiling tap-tx IFNAME SIZE WARM_MS MS
 *       One process writes SIZE-byte frames (after a 12-byte zero virtio-net header, with
 *       IFF_VNET_HDR, as a VMM does) into the TAP IFNAME: the guest-to-host path without a guest.
 *   netpeer ceiling tap-rx IFNAME SIZE WARM_MS MS
 *       A child sends SIZE-byte frames on IFNAME (AF_PACKET), the parent reads them from the TAP
 *       descriptor (vnet header + frame) and counts those of the right size.
 *   Ceiling output: "ceiling frames=N bytes=B ns=T".
 *
 * Frames go to 02:00:00:00:00:01 from 02:00:00:00:00:02, ethertype 0x88b5 (local experimental).
 * Batches of 64 with sendmmsg/recvmmsg.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH   64
#define HDR_LEN 12
#define MAXF    65536

static uint8_t frame[MAXF], rbuf[BATCH][2048];

static void die(const char *what)
{
	fprintf(stderr, "netpeer: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void make_frame(size_t size)
{
	for (size_t i = 0; i < size; i++)
		frame[i] = (uint8_t)i;
	memcpy(frame, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x88\xb5", 14);
}

static void sink(int fd)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ rbuf[i], sizeof(rbuf[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	for (;;)
		if (recvmmsg(fd, m, BATCH, 0, NULL) < 0 && errno != EINTR)
			exit(0);
}

static void source(int fd, size_t size)
{
	struct mmsghdr m[BATCH];
	struct iovec iov = { frame, size };

	for (int i = 0; i < BATCH; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	for (;;)
		if (sendmmsg(fd, m, BATCH, 0) < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN)
			exit(0);
}

static int packet_socket(const char *ifname)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	if (s < 0)
		die("socket(AF_PACKET)");
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex)
		die(ifname);
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)))
		die("bind(AF_PACKET)");
	return s;
}

/* sendmmsg on an AF_PACKET socket: the frame goes out of IFNAME (into the TAP's queue). */
static void packet_source(const char *ifname, size_t size)
{
	int s = packet_socket(ifname);

	for (;;) {
		struct mmsghdr m[BATCH];
		struct iovec iov = { frame, size };

		for (int i = 0; i < BATCH; i++)
			m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
		if (sendmmsg(s, m, BATCH, 0) < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN &&
		    errno != ENETDOWN && errno != ENXIO)
			die("sendmmsg(AF_PACKET)");
	}
}

static int tap_open(const char *ifname)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), sz = HDR_LEN;

	if (fd < 0)
		die("/dev/net/tun");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr))
		die("TUNSETIFF");
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz))
		die("TUNSETVNETHDRSZ");
	return fd;
}

static void subst_exec(char **argv)
{
	for (int k = 0; argv[k]; k++) {
		char *p = strstr(argv[k], "@FD@");

		if (p) {
			char *s = strdup(argv[k]);

			p = s + (p - argv[k]);
			memmove(p + 1, p + 4, strlen(p + 4) + 1);
			*p = '3';
			argv[k] = s;
		}
	}
	execvp(argv[0], argv);
	fprintf(stderr, "netpeer: exec %s: %s\n", argv[0], strerror(errno));
	exit(127);
}

static pid_t child_with_deathsig(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
	}
	return pid;
}

static void report(uint64_t frames, size_t size, uint64_t ns)
{
	printf("ceiling frames=%llu bytes=%llu ns=%llu\n", (unsigned long long)frames,
	       (unsigned long long)(frames * size), (unsigned long long)ns);
}

/* Counts frames of `size` read from fd (recvmmsg, or read() of a TAP) over warm + ms. */
static void count_rx(int fd, bool tap, size_t size, long warm_ms, long ms)
{
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint64_t t0 = now_ns(), t_meas = t0 + (uint64_t)warm_ms * 1000000, t_end = t_meas + (uint64_t)ms * 1000000;
	uint64_t frames = 0, t;
	bool measuring = false;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ rbuf[i], sizeof(rbuf[i]) };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	for (;;) {
		int n;

		if (tap) {
			ssize_t r = read(fd, rbuf[0], sizeof(rbuf[0]));

			n = r == (ssize_t)(HDR_LEN + size) ? 1 : 0;
			if (r < 0 && errno != EINTR)
				die("read(tap)");
		} else {
			n = recvmmsg(fd, m, BATCH, 0, NULL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				die("recvmmsg");
			}
		}
		t = now_ns();
		if (!measuring && t >= t_meas) {
			measuring = true;
			t_meas = t;
			frames = 0;
			continue;
		}
		if (measuring)
			frames += (uint64_t)n;
		if (measuring && t >= t_end)
			break;
	}
	report(frames, size, t - t_meas);
}

int main(int argc, char **argv)
{
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 6 && !strcmp(argv[1], "launch") && !strcmp(argv[4], "--")) {
		size_t size = strtoul(argv[3], NULL, 0);
		bool is_sink = !strcmp(argv[2], "sink");

		make_frame(size);
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
			die("socketpair");
		if (child_with_deathsig() == 0) {
			close(sv[1]);
			if (is_sink)
				sink(sv[0]);
			source(sv[0], size);
		}
		close(sv[0]);
		if (dup2(sv[1], 3) < 0)
			die("dup2");
		subst_exec(argv + 5);
	}
	if (argc >= 6 && !strcmp(argv[1], "tap-source") && !strcmp(argv[4], "--")) {
		size_t size = strtoul(argv[3], NULL, 0);

		make_frame(size);
		if (child_with_deathsig() == 0) {
			/* The TAP goes up when CMD attaches: until then sends fail, and are retried. */
			packet_source(argv[2], size);
		}
		subst_exec(argv + 5);
	}
	if (argc >= 6 && !strcmp(argv[1], "ceiling") && !strcmp(argv[2], "dgram")) {
		size_t size = strtoul(argv[3], NULL, 0);
		pid_t pid;

		make_frame(size);
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
			die("socketpair");
		pid = child_with_deathsig();
		if (pid == 0) {
			close(sv[1]);
			source(sv[0], size);
		}
		close(sv[0]);
		count_rx(sv[1], false, size, atol(argv[4]), atol(argv[5]));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 0;
	}
	if (argc >= 7 && !strcmp(argv[1], "ceiling") && !strcmp(argv[2], "tap-tx")) {
		size_t size = strtoul(argv[4], NULL, 0);
		int fd = tap_open(argv[3]);
		uint8_t hdr[HDR_LEN] = { 0 };
		struct iovec iov[2] = { { hdr, HDR_LEN }, { frame, size } };
		uint64_t t0 = now_ns(), t_meas = t0 + (uint64_t)atol(argv[5]) * 1000000, t_end, frames = 0, t;

		make_frame(size);
		t_end = t_meas + (uint64_t)atol(argv[6]) * 1000000;
		while (now_ns() < t_meas)
			if (writev(fd, iov, 2) < 0)
				die("writev(tap)");
		t_meas = now_ns();
		do {
			for (int i = 0; i < BATCH; i++)
				if (writev(fd, iov, 2) == (ssize_t)(HDR_LEN + size))
					frames++;
			t = now_ns();
		} while (t < t_end);
		report(frames, size, t - t_meas);
		return 0;
	}
	if (argc >= 7 && !strcmp(argv[1], "ceiling") && !strcmp(argv[2], "tap-rx")) {
		size_t size = strtoul(argv[4], NULL, 0);
		int fd = tap_open(argv[3]);
		pid_t pid;

		make_frame(size);
		pid = child_with_deathsig();
		if (pid == 0)
			packet_source(argv[3], size);
		count_rx(fd, true, size, atol(argv[5]), atol(argv[6]));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 0;
	}
	fprintf(stderr, "usage: netpeer launch sink|source SIZE -- CMD ARGS...\n"
			"       netpeer tap-source IFNAME SIZE -- CMD ARGS...\n"
			"       netpeer ceiling dgram SIZE WARM_MS MS\n"
			"       netpeer ceiling tap-tx|tap-rx IFNAME SIZE WARM_MS MS\n");
	return 2;
}
