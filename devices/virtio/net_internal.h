/* SPDX-License-Identifier: MIT */
/*
 * virtio-net internals shared by net.c (device, configuration, options),
 * net_rx.c (host to guest) and net_tx.c (guest to host). Not for other users.
 *
 * Receive: frames are read from the descriptor into host slots (a small ring)
 * only while the guest has receive buffers, then copied into those buffers.
 * A frame that was read stays in its slot until buffers come: nothing is
 * dropped for lack of buffers. When the guest runs out, EPOLLIN is masked
 * and the next receiveq notification resumes.
 *
 * Transmit: chains are taken from the transmitq in batches and sent straight
 * from guest memory (sendmmsg for datagrams, writev for a TAP, sendmsg over
 * all frames of a batch for a stream). When the host side would block
 * (EAGAIN), the untaken chains stay in the queue, the taken ones wait, and
 * EPOLLOUT resumes the batch: no drop, no spin.
 */
#ifndef FLASHPAN_VIRTIO_NET_INTERNAL_H
#define FLASHPAN_VIRTIO_NET_INTERNAL_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"

#define NET_QUEUE_SIZE  256
#define NET_RX_SLOTS    32  /* frames read ahead of the guest's buffers */
#define NET_RX_STASH    64  /* receive chains taken for one frame (mergeable buffers) */
#define NET_CHAIN_IOV   64  /* buffers per chain; Linux uses at most MAX_SKB_FRAGS + 2 */
#define NET_TX_BATCH    64
#define NET_RX_BUDGET   64  /* reads per event before yielding to the loop */
#define NET_TX_BUDGET   4   /* transmit batches per event */

#define NET_RXQ 0
#define NET_TXQ 1

/* One received frame: the 12-byte virtio_net_hdr, then the Ethernet frame. */
struct net_rx_slot {
	uint8_t *data;
	uint32_t len; /* header included */
};

struct net_chain {
	struct virtq_chain c;
	struct iovec iov[NET_CHAIN_IOV];
};

/* A transmit chain taken from the queue and what goes to the host for it. */
struct net_tx_frame {
	struct net_chain ch;
	struct iovec msg_iov[NET_CHAIN_IOV + 2];
	int msg_iovcnt;
	uint32_t msg_len;    /* bytes to the host (prefix/header included) */
	uint32_t frame_len;  /* Ethernet frame bytes, for the counters */
	uint8_t prefix[4];   /* stream framing: big-endian length */
	struct virtio_net_hdr hdr; /* our copy: the guest cannot change it after the check */
};

struct net_dev {
	struct virtio_dev vdev; /* first: net_dev and virtio_dev convert both ways */
	struct virtio_dev_ops ops;
	struct vm *vm;

	enum net_kind kind;
	bool vnet_hdr;       /* TAP frames carry a virtio_net_hdr */
	bool unix_sock;      /* AF_UNIX: a refused send means the peer is gone for good */
	int fd;
	bool fd_watched;
	uint32_t fd_events;

	uint8_t mac[6];
	uint16_t mtu;
	uint16_t status;     /* VIRTIO_NET_S_LINK_UP */
	bool debug;
	bool rx_eof;         /* nothing more will be read */

	/* Receive. */
	struct net_rx_slot slot[NET_RX_SLOTS];
	unsigned int rx_head, rx_count;
	uint32_t rx_max_frame; /* largest frame a slot takes (without header) */
	struct net_chain *stash;  /* NET_RX_STASH chains taken from receiveq, a ring */
	unsigned int stash_head, stash_count;
	uint64_t stash_bytes;
	bool rx_want;        /* reading: EPOLLIN wanted */
	struct net_stream_rx srx;
	struct mmsghdr rx_mmsg[NET_RX_SLOTS];
	struct iovec rx_iov[NET_RX_SLOTS];

	/* Transmit. */
	struct net_tx_frame *tx;  /* NET_TX_BATCH */
	unsigned int tx_n, tx_done; /* taken, and sent or dropped (in order) */
	bool tx_blocked;     /* waiting for EPOLLOUT */
	struct mmsghdr tx_mmsg[NET_TX_BATCH];
	struct iovec *tx_iov; /* IOV_MAX, for a stream's sendmsg */
	uint8_t *tx_tail;    /* stream: the unsent end of a frame the socket took in part */
	uint32_t tx_tail_len, tx_tail_off;

	struct net_stats st;
};

static inline struct net_dev *net_of(struct virtio_dev *d)
{
	return (struct net_dev *)d;
}

/* Largest transmitted frame (without header) for the negotiated features. */
uint32_t net_tx_max_frame(const struct net_dev *n);

void net_rx_process(struct net_dev *n);
void net_tx_process(struct net_dev *n);
/* Forget chains taken from the queues (device reset). */
void net_rx_reset(struct net_dev *n);
void net_tx_reset(struct net_dev *n);
int net_tx_init(struct net_dev *n);
void net_tx_free(struct net_dev *n);
int net_rx_init(struct net_dev *n);
void net_rx_free(struct net_dev *n);

/* The peer is gone: link down with a configuration change, stop watching fd. */
void net_link_down(struct net_dev *n, const char *why);
/* Make the descriptor's epoll mask match rx_want and tx_blocked. */
void net_update_events(struct net_dev *n);

#endif
