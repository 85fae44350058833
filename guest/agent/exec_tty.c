// SPDX-License-Identifier: MIT
/*
 * ExecTTY (9), GUEST-CONTRACT.md "The exec service on port 5000": the
 * command runs on a pseudo-terminal sized by the request's "rows" and
 * "cols". Everything it writes comes back as Stdout frames (a terminal has
 * one output stream); the host sends Stdin (typed bytes; an empty one means
 * nothing on a terminal, EOF is a ^D the user types), Resize (rows u16 BE,
 * cols u16 BE) and Signal frames. It ends with Exit (u32 BE exit code).
 */
#include "guest/agent/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define DRAIN_IDLE_MS 200
#define DRAIN_MAX_MS 2000

struct tty_run {
	struct agent *a;
	struct conn *c;
	struct spawned s;
	struct exec_cancel k;
	struct frame_reader fr;
	int master;
	bool master_eof;
	uint8_t *in;
	size_t in_len, in_off;
};

static int open_pty(int *master, int *slave, char *err, size_t errlen)
{
	char name[128], ebuf[128];
	int m, s, unlock = 0;

	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0) {
		snprintf(err, errlen, "open /dev/ptmx: %s", go_strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		snprintf(err, errlen, "unlock pty: %s", go_strerror(errno, ebuf, sizeof(ebuf)));
		close(m);
		return -1;
	}
	s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		snprintf(err, errlen, "open %s: %s", name, go_strerror(errno, ebuf, sizeof(ebuf)));
		close(m);
		return -1;
	}
	*master = m;
	*slave = s;
	return 0;
}

static void set_size(int fd, uint16_t rows, uint16_t cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	if (rows && cols && ioctl(fd, TIOCSWINSZ, &ws) < 0)
		agent_log("tty: TIOCSWINSZ %ux%u: %s", rows, cols, strerror(errno));
}

static void read_master(struct tty_run *t)
{
	uint8_t buf[32 * 1024];
	ssize_t n = read(t->master, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EIO: every slave fd is closed. */
		t->master_eof = true;
		return;
	}
	if (!t->k.host_gone && frame_write(t->c, FRAME_STDOUT, buf, n) < 0)
		exec_cancel_start(t->a, &t->s, &t->k);
}

static void write_master(struct tty_run *t)
{
	while (t->in_off < t->in_len) {
		ssize_t n = write(t->master, t->in + t->in_off, t->in_len - t->in_off);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				t->in_off = t->in_len;
			return;
		}
		t->in_off += n;
	}
}

static void handle_host(struct tty_run *t)
{
	uint8_t *np;
	int ret;

	for (;;) {
		ret = frame_reader_fill(&t->fr, t->c->fd, true);
		if (ret == 0)
			return;
		if (ret < 0) {
			if (ret != -ENODATA)
				agent_log("tty: reading from the host: %s", strerror(-ret));
			exec_cancel_start(t->a, &t->s, &t->k);
			return;
		}
		ret = exec_host_frame(t->a, &t->s, &t->fr);
		if (ret < 0) {
			exec_cancel_start(t->a, &t->s, &t->k);
		} else if (ret == 1 && t->fr.type == FRAME_RESIZE) {
			const uint8_t *p = t->fr.payload;

			set_size(t->master, p[0] << 8 | p[1], p[2] << 8 | p[3]);
		} else if (ret == 1 && t->fr.type == FRAME_STDIN && t->fr.len) {
			if (t->in_off == t->in_len)
				t->in_off = t->in_len = 0;
			np = realloc(t->in, t->in_len + t->fr.len);
			if (np) {
				t->in = np;
				memcpy(t->in + t->in_len, t->fr.payload, t->fr.len);
				t->in_len += t->fr.len;
			}
		}
		frame_reader_reset(&t->fr);
		if (t->k.host_gone || t->in_off < t->in_len)
			return;
	}
}

static void run_loop(struct tty_run *t)
{
	struct timespec drain_end;
	bool exited = false;

	for (;;) {
		struct pollfd p[3];
		int n = 0, host = -1, m = -1, note = -1, timeout;
		short ev = 0;

		if (!exited && t->s.watch.pid < 0 && t->s.watch.exited) {
			exited = true;
			exec_deadline(&drain_end, DRAIN_MAX_MS);
		}
		if (exited && (t->master_eof || exec_ms_until(&drain_end) <= 0))
			break;
		if (!t->k.host_gone && t->in_off == t->in_len) {
			host = n;
			p[n++] = (struct pollfd){ .fd = t->c->fd, .events = POLLIN };
		}
		if (!t->master_eof)
			ev |= POLLIN;
		if (!t->master_eof && t->in_off < t->in_len)
			ev |= POLLOUT;
		if (ev) {
			m = n;
			p[n++] = (struct pollfd){ .fd = t->master, .events = ev };
		}
		if (!exited) {
			note = n;
			p[n++] = (struct pollfd){ .fd = t->s.watch.notify_rd, .events = POLLIN };
		}
		timeout = exec_cancel_tick(t->a, &t->s, &t->k);
		if (exited)
			timeout = DRAIN_IDLE_MS;
		n = poll(p, n, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && exited)
			break;
		if (n <= 0)
			continue;
		if (m >= 0 && (p[m].revents & (POLLIN | POLLHUP | POLLERR)))
			read_master(t);
		if (m >= 0 && (p[m].revents & POLLOUT))
			write_master(t);
		if (host >= 0 && p[host].revents)
			handle_host(t);
		if (note >= 0 && p[note].revents) {
			exited = true;
			exec_deadline(&drain_end, DRAIN_MAX_MS);
		}
	}
}

static void send_exit(struct tty_run *t, int code, const char *error)
{
	if (t->k.host_gone)
		return;
	if (error && error[0]) {
		char line[4200];
		int n = snprintf(line, sizeof(line), "%s\r\n", error);

		frame_write(t->c, FRAME_STDOUT, line, n < (int)sizeof(line) ? n : (int)sizeof(line) - 1);
	}
	frame_write_u32(t->c, FRAME_EXIT, (uint32_t)code);
}

void exec_tty_serve(struct agent *a, struct conn *c, const char *req, size_t len)
{
	struct tty_run t = { .a = a, .c = c, .master = -1 };
	char err[4096] = "";
	struct spawn_opts o;
	struct exec_prep p;
	int slave = -1, code;
	bool started;

	frame_reader_init(&t.fr, FRAME_MAX_PAYLOAD);
	t.s.status_rd = -1;
	if (exec_prepare(a, req, len, true, &p, err, sizeof(err)) ||
	    open_pty(&t.master, &slave, err, sizeof(err))) {
		send_exit(&t, 127, err);
		goto out;
	}
	set_size(t.master, p.req.rows, p.req.cols);
	exec_fill_opts(a, &p, &o);
	o.fd_in = o.fd_out = o.fd_err = o.tty_fd = slave;
	started = spawn_command(&a->reaper, &o, &t.s, err, sizeof(err)) == 0;
	close(slave);
	fcntl(t.master, F_SETFL, O_NONBLOCK);
	run_loop(&t);
	code = started ? spawned_exit_code(&t.s) : 127;
	send_exit(&t, code, started ? NULL : err);
	spawned_release(&a->reaper, &t.s);
out:
	if (t.master >= 0)
		close(t.master);
	exec_prep_free(&p);
	frame_reader_reset(&t.fr);
	free(t.in);
}
