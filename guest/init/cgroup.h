/* SPDX-License-Identifier: MIT */
/*
 * The CPU limit of matchlock.cpus (GUEST-CONTRACT.md, "Guest init": cpu.max =
 * "<max(1000, cpus*100000)> 100000").
 *
 * The root of cgroup v2 has no cpu.max (Documentation/admin-guide/cgroup-v2.rst,
 * "CPU Interface Files": "non-root"), so init enables the cpu controller for the
 * root's children, creates CGROUP_SANDBOX, writes cpu.max there and moves
 * itself in: the agent it becomes and every command the agent starts inherit
 * the limit.
 */
#ifndef FLASHPAN_GUEST_INIT_CGROUP_H
#define FLASHPAN_GUEST_INIT_CGROUP_H

#include "guest/init/cmdline.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_SANDBOX CGROUP_ROOT "/sandbox"

void cgroup__limit_cpus(const struct cmdline_config *cfg);

#endif
