// SPDX-License-Identifier: MIT
/* Starting commands; see spawn.h. */
#include "guest/agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/agent/request.h"

extern char **environ;

enum spawn_stage {
	STAGE_SESSION,
	STAGE_CTTY,
	STAGE_STDIO,
	STAGE_PROC,
	STAGE_CAPS,
	STAGE_SETGROUPS,
	STAGE_SETGID,
	STAGE_SETUID,
	STAGE_CHDIR,
	STAGE_NO_NEW_PRIVS,
	STAGE_SECCOMP,
	STAGE_FORK,
	STAGE_EXEC,
};

struct spawn_failure {
	int stage;
	int err;
};

struct spawn_ctx {
	const struct spawn_opts *o;
	int err_wr;
	int status_wr;
	char *argv[4];
	bool in_namespace;
};

#define NS_INIT_STACK (256 * 1024)

static void __attribute__((noreturn)) fail(const struct spawn_ctx *c, int stage, int err)
{
	struct spawn_failure f = { stage, err };

	if (write(c->err_wr, &f, sizeof(f)) < 0)
		_exit(126);
	_exit(127);
}

/* Closes every fd from 3 up except keep (-1 for none). */
static void close_other_fds(int keep)
{
	int fd;

	if (keep < 3) {
		if (syscall(SYS_close_range, 3U, ~0U, 0) == 0)
			return;
	} else if (syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0) == 0 &&
		   syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0) == 0) {
		return;
	}
	for (fd = 3; fd < 4096; fd++)
		if (fd != keep)
			close(fd);
}

static void take_terminal(const struct spawn_ctx *c)
{
	if (c->o->tty_fd >= 0) {
		if (setsid() < 0)
			fail(c, STAGE_SESSION, errno);
		if (ioctl(c->o->tty_fd, TIOCSCTTY, 0) < 0)
			fail(c, STAGE_CTTY, errno);
	} else if (setpgid(0, 0) < 0) {
		fail(c, STAGE_SESSION, errno);
	}
}

/* The command's side of the fork: async-signal-safe calls only. */
static void __attribute__((noreturn)) exec_command(const struct spawn_ctx *c)
{
	const struct spawn_opts *o = c->o;
	const struct sandbox *sb = o->sandbox;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int ret, sig;

	/*
	 * The agent blocks SIGCHLD and ignores SIGPIPE, and whoever started it
	 * may have left SIGINT ignored (a shell does for background jobs): the
	 * command starts with every signal at its default.
	 */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	if (!c->in_namespace)
		take_terminal(c);
	if (dup2(o->fd_in, 0) < 0 || dup2(o->fd_out, 1) < 0 || dup2(o->fd_err, 2) < 0)
		fail(c, STAGE_STDIO, errno);
	close_other_fds(c->err_wr);
	if (!sb->privileged) {
		ret = sandbox_drop_bounding_caps();
		if (ret)
			fail(c, STAGE_CAPS, -ret);
	}
	if (o->cred) {
		if (setgroups(o->cred->n_groups, o->cred->groups) < 0)
			fail(c, STAGE_SETGROUPS, errno);
		if (setgid(o->cred->gid) < 0)
			fail(c, STAGE_SETGID, errno);
		if (setuid(o->cred->uid) < 0)
			fail(c, STAGE_SETUID, errno);
	}
	/* After the switch, as Go's os/exec does: the user must reach the folder. */
	if (chdir(o->working_dir ? o->working_dir : "/") < 0)
		fail(c, STAGE_CHDIR, errno);
	if (!sb->privileged) {
		ret = sandbox_set_no_new_privs();
		if (ret)
			fail(c, STAGE_NO_NEW_PRIVS, -ret);
		ret = sandbox_load_filter(sb);
		if (ret)
			fail(c, STAGE_SECCOMP, -ret);
	}
	execve("/bin/sh", c->argv, o->envp);
	fail(c, STAGE_EXEC, errno);
}

/* pid 1 of the command's PID namespace; see spawn.h. */
static int ns_init(void *arg)
{
	struct spawn_ctx *c = arg;
	int status = 0, ret;
	pid_t cmd, pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	take_terminal(c);
	ret = sandbox_fresh_proc();
	if (ret)
		fail(c, STAGE_PROC, -ret);
	/*
	 * A raw clone, not fork(): glibc's fork runs atfork handlers that take
	 * locks another agent thread may have held when we were cloned.
	 */
	cmd = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (cmd < 0)
		fail(c, STAGE_FORK, errno);
	if (cmd == 0) {
		c->in_namespace = true;
		close(c->status_wr);
		exec_command(c);
	}
	close_other_fds(c->status_wr);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid == cmd)
			break;
		if (pid < 0 && errno != EINTR)
			_exit(127);
	}
	if (write(c->status_wr, &status, sizeof(status)) < 0)
		_exit(127);
	_exit(0);
}

