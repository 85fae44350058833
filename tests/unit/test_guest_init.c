// SPDX-License-Identifier: MIT
/*
 * The guest init's command-line parser and the files it writes, on the host:
 * the command lines the runtime generates (GUEST-CONTRACT.md, "Kernel command
 * line generated from a VMConfig") give the expected config, /etc/hosts,
 * /etc/resolv.conf, overlay options and cpu.max; every invalid value the
 * contract names gives a FATAL reason that says which parameter is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "guest/init/cmdline.h"
#include "guest/init/render.h"

/* What the VMM appends to every generated line. */
#define VMM_TAIL " root=/dev/vda rw virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6"
#define HEAD "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=sandbox-1 matchlock.workspace=/workspace"

static struct cmdline_config cfg; /* 7 KiB: not on the stack */

static void parse_ok(const char *line)
{
	int ret = cmdline__parse(&cfg, line);

	if (ret != 0)
		fail_msg("\"%s\": unexpected FATAL: %s", line, cfg.error);
}

/* Parsing fails and the reason contains every one of the NULL-terminated words. */
static void parse_fatal(const char *line, ...)
{
	const char *word;
	va_list ap;

	if (cmdline__parse(&cfg, line) == 0)
		fail_msg("\"%s\": parsed, want FATAL", line);
	assert_true(cfg.error[0] != '\0');
	va_start(ap, line);
	while ((word = va_arg(ap, const char *)))
		if (!strstr(cfg.error, word))
			fail_msg("\"%s\": reason \"%s\" does not mention \"%s\"", line, cfg.error, word);
	va_end(ap);
}

static const char *hosts(void)
{
	static char buf[4096];

	assert_true(render__hosts(&cfg, buf, sizeof(buf)) > 0);
	return buf;
}

static const char *resolv(void)
{
	static char buf[4096];

	assert_true(render__resolv_conf(&cfg, buf, sizeof(buf)) > 0);
	return buf;
}

static const char *cpu_max(double cpus)
{
	static char buf[64];

	assert_true(render__cpu_max(cpus, buf, sizeof(buf)) > 0);
	return buf;
}

/* ------------------------------------------------------------ good lines */

