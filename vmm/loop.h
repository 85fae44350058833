/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll instance owned by one thread. Device back ends
 * register a callback per file descriptor; nothing else blocks in that thread.
 */
#ifndef FLASHPAN_LOOP_H
#define FLASHPAN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*loop_fn)(void *opaque, uint32_t events);

struct loop_handler;

struct loop {
	int epfd;
	bool stop;
	struct loop_handler *handlers; /* every registered fd, for cleanup */
	struct loop_handler *dead;     /* removed during a dispatch; freed after it */
};

int loop_init(struct loop *l);
/* Watch fd for events (EPOLLIN, ...); 0 or -errno. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn fn, void *opaque);
int loop_mod(struct loop *l, int fd, uint32_t events);
int loop_del(struct loop *l, int fd);
/* Dispatch until loop_stop(); returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);
void loop_free(struct loop *l);

#endif
