// SPDX-License-Identifier: MIT
/*
 * The guest kernel command line generated from a VMConfig, exactly as
 * GUEST-CONTRACT.md ("Kernel command line generated from a VMConfig") spells
 * it, and the disk order the guest sees (vda, vdb, ...).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flashpan.h"
#include "api/strbuf.h"

static const char *const default_dns[] = { "8.8.8.8", "8.8.4.4" };

static bool set(const char *s)
{
	return s && *s;
}

char *fp_kernel_dns_param(const char *const *servers, size_t n)
{
	struct strbuf sb = { 0 };

	sb_puts(&sb, "");
	for (size_t i = 0; i < n; i++)
		sb_printf(&sb, "%s%s", i ? "," : "", servers[i]);
	return sb_finish(&sb);
}

/* The ip= parameter has only dns0 and dns1 (Documentation/admin-guide/nfs/nfsroot.rst). */
char *fp_kernel_ip_dns_suffix(const char *const *servers, size_t n)
{
	struct strbuf sb = { 0 };

	sb_puts(&sb, "");
	for (size_t i = 0; i < n && i < 2; i++)
		sb_printf(&sb, ":%s", servers[i]);
	return sb_finish(&sb);
}

/*
 * Go's strconv.FormatFloat(f, 'f', -1, 64): the fewest digits after the point
 * that read back as the same double. printf rounds correctly, so the first
 * precision that round-trips is the shortest one.
 */
