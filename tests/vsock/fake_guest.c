// SPDX-License-Identifier: MIT
/*
 * fake_guest: the virtio-vsock device with a fake guest driver (harness.h)
 * that accepts every host-initiated connection and echoes what it receives,
 * with the credit accounting a real driver does both ways. The host side is
 * flashpan's real Unix-socket back end, so a host client (vsock_client)
 * tests it end to end without a VM.
 *
 *   fake_guest --uds PATH [--cid C] [--seconds S]
 *
 * Prints "fake_guest: ready" once PATH listens; runs until SIGTERM/SIGINT or
 * S seconds, then prints a summary line and exits 0 (1 on a protocol error).
 */
#include <signal.h>

#include "tests/vsock/harness.h"

#define GUEST_BUF (256 * 1024) /* our buf_alloc, as Linux's default */
#define NSLOTS    8192

struct gconn {
	bool used;
	uint32_t hport, gport;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt; /* our sending credit */
	uint32_t fwd_cnt;                              /* bytes we consumed (echoed) */
	uint8_t *pend;
	uint32_t pend_len;
	bool peer_shut_send, closing;
};

static struct gconn conns[NSLOTS];
static volatile sig_atomic_t stop;
static unsigned long long accepted, closed_ok, resets, errors, bytes;

static void on_signal(int sig)
{
	stop = 1;
}

static struct gconn *find(uint32_t hport, uint32_t gport, bool create)
{
	uint32_t h = (hport * 2654435761u ^ gport) % NSLOTS;

	for (unsigned i = 0; i < NSLOTS; i++) {
		struct gconn *c = &conns[(h + i) % NSLOTS];

		if (c->used && c->hport == hport && c->gport == gport)
			return c;
		if (!c->used && create) {
			memset(c, 0, sizeof(*c));
			c->used = true;
			c->hport = hport;
			c->gport = gport;
			return c;
		}
		if (!c->used && !create)
			return NULL; /* linear probing without deletion holes: see drop() */
	}
	return NULL;
}

/* Remove with backward-shift, so probing stays correct. */
static void drop(struct gconn *c)
{
	unsigned i = (unsigned)(c - conns);

	free(c->pend);
	c->used = false;
	for (unsigned j = (i + 1) % NSLOTS; conns[j].used; j = (j + 1) % NSLOTS) {
		unsigned home = (conns[j].hport * 2654435761u ^ conns[j].gport) % NSLOTS;

		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			conns[i] = conns[j];
			conns[j].used = false;
			i = j;
		}
	}
}

static void send_ctl(struct fg *g, struct gconn *c, uint16_t op, uint32_t flags)
{
	fg_send(g, op, c->gport, c->hport, flags, GUEST_BUF, c->fwd_cnt, NULL, 0);
}

/* Echo what we hold, as far as the host's credit goes; close after the host's EOF. */
static void flush(struct fg *g, struct gconn *c)
{
	while (c->pend_len) {
		uint32_t n = vsock_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->tx_cnt);

		if (!n)
			return;
		if (n > c->pend_len)
			n = c->pend_len;
		if (n > 16384)
			n = 16384;
		c->fwd_cnt += n; /* consumed from our buffer as it goes back out */
		fg_send(g, VSOCK_OP_RW, c->gport, c->hport, 0, GUEST_BUF, c->fwd_cnt, c->pend, n);
		c->tx_cnt += n;
		memmove(c->pend, c->pend + n, c->pend_len - n);
		c->pend_len -= n;
	}
	if (c->peer_shut_send && !c->closing) {
		c->closing = true; /* like close(): SHUTDOWN both ways, then the host's RST */
		send_ctl(g, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND);
	}
}

static void packet(struct fg *g, const struct vsock_hdr *h, const uint8_t *data, int len)
{
	struct gconn *c = find(h->src_port, h->dst_port, h->op == VSOCK_OP_REQUEST);

	if (!c) {
		if (h->op != VSOCK_OP_RST) {
			errors++;
			fprintf(stderr, "fake_guest: op %u for unknown connection %u:%u\n", h->op, h->src_port,
				h->dst_port);
		}
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_REQUEST:
		accepted++;
		send_ctl(g, c, VSOCK_OP_RESPONSE, 0);
		break;
	case VSOCK_OP_RW:
		if (c->pend_len + (uint32_t)len > GUEST_BUF) {
			errors++;
			fprintf(stderr, "fake_guest: the host sent beyond our credit\n");
			send_ctl(g, c, VSOCK_OP_RST, 0);
			drop(c);
			return;
		}
		c->pend = realloc(c->pend, c->pend_len + (uint32_t)len);
		memcpy(c->pend + c->pend_len, data, (size_t)len);
		c->pend_len += (uint32_t)len;
		bytes += (unsigned)len;
		break;
	case VSOCK_OP_SHUTDOWN:
		if (h->flags & VSOCK_SHUTDOWN_SEND)
			c->peer_shut_send = true;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		send_ctl(g, c, VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	case VSOCK_OP_RST:
		if (c->closing)
			closed_ok++;
		else
			resets++;
		drop(c);
		return;
	}
	flush(g, c);
}

int main(int argc, char **argv)
{
	static struct fg g;
	static uint8_t buf[FG_RX_BUF];
	const char *uds = NULL;
	uint64_t cid = 3, end;
	unsigned seconds = 600;
	struct vsock_hdr h;
	bool cerr;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--uds"))
			uds = argv[i + 1];
		else if (!strcmp(argv[i], "--cid"))
			cid = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = (unsigned)atoi(argv[i + 1]);
	}
	if (!uds) {
		fprintf(stderr, "usage: fake_guest --uds PATH [--cid C] [--seconds S]\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (fg_start(&g, cid, uds, true, &cerr))
		return 1;
	printf("fake_guest: ready\n");
	fflush(stdout);
	end = fg_now_ms() + seconds * 1000ULL;
	while (!stop && fg_now_ms() < end) {
		int n = fg_recv(&g, &h, buf, 100);

		if (n >= 0)
			packet(&g, &h, buf, n);
	}
	fg_stop(&g);
	printf("fake_guest: accepted %llu, closed cleanly %llu, reset %llu, echoed %llu bytes, errors %llu\n",
	       accepted, closed_ok, resets, bytes, errors);
	return errors ? 1 : 0;
}
