// SPDX-License-Identifier: MIT
/*
 * Run inside a command by tests/agent/agent_test.c: reports whether the
 * calls the agent's seccomp filter blocks (GUEST-CONTRACT.md) fail with
 * EPERM: "ptrace=EPERM process_vm_readv=EPERM" or "...=ok".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	char src[8] = "probe", dst[8];
	struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };
	long pt = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	int pt_err = errno;
	ssize_t vm = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	int vm_err = errno;

	printf("ptrace=%s process_vm_readv=%s\n", pt < 0 ? (pt_err == EPERM ? "EPERM" : strerror(pt_err)) : "ok",
	       vm < 0 ? (vm_err == EPERM ? "EPERM" : strerror(vm_err)) : "ok");
	return 0;
}
