// SPDX-License-Identifier: MIT
/*
 * virtio-net receive: host descriptor -> slots -> the guest's receiveq
 * (virtio 1.2 §5.1.6.3 and §5.1.6.4). See net_internal.h for the design.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net_internal.h"

#define RX_ERR_READABLE (-100) /* a receive chain with device-readable buffers */

int net_rx_init(struct net_dev *n)
{
	/* A TAP with a vnet header may hand over 64 KiB segmentation-offload frames. */
	n->rx_max_frame = n->kind == NET_KIND_TAP && n->vnet_hdr ? NET_MAX_GSO_FRAME : (uint32_t)n->mtu + NET_ETH_HLEN;
	for (int i = 0; i < NET_RX_SLOTS; i++) {
		/* One byte more than the largest frame tells a truncated read. */
		n->slot[i].data = malloc(NET_HDR_LEN + n->rx_max_frame + 1);
		if (!n->slot[i].data)
			return -ENOMEM;
	}
	n->stash = calloc(NET_RX_STASH, sizeof(*n->stash));
	if (!n->stash)
		return -ENOMEM;
	if (n->kind == NET_KIND_STREAM)
		return net_stream_rx_init(&n->srx, n->rx_max_frame);
	return 0;
}

void net_rx_free(struct net_dev *n)
{
	for (int i = 0; i < NET_RX_SLOTS; i++)
		free(n->slot[i].data);
	free(n->stash);
	net_stream_rx_free(&n->srx);
}

void net_rx_reset(struct net_dev *n)
{
	/* The chains belonged to the old rings; frames already read are kept. */
	n->stash_head = n->stash_count = 0;
	n->stash_bytes = 0;
	n->rx_want = false;
}

/* The next free slot, at the tail of the ring. */
static struct net_rx_slot *rx_tail(struct net_dev *n)
{
	return &n->slot[(n->rx_head + n->rx_count) % NET_RX_SLOTS];
}

/* Keep the frame in the tail slot (data already there, header zeroed or checked). */
static void rx_keep(struct net_dev *n, uint32_t frame_len)
{
	rx_tail(n)->len = NET_HDR_LEN + frame_len;
	n->rx_count++;
}

/* A frame without a vnet header from the host: check its length, give it an empty header. */
static void rx_plain(struct net_dev *n, uint32_t frame_len, bool truncated)
{
	if (truncated || frame_len > (uint32_t)n->mtu + NET_ETH_HLEN) {
		n->st.rx_long++;
	} else if (frame_len < NET_ETH_HLEN) {
		n->st.rx_short++;
	} else {
		memset(rx_tail(n)->data, 0, NET_HDR_LEN);
		rx_keep(n, frame_len);
	}
}

static bool rx_peer_gone(const struct net_dev *n, int err)
{
	return err == ECONNRESET || err == EPIPE || err == ENOTCONN || err == EBADFD ||
	       (n->unix_sock && err == ECONNREFUSED);
}

/*
 * Read frames into free slots. Returns how many frames were read (kept or
 * dropped), 0 when nothing is waiting, -1 at end of file or a dead peer.
 */
static int rx_read_dgram(struct net_dev *n)
{
	unsigned int first = (n->rx_head + n->rx_count) % NET_RX_SLOTS;
	unsigned int cnt = NET_RX_SLOTS - n->rx_count;
	int r;

	if (cnt > NET_RX_SLOTS - first)
		cnt = NET_RX_SLOTS - first; /* recvmmsg fills contiguous slots */
	for (unsigned int i = 0; i < cnt; i++) {
		n->rx_iov[i] = (struct iovec){ n->slot[first + i].data + NET_HDR_LEN, n->rx_max_frame };
		n->rx_mmsg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &n->rx_iov[i], .msg_iovlen = 1 } };
	}
	do
		r = recvmmsg(n->fd, n->rx_mmsg, cnt, MSG_DONTWAIT, NULL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return rx_peer_gone(n, errno) ? -1 : 0;
	for (int i = 0; i < r; i++) {
		/* Slot first + i holds datagram i; move it to the tail (dropped ones leave no gap). */
		struct net_rx_slot *s = &n->slot[first + i], *t = rx_tail(n);
		uint8_t *tmp = t->data;

		t->data = s->data;
		s->data = tmp;
		rx_plain(n, n->rx_mmsg[i].msg_len, n->rx_mmsg[i].msg_hdr.msg_flags & MSG_TRUNC);
	}
	return r;
}

