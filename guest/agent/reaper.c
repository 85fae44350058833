// SPDX-License-Identifier: MIT
/* The agent's single reaper of children; see reaper.h. */
#include "guest/agent/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void reap_all(struct reaper *r)
{
	for (;;) {
		siginfo_t si = { 0 };
		struct child_watch *w;
		int status = 0;

		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			return;
		pthread_mutex_lock(&r->lock);
		if (waitpid(si.si_pid, &status, WNOHANG) == si.si_pid) {
			for (w = r->children; w && w->pid != si.si_pid; w = w->next)
				;
			if (w && !w->exited) {
				w->status = status;
				w->exited = true;
				if (write(w->notify_wr, "x", 1) < 0)
					perror("flashpan-agent: reaper notify");
			}
		}
		pthread_mutex_unlock(&r->lock);
	}
}

static void *reaper_main(void *arg)
{
	struct reaper *r = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		/* A timeout as a backstop: a lost wakeup costs one second. */
		struct timespec ts = { .tv_sec = 1 };

		sigtimedwait(&set, NULL, &ts);
		reap_all(r);
	}
	return NULL;
}

int reaper_start(struct reaper *r)
{
	sigset_t set;
	int ret;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	ret = pthread_create(&r->thread, NULL, reaper_main, r);
	if (ret)
		return -ret;
	pthread_detach(r->thread);
	return 0;
}

int child_watch_init(struct child_watch *w)
{
	int p[2];

	memset(w, 0, sizeof(*w));
	w->pid = -1;
	w->notify_rd = w->notify_wr = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	w->notify_rd = p[0];
	w->notify_wr = p[1];
	return 0;
}

void child_watch_destroy(struct child_watch *w)
{
	if (w->notify_rd >= 0)
		close(w->notify_rd);
	if (w->notify_wr >= 0)
		close(w->notify_wr);
	w->notify_rd = w->notify_wr = -1;
}

void reaper_lock(struct reaper *r)
{
	pthread_mutex_lock(&r->lock);
}

void reaper_unlock(struct reaper *r)
{
	pthread_mutex_unlock(&r->lock);
}

void reaper_add_locked(struct reaper *r, struct child_watch *w, pid_t pid)
{
	w->pid = pid;
	w->exited = false;
	w->next = r->children;
	r->children = w;
}

void reaper_remove(struct reaper *r, struct child_watch *w)
{
	struct child_watch **pp;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->children; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

void reaper_kill_group(struct reaper *r, struct child_watch *w, int sig)
{
	pthread_mutex_lock(&r->lock);
	if (!w->exited && w->pid > 0)
		kill(-w->pid, sig);
	pthread_mutex_unlock(&r->lock);
}
