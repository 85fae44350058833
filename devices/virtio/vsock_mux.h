/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock internals shared by the device (vsock.c: queues, packets,
 * credit) and the multiplexer (vsock_mux.c: the Unix sockets, the
 * connection table, the CONNECT handshake, timers). Tests and the fuzzer
 * include it to drive a device without KVM.
 *
 * Threads: everything runs on the event loop thread with dev.lock held,
 * except the transport's reset, which runs on a vCPU thread (lock held) and
 * therefore only unlinks connections; the loop thread closes them.
 */
#ifndef FLASHPAN_VIRTIO_VSOCK_MUX_H
#define FLASHPAN_VIRTIO_VSOCK_MUX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock.h"

/* A circular doubly linked list node (as the kernel's list_head). */
struct vlist {
	struct vlist *prev, *next;
};

static inline void vlist_init(struct vlist *l)
{
	l->prev = l->next = l;
}

static inline bool vlist_empty(const struct vlist *l)
{
	return l->next == l;
}

static inline void vlist_del(struct vlist *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	vlist_init(n);
}

static inline void vlist_add_tail(struct vlist *head, struct vlist *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

#define vlist_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

enum vsock_conn_state {
	VCONN_HANDSHAKE,   /* host client accepted; reading its CONNECT line */
	VCONN_LOCAL_INIT,  /* REQUEST sent to the guest; waiting for RESPONSE or RST */
	VCONN_ESTABLISHED, /* data flows (possibly half-closed) */
	VCONN_CLOSING,     /* we sent SHUTDOWN both ways; waiting for the guest's RST */
	VCONN_DEAD,        /* unlinked by a device reset; the loop thread closes it */
};

/* Control packets a connection owes the guest (bits in vsock_conn.pending). */
enum {
	VPKT_REQUEST = 1,
	VPKT_RESPONSE = 2,
	VPKT_SHUTDOWN = 4,
	VPKT_CREDIT_UPDATE = 8,
	VPKT_CREDIT_REQUEST = 16,
};

struct vsock_conn {
	struct vsock *v;
	enum vsock_conn_state state;
	int fd;                  /* the host side: a Unix stream socket */
	uint32_t host_port;      /* our port: P for guest-initiated, allocated for host-initiated */
	uint32_t guest_port;

	/* Host to guest: what the guest lets us send (§5.10.6.3). */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;         /* payload bytes we put on the rx queue */
	bool credit_requested;   /* sent CREDIT_REQUEST since the last update */

	/* Guest to host: bytes taken from the TX queue not yet written to fd. */
	uint32_t fwd_cnt;        /* bytes written to fd (the credit we return) */
	uint32_t fwd_cnt_told;   /* fwd_cnt in the last packet we sent the guest */
	uint8_t *txbuf;
	uint32_t txoff, txlen, txcap; /* data is txbuf[txoff .. txoff + txlen) */

	uint32_t pending;        /* VPKT_* owed to the guest */
	uint32_t shut_sent;      /* SHUTDOWN flags we told the guest */
	uint32_t peer_shut;      /* SHUTDOWN flags the guest told us */
	bool readable;           /* fd may have data (edge-triggered epoll) */
	bool host_eof;           /* the host shut its writing side (read returned 0) */
	bool host_gone;          /* the host cannot receive any more (hang-up, EPIPE) */
	bool host_shut_wr;       /* we did shutdown(fd, SHUT_WR) */

	uint64_t deadline_ns;    /* 0, or when a handshake/close times out */
	char line[VSOCK_CONNECT_LINE_MAX];

	struct vlist hash_node;  /* in v->buckets (not in HANDSHAKE) */
	struct vlist ctl_node;   /* in v->ctl_list while pending != 0 */
	struct vlist rx_node;    /* in v->rx_list while it has data and credit */
	struct vlist all_node;   /* in v->conns, or v->zombies once DEAD */
	struct vlist timer_node; /* in v->timed while deadline_ns != 0 */
};

#define VSOCK_HASH_BUCKETS 4096
#define VSOCK_MAX_CONNS    16384
#define VSOCK_RST_RING     4096
#define VSOCK_MAX_IOV      128

struct vsock_rst {
	uint32_t host_port, guest_port;
};

struct vsock {
	struct virtio_dev dev;
	struct vm *vm;
	uint64_t guest_cid;

	char uds[108];           /* sizeof(sun_path) */
	int listen_fd;
	dev_t listen_dev;        /* identity of the socket file we made */
	ino_t listen_ino;
	int timer_fd;            /* timerfd: handshake and close deadlines */
	bool timer_armed;
	int reap_fd;             /* eventfd: a reset left zombies for the loop thread */
	int spare_fd;            /* given up to refuse a client at the fd limit */

	struct vlist buckets[VSOCK_HASH_BUCKETS];
	struct vlist conns;      /* every live connection */
	struct vlist zombies;    /* unlinked by reset, fd still open */
	struct vlist ctl_list, rx_list, timed;
	unsigned nr_conns;
	uint32_t next_host_port; /* for host-initiated connections */

	/* RSTs for connections already freed, or for stray packets. */
	struct vsock_rst rst_ring[VSOCK_RST_RING];
	unsigned rst_head, rst_count;
	bool event_pending;      /* a TRANSPORT_RESET to deliver on the event queue */

	/* An rx chain taken from the ring but not yet filled. */
	bool rx_held;
	struct virtq_chain rx_chain;
	struct iovec rx_iov[VSOCK_MAX_IOV];

	/* Timeouts in ms (fields so tests can shorten them). */
	unsigned handshake_ms, response_ms, close_ms;
	bool warned;
};

/* vsock_conn.c: guest packets and connection state. */
void vsock_handle_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *pl, unsigned npl);
void vsock_warn(struct vsock *v, const char *what);
/* Copy between buf and iov[] from `off` bytes in; returns bytes copied. */
size_t vsock_iov_copy(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len, bool to_iov);
/* dst[] = `len` bytes of src[] from `off` bytes in; returns the entries used. */
unsigned vsock_iov_slice(struct iovec *dst, const struct iovec *src, unsigned n, size_t off, size_t len);

