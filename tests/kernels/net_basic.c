// SPDX-License-Identifier: MIT
/*
 * net-basic: virtio-net (virtio 1.2 §5.1) as a guest sees it, against the
 * host peer tests/net/peer.py on the other end of the network descriptor.
 * Ping-pong: each frame the guest sends, the peer sends back with its
 * payload bytes inverted and the addresses swapped; the guest checks it.
 * Prints:
 *   net: mac <aa:fc:..> mtu <N> status <S> features 0x<negotiated>
 *   tx+rx <size>: ok | BAD ...          sizes 14, 60, 64, 500, 1000, 1499 (up to MTU+14), MTU+14
 *   burst: <n> frames: ok | BAD ...     20 frames sent back to back, 20 echoes
 *   too-long <size>: completed          MTU+15: the device completes and drops it
 *   link: down after <k> frames, config interrupt <0|1>
 *   net-basic ok | net-basic BAD: <n> failures
 * Then an i8042 reset.
 * Command line: net.mrg=0 refuses mergeable receive buffers (each buffer then
 * holds a whole frame); net.rxbuf=N sets the receive buffer size (default 2048).
 */
#include "virtio.h"

const char kernel_name[] = "net-basic";

#define NET_F_MTU       3
#define NET_F_MAC       5
#define NET_F_MRG_RXBUF 15
#define NET_F_STATUS    16
#define HDR_LEN         12
#define ETHERTYPE       0x88b5 /* IEEE local experimental */
#define QSIZE           64
#define NRX             32
#define RXBUF_MAX       2048

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct virtq rxq, txq;
static uint8_t rxbuf[NRX][RXBUF_MAX] __attribute__((aligned(64)));
static int rx_of_head[QSIZE];
static uint8_t txbuf[HDR_LEN + 9100] __attribute__((aligned(64)));
static uint8_t frame[9100], got[9100];
static uint8_t mac[6];
static uint32_t rxlen = RXBUF_MAX;
static int failures;

static void post_rx(int i)
{
	struct virtq_buf b = { rxbuf[i], rxlen };
	int head = virtq_add(&rxq, &b, 0, 1);

	if (head >= 0)
		rx_of_head[head] = i;
}

static void make_frame(uint8_t *p, uint32_t len, uint32_t seed)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 7 + i * 13);
	if (len >= 14) {
		kmemcpy(p, bcast, 6);
		kmemcpy(p + 6, mac, 6);
		p[12] = ETHERTYPE >> 8;
		p[13] = ETHERTYPE & 0xff;
	}
}

/* Send one frame; the header in its own descriptor when split. 0 when the device completed it. */
static int send_frame(const uint8_t *p, uint32_t len, bool split)
{
	struct virtq_buf b[2];
	int head;

	memset(txbuf, 0, HDR_LEN);
	kmemcpy(txbuf + HDR_LEN, p, len);
	if (split) {
		b[0] = (struct virtq_buf){ txbuf, HDR_LEN };
		b[1] = (struct virtq_buf){ txbuf + HDR_LEN, len };
		head = virtq_submit(&txq, b, 2, 0, NULL, VIRTIO_WAIT_MS);
	} else {
		b[0] = (struct virtq_buf){ txbuf, HDR_LEN + len };
		head = virtq_submit(&txq, b, 1, 0, NULL, VIRTIO_WAIT_MS);
	}
	return head < 0 ? head : 0;
}

/* Receive one frame of our ethertype into got[]; its length, or -1 after `ms`. */
static int recv_frame(uint32_t ms)
{
	for (;;) {
		uint32_t len, total = 0, nbuf = 1;
		int head;

		if (virtq_wait(&rxq, ms) != VIRTQ_WAIT_USED)
			return -1;
		for (uint32_t k = 0; k < nbuf; k++) {
			int i;

			if (k && virtq_wait(&rxq, ms) != VIRTQ_WAIT_USED)
				return -1;
			head = virtq_get_used(&rxq, &len);
			if (head < 0)
				return -1;
			i = rx_of_head[head];
			if (len > rxlen)
				len = rxlen;
			if (k == 0) {
				/* num_buffers: 1 without MRG_RXBUF, else how many buffers the frame spans. */
				nbuf = rxbuf[i][10] | rxbuf[i][11] << 8;
				if (nbuf == 0 || nbuf > NRX) {
					kprintf("rx: num_buffers %u\n", nbuf);
					failures++;
					nbuf = 1;
				}
				if (len < HDR_LEN)
					len = HDR_LEN;
				if (total + len - HDR_LEN <= sizeof(got))
					kmemcpy(got, rxbuf[i] + HDR_LEN, len - HDR_LEN);
				total += len - HDR_LEN;
			} else {
				if (total + len <= sizeof(got))
					kmemcpy(got + total, rxbuf[i], len);
				total += len;
			}
			post_rx(i);
		}
		virtq_kick(&rxq);
		/* Frames the host's own stack sends on a TAP (IPv6 and such) are skipped. */
		if (total >= 14 && got[12] == (ETHERTYPE >> 8) && got[13] == (ETHERTYPE & 0xff))
			return (int)total;
	}
}

