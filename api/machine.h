/* SPDX-License-Identifier: MIT */
/* libflashpan internals: the machine's state, shared by machine.c, exec.c and files.c. */
#ifndef FLASHPAN_API_MACHINE_H
#define FLASHPAN_API_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "flashpan.h"

struct fp_machine {
	pthread_mutex_t lock;     /* guards everything below that changes after create */
	char err[2048];           /* the most recent failure's message */

	char **vmm_argv;          /* flashpan run ...; built at create */
	char *vmm_path;           /* resolved binary */
	char *run_dir;            /* private folder (mkdtemp), removed by close */
	char *rootfs;             /* what the guest boots */
	bool rootfs_is_copy;      /* ours to delete */
	char *log_path;
	bool log_is_ours;
	char *vsock_path;         /* NULL without vsock */
	char **env;               /* "NAME=VALUE" base environment of every exec */
	size_t nr_env;
	int net_host_fd, net_guest_fd, net_caller_fd; /* -1 when absent */
	int start_timeout_ms, stop_grace_ms;

	pid_t pid;                /* 0: not running (never started or reaped) */
	int pidfd;                /* -1 when no process */
	int exit_status;          /* once reaped; -1 before */
	bool started, closed;
	bool attached;            /* fp_machine_attach: a VMM we did not spawn */
};

/* Record a failure's message; returns code. Thread-safe. */
int machine_fail(struct fp_machine *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Connect to guest port through the vsock Unix socket; fd or -errno (message in *why). */
int vsock_dial(const char *uds, uint32_t port, int timeout_ms, const char **why);

/* Copy src to dst: FICLONE reflink, else a sparse-aware copy. 0 or -errno. */
int rootfs_copy(const char *src, const char *dst);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t mono_ms(void);

#endif
