// SPDX-License-Identifier: MIT
/* flashpan: the command line. `flashpan run --help` says what it does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "boot/boot.h"
#include "devices/boot_timer.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/vsock.h"
#include "devices/virtio/net.h"
#include "boot/cmdline.h"
#include "vmm/cli_agent.h"
#include "vmm/config_file.h"
#include "vmm/cpu_profile.h"
#include "vmm/exitcode.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"

#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=1"
#define DEFAULT_MEM_MIB 128
#define MAX_MEM_MIB     (1024 * 1024)

static uint64_t vmm_t0_ns;

/* As early as a process can note the time: before main(). */
__attribute__((constructor)) static void note_start_time(void)
{
	vmm_t0_ns = now_ns();
}

static const char usage[] =
	"usage: flashpan run --kernel PATH [options]\n"
	"       flashpan --config-file FILE [--api-sock PATH]   (see flashpan --config-file --help)\n"
	"       flashpan exec --vsock PATH [options] -- CMD...   run a command in a running guest\n"
	"       flashpan cp --vsock PATH SRC DST                 copy a file to or from it (:GUESTPATH)\n"
	"       flashpan ls --vsock PATH GUESTDIR                list a guest folder\n"
	"       (each verb has its own --help and exit statuses)\n"
	"\n"
	"Boot a kernel in a KVM virtual machine.\n"
	"\n"
	"  --kernel PATH          ELF vmlinux (Linux 64-bit boot protocol or PVH) or bzImage\n"
	"  --initrd PATH          initial ramdisk\n"
	"  --cmdline STR          kernel command line (default \"" DEFAULT_CMDLINE "\")\n"
	"  --cpus N               vCPUs, 1 to 64 (default 1)\n"
	"  --mem MiB              guest RAM in MiB, even, 16 or more (default 128)\n"
	"  --hugepages            back guest RAM with huge pages (hugetlbfs must have room)\n"
	"  --console TARGET       serial console: stdout (default), none, or a file path\n"
	"  --cpu-profile P        auto (default), host or pvm-safe:\n"
	"                           host      the CPUID KVM supports, per-vCPU APIC ids and topology\n"
	"                           pvm-safe  host, minus what KVM's emulator on an emulating host\n"
	"                                     (kvm_pvm) cannot run: CX16, POPCNT, XSAVE and the AVX\n"
	"                                     family, SMEP, SMAP, INVPCID, RDRAND/RDSEED; no KVM\n"
	"                                     paravirt CPUID leaves (no hypercalls); a Linux guest\n"
	"                                     also gets \"" PVM_SAFE_LINUX_CMDLINE "\"\n"
	"                           auto      pvm-safe when /sys/module/kvm_pvm exists, else host\n"
	"  --boot-protocol P      auto (default: linux for bzImage and ELF), linux, or pvh\n"
	"  --boot-timer           print when the guest writes 123 to I/O port 0x440\n"
	"  --disk PATH[,ro][,id=NAME]\n"
	"                         a virtio-blk disk (repeatable; the first is vda, then vdb, ...):\n"
	"                         a raw image file (size a multiple of 512) or a block device,\n"
	"                         locked against other writers; ro: read-only for the guest (and\n"
	"                         opened read-only); id: the serial the guest reads (default: the\n"
	"                         file name), 20 bytes at most\n"
	"  --vsock cid=C,uds=PATH virtio-vsock: the guest's CID C (3 or more); host side on the Unix\n"
	"                         socket PATH (created; a stale one is replaced, a live one refused;\n"
	"                         removed on exit). A client connects to PATH and writes\n"
	"                         \"CONNECT <port>\\n\", reads \"OK <hostport>\\n\", then talks to the guest's\n"
	"                         port; the guest's connections to host port P go to PATH_P\n"
	"  --net none|fd=N|tap=NAME[,mac=AA:FC:..][,mtu=M][,debug]\n"
	"                         virtio-net over descriptor N (inherited: a TAP device, a SOCK_DGRAM\n"
	"                         socket with one frame per datagram, or a SOCK_STREAM socket with a\n"
	"                         4-byte big-endian length before each frame) or over TAP interface\n"
	"                         NAME; MAC default AA:FC + a hash of --id; MTU default 1500; debug:\n"
	"                         log the frame counters at exit (always logged when frames were dropped)\n"
	"  --id NAME              the VM's id (default \"flashpan\"); names the default MAC address\n"
	"  -h, --help             this text\n"
	"\n"
	"Guest devices: COM1 8250 UART (0x3f8, IRQ 4), i8042 reset (0x64 <- 0xfe), CMOS RTC\n"
	"(0x70/0x71, host UTC, read-only), boot timer\n"
	"(port 0x440 <- 123), power off (any write to port 0x441), pvpanic (port 0x505 <- 1).\n"
	"\n"
	"Exit status:\n"
	"  0  the guest reset (e.g. reboot=k) or powered off\n"
	"  1  host-side failure at run time\n"
	"  2  bad options or configuration, or an unusable kernel/initrd image\n"
	"  3  KVM failure: /dev/kvm unusable or missing a capability, an ioctl failed,\n"
	"     an unhandled exit or an instruction KVM could not emulate\n"
	"  4  guest triple fault (shutdown)\n"
	"  5  guest panic (pvpanic port, or Linux's panic banner on the console)\n"
	"  128+N  stopped by signal N (SIGINT, SIGTERM); the guest was torn down cleanly\n";

