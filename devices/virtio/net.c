// SPDX-License-Identifier: MIT
/*
 * virtio-net device: feature negotiation, configuration space, link state,
 * the `--net` option and the header checks. The data paths are in net_rx.c
 * and net_tx.c; the descriptor kinds in net_backend.c.
 */
#include "devices/virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/virtio/net_internal.h"
#include "vmm/kvm.h"

/* Configuration layout (§5.1.4): mac[6], status, max_virtqueue_pairs, mtu. */
#define NET_CFG_SIZE 12

void net_default_mac(const char *vm_id, uint8_t mac[6])
{
	uint32_t h = 0;

	for (const unsigned char *p = (const unsigned char *)vm_id; *p; p++)
		h = h * 31 + *p;
	mac[0] = 0xaa;
	mac[1] = 0xfc;
	mac[2] = h >> 24;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s != ':' && *s != '-')
			return -EINVAL;
		if (i < 5)
			s++;
	}
	/* A device address is unicast (I/G bit clear). */
	if (*s || (mac[0] & 1))
		return -EINVAL;
	return 0;
}

int net_parse_option(const char *arg, const char *vm_id, struct net_config *cfg, bool *enabled, char *err,
		     size_t errlen)
{
	char *copy, *tok, *save = NULL;
	bool mac_set = false;
	int ret = -EINVAL;

	*cfg = (struct net_config){ .fd = -1, .mtu = NET_DEFAULT_MTU };
	*enabled = false;
	if (!strcmp(arg, "none"))
		return 0;
	copy = strdup(arg);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *val = strchr(tok, '='), *end;
		long v;

		if (val)
			*val++ = '\0';
		if (!strcmp(tok, "fd") && val) {
			errno = 0;
			v = strtol(val, &end, 10);
			if (errno || end == val || *end || v < 0 || v > 1 << 20) {
				snprintf(err, errlen, "--net fd=N needs a descriptor number, not '%s'", val);
				goto out;
			}
			cfg->fd = (int)v;
		} else if (!strcmp(tok, "tap") && val) {
			if (!*val || strlen(val) >= sizeof(cfg->tap_name)) {
				snprintf(err, errlen, "--net tap= needs an interface name of 1 to %zu characters",
					 sizeof(cfg->tap_name) - 1);
				goto out;
			}
			strcpy(cfg->tap_name, val);
		} else if (!strcmp(tok, "mac") && val) {
			if (net_parse_mac(val, cfg->mac)) {
				snprintf(err, errlen, "--net mac= needs a unicast address like AA:FC:00:00:00:01, not '%s'",
					 val);
				goto out;
			}
			mac_set = true;
		} else if (!strcmp(tok, "mtu") && val) {
			errno = 0;
			v = strtol(val, &end, 10);
			if (errno || end == val || *end || v < NET_MIN_MTU || v > 65535 - NET_ETH_HLEN) {
				snprintf(err, errlen, "--net mtu= must be from %d to %d, not '%s'", NET_MIN_MTU,
					 65535 - NET_ETH_HLEN, val);
				goto out;
			}
			cfg->mtu = (uint16_t)v;
		} else if (!strcmp(tok, "debug") && !val) {
			cfg->debug = true;
		} else {
			snprintf(err, errlen, "--net: unknown setting '%s'; want none, fd=N or tap=NAME, then "
				 "mac=, mtu=, debug", tok);
			goto out;
		}
	}
	if ((cfg->fd >= 0) == (cfg->tap_name[0] != '\0')) {
		snprintf(err, errlen, "--net needs exactly one of fd=N or tap=NAME (or none)");
		goto out;
	}
	if (!mac_set)
		net_default_mac(vm_id, cfg->mac);
	*enabled = true;
	ret = 0;
out:
	free(copy);
	return ret;
}

const char *net_hdr_verdict_str(enum net_hdr_verdict v)
{
	switch (v) {
	case NET_HDR_OK:
		return "ok";
	case NET_HDR_SHORT:
		return "frame shorter than an Ethernet header";
	case NET_HDR_LONG:
		return "frame longer than the MTU allows";
	case NET_HDR_BAD:
		return "virtio_net_hdr with features not negotiated or offsets outside the frame";
	}
	return "?";
}

