// SPDX-License-Identifier: MIT
/*
 * fp_config_validate: every VMConfig field checked before anything is spawned,
 * with one message naming the first problem. Values that end up on the guest
 * kernel command line must not split or forge its words, so whitespace (and,
 * where the guest splits a value on ',', commas) are refused there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "flashpan.h"

/* Room left in sun_path for the "_<port>" suffix of guest-initiated connections. */
#define VSOCK_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 11)

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static bool set(const char *s)
{
	return s && *s;
}

/* A value that goes into one command-line word: printable, no space, no quote. */
static bool word_ok(const char *s, bool allow_comma)
{
	for (; *s; s++) {
		if (*s <= ' ' || *s == 0x7f || *s == '"' || (!allow_comma && *s == ','))
			return false;
	}
	return true;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static bool is_ip(const char *s)
{
	struct in6_addr a;

	return is_ipv4(s) || inet_pton(AF_INET6, s, &a) == 1;
}

static bool is_cidr4(const char *s)
{
	const char *slash = strchr(s, '/');
	char ip[INET_ADDRSTRLEN], *end;
	long bits;

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	return is_ipv4(ip) && slash[1] && !*end && !errno && bits >= 0 && bits <= 32;
}

static int check_file(const char *what, const char *path, char *err, size_t errlen)
{
	if (!set(path))
		return fail(err, errlen, -EINVAL, "%s is required", what);
	if (access(path, R_OK) < 0) {
		int e = errno;

		return fail(err, errlen, -e, "%s '%s': %s", what, path, strerror(e));
	}
	return 0;
}

/* A disk goes to the VMM as `--disk PATH[,ro]`: a comma would split it. */
static int check_disk_file(const char *what, const char *path, char *err, size_t errlen)
{
	int rc = check_file(what, path, err, errlen);

	if (!rc && strchr(path, ','))
		return fail(err, errlen, -EINVAL, "%s '%s': a disk path must not contain a comma", what, path);
	return rc;
}

static long host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

static int check_cpus_memory(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	long host = host_cpus();

	if (!isfinite(cfg->cpus) || cfg->cpus <= 0)
		return fail(err, errlen, -EINVAL, "cpus must be a finite number > 0, not %g", cfg->cpus);
	if (ceil(cfg->cpus) > FP_MAX_VCPUS)
		return fail(err, errlen, -EINVAL, "cpus must be <= %d (flashpan's maximum), not %g", FP_MAX_VCPUS,
			    cfg->cpus);
	if (ceil(cfg->cpus) > (double)host)
		return fail(err, errlen, -EINVAL, "cpus must be <= the host's CPUs (%ld), not %g", host, cfg->cpus);
	if (cfg->memory_mb && (cfg->memory_mb < 16 || cfg->memory_mb % 2))
		return fail(err, errlen, -EINVAL, "memory_mb must be an even number of MiB, 16 or more, not %d",
			    cfg->memory_mb);
	return 0;
}

static int check_disks(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	size_t devs;
	int rc;

	if (set(cfg->prebuilt_rootfs)) {
		if ((rc = check_disk_file("prebuilt_rootfs", cfg->prebuilt_rootfs, err, errlen)))
			return rc;
	} else if ((rc = check_disk_file("rootfs_path", cfg->rootfs_path, err, errlen))) {
		return rc;
	}
	if (cfg->nr_overlay_lowers && !set(cfg->overlay_upper_path))
		return fail(err, errlen, -EINVAL, "overlay_upper_path is required with overlay lowers");
	if (!cfg->nr_overlay_lowers && set(cfg->overlay_upper_path))
		return fail(err, errlen, -EINVAL, "overlay_upper_path is set but there are no overlay lowers");
	if (cfg->nr_overlay_lower_fs_types > cfg->nr_overlay_lowers)
		return fail(err, errlen, -EINVAL, "%zu overlay lower fs types for %zu lowers",
			    cfg->nr_overlay_lower_fs_types, cfg->nr_overlay_lowers);
	for (size_t i = 0; i < cfg->nr_overlay_lowers; i++) {
		char what[48];

		snprintf(what, sizeof(what), "overlay lower %zu", i);
		if ((rc = check_disk_file(what, cfg->overlay_lower_paths[i], err, errlen)))
			return rc;
	}
	for (size_t i = 0; i < cfg->nr_overlay_lower_fs_types; i++) {
		const char *fs = cfg->overlay_lower_fs_types[i];

		if (set(fs) && (!word_ok(fs, false) || strlen(fs) > 16))
			return fail(err, errlen, -EINVAL, "overlay lower fs type %zu: '%s' is not a file system name", i,
				    fs);
	}
	if (cfg->nr_overlay_lowers && (rc = check_disk_file("overlay_upper_path", cfg->overlay_upper_path, err, errlen)))
		return rc;
	for (size_t i = 0; i < cfg->nr_extra_disks; i++) {
		const struct fp_disk_config *d = &cfg->extra_disks[i];
		char what[48];

		snprintf(what, sizeof(what), "extra disk %zu host_path", i);
		if ((rc = check_disk_file(what, d->host_path, err, errlen)))
			return rc;
		if (!set(d->guest_mount) || d->guest_mount[0] != '/')
			return fail(err, errlen, -EINVAL, "extra disk %zu: guest_mount must be an absolute path, not '%s'",
				    i, d->guest_mount ? d->guest_mount : "");
		if (!word_ok(d->guest_mount, false))
			return fail(err, errlen, -EINVAL,
				    "extra disk %zu: guest_mount '%s' must not contain spaces, quotes or commas", i,
				    d->guest_mount);
	}
	devs = fp_config_virtio_devices(cfg);
	if (devs > FP_MAX_VIRTIO_DEVICES)
		return fail(err, errlen, -EINVAL,
			    "too many devices: %zu disks%s%s make %zu virtio devices; flashpan has %d "
			    "(disks, vsock and net together)",
			    fp_config_disks(cfg, NULL, NULL, 0), cfg->vsock_cid ? " + vsock" : "",
			    cfg->no_network ? "" : " + net", devs, FP_MAX_VIRTIO_DEVICES);
	return 0;
}

static int check_network(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	if (set(cfg->guest_ip) && !is_ipv4(cfg->guest_ip))
		return fail(err, errlen, -EINVAL, "guest_ip '%s' is not an IPv4 address", cfg->guest_ip);
	if (set(cfg->gateway_ip) && !is_ipv4(cfg->gateway_ip))
		return fail(err, errlen, -EINVAL, "gateway_ip '%s' is not an IPv4 address", cfg->gateway_ip);
	if (set(cfg->subnet_cidr) && !is_cidr4(cfg->subnet_cidr))
		return fail(err, errlen, -EINVAL, "subnet_cidr '%s' is not an IPv4 CIDR like 192.168.100.1/24",
			    cfg->subnet_cidr);
	for (size_t i = 0; i < cfg->nr_dns_servers; i++) {
		const char *s = cfg->dns_servers[i];

		if (!set(s) || !is_ip(s))
			return fail(err, errlen, -EINVAL, "DNS server %zu '%s' is not an IP address", i, s ? s : "");
		/* The first two go into ip=, whose fields are ':'-separated IPv4. */
		if (i < 2 && !cfg->no_network && !is_ipv4(s))
			return fail(err, errlen, -EINVAL,
				    "DNS server %zu '%s' must be IPv4: the kernel's ip= parameter carries the "
				    "first two",
				    i, s);
	}
	for (size_t i = 0; i < cfg->nr_add_hosts; i++) {
		const struct fp_host_entry *h = &cfg->add_hosts[i];

		if (!set(h->host) || !word_ok(h->host, false))
			return fail(err, errlen, -EINVAL, "add_host %zu: host '%s' must be a name without spaces or commas",
				    i, h->host ? h->host : "");
		if (!set(h->ip) || !is_ip(h->ip))
			return fail(err, errlen, -EINVAL, "add_host %zu (%s): '%s' is not an IP address", i, h->host,
				    h->ip ? h->ip : "");
	}
	if (cfg->mtu && (cfg->mtu < FP_MIN_MTU || cfg->mtu > FP_MAX_MTU))
		return fail(err, errlen, -EINVAL, "mtu must be from %d to %d (0: %d), not %d", FP_MIN_MTU, FP_MAX_MTU,
			    FP_DEFAULT_MTU, cfg->mtu);
	if (!cfg->no_network && cfg->use_interception && cfg->network_fd > 0)
		return fail(err, errlen, -EINVAL,
			    "use_interception makes the network socketpair; do not also pass network_fd");
	if (!cfg->no_network && !cfg->use_interception && cfg->network_fd <= 0)
		return fail(err, errlen, -EINVAL,
			    "the network is on but has no back end: set network_fd, use_interception or no_network");
	return 0;
}

static int check_vsock(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	if (!cfg->vsock_cid) {
		if (set(cfg->vsock_path))
			return fail(err, errlen, -EINVAL, "vsock_path is set but vsock_cid is 0");
		return 0;
	}
	if (cfg->vsock_cid < 3 || cfg->vsock_cid == 0xffffffffu)
		return fail(err, errlen, -EINVAL, "vsock_cid must be from 3 to 4294967294, not %u", cfg->vsock_cid);
	if (!set(cfg->vsock_path))
		return fail(err, errlen, -EINVAL, "vsock_path is required with vsock_cid");
	if (strlen(cfg->vsock_path) > VSOCK_PATH_MAX || strchr(cfg->vsock_path, ','))
		return fail(err, errlen, -EINVAL, "vsock_path '%s' must be at most %zu bytes and have no comma",
			    cfg->vsock_path, VSOCK_PATH_MAX);
	return 0;
}

static int check_names(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	const char *host = set(cfg->hostname) ? cfg->hostname : cfg->id;

	if (!set(cfg->id))
		return fail(err, errlen, -EINVAL, "id is required");
	if (!word_ok(cfg->id, true))
		return fail(err, errlen, -EINVAL, "id '%s' must not contain spaces or quotes", cfg->id);
	if (!set(cfg->kernel_args)) {
		if (!word_ok(host, false) || strlen(host) > 64)
			return fail(err, errlen, -EINVAL, "hostname '%s' must be 1 to 64 characters without spaces",
				    host);
		if (set(cfg->workspace) && (cfg->workspace[0] != '/' || !word_ok(cfg->workspace, false)))
			return fail(err, errlen, -EINVAL, "workspace '%s' must be an absolute path without spaces",
				    cfg->workspace);
	}
	for (size_t i = 0; i < cfg->nr_env; i++) {
		const char *n = cfg->env[i].name;

		if (!set(n) || strchr(n, '='))
			return fail(err, errlen, -EINVAL, "env %zu: '%s' is not a variable name", i, n ? n : "");
	}
	return 0;
}

int fp_config_validate(const struct fp_vm_config *cfg, char *err, size_t errlen)
{
	int rc;

	if (!cfg)
		return fail(err, errlen, -EINVAL, "no configuration");
	if ((rc = check_names(cfg, err, errlen)) || (rc = check_file("kernel_path", cfg->kernel_path, err, errlen)))
		return rc;
	if (set(cfg->initramfs_path) && (rc = check_file("initramfs_path", cfg->initramfs_path, err, errlen)))
		return rc;
	if ((rc = check_cpus_memory(cfg, err, errlen)) || (rc = check_disks(cfg, err, errlen)) ||
	    (rc = check_network(cfg, err, errlen)) || (rc = check_vsock(cfg, err, errlen)))
		return rc;
	if (cfg->start_timeout_ms < 0 || cfg->stop_grace_ms < 0)
		return fail(err, errlen, -EINVAL, "start_timeout_ms and stop_grace_ms must not be negative");
	if (err && errlen)
		err[0] = 0;
	return 0;
}
