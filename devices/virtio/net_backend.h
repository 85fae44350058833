/* SPDX-License-Identifier: MIT */
/*
 * The host side of virtio-net: what kind of descriptor carries the guest's
 * frames, and how frames are cut out of a byte stream.
 *
 * Three kinds of descriptor are accepted:
 *  - a TAP character device (/dev/net/tun attached with IFF_TAP|IFF_NO_PI),
 *    one frame per read()/write(), optionally preceded by a 12-byte
 *    virtio_net_hdr (IFF_VNET_HDR, TUNSETVNETHDRSZ 12) that carries the
 *    checksum and segmentation offloads;
 *  - a SOCK_DGRAM socket: one Ethernet frame per datagram (the runtime's
 *    interception mode, a user-space network stack on the other end);
 *  - a SOCK_STREAM socket: each frame preceded by its length as a 4-byte
 *    big-endian number, as QEMU's `-netdev stream` (and `-netdev socket`) do.
 * Everything else (pipes, files, other character devices, SOCK_SEQPACKET)
 * is refused.
 */
#ifndef FLASHPAN_VIRTIO_NET_BACKEND_H
#define FLASHPAN_VIRTIO_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_kind {
	NET_KIND_TAP,
	NET_KIND_DGRAM,
	NET_KIND_STREAM,
};

const char *net_kind_name(enum net_kind kind);

/*
 * What `fd` is. For a TAP device, *vnet_hdr says whether it was attached
 * with IFF_VNET_HDR. 0, or -errno with the reason in err (refused kinds:
 * -ENOTSUP).
 */
int net_fd_kind(int fd, enum net_kind *kind, bool *vnet_hdr, char *err, size_t errlen);

/*
 * Open /dev/net/tun and attach to (or create) TAP interface `name` with
 * IFF_TAP|IFF_NO_PI, plus IFF_VNET_HDR when the kernel has it. Returns the
 * descriptor (non-blocking, close-on-exec) or -errno with the reason in err.
 */
int net_tap_open(const char *name, bool *vnet_hdr, char *err, size_t errlen);

/* TUNSETVNETHDRSZ: the size of the header in front of every TAP frame. */
int net_tap_set_hdr_size(int fd, int size);
/* TUNSETOFFLOAD with TUN_F_* flags: what the tap may hand us unfinished. */
int net_tap_set_offload(int fd, unsigned int tun_flags);

/*
 * Receive side of the stream framing: a buffer of bytes read from the
 * socket, from which whole frames are cut. The peer is not trusted: a
 * length above max_frame is skipped (its bytes are read and thrown away),
 * never allocated for.
 */
struct net_stream_rx {
	uint8_t *buf;
	size_t cap;        /* at least 4 + max_frame */
	size_t start, end; /* unparsed bytes are buf[start, end) */
	uint64_t skip;     /* bytes of an oversized frame still to discard */
	uint32_t max_frame;
};

enum net_stream_result {
	NET_STREAM_NEED_MORE = 0, /* no whole frame buffered: read more into the buffer */
	NET_STREAM_FRAME = 1,     /* *frame, *len: one frame (valid until the next call) */
	NET_STREAM_TOO_LONG = 2,  /* a frame longer than max_frame is being skipped */
};

int net_stream_rx_init(struct net_stream_rx *s, uint32_t max_frame);
void net_stream_rx_free(struct net_stream_rx *s);
/* Cut the next frame from the buffered bytes. */
enum net_stream_result net_stream_next(struct net_stream_rx *s, const uint8_t **frame, uint32_t *len);
/*
 * Where to read more bytes: *space bytes at the returned pointer (buffered
 * bytes are moved to the front first). Then report how many arrived with
 * net_stream_filled().
 */
uint8_t *net_stream_space(struct net_stream_rx *s, size_t *space);
void net_stream_filled(struct net_stream_rx *s, size_t n);

#endif
