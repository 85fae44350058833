/* SPDX-License-Identifier: MIT */
/* A growable string with a sticky out-of-memory flag: append freely, check once at the end. */
#ifndef FLASHPAN_API_STRBUF_H
#define FLASHPAN_API_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

void sb_puts(struct strbuf *sb, const char *s);
void sb_putn(struct strbuf *sb, const void *data, size_t n);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (caller frees), or NULL with errno = ENOMEM if any append failed. */
char *sb_finish(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
