// SPDX-License-Identifier: MIT
/*
 * vsockbench: virtio-vsock throughput and connect latency with the data path
 * at CPL3 (bench/run.sh, section vsock, with bench/vsock/vsock_bench.c on
 * the host). On kvm_pvm hosts guest CPL0 code is emulated (~5M instr/s) and
 * CPL3 runs natively, so CPL0 only sets up: the device (vsock_drv.c), page
 * tables (4 GiB identity of 2 MiB pages, U/S=1: rings, buffers and the MMIO
 * window reachable from ring 3), a GDT with ring-3 segments and a TSS, an
 * int $0x80 gate of DPL 3; then iretq to ring 3 (IOPL 3, IF 0). The ring-3
 * loop polls the used rings and writes QueueNotify itself.
 * (blkbench.c has the same kind of ring-3 entry, but as static code inside
 * that kernel; there is nothing to link, so this one is its own.)
 *
 * Services, all host-initiated (CONNECT <port>):
 *   7000  sink: consume everything; after the host's SHUTDOWN(SEND), SHUTDOWN(SEND) back
 *   7001  source: send vsockbench.bytes (default 64 MiB) in 64 KiB packets, then SHUTDOWN(SEND)
 *   7002  accept only (connect latency); closed by the host
 *   7003  quit: back to ring 0 and reset
 * RX buffers: 16 of 64 KiB (+ header); buf_alloc 1 MiB per connection.
 * Prints "vsockbench: ready" (from ring 0) just before entering ring 3.
 */
#include "ring3.h"
#include "vsock_drv.h"

const char kernel_name[] = "vsockbench";

#define NRX    16
#define RXSIZE (VS_HDR_SIZE + 65536)
#define PKT    65536



static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint8_t src[PKT] __attribute__((aligned(4096)));
static uint64_t src_bytes = 64 << 20;

/* ---- ring 3 ---- */


static uint64_t sent[VS_MAX_CONNS];

static void serve(struct vs *v, struct vs_conn *c)
{
	const uint8_t *p;
	uint32_t n;
	int i = (int)(c - v->conns);

	while ((n = vs_recv_peek(v, c, &p)))
		vs_consume(v, c, n); /* 7000: the sink (and anything sent to the others) */
	if (c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND)) {
		if (!c->rst)
			vs_send_ctl(v, c, VS_OP_RST, 0);
		vs_free(v, c);
		return;
	}
	if (c->state != VS_ESTABLISHED)
		return;
	if (c->lport == 7000 && vs_rx_done(c) && !(c->shut_sent & VS_SHUT_SEND))
		vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
	if (c->lport == 7001 && !(c->shut_sent & VS_SHUT_SEND)) {
		bool queued = false;

		for (;;) {
			uint32_t cr = vs_credit(c), k = PKT;

			if (sent[i] >= src_bytes)
				break;
			if (src_bytes - sent[i] < k)
				k = (uint32_t)(src_bytes - sent[i]);
			if (cr < k) {
				if (!cr && !c->credit_requested && !queued) {
					c->credit_requested = true;
					vs_send_ctl(v, c, VS_OP_CREDIT_REQUEST, 0);
				}
				break;
			}
			if (vs_send_pkt(v, c, src, k))
				break;
			sent[i] += k;
			queued = true;
		}
		if (queued)
			vs_kick_tx(v);
		if (sent[i] >= src_bytes)
			vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
	}
}

static void __attribute__((noreturn)) user_main(void)
{
	struct vs *v = &vs;

	for (uint32_t i = 0; i < PKT; i++)
		src[i] = (uint8_t)(i * 7);
	for (;;) {
		struct vs_conn *c;

		vs_poll(v);
		while ((c = vs_accept(v))) {
			sent[c - v->conns] = 0;
			if (c->lport == 7003)
				ring3_call(0, NULL);
		}
		for (int i = 0; i < VS_MAX_CONNS; i++)
			if (v->conns[i].state != VS_FREE)
				serve(v, &v->conns[i]);
		cpu_relax();
	}
}

/* ---- ring 0 ---- */

static void on_syscall(struct trap_frame *f)
{
	kprintf("vsockbench: quit; tx kicks %lu\n", vs.kicks);
	reset();
}



void kmain(struct boot_info *bi)
{
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE);

	if (r) {
		kprintf("vsockbench BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	src_bytes = cmdline_uint(bi, "vsockbench.bytes", src_bytes);
	vs.buf_alloc = NRX * 65536;
	vs.max_pkt = PKT;
	vs.rx.avail->flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: polling */
	vs.tx.avail->flags = 1;
	for (uint32_t p = 7000; p <= 7003; p++)
		vs_listen(&vs, p);
	ring3_setup(on_syscall);
	kprintf("vsockbench: ready, cid %lu, source %lu bytes; entering ring 3\n", vs.cid, src_bytes);
	ring3_enter(user_main);
}
