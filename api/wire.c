// SPDX-License-Identifier: MIT
/*
 * Talking to the guest: the hybrid vsock handshake (connect to the VMM's Unix
 * socket, "CONNECT <port>\n", "OK <hostport>\n", then the stream is the
 * guest's port) and the exec service's frames.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/machine.h"
#include "api/wire.h"

/* Wait until fd is readable; 0, -ETIMEDOUT or -ECANCELED. */
static int wait_readable(int fd, int cancel_fd, int64_t deadline_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
	int n, timeout;

	for (;;) {
		timeout = -1;
		if (deadline_ms) {
			int64_t left = deadline_ms - mono_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue; /* the deadline check above decides */
		if (cancel_fd >= 0 && p[1].revents)
			return -ECANCELED;
		return 0;
	}
}

int vsock_dial(const char *uds, uint32_t port, int timeout_ms, const char **why)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char cmd[32], line[64];
	int fd, rc, len;
	ssize_t n;

	if (strlen(uds) >= sizeof(sa.sun_path)) {
		*why = "socket path too long";
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = "socket() failed";
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		*why = rc == -ENOENT ? "the VMM's vsock socket does not exist" : "cannot connect to the vsock socket";
		goto fail;
	}
	len = snprintf(cmd, sizeof(cmd), "CONNECT %u\n", port);
	if (send(fd, cmd, (size_t)len, MSG_NOSIGNAL) != len) {
		rc = -EPIPE;
		*why = "the VMM closed the vsock socket";
		goto fail;
	}
	/* Byte by byte up to the newline: guest bytes may follow the OK line at once. */
	for (size_t got = 0;;) {
		char c;

		rc = wait_readable(fd, -1, deadline);
		if (rc) {
			*why = "no answer to CONNECT";
			goto fail;
		}
		n = recv(fd, &c, 1, 0);
		if (n <= 0) {
			rc = n == 0 ? -ECONNREFUSED : -errno;
			*why = "nothing listens on the guest port yet";
			goto fail;
		}
		if (c == '\n') {
			line[got] = 0;
			if (strncmp(line, "OK ", 3)) {
				rc = -EPROTO;
				*why = "the VMM did not answer OK";
				goto fail;
			}
			return fd;
		}
		if (got == sizeof(line) - 1) {
			rc = -EPROTO;
			*why = "the VMM's answer is too long";
			goto fail;
		}
		line[got++] = c;
	}
fail:
	close(fd);
	return rc;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wire_send(int fd, uint8_t type, const void *payload, size_t len)
{
	uint8_t hdr[5] = { type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	int rc;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	rc = write_all(fd, hdr, sizeof(hdr));
	return rc ? rc : len ? write_all(fd, payload, len) : 0;
}

static int read_full(int fd, int cancel_fd, int64_t deadline_ms, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		int rc = wait_readable(fd, cancel_fd, deadline_ms);
		ssize_t n;

		if (rc)
			return rc;
		n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wire_recv(int fd, int cancel_fd, int64_t deadline_ms, uint8_t *type, uint8_t **payload, uint32_t *len)
{
	uint8_t hdr[5];
	int rc;

	*payload = NULL;
	rc = read_full(fd, cancel_fd, deadline_ms, hdr, sizeof(hdr));
	if (rc)
		return rc;
	*type = hdr[0];
	*len = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (*len > WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	*payload = malloc((size_t)*len + 1);
	if (!*payload)
		return -ENOMEM;
	rc = read_full(fd, cancel_fd, deadline_ms, *payload, *len);
	if (rc) {
		free(*payload);
		*payload = NULL;
		return rc;
	}
	(*payload)[*len] = 0;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *b64_encode(const void *data, size_t len)
{
	const uint8_t *p = data;
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < len ? p[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int b64_decode(const char *s, uint8_t **out, size_t *out_len)
{
	size_t len = strlen(s), n = 0;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (len % 4)
		return -EINVAL;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' && i + 4 == len && k >= 2 ? 0 : b64_value(s[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || (s[i + 2] == '=' && s[i + 3] != '=')) {
			free(buf);
			return -EINVAL;
		}
		buf[n++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (s[i + 2] != '=')
			buf[n++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (s[i + 3] != '=')
			buf[n++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	buf[n] = 0;
	*out = buf;
	*out_len = n;
	return 0;
}
