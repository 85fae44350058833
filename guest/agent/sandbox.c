// SPDX-License-Identifier: MIT
/* Command confinement; see sandbox.h. */
#include "guest/agent/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/seccomp.h>

#include <seccomp.h>

static const char *const blocked_syscalls[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kexec_load", "kexec_file_load",
};

static const int dropped_caps[] = {
	CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_BOOT,
};

bool sandbox_cmdline_privileged(const char *path)
{
	char buf[4096], *tok, *save = NULL;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		if (strcmp(tok, "matchlock.privileged=1") == 0)
			return true;
	return false;
}

/* libseccomp writes the program to an fd; a memfd brings it back to memory. */
static int export_filter(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct sock_filter *insns = NULL;
	off_t size;
	int fd, ret;

	fd = memfd_create("flashpan-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0)
		goto out;
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) || size > 65536) {
		ret = -EINVAL;
		goto out;
	}
	insns = malloc(size);
	if (!insns) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, insns, size, 0) != size) {
		ret = -EIO;
		free(insns);
		goto out;
	}
	prog->filter = insns;
	prog->len = size / sizeof(struct sock_filter);
	ret = 0;
out:
	close(fd);
	return ret;
}

int sandbox_init(struct sandbox *s, bool privileged)
{
	scmp_filter_ctx ctx;
	size_t i;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->privileged = privileged;
	if (privileged)
		return 0;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
#ifdef __x86_64__
	/* Block the calls through the 32-bit entry points too. */
	ret = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (!ret || ret == -EEXIST)
		ret = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	if (ret == -EEXIST)
		ret = 0;
#endif
	/* The agent sets no_new_privs itself, in the child, before loading. */
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (i = 0; !ret && i < sizeof(blocked_syscalls) / sizeof(blocked_syscalls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(blocked_syscalls[i]);

		if (nr == __NR_SCMP_ERROR) {
			ret = -ENOENT;
			break;
		}
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	if (!ret)
		ret = export_filter(ctx, &s->prog);
	if (ret)
		fprintf(stderr, "flashpan-agent: building the seccomp filter: %s\n", strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

void sandbox_destroy(struct sandbox *s)
{
	free(s->prog.filter);
	s->prog.filter = NULL;
}

int sandbox_fresh_proc(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

int sandbox_drop_bounding_caps(void)
{
	size_t i;

	for (i = 0; i < sizeof(dropped_caps) / sizeof(dropped_caps[0]); i++)
		if (prctl(PR_CAPBSET_DROP, dropped_caps[i], 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

int sandbox_set_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int sandbox_load_filter(const struct sandbox *s)
{
	if (!s->prog.filter)
		return -EINVAL;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &s->prog, 0, 0) < 0)
		return -errno;
	return 0;
}
