// SPDX-License-Identifier: MIT
#include "guest/init/cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/init/console.h"
#include "guest/init/fsutil.h"
#include "guest/init/render.h"

void cgroup__limit_cpus(const struct cmdline_config *cfg)
{
	char buf[64];

	if (!cfg->has_cpus) {
		console__log("no matchlock.cpus: no CPU limit");
		return;
	}
	if (mkdir(CGROUP_SANDBOX, 0755) < 0 && errno != EEXIST)
		console__fatal("cgroup: mkdir " CGROUP_SANDBOX ": %s", strerror(errno));
	if (fsutil__write(CGROUP_ROOT "/cgroup.subtree_control", "+cpu") < 0)
		console__fatal("cgroup: enable the cpu controller (+cpu in " CGROUP_ROOT
			       "/cgroup.subtree_control): %s", strerror(errno));
	if (render__cpu_max(cfg->cpus, buf, sizeof(buf)) < 0 ||
	    fsutil__write(CGROUP_SANDBOX "/cpu.max", buf) < 0)
		console__fatal("cgroup: write \"%.*s\" to " CGROUP_SANDBOX "/cpu.max: %s",
			       (int)strcspn(buf, "\n"), buf, strerror(errno));
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (fsutil__write(CGROUP_SANDBOX "/cgroup.procs", buf) < 0)
		console__fatal("cgroup: move init into " CGROUP_SANDBOX ": %s", strerror(errno));
}
