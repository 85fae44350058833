// SPDX-License-Identifier: MIT
/*
 * virtio-net transmit: the guest's transmitq -> host descriptor
 * (virtio 1.2 §5.1.6.2). See net_internal.h for the design.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/net_internal.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

enum { TX_SENT = 0, TX_BLOCKED = -1, TX_PEER_GONE = -2 };

int net_tx_init(struct net_dev *n)
{
	n->tx = calloc(NET_TX_BATCH, sizeof(*n->tx));
	if (!n->tx)
		return -ENOMEM;
	if (n->kind != NET_KIND_STREAM)
		return 0;
	n->tx_iov = calloc(IOV_MAX, sizeof(*n->tx_iov));
	n->tx_tail = malloc(4 + (size_t)n->mtu + NET_ETH_HLEN);
	return n->tx_iov && n->tx_tail ? 0 : -ENOMEM;
}

void net_tx_free(struct net_dev *n)
{
	free(n->tx);
	free(n->tx_iov);
	free(n->tx_tail);
}

void net_tx_reset(struct net_dev *n)
{
	/*
	 * Chains taken from the old ring are forgotten. A stream's partly sent
	 * frame lives in tx_tail (host memory) and is still finished, or the
	 * framing would break.
	 */
	n->tx_n = n->tx_done = 0;
	n->tx_blocked = false;
}

/* Copy `len` bytes at offset `skip` of an iovec array into dst; returns bytes copied. */
static size_t iov_to_buf(const struct iovec *iov, int cnt, size_t skip, uint8_t *dst, size_t len)
{
	size_t done = 0;

	for (int i = 0; i < cnt && done < len; i++) {
		size_t k;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		memcpy(dst + done, (uint8_t *)iov[i].iov_base + skip, k);
		done += k;
		skip = 0;
	}
	return done;
}

/*
 * Check a chain and build what goes to the host. false: the frame is dropped
 * (and counted); the chain is completed by the caller.
 */
static bool tx_prepare(struct net_dev *n, struct net_tx_frame *f)
{
	const struct virtq_chain *c = &f->ch.c;
	uint64_t features = n->vdev.driver_features;
	uint32_t frame_len;
	size_t skip = NET_HDR_LEN;
	int k = 0;

	if (c->out_len < NET_HDR_LEN || c->nr_in) {
		/* No room for the header, or device-writable buffers on the transmitq. */
		if (c->nr_in)
			n->st.tx_bad_hdr++;
		else
			n->st.tx_short++;
		return false;
	}
	iov_to_buf(f->ch.iov, c->nr_out, 0, (uint8_t *)&f->hdr, NET_HDR_LEN);
	frame_len = c->out_len - NET_HDR_LEN;
	/* A socket or a plain TAP takes no offloads: none were offered there. */
	if (!(n->kind == NET_KIND_TAP && n->vnet_hdr))
		features &= ~(1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
			      1ULL << VIRTIO_NET_F_HOST_TSO6);
	switch (net_hdr_check_tx(&f->hdr, frame_len, features, n->mtu)) {
	case NET_HDR_OK:
		break;
	case NET_HDR_SHORT:
		n->st.tx_short++;
		return false;
	case NET_HDR_LONG:
		n->st.tx_long++;
		return false;
	case NET_HDR_BAD:
		n->st.tx_bad_hdr++;
		return false;
	}
	f->frame_len = frame_len;
	f->msg_len = frame_len;
	if (n->kind == NET_KIND_STREAM) {
		f->prefix[0] = (uint8_t)(frame_len >> 24);
		f->prefix[1] = (uint8_t)(frame_len >> 16);
		f->prefix[2] = (uint8_t)(frame_len >> 8);
		f->prefix[3] = (uint8_t)frame_len;
		f->msg_iov[k++] = (struct iovec){ f->prefix, 4 };
		f->msg_len += 4;
	} else if (n->kind == NET_KIND_TAP && n->vnet_hdr) {
		/* Our checked copy of the header, not the guest's (which it may change). */
		f->hdr.num_buffers = 0;
		f->msg_iov[k++] = (struct iovec){ &f->hdr, NET_HDR_LEN };
		f->msg_len += NET_HDR_LEN;
	}
	for (int i = 0; i < c->nr_out; i++) {
		size_t len = f->ch.iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		f->msg_iov[k++] = (struct iovec){ (uint8_t *)f->ch.iov[i].iov_base + skip, len - skip };
		skip = 0;
	}
	f->msg_iovcnt = k;
	return true;
}

