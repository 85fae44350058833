/* SPDX-License-Identifier: MIT */
/*
 * The guest init's view of the kernel command line: the matchlock.* parameters
 * that the runtime generates from a VMConfig (/work/shared/GUEST-CONTRACT.md,
 * "Kernel command line generated from a VMConfig") parsed into one struct.
 *
 * Pure: no system calls, so the host's unit tests drive it directly
 * (tests/unit/test_guest_init.c). Every value is checked here; the actions in
 * the other files of guest/init/ trust the struct.
 */
#ifndef FLASHPAN_GUEST_INIT_CMDLINE_H
#define FLASHPAN_GUEST_INIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* x86 COMMAND_LINE_SIZE is 2048; leave room for other architectures. */
#define CMDLINE_MAX 4096

#define CMDLINE_MAX_DNS 16
#define CMDLINE_MAX_LOWERS 16
#define CMDLINE_MAX_DISKS 32
#define CMDLINE_MAX_HOSTS 64

#define CMDLINE_DEFAULT_MTU 1500
#define CMDLINE_MIN_MTU 68 /* RFC 791: every IPv4 link carries 68 octets */
#define CMDLINE_MAX_MTU 65535
#define CMDLINE_MAX_CPUS 4096.0
#define CMDLINE_HOSTNAME_MAX 64 /* HOST_NAME_MAX */

struct cmdline_disk {
	const char *dev;  /* "vdb": a name under /dev */
	const char *path; /* absolute mount point in the guest */
	bool ro;
};

struct cmdline_host {
	unsigned long index; /* the <i> of matchlock.add_host.<i>: lines are sorted by it */
	const char *host;
	const char *ip;
};

struct cmdline_config {
	const char *hostname;  /* hostname=, "localhost" when absent */
	const char *workspace; /* matchlock.workspace=, NULL when absent (the agent's business) */

	const char *dns[CMDLINE_MAX_DNS]; /* matchlock.dns=, required, at least one */
	size_t nr_dns;

	bool no_network; /* matchlock.no_network=1 */
	int mtu;         /* matchlock.mtu=, CMDLINE_DEFAULT_MTU when absent */
	bool privileged; /* matchlock.privileged=1 (the agent reads it itself) */

	bool has_cpus; /* matchlock.cpus= given: then cpu.max is written */
	double cpus;

	bool overlay; /* matchlock.overlay=1 */
	const char *lower[CMDLINE_MAX_LOWERS];   /* bottom first, as on the command line */
	const char *lowerfs[CMDLINE_MAX_LOWERS]; /* per lower, "erofs" by default */
	size_t nr_lowers;
	const char *upper;

	struct cmdline_disk disks[CMDLINE_MAX_DISKS]; /* in command-line order */
	size_t nr_disks;

	struct cmdline_host hosts[CMDLINE_MAX_HOSTS]; /* sorted by index */
	size_t nr_hosts;

	/* Storage: every string above points into this copy of the command line. */
	char buf[CMDLINE_MAX];
	/* The reason, when cmdline__parse() fails: printed as "FATAL: <error>". */
	char error[256];
};

/*
 * Parses a kernel command line (the contents of /proc/cmdline). Returns 0, or -1
 * with cfg->error set. Parameters are split as the kernel splits them (blanks,
 * double quotes); parsing stops at "--" (what follows belongs to init's argv).
 * A parameter given twice keeps the last value, as for the kernel's own.
 */
int cmdline__parse(struct cmdline_config *cfg, const char *cmdline);

/* The CFS quota for cpu.max in microseconds per 100000 us period: max(1000, cpus * 100000). */
long long cmdline__cpu_quota(double cpus);

#define CMDLINE_CPU_PERIOD 100000

#endif