static bool has(uint64_t features, unsigned int bit)
{
	return features & (1ULL << bit);
}

/* Checks common to both directions; `csum_ok`, `tso4`, `tso6`: what this direction may carry. */
static enum net_hdr_verdict hdr_check(const struct virtio_net_hdr *h, uint32_t len, uint16_t mtu, bool csum_ok,
				      bool tso4, bool tso6)
{
	uint8_t gso = h->gso_type;

	if (len < NET_ETH_HLEN)
		return NET_HDR_SHORT;
	if (len > (gso == VIRTIO_NET_HDR_GSO_NONE ? (uint32_t)mtu + NET_ETH_HLEN : NET_MAX_GSO_FRAME))
		return NET_HDR_LONG;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		if (!csum_ok || (uint32_t)h->csum_start + h->csum_offset + 2 > len)
			return NET_HDR_BAD;
	}
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return NET_HDR_OK;
	/* §5.1.6.2: segmentation needs a checksum to finish and a segment size. */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || h->gso_size == 0 || h->hdr_len > len)
		return NET_HDR_BAD;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && tso4) || (gso == VIRTIO_NET_HDR_GSO_TCPV6 && tso6))
		return NET_HDR_OK;
	return NET_HDR_BAD; /* UDP, ECN or unknown: never offered */
}

enum net_hdr_verdict net_hdr_check_tx(const struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features,
				      uint16_t mtu)
{
	/* DATA_VALID and RSC_INFO are for the device to set (§5.1.6.2.1). */
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return frame_len < NET_ETH_HLEN ? NET_HDR_SHORT : NET_HDR_BAD;
	return hdr_check(h, frame_len, mtu, has(features, VIRTIO_NET_F_CSUM),
			 has(features, VIRTIO_NET_F_HOST_TSO4), has(features, VIRTIO_NET_F_HOST_TSO6));
}

enum net_hdr_verdict net_hdr_check_rx(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features,
				      uint16_t mtu)
{
	bool csum = has(features, VIRTIO_NET_F_GUEST_CSUM);
	enum net_hdr_verdict v;

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return frame_len < NET_ETH_HLEN ? NET_HDR_SHORT : NET_HDR_BAD;
	v = hdr_check(h, frame_len, mtu, csum, has(features, VIRTIO_NET_F_GUEST_TSO4),
		      has(features, VIRTIO_NET_F_GUEST_TSO6));
	if (v == NET_HDR_OK && !csum)
		h->flags &= ~VIRTIO_NET_HDR_F_DATA_VALID;
	h->num_buffers = 0;
	return v;
}

uint32_t net_tx_max_frame(const struct net_dev *n)
{
	const struct virtio_dev *d = &n->vdev;

	if (virtio_has_feature(d, VIRTIO_NET_F_HOST_TSO4) || virtio_has_feature(d, VIRTIO_NET_F_HOST_TSO6))
		return NET_MAX_GSO_FRAME;
	return (uint32_t)n->mtu + NET_ETH_HLEN;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct net_dev *n = net_of(d);
	uint8_t cfg[NET_CFG_SIZE];

	memcpy(cfg, n->mac, 6);
	cfg[6] = (uint8_t)n->status;
	cfg[7] = (uint8_t)(n->status >> 8);
	cfg[8] = 1; /* max_virtqueue_pairs (only with VIRTIO_NET_F_MQ; 1 is the truth) */
	cfg[9] = 0;
	cfg[10] = (uint8_t)n->mtu;
	cfg[11] = (uint8_t)(n->mtu >> 8);
	memcpy(data, cfg + off, len); /* the transport checked off + len <= config_size */
}

/* vCPU thread, lock held: DRIVER_OK. Tell a TAP what the driver can take unfinished. */
static int net_activate(struct virtio_dev *d)
{
	struct net_dev *n = net_of(d);
	unsigned int tun = 0;
	int err;

	if (n->kind != NET_KIND_TAP || !n->vnet_hdr)
		return 0;
	if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM)) {
		tun |= TUN_F_CSUM;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4))
			tun |= TUN_F_TSO4;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6))
			tun |= TUN_F_TSO6;
	}
	err = net_tap_set_offload(n->fd, tun);
	if (err)
		fprintf(stderr, "flashpan: virtio-net: TUNSETOFFLOAD 0x%x: %s\n", tun, strerror(-err));
	return err;
}

