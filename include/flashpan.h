/* SPDX-License-Identifier: MIT */
/*
 * libflashpan: the Machine API for embedders.
 *
 * A sandbox runtime describes a microVM with a struct fp_vm_config (the
 * seed's VMConfig and DiskConfig, field for field), creates a machine from
 * it, starts it (the library spawns the flashpan VMM process and waits for
 * the guest agent's readiness on vsock port 5002), then runs commands and
 * moves files through the agent's exec service on vsock port 5000 (see
 * GUEST-CONTRACT.md for both wire protocols).
 *
 * Error model: every function that can fail returns 0 (or a descriptor, a
 * count) on success and a negative errno on failure; it never exits or
 * aborts the process. A machine keeps the message of its most recent failure
 * (fp_machine_error); functions without a machine write their message into a
 * caller buffer. The library has no global state: many machines may live in
 * one process, and every function on one machine may be called from any
 * thread (one mutex per machine guards its state; exec, file and dial calls
 * run concurrently, each on its own vsock connection).
 */
#ifndef FLASHPAN_H
#define FLASHPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FP_API __attribute__((visibility("default")))

/* Limits of the flashpan VMM these checks mirror. */
#define FP_MAX_VIRTIO_DEVICES 19 /* disks + vsock + net together (GSIs 5..23) */
#define FP_MAX_VCPUS          64
#define FP_MIN_MTU            68
#define FP_MAX_MTU            65521 /* 65535 minus the Ethernet header */
#define FP_DEFAULT_MTU        1500
#define FP_DEFAULT_MEMORY_MB  512
#define FP_DEFAULT_GUEST_IP   "192.168.100.2"
#define FP_DEFAULT_GATEWAY_IP "192.168.100.1"

/* The guest's vsock service ports (GUEST-CONTRACT.md, "vsock"). */
#define FP_VSOCK_PORT_EXEC  5000
#define FP_VSOCK_PORT_VFS   5001
#define FP_VSOCK_PORT_READY 5002

/* DiskConfig: one extra disk, attached after the rootfs and the overlay disks. */
struct fp_disk_config {
	const char *host_path;   /* raw ext4 image on the host */
	const char *guest_mount; /* absolute path the guest mounts it at */
	bool read_only;
};

/* One AddHosts entry: a line "<ip> <host>" in the guest's /etc/hosts. */
struct fp_host_entry {
	const char *host;
	const char *ip;
};

/* One Env entry. */
struct fp_env_var {
	const char *name;
	const char *value;
};

/*
 * VMConfig. Strings are borrowed (fp_machine_create copies what it keeps);
 * NULL and "" both mean "not set". Zero values mean the documented default,
 * so `struct fp_vm_config c = { .id = ..., ... }` is a valid start.
 */
struct fp_vm_config {
	const char *id;           /* names the machine; the hostname when hostname is unset */
	const char *kernel_path;  /* vmlinux (ELF) or bzImage */
	const char *initramfs_path; /* optional */
	const char *rootfs_path;  /* the root file system image: vda */

	/* Overlay root: on when there is at least one lower. */
	const char *const *overlay_lower_paths; /* read-only layers, bottom first: vdb, vdc, ... */
	size_t nr_overlay_lowers;
	const char *const *overlay_lower_fs_types; /* per lower; NULL/""/missing: "erofs" */
	size_t nr_overlay_lower_fs_types;
	const char *overlay_upper_path; /* read-write ext4, after the lowers; required with lowers */

