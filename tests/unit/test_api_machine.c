// SPDX-License-Identifier: MIT
/*
 * The Machine API's life cycle and exec/file client against a fake VMM
 * (tests/api/fake_vmm.py): it makes the hybrid vsock socket and answers as
 * the guest agent does, so start, readiness, every exec mode, cancellation,
 * files and close are checked without KVM or a guest. The real guest is
 * exercised by the end-to-end suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "flashpan.h"

#define FAKE_VMM "tests/api/fake_vmm.py"

struct env {
	char dir[64], kernel[96], rootfs[96], vsock[96], log[96];
	struct fp_env_var vars[2];
	struct fp_vm_config cfg;
	struct fp_machine *m;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const char *path, const char *data, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	if (size)
		assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	strcpy(e->dir, "/tmp/fp-machine-test-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->kernel, sizeof(e->kernel), "%s/vmlinux", e->dir);
	snprintf(e->rootfs, sizeof(e->rootfs), "%s/rootfs.ext4", e->dir);
	snprintf(e->vsock, sizeof(e->vsock), "%s/v.sock", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/console.log", e->dir);
	write_file(e->kernel, "kernel", 0);
	write_file(e->rootfs, "ROOTFS-HEAD", 64 << 20); /* 64 MiB, nearly all hole */
	e->vars[0] = (struct fp_env_var){ "A", "1" };
	e->vars[1] = (struct fp_env_var){ "B", "2" };
	e->cfg = (struct fp_vm_config){ .id = "vm-test", .kernel_path = e->kernel, .rootfs_path = e->rootfs,
					.cpus = 1, .memory_mb = 128, .vsock_cid = 3, .vsock_path = e->vsock,
					.log_path = e->log, .no_network = true, .vmm_path = FAKE_VMM,
					.run_dir = e->dir, .start_timeout_ms = 10000, .stop_grace_ms = 2000,
					.env = e->vars, .nr_env = 2 };
	setenv("FAKE_VMM_MODE", "ok", 1);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	fp_machine_destroy(e->m);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd)) {
		/* best effort */
	}
	free(e);
	return 0;
}

static struct fp_machine *started(struct env *e)
{
	char err[512] = "";
	int rc = fp_machine_create(&e->cfg, &e->m, err, sizeof(err));

	if (rc)
		fail_msg("create: %d %s", rc, err);
	rc = fp_machine_start(e->m);
	if (rc)
		fail_msg("start: %d %s", rc, fp_machine_error(e->m, err, sizeof(err)));
	return e->m;
}

static void test_start_exec_buffered(void **state)
{
	struct env *e = *state;
	struct fp_machine *m = started(e);
	struct fp_exec_result r;
	char err[512];

	assert_true(fp_machine_pid(m) > 0);
	assert_int_equal(fp_machine_exec(m, "echo hello world", NULL, &r), 0);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "hello world\n");
	assert_int_equal(r.out_len, 12);
	fp_exec_result_free(&r);
	assert_int_equal(fp_machine_exec(m, "exit 3", NULL, &r), 0);
	assert_int_equal(r.exit_code, 3);
	fp_exec_result_free(&r);
	/* A start failure in the guest is the agent's error string, not a hang. */
	assert_int_equal(fp_machine_exec(m, "fail", NULL, &r), -EREMOTEIO);
	assert_int_equal(r.exit_code, 127);
	assert_non_null(strstr(r.error, "executable file not found"));
	assert_non_null(strstr(fp_machine_error(m, err, sizeof(err)), "executable file not found"));
	fp_exec_result_free(&r);
}

static void collect_cb(void *opaque, const void *buf, size_t len)
{
	strncat(opaque, buf, len);
}

static void test_exec_stream_pipe_tty_env(void **state)
{
	struct env *e = *state;
	struct fp_machine *m = started(e);
	struct fp_env_var over = { "B", "3" };
	char seen[256] = "";
	struct fp_exec_opts o = { .mode = FP_EXEC_STREAM, .on_stdout = collect_cb, .on_stderr = collect_cb,
				  .opaque = seen, .stdin_fd = -1 };
	struct fp_exec_result r;
	int p[2];

	assert_int_equal(fp_machine_exec(m, "echo streamed", &o, &r), 0);
	assert_string_equal(seen, "streamed\nwarn\n");
	assert_string_equal(r.out, ""); /* not collected unless asked */
	fp_exec_result_free(&r);

	/* ExecPipe: stdin frames, then EOF, then Exit. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc\n", 4), 4);
	close(p[1]);
	o = (struct fp_exec_opts){ .mode = FP_EXEC_PIPE, .stdin_fd = p[0], .collect = true };
	assert_int_equal(fp_machine_exec(m, "cat", &o, &r), 0);
	assert_string_equal(r.out, "abc\n");
	assert_int_equal(r.exit_code, 0);
	fp_exec_result_free(&r);
	close(p[0]);

	o = (struct fp_exec_opts){ .mode = FP_EXEC_TTY, .stdin_fd = -1, .collect = true, .rows = 40, .cols = 100 };
	assert_int_equal(fp_machine_exec(m, "exit 7", &o, &r), 0);
	assert_int_equal(r.exit_code, 7);
	fp_exec_result_free(&r);

	/* The machine's env, then the exec's own values. */
	o = (struct fp_exec_opts){ .env = &over, .nr_env = 1, .stdin_fd = -1 };
	assert_int_equal(fp_machine_exec(m, "env", &o, &r), 0);
	assert_string_equal(r.out, "A=1\nB=3\n");
	fp_exec_result_free(&r);
}