static const char *stage_text(const struct spawn_opts *o, int stage, char *buf, size_t len)
{
	switch (stage) {
	case STAGE_SESSION:
		return "setsid";
	case STAGE_CTTY:
		return "set controlling terminal";
	case STAGE_STDIO:
		return "dup2";
	case STAGE_PROC:
		return "mount /proc in the command's namespace";
	case STAGE_CAPS:
		return "drop capabilities";
	case STAGE_SETGROUPS:
		return "setgroups";
	case STAGE_SETGID:
		snprintf(buf, len, "setgid %u", o->cred ? o->cred->gid : 0);
		return buf;
	case STAGE_SETUID:
		snprintf(buf, len, "setuid %u", o->cred ? o->cred->uid : 0);
		return buf;
	case STAGE_CHDIR:
		snprintf(buf, len, "chdir %s", o->working_dir ? o->working_dir : "/");
		return buf;
	case STAGE_NO_NEW_PRIVS:
		return "prctl no_new_privs";
	case STAGE_SECCOMP:
		return "load seccomp filter";
	case STAGE_FORK:
		return "fork";
	case STAGE_EXEC:
		return "fork/exec /bin/sh";
	}
	return "start";
}

int spawn_command(struct reaper *r, const struct spawn_opts *o, struct spawned *s,
		  char *err, size_t errlen)
{
	struct spawn_ctx c = { .o = o, .status_wr = -1 };
	int errp[2] = { -1, -1 }, statp[2] = { -1, -1 }, ret;
	struct spawn_failure f;
	void *stack = MAP_FAILED;
	char what[4200], ebuf[128];
	ssize_t n;
	pid_t pid;

	s->status_rd = -1;
	c.argv[0] = "sh";
	c.argv[1] = "-c";
	c.argv[2] = (char *)o->command;
	c.argv[3] = NULL;
	ret = child_watch_init(&s->watch);
	if (ret)
		goto setup_failed;
	if (pipe2(errp, O_CLOEXEC) < 0)
		goto errno_failed;
	c.err_wr = errp[1];
	if (!o->sandbox->privileged) {
		if (pipe2(statp, O_CLOEXEC) < 0)
			goto errno_failed;
		c.status_wr = statp[1];
		stack = mmap(NULL, NS_INIT_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED)
			goto errno_failed;
	}
	reaper_lock(r);
	if (o->sandbox->privileged) {
		pid = fork();
		if (pid == 0)
			exec_command(&c);
	} else {
		pid = clone(ns_init, (char *)stack + NS_INIT_STACK,
			    CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, &c);
	}
	if (pid > 0)
		reaper_add_locked(r, &s->watch, pid);
	reaper_unlock(r);
	if (pid < 0)
		goto errno_failed;
	if (stack != MAP_FAILED)
		munmap(stack, NS_INIT_STACK);
	close(errp[1]);
	if (statp[1] >= 0)
		close(statp[1]);
	s->status_rd = statp[0];
	/* EOF without a report: the exec happened. */
	do {
		n = read(errp[0], &f, sizeof(f));
	} while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n != sizeof(f))
		return 0;
	snprintf(err, errlen, "%s: %s", stage_text(o, f.stage, what, sizeof(what)),
		 go_strerror(f.err, ebuf, sizeof(ebuf)));
	return -(f.err ? f.err : EIO);

errno_failed:
	ret = -errno;
setup_failed:
	snprintf(err, errlen, "start command: %s", go_strerror(-ret, ebuf, sizeof(ebuf)));
	if (stack != MAP_FAILED)
		munmap(stack, NS_INIT_STACK);
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (statp[i] >= 0)
			close(statp[i]);
	}
	/* No child: fire the watch so the caller's wait ends at once. */
	s->watch.exited = true;
	s->watch.status = 127 << 8;
	s->watch.pid = -1;
	if (s->watch.notify_wr >= 0 && write(s->watch.notify_wr, "x", 1) < 0)
		ret = -errno;
	return ret;
}

int spawned_exit_code(struct spawned *s)
{
	int status = s->watch.status, reported;

	/* Confined: the ns init reports sh's status unless it died itself. */
	if (s->status_rd >= 0 && read(s->status_rd, &reported, sizeof(reported)) == sizeof(reported))
		status = reported;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return -1;
}

void spawned_release(struct reaper *r, struct spawned *s)
{
	if (s->watch.pid > 0)
		reaper_remove(r, &s->watch);
	child_watch_destroy(&s->watch);
	if (s->status_rd >= 0)
		close(s->status_rd);
	s->status_rd = -1;
}

static bool same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && memcmp(a, b, ka) == 0;
}

char **spawn_build_env(char **env, size_t n_env)
{
	size_t n = 0, i, j;
	char **out;

	while (environ[n])
		n++;
	out = calloc(n + n_env + 1, sizeof(char *));
	if (!out)
		return NULL;
	for (i = 0; i < n; i++)
		out[i] = environ[i];
	for (j = 0; j < n_env; j++) {
		for (i = 0; i < n && !same_key(out[i], env[j]); i++)
			;
		out[i] = env[j];
		if (i == n)
			n++;
	}
	out[n] = NULL;
	return out;
}

void spawn_free_env(char **envp)
{
	free(envp);
}
