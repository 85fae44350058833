// SPDX-License-Identifier: MIT
/*
 * spawn_timer: time a VMM process from spawn to the guest's first console byte and to exit.
 *
 *   spawn_timer [-n RUNS] [-l LABEL] [-t ENVNAME] [-m MiB] [-s] [-T SEC] -- CMD [ARGS...]
 *
 * For each run: t0 = CLOCK_MONOTONIC, fork, exec CMD with stdin = /dev/null and stdout and
 * stderr on two pipes. The first byte on each pipe is timestamped: stdout carries the serial
 * console (the guest kernel's first line); stderr carries what the VMM writes when the guest
 * writes to the boot-timer port 0x440 (flashpan --boot-timer prints a line; QEMU does the
 * same with an isa-debugcon device at 0x440 whose chardev is stderr). wait4() gives the exit
 * time and ru_maxrss (KiB; note it also covers the forked child before exec, i.e. the
 * harness's own size, which run.sh measures as a floor).
 *
 *   -t ENVNAME  put ENVNAME=<t0 in ns> in the child's environment (FLASHPAN_T0_NS), so the
 *               VMM's own boot timer measures from the same instant
 *   -s          footprint mode: at the first console byte stop the child (SIGSTOP), read
 *               /proc/PID/smaps, note the resident size of the guest-RAM mapping (the
 *               anonymous mapping whose size is within [MiB, MiB + 4 MiB], largest Rss),
 *               then SIGCONT. Start-up figures of such runs are not meant to be used.
 *   -m MiB      guest RAM size, for -s
 *   -T SEC      per-run time limit (default 20); the child is killed after it
 *
 * One tab-separated line per run on stdout:
 *   label run first_out_us first_err_us exit_us maxrss_kib guest_rss_kib boot_timer_us status
 * A value that was not measured is -1. status is the exit status, or 128+signal.
 * The VMM's stderr is scanned for "boot-timer: X ms" (flashpan --boot-timer); the rest of
 * it is discarded unless the run fails, in which case it is copied to our stderr.
 * Exit status: 0 if every run exited 0, else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: spawn_timer [-n RUNS] [-l LABEL] [-t ENVNAME] [-m MiB] [-s] [-T SEC] "
			"-- CMD [ARGS...]\n");
	exit(2);
}

/* Resident KiB of the guest-RAM mapping of pid, or -1. */
static long guest_rss_kib(pid_t pid, long mem_mib)
{
	char path[64], line[512];
	long size = -1, best = -1, lo = mem_mib * 1024, hi = (mem_mib + 4) * 1024;
	bool anon = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b, off, ino;
		char perms[8], dev[16];
		long v;

		if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &a, &b, perms, &off, dev, &ino) == 6) {
			/* A new mapping: anonymous if no inode (hugetlbfs/memfd would have one). */
			size = -1;
			anon = ino == 0;
			continue;
		}
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %ld kB", &v) == 1 && anon && size >= lo && size <= hi &&
			 v > best)
			best = v;
	}
	fclose(f);
	return best;
}

struct run_result {
	int64_t first_byte_us, first_err_us, exit_us, boot_timer_us;
	long maxrss_kib, guest_kib;
	int status;
};

static int run_once(char **argv, const char *t0_env, bool stop_mode, long mem_mib, int timeout_s,
		    struct run_result *r)
{
	int out[2], err[2], devnull, wstatus = 0;
	char errbuf[8192], buf[4096];
	size_t errlen = 0;
	bool out_open = true, err_open = true, timed_out = false;
	struct rusage ru;
	uint64_t t0, deadline;
	pid_t pid;

