// SPDX-License-Identifier: MIT
/*
 * virtio-vsock: the CONNECT line parser, header checks, credit arithmetic
 * with wrapping counters, the --vsock option; then the device as a guest
 * driver and host clients see it (tests/vsock/harness.h: rings in a
 * guest_mem, the device on its own event loop thread, no KVM).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "tests/vsock/harness.h"

#define CID 3
#define GPORT 1234 /* the guest's port for guest-initiated connections */

/* ---- pure functions ---- */

static void test_parse_connect(void **state)
{
	uint32_t port = 0;

#define OK(s, p) do { assert_int_equal(vsock_parse_connect(s, strlen(s), &port), 0); \
		      assert_int_equal(port, p); } while (0)
#define BAD(s) assert_int_equal(vsock_parse_connect(s, strlen(s), &port), -EINVAL)
	OK("CONNECT 5000\n", 5000);
	OK("CONNECT 0\n", 0);
	OK("CONNECT   52\n", 52);
	OK("CONNECT 4294967295\n", 4294967295u);
	OK("CONNECT 7\r\n", 7);
	BAD("CONNECT 4294967296\n");
	BAD("CONNECT 99999999999999999999\n");
	BAD("CONNECT 5000");        /* no newline */
	BAD("CONNECT\n");
	BAD("CONNECT \n");
	BAD("CONNECT5000\n");
	BAD("connect 5000\n");
	BAD("CONNECT -1\n");
	BAD("CONNECT +1\n");
	BAD("CONNECT 12x\n");
	BAD("CONNECT 12 \n");
	BAD("CONNECT\t12\n");
	BAD(" CONNECT 12\n");
	BAD("CONNECT 1\n\n");
	BAD("");
	/* Bounded: 64 bytes with the newline. */
	char line[80];
	memset(line, ' ', sizeof(line));
	memcpy(line, "CONNECT ", 8);
	strcpy(line + 60, "123\n");
	assert_int_equal(vsock_parse_connect(line, 64, &port), 0);
	assert_int_equal(port, 123);
	memmove(line + 61, line + 60, 5);
	assert_int_equal(vsock_parse_connect(line, 65, &port), -EINVAL);
	/* An embedded NUL is not a digit. */
	assert_int_equal(vsock_parse_connect("CONNECT 1\0002\n", 12, &port), -EINVAL);
#undef OK
#undef BAD
}

static struct vsock_hdr good_hdr(void)
{
	return (struct vsock_hdr){ .src_cid = CID, .dst_cid = 2, .src_port = 1, .dst_port = 2,
				   .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RW, .len = 100 };
}

static void test_hdr_check(void **state)
{
	struct vsock_hdr h = good_hdr();

	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_OK);
	assert_int_equal(vsock_hdr_check(&h, CID, 99), VSOCK_HDR_LEN);
	h.len = VSOCK_MAX_PKT_PAYLOAD + 1;
	assert_int_equal(vsock_hdr_check(&h, CID, 1 << 20), VSOCK_HDR_LEN);
	h = good_hdr();
	h.src_cid = 2;
	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_SRC_CID);
	h.src_cid = CID | (1ULL << 32); /* a 64-bit CID that matches in its low half */
	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_SRC_CID);
	h = good_hdr();
	h.dst_cid = CID;
	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_DST_CID);
	h = good_hdr();
	h.type = 2; /* SEQPACKET: not negotiated */
	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_TYPE);
	h = good_hdr();
	for (uint16_t op = 0; op < 20; op++) {
		h.op = op;
		h.len = op == VSOCK_OP_RW ? 100 : 0;
		assert_int_equal(vsock_hdr_check(&h, CID, 100),
				 op >= 1 && op <= 7 ? VSOCK_HDR_OK : VSOCK_HDR_OP);
	}
	h.op = VSOCK_OP_SHUTDOWN;
	h.len = 1;
	assert_int_equal(vsock_hdr_check(&h, CID, 100), VSOCK_HDR_LEN_CONTROL);
	h.len = 0;
	h.flags = 3;
	assert_int_equal(vsock_hdr_check(&h, CID, 0), VSOCK_HDR_OK);
	h.flags = 4;
	assert_int_equal(vsock_hdr_check(&h, CID, 0), VSOCK_HDR_FLAGS);
	assert_string_equal(vsock_hdr_strerror(VSOCK_HDR_FLAGS), "unknown SHUTDOWN flags");
}

