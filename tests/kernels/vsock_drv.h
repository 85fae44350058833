/* SPDX-License-Identifier: MIT */
/*
 * A small polling virtio-vsock driver (virtio 1.2 §5.10) for the test kernels
 * and vsockbench: queues rx=0, tx=1, event=2; stream sockets only.
 *
 * Received RW payload stays in its RX buffer until the kernel consumed it
 * (vs_recv_peek / vs_consume): no copy at CPL0. A buffer goes back on the RX
 * queue once consumed, and fwd_cnt counts consumed bytes; a CREDIT_UPDATE
 * goes out when a quarter of buf_alloc was consumed since the host last
 * heard. Sends honor the host's credit (CREDIT_REQUEST when stuck).
 *
 * Nothing here does port I/O or prints, so vsockbench runs it at CPL3.
 * Every wait is bounded by TSC deadlines (virtio.h's rough rate).
 */
#ifndef TK_VSOCK_DRV_H
#define TK_VSOCK_DRV_H

#include "virtio.h"

#define VS_HDR_SIZE 44
#define VS_HOST_CID 2
#define VS_TYPE_STREAM 1
enum {
	VS_OP_REQUEST = 1,
	VS_OP_RESPONSE = 2,
	VS_OP_RST = 3,
	VS_OP_SHUTDOWN = 4,
	VS_OP_RW = 5,
	VS_OP_CREDIT_UPDATE = 6,
	VS_OP_CREDIT_REQUEST = 7,
};
#define VS_SHUT_RCV  1
#define VS_SHUT_SEND 2

struct vs_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

#define VS_MAX_CONNS 16
#define VS_MAX_RX    128
#define VS_QSIZE     256
#define VS_MAX_LISTEN 8
#define VS_STRAY     64

enum vs_state { VS_FREE, VS_CONNECTING, VS_ESTABLISHED, VS_CLOSED };

struct vs_conn {
	enum vs_state state;
	uint32_t lport, pport;       /* guest (local) and host (peer) ports */
	uint32_t buf_alloc, fwd_cnt, fwd_told;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t peer_shut;          /* SHUTDOWN flags the host sent */
	uint32_t shut_sent;
	bool rst;                    /* the host reset it (or refused the REQUEST) */
	bool accepted;               /* came in by a REQUEST, not yet taken by vs_accept */
	bool credit_requested;
	uint64_t rx_bytes, rx_pkts;
	/* RW packets not consumed yet: RX buffer indexes, in order. */
	uint16_t q[VS_MAX_RX];
	uint16_t qh, qn;
	uint32_t qoff;               /* consumed bytes of the head packet */
};

struct vs {
	struct virtio_dev *d;
	struct virtq rx, tx, ev;
	uint64_t cid;
	uint32_t nrx, rxsize;        /* buffers and their size (header included) */
	uint8_t *rxmem;
	uint16_t rx_of_head[VS_QSIZE];
	uint32_t rx_len[VS_MAX_RX];  /* used length of a held buffer */
	bool rx_repost;              /* buffers went back: notify the RX queue */
	struct vs_hdr txhdr[VS_QSIZE];
	uint32_t buf_alloc;          /* advertised per connection */
	uint32_t max_pkt;            /* largest RW payload we send */
	uint32_t listen[VS_MAX_LISTEN];
	int nlisten;
	struct vs_conn conns[VS_MAX_CONNS];
	uint32_t next_port;
	/* Packets for no connection of ours (replies to hostile packets land here). */
	struct vs_hdr stray[VS_STRAY];
	unsigned int nstray;
	uint64_t stray_rsts;          /* RSTs for no connection, all counted */
	uint64_t bad_rx;             /* RX packets with a broken header */
	uint64_t kicks, events;
	bool no_interrupt;
};

/* Finds the first virtio-vsock device, negotiates, sets up the queues and posts nrx
 * buffers of rxsize bytes each from rxmem. Returns 0 or a negative step number. */
int vs_open(struct vs *v, const struct boot_info *bi, struct virtio_dev *devs, uint8_t *rxmem, uint32_t nrx,
	    uint32_t rxsize);
