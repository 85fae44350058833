// SPDX-License-Identifier: MIT
/*
 * virtio-vsock, the host side: the listening Unix socket, the CONNECT
 * handshake of host clients, connects to PATH_P for the guest, the
 * connection table, deadlines, and freeing connections.
 *
 * Every host socket is registered once, edge-triggered, for IN, OUT and
 * RDHUP: the connection remembers "readable" until a read says EAGAIN, and a
 * socket whose data the guest cannot take yet (no credit, no RX buffer)
 * costs nothing while it waits. A host client is only ever a cost to itself:
 * its CONNECT line is read with MSG_PEEK up to the first newline (so payload
 * written right after the line stays in the socket for the guest), bounded
 * at 64 bytes, and the handshake has a deadline.
 */
#include "devices/virtio/vsock_mux.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/kvm.h"

#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define TIMER_TICK_MS 100

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	static const char word[] = "CONNECT";
	size_t i = sizeof(word) - 1, digits = 0;
	uint64_t p = 0;

	if (len < i + 3 || len > VSOCK_CONNECT_LINE_MAX || line[len - 1] != '\n' || memcmp(line, word, i))
		return -EINVAL;
	if (line[i] != ' ')
		return -EINVAL;
	while (line[i] == ' ')
		i++;
	for (; line[i] >= '0' && line[i] <= '9'; i++, digits++) {
		p = p * 10 + (uint64_t)(line[i] - '0');
		if (p > UINT32_MAX)
			return -EINVAL;
	}
	if (!digits)
		return -EINVAL;
	if (line[i] == '\r')
		i++;
	if (i != len - 1)
		return -EINVAL;
	*port = (uint32_t)p;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct vlist *bucket(struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	uint32_t h = host_port * 2654435761u ^ guest_port * 40503u;

	return &v->buckets[(h ^ (h >> 16)) % VSOCK_HASH_BUCKETS];
}

struct vsock_conn *vsock_mux_lookup(struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	struct vlist *b = bucket(v, host_port, guest_port);

	for (struct vlist *n = b->next; n != b; n = n->next) {
		struct vsock_conn *c = vlist_entry(n, struct vsock_conn, hash_node);

		if (c->host_port == host_port && c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

static void conn_hash(struct vsock_conn *c)
{
	vlist_add_tail(bucket(c->v, c->host_port, c->guest_port), &c->hash_node);
}

static struct vsock_conn *conn_new(struct vsock *v, int fd, enum vsock_conn_state state)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c || loop_add(&v->vm->loop, fd, CONN_EVENTS, vsock_mux_conn_event, c)) {
		free(c);
		close(fd);
		return NULL;
	}
	c->v = v;
	c->fd = fd;
	c->state = state;
	vlist_init(&c->hash_node);
	vlist_init(&c->ctl_node);
	vlist_init(&c->rx_node);
	vlist_init(&c->timer_node);
	vlist_add_tail(&v->conns, &c->all_node);
	v->nr_conns++;
	return c;
}

static void conn_unlink(struct vsock_conn *c)
{
	vlist_del(&c->hash_node);
	vlist_del(&c->ctl_node);
	vlist_del(&c->rx_node);
	vlist_del(&c->timer_node);
	vlist_del(&c->all_node);
}

static void conn_free(struct vsock_conn *c)
{
	loop_del(&c->v->vm->loop, c->fd);
	close(c->fd);
	free(c->txbuf);
	free(c);
}

void vsock_mux_kill(struct vsock_conn *c, bool rst)
{
	struct vsock *v = c->v;

	if (rst && c->state != VCONN_HANDSHAKE && c->state != VCONN_DEAD)
		vsock_queue_rst(v, c->host_port, c->guest_port);
	conn_unlink(c);
	v->nr_conns--;
	conn_free(c);
}

static void timer_arm(struct vsock *v, bool on)
{
	struct itimerspec its = { 0 };

	if (on == v->timer_armed)
		return;
	if (on) {
		its.it_value.tv_nsec = TIMER_TICK_MS * 1000000L;
		its.it_interval = its.it_value;
	}
	if (timerfd_settime(v->timer_fd, 0, &its, NULL) == 0)
		v->timer_armed = on;
}

void vsock_mux_set_deadline(struct vsock_conn *c, unsigned ms)
{
	vlist_del(&c->timer_node);
	c->deadline_ns = 0;
	if (!ms)
		return;
	c->deadline_ns = mono_ns() + (uint64_t)ms * 1000000ULL;
	vlist_add_tail(&c->v->timed, &c->timer_node);
	timer_arm(c->v, true);
}

void vsock_mux_expire(struct vsock *v, uint64_t now)
{
	struct vlist *n, *next;

	for (n = v->timed.next; n != &v->timed; n = next) {
		struct vsock_conn *c = vlist_entry(n, struct vsock_conn, timer_node);

		next = n->next;
		if (c->deadline_ns > now)
			continue;
		/* A handshake the guest knows nothing of, or a REQUEST/close it never answered. */
		vsock_mux_kill(c, c->state != VCONN_HANDSHAKE);
	}
	if (vlist_empty(&v->timed))
		timer_arm(v, false);
}

void vsock_mux_timer(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	uint64_t ticks;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: nothing expired since the last read */
	}
	pthread_mutex_lock(&v->dev.lock);
	vsock_mux_expire(v, mono_ns());
	vsock_rx_kick(v);
	pthread_mutex_unlock(&v->dev.lock);
}

