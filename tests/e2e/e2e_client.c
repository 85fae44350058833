// SPDX-License-Identifier: MIT
/*
 * e2e_client: the host side of `make test-linux`'s end-to-end section (issue 6,
 * tests/linux/e2e.sh). It knows three VM configurations (struct fp_vm_config,
 * the Machine API's VMConfig) and, for each, prints what the VMM gets, generated
 * by libflashpan itself, then drives the guest agent through the VMM's vsock
 * Unix socket and prints one PASS/FAIL line per check.
 *
 *   e2e_client cmdline CASE       fp_vmm_boot_args(): the contract's command line + root=
 *   e2e_client disks CASE         "--disk PATH[,ro]" words in guest order (fp_config_disks)
 *   e2e_client vcpus CASE         ceil(cpus)
 *   e2e_client net CASE           1 when the case has a network device, else 0
 *   e2e_client run CASE SOCK TOKEN [VMMPID]
 *       waits for readiness (CONNECT 5002, no sleeping guesswork; gives up at once
 *       when process VMMPID ends), then the checks.
 *       TOKEN ties the boots together: written to the extra disk and to the overlay
 *       in one boot, read back in the next.
 *
 * CASE: main (ext4 root, no network, unprivileged, an rw extra disk), overlay
 * (erofs+erofs+ext4 overlay root, network, privileged, the extra disk again),
 * verify (the upper and the extra disk (ro) attached as extra disks, read back).
 * Paths are relative: run it in the folder that holds the images.
 * Exit status: 0 when every check passed.
 */
#include <errno.h>
#include <signal.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "flashpan.h"
#include "tests/agent/client.h"

enum { T_EXEC = 1, T_RESULT = 2, T_STDOUT = 3, T_STDERR = 4, T_SIGNAL = 5, T_STDIN = 7,
       T_RESIZE = 8, T_TTY = 9, T_EXIT = 10, T_STREAM = 11, T_PIPE = 12, T_WRITE = 14,
       T_READ = 15, T_LIST = 16 };

/* ---- the configurations ---- */

static const char *const main_dns[] = { "1.1.1.1", "9.9.9.9", "8.8.8.8" };
static const struct fp_host_entry main_hosts[] = { { "api.e2e", "10.1.2.3" }, { "db6.e2e", "fd00::6" } };
static const struct fp_disk_config main_disks[] = { { "extra.ext4", "/data", false } };
static const char *const ovl_lowers[] = { "lower.erofs", "lower2.erofs" };
/*
 * Read-only ext4 mounts need a clean journal: a disk written in one boot whose VMM was
 * then stopped (SIGTERM: no unmount in the guest) can be mounted read-write next time
 * (the kernel replays its journal) but not read-only (EROFS: "write access unavailable").
 * So: main writes extra.ext4 and is stopped; overlay mounts it rw, reads it, unmounts it
 * (privileged); verify mounts it ro, and the still-dirty upper rw.
 */
static const struct fp_disk_config ovl_disks[] = { { "extra.ext4", "/data", false } };
static const struct fp_disk_config verify_disks[] = { { "upper.ext4", "/upper", false },
						       { "extra.ext4", "/data", true } };

static const struct e2e_case {
	const char *name;
	struct fp_vm_config cfg;
} cases[] = {
	{ "main",
	  { .id = "e2e-main-id", .hostname = "e2e-main", .rootfs_path = "rootfs.ext4", .cpus = 1.5,
	    .vsock_cid = 3, .workspace = "/workspace", .dns_servers = main_dns, .nr_dns_servers = 3,
	    .no_network = true, .add_hosts = main_hosts, .nr_add_hosts = 2, .extra_disks = main_disks,
	    .nr_extra_disks = 1 } },
	{ "overlay",
	  { .id = "e2e-ovl", .rootfs_path = "rootfs.ext4", .overlay_lower_paths = ovl_lowers,
	    .nr_overlay_lowers = 2, .overlay_upper_path = "upper.ext4", .cpus = 1, .vsock_cid = 3,
	    .privileged = true, .mtu = 1400, .extra_disks = ovl_disks, .nr_extra_disks = 1 } },
	{ "verify",
	  { .id = "e2e-verify", .rootfs_path = "rootfs.ext4", .cpus = 0.5, .vsock_cid = 3, .no_network = true,
	    .extra_disks = verify_disks, .nr_extra_disks = 2 } },
};

static const struct e2e_case *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	fprintf(stderr, "e2e_client: no case %s\n", name);
	exit(2);
}

/* ---- reporting ---- */

static const char *sock;
static const char *cname;

/*
 * E2E_UNIX=1 (debugging on the host against `flashpan-agent --listen-unix PREFIX`):
 * SOCK is PREFIX and port P is the Unix socket PREFIX_P, no CONNECT line.
 */
