/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 §5.1) over a host descriptor: a TAP device, a
 * datagram socket or a stream socket (devices/virtio/net_backend.h).
 *
 * Queue 0 is receiveq (host to guest), queue 1 transmitq. Every buffer starts
 * with the 12-byte struct virtio_net_hdr (VERSION_1 layout, §5.1.6). All
 * queue work runs on the event loop thread under the device lock.
 */
#ifndef FLASHPAN_VIRTIO_NET_H
#define FLASHPAN_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio/net_backend.h"

struct vm;
struct virtio_dev;
struct net_dev;

/* Feature bits (virtio 1.2 §5.1.3). */
#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN  9
#define VIRTIO_NET_F_GUEST_UFO  10
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_HOST_ECN   13
#define VIRTIO_NET_F_HOST_UFO   14
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr (§5.1.6), little-endian, 12 bytes with num_buffers. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO   4
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

#define NET_HDR_LEN      12
#define NET_ETH_HLEN     14
#define NET_MAX_GSO_FRAME 65550 /* 64 KiB of IP plus Ethernet and slack, as QEMU and Linux use */
#define NET_DEFAULT_MTU  1500
#define NET_MIN_MTU      68

struct net_config {
	int fd;              /* inherited descriptor, or -1 with tap_name */
	char tap_name[16];   /* IFNAMSIZ; empty with fd */
	uint8_t mac[6];
	uint16_t mtu;
	bool debug;          /* log the frame counters at exit even when nothing was dropped */
};

/*
 * Parse the value of `--net`: "none", "fd=N[,mac=..][,mtu=M][,debug]" or
 * "tap=NAME[,mac=..][,mtu=M][,debug]". *enabled is false for "none". The MAC
 * defaults to net_default_mac(vm_id). 0, or -EINVAL with the reason in err.
 */
int net_parse_option(const char *arg, const char *vm_id, struct net_config *cfg, bool *enabled, char *err,
		     size_t errlen);
/* The runtime's rule: AA:FC, then h = h*31 + c over the id's bytes (uint32), big-endian. */
void net_default_mac(const char *vm_id, uint8_t mac[6]);
/* "AA:FC:00:01:02:03" (also '-' separated); unicast only. 0 or -EINVAL. */
int net_parse_mac(const char *s, uint8_t mac[6]);

enum net_hdr_verdict {
	NET_HDR_OK = 0,
	NET_HDR_SHORT,    /* frame shorter than an Ethernet header */
	NET_HDR_LONG,     /* longer than MTU + Ethernet header (64 KiB with segmentation offload) */
	NET_HDR_BAD,      /* flags or gso_type not negotiated, or offsets outside the frame */
};

const char *net_hdr_verdict_str(enum net_hdr_verdict v);
/*
 * Validate a header the guest put in front of a transmitted frame of
 * `frame_len` bytes (after the header), given the negotiated features
 * (§5.1.6.2).
 */
enum net_hdr_verdict net_hdr_check_tx(const struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features,
				      uint16_t mtu);
/*
 * Validate a header a TAP device put in front of a received frame and make
 * it fit what the driver accepted (§5.1.6.4): DATA_VALID only with
 * GUEST_CSUM, segmentation only with GUEST_TSO4/6.
 */
enum net_hdr_verdict net_hdr_check_rx(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features,
				      uint16_t mtu);

/* Counters, read at exit (and by tests). */
struct net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_short, rx_long, rx_bad_hdr, rx_no_room;
	uint64_t tx_short, tx_long, tx_bad_hdr, tx_error, tx_link_down;
};

/*
 * The device over cfg (descriptor checked, made non-blocking, owned by the
 * device from here on), registered on vm->loop, and added to the VM's
 * virtio-mmio bus. Errors are printed; returns NULL. *config_error tells
 * whether it was the user's configuration (exit 2) or the host.
 */
struct net_dev *net_create(struct vm *vm, const struct net_config *cfg, bool *config_error);
/* Without the transport (unit tests, fuzzing): vm needs only mem and loop. */
struct net_dev *net_new(struct vm *vm, const struct net_config *cfg, char *err, size_t errlen);
void net_destroy(struct net_dev *n);

struct virtio_dev *net_virtio(struct net_dev *n);
enum net_kind net_backend_kind(const struct net_dev *n);
const struct net_stats *net_get_stats(const struct net_dev *n);
/* The descriptor is readable/writable (event loop callback; takes the lock). */
void net_fd_event(struct net_dev *n, uint32_t events);

#endif
