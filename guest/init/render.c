// SPDX-License-Identifier: MIT
#include "guest/init/render.h"

#include <stdarg.h>
#include <stdio.h>

/* Appends to buf at *pos; remembers an overflow in *pos = -1. */
static void append(char *buf, size_t len, int *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, int *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - (size_t)*pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - (size_t)*pos)
		*pos = -1;
	else
		*pos += n;
}

int render__hosts(const struct cmdline_config *cfg, char *buf, size_t len)
{
	int pos = 0;
	size_t i;

	append(buf, len, &pos, "127.0.0.1 localhost localhost.localdomain %s\n", cfg->hostname);
	for (i = 0; i < cfg->nr_hosts; i++)
		append(buf, len, &pos, "%s %s\n", cfg->hosts[i].ip, cfg->hosts[i].host);
	return pos;
}

int render__resolv_conf(const struct cmdline_config *cfg, char *buf, size_t len)
{
	int pos = 0;
	size_t i;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < cfg->nr_dns; i++)
		append(buf, len, &pos, "nameserver %s\n", cfg->dns[i]);
	return pos;
}

int render__overlay_options(const struct cmdline_config *cfg, const char *lower_base,
			    const char *upper_mnt, char *buf, size_t len)
{
	int pos = 0;
	size_t i;

	append(buf, len, &pos, "lowerdir=");
	for (i = cfg->nr_lowers; i > 0; i--)
		append(buf, len, &pos, "%s%s%zu", i == cfg->nr_lowers ? "" : ":", lower_base, i - 1);
	append(buf, len, &pos, ",upperdir=%s/upper,workdir=%s/work", upper_mnt, upper_mnt);
	return pos;
}

int render__cpu_max(double cpus, char *buf, size_t len)
{
	int pos = 0;

	append(buf, len, &pos, "%lld %d\n", cmdline__cpu_quota(cpus), CMDLINE_CPU_PERIOD);
	return pos;
}
