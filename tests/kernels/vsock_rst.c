// SPDX-License-Identifier: MIT
/*
 * vsock-rst: resets and aborts (tests/vsock-kernels.t.sh with tests/vsock/vk_host.c):
 *   1. accept on port 5002 and answer with RST at once: the host client
 *      must get its OK line and then the end of the connection, no data;
 *   2. accept on port 5003; the host sends and closes without reading:
 *      the guest must see the end (SHUTDOWN both ways or RST), with every
 *      byte it got correct (pattern 31);
 *   3. connect to host port 6001 where nobody listens: RST;
 *   4. connect to host port 6002 (the host listens), send 64 KiB of pattern
 *      41, then RST: the host must see its connection end;
 *   5. a REQUEST from the host to port 5999 (nobody listens) gets our RST.
 * Prints one line per step and "vsock-rst ok" or "vsock-rst BAD: <n> failures".
 */
#include "vsock_drv.h"

const char kernel_name[] = "vsock-rst";

#define NRX    32
#define RXSIZE (VS_HDR_SIZE + 16384)

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint8_t txbuf[65536] __attribute__((aligned(4096)));
static int failures;

static struct vs_conn *wait_accept(struct vs *v, uint32_t port, uint32_t ms)
{
	uint64_t dl = virtio_deadline(ms);
	struct vs_conn *c;

	while (!virtio_expired(dl)) {
		vs_poll(v);
		c = vs_accept(v);
		if (c && c->lport == port)
			return c;
		if (c) {
			kprintf("BAD: unexpected connection on port %u\n", c->lport);
			failures++;
			vs_close(v, c, 1000);
		}
	}
	kprintf("BAD: no connection on port %u in %u ms\n", port, ms);
	failures++;
	return NULL;
}

static bool ended(const struct vs_conn *c)
{
	return c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND);
}

static bool stray_rst_for(struct vs *v, uint32_t port)
{
	for (unsigned int i = 0; i < v->nstray; i++)
		if (v->stray[i].dst_port == port && v->stray[i].op == VS_OP_REQUEST)
			return true;
	return false;
}

void kmain(struct boot_info *bi)
{
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE);
	struct vs *v = &vs;
	struct vs_conn *c;
	uint64_t got = 0, dl;
	int64_t bad;
	bool to;

	if (r) {
		kprintf("vsock-rst BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	vs_listen(v, 5002);
	vs_listen(v, 5003);

	/* 1 */
	c = wait_accept(v, 5002, 30000);
	if (c) {
		vs_send_ctl(v, c, VS_OP_RST, 0);
		vs_free(v, c);
		kprintf("rst-after-accept: sent\n");
	}
	/* 2: read slowly so the host's close finds data in flight. */
	c = wait_accept(v, 5003, 30000);
	if (c) {
		got = vs_recv_check(v, c, 31, 10000, &bad, &to);
		if (to || bad >= 0 || !ended(c)) {
			kprintf("host-abort: BAD: got %lu, bad byte %ld, timed out %d, peer_shut %u rst %d\n", got, bad, to,
				c->peer_shut, c->rst);
			failures++;
		} else {
			kprintf("host-abort: got %lu bytes checked, then %s: ok\n", got,
				c->rst ? "RST" : "SHUTDOWN both ways");
		}
		if (!c->rst)
			vs_send_ctl(v, c, VS_OP_RST, 0);
		vs_free(v, c);
	}
	/* 3 */
	c = vs_connect(v, 6001, 5000);
	if (c && c->state == VS_CLOSED && c->rst) {
		kprintf("connect-refused: RST: ok\n");
	} else {
		kprintf("connect-refused: BAD: %s\n", c ? "established" : "no answer");
		failures++;
	}
	if (c)
		vs_free(v, c);
	/* 4 */
	c = NULL;
	for (int tries = 0; tries < 100 && !c; tries++) {
		c = vs_connect(v, 6002, 3000);
		if (c && c->state != VS_ESTABLISHED) {
			vs_free(v, c);
			c = NULL;
			for (dl = virtio_deadline(100); !virtio_expired(dl);)
				vs_poll(v);
		}
	}
	if (!c) {
		kprintf("guest-rst: BAD: host port 6002 never accepted\n");
		failures++;
	} else {
		uint64_t sent = vs_send_pattern(v, c, 65536, 41, txbuf, sizeof(txbuf), 10000);

		vs_send_ctl(v, c, VS_OP_RST, 0);
		vs_free(v, c);
		kprintf("guest-rst: sent %lu then RST\n", sent);
	}
	/* 5: the host's CONNECT 5999 comes whenever the script gets to it. */
	for (dl = virtio_deadline(30000); !stray_rst_for(v, 5999) && !virtio_expired(dl);)
		vs_poll(v);
	if (stray_rst_for(v, 5999)) {
		kprintf("request-to-closed-port: answered RST: ok\n");
	} else {
		kprintf("request-to-closed-port: BAD: no REQUEST for port 5999 seen\n");
		failures++;
	}
	/* Let the RSTs go out before the reset. */
	vs_tx_flush(v, VIRTIO_WAIT_MS);
	for (dl = virtio_deadline(200); !virtio_expired(dl);)
		vs_poll(v);
	if (v->bad_rx) {
		kprintf("BAD: %lu malformed packets from the device\n", v->bad_rx);
		failures++;
	}
	if (failures)
		kprintf("vsock-rst BAD: %d failures\n", failures);
	else
		kprintf("vsock-rst ok\n");
	reset();
}
