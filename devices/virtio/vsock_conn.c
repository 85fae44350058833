// SPDX-License-Identifier: MIT
/*
 * virtio-vsock: the guest's packets and what they do to a connection
 * (virtio 1.2 §5.10.6): header checks, the connection state machine,
 * guest-to-host data with the credit we give, and the half-close rules.
 * The protocol primer is at the top of vsock.c; the files: vsock.c (queues,
 * device), vsock_conn.c (this), vsock_mux.c (Unix sockets, table, timers).
 *
 *   HANDSHAKE --CONNECT line--> LOCAL_INIT --RESPONSE--> ESTABLISHED
 *   (guest REQUEST, connect to PATH_P ok) ------------> ESTABLISHED
 *   ESTABLISHED --both sides done sending--> CLOSING --guest RST/timeout--> freed
 *   any --RST, bad packet, credit overrun, timeout--> freed (RST to the guest
 *   unless it sent the RST)
 */
#include "devices/virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/vsock_mux.h"

const char *vsock_hdr_strerror(enum vsock_hdr_err err)
{
	switch (err) {
	case VSOCK_HDR_SRC_CID:
		return "src_cid is not the guest's CID";
	case VSOCK_HDR_DST_CID:
		return "dst_cid is not the host (2)";
	case VSOCK_HDR_TYPE:
		return "type is not STREAM";
	case VSOCK_HDR_OP:
		return "unknown op";
	case VSOCK_HDR_LEN:
		return "len beyond the descriptors or over 64 KiB";
	case VSOCK_HDR_LEN_CONTROL:
		return "payload on a control packet";
	case VSOCK_HDR_FLAGS:
		return "unknown SHUTDOWN flags";
	default:
		return "no error";
	}
}

enum vsock_hdr_err vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint32_t payload_room)
{
	if (h->src_cid != guest_cid)
		return VSOCK_HDR_SRC_CID;
	if (h->dst_cid != VSOCK_HOST_CID)
		return VSOCK_HDR_DST_CID;
	if (h->type != VSOCK_TYPE_STREAM)
		return VSOCK_HDR_TYPE;
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_HDR_OP;
	if (h->len > payload_room || h->len > VSOCK_MAX_PKT_PAYLOAD)
		return VSOCK_HDR_LEN;
	if (h->len && h->op != VSOCK_OP_RW)
		return VSOCK_HDR_LEN_CONTROL;
	if (h->op == VSOCK_OP_SHUTDOWN && (h->flags & ~(uint32_t)(VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)))
		return VSOCK_HDR_FLAGS;
	return VSOCK_HDR_OK;
}

size_t vsock_iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

/* dst[] = the `len` bytes of src[] starting `off` bytes in; returns the entries used. */
unsigned vsock_iov_slice(struct iovec *dst, const struct iovec *src, unsigned n, size_t off, size_t len)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t chunk;

		if (off >= src[i].iov_len) {
			off -= src[i].iov_len;
			continue;
		}
		chunk = src[i].iov_len - off;
		if (chunk > len)
			chunk = len;
		dst[k++] = (struct iovec){ (uint8_t *)src[i].iov_base + off, chunk };
		len -= chunk;
		off = 0;
	}
	return k;
}

void vsock_warn(struct vsock *v, const char *what)
{
	if (v->warned)
		return;
	v->warned = true;
	fprintf(stderr, "flashpan: virtio-vsock: %s (further guest errors not logged)\n", what);
}

void vsock_queue_rst(struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	if (v->rst_count == VSOCK_RST_RING) {
		vsock_warn(v, "too many resets owed to the guest; dropping one");
		return;
	}
	v->rst_ring[(v->rst_head + v->rst_count++) % VSOCK_RST_RING] =
		(struct vsock_rst){ .host_port = host_port, .guest_port = guest_port };
}

void vsock_conn_owe(struct vsock_conn *c, uint32_t pkt)
{
	c->pending |= pkt;
	if (vlist_empty(&c->ctl_node))
		vlist_add_tail(&c->v->ctl_list, &c->ctl_node);
}

