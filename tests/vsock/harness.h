/* SPDX-License-Identifier: MIT */
/*
 * A fake guest driver for the virtio-vsock device, without KVM: the rings
 * and buffers live in a guest_mem, the device runs on its own event loop
 * thread as in the VMM, and "queue notifications" are eventfds on that loop
 * (as the transport's ioeventfds are). The calling thread is the guest: it
 * puts packets on the TX ring and takes packets off the RX ring.
 *
 * Used by tests/unit/test_vsock.c and tests/vsock/fake_guest.c.
 */
#ifndef FLASHPAN_TESTS_VSOCK_HARNESS_H
#define FLASHPAN_TESTS_VSOCK_HARNESS_H

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/vsock.h"
#include "devices/virtio/vsock_mux.h"
#include "vmm/kvm.h"

#define FG_QSZ      256
#define FG_RX_BUF   (VSOCK_HDR_SIZE + 4096) /* Linux 6.1's rx buffer: header + 4 KiB */
#define FG_TX_SLOTS (FG_QSZ / 2)             /* a TX chain: header descriptor + payload descriptor */
#define FG_TX_MAX   VSOCK_MAX_PKT_PAYLOAD
#define FG_RING(q)  (0x10000ULL * (1 + (q)))  /* desc, then avail at +0x1000, used at +0x2000 */
#define FG_RXBUF(i) (0x100000ULL + (uint64_t)(i) * 0x2000)
#define FG_EVBUF(i) (0x300000ULL + (uint64_t)(i) * 0x10)
#define FG_TXBUF(i) (0x400000ULL + (uint64_t)(i) * (FG_TX_MAX + 0x1000))
#define FG_MEM      (16ULL << 20) /* > FG_TXBUF(FG_TX_SLOTS); a multiple of 2 MiB */

struct fg_queue {
	struct virtq_desc *desc;
	volatile uint16_t *avail, *used;
	uint16_t used_seen;
};

struct fg {
	struct vm vm;
	struct vsock v;
	pthread_t thread;
	int kick[VSOCK_NR_QUEUES];
	struct virtio_notifier notifier[VSOCK_NR_QUEUES];
	int stop_fd;
	struct fg_queue q[VSOCK_NR_QUEUES];
	bool tx_busy[FG_TX_SLOTS];
	unsigned tx_next;
	uint64_t cid;
	bool tx_nowait; /* single-threaded callers (the fuzzer): never wait for a TX slot */
};

static inline void *fg_ptr(struct fg *g, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&g->vm.mem, gpa, len);
}

static inline void fg_kick(struct fg *g, int q)
{
	uint64_t one = 1;

	if (write(g->kick[q], &one, sizeof(one)) < 0)
		perror("fg_kick");
}