static const char *target(unsigned port, unsigned *vport)
{
	static char paths[4][256];
	static int k;
	char *b;

	if (!getenv("E2E_UNIX")) {
		*vport = port;
		return sock;
	}
	b = paths[k++ & 3];
	snprintf(b, sizeof(paths[0]), "%s_%u", sock, port);
	*vport = 0;
	return b;
}
static int npass, nfail;

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s e2e-%s-%s", ok ? "PASS" : "FAIL", cname, name);
	if (fmt && *fmt) {
		printf(ok ? " (" : ": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		if (ok)
			printf(")");
	}
	printf("\n");
	fflush(stdout);
	ok ? npass++ : nfail++;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* A printable, bounded copy for messages (static buffers, rotating). */
static const char *show(const void *p, size_t n)
{
	static char bufs[4][400];
	static int k;
	char *b = bufs[k++ & 3];
	size_t o = 0;

	for (size_t i = 0; i < n && o < sizeof(bufs[0]) - 8; i++) {
		unsigned char c = ((const unsigned char *)p)[i];

		if (c == '\n')
			o += sprintf(b + o, "\\n");
		else if (c == '\r')
			o += sprintf(b + o, "\\r");
		else if (c < 32 || c > 126)
			o += sprintf(b + o, "\\x%02x", c);
		else
			b[o++] = c;
	}
	if (o >= sizeof(bufs[0]) - 8)
		o += sprintf(b + o, "...");
	b[o] = 0;
	return b;
}

static bool eq(const uint8_t *p, size_t n, const char *want)
{
	return n == strlen(want) && (!n || !memcmp(p, want, n));
}

static bool has(const uint8_t *p, size_t n, const char *needle)
{
	return p && memmem(p, n, needle, strlen(needle)) != NULL;
}

/* ---- requests ---- */

/* An ExecRequest; env as "K=V" strings, NULL-terminated (may be NULL). */
static json_t *req(const char *cmd, const char *user, const char *cwd, const char *const *env)
{
	json_t *o = json_pack("{s:s}", "command", cmd);

	if (user)
		json_object_set_new(o, "user", json_string(user));
	if (cwd)
		json_object_set_new(o, "working_dir", json_string(cwd));
	if (env) {
		json_t *e = json_object();

		for (; *env; env++) {
			const char *eqs = strchr(*env, '=');
			char *k = strndup(*env, eqs - *env);

			json_object_set_new(e, k, json_string(eqs + 1));
			free(k);
		}
		json_object_set_new(o, "env", e);
	}
	return o;
}

/* Exec (1). -1 when no ExecResult came (r zeroed). */
static int run_req(json_t *o, struct exec_result *r)
{
	char *s = json_dumps(o, JSON_COMPACT);
	unsigned vp;
	const char *t = target(FP_VSOCK_PORT_EXEC, &vp);
	int ret = client_exec(t, vp, s, r);

	free(s);
	json_decref(o);
	return ret;
}

static int run(const char *cmd, struct exec_result *r)
{
	return run_req(req(cmd, NULL, NULL, NULL), r);
}

static const char *describe(const struct exec_result *r, int ret)
{
	static char b[1200];

	if (ret)
		return "no ExecResult";
	snprintf(b, sizeof(b), "exit %d, stdout '%s', stderr '%s'%s%s", r->exit_code, show(r->out, r->out_len),
		 show(r->err, r->err_len), r->error ? ", error " : "", r->error ? r->error : "");
	return b;
}

/* A command whose trimmed stdout must be want, exit 0. */
static void expect_out(const char *name, const char *cmd, const char *want)
{
	struct exec_result r;
	int ret = run(cmd, &r);
	size_t n = r.out_len;

	while (n && (r.out[n - 1] == '\n' || r.out[n - 1] == ' '))
		n--;
	check(!ret && r.exit_code == 0 && eq(r.out, n, want), name, "`%s`: %s", cmd, describe(&r, ret));
	exec_result_free(&r);
}

static int file_op(uint8_t type, json_t *o, struct file_result *f)
{
	char *s = json_dumps(o, JSON_COMPACT);
	unsigned vp;
	const char *t = target(FP_VSOCK_PORT_EXEC, &vp);
	int ret = client_file(t, vp, type, s, f);

	free(s);
	json_decref(o);
	return ret;
}

static int write_file(const char *path, const void *data, size_t n, unsigned mode, char **err)
{
	struct file_result f;
	char *enc = b64(data, n);
	int ret = file_op(T_WRITE, json_pack("{s:s,s:s,s:i}", "path", path, "content", enc, "mode", (int)mode), &f);

	free(enc);
	*err = ret ? strdup("no FileResult") : f.error ? strdup(f.error) : NULL;
	file_result_free(&f);
	return ret || *err ? -1 : 0;
}

/* ReadFile: content (malloc'd, NUL-terminated) or NULL with *err. */
static uint8_t *read_file(const char *path, size_t *n, char **err)
{
	struct file_result f;
	uint8_t *p = NULL;
	int ret = file_op(T_READ, json_pack("{s:s}", "path", path), &f);

	*err = NULL;
	*n = 0;
	if (ret)
		*err = strdup("no FileResult");
	else if (f.error)
		*err = strdup(f.error);
	else {
		p = malloc(f.content_len + 1);
		if (f.content_len)
			memcpy(p, f.content, f.content_len);
		p[f.content_len] = 0;
		*n = f.content_len;
	}
	file_result_free(&f);
	return p;
}

/* ListFiles: a jansson array (new reference) or NULL. */
static json_t *list_files(const char *path, char **err)
{
	struct file_result f;
	json_t *a = NULL;
	int ret = file_op(T_LIST, json_pack("{s:s}", "path", path), &f);

	*err = ret ? strdup("no FileResult") : f.error ? strdup(f.error) : NULL;
	if (!*err)
		a = f.files ? json_incref(f.files) : json_array();
	file_result_free(&f);
	return a;
}

/*
 * Processes named comm in the guest, seen by the agent itself (its /proc is the
 * whole guest's, whatever PID namespace a command runs in): ListFiles /proc,
 * ReadFile /proc/N/comm. -1 on an error.
 */
static int count_procs(const char *comm)
{
	char *err, path[64], want[64];
	json_t *a = list_files("/proc", &err), *e;
	size_t i, n;
	int count = 0;

	if (!a) {
		free(err);
		return -1;
	}
	snprintf(want, sizeof(want), "%s\n", comm);
	json_array_foreach(a, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		uint8_t *c;

		if (!name || strspn(name, "0123456789") != strlen(name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", name);
		c = read_file(path, &n, &err);
		if (c && eq(c, n, want))
			count++;
		free(c);
		free(err);
	}
	json_decref(a);
	return count;
}

/* A frame-mode connection: sends the request, returns the socket. */
static int open_mode(uint8_t type, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	unsigned vp;
	const char *t = target(FP_VSOCK_PORT_EXEC, &vp);
	int fd = client_connect(t, vp);

	json_decref(o);
	if (fd >= 0 && client_send_json(fd, type, s)) {
		close(fd);
		fd = -1;
	}
	free(s);
	return fd;
}

struct buf {
	uint8_t *p;
	size_t n;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->n + n + 1);
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

static int32_t be32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* ---- the checks ---- */

static bool wait_ready(double timeout, pid_t vmm)
{
	double t0 = now();
	int tries = 0;

	for (;;) {
		unsigned vp;
		const char *t = target(FP_VSOCK_PORT_READY, &vp);
		int fd = client_connect(t, vp);

		tries++;
		if (fd >= 0) {
			close(fd);
			check(true, "ready", "CONNECT 5002 accepted %.1f s after the client started, attempt %d",
			      now() - t0, tries);
			return true;
		}
		if (vmm > 0 && kill(vmm, 0) < 0) {
			check(false, "ready", "the VMM (pid %d) ended after %.1f s without readiness", (int)vmm, now() - t0);
			return false;
		}
		if (now() - t0 > timeout) {
			check(false, "ready", "no CONNECT 5002 within %.0f s (%d attempts)", timeout, tries);
			return false;
		}
		usleep(200000);
	}
}

static void check_cmdline(const struct fp_vm_config *cfg)
{
	char *want = fp_vmm_boot_args(cfg), *err;
	size_t n;
	uint8_t *got = read_file("/proc/cmdline", &n, &err);

	check(got && n > strlen(want) && !memcmp(got, want, strlen(want)) && got[strlen(want)] == ' ',
	      "cmdline-generated", got ? "/proc/cmdline '%s'" : "%s", got ? show(got, n) : err);
	free(got);
	free(want);
}

static void check_etc(const struct fp_vm_config *cfg)
{
	const char *host = cfg->hostname ? cfg->hostname : cfg->id;
	static const char *const defdns[] = { "8.8.8.8", "8.8.4.4" };
	const char *const *dns = cfg->nr_dns_servers ? cfg->dns_servers : defdns;
	size_t nd = cfg->nr_dns_servers ? cfg->nr_dns_servers : 2, n;
	char want[1024], *err, line[256];
	uint8_t *got;
	bool ok;

	snprintf(want, sizeof(want), "%s\n", host);
	got = read_file("/etc/hostname", &n, &err);
	check(got && eq(got, n, want), "etc-hostname", "'%s'", got ? show(got, n) : err);
	free(got);
	expect_out("hostname", "hostname", host);

	got = read_file("/etc/hosts", &n, &err);
	snprintf(line, sizeof(line), "127.0.0.1 localhost localhost.localdomain %s\n", host);
	ok = got && has(got, n, line);
	for (size_t i = 0; ok && i < cfg->nr_add_hosts; i++) {
		snprintf(line, sizeof(line), "%s %s\n", cfg->add_hosts[i].ip, cfg->add_hosts[i].host);
		ok = has(got, n, line);
	}
	check(ok, "etc-hosts", "'%s'", got ? show(got, n) : err);
	free(got);

	want[0] = 0;
	for (size_t i = 0; i < nd; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "nameserver %s\n", dns[i]);
	got = read_file("/etc/resolv.conf", &n, &err);
	check(got && eq(got, n, want), "etc-resolv-conf", "'%s'", got ? show(got, n) : err);
	free(got);
}

static void check_basic_exec(void)
{
	struct exec_result r;
	int ret, lines = 0;

	ret = run("echo hello", &r);
	check(!ret && r.exit_code == 0 && eq(r.out, r.out_len, "hello\n") && !r.err_len, "echo-hello", "%s",
	      describe(&r, ret));
	exec_result_free(&r);

	ret = run("false", &r);
	check(!ret && r.exit_code == 1, "false-exit-1", "%s", describe(&r, ret));
	exec_result_free(&r);

	ret = run("cat /nonexistent", &r);
	check(!ret && r.exit_code != 0 && !r.out_len && has(r.err, r.err_len, "/nonexistent"), "cat-nonexistent-stderr",
	      "%s", describe(&r, ret));
	exec_result_free(&r);

	ret = run("sh -c 'echo err >&2'", &r);
	check(!ret && r.exit_code == 0 && !r.out_len && eq(r.err, r.err_len, "err\n"), "stderr-only", "%s",
	      describe(&r, ret));
	exec_result_free(&r);

	ret = run("exit 42", &r);
	check(!ret && r.exit_code == 42, "exit-42", "%s", describe(&r, ret));
	exec_result_free(&r);

	ret = run("seq 1 1000", &r);
	for (size_t i = 0; !ret && i < r.out_len; i++)
		lines += r.out[i] == '\n';
	check(!ret && r.exit_code == 0 && lines == 1000 && r.out_len > 5 && !memcmp(r.out, "1\n2\n", 4) &&
		      has(r.out, r.out_len, "\n999\n1000\n"),
	      "seq-1000-lines", "%d lines, %zu bytes, exit %d", lines, r.out_len, r.exit_code);
	exec_result_free(&r);

	/* A start failure is an answer, not a hang. */
	ret = run_req(req("pwd", NULL, "/no/such/dir", NULL), &r);
	check(!ret && (r.exit_code == 127 || r.error), "bad-working-dir-fails", "%s", describe(&r, ret));
	exec_result_free(&r);
	ret = run_req(req("id", "no-such-user", NULL, NULL), &r);
	check(!ret && (r.exit_code == 127 || r.error), "unknown-user-fails", "%s", describe(&r, ret));
	exec_result_free(&r);
	ret = run("no-such-command-e2e", &r);
	check(!ret && r.exit_code == 127, "command-not-found-127", "%s", describe(&r, ret));
	exec_result_free(&r);
}

/* ExecStream: the first line must arrive while the command still runs. */
static void check_stream(void)
{
	int fd = open_mode(T_STREAM, req("echo first; sleep 2; echo second; echo to-err >&2; exit 3", NULL, NULL, NULL));
	struct buf out = { 0 }, err = { 0 };
	double t0 = now(), t_first = 0, t_end = 0;
	struct exec_result r = { .exit_code = -999 };
	uint8_t type, *p;
	uint32_t len;

	while (fd >= 0 && client_recv(fd, &type, &p, &len, 30000) == 1) {
		if (type == T_STDOUT) {
			buf_add(&out, p, len);
			if (!t_first && has(out.p, out.n, "first\n"))
				t_first = now();
		} else if (type == T_STDERR) {
			buf_add(&err, p, len);
		} else if (type == T_RESULT) {
			t_end = now();
			exec_result_parse(p, len, &r);
			free(p);
			break;
		}
		free(p);
	}
	if (fd >= 0)
		close(fd);
	check(t_first && t_end && t_end - t_first >= 1.5 && eq(out.p, out.n, "first\nsecond\n") &&
		      eq(err.p, err.n, "to-err\n") && r.exit_code == 3,
	      "stream-output-before-end", "first line at %.2f s, ExecResult at %.2f s, stdout '%s', stderr '%s', exit %d",
	      t_first ? t_first - t0 : -1, t_end ? t_end - t0 : -1, show(out.p, out.n), show(err.p, err.n), r.exit_code);
	exec_result_free(&r);
	free(out.p);
	free(err.p);

	/* seq through stream frames too. */
	fd = open_mode(T_STREAM, req("seq 1 1000", NULL, NULL, NULL));
	memset(&out, 0, sizeof(out));
	r.exit_code = -999;
	while (fd >= 0 && client_recv(fd, &type, &p, &len, 30000) == 1) {
		if (type == T_STDOUT)
			buf_add(&out, p, len);
		if (type == T_RESULT) {
			exec_result_parse(p, len, &r);
			free(p);
			break;
		}
		free(p);
	}
	if (fd >= 0)
		close(fd);
	{
		int lines = 0;

		for (size_t i = 0; i < out.n; i++)
			lines += out.p[i] == '\n';
		check(r.exit_code == 0 && lines == 1000 && has(out.p, out.n, "\n1000\n"), "stream-seq-1000",
		      "%d lines in Stdout frames, exit %d", lines, r.exit_code);
	}
	exec_result_free(&r);
	free(out.p);
}

struct pipe_writer {
	int fd;
	const uint8_t *data;
	size_t n;
};

static void *pipe_write(void *arg)
{
	struct pipe_writer *w = arg;

	for (size_t off = 0; off < w->n; off += 8192)
		if (client_send(w->fd, T_STDIN, w->data + off, w->n - off < 8192 ? w->n - off : 8192))
			return NULL;
	client_send(w->fd, T_STDIN, NULL, 0);
	return NULL;
}

/* ExecPipe `cat`: one line answered before EOF (interactive), then 100 KiB, EOF, Exit 0. */
static void check_pipe(void)
{
	int fd = open_mode(T_PIPE, req("cat", NULL, NULL, NULL));
	size_t n = 100000;
	uint8_t *data = malloc(n), type, *p;
	struct buf out = { 0 };
	struct pipe_writer w = { fd, data, n };
	bool interactive = false, started = false;
	int32_t code = -999;
	pthread_t th;
	uint32_t len;

	for (size_t i = 0; i < n; i++)
		data[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n"[(i * 7 + i / 37) % 37];
	if (fd >= 0 && !client_send(fd, T_STDIN, "ping-1\n", 7)) {
		while (client_recv(fd, &type, &p, &len, 20000) == 1) {
			if (type == T_STDOUT)
				buf_add(&out, p, len);
			free(p);
			if (type == T_EXIT || out.n >= 7)
				break;
		}
		interactive = eq(out.p, out.n, "ping-1\n");
		if (interactive && !pthread_create(&th, NULL, pipe_write, &w)) {
			started = true;
			while (client_recv(fd, &type, &p, &len, 30000) == 1) {
				if (type == T_STDOUT)
					buf_add(&out, p, len);
				else if (type == T_EXIT && len == 4)
					code = be32(p);
				free(p);
				if (type == T_EXIT)
					break;
			}
			pthread_join(th, NULL);
		}
	}
	check(interactive, "pipe-interactive", "'ping-1' echoed by cat before stdin EOF: got '%s'",
	      show(out.p, out.n < 40 ? out.n : 40));
	check(started && code == 0 && out.n == n + 7 && !memcmp(out.p + 7, data, n), "pipe-cat-100000",
	      "%zu bytes back of %zu, Exit %d", out.n ? out.n - 7 : 0, n, code);
	if (fd >= 0)
		close(fd);
	free(out.p);
	free(data);
}

static void check_cwd_env(void)
{
	static const char *const env[] = { "E2E_VAR=hello world", "E2E_SECOND=2=two", NULL };
	struct exec_result r;
	int ret = run_req(req("pwd; echo \"$E2E_VAR|$E2E_SECOND\"; test -n \"$PATH\" && echo path-set", NULL, "/tmp",
			      env),
			  &r);

	check(!ret && r.exit_code == 0 && eq(r.out, r.out_len, "/tmp\nhello world|2=two\npath-set\n"), "cwd-and-env",
	      "%s", describe(&r, ret));
	exec_result_free(&r);
	ret = run("pwd", &r);
	check(!ret && eq(r.out, r.out_len, "/\n"), "cwd-default-root", "%s", describe(&r, ret));
	exec_result_free(&r);
}

static void check_users(void)
{
	static const char *const users[] = { "nobody", "65534:65534" };
	struct exec_result r;
	int ret;

	for (int i = 0; i < 2; i++) {
		char name[64];

		ret = run_req(req("id -u; id -g; touch /root/e2e-user-write; echo touch=$?; if test -e /root/e2e-user-write; "
				  "then echo exists; fi",
				  users[i], NULL, NULL),
			      &r);
		snprintf(name, sizeof(name), "user-%s", i ? "65534-65534" : "nobody");
		check(!ret && r.exit_code == 0 && !strncmp((char *)r.out, "65534\n65534\ntouch=", 18) &&
			      !has(r.out, r.out_len, "touch=0") && !has(r.out, r.out_len, "exists"),
		      name, "uid/gid 65534 and /root not writable: %s", describe(&r, ret));
		exec_result_free(&r);
	}
	ret = run("id -u; touch /root/e2e-root-write && echo root-wrote", &r);
	check(!ret && eq(r.out, r.out_len, "0\nroot-wrote\n"), "user-default-root", "%s", describe(&r, ret));
	exec_result_free(&r);
}

static void check_files(void)
{
	size_t n = 100000, got_n;
	uint8_t *data = malloc(n), *got;
	uint32_t x = 2463534242u;
	char *err;
	struct exec_result r;
	json_t *a, *e;
	int ret;
	static const char script[] = "#!/bin/sh\necho \"script ran: $1 as $(id -u)\"\n";

	for (size_t i = 0; i < n; i++) { /* xorshift: binary, NULs included */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = x;
	}
	ret = write_file("/tmp/e2e/sub/big.bin", data, n, 0600, &err);
	got = ret ? NULL : read_file("/tmp/e2e/sub/big.bin", &got_n, &err);
	check(got && got_n == n && !memcmp(got, data, n), "file-roundtrip-100000", got ? "%zu bytes back" : "%s",
	      got ? got_n : (size_t)0, err);
	free(got);
	free(err);
	expect_out("file-visible-to-exec", "wc -c </tmp/e2e/sub/big.bin; stat -c %a /tmp/e2e/sub/big.bin",
		   "100000\n600");

	ret = write_file("/tmp/e2e/hello.sh", script, strlen(script), 0755, &err);
	check(!ret, "write-script-0755", "%s", ret ? err : "");
	free(err);
	expect_out("script-runs", "/tmp/e2e/hello.sh arg1", "script ran: arg1 as 0");

	ret = write_file("/tmp/e2e/plain.sh", script, strlen(script), 0, &err);
	free(err);
	ret = ret ? -1 : run("stat -c %a /tmp/e2e/plain.sh; /tmp/e2e/plain.sh x; echo rc=$?; chmod +x /tmp/e2e/plain.sh "
			     "&& /tmp/e2e/plain.sh made-executable",
			     &r);
	check(!ret && r.exit_code == 0 && !strncmp((char *)r.out, "644\n", 4) && has(r.out, r.out_len, "rc=126\n") &&
		      has(r.out, r.out_len, "script ran: made-executable as 0\n"),
	      "script-chmod-x-runs", "mode 0 means 0644, not runnable, then chmod +x: %s", describe(&r, ret));
	exec_result_free(&r);

	a = list_files("/tmp/e2e", &err);
	{
		char got_s[512] = "";
		size_t i;
		bool ok = a && json_array_size(a) == 3;

		json_array_foreach(a, i, e) {
			const char *name = json_string_value(json_object_get(e, "name"));
			long long size = json_integer_value(json_object_get(e, "size"));
			long long mode = json_integer_value(json_object_get(e, "mode"));
			bool dir = json_is_true(json_object_get(e, "is_dir"));
			const char *mt = json_string_value(json_object_get(e, "mod_time"));

			snprintf(got_s + strlen(got_s), sizeof(got_s) - strlen(got_s), "%s%s size=%lld mode=%#llo dir=%d",
				 i ? "; " : "", name ? name : "?", size, mode, dir);
			ok = ok && name && mt && strlen(mt) >= 20 && mt[4] == '-' && mt[10] == 'T';
			if (ok && i == 0)
				ok = !strcmp(name, "hello.sh") && size == (long long)strlen(script) && mode == 0755 && !dir;
			if (ok && i == 1)
				ok = !strcmp(name, "plain.sh") && mode == 0755 && !dir;
			if (ok && i == 2)
				ok = !strcmp(name, "sub") && dir && mode == ((1LL << 31) | 0755);
		}
		check(ok, "list-files", a ? "%s" : "%s", a ? got_s : err);
	}
	json_decref(a);
	free(err);
	free(data);
}

/* Closing the connection of a running `sleep 60` must leave no sleep process. */
static void check_cancel(void)
{
	int fd = open_mode(T_STREAM, req("echo started; sleep 60; echo not-cancelled", NULL, NULL, NULL));
	struct buf out = { 0 };
	uint8_t type, *p;
	uint32_t len;
	int before = -1, after = -1;
	double t0 = 0, waited = 0;

	while (fd >= 0 && client_recv(fd, &type, &p, &len, 20000) == 1) {
		if (type == T_STDOUT)
			buf_add(&out, p, len);
		free(p);
		if (type != T_STDOUT || has(out.p, out.n, "started\n"))
			break;
	}
	if (fd >= 0 && has(out.p, out.n, "started\n")) {
		for (int i = 0; i < 20 && before < 1; i++) { /* sh forks sleep after its echo */
			before = count_procs("sleep");
			if (before < 1)
				usleep(100000);
		}
		close(fd);
		fd = -1;
		t0 = now();
		while ((after = count_procs("sleep")) != 0 && now() - t0 < 10)
			usleep(250000);
		waited = now() - t0;
	}
	if (fd >= 0)
		close(fd);
	check(before >= 1 && after == 0, "cancel-sleep-60-leaves-nothing",
	      "%d sleep process(es) while running, %d %.1f s after the host closed the connection", before, after,
	      waited);
	free(out.p);
}

/* ExecTTY: a terminal, its size, a Resize. */
static void check_tty(void)
{
	json_t *o = req("tty; [ -t 0 ] && [ -t 1 ] && echo IS-A-TTY; stty size; sleep 2; stty size", NULL, NULL, NULL);
	struct buf out = { 0 };
	uint8_t type, *p, rs[4] = { 0, 40, 0, 120 };
	uint32_t len;
	int32_t code = -999;
	bool resized = false;
	int fd;

	json_object_set_new(o, "rows", json_integer(30));
	json_object_set_new(o, "cols", json_integer(100));
	fd = open_mode(T_TTY, o);
	while (fd >= 0 && client_recv(fd, &type, &p, &len, 30000) == 1) {
		if (type == T_STDOUT)
			buf_add(&out, p, len);
		else if (type == T_EXIT && len == 4)
			code = be32(p);
		free(p);
		if (type == T_EXIT)
			break;
		if (!resized && has(out.p, out.n, "30 100")) {
			client_send(fd, T_RESIZE, rs, 4);
			resized = true;
		}
	}
	if (fd >= 0)
		close(fd);
	check(code == 0 && has(out.p, out.n, "/dev/pts/") && has(out.p, out.n, "IS-A-TTY") &&
		      has(out.p, out.n, "30 100") && has(out.p, out.n, "40 120"),
	      "tty", "Exit %d, output '%s'", code, show(out.p, out.n));
	free(out.p);
}

static void check_links(const char *want)
{
	expect_out(strcmp(want, "lo") ? "links-eth0-lo" : "no-network-only-lo", "ls /sys/class/net | tr '\\n' ' '",
		   want);
}

static int run_main(const char *token)
{
	const struct fp_vm_config *cfg = &find_case("main")->cfg;
	char *err;
	size_t n;
	uint8_t *got;

	check_basic_exec();
	check_stream();
	check_pipe();
	check_cwd_env();
	check_users();
	check_files();
	check_cancel();
	check_tty();
	check_cmdline(cfg);
	check_etc(cfg);
	check_links("lo");
	expect_out("root-is-ext4-vda", "grep ' / ' /proc/mounts | cut -d' ' -f1-3; cat /etc/flashpan-layer",
		   "/dev/root / ext4\nrootfs");
	expect_out("sandboxed-no-new-privs", "grep NoNewPrivs /proc/self/status | tr -d ' \\t'", "NoNewPrivs:1");
	got = read_file("/sys/fs/cgroup/sandbox/cpu.max", &n, &err);
	check(got && eq(got, n, "150000 100000\n"), "cgroup-cpu-max", "cpus 1.5: '%s'", got ? show(got, n) : err);
	free(got);
	free(err);
	/* The extra disk, rw: written now, read back in the next boot. */
	expect_out("extra-disk-mounted-rw", "grep ' /data ' /proc/mounts | cut -d' ' -f1-4 | cut -d, -f1",
		   "/dev/vdb /data ext4 rw");
	{
		char line[200];
		int ret;

		snprintf(line, sizeof(line), "%s\n", token);
		ret = write_file("/data/e2e-persist", line, strlen(line), 0644, &err);
		check(!ret, "extra-disk-write", "%s", ret ? err : "token written to /data/e2e-persist");
		free(err);
	}
	expect_out("sync", "sync && echo synced", "synced");
	return 0;
}

static int run_overlay(const char *token)
{
	const struct fp_vm_config *cfg = &find_case("overlay")->cfg;
	char want[200], *err;
	size_t n;
	uint8_t *got;
	int ret;

	expect_out("echo-hello", "echo hello", "hello");
	check_cmdline(cfg);
	check_etc(cfg);
	expect_out("root-is-overlay", "grep ' / ' /proc/mounts | cut -d' ' -f1-3", "overlay / overlay");
	expect_out("overlay-top-layer-lower2", "cat /etc/flashpan-layer /etc/flashpan-lower2",
		   "lower2\nonly in lower2");
	expect_out("overlay-lower-files", "test -x /bin/busybox && test -x /opt/matchlock/guest-agent && echo from-lower",
		   "from-lower");
	snprintf(want, sizeof(want), "%s\n", token);
	got = read_file("/data/e2e-persist", &n, &err);
	check(got && eq(got, n, want), "extra-disk-read-back-next-boot", "'%s'", got ? show(got, n) : err);
	free(got);
	free(err);
	expect_out("privileged-no-sandbox", "grep NoNewPrivs /proc/self/status | tr -d ' \\t'", "NoNewPrivs:0");
	check_links("eth0 lo");
	expect_out("eth0-mtu", "cat /sys/class/net/eth0/mtu", "1400");
	expect_out("ping-gateway", "ping -c 1 -W 5 192.168.100.1 >/dev/null && echo pong", "pong");
	check_cancel();
	/* Writes go to the upper (checked in the next boot, which mounts upper.ext4 as a plain disk). */
	ret = write_file("/etc/e2e-upper-write", want, strlen(want), 0644, &err);
	check(!ret, "overlay-write", "%s", ret ? err : "/etc/e2e-upper-write");
	free(err);
	/* A clean extra disk for the read-only mount of the next boot. */
	expect_out("umount-extra-disk", "grep ' /data ' /proc/mounts | cut -d' ' -f1-4 | cut -d, -f1; umount /data && sync && echo unmounted",
		   "/dev/vde /data ext4 rw\nunmounted");
	return 0;
}

static int run_verify(const char *token)
{
	const struct fp_vm_config *cfg = &find_case("verify")->cfg;
	char want[200], *err;
	size_t n;
	uint8_t *got;

	check_cmdline(cfg);
	snprintf(want, sizeof(want), "%s\n", token);
	got = read_file("/upper/upper/etc/e2e-upper-write", &n, &err);
	check(got && eq(got, n, want), "overlay-upper-holds-write", "upper.ext4:/upper/etc/e2e-upper-write '%s'",
	      got ? show(got, n) : err);
	free(got);
	free(err);
	expect_out("overlay-upper-holds-etc", "cat /upper/upper/etc/hostname", "e2e-ovl");
	expect_out("overlay-write-not-in-rootfs", "test -e /etc/e2e-upper-write && echo leaked || echo absent; cat /etc/flashpan-layer",
		   "absent\nrootfs");
	got = read_file("/data/e2e-persist", &n, &err);
	check(got && eq(got, n, want), "extra-disk-read-back-third-boot", "'%s'", got ? show(got, n) : err);
	free(got);
	free(err);
	expect_out("extra-disk-ro", "grep ' /data ' /proc/mounts | cut -d' ' -f1-4 | cut -d, -f1; touch /data/x 2>/dev/null || echo denied",
		   "/dev/vdc /data ext4 ro\ndenied");
	got = read_file("/sys/fs/cgroup/sandbox/cpu.max", &n, &err);
	check(got && eq(got, n, "50000 100000\n"), "cgroup-cpu-max", "cpus 0.5: '%s'", got ? show(got, n) : err);
	free(got);
	free(err);
	check_links("lo");
	return 0;
}

int main(int argc, char **argv)
{
	const struct e2e_case *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: e2e_client cmdline|disks|vcpus|net CASE | run CASE SOCK TOKEN\n");
		return 2;
	}
	c = find_case(argv[2]);
	cname = c->name;
	if (!strcmp(argv[1], "cmdline")) {
		char *s = fp_vmm_boot_args(&c->cfg);

		printf("%s\n", s);
		free(s);
		return 0;
	}
	if (!strcmp(argv[1], "disks")) {
		struct fp_disk_slot slots[16];
		size_t n = fp_config_disks(&c->cfg, NULL, slots, 16);

		for (size_t i = 0; i < n && i < 16; i++)
			printf("%s--disk %s%s", i ? " " : "", slots[i].host_path, slots[i].read_only ? ",ro" : "");
		printf("\n");
		return 0;
	}
	if (!strcmp(argv[1], "vcpus")) {
		printf("%d\n", (int)ceil(c->cfg.cpus));
		return 0;
	}
	if (!strcmp(argv[1], "net")) {
		printf("%d\n", !c->cfg.no_network);
		return 0;
	}
	if (strcmp(argv[1], "run") || argc < 5)
		return 2;
	sock = argv[3];
	if (wait_ready(180, argc > 5 ? atoi(argv[5]) : 0)) {
		double t0 = now();

		if (!strcmp(cname, "main"))
			run_main(argv[4]);
		else if (!strcmp(cname, "overlay"))
			run_overlay(argv[4]);
		else
			run_verify(argv[4]);
		printf("e2e-%s: %d passed, %d failed, %.1f s of checks\n", cname, npass, nfail, now() - t0);
	}
	printf("E2E-CASE-DONE %s\n", cname);
	return nfail ? 1 : 0;
}