void fp_format_cpus(double cpus, char *buf, size_t len)
{
	if (!len)
		return;
	if (!isfinite(cpus)) {
		snprintf(buf, len, "%s", isnan(cpus) ? "NaN" : cpus > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 0; prec <= 340; prec++) {
		char tmp[400];

		snprintf(tmp, sizeof(tmp), "%.*f", prec, cpus);
		if (strtod(tmp, NULL) == cpus) {
			snprintf(buf, len, "%s", tmp);
			return;
		}
	}
	snprintf(buf, len, "%.17g", cpus);
}

size_t fp_config_disks(const struct fp_vm_config *cfg, const char *rootfs_override,
		       struct fp_disk_slot *slots, size_t max)
{
	size_t n = 0;

#define ADD(path, ro, r)                                                    \
	do {                                                                \
		if (n < max) {                                              \
			snprintf(slots[n].name, sizeof(slots[n].name), "vd%c", \
				 (char)('a' + n));                          \
			slots[n].host_path = (path);                        \
			slots[n].read_only = (ro);                          \
			slots[n].role = (r);                                \
		}                                                           \
		n++;                                                        \
	} while (0)

	if (rootfs_override)
		ADD(rootfs_override, false, FP_DISK_ROOTFS);
	else
		ADD(set(cfg->prebuilt_rootfs) ? cfg->prebuilt_rootfs : cfg->rootfs_path, false, FP_DISK_ROOTFS);
	if (cfg->nr_overlay_lowers) {
		for (size_t i = 0; i < cfg->nr_overlay_lowers; i++)
			ADD(cfg->overlay_lower_paths[i], true, FP_DISK_OVERLAY_LOWER);
		ADD(cfg->overlay_upper_path, false, FP_DISK_OVERLAY_UPPER);
	}
	for (size_t i = 0; i < cfg->nr_extra_disks; i++)
		ADD(cfg->extra_disks[i].host_path, cfg->extra_disks[i].read_only, FP_DISK_EXTRA);
#undef ADD
	return n;
}

size_t fp_config_virtio_devices(const struct fp_vm_config *cfg)
{
	return fp_config_disks(cfg, NULL, NULL, 0) + (cfg->vsock_cid != 0) + !cfg->no_network;
}

/* Device names for disks past vdz never happen: 19 devices at most. */
static void disk_name(size_t index, char out[8])
{
	snprintf(out, 8, "vd%c", (char)('a' + index));
}

static void append_overlay(struct strbuf *sb, const struct fp_vm_config *cfg, size_t *next)
{
	char name[8];

	if (!cfg->nr_overlay_lowers)
		return;
	sb_puts(sb, " matchlock.overlay=1 matchlock.overlay.lower=");
	for (size_t i = 0; i < cfg->nr_overlay_lowers; i++) {
		disk_name((*next)++, name);
		sb_printf(sb, "%s%s", i ? "," : "", name);
	}
	sb_puts(sb, " matchlock.overlay.lowerfs=");
	for (size_t i = 0; i < cfg->nr_overlay_lowers; i++) {
		const char *fs = i < cfg->nr_overlay_lower_fs_types && cfg->overlay_lower_fs_types &&
					 set(cfg->overlay_lower_fs_types[i]) ?
					 cfg->overlay_lower_fs_types[i] :
					 "erofs";

		sb_printf(sb, "%s%s", i ? "," : "", fs);
	}
	disk_name((*next)++, name);
	sb_printf(sb, " matchlock.overlay.upper=%s", name);
}

char *fp_kernel_cmdline(const struct fp_vm_config *cfg)
{
	const char *const *dns = cfg->nr_dns_servers ? cfg->dns_servers : default_dns;
	size_t nr_dns = cfg->nr_dns_servers ? cfg->nr_dns_servers : 2, next = 1; /* vda is the rootfs */
	char *dns_param, *dns_suffix, cpus[64], name[8];
	struct strbuf sb = { 0 };

	if (set(cfg->kernel_args))
		return strdup(cfg->kernel_args);

	dns_param = fp_kernel_dns_param(dns, nr_dns);
	dns_suffix = fp_kernel_ip_dns_suffix(dns, nr_dns);
	if (!dns_param || !dns_suffix) {
		free(dns_param);
		free(dns_suffix);
		errno = ENOMEM;
		return NULL;
	}
	sb_printf(&sb, "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=%s",
		  set(cfg->hostname) ? cfg->hostname : cfg->id ? cfg->id : "");
	if (set(cfg->workspace))
		sb_printf(&sb, " matchlock.workspace=%s", cfg->workspace);
	sb_printf(&sb, " matchlock.dns=%s", dns_param);
	if (cfg->no_network)
		sb_puts(&sb, " ip=off matchlock.no_network=1");
	else
		sb_printf(&sb, " ip=%s::%s:255.255.255.0::eth0:off%s matchlock.mtu=%d",
			  set(cfg->guest_ip) ? cfg->guest_ip : FP_DEFAULT_GUEST_IP,
			  set(cfg->gateway_ip) ? cfg->gateway_ip : FP_DEFAULT_GATEWAY_IP, dns_suffix,
			  cfg->mtu > 0 ? cfg->mtu : FP_DEFAULT_MTU);
	if (cfg->privileged)
		sb_puts(&sb, " matchlock.privileged=1");
	fp_format_cpus(cfg->cpus, cpus, sizeof(cpus));
	sb_printf(&sb, " matchlock.cpus=%s", cpus);
	append_overlay(&sb, cfg, &next);
	for (size_t i = 0; i < cfg->nr_extra_disks; i++) {
		disk_name(next++, name);
		sb_printf(&sb, " matchlock.disk.%s=%s%s", name, cfg->extra_disks[i].guest_mount,
			  cfg->extra_disks[i].read_only ? ",ro" : "");
	}
	for (size_t i = 0; i < cfg->nr_add_hosts; i++)
		sb_printf(&sb, " matchlock.add_host.%zu=%s,%s", i, cfg->add_hosts[i].host, cfg->add_hosts[i].ip);
	free(dns_param);
	free(dns_suffix);
	return sb_finish(&sb);
}

char *fp_vmm_boot_args(const struct fp_vm_config *cfg)
{
	char *line = fp_kernel_cmdline(cfg);
	struct strbuf sb = { 0 };

	if (!line)
		return NULL;
	sb_printf(&sb, "%s root=/dev/vda rw", line);
	free(line);
	return sb_finish(&sb);
}
