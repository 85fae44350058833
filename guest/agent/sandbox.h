/* SPDX-License-Identifier: MIT */
/*
 * The confinement of every command (GUEST-CONTRACT.md, last paragraph of
 * "The exec service on port 5000"): unless matchlock.privileged=1 is on the
 * kernel command line, a command runs
 *  - in a new PID namespace and a new mount namespace with a fresh /proc,
 *  - without CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO and
 *    CAP_SYS_BOOT in its bounding set,
 *  - with no_new_privs and a seccomp filter that fails ptrace,
 *    process_vm_readv, process_vm_writev, kexec_load and kexec_file_load
 *    with EPERM.
 *
 * The filter is generated once by libseccomp at start-up; children load the
 * finished BPF program with one prctl(), since after a fork in a threaded
 * program only async-signal-safe calls are allowed.
 */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

#include <stdbool.h>
#include <linux/filter.h>

struct sandbox {
	bool privileged;		/* no confinement at all */
	struct sock_fprog prog;		/* the seccomp filter, when confined */
};

/* True when the kernel command line in path holds matchlock.privileged=1. */
bool sandbox_cmdline_privileged(const char *path);

int sandbox_init(struct sandbox *s, bool privileged);
void sandbox_destroy(struct sandbox *s);

/*
 * Child side, async-signal-safe. Each returns 0 or -errno.
 * sandbox_fresh_proc: in the new mount namespace, stop propagation to the
 * agent's namespace and mount a /proc that shows only the new PID namespace.
 */
int sandbox_fresh_proc(void);
int sandbox_drop_bounding_caps(void);
int sandbox_set_no_new_privs(void);
int sandbox_load_filter(const struct sandbox *s);

#endif