struct canceller {
	struct fp_exec_cancel *c;
	int delay_ms;
};

static void *cancel_later(void *opaque)
{
	struct canceller *k = opaque;

	usleep((useconds_t)k->delay_ms * 1000);
	fp_exec_cancel(k->c);
	return NULL;
}

static bool wait_for_file(const char *path, int ms)
{
	int64_t end = now_ms() + ms;

	while (access(path, F_OK) && now_ms() < end)
		usleep(5000);
	return access(path, F_OK) == 0;
}

static void test_exec_cancel_and_timeout(void **state)
{
	struct env *e = *state;
	char killed[128];
	struct canceller k = { .c = fp_exec_cancel_new(), .delay_ms = 100 };
	struct fp_exec_opts o = { .cancel = k.c, .stdin_fd = -1 };
	struct fp_exec_result r;
	struct fp_machine *m;
	pthread_t t;
	int64_t t0;

	snprintf(killed, sizeof(killed), "%s/killed", e->dir);
	setenv("FAKE_VMM_KILLED_FILE", killed, 1);
	m = started(e);
	pthread_create(&t, NULL, cancel_later, &k);
	t0 = now_ms();
	assert_int_equal(fp_machine_exec(m, "sleep 1000", &o, &r), -ECANCELED);
	assert_true(now_ms() - t0 < 1000);
	pthread_join(t, NULL);
	fp_exec_result_free(&r);
	/* The agent saw the connection close: that is what kills the command. */
	assert_true(wait_for_file(killed, 2000));
	unlink(killed);

	o = (struct fp_exec_opts){ .timeout_ms = 150, .stdin_fd = -1 };
	t0 = now_ms();
	assert_int_equal(fp_machine_exec(m, "sleep 1000", &o, &r), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 150 && now_ms() - t0 < 1500);
	fp_exec_result_free(&r);
	assert_true(wait_for_file(killed, 2000));
	fp_exec_cancel_free(k.c);
	unsetenv("FAKE_VMM_KILLED_FILE");
}

static void test_files(void **state)
{
	struct env *e = *state;
	struct fp_machine *m = started(e);
	struct fp_file_info *list;
	const char bin[] = "a\0b\xff\n";
	char err[512];
	void *data;
	size_t len;

	assert_int_equal(fp_machine_write_file(m, "/tmp/d/x.bin", bin, sizeof(bin) - 1, 0600), 0);
	assert_int_equal(fp_machine_write_file(m, "/tmp/d/a.txt", "", 0, 0), 0);
	assert_int_equal(fp_machine_read_file(m, "/tmp/d/x.bin", &data, &len), 0);
	assert_int_equal(len, sizeof(bin) - 1);
	assert_memory_equal(data, bin, len);
	free(data);
	assert_int_equal(fp_machine_read_file(m, "/tmp/d/a.txt", &data, &len), 0);
	assert_int_equal(len, 0);
	free(data);
	assert_int_equal(fp_machine_list_files(m, "/tmp/d", &list), 2);
	assert_string_equal(list[0].name, "a.txt");
	assert_string_equal(list[1].name, "x.bin");
	assert_int_equal(list[1].size, 5);
	fp_file_list_free(list, 2);
	assert_int_equal(fp_machine_read_file(m, "/nope", &data, &len), -ENOENT);
	assert_non_null(strstr(fp_machine_error(m, err, sizeof(err)), "read /nope: open /nope: no such file"));
}

static void test_start_fails_with_console_tail(void **state)
{
	struct env *e = *state;
	char err[4096];
	int64_t t0 = now_ms();

	setenv("FAKE_VMM_MODE", "panic", 1);
	assert_int_equal(fp_machine_create(&e->cfg, &e->m, err, sizeof(err)), 0);
	assert_int_equal(fp_machine_start(e->m), -ECHILD);
	assert_true(now_ms() - t0 < 3000); /* a dead VMM ends the wait at once, not at the timeout */
	fp_machine_error(e->m, err, sizeof(err));
	assert_non_null(strstr(err, "the VMM exited with status 5 before the guest agent was ready"));
	assert_non_null(strstr(err, "Kernel panic - not syncing: VFS: Unable to mount root fs"));
	assert_int_equal(fp_machine_pid(e->m), 0);
	assert_int_equal(fp_machine_wait(e->m, 0), 5);
}

