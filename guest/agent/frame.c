// SPDX-License-Identifier: MIT
/* Frame reader and writer for the exec service; see frame.h. */
#include "guest/agent/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

void frame_reader_init(struct frame_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void frame_reader_reset(struct frame_reader *r)
{
	free(r->payload);
	frame_reader_init(r, r->max);
}

uint8_t *frame_reader_take(struct frame_reader *r)
{
	uint8_t *p = r->payload;

	r->payload = NULL;
	return p;
}

ssize_t frame_reader_push(struct frame_reader *r, const uint8_t *p, size_t n)
{
	size_t used = 0;

	if (r->complete)
		return 0;
	if (r->hdr_got < FRAME_HEADER_LEN) {
		size_t want = FRAME_HEADER_LEN - r->hdr_got;

		if (want > n)
			want = n;
		memcpy(r->hdr + r->hdr_got, p, want);
		r->hdr_got += want;
		used += want;
		if (r->hdr_got < FRAME_HEADER_LEN)
			return used;
		r->type = r->hdr[0];
		r->len = (uint32_t)r->hdr[1] << 24 | (uint32_t)r->hdr[2] << 16 |
			 (uint32_t)r->hdr[3] << 8 | r->hdr[4];
		if (r->len > r->max)
			return -EMSGSIZE;
		/* +1: JSON payloads are handed to the parser NUL-terminated. */
		r->payload = malloc((size_t)r->len + 1);
		if (!r->payload)
			return -ENOMEM;
		r->payload[r->len] = 0;
		r->got = 0;
	}
	if (r->got < r->len) {
		size_t want = r->len - r->got;

		if (want > n - used)
			want = n - used;
		memcpy(r->payload + r->got, p + used, want);
		r->got += want;
		used += want;
	}
	if (r->got == r->len)
		r->complete = true;
	return used;
}

int frame_reader_fill(struct frame_reader *r, int fd, bool nonblock)
{
	uint8_t hdr[FRAME_HEADER_LEN];

	while (!r->complete) {
		uint8_t *dst;
		size_t want;
		ssize_t n, used;

		/*
		 * Read straight into the payload buffer, and never past the end
		 * of this frame: the next frame stays in the socket.
		 */
		if (r->hdr_got < FRAME_HEADER_LEN) {
			dst = hdr;
			want = FRAME_HEADER_LEN - r->hdr_got;
		} else {
			dst = r->payload + r->got;
			want = r->len - r->got;
		}
		n = recv(fd, dst, want, nonblock ? MSG_DONTWAIT : 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		if (n == 0)
			return r->hdr_got == 0 ? -ENODATA : -EPIPE;
		if (dst == hdr) {
			used = frame_reader_push(r, hdr, n);
			if (used < 0)
				return used;
		} else {
			r->got += n;
			if (r->got == r->len)
				r->complete = true;
		}
	}
	return 1;
}

const char *frame_type_name(uint8_t type)
{
	static const char *const names[] = {
		[FRAME_EXEC] = "Exec",
		[FRAME_EXEC_RESULT] = "ExecResult",
		[FRAME_STDOUT] = "Stdout",
		[FRAME_STDERR] = "Stderr",
		[FRAME_SIGNAL] = "Signal",
		[FRAME_READY] = "Ready",
		[FRAME_STDIN] = "Stdin",
		[FRAME_RESIZE] = "Resize",
		[FRAME_EXEC_TTY] = "ExecTTY",
		[FRAME_EXIT] = "Exit",
		[FRAME_EXEC_STREAM] = "ExecStream",
		[FRAME_EXEC_PIPE] = "ExecPipe",
		[FRAME_PORT_FORWARD] = "PortForward",
		[FRAME_WRITE_FILE] = "WriteFile",
		[FRAME_READ_FILE] = "ReadFile",
		[FRAME_LIST_FILES] = "ListFiles",
		[FRAME_FILE_RESULT] = "FileResult",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

void conn_init(struct conn *c, int fd)
{
	c->fd = fd;
	pthread_mutex_init(&c->wlock, NULL);
}

void conn_destroy(struct conn *c)
{
	pthread_mutex_destroy(&c->wlock);
}

int frame_write(struct conn *c, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[FRAME_HEADER_LEN] = { type, len >> 24, len >> 16, len >> 8, len };
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)p, .iov_len = len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	int ret = 0;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	pthread_mutex_lock(&c->wlock);
	while (msg.msg_iovlen > 0) {
		/* MSG_NOSIGNAL: a vanished host is an error code, not SIGPIPE. */
		ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		while (n > 0 && msg.msg_iovlen > 0) {
			size_t step = (size_t)n < msg.msg_iov->iov_len ? (size_t)n : msg.msg_iov->iov_len;

			msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + step;
			msg.msg_iov->iov_len -= step;
			n -= step;
			if (msg.msg_iov->iov_len == 0) {
				msg.msg_iov++;
				msg.msg_iovlen--;
			}
		}
		while (msg.msg_iovlen > 0 && msg.msg_iov->iov_len == 0) {
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
	}
	pthread_mutex_unlock(&c->wlock);
	return ret;
}

int frame_write_u32(struct conn *c, uint8_t type, uint32_t v)
{
	uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };

	return frame_write(c, type, b, sizeof(b));
}
