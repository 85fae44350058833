// SPDX-License-Identifier: MIT
/*
 * virtio-net: the default MAC, the --net option, descriptor kinds, the stream
 * framing, header checks, and the device's data paths against a driver in
 * this process (tests/net/fake_driver.h) over real socketpairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net.h"
#include "devices/virtio/net_internal.h"
#include "tests/net/fake_driver.h"

static void test_default_mac(void **state)
{
	uint8_t mac[6];
	const uint8_t want[6] = { 0xaa, 0xfc, 0x60, 0xe4, 0x7a, 0xad };
	const uint8_t want2[6] = { 0xaa, 0xfc, 0x46, 0xca, 0x54, 0xee };

	net_default_mac("flashpan", mac);
	assert_memory_equal(mac, want, 6);
	net_default_mac("sandbox-0123456789abcdef", mac); /* h overflows: uint32 arithmetic */
	assert_memory_equal(mac, want2, 6);
	net_default_mac("", mac);
	assert_int_equal(mac[0], 0xaa);
	assert_int_equal(mac[5], 0);
}

static void test_parse_option(void **state)
{
	struct net_config c;
	bool on;
	char err[256];
	const uint8_t mac[6] = { 0xaa, 0xfc, 0, 1, 2, 0xab };

	assert_int_equal(net_parse_option("none", "x", &c, &on, err, sizeof(err)), 0);
	assert_false(on);
	assert_int_equal(net_parse_option("fd=3", "flashpan", &c, &on, err, sizeof(err)), 0);
	assert_true(on);
	assert_int_equal(c.fd, 3);
	assert_int_equal(c.mtu, 1500);
	assert_int_equal(c.mac[2], 0x60);
	assert_int_equal(net_parse_option("fd=7,mac=AA:FC:00:01:02:ab,mtu=9000,debug", "x", &c, &on, err,
					  sizeof(err)), 0);
	assert_memory_equal(c.mac, mac, 6);
	assert_int_equal(c.mtu, 9000);
	assert_true(c.debug);
	assert_int_equal(net_parse_option("tap=fp0,mtu=1400", "x", &c, &on, err, sizeof(err)), 0);
	assert_string_equal(c.tap_name, "fp0");
	assert_int_equal(c.fd, -1);

	const char *bad[] = { "", "fd=", "fd=-1", "fd=3x", "fd=3,tap=x", "mtu=1500", "fd=3,mtu=67",
			      "fd=3,mtu=65530", "fd=3,mac=01:00:00:00:00:01" /* multicast */, "fd=3,mac=aa:fc:00",
			      "fd=3,mac=aa:fc:00:00:00:00:00", "fd=3,colour=blue", "tap=", "tap=0123456789abcdef",
			      "fd=3,debug=1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (net_parse_option(bad[i], "x", &c, &on, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != 0);
	}
}

static void test_fd_kind(void **state)
{
	enum net_kind k;
	bool vh;
	char err[256];
	int sv[2], p[2], fd;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	assert_int_equal(net_fd_kind(sv[0], &k, &vh, err, sizeof(err)), 0);
	assert_int_equal(k, NET_KIND_DGRAM);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(net_fd_kind(sv[1], &k, &vh, err, sizeof(err)), 0);
	assert_int_equal(k, NET_KIND_STREAM);
	close(sv[0]);
	close(sv[1]);
	fd = socket(AF_INET, SOCK_DGRAM, 0); /* a UDP socket is a datagram socket too */
	assert_true(fd >= 0);
	assert_int_equal(net_fd_kind(fd, &k, &vh, err, sizeof(err)), 0);
	assert_int_equal(k, NET_KIND_DGRAM);
	close(fd);

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(net_fd_kind(sv[0], &k, &vh, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "SOCK_DGRAM"));
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(net_fd_kind(p[0], &k, &vh, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "pipe"));
	close(p[0]);
	close(p[1]);
	fd = open("/dev/null", O_RDWR);
	assert_int_equal(net_fd_kind(fd, &k, &vh, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "not /dev/net/tun"));
	close(fd);
	fd = open("/proc/self/status", O_RDONLY);
	assert_int_equal(net_fd_kind(fd, &k, &vh, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "regular file"));
	close(fd);
	assert_int_equal(net_fd_kind(fd, &k, &vh, err, sizeof(err)), -EBADF);
	/* /dev/net/tun opened but not attached to an interface. */
	fd = open("/dev/net/tun", O_RDWR);
	if (fd >= 0) {
		assert_int_equal(net_fd_kind(fd, &k, &vh, err, sizeof(err)), -ENOTSUP);
		assert_non_null(strstr(err, "not attached"));
		close(fd);
	}
}

