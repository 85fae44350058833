// SPDX-License-Identifier: MIT
/*
 * The Machine API end to end with the real guest (kernel from make kernel,
 * rootfs from make rootfs: flashpan-init and flashpan-agent), run inside the
 * nested test VM by tests/linux/api-e2e.sh (static: the test VM has no C
 * library). Everything goes through include/flashpan.h; the library spawns
 * the VMM (--vmm, normally /payload/flashpan-static).
 *
 *   e2e_api --vmm PATH --kernel PATH --rootfs PATH [--out DIR]          the checks
 *   e2e_api --vmm PATH --kernel PATH --rootfs PATH --bench N [--out DIR] the api benchmark
 *
 * Checks: one "PASS name (...)" or "FAIL name: why" line each, "TIME ..." lines for
 * timings; exit status 0 when every check passed. Bench: "BENCH key value" lines
 * (bench/run.sh section_api turns them into a table).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flashpan.h"

static const char *vmm, *kernel, *rootfs, *outdir = "/tmp";
static int failures;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void pass(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pass(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("PASS %s", name);
	if (fmt && *fmt) {
		printf(" (");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(")");
	}
	printf("\n");
	fflush(stdout);
}

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return pid ? n : n - 1; /* not the DIR's own descriptor */
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* RSS without the guest's RAM: Rss of every mapping but the one of guest_mb MiB. */
static long vmm_own_kib(pid_t pid, int guest_mb)
{
	char path[64], line[256];
	long total = 0, size = 0, rss;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld kB", &size) == 1)
			continue;
		if (sscanf(line, "Rss: %ld kB", &rss) == 1 && size != (long)guest_mb * 1024)
			total += rss;
	}
	fclose(f);
	return total;
}

/* Flatten for a one-line message. */
static const char *oneline(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s && *s && i + 1 < len; s++)
		buf[i++] = *s == '\n' ? '|' : *s == '\r' ? '~' : *s;
	buf[i] = 0;
	return buf;
}

static void base_config(struct fp_vm_config *c, const char *id, uint32_t cid, const char *sock, const char *log)
{
	*c = (struct fp_vm_config){
		.id = id,
		.kernel_path = kernel,
		.rootfs_path = rootfs,
		.cpus = 1,
		.memory_mb = 256,
		.vsock_cid = cid,
		.vsock_path = sock,
		.log_path = log,
		.no_network = true,
		.vmm_path = vmm,
		.run_dir = "/tmp",
		.start_timeout_ms = 120000,
		.stop_grace_ms = 3000,
	};
}

/* exec in buffered mode; returns rc, fills r. */
static int run(struct fp_machine *m, const char *cmd, struct fp_exec_result *r)
{
	struct fp_exec_opts o = { .mode = FP_EXEC_BUFFERED, .stdin_fd = -1, .timeout_ms = 60000 };

	return fp_machine_exec(m, cmd, &o, r);
}

static bool run_expect(struct fp_machine *m, const char *name, const char *cmd, int want_code, const char *want_out)
{
	struct fp_exec_result r;
	char err[512], b1[256], b2[256];
	int rc = run(m, cmd, &r);
	bool ok = rc == 0 && r.exit_code == want_code && (!want_out || !strcmp(r.out, want_out));

	if (ok)
		pass(name, "exit %d, %lld ms", r.exit_code, (long long)r.duration_ms);
	else
		fail(name, "rc %d exit %d out '%s' err '%s', want exit %d out '%s'; %s", rc, r.exit_code,
		     oneline(r.out, b1, sizeof(b1)), oneline(r.err, b2, sizeof(b2)), want_code,
		     want_out ? want_out : "*", fp_machine_error(m, err, sizeof(err)));
	fp_exec_result_free(&r);
	return ok;
}

/* ---- the log watcher: host times of console lines (bench split) ---- */

struct watch {
	const char *path;
	int ifd, stop_fd;
	pthread_t thread;
	double t_run_init, t_agent; /* host us at which the line was seen, 0: not yet */
	double ts_run_init;         /* the kernel's printk time of "Run /init", s */
};

