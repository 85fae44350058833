/* SPDX-License-Identifier: MIT */
/*
 * The texts the guest init writes, built from a parsed command line: /etc/hosts,
 * /etc/resolv.conf, the overlayfs mount options and cpu.max. Pure (no system
 * calls) so that the unit tests check the exact bytes.
 *
 * Each function writes a NUL-terminated string into buf and returns its length,
 * or -1 when it does not fit (buf then holds a truncated string).
 */
#ifndef FLASHPAN_GUEST_INIT_RENDER_H
#define FLASHPAN_GUEST_INIT_RENDER_H

#include <stddef.h>

#include "guest/init/cmdline.h"

/* "127.0.0.1 localhost localhost.localdomain <hostname>\n" then "<ip> <host>\n" per add_host. */
int render__hosts(const struct cmdline_config *cfg, char *buf, size_t len);

/* "nameserver <server>\n" per matchlock.dns server, in order. */
int render__resolv_conf(const struct cmdline_config *cfg, char *buf, size_t len);

/*
 * overlayfs options "lowerdir=<top>:...:<bottom>,upperdir=<upper>/upper,workdir=<upper>/work"
 * for lowers mounted at <lower_base><i> (i = command-line position) and the upper
 * file system mounted at <upper_mnt>. The command line lists the lowers bottom
 * first (the last is the top layer); overlayfs wants the top first, so the list
 * is reversed here (Documentation/filesystems/overlayfs.rst, "Multiple lower layers").
 */
int render__overlay_options(const struct cmdline_config *cfg, const char *lower_base,
			    const char *upper_mnt, char *buf, size_t len);

/* "<max(1000, cpus * 100000)> 100000\n" (Documentation/admin-guide/cgroup-v2.rst, cpu.max). */
int render__cpu_max(double cpus, char *buf, size_t len);

#endif
