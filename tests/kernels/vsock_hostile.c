// SPDX-License-Identifier: MIT
/*
 * vsock-hostile: bogus packets on the TX queue, then a good connection
 * (tests/vsock-kernels.t.sh). Each bogus packet uses its own ports; the
 * device must answer RST for those ports (virtio 1.2 §5.10.6: a packet for
 * no connection gets RST, never an RST for an RST) or drop it, and never
 * stop working. Prints "bogus <name>: RST | no reply" per case ("BAD" when
 * it differs from what is expected), then the storms, then a guest-initiated
 * transfer to host port 6003 (the host listens; 256 KiB each way checked),
 * then "vsock-hostile ok" or "vsock-hostile BAD: <n> failures".
 */
#include "vsock_drv.h"

const char kernel_name[] = "vsock-hostile";

#define NRX    64
#define RXSIZE (VS_HDR_SIZE + 16384)

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint8_t txbuf[65536 + 64] __attribute__((aligned(4096)));
static struct vs_hdr hdrs[256];
static int failures;
static uint32_t next_gport = 40000;

static void settle(struct vs *v, uint32_t ms)
{
	for (uint64_t dl = virtio_deadline(ms); !virtio_expired(dl);)
		vs_poll(v);
}

static unsigned int rsts_for(struct vs *v, uint32_t gport)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < v->nstray; i++)
		if (v->stray[i].dst_port == gport && v->stray[i].op == VS_OP_RST)
			n++;
	return n;
}

static struct vs_hdr base(struct vs *v, uint16_t op)
{
	return (struct vs_hdr){ .src_cid = v->cid, .dst_cid = VS_HOST_CID, .src_port = next_gport++,
				.dst_port = 7000, .type = VS_TYPE_STREAM, .op = op, .buf_alloc = 65536 };
}

/* Sends one packet (header h, then optional payload descriptors) and checks the reply. */
static void bogus(struct vs *v, const char *name, struct vs_hdr h, const struct virtq_buf *extra, unsigned int nx,
		  bool want_rst)
{
	struct virtq_buf b[4];
	unsigned int got;

	v->nstray = 0;
	hdrs[0] = h;
	b[0] = (struct virtq_buf){ &hdrs[0], VS_HDR_SIZE };
	for (unsigned int i = 0; i < nx; i++)
		b[1 + i] = extra[i];
	if (vs_send_raw(v, b, 1 + nx) < 0) {
		kprintf("bogus %s: BAD: no room on the TX queue\n", name);
		failures++;
		return;
	}
	vs_kick_tx(v);
	settle(v, 150);
	got = rsts_for(v, h.src_port);
	if ((got > 0) != want_rst || got > 1) {
		kprintf("bogus %s: BAD: %u RST, want %s\n", name, got, want_rst ? "one" : "none");
		failures++;
	} else {
		kprintf("bogus %s: %s\n", name, got ? "RST" : "no reply");
	}
}

static bool closed(const struct vs_conn *c)
{
	return c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND);
}

static bool got_update(const struct vs_conn *c)
{
	return c->state != VS_ESTABLISHED || !c->credit_requested;
}