static inline void fg_make_avail(struct fg *g, int q, uint16_t head)
{
	volatile uint16_t *avail = g->q[q].avail;
	uint16_t idx = avail[1];

	avail[2 + idx % FG_QSZ] = head;
	__atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* The loop thread: a kick is a queue notification, as virtio_ioeventfd_ready() does it. */
static inline void fg_on_kick(void *opaque, uint32_t events)
{
	struct virtio_notifier *n = opaque;
	struct virtio_dev *d = n->dev;
	struct fg *g = d->priv == NULL ? NULL : (struct fg *)((char *)d->priv - offsetof(struct fg, v));
	uint64_t cnt;

	if (read(g->kick[n->queue], &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (virtio_running(d) && d->vq[n->queue].ready)
		d->ops->notify(d, n->queue);
	pthread_mutex_unlock(&d->lock);
}

static inline void fg_on_stop(void *opaque, uint32_t events)
{
	struct fg *g = opaque;

	loop_stop(&g->vm.loop);
}

static inline void *fg_loop_thread(void *opaque)
{
	struct fg *g = opaque;

	loop_run(&g->vm.loop);
	return NULL;
}

/* Post every RX and event buffer again (after a reset, or at the start). */
static inline void fg_post_buffers(struct fg *g)
{
	for (int i = 0; i < FG_QSZ; i++) {
		g->q[VSOCK_RXQ].desc[i] = (struct virtq_desc){ FG_RXBUF(i), FG_RX_BUF, VIRTQ_DESC_F_WRITE, 0 };
		fg_make_avail(g, VSOCK_RXQ, (uint16_t)i);
	}
	for (int i = 0; i < 8; i++) {
		g->q[VSOCK_EVQ].desc[i] = (struct virtq_desc){ FG_EVBUF(i), 4, VIRTQ_DESC_F_WRITE, 0 };
		fg_make_avail(g, VSOCK_EVQ, (uint16_t)i);
	}
}

/* Rings as a driver sets them up (§3.1.1), then DRIVER_OK. Device lock held or device idle. */
static inline int fg_driver_init(struct fg *g, bool event_idx)
{
	struct virtio_dev *d = &g->v.dev;

	memset(g->tx_busy, 0, sizeof(g->tx_busy));
	g->tx_next = 0;
	d->driver_features = (1ULL << VIRTIO_F_VERSION_1) | (event_idx ? 1ULL << VIRTIO_F_EVENT_IDX : 0);
	for (int q = 0; q < VSOCK_NR_QUEUES; q++) {
		memset(fg_ptr(g, FG_RING(q), 0x3000), 0, 0x3000);
		d->vq[q].size = FG_QSZ;
		d->vq[q].desc_gpa = FG_RING(q);
		d->vq[q].avail_gpa = FG_RING(q) + 0x1000;
		d->vq[q].used_gpa = FG_RING(q) + 0x2000;
		if (virtq_activate(&d->vq[q], &g->vm.mem, event_idx))
			return -1;
		g->q[q].desc = fg_ptr(g, FG_RING(q), 16 * FG_QSZ);
		g->q[q].avail = fg_ptr(g, FG_RING(q) + 0x1000, 6 + 2 * FG_QSZ);
		g->q[q].used = fg_ptr(g, FG_RING(q) + 0x2000, 6 + 8 * FG_QSZ);
		g->q[q].used_seen = 0;
	}
	fg_post_buffers(g);
	d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		    VIRTIO_STATUS_DRIVER_OK;
	return 0;
}

/* A device reset as the transport does it (status 0), then the driver's set-up again. */
static inline void fg_reset(struct fg *g)
{
	struct virtio_dev *d = &g->v.dev;

	pthread_mutex_lock(&d->lock);
	d->ops->reset(d);
	for (int q = 0; q < VSOCK_NR_QUEUES; q++)
		virtq_reset(&d->vq[q]);
	d->status = 0;
	fg_driver_init(g, false);
	pthread_mutex_unlock(&d->lock);
	fg_kick(g, VSOCK_RXQ);
}

/* 0, or -1 (printed); *config_err as vsock_create() sets it. */
static inline int fg_start(struct fg *g, uint64_t cid, const char *uds, bool event_idx, bool *config_err)
{
	struct virtio_dev *d = &g->v.dev;

	memset(g, 0, sizeof(*g));
	g->cid = cid;
	*config_err = false;
	if (guest_mem_init(&g->vm.mem, FG_MEM, false) || loop_init(&g->vm.loop))
		return -1;
	if (vsock_init(&g->v, &g->vm, cid, uds, config_err)) {
		vsock_fini(&g->v);
		loop_free(&g->vm.loop);
		guest_mem_free(&g->vm.mem);
		return -1;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->vm = &g->vm;
	d->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (int q = 0; q < VSOCK_NR_QUEUES; q++) {
		g->kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g->notifier[q] = (struct virtio_notifier){ .dev = d, .queue = (uint16_t)q };
		loop_add(&g->vm.loop, g->kick[q], EPOLLIN, fg_on_kick, &g->notifier[q]);
	}
	g->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	loop_add(&g->vm.loop, g->stop_fd, EPOLLIN, fg_on_stop, g);
	if (fg_driver_init(g, event_idx))
		return -1;
	return pthread_create(&g->thread, NULL, fg_loop_thread, g) ? -1 : 0;
}

static inline void fg_stop(struct fg *g)
{
	uint64_t one = 1;

	if (write(g->stop_fd, &one, sizeof(one)) < 0)
		perror("fg_stop");
	pthread_join(g->thread, NULL);
	vsock_fini(&g->v);
	loop_free(&g->vm.loop);
	for (int q = 0; q < VSOCK_NR_QUEUES; q++)
		close(g->kick[q]);
	close(g->stop_fd);
	close(g->v.dev.irqfd);
	guest_mem_free(&g->vm.mem);
}

static inline uint64_t fg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for the device's interrupt (its irqfd), at most ms; drains it. */
static inline void fg_wait_irq(struct fg *g, int ms)
{
	struct pollfd p = { .fd = g->v.dev.irqfd, .events = POLLIN };
	uint64_t cnt;

	if (poll(&p, 1, ms) > 0 && read(g->v.dev.irqfd, &cnt, sizeof(cnt)) < 0)
		perror("fg_wait_irq");
}

/* Reclaim TX chains the device has used. */
static inline void fg_tx_reclaim(struct fg *g)
{
	struct fg_queue *q = &g->q[VSOCK_TXQ];
	uint16_t idx = __atomic_load_n(&q->used[1], __ATOMIC_ACQUIRE);

	for (; q->used_seen != idx; q->used_seen++) {
		uint32_t id = ((volatile uint32_t *)&q->used[2])[2 * (q->used_seen % FG_QSZ)];

		if (id / 2 < FG_TX_SLOTS)
			g->tx_busy[id / 2] = false;
	}
}

/* A free TX slot, waiting up to 5 s; -1 if none. */
static inline int fg_tx_slot(struct fg *g)
{
	uint64_t end = fg_now_ms() + 5000;

	for (;;) {
		fg_tx_reclaim(g);
		for (unsigned i = 0; i < FG_TX_SLOTS; i++) {
			unsigned s = (g->tx_next + i) % FG_TX_SLOTS;

			if (!g->tx_busy[s]) {
				g->tx_next = s + 1;
				return (int)s;
			}
		}
		if (g->tx_nowait || fg_now_ms() > end)
			return -1;
		fg_wait_irq(g, 10);
	}
}

/*
 * Put a raw chain on the TX ring: `hdr_len` bytes of `hdr` in the first
 * descriptor, `len` bytes of payload in a second one (none if len is 0).
 */
static inline int fg_send_raw(struct fg *g, const void *hdr, uint32_t hdr_len, const void *data, uint32_t len)
{
	int s = fg_tx_slot(g);
	struct virtq_desc *desc = g->q[VSOCK_TXQ].desc;
	uint64_t gpa;

	if (s < 0 || hdr_len > 0x1000 || len > FG_TX_MAX)
		return -1;
	gpa = FG_TXBUF(s);
	memcpy(fg_ptr(g, gpa, hdr_len ? hdr_len : 1), hdr, hdr_len);
	if (len)
		memcpy(fg_ptr(g, gpa + 0x1000, len), data, len);
	desc[2 * s] = (struct virtq_desc){ gpa, hdr_len, len ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(2 * s + 1) };
	desc[2 * s + 1] = (struct virtq_desc){ gpa + 0x1000, len, 0, 0 };
	g->tx_busy[s] = true;
	fg_make_avail(g, VSOCK_TXQ, (uint16_t)(2 * s));
	fg_kick(g, VSOCK_TXQ);
	return 0;
}

/* A packet from the guest (CID g->cid) to the host; fields in host order. */
static inline int fg_send(struct fg *g, uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
			  uint32_t buf_alloc, uint32_t fwd_cnt, const void *data, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = htole64(g->cid),
		.dst_cid = htole64(VSOCK_HOST_CID),
		.src_port = htole32(src_port),
		.dst_port = htole32(dst_port),
		.len = htole32(len),
		.type = htole16(VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(buf_alloc),
		.fwd_cnt = htole32(fwd_cnt),
	};

	return fg_send_raw(g, &h, sizeof(h), data, len);
}

/*
 * The next packet the device put on the RX ring, within ms. The header comes
 * back in host order, the payload in data (FG_RX_BUF - 44 bytes of room).
 * Returns the payload length, or -1 on timeout.
 */
static inline int fg_recv(struct fg *g, struct vsock_hdr *h, void *data, int ms)
{
	struct fg_queue *q = &g->q[VSOCK_RXQ];
	uint64_t end = fg_now_ms() + (uint64_t)ms;

	for (;;) {
		uint16_t idx = __atomic_load_n(&q->used[1], __ATOMIC_ACQUIRE);

		if (idx != q->used_seen) {
			volatile uint32_t *e = (volatile uint32_t *)&q->used[2] + 2 * (q->used_seen % FG_QSZ);
			uint32_t id = e[0], written = e[1], len = 0;

			q->used_seen++;
			if (id >= FG_QSZ)
				return -1;
			memset(h, 0, sizeof(*h));
			if (written >= VSOCK_HDR_SIZE) {
				uint8_t *buf = fg_ptr(g, FG_RXBUF(id), FG_RX_BUF);

				memcpy(h, buf, sizeof(*h));
				h->src_cid = le64toh(h->src_cid);
				h->dst_cid = le64toh(h->dst_cid);
				h->src_port = le32toh(h->src_port);
				h->dst_port = le32toh(h->dst_port);
				h->len = le32toh(h->len);
				h->type = le16toh(h->type);
				h->op = le16toh(h->op);
				h->flags = le32toh(h->flags);
				h->buf_alloc = le32toh(h->buf_alloc);
				h->fwd_cnt = le32toh(h->fwd_cnt);
				len = written - VSOCK_HDR_SIZE;
				if (data && len)
					memcpy(data, buf + VSOCK_HDR_SIZE, len);
			}
			fg_make_avail(g, VSOCK_RXQ, (uint16_t)id);
			fg_kick(g, VSOCK_RXQ);
			return (int)len;
		}
		if (fg_now_ms() >= end)
			return -1;
		fg_wait_irq(g, 5);
	}
}

/* Event queue: the next event id the device wrote, or -1 within ms. */
static inline int fg_recv_event(struct fg *g, int ms)
{
	struct fg_queue *q = &g->q[VSOCK_EVQ];
	uint64_t end = fg_now_ms() + (uint64_t)ms;

	for (;;) {
		uint16_t idx = __atomic_load_n(&q->used[1], __ATOMIC_ACQUIRE);

		if (idx != q->used_seen) {
			volatile uint32_t *e = (volatile uint32_t *)&q->used[2] + 2 * (q->used_seen % FG_QSZ);
			uint32_t id = e[0], ev;

			q->used_seen++;
			if (id >= 8 || e[1] != 4)
				return -1;
			memcpy(&ev, fg_ptr(g, FG_EVBUF(id), 4), 4);
			return (int)le32toh(ev);
		}
		if (fg_now_ms() >= end)
			return -1;
		fg_wait_irq(g, 5);
	}
}

#endif
