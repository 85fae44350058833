// SPDX-License-Identifier: MIT
/*
 * vsock-echo: listens on vsock port vsock.port (default 5000) and echoes
 * every byte of every host-initiated connection back, honoring the host's
 * credit and giving credit back as it consumes (tests/vsock-kernels.t.sh
 * drives it with tests/vsock/vsock_client.c echo). Connections are served
 * concurrently; after the host's SHUTDOWN(SEND) and the last byte echoed it
 * sends SHUTDOWN(SEND), and answers the host's final SHUTDOWN with RST.
 * Prints:
 *   vsock: cid <C> device at 0x<base>
 *   conn <n> from host port <p>: <bytes> bytes echoed, <how it ended>
 *   vsock-echo ok: <n> connections, <bytes> bytes | vsock-echo BAD: ...
 * after vsock.conns (default 1) connections, then an i8042 reset.
 */
#include "vsock_drv.h"

const char kernel_name[] = "vsock-echo";

#define NRX    64
#define RXSIZE (VS_HDR_SIZE + 16384)

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint64_t echoed[VS_MAX_CONNS];
static int ids[VS_MAX_CONNS];

void kmain(struct boot_info *bi)
{
	uint32_t port = (uint32_t)cmdline_uint(bi, "vsock.port", 5000);
	uint64_t want = cmdline_uint(bi, "vsock.conns", 1), done = 0, total = 0, idle;
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE), next_id = 0, failures = 0;
	struct vs *v = &vs;

	if (r) {
		kprintf("vsock-echo BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	kprintf("vsock: cid %lu device at 0x%lx\n", v->cid, (uint64_t)v->d->base);
	vs_listen(v, port);
	idle = virtio_deadline(30000);
	while (done < want) {
		struct vs_conn *c;
		bool progress = false;

		vs_poll(v);
		while ((c = vs_accept(v))) {
			ids[c - v->conns] = next_id++;
			echoed[c - v->conns] = 0;
		}
		for (int i = 0; i < VS_MAX_CONNS; i++) {
			const uint8_t *p;
			uint32_t n, cr;

			c = &v->conns[i];
			if (c->state == VS_FREE)
				continue;
			if (c->state == VS_ESTABLISHED && (n = vs_recv_peek(v, c, &p)) && (cr = vs_credit(c))) {
				if (n > cr)
					n = cr;
				if (vs_send_pkt(v, c, p, n) == 0) {
					vs_kick_tx(v);
					vs_tx_flush(v, VIRTIO_WAIT_MS); /* the payload is our RX buffer */
					vs_consume(v, c, n);
					echoed[i] += n;
					progress = true;
				}
			}
			if (c->state == VS_ESTABLISHED && vs_rx_done(c) && !(c->shut_sent & VS_SHUT_SEND)) {
				vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
				progress = true;
			}
			if (c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND)) {
				const char *how = c->rst ? "reset by the host" : "closed by the host (RST sent)";

				if (!c->rst)
					vs_send_ctl(v, c, VS_OP_RST, 0);
				if (!(c->shut_sent & VS_SHUT_SEND) || c->qn) {
					how = c->rst ? "BAD: reset before the echo finished"
						     : "BAD: closed before the echo finished";
					failures++;
				}
				kprintf("conn %d from host port %u: %lu bytes echoed, %s\n", ids[i], c->pport, echoed[i], how);
				total += echoed[i];
				vs_free(v, c);
				done++;
				progress = true;
			}
		}
		if (progress)
			idle = virtio_deadline(30000);
		else if (virtio_expired(idle)) {
			kprintf("vsock-echo BAD: nothing happened for 30 s (%lu of %lu connections done)\n", done, want);
			reset();
		}
	}
	vs_tx_flush(v, VIRTIO_WAIT_MS);
	if (failures || v->bad_rx)
		kprintf("vsock-echo BAD: %d failures, %lu bad rx packets\n", failures, v->bad_rx);
	else
		kprintf("vsock-echo ok: %lu connections, %lu bytes\n", done, total);
	reset();
}
