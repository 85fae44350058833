/* SPDX-License-Identifier: MIT */
/*
 * The exec service's framing (GUEST-CONTRACT.md, "The exec service on port
 * 5000"): every message, both directions, is
 *
 *	u8 type | u32 big-endian payload length | payload
 *
 * The host is not trusted to send sane lengths, so the reader refuses a
 * payload larger than its cap before allocating anything.
 */
#ifndef AGENT_FRAME_H
#define AGENT_FRAME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum frame_type {
	FRAME_EXEC = 1,
	FRAME_EXEC_RESULT = 2,
	FRAME_STDOUT = 3,
	FRAME_STDERR = 4,
	FRAME_SIGNAL = 5,
	FRAME_READY = 6,
	FRAME_STDIN = 7,
	FRAME_RESIZE = 8,
	FRAME_EXEC_TTY = 9,
	FRAME_EXIT = 10,
	FRAME_EXEC_STREAM = 11,
	FRAME_EXEC_PIPE = 12,
	FRAME_PORT_FORWARD = 13,
	FRAME_WRITE_FILE = 14,
	FRAME_READ_FILE = 15,
	FRAME_LIST_FILES = 16,
	FRAME_FILE_RESULT = 17,
};

#define FRAME_HEADER_LEN 5

/* The largest file ReadFile returns and WriteFile is meant for. */
#define FILE_MAX_BYTES (16u << 20)

/*
 * The largest payload either side sends: a 16 MiB file as base64 (4/3 of
 * it) inside a JSON object, plus room for the path and the other fields.
 */
#define FRAME_MAX_PAYLOAD ((FILE_MAX_BYTES / 3 + 1) * 4 + (1u << 20))

/*
 * Incremental reader: bytes go in as they arrive, a frame comes out when
 * whole. The same code serves the blocking first read, the poll loops of
 * the exec modes and the fuzzer.
 */
struct frame_reader {
	uint8_t hdr[FRAME_HEADER_LEN];
	size_t hdr_got;
	uint8_t type;
	uint32_t len;
	uint8_t *payload;	/* len bytes (+1 for a NUL), owned until taken */
	size_t got;
	uint32_t max;
	bool complete;
};

void frame_reader_init(struct frame_reader *r, uint32_t max);
void frame_reader_reset(struct frame_reader *r);

/*
 * Feed n bytes; returns how many were consumed (it never reads past the end
 * of a frame) or -EMSGSIZE for a length over the cap, -ENOMEM. When a frame
 * is whole, r->complete is set and the caller must reset before the next.
 */
ssize_t frame_reader_push(struct frame_reader *r, const uint8_t *p, size_t n);

/*
 * Read from a socket until a frame is whole (1), or, when nonblock is set,
 * until the socket has nothing more (0). -ENODATA is a clean end of stream
 * at a frame boundary, -EPIPE an end in the middle of a frame.
 */
int frame_reader_fill(struct frame_reader *r, int fd, bool nonblock);

/* Take the payload out of a complete frame (NUL-terminated, may be NULL). */
uint8_t *frame_reader_take(struct frame_reader *r);

const char *frame_type_name(uint8_t type);

/* One connection to the host; writes are serialized so frames never mix. */
struct conn {
	int fd;
	pthread_mutex_t wlock;
};

void conn_init(struct conn *c, int fd);
void conn_destroy(struct conn *c);

/* Writes one whole frame; -EPIPE and friends when the host is gone. */
int frame_write(struct conn *c, uint8_t type, const void *p, size_t len);
int frame_write_u32(struct conn *c, uint8_t type, uint32_t v);

#endif