	double cpus;       /* may be fractional (0.5: half a CPU by cgroup cpu.max); vCPUs = ceil */
	int memory_mb;     /* 0: FP_DEFAULT_MEMORY_MB; else even, 16 or more */
	int network_fd;    /* > 0: the caller's descriptor for virtio-net (TAP or socket); 0: none */
	uint32_t vsock_cid; /* guest CID, 3 or more (the runtime uses 3); 0: no vsock */
	const char *vsock_path; /* host side Unix socket of the vsock device */
	const char *socket_path; /* VMM control socket (accepted; flashpan has no API socket yet) */
	const char *log_path;    /* serial console and VMM messages; default: a file in the run dir */
	const char *kernel_args; /* non-empty: used verbatim instead of the generated line */
	const struct fp_env_var *env; /* base environment of every exec (the exec's own env wins) */
	size_t nr_env;
	const char *gateway_ip;  /* default FP_DEFAULT_GATEWAY_IP */
	const char *guest_ip;    /* default FP_DEFAULT_GUEST_IP */
	const char *subnet_cidr; /* e.g. 192.168.100.1/24; checked, used by the caller's network */
	const char *workspace;   /* guest mount point of the workspace file system */
	bool use_interception;   /* the machine makes a socketpair; network_fd() is the host end */
	bool privileged;         /* commands run without the sandbox restrictions */
	const char *const *dns_servers; /* none: 8.8.8.8, 8.8.4.4 */
	size_t nr_dns_servers;
	const char *hostname;    /* default: id */
	const struct fp_host_entry *add_hosts;
	size_t nr_add_hosts;
	int mtu;                 /* 0: FP_DEFAULT_MTU */
	bool no_network;         /* no network device; the guest gets ip=off */
	const char *prebuilt_rootfs; /* a private rootfs image already made: used as vda, not copied */
	const struct fp_disk_config *extra_disks;
	size_t nr_extra_disks;

	/* flashpan's own settings (not in VMConfig). */
	const char *vmm_path;    /* the flashpan binary; default $FLASHPAN_VMM, else "flashpan" on PATH */
	const char *run_dir;     /* private copies and sockets; default $TMPDIR or /tmp */
	int start_timeout_ms;    /* bound for fp_machine_start; 0: 30000 */
	int stop_grace_ms;       /* SIGTERM to SIGKILL in fp_machine_stop; 0: 5000 */
};

/* ---- Configuration: pure functions ---- */

/*
 * Check a configuration: one message naming the first problem found, in
 * err (may be NULL). Files are checked for existence and readability, the
 * CPU count against this host. 0 or -EINVAL (-ENOENT/-EACCES for files).
 */
FP_API int fp_config_validate(const struct fp_vm_config *cfg, char *err, size_t errlen);

/* KernelDNSParam: the servers joined by ','. Allocated (free()); NULL when out of memory. */
FP_API char *fp_kernel_dns_param(const char *const *servers, size_t n);
/* KernelIPDNSSuffix: ":" + server for at most the first two. Allocated; NULL when out of memory. */
FP_API char *fp_kernel_ip_dns_suffix(const char *const *servers, size_t n);
/* CPUs in the shortest form that reads back the same (Go's FormatFloat(f, 'f', -1, 64)). */
FP_API void fp_format_cpus(double cpus, char *buf, size_t len);

/*
 * The kernel command line GUEST-CONTRACT.md specifies for cfg (kernel_args
 * verbatim when set). Allocated; NULL when out of memory. Does not validate.
 */
FP_API char *fp_kernel_cmdline(const struct fp_vm_config *cfg);
/*
 * What the machine hands the VMM: fp_kernel_cmdline + " root=/dev/vda rw"
 * (the rootfs is always vda, read-write, as Firecracker appends for its root
 * drive). The VMM then appends one virtio_mmio.device= word per device.
 */
FP_API char *fp_vmm_boot_args(const struct fp_vm_config *cfg);

/* One disk in guest order: vda (rootfs), overlay lowers, overlay upper, extra disks. */
enum fp_disk_role { FP_DISK_ROOTFS, FP_DISK_OVERLAY_LOWER, FP_DISK_OVERLAY_UPPER, FP_DISK_EXTRA };
struct fp_disk_slot {
	char name[8];          /* "vda", "vdb", ... */
	const char *host_path; /* borrowed from the config */
	bool read_only;
	enum fp_disk_role role;
};
/*
 * Fill up to max slots in guest order; returns the number of disks the
 * configuration has (which may be more than max). rootfs_override, when
 * non-NULL, replaces the rootfs path (a machine's private copy).
 */
