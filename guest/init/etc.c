// SPDX-License-Identifier: MIT
#include "guest/init/etc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/init/console.h"
#include "guest/init/fsutil.h"
#include "guest/init/render.h"

static void replace_or_die(const char *path, const char *data, int len)
{
	if (len < 0)
		console__fatal("%s: the contents do not fit in the buffer", path);
	if (fsutil__replace(path, data, (size_t)len) < 0)
		console__fatal("write %s: %s", path, strerror(errno));
}

void etc__write(const struct cmdline_config *cfg)
{
	/* Room for 64 add_host lines of a 64-character host and an IPv6 address. */
	char buf[8192];

	if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		console__fatal("sethostname %s: %s", cfg->hostname, strerror(errno));
	if (fsutil__mkdir_p("/etc", 0755) < 0)
		console__fatal("mkdir /etc: %s", strerror(errno));
	replace_or_die("/etc/hostname", buf, snprintf(buf, sizeof(buf), "%s\n", cfg->hostname));
	replace_or_die("/etc/hosts", buf, render__hosts(cfg, buf, sizeof(buf)));
	replace_or_die("/etc/resolv.conf", buf, render__resolv_conf(cfg, buf, sizeof(buf)));
}
