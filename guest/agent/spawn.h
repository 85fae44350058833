/* SPDX-License-Identifier: MIT */
/*
 * Starting a command: `sh -c <command>` with its stdio on the given fds, in
 * its own process group (or session, for a terminal), as the requested user,
 * in the working directory, confined unless privileged (sandbox.h).
 *
 * Confined, the agent's child is a small init for the new PID namespace:
 *
 *	agent --clone(NEWPID|NEWNS)--> ns init (pid 1) --fork--> sh -c <command>
 *
 * A namespace's pid 1 ignores every signal it has no handler for, even from
 * the parent namespace (pid_namespaces(7)); with sh as pid 1, the SIGTERM
 * the contract sends on a closed connection would do nothing. The ns init
 * takes that role instead: the signal reaches sh through the process group,
 * the ns init reaps, reports sh's wait status through a pipe and exits,
 * which kills whatever is left in the namespace.
 *
 * A failure before the exec (chdir, user switch, mount, seccomp) is
 * reported through a close-on-exec pipe as (stage, errno), and the child
 * exits 127.
 */
#ifndef AGENT_SPAWN_H
#define AGENT_SPAWN_H

#include <stddef.h>

#include "guest/agent/reaper.h"
#include "guest/agent/sandbox.h"
#include "guest/agent/user.h"

struct spawn_opts {
	const char *command;
	const char *working_dir;	/* "/" when NULL */
	char **envp;
	const struct user_cred *cred;	/* NULL: stay root */
	int fd_in, fd_out, fd_err;	/* become 0, 1, 2 */
	int tty_fd;			/* >= 0: make it the controlling terminal */
	const struct sandbox *sandbox;
};

struct spawned {
	struct child_watch watch;	/* registered with the reaper */
	int status_rd;			/* confined: the ns init's report, else -1 */
};

/*
 * Returns 0 when the command was exec'd. A start failure returns -errno
 * with a message in err; the child is still registered and must be waited
 * for like a started one (it exits 127 at once).
 */
int spawn_command(struct reaper *r, const struct spawn_opts *o, struct spawned *s,
		  char *err, size_t errlen);

/*
 * After the watch fired: the command's exit code per the contract, the
 * child's code or -1 when a signal killed it.
 */
int spawned_exit_code(struct spawned *s);

void spawned_release(struct reaper *r, struct spawned *s);

/*
 * The environment for a request: the agent's own, then each KEY=VALUE of
 * env replacing an inherited KEY (the last one wins, as with Go's os/exec).
 */
char **spawn_build_env(char **env, size_t n_env);
void spawn_free_env(char **envp);

#endif
