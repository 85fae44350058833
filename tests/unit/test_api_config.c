// SPDX-License-Identifier: MIT
/*
 * libflashpan configuration: the kernel command line a VMConfig produces
 * (golden strings from GUEST-CONTRACT.md), the disk order, the seed's two DNS
 * functions, and one clear validation error per problem.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flashpan.h"

#define HEAD "console=ttyS0 reboot=k panic=1 acpi=off init=/init "

static void assert_cmdline(const struct fp_vm_config *cfg, const char *want)
{
	char *got = fp_kernel_cmdline(cfg);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* ---- the seed's two functions ---- */

static void test_dns_param(void **state)
{
	const char *three[] = { "1.1.1.1", "8.8.8.8", "9.9.9.9" };
	struct {
		size_t n;
		const char *param, *suffix;
	} cases[] = {
		{ 0, "", "" },
		{ 1, "1.1.1.1", ":1.1.1.1" },
		{ 2, "1.1.1.1,8.8.8.8", ":1.1.1.1:8.8.8.8" },
		{ 3, "1.1.1.1,8.8.8.8,9.9.9.9", ":1.1.1.1:8.8.8.8" }, /* ip= has dns0 and dns1 only */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = fp_kernel_dns_param(cases[i].n ? three : NULL, cases[i].n);
		char *s = fp_kernel_ip_dns_suffix(cases[i].n ? three : NULL, cases[i].n);

		assert_non_null(p);
		assert_non_null(s);
		assert_string_equal(p, cases[i].param);
		assert_string_equal(s, cases[i].suffix);
		free(p);
		free(s);
	}
}

static void test_format_cpus(void **state)
{
	struct {
		double v;
		const char *s;
	} cases[] = { { 1, "1" },     { 0.5, "0.5" },   { 2.25, "2.25" }, { 0.1, "0.1" },
		      { 3, "3" },     { 0.001, "0.001" }, { 1.0 / 3, "0.3333333333333333" },
		      { 64, "64" },   { 12.5, "12.5" } };
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fp_format_cpus(cases[i].v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
	}
}

/* ---- golden command lines ---- */

static void test_cmdline_no_network(void **state)
{
	struct fp_vm_config c = { .id = "vm-abc", .cpus = 1, .no_network = true };

	assert_cmdline(&c, HEAD "hostname=vm-abc matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=1");
}

static void test_cmdline_network_one_dns(void **state)
{
	const char *dns[] = { "1.1.1.1" };
	struct fp_vm_config c = { .id = "vm-abc", .cpus = 2, .workspace = "/workspace", .guest_ip = "10.0.0.2",
				  .gateway_ip = "10.0.0.1", .dns_servers = dns, .nr_dns_servers = 1,
				  .use_interception = true };

	assert_cmdline(&c, HEAD "hostname=vm-abc matchlock.workspace=/workspace matchlock.dns=1.1.1.1 "
				"ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off:1.1.1.1 matchlock.mtu=1500 "
				"matchlock.cpus=2");
}

static void test_cmdline_network_three_dns(void **state)
{
	const char *dns[] = { "1.1.1.1", "8.8.8.8", "9.9.9.9" };
	struct fp_vm_config c = { .id = "vm-abc", .hostname = "box", .cpus = 1, .mtu = 1400, .dns_servers = dns,
				  .nr_dns_servers = 3, .network_fd = 7 };

	assert_cmdline(&c, HEAD "hostname=box matchlock.dns=1.1.1.1,8.8.8.8,9.9.9.9 "
				"ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off:1.1.1.1:8.8.8.8 "
				"matchlock.mtu=1400 matchlock.cpus=1");
}

static void test_cmdline_network_default_dns(void **state)
{
	struct fp_vm_config c = { .id = "vm-1", .cpus = 1, .use_interception = true };

	assert_cmdline(&c, HEAD "hostname=vm-1 matchlock.dns=8.8.8.8,8.8.4.4 "
				"ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off:8.8.8.8:8.8.4.4 "
				"matchlock.mtu=1500 matchlock.cpus=1");
}

