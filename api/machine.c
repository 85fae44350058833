// SPDX-License-Identifier: MIT
/*
 * The machine's life: create (validate, private rootfs, network socketpair,
 * the VMM's arguments), start (spawn `flashpan run`, wait for the agent),
 * stop, wait, close. The VMM is a child process watched through a pidfd, so
 * every wait is a poll that a dying VMM ends at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/machine.h"
#include "api/strbuf.h"

#define DEFAULT_START_TIMEOUT_MS 30000
#define DEFAULT_STOP_GRACE_MS    5000
#define KILL_WAIT_MS             10000
#define LOG_TAIL_BYTES           2048
#define NET_CHILD_FD             3 /* the VMM's --net fd=3 */

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int machine_fail(struct fp_machine *m, int code, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->lock);
	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&m->lock);
	return code;
}

const char *fp_machine_error(struct fp_machine *m, char *buf, size_t len)
{
	if (!len)
		return buf;
	pthread_mutex_lock(&m->lock);
	snprintf(buf, len, "%s", m->err);
	pthread_mutex_unlock(&m->lock);
	return buf;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* ---- create ---- */

static char *resolve_vmm(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? strdup(name) : NULL;
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *cand;

		if (asprintf(&cand, "%s/%s", *dir ? dir : ".", name) < 0)
			break;
		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found;
}

struct argv_builder {
	char **v;
	size_t n, cap;
	bool oom;
};

static void arg(struct argv_builder *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void arg(struct argv_builder *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		a->oom = true;
	else
		a->v[a->n++] = s, a->v[a->n] = NULL;
	va_end(ap);
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const char *const disk_ids[] = { [FP_DISK_ROOTFS] = "rootfs", [FP_DISK_OVERLAY_LOWER] = "overlay-lower-",
					[FP_DISK_OVERLAY_UPPER] = "overlay-upper", [FP_DISK_EXTRA] = "disk" };

/* `flashpan run` with everything the configuration says. */
static int build_argv(struct fp_machine *m, const struct fp_vm_config *cfg)
{
	struct fp_disk_slot slots[FP_MAX_VIRTIO_DEVICES];
	size_t n = fp_config_disks(cfg, m->rootfs, slots, FP_MAX_VIRTIO_DEVICES), lower = 0, extra = 0;
	struct argv_builder a = { 0 };
	char *boot_args = fp_vmm_boot_args(cfg);
	int vcpus = (int)cfg->cpus;

	if (vcpus < cfg->cpus)
		vcpus++; /* ceil: half a CPU is one vCPU limited by the guest's cgroup */
	arg(&a, "%s", m->vmm_path);
	arg(&a, "run");
	arg(&a, "--id"), arg(&a, "%s", cfg->id);
	arg(&a, "--kernel"), arg(&a, "%s", cfg->kernel_path);
	if (cfg->initramfs_path && *cfg->initramfs_path)
		arg(&a, "--initrd"), arg(&a, "%s", cfg->initramfs_path);
	arg(&a, "--cmdline"), arg(&a, "%s", boot_args ? boot_args : "");
	arg(&a, "--cpus"), arg(&a, "%d", vcpus);
	arg(&a, "--mem"), arg(&a, "%d", cfg->memory_mb ? cfg->memory_mb : FP_DEFAULT_MEMORY_MB);
	arg(&a, "--console"), arg(&a, "stdout");
	for (size_t i = 0; i < n && i < FP_MAX_VIRTIO_DEVICES; i++) {
		const struct fp_disk_slot *s = &slots[i];

		arg(&a, "--disk");
		if (s->role == FP_DISK_OVERLAY_LOWER)
			arg(&a, "%s%s,id=%s%zu", s->host_path, s->read_only ? ",ro" : "", disk_ids[s->role], lower++);
		else if (s->role == FP_DISK_EXTRA)
			arg(&a, "%s%s,id=%s%zu", s->host_path, s->read_only ? ",ro" : "", disk_ids[s->role], extra++);
		else
			arg(&a, "%s%s,id=%s", s->host_path, s->read_only ? ",ro" : "", disk_ids[s->role]);
	}
	if (cfg->vsock_cid)
		arg(&a, "--vsock"), arg(&a, "cid=%u,uds=%s", cfg->vsock_cid, cfg->vsock_path);
	if (!cfg->no_network)
		arg(&a, "--net"), arg(&a, "fd=%d,mtu=%d", NET_CHILD_FD, cfg->mtu > 0 ? cfg->mtu : FP_DEFAULT_MTU);
	free(boot_args);
	if (a.oom || !boot_args) {
		free_strv(a.v);
		return -ENOMEM;
	}
	m->vmm_argv = a.v;
	return 0;
}

static int copy_settings(struct fp_machine *m, const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	const char *vmm = cfg->vmm_path && *cfg->vmm_path ? cfg->vmm_path : getenv("FLASHPAN_VMM");
	const char *base = cfg->run_dir && *cfg->run_dir ? cfg->run_dir : getenv("TMPDIR");
	int rc;

	m->vmm_path = resolve_vmm(vmm && *vmm ? vmm : "flashpan");
	if (!m->vmm_path) {
		snprintf(err, errlen, "cannot find the flashpan VMM '%s' (set vmm_path or FLASHPAN_VMM)",
			 vmm && *vmm ? vmm : "flashpan");
		return -ENOENT;
	}
	if (asprintf(&m->run_dir, "%s/flashpan-XXXXXX", base && *base ? base : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(m->run_dir)) {
		rc = -errno;
		snprintf(err, errlen, "cannot make the run folder %s: %s", m->run_dir, strerror(-rc));
		free(m->run_dir);
		m->run_dir = NULL;
		return rc;
	}
	if (cfg->prebuilt_rootfs && *cfg->prebuilt_rootfs) {
		m->rootfs = strdup(cfg->prebuilt_rootfs);
	} else {
		if (asprintf(&m->rootfs, "%s/rootfs.img", m->run_dir) < 0)
			return -ENOMEM;
		rc = rootfs_copy(cfg->rootfs_path, m->rootfs);
		if (rc) {
			snprintf(err, errlen, "cannot copy the rootfs %s to %s: %s", cfg->rootfs_path, m->rootfs,
				 strerror(-rc));
			return rc;
		}
		m->rootfs_is_copy = true;
	}
	m->log_is_ours = !(cfg->log_path && *cfg->log_path);
	if (m->log_is_ours ? asprintf(&m->log_path, "%s/console.log", m->run_dir) < 0 :
			     !(m->log_path = strdup(cfg->log_path)))
		return -ENOMEM;
	if (cfg->vsock_cid && !(m->vsock_path = strdup(cfg->vsock_path)))
		return -ENOMEM;
	m->env = calloc(cfg->nr_env + 1, sizeof(char *));
	if (!m->env)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nr_env; i++) {
		if (asprintf(&m->env[i], "%s=%s", cfg->env[i].name, cfg->env[i].value ? cfg->env[i].value : "") < 0)
			return -ENOMEM;
		m->nr_env++;
	}
	if (!cfg->no_network && cfg->use_interception) {
		int sv[2];

		/* One Ethernet frame per datagram, both ways (flashpan run --net fd=N). */
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot make the network socketpair: %s", strerror(-rc));
			return rc;
		}
		m->net_host_fd = sv[0];
		m->net_guest_fd = sv[1];
	} else if (!cfg->no_network) {
		m->net_caller_fd = cfg->network_fd;
	}
	m->start_timeout_ms = cfg->start_timeout_ms ? cfg->start_timeout_ms : DEFAULT_START_TIMEOUT_MS;
	m->stop_grace_ms = cfg->stop_grace_ms ? cfg->stop_grace_ms : DEFAULT_STOP_GRACE_MS;
	return build_argv(m, cfg);
}

int fp_machine_create(const struct fp_vm_config *cfg, struct fp_machine **out, char *err, size_t errlen)
{
	char scratch[512];
	struct fp_machine *m;
	int rc;

	if (!err || !errlen)
		err = scratch, errlen = sizeof(scratch);
	*out = NULL;
	rc = fp_config_validate(cfg, err, errlen);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->net_host_fd = m->net_guest_fd = m->net_caller_fd = m->pidfd = -1;
	m->exit_status = -1;
	err[0] = 0;
	rc = copy_settings(m, cfg, err, errlen);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s", strerror(-rc));
		fp_machine_destroy(m);
		return rc;
	}
	*out = m;
	return 0;
}

int fp_machine_attach(const char *vsock_path, struct fp_machine **out, char *err, size_t errlen)
{
	struct fp_machine *m;
	struct stat st;

	*out = NULL;
	if (!vsock_path || !*vsock_path) {
		if (err && errlen)
			snprintf(err, errlen, "attach needs the VMM's vsock socket path");
		return -EINVAL;
	}
	if (stat(vsock_path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		int rc = stat(vsock_path, &st) < 0 ? -errno : -ENOTSOCK;

		if (err && errlen)
			snprintf(err, errlen, "%s: %s", vsock_path,
				 rc == -ENOTSOCK ? "not a socket (is the VMM running with --vsock?)" :
				 rc == -ENOENT	 ? "no such socket (is the VMM running?)" :
						   strerror(-rc));
		return rc;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->net_host_fd = m->net_guest_fd = m->net_caller_fd = m->pidfd = -1;
	m->exit_status = -1;
	m->attached = true;
	m->start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	m->stop_grace_ms = DEFAULT_STOP_GRACE_MS;
	m->vsock_path = strdup(vsock_path);
	m->env = calloc(1, sizeof(char *));
	if (!m->vsock_path || !m->env) {
		fp_machine_destroy(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* ---- start ---- */

/* In the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child_exec(struct fp_machine *m, int log_fd, int null_fd, int net_fd,
						  int err_w)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Above 10 first, so no dup2 below overwrites a source. */
	log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
	null_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 10);
	if (net_fd >= 0)
		net_fd = fcntl(net_fd, F_DUPFD_CLOEXEC, 10);
	if (log_fd < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0 ||
	    (net_fd >= 0 && dup2(net_fd, NET_CHILD_FD) < 0))
		goto fail;
	/* Nothing else of the embedding process leaks into the VMM. */
	syscall(SYS_close_range, NET_CHILD_FD + 1, err_w - 1, 0);
	syscall(SYS_close_range, err_w + 1, ~0U, 0);
	execv(m->vmm_path, m->vmm_argv);
fail:
	e = errno;
	if (write(err_w, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static char *log_tail(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[LOG_TAIL_BYTES + 1];
	struct stat st;
	ssize_t n;
	off_t off;

	if (fd < 0)
		return strdup("(no console log)");
	off = fstat(fd, &st) == 0 && st.st_size > LOG_TAIL_BYTES ? st.st_size - LOG_TAIL_BYTES : 0;
	n = pread(fd, buf, LOG_TAIL_BYTES, off);
	close(fd);
	if (n <= 0)
		return strdup("(empty console log)");
	buf[n] = 0;
	return strdup(buf);
}

static int spawn_vmm(struct fp_machine *m)
{
	int log_fd, null_fd, pipefd[2], e = 0, rc = 0;
	int net_fd = m->net_guest_fd >= 0 ? m->net_guest_fd : m->net_caller_fd;
	pid_t pid;
	ssize_t n;

	log_fd = open(m->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return machine_fail(m, -errno, "cannot open the log %s: %s", m->log_path, strerror(errno));
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = machine_fail(m, -errno, "cannot set up the VMM's descriptors: %s", strerror(errno));
		close(log_fd);
		if (null_fd >= 0)
			close(null_fd);
		return rc;
	}
	pid = fork();
	if (pid == 0)
		child_exec(m, log_fd, null_fd, net_fd, pipefd[1]);
	if (pid < 0)
		e = errno;
	close(pipefd[1]);
	close(log_fd);
	close(null_fd);
	if (pid < 0) {
		close(pipefd[0]);
		return machine_fail(m, -e, "cannot fork the VMM: %s", strerror(e));
	}
	/* The pipe closes on a successful exec; an errno arrives on a failed one. */
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		return machine_fail(m, -e, "cannot run the VMM %s: %s", m->vmm_path, strerror(e));
	}
	m->pidfd = pidfd_open_(pid);
	if (m->pidfd < 0) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return machine_fail(m, -e, "pidfd_open: %s (flashpan needs Linux 5.3 or later)", strerror(e));
	}
	m->pid = pid;
	/* The VMM has its end of the network now. */
	if (m->net_guest_fd >= 0) {
		close(m->net_guest_fd);
		m->net_guest_fd = -1;
	}
	return 0;
}

/* Whether the VMM exited, waiting at most ms for it. */
static bool vmm_exited(struct fp_machine *m, int ms)
{
	struct pollfd p = { .fd = m->pidfd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

static int decode_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* Collect the exit status if the VMM is gone. */
static void reap(struct fp_machine *m)
{
	int st;

	pthread_mutex_lock(&m->lock);
	if (m->pid > 0 && waitpid(m->pid, &st, WNOHANG) == m->pid) {
		m->exit_status = decode_status(st);
		m->pid = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * Ready means the agent accepted a connection on port 5002. Until the VMM has
 * made its socket, or while the guest is still booting and nothing listens on
 * the port (the VMM then closes the connection), retry on a short backoff:
 * each retry is one connection the VMM answers at once. The sleeps are polls
 * on the pidfd, so a VMM that dies ends the wait immediately.
 */
static int wait_ready(struct fp_machine *m)
{
	int64_t deadline = mono_ms() + m->start_timeout_ms, left;
	const char *why = "the VMM made no vsock socket";
	int delay = 1, fd;

	for (;;) {
		if (vmm_exited(m, 0))
			return -ECHILD;
		left = deadline - mono_ms();
		if (left <= 0)
			break;
		fd = vsock_dial(m->vsock_path, FP_VSOCK_PORT_READY, (int)left, &why);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (fd == -ETIMEDOUT)
			break;
		left = deadline - mono_ms();
		if (vmm_exited(m, (int)(left < delay ? (left > 0 ? left : 0) : delay)))
			return -ECHILD;
		delay = delay < 16 ? delay * 2 : 16;
	}
	machine_fail(m, -ETIMEDOUT, "the guest agent was not ready within %d ms (%s)", m->start_timeout_ms, why);
	return -ETIMEDOUT;
}

int fp_machine_start(struct fp_machine *m)
{
	char *tail, msg[sizeof(m->err)];
	int rc;

	pthread_mutex_lock(&m->lock);
	rc = m->closed ? -EBADF : m->started || m->attached ? -EALREADY : 0;
	if (!rc)
		m->started = true;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return machine_fail(m, rc, rc == -EBADF        ? "the machine is closed" :
					   m->attached          ? "the machine is attached to a running VMM" :
								  "the machine was already started");
	rc = spawn_vmm(m);
	if (rc || !m->vsock_path)
		return rc;
	rc = wait_ready(m);
	if (!rc)
		return 0;
	if (rc == -ECHILD) {
		reap(m);
		machine_fail(m, -ECHILD, "the VMM exited with status %d before the guest agent was ready",
			     m->exit_status);
	}
	fp_machine_stop(m);
	fp_machine_error(m, msg, sizeof(msg));
	tail = log_tail(m->log_path);
	machine_fail(m, rc, "%s; console (%s), last lines:\n%s", msg, m->log_path, tail ? tail : "");
	free(tail);
	return rc;
}

/* ---- stop, wait, close ---- */

int fp_machine_stop(struct fp_machine *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->pid <= 0 || m->pidfd < 0) {
		pthread_mutex_unlock(&m->lock);
		return 0;
	}
	pidfd_signal(m->pidfd, SIGTERM);
	pthread_mutex_unlock(&m->lock);
	if (!vmm_exited(m, m->stop_grace_ms)) {
		pidfd_signal(m->pidfd, SIGKILL);
		if (!vmm_exited(m, KILL_WAIT_MS))
			return machine_fail(m, -ETIMEDOUT, "the VMM (pid %d) did not die after SIGKILL", m->pid);
	}
	reap(m);
	return 0;
}

int fp_machine_wait(struct fp_machine *m, int timeout_ms)
{
	int status;

	pthread_mutex_lock(&m->lock);
	status = m->pidfd < 0 ? -ECHILD : 0;
	pthread_mutex_unlock(&m->lock);
	if (status)
		return machine_fail(m, status, "the machine was not started");
	if (!vmm_exited(m, timeout_ms < 0 ? -1 : timeout_ms))
		return machine_fail(m, -ETIMEDOUT, "the VMM is still running");
	reap(m);
	pthread_mutex_lock(&m->lock);
	status = m->exit_status;
	pthread_mutex_unlock(&m->lock);
	return status;
}

static void unlink_socket(const char *path)
{
	struct stat st;

	if (path && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

void fp_machine_close(struct fp_machine *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->closed) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	pthread_mutex_unlock(&m->lock);
	fp_machine_stop(m);
	pthread_mutex_lock(&m->lock);
	m->closed = true;
	if (m->pid > 0 && waitpid(m->pid, NULL, 0) == m->pid)
		m->pid = 0;
	if (m->pidfd >= 0)
		close(m->pidfd);
	if (m->net_host_fd >= 0)
		close(m->net_host_fd);
	if (m->net_guest_fd >= 0)
		close(m->net_guest_fd);
	m->pidfd = m->net_host_fd = m->net_guest_fd = -1;
	/* A VMM that was killed leaves its socket behind. */
	if (m->started)
		unlink_socket(m->vsock_path);
	if (m->rootfs_is_copy && m->rootfs)
		unlink(m->rootfs);
	if (m->log_is_ours && m->log_path)
		unlink(m->log_path);
	if (m->run_dir)
		rmdir(m->run_dir);
	pthread_mutex_unlock(&m->lock);
}

void fp_machine_destroy(struct fp_machine *m)
{
	if (!m)
		return;
	fp_machine_close(m);
	free_strv(m->vmm_argv);
	free_strv(m->env);
	free(m->vmm_path);
	free(m->run_dir);
	free(m->rootfs);
	free(m->log_path);
	free(m->vsock_path);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- accessors ---- */

int fp_machine_network_fd(struct fp_machine *m)
{
	int fd;

	pthread_mutex_lock(&m->lock);
	fd = m->net_host_fd >= 0 ? m->net_host_fd : m->net_caller_fd;
	pthread_mutex_unlock(&m->lock);
	return fd >= 0 ? fd : machine_fail(m, -ENOENT, "the machine has no network descriptor");
}

int fp_machine_vsock_fd(struct fp_machine *m)
{
	return machine_fail(m, -ENOTSUP, "flashpan's vsock host side is the Unix socket %s, not a descriptor",
			    m->vsock_path ? m->vsock_path : "(none)");
}

pid_t fp_machine_pid(struct fp_machine *m)
{
	pid_t pid;

	pthread_mutex_lock(&m->lock);
	pid = m->pid;
	pthread_mutex_unlock(&m->lock);
	return pid;
}

const char *fp_machine_rootfs_path(struct fp_machine *m)
{
	return m->rootfs;
}

int fp_machine_dial_vsock(struct fp_machine *m, uint32_t port)
{
	const char *why = "";
	int fd;

	if (!m->vsock_path)
		return machine_fail(m, -ENOTCONN, "the machine has no vsock device");
	fd = vsock_dial(m->vsock_path, port, m->start_timeout_ms, &why);
	if (fd < 0 && m->pidfd >= 0 && vmm_exited(m, 0))
		return machine_fail(m, fd, "vsock port %u: the VMM (pid %d) has exited", port, m->pid);
	if (fd < 0)
		return machine_fail(m, fd, "vsock port %u: %s", port, why);
	return fd;
}