static void test_start_timeout(void **state)
{
	struct env *e = *state;
	char err[4096];
	int64_t t0;

	setenv("FAKE_VMM_MODE", "never", 1);
	/*
	 * Long enough for the (Python) fake VMM to have written its first console
	 * line even on a loaded machine: the error must carry the console tail.
	 */
	e->cfg.start_timeout_ms = 2000;
	assert_int_equal(fp_machine_create(&e->cfg, &e->m, err, sizeof(err)), 0);
	t0 = now_ms();
	assert_int_equal(fp_machine_start(e->m), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 2000 && now_ms() - t0 < 6000);
	fp_machine_error(e->m, err, sizeof(err));
	assert_non_null(strstr(err, "the guest agent was not ready within 2000 ms"));
	assert_non_null(strstr(err, "fake-vmm: args run --id vm-test"));
	assert_int_equal(fp_machine_pid(e->m), 0); /* stopped */
}

static void test_close_cleans_up(void **state)
{
	struct env *e = *state;
	struct fp_machine *m;
	char rootfs[256];
	struct stat st;
	pid_t pid;
	int fd;

	e->cfg.log_path = NULL; /* the machine's own log in its run folder */
	m = started(e);
	snprintf(rootfs, sizeof(rootfs), "%s", fp_machine_rootfs_path(m));
	assert_string_not_equal(rootfs, e->rootfs); /* a private copy */
	assert_int_equal(stat(rootfs, &st), 0);
	assert_int_equal(st.st_size, 64 << 20);
	assert_true(st.st_blocks * 512 < (16 << 20)); /* the holes stayed holes */
	fd = fp_machine_dial_vsock(m, FP_VSOCK_PORT_READY);
	assert_true(fd >= 0);
	close(fd);
	/* A VMM killed under the machine: close still stops, reaps and removes what it made. */
	pid = fp_machine_pid(m);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(fp_machine_wait(m, 5000), 128 + SIGKILL);
	assert_int_equal(access(e->vsock, F_OK), 0); /* left behind by the dead VMM */
	fp_machine_close(m);
	fp_machine_close(m); /* idempotent */
	assert_int_equal(access(e->vsock, F_OK), -1);
	assert_int_equal(access(rootfs, F_OK), -1);
	assert_int_equal(fp_machine_pid(m), 0);
	assert_int_equal(fp_machine_start(m), -EBADF);
}

static void test_stop_and_wait(void **state)
{
	struct env *e = *state;
	struct fp_machine *m = started(e);

	assert_int_equal(fp_machine_wait(m, 10), -ETIMEDOUT);
	assert_int_equal(fp_machine_stop(m), 0);
	assert_int_equal(fp_machine_wait(m, -1), 128 + SIGTERM); /* the fake exits 143 on SIGTERM */
	assert_int_equal(fp_machine_stop(m), 0);                 /* nothing left to stop */
	assert_int_equal(access(e->vsock, F_OK), -1);
}

static void test_two_machines_and_network_fd(void **state)
{
	struct env *e = *state;
	struct fp_vm_config c2 = e->cfg;
	struct fp_machine *m1 = started(e), *m2;
	char v2[128], err[512];
	struct fp_exec_result r;
	struct stat st;

	snprintf(v2, sizeof(v2), "%s/v2.sock", e->dir);
	c2.vsock_path = v2;
	c2.id = "vm-two";
	c2.log_path = NULL;
	c2.no_network = false;
	c2.use_interception = true;
	c2.prebuilt_rootfs = e->rootfs;
	assert_int_equal(fp_machine_create(&c2, &m2, err, sizeof(err)), 0);
	assert_string_equal(fp_machine_rootfs_path(m2), e->rootfs); /* prebuilt: not copied */
	assert_int_equal(fp_machine_start(m2), 0);
	assert_int_equal(fp_machine_exec(m1, "echo one", NULL, &r), 0);
	assert_string_equal(r.out, "one\n");
	fp_exec_result_free(&r);
	assert_int_equal(fp_machine_exec(m2, "echo two", NULL, &r), 0);
	assert_string_equal(r.out, "two\n");
	fp_exec_result_free(&r);
	assert_true(fp_machine_network_fd(m2) >= 0);
	assert_int_equal(fstat(fp_machine_network_fd(m2), &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(fp_machine_network_fd(m1), -ENOENT);
	assert_int_equal(fp_machine_vsock_fd(m1), -ENOTSUP);
	fp_machine_destroy(m2);
	assert_int_equal(access(e->rootfs, F_OK), 0); /* a prebuilt rootfs is the caller's */
}

static void test_create_refuses_bad_config(void **state)
{
	struct env *e = *state;
	char err[512];

	e->cfg.cpus = 0;
	assert_int_equal(fp_machine_create(&e->cfg, &e->m, err, sizeof(err)), -EINVAL);
	assert_null(e->m);
	assert_non_null(strstr(err, "cpus must be a finite number > 0"));
	e->cfg.cpus = 1;
	e->cfg.vmm_path = "/nonexistent/flashpan";
	assert_int_equal(fp_machine_create(&e->cfg, &e->m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot find the flashpan VMM '/nonexistent/flashpan'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_exec_buffered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_stream_pipe_tty_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_cancel_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_fails_with_console_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_cleans_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_and_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_machines_and_network_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_refuses_bad_config, setup, teardown),
	};

	if (access(FAKE_VMM, X_OK)) {
		fprintf(stderr, "run from the repository root: no %s\n", FAKE_VMM);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