/* The peer's echo of frame[0, len): addresses swapped, payload inverted. */
static int check_echo(uint32_t len, int got_len)
{
	if (got_len != (int)len)
		return 1;
	for (uint32_t i = 14; i < len; i++) {
		uint8_t want = (uint8_t)(0xff ^ frame[i]);

		if (got[i] != want)
			return (int)i + 1;
	}
	for (int i = 0; i < 6 && len >= 14; i++)
		if (got[i] != mac[i])
			return 2;
	return 0;
}

static void ping(uint32_t len, uint32_t seed, bool split)
{
	int n, bad;

	make_frame(frame, len, seed);
	if (send_frame(frame, len, split)) {
		kprintf("tx+rx %u: BAD: transmit not completed\n", len);
		failures++;
		return;
	}
	n = recv_frame(VIRTIO_WAIT_MS);
	bad = check_echo(len, n);
	if (bad) {
		kprintf("tx+rx %u: BAD: echo of %d bytes, mismatch %d\n", len, n, bad);
		failures++;
		return;
	}
	kprintf("tx+rx %u: ok\n", len);
}

static void burst(int count)
{
	int ok = 0;

	for (int i = 0; i < count; i++) {
		make_frame(frame, 100, 1000 + i);
		if (send_frame(frame, 100, false))
			break;
	}
	for (int i = 0; i < count; i++) {
		make_frame(frame, 100, 1000 + i);
		if (check_echo(100, recv_frame(VIRTIO_WAIT_MS)) == 0)
			ok++;
	}
	kprintf("burst: %d frames: %s\n", count, ok == count ? "ok" : "BAD");
	if (ok != count) {
		kprintf("burst: %d of %d echoes right\n", ok, count);
		failures++;
	}
}

void kmain(struct boot_info *bi)
{
	uint64_t want = 1ULL << NET_F_MAC | 1ULL << NET_F_MTU | 1ULL << NET_F_STATUS;
	struct virtio_dev *d = NULL;
	uint32_t gen, isr = 0;
	uint16_t mtu, status;
	int n, k;

	n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS);
	for (int i = 0; i < n; i++)
		if (devs[i].device_id == VIRTIO_ID_NET)
			d = &devs[i];
	if (!d) {
		kprintf("net: no virtio-net device among %d\n", n);
		reset();
	}
	if (cmdline_uint(bi, "net.mrg", 1))
		want |= 1ULL << NET_F_MRG_RXBUF;
	rxlen = (uint32_t)cmdline_uint(bi, "net.rxbuf", RXBUF_MAX);
	if (rxlen > RXBUF_MAX || rxlen < HDR_LEN)
		rxlen = RXBUF_MAX;
	if (virtio_dev_begin(d, want)) {
		kprintf("net: feature negotiation failed\n");
		reset();
	}
	virtio_config_read(d, 0, mac, 6);
	status = virtio_config16(d, 6);
	mtu = virtio_config16(d, 10);
	kprintf("net: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u status %u features 0x%lx\n", mac[0], mac[1],
		mac[2], mac[3], mac[4], mac[5], mtu, status, d->features);
	if ((uint32_t)mtu + 15 > sizeof(frame)) {
		kprintf("net: mtu %u too big for this test\n", mtu);
		reset();
	}
	if (virtq_setup(&rxq, d, 0, QSIZE) || virtq_setup(&txq, d, 1, QSIZE) || virtio_dev_ready(d)) {
		kprintf("net: queue setup failed (status %x)\n", virtio_status(d));
		reset();
	}
	for (int i = 0; i < NRX; i++)
		post_rx(i);
	virtq_kick(&rxq);

	const uint32_t sizes[] = { 14, 60, 64, 500, 1000, 1499, (uint32_t)mtu + 14 };
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i] <= (uint32_t)mtu + 14)
			ping(sizes[i], i, i & 1);
	burst(20);

	/* One byte over MTU + Ethernet header: completed (no hang), never delivered. */
	make_frame(frame, mtu + 15, 77);
	kprintf("too-long %u: %s\n", mtu + 15, send_frame(frame, mtu + 15, false) ? "BAD: not completed" : "completed");

	/* "BYE": the peer closes its end. Until the link goes down every frame must still complete. */
	gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
	make_frame(frame, 60, 0);
	frame[14] = 'B';
	frame[15] = 'Y';
	frame[16] = 'E';
	send_frame(frame, 60, false);
	for (k = 0; k < 100; k++) {
		uint64_t until = virtio_deadline(30);

		isr |= virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);
		if (!(virtio_config16(d, 6) & 1))
			break;
		make_frame(frame, 60, 500 + k);
		if (send_frame(frame, 60, false)) {
			kprintf("link: BAD: transmit not completed after the peer closed\n");
			failures++;
			break;
		}
		while (!virtio_expired(until))
			cpu_relax();
	}
	isr |= virtio_read32(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (virtio_config16(d, 6) & 1) {
		kprintf("link: BAD: still up after %d frames\n", k);
		failures++;
	} else {
		kprintf("link: down after %d frames, config interrupt %u, generation %s\n", k, (isr >> 1) & 1,
			virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION) != gen ? "changed" : "SAME");
		make_frame(frame, 60, 999);
		kprintf("tx after link down: %s\n", send_frame(frame, 60, false) ? "BAD: not completed" : "completed");
	}
	if (failures)
		kprintf("net-basic BAD: %d failures\n", failures);
	else
		kprintf("net-basic ok\n");
	reset();
}