static void test_no_network(void **state)
{
	parse_ok(HEAD " matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1" VMM_TAIL);
	assert_string_equal(cfg.hostname, "sandbox-1");
	assert_string_equal(cfg.workspace, "/workspace");
	assert_true(cfg.no_network);
	assert_false(cfg.privileged);
	assert_false(cfg.overlay);
	assert_int_equal(cfg.nr_disks, 0);
	assert_int_equal(cfg.nr_hosts, 0);
	assert_true(cfg.has_cpus);
	assert_string_equal(cpu_max(cfg.cpus), "100000 100000\n");
	assert_string_equal(hosts(), "127.0.0.1 localhost localhost.localdomain sandbox-1\n");
	assert_string_equal(resolv(), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

static void test_network_one_dns(void **state)
{
	parse_ok(HEAD " matchlock.dns=10.0.0.53 ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off:10.0.0.53"
		 " matchlock.mtu=1500 matchlock.cpus=2" VMM_TAIL);
	assert_false(cfg.no_network);
	assert_int_equal(cfg.mtu, 1500);
	assert_int_equal(cfg.nr_dns, 1);
	assert_string_equal(resolv(), "nameserver 10.0.0.53\n");
}

/* All servers reach resolv.conf, not just the two that fit in ip=. */
static void test_network_three_dns(void **state)
{
	parse_ok(HEAD " matchlock.dns=1.1.1.1,8.8.8.8,2001:4860:4860::8888"
		 " ip=10.1.2.3::10.1.2.1:255.255.255.0::eth0:off:1.1.1.1:8.8.8.8 matchlock.mtu=9000"
		 " matchlock.cpus=4" VMM_TAIL);
	assert_int_equal(cfg.mtu, 9000);
	assert_int_equal(cfg.nr_dns, 3);
	assert_string_equal(resolv(), "nameserver 1.1.1.1\nnameserver 8.8.8.8\n"
				      "nameserver 2001:4860:4860::8888\n");
}

static void test_mtu_default_and_limits(void **state)
{
	parse_ok("matchlock.dns=8.8.8.8 ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off");
	assert_int_equal(cfg.mtu, CMDLINE_DEFAULT_MTU);
	assert_false(cfg.has_cpus);
	assert_string_equal(cfg.hostname, "localhost");
	assert_null(cfg.workspace);
	parse_ok("matchlock.dns=8.8.8.8 matchlock.mtu=68");
	assert_int_equal(cfg.mtu, 68);
	parse_ok("matchlock.dns=8.8.8.8 matchlock.mtu=65535");
	assert_int_equal(cfg.mtu, 65535);
}

/* The last lower is the top layer; overlayfs lists the top first. */
static void test_overlay_two_lowers(void **state)
{
	char opts[256];

	parse_ok(HEAD " matchlock.dns=8.8.8.8 ip=off matchlock.no_network=1 matchlock.cpus=1"
		 " matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc matchlock.overlay.lowerfs=erofs,ext4"
		 " matchlock.overlay.upper=vdd" VMM_TAIL);
	assert_true(cfg.overlay);
	assert_int_equal(cfg.nr_lowers, 2);
	assert_string_equal(cfg.lower[0], "vdb");
	assert_string_equal(cfg.lower[1], "vdc");
	assert_string_equal(cfg.lowerfs[0], "erofs");
	assert_string_equal(cfg.lowerfs[1], "ext4");
	assert_string_equal(cfg.upper, "vdd");
	assert_true(render__overlay_options(&cfg, "/mnt/lower", "/mnt/upper", opts, sizeof(opts)) > 0);
	assert_string_equal(opts, "lowerdir=/mnt/lower1:/mnt/lower0,upperdir=/mnt/upper/upper,"
				  "workdir=/mnt/upper/work");
	/* Too small a buffer is an error, not a truncated mount option. */
	assert_int_equal(render__overlay_options(&cfg, "/mnt/lower", "/mnt/upper", opts, 20), -1);
}

static void test_overlay_lowerfs_defaults_to_erofs(void **state)
{
	parse_ok("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc,vdd"
		 " matchlock.overlay.upper=vde");
	assert_int_equal(cfg.nr_lowers, 3);
	assert_string_equal(cfg.lowerfs[0], "erofs");
	assert_string_equal(cfg.lowerfs[2], "erofs");
}

/* Overlay parameters without matchlock.overlay=1 change nothing. */
static void test_overlay_off(void **state)
{
	parse_ok("matchlock.dns=8.8.8.8 matchlock.overlay=0 matchlock.overlay.lower=vdb"
		 " matchlock.overlay.lowerfs=erofs,erofs");
	assert_false(cfg.overlay);
}

static void test_extra_disks_ro_and_rw(void **state)
{
	parse_ok(HEAD " matchlock.dns=8.8.8.8 ip=off matchlock.no_network=1 matchlock.cpus=1"
		 " matchlock.disk.vdb=/data,ro matchlock.disk.vdc=/var/lib/cache matchlock.disk.vdd=/a,b" VMM_TAIL);
	assert_int_equal(cfg.nr_disks, 3);
	assert_string_equal(cfg.disks[0].dev, "vdb");
	assert_string_equal(cfg.disks[0].path, "/data");
	assert_true(cfg.disks[0].ro);
	assert_string_equal(cfg.disks[1].dev, "vdc");
	assert_string_equal(cfg.disks[1].path, "/var/lib/cache");
	assert_false(cfg.disks[1].ro);
	/* Only ",ro" (or ",rw") is an option; another comma belongs to the path. */
	assert_string_equal(cfg.disks[2].path, "/a,b");
	assert_false(cfg.disks[2].ro);
}

static void test_extra_disks_after_overlay(void **state)
{
	parse_ok("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb"
		 " matchlock.overlay.lowerfs=erofs matchlock.overlay.upper=vdc matchlock.disk.vdd=/mnt/x,ro");
	assert_int_equal(cfg.nr_lowers, 1);
	assert_int_equal(cfg.nr_disks, 1);
	assert_string_equal(cfg.disks[0].dev, "vdd");
}

/* One "<ip> <host>" line per entry, in index order whatever the command-line order. */
static void test_add_host_entries(void **state)
{
	parse_ok(HEAD " matchlock.dns=8.8.8.8 ip=off matchlock.no_network=1 matchlock.cpus=1"
		 " matchlock.add_host.1=db.internal,10.0.0.3 matchlock.add_host.0=api,10.0.0.2"
		 " matchlock.add_host.10=v6host,fd00::10 matchlock.add_host.2=cache_1,10.0.0.4" VMM_TAIL);
	assert_int_equal(cfg.nr_hosts, 4);
	assert_string_equal(hosts(), "127.0.0.1 localhost localhost.localdomain sandbox-1\n"
				     "10.0.0.2 api\n"
				     "10.0.0.3 db.internal\n"
				     "10.0.0.4 cache_1\n"
				     "fd00::10 v6host\n");
}

static void test_privileged(void **state)
{
	parse_ok(HEAD " matchlock.dns=8.8.8.8 ip=10.0.0.2::10.0.0.1:255.255.255.0::eth0:off:8.8.8.8"
		 " matchlock.mtu=1500 matchlock.privileged=1 matchlock.cpus=1" VMM_TAIL);
	assert_true(cfg.privileged);
}

/* cpu.max = "<max(1000, cpus*100000)> 100000", cpus in Go's shortest float form. */
static void test_fractional_cpus(void **state)
{
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=0.5");
	assert_string_equal(cpu_max(cfg.cpus), "50000 100000\n");
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=2.25");
	assert_string_equal(cpu_max(cfg.cpus), "225000 100000\n");
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=0.29"); /* 28999.999... in binary */
	assert_string_equal(cpu_max(cfg.cpus), "29000 100000\n");
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=0.001");
	assert_string_equal(cpu_max(cfg.cpus), "1000 100000\n");
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=0.0001"); /* below the floor */
	assert_string_equal(cpu_max(cfg.cpus), "1000 100000\n");
	parse_ok("matchlock.dns=8.8.8.8 matchlock.cpus=1e+01");
	assert_string_equal(cpu_max(cfg.cpus), "1000000 100000\n");
}

/* Split as the kernel splits: quotes, tabs, the newline of /proc/cmdline, "--". */
static void test_kernel_splitting(void **state)
{
	parse_ok("matchlock.dns=\"8.8.8.8\"\thostname=\"box\" \"matchlock.disk.vdb=/x,ro\"\n");
	assert_string_equal(cfg.dns[0], "8.8.8.8");
	assert_string_equal(cfg.hostname, "box");
	assert_string_equal(cfg.disks[0].path, "/x");
	assert_true(cfg.disks[0].ro);
	/* After "--" come init's arguments, not parameters. */
	parse_ok("matchlock.dns=8.8.8.8 -- matchlock.mtu=1");
	assert_int_equal(cfg.mtu, CMDLINE_DEFAULT_MTU);
	/* The last of a repeated parameter counts, as for the kernel's. */
	parse_ok("matchlock.dns=1.1.1.1 matchlock.mtu=1400 matchlock.dns=9.9.9.9 matchlock.mtu=1300"
		 " matchlock.disk.vdb=/a matchlock.disk.vdb=/b,ro");
	assert_int_equal(cfg.nr_dns, 1);
	assert_string_equal(cfg.dns[0], "9.9.9.9");
	assert_int_equal(cfg.mtu, 1300);
	assert_int_equal(cfg.nr_disks, 1);
	assert_string_equal(cfg.disks[0].path, "/b");
	/* Unknown matchlock.* parameters (a newer runtime's) are not refused. */
	parse_ok("matchlock.dns=8.8.8.8 matchlock.something_new=1 matchlock.flag");
}

/* ------------------------------------------------------------ FATAL cases */

static void test_fatal_missing_dns(void **state)
{
	parse_fatal(HEAD " ip=off matchlock.no_network=1 matchlock.cpus=1" VMM_TAIL,
		    "matchlock.dns", "missing", NULL);
	parse_fatal("", "matchlock.dns", "missing", NULL);
	parse_fatal("matchlock.dns", "matchlock.dns", NULL);
	parse_fatal("matchlock.dns=", "matchlock.dns", NULL);
	parse_fatal("matchlock.dns=8.8.8.8,", "matchlock.dns", "empty", NULL);
	parse_fatal("matchlock.dns=8.8.8.8,,1.1.1.1", "matchlock.dns", NULL);
	parse_fatal("matchlock.dns=dns.google", "matchlock.dns", "dns.google", "address", NULL);
	parse_fatal("matchlock.dns=8.8.8", "matchlock.dns", "8.8.8", NULL);
	parse_fatal("matchlock.dns=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "matchlock.dns", NULL);
}

static void test_fatal_bad_mtu(void **state)
{
	static const char *const bad[] = { "abc", "0", "67", "65536", "-1", "+1500", "1500x",
					   "", " 1500", "0x5dc", "99999999999999999999" };
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "matchlock.dns=8.8.8.8 matchlock.mtu=%s", bad[i]);
		parse_fatal(line, "matchlock.mtu", "68", "65535", NULL);
	}
}

static void test_fatal_bad_cpus(void **state)
{
	static const char *const bad[] = { "0", "0.0", "-1", "abc", "nan", "inf", "1.5x", "",
					   "0x10", "1e9", ".5", "1,5", "4097" };
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "matchlock.dns=8.8.8.8 matchlock.cpus=%s", bad[i]);
		parse_fatal(line, "matchlock.cpus", NULL);
	}
}

