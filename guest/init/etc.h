/* SPDX-License-Identifier: MIT */
/*
 * The host name and the files of /etc the guest init writes from the command
 * line: /etc/hostname, /etc/hosts, /etc/resolv.conf (GUEST-CONTRACT.md,
 * "Guest init"). Written on the final root, after the overlay pivot.
 */
#ifndef FLASHPAN_GUEST_INIT_ETC_H
#define FLASHPAN_GUEST_INIT_ETC_H

#include "guest/init/cmdline.h"

void etc__write(const struct cmdline_config *cfg);

#endif