static void watch_line(struct watch *w, const char *line, double t)
{
	double ts;

	if (!w->t_run_init && strstr(line, "Run /init as init process") && sscanf(line, "[ %lf]", &ts) == 1) {
		w->t_run_init = t;
		w->ts_run_init = ts;
	} else if (!w->t_agent && strstr(line, "flashpan-agent: serving exec")) {
		w->t_agent = t;
	}
}

static void *watch_run(void *opaque)
{
	struct watch *w = opaque;
	char buf[65536], line[1024];
	size_t ll = 0;
	off_t off = 0;
	int fd = -1;

	for (;;) {
		struct pollfd p[2] = { { .fd = w->ifd, .events = POLLIN }, { .fd = w->stop_fd, .events = POLLIN } };
		char ev[4096];
		ssize_t n;

		if (fd < 0)
			fd = open(w->path, O_RDONLY | O_CLOEXEC);
		while (fd >= 0 && (n = pread(fd, buf, sizeof(buf), off)) > 0) {
			double t = now_us();

			off += n;
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] == '\n' || ll == sizeof(line) - 1) {
					line[ll] = 0;
					watch_line(w, line, t);
					ll = 0;
				} else if (buf[i] != '\r') {
					line[ll++] = buf[i];
				}
			}
		}
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents && read(w->ifd, ev, sizeof(ev)) < 0) {
			/* drained */
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int watch_start(struct watch *w, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	close(fd);
	memset(w, 0, sizeof(*w));
	w->path = path;
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (w->ifd < 0 || w->stop_fd < 0 || inotify_add_watch(w->ifd, path, IN_MODIFY) < 0)
		return -1;
	return pthread_create(&w->thread, NULL, watch_run, w) ? -1 : 0;
}

static void watch_stop(struct watch *w)
{
	uint64_t one = 1;

	if (write(w->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(w->thread, NULL);
	close(w->ifd);
	close(w->stop_fd);
}

/* ---- checks ---- */

struct stream_rec {
	double first_us;
	int chunks;
};

static void stream_out(void *opaque, const void *buf, size_t len)
{
	struct stream_rec *s = opaque;

	if (!s->chunks++)
		s->first_us = now_us();
}

static void check_stream(struct fp_machine *m)
{
	struct stream_rec s = { 0 };
	struct fp_exec_opts o = { .mode = FP_EXEC_STREAM, .stdin_fd = -1, .on_stdout = stream_out, .opaque = &s,
				  .collect = true, .timeout_ms = 60000 };
	struct fp_exec_result r;
	char b1[256], b2[256];
	double t0 = now_us(), end;
	int rc = fp_machine_exec(m, "echo one; sleep 1.5; echo two >&2; echo three", &o, &r);

	end = now_us();
	if (rc == 0 && r.exit_code == 0 && !strcmp(r.out, "one\nthree\n") && !strcmp(r.err, "two\n") && s.chunks >= 2 &&
	    end - s.first_us >= 1.2e6)
		pass("api-exec-stream", "first chunk at %.0f ms, end at %.0f ms, %d stdout chunks",
		     (s.first_us - t0) / 1e3, (end - t0) / 1e3, s.chunks);
	else
		fail("api-exec-stream", "rc %d exit %d out '%s' err '%s' chunks %d first %.0f ms end %.0f ms", rc,
		     r.exit_code, oneline(r.out, b1, sizeof(b1)), oneline(r.err, b2, sizeof(b2)), s.chunks,
		     (s.first_us - t0) / 1e3, (end - t0) / 1e3);
	fp_exec_result_free(&r);
}

static void check_pipe(struct fp_machine *m)
{
	struct fp_exec_opts o = { .mode = FP_EXEC_PIPE, .collect = true, .timeout_ms = 60000 };
	struct fp_exec_result r;
	char b1[256];
	int p[2], rc;

	if (pipe(p)) {
		fail("api-exec-pipe", "pipe: %s", strerror(errno));
		return;
	}
	if (write(p[1], "hello pipe\nline 2\n", 18) != 18)
		fail("api-exec-pipe", "write to the pipe");
	close(p[1]);
	o.stdin_fd = p[0];
	rc = fp_machine_exec(m, "cat; echo done; exit 3", &o, &r);
	close(p[0]);
	if (rc == 0 && r.exit_code == 3 && !strcmp(r.out, "hello pipe\nline 2\ndone\n"))
		pass("api-exec-pipe", "stdin through cat, then EOF, exit 3");
	else
		fail("api-exec-pipe", "rc %d exit %d out '%s'", rc, r.exit_code, oneline(r.out, b1, sizeof(b1)));
	fp_exec_result_free(&r);
}

static void tty_session(void *opaque, struct fp_exec_session *s)
{
	fp_exec_resize(s, 40, 120);
}

static void check_tty(struct fp_machine *m)
{
	struct fp_exec_opts o = { .mode = FP_EXEC_TTY, .stdin_fd = -1, .collect = true, .rows = 30, .cols = 100,
				  .timeout_ms = 60000 };
	struct fp_exec_result r;
	char b1[512];
	int rc = fp_machine_exec(m, "tty; stty size; echo e >&2; exit 4", &o, &r);

	if (rc == 0 && r.exit_code == 4 && strstr(r.out, "/dev/pts/") && strstr(r.out, "30 100"))
		pass("api-exec-tty", "a pty of 30x100, exit 4");
	else
		fail("api-exec-tty", "rc %d exit %d out '%s'", rc, r.exit_code, oneline(r.out, b1, sizeof(b1)));
	fp_exec_result_free(&r);
	o.on_session = tty_session;
	rc = fp_machine_exec(m, "sleep 0.5; stty size", &o, &r);
	if (rc == 0 && r.exit_code == 0 && strstr(r.out, "40 120"))
		pass("api-exec-tty-resize", "fp_exec_resize to 40x120 while it runs");
	else
		fail("api-exec-tty-resize", "rc %d exit %d out '%s'", rc, r.exit_code, oneline(r.out, b1, sizeof(b1)));
	fp_exec_result_free(&r);
}

static void check_opts(struct fp_machine *m)
{
	struct fp_env_var env[] = { { "FOO", "bar baz" } };
	struct fp_exec_opts o = { .mode = FP_EXEC_BUFFERED, .stdin_fd = -1, .working_dir = "/tmp", .env = env,
				  .nr_env = 1, .user = "1000:1000", .timeout_ms = 60000 };
	struct fp_exec_result r;
	char b1[256], b2[256];
	int rc = fp_machine_exec(m, "id -u; id -g; pwd; echo \"$FOO\"", &o, &r);

	if (rc == 0 && r.exit_code == 0 && !strcmp(r.out, "1000\n1000\n/tmp\nbar baz\n"))
		pass("api-exec-user-cwd-env", "uid/gid 1000, cwd /tmp, env FOO");
	else
		fail("api-exec-user-cwd-env", "rc %d exit %d out '%s' err '%s'", rc, r.exit_code,
		     oneline(r.out, b1, sizeof(b1)), oneline(r.err, b2, sizeof(b2)));
	fp_exec_result_free(&r);
}

/* Whether a process with `pattern` in its command line is left (privileged guest: one PID namespace). */
static bool guest_has(struct fp_machine *m, const char *pattern)
{
	char cmd[256];
	struct fp_exec_result r;
	bool found = true;

	/* [x]yz: the grep's own command line does not match. */
	snprintf(cmd, sizeof(cmd), "ps -o args | grep -q '[%c]%s'", pattern[0], pattern + 1);
	if (run(m, cmd, &r) == 0)
		found = r.exit_code == 0;
	fp_exec_result_free(&r);
	return found;
}

static bool wait_gone(struct fp_machine *m, const char *pattern, int ms)
{
	int64_t end = now_ms() + ms;

	do {
		if (!guest_has(m, pattern))
			return true;
		usleep(200 * 1000);
	} while (now_ms() < end);
	return false;
}

struct canceller {
	struct fp_exec_cancel *c;
	int after_ms;
};

static void *cancel_later(void *opaque)
{
	struct canceller *k = opaque;

	usleep((useconds_t)k->after_ms * 1000);
	fp_exec_cancel(k->c);
	return NULL;
}

static void check_cancel(struct fp_machine *m)
{
	struct fp_exec_opts o = { .mode = FP_EXEC_STREAM, .stdin_fd = -1, .timeout_ms = 1000 };
	struct canceller k = { .c = fp_exec_cancel_new(), .after_ms = 800 };
	struct fp_exec_result r;
	int64_t t0 = now_ms(), took;
	pthread_t t;
	int rc;

	rc = fp_machine_exec(m, "sleep 41.5", &o, &r);
	took = now_ms() - t0;
	fp_exec_result_free(&r);
	if (rc == -ETIMEDOUT && took < 3000 && wait_gone(m, "sleep 41.5", 8000))
		pass("api-exec-deadline", "-ETIMEDOUT after %lld ms; no 'sleep 41.5' left in the guest", (long long)took);
	else
		fail("api-exec-deadline", "rc %d after %lld ms (want -ETIMEDOUT < 3000), or the command is still there",
		     rc, (long long)took);

	o.timeout_ms = 0;
	o.cancel = k.c;
	t0 = now_ms();
	pthread_create(&t, NULL, cancel_later, &k);
	rc = fp_machine_exec(m, "sleep 42.5", &o, &r);
	took = now_ms() - t0;
	pthread_join(t, NULL);
	fp_exec_result_free(&r);
	if (rc == -ECANCELED && took < 2500 && wait_gone(m, "sleep 42.5", 8000))
		pass("api-exec-cancel", "-ECANCELED %lld ms after the start (cancel at 800 ms); no 'sleep 42.5' left",
		     (long long)took);
	else
		fail("api-exec-cancel", "rc %d after %lld ms (want -ECANCELED < 2500), or the command is still there", rc,
		     (long long)took);
	fp_exec_cancel_free(k.c);
}

static void check_files(struct fp_machine *m)
{
	const char text[] = "hello file\n";
	struct fp_file_info *files = NULL;
	struct fp_exec_result r;
	char err[512], b1[256];
	size_t len = 0, big_len = 1u << 20;
	uint8_t *big = malloc(big_len);
	void *data = NULL;
	int rc, n;

	rc = fp_machine_write_file(m, "/tmp/api/d/hello.txt", text, strlen(text), 0600);
	if (rc == 0)
		rc = fp_machine_read_file(m, "/tmp/api/d/hello.txt", &data, &len);
	if (rc == 0 && len == strlen(text) && !memcmp(data, text, len))
		pass("api-write-read-file", "parents made, content back");
	else
		fail("api-write-read-file", "rc %d len %zu; %s", rc, len, fp_machine_error(m, err, sizeof(err)));
	free(data);
	data = NULL;
	if (run(m, "cat /tmp/api/d/hello.txt; stat -c %a /tmp/api/d/hello.txt /tmp/api/d", &r) == 0 &&
	    !strcmp(r.out, "hello file\n600\n755\n"))
		pass("api-file-seen-by-exec", "cat and stat in the guest: mode 600, parent 755");
	else
		fail("api-file-seen-by-exec", "out '%s'", oneline(r.out, b1, sizeof(b1)));
	fp_exec_result_free(&r);

	n = fp_machine_list_files(m, "/tmp/api/d", &files);
	if (n == 1 && !strcmp(files[0].name, "hello.txt") && files[0].size == 11 && (files[0].mode & 0777) == 0600 &&
	    !files[0].is_dir && strchr(files[0].mod_time, 'T'))
		pass("api-list-files", "hello.txt 11 bytes mode 0600 %s", files[0].mod_time);
	else
		fail("api-list-files", "n %d first '%s'; %s", n, n > 0 ? files[0].name : "",
		     fp_machine_error(m, err, sizeof(err)));
	if (n > 0)
		fp_file_list_free(files, (size_t)n);
	n = fp_machine_list_files(m, "/tmp/api", &files);
	if (n == 1 && files[0].is_dir && (files[0].mode & (1u << 31)))
		pass("api-list-dir-entry", "d: is_dir, Go ModeDir bit");
	else
		fail("api-list-dir-entry", "n %d", n);
	if (n > 0)
		fp_file_list_free(files, (size_t)n);

	for (size_t i = 0; big && i < big_len; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	rc = big ? fp_machine_write_file(m, "/root/big.bin", big, big_len, 0) : -ENOMEM;
	if (rc == 0)
		rc = fp_machine_read_file(m, "/root/big.bin", &data, &len);
	if (rc == 0 && len == big_len && !memcmp(data, big, len))
		pass("api-file-1mib", "1 MiB written to the rootfs and read back");
	else
		fail("api-file-1mib", "rc %d len %zu; %s", rc, len, fp_machine_error(m, err, sizeof(err)));
	free(data);
	free(big);

	rc = fp_machine_read_file(m, "/no/such/file", &data, &len);
	fp_machine_error(m, err, sizeof(err));
	if (rc == -ENOENT && strstr(err, "/no/such/file"))
		pass("api-read-missing", "-ENOENT: %s", err);
	else
		fail("api-read-missing", "rc %d: %s", rc, err);
	rc = fp_machine_read_file(m, "/tmp", &data, &len);
	fp_machine_error(m, err, sizeof(err));
	if (rc < 0)
		pass("api-read-dir-refused", "%d: %s", rc, err);
	else
		fail("api-read-dir-refused", "read a folder: rc %d", rc);
}

struct par {
	struct fp_machine *m;
	struct fp_exec_result r;
	int rc;
};

static void *par_exec(void *opaque)
{
	struct par *p = opaque;

	p->rc = run(p->m, "hostname; grep NoNewPrivs /proc/self/status | tr -d '\\t '", &p->r);
	return NULL;
}

static void check_two(struct fp_machine *a, struct fp_machine *b)
{
	struct par pa = { .m = a }, pb = { .m = b };
	char b1[256], b2[256], err[512];
	pthread_t ta, tb;
	void *data = NULL;
	size_t len;
	int rc;

	pthread_create(&ta, NULL, par_exec, &pa);
	pthread_create(&tb, NULL, par_exec, &pb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (pa.rc == 0 && pb.rc == 0 && !strcmp(pa.r.out, "api-a\nNoNewPrivs:0\n") &&
	    !strcmp(pb.r.out, "api-b\nNoNewPrivs:1\n"))
		pass("api-two-machines-exec", "at once: api-a (privileged) and api-b (sandboxed: no_new_privs)");
	else
		fail("api-two-machines-exec", "a: rc %d '%s'; b: rc %d '%s'", pa.rc, oneline(pa.r.out, b1, sizeof(b1)),
		     pb.rc, oneline(pb.r.out, b2, sizeof(b2)));
	fp_exec_result_free(&pa.r);
	fp_exec_result_free(&pb.r);

	rc = fp_machine_write_file(a, "/root/only-in-a", "a", 1, 0);
	if (rc == 0)
		rc = fp_machine_read_file(b, "/root/only-in-a", &data, &len);
	free(data);
	if (rc == -ENOENT && strcmp(fp_machine_rootfs_path(a), fp_machine_rootfs_path(b)) &&
	    access(fp_machine_rootfs_path(a), F_OK) == 0 && access(fp_machine_rootfs_path(b), F_OK) == 0)
		pass("api-two-machines-own-rootfs", "a file written in a is not in b; copies %s and %s",
		     fp_machine_rootfs_path(a), fp_machine_rootfs_path(b));
	else
		fail("api-two-machines-own-rootfs", "read in b: rc %d; %s", rc, fp_machine_error(b, err, sizeof(err)));
}

static void check_panic(void)
{
	struct fp_vm_config c;
	struct fp_machine *m;
	char err[4096], b1[4096];
	int64_t t0 = now_ms(), took;
	int rc;

	base_config(&c, "api-panic", 5, "/tmp/api-panic.sock", NULL);
	/* No matchlock.dns: init says FATAL and exits, the kernel panics (panic=1), the VM ends. */
	c.kernel_args = "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=api-panic ip=off "
			"matchlock.no_network=1 matchlock.cpus=1";
	rc = fp_machine_create(&c, &m, err, sizeof(err));
	if (rc) {
		fail("api-start-panic", "create: %s", err);
		return;
	}
	rc = fp_machine_start(m);
	took = now_ms() - t0;
	fp_machine_error(m, err, sizeof(err));
	if (rc < 0 && took < 60000 && strstr(err, "FATAL: matchlock.dns is missing") && strstr(err, "Kernel panic") &&
	    strstr(err, "exited with status") && fp_machine_pid(m) == 0)
		pass("api-start-panic", "start failed in %lld ms, rc %d, the error has the console tail: '%.80s...'",
		     (long long)took, rc, err);
	else
		fail("api-start-panic", "rc %d after %lld ms; error '%s'", rc, (long long)took,
		     oneline(err, b1, sizeof(b1)));
	fp_machine_destroy(m);
	if (access("/tmp/api-panic.sock", F_OK) == 0)
		fail("api-start-panic-socket", "/tmp/api-panic.sock left behind");
}

static void check_kill(void)
{
	struct fp_vm_config c;
	struct fp_machine *m;
	struct fp_exec_result r;
	char err[2048], rootfs_copy[512];
	int fds0 = count_fds(0), fds1, rc;
	int64_t t0;
	pid_t pid;

	base_config(&c, "api-kill", 6, "/tmp/api-kill.sock", NULL); /* console log in the private run folder */
	rc = fp_machine_create(&c, &m, err, sizeof(err));
	if (rc) {
		fail("api-close-after-sigkill", "create: %s", err);
		return;
	}
	snprintf(rootfs_copy, sizeof(rootfs_copy), "%s", fp_machine_rootfs_path(m));
	rc = fp_machine_start(m);
	if (rc) {
		fail("api-close-after-sigkill", "start: %s", fp_machine_error(m, err, sizeof(err)));
		fp_machine_destroy(m);
		return;
	}
	rc = run(m, "true", &r);
	fp_exec_result_free(&r);
	pid = fp_machine_pid(m);
	kill(pid, SIGKILL);
	t0 = now_ms();
	rc = run(m, "true", &r);
	fp_exec_result_free(&r);
	if (rc < 0 && now_ms() - t0 < 5000)
		pass("api-exec-after-vmm-killed", "rc %d in %lld ms: %s", rc, (long long)(now_ms() - t0),
		     fp_machine_error(m, err, sizeof(err)));
	else
		fail("api-exec-after-vmm-killed", "rc %d after %lld ms", rc, (long long)(now_ms() - t0));
	rc = fp_machine_wait(m, 5000);
	fp_machine_close(m);
	fp_machine_close(m); /* idempotent */
	fp_machine_destroy(m);
	fds1 = count_fds(0);
	if (rc == 128 + SIGKILL && access("/tmp/api-kill.sock", F_OK) && errno == ENOENT && access(rootfs_copy, F_OK) &&
	    fds0 == fds1 && kill(pid, 0) && errno == ESRCH)
		pass("api-close-after-sigkill", "wait gave %d; socket, rootfs copy and run folder gone; fds %d before, %d after",
		     rc, fds0, fds1);
	else
		fail("api-close-after-sigkill", "wait %d, socket %s, rootfs copy %s, fds %d -> %d", rc,
		     access("/tmp/api-kill.sock", F_OK) ? "gone" : "LEFT", access(rootfs_copy, F_OK) ? "gone" : "LEFT",
		     fds0, fds1);
}

static int checks(void)
{
	struct fp_vm_config ca, cb;
	struct fp_machine *a = NULL, *b = NULL;
	struct fp_exec_result r;
	char err[4096], loga[256], logb[256];
	int64_t t0, t_create, t_start, t_exec;
	int fds0 = count_fds(0), rc;

	snprintf(loga, sizeof(loga), "%s/api-a.log", outdir);
	snprintf(logb, sizeof(logb), "%s/api-b.log", outdir);
	base_config(&ca, "api-a", 3, "/tmp/api-a.sock", loga);
	ca.privileged = true; /* one PID namespace: ps sees what is left of cancelled commands */
	t0 = now_ms();
	rc = fp_machine_create(&ca, &a, err, sizeof(err));
	t_create = now_ms();
	if (rc) {
		fail("api-start", "create: %s", err);
		return 1;
	}
	rc = fp_machine_start(a);
	t_start = now_ms();
	if (rc) {
		fail("api-start", "%s", fp_machine_error(a, err, sizeof(err)));
		fp_machine_destroy(a);
		return 1;
	}
	pass("api-start", "VMM pid %d, agent ready %lld ms after create", fp_machine_pid(a), (long long)(t_start - t0));
	if (run_expect(a, "api-exec-echo", "echo hello", 0, "hello\n")) {
		t_exec = now_ms();
		printf("TIME api start to first successful exec: %lld ms (create %lld, start %lld, first exec %lld)\n",
		       (long long)(t_exec - t0), (long long)(t_create - t0), (long long)(t_start - t_create),
		       (long long)(t_exec - t_start));
	}
	run_expect(a, "api-exec-false", "false", 1, "");
	run_expect(a, "api-exec-not-found", "no-such-command-here 2>/dev/null", 127, "");
	check_stream(a);
	check_pipe(a);
	check_tty(a);
	check_opts(a);
	check_cancel(a);
	check_files(a);

	base_config(&cb, "api-b", 4, "/tmp/api-b.sock", logb);
	t0 = now_ms();
	rc = fp_machine_create(&cb, &b, err, sizeof(err));
	if (!rc)
		rc = fp_machine_start(b);
	if (rc) {
		fail("api-two-machines", "b: %s", b ? fp_machine_error(b, err, sizeof(err)) : err);
	} else {
		printf("TIME second machine (while the first runs): agent ready %lld ms after create\n",
		       (long long)(now_ms() - t0));
		check_two(a, b);
	}
	/* The first machine still serves after the second started. */
	run_expect(a, "api-first-still-serves", "echo still", 0, "still\n");
	rc = run(a, "true", &r);
	fp_exec_result_free(&r);
	fp_machine_destroy(b);
	t0 = now_ms();
	fp_machine_destroy(a);
	printf("TIME close of a running machine: %lld ms\n", (long long)(now_ms() - t0));
	if (access("/tmp/api-a.sock", F_OK) == 0 || access("/tmp/api-b.sock", F_OK) == 0)
		fail("api-close-removes-sockets", "a socket is left");
	else
		pass("api-close-removes-sockets", "both VMMs stopped, sockets removed");

	check_panic();
	check_kill();
	if (count_fds(0) != fds0)
		fail("api-no-fd-leak", "%d descriptors at the start, %d at the end", fds0, count_fds(0));
	else
		pass("api-no-fd-leak", "%d descriptors at the start and at the end of all checks", fds0);
	return failures ? 1 : 0;
}

/* ---- bench ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int bench(int n)
{
	struct fp_vm_config c;
	struct fp_machine *m;
	struct fp_exec_result r;
	struct watch w;
	char err[4096], log[256];
	double t0, t_created, t_ready, t_exec, t_closed, *lat = calloc((size_t)n, sizeof(double));
	long rss0, rss1, own0, own1;
	int fd0, fd1, rc;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/api-bench.log", outdir);
	base_config(&c, "api-bench", 3, "/tmp/api-bench.sock", log);
	if (!lat || watch_start(&w, log)) {
		printf("BENCH error cannot watch %s\n", log);
		return 1;
	}
	t0 = now_us();
	rc = fp_machine_create(&c, &m, err, sizeof(err));
	t_created = now_us();
	if (rc) {
		printf("BENCH error create: %s\n", err);
		return 1;
	}
	rc = fp_machine_start(m);
	t_ready = now_us();
	if (rc) {
		printf("BENCH error start: %s\n", oneline(fp_machine_error(m, err, sizeof(err)), err, sizeof(err)));
		return 1;
	}
	printf("BENCH create_ms %.1f\n", (t_created - t0) / 1e3);
	printf("BENCH start_ms %.1f\n", (t_ready - t_created) / 1e3);
	if (w.t_run_init && w.t_agent) {
		double kstart = w.t_run_init - w.ts_run_init * 1e6;

		printf("BENCH split_vmm_ms %.1f\n", (kstart - t_created) / 1e3);
		printf("BENCH split_kernel_ms %.1f\n", w.ts_run_init * 1e3);
		printf("BENCH split_init_ms %.1f\n", (w.t_agent - w.t_run_init) / 1e3);
		printf("BENCH split_agent_ms %.1f\n", (t_ready - w.t_agent) / 1e3);
	}
	{
		/* A request that starts no process, before the first exec (see the report). */
		struct fp_file_info *files;
		double t = now_us();
		int nf = fp_machine_list_files(m, "/", &files);

		if (nf >= 0)
			fp_file_list_free(files, (size_t)nf);
		printf("BENCH first_list_ms %.1f\n", (now_us() - t) / 1e3);
		t_ready = now_us();
	}
	rc = run(m, "true", &r);
	t_exec = now_us();
	fp_exec_result_free(&r);
	if (rc) {
		printf("BENCH error exec: %s\n", fp_machine_error(m, err, sizeof(err)));
		return 1;
	}
	if (run(m, "cut -d' ' -f1 /proc/uptime", &r) == 0)
		printf("BENCH guest_uptime_after_first_exec_s %s", r.out);
	fp_exec_result_free(&r);
	pid = fp_machine_pid(m);
	printf("BENCH first_exec_ms %.1f\n", (t_exec - t_ready) / 1e3);
	/* Warm: the 100 execs are measured after the first. */
	/* The VMM closes a connection's socket shortly after the guest's side is gone: settle first. */
	usleep(1000 * 1000);
	rss0 = rss_kib(pid);
	own0 = vmm_own_kib(pid, c.memory_mb);
	fd0 = count_fds(pid);
	for (int i = 0; i < n; i++) {
		double s = now_us();

		rc = run(m, "true", &r);
		lat[i] = (now_us() - s) / 1e3;
		if (rc || r.exit_code) {
			printf("BENCH error exec %d: rc %d exit %d\n", i, rc, r.exit_code);
			fp_exec_result_free(&r);
			return 1;
		}
		fp_exec_result_free(&r);
	}
	printf("BENCH vmm_fds_right_after %d\n", count_fds(pid));
	usleep(1000 * 1000);
	rss1 = rss_kib(pid);
	own1 = vmm_own_kib(pid, c.memory_mb);
	fd1 = count_fds(pid);
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("BENCH execs %d\n", n);
	printf("BENCH exec_median_ms %.2f\n", n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2);
	printf("BENCH exec_p99_ms %.2f\n", lat[(int)((n - 1) * 0.99 + 0.5)]);
	printf("BENCH exec_min_ms %.2f\nBENCH exec_max_ms %.2f\n", lat[0], lat[n - 1]);
	printf("BENCH vmm_rss_kib_before %ld\nBENCH vmm_rss_kib_after %ld\n", rss0, rss1);
	printf("BENCH vmm_own_kib_before %ld\nBENCH vmm_own_kib_after %ld\n", own0, own1);
	printf("BENCH vmm_fds_before %d\nBENCH vmm_fds_after %d\n", fd0, fd1);
	t_closed = now_us();
	fp_machine_destroy(m);
	printf("BENCH close_ms %.1f\n", (now_us() - t_closed) / 1e3);
	watch_stop(&w);
	free(lat);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int bench_n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--vmm"))
			vmm = argv[i + 1];
		else if (!strcmp(argv[i], "--kernel"))
			kernel = argv[i + 1];
		else if (!strcmp(argv[i], "--rootfs"))
			rootfs = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			outdir = argv[i + 1];
		else if (!strcmp(argv[i], "--bench"))
			bench_n = atoi(argv[i + 1]);
	}
	if (!vmm || !kernel || !rootfs) {
		fprintf(stderr, "usage: e2e_api --vmm PATH --kernel PATH --rootfs PATH [--out DIR] [--bench N]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	return bench_n > 0 ? bench(bench_n) : checks();
}