static void test_fatal_lower_fs_count_mismatch(void **state)
{
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb,vdc"
		    " matchlock.overlay.lowerfs=erofs matchlock.overlay.upper=vdd",
		    "matchlock.overlay.lower", "2 devices", "1 file-system type", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb"
		    " matchlock.overlay.lowerfs=erofs,erofs matchlock.overlay.upper=vdd",
		    "1 device", "2 file-system types", NULL);
	/* and the other overlay mistakes */
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.upper=vdd",
		    "matchlock.overlay.lower", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb",
		    "matchlock.overlay.upper", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb,"
		    " matchlock.overlay.upper=vdd", "matchlock.overlay.lower", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=../sda"
		    " matchlock.overlay.upper=vdd", "../sda", "device name", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb"
		    " matchlock.overlay.upper=vdb", "vdb", "both", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=1 matchlock.overlay.lower=vdb"
		    " matchlock.overlay.lowerfs=ero/fs matchlock.overlay.upper=vdc", "ero/fs", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.overlay=yes", "matchlock.overlay", NULL);
}

static void test_fatal_relative_disk_path(void **state)
{
	static const char *const bad[] = { "data", "data,ro", "./data", "../data,rw", "~/data" };
	char line[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "matchlock.dns=8.8.8.8 matchlock.disk.vdb=%s", bad[i]);
		parse_fatal(line, "matchlock.disk.vdb", "absolute", NULL);
	}
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.disk.vdb=", "matchlock.disk.vdb", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.disk.vdb", "matchlock.disk.vdb", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.disk.vdb=/", "root", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.disk.vdb=/,ro", "root", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.disk.../vda=/x", "device name", NULL);
}