struct run_opts {
	const char *kernel, *initrd, *cmdline, *console;
	long cpus, mem_mib;
	bool hugepages, boot_timer;
	enum cpu_profile profile;
	enum boot_protocol protocol;
	struct blk_config disks[VM_MAX_VIRTIO_DEVS];
	int nr_disks;
	uint64_t vsock_cid; /* 0: no vsock device */
	char vsock_uds[VSOCK_UDS_MAX + 1];
	const char *id, *net; /* --net is parsed after all options: its MAC depends on --id */
	struct net_config net_cfg;
	bool net_on;
};

static int config_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "flashpan: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'flashpan run --help'.\n");
	return FP_EXIT_CONFIG;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_CPUS, O_MEM, O_CONSOLE, O_PROFILE,
	       O_PROTOCOL, O_HUGE, O_TIMER, O_DISK, O_VSOCK, O_NET, O_ID };
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initrd", required_argument, NULL, O_INITRD },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "mem", required_argument, NULL, O_MEM },
		{ "console", required_argument, NULL, O_CONSOLE },
		{ "cpu-profile", required_argument, NULL, O_PROFILE },
		{ "boot-protocol", required_argument, NULL, O_PROTOCOL },
		{ "hugepages", no_argument, NULL, O_HUGE },
		{ "boot-timer", no_argument, NULL, O_TIMER },
		{ "disk", required_argument, NULL, O_DISK },
		{ "vsock", required_argument, NULL, O_VSOCK },
		{ "net", required_argument, NULL, O_NET },
		{ "id", required_argument, NULL, O_ID },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[256];
	int c;

	*o = (struct run_opts){ .cmdline = DEFAULT_CMDLINE, .console = "stdout", .cpus = 1,
				.mem_mib = DEFAULT_MEM_MIB };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_KERNEL:
			o->kernel = optarg;
			break;
		case O_INITRD:
			o->initrd = optarg;
			break;
		case O_CMDLINE:
			o->cmdline = optarg;
			break;
		case O_CPUS:
			if (!parse_long(optarg, 1, VM_MAX_VCPUS, &o->cpus))
				return config_error("--cpus must be a whole number from 1 to 64, not '%s'", optarg);
			break;
		case O_MEM:
			if (!parse_long(optarg, 16, MAX_MEM_MIB, &o->mem_mib) || o->mem_mib % 2)
				return config_error("--mem must be an even number of MiB from 16 to 1048576, not '%s'",
						    optarg);
			break;
		case O_CONSOLE:
			if (!*optarg)
				return config_error("--console needs stdout, none or a file path%s", "");
			o->console = optarg;
			break;
		case O_PROFILE:
			if (cpu_profile_parse(optarg, &o->profile))
				return config_error("--cpu-profile must be auto, host or pvm-safe, not '%s'", optarg);
			break;
		case O_PROTOCOL:
			if (!strcmp(optarg, "auto"))
				o->protocol = BOOT_PROTO_AUTO;
			else if (!strcmp(optarg, "linux"))
				o->protocol = BOOT_PROTO_LINUX;
			else if (!strcmp(optarg, "pvh"))
				o->protocol = BOOT_PROTO_PVH;
			else
				return config_error("--boot-protocol must be auto, linux or pvh, not '%s'", optarg);
			break;
		case O_HUGE:
			o->hugepages = true;
			break;
		case O_TIMER:
			o->boot_timer = true;
			break;
		case O_DISK:
			if (o->nr_disks == VM_MAX_VIRTIO_DEVS)
				return config_error("at most %s disks", "19");
			if (blk_config_parse(optarg, &o->disks[o->nr_disks], err, sizeof(err)))
				return config_error("%s", err);
			o->nr_disks++;
			break;
		case O_VSOCK: {
			const char *why;

			if (vsock_parse_option(optarg, &o->vsock_cid, o->vsock_uds, sizeof(o->vsock_uds), &why))
				return config_error("--vsock: %s", why);
			break;
		}
		case O_NET:
			o->net = optarg;
			break;
		case O_ID:
			if (!*optarg)
				return config_error("--id needs a name%s", "");
			o->id = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case ':':
			return config_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return config_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return config_error("unexpected argument '%s'", argv[optind]);
	if (!o->kernel)
		return config_error("--kernel PATH is required%s", "");
	if (!o->id)
		o->id = "flashpan";
	if (o->net && net_parse_option(o->net, o->id, &o->net_cfg, &o->net_on, err, sizeof(err)))
		return config_error("%s", err);
	if (o->nr_disks + (o->vsock_cid != 0) + o->net_on > VM_MAX_VIRTIO_DEVS)
		return config_error("at most %s virtio devices (disks, vsock and net together)", "19");
	return 0;
}

