// SPDX-License-Identifier: MIT
/*
 * One connection to port 5000: one request. The first frame picks the mode
 * (GUEST-CONTRACT.md "The exec service on port 5000"); a first frame that
 * is truncated, oversized or of a type the host may not open with closes
 * the connection with a log line and nothing else.
 */
#include "guest/agent/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void agent_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "flashpan-agent: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	/* One write per line, so lines from two threads do not mix. */
	if (write(STDERR_FILENO, line, strlen(line)) < 0)
		return;
}

void conn_serve(struct agent *a, int fd)
{
	struct frame_reader r;
	struct conn c;
	char *req;
	int ret;

	conn_init(&c, fd);
	frame_reader_init(&r, FRAME_MAX_PAYLOAD);
	ret = frame_reader_fill(&r, fd, false);
	if (ret < 0) {
		if (ret == -EMSGSIZE)
			agent_log("request of %u bytes is over the %u byte limit", r.len, r.max);
		else if (ret != -ENODATA)
			agent_log("reading the request: %s", strerror(-ret));
		goto out;
	}
	req = (char *)r.payload;
	switch (r.type) {
	case FRAME_EXEC:
	case FRAME_EXEC_STREAM:
	case FRAME_EXEC_PIPE:
		exec_serve(a, &c, r.type, req, r.len);
		break;
	case FRAME_EXEC_TTY:
		exec_tty_serve(a, &c, req, r.len);
		break;
	case FRAME_PORT_FORWARD:
		portfwd_serve(a, &c, req, r.len);
		break;
	case FRAME_WRITE_FILE:
	case FRAME_READ_FILE:
	case FRAME_LIST_FILES:
		files_serve(a, &c, r.type, req, r.len);
		break;
	default:
		agent_log("a connection may not start with %s (%u); closing it",
			  frame_type_name(r.type), r.type);
		break;
	}
out:
	frame_reader_reset(&r);
	/* Every frame is queued; the host sees them, then the end. */
	shutdown(fd, SHUT_WR);
	close(fd);
	conn_destroy(&c);
}
