// SPDX-License-Identifier: MIT
/*
 * virtio-vsock device (virtio 1.2 §5.10): the queues and the device. Guest
 * packets and connection state are in vsock_conn.c, the Unix-socket side in
 * vsock_mux.c.
 *
 * A primer on the protocol, as this device uses it.
 *
 * The guest (CID from the config space, §5.10.4) and the host (CID 2) talk in
 * packets: a 44-byte header (struct vsock_hdr) and, for OP_RW only, payload.
 * The driver puts packets for us on the TX queue and empty buffers on the RX
 * queue; we fill RX buffers with packets for the guest. A connection is named
 * by its two ports: (host_port, guest_port).
 *
 *   connect  REQUEST ->, <- RESPONSE (accepted) or <- RST (nobody listens)
 *   data     RW both ways, at most the receiver's credit (below)
 *   close    SHUTDOWN with RCV and/or SEND (§5.10.6.4: "I will not receive /
 *            send any more"); a side that got SHUTDOWN both ways answers RST
 *            once it has nothing left to deliver, and RST ends the connection
 *            at once. Never answer an RST with an RST.
 *   credit   every header carries the sender's buf_alloc (its receive buffer)
 *            and fwd_cnt (bytes it has consumed from that buffer). A sender may
 *            have buf_alloc - (tx_cnt - fwd_cnt) bytes in flight (u32 counters,
 *            wrapping). CREDIT_REQUEST asks for a CREDIT_UPDATE, which is a
 *            header with nothing but fresh buf_alloc/fwd_cnt.
 *
 * Host-initiated connections: a Unix client on `uds` writes `CONNECT <port>\n`
 * (vsock_mux.c reads it); we allocate a host port (2^30 and up), send REQUEST
 * and wait (bounded) for RESPONSE, then write `OK <hostport>\n` to the client
 * before any payload. Guest-initiated: REQUEST to port P connects to `uds_P`.
 *
 * Flow control, both directions, without unbounded buffers:
 * - Host to guest: we read a host socket only into a guest RX buffer, never
 *   into memory of ours, and only as much as the guest's credit allows. With
 *   no credit we send CREDIT_REQUEST once and wait for its update.
 * - Guest to host: we advertise buf_alloc = VSOCK_BUF_ALLOC and count fwd_cnt
 *   as bytes written to the host socket. A packet the socket cannot take yet
 *   waits in the connection's buffer, which therefore never holds more than
 *   buf_alloc bytes: that is exactly the credit the guest was given. A guest
 *   that sends beyond its credit gets RST for that connection. Fresh credit
 *   goes out (CREDIT_UPDATE) once a quarter of the buffer has been forwarded
 *   since the guest last heard, so a sender waiting for credit always gets it.
 *   Per-connection credit is what lets one slow host reader stall only its own
 *   connection, never the shared TX queue.
 * - Control packets (RST, RESPONSE, SHUTDOWN, credit) go to the guest before
 *   data. RSTs for connections already freed wait in a bounded ring.
 *
 * Device reset by the driver drops every connection (host sockets closed).
 * The event queue's TRANSPORT_RESET (§5.10.6.6) is for when the transport is
 * interrupted under a running driver (migration, restore from snapshot), not
 * for a reset the driver did itself (Linux's driver already forgets all its
 * sockets then): vsock_transport_reset() sends it, for snapshot/restore.
 */
#include "devices/virtio/vsock.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/vsock_mux.h"
#include "vmm/kvm.h"

static void hdr_swap(struct vsock_hdr *h)
{
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
}

/* Copy between a flat buffer and iov[] starting `off` bytes in; returns bytes copied. */
static void vsock_tx_packet(struct vsock *v, const struct virtq_chain *ch)
{
	struct iovec pl[VSOCK_MAX_IOV];
	struct vsock_hdr h;
	enum vsock_hdr_err err;
	unsigned npl;

	if (ch->out_len < VSOCK_HDR_SIZE) {
		vsock_warn(v, "TX packet shorter than a header; dropped");
		return;
	}
	vsock_iov_copy(ch->iov, ch->nr_out, 0, &h, sizeof(h), false); /* one read of guest memory */
	hdr_swap(&h);
	err = vsock_hdr_check(&h, v->guest_cid, ch->out_len - VSOCK_HDR_SIZE);
	if (err) {
		struct vsock_conn *c = vsock_mux_lookup(v, h.dst_port, h.src_port);

		vsock_warn(v, vsock_hdr_strerror(err));
		if (c)
			vsock_mux_kill(c, true);
		else if (h.op != VSOCK_OP_RST)
			vsock_queue_rst(v, h.dst_port, h.src_port);
		return;
	}
	npl = vsock_iov_slice(pl, ch->iov, ch->nr_out, VSOCK_HDR_SIZE, h.len);
	vsock_handle_packet(v, &h, pl, npl);
}