/* Put c on the rx list when it has data for the guest and the guest has room for it. */
void vsock_conn_sched_rx(struct vsock_conn *c)
{
	bool want = c->state == VCONN_ESTABLISHED && c->readable && !c->host_eof &&
		    !(c->peer_shut & VSOCK_SHUTDOWN_RCV);

	if (want && !vsock_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->rx_cnt)) {
		want = false;
		if (!c->credit_requested) {
			c->credit_requested = true;
			vsock_conn_owe(c, VPKT_CREDIT_REQUEST);
		}
	}
	if (!want)
		vlist_del(&c->rx_node);
	else if (vlist_empty(&c->rx_node))
		vlist_add_tail(&c->v->rx_list, &c->rx_node);
}

static void conn_maybe_credit_update(struct vsock_conn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_told >= VSOCK_BUF_ALLOC / 4)
		vsock_conn_owe(c, VPKT_CREDIT_UPDATE);
}

/* Append to the connection's buffer; the caller checked the credit (<= VSOCK_BUF_ALLOC in all). */
static int conn_buffer(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t skip, uint32_t len)
{
	if (c->txoff + c->txlen + len > c->txcap) {
		if (c->txlen + len <= c->txcap) {
			memmove(c->txbuf, c->txbuf + c->txoff, c->txlen); /* txcap > 0: txbuf is set */
		} else {
			uint32_t cap = c->txcap ? c->txcap : 16384;
			uint8_t *p;

			while (cap < c->txlen + len)
				cap *= 2;
			if (cap > VSOCK_BUF_ALLOC)
				cap = VSOCK_BUF_ALLOC;
			p = malloc(cap);
			if (!p)
				return -ENOMEM;
			if (c->txlen)
				memcpy(p, c->txbuf + c->txoff, c->txlen);
			free(c->txbuf);
			c->txbuf = p;
			c->txcap = cap;
		}
		c->txoff = 0;
	}
	vsock_iov_copy(iov, n, skip, c->txbuf + c->txoff + c->txlen, len, false);
	c->txlen += len;
	return 0;
}

static bool write_failed_for_good(int err)
{
	return err != EAGAIN && err != EWOULDBLOCK && err != EINTR;
}

/* Guest RW payload for the host socket. Returns false if the connection was killed. */
static bool conn_tx_data(struct vsock_conn *c, const struct iovec *iov, unsigned n, uint32_t len)
{
	size_t written = 0;

	if (!len)
		return true;
	if (c->peer_shut & VSOCK_SHUTDOWN_SEND) {
		vsock_warn(c->v, "guest sent data after SHUTDOWN(SEND)");
		vsock_mux_kill(c, true);
		return false;
	}
	if (c->txlen + len > VSOCK_BUF_ALLOC) {
		vsock_warn(c->v, "guest sent beyond its credit");
		vsock_mux_kill(c, true);
		return false;
	}
	if (c->host_gone || c->host_shut_wr) {
		c->fwd_cnt += len; /* nobody to deliver to: consume it */
		return true;
	}
	if (!c->txlen) {
		struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && write_failed_for_good(errno)) {
			c->host_gone = true;
			return true;
		}
		written = w > 0 ? (size_t)w : 0;
		c->fwd_cnt += (uint32_t)written;
	}
	if (written < len && conn_buffer(c, iov, n, written, len - (uint32_t)written)) {
		vsock_mux_kill(c, true);
		return false;
	}
	conn_maybe_credit_update(c);
	return true;
}