void vs_listen(struct vs *v, uint32_t port);
/* Handles everything the device completed. */
void vs_poll(struct vs *v);
/* A connection accepted by a listener, once; NULL if none. */
struct vs_conn *vs_accept(struct vs *v);
/* Sends a REQUEST to host port `port` and waits (ms) for RESPONSE/RST. Returns the
 * connection (ESTABLISHED, or CLOSED with rst set) or NULL (no slot, timeout). */
struct vs_conn *vs_connect(struct vs *v, uint32_t port, uint32_t ms);
/* Bytes readable now at *p (part of one packet), 0 if none. */
uint32_t vs_recv_peek(struct vs *v, struct vs_conn *c, const uint8_t **p);
/* n bytes of what peek showed are consumed. */
void vs_consume(struct vs *v, struct vs_conn *c, uint32_t n);
/* Whether the host will send no more (SHUTDOWN SEND or RST) and everything was consumed. */
bool vs_rx_done(const struct vs_conn *c);
/* Credit available for a send to c. */
uint32_t vs_credit(const struct vs_conn *c);
/* Queues one RW packet of len <= credit and <= max_pkt. The payload must stay unchanged
 * until vs_tx_flush (or vs_tx_room says the ring drained). 0, or -1 if the ring is full. */
int vs_send_pkt(struct vs *v, struct vs_conn *c, const void *p, uint32_t len);
/* Sends all of p, waiting for credit (CREDIT_REQUEST after a while). Returns bytes sent
 * (< len on RST, shutdown or after ms without progress). Flushes the TX queue. */
uint32_t vs_send(struct vs *v, struct vs_conn *c, const void *p, uint32_t len, uint32_t ms);
/* A control packet (no payload) for c: RESPONSE, RST, SHUTDOWN (flags), credit. */
int vs_send_ctl(struct vs *v, struct vs_conn *c, uint16_t op, uint32_t flags);
/* A raw packet: header as given (cid/ports not filled in), payload descriptors as given.
 * For the hostile kernel. Returns the head or -1. */
int vs_send_raw(struct vs *v, const struct virtq_buf *bufs, unsigned int nr_out);
/* Waits until every queued TX packet was used (ms bound). 0 or -1. */
int vs_tx_flush(struct vs *v, uint32_t ms);
void vs_kick_tx(struct vs *v);
/* Frees the slot (sends nothing). */
void vs_free(struct vs *v, struct vs_conn *c);
/* Closes politely: SHUTDOWN both ways, waits (ms) for the host's RST, else sends RST. */
void vs_close(struct vs *v, struct vs_conn *c, uint32_t ms);

/* The test pattern: stream byte k is byte (k & 7) of (k / 8 + seed) * golden ratio. */
static inline uint64_t vs_pat_word(uint64_t seed, uint64_t i)
{
	return (i + seed) * 0x9e3779b97f4a7c15ULL;
}
void vs_pat_fill(uint8_t *p, uint32_t len, uint64_t seed, uint64_t off);
/* Index of the first bad byte, or -1. */
int64_t vs_pat_check(const uint8_t *p, uint32_t len, uint64_t seed, uint64_t off);

#endif

/* Test helpers (vsock-xfer, vsock-hostile). */
/* Receives until the host's SHUTDOWN(SEND) (or RST), checking the pattern `seed`.
 * Returns the bytes received; *bad = stream offset of the first bad byte or -1;
 * *timed_out when ms passed without progress. */
uint64_t vs_recv_check(struct vs *v, struct vs_conn *c, uint64_t seed, uint32_t ms, int64_t *bad, bool *timed_out);
/* Sends n bytes of pattern `seed` through buf (bufsz bytes, reused per chunk). Returns bytes sent. */
uint64_t vs_send_pattern(struct vs *v, struct vs_conn *c, uint64_t n, uint64_t seed, uint8_t *buf, uint32_t bufsz,
			 uint32_t ms);
/* Polls until cond(c) or ms; returns cond's last value. */
bool vs_wait(struct vs *v, struct vs_conn *c, bool (*cond)(const struct vs_conn *), uint32_t ms);
