/* SPDX-License-Identifier: MIT */
/*
 * One thread reaps every child of the agent. In the guest the agent is PID 1
 * (init execs it), so orphans land here too; a per-connection waitpid() could
 * not tell whose status it took. Connections register the children they
 * start and learn of the exit through a pipe they can poll.
 *
 * The reaper peeks with waitid(WNOWAIT) and reaps under the table lock, and
 * reaper_kill() signals under the same lock only while the child is not yet
 * reaped, so a signal never reaches a recycled process group id.
 */
#ifndef AGENT_REAPER_H
#define AGENT_REAPER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

struct child_watch {
	pid_t pid;
	int status;		/* wait status, valid once exited */
	bool exited;
	int notify_rd;		/* readable once exited */
	int notify_wr;
	struct child_watch *next;
};

struct reaper {
	pthread_mutex_t lock;
	struct child_watch *children;
	pthread_t thread;
};

/*
 * Blocks SIGCHLD in the calling thread (call it before any other thread
 * exists, so all inherit the mask) and starts the reaping thread.
 */
int reaper_start(struct reaper *r);

int child_watch_init(struct child_watch *w);
void child_watch_destroy(struct child_watch *w);

/* Fork with the lock held, then add: the reaper cannot miss the child. */
void reaper_lock(struct reaper *r);
void reaper_unlock(struct reaper *r);
void reaper_add_locked(struct reaper *r, struct child_watch *w, pid_t pid);
void reaper_remove(struct reaper *r, struct child_watch *w);

/* Signals the child's process group if it is not reaped yet. */
void reaper_kill_group(struct reaper *r, struct child_watch *w, int sig);

#endif