static void vsock_tx_kick(struct vsock *v)
{
	struct virtq *q = &v->dev.vq[VSOCK_TXQ];
	struct iovec iov[VSOCK_MAX_IOV];
	struct virtq_chain ch = { .iov = iov, .iov_cap = VSOCK_MAX_IOV };
	bool pushed = false;

	for (;;) {
		int r = virtq_pop(q, &ch);

		if (r < 0) {
			virtio_fail(&v->dev, virtq_strerror(r));
			break;
		}
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		vsock_tx_packet(v, &ch);
		virtq_push(q, ch.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(&v->dev, VSOCK_TXQ);
}

static void hdr_for(struct vsock *v, struct vsock_conn *c, struct vsock_hdr *h, uint16_t op)
{
	*h = (struct vsock_hdr){
		.src_cid = htole64(VSOCK_HOST_CID),
		.dst_cid = htole64(v->guest_cid),
		.type = htole16(VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.buf_alloc = htole32(VSOCK_BUF_ALLOC),
	};
	if (c) {
		h->src_port = htole32(c->host_port);
		h->dst_port = htole32(c->guest_port);
		h->fwd_cnt = htole32(c->fwd_cnt);
		c->fwd_cnt_told = c->fwd_cnt;
	}
}

/* The connection's most urgent control packet. */
static void ctl_packet(struct vsock *v, struct vsock_conn *c, struct vsock_hdr *h)
{
	static const struct { uint32_t bit; uint16_t op; } order[] = {
		{ VPKT_RESPONSE, VSOCK_OP_RESPONSE },
		{ VPKT_REQUEST, VSOCK_OP_REQUEST },
		{ VPKT_SHUTDOWN, VSOCK_OP_SHUTDOWN },
		{ VPKT_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE },
		{ VPKT_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST },
	};

	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->pending & order[i].bit))
			continue;
		c->pending &= ~order[i].bit;
		hdr_for(v, c, h, order[i].op);
		if (order[i].op == VSOCK_OP_SHUTDOWN)
			h->flags = htole32(c->shut_sent);
		break;
	}
	if (!c->pending)
		vlist_del(&c->ctl_node);
}

/* Take an rx chain (or keep the one held). false: none available. */
static bool rx_chain(struct vsock *v)
{
	struct virtq *q = &v->dev.vq[VSOCK_RXQ];

	while (!v->rx_held) {
		int r;

		v->rx_chain.iov = v->rx_iov;
		v->rx_chain.iov_cap = VSOCK_MAX_IOV;
		r = virtq_pop(q, &v->rx_chain);
		if (r < 0) {
			virtio_fail(&v->dev, virtq_strerror(r));
			return false;
		}
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			return false;
		}
		if (v->rx_chain.nr_out || v->rx_chain.in_len < VSOCK_HDR_SIZE) {
			vsock_warn(v, "RX buffer not writable or shorter than a header; returned unused");
			virtq_push(q, v->rx_chain.head, 0);
			continue;
		}
		v->rx_held = true;
	}
	return true;
}

/* Read host data for c into the held rx chain. Returns payload bytes, 0 if none (c may be gone). */
static uint32_t rx_data(struct vsock *v, struct vsock_conn *c)
{
	struct iovec iov[VSOCK_MAX_IOV];
	uint32_t max = vsock_credit(c->peer_buf_alloc, c->peer_fwd_cnt, c->rx_cnt);
	uint32_t room = v->rx_chain.in_len - VSOCK_HDR_SIZE;
	unsigned n;
	ssize_t r;

	if (room < max)
		max = room;
	if (max > VSOCK_MAX_PKT_PAYLOAD)
		max = VSOCK_MAX_PKT_PAYLOAD;
	if (!max) {
		vsock_conn_sched_rx(c); /* out of credit: off the list, CREDIT_REQUEST owed */
		if (!room) {            /* a buffer too small for data: give it back */
			virtq_push(&v->dev.vq[VSOCK_RXQ], v->rx_chain.head, 0);
			v->rx_held = false;
		}
		return 0;
	}
	n = vsock_iov_slice(iov, v->rx_chain.iov, v->rx_chain.nr_in, VSOCK_HDR_SIZE, max);
	r = readv(c->fd, iov, (int)n);
	if (r > 0) {
		/* Round robin between connections with data. */
		vlist_del(&c->rx_node);
		vlist_add_tail(&v->rx_list, &c->rx_node);
		return (uint32_t)r;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false; /* drained: the next edge from epoll says when there is more */
	} else {
		c->host_eof = true; /* 0: the host shut its side; an error: it is gone */
		c->host_gone |= r < 0;
	}
	vsock_conn_update(c);
	return 0;
}