void kmain(struct boot_info *bi)
{
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE);
	struct vs *v = &vs;
	struct vs_conn *c = NULL;
	struct virtq_buf x[2];
	struct vs_hdr h;
	uint64_t n = 262144, sent, got;
	int64_t bad;
	bool to;

	if (r) {
		kprintf("vsock-hostile BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	h = base(v, VS_OP_REQUEST);
	h.src_cid = v->cid + 1;
	bogus(v, "wrong-src-cid", h, NULL, 0, true);
	h = base(v, VS_OP_REQUEST);
	h.dst_cid = 77;
	bogus(v, "wrong-dst-cid", h, NULL, 0, true);
	h = base(v, VS_OP_REQUEST);
	h.type = 2;
	bogus(v, "type-seqpacket", h, NULL, 0, true);
	h = base(v, 0);
	bogus(v, "op-invalid", h, NULL, 0, true);
	h = base(v, 99);
	bogus(v, "op-99", h, NULL, 0, true);
	h = base(v, VS_OP_RW);
	h.len = 1000;
	x[0] = (struct virtq_buf){ txbuf, 10 };
	bogus(v, "len-beyond-descriptor", h, x, 1, true);
	h = base(v, VS_OP_RW);
	h.len = 65537;
	x[0] = (struct virtq_buf){ txbuf, 65537 };
	bogus(v, "len-over-64KiB", h, x, 1, true);
	h = base(v, VS_OP_RW);
	h.len = 0xffffffff;
	x[0] = (struct virtq_buf){ txbuf, 100 };
	bogus(v, "len-4GiB", h, x, 1, true);
	h = base(v, VS_OP_REQUEST);
	h.len = 10;
	x[0] = (struct virtq_buf){ txbuf, 10 };
	bogus(v, "payload-on-request", h, x, 1, true);
	h = base(v, VS_OP_SHUTDOWN);
	h.flags = 0xfc;
	bogus(v, "shutdown-bad-flags", h, NULL, 0, true);
	h = base(v, VS_OP_RW);
	h.len = 100;
	x[0] = (struct virtq_buf){ txbuf, 100 };
	bogus(v, "rw-no-connection", h, x, 1, true);
	h = base(v, VS_OP_CREDIT_UPDATE);
	bogus(v, "credit-update-no-connection", h, NULL, 0, true);
	h = base(v, VS_OP_RESPONSE);
	bogus(v, "response-no-connection", h, NULL, 0, true);
	h = base(v, VS_OP_RST);
	bogus(v, "rst-no-connection", h, NULL, 0, false);
	/* A header split over two descriptors is legal: a REQUEST to a port nobody listens on. */
	{
		struct virtq_buf b[2];

		v->nstray = 0;
		hdrs[1] = base(v, VS_OP_REQUEST);
		hdrs[1].dst_port = 6009;
		b[0] = (struct virtq_buf){ &hdrs[1], 20 };
		b[1] = (struct virtq_buf){ (uint8_t *)&hdrs[1] + 20, VS_HDR_SIZE - 20 };
		vs_send_raw(v, b, 2);
		vs_kick_tx(v);
		settle(v, 150);
		if (rsts_for(v, hdrs[1].src_port) == 1) {
			kprintf("bogus split-header-request: RST\n");
		} else {
			kprintf("bogus split-header-request: BAD: %u RST\n", rsts_for(v, hdrs[1].src_port));
			failures++;
		}
	}
	/* Shorter than a header, and a TX chain that is write-only: dropped, no reply. */
	{
		struct virtq_buf b = { &hdrs[2], 20 };
		uint32_t gp;

		hdrs[2] = base(v, VS_OP_REQUEST);
		gp = hdrs[2].src_port;
		v->nstray = 0;
		vs_send_raw(v, &b, 1);
		b = (struct virtq_buf){ &hdrs[3], VS_HDR_SIZE };
		hdrs[3] = base(v, VS_OP_REQUEST);
		virtq_add(&v->tx, &b, 0, 1);
		vs_kick_tx(v);
		settle(v, 150);
		if (rsts_for(v, gp) || rsts_for(v, hdrs[3].src_port)) {
			kprintf("bogus short-header/write-only: BAD: got RST\n");
			failures++;
		} else {
			kprintf("bogus short-header/write-only: no reply\n");
		}
	}
	/* Storm: 2000 CREDIT_UPDATEs for no connection, in batches: at most one RST each. */
	{
		uint64_t total, before = v->stray_rsts;

		for (int k = 0; k < 2000; k += 200) {
			for (int j = 0; j < 200; j++) {
				struct virtq_buf b = { &hdrs[j], VS_HDR_SIZE };

				hdrs[j] = base(v, VS_OP_CREDIT_UPDATE);
				hdrs[j].src_port = 50000;
				hdrs[j].fwd_cnt = (uint32_t)(k + j) * 977;
				if (vs_send_raw(v, &b, 1) < 0)
					break;
			}
			vs_kick_tx(v);
			vs_tx_flush(v, VIRTIO_WAIT_MS);
			vs_poll(v);
		}
		/* The RSTs come 64 RX buffers at a time; CPL0 is slow on emulating hosts. */
		for (int k = 0; k < 50 && v->stray_rsts - before < 2000; k++)
			settle(v, 100);
		total = v->stray_rsts - before;
		kprintf("storm credit-update-no-connection: 2000 sent, %lu RST back%s\n", total,
			total <= 2000 ? "" : " BAD");
		if (total > 2000)
			failures++;
	}
	/* The good connection: guest-initiated to host port 6003. */
	for (int tries = 0; tries < 100 && !c; tries++) {
		c = vs_connect(v, 6003, 3000);
		if (c && c->state != VS_ESTABLISHED) {
			vs_free(v, c);
			c = NULL;
			settle(v, 100);
		}
	}
	if (!c) {
		kprintf("good: BAD: host port 6003 never accepted\n");
		kprintf("vsock-hostile BAD: %d failures\n", failures + 1);
		reset();
	}
	/* Storm on the live connection: 2000 CREDIT_UPDATEs with nonsense counters, then the truth. */
	for (int k = 0; k < 2000; k += 200) {
		for (int j = 0; j < 200; j++) {
			struct virtq_buf b = { &hdrs[j], VS_HDR_SIZE };

			hdrs[j] = (struct vs_hdr){ .src_cid = v->cid, .dst_cid = VS_HOST_CID, .src_port = c->lport,
						   .dst_port = c->pport, .type = VS_TYPE_STREAM,
						   .op = VS_OP_CREDIT_UPDATE, .buf_alloc = (uint32_t)(k * 7919 + j),
						   .fwd_cnt = 0x80000000u + (uint32_t)(k + j) };
			if (vs_send_raw(v, &b, 1) < 0)
				break;
		}
		vs_kick_tx(v);
		vs_tx_flush(v, VIRTIO_WAIT_MS);
		vs_poll(v);
	}
	c->credit_requested = true;
	vs_send_ctl(v, c, VS_OP_CREDIT_REQUEST, 0); /* also restores our real buf_alloc / fwd_cnt */
	kprintf("storm credit-update-live: 2000 sent; CREDIT_REQUEST %s\n",
		vs_wait(v, c, got_update, 2000) && c->state == VS_ESTABLISHED ? "answered" : "BAD: not answered");
	if (c->state != VS_ESTABLISHED)
		failures++;
	got = vs_recv_check(v, c, 51, 10000, &bad, &to);
	sent = vs_send_pattern(v, c, n, 52, txbuf, 65536, 10000);
	vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
	if (got != n || sent != n || bad >= 0 || to) {
		kprintf("good: BAD: sent %lu got %lu of %lu, bad byte %ld, timed out %d\n", sent, got, n, bad, to);
		failures++;
	} else {
		kprintf("good: sent %lu got %lu checked: ok\n", sent, got);
	}
	if (!vs_wait(v, c, closed, 10000)) {
		kprintf("good: BAD: not closed by the host\n");
		failures++;
	}
	if (!c->rst)
		vs_send_ctl(v, c, VS_OP_RST, 0);
	vs_free(v, c);
	settle(v, 100);
	if (v->bad_rx) {
		kprintf("BAD: %lu malformed packets from the device\n", v->bad_rx);
		failures++;
	}
	if (failures)
		kprintf("vsock-hostile BAD: %d failures\n", failures);
	else
		kprintf("vsock-hostile ok\n");
	reset();
}