static void test_fatal_bad_add_host(void **state)
{
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=db", "matchlock.add_host.0",
		    "<host>,<ip>", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0", "matchlock.add_host.0", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=,10.0.0.1", "host name", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=db,", "matchlock.add_host.0",
		    "address", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=db,10.0.0", "10.0.0", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=db,10.0.0.1,10.0.0.2",
		    "10.0.0.1,10.0.0.2", NULL);
	/* IP first (the /etc/hosts order) is a mistake the runtime's format rules out. */
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=10.0.0.1,db", "db", "address", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.0=a/b,10.0.0.1", "a/b", "host name", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.x=db,10.0.0.1", "add_host.x", "index",
		    NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.=db,10.0.0.1", "index", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.add_host.-1=db,10.0.0.1", "index", NULL);
}

static void test_fatal_other_values(void **state)
{
	parse_fatal("matchlock.dns=8.8.8.8 hostname=a/b", "hostname", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 hostname=", "hostname", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 hostname=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaa", "hostname", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.no_network=yes", "matchlock.no_network", NULL);
	parse_fatal("matchlock.dns=8.8.8.8 matchlock.privileged=true", "matchlock.privileged", NULL);
}

/* Limits: a command line longer than the buffer, too many entries. */
static void test_fatal_limits(void **state)
{
	static char line[CMDLINE_MAX + 64];
	size_t i, n = 0;

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	parse_fatal(line, "longer", NULL);

	n = (size_t)snprintf(line, sizeof(line), "matchlock.dns=8.8.8.8");
	for (i = 0; i <= CMDLINE_MAX_HOSTS; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " matchlock.add_host.%zu=h,1.2.3.4", i);
	parse_fatal(line, "more than", "add_host", NULL);
}

/* ------------------------------------------------------------ rendering */

static void test_render_overflow(void **state)
{
	char small[16];

	parse_ok("hostname=a-rather-long-host-name matchlock.dns=8.8.8.8,8.8.4.4");
	assert_int_equal(render__hosts(&cfg, small, sizeof(small)), -1);
	assert_int_equal(render__resolv_conf(&cfg, small, sizeof(small)), -1);
	assert_int_equal(render__cpu_max(1, small, 4), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_network),
		cmocka_unit_test(test_network_one_dns),
		cmocka_unit_test(test_network_three_dns),
		cmocka_unit_test(test_mtu_default_and_limits),
		cmocka_unit_test(test_overlay_two_lowers),
		cmocka_unit_test(test_overlay_lowerfs_defaults_to_erofs),
		cmocka_unit_test(test_overlay_off),
		cmocka_unit_test(test_extra_disks_ro_and_rw),
		cmocka_unit_test(test_extra_disks_after_overlay),
		cmocka_unit_test(test_add_host_entries),
		cmocka_unit_test(test_privileged),
		cmocka_unit_test(test_fractional_cpus),
		cmocka_unit_test(test_kernel_splitting),
		cmocka_unit_test(test_fatal_missing_dns),
		cmocka_unit_test(test_fatal_bad_mtu),
		cmocka_unit_test(test_fatal_bad_cpus),
		cmocka_unit_test(test_fatal_lower_fs_count_mismatch),
		cmocka_unit_test(test_fatal_relative_disk_path),
		cmocka_unit_test(test_fatal_bad_add_host),
		cmocka_unit_test(test_fatal_other_values),
		cmocka_unit_test(test_fatal_limits),
		cmocka_unit_test(test_render_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
