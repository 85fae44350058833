/* SPDX-License-Identifier: MIT */
/*
 * Where the agent listens. In the guest: AF_VSOCK ports (any CID). On the
 * host, for tests: Unix sockets named like the VMM's guest-initiated
 * forwarding, <prefix>_<port> (GUEST-CONTRACT.md "vsock"). Everything past
 * accept() is the same code.
 */
#ifndef AGENT_TRANSPORT_H
#define AGENT_TRANSPORT_H

#include <stdint.h>

/* Each returns a listening fd or -errno. */
int transport_listen_vsock(uint32_t port);
int transport_listen_unix(const char *prefix, uint32_t port);

/* Returns a connected fd (close-on-exec) or -errno. */
int transport_accept(int listen_fd);

#endif
