/* SPDX-License-Identifier: MIT */
/*
 * Links: lo always (the agent's port forwards reach 127.0.0.1), eth0 with
 * matchlock.mtu unless matchlock.no_network=1. Addresses and routes are the
 * kernel's work (ip= on the command line, Documentation/admin-guide/nfs/
 * nfsroot.rst); init only sets the MTU and IFF_UP, with ioctls (netdevice(7)).
 */
#ifndef FLASHPAN_GUEST_INIT_NETWORK_H
#define FLASHPAN_GUEST_INIT_NETWORK_H

#include "guest/init/cmdline.h"

void network__up(const struct cmdline_config *cfg);

#endif
