// SPDX-License-Identifier: MIT
/*
 * Exec (1), ExecStream (11) and ExecPipe (12), GUEST-CONTRACT.md "The exec
 * service on port 5000", plus what the exec modes share (exec.h).
 *
 * One thread runs a connection: it polls the host socket, the command's
 * stdout, stderr and stdin pipes and the reaper's notification, so all
 * frames to the host come from one writer and never interleave.
 *
 *   Exec:       stdin is /dev/null (or the request's "stdin" bytes), output
 *               collected, one ExecResult {exit_code, stdout, stderr, error}.
 *   ExecStream: Stdout/Stderr frames as output arrives, then ExecResult
 *               {exit_code, error}.
 *   ExecPipe:   as ExecStream, plus Stdin frames from the host (length 0 is
 *               EOF), and it ends with Exit (u32 BE exit code).
 */
#include "guest/agent/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After the command exits, output still in flight gets this long. */
#define DRAIN_IDLE_MS 200
#define DRAIN_MAX_MS 2000
#define READ_CHUNK (32 * 1024)

long exec_ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

void exec_deadline(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

int exec_prepare(struct agent *a, const char *json, size_t len, bool tty, struct exec_prep *p,
		 char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = exec_request_parse(json, len, tty, &p->req, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		return ret;
	if (p->req.user) {
		ret = user_resolve(p->req.user, a->passwd_path, a->group_path, &p->cred, err, errlen);
		if (ret)
			return ret;
		p->has_cred = true;
	}
	p->envp = spawn_build_env(p->req.env, p->req.n_env);
	if (!p->envp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void exec_prep_free(struct exec_prep *p)
{
	spawn_free_env(p->envp);
	exec_request_free(&p->req);
	memset(p, 0, sizeof(*p));
}

void exec_fill_opts(struct agent *a, struct exec_prep *p, struct spawn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->command = p->req.command;
	o->working_dir = p->req.working_dir;
	o->envp = p->envp;
	o->cred = p->has_cred ? &p->cred : NULL;
	o->tty_fd = -1;
	o->sandbox = &a->sandbox;
}

void exec_cancel_start(struct agent *a, struct spawned *s, struct exec_cancel *k)
{
	if (k->host_gone)
		return;
	k->host_gone = true;
	reaper_kill_group(&a->reaper, &s->watch, SIGTERM);
	exec_deadline(&k->kill_at, AGENT_KILL_GRACE_MS);
}

int exec_cancel_tick(struct agent *a, struct spawned *s, struct exec_cancel *k)
{
	long ms;

	if (!k->host_gone || k->killed)
		return -1;
	ms = exec_ms_until(&k->kill_at);
	if (ms > 0)
		return ms;
	reaper_kill_group(&a->reaper, &s->watch, SIGKILL);
	k->killed = true;
	return -1;
}

int exec_host_frame(struct agent *a, struct spawned *s, const struct frame_reader *r)
{
	switch (r->type) {
	case FRAME_SIGNAL:
		if (r->len != 1) {
			agent_log("Signal frame of %u bytes, want 1", r->len);
			return -EPROTO;
		}
		if (r->payload[0] == 0 || r->payload[0] >= NSIG) {
			agent_log("ignoring Signal %u: no such signal", r->payload[0]);
			return 0;
		}
		reaper_kill_group(&a->reaper, &s->watch, r->payload[0]);
		return 0;
	case FRAME_RESIZE:
		if (r->len != 4) {
			agent_log("Resize frame of %u bytes, want 4", r->len);
			return -EPROTO;
		}
		return 1;
	case FRAME_STDIN:
		return 1;
	default:
		agent_log("unexpected %s (%u) frame during an exec", frame_type_name(r->type), r->type);
		return -EPROTO;
	}
}

/* Bytes for the command's stdin, written as the pipe takes them. */
struct pending {
	uint8_t *p;
	size_t len, off;
	bool close_after;	/* EOF once written */
};

static int pending_add(struct pending *q, const uint8_t *p, size_t n)
{
	uint8_t *np;

	if (q->off == q->len)
		q->off = q->len = 0;
	np = realloc(q->p, q->len + n);
	if (!np && n)
		return -ENOMEM;
	q->p = np;
	memcpy(q->p + q->len, p, n);
	q->len += n;
	return 0;
}

struct outbuf {
	uint8_t *p;
	size_t len;
};

struct exec_run {
	struct agent *a;
	struct conn *c;
	uint8_t mode;
	struct spawned s;
	struct exec_cancel k;
	struct frame_reader fr;
	int out_fd, err_fd, in_fd;
	struct pending in;
	struct outbuf out, err;
	bool truncated;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Output from the command: a frame, or into the buffers for Exec. */
static void handle_output(struct exec_run *x, int *fd, uint8_t type, struct outbuf *buf)
{
	uint8_t chunk[READ_CHUNK], *np;
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_fd(fd);
		return;
	}
	if (x->mode != FRAME_EXEC) {
		if (!x->k.host_gone && frame_write(x->c, type, chunk, n) < 0)
			exec_cancel_start(x->a, &x->s, &x->k);
		return;
	}
	/* Both buffers go into one frame: cap their sum at the file limit. */
	if (x->out.len + x->err.len + n > FILE_MAX_BYTES) {
		x->truncated = true;
		return;
	}
	np = realloc(buf->p, buf->len + n);
	if (!np) {
		x->truncated = true;
		return;
	}
	buf->p = np;
	memcpy(buf->p + buf->len, chunk, n);
	buf->len += n;
}

static void handle_host(struct exec_run *x)
{
	int ret;

	for (;;) {
		ret = frame_reader_fill(&x->fr, x->c->fd, true);
		if (ret == 0)
			return;
		if (ret < 0) {
			if (ret != -ENODATA)
				agent_log("exec: reading from the host: %s", strerror(-ret));
			exec_cancel_start(x->a, &x->s, &x->k);
			return;
		}
		ret = exec_host_frame(x->a, &x->s, &x->fr);
		if (ret < 0) {
			exec_cancel_start(x->a, &x->s, &x->k);
		} else if (ret == 1 && x->fr.type == FRAME_STDIN && x->mode == FRAME_EXEC_PIPE &&
			   x->in_fd >= 0 && !x->in.close_after) {
			if (x->fr.len == 0)
				x->in.close_after = true;
			else if (pending_add(&x->in, x->fr.payload, x->fr.len) < 0)
				exec_cancel_start(x->a, &x->s, &x->k);
		}
		frame_reader_reset(&x->fr);
		/* Stdin waiting: read no more frames until the pipe took it. */
		if (x->k.host_gone || x->in.len > x->in.off)
			return;
	}
}

static void feed_stdin(struct exec_run *x)
{
	while (x->in_fd >= 0 && x->in.off < x->in.len) {
		ssize_t n = write(x->in_fd, x->in.p + x->in.off, x->in.len - x->in.off);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* The command closed its stdin; drop the rest. */
			x->in.off = x->in.len;
			close_fd(&x->in_fd);
			return;
		}
		x->in.off += n;
	}
	if (x->in.off == x->in.len && x->in.close_after)
		close_fd(&x->in_fd);
}

static void run_loop(struct exec_run *x)
{
	struct timespec drain_end;
	bool exited = false;

	for (;;) {
		struct pollfd p[5];
		int n = 0, host = -1, out = -1, err = -1, in = -1, note = -1, timeout;

		/* No child was started: nothing to wait for. */
		if (!exited && x->s.watch.pid < 0 && x->s.watch.exited) {
			exited = true;
			exec_deadline(&drain_end, DRAIN_MAX_MS);
		}
		if (exited && x->out_fd < 0 && x->err_fd < 0)
			break;
		if (exited && exec_ms_until(&drain_end) <= 0)
			break;
		if (!x->k.host_gone && x->in.off == x->in.len) {
			host = n;
			p[n++] = (struct pollfd){ .fd = x->c->fd, .events = POLLIN };
		}
		if (x->out_fd >= 0) {
			out = n;
			p[n++] = (struct pollfd){ .fd = x->out_fd, .events = POLLIN };
		}
		if (x->err_fd >= 0) {
			err = n;
			p[n++] = (struct pollfd){ .fd = x->err_fd, .events = POLLIN };
		}
		if (x->in_fd >= 0 && x->in.off < x->in.len) {
			in = n;
			p[n++] = (struct pollfd){ .fd = x->in_fd, .events = POLLOUT };
		}
		if (!exited) {
			note = n;
			p[n++] = (struct pollfd){ .fd = x->s.watch.notify_rd, .events = POLLIN };
		}
		timeout = exec_cancel_tick(x->a, &x->s, &x->k);
		if (exited)
			timeout = DRAIN_IDLE_MS;
		n = poll(p, n, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && exited)
			break;	/* quiet since the exit: a background child holds the pipe */
		if (n <= 0)
			continue;
		if (out >= 0 && p[out].revents)
			handle_output(x, &x->out_fd, FRAME_STDOUT, &x->out);
		if (err >= 0 && p[err].revents)
			handle_output(x, &x->err_fd, FRAME_STDERR, &x->err);
		if (in >= 0 && p[in].revents)
			feed_stdin(x);
		if (host >= 0 && p[host].revents)
			handle_host(x);
		if (x->in_fd >= 0 && x->in.off == x->in.len && x->in.close_after)
			close_fd(&x->in_fd);
		if (note >= 0 && p[note].revents) {
			exited = true;
			exec_deadline(&drain_end, DRAIN_MAX_MS);
		}
	}
}

static void send_result(struct exec_run *x, int code, const char *error)
{
	char *json;
	size_t len;

	if (x->k.host_gone)
		return;
	if (x->mode == FRAME_EXEC_PIPE) {
		if (error && error[0]) {
			char line[4200];
			int n = snprintf(line, sizeof(line), "%s\n", error);

			frame_write(x->c, FRAME_STDERR, line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
		}
		frame_write_u32(x->c, FRAME_EXIT, (uint32_t)code);
		return;
	}
	json = exec_result_encode(code, x->out.p, x->out.len, x->err.p, x->err.len, error, &len);
	if (!json) {
		agent_log("exec: out of memory encoding the result");
		return;
	}
	frame_write(x->c, FRAME_EXEC_RESULT, json, len);
	free(json);
}

static int make_pipe(int p[2], bool parent_reads)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[parent_reads ? 0 : 1], F_SETFL, O_NONBLOCK);
	return 0;
}

void exec_serve(struct agent *a, struct conn *c, uint8_t mode, const char *req, size_t len)
{
	struct exec_run x = { .a = a, .c = c, .mode = mode, .out_fd = -1, .err_fd = -1, .in_fd = -1 };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 }, code, ret;
	char err[4096] = "", ebuf[128];
	struct spawn_opts o;
	struct exec_prep p;
	bool started;

	frame_reader_init(&x.fr, FRAME_MAX_PAYLOAD);
	x.s.status_rd = -1;
	ret = exec_prepare(a, req, len, false, &p, err, sizeof(err));
	if (ret) {
		send_result(&x, 127, err);
		goto out_prep;
	}
	exec_fill_opts(a, &p, &o);
	if (make_pipe(outp, true) || make_pipe(errp, true)) {
		snprintf(err, sizeof(err), "pipe: %s", go_strerror(errno, ebuf, sizeof(ebuf)));
		send_result(&x, 127, err);
		goto out_pipes;
	}
	if (mode == FRAME_EXEC_PIPE || (mode == FRAME_EXEC && p.req.has_stdin)) {
		if (make_pipe(inp, false)) {
			snprintf(err, sizeof(err), "pipe: %s", go_strerror(errno, ebuf, sizeof(ebuf)));
			send_result(&x, 127, err);
			goto out_pipes;
		}
		if (mode == FRAME_EXEC) {
			pending_add(&x.in, p.req.stdin_data, p.req.stdin_len);
			x.in.close_after = true;
		}
	} else {
		inp[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	o.fd_in = inp[0];
	o.fd_out = outp[1];
	o.fd_err = errp[1];
	started = spawn_command(&a->reaper, &o, &x.s, err, sizeof(err)) == 0;
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&inp[0]);
	x.out_fd = outp[0];
	x.err_fd = errp[0];
	x.in_fd = inp[1];
	outp[0] = errp[0] = inp[1] = -1;
	if (!started) {
		close_fd(&x.in_fd);
		x.in.off = x.in.len;
	}
	feed_stdin(&x);
	run_loop(&x);
	code = spawned_exit_code(&x.s);
	if (!started)
		code = 127;
	else if (x.truncated)
		snprintf(err, sizeof(err), "output truncated: more than %u bytes", FILE_MAX_BYTES);
	send_result(&x, code, err);
	spawned_release(&a->reaper, &x.s);
out_pipes:
	close_fd(&x.out_fd);
	close_fd(&x.err_fd);
	close_fd(&x.in_fd);
	for (int i = 0; i < 2; i++) {
		close_fd(&outp[i]);
		close_fd(&errp[i]);
		close_fd(&inp[i]);
	}
	exec_prep_free(&p);
out_prep:
	if (ret)
		exec_prep_free(&p);
	frame_reader_reset(&x.fr);
	free(x.in.p);
	free(x.out.p);
	free(x.err.p);
}
