// SPDX-License-Identifier: MIT
/*
 * Polling virtio-vsock driver for the test kernels. See vsock_drv.h.
 */
#include "vsock_drv.h"

static inline void vs_mb(void) { __asm__ volatile("mfence" ::: "memory"); }

static void rx_post(struct vs *v, uint32_t i)
{
	struct virtq_buf b = { v->rxmem + (uint64_t)i * v->rxsize, v->rxsize };
	int head = virtq_add(&v->rx, &b, 0, 1);

	if (head >= 0)
		v->rx_of_head[head] = (uint16_t)i;
	v->rx_repost = true;
}

static uint32_t ev_buf[16];

int vs_open(struct vs *v, const struct boot_info *bi, struct virtio_dev *devs, uint8_t *rxmem, uint32_t nrx,
	    uint32_t rxsize)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < n && devs[i].device_id != VIRTIO_ID_VSOCK; i++)
		;
	if (i == n)
		return -1;
	v->d = &devs[i];
	if (virtio_dev_begin(v->d, 0))
		return -2;
	v->cid = virtio_config64(v->d, 0);
	if (virtq_setup(&v->rx, v->d, 0, VS_QSIZE) || virtq_setup(&v->tx, v->d, 1, VS_QSIZE) ||
	    virtq_setup(&v->ev, v->d, 2, 16))
		return -3;
	if (virtio_dev_ready(v->d))
		return -4;
	if (nrx > VS_MAX_RX)
		nrx = VS_MAX_RX;
	if (nrx > v->rx.size)
		nrx = v->rx.size;
	v->nrx = nrx;
	v->rxsize = rxsize;
	v->rxmem = rxmem;
	v->buf_alloc = 64 * 1024;
	v->max_pkt = 64 * 1024;
	v->next_port = 0x10000;
	for (uint32_t k = 0; k < nrx; k++)
		rx_post(v, k);
	for (uint32_t k = 0; k < 16 && k < v->ev.size; k++) {
		struct virtq_buf b = { &ev_buf[k], 4 };

		virtq_add(&v->ev, &b, 0, 1);
	}
	virtq_kick(&v->ev);
	virtq_kick(&v->rx);
	v->rx_repost = false;
	return 0;
}

void vs_listen(struct vs *v, uint32_t port)
{
	if (v->nlisten < VS_MAX_LISTEN)
		v->listen[v->nlisten++] = port;
}

static bool listening(struct vs *v, uint32_t port)
{
	for (int i = 0; i < v->nlisten; i++)
		if (v->listen[i] == port)
			return true;
	return false;
}

static struct vs_conn *find(struct vs *v, uint32_t lport, uint32_t pport)
{
	for (int i = 0; i < VS_MAX_CONNS; i++) {
		struct vs_conn *c = &v->conns[i];

		if (c->state != VS_FREE && c->lport == lport && c->pport == pport)
			return c;
	}
	return NULL;
}

static struct vs_conn *alloc_conn(struct vs *v, uint32_t lport, uint32_t pport)
{
	for (int i = 0; i < VS_MAX_CONNS; i++) {
		struct vs_conn *c = &v->conns[i];

		if (c->state == VS_FREE) {
			memset(c, 0, sizeof(*c));
			c->lport = lport;
			c->pport = pport;
			c->buf_alloc = v->buf_alloc;
			return c;
		}
	}
	return NULL;
}