static int open_console(const char *target, int *out_fd)
{
	if (!strcmp(target, "stdout")) {
		*out_fd = STDOUT_FILENO;
	} else if (!strcmp(target, "none")) {
		*out_fd = -1;
	} else {
		*out_fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (*out_fd < 0) {
			fprintf(stderr, "flashpan: cannot open console file %s: %s\n", target, strerror(errno));
			return FP_EXIT_CONFIG;
		}
	}
	return 0;
}

/* Console input only from a terminal or a pipe/socket (not /dev/null or a file). */
static int console_input_fd(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return -1;
	if (isatty(STDIN_FILENO) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return STDIN_FILENO;
	return -1;
}

static struct termios saved_tty;
static bool tty_raw;

static void tty_set_raw(int fd)
{
	struct termios t;

	if (fd < 0 || !isatty(fd) || tcgetattr(fd, &saved_tty) < 0)
		return;
	t = saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR; /* keep the host's output translation */
	t.c_lflag |= ISIG;          /* Ctrl-C still stops the VMM */
	if (tcsetattr(fd, TCSANOW, &t) == 0)
		tty_raw = true;
}

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

static void on_stop_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;

	loop_stop(&vm->loop);
}

/* One `virtio_mmio.device=4K@<base>:<gsi>` per device, in the order they were added. */
static int add_virtio_cmdline(struct vm *vm, struct cmdline *cl)
{
	char word[64];

	for (int i = 0; i < vm->nr_virtio_devs; i++) {
		virtio_mmio_cmdline(vm->virtio_devs[i], word, sizeof(word));
		if (cmdline_append(cl, "%s", word))
			return -ENOMEM;
	}
	return 0;
}