static void test_cmdline_overlay_two_lowers(void **state)
{
	const char *lowers[] = { "/img/base.erofs", "/img/layer.img" };
	const char *fs[] = { NULL, "ext4" };
	struct fp_disk_config disk = { .host_path = "/img/data.ext4", .guest_mount = "/data" };
	struct fp_vm_config c = { .id = "vm-ov", .cpus = 1, .no_network = true, .rootfs_path = "/img/root.ext4",
				  .overlay_lower_paths = lowers, .nr_overlay_lowers = 2,
				  .overlay_upper_path = "/img/upper.ext4", .extra_disks = &disk, .nr_extra_disks = 1 };
	struct fp_disk_slot s[8];

	assert_cmdline(&c, HEAD "hostname=vm-ov matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=1 matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc "
				"matchlock.overlay.lowerfs=erofs,erofs matchlock.overlay.upper=vdd "
				"matchlock.disk.vde=/data");
	/* A given fs type replaces the default for its lower only. */
	c.overlay_lower_fs_types = fs;
	c.nr_overlay_lower_fs_types = 2;
	assert_cmdline(&c, HEAD "hostname=vm-ov matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=1 matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc "
				"matchlock.overlay.lowerfs=erofs,ext4 matchlock.overlay.upper=vdd "
				"matchlock.disk.vde=/data");

	assert_int_equal(fp_config_disks(&c, NULL, s, 8), 5);
	assert_string_equal(s[0].name, "vda");
	assert_string_equal(s[0].host_path, "/img/root.ext4");
	assert_false(s[0].read_only);
	assert_string_equal(s[1].name, "vdb");
	assert_string_equal(s[1].host_path, "/img/base.erofs");
	assert_true(s[1].read_only);
	assert_string_equal(s[2].host_path, "/img/layer.img");
	assert_true(s[2].read_only);
	assert_string_equal(s[3].name, "vdd");
	assert_int_equal(s[3].role, FP_DISK_OVERLAY_UPPER);
	assert_false(s[3].read_only);
	assert_string_equal(s[4].name, "vde");
	assert_int_equal(s[4].role, FP_DISK_EXTRA);
	assert_int_equal(fp_config_virtio_devices(&c), 5);
}

static void test_cmdline_extra_disks_ro_rw(void **state)
{
	struct fp_disk_config disks[] = {
		{ .host_path = "/img/data.ext4", .guest_mount = "/data" },
		{ .host_path = "/img/cache.ext4", .guest_mount = "/var/cache/x", .read_only = true },
	};
	struct fp_vm_config c = { .id = "vm-d", .cpus = 1, .no_network = true, .rootfs_path = "/img/root.ext4",
				  .prebuilt_rootfs = "/run/vm-d/root.ext4", .extra_disks = disks,
				  .nr_extra_disks = 2, .vsock_cid = 3, .vsock_path = "/run/vm-d/v.sock" };
	struct fp_disk_slot s[4];

	/* Without an overlay the extra disks start right after the rootfs. */
	assert_cmdline(&c, HEAD "hostname=vm-d matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=1 matchlock.disk.vdb=/data matchlock.disk.vdc=/var/cache/x,ro");
	assert_int_equal(fp_config_disks(&c, NULL, s, 4), 3);
	assert_string_equal(s[0].host_path, "/run/vm-d/root.ext4"); /* the prebuilt copy is vda */
	assert_string_equal(s[1].name, "vdb");
	assert_false(s[1].read_only);
	assert_string_equal(s[2].name, "vdc");
	assert_true(s[2].read_only);
	assert_int_equal(fp_config_disks(&c, "/tmp/copy.ext4", s, 1), 3); /* counts past max */
	assert_string_equal(s[0].host_path, "/tmp/copy.ext4");
	assert_int_equal(fp_config_virtio_devices(&c), 4); /* + vsock */
}

static void test_cmdline_add_hosts(void **state)
{
	struct fp_host_entry hosts[] = { { "api.internal", "10.0.0.10" }, { "db", "fd00::5" } };
	struct fp_vm_config c = { .id = "vm-h", .cpus = 1, .no_network = true, .add_hosts = hosts,
				  .nr_add_hosts = 2 };

	assert_cmdline(&c, HEAD "hostname=vm-h matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=1 matchlock.add_host.0=api.internal,10.0.0.10 "
				"matchlock.add_host.1=db,fd00::5");
}

