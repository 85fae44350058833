/* SPDX-License-Identifier: MIT */
/*
 * flashpan's guest agent: the service behind vsock ports 5000 (exec and
 * files) and 5002 (readiness), per GUEST-CONTRACT.md. One struct agent owns
 * the state every connection shares; each connection runs on its own
 * thread (conn_serve), so a hung command never holds up another request.
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "guest/agent/frame.h"
#include "guest/agent/reaper.h"
#include "guest/agent/sandbox.h"

#define AGENT_PORT_EXEC 5000
#define AGENT_PORT_READY 5002

/* The contract: SIGTERM to a cancelled command, SIGKILL this much later. */
#define AGENT_KILL_GRACE_MS 5000

struct agent {
	struct sandbox sandbox;
	struct reaper reaper;
	const char *passwd_path;
	const char *group_path;
};

/* Serves one connection to the exec service, then closes fd. */
void conn_serve(struct agent *a, int fd);

void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Request handlers, each given the first frame's payload (NUL-terminated). */
void exec_serve(struct agent *a, struct conn *c, uint8_t mode, const char *req, size_t len);
void exec_tty_serve(struct agent *a, struct conn *c, const char *req, size_t len);
void portfwd_serve(struct agent *a, struct conn *c, const char *req, size_t len);
void files_serve(struct agent *a, struct conn *c, uint8_t type, const char *req, size_t len);

#endif