struct signal_ctx {
	struct vm *vm;
	int fd;
};

static void on_signalfd(void *opaque, uint32_t events)
{
	struct signal_ctx *sc = opaque;
	struct signalfd_siginfo si;

	if (read(sc->fd, &si, sizeof(si)) == sizeof(si))
		vm_request_stop(sc->vm, 128 + (int)si.ssi_signo);
	loop_stop(&sc->vm->loop);
}

static int run_vm(const struct run_opts *o)
{
	struct vm_config cfg = {
		.mem_size = (uint64_t)o->mem_mib << 20,
		.nr_cpus = (int)o->cpus,
		.hugepages = o->hugepages,
		.profile = cpu_profile_resolve(o->profile),
	};
	struct boot_config bcfg = { .kernel_path = o->kernel, .initrd_path = o->initrd,
				    .protocol = o->protocol, .nr_cpus = (int)o->cpus };
	struct boot_info binfo;
	struct signal_ctx sc = { .fd = -1 };
	struct serial *serial = NULL;
	struct rtc *rtc = NULL;
	struct cmdline cl = { 0 };
	struct blk *disks[VM_MAX_VIRTIO_DEVS] = { 0 };
	struct vsock *vsock = NULL;
	bool vsock_config_err, net_config_err;
	struct net_dev *net = NULL;
	char err[512] = "";
	int status = FP_EXIT_ERROR, out_fd = -1, in_fd, err_code;
	sigset_t sigs;
	struct vm vm;

	if (access(o->kernel, R_OK) < 0)
		return config_error("cannot read kernel '%s'", o->kernel);
	if (o->initrd && access(o->initrd, R_OK) < 0)
		return config_error("cannot read initrd '%s'", o->initrd);
	/* Disks are checked (and locked) before anything else is set up. */
	for (int i = 0; i < o->nr_disks; i++) {
		if (blk_open(&o->disks[i], &disks[i])) {
			status = FP_EXIT_CONFIG;
			goto out_disks;
		}
	}
	status = open_console(o->console, &out_fd);
	if (status)
		goto out_disks;
	/* From here on a failure that sets no status of its own is a host-side one. */
	status = FP_EXIT_ERROR;

	/* SIGINT/SIGTERM arrive through a signalfd in the event loop, in every thread blocked. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	err_code = vm_create(&vm, &cfg);
	if (err_code) {
		/* Guest RAM that cannot be mapped is the host's shortage, not KVM's. */
		status = err_code == -ENOMEM ? FP_EXIT_ERROR : FP_EXIT_KVM;
		goto out;
	}
	vm.t0_ns = vmm_t0_ns;
	vm.boot_timer_print = o->boot_timer;

	/* Devices that the guest finds through the command line come before the kernel load. */
	for (int i = 0; i < o->nr_disks; i++) {
		if (blk_attach(&vm, disks[i], (unsigned int)o->cpus))
			goto out;
	}
	if (o->vsock_cid && !(vsock = vsock_create(&vm, o->vsock_cid, o->vsock_uds, &vsock_config_err))) {
		status = vsock_config_err ? FP_EXIT_CONFIG : FP_EXIT_ERROR;
		goto out;
	}
	if (o->net_on && !(net = net_create(&vm, &o->net_cfg, &net_config_err))) {
		status = net_config_err ? FP_EXIT_CONFIG : FP_EXIT_ERROR;
		goto out;
	}
	if (cmdline_init(&cl, o->cmdline) || add_virtio_cmdline(&vm, &cl))
		goto out;
	bcfg.cmdline = cl.buf;
	bcfg.linux_cmdline_extra = cpu_profile_linux_cmdline(cfg.profile);
	if (boot_load(&vm.mem, &bcfg, &binfo, err, sizeof(err))) {
		fprintf(stderr, "flashpan: %s\n", err);
		status = FP_EXIT_CONFIG;
		goto out;
	}

	in_fd = out_fd == STDOUT_FILENO ? console_input_fd() : -1;
	serial = serial_create(&vm, out_fd, in_fd);
	rtc = rtc_create(&vm);
	if (!serial || !rtc || i8042_register(&vm) || boot_timer_register(&vm)) {
		fprintf(stderr, "flashpan: cannot set up the legacy devices\n");
		goto out;
	}
	sc.vm = &vm;
	sc.fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sc.fd < 0 || loop_add(&vm.loop, sc.fd, EPOLLIN, on_signalfd, &sc) ||
	    loop_add(&vm.loop, vm.stop_fd, EPOLLIN, on_stop_event, &vm)) {
		perror("flashpan: event loop");
		goto out;
	}
	if (vcpus_create(&vm, &binfo)) {
		status = FP_EXIT_KVM;
		goto out;
	}
	if (in_fd >= 0)
		tty_set_raw(in_fd);
	if (vcpus_start(&vm)) {
		vm_request_stop(&vm, FP_EXIT_ERROR);
	} else if (loop_run(&vm.loop)) {
		perror("flashpan: event loop");
		vm_request_stop(&vm, FP_EXIT_ERROR);
	}
	vcpus_stop(&vm);
	tty_restore();
	status = atomic_load(&vm.exit_status);
	if (status < 0)
		status = FP_EXIT_ERROR;