FP_API size_t fp_config_disks(const struct fp_vm_config *cfg, const char *rootfs_override,
		       struct fp_disk_slot *slots, size_t max);
/* How many virtio devices cfg needs: disks + vsock + net. */
FP_API size_t fp_config_virtio_devices(const struct fp_vm_config *cfg);

/* ---- The machine ---- */

struct fp_machine;

/*
 * Validate cfg and copy it; no process yet. The private rootfs copy is made
 * here (reflink, else a sparse-aware copy) unless prebuilt_rootfs is set.
 * With use_interception the network socketpair is made here too.
 * 0 or -errno; on failure *out is NULL and err (may be NULL) says why.
 */
FP_API int fp_machine_create(const struct fp_vm_config *cfg, struct fp_machine **out, char *err, size_t errlen);

/*
 * A machine for a VMM that is already running (started by someone else, e.g.
 * `flashpan run --vsock cid=C,uds=PATH` or `flashpan --config-file`): only its
 * vsock Unix socket is known. exec, the file calls and dial_vsock work; start
 * refuses (-EALREADY), stop and wait have no process (0, -ECHILD), pid is 0,
 * rootfs_path is NULL, and close leaves the socket alone. No connection is
 * made here. 0 or -errno; on failure *out is NULL and err says why.
 */
FP_API int fp_machine_attach(const char *vsock_path, struct fp_machine **out, char *err, size_t errlen);

/*
 * Spawn the VMM (console and its messages to log_path) and return once the
 * guest agent accepts a connection on vsock port 5002. Bounded by
 * start_timeout_ms; a VMM that exits ends the wait at once. On failure the
 * VMM is stopped and the message carries the tail of the console log.
 * Without a vsock device it returns once the VMM process runs.
 */
FP_API int fp_machine_start(struct fp_machine *m);
/* SIGTERM, then SIGKILL after stop_grace_ms; reaps. 0 when not running. */
FP_API int fp_machine_stop(struct fp_machine *m);
/*
 * Wait for the VMM to exit, at most timeout_ms (< 0: forever). Returns its
 * exit status (flashpan's codes: 0 reset/poweroff, 5 guest panic, 128+N a
 * signal...), -ETIMEDOUT, or -ECHILD when it was never started.
 */
FP_API int fp_machine_wait(struct fp_machine *m, int timeout_ms);
/* Stop, reap, close descriptors, remove the sockets and the private rootfs copy. Idempotent. */
FP_API void fp_machine_close(struct fp_machine *m);
/* close + free. NULL is fine. */
FP_API void fp_machine_destroy(struct fp_machine *m);

/* The message of the most recent failure on this machine ("" if none), copied into buf. */
FP_API const char *fp_machine_error(struct fp_machine *m, char *buf, size_t len);

/* The host end of the interception socketpair, or the caller's network_fd; -ENOENT when none. */
FP_API int fp_machine_network_fd(struct fp_machine *m);
/* flashpan has no vsock descriptor to hand out (the host side is a Unix socket): -ENOTSUP. */
FP_API int fp_machine_vsock_fd(struct fp_machine *m);
/* The VMM's pid, 0 before start and after it was reaped. */
FP_API pid_t fp_machine_pid(struct fp_machine *m);
/* The rootfs the guest boots (the private copy, or prebuilt_rootfs). */
FP_API const char *fp_machine_rootfs_path(struct fp_machine *m);
/* A connected stream to guest port `port` (after CONNECT/OK); the caller closes it. fd or -errno. */
FP_API int fp_machine_dial_vsock(struct fp_machine *m, uint32_t port);

/* ---- exec ---- */

/* Cancels an exec from any thread: fp_exec_cancel closes its connection. */
struct fp_exec_cancel;
struct fp_exec_session;
FP_API struct fp_exec_cancel *fp_exec_cancel_new(void);
FP_API void fp_exec_cancel_free(struct fp_exec_cancel *c);
/*
 * Make every exec using c return -ECANCELED promptly (one-shot: a cancelled
 * handle stays cancelled); the agent kills the command's process group.
 * Safe from any thread and from a signal handler.
 */