/* The frame at tx_done went to the host (or was dropped): give the chain back. */
static void tx_complete(struct net_dev *n, bool sent)
{
	struct net_tx_frame *f = &n->tx[n->tx_done++];

	virtq_push(&n->vdev.vq[NET_TXQ], f->ch.c.head, 0);
	if (sent) {
		n->st.tx_frames++;
		n->st.tx_bytes += f->frame_len;
	}
}

static bool tx_peer_gone(const struct net_dev *n, int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == EBADFD ||
	       (n->unix_sock && err == ECONNREFUSED);
}

/* A send failed with err: TX_BLOCKED, TX_PEER_GONE, or drop this one frame and go on (0). */
static int tx_error(struct net_dev *n, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return TX_BLOCKED;
	if (tx_peer_gone(n, err))
		return TX_PEER_GONE;
	n->st.tx_error++; /* EMSGSIZE, ENOBUFS, a TAP that is down (EIO): this frame only */
	tx_complete(n, false);
	return 0;
}

static int tx_flush_dgram(struct net_dev *n)
{
	while (n->tx_done < n->tx_n) {
		unsigned int cnt = n->tx_n - n->tx_done;
		int r;

		for (unsigned int i = 0; i < cnt; i++) {
			struct net_tx_frame *f = &n->tx[n->tx_done + i];

			n->tx_mmsg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = f->msg_iov,
								       .msg_iovlen = f->msg_iovcnt } };
		}
		r = sendmmsg(n->fd, n->tx_mmsg, cnt, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = tx_error(n, errno);
			if (r)
				return r;
			continue;
		}
		for (int i = 0; i < r; i++)
			tx_complete(n, true);
	}
	return TX_SENT;
}

static int tx_flush_tap(struct net_dev *n)
{
	while (n->tx_done < n->tx_n) {
		struct net_tx_frame *f = &n->tx[n->tx_done];
		ssize_t r = writev(n->fd, f->msg_iov, f->msg_iovcnt);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = tx_error(n, errno);
			if (r)
				return (int)r;
			continue;
		}
		tx_complete(n, true); /* a TAP takes a frame whole or not at all */
	}
	return TX_SENT;
}

/* Send the rest of a frame the socket took in part. */
static int tx_flush_tail(struct net_dev *n)
{
	while (n->tx_tail_off < n->tx_tail_len) {
		ssize_t r = send(n->fd, n->tx_tail + n->tx_tail_off, n->tx_tail_len - n->tx_tail_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? TX_BLOCKED : TX_PEER_GONE;
		}
		n->tx_tail_off += (uint32_t)r;
	}
	n->tx_tail_off = n->tx_tail_len = 0;
	return TX_SENT;
}

/*
 * A stream: all waiting frames (prefix, payload, prefix, ...) in one sendmsg.
 * The socket may take part of a frame; its unsent end is copied to tx_tail
 * so that the chain can be completed and nothing else is sent before it.
 */
