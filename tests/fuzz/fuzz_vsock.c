// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for virtio-vsock: the packet parser and the connection
 * state machine, driven by fuzzed packets on the TX ring, host clients with
 * fuzzed CONNECT lines, host peers that write, half-close or vanish, timer
 * expiry and device resets. Single-threaded: the fuzzer calls the device's
 * notify and socket callbacks itself, where the VMM's event loop would.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz_vsock.c devices/virtio/{vsock,vsock_conn,vsock_mux,queue,mmio}.c \
 *     vmm/{loop,mem,bus}.c -lpthread -o build/fuzz/fuzz_vsock
 */
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/vsock/harness.h"

#define CID 3
#define NPEERS 8

struct fz {
	struct fg g;
	char dir[64], uds[128];
	int listen[2];           /* uds_1 and uds_2, for guest-initiated connections */
	int peers[NPEERS];       /* accepted ends, and host clients */
	const uint8_t *p;
	size_t left;
};

static uint8_t take8(struct fz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->p++;
}

static uint32_t take32(struct fz *f)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | take8(f);
	return v;
}

static void notify(struct fz *f, int q)
{
	struct virtio_dev *d = &f->g.v.dev;

	pthread_mutex_lock(&d->lock);
	if (virtio_running(d) && d->vq[q].ready)
		d->ops->notify(d, (uint16_t)q);
	pthread_mutex_unlock(&d->lock);
}

static void add_peer(struct fz *f, int fd)
{
	for (int i = 0; i < NPEERS; i++) {
		if (f->peers[i] < 0) {
			f->peers[i] = fd;
			return;
		}
	}
	close(fd);
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64))
		abort();
	return fd;
}

/* A packet: op, ports from a small set (so packets meet connections), fields, payload. */
static void fuzz_packet(struct fz *f)
{
	static const uint32_t ports[] = { 1, 2, 5000, 1u << 30, (1u << 30) + 1, 0xffffffff, 7, 0 };
	static uint8_t payload[4096];
	uint8_t sel = take8(f), op = take8(f), flags = take8(f), corrupt = take8(f);
	uint32_t len = take32(f) % (sizeof(payload) + 1);
	uint32_t buf_alloc = take32(f), fwd_cnt = take32(f);
	struct vsock_hdr h = {
		.src_cid = htole64(CID),
		.dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(ports[sel & 7]),
		.dst_port = htole32(ports[(sel >> 3) & 7]),
		.len = htole32(len),
		.type = htole16(VSOCK_TYPE_STREAM),
		.op = htole16(op & 7),
		.flags = htole32(flags & 7),
		.buf_alloc = htole32(buf_alloc),
		.fwd_cnt = htole32(fwd_cnt),
	};
	uint32_t hdr_len = sizeof(h);

	if (sel & 0x40) /* a host port allocated for a host-initiated connection */
		h.src_port = htole32(5000), h.dst_port = htole32((1u << 30) + (sel & 7));
	if (corrupt & 0x80) /* any one header byte */
		((uint8_t *)&h)[corrupt % sizeof(h)] = take8(f);
	if ((corrupt & 0x60) == 0x60)
		hdr_len = take8(f) % (sizeof(h) + 1); /* short header, or a len beyond the descriptors */
	for (uint32_t i = 0; i < len && f->left; i++)
		payload[i] = take8(f);
	fg_send_raw(&f->g, &h, hdr_len, payload, (sel & 0x80) ? len / 2 : len);
	notify(f, VSOCK_TXQ);
}

/* Let every connection's socket callback run, as epoll would. */
static void fuzz_events(struct fz *f, uint32_t events)
{
	struct vsock *v = &f->g.v;
	struct vlist *n, *next;

	pthread_mutex_lock(&v->dev.lock);
	for (n = v->conns.next; n != &v->conns; n = next) {
		struct vsock_conn *c = vlist_entry(n, struct vsock_conn, all_node);

		next = n->next;
		pthread_mutex_unlock(&v->dev.lock);
		vsock_mux_conn_event(c, events); /* may free c, never another connection */
		pthread_mutex_lock(&v->dev.lock);
	}
	pthread_mutex_unlock(&v->dev.lock);
}

static void fuzz_peer(struct fz *f)
{
	uint8_t sel = take8(f), what = take8(f);
	int *fd = &f->peers[sel % NPEERS];
	char buf[512];

	if (*fd < 0)
		return;
	switch (what & 3) {
	case 0: {
		size_t n = take8(f) % sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)take8(f);
		if (send(*fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			/* full or closed: the device sees the same */
		}
		break;
	}
	case 1:
		shutdown(*fd, (what >> 2) % 3);
		break;
	case 2:
		close(*fd);
		*fd = -1;
		break;
	default:
		while (recv(*fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		break;
	}
	fuzz_events(f, EPOLLIN | EPOLLOUT | EPOLLRDHUP | (what & 0x80 ? EPOLLHUP : 0));
}

static void fuzz_client(struct fz *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[80];
	size_t n = take8(f) % sizeof(line);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, f->uds);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return;
	}
	if (n & 1) {
		n = (size_t)snprintf(line, sizeof(line), "CONNECT %u\n", take8(f) & 1 ? 5000 : take32(f));
	} else {
		for (size_t i = 0; i < n; i++)
			line[i] = (char)take8(f);
	}
	if (send(fd, line, n, MSG_NOSIGNAL) < 0) {
		/* the device may have refused it already */
	}
	add_peer(f, fd);
	vsock_mux_accept(&f->g.v, EPOLLIN);
	fuzz_events(f, EPOLLIN);
}