static void net_reset(struct virtio_dev *d)
{
	struct net_dev *n = net_of(d);

	net_rx_reset(n);
	net_tx_reset(n);
	if (n->kind == NET_KIND_TAP && n->vnet_hdr)
		net_tap_set_offload(n->fd, 0);
}

/* Event loop, lock held. */
static void net_notify(struct virtio_dev *d, uint16_t q)
{
	struct net_dev *n = net_of(d);

	if (q == NET_RXQ)
		net_rx_process(n);
	else if (q == NET_TXQ)
		net_tx_process(n);
	net_update_events(n);
}

void net_update_events(struct net_dev *n)
{
	uint32_t want = 0;

	if (!n->fd_watched)
		return;
	if (n->rx_want && !n->rx_eof)
		want |= EPOLLIN | (n->kind == NET_KIND_STREAM ? EPOLLRDHUP : 0);
	if (n->tx_blocked)
		want |= EPOLLOUT;
	if (want != n->fd_events && loop_mod(&n->vm->loop, n->fd, want) == 0)
		n->fd_events = want;
}

void net_link_down(struct net_dev *n, const char *why)
{
	if (n->fd_watched) {
		loop_del(&n->vm->loop, n->fd);
		n->fd_watched = false;
	}
	if (!(n->status & VIRTIO_NET_S_LINK_UP))
		return;
	fprintf(stderr, "flashpan: virtio-net: %s; link down\n", why);
	n->status &= ~VIRTIO_NET_S_LINK_UP;
	virtio_config_changed(&n->vdev);
}

void net_fd_event(struct net_dev *n, uint32_t events)
{
	struct virtio_dev *d = &n->vdev;

	pthread_mutex_lock(&d->lock);
	if (virtio_running(d)) {
		if (events & EPOLLOUT)
			net_tx_process(n);
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			net_rx_process(n);
	} else {
		/* No driver yet (or a reset): wait for the queues' notifications. */
		n->rx_want = false;
		n->tx_blocked = false;
	}
	/*
	 * A hang-up is reported whatever the mask: stop watching, or it would
	 * spin. Frames still buffered in the socket are read on later receiveq
	 * notifications, until end of file.
	 */
	if ((events & EPOLLHUP) && n->fd_watched)
		net_link_down(n, "the peer closed the network descriptor");
	net_update_events(n);
	pthread_mutex_unlock(&d->lock);
}

static void net_fd_ready(void *opaque, uint32_t events)
{
	net_fd_event(opaque, events);
}

static int net_setup_fd(struct net_dev *n, const struct net_config *cfg, char *err, size_t errlen)
{
	int fd = cfg->fd, e, fl, domain = 0;
	socklen_t len = sizeof(domain);

	if (cfg->tap_name[0]) {
		fd = net_tap_open(cfg->tap_name, &n->vnet_hdr, err, errlen);
		if (fd < 0)
			return fd;
		n->fd = fd;
		n->kind = NET_KIND_TAP;
	} else {
		e = net_fd_kind(fd, &n->kind, &n->vnet_hdr, err, errlen);
		if (e)
			return e;
		n->fd = fd;
		/* The device owns it now: no leak into other programs, never block the loop. */
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			e = errno;
			snprintf(err, errlen, "descriptor %d: cannot make it non-blocking: %s", fd, strerror(e));
			return -e;
		}
	}
	if (n->kind == NET_KIND_TAP && n->vnet_hdr && net_tap_set_hdr_size(fd, NET_HDR_LEN)) {
		/* Without a 12-byte header size the offloads cannot be used: plain frames. */
		n->vnet_hdr = false;
	}
	if (n->kind != NET_KIND_TAP && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0)
		n->unix_sock = domain == AF_UNIX;
	return 0;
}

