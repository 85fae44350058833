/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2 §5.10) with a hybrid Unix-socket back end, as
 * Firecracker's: the host side of every guest stream is one Unix socket
 * connection. Host-initiated: a client connects to PATH and writes
 * `CONNECT <port>\n`, gets `OK <hostport>\n` once the guest accepted.
 * Guest-initiated: a connection to host (CID 2) port P is forwarded to PATH_P.
 *
 * This header holds the wire format and the pure helpers (header checks,
 * credit arithmetic, the CONNECT line parser) that the tests and the fuzzer
 * call directly; devices/virtio/vsock_mux.h has the device's internals.
 */
#ifndef FLASHPAN_VIRTIO_VSOCK_H
#define FLASHPAN_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vsock;

#define VIRTIO_ID_VSOCK 19

/* Queues (§5.10.2). */
enum { VSOCK_RXQ = 0, VSOCK_TXQ = 1, VSOCK_EVQ = 2, VSOCK_NR_QUEUES = 3 };

#define VSOCK_HOST_CID 2 /* §5.10.4: the host's well-known CID */

/* Packet header (§5.10.6), little endian on the wire. */
struct vsock_hdr {
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

#define VSOCK_HDR_SIZE 44
_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_SIZE, "vsock header is 44 bytes");

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* OP_SHUTDOWN flags (§5.10.6.4): the sender will not receive / send any more. */
#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2

/* Event queue (§5.10.6.6). */
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* The largest payload in one packet: Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE. */
#define VSOCK_MAX_PKT_PAYLOAD (64 * 1024)
/* Our receive buffer per connection, advertised as buf_alloc (the guest's credit). */
#define VSOCK_BUF_ALLOC (256 * 1024)
/* The CONNECT line: at most this many bytes, newline included. */
#define VSOCK_CONNECT_LINE_MAX 64

/* Why a packet from the guest was refused (each gets an RST for its ports). */
enum vsock_hdr_err {
	VSOCK_HDR_OK = 0,
	VSOCK_HDR_SRC_CID,      /* src_cid is not the guest's CID */
	VSOCK_HDR_DST_CID,      /* dst_cid is not the host (2) */
	VSOCK_HDR_TYPE,         /* not a stream packet (SEQPACKET is not offered) */
	VSOCK_HDR_OP,           /* unknown op, or INVALID */
	VSOCK_HDR_LEN,          /* len beyond the descriptors or over 64 KiB */
	VSOCK_HDR_LEN_CONTROL,  /* payload on a packet that is not OP_RW */
	VSOCK_HDR_FLAGS,        /* unknown SHUTDOWN flags */
};

const char *vsock_hdr_strerror(enum vsock_hdr_err err);

/*
 * Check a header the guest sent in a TX chain whose readable part holds
 * `payload_room` bytes after the header. Every field is the guest's: the
 * caller copied the header out of guest memory once before calling this.
 */
enum vsock_hdr_err vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid, uint32_t payload_room);

/*
 * Credit (§5.10.6.3): a sender may have at most buf_alloc bytes in flight,
 * in flight being what it sent (tx_cnt) minus what the receiver has consumed
 * (fwd_cnt). The counters wrap at 2^32; a peer whose numbers make no sense
 * (fwd_cnt ahead of tx_cnt) gets no credit.
 */
static inline uint32_t vsock_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt)
{
	uint32_t in_flight = tx_cnt - fwd_cnt;

	return in_flight >= buf_alloc ? 0 : buf_alloc - in_flight;
}

/*
 * Parse a CONNECT line: `CONNECT <port>` (one or more spaces, decimal port
 * up to 2^32 - 1, an optional '\r') ending in '\n' at line[len - 1]. Returns
 * 0 with *port set, or -EINVAL.
 */
int vsock_parse_connect(const char *line, size_t len, uint32_t *port);

/*
 * The device: `cid` is the guest's CID (3 .. 2^32 - 2), `uds` the Unix
 * socket path to listen on. Prints why and returns NULL on failure;
 * *config_err is set when the cause is the configuration (a live listener
 * on the path, a bad CID, a path too long) rather than the host.
 */
struct vsock *vsock_create(struct vm *vm, uint64_t cid, const char *uds, bool *config_err);
/* Close every connection and the listener, remove the socket file. */
void vsock_destroy(struct vsock *v);

/* The longest uds path: PATH_<port> must fit a sockaddr_un. */
#define VSOCK_UDS_MAX 96

/* Parse `cid=C,uds=PATH` (either order); 0, or -EINVAL with *why set. */
int vsock_parse_option(const char *arg, uint64_t *cid, char *uds, size_t uds_len, const char **why);

#endif