void vsock_rx_kick(struct vsock *v)
{
	struct virtq *q = &v->dev.vq[VSOCK_RXQ];
	bool pushed = false;

	if (!virtio_running(&v->dev) || !q->ready)
		return;
	while (v->rst_count || !vlist_empty(&v->ctl_list) || !vlist_empty(&v->rx_list)) {
		struct vsock_hdr h;
		uint32_t len = 0;

		if (!rx_chain(v))
			break;
		if (v->rst_count) {
			struct vsock_rst *r = &v->rst_ring[v->rst_head];

			hdr_for(v, NULL, &h, VSOCK_OP_RST);
			h.src_port = htole32(r->host_port);
			h.dst_port = htole32(r->guest_port);
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
			v->rst_count--;
		} else if (!vlist_empty(&v->ctl_list)) {
			ctl_packet(v, vlist_entry(v->ctl_list.next, struct vsock_conn, ctl_node), &h);
		} else {
			struct vsock_conn *c = vlist_entry(v->rx_list.next, struct vsock_conn, rx_node);

			len = rx_data(v, c);
			if (!len)
				continue;
			hdr_for(v, c, &h, VSOCK_OP_RW);
			h.len = htole32(len);
			c->rx_cnt += len;
			vsock_conn_sched_rx(c); /* credit may be used up now */
		}
		vsock_iov_copy(v->rx_chain.iov, v->rx_chain.nr_in, 0, &h, sizeof(h), true);
		virtq_push(q, v->rx_chain.head, VSOCK_HDR_SIZE + len);
		v->rx_held = false;
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(&v->dev, VSOCK_RXQ);
}

static void vsock_event_kick(struct vsock *v)
{
	struct virtq *q = &v->dev.vq[VSOCK_EVQ];
	struct iovec iov[4];
	struct virtq_chain ch = { .iov = iov, .iov_cap = 4 };
	bool pushed = false;

	while (v->event_pending && virtio_running(&v->dev) && q->ready) {
		uint32_t id = htole32(VSOCK_EVENT_TRANSPORT_RESET);
		int r = virtq_pop(q, &ch);

		if (r < 0) {
			virtio_fail(&v->dev, virtq_strerror(r));
			break;
		}
		if (r == 0)
			break;
		if (ch.nr_out || ch.in_len < sizeof(id)) {
			virtq_push(q, ch.head, 0);
		} else {
			vsock_iov_copy(ch.iov, ch.nr_in, 0, &id, sizeof(id), true);
			virtq_push(q, ch.head, sizeof(id));
			v->event_pending = false;
		}
		pushed = true;
	}
	if (pushed)
		virtio_signal_used(&v->dev, VSOCK_EVQ);
}

void vsock_transport_reset(struct vsock *v)
{
	while (!vlist_empty(&v->conns))
		vsock_mux_kill(vlist_entry(v->conns.next, struct vsock_conn, all_node), false);
	v->rst_count = 0;
	v->event_pending = true;
	vsock_event_kick(v);
}

static void vsock_notify(struct virtio_dev *d, uint16_t q)
{
	struct vsock *v = d->priv;

	if (q == VSOCK_TXQ)
		vsock_tx_kick(v);
	else if (q == VSOCK_EVQ)
		vsock_event_kick(v);
	vsock_rx_kick(v); /* new RX buffers, or replies to what TX brought */
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vsock *v = d->priv;
	uint64_t cid = htole64(v->guest_cid); /* §5.10.4: le64 guest_cid */

	memcpy(data, (uint8_t *)&cid + off, len); /* the transport checked off + len <= 8 */
}

static int vsock_activate(struct virtio_dev *d)
{
	return 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *v = d->priv;

	vsock_mux_reset(v);
	v->rst_count = 0;
	v->rx_held = false; /* its buffers belong to the old rings */
	v->event_pending = false;
}

const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.features = 0, /* stream only (§5.10.3: no feature bit means stream) */
	.nr_queues = VSOCK_NR_QUEUES,
	.queue_max = 256,
	.config_size = 8,
	.config_read = vsock_config_read,
	.notify = vsock_notify,
	.activate = vsock_activate,
	.reset = vsock_reset,
};

