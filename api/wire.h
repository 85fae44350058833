/* SPDX-License-Identifier: MIT */
/*
 * The host side of the agent's exec service (GUEST-CONTRACT.md, "The exec
 * service on port 5000"): frames of u8 type, u32 big-endian length and a
 * payload, read with a deadline and a cancel descriptor; standard padded
 * base64 for the byte arrays in JSON bodies.
 */
#ifndef FLASHPAN_API_WIRE_H
#define FLASHPAN_API_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum wire_type {
	WIRE_EXEC = 1,
	WIRE_EXEC_RESULT = 2,
	WIRE_STDOUT = 3,
	WIRE_STDERR = 4,
	WIRE_SIGNAL = 5,
	WIRE_READY = 6,
	WIRE_STDIN = 7,
	WIRE_RESIZE = 8,
	WIRE_EXEC_TTY = 9,
	WIRE_EXIT = 10,
	WIRE_EXEC_STREAM = 11,
	WIRE_EXEC_PIPE = 12,
	WIRE_PORT_FORWARD = 13,
	WIRE_WRITE_FILE = 14,
	WIRE_READ_FILE = 15,
	WIRE_LIST_FILES = 16,
	WIRE_FILE_RESULT = 17,
};

/* A 16 MiB file as base64 in JSON, with room to spare. */
#define WIRE_MAX_PAYLOAD (32u << 20)

/* One whole frame to fd (blocking). 0 or -errno. */
int wire_send(int fd, uint8_t type, const void *payload, size_t len);

/*
 * Read one frame. Waits at most until deadline_ms (CLOCK_MONOTONIC ms; 0: no
 * deadline) and returns -ECANCELED when cancel_fd (-1: none) becomes
 * readable. *payload is allocated and NUL-terminated. 0, -ETIMEDOUT,
 * -ECANCELED, -ECONNRESET (the guest closed), -EMSGSIZE or -errno.
 */
int wire_recv(int fd, int cancel_fd, int64_t deadline_ms, uint8_t *type, uint8_t **payload, uint32_t *len);

/* Base64 (RFC 4648, padded). encode: allocated, NUL-terminated. decode: -EINVAL on bad input. */
char *b64_encode(const void *data, size_t len);
int b64_decode(const char *s, uint8_t **out, size_t *out_len);

#endif
