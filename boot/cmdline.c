// SPDX-License-Identifier: MIT
#include "boot/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmdline_init(struct cmdline *c, const char *base)
{
	c->buf = strdup(base ? base : "");
	c->len = c->buf ? strlen(c->buf) : 0;
	return c->buf ? 0 : -ENOMEM;
}

int cmdline_append(struct cmdline *c, const char *fmt, ...)
{
	char *word, *joined;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&word, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (n == 0) {
		free(word);
		return 0;
	}
	if (asprintf(&joined, "%s%s%s", c->buf, c->len ? " " : "", word) < 0) {
		free(word);
		return -ENOMEM;
	}
	free(word);
	free(c->buf);
	c->buf = joined;
	c->len = strlen(joined);
	return 0;
}

int cmdline_has(const struct cmdline *c, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = c->buf; (p = strstr(p, word)); p += wl) {
		if (p == c->buf || p[-1] == ' ')
			return 1;
	}
	return 0;
}

void cmdline_free(struct cmdline *c)
{
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}