static int rx_read_tap(struct net_dev *n)
{
	struct net_rx_slot *s = rx_tail(n);
	uint32_t frame_len;
	ssize_t r;

	do {
		if (n->vnet_hdr)
			r = read(n->fd, s->data, NET_HDR_LEN + n->rx_max_frame + 1);
		else
			r = read(n->fd, s->data + NET_HDR_LEN, n->rx_max_frame + 1);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EBADFD ? -1 : 0;
	if (!n->vnet_hdr) {
		rx_plain(n, (uint32_t)r, (uint32_t)r > n->rx_max_frame);
		return 1;
	}
	if (r < NET_HDR_LEN) {
		n->st.rx_short++;
		return 1;
	}
	frame_len = (uint32_t)r - NET_HDR_LEN;
	if (frame_len > n->rx_max_frame) {
		n->st.rx_long++;
		return 1;
	}
	switch (net_hdr_check_rx((struct virtio_net_hdr *)s->data, frame_len, n->vdev.driver_features, n->mtu)) {
	case NET_HDR_OK:
		rx_keep(n, frame_len);
		break;
	case NET_HDR_SHORT:
		n->st.rx_short++;
		break;
	case NET_HDR_LONG:
		n->st.rx_long++;
		break;
	case NET_HDR_BAD:
		n->st.rx_bad_hdr++;
		break;
	}
	return 1;
}

static int rx_read_stream(struct net_dev *n)
{
	const uint8_t *frame;
	uint32_t len;
	int got = 0;

	while (n->rx_count < NET_RX_SLOTS) {
		size_t space;
		uint8_t *p;
		ssize_t r;

		switch (net_stream_next(&n->srx, &frame, &len)) {
		case NET_STREAM_FRAME:
			if (len >= NET_ETH_HLEN)
				memcpy(rx_tail(n)->data + NET_HDR_LEN, frame, len);
			rx_plain(n, len, false);
			got++;
			continue;
		case NET_STREAM_TOO_LONG:
			n->st.rx_long++;
			got++;
			continue;
		case NET_STREAM_NEED_MORE:
			break;
		}
		if (got)
			return got;
		p = net_stream_space(&n->srx, &space);
		do
			r = recv(n->fd, p, space, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r == 0)
			return -1; /* end of file; a partial frame left in the buffer is lost with the peer */
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		net_stream_filled(&n->srx, (size_t)r);
	}
	return got;
}

static int rx_read(struct net_dev *n)
{
	switch (n->kind) {
	case NET_KIND_DGRAM:
		return rx_read_dgram(n);
	case NET_KIND_TAP:
		return rx_read_tap(n);
	case NET_KIND_STREAM:
		return rx_read_stream(n);
	}
	return 0;
}

/*
 * Publish several used elements with one index update. A frame spread over
 * mergeable buffers must appear whole: the driver reads num_buffers from the
 * first and expects the rest to be there (§5.1.6.4.2), and virtq_push()
 * publishes each element on its own.
 */
static void used_fill(struct virtq *q, unsigned int i, uint16_t head, uint32_t len)
{
	volatile uint32_t *elem = (volatile uint32_t *)&q->used[2] + 2 * ((uint16_t)(q->used_idx + i) % q->size);

	elem[0] = head;
	elem[1] = len;
}

static void used_flush(struct virtq *q, unsigned int count)
{
	q->used_idx += count;
	__atomic_store_n(&q->used[1], q->used_idx, __ATOMIC_RELEASE);
}

static void iov_from_buf(const struct iovec *iov, unsigned int cnt, const uint8_t *src, size_t len)
{
	for (unsigned int i = 0; i < cnt && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, src, k);
		src += k;
		len -= k;
	}
}

static struct net_chain *stash_at(struct net_dev *n, unsigned int i)
{
	return &n->stash[(n->stash_head + i) % NET_RX_STASH];
}

static void slot_done(struct net_dev *n)
{
	n->rx_head = (n->rx_head + 1) % NET_RX_SLOTS;
	n->rx_count--;
}

/*
 * Put the frame at the head of the slots into receive buffers: 1 when done
 * (or dropped: it cannot fit), 0 when the guest has no more buffers, or a
 * negative error when the driver broke the rules.
 */