static int tx_flush_stream(struct net_dev *n)
{
	for (;;) {
		struct msghdr msg = { .msg_iov = n->tx_iov };
		int r = tx_flush_tail(n);
		ssize_t sent;

		if (r || n->tx_done == n->tx_n)
			return r;
		for (unsigned int i = n->tx_done; i < n->tx_n; i++) {
			struct net_tx_frame *f = &n->tx[i];

			if (msg.msg_iovlen + f->msg_iovcnt > IOV_MAX)
				break;
			memcpy(n->tx_iov + msg.msg_iovlen, f->msg_iov, f->msg_iovcnt * sizeof(struct iovec));
			msg.msg_iovlen += f->msg_iovcnt;
		}
		sent = sendmsg(n->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? TX_BLOCKED : TX_PEER_GONE;
		}
		while (n->tx_done < n->tx_n && (size_t)sent >= n->tx[n->tx_done].msg_len) {
			sent -= n->tx[n->tx_done].msg_len;
			tx_complete(n, true);
		}
		if (sent > 0) {
			struct net_tx_frame *f = &n->tx[n->tx_done];

			n->tx_tail_len = f->msg_len - (uint32_t)sent;
			n->tx_tail_off = 0;
			iov_to_buf(f->msg_iov, f->msg_iovcnt, (size_t)sent, n->tx_tail, n->tx_tail_len);
			tx_complete(n, true);
		}
	}
}

static int tx_flush(struct net_dev *n)
{
	switch (n->kind) {
	case NET_KIND_DGRAM:
		return tx_flush_dgram(n);
	case NET_KIND_TAP:
		return tx_flush_tap(n);
	case NET_KIND_STREAM:
		return tx_flush_stream(n);
	}
	return TX_SENT;
}

/* Link down: every chain the guest gives is completed unsent, so it never hangs. */
static void tx_drop_all(struct net_dev *n)
{
	while (n->tx_done < n->tx_n) {
		n->st.tx_link_down++;
		tx_complete(n, false);
	}
	n->tx_tail_len = n->tx_tail_off = 0;
	n->tx_blocked = false;
}

void net_tx_process(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *q = &d->vq[NET_TXQ];
	uint16_t used_before = q->used_idx;
	unsigned int batches = 0;
	int r;

	if (!virtio_running(d) || !q->ready) {
		n->tx_blocked = false;
		return;
	}
	for (;;) {
		bool link_up = n->status & VIRTIO_NET_S_LINK_UP;

		if (!link_up) {
			tx_drop_all(n);
		} else if (n->tx_done < n->tx_n || n->tx_tail_len) {
			r = tx_flush(n);
			if (r == TX_BLOCKED) {
				n->tx_blocked = true; /* the rest of the queue waits for EPOLLOUT */
				break;
			}
			if (r == TX_PEER_GONE) {
				net_link_down(n, "the peer closed the network descriptor (send failed)");
				continue;
			}
		}
		n->tx_blocked = false;
		n->tx_n = n->tx_done = 0;
		if (batches++ == NET_TX_BUDGET) {
			uint64_t one = 1;

			/* Let other devices run; the queue's notifier brings us back. */
			if (d->ioeventfd[NET_TXQ] >= 0 && write(d->ioeventfd[NET_TXQ], &one, sizeof(one)) < 0) {
			}
			break;
		}
		/* At most a batch of chains per round, dropped ones included. */
		for (unsigned int pops = 0; pops < NET_TX_BATCH; pops++) {
			struct net_tx_frame *f = &n->tx[n->tx_n];

			f->ch.c.iov = f->ch.iov;
			f->ch.c.iov_cap = NET_CHAIN_IOV;
			r = virtq_pop(q, &f->ch.c);
			if (r < 0) {
				virtio_fail(d, virtq_strerror(r));
				n->tx_n = n->tx_done = 0;
				goto out;
			}
			if (r == 0)
				break;
			if (!link_up || !tx_prepare(n, f)) {
				if (!link_up)
					n->st.tx_link_down++;
				virtq_push(q, f->ch.c.head, 0);
				continue;
			}
			n->tx_n++;
		}
		if (n->tx_n == 0 && !virtq_enable_notify(q))
			break;
	}
out:
	if (q->used_idx != used_before)
		virtio_signal_used(d, NET_TXQ);
}