/* Feed `bytes` to a stream parser in chunks of `chunk`; collect frame lengths. */
static int parse_all(const uint8_t *bytes, size_t n, size_t chunk, uint32_t max, uint32_t *lens, int *too_long,
		     uint8_t *first_byte)
{
	struct net_stream_rx s;
	size_t fed = 0;
	int frames = 0;

	assert_int_equal(net_stream_rx_init(&s, max), 0);
	*too_long = 0;
	for (;;) {
		const uint8_t *fr;
		uint32_t len;
		enum net_stream_result r = net_stream_next(&s, &fr, &len);

		if (r == NET_STREAM_FRAME) {
			first_byte[frames] = len ? fr[0] : 0;
			lens[frames++] = len;
			continue;
		}
		if (r == NET_STREAM_TOO_LONG) {
			(*too_long)++;
			continue;
		}
		if (fed == n)
			break;
		size_t space, k;
		uint8_t *p = net_stream_space(&s, &space);

		k = n - fed < chunk ? n - fed : chunk;
		k = k < space ? k : space;
		memcpy(p, bytes + fed, k);
		net_stream_filled(&s, k);
		fed += k;
	}
	net_stream_rx_free(&s);
	return frames;
}

static size_t put_frame(uint8_t *p, uint32_t len, uint8_t fill)
{
	p[0] = len >> 24;
	p[1] = len >> 16;
	p[2] = len >> 8;
	p[3] = len;
	memset(p + 4, fill, len);
	return 4 + len;
}

static void test_stream_framing(void **state)
{
	static uint8_t buf[300000];
	uint32_t lens[16];
	uint8_t first[16];
	size_t n = 0;
	int too_long;
	const size_t chunks[] = { 1, 3, 4, 5, 1000, 65536, sizeof(buf) };

	n += put_frame(buf + n, 60, 'a');
	n += put_frame(buf + n, 0, 0);        /* empty frame: framed, the device drops it as short */
	n += put_frame(buf + n, 1514, 'b');
	n += put_frame(buf + n, 200000, 'x'); /* over max: skipped without allocating */
	n += put_frame(buf + n, 1515, 'c');   /* exactly max */
	n += put_frame(buf + n, 1516, 'y');   /* one over */
	n += put_frame(buf + n, 14, 'd');
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		int f = parse_all(buf, n, chunks[i], 1515, lens, &too_long, first);

		assert_int_equal(f, 5);
		assert_int_equal(too_long, 2);
		assert_int_equal(lens[0], 60);
		assert_int_equal(first[0], 'a');
		assert_int_equal(lens[1], 0);
		assert_int_equal(lens[2], 1514);
		assert_int_equal(first[2], 'b');
		assert_int_equal(lens[3], 1515);
		assert_int_equal(first[3], 'c');
		assert_int_equal(lens[4], 14);
		assert_int_equal(first[4], 'd');
	}
	/* A length prefix cut off at the end: nothing, and no read past it. */
	assert_int_equal(parse_all(buf, 3, 1, 1515, lens, &too_long, first), 0);
	/* 0xffffffff: skipped, not trusted. */
	memset(buf, 0xff, 4);
	assert_int_equal(parse_all(buf, 4, 4, 1515, lens, &too_long, first), 0);
	assert_int_equal(too_long, 1);
}