static int rx_deliver(struct net_dev *n, bool *pushed)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *q = &d->vq[NET_RXQ];
	struct net_rx_slot *s = &n->slot[n->rx_head];
	bool mrg = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	uint32_t left, off = 0, sizes = 0;
	unsigned int nbuf = 0;

	/* Without mergeable buffers a frame goes into exactly one chain (§5.1.6.3.1). */
	while (n->stash_bytes < s->len && (mrg || n->stash_count == 0) && n->stash_count < NET_RX_STASH) {
		struct net_chain *c = stash_at(n, n->stash_count);
		int r;

		c->c.iov = c->iov;
		c->c.iov_cap = NET_CHAIN_IOV;
		r = virtq_pop(q, &c->c);
		if (r <= 0)
			return r;
		if (c->c.nr_out)
			return RX_ERR_READABLE;
		n->stash_count++;
		n->stash_bytes += c->c.in_len;
	}
	if (n->stash_bytes < s->len) {
		/* Buffers too small for this frame: drop it, not the buffers (unless unmergeable). */
		n->st.rx_no_room++;
		if (!mrg) {
			virtq_push(q, stash_at(n, 0)->c.head, 0);
			*pushed = true;
			n->stash_head = n->stash_count = 0;
			n->stash_bytes = 0;
		}
		slot_done(n);
		return 1;
	}
	for (left = s->len; left; nbuf++) {
		uint32_t in = stash_at(n, nbuf)->c.in_len;

		left -= in < left ? in : left;
	}
	s->data[10] = (uint8_t)(mrg ? nbuf : 1); /* num_buffers, little-endian */
	s->data[11] = (uint8_t)((mrg ? nbuf : 1) >> 8);
	for (unsigned int i = 0; i < nbuf; i++) {
		struct net_chain *c = stash_at(n, i);
		uint32_t take = s->len - off < c->c.in_len ? s->len - off : c->c.in_len;

		iov_from_buf(c->iov, c->c.nr_in, s->data + off, take);
		used_fill(q, i, c->c.head, take);
		off += take;
		sizes += c->c.in_len;
	}
	used_flush(q, nbuf);
	*pushed = true;
	n->stash_head = (n->stash_head + nbuf) % NET_RX_STASH;
	n->stash_count -= nbuf;
	n->stash_bytes -= sizes;
	n->st.rx_frames++;
	n->st.rx_bytes += s->len - NET_HDR_LEN;
	slot_done(n);
	return 1;
}

/* Ask the loop to call us again (a budget ran out): the queue's own notifier. */
static void requeue(struct net_dev *n, uint16_t q)
{
	uint64_t one = 1;

	if (n->vdev.ioeventfd[q] >= 0 && write(n->vdev.ioeventfd[q], &one, sizeof(one)) < 0) {
		/* Counter overflow only: a notification is pending anyway. */
	}
}

void net_rx_process(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *q = &d->vq[NET_RXQ];
	bool pushed = false;
	int reads = 0, r;

	if (!virtio_running(d) || !q->ready) {
		n->rx_want = false;
		return;
	}
	for (;;) {
		while (n->rx_count) {
			r = rx_deliver(n, &pushed);
			if (r < 0) {
				virtio_fail(d, r == RX_ERR_READABLE ? "receive chain with device-readable buffers" :
					       virtq_strerror(r));
				n->rx_want = false;
				goto out;
			}
			if (r == 0)
				goto no_buffers;
		}
		if (n->rx_eof) {
			n->rx_want = false;
			goto out;
		}
		/* Read only while the guest has buffers to put frames in. */
		if (!n->stash_count && !virtq_pending(q))
			goto no_buffers;
		if (reads++ == NET_RX_BUDGET) {
			requeue(n, NET_RXQ);
			n->rx_want = true;
			goto out;
		}
		r = rx_read(n);
		if (r == 0) {
			n->rx_want = true; /* EPOLLIN brings the next frame */
			goto out;
		}
		if (r < 0) {
			n->rx_eof = true;
			net_link_down(n, "the peer closed the network descriptor");
		}
		continue;
no_buffers:
		/* §2.7.10: ask for a notification, then look again (the guest may have added some). */
		if (virtq_enable_notify(q))
			continue;
		n->rx_want = false;
		break;
	}
out:
	if (pushed)
		virtio_signal_used(d, NET_RXQ);
}
