// SPDX-License-Identifier: MIT
/* Standard padded base64; see base64.h. */
#include "guest/agent/base64.h"

#include <errno.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*out++ = alphabet[v >> 18];
		*out++ = alphabet[(v >> 12) & 63];
		*out++ = alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = 0;
}

static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len, size_t *bad_at)
{
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	size_t len = 0, i, q = 0, pad = 0;
	uint32_t acc = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		unsigned char c = in[i];
		int v;

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding only in the last two places of a quantum. */
			if (q < 2)
				goto bad;
			pad++;
			q++;
			if (q == 4)
				break;
			continue;
		}
		v = sextet(c);
		if (v < 0 || pad)
			goto bad;
		acc = acc << 6 | v;
		if (++q == 4) {
			buf[len++] = acc >> 16;
			buf[len++] = acc >> 8;
			buf[len++] = acc;
			acc = 0;
			q = 0;
		}
	}
	if (pad) {
		/* Only line breaks may follow the padding. */
		for (i++; i < n; i++)
			if (in[i] != '\r' && in[i] != '\n')
				goto bad;
		acc <<= 6 * pad;
		buf[len++] = acc >> 16;
		if (pad == 1)
			buf[len++] = acc >> 8;
	} else if (q != 0) {
		i = n;
		goto bad;
	}
	*out = buf;
	*out_len = len;
	return 0;
bad:
	free(buf);
	*bad_at = i;
	return -EINVAL;
}