static void test_cmdline_privileged(void **state)
{
	struct fp_vm_config c = { .id = "vm-p", .cpus = 1, .privileged = true, .use_interception = true };

	assert_cmdline(&c, HEAD "hostname=vm-p matchlock.dns=8.8.8.8,8.8.4.4 "
				"ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off:8.8.8.8:8.8.4.4 "
				"matchlock.mtu=1500 matchlock.privileged=1 matchlock.cpus=1");
}

static void test_cmdline_fractional_cpus(void **state)
{
	struct fp_vm_config c = { .id = "vm-f", .cpus = 0.5, .no_network = true };

	assert_cmdline(&c, HEAD "hostname=vm-f matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=0.5");
	c.cpus = 2.25;
	assert_cmdline(&c, HEAD "hostname=vm-f matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				"matchlock.cpus=2.25");
}

static void test_cmdline_everything_in_order(void **state)
{
	const char *dns[] = { "1.1.1.1", "1.0.0.1" };
	const char *lowers[] = { "/l0" };
	struct fp_disk_config disk = { .host_path = "/d", .guest_mount = "/mnt/d", .read_only = true };
	struct fp_host_entry host = { "h", "10.1.1.1" };
	struct fp_vm_config c = { .id = "vm-all", .hostname = "all", .workspace = "/workspace", .cpus = 1.5,
				  .mtu = 9000, .privileged = true, .dns_servers = dns, .nr_dns_servers = 2,
				  .guest_ip = "10.9.0.2", .gateway_ip = "10.9.0.1", .overlay_lower_paths = lowers,
				  .nr_overlay_lowers = 1, .overlay_upper_path = "/up", .extra_disks = &disk,
				  .nr_extra_disks = 1, .add_hosts = &host, .nr_add_hosts = 1, .network_fd = 3 };

	assert_cmdline(&c, HEAD "hostname=all matchlock.workspace=/workspace matchlock.dns=1.1.1.1,1.0.0.1 "
				"ip=10.9.0.2::10.9.0.1:255.255.255.0::eth0:off:1.1.1.1:1.0.0.1 matchlock.mtu=9000 "
				"matchlock.privileged=1 matchlock.cpus=1.5 matchlock.overlay=1 "
				"matchlock.overlay.lower=vdb matchlock.overlay.lowerfs=erofs matchlock.overlay.upper=vdc "
				"matchlock.disk.vdd=/mnt/d,ro matchlock.add_host.0=h,10.1.1.1");
}

static void test_kernel_args_verbatim_and_vmm_additions(void **state)
{
	struct fp_vm_config c = { .id = "vm-k", .cpus = 1, .no_network = true,
				  .kernel_args = "console=ttyS0 init=/bin/sh quiet" };
	char *v;

	assert_cmdline(&c, "console=ttyS0 init=/bin/sh quiet");
	v = fp_vmm_boot_args(&c);
	assert_string_equal(v, "console=ttyS0 init=/bin/sh quiet root=/dev/vda rw");
	free(v);
	c.kernel_args = NULL;
	v = fp_vmm_boot_args(&c);
	assert_string_equal(v, HEAD "hostname=vm-k matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 "
				    "matchlock.cpus=1 root=/dev/vda rw");
	free(v);
}

/* ---- validation ---- */

struct files {
	char dir[64], kernel[96], rootfs[96], disk[96];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));
	FILE *fp;

	strcpy(f->dir, "/tmp/fp-api-test-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs.ext4", f->dir);
	snprintf(f->disk, sizeof(f->disk), "%s/disk.ext4", f->dir);
	for (const char *p = f->kernel; p; p = p == f->kernel ? f->rootfs : p == f->rootfs ? f->disk : NULL) {
		fp = fopen(p, "w");
		if (!fp)
			return -1;
		fputs("x", fp);
		fclose(fp);
	}
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;

	unlink(f->kernel);
	unlink(f->rootfs);
	unlink(f->disk);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct fp_vm_config good(const struct files *f)
{
	return (struct fp_vm_config){ .id = "vm-v", .kernel_path = f->kernel, .rootfs_path = f->rootfs, .cpus = 1,
				      .memory_mb = 256, .vsock_cid = 3, .vsock_path = "/tmp/vm-v.vsock",
				      .use_interception = true };
}

