// SPDX-License-Identifier: MIT
/*
 * Parsing of the matchlock.* kernel parameters (see cmdline.h). The command line
 * comes from the host, which we trust to be well meaning but not to be free of
 * mistakes: every value the contract defines is checked, and a bad one stops
 * the boot with a message that names the parameter and says what was wanted.
 */
#include "guest/init/cmdline.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P "matchlock."

static int fail(struct cmdline_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct cmdline_config *cfg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * One parameter, split as the kernel's next_arg() (lib/cmdline.c) splits it:
 * blanks separate parameters except inside double quotes; the quotes around a
 * value (`key="a b"`) or a whole parameter (`"key=a b"`) are dropped. Returns
 * the rest of the line; *key is NULL at the end.
 */
static char *next_param(char *s, char **key, char **val)
{
	bool in_quote = false, quoted = false;
	char *eq = NULL;
	size_t i;

	while (is_blank(*s))
		s++;
	*key = *val = NULL;
	if (!*s)
		return s;
	if (*s == '"') {
		s++;
		in_quote = quoted = true;
	}
	for (i = 0; s[i]; i++) {
		if (is_blank(s[i]) && !in_quote)
			break;
		if (!eq && s[i] == '=')
			eq = &s[i];
		if (s[i] == '"')
			in_quote = !in_quote;
	}
	*key = s;
	if (eq) {
		*eq = '\0';
		*val = eq + 1;
		if (**val == '"') {
			(*val)++;
			if (i > 0 && s[i - 1] == '"')
				s[i - 1] = '\0';
		}
	}
	if (quoted && i > 0 && s[i - 1] == '"')
		s[i - 1] = '\0';
	if (s[i]) {
		s[i] = '\0';
		return s + i + 1;
	}
	return s + i;
}

/*
 * Splits a comma-separated list in place. An empty element ("a,,b", a trailing
 * comma, or an empty list) is an error: the runtime never generates one.
 */
static int split_list(char *s, const char **out, size_t max, size_t *n)
{
	*n = 0;
	for (;;) {
		char *comma = strchr(s, ',');

		if (comma)
			*comma = '\0';
		if (!*s || *n == max)
			return -1;
		out[(*n)++] = s;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static bool is_ip(const char *s)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* A name under /dev: "vdb", "nvme0n1". No '/', no "..", nothing to escape /dev with. */
static bool is_dev_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 31)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* A file-system type for mount(2): "erofs", "ext4", "squashfs". */
static bool is_fs_type(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 31)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * A host name as it may appear in /etc/hosts and sethostname(): letters, digits,
 * '-', '.', and '_' (sandbox IDs use it); 1 to 64 characters.
 */
static bool is_host_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CMDLINE_HOSTNAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

static int parse_flag(struct cmdline_config *cfg, const char *key, const char *val, bool *out)
{
	if (val && strcmp(val, "1") == 0)
		*out = true;
	else if (val && strcmp(val, "0") == 0)
		*out = false;
	else
		return fail(cfg, "%s=%.80s: want 1 or 0", key, val ? val : "");
	return 0;
}

static int parse_mtu(struct cmdline_config *cfg, const char *val)
{
	char *end;
	long v;

	errno = 0;
	v = isdigit((unsigned char)val[0]) ? strtol(val, &end, 10) : -1;
	if (v < CMDLINE_MIN_MTU || v > CMDLINE_MAX_MTU || errno || *end)
		return fail(cfg, P "mtu=%.80s: want a whole number from %d to %d", val,
			    CMDLINE_MIN_MTU, CMDLINE_MAX_MTU);
	cfg->mtu = (int)v;
	return 0;
}

/*
 * The runtime writes the CPU count in Go's shortest float form ("1", "0.5",
 * "2.25"; "1e+06" is possible in principle). Accepted: a decimal number,
 * optionally with an exponent; no sign, no hex, no inf or nan.
 */
static int parse_cpus(struct cmdline_config *cfg, const char *val)
{
	const char *c;
	char *end;
	double v;

	if (!isdigit((unsigned char)val[0]))
		goto bad;
	for (c = val; *c; c++)
		if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
			goto bad;
	errno = 0;
	v = strtod(val, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > CMDLINE_MAX_CPUS)
		goto bad;
	cfg->cpus = v;
	cfg->has_cpus = true;
	return 0;
bad:
	return fail(cfg, P "cpus=%.80s: want a number of CPUs above 0 and at most %g (1, 0.5, 2.25)",
		    val, CMDLINE_MAX_CPUS);
}

static int parse_dns(struct cmdline_config *cfg, char *val)
{
	char copy[128];
	size_t i;

	snprintf(copy, sizeof(copy), "%s", val);
	if (split_list(val, cfg->dns, CMDLINE_MAX_DNS, &cfg->nr_dns) < 0)
		return fail(cfg, P "dns=%.80s: want 1 to %d comma-separated addresses, none empty",
			    copy, CMDLINE_MAX_DNS);
	for (i = 0; i < cfg->nr_dns; i++)
		if (!is_ip(cfg->dns[i]))
			return fail(cfg, P "dns: \"%.80s\" is not an IPv4 or IPv6 address", cfg->dns[i]);
	return 0;
}

static int parse_devices(struct cmdline_config *cfg, const char *key, char *val,
			 const char **out, size_t *n, bool (*valid)(const char *), const char *what)
{
	char copy[128];
	size_t i;

	snprintf(copy, sizeof(copy), "%s", val);
	if (split_list(val, out, CMDLINE_MAX_LOWERS, n) < 0)
		return fail(cfg, "%s=%.80s: want 1 to %d comma-separated %ss, none empty", key, copy,
			    CMDLINE_MAX_LOWERS, what);
	for (i = 0; i < *n; i++)
		if (!valid(out[i]))
			return fail(cfg, "%s: \"%.80s\" is not a %s", key, out[i], what);
	return 0;
}

/* matchlock.disk.<dev>=<GuestMount>[,ro] */
static int parse_disk(struct cmdline_config *cfg, const char *dev, char *val)
{
	struct cmdline_disk *d = NULL;
	char *comma;
	bool ro = false;
	size_t i;

	if (!is_dev_name(dev))
		return fail(cfg, P "disk.%.40s: \"%.40s\" is not a device name (like vdb)", dev, dev);
	if (!val || !*val)
		return fail(cfg, P "disk.%s: want =<mount point>[,ro]", dev);
	/*
	 * The option is the part after the last comma when it is "ro" or "rw";
	 * otherwise the whole value is the path (a comma in a path is legal).
	 */
	comma = strrchr(val, ',');
	if (comma && (strcmp(comma + 1, "ro") == 0 || strcmp(comma + 1, "rw") == 0)) {
		ro = comma[2] == 'o';
		*comma = '\0';
	}
	if (val[0] != '/')
		return fail(cfg, P "disk.%s=%.80s: the mount point must be an absolute path", dev, val);
	if (strcmp(val, "/") == 0)
		return fail(cfg, P "disk.%s=/: cannot mount a disk over the root", dev);
	for (i = 0; i < cfg->nr_disks; i++)
		if (strcmp(cfg->disks[i].dev, dev) == 0)
			d = &cfg->disks[i]; /* given twice: the last one counts */
	if (!d) {
		if (cfg->nr_disks == CMDLINE_MAX_DISKS)
			return fail(cfg, "more than %d " P "disk.* parameters", CMDLINE_MAX_DISKS);
		d = &cfg->disks[cfg->nr_disks++];
	}
	d->dev = dev;
	d->path = val;
	d->ro = ro;
	return 0;
}

/* matchlock.add_host.<i>=<host>,<ip> */
static int parse_add_host(struct cmdline_config *cfg, const char *idx, char *val)
{
	struct cmdline_host *h = NULL;
	unsigned long index;
	char *comma, *end;
	size_t i;

	errno = 0;
	index = isdigit((unsigned char)idx[0]) ? strtoul(idx, &end, 10) : 0;
	if (!isdigit((unsigned char)idx[0]) || *end || errno || index > 99999)
		return fail(cfg, P "add_host.%.40s: the index must be a number", idx);
	comma = val ? strchr(val, ',') : NULL;
	if (!comma)
		return fail(cfg, P "add_host.%s=%.80s: want <host>,<ip>", idx, val ? val : "");
	*comma = '\0';
	if (!is_host_name(val))
		return fail(cfg, P "add_host.%s: \"%.80s\" is not a host name", idx, val);
	if (!is_ip(comma + 1))
		return fail(cfg, P "add_host.%s: \"%.80s\" is not an IPv4 or IPv6 address", idx,
			    comma + 1);
	for (i = 0; i < cfg->nr_hosts; i++)
		if (cfg->hosts[i].index == index)
			h = &cfg->hosts[i];
	if (!h) {
		if (cfg->nr_hosts == CMDLINE_MAX_HOSTS)
			return fail(cfg, "more than %d " P "add_host.* parameters", CMDLINE_MAX_HOSTS);
		/* Keep the array sorted by index: insertion sort, the list is short. */
		for (i = cfg->nr_hosts; i > 0 && cfg->hosts[i - 1].index > index; i--)
			cfg->hosts[i] = cfg->hosts[i - 1];
		h = &cfg->hosts[i];
		cfg->nr_hosts++;
	}
	h->index = index;
	h->host = val;
	h->ip = comma + 1;
	return 0;
}

static int parse_param(struct cmdline_config *cfg, const char *key, char *val, bool *has_dns,
		       char **lowerfs)
{
	if (strcmp(key, "hostname") == 0) {
		if (!val || !is_host_name(val))
			return fail(cfg, "hostname=%.80s: want 1 to %d letters, digits, '-', '.' or '_'",
				    val ? val : "", CMDLINE_HOSTNAME_MAX);
		cfg->hostname = val;
		return 0;
	}
	if (strncmp(key, P, strlen(P)) != 0)
		return 0; /* the kernel's, or someone else's */
	key += strlen(P);

	if (strncmp(key, "disk.", 5) == 0)
		return parse_disk(cfg, key + 5, val);
	if (strncmp(key, "add_host.", 9) == 0)
		return parse_add_host(cfg, key + 9, val);
	if (!val) {
		static const char *const known[] = { "dns", "workspace", "mtu", "cpus", "no_network",
						     "privileged", "overlay", "overlay.lower",
						     "overlay.lowerfs", "overlay.upper" };
		size_t i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				return fail(cfg, P "%s: want " P "%s=<value>", key, key);
		return 0; /* a newer runtime's flag */
	}
	if (strcmp(key, "dns") == 0) {
		*has_dns = true;
		return parse_dns(cfg, val);
	}
	if (strcmp(key, "workspace") == 0) {
		cfg->workspace = val;
		return 0;
	}
	if (strcmp(key, "mtu") == 0)
		return parse_mtu(cfg, val);
	if (strcmp(key, "cpus") == 0)
		return parse_cpus(cfg, val);
	if (strcmp(key, "no_network") == 0)
		return parse_flag(cfg, P "no_network", val, &cfg->no_network);
	if (strcmp(key, "privileged") == 0)
		return parse_flag(cfg, P "privileged", val, &cfg->privileged);
	if (strcmp(key, "overlay") == 0)
		return parse_flag(cfg, P "overlay", val, &cfg->overlay);
	if (strcmp(key, "overlay.lower") == 0)
		return parse_devices(cfg, P "overlay.lower", val, cfg->lower, &cfg->nr_lowers,
				     is_dev_name, "device name");
	if (strcmp(key, "overlay.lowerfs") == 0) {
		*lowerfs = val; /* checked against the lowers once all are known */
		return 0;
	}
	if (strcmp(key, "overlay.upper") == 0) {
		if (!is_dev_name(val))
			return fail(cfg, P "overlay.upper=%.80s: not a device name (like vdd)", val);
		cfg->upper = val;
		return 0;
	}
	return 0; /* a newer runtime's parameter: not ours to refuse */
}

/* Cross-parameter checks, once the whole line is read. */
static int check_overlay(struct cmdline_config *cfg, char *lowerfs)
{
	const char *fs[CMDLINE_MAX_LOWERS];
	size_t i, n = 0;

	if (!cfg->overlay)
		return 0;
	if (cfg->nr_lowers == 0)
		return fail(cfg, P "overlay=1 without " P "overlay.lower");
	if (!cfg->upper)
		return fail(cfg, P "overlay=1 without " P "overlay.upper");
	for (i = 0; i < cfg->nr_lowers; i++)
		if (strcmp(cfg->lower[i], cfg->upper) == 0)
			return fail(cfg, P "overlay: %s is both a lower and the upper", cfg->upper);
	if (lowerfs) {
		if (parse_devices(cfg, P "overlay.lowerfs", lowerfs, fs, &n, is_fs_type,
				  "file-system type") < 0)
			return -1;
		if (n != cfg->nr_lowers)
			return fail(cfg,
				    P "overlay.lower names %zu device%s but " P "overlay.lowerfs "
				      "names %zu file-system type%s",
				    cfg->nr_lowers, cfg->nr_lowers == 1 ? "" : "s", n, n == 1 ? "" : "s");
	}
	for (i = 0; i < cfg->nr_lowers; i++)
		cfg->lowerfs[i] = lowerfs ? fs[i] : "erofs";
	return 0;
}

int cmdline__parse(struct cmdline_config *cfg, const char *cmdline)
{
	char *s, *key, *val, *lowerfs = NULL;
	bool has_dns = false;
	size_t len = strlen(cmdline);

	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = "localhost";
	cfg->mtu = CMDLINE_DEFAULT_MTU;
	if (len >= sizeof(cfg->buf))
		return fail(cfg, "the kernel command line is longer than %d bytes", CMDLINE_MAX - 1);
	memcpy(cfg->buf, cmdline, len + 1);

	for (s = next_param(cfg->buf, &key, &val); key; s = next_param(s, &key, &val)) {
		if (strcmp(key, "--") == 0 && !val)
			break;
		if (parse_param(cfg, key, val, &has_dns, &lowerfs) < 0)
			return -1;
	}
	if (!has_dns)
		return fail(cfg, P "dns is missing from the kernel command line "
				 "(want " P "dns=<server>[,<server>...])");
	return check_overlay(cfg, lowerfs);
}

long long cmdline__cpu_quota(double cpus)
{
	long long quota = llround(cpus * CMDLINE_CPU_PERIOD);

	return quota < 1000 ? 1000 : quota;
}