static void drain_rx(struct fz *f)
{
	struct vsock_hdr h;
	static uint8_t buf[FG_RX_BUF];

	while (fg_recv(&f->g, &h, buf, 0) >= 0) {
		if (h.src_cid != VSOCK_HOST_CID || h.dst_cid != CID || h.type != VSOCK_TYPE_STREAM)
			abort(); /* the device never sends a malformed header */
		if (h.op != VSOCK_OP_RW && h.len)
			abort();
	}
	notify(f, VSOCK_RXQ);
}

static void check_invariants(struct fz *f)
{
	struct vsock *v = &f->g.v;
	unsigned n = 0;

	for (struct vlist *l = v->conns.next; l != &v->conns; l = l->next) {
		struct vsock_conn *c = vlist_entry(l, struct vsock_conn, all_node);

		if (c->txlen > VSOCK_BUF_ALLOC || c->txoff + c->txlen > c->txcap + (c->txcap == 0))
			abort(); /* buffered beyond the credit we gave */
		n++;
	}
	if (n != v->nr_conns || v->rst_count > VSOCK_RST_RING)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	char path[160];
	bool cerr;

	memset(&f, 0, sizeof(f));
	f.p = data;
	f.left = size;
	for (int i = 0; i < NPEERS; i++)
		f.peers[i] = -1;
	strcpy(f.dir, "/tmp/fp-fuzz-vsock-XXXXXX");
	if (!mkdtemp(f.dir))
		abort();
	snprintf(f.uds, sizeof(f.uds), "%s/v", f.dir);
	f.g.cid = CID;
	f.g.tx_nowait = true;
	if (guest_mem_init(&f.g.vm.mem, FG_MEM, false) || loop_init(&f.g.vm.loop) ||
	    vsock_init(&f.g.v, &f.g.vm, CID, f.uds, &cerr))
		abort();
	pthread_mutex_init(&f.g.v.dev.lock, NULL);
	f.g.v.dev.vm = &f.g.vm;
	f.g.v.dev.irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (int q = 0; q < VSOCK_NR_QUEUES; q++)
		f.g.kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fg_driver_init(&f.g, size & 1);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s_%d", f.uds, i + 1);
		f.listen[i] = listen_at(path);
	}

	while (f.left) {
		uint8_t action = take8(&f);

		switch (action % 9) {
		case 0:
		case 1:
		case 2:
			fuzz_packet(&f);
			break;
		case 3:
			drain_rx(&f);
			break;
		case 4:
			for (int i = 0; i < 2; i++) {
				int fd = accept4(f.listen[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd >= 0)
					add_peer(&f, fd);
			}
			fuzz_peer(&f);
			break;
		case 5:
			fuzz_client(&f);
			break;
		case 6:
			pthread_mutex_lock(&f.g.v.dev.lock);
			vsock_mux_expire(&f.g.v, action & 0x80 ? UINT64_MAX : 0);
			vsock_rx_kick(&f.g.v);
			pthread_mutex_unlock(&f.g.v.dev.lock);
			break;
		case 7:
			if (action & 0x80) {
				pthread_mutex_lock(&f.g.v.dev.lock);
				vsock_transport_reset(&f.g.v);
				pthread_mutex_unlock(&f.g.v.dev.lock);
			} else {
				pthread_mutex_lock(&f.g.v.dev.lock);
				f.g.v.dev.ops->reset(&f.g.v.dev);
				for (int q = 0; q < VSOCK_NR_QUEUES; q++)
					virtq_reset(&f.g.v.dev.vq[q]);
				fg_driver_init(&f.g, action & 1);
				pthread_mutex_unlock(&f.g.v.dev.lock);
			}
			break;
		default:
			fuzz_events(&f, EPOLLIN | EPOLLOUT);
			break;
		}
		check_invariants(&f);
	}
	drain_rx(&f);

	vsock_fini(&f.g.v);
	loop_free(&f.g.vm.loop);
	for (int i = 0; i < NPEERS; i++)
		if (f.peers[i] >= 0)
			close(f.peers[i]);
	for (int i = 0; i < 2; i++) {
		close(f.listen[i]);
		snprintf(path, sizeof(path), "%s_%d", f.uds, i + 1);
		unlink(path);
	}
	for (int q = 0; q < VSOCK_NR_QUEUES; q++)
		close(f.g.kick[q]);
	close(f.g.v.dev.irqfd);
	guest_mem_free(&f.g.vm.mem);
	rmdir(f.dir);
	return 0;
}