/* Host-initiated: the first unused port from 2^30 up (guest-initiated ones use P itself). */
static uint32_t alloc_host_port(struct vsock *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_host_port++;

		if (v->next_host_port < (1u << 30))
			v->next_host_port = 1u << 30;
		if (p >= (1u << 30) && !vsock_mux_lookup(v, p, guest_port))
			return p;
	}
}

/* Read the CONNECT line, never a byte past its newline. */
static void conn_handshake(struct vsock_conn *c, uint32_t events)
{
	struct vsock *v = c->v;
	ssize_t n = recv(c->fd, c->line, sizeof(c->line), MSG_PEEK | MSG_DONTWAIT);
	char *nl;
	uint32_t port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vsock_mux_kill(c, false); /* gone before saying anything useful */
		return;
	}
	nl = memchr(c->line, '\n', (size_t)n);
	if (!nl) {
		if (n == sizeof(c->line) || (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
			vsock_mux_kill(c, false); /* overlong, or it will never finish */
		return;
	}
	n = nl - c->line + 1;
	if (recv(c->fd, c->line, (size_t)n, MSG_DONTWAIT) != n || vsock_parse_connect(c->line, (size_t)n, &port) ||
	    !virtio_running(&v->dev)) {
		vsock_mux_kill(c, false);
		return;
	}
	c->guest_port = port;
	c->host_port = alloc_host_port(v, port);
	conn_hash(c);
	c->state = VCONN_LOCAL_INIT;
	c->peer_buf_alloc = 0; /* no credit until the guest's RESPONSE says how much */
	vsock_conn_owe(c, VPKT_REQUEST);
	vsock_mux_set_deadline(c, v->response_ms);
}

int vsock_mux_send_ok(struct vsock_conn *c)
{
	char ok[24];
	int n = snprintf(ok, sizeof(ok), "OK %" PRIu32 "\n", c->host_port);

	/* A fresh socket has room for a dozen bytes; anything short is a dead client. */
	return send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n ? 0 : -EPIPE;
}

void vsock_mux_conn_event(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct vsock *v = c->v;

	pthread_mutex_lock(&v->dev.lock);
	switch (c->state) {
	case VCONN_HANDSHAKE:
		conn_handshake(c, events);
		break;
	case VCONN_LOCAL_INIT:
		if (events & (EPOLLHUP | EPOLLERR))
			vsock_mux_kill(c, true); /* the client left before the guest answered */
		else if (events & (EPOLLIN | EPOLLRDHUP))
			c->readable = true;
		break;
	case VCONN_ESTABLISHED:
	case VCONN_CLOSING:
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if (events & (EPOLLHUP | EPOLLERR)) {
			int unread = 0;

			c->host_gone = true;
			/* Nothing left to read: one SHUTDOWN both ways now, rather than RCV now and SEND later. */
			if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread == 0) {
				c->host_eof = true;
				c->readable = false;
			}
		}
		if (events & EPOLLOUT)
			vsock_conn_flush(c);
		vsock_conn_update(c);
		break;
	case VCONN_DEAD:
		break;
	}
	vsock_rx_kick(v);
	pthread_mutex_unlock(&v->dev.lock);
}

struct vsock_conn *vsock_mux_connect_host(struct vsock *v, uint32_t port, uint32_t guest_port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd;

	if (v->nr_conns >= VSOCK_MAX_CONNS)
		return NULL;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%" PRIu32, v->uds, port) >=
	    sizeof(sa.sun_path))
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* A Unix connect completes at once or fails (EAGAIN: the listener's backlog is full). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	c = conn_new(v, fd, VCONN_ESTABLISHED);
	if (!c)
		return NULL;
	c->host_port = port;
	c->guest_port = guest_port;
	conn_hash(c);
	return c;
}

/*
 * Accept host clients. At the fd limit, the spare descriptor is given up to
 * accept and drop one, so a level-triggered listener never spins.
 */
void vsock_mux_accept(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;

	pthread_mutex_lock(&v->dev.lock);
	for (int i = 0; i < 64; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			if ((errno == EMFILE || errno == ENFILE) && v->spare_fd >= 0) {
				close(v->spare_fd);
				fd = accept(v->listen_fd, NULL, NULL);
				if (fd >= 0)
					close(fd);
				v->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				fprintf(stderr, "flashpan: virtio-vsock: out of file descriptors; refused a client\n");
				continue;
			}
			break;
		}
		if (v->nr_conns >= VSOCK_MAX_CONNS) {
			close(fd);
			continue;
		}
		c = conn_new(v, fd, VCONN_HANDSHAKE);
		if (c)
			vsock_mux_set_deadline(c, v->handshake_ms);
	}
	vsock_rx_kick(v);
	pthread_mutex_unlock(&v->dev.lock);
}