/* vsock.c: the device side. */
int vsock_init(struct vsock *v, struct vm *vm, uint64_t cid, const char *uds, bool *config_err);
void vsock_fini(struct vsock *v);
extern const struct virtio_dev_ops vsock_ops;
void vsock_rx_kick(struct vsock *v);
void vsock_queue_rst(struct vsock *v, uint32_t host_port, uint32_t guest_port);
void vsock_conn_owe(struct vsock_conn *c, uint32_t pkt);
void vsock_conn_sched_rx(struct vsock_conn *c);
/* Apply the half-close rules after a change; false if c was freed. */
bool vsock_conn_update(struct vsock_conn *c);
void vsock_conn_flush(struct vsock_conn *c);
/* Reset every connection and send TRANSPORT_RESET (what a restore from snapshot does). */
void vsock_transport_reset(struct vsock *v);

/* vsock_mux.c: the host side. */
int vsock_mux_listen(struct vsock *v, bool *config_err);
void vsock_mux_close(struct vsock *v);
struct vsock_conn *vsock_mux_lookup(struct vsock *v, uint32_t host_port, uint32_t guest_port);
/* Guest REQUEST to host port P: connect to uds_P. NULL if that failed. */
struct vsock_conn *vsock_mux_connect_host(struct vsock *v, uint32_t port, uint32_t guest_port);
/* The guest accepted a host-initiated connection: send `OK <port>\n`. 0 or -errno. */
int vsock_mux_send_ok(struct vsock_conn *c);
/* Free a connection now (close its socket); `rst` also tells the guest. */
void vsock_mux_kill(struct vsock_conn *c, bool rst);
void vsock_mux_set_deadline(struct vsock_conn *c, unsigned ms);
/* Device reset: unlink every connection (any thread, lock held). */
void vsock_mux_reset(struct vsock *v);
/* Socket, listener and timer callbacks (loop thread); exposed for the fuzzer. */
void vsock_mux_conn_event(void *opaque, uint32_t events);
void vsock_mux_accept(void *opaque, uint32_t events);
void vsock_mux_timer(void *opaque, uint32_t events);
/* Expire deadlines as of `now` (ns); the timer calls it. */
void vsock_mux_expire(struct vsock *v, uint64_t now);

#endif