static void test_hdr_checks(void **state)
{
	const uint64_t off = 0, tso = 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
				      1ULL << VIRTIO_NET_F_HOST_TSO6;
	struct virtio_net_hdr h = { 0 };

	assert_int_equal(net_hdr_check_tx(&h, 60, off, 1500), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 13, off, 1500), NET_HDR_SHORT);
	assert_int_equal(net_hdr_check_tx(&h, 1514, off, 1500), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 1515, off, 1500), NET_HDR_LONG);
	assert_int_equal(net_hdr_check_tx(&h, 9014, off, 9000), NET_HDR_OK);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID; /* device-only flag */
	assert_int_equal(net_hdr_check_tx(&h, 60, tso, 1500), NET_HDR_BAD);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 34;
	h.csum_offset = 16;
	assert_int_equal(net_hdr_check_tx(&h, 60, off, 1500), NET_HDR_BAD); /* CSUM not negotiated */
	assert_int_equal(net_hdr_check_tx(&h, 60, tso, 1500), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 51, tso, 1500), NET_HDR_BAD); /* checksum field outside */
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;
	assert_int_equal(net_hdr_check_tx(&h, 60, tso, 1500), NET_HDR_BAD); /* no 16-bit wrap */
	h = (struct virtio_net_hdr){ .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	assert_int_equal(net_hdr_check_tx(&h, 65000, tso, 1500), NET_HDR_OK);
	assert_int_equal(net_hdr_check_tx(&h, 65000, 1ULL << VIRTIO_NET_F_CSUM, 1500), NET_HDR_BAD);
	assert_int_equal(net_hdr_check_tx(&h, NET_MAX_GSO_FRAME + 1, tso, 1500), NET_HDR_LONG);
	h.gso_size = 0;
	assert_int_equal(net_hdr_check_tx(&h, 65000, tso, 1500), NET_HDR_BAD);
	h.gso_size = 1448;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* UFO never offered */
	assert_int_equal(net_hdr_check_tx(&h, 6000, tso, 1500), NET_HDR_BAD);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN; /* ECN never offered */
	assert_int_equal(net_hdr_check_tx(&h, 6000, tso, 1500), NET_HDR_BAD);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h.flags = 0; /* segmentation without checksum offload */
	assert_int_equal(net_hdr_check_tx(&h, 6000, tso, 1500), NET_HDR_BAD);

	/* From a TAP: DATA_VALID cleared when the driver has no GUEST_CSUM. */
	h = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_DATA_VALID, .num_buffers = 77 };
	assert_int_equal(net_hdr_check_rx(&h, 60, 0, 1500), NET_HDR_OK);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.num_buffers, 0);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	assert_int_equal(net_hdr_check_rx(&h, 60, 1ULL << VIRTIO_NET_F_GUEST_CSUM, 1500), NET_HDR_OK);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	h = (struct virtio_net_hdr){ .flags = 1, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
				     .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	assert_int_equal(net_hdr_check_rx(&h, 30000, 1ULL << VIRTIO_NET_F_GUEST_CSUM, 1500), NET_HDR_BAD);
	assert_int_equal(net_hdr_check_rx(&h, 30000, 1ULL << VIRTIO_NET_F_GUEST_CSUM |
					  1ULL << VIRTIO_NET_F_GUEST_TSO4, 1500), NET_HDR_OK);
}

/* ---- the device against the in-process driver ---- */

struct rig {
	struct fake_driver f;
	int peer; /* the host side's other end */
	int type;
	uint8_t acc[65536]; /* stream bytes received and not yet cut into frames */
	size_t acc_len;
};

#define ALL_FEATURES (~0ULL)
#define NO_MRG (~(1ULL << VIRTIO_NET_F_MRG_RXBUF))

static int rig_open(void **state, int type, uint64_t features)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct net_config cfg = { .mtu = 1500 };
	char err[256];
	int sv[2];

	assert_non_null(r);
	assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
	cfg.fd = sv[0];
	net_default_mac("unit", cfg.mac);
	if (fake_driver_init(&r->f, &cfg, features, err, sizeof(err)))
		fail_msg("device: %s", err);
	r->peer = sv[1];
	r->type = type;
	*state = r;
	return 0;
}

static int setup_dgram(void **state) { return rig_open(state, SOCK_DGRAM, ALL_FEATURES); }
static int setup_stream(void **state) { return rig_open(state, SOCK_STREAM, ALL_FEATURES); }
static int setup_dgram_nomrg(void **state) { return rig_open(state, SOCK_DGRAM, NO_MRG); }

static int rig_close(void **state)
{
	struct rig *r = *state;

	fake_driver_free(&r->f);
	if (r->peer >= 0)
		close(r->peer);
	free(r);
	return 0;
}

static void make_frame(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7);
}

/* Host side: send one frame the way this kind frames it. */
static void peer_send(struct rig *r, const uint8_t *frame, uint32_t len)
{
	uint8_t pre[4] = { len >> 24, len >> 16, len >> 8, len };

	if (r->type == SOCK_STREAM)
		assert_int_equal(write(r->peer, pre, 4), 4);
	assert_int_equal(write(r->peer, frame, len), (ssize_t)len);
}