/* A reset left connections unlinked; close them here, on the loop thread. */
static void vsock_mux_reap(void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	uint64_t cnt;

	if (read(v->reap_fd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: already reaped */
	}
	pthread_mutex_lock(&v->dev.lock);
	while (!vlist_empty(&v->zombies)) {
		struct vsock_conn *c = vlist_entry(v->zombies.next, struct vsock_conn, all_node);

		vlist_del(&c->all_node);
		conn_free(c);
	}
	if (vlist_empty(&v->timed))
		timer_arm(v, false);
	pthread_mutex_unlock(&v->dev.lock);
}

void vsock_mux_reset(struct vsock *v)
{
	uint64_t one = 1;

	while (!vlist_empty(&v->conns)) {
		struct vsock_conn *c = vlist_entry(v->conns.next, struct vsock_conn, all_node);

		conn_unlink(c);
		c->state = VCONN_DEAD;
		vlist_add_tail(&v->zombies, &c->all_node);
	}
	v->nr_conns = 0;
	if (v->reap_fd >= 0 && write(v->reap_fd, &one, sizeof(one)) < 0) {
		/* counter overflow: a reap is pending anyway */
	}
}

/*
 * Whether a socket file is stale: it is, only if connecting to it is
 * refused (nobody listens). Anything else is not ours to remove.
 */
static int check_stale(const char *path, bool *config_err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "flashpan: --vsock: %s: %s\n", path, strerror(errno));
		*config_err = true;
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "flashpan: --vsock: %s exists and is not a socket; not replacing it\n", path);
		*config_err = true;
		return -EEXIST;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	close(fd);
	if (r == 0 || err != ECONNREFUSED) {
		fprintf(stderr, "flashpan: --vsock: %s is in use (%s); is another VM running?\n", path,
			r == 0 ? "something listens there" : strerror(err));
		*config_err = true;
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		fprintf(stderr, "flashpan: --vsock: cannot remove stale socket %s: %s\n", path, strerror(errno));
		*config_err = true;
		return -errno;
	}
	return 0;
}

/* 1,000 connections need more than the usual 1,024 descriptors: take the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int vsock_mux_listen(struct vsock *v, bool *config_err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct loop *l = &v->vm->loop;
	struct stat st;
	int err;

	err = check_stale(v->uds, config_err);
	if (err)
		return err;
	raise_fd_limit();
	if (v->spare_fd < 0)
		v->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	strcpy(sa.sun_path, v->uds);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(v->listen_fd, SOMAXCONN) < 0 || stat(v->uds, &st) < 0) {
		err = -errno;
		fprintf(stderr, "flashpan: --vsock: cannot listen on %s: %s\n", v->uds, strerror(errno));
		*config_err = err == -EACCES || err == -ENOENT || err == -ENOTDIR || err == -EADDRINUSE;
		return err;
	}
	v->listen_dev = st.st_dev;
	v->listen_ino = st.st_ino;
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	v->reap_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->timer_fd < 0 || v->reap_fd < 0 || (err = loop_add(l, v->listen_fd, EPOLLIN, vsock_mux_accept, v)) ||
	    (err = loop_add(l, v->timer_fd, EPOLLIN, vsock_mux_timer, v)) ||
	    (err = loop_add(l, v->reap_fd, EPOLLIN, vsock_mux_reap, v))) {
		err = err ? err : -errno;
		fprintf(stderr, "flashpan: virtio-vsock: event loop: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

void vsock_mux_close(struct vsock *v)
{
	struct loop *l = &v->vm->loop;
	struct stat st;

	while (!vlist_empty(&v->conns))
		vsock_mux_kill(vlist_entry(v->conns.next, struct vsock_conn, all_node), false);
	while (!vlist_empty(&v->zombies)) {
		struct vsock_conn *c = vlist_entry(v->zombies.next, struct vsock_conn, all_node);

		vlist_del(&c->all_node);
		conn_free(c);
	}
	if (v->spare_fd >= 0)
		close(v->spare_fd);
	v->spare_fd = -1;
	if (v->listen_fd >= 0) {
		loop_del(l, v->listen_fd);
		close(v->listen_fd);
		/* Remove the socket file only if it is still the one we made. */
		if (stat(v->uds, &st) == 0 && st.st_dev == v->listen_dev && st.st_ino == v->listen_ino)
			unlink(v->uds);
		v->listen_fd = -1;
	}
	if (v->timer_fd >= 0) {
		loop_del(l, v->timer_fd);
		close(v->timer_fd);
		v->timer_fd = -1;
	}
	if (v->reap_fd >= 0) {
		loop_del(l, v->reap_fd);
		close(v->reap_fd);
		v->reap_fd = -1;
	}
}
