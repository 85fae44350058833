// SPDX-License-Identifier: MIT
/*
 * The guest agent on the host, over Unix sockets: every case a user of the
 * exec service would notice (GUEST-CONTRACT.md "The exec service on port
 * 5000"). One line per case: PASS <name> | FAIL <name>: <why> | SKIP ...
 *
 * usage: agent_test AGENT SANDBOX_PROBE TMPDIR
 * Starts AGENT twice: confined (only when root; as in a guest without
 * matchlock.privileged=1) and --privileged.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/agent/client.h"

static const char *agent_bin, *probe_bin, *tmp;
static char sock[512];		/* the agent under test: PREFIX_5000 */
static int failed;

static void pass(const char *name)
{
	printf("PASS %s\n", name);
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
	failed++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t start_agent(const char *prefix, bool privileged)
{
	char path[600];
	pid_t pid;
	int i;

	pid = fork();
	if (pid == 0) {
		char log[600];
		int fd;

		snprintf(log, sizeof(log), "%s.log", prefix);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execl(agent_bin, agent_bin, "--listen-unix", prefix,
		      privileged ? "--privileged" : NULL, NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s_5002", prefix);
	for (i = 0; i < 100; i++) {
		int fd = client_connect(path, 0);

		if (fd >= 0) {
			close(fd);
			return pid;
		}
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	return -1;
}

/* Exec (1) of json; 0 with r filled or -1 (reported as a failure of name). */
static int exec_json(const char *name, const char *json, struct exec_result *r)
{
	if (client_exec(sock, 0, json, r) == 0)
		return 0;
	fail(name, "no ExecResult for %s", json);
	return -1;
}

static int exec_cmd(const char *name, const char *cmd, struct exec_result *r)
{
	json_t *o = json_pack("{s:s}", "command", cmd);
	char *s = json_dumps(o, JSON_COMPACT);
	int ret = exec_json(name, s, r);

	free(s);
	json_decref(o);
	return ret;
}

static bool out_is(const struct exec_result *r, const char *want)
{
	return r->out_len == strlen(want) && memcmp(r->out, want, r->out_len) == 0;
}

static void expect_exec(const char *name, const char *cmd, int code, const char *out)
{
	struct exec_result r;

	if (exec_cmd(name, cmd, &r))
		return;
	if (r.exit_code != code || (out && !out_is(&r, out)))
		fail(name, "exit %d stdout '%.*s' stderr '%.*s' error '%s'", r.exit_code,
		     (int)r.out_len, r.out, (int)r.err_len, r.err, r.error ? r.error : "");
	else
		pass(name);
	exec_result_free(&r);
}

static void test_basics(void)
{
	struct exec_result r;
	int lines = 0;
	size_t i;

	expect_exec("agent-echo-hello", "echo hello", 0, "hello\n");
	expect_exec("agent-false-exit-1", "false", 1, "");
	expect_exec("agent-exit-code-42", "exit 42", 42, "");
	expect_exec("agent-killed-by-signal-is-minus-1", "kill -9 $$", -1, "");
	expect_exec("agent-command-not-found-127", "no-such-command-xyz", 127, "");
	if (!exec_cmd("agent-cat-nonexistent", "cat /nonexistent", &r)) {
		if (r.exit_code != 0 && r.err_len && memmem(r.err, r.err_len, "nonexistent", 11))
			pass("agent-cat-nonexistent");
		else
			fail("agent-cat-nonexistent", "exit %d stderr '%.*s'", r.exit_code, (int)r.err_len, r.err);
		exec_result_free(&r);
	}
	if (!exec_cmd("agent-stderr", "sh -c 'echo err >&2'", &r)) {
		if (r.exit_code == 0 && r.out_len == 0 && r.err_len == 4 && !memcmp(r.err, "err\n", 4))
			pass("agent-stderr");
		else
			fail("agent-stderr", "exit %d stdout '%.*s' stderr '%.*s'", r.exit_code,
			     (int)r.out_len, r.out, (int)r.err_len, r.err);
		exec_result_free(&r);
	}
	if (!exec_cmd("agent-seq-1000", "seq 1 1000", &r)) {
		for (i = 0; i < r.out_len; i++)
			lines += r.out[i] == '\n';
		if (r.exit_code == 0 && lines == 1000 && r.out_len > 5 &&
		    !memcmp(r.out + r.out_len - 5, "1000\n", 5))
			pass("agent-seq-1000");
		else
			fail("agent-seq-1000", "exit %d, %d lines", r.exit_code, lines);
		exec_result_free(&r);
	}
	if (!exec_json("agent-cwd-env",
		       "{\"command\":\"pwd; echo $FOO-$BAR\",\"working_dir\":\"/tmp\","
		       "\"env\":{\"FOO\":\"foo\",\"BAR\":\"b a r\"},\"unknown_field\":[1,2]}", &r)) {
		if (r.exit_code == 0 && out_is(&r, "/tmp\nfoo-b a r\n"))
			pass("agent-cwd-env");
		else
			fail("agent-cwd-env", "exit %d stdout '%.*s' error '%s'", r.exit_code,
			     (int)r.out_len, r.out, r.error ? r.error : "");
		exec_result_free(&r);
	}
	if (!exec_json("agent-bad-cwd-127", "{\"command\":\"true\",\"working_dir\":\"/no/such/dir\"}", &r)) {
		if (r.exit_code == 127 && r.error && strstr(r.error, "chdir /no/such/dir"))
			pass("agent-bad-cwd-127");
		else
			fail("agent-bad-cwd-127", "exit %d error '%s'", r.exit_code, r.error ? r.error : "");
		exec_result_free(&r);
	}
	if (!exec_json("agent-exec-stdin", "{\"command\":\"cat\",\"stdin\":\"ZnJvbSBzdGRpbg==\"}", &r)) {
		if (r.exit_code == 0 && out_is(&r, "from stdin"))
			pass("agent-exec-stdin");
		else
			fail("agent-exec-stdin", "exit %d stdout '%.*s'", r.exit_code, (int)r.out_len, r.out);
		exec_result_free(&r);
	}
	if (!exec_json("agent-exec-stdin-devnull", "{\"command\":\"cat; echo done\"}", &r)) {
		if (r.exit_code == 0 && out_is(&r, "done\n"))
			pass("agent-exec-stdin-devnull");
		else
			fail("agent-exec-stdin-devnull", "exit %d stdout '%.*s'", r.exit_code, (int)r.out_len, r.out);
		exec_result_free(&r);
	}
	if (!exec_json("agent-bad-json", "{\"command\":", &r)) {
		if (r.error && strstr(r.error, "invalid request"))
			pass("agent-bad-json");
		else
			fail("agent-bad-json", "exit %d error '%s'", r.exit_code, r.error ? r.error : "");
		exec_result_free(&r);
	}
}

static void test_users(void)
{
	static const char *const specs[] = { "nobody", "65534:65534", "65534" };
	struct exec_result r;
	char json[256], name[64];
	size_t i;

	if (geteuid() != 0) {
		printf("SKIP agent-user: not root\n");
		return;
	}
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "agent-user-%s", specs[i]);
		snprintf(json, sizeof(json), "{\"command\":\"id -u; id -g; touch /root/.agent-test 2>/dev/null"
			 " && echo wrote-root\",\"user\":\"%s\"}", specs[i]);
		if (exec_json(name, json, &r))
			continue;
		if (out_is(&r, "65534\n65534\n"))
			pass(name);
		else
			fail(name, "exit %d stdout '%.*s' error '%s'", r.exit_code, (int)r.out_len, r.out,
			     r.error ? r.error : "");
		exec_result_free(&r);
	}
	if (!exec_json("agent-user-unknown", "{\"command\":\"id\",\"user\":\"no-such-user-x\"}", &r)) {
		if (r.exit_code == 127 && r.error && strstr(r.error, "no-such-user-x"))
			pass("agent-user-unknown");
		else
			fail("agent-user-unknown", "exit %d error '%s'", r.exit_code, r.error ? r.error : "");
		exec_result_free(&r);
	}
}

/* ExecStream: the first Stdout frame comes before the command ends. */
static void test_stream(void)
{
	const char *name = "agent-stream-early-output";
	int fd = client_connect(sock, 0), frames = 0;
	double t0 = now(), first = -1;
	struct exec_result r = { 0 };
	uint8_t type, *p;
	uint32_t len;
	char out[64] = "";

	if (fd < 0 || client_send_json(fd, 11, "{\"command\":\"echo a; sleep 1; echo b >&2\"}")) {
		fail(name, "cannot send");
		return;
	}
	while (client_recv(fd, &type, &p, &len, 10000) == 1) {
		if (type == 3 || type == 4) {
			if (first < 0)
				first = now() - t0;
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%d:%.*s", type, (int)len, p);
			frames++;
		} else if (type == 2) {
			exec_result_parse(p, len, &r);
			free(p);
			break;
		}
		free(p);
	}
	close(fd);
	if (first >= 0 && first < 0.8 && !strcmp(out, "3:a\n4:b\n") && r.exit_code == 0 && !r.out_len)
		pass(name);
	else
		fail(name, "first output after %.2f s, frames '%s', exit %d", first, out, r.exit_code);
	exec_result_free(&r);
}

struct sender {
	int fd;
	size_t total;
};

static void *send_stdin(void *arg)
{
	struct sender *s = arg;
	static uint8_t chunk[65536];
	size_t sent = 0;

	memset(chunk, 'x', sizeof(chunk));
	while (sent < s->total) {
		size_t n = s->total - sent < sizeof(chunk) ? s->total - sent : sizeof(chunk);

		if (client_send(s->fd, 7, chunk, n))
			return NULL;
		sent += n;
	}
	client_send(s->fd, 7, NULL, 0);
	return NULL;
}

/* ExecPipe with cat: bytes in through Stdin frames come back as Stdout. */
static void test_pipe(const char *name, size_t total)
{
	int fd = client_connect(sock, 0), exit_seen = 0;
	struct sender s = { .fd = fd, .total = total };
	uint32_t len, code = 99;
	size_t got = 0, bad = 0;
	uint8_t type, *p;
	pthread_t t;

	if (fd < 0 || client_send_json(fd, 12, "{\"command\":\"cat\"}")) {
		fail(name, "cannot send");
		return;
	}
	pthread_create(&t, NULL, send_stdin, &s);
	while (client_recv(fd, &type, &p, &len, 20000) == 1) {
		if (type == 3) {
			for (uint32_t i = 0; i < len; i++)
				bad += p[i] != 'x';
			got += len;
		} else if (type == 10 && len == 4) {
			code = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
			exit_seen = 1;
		}
		free(p);
	}
	pthread_join(t, NULL);
	close(fd);
	if (exit_seen && code == 0 && got == total && !bad)
		pass(name);
	else
		fail(name, "got %zu of %zu bytes (%zu wrong), exit %s %u", got, total, bad,
		     exit_seen ? "seen" : "missing", code);
}

static void test_files(void)
{
	struct file_result f;
	size_t n = 100000, i;
	char *json, *enc, path[600];
	uint8_t *data = malloc(n);

	srand(42);
	for (i = 0; i < n; i++)
		data[i] = rand();
	enc = b64(data, n);
	snprintf(path, sizeof(path), "%s/files/new/dir/data.bin", tmp);
	json = malloc(strlen(enc) + 1024);
	sprintf(json, "{\"path\":\"%s\",\"content\":\"%s\",\"mode\":0}", path, enc);
	if (client_file(sock, 0, 14, json, &f) || f.error) {
		fail("agent-write-read-100000", "WriteFile: %s", f.error ? f.error : "no result");
	} else {
		struct stat st;
		char req[700];

		file_result_free(&f);
		snprintf(req, sizeof(req), "{\"path\":\"%s\"}", path);
		if (client_file(sock, 0, 15, req, &f) || f.error)
			fail("agent-write-read-100000", "ReadFile: %s", f.error ? f.error : "no result");
		else if (f.content_len != n || memcmp(f.content, data, n))
			fail("agent-write-read-100000", "read %zu bytes back, not the same", f.content_len);
		else if (stat(path, &st) || (st.st_mode & 0777) != (0644 & ~022))
			fail("agent-write-read-100000", "mode %o, want 0644", st.st_mode & 0777);
		else
			pass("agent-write-read-100000");
	}
	file_result_free(&f);
	free(json);
	free(enc);
	free(data);

	/* A script written with mode 0755 runs. */
	enc = b64("#!/bin/sh\necho script ran \"$1\"\n", 30);
	snprintf(path, sizeof(path), "%s/files/run.sh", tmp);
	json = malloc(strlen(enc) + 1024);
	sprintf(json, "{\"path\":\"%s\",\"content\":\"%s\",\"mode\":493}", path, enc);
	if (client_file(sock, 0, 14, json, &f) || f.error) {
		fail("agent-script-runs", "WriteFile: %s", f.error ? f.error : "no result");
	} else {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "%s ok", path);
		expect_exec("agent-script-runs", cmd, 0, "script ran ok\n");
	}
	file_result_free(&f);
	free(json);
	free(enc);

	if (client_file(sock, 0, 15, "{\"path\":\"/dev/null\"}", &f) == 0 && f.error &&
	    strstr(f.error, "only supports regular files"))
		pass("agent-read-refuses-device");
	else
		fail("agent-read-refuses-device", "error '%s'", f.error ? f.error : "");
	file_result_free(&f);
	if (client_file(sock, 0, 15, "{\"path\":\"/no/such/file\"}", &f) == 0 && f.error &&
	    strstr(f.error, "no such file"))
		pass("agent-read-missing");
	else
		fail("agent-read-missing", "error '%s'", f.error ? f.error : "");
	file_result_free(&f);
	/* A sparse file one byte over the limit. */
	snprintf(path, sizeof(path), "%s/files/big", tmp);
	i = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if ((int)i < 0 || ftruncate(i, (16 << 20) + 1) < 0)
		fail("agent-read-refuses-over-16MiB", "cannot make %s", path);
	close(i);
	json = malloc(700);
	snprintf(json, 700, "{\"path\":\"%s\"}", path);
	if (client_file(sock, 0, 15, json, &f) == 0 && f.error && strstr(f.error, "exceeds"))
		pass("agent-read-refuses-over-16MiB");
	else
		fail("agent-read-refuses-over-16MiB", "error '%s'", f.error ? f.error : "");
	file_result_free(&f);
	free(json);
	unlink(path);

	/* ListFiles: sorted, no . or .., Go mode bits. */
	snprintf(path, sizeof(path), "mkdir -p %s/ls/c && cd %s/ls && printf 12345 > b && : > a && "
		 "ln -sf b d && chmod 0640 b", tmp, tmp);
	expect_exec("agent-list-setup", path, 0, "");
	snprintf(path, sizeof(path), "{\"path\":\"%s/ls\"}", tmp);
	if (client_file(sock, 0, 16, path, &f) || f.error || !f.files) {
		fail("agent-list-files", "error '%s'", f.error ? f.error : "no files");
	} else {
		json_t *arr = f.files, *e;
		char got[512] = "";

		json_array_foreach(arr, i, e) {
			const char *t = json_string_value(json_object_get(e, "mod_time"));

			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s:%lld:%llx:%d:%s ",
				 json_string_value(json_object_get(e, "name")),
				 json_integer_value(json_object_get(e, "size")),
				 json_integer_value(json_object_get(e, "mode")),
				 json_is_true(json_object_get(e, "is_dir")),
				 t && strlen(t) >= 20 && t[4] == '-' && t[10] == 'T' && t[strlen(t) - 1] == 'Z' ?
				 "t" : "badtime");
		}
		/* c: 0755 | ModeDir (1<<31); d: 0777 | ModeSymlink (1<<27). */
		if (!strncmp(got, "a:0:1a4:0:t b:5:1a0:0:t c:", 26) && strstr(got, ":800001ed:1:t ") &&
		    strstr(got, "d:1:80001ff:0:t"))
			pass("agent-list-files");
		else
			fail("agent-list-files", "got %s", got);
	}
	file_result_free(&f);
}

