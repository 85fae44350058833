// SPDX-License-Identifier: MIT
#include "devices/virtio/net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* /dev/net/tun is the misc device 10:200 (Documentation/admin-guide/devices.txt). */
#define TUN_MAJOR 10
#define TUN_MINOR 200

const char *net_kind_name(enum net_kind kind)
{
	switch (kind) {
	case NET_KIND_TAP:
		return "tap";
	case NET_KIND_DGRAM:
		return "datagram socket";
	case NET_KIND_STREAM:
		return "stream socket";
	}
	return "?";
}

static int tap_kind(int fd, bool *vnet_hdr, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };

	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		int e = errno;

		snprintf(err, errlen, "descriptor is /dev/net/tun but not attached to an interface (TUNGETIFF: %s)",
			 strerror(e));
		return -ENOTSUP;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
		snprintf(err, errlen, "%.*s is a TUN (layer 3) device; virtio-net needs a TAP (IFF_TAP)",
			 IFNAMSIZ, ifr.ifr_name);
		return -ENOTSUP;
	}
	if (!(ifr.ifr_flags & IFF_NO_PI)) {
		snprintf(err, errlen, "tap %.*s was attached without IFF_NO_PI; frames would carry a packet-information prefix",
			 IFNAMSIZ, ifr.ifr_name);
		return -ENOTSUP;
	}
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	return 0;
}

int net_fd_kind(int fd, enum net_kind *kind, bool *vnet_hdr, char *err, size_t errlen)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);

	*vnet_hdr = false;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "descriptor %d: %s", fd, strerror(e));
		return -e;
	}
	if (S_ISCHR(st.st_mode)) {
		if (major(st.st_rdev) != TUN_MAJOR || minor(st.st_rdev) != TUN_MINOR) {
			snprintf(err, errlen, "descriptor %d is a character device %u:%u, not /dev/net/tun", fd,
				 major(st.st_rdev), minor(st.st_rdev));
			return -ENOTSUP;
		}
		*kind = NET_KIND_TAP;
		return tap_kind(fd, vnet_hdr, err, errlen);
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "descriptor %d is a %s, not a TAP device or a socket", fd,
			 S_ISREG(st.st_mode) ? "regular file" : S_ISFIFO(st.st_mode) ? "pipe" :
			 S_ISDIR(st.st_mode) ? "directory" : "file of another kind");
		return -ENOTSUP;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		int e = errno;

		snprintf(err, errlen, "descriptor %d: SO_TYPE: %s", fd, strerror(e));
		return -e;
	}
	switch (type) {
	case SOCK_DGRAM:
		*kind = NET_KIND_DGRAM;
		return 0;
	case SOCK_STREAM:
		*kind = NET_KIND_STREAM;
		return 0;
	default:
		snprintf(err, errlen, "descriptor %d is a socket of type %d; want SOCK_DGRAM (one frame per "
			 "datagram) or SOCK_STREAM (4-byte big-endian length before each frame)", fd, type);
		return -ENOTSUP;
	}
}

int net_tap_open(const char *name, bool *vnet_hdr, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	unsigned int features = 0;
	int fd, e;

	if (!*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, errlen, "tap name '%s' must have 1 to %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(e));
		return -e;
	}
	/* Kernels without IFF_VNET_HDR (before 2.6.27) still give plain frames. */
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	*vnet_hdr = features & IFF_VNET_HDR;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (*vnet_hdr ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach to tap %s: %s%s", name, strerror(e),
			 e == EPERM ? " (needs CAP_NET_ADMIN, or a tap owned by this user)" :
			 e == EBUSY ? " (already attached by another process, or a TUN device)" : "");
		close(fd);
		return -e;
	}
	return fd;
}

int net_tap_set_hdr_size(int fd, int size)
{
	return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

int net_tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

int net_stream_rx_init(struct net_stream_rx *s, uint32_t max_frame)
{
	*s = (struct net_stream_rx){ .max_frame = max_frame };
	/* Room for a few frames so one read() can bring in a batch. */
	s->cap = 4 * (4 + (size_t)max_frame);
	if (s->cap < 65536)
		s->cap = 65536;
	s->buf = malloc(s->cap);
	return s->buf ? 0 : -ENOMEM;
}

void net_stream_rx_free(struct net_stream_rx *s)
{
	free(s->buf);
	s->buf = NULL;
}

enum net_stream_result net_stream_next(struct net_stream_rx *s, const uint8_t **frame, uint32_t *len)
{
	size_t avail = s->end - s->start;
	const uint8_t *p;
	uint32_t n;

	if (s->skip) {
		size_t k = avail < s->skip ? avail : (size_t)s->skip;

		s->start += k;
		s->skip -= k;
		avail -= k;
		if (s->skip)
			return NET_STREAM_NEED_MORE;
	}
	if (avail < 4)
		return NET_STREAM_NEED_MORE;
	p = s->buf + s->start;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n > s->max_frame) {
		s->start += 4;
		s->skip = n;
		return NET_STREAM_TOO_LONG;
	}
	if (avail - 4 < n)
		return NET_STREAM_NEED_MORE;
	*frame = p + 4;
	*len = n;
	s->start += 4 + (size_t)n;
	return NET_STREAM_FRAME;
}

uint8_t *net_stream_space(struct net_stream_rx *s, size_t *space)
{
	if (s->start == s->end) {
		s->start = s->end = 0;
	} else if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
	*space = s->cap - s->end;
	return s->buf + s->end;
}

void net_stream_filled(struct net_stream_rx *s, size_t n)
{
	s->end += n;
}