/* Host side: receive one frame; returns its length or -1 if none is (wholly) there. */
static int peer_recv(struct rig *r, uint8_t *buf, size_t cap)
{
	if (r->type == SOCK_STREAM) {
		uint32_t len;
		ssize_t k;

		/* Whatever has arrived, then cut one frame off the front if it is whole. */
		while (r->acc_len < sizeof(r->acc) &&
		       (k = recv(r->peer, r->acc + r->acc_len, sizeof(r->acc) - r->acc_len, MSG_DONTWAIT)) > 0)
			r->acc_len += (size_t)k;
		if (r->acc_len < 4)
			return -1;
		len = (uint32_t)r->acc[0] << 24 | r->acc[1] << 16 | r->acc[2] << 8 | r->acc[3];
		assert_true(len <= cap);
		if (r->acc_len < 4 + len)
			return -1;
		memcpy(buf, r->acc + 4, len);
		memmove(r->acc, r->acc + 4 + len, r->acc_len - 4 - len);
		r->acc_len -= 4 + len;
		return (int)len;
	}
	return (int)recv(r->peer, buf, cap, MSG_DONTWAIT);
}

static void test_tx_sizes(void **state)
{
	struct rig *r = *state;
	const uint32_t sizes[] = { 14, 60, 61, 500, 1499, 1514 };
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[2000], got[2000];
	uint32_t id, len = 0;

	for (size_t i = 0; i < 6; i++) {
		make_frame(frame, sizes[i], i);
		fd_post_tx(&r->f, &h, frame, sizes[i], i & 1);
	}
	fd_notify(&r->f, NET_TXQ);
	for (size_t i = 0; i < 6; i++) {
		make_frame(frame, sizes[i], i);
		assert_int_equal(peer_recv(r, got, sizeof(got)), sizes[i]);
		assert_memory_equal(got, frame, sizes[i]);
		assert_int_equal(fd_used(&r->f, NET_TXQ, &id, &len), 1);
	}
	assert_int_equal(fd_used(&r->f, NET_TXQ, &id, &len), 0);
	assert_int_equal(net_get_stats(r->f.net)->tx_frames, 6);

	/* Too long, too short, bad header: completed (the guest never hangs), counted, not sent. */
	fd_post_tx(&r->f, &h, frame, 1515, false);
	fd_post_tx(&r->f, &h, frame, 13, false);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	fd_post_tx(&r->f, &h, frame, 100, false);
	fd_notify(&r->f, NET_TXQ);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fd_used(&r->f, NET_TXQ, &id, &len), 1);
	assert_int_equal(peer_recv(r, got, sizeof(got)), -1);
	assert_int_equal(net_get_stats(r->f.net)->tx_long, 1);
	assert_int_equal(net_get_stats(r->f.net)->tx_short, 1);
	assert_int_equal(net_get_stats(r->f.net)->tx_bad_hdr, 1);
}