static bool process_with_arg(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	bool found = false;

	while (d && (de = readdir(d)) && !found) {
		char path[300], buf[512];
		ssize_t n, i;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (strcmp(buf, "sleep"))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(buf + i, arg))
				found = true;
	}
	if (d)
		closedir(d);
	return found;
}

/* Closing the connection kills the command: SIGTERM, and SIGKILL 5 s later. */
static void test_cancel(const char *name, const char *cmd, const char *arg, double min, double max)
{
	int fd = client_connect(sock, 0), i;
	double t0, gone = -1;

	if (fd < 0 || client_send_json(fd, 11, cmd)) {
		fail(name, "cannot send");
		return;
	}
	for (i = 0; i < 50 && !process_with_arg(arg); i++)
		usleep(50 * 1000);
	if (!process_with_arg(arg)) {
		fail(name, "the sleep never started");
		close(fd);
		return;
	}
	t0 = now();
	close(fd);
	while (now() - t0 < 10) {
		if (!process_with_arg(arg)) {
			gone = now() - t0;
			break;
		}
		usleep(50 * 1000);
	}
	if (gone >= min && gone <= max)
		pass(name);
	else
		fail(name, "sleep gone after %.2f s, want %.1f to %.1f s", gone, min, max);
}

/* ExecTTY: a terminal of the requested size; Resize and Signal honoured. */
static void test_tty(void)
{
	uint8_t type, *p, resize[4] = { 0, 30, 0, 100 }, sig = 2;
	char out[4096] = "";
	uint32_t len, code = 99;
	int fd = client_connect(sock, 0);
	bool exited = false;

	if (fd < 0 || client_send_json(fd, 9, "{\"command\":\"test -t 0 && test -t 1 && echo is-a-tty;"
				   " stty size; read line; stty size; echo got:$line\","
				   "\"rows\":24,\"cols\":80}")) {
		fail("agent-tty", "cannot send");
		return;
	}
	while (client_recv(fd, &type, &p, &len, 10000) == 1) {
		if (type == 3)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%.*s", (int)len, p);
		if (type == 10 && len == 4) {
			code = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
			exited = true;
		}
		free(p);
		if (strstr(out, "24 80") && !strstr(out, "sent")) {
			client_send(fd, 8, resize, 4);
			client_send(fd, 7, "hi\r", 3);
			strcat(out, "sent");
		}
	}
	close(fd);
	if (exited && code == 0 && strstr(out, "is-a-tty") && strstr(out, "24 80") &&
	    strstr(out, "30 100") && strstr(out, "got:hi"))
		pass("agent-tty");
	else
		fail("agent-tty", "exit %u, output '%s'", code, out);

	out[0] = 0;
	exited = false;
	code = 99;
	fd = client_connect(sock, 0);
	if (fd < 0 || client_send_json(fd, 9, "{\"command\":\"echo started; sleep 30\"}")) {
		fail("agent-tty-signal", "cannot send");
		return;
	}
	while (client_recv(fd, &type, &p, &len, 10000) == 1) {
		/* Not at once: dash loses a SIGINT that lands during its vfork. */
		if (type == 3 && memmem(p, len, "started", 7)) {
			usleep(300 * 1000);
			client_send(fd, 5, &sig, 1);
		}
		if (type == 10 && len == 4) {
			code = (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
			exited = true;
		}
		free(p);
	}
	close(fd);
	if (exited && code == 0xffffffff)
		pass("agent-tty-signal");
	else
		fail("agent-tty-signal", "exit %s %u", exited ? "seen" : "missing", code);
}

/* One hung command does not hold up other requests. */
static void test_concurrency(void)
{
	int hung = client_connect(sock, 0);
	struct exec_result r;
	struct file_result f;
	double t0;

	client_send_json(hung, 11, "{\"command\":\"sleep 5\"}");
	usleep(100 * 1000);
	t0 = now();
	if (exec_cmd("agent-concurrent", "echo side", &r) == 0 && out_is(&r, "side\n") &&
	    client_file(sock, 0, 16, "{\"path\":\"/\"}", &f) == 0 && !f.error && now() - t0 < 2)
		pass("agent-concurrent");
	else
		fail("agent-concurrent", "blocked for %.2f s", now() - t0);
	exec_result_free(&r);
	file_result_free(&f);
	close(hung);
}

static bool closed_by_agent(int fd)
{
	uint8_t type, *p = NULL;
	uint32_t len;
	int r = client_recv(fd, &type, &p, &len, 5000);

	free(p);
	return r == 0;
}

/* Bad input closes that connection only. */
static void test_malformed(pid_t agent)
{
	static const uint8_t huge[5] = { 1, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t unknown[5] = { 99, 0, 0, 0, 0 };
	static const uint8_t result_first[7] = { 2, 0, 0, 0, 2, '{', '}' };
	static const uint8_t trunc[10] = { 1, 0, 0, 0, 100, '{', '"', 'c', 'o', 'm' };
	static const uint8_t bad_mid[5] = { 42, 0, 0, 0, 0 };
	const struct {
		const char *name;
		const uint8_t *p;
		size_t n;
	} cases[] = {
		{ "agent-oversized-frame", huge, sizeof(huge) },
		{ "agent-unknown-type", unknown, sizeof(unknown) },
		{ "agent-result-as-request", result_first, sizeof(result_first) },
	};
	size_t i;
	int fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = client_connect(sock, 0);
		if (fd >= 0 && send(fd, cases[i].p, cases[i].n, MSG_NOSIGNAL) == (ssize_t)cases[i].n &&
		    closed_by_agent(fd))
			pass(cases[i].name);
		else
			fail(cases[i].name, "the connection stayed open");
		close(fd);
	}
	fd = client_connect(sock, 0);
	send(fd, trunc, sizeof(trunc), MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	if (closed_by_agent(fd))
		pass("agent-truncated-frame");
	else
		fail("agent-truncated-frame", "the connection stayed open");
	close(fd);

	/* A bad frame in the middle of an ExecPipe ends it and kills the command. */
	fd = client_connect(sock, 0);
	client_send_json(fd, 12, "{\"command\":\"sleep 63.25\"}");
	usleep(300 * 1000);
	send(fd, bad_mid, sizeof(bad_mid), MSG_NOSIGNAL);
	usleep(1000 * 1000);
	if (!process_with_arg("63.25"))
		pass("agent-bad-frame-mid-exec");
	else
		fail("agent-bad-frame-mid-exec", "the command is still running");
	close(fd);

	if (kill(agent, 0) == 0 && waitpid(agent, NULL, WNOHANG) == 0)
		expect_exec("agent-survives-bad-input", "echo alive", 0, "alive\n");
	else
		fail("agent-survives-bad-input", "the agent died");
}

static void *echo_server(void *arg)
{
	int lfd = (int)(long)arg, fd;
	char buf[256];
	ssize_t n;

	fd = accept(lfd, NULL, NULL);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
		if (write(fd, buf, n) != n)
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_portfwd(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;
	uint8_t type, *p;
	uint32_t len;
	char json[128], buf[64];
	pthread_t t;
	ssize_t n;

	bind(lfd, (struct sockaddr *)&sa, sizeof(sa));
	listen(lfd, 1);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	pthread_create(&t, NULL, echo_server, (void *)(long)lfd);
	fd = client_connect(sock, 0);
	snprintf(json, sizeof(json), "{\"port\":%u}", ntohs(sa.sin_port));
	client_send_json(fd, 13, json);
	if (client_recv(fd, &type, &p, &len, 5000) != 1 || type != 6) {
		fail("agent-port-forward", "no Ready (type %u '%.*s')", type, (int)len, p ? (char *)p : "");
	} else {
		n = write(fd, "ping", 4);
		n = 0;
		while (n < 4) {
			ssize_t r = read(fd, buf + n, sizeof(buf) - n);

			if (r <= 0)
				break;
			n += r;
		}
		if (n == 4 && !memcmp(buf, "PING", 4))
			pass("agent-port-forward");
		else
			fail("agent-port-forward", "got %zd bytes back", n);
	}
	free(p);
	close(fd);
	pthread_join(t, NULL);
	close(lfd);

	/* Nothing listening: Stderr with the reason. */
	fd = client_connect(sock, 0);
	snprintf(json, sizeof(json), "{\"host\":\"127.0.0.1\",\"port\":%u}", ntohs(sa.sin_port));
	client_send_json(fd, 13, json);
	if (client_recv(fd, &type, &p, &len, 5000) == 1 && type == 4 && strstr((char *)p, "refused"))
		pass("agent-port-forward-refused");
	else
		fail("agent-port-forward-refused", "got type %u", type);
	free(p);
	close(fd);
}

static void test_readiness(const char *prefix)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s_5002", prefix);
	fd = client_connect(path, 0);
	if (fd >= 0 && closed_by_agent(fd))
		pass("agent-readiness-accepts-and-closes");
	else
		fail("agent-readiness-accepts-and-closes", "no");
	if (fd >= 0)
		close(fd);
}

/* The confinement the contract asks for, seen from inside a command. */
static void test_sandbox(bool confined)
{
	const char *name = confined ? "agent-sandbox-confined" : "agent-sandbox-privileged";
	char cmd[1024];
	struct exec_result r;

	snprintf(cmd, sizeof(cmd), "grep NoNewPrivs /proc/self/status | tr -d '\\t '; grep CapBnd /proc/self/status"
		 " | tr -d '\\t '; %s; ls /proc | grep -c '^[0-9]'", probe_bin);
	if (exec_cmd(name, cmd, &r))
		return;
	if (confined) {
		unsigned long long bnd = 0;
		char *c = memmem(r.out, r.out_len, "CapBnd:", 7);
		int procs = 99;
		char *last = r.out_len ? memrchr(r.out, '\n', r.out_len - 1) : NULL;
		const unsigned long long dropped = 1ULL << 19 | 1ULL << 21 | 1ULL << 16 | 1ULL << 17 | 1ULL << 22;

		if (c)
			bnd = strtoull(c + 7, NULL, 16);
		if (last)
			procs = atoi(last + 1);
		if (r.exit_code == 0 && memmem(r.out, r.out_len, "NoNewPrivs:1", 12) && c && !(bnd & dropped) &&
		    memmem(r.out, r.out_len, "ptrace=EPERM process_vm_readv=EPERM", 35) && procs < 10)
			pass(name);
		else
			fail(name, "exit %d, output '%.*s' error '%s'", r.exit_code, (int)r.out_len, r.out,
			     r.error ? r.error : "");
	} else {
		if (r.exit_code == 0 && memmem(r.out, r.out_len, "NoNewPrivs:0", 12) &&
		    !memmem(r.out, r.out_len, "ptrace=EPERM", 12))
			pass(name);
		else
			fail(name, "exit %d, output '%.*s'", r.exit_code, (int)r.out_len, r.out);
	}
	exec_result_free(&r);
}

static void run_all(const char *prefix, pid_t agent, bool confined)
{
	snprintf(sock, sizeof(sock), "%s_5000", prefix);
	test_readiness(prefix);
	test_basics();
	test_users();
	test_stream();
	test_pipe("agent-pipe-cat", 12);
	test_pipe("agent-pipe-cat-4MiB", 4 << 20);
	test_files();
	test_cancel("agent-cancel-kills-sleep", "{\"command\":\"sleep 61.25\"}", "61.25", 0, 1.5);
	test_cancel("agent-cancel-sigkill-after-5s", "{\"command\":\"trap '' TERM; sleep 62.25; true\"}",
		    "62.25", 4.5, 7);
	test_tty();
	test_concurrency();
	test_portfwd();
	test_malformed(agent);
	test_sandbox(confined);
}

int main(int argc, char **argv)
{
	char prefix[512];
	pid_t agent;

	if (argc != 4) {
		fprintf(stderr, "usage: agent_test AGENT SANDBOX_PROBE TMPDIR\n");
		return 2;
	}
	agent_bin = argv[1];
	probe_bin = argv[2];
	tmp = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() == 0) {
		snprintf(prefix, sizeof(prefix), "%s/confined", tmp);
		agent = start_agent(prefix, false);
		if (agent < 0) {
			fail("agent-start-confined", "the agent never listened (see %s.log)", prefix);
		} else {
			printf("== confined agent (as in a guest without matchlock.privileged=1)\n");
			run_all(prefix, agent, true);
			kill(agent, SIGTERM);
			waitpid(agent, NULL, 0);
		}
	} else {
		printf("SKIP agent-confined: not root; namespaces and seccomp need root\n");
	}
	snprintf(prefix, sizeof(prefix), "%s/privileged", tmp);
	agent = start_agent(prefix, true);
	if (agent < 0) {
		fail("agent-start-privileged", "the agent never listened (see %s.log)", prefix);
	} else {
		printf("== privileged agent (matchlock.privileged=1)\n");
		tmp = prefix;
		mkdir(prefix, 0755);
		run_all(prefix, agent, false);
		kill(agent, SIGTERM);
		waitpid(agent, NULL, 0);
	}
	return failed ? 1 : 0;
}