static void test_credit(void **state)
{
	assert_int_equal(vsock_credit(1000, 0, 0), 1000);
	assert_int_equal(vsock_credit(1000, 0, 400), 600);
	assert_int_equal(vsock_credit(1000, 400, 1400), 0);  /* exactly full */
	assert_int_equal(vsock_credit(1000, 400, 1500), 0);  /* over: the peer shrank buf_alloc */
	/* Counters wrap at 2^32. */
	assert_int_equal(vsock_credit(1000, 0xfffffff0u, 0x10), 1000 - 0x20);
	assert_int_equal(vsock_credit(1000, 0xfffffc18u, 0), 0); /* 1000 in flight across the wrap */
	assert_int_equal(vsock_credit(256 * 1024, 0xffffffffu, 0xffffffffu), 256 * 1024);
	/* A receiver that claims to have consumed more than was sent gets nothing. */
	assert_int_equal(vsock_credit(1000, 10, 5), 0);
	assert_int_equal(vsock_credit(0, 0, 0), 0);
}

static void test_parse_option(void **state)
{
	char uds[VSOCK_UDS_MAX + 1];
	const char *why = NULL;
	uint64_t cid = 0;

	assert_int_equal(vsock_parse_option("cid=3,uds=/tmp/v.sock", &cid, uds, sizeof(uds), &why), 0);
	assert_int_equal(cid, 3);
	assert_string_equal(uds, "/tmp/v.sock");
	assert_int_equal(vsock_parse_option("uds=/a,cid=4294967294", &cid, uds, sizeof(uds), &why), 0);
	assert_int_equal(cid, 4294967294u);
	assert_int_equal(vsock_parse_option("cid=2,uds=/a", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("cid=4294967295,uds=/a", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("cid=-3,uds=/a", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("cid=3x,uds=/a", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("cid=3", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("uds=/a", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("cid=3,uds=/a,x=1", &cid, uds, sizeof(uds), &why), -EINVAL);
	assert_int_equal(vsock_parse_option("", &cid, uds, sizeof(uds), &why), -EINVAL);
	char longp[200] = "cid=3,uds=/";
	memset(longp + 11, 'a', 150);
	assert_int_equal(vsock_parse_option(longp, &cid, uds, sizeof(uds), &why), -EINVAL);
}

/* ---- the device ---- */

struct rig {
	struct fg g;
	char dir[64], uds[128];
};

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	bool cerr;

	strcpy(r->dir, "/tmp/fp-vsock-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->uds, sizeof(r->uds), "%s/v.sock", r->dir);
	assert_int_equal(fg_start(&r->g, CID, r->uds, false, &cerr), 0);
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;
	char cmd[128];

	fg_stop(&r->g);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	assert_int_equal(system(cmd), 0);
	free(r);
	return 0;
}

static int uds_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int uds_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* Read exactly n bytes within 2 s; returns what arrived (0 at EOF). */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	struct timeval tv = { .tv_sec = 2 };
	size_t got = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Whether fd reaches EOF (or a reset) within 2 s, without data first. */
static bool sees_eof(int fd)
{
	char c;

	return read_full(fd, &c, 1) == 0;
}

/* The next packet, which must have op `op`, within 2 s; returns its payload length. */
static int expect(struct rig *r, uint16_t op, struct vsock_hdr *h, void *data)
{
	int n = fg_recv(&r->g, h, data, 2000);

	assert_true(n >= 0);
	if (h->op != op)
		fail_msg("expected op %u, got op %u (ports %u -> %u)", op, h->op, h->src_port, h->dst_port);
	assert_int_equal(h->src_cid, 2);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VSOCK_TYPE_STREAM);
	return n;
}

static void expect_nothing(struct rig *r, int ms)
{
	struct vsock_hdr h;

	assert_int_equal(fg_recv(&r->g, &h, NULL, ms), -1);
}

/* A host client through the CONNECT handshake to an accepting guest port; returns the client fd. */
static int host_connect(struct rig *r, uint32_t gport, uint32_t *host_port, uint32_t guest_buf)
{
	struct vsock_hdr h;
	char line[32], want[32];
	int fd = uds_connect(r->uds);

	snprintf(line, sizeof(line), "CONNECT %u\n", gport);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	expect(r, VSOCK_OP_REQUEST, &h, NULL);
	assert_int_equal(h.dst_port, gport);
	assert_true(h.src_port >= 1u << 30);
	assert_int_equal(h.buf_alloc, VSOCK_BUF_ALLOC);
	*host_port = h.src_port;
	fg_send(&r->g, VSOCK_OP_RESPONSE, gport, h.src_port, 0, guest_buf, 0, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	assert_int_equal(read_full(fd, line, strlen(want)), (ssize_t)strlen(want));
	assert_memory_equal(line, want, strlen(want));
	return fd;
}

static void test_host_initiated_echo(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	char buf[4096];
	uint32_t hp;
	int fd = uds_connect(r->uds);

	/* Payload written right behind the CONNECT line waits for the guest's RESPONSE. */
	assert_int_equal(write(fd, "CONNECT 5000\nhello", 18), 18);
	expect(r, VSOCK_OP_REQUEST, &h, NULL);
	hp = h.src_port;
	fg_send(&r->g, VSOCK_OP_RESPONSE, 5000, hp, 0, 65536, 0, NULL, 0);
	assert_int_equal(expect(r, VSOCK_OP_RW, &h, buf), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(h.src_port, hp);
	assert_int_equal(h.dst_port, 5000);
	snprintf(buf, sizeof(buf), "OK %u\n", hp);
	char got[32];
	assert_int_equal(read_full(fd, got, strlen(buf)), (ssize_t)strlen(buf));
	assert_memory_equal(got, buf, strlen(buf)); /* OK line first, then the guest's bytes */
	fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 5, "world", 5);
	assert_int_equal(read_full(fd, got, 5), 5);
	assert_memory_equal(got, "world", 5);
	/* The guest resets: the client sees EOF, nothing comes back. */
	fg_send(&r->g, VSOCK_OP_RST, 5000, hp, 0, 0, 0, NULL, 0);
	assert_true(sees_eof(fd));
	expect_nothing(r, 100);
	close(fd);
}

static void test_host_initiated_refused(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	int fd = uds_connect(r->uds);

	assert_int_equal(write(fd, "CONNECT 77\n", 11), 11);
	expect(r, VSOCK_OP_REQUEST, &h, NULL);
	fg_send(&r->g, VSOCK_OP_RST, 77, h.src_port, 0, 0, 0, NULL, 0);
	assert_true(sees_eof(fd)); /* no OK line */
	close(fd);
}

static void test_bad_connect_lines(void **state)
{
	struct rig *r = *state;
	static const char *bad[] = { "connect 5000\n", "CONNECT x\n", "CONNECT 99999999999\n", "HELLO\n" };
	char big[200];

	for (unsigned i = 0; i < 4; i++) {
		int fd = uds_connect(r->uds);

		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		assert_true(sees_eof(fd));
		close(fd);
	}
	/* Overlong: no newline within 64 bytes. */
	memset(big, 'C', sizeof(big));
	int fd = uds_connect(r->uds);
	assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	assert_true(sees_eof(fd));
	close(fd);
	/* Half a line, then a half-close. */
	fd = uds_connect(r->uds);
	assert_int_equal(write(fd, "CONNE", 5), 5);
	shutdown(fd, SHUT_WR);
	assert_true(sees_eof(fd));
	close(fd);
	/* None of it reached the guest, and the device still works. */
	expect_nothing(r, 100);
	uint32_t hp;
	fd = host_connect(r, 9, &hp, 4096);
	close(fd);
}

static void test_handshake_timeout(void **state)
{
	struct rig *r = *state;
	uint64_t t0;
	int fd;

	pthread_mutex_lock(&r->g.v.dev.lock);
	r->g.v.handshake_ms = 200;
	r->g.v.response_ms = 300;
	pthread_mutex_unlock(&r->g.v.dev.lock);
	/* Slowloris: says nothing. */
	t0 = fg_now_ms();
	fd = uds_connect(r->uds);
	assert_true(sees_eof(fd));
	assert_true(fg_now_ms() - t0 >= 150);
	close(fd);
	/* The guest never answers the REQUEST: the client is closed, the guest gets RST. */
	struct vsock_hdr h;
	fd = uds_connect(r->uds);
	assert_int_equal(write(fd, "CONNECT 5\n", 10), 10);
	expect(r, VSOCK_OP_REQUEST, &h, NULL);
	assert_true(sees_eof(fd));
	uint32_t hp = h.src_port;
	expect(r, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_port, hp);
	close(fd);
}

static void test_guest_initiated(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	char path[160], buf[64];
	int lfd, afd;

	/* Nobody listens on uds_5001 yet: RST. */
	fg_send(&r->g, VSOCK_OP_REQUEST, GPORT, 5001, 0, 65536, 0, NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_port, 5001);
	assert_int_equal(h.dst_port, GPORT);

	snprintf(path, sizeof(path), "%s_5001", r->uds);
	lfd = uds_listen(path);
	fg_send(&r->g, VSOCK_OP_REQUEST, GPORT, 5001, 0, 65536, 0, NULL, 0);
	expect(r, VSOCK_OP_RESPONSE, &h, NULL);
	assert_int_equal(h.src_port, 5001);
	assert_int_equal(h.dst_port, GPORT);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	fg_send(&r->g, VSOCK_OP_RW, GPORT, 5001, 0, 65536, 0, "ping", 4);
	assert_int_equal(read_full(afd, buf, 4), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(write(afd, "pong", 4), 4);
	assert_int_equal(expect(r, VSOCK_OP_RW, &h, buf), 4);
	assert_memory_equal(buf, "pong", 4);

	/* Half-close from the guest: the host reads EOF and can still write. */
	fg_send(&r->g, VSOCK_OP_SHUTDOWN, GPORT, 5001, VSOCK_SHUTDOWN_SEND, 65536, 4, NULL, 0);
	assert_true(sees_eof(afd));
	assert_int_equal(write(afd, "late", 4), 4);
	assert_int_equal(expect(r, VSOCK_OP_RW, &h, buf), 4);
	assert_memory_equal(buf, "late", 4);
	/* The host closes: SHUTDOWN both ways; the guest's RST ends it. */
	close(afd);
	expect(r, VSOCK_OP_SHUTDOWN, &h, NULL);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	fg_send(&r->g, VSOCK_OP_RST, GPORT, 5001, 0, 65536, 8, NULL, 0);
	expect_nothing(r, 100);
	/* The connection is gone: data on it now gets RST. */
	fg_send(&r->g, VSOCK_OP_RW, GPORT, 5001, 0, 65536, 8, "x", 1);
	expect(r, VSOCK_OP_RST, &h, NULL);
	close(lfd);
	unlink(path);
}

static void test_host_half_close(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	uint32_t hp;
	char buf[16];
	int fd = host_connect(r, 5000, &hp, 65536);

	assert_int_equal(write(fd, "abc", 3), 3);
	shutdown(fd, SHUT_WR);
	assert_int_equal(expect(r, VSOCK_OP_RW, &h, buf), 3);
	expect(r, VSOCK_OP_SHUTDOWN, &h, NULL);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_SEND);
	/* The other direction still works. */
	fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 3, "xyz", 3);
	assert_int_equal(read_full(fd, buf, 3), 3);
	assert_memory_equal(buf, "xyz", 3);
	/* The guest closes both ways: its data is delivered, then RST, then EOF. */
	fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 3, "end", 3);
	fg_send(&r->g, VSOCK_OP_SHUTDOWN, 5000, hp, 3, 65536, 3, NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(read_full(fd, buf, 3), 3);
	assert_memory_equal(buf, "end", 3);
	assert_true(sees_eof(fd));
	close(fd);
}

/* Host to guest: never more than the guest's credit; CREDIT_REQUEST when out of it. */
static void test_guest_credit_respected(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	static char data[10000], buf[8192];
	uint32_t hp, got = 0;
	int fd = host_connect(r, 5000, &hp, 1000);

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	while (got < 1000)
		got += (uint32_t)expect(r, VSOCK_OP_RW, &h, buf + got);
	assert_int_equal(got, 1000);
	assert_memory_equal(buf, data, 1000);
	expect(r, VSOCK_OP_CREDIT_REQUEST, &h, NULL);
	expect_nothing(r, 100);
	/* The guest read 600 bytes: 600 more may come. Counters near the wrap need no care here. */
	fg_send(&r->g, VSOCK_OP_CREDIT_UPDATE, 5000, hp, 0, 1000, 600, NULL, 0);
	while (got < 1600)
		got += (uint32_t)expect(r, VSOCK_OP_RW, &h, buf + got);
	assert_int_equal(got, 1600);
	assert_memory_equal(buf, data, 1600);
	expect(r, VSOCK_OP_CREDIT_REQUEST, &h, NULL); /* out of credit again */
	/* A bigger buffer: the rest arrives in 4 KiB rx buffers. */
	fg_send(&r->g, VSOCK_OP_CREDIT_UPDATE, 5000, hp, 0, 1 << 20, 1600, NULL, 0);
	while (got < sizeof(data)) {
		int n = expect(r, VSOCK_OP_RW, &h, buf);

		assert_true(n <= 4096);
		assert_memory_equal(buf, data + got, n);
		got += (uint32_t)n;
	}
	close(fd);
}

/* Guest to host with a host that does not read: buffered up to our buf_alloc, then RST. */
static void test_host_credit_enforced(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	static char chunk[65536];
	uint32_t hp, sent = 0, fwd_seen = 0;
	int fd = host_connect(r, 5000, &hp, 65536);
	int rcv = 4096;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* Send as the credit allows, tracking CREDIT_UPDATEs: the host's socket fills, then our buffer. */
	for (int i = 0; i < 64; i++) {
		uint32_t credit;

		while (fg_recv(&r->g, &h, NULL, 20) >= 0) {
			if (h.op == VSOCK_OP_CREDIT_UPDATE || h.op == VSOCK_OP_RW)
				fwd_seen = h.fwd_cnt;
		}
		credit = vsock_credit(VSOCK_BUF_ALLOC, fwd_seen, sent);
		if (credit < sizeof(chunk))
			break;
		fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	assert_true(sent >= VSOCK_BUF_ALLOC); /* at least our whole buffer went out */
	/* One packet beyond the credit: RST, and the host sees the connection end. */
	fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, chunk, sizeof(chunk));
	for (;;) {
		assert_true(fg_recv(&r->g, &h, NULL, 2000) >= 0);
		if (h.op == VSOCK_OP_RST)
			break;
	}
	assert_int_equal(h.src_port, hp);
	close(fd);
}

static void test_credit_update_flow(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h;
	static char chunk[4096], sink[1 << 16];
	uint32_t hp, sent = 0, fwd = 0;
	int fd = host_connect(r, 5000, &hp, 65536);

	/* 2 MiB through a 256 KiB window: only CREDIT_UPDATEs let it continue. */
	while (sent < (2u << 20)) {
		while (vsock_credit(VSOCK_BUF_ALLOC, fwd, sent) < sizeof(chunk)) {
			ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

			if (fg_recv(&r->g, &h, NULL, n > 0 ? 0 : 50) >= 0)
				fwd = h.fwd_cnt;
		}
		fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	close(fd);
}

static void test_hostile_headers(void **state)
{
	struct rig *r = *state;
	struct vsock_hdr h, bad;
	uint32_t hp;
	char buf[16];
	int fd = host_connect(r, 5000, &hp, 65536);

	/* Each bad packet gets an RST for its ports; a live connection with those ports dies. */
	struct vsock_hdr base = { .src_cid = htole64(CID), .dst_cid = htole64(2), .src_port = htole32(99),
				  .dst_port = htole32(98), .type = htole16(1), .op = htole16(VSOCK_OP_RW) };
	bad = base;
	bad.src_cid = htole64(7);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_port, 98);
	assert_int_equal(h.dst_port, 99);
	bad = base;
	bad.dst_cid = htole64(CID);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	bad = base;
	bad.type = htole16(2);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	bad = base;
	bad.op = htole16(42);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	bad = base;
	bad.len = htole32(100); /* no payload descriptor */
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	bad.len = htole32(0xffffffff);
	fg_send_raw(&r->g, &bad, sizeof(bad), "x", 1);
	expect(r, VSOCK_OP_RST, &h, NULL);
	/* RST to nothing gets no answer; a short header is dropped silently. */
	bad = base;
	bad.op = htole16(VSOCK_OP_RST);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	fg_send_raw(&r->g, &base, 20, NULL, 0);
	fg_send_raw(&r->g, &base, 0, NULL, 0);
	expect_nothing(r, 100);
	/* RESPONSE out of the blue, CREDIT_REQUEST to nothing: RST. */
	fg_send(&r->g, VSOCK_OP_RESPONSE, 5, 6, 0, 0, 0, NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	/* The live connection still works... */
	fg_send(&r->g, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, "ok", 2);
	assert_int_equal(read_full(fd, buf, 2), 2);
	/* ...until a bad packet names its ports: then RST, and the client sees EOF. */
	bad = base;
	bad.src_port = htole32(5000);
	bad.dst_port = htole32(hp);
	bad.type = htole16(3);
	fg_send_raw(&r->g, &bad, sizeof(bad), NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	assert_int_equal(h.src_port, hp);
	assert_true(sees_eof(fd));
	close(fd);
	/* A second REQUEST for a live guest-initiated connection kills it. */
	char path[160];
	snprintf(path, sizeof(path), "%s_6000", r->uds);
	int lfd = uds_listen(path);
	fg_send(&r->g, VSOCK_OP_REQUEST, 77, 6000, 0, 65536, 0, NULL, 0);
	expect(r, VSOCK_OP_RESPONSE, &h, NULL);
	fg_send(&r->g, VSOCK_OP_REQUEST, 77, 6000, 0, 65536, 0, NULL, 0);
	expect(r, VSOCK_OP_RST, &h, NULL);
	int afd = accept(lfd, NULL, NULL);
	assert_true(sees_eof(afd));
	close(afd);
	close(lfd);
}

static void test_device_reset(void **state)
{
	struct rig *r = *state;
	uint32_t hp;
	int fd = host_connect(r, 5000, &hp, 65536);

	fg_reset(&r->g);
	assert_true(sees_eof(fd)); /* host sockets closed */
	close(fd);
	/* No TRANSPORT_RESET for a reset the driver did itself. */
	assert_int_equal(fg_recv_event(&r->g, 100), -1);
	/* The device works again after the driver's set-up. */
	fd = host_connect(r, 5000, &hp, 65536);
	/* A transport reset (snapshot restore): connections dropped, event sent. */
	pthread_mutex_lock(&r->g.v.dev.lock);
	vsock_transport_reset(&r->g.v);
	pthread_mutex_unlock(&r->g.v.dev.lock);
	assert_int_equal(fg_recv_event(&r->g, 1000), VSOCK_EVENT_TRANSPORT_RESET);
	assert_true(sees_eof(fd));
	close(fd);
}

static void test_listener_lifecycle(void **state)
{
	char dir[] = "/tmp/fp-vsock-XXXXXX", path[128], cmd[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fg *g = calloc(1, sizeof(*g));
	struct stat st;
	bool cerr;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	/* A stale socket file (its listener is gone) is replaced. */
	fd = uds_listen(path);
	close(fd);
	assert_int_equal(fg_start(g, CID, path, false, &cerr), 0);
	/* A live one is refused, as a configuration error. */
	struct fg *g2 = calloc(1, sizeof(*g2));
	assert_int_equal(fg_start(g2, CID, path, false, &cerr), -1);
	assert_true(cerr);
	free(g2);
	assert_int_equal(stat(path, &st), 0);
	fg_stop(g);
	assert_int_equal(stat(path, &st), -1); /* removed on exit */
	/* Not a socket: refused, file kept. */
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	close(fd);
	assert_int_equal(fg_start(g, CID, path, false, &cerr), -1);
	assert_true(cerr);
	assert_int_equal(stat(path, &st), 0);
	/* Bad CID, path too long. */
	unlink(path);
	assert_int_equal(fg_start(g, 2, path, false, &cerr), -1);
	assert_true(cerr);
	memset(sa.sun_path, 'a', sizeof(sa.sun_path) - 1);
	assert_int_equal(fg_start(g, CID, sa.sun_path, false, &cerr), -1);
	assert_true(cerr);
	free(g);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Many host clients at once, each echoed by the fake guest. */
static void test_many_connections(void **state)
{
	struct rig *r = *state;
	enum { N = 300 };
	static int fds[N];
	static uint32_t ports[N];
	struct vsock_hdr h;
	char buf[4096], line[32];

	for (int i = 0; i < N; i++) {
		fds[i] = uds_connect(r->uds);
		snprintf(line, sizeof(line), "CONNECT %d\n", 10000 + i);
		assert_int_equal(write(fds[i], line, strlen(line)), (ssize_t)strlen(line));
	}
	for (int i = 0; i < N; i++) {
		expect(r, VSOCK_OP_REQUEST, &h, NULL);
		ports[h.dst_port - 10000] = h.src_port;
		fg_send(&r->g, VSOCK_OP_RESPONSE, h.dst_port, h.src_port, 0, 65536, 0, NULL, 0);
	}
	for (int i = 0; i < N; i++) {
		int n = snprintf(line, sizeof(line), "OK %u\n", ports[i]);

		assert_int_equal(read_full(fds[i], buf, (size_t)n), n);
		assert_memory_equal(buf, line, n);
		n = snprintf(line, sizeof(line), "conn %d", i);
		assert_int_equal(write(fds[i], line, (size_t)n), n);
	}
	for (int i = 0; i < N; i++) {
		int n = expect(r, VSOCK_OP_RW, &h, buf);

		fg_send(&r->g, VSOCK_OP_RW, h.dst_port, h.src_port, 0, 65536, (uint32_t)n, buf, (uint32_t)n);
	}
	for (int i = 0; i < N; i++) {
		int n = snprintf(line, sizeof(line), "conn %d", i);

		assert_int_equal(read_full(fds[i], buf, (size_t)n), n);
		assert_memory_equal(buf, line, n);
		close(fds[i]);
	}
	/* Every close becomes SHUTDOWN both ways; the guest's RSTs free them all. */
	for (int i = 0; i < N; i++) {
		expect(r, VSOCK_OP_SHUTDOWN, &h, NULL);
		fg_send(&r->g, VSOCK_OP_RST, h.dst_port, h.src_port, 0, 0, 0, NULL, 0);
	}
	expect_nothing(r, 100);
	pthread_mutex_lock(&r->g.v.dev.lock);
	assert_int_equal(r->g.v.nr_conns, 0);
	pthread_mutex_unlock(&r->g.v.dev.lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_connect),
		cmocka_unit_test(test_hdr_check),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_parse_option),
		cmocka_unit_test(test_listener_lifecycle),
		cmocka_unit_test_setup_teardown(test_host_initiated_echo, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_host_initiated_refused, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_bad_connect_lines, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_handshake_timeout, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_guest_initiated, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_host_half_close, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_guest_credit_respected, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_host_credit_enforced, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_credit_update_flow, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_headers, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_device_reset, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, rig_setup, rig_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