/* Receive: frames of several sizes into buffers; with MRG a frame may span buffers. */
static void test_rx_sizes(void **state)
{
	struct rig *r = *state;
	const uint32_t sizes[] = { 14, 60, 1000, 1514 };
	bool mrg = virtio_has_feature(r->f.d, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t frame[2000];
	uint64_t bufs[16];
	uint32_t id, len = 0;
	int nb = 0;

	/* Buffers of 1526 bytes (header + 1514), and with MRG small ones of 512. */
	for (int i = 0; i < 4; i++)
		bufs[nb++] = fd_post_rx(&r->f, mrg ? 512 : 1526);
	for (int i = 0; i < 8; i++)
		bufs[nb++] = fd_post_rx(&r->f, 1526);
	fd_notify(&r->f, NET_RXQ);
	for (size_t i = 0; i < 4; i++) {
		make_frame(frame, sizes[i], i + 10);
		peer_send(r, frame, sizes[i]);
	}
	net_fd_event(r->f.net, EPOLLIN);
	int b = 0;

	for (size_t i = 0; i < 4; i++) {
		uint8_t all[4000];
		uint32_t total = 0;
		struct virtio_net_hdr h;
		uint16_t nbuf = 1;

		make_frame(frame, sizes[i], i + 10);
		for (uint16_t k = 0; k < nbuf; k++, b++) {
			assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
			memcpy(all + total, fd_ptr(&r->f, bufs[b], len), len);
			total += len;
			if (k == 0) {
				memcpy(&h, all, NET_HDR_LEN);
				nbuf = h.num_buffers;
				assert_int_equal(h.flags, 0);
				assert_int_equal(h.gso_type, 0);
			}
		}
		assert_int_equal(total, NET_HDR_LEN + sizes[i]);
		assert_memory_equal(all + NET_HDR_LEN, frame, sizes[i]);
		if (!mrg)
			assert_int_equal(nbuf, 1);
		else if (sizes[i] + NET_HDR_LEN > 512 && b <= 4)
			assert_true(nbuf > 1);
	}
	assert_int_equal(net_get_stats(r->f.net)->rx_frames, 4);
	/* Interrupts were raised for the used buffers. */
	assert_true(r->f.d->interrupt_status & VIRTIO_INT_USED);
}

/* No buffers: the frame read is kept, the descriptor stops being polled; buffers bring it in. */
static void test_rx_waits_for_buffers(void **state)
{
	struct rig *r = *state;
	struct net_dev *n = r->f.net;
	uint8_t frame[100];
	uint64_t gpa;
	uint32_t id, len = 0;

	make_frame(frame, 100, 3);
	/* The driver is up but has posted nothing: an EPOLLIN masks the descriptor. */
	peer_send(r, frame, 100);
	net_fd_event(n, EPOLLIN);
	assert_false(n->fd_events & EPOLLIN);
	assert_int_equal(net_get_stats(n)->rx_frames, 0);
	/* Three frames, one buffer: one delivered, the rest wait (none dropped). */
	peer_send(r, frame, 100);
	peer_send(r, frame, 100);
	gpa = fd_post_rx(&r->f, 1526);
	fd_notify(&r->f, NET_RXQ);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
	assert_int_equal(len, NET_HDR_LEN + 100);
	assert_memory_equal((uint8_t *)fd_ptr(&r->f, gpa, len) + NET_HDR_LEN, frame, 100);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 0);
	assert_false(n->fd_events & EPOLLIN);
	for (int i = 0; i < 2; i++) {
		fd_post_rx(&r->f, 1526);
		fd_notify(&r->f, NET_RXQ);
		assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
	}
	assert_int_equal(net_get_stats(n)->rx_frames, 3);
	assert_int_equal(net_get_stats(n)->rx_no_room, 0);
	/* Buffers and nothing to read: polling again. */
	fd_post_rx(&r->f, 1526);
	fd_notify(&r->f, NET_RXQ);
	assert_true(n->fd_events & EPOLLIN);
}

/* Frames from the host that break the rules are dropped and counted. */
static void test_rx_bad_lengths(void **state)
{
	struct rig *r = *state;
	uint8_t frame[3000] = { 0 };
	uint32_t id, len = 0;

	for (int i = 0; i < 4; i++)
		fd_post_rx(&r->f, 1526);
	fd_notify(&r->f, NET_RXQ);
	peer_send(r, frame, 13);
	peer_send(r, frame, 1515);
	peer_send(r, frame, 2900);
	peer_send(r, frame, 1514);
	net_fd_event(r->f.net, EPOLLIN);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
	assert_int_equal(len, NET_HDR_LEN + 1514);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 0);
	assert_int_equal(net_get_stats(r->f.net)->rx_short, 1);
	assert_int_equal(net_get_stats(r->f.net)->rx_long, 2);
}

/* Back-pressure: a full host socket stops transmission without drops, EPOLLOUT resumes it. */
static void test_tx_backpressure(void **state)
{
	struct rig *r = *state;
	struct net_dev *n = r->f.net;
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[1514], got[1514];
	int sndbuf = 4096, posted = 0, used = 0, received = 0;
	uint32_t id, len = 0;

	setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	setsockopt(r->peer, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf));
	make_frame(frame, sizeof(frame), 9);
	for (; posted < 200; posted++)
		fd_post_tx(&r->f, &h, frame, sizeof(frame), false);
	fd_notify(&r->f, NET_TXQ);
	while (fd_used(&r->f, NET_TXQ, &id, &len))
		used++;
	assert_true(used < 200);
	assert_true(n->tx_blocked);
	assert_true(n->fd_events & EPOLLOUT);
	/* A notification while blocked takes nothing more. */
	fd_post_tx(&r->f, &h, frame, sizeof(frame), false);
	posted++;
	fd_notify(&r->f, NET_TXQ);
	while (fd_used(&r->f, NET_TXQ, &id, &len))
		used++;
	/* Drain the peer and let EPOLLOUT resume, until everything went through. */
	for (int rounds = 0; received < posted && rounds < 10000; rounds++) {
		int k;

		while ((k = peer_recv(r, got, sizeof(got))) > 0) {
			assert_int_equal(k, sizeof(frame));
			assert_memory_equal(got, frame, sizeof(frame));
			received++;
		}
		net_fd_event(n, EPOLLOUT);
		while (fd_used(&r->f, NET_TXQ, &id, &len))
			used++;
	}
	assert_int_equal(received, posted);
	assert_int_equal(used, posted);
	assert_false(n->tx_blocked);
	assert_int_equal(net_get_stats(n)->tx_frames, posted);
	assert_int_equal(net_get_stats(n)->tx_error + net_get_stats(n)->tx_link_down, 0);
}