void vsock_conn_flush(struct vsock_conn *c)
{
	while (c->txlen && !c->host_gone) {
		ssize_t w = send(c->fd, c->txbuf + c->txoff, c->txlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (write_failed_for_good(errno))
				c->host_gone = true;
			break;
		}
		c->txoff += (uint32_t)w;
		c->txlen -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	if (!c->txlen)
		c->txoff = 0;
	conn_maybe_credit_update(c);
}

/*
 * The half-close rules for an established connection, after anything
 * changed. Returns false if the connection was freed.
 */
bool vsock_conn_update(struct vsock_conn *c)
{
	const uint32_t both = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
	uint32_t shut = 0;

	if (c->state != VCONN_ESTABLISHED)
		return true;
	if (c->host_gone) {
		c->txlen = 0; /* undeliverable; the guest gets SHUTDOWN(RCV) below */
		c->txoff = 0;
	}
	/* The guest finished sending: pass its EOF on once its data is out. */
	if ((c->peer_shut & VSOCK_SHUTDOWN_SEND) && !c->txlen && !c->host_shut_wr && !c->host_gone) {
		shutdown(c->fd, SHUT_WR);
		c->host_shut_wr = true;
	}
	/* The guest closed both ways: it wants our RST once its data is delivered. */
	if (c->peer_shut == both && !c->txlen) {
		vsock_mux_kill(c, true);
		return false;
	}
	if (c->host_eof)
		shut |= VSOCK_SHUTDOWN_SEND;
	if (c->host_gone && (c->host_eof || !c->readable))
		shut |= VSOCK_SHUTDOWN_RCV; /* (host data still unread goes out first) */
	/* Neither side will send again: close it (the guest answers with RST). */
	if (c->host_eof && c->host_shut_wr)
		shut = both;
	if (shut != c->shut_sent) {
		c->shut_sent = shut;
		vsock_conn_owe(c, VPKT_SHUTDOWN);
		if (shut == both) {
			c->state = VCONN_CLOSING;
			vsock_mux_set_deadline(c, c->v->close_ms);
		}
	}
	vsock_conn_sched_rx(c);
	return true;
}

/* A packet from the guest that passed vsock_hdr_check(). */
void vsock_handle_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *pl, unsigned npl)
{
	struct vsock_conn *c = vsock_mux_lookup(v, h->dst_port, h->src_port);

	if (h->op == VSOCK_OP_REQUEST) {
		if (c) {
			vsock_mux_kill(c, true); /* a second REQUEST on a live connection */
			return;
		}
		c = vsock_mux_connect_host(v, h->dst_port, h->src_port);
		if (!c) {
			vsock_queue_rst(v, h->dst_port, h->src_port);
			return;
		}
		c->peer_buf_alloc = h->buf_alloc;
		c->peer_fwd_cnt = h->fwd_cnt;
		vsock_conn_owe(c, VPKT_RESPONSE);
		return;
	}
	if (!c) {
		if (h->op != VSOCK_OP_RST)
			vsock_queue_rst(v, h->dst_port, h->src_port);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->rx_cnt))
		c->credit_requested = false;

	switch (c->state) {
	case VCONN_LOCAL_INIT:
		if (h->op == VSOCK_OP_RESPONSE && !vsock_mux_send_ok(c)) {
			c->state = VCONN_ESTABLISHED;
			vsock_mux_set_deadline(c, 0);
			c->readable = true; /* the client may have written after its CONNECT line */
			vsock_conn_update(c);
		} else {
			vsock_mux_kill(c, h->op != VSOCK_OP_RST);
		}
		return;
	case VCONN_CLOSING:
		/* Both sides said SHUTDOWN both ways: each waits for the other's RST; ours ends it. */
		if (h->op == VSOCK_OP_SHUTDOWN)
			c->peer_shut |= h->flags;
		if (h->op == VSOCK_OP_RST || c->peer_shut == (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND))
			vsock_mux_kill(c, h->op != VSOCK_OP_RST);
		return;
	case VCONN_ESTABLISHED:
		break;
	default:
		return;
	}
	switch (h->op) {
	case VSOCK_OP_RST:
		vsock_mux_kill(c, false);
		return;
	case VSOCK_OP_RW:
		if (!conn_tx_data(c, pl, npl, h->len))
			return;
		break;
	case VSOCK_OP_SHUTDOWN:
		if ((h->flags & VSOCK_SHUTDOWN_RCV) && !(c->peer_shut & VSOCK_SHUTDOWN_RCV))
			shutdown(c->fd, SHUT_RD); /* the host's further writes fail with EPIPE */
		c->peer_shut |= h->flags;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		vsock_conn_owe(c, VPKT_CREDIT_UPDATE);
		break;
	default: /* RESPONSE on an established connection */
		vsock_mux_kill(c, true);
		return;
	}
	vsock_conn_update(c);
}
