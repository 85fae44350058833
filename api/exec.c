// SPDX-License-Identifier: MIT
/*
 * fp_machine_exec: one command per connection to the agent's port 5000. The
 * first frame picks the mode (Exec, ExecStream, ExecPipe, ExecTTY); the
 * answer is a stream of Stdout/Stderr frames ending with ExecResult (Exec,
 * ExecStream) or Exit (ExecPipe, ExecTTY). Cancellation closes the
 * connection: the agent then sends the command's process group SIGTERM and,
 * 5 s later, SIGKILL (GUEST-CONTRACT.md).
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/machine.h"
#include "api/strbuf.h"
#include "api/wire.h"

struct fp_exec_cancel {
	int efd;
};

struct fp_exec_session {
	int fd;
	pthread_mutex_t wlock; /* frames from the stdin thread, resize and signal never interleave */
};

struct fp_exec_cancel *fp_exec_cancel_new(void)
{
	struct fp_exec_cancel *c = malloc(sizeof(*c));

	if (c && (c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		free(c);
		c = NULL;
	}
	return c;
}

void fp_exec_cancel_free(struct fp_exec_cancel *c)
{
	if (c) {
		close(c->efd);
		free(c);
	}
}

void fp_exec_cancel(struct fp_exec_cancel *c)
{
	uint64_t one = 1;

	if (c && write(c->efd, &one, sizeof(one)) < 0) {
		/* The counter is already huge: it is cancelled either way. */
	}
}

static int session_send(struct fp_exec_session *s, uint8_t type, const void *p, size_t len)
{
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = wire_send(s->fd, type, p, len);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

int fp_exec_resize(struct fp_exec_session *s, uint16_t rows, uint16_t cols)
{
	uint8_t b[4] = { (uint8_t)(rows >> 8), (uint8_t)rows, (uint8_t)(cols >> 8), (uint8_t)cols };

	return session_send(s, WIRE_RESIZE, b, sizeof(b));
}

int fp_exec_signal(struct fp_exec_session *s, int signo)
{
	uint8_t b = (uint8_t)signo;

	if (signo <= 0 || signo > 64)
		return -EINVAL;
	return session_send(s, WIRE_SIGNAL, &b, 1);
}

void fp_exec_result_free(struct fp_exec_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	free(r->error);
	*r = (struct fp_exec_result){ .exit_code = -1 };
}

/* ExecRequest, GUEST-CONTRACT.md: all but command omitted when empty. */
static char *request_json(struct fp_machine *m, const char *command, const struct fp_exec_opts *o)
{
	json_t *req = json_object(), *env = json_object();
	char *s = NULL;

	if (!req || !env)
		goto out;
	json_object_set_new(req, "command", json_string(command));
	if (o->working_dir && *o->working_dir)
		json_object_set_new(req, "working_dir", json_string(o->working_dir));
	for (size_t i = 0; i < m->nr_env; i++) {
		char *eq = strchr(m->env[i], '=');

		if (eq) {
			*eq = 0;
			json_object_set_new(env, m->env[i], json_string(eq + 1));
			*eq = '=';
		}
	}
	for (size_t i = 0; i < o->nr_env; i++) /* the exec's own values win */
		json_object_set_new(env, o->env[i].name, json_string(o->env[i].value ? o->env[i].value : ""));
	if (json_object_size(env))
		json_object_set(req, "env", env);
	if (o->user && *o->user)
		json_object_set_new(req, "user", json_string(o->user));
	if (o->mode == FP_EXEC_TTY) {
		json_object_set_new(req, "rows", json_integer(o->rows ? o->rows : 24));
		json_object_set_new(req, "cols", json_integer(o->cols ? o->cols : 80));
	}
	s = json_dumps(req, JSON_COMPACT);
out:
	json_decref(req);
	json_decref(env);
	return s;
}

struct stdin_pump {
	struct fp_exec_session *s;
	int in_fd, stop_fd;
	pthread_t thread;
	bool running;
};

/* Stdin frames from in_fd until EOF (then a 0-length Stdin: EOF) or until stopped. */
static void *stdin_pump_run(void *opaque)
{
	struct stdin_pump *p = opaque;
	char buf[16384];

	for (;;) {
		struct pollfd pf[2] = { { .fd = p->in_fd, .events = POLLIN }, { .fd = p->stop_fd, .events = POLLIN } };
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;
		n = read(p->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			session_send(p->s, WIRE_STDIN, NULL, 0);
			break;
		}
		if (session_send(p->s, WIRE_STDIN, buf, (size_t)n))
			break;
	}
	return NULL;
}

/* Fill r from an ExecResult body; the streamed output wins over the buffered fields. */
static int parse_result(const uint8_t *body, struct fp_exec_result *r, struct strbuf *out, struct strbuf *err)
{
	json_t *j = json_loads((const char *)body, 0, NULL), *v;
	int rc = 0;

	if (!json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	r->exit_code = (int)json_integer_value(json_object_get(j, "exit_code"));
	for (int k = 0; k < 2; k++) {
		struct strbuf *sb = k ? err : out;
		uint8_t *data;
		size_t len;

		v = json_object_get(j, k ? "stderr" : "stdout");
		if (!json_is_string(v) || sb->len)
			continue;
		if (b64_decode(json_string_value(v), &data, &len)) {
			rc = -EPROTO;
			break;
		}
		sb_putn(sb, data, len);
		free(data);
	}
	v = json_object_get(j, "error");
	if (json_is_string(v) && *json_string_value(v))
		r->error = strdup(json_string_value(v));
	json_decref(j);
	return rc;
}

static const uint8_t mode_frame[] = { [FP_EXEC_BUFFERED] = WIRE_EXEC, [FP_EXEC_STREAM] = WIRE_EXEC_STREAM,
				      [FP_EXEC_PIPE] = WIRE_EXEC_PIPE, [FP_EXEC_TTY] = WIRE_EXEC_TTY };

int fp_machine_exec(struct fp_machine *m, const char *command, const struct fp_exec_opts *opts,
		    struct fp_exec_result *r)
{
	struct fp_exec_opts defaults = { .mode = FP_EXEC_BUFFERED, .stdin_fd = -1 };
	const struct fp_exec_opts *o = opts ? opts : &defaults;
	struct fp_exec_session s = { .fd = -1 };
	struct stdin_pump pump = { .stop_fd = -1 };
	struct strbuf out = { 0 }, err = { 0 };
	int64_t t0 = mono_ms(), deadline = o->timeout_ms > 0 ? t0 + o->timeout_ms : 0;
	bool collect = o->mode == FP_EXEC_BUFFERED || o->collect, done = false;
	char *req;
	int rc;

	*r = (struct fp_exec_result){ .exit_code = -1 };
	if (!command || o->mode > FP_EXEC_TTY)
		return machine_fail(m, -EINVAL, "exec needs a command and a known mode");
	req = request_json(m, command, o);
	if (!req)
		return machine_fail(m, -ENOMEM, "exec: out of memory");
	s.fd = fp_machine_dial_vsock(m, FP_VSOCK_PORT_EXEC);
	if (s.fd < 0) {
		free(req);
		return s.fd;
	}
	pthread_mutex_init(&s.wlock, NULL);
	rc = wire_send(s.fd, mode_frame[o->mode], req, strlen(req));
	free(req);
	if (rc) {
		machine_fail(m, rc, "exec: cannot send the request: %s", strerror(-rc));
		goto out;
	}
	if (o->mode == FP_EXEC_PIPE || o->mode == FP_EXEC_TTY) {
		if (o->stdin_fd >= 0) {
			pump = (struct stdin_pump){ .s = &s, .in_fd = o->stdin_fd,
						    .stop_fd = eventfd(0, EFD_CLOEXEC) };
			pump.running = pump.stop_fd >= 0 &&
				       pthread_create(&pump.thread, NULL, stdin_pump_run, &pump) == 0;
			if (!pump.running) {
				rc = machine_fail(m, -EAGAIN, "exec: cannot start the stdin thread");
				goto out;
			}
		} else if (o->mode == FP_EXEC_PIPE) {
			session_send(&s, WIRE_STDIN, NULL, 0); /* no stdin: EOF at once */
		}
	}
	if (o->on_session)
		o->on_session(o->opaque, &s);
	while (!done) {
		uint8_t type, *body;
		uint32_t len;

		rc = wire_recv(s.fd, o->cancel ? o->cancel->efd : -1, deadline, &type, &body, &len);
		if (rc)
			break;
		switch (type) {
		case WIRE_STDOUT:
		case WIRE_STDERR: {
			void (*cb)(void *, const void *, size_t) = type == WIRE_STDOUT ? o->on_stdout : o->on_stderr;

			if (cb && o->mode != FP_EXEC_BUFFERED)
				cb(o->opaque, body, len);
			if (collect)
				sb_putn(type == WIRE_STDOUT ? &out : &err, body, len);
			break;
		}
		case WIRE_EXEC_RESULT:
			rc = parse_result(body, r, &out, &err);
			done = true;
			break;
		case WIRE_EXIT:
			/* u32 BE; -1 (killed by a signal) arrives as 0xffffffff. */
			r->exit_code = len >= 4 ? (int)(int32_t)((uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 |
								 (uint32_t)body[2] << 8 | body[3]) :
						  0;
			done = true;
			break;
		default:
			break; /* readers ignore what they do not know */
		}
		free(body);
	}
	if (rc == -ETIMEDOUT)
		machine_fail(m, rc, "exec: '%s' did not finish within %lld ms; it was killed", command,
			     (long long)o->timeout_ms);
	else if (rc == -ECANCELED)
		machine_fail(m, rc, "exec: '%s' was cancelled; it was killed", command);
	else if (rc == -ECONNRESET)
		machine_fail(m, rc, "exec: the guest closed the connection before the command's result");
	else if (rc)
		machine_fail(m, rc, "exec: %s", strerror(-rc));
	else if (r->error)
		rc = machine_fail(m, -EREMOTEIO, "exec: %s", r->error);
out:
	/* Closing first unblocks a pump stuck in a send, and tells the agent to kill a running command. */
	shutdown(s.fd, SHUT_RDWR);
	if (pump.running) {
		uint64_t one = 1;

		if (write(pump.stop_fd, &one, sizeof(one)) < 0) {
			/* cannot happen with a fresh eventfd */
		}
		pthread_join(pump.thread, NULL);
	}
	if (pump.stop_fd >= 0)
		close(pump.stop_fd);
	close(s.fd);
	pthread_mutex_destroy(&s.wlock);
	r->out_len = out.len;
	r->err_len = err.len;
	r->out = sb_finish(&out);
	r->err = sb_finish(&err);
	r->duration_ms = mono_ms() - t0;
	return rc;
}