/* The error code and that the message names the problem. */
static void assert_invalid(const struct fp_vm_config *c, int code, const char *needle)
{
	char err[512];

	assert_int_equal(fp_config_validate(c, err, sizeof(err)), code);
	if (!strstr(err, needle))
		fail_msg("message '%s' does not contain '%s'", err, needle);
}

static void test_validate_good(void **state)
{
	struct fp_vm_config c = good(*state);
	char err[256] = "junk";

	assert_int_equal(fp_config_validate(&c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	c.cpus = 0.5;
	c.no_network = true;
	c.use_interception = false;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
}

static void test_validate_cpus(void **state)
{
	struct fp_vm_config c = good(*state);

	c.cpus = NAN;
	assert_invalid(&c, -EINVAL, "cpus must be a finite number > 0");
	c.cpus = INFINITY;
	assert_invalid(&c, -EINVAL, "cpus must be a finite number > 0");
	c.cpus = 0;
	assert_invalid(&c, -EINVAL, "cpus must be a finite number > 0");
	c.cpus = -1;
	assert_invalid(&c, -EINVAL, "cpus must be a finite number > 0");
	c.cpus = (double)sysconf(_SC_NPROCESSORS_ONLN) + 0.5;
	assert_invalid(&c, -EINVAL, "host's CPUs");
	c.cpus = 65;
	assert_invalid(&c, -EINVAL, "cpus must be <= 64");
}

static void test_validate_files(void **state)
{
	struct files *f = *state;
	struct fp_vm_config c = good(f);

	c.kernel_path = NULL;
	assert_invalid(&c, -EINVAL, "kernel_path is required");
	c.kernel_path = "/nonexistent/vmlinux";
	assert_invalid(&c, -ENOENT, "kernel_path '/nonexistent/vmlinux': No such file");
	c = good(f);
	c.rootfs_path = "";
	assert_invalid(&c, -EINVAL, "rootfs_path is required");
	c.rootfs_path = "/nonexistent/root.ext4";
	assert_invalid(&c, -ENOENT, "rootfs_path '/nonexistent/root.ext4'");
	c.prebuilt_rootfs = f->rootfs; /* a prebuilt copy stands in for the image */
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
}

static void test_validate_disks(void **state)
{
	struct files *f = *state;
	struct fp_vm_config c = good(f);
	struct fp_disk_config disks[20];
	const char *lowers[] = { f->disk };

	for (int i = 0; i < 20; i++)
		disks[i] = (struct fp_disk_config){ .host_path = f->disk, .guest_mount = "/mnt", .read_only = true };
	/* rootfs + 16 disks + vsock + net = 19: the most there is. */
	c.extra_disks = disks;
	c.nr_extra_disks = 16;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.nr_extra_disks = 17;
	assert_invalid(&c, -EINVAL, "too many devices: 18 disks + vsock + net make 20 virtio devices");
	c.no_network = true;
	c.use_interception = false;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);

	c = good(f);
	c.extra_disks = disks;
	c.nr_extra_disks = 1;
	disks[0].guest_mount = "data";
	assert_invalid(&c, -EINVAL, "extra disk 0: guest_mount must be an absolute path, not 'data'");
	disks[0].guest_mount = "/my data";
	assert_invalid(&c, -EINVAL, "must not contain spaces");
	disks[0].guest_mount = "/data";
	disks[0].host_path = "/nonexistent";
	assert_invalid(&c, -ENOENT, "extra disk 0 host_path '/nonexistent'");

	c = good(f);
	c.overlay_lower_paths = lowers;
	c.nr_overlay_lowers = 1;
	assert_invalid(&c, -EINVAL, "overlay_upper_path is required with overlay lowers");
	c.overlay_upper_path = f->disk;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.nr_overlay_lowers = 0;
	assert_invalid(&c, -EINVAL, "overlay_upper_path is set but there are no overlay lowers");
}

static void test_validate_network(void **state)
{
	struct fp_vm_config c = good(*state);
	const char *dns[] = { "1.1.1.1", "2606:4700::1111" };
	const char *dns_ok[] = { "1.1.1.1", "8.8.8.8", "2606:4700::1111" };
	struct fp_host_entry host = { "api", "10.0.0.300" };

	c.guest_ip = "192.168.100.256";
	assert_invalid(&c, -EINVAL, "guest_ip '192.168.100.256' is not an IPv4 address");
	c.guest_ip = NULL;
	c.gateway_ip = "gateway";
	assert_invalid(&c, -EINVAL, "gateway_ip 'gateway' is not an IPv4 address");
	c.gateway_ip = NULL;
	c.subnet_cidr = "192.168.100.1/33";
	assert_invalid(&c, -EINVAL, "subnet_cidr '192.168.100.1/33'");
	c.subnet_cidr = "192.168.100.1/24";
	c.dns_servers = dns;
	c.nr_dns_servers = 2;
	assert_invalid(&c, -EINVAL, "DNS server 1 '2606:4700::1111' must be IPv4");
	c.dns_servers = dns_ok; /* a third server only goes to matchlock.dns= */
	c.nr_dns_servers = 3;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.add_hosts = &host;
	c.nr_add_hosts = 1;
	assert_invalid(&c, -EINVAL, "add_host 0 (api): '10.0.0.300' is not an IP address");
	c.nr_add_hosts = 0;
	c.mtu = 67;
	assert_invalid(&c, -EINVAL, "mtu must be from 68 to 65521");
	c.mtu = 65522;
	assert_invalid(&c, -EINVAL, "mtu must be from 68 to 65521");
	c.mtu = 9000;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.use_interception = false;
	assert_invalid(&c, -EINVAL, "the network is on but has no back end");
	c.network_fd = 5;
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.use_interception = true;
	assert_invalid(&c, -EINVAL, "do not also pass network_fd");
}

static void test_validate_misc(void **state)
{
	struct fp_vm_config c = good(*state);

	c.memory_mb = 15;
	assert_invalid(&c, -EINVAL, "memory_mb must be an even number");
	c.memory_mb = 0; /* the default */
	assert_int_equal(fp_config_validate(&c, NULL, 0), 0);
	c.vsock_cid = 2;
	assert_invalid(&c, -EINVAL, "vsock_cid must be from 3");
	c.vsock_cid = 3;
	c.vsock_path = NULL;
	assert_invalid(&c, -EINVAL, "vsock_path is required with vsock_cid");
	c = good(*state);
	c.id = NULL;
	assert_invalid(&c, -EINVAL, "id is required");
	c.id = "vm x";
	assert_invalid(&c, -EINVAL, "id 'vm x' must not contain spaces");
	c.id = "vm-x";
	c.hostname = "a b";
	assert_invalid(&c, -EINVAL, "hostname 'a b'");
	c.hostname = NULL;
	c.workspace = "workspace";
	assert_invalid(&c, -EINVAL, "workspace 'workspace' must be an absolute path");
	assert_invalid(NULL, -EINVAL, "no configuration");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_param),
		cmocka_unit_test(test_format_cpus),
		cmocka_unit_test(test_cmdline_no_network),
		cmocka_unit_test(test_cmdline_network_one_dns),
		cmocka_unit_test(test_cmdline_network_three_dns),
		cmocka_unit_test(test_cmdline_network_default_dns),
		cmocka_unit_test(test_cmdline_overlay_two_lowers),
		cmocka_unit_test(test_cmdline_extra_disks_ro_rw),
		cmocka_unit_test(test_cmdline_add_hosts),
		cmocka_unit_test(test_cmdline_privileged),
		cmocka_unit_test(test_cmdline_fractional_cpus),
		cmocka_unit_test(test_cmdline_everything_in_order),
		cmocka_unit_test(test_kernel_args_verbatim_and_vmm_additions),
		cmocka_unit_test_setup_teardown(test_validate_good, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_validate_cpus, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_validate_files, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_validate_disks, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_validate_network, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_validate_misc, files_setup, files_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