/* The peer closes: link down with a configuration interrupt; transmissions complete, dropped. */
static void test_peer_close(void **state)
{
	struct rig *r = *state;
	struct net_dev *n = r->f.net;
	struct virtio_net_hdr h = { 0 };
	uint8_t frame[60] = { 0 }, cfg[12];
	uint32_t gen = r->f.d->config_generation, id, len = 0;
	int k = 0;

	r->f.d->ops->config_read(r->f.d, 0, cfg, 12);
	assert_int_equal(cfg[6] & VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[10] | cfg[11] << 8, 1500);
	close(r->peer);
	r->peer = -1;
	if (r->type == SOCK_STREAM)
		net_fd_event(n, EPOLLIN | EPOLLHUP | EPOLLRDHUP); /* what epoll reports */
	/* A datagram socket learns it on its next send. */
	for (int i = 0; i < 3; i++)
		fd_post_tx(&r->f, &h, frame, sizeof(frame), false);
	fd_notify(&r->f, NET_TXQ);
	while (fd_used(&r->f, NET_TXQ, &id, &len))
		k++;
	assert_int_equal(k, 3);
	r->f.d->ops->config_read(r->f.d, 0, cfg, 12);
	assert_int_equal(cfg[6] & VIRTIO_NET_S_LINK_UP, 0);
	assert_true(r->f.d->config_generation > gen);
	assert_true(r->f.d->interrupt_status & VIRTIO_INT_CONFIG);
	assert_false(n->fd_watched);
	/* Still no hang afterwards. */
	fd_post_tx(&r->f, &h, frame, sizeof(frame), false);
	fd_notify(&r->f, NET_TXQ);
	assert_int_equal(fd_used(&r->f, NET_TXQ, &id, &len), 1);
	assert_true(net_get_stats(n)->tx_link_down >= 1);
}

/* Frames the peer sent before closing a stream still reach the guest. */
static void test_stream_drain_after_close(void **state)
{
	struct rig *r = *state;
	uint8_t frame[300];
	uint32_t id, len = 0;

	make_frame(frame, sizeof(frame), 5);
	peer_send(r, frame, 300);
	peer_send(r, frame, 300);
	/* Half a frame, then the close: lost with the peer. */
	assert_int_equal(write(r->peer, "\0\0\1\0abc", 7), 7);
	close(r->peer);
	r->peer = -1;
	net_fd_event(r->f.net, EPOLLIN | EPOLLHUP | EPOLLRDHUP);
	fd_post_rx(&r->f, 1526);
	fd_post_rx(&r->f, 1526);
	fd_notify(&r->f, NET_RXQ);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 1);
	assert_int_equal(len, NET_HDR_LEN + 300);
	assert_int_equal(fd_used(&r->f, NET_RXQ, &id, &len), 0);
}

/* A hostile receive chain (device-readable buffer) fails the device, nothing more. */
static void test_rx_readable_chain(void **state)
{
	struct rig *r = *state;
	uint64_t gpa = fd_alloc(&r->f, 2000);
	uint32_t l = 2000;
	uint16_t fl = 0;
	uint8_t frame[60] = { 0 };

	fd_post(&r->f, NET_RXQ, &gpa, &l, &fl, 1);
	peer_send(r, frame, 60);
	fd_notify(&r->f, NET_RXQ);
	assert_true(r->f.d->status & VIRTIO_STATUS_NEEDS_RESET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_mac),
		cmocka_unit_test(test_parse_option),
		cmocka_unit_test(test_fd_kind),
		cmocka_unit_test(test_stream_framing),
		cmocka_unit_test(test_hdr_checks),
		cmocka_unit_test_setup_teardown(test_tx_sizes, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_tx_sizes, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_sizes, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_sizes, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_sizes, setup_dgram_nomrg, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_bad_lengths, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_bad_lengths, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_peer_close, setup_dgram, rig_close),
		cmocka_unit_test_setup_teardown(test_peer_close, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_stream_drain_after_close, setup_stream, rig_close),
		cmocka_unit_test_setup_teardown(test_rx_readable_chain, setup_dgram, rig_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
