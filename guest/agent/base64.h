/* SPDX-License-Identifier: MIT */
/*
 * Standard padded base64 (RFC 4648 §4), the encoding Go's encoding/json
 * uses for []byte fields.
 */
#ifndef AGENT_BASE64_H
#define AGENT_BASE64_H

#include <stddef.h>
#include <stdint.h>

size_t base64_encoded_len(size_t n);

/* Writes base64_encoded_len(n) characters and a NUL to out. */
void base64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes in[0..n) into a fresh buffer (*out, *out_len). Like Go's
 * StdEncoding it skips \r and \n and requires correct padding. Returns 0, or
 * -EINVAL with *bad_at set to the offending offset, or -ENOMEM.
 */
int base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len, size_t *bad_at);

#endif