int vsock_init(struct vsock *v, struct vm *vm, uint64_t cid, const char *uds, bool *config_err)
{
	v->dev.ops = &vsock_ops;
	v->dev.priv = v;
	v->vm = vm;
	v->guest_cid = cid;
	v->listen_fd = v->timer_fd = v->reap_fd = v->spare_fd = -1;
	v->handshake_ms = 5000;
	v->response_ms = 10000;
	v->close_ms = 5000;
	v->next_host_port = 1u << 30;
	for (unsigned i = 0; i < VSOCK_HASH_BUCKETS; i++)
		vlist_init(&v->buckets[i]);
	vlist_init(&v->conns);
	vlist_init(&v->zombies);
	vlist_init(&v->ctl_list);
	vlist_init(&v->rx_list);
	vlist_init(&v->timed);
	/* §5.10.4: CIDs 0-2 are reserved, and 0xffffffff is VMADDR_CID_ANY. */
	if (cid < 3 || cid >= 0xffffffffULL) {
		fprintf(stderr, "flashpan: --vsock: cid must be from 3 to 4294967294\n");
		*config_err = true;
		return -EINVAL;
	}
	/* Room for "_<port>" in a sockaddr_un (108 bytes with its NUL). */
	if (strlen(uds) > VSOCK_UDS_MAX) {
		fprintf(stderr, "flashpan: --vsock: uds path longer than %d bytes\n", VSOCK_UDS_MAX);
		*config_err = true;
		return -ENAMETOOLONG;
	}
	strcpy(v->uds, uds);
	return vsock_mux_listen(v, config_err);
}

void vsock_fini(struct vsock *v)
{
	vsock_mux_close(v);
}

struct vsock *vsock_create(struct vm *vm, uint64_t cid, const char *uds, bool *config_err)
{
	struct vsock *v = calloc(1, sizeof(*v));

	*config_err = false;
	if (!v) {
		fprintf(stderr, "flashpan: virtio-vsock: out of memory\n");
		return NULL;
	}
	if (vsock_init(v, vm, cid, uds, config_err)) {
		vsock_fini(v);
		free(v);
		return NULL;
	}
	if (virtio_mmio_add(vm, &v->dev)) {
		vsock_destroy(v);
		return NULL;
	}
	return v;
}

void vsock_destroy(struct vsock *v)
{
	if (!v)
		return;
	virtio_mmio_remove(&v->dev);
	vsock_fini(v);
	free(v);
}

int vsock_parse_option(const char *arg, uint64_t *cid, char *uds, size_t uds_len, const char **why)
{
	bool have_cid = false;

	*uds = 0;
	while (*arg) {
		const char *end = strchr(arg, ',');
		size_t n = end ? (size_t)(end - arg) : strlen(arg);

		if (n > 4 && !strncmp(arg, "cid=", 4)) {
			char *e;

			errno = 0;
			*cid = strtoull(arg + 4, &e, 10);
			if (errno || e != arg + n || arg[4] == '-' || *cid < 3 || *cid >= 0xffffffffULL) {
				*why = "cid must be a number from 3 to 4294967294";
				return -EINVAL;
			}
			have_cid = true;
		} else if (n > 4 && !strncmp(arg, "uds=", 4)) {
			if (n - 4 >= uds_len) {
				*why = "uds path too long";
				return -EINVAL;
			}
			memcpy(uds, arg + 4, n - 4);
			uds[n - 4] = 0;
		} else {
			*why = "expected cid=C,uds=PATH";
			return -EINVAL;
		}
		arg += n + (end ? 1 : 0);
	}
	if (!have_cid || !*uds) {
		*why = "both cid=C and uds=PATH are needed";
		return -EINVAL;
	}
	return 0;
}
