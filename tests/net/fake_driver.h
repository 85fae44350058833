/* SPDX-License-Identifier: MIT */
/*
 * A virtio-net driver in the same process, for the unit tests and the fuzzer:
 * guest memory, the two split rings, and a virtio-net device (net_new, no
 * KVM) whose queues it fills the way a guest driver does. Header-only.
 */
#ifndef FLASHPAN_TESTS_NET_FAKE_DRIVER_H
#define FLASHPAN_TESTS_NET_FAKE_DRIVER_H

#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "vmm/kvm.h"

#define FD_QSZ      256
#define FD_MEM      (16ULL << 20)
#define FD_BUF_GPA  0x100000ULL
#define FD_BUF_SIZE (8ULL << 20)

struct fake_ring {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct virtq_desc *desc;
	uint16_t *avail, *used;
	uint16_t next_desc, last_used;
};

struct fake_driver {
	struct vm vm;
	struct net_dev *net;
	struct virtio_dev *d;
	struct fake_ring ring[2];
	uint64_t buf_next; /* bump allocator for buffers */
};

static inline void *fd_ptr(struct fake_driver *f, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(&f->vm.mem, gpa, len);
}

/* Guest memory, loop, the device over `cfg`, features accepted, queues ready. 0 or -1. */
static inline int fake_driver_init(struct fake_driver *f, const struct net_config *cfg, uint64_t features,
				   char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->vm.kvm_fd = f->vm.vm_fd = f->vm.stop_fd = -1;
	if (guest_mem_init(&f->vm.mem, FD_MEM, false) || loop_init(&f->vm.loop))
		return -1;
	f->net = net_new(&f->vm, cfg, err, errlen);
	if (!f->net)
		return -1;
	f->d = net_virtio(f->net);
	f->d->irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->d->driver_features = (features & f->d->ops->features) | 1ULL << VIRTIO_F_VERSION_1;
	for (int i = 0; i < 2; i++) {
		struct fake_ring *r = &f->ring[i];
		struct virtq *q = &f->d->vq[i];

		r->desc_gpa = 0x10000 + i * 0x8000;
		r->avail_gpa = r->desc_gpa + 0x1000 * 4;
		r->used_gpa = r->desc_gpa + 0x1000 * 6;
		r->desc = fd_ptr(f, r->desc_gpa, 16 * FD_QSZ);
		r->avail = fd_ptr(f, r->avail_gpa, 6 + 2 * FD_QSZ);
		r->used = fd_ptr(f, r->used_gpa, 6 + 8 * FD_QSZ);
		q->size = FD_QSZ;
		q->desc_gpa = r->desc_gpa;
		q->avail_gpa = r->avail_gpa;
		q->used_gpa = r->used_gpa;
		if (virtq_activate(q, &f->vm.mem, false))
			return -1;
	}
	f->d->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK;
	if (f->d->ops->activate && f->d->ops->activate(f->d))
		return -1;
	f->buf_next = FD_BUF_GPA;
	return 0;
}

static inline void fake_driver_free(struct fake_driver *f)
{
	if (f->d && f->d->irqfd >= 0)
		close(f->d->irqfd);
	if (f->d)
		f->d->irqfd = -1;
	net_destroy(f->net);
	loop_free(&f->vm.loop);
	guest_mem_free(&f->vm.mem);
}

static inline uint64_t fd_alloc(struct fake_driver *f, uint32_t len)
{
	uint64_t gpa = f->buf_next;

	f->buf_next += (len + 63) & ~63ULL;
	if (f->buf_next > FD_BUF_GPA + FD_BUF_SIZE)
		f->buf_next = FD_BUF_GPA + ((len + 63) & ~63ULL), gpa = FD_BUF_GPA; /* wrap: tests are small */
	return gpa;
}

/* Make a chain of n descriptors available; returns its head. */
static inline uint16_t fd_post(struct fake_driver *f, int qi, const uint64_t *gpa, const uint32_t *len,
			       const uint16_t *flags, int n)
{
	struct fake_ring *r = &f->ring[qi];
	uint16_t head = r->next_desc % FD_QSZ;

	for (int i = 0; i < n; i++) {
		uint16_t di = (uint16_t)((head + i) % FD_QSZ);

		r->desc[di] = (struct virtq_desc){ gpa[i], len[i], flags[i], (uint16_t)((di + 1) % FD_QSZ) };
		if (i + 1 < n)
			r->desc[di].flags |= VIRTQ_DESC_F_NEXT;
	}
	r->next_desc = (uint16_t)(r->next_desc + n);
	r->avail[2 + r->avail[1] % FD_QSZ] = head;
	__atomic_store_n(&r->avail[1], (uint16_t)(r->avail[1] + 1), __ATOMIC_RELEASE);
	return head;
}

/* A receive buffer of len bytes (one writable descriptor); returns its guest address. */
static inline uint64_t fd_post_rx(struct fake_driver *f, uint32_t len)
{
	uint64_t gpa = fd_alloc(f, len);
	uint16_t flags = VIRTQ_DESC_F_WRITE;

	fd_post(f, 0, &gpa, &len, &flags, 1);
	return gpa;
}

/* Transmit hdr + frame, the header in its own descriptor when split. */
static inline uint16_t fd_post_tx(struct fake_driver *f, const struct virtio_net_hdr *h, const void *frame,
				  uint32_t len, bool split)
{
	uint64_t gpa = fd_alloc(f, NET_HDR_LEN + len);
	uint64_t g[2] = { gpa, gpa + NET_HDR_LEN };
	uint32_t l[2] = { NET_HDR_LEN, len };
	uint16_t fl[2] = { 0, 0 };
	uint8_t *p = fd_ptr(f, gpa, NET_HDR_LEN + len);

	memcpy(p, h, NET_HDR_LEN);
	memcpy(p + NET_HDR_LEN, frame, len);
	if (split)
		return fd_post(f, 1, g, l, fl, 2);
	l[0] = NET_HDR_LEN + len;
	return fd_post(f, 1, g, l, fl, 1);
}

/* Next used element of queue qi: 1 with *id, *len, or 0 if none. */
static inline int fd_used(struct fake_driver *f, int qi, uint32_t *id, uint32_t *len)
{
	struct fake_ring *r = &f->ring[qi];
	uint32_t *elem;

	if (__atomic_load_n(&r->used[1], __ATOMIC_ACQUIRE) == r->last_used)
		return 0;
	elem = (uint32_t *)&r->used[2] + 2 * (r->last_used % FD_QSZ);
	*id = elem[0];
	*len = elem[1];
	r->last_used++;
	return 1;
}

static inline void fd_notify(struct fake_driver *f, uint16_t q)
{
	pthread_mutex_lock(&f->d->lock);
	f->d->ops->notify(f->d, q);
	pthread_mutex_unlock(&f->d->lock);
}

#endif
