/* SPDX-License-Identifier: MIT */
/*
 * What the four exec modes share: turning an ExecRequest into spawn options
 * (user, environment), the host's frames during a run, and the contract's
 * cancellation: when the host closes the connection, SIGTERM to the
 * command's process group and SIGKILL AGENT_KILL_GRACE_MS later.
 */
#ifndef AGENT_EXEC_H
#define AGENT_EXEC_H

#include <stdbool.h>
#include <time.h>

#include "guest/agent/agent.h"
#include "guest/agent/request.h"
#include "guest/agent/spawn.h"
#include "guest/agent/user.h"

struct exec_prep {
	struct exec_request req;
	struct user_cred cred;
	bool has_cred;
	char **envp;
};

/* Returns 0, or -errno with the reason in err (bad JSON, unknown user). */
int exec_prepare(struct agent *a, const char *json, size_t len, bool tty, struct exec_prep *p,
		 char *err, size_t errlen);
void exec_prep_free(struct exec_prep *p);

void exec_fill_opts(struct agent *a, struct exec_prep *p, struct spawn_opts *o);

struct exec_cancel {
	bool host_gone;
	bool killed;
	struct timespec kill_at;
};

/* The host is gone (or broke the protocol): start the SIGTERM/SIGKILL path. */
void exec_cancel_start(struct agent *a, struct spawned *s, struct exec_cancel *k);

/* Poll timeout in ms until the SIGKILL is due (-1: none); sends it when due. */
int exec_cancel_tick(struct agent *a, struct spawned *s, struct exec_cancel *k);

/*
 * Acts on one frame from the host during a run: Signal goes to the process
 * group, Stdin and Resize are given back to the caller (return 1), anything
 * else is a protocol error (-EPROTO, logged).
 */
int exec_host_frame(struct agent *a, struct spawned *s, const struct frame_reader *r);

long exec_ms_until(const struct timespec *t);
void exec_deadline(struct timespec *t, long ms);

#endif
