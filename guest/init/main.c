// SPDX-License-Identifier: MIT
/*
 * flashpan's guest init: PID 1 of a sandbox VM (GUEST-CONTRACT.md, "Guest init").
 *
 * It reads the matchlock.* parameters from /proc/cmdline, prepares the machine
 * (mounts, overlay root, host name and /etc files, links, extra disks, CPU
 * limit) and execs the guest agent, which then owns PID 1. Any failure prints
 * "FATAL: <reason>" and exits: the kernel panics, panic=1 resets the VM, and the
 * VMM ends, so a broken configuration never looks like a slow boot.
 *
 * Run by hand (not as PID 1): `flashpan-init --parse '<command line>'` parses
 * a command line and prints what init would do, or the FATAL line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/init/cgroup.h"
#include "guest/init/cmdline.h"
#include "guest/init/console.h"
#include "guest/init/etc.h"
#include "guest/init/fsutil.h"
#include "guest/init/mounts.h"
#include "guest/init/network.h"
#include "guest/init/render.h"

/* Where the runtime's images keep the agent (guest/rootfs/build.sh installs it there). */
#define AGENT_PATH "/opt/matchlock/guest-agent"

static char *const agent_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=linux",
	NULL,
};

static void summarize(const struct cmdline_config *cfg)
{
	char net[64], cpus[64];

	if (cfg->no_network)
		snprintf(net, sizeof(net), "no network");
	else
		snprintf(net, sizeof(net), "eth0 mtu %d", cfg->mtu);
	if (cfg->has_cpus)
		snprintf(cpus, sizeof(cpus), "cpu.max %lld/%d", cmdline__cpu_quota(cfg->cpus),
			 CMDLINE_CPU_PERIOD);
	else
		snprintf(cpus, sizeof(cpus), "no cpu limit");
	console__log("hostname %s, %zu dns, %s, %s, overlay %s (%zu lower), %zu disks, %zu hosts%s",
		     cfg->hostname, cfg->nr_dns, net, cpus, cfg->overlay ? "on" : "off",
		     cfg->nr_lowers, cfg->nr_disks, cfg->nr_hosts,
		     cfg->privileged ? ", privileged" : "");
}

/* --parse: the pure part only, for people and scripts on the host. */
static int dry_run(const char *cmdline)
{
	static struct cmdline_config cfg;
	char buf[8192];
	size_t i;

	if (cmdline__parse(&cfg, cmdline) < 0) {
		printf("FATAL: %s\n", cfg.error);
		return 1;
	}
	printf("hostname: %s\nworkspace: %s\nprivileged: %d\n", cfg.hostname,
	       cfg.workspace ? cfg.workspace : "(none)", cfg.privileged);
	if (cfg.no_network)
		printf("network: none (lo only)\n");
	else
		printf("network: eth0 up, mtu %d\n", cfg.mtu);
	if (cfg.has_cpus && render__cpu_max(cfg.cpus, buf, sizeof(buf)) >= 0)
		printf("cpu.max: %s", buf);
	else
		printf("cpu.max: (not written)\n");
	if (cfg.overlay && render__overlay_options(&cfg, "/mnt/lower", "/mnt/upper", buf,
						   sizeof(buf)) >= 0) {
		for (i = 0; i < cfg.nr_lowers; i++)
			printf("overlay lower %zu: /dev/%s (%s, read-only)\n", i, cfg.lower[i],
			       cfg.lowerfs[i]);
		printf("overlay upper: /dev/%s (ext4)\noverlay options: %s\n", cfg.upper, buf);
	}
	for (i = 0; i < cfg.nr_disks; i++)
		printf("disk: /dev/%s on %s (ext4, %s)\n", cfg.disks[i].dev, cfg.disks[i].path,
		       cfg.disks[i].ro ? "read-only" : "read-write");
	if (render__hosts(&cfg, buf, sizeof(buf)) >= 0)
		printf("/etc/hosts:\n%s", buf);
	if (render__resolv_conf(&cfg, buf, sizeof(buf)) >= 0)
		printf("/etc/resolv.conf:\n%s", buf);
	return 0;
}

static void read_cmdline(struct cmdline_config *cfg)
{
	char line[CMDLINE_MAX];

	if (fsutil__read("/proc/cmdline", line, sizeof(line)) < 0)
		console__fatal("read /proc/cmdline: %s", strerror(errno));
	if (cmdline__parse(cfg, line) < 0)
		console__fatal("%s", cfg->error);
}

int main(int argc, char **argv)
{
	static struct cmdline_config cfg;
	char *agent_argv[] = { AGENT_PATH, NULL };
	int agent_fd = -1;

	if (getpid() != 1) {
		if (argc == 3 && strcmp(argv[1], "--parse") == 0)
			return dry_run(argv[2]);
		fprintf(stderr, "usage: %s (as PID 1)\n       %s --parse '<kernel command line>'\n",
			argv[0], argv[0]);
		return 2;
	}

	umask(022);
	mounts__pseudo();
	console__ensure_stdio();
	read_cmdline(&cfg);

	if (cfg.overlay) {
		/*
		 * The lowers are the sandbox's image; it may not carry the agent.
		 * Keep a handle on the boot disk's agent to run when it does not.
		 */
		agent_fd = open(AGENT_PATH, O_PATH | O_CLOEXEC);
		mounts__overlay_root(&cfg);
	}
	etc__write(&cfg);
	network__up(&cfg);
	mounts__extra_disks(&cfg);
	cgroup__limit_cpus(&cfg);
	summarize(&cfg);

	if (access(AGENT_PATH, X_OK) == 0 || agent_fd < 0) {
		execve(AGENT_PATH, agent_argv, agent_env);
		console__fatal("exec %s: %s", AGENT_PATH, strerror(errno));
	}
	console__log("%s is not in the overlay root: running the boot disk's", AGENT_PATH);
	syscall(SYS_execveat, agent_fd, "", agent_argv, agent_env, AT_EMPTY_PATH);
	console__fatal("exec %s from the boot disk: %s", AGENT_PATH, strerror(errno));
}
