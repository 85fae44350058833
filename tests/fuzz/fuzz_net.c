// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for virtio-net: a hostile guest (descriptor chains with
 * any lengths, flags and addresses, ring indexes it scribbles on, resets) and
 * a hostile host peer (any datagrams, any byte stream with length prefixes)
 * drive the device over a real socketpair, in one process (no KVM).
 *
 * Input: byte 0 picks the socket type and the features; then operations, one
 * byte each plus their arguments, until the input runs out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net_internal.h"
#include "tests/net/fake_driver.h"

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

/* A chain of 1-4 descriptors on queue q: lengths, flags and (sometimes wild) addresses from the input. */
static void post_chain(struct fake_driver *f, struct input *in, int q)
{
	uint64_t gpa[4];
	uint32_t len[4];
	uint16_t flags[4];
	int n = (int)(take(in, 1) % 4) + 1;

	for (int i = 0; i < n; i++) {
		uint8_t how = (uint8_t)take(in, 1);

		len[i] = (uint32_t)take(in, 2);
		if (how & 0x80)
			len[i] |= (uint32_t)take(in, 2) << 16;
		flags[i] = (how & 1) ? VIRTQ_DESC_F_WRITE : 0;
		if (how & 2)
			flags[i] |= VIRTQ_DESC_F_INDIRECT;
		if (how & 4)
			gpa[i] = take(in, 8); /* anywhere, or nowhere */
		else
			gpa[i] = fd_alloc(f, len[i] & 0xffff);
		if (!(how & 4) && len[i] <= 0xffff && !(how & 1)) {
			/* A readable buffer: fill it from the input (header and frame). */
			uint8_t *p = fd_ptr(f, gpa[i], len[i]);
			size_t k = len[i] < in->left ? len[i] : in->left;

			if (p) {
				memcpy(p, in->p, k);
				in->p += k;
				in->left -= k;
			}
		}
	}
	fd_post(f, q, gpa, len, flags, n);
}

static void peer_send(int peer, int type, struct input *in)
{
	uint8_t buf[4096];
	size_t n = (size_t)take(in, 2) % sizeof(buf);

	if (n > in->left)
		n = in->left;
	memcpy(buf, in->p, n);
	in->p += n;
	in->left -= n;
	if (type == SOCK_STREAM || n > 0)
		send(peer, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void peer_drain(int peer)
{
	uint8_t buf[65536];

	while (recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
	}
}

/* Device reset by the driver, then the queues set up again (the transport's sequence). */
static void reset_device(struct fake_driver *f)
{
	struct virtio_dev *d = f->d;

	pthread_mutex_lock(&d->lock);
	d->ops->reset(d);
	for (int i = 0; i < 2; i++) {
		struct virtq saved = d->vq[i];

		virtq_reset(&d->vq[i]);
		d->vq[i].size = saved.size;
		d->vq[i].desc_gpa = saved.desc_gpa;
		d->vq[i].avail_gpa = saved.avail_gpa;
		d->vq[i].used_gpa = saved.used_gpa;
		virtq_activate(&d->vq[i], &f->vm.mem, false);
		f->ring[i].avail[1] = 0;
		f->ring[i].used[1] = 0;
		f->ring[i].last_used = 0;
		f->ring[i].next_desc = 0;
	}
	d->status &= ~VIRTIO_STATUS_NEEDS_RESET;
	pthread_mutex_unlock(&d->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake_driver f;
	struct input in = { data, size };
	struct net_config cfg = { .mtu = 1500 };
	uint8_t mode = (uint8_t)take(&in, 1);
	int type = mode & 1 ? SOCK_STREAM : SOCK_DGRAM;
	uint64_t features = mode & 2 ? ~0ULL : ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	char err[256];
	int sv[2], ops = 0;

	if (socketpair(AF_UNIX, type, 0, sv))
		return 0;
	cfg.fd = sv[0];
	if (mode & 4)
		cfg.mtu = 68 + (uint16_t)(mode >> 3) * 100;
	if (fake_driver_init(&f, &cfg, features, err, sizeof(err))) {
		close(sv[1]);
		fake_driver_free(&f);
		return 0;
	}
	while (in.left && ops++ < 256) {
		uint32_t id, len;

		switch (take(&in, 1) % 11) {
		case 0:
			post_chain(&f, &in, NET_TXQ);
			break;
		case 1:
			post_chain(&f, &in, NET_RXQ);
			break;
		case 2:
			fd_notify(&f, NET_TXQ);
			break;
		case 3:
			fd_notify(&f, NET_RXQ);
			break;
		case 4:
			if (sv[1] >= 0)
				peer_send(sv[1], type, &in);
			break;
		case 5:
			net_fd_event(f.net, (uint32_t)take(&in, 1) &
					    (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR | EPOLLRDHUP));
			break;
		case 6:
			if (sv[1] >= 0)
				peer_drain(sv[1]);
			break;
		case 7: {
			/* The guest scribbles on its avail ring. */
			struct fake_ring *r = &f.ring[take(&in, 1) & 1];
			uint16_t at = (uint16_t)take(&in, 2) % (2 + FD_QSZ + 1);

			r->avail[at] = (uint16_t)take(&in, 2);
			break;
		}
		case 8:
			reset_device(&f);
			break;
		case 9:
			if (sv[1] >= 0) {
				close(sv[1]);
				sv[1] = -1;
			}
			break;
		case 10:
			while (fd_used(&f, take(&in, 1) & 1, &id, &len)) {
			}
			break;
		}
	}
	if (sv[1] >= 0)
		close(sv[1]);
	fake_driver_free(&f);
	return 0;
}
