// SPDX-License-Identifier: MIT
/*
 * vsock-xfer: bulk transfers both ways, every byte checked, with half-close
 * in both orders (tests/vsock-kernels.t.sh, against tests/vsock/vk_host.c):
 *   1. guest-initiated: connects to host port vsock.gport (default 6000, the
 *      host listens at PATH_6000; REQUEST retried while it answers RST);
 *      receives vsock.bytes of pattern 11 until the host's SHUTDOWN(SEND)
 *      (the host half-closed first), then sends as many bytes of pattern 12,
 *      SHUTDOWN(SEND), and waits for the close (host SHUTDOWN both -> RST).
 *   2. host-initiated: accepts on vsock.port (default 5001); sends first
 *      (pattern 22), SHUTDOWN(SEND) (the guest half-closes first), then
 *      receives pattern 21 until the host's SHUTDOWN(SEND), and closes.
 * Prints per step "<step>: sent <n> got <n> checked in <ms> ms: ok | BAD ..."
 * then "vsock-xfer ok" or "vsock-xfer BAD: <n> failures", and resets.
 */
#include "vsock_drv.h"

const char kernel_name[] = "vsock-xfer";

#define NRX    64
#define RXSIZE (VS_HDR_SIZE + 16384)

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint8_t txbuf[65536] __attribute__((aligned(4096)));
static int failures;

static bool closed(const struct vs_conn *c)
{
	return c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND);
}

static uint64_t ms_since(uint64_t t0)
{
	return (rdtsc() - t0) / VIRTIO_TSC_PER_MS;
}

static void finish(struct vs *v, struct vs_conn *c, const char *step)
{
	/* The host closes once it has everything: SHUTDOWN both ways, we answer RST. */
	if (!vs_wait(v, c, closed, 10000)) {
		kprintf("%s: BAD: the host did not close within 10 s (peer_shut %u)\n", step, c->peer_shut);
		failures++;
	}
	if (!c->rst)
		vs_send_ctl(v, c, VS_OP_RST, 0);
	vs_free(v, c);
}

static void report(const char *step, uint64_t n, uint64_t sent, uint64_t got, int64_t bad, bool to, uint64_t t0)
{
	if (sent != n || got != n || bad >= 0 || to) {
		kprintf("%s: BAD: sent %lu got %lu of %lu, first bad byte %ld%s\n", step, sent, got, n, bad,
			to ? ", timed out" : "");
		failures++;
	} else {
		kprintf("%s: sent %lu got %lu checked in %lu ms: ok\n", step, sent, got, ms_since(t0));
	}
}

void kmain(struct boot_info *bi)
{
	uint64_t n = cmdline_uint(bi, "vsock.bytes", 4 << 20), sent, got, t0;
	uint32_t gport = (uint32_t)cmdline_uint(bi, "vsock.gport", 6000);
	uint32_t port = (uint32_t)cmdline_uint(bi, "vsock.port", 5001);
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE);
	struct vs *v = &vs;
	struct vs_conn *c = NULL;
	int64_t bad;
	bool to;

	if (r) {
		kprintf("vsock-xfer BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	kprintf("vsock: cid %lu, %lu bytes each way\n", v->cid, n);
	vs_listen(v, port);

	/* 1. guest-initiated, the host half-closes first. */
	t0 = rdtsc();
	for (int tries = 0; tries < 100; tries++) {
		c = vs_connect(v, gport, 3000);
		if (c && c->state == VS_ESTABLISHED)
			break;
		if (c)
			vs_free(v, c);
		c = NULL;
		uint64_t dl = virtio_deadline(100);
		while (!virtio_expired(dl))
			vs_poll(v);
	}
	if (!c) {
		kprintf("guest-initiated: BAD: host port %u never accepted\n", gport);
		failures++;
	} else {
		t0 = rdtsc();
		got = vs_recv_check(v, c, 11, 10000, &bad, &to);
		if (!(c->peer_shut & VS_SHUT_SEND) || c->rst) {
			kprintf("guest-initiated: BAD: no SHUTDOWN(SEND) from the host (peer_shut %u rst %d)\n",
				c->peer_shut, c->rst);
			failures++;
		}
		sent = vs_send_pattern(v, c, n, 12, txbuf, sizeof(txbuf), 10000);
		vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
		report("guest-initiated, host half-closes first", n, sent, got, bad, to, t0);
		finish(v, c, "guest-initiated");
	}

	/* 2. host-initiated, the guest half-closes first. */
	c = NULL;
	for (uint64_t dl = virtio_deadline(30000); !c && !virtio_expired(dl);) {
		vs_poll(v);
		c = vs_accept(v);
	}
	if (!c) {
		kprintf("host-initiated: BAD: no connection on port %u in 30 s\n", port);
		failures++;
	} else {
		t0 = rdtsc();
		sent = vs_send_pattern(v, c, n, 22, txbuf, sizeof(txbuf), 10000);
		vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
		got = vs_recv_check(v, c, 21, 10000, &bad, &to);
		report("host-initiated, guest half-closes first", n, sent, got, bad, to, t0);
		finish(v, c, "host-initiated");
	}
	vs_tx_flush(v, VIRTIO_WAIT_MS);
	if (v->bad_rx) {
		kprintf("BAD: %lu malformed packets from the device\n", v->bad_rx);
		failures++;
	}
	if (failures)
		kprintf("vsock-xfer BAD: %d failures\n", failures);
	else
		kprintf("vsock-xfer ok\n");
	reset();
}