	*r = (struct run_result){ -1, -1, -1, -1, -1, -1, -1 };
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		perror("spawn_timer: pipe");
		return -1;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("spawn_timer: fork");
		return -1;
	}
	if (pid == 0) {
		char v[32];

		/* Never outlive the harness. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (t0_env) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)t0);
			setenv(t0_env, v, 1);
		}
		dup2(devnull, STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	close(devnull);
	deadline = t0 + (uint64_t)timeout_s * 1000000000ULL;

	while (out_open || err_open) {
		struct pollfd p[2] = { { .fd = out_open ? out[0] : -1, .events = POLLIN },
				       { .fd = err_open ? err[0] : -1, .events = POLLIN } };
		uint64_t now = now_ns();
		int n;

		if (now >= deadline) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = poll(p, 2, (int)((deadline - now) / 1000000 + 1));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("spawn_timer: poll");
			kill(pid, SIGKILL);
			break;
		}
		if (p[0].revents) {
			ssize_t k = read(out[0], buf, sizeof(buf));

			if (k > 0 && r->first_byte_us < 0) {
				r->first_byte_us = (int64_t)(now_ns() - t0) / 1000;
				if (stop_mode) {
					int st;

					kill(pid, SIGSTOP);
					waitpid(pid, &st, WUNTRACED);
					r->guest_kib = guest_rss_kib(pid, mem_mib);
					kill(pid, SIGCONT);
				}
			}
			if (k <= 0 && !(k < 0 && errno == EINTR))
				out_open = false;
		}
		if (p[1].revents) {
			ssize_t k = read(err[0], errbuf + errlen, sizeof(errbuf) - 1 - errlen);

			if (k > 0 && r->first_err_us < 0)
				r->first_err_us = (int64_t)(now_ns() - t0) / 1000;
			if (k > 0)
				errlen += (size_t)k;
			else if (!(k < 0 && errno == EINTR))
				err_open = false;
			if (errlen == sizeof(errbuf) - 1) /* keep reading, drop the rest */
				errlen = sizeof(errbuf) / 2;
		}
	}
	close(out[0]);
	close(err[0]);
	errbuf[errlen] = 0;

	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("spawn_timer: wait4");
			return -1;
		}
	}
	r->exit_us = (int64_t)(now_ns() - t0) / 1000;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);

	const char *bt = strstr(errbuf, "boot-timer: ");
	if (bt) {
		double ms;

		if (sscanf(bt, "boot-timer: %lf ms", &ms) == 1)
			r->boot_timer_us = (int64_t)(ms * 1000.0 + 0.5);
	}
	if (timed_out || r->status != 0) {
		fprintf(stderr, "spawn_timer: %s: %s %d%s\n", argv[0],
			timed_out ? "timed out, killed," : "exit status", r->status,
			errlen ? "; its stderr:" : "");
		fputs(errbuf, stderr);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *label = "run", *t0_env = NULL;
	long runs = 1, mem_mib = 0, timeout_s = 20;
	bool stop_mode = false;
	int c, failed = 0;

	while ((c = getopt(argc, argv, "+n:l:t:m:sT:")) != -1) {
		switch (c) {
		case 'n':
			runs = strtol(optarg, NULL, 10);
			break;
		case 'l':
			label = optarg;
			break;
		case 't':
			t0_env = optarg;
			break;
		case 'm':
			mem_mib = strtol(optarg, NULL, 10);
			break;
		case 's':
			stop_mode = true;
			break;
		case 'T':
			timeout_s = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || runs < 1 || timeout_s < 1 || (stop_mode && mem_mib < 1))
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < runs; i++) {
		struct run_result r;
		int e = run_once(argv + optind, t0_env, stop_mode, mem_mib, (int)timeout_s, &r);

		if (e < 0)
			return 1;
		failed |= e;
		printf("%s\t%ld\t%lld\t%lld\t%lld\t%ld\t%ld\t%lld\t%d\n", label, i,
		       (long long)r.first_byte_us, (long long)r.first_err_us, (long long)r.exit_us,
		       r.maxrss_kib, r.guest_kib, (long long)r.boot_timer_us, r.status);
	}
	return failed ? 1 : 0;
}
