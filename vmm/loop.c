// SPDX-License-Identifier: MIT
#include "vmm/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct loop_handler {
	int fd;
	bool removed;
	loop_fn fn;
	void *opaque;
	struct loop_handler *next;
};

int loop_init(struct loop *l)
{
	*l = (struct loop){ 0 };
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static struct loop_handler *loop_find(struct loop *l, int fd)
{
	for (struct loop_handler *h = l->handlers; h; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque)
{
	struct loop_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOMEM;
	*h = (struct loop_handler){ .fd = fd, .fn = fn, .opaque = opaque };
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(h);
		return err;
	}
	h->next = l->handlers;
	l->handlers = h;
	return 0;
}

int loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct loop_handler *h = loop_find(l, fd);
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOENT;
	ev.data.ptr = h;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del(struct loop *l, int fd)
{
	struct loop_handler **pp, *h;

	for (pp = &l->handlers; (h = *pp); pp = &h->next) {
		if (h->fd != fd)
			continue;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = h->next;
		/* An event for it may still sit in the current batch: free it later. */
		h->removed = true;
		h->next = l->dead;
		l->dead = h;
		return 0;
	}
	return -ENOENT;
}

static void loop_reap(struct loop *l)
{
	while (l->dead) {
		struct loop_handler *h = l->dead;

		l->dead = h->next;
		free(h);
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[64];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 64, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct loop_handler *h = evs[i].data.ptr;

			if (!h->removed)
				h->fn(h->opaque, evs[i].events);
		}
		loop_reap(l);
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

void loop_free(struct loop *l)
{
	while (l->handlers)
		loop_del(l, l->handlers->fd);
	loop_reap(l);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}
