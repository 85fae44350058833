/* SPDX-License-Identifier: MIT */
/* A growable kernel command line: words joined by single spaces. */
#ifndef FLASHPAN_CMDLINE_H
#define FLASHPAN_CMDLINE_H

#include <stddef.h>

struct cmdline {
	char *buf;
	size_t len;
};

/* Start from `base` (may be NULL or empty); 0 or -ENOMEM. */
int cmdline_init(struct cmdline *c, const char *base);
/* Append printf-formatted text, separated by one space; 0 or -ENOMEM. */
int cmdline_append(struct cmdline *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether `word` (e.g. "noxsave" or "clearcpuid=") starts a word of the line. */
int cmdline_has(const struct cmdline *c, const char *word);
void cmdline_free(struct cmdline *c);

#endif