out:
	vcpus_destroy(&vm);
	/* In-flight disk I/O completes before guest memory goes away. */
	for (int i = 0; i < o->nr_disks; i++) {
		blk_destroy(disks[i]);
		disks[i] = NULL;
	}
	vsock_destroy(vsock); /* closes its connections, removes the socket file */
	net_destroy(net);     /* logs its dropped-frame counters */
	serial_destroy(serial);
	rtc_destroy(rtc);
	cmdline_free(&cl);
	vm_destroy(&vm); /* unregisters sc.fd from the loop: close it after */
	if (sc.fd >= 0)
		close(sc.fd);
	if (out_fd > STDOUT_FILENO)
		close(out_fd);
out_disks:
	for (int i = 0; i < o->nr_disks; i++)
		blk_destroy(disks[i]);
	return status;
}

int main(int argc, char **argv)
{
	struct run_opts o;
	const char *t0 = getenv("FLASHPAN_T0_NS");
	int err;

	/* A benchmark harness may pass its own fork time (CLOCK_MONOTONIC ns). */
	if (t0 && *t0)
		vmm_t0_ns = strtoull(t0, NULL, 10);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? FP_EXIT_CONFIG : 0;
	}
	/* The runtime's hypervisor command line: a JSON file translated into `run` arguments. */
	if (config_file_mode(argc, argv)) {
		struct config_file_args fa;

		err = config_file_translate(argc, argv, &fa);
		if (err || !fa.argc)
			return err;
		err = parse_run_opts(fa.argc - 1, fa.argv + 1, &o);
		err = err ? err : run_vm(&o);
		config_file_args_free(&fa);
		return err;
	}
	/* The guest agent's verbs (vmm/cli_agent.c), on a running machine's vsock socket. */
	if (!strcmp(argv[1], "exec"))
		return cli_exec(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cp"))
		return cli_cp(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ls"))
		return cli_ls(argc - 1, argv + 1);
	if (strcmp(argv[1], "run")) {
		fprintf(stderr, "flashpan: unknown command '%s'\nTry 'flashpan --help'.\n", argv[1]);
		return FP_EXIT_CONFIG;
	}
	err = parse_run_opts(argc - 1, argv + 1, &o);
	if (err)
		return err;
	return run_vm(&o);
}