struct net_dev *net_new(struct vm *vm, const struct net_config *cfg, char *err, size_t errlen)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	uint64_t f;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->vm = vm;
	n->fd = -1;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		n->vdev.ioeventfd[i] = -1;
	n->vdev.irqfd = -1;
	pthread_mutex_init(&n->vdev.lock, NULL);
	memcpy(n->mac, cfg->mac, 6);
	n->mtu = cfg->mtu ? cfg->mtu : NET_DEFAULT_MTU;
	n->debug = cfg->debug;
	n->status = VIRTIO_NET_S_LINK_UP;
	if (net_setup_fd(n, cfg, err, errlen))
		goto fail;

	f = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_MTU | 1ULL << VIRTIO_NET_F_STATUS |
	    1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (n->kind == NET_KIND_TAP && n->vnet_hdr)
		f |= 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
		     1ULL << VIRTIO_NET_F_HOST_TSO6 | 1ULL << VIRTIO_NET_F_GUEST_TSO4 |
		     1ULL << VIRTIO_NET_F_GUEST_TSO6;
	n->ops = (struct virtio_dev_ops){
		.name = "virtio-net",
		.device_id = 1,
		.features = f,
		.nr_queues = 2,
		.queue_max = NET_QUEUE_SIZE,
		.config_size = NET_CFG_SIZE,
		.config_read = net_config_read,
		.notify = net_notify,
		.activate = net_activate,
		.reset = net_reset,
	};
	n->vdev.ops = &n->ops;
	n->vdev.priv = n;
	n->vdev.vm = vm;
	if (net_rx_init(n) || net_tx_init(n)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* EPOLLIN from the start; the first event without a driver masks it (net_fd_event). */
	if (loop_add(&vm->loop, n->fd, EPOLLIN, net_fd_ready, n)) {
		snprintf(err, errlen, "cannot watch descriptor %d", n->fd);
		goto fail;
	}
	n->fd_watched = true;
	n->fd_events = EPOLLIN;
	return n;
fail:
	net_destroy(n);
	return NULL;
}

struct net_dev *net_create(struct vm *vm, const struct net_config *cfg, bool *config_error)
{
	char err[256] = "";
	struct net_dev *n = net_new(vm, cfg, err, sizeof(err));

	*config_error = false;
	if (!n) {
		fprintf(stderr, "flashpan: --net: %s\n", err);
		*config_error = strcmp(err, "out of memory") != 0;
		return NULL;
	}
	if (virtio_mmio_add(vm, &n->vdev)) {
		net_destroy(n);
		return NULL;
	}
	return n;
}

static void net_log_stats(const struct net_dev *n)
{
	const struct net_stats *s = &n->st;
	uint64_t dropped = s->rx_short + s->rx_long + s->rx_bad_hdr + s->rx_no_room + s->tx_short + s->tx_long +
			   s->tx_bad_hdr + s->tx_error + s->tx_link_down;

	if (!dropped && !n->debug)
		return;
	fprintf(stderr,
		"flashpan: virtio-net (%s): rx %" PRIu64 " frames %" PRIu64 " bytes, dropped %" PRIu64 " short %" PRIu64
		" long %" PRIu64 " bad-header %" PRIu64 " no-buffer-room; tx %" PRIu64 " frames %" PRIu64
		" bytes, dropped %" PRIu64 " short %" PRIu64 " long %" PRIu64 " bad-header %" PRIu64
		" host-error %" PRIu64 " link-down\n",
		net_kind_name(n->kind), s->rx_frames, s->rx_bytes, s->rx_short, s->rx_long, s->rx_bad_hdr,
		s->rx_no_room, s->tx_frames, s->tx_bytes, s->tx_short, s->tx_long, s->tx_bad_hdr, s->tx_error,
		s->tx_link_down);
}

void net_destroy(struct net_dev *n)
{
	if (!n)
		return;
	if (n->vdev.vm && n->vdev.irqfd >= 0)
		virtio_mmio_remove(&n->vdev);
	if (n->fd_watched)
		loop_del(&n->vm->loop, n->fd);
	if (n->fd >= 0) {
		net_log_stats(n);
		close(n->fd);
	}
	net_rx_free(n);
	net_tx_free(n);
	pthread_mutex_destroy(&n->vdev.lock);
	free(n);
}

struct virtio_dev *net_virtio(struct net_dev *n)
{
	return &n->vdev;
}

enum net_kind net_backend_kind(const struct net_dev *n)
{
	return n->kind;
}

const struct net_stats *net_get_stats(const struct net_dev *n)
{
	return &n->st;
}