void vs_kick_tx(struct vs *v)
{
	vs_mb();
	v->kicks++;
	virtio_write32(v->d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void tx_reap(struct vs *v)
{
	while (v->tx.used->idx != v->tx.last_used)
		virtq_get_used(&v->tx, NULL);
}

/* Waits for `need` free TX descriptors; false after ms. */
static bool tx_room(struct vs *v, unsigned int need, uint32_t ms)
{
	uint64_t dl = 0;

	for (;;) {
		tx_reap(v);
		if (v->tx.nr_free >= need)
			return true;
		if (!dl)
			dl = virtio_deadline(ms);
		else if (virtio_expired(dl))
			return false;
		cpu_relax();
	}
}

static int tx_add(struct vs *v, const struct vs_hdr *h, const void *p, uint32_t len)
{
	struct virtq_buf b[2];
	uint16_t slot;

	if (!tx_room(v, len ? 2 : 1, VIRTIO_WAIT_MS))
		return -1;
	slot = v->tx.free_head;
	v->txhdr[slot] = *h;
	b[0] = (struct virtq_buf){ &v->txhdr[slot], VS_HDR_SIZE };
	b[1] = (struct virtq_buf){ (void *)p, len };
	if (virtq_add(&v->tx, b, len ? 2 : 1, 0) < 0)
		return -1;
	return 0;
}

static void fill_hdr(struct vs *v, struct vs_conn *c, struct vs_hdr *h, uint16_t op)
{
	*h = (struct vs_hdr){
		.src_cid = v->cid,
		.dst_cid = VS_HOST_CID,
		.src_port = c->lport,
		.dst_port = c->pport,
		.type = VS_TYPE_STREAM,
		.op = op,
		.buf_alloc = c->buf_alloc,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_told = c->fwd_cnt;
}

int vs_send_ctl(struct vs *v, struct vs_conn *c, uint16_t op, uint32_t flags)
{
	struct vs_hdr h;

	fill_hdr(v, c, &h, op);
	h.flags = flags;
	if (op == VS_OP_SHUTDOWN)
		c->shut_sent |= flags;
	if (tx_add(v, &h, NULL, 0))
		return -1;
	vs_kick_tx(v);
	return 0;
}

int vs_send_raw(struct vs *v, const struct virtq_buf *bufs, unsigned int nr_out)
{
	if (!tx_room(v, nr_out, VIRTIO_WAIT_MS))
		return -1;
	return virtq_add(&v->tx, bufs, nr_out, 0);
}

int vs_tx_flush(struct vs *v, uint32_t ms)
{
	return tx_room(v, v->tx.size, ms) ? 0 : -1;
}

static void rst_ports(struct vs *v, uint32_t lport, uint32_t pport)
{
	struct vs_conn tmp = { .lport = lport, .pport = pport, .buf_alloc = v->buf_alloc };
	struct vs_hdr h;

	fill_hdr(v, &tmp, &h, VS_OP_RST);
	if (!tx_add(v, &h, NULL, 0))
		vs_kick_tx(v);
}

static void drop_queue(struct vs *v, struct vs_conn *c)
{
	while (c->qn) {
		rx_post(v, c->q[c->qh]);
		c->qh = (uint16_t)((c->qh + 1) % VS_MAX_RX);
		c->qn--;
	}
	c->qoff = 0;
}

static void handle(struct vs *v, uint32_t i, uint32_t len)
{
	struct vs_hdr *h = (struct vs_hdr *)(v->rxmem + (uint64_t)i * v->rxsize);
	struct vs_conn *c;

	if (len < VS_HDR_SIZE || len > v->rxsize || h->len != len - VS_HDR_SIZE || h->dst_cid != v->cid ||
	    h->src_cid != VS_HOST_CID || h->type != VS_TYPE_STREAM || (h->len && h->op != VS_OP_RW)) {
		v->bad_rx++;
		rx_post(v, i);
		return;
	}
	c = find(v, h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VS_OP_REQUEST && listening(v, h->dst_port) &&
		    (c = alloc_conn(v, h->dst_port, h->src_port))) {
			c->state = VS_ESTABLISHED;
			c->accepted = true;
			c->peer_buf_alloc = h->buf_alloc;
			c->peer_fwd_cnt = h->fwd_cnt;
			vs_send_ctl(v, c, VS_OP_RESPONSE, 0);
		} else {
			if (v->nstray < VS_STRAY)
				v->stray[v->nstray++] = *h;
			if (h->op == VS_OP_RST)
				v->stray_rsts++;
			if (h->op != VS_OP_RST)
				rst_ports(v, h->dst_port, h->src_port);
		}
		rx_post(v, i);
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vs_credit(c))
		c->credit_requested = false;
	switch (h->op) {
	case VS_OP_RESPONSE:
		if (c->state == VS_CONNECTING) {
			c->state = VS_ESTABLISHED;
			break;
		}
		/* A RESPONSE out of place ends it. */
		__attribute__((fallthrough));
	case VS_OP_REQUEST:
		if (c->state != VS_CLOSED)
			vs_send_ctl(v, c, VS_OP_RST, 0);
		__attribute__((fallthrough));
	case VS_OP_RST:
		c->rst = true;
		c->state = VS_CLOSED;
		drop_queue(v, c);
		break;
	case VS_OP_SHUTDOWN:
		c->peer_shut |= h->flags;
		break;
	case VS_OP_RW:
		if (c->state == VS_ESTABLISHED && !(c->peer_shut & VS_SHUT_SEND) && h->len && c->qn < VS_MAX_RX) {
			c->q[(c->qh + c->qn) % VS_MAX_RX] = (uint16_t)i;
			c->qn++;
			v->rx_len[i] = h->len;
			c->rx_bytes += h->len;
			c->rx_pkts++;
			return; /* held until consumed */
		}
		if (h->len)
			v->bad_rx++; /* data after the host's SHUTDOWN(SEND), or to a closed one */
		break;
	case VS_OP_CREDIT_REQUEST:
		if (c->state == VS_ESTABLISHED)
			vs_send_ctl(v, c, VS_OP_CREDIT_UPDATE, 0);
		break;
	default: /* CREDIT_UPDATE: the credit fields above */
		break;
	}
	rx_post(v, i);
}

void vs_poll(struct vs *v)
{
	uint32_t len;
	int head;

	tx_reap(v);
	while (v->ev.used->idx != v->ev.last_used) {
		head = virtq_get_used(&v->ev, &len);
		if (head < 0)
			continue;
		v->events++;
		/* TRANSPORT_RESET: every connection is gone. */
		for (int k = 0; k < VS_MAX_CONNS; k++)
			if (v->conns[k].state != VS_FREE && v->conns[k].state != VS_CLOSED) {
				v->conns[k].state = VS_CLOSED;
				v->conns[k].rst = true;
				drop_queue(v, &v->conns[k]);
			}
		struct virtq_buf b = { &ev_buf[head % 16], 4 };

		virtq_add(&v->ev, &b, 0, 1);
		virtq_kick(&v->ev);
	}
	while (v->rx.used->idx != v->rx.last_used) {
		head = virtq_get_used(&v->rx, &len);
		if (head < 0) {
			v->bad_rx++;
			continue;
		}
		handle(v, v->rx_of_head[head], len);
	}
	if (v->rx_repost) {
		v->rx_repost = false;
		virtq_kick(&v->rx);
	}
}

struct vs_conn *vs_accept(struct vs *v)
{
	for (int i = 0; i < VS_MAX_CONNS; i++)
		if (v->conns[i].state != VS_FREE && v->conns[i].accepted) {
			v->conns[i].accepted = false;
			return &v->conns[i];
		}
	return NULL;
}

struct vs_conn *vs_connect(struct vs *v, uint32_t port, uint32_t ms)
{
	struct vs_conn *c;
	uint64_t dl = virtio_deadline(ms);

	while (find(v, v->next_port, port))
		v->next_port++;
	c = alloc_conn(v, v->next_port++, port);
	if (!c)
		return NULL;
	c->state = VS_CONNECTING;
	if (vs_send_ctl(v, c, VS_OP_REQUEST, 0)) {
		c->state = VS_FREE;
		return NULL;
	}
	while (c->state == VS_CONNECTING) {
		vs_poll(v);
		if (virtio_expired(dl)) {
			vs_send_ctl(v, c, VS_OP_RST, 0);
			c->state = VS_FREE;
			return NULL;
		}
		cpu_relax();
	}
	return c;
}

uint32_t vs_recv_peek(struct vs *v, struct vs_conn *c, const uint8_t **p)
{
	uint32_t i;

	if (!c->qn)
		return 0;
	i = c->q[c->qh];
	*p = v->rxmem + (uint64_t)i * v->rxsize + VS_HDR_SIZE + c->qoff;
	return v->rx_len[i] - c->qoff;
}

void vs_consume(struct vs *v, struct vs_conn *c, uint32_t n)
{
	uint32_t i;

	if (!c->qn)
		return;
	i = c->q[c->qh];
	if (n > v->rx_len[i] - c->qoff)
		n = v->rx_len[i] - c->qoff;
	c->qoff += n;
	c->fwd_cnt += n;
	if (c->qoff == v->rx_len[i]) {
		c->qh = (uint16_t)((c->qh + 1) % VS_MAX_RX);
		c->qn--;
		c->qoff = 0;
		rx_post(v, i);
	}
	if (c->state == VS_ESTABLISHED && c->fwd_cnt - c->fwd_told >= c->buf_alloc / 4)
		vs_send_ctl(v, c, VS_OP_CREDIT_UPDATE, 0);
}

bool vs_rx_done(const struct vs_conn *c)
{
	return !c->qn && (c->rst || c->state == VS_CLOSED || (c->peer_shut & VS_SHUT_SEND));
}

uint32_t vs_credit(const struct vs_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

int vs_send_pkt(struct vs *v, struct vs_conn *c, const void *p, uint32_t len)
{
	struct vs_hdr h;

	if (v->tx.nr_free < 2)
		tx_reap(v);
	if (v->tx.nr_free < 2)
		return -1;
	fill_hdr(v, c, &h, VS_OP_RW);
	h.len = len;
	if (tx_add(v, &h, p, len))
		return -1;
	c->tx_cnt += len;
	return 0;
}

uint32_t vs_send(struct vs *v, struct vs_conn *c, const void *p, uint32_t len, uint32_t ms)
{
	const uint8_t *b = p;
	uint32_t done = 0;
	uint64_t dl = virtio_deadline(ms), asked = 0;

	while (done < len) {
		uint32_t cr, n;

		vs_poll(v);
		if (c->state != VS_ESTABLISHED || (c->peer_shut & VS_SHUT_RCV) || (c->shut_sent & VS_SHUT_SEND))
			break;
		cr = vs_credit(c);
		if (!cr) {
			if (!c->credit_requested && !asked) {
				asked = virtio_deadline(100);
			} else if (asked && virtio_expired(asked) && !c->credit_requested) {
				/* 100 ms without credit: ask (§5.10.6.3). */
				c->credit_requested = true;
				vs_send_ctl(v, c, VS_OP_CREDIT_REQUEST, 0);
			}
			if (virtio_expired(dl))
				break;
			cpu_relax();
			continue;
		}
		asked = 0;
		n = len - done;
		if (n > cr)
			n = cr;
		if (n > v->max_pkt)
			n = v->max_pkt;
		if (vs_send_pkt(v, c, b + done, n)) {
			if (!tx_room(v, 2, VIRTIO_WAIT_MS))
				break;
			continue;
		}
		vs_kick_tx(v);
		done += n;
		dl = virtio_deadline(ms);
	}
	vs_tx_flush(v, VIRTIO_WAIT_MS);
	return done;
}

void vs_free(struct vs *v, struct vs_conn *c)
{
	drop_queue(v, c);
	c->state = VS_FREE;
	if (v->rx_repost) {
		v->rx_repost = false;
		virtq_kick(&v->rx);
	}
}

void vs_close(struct vs *v, struct vs_conn *c, uint32_t ms)
{
	uint64_t dl = virtio_deadline(ms);

	if (c->state == VS_ESTABLISHED) {
		vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_RCV | VS_SHUT_SEND);
		while (!c->rst && !virtio_expired(dl)) {
			vs_poll(v);
			/* Data still arriving after our SHUTDOWN(RCV) is dropped. */
			drop_queue(v, c);
			cpu_relax();
		}
		if (!c->rst)
			vs_send_ctl(v, c, VS_OP_RST, 0);
	}
	vs_free(v, c);
}

void vs_pat_fill(uint8_t *p, uint32_t len, uint64_t seed, uint64_t off)
{
	while (len && (off & 7)) {
		uint64_t w = vs_pat_word(seed, off >> 3);

		*p++ = (uint8_t)(w >> (8 * (off & 7)));
		off++;
		len--;
	}
	uint64_t w = vs_pat_word(seed, off >> 3);
	while (len >= 8) {
		*(uint64_t *)p = w;
		w += 0x9e3779b97f4a7c15ULL;
		p += 8;
		off += 8;
		len -= 8;
	}
	while (len) {
		*p++ = (uint8_t)(vs_pat_word(seed, off >> 3) >> (8 * (off & 7)));
		off++;
		len--;
	}
}

int64_t vs_pat_check(const uint8_t *p, uint32_t len, uint64_t seed, uint64_t off)
{
	const uint8_t *start = p;

	while (len && (off & 7)) {
		if (*p != (uint8_t)(vs_pat_word(seed, off >> 3) >> (8 * (off & 7))))
			return p - start;
		p++;
		off++;
		len--;
	}
	uint64_t w = vs_pat_word(seed, off >> 3);
	while (len >= 8) {
		if (*(const uint64_t *)p != w)
			goto bytes;
		w += 0x9e3779b97f4a7c15ULL;
		p += 8;
		off += 8;
		len -= 8;
	}
bytes:
	while (len) {
		if (*p != (uint8_t)(vs_pat_word(seed, off >> 3) >> (8 * (off & 7))))
			return p - start;
		p++;
		off++;
		len--;
	}
	return -1;
}

uint64_t vs_recv_check(struct vs *v, struct vs_conn *c, uint64_t seed, uint32_t ms, int64_t *bad, bool *timed_out)
{
	uint64_t got = 0, dl = virtio_deadline(ms);

	*bad = -1;
	*timed_out = false;
	for (;;) {
		const uint8_t *p;
		uint32_t n;

		vs_poll(v);
		while ((n = vs_recv_peek(v, c, &p))) {
			int64_t k = vs_pat_check(p, n, seed, got);

			if (k >= 0 && *bad < 0)
				*bad = (int64_t)got + k;
			vs_consume(v, c, n);
			got += n;
			dl = virtio_deadline(ms);
		}
		if (vs_rx_done(c))
			return got;
		if (virtio_expired(dl)) {
			*timed_out = true;
			return got;
		}
		cpu_relax();
	}
}

uint64_t vs_send_pattern(struct vs *v, struct vs_conn *c, uint64_t n, uint64_t seed, uint8_t *buf, uint32_t bufsz,
			 uint32_t ms)
{
	uint64_t done = 0;

	while (done < n) {
		uint32_t k = n - done > bufsz ? bufsz : (uint32_t)(n - done), s;

		vs_pat_fill(buf, k, seed, done);
		s = vs_send(v, c, buf, k, ms);
		done += s;
		if (s < k)
			break;
	}
	return done;
}

bool vs_wait(struct vs *v, struct vs_conn *c, bool (*cond)(const struct vs_conn *), uint32_t ms)
{
	uint64_t dl = virtio_deadline(ms);

	for (;;) {
		vs_poll(v);
		if (cond(c))
			return true;
		if (virtio_expired(dl))
			return false;
		cpu_relax();
	}
}
