// SPDX-License-Identifier: MIT
/*
 * flashpan-agent: in the guest, init execs it (GUEST-CONTRACT.md "Guest
 * init"); it listens on vsock port 5000 (exec and files) and only then on
 * 5002 (readiness: accept and close), so a successful readiness connect
 * means exec works.
 *
 * For tests on the host:
 *   --listen-unix PREFIX  listen on Unix sockets PREFIX_5000 and PREFIX_5002
 *   --serve-fd N          serve the one connection on fd N, then exit
 *   --privileged          no confinement, as with matchlock.privileged=1
 *                         (also FLASHPAN_AGENT_PRIVILEGED=1)
 *   --cmdline FILE        read the kernel command line from FILE
 *   --passwd FILE, --group FILE   user databases for "user"
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "guest/agent/agent.h"
#include "guest/agent/transport.h"

struct conn_job {
	struct agent *a;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn_job *job = arg;

	conn_serve(job->a, job->fd);
	free(job);
	return NULL;
}

static void *ready_thread(void *arg)
{
	int lfd = (int)(long)arg;

	for (;;) {
		int fd = transport_accept(lfd);

		if (fd >= 0)
			close(fd);
		else
			usleep(100 * 1000);
	}
	return NULL;
}

static void serve(struct agent *a, int lfd)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	for (;;) {
		struct conn_job *job;
		pthread_t t;
		int fd = transport_accept(lfd);

		if (fd < 0) {
			/* EMFILE and friends: back off, never exit. */
			agent_log("accept: %s", strerror(-fd));
			usleep(100 * 1000);
			continue;
		}
		job = malloc(sizeof(*job));
		if (job) {
			job->a = a;
			job->fd = fd;
		}
		if (!job || pthread_create(&t, &attr, conn_thread, job)) {
			agent_log("no thread for a connection; closing it");
			free(job);
			close(fd);
		}
	}
}

/* Children must never get fd 0, 1 or 2 of the agent by accident. */
static void ensure_stdio(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			exit(1);
}

static int listen_port(const char *unix_prefix, uint32_t port)
{
	int fd = unix_prefix ? transport_listen_unix(unix_prefix, port) :
			       transport_listen_vsock(port);

	if (fd < 0) {
		agent_log("listen on %s port %u: %s", unix_prefix ? "unix" : "vsock", port,
			  strerror(-fd));
		exit(1);
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: flashpan-agent [--listen-unix PREFIX | --serve-fd N] [--privileged]\n"
			"                      [--cmdline FILE] [--passwd FILE] [--group FILE]\n");
	exit(2);
}

/*
 * jansson seeds its hash tables from /dev/urandom on first use, and on a
 * freshly booted guest that read waits until the kernel's CRNG is ready:
 * measured at about 2.5 s for the first request after readiness. The hash
 * seed only protects against collision attacks, so a seed that does not
 * wait is enough (GRND_INSECURE, Linux >= 5.6; else the clock).
 */
static void seed_json_hash(void)
{
	uint32_t seed = 0;

#ifdef GRND_INSECURE
	if (getrandom(&seed, sizeof(seed), GRND_INSECURE) == (ssize_t)sizeof(seed) && seed) {
		json_object_seed(seed);
		return;
	}
#endif
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (uint32_t)(ts.tv_nsec ^ (ts.tv_sec << 16) ^ (uint32_t)getpid());
	json_object_seed(seed ? seed : 1);
}

int main(int argc, char **argv)
{
	const char *unix_prefix = NULL, *cmdline = "/proc/cmdline", *env;
	struct agent *a = calloc(1, sizeof(*a));
	bool privileged = false;
	int serve_fd = -1, lfd, i;
	pthread_t t;

	if (!a)
		return 1;
	seed_json_hash(); /* before any JSON object exists */
	a->passwd_path = "/etc/passwd";
	a->group_path = "/etc/group";
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(arg, "--privileged")) {
			privileged = true;
			continue;
		}
		if (!val)
			usage();
		i++;
		if (!strcmp(arg, "--listen-unix"))
			unix_prefix = val;
		else if (!strcmp(arg, "--serve-fd"))
			serve_fd = atoi(val);
		else if (!strcmp(arg, "--cmdline"))
			cmdline = val;
		else if (!strcmp(arg, "--passwd"))
			a->passwd_path = val;
		else if (!strcmp(arg, "--group"))
			a->group_path = val;
		else
			usage();
	}
	env = getenv("FLASHPAN_AGENT_PRIVILEGED");
	if (env && !strcmp(env, "1"))
		privileged = true;
	privileged = privileged || sandbox_cmdline_privileged(cmdline);

	ensure_stdio();
	signal(SIGPIPE, SIG_IGN);
	/* Orphans of commands come back to us to be reaped, on the host too. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (sandbox_init(&a->sandbox, privileged))
		return 1;
	if (reaper_start(&a->reaper)) {
		agent_log("cannot start the reaper thread");
		return 1;
	}
	if (serve_fd >= 0) {
		conn_serve(a, serve_fd);
		return 0;
	}
	/* Exec first: readiness must mean that exec works. */
	lfd = listen_port(unix_prefix, AGENT_PORT_EXEC);
	i = listen_port(unix_prefix, AGENT_PORT_READY);
	if (pthread_create(&t, NULL, ready_thread, (void *)(long)i)) {
		agent_log("cannot start the readiness thread");
		return 1;
	}
	agent_log("serving exec on %s port %u, readiness on %u%s", unix_prefix ? "unix" : "vsock",
		  AGENT_PORT_EXEC, AGENT_PORT_READY, privileged ? " (privileged)" : "");
	serve(a, lfd);
	return 0;
}
