// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the guest agent's host-facing parsers: the frame
 * reader (guest/agent/frame.c) fed in small uneven pieces, and every JSON
 * request body (guest/agent/request.c, base64.c) a complete frame carries,
 * then the response encoders with the parsed strings (invalid UTF-8 paths).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/agent/base64.h"
#include "guest/agent/frame.h"
#include "guest/agent/request.h"

static void parse_body(uint8_t type, const char *p, size_t len)
{
	struct exec_request er;
	struct portfwd_request pr;
	struct file_request fr;
	struct file_entry fe = { 0 };
	char err[256];
	size_t out_len;
	char *out;

	if (exec_request_parse(p, len, type == FRAME_EXEC_TTY, &er, err, sizeof(err)) == 0) {
		assert(er.command);
		out = exec_result_encode(-1, er.stdin_data, er.stdin_len, (const uint8_t *)p, len,
					 er.command, &out_len);
		free(out);
	}
	exec_request_free(&er);
	if (portfwd_request_parse(p, len, &pr, err, sizeof(err)) == 0)
		assert(pr.host && pr.host[0]);
	portfwd_request_free(&pr);
	if (file_request_parse(p, len, &fr, err, sizeof(err)) == 0) {
		fe.name = fr.path;
		fe.mode = fr.mode;
		fe.size = fr.content_len;
		out = file_result_encode(fr.content, fr.content_len, &fe, 1, fr.path, &out_len);
		free(out);
	}
	file_request_free(&fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	size_t off = 0, step = 1;
	uint8_t *dec;
	size_t dec_len, bad;

	if (base64_decode((const char *)data, size, &dec, &dec_len, &bad) == 0) {
		char *enc = malloc(base64_encoded_len(dec_len) + 1);

		base64_encode(dec, dec_len, enc);
		free(enc);
		free(dec);
	}
	/* A 1 MiB cap keeps the fuzzer's memory in bounds; the logic is the same. */
	frame_reader_init(&r, 1u << 20);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		ssize_t used = frame_reader_push(&r, data + off, n);

		if (used < 0)
			break;
		assert(used > 0 || r.complete);
		off += used;
		step = step % 13 + 1;
		if (r.complete) {
			assert(r.len == 0 || r.payload);
			parse_body(r.type, (const char *)r.payload, r.len);
			frame_reader_reset(&r);
		}
	}
	frame_reader_reset(&r);
	return 0;
}