FP_API void fp_exec_cancel(struct fp_exec_cancel *c);

enum fp_exec_mode {
	FP_EXEC_BUFFERED, /* output collected, returned in the result (Exec) */
	FP_EXEC_STREAM,   /* output to the callbacks as it arrives, and collected (ExecStream) */
	FP_EXEC_PIPE,     /* stream + stdin from the stdin callback (ExecPipe) */
	FP_EXEC_TTY,      /* a pseudo-terminal: output to on_stdout, stdin callback, resize (ExecTTY) */
};

struct fp_exec_opts {
	enum fp_exec_mode mode;
	const char *working_dir;
	const struct fp_env_var *env;
	size_t nr_env;
	const char *user;           /* uid, uid:gid or a name; default root */
	int64_t timeout_ms;         /* > 0: cancel after this long (-ETIMEDOUT) */
	struct fp_exec_cancel *cancel; /* optional */
	void *opaque;
	/* Output as it arrives (STREAM, PIPE, TTY). */
	void (*on_stdout)(void *opaque, const void *buf, size_t len);
	void (*on_stderr)(void *opaque, const void *buf, size_t len);
	/* PIPE and TTY: a descriptor the library reads stdin from until EOF (-1: none). */
	int stdin_fd;
	uint16_t rows, cols;        /* TTY: the initial window size (default 24x80) */
	bool collect;               /* STREAM/PIPE/TTY: also keep the output in the result */
	/*
	 * Called once the request is sent, with a handle for fp_exec_resize and
	 * fp_exec_signal, valid (from any thread) until fp_machine_exec returns.
	 */
	void (*on_session)(void *opaque, struct fp_exec_session *s);
};

struct fp_exec_result {
	int exit_code;  /* -1 when killed by a signal */
	char *out;      /* allocated (free with fp_exec_result_free); NUL-terminated */
	size_t out_len;
	char *err;
	size_t err_len;
	char *error;    /* the agent's error string, or NULL */
	int64_t duration_ms;
};
FP_API void fp_exec_result_free(struct fp_exec_result *r);

/*
 * Run `sh -c command` in the guest. 0 (see r->exit_code); -EREMOTEIO when the
 * agent reports an error string (r is filled, r->error says it); -ETIMEDOUT
 * after opts->timeout_ms, -ECANCELED after fp_exec_cancel (in both the
 * connection is closed, so the agent kills the command's process group);
 * other -errno. r is always initialized; free it with fp_exec_result_free.
 */
FP_API int fp_machine_exec(struct fp_machine *m, const char *command, const struct fp_exec_opts *opts,
		    struct fp_exec_result *r);
/* For a running exec (TTY: resize; any: a signal to the command). The handle comes from on_session. */
FP_API int fp_exec_resize(struct fp_exec_session *s, uint16_t rows, uint16_t cols);
FP_API int fp_exec_signal(struct fp_exec_session *s, int signo);

/* ---- files ---- */

struct fp_file_info {
	char *name;
	int64_t size;
	uint32_t mode;     /* Go FileMode: permission bits | 1<<31 dir | 1<<27 symlink ... */
	char *mod_time;    /* RFC 3339 */
	bool is_dir;
};

/* Create or replace path in the guest (parents made 0755; mode 0: 0644). */
FP_API int fp_machine_write_file(struct fp_machine *m, const char *path, const void *data, size_t len, uint32_t mode);
/* Read a regular file (16 MiB at most); *data is allocated. */
FP_API int fp_machine_read_file(struct fp_machine *m, const char *path, void **data, size_t *len);
/* The entries of a folder, sorted by name; free with fp_file_list_free. Returns the count or -errno. */
FP_API int fp_machine_list_files(struct fp_machine *m, const char *path, struct fp_file_info **files);
FP_API void fp_file_list_free(struct fp_file_info *files, size_t n);

#ifdef __cplusplus
}
#endif

#endif
