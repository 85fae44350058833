// SPDX-License-Identifier: MIT
/*
 * The runtime's hypervisor config file (Firecracker's --config-file format)
 * as a drop-in: the JSON is read with jansson and turned into the arguments
 * of `flashpan run`, which then boots exactly that VM.
 *
 *   boot-source         kernel_image_path (required), boot_args, initrd_path
 *   drives[]            drive_id, path_on_host, is_root_device (required),
 *                       is_read_only; the root drive is vda, the others
 *                       follow in their order (as Firecracker orders them)
 *   machine-config      vcpu_count, mem_size_mib (required in the object),
 *                       huge_pages ("None" or "2M"); absent: 1 vCPU, 128 MiB
 *   network-interfaces[] iface_id, host_dev_name (a TAP name, required),
 *                       guest_mac; one interface at most
 *   vsock               guest_cid, uds_path (required in the object)
 *
 * Like Firecracker, the VMM appends "root=/dev/vda rw" (ro for a read-only
 * root drive) to boot_args, then one virtio_mmio.device= word per device.
 * Keys flashpan does not know or does not implement (logger, metrics,
 * rate limiters, ...) are reported once each as warnings and ignored.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config_file.h"
#include "vmm/exitcode.h"

#define FC_DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1"
#define MAX_ARGS             96

struct xlate {
	const char *name; /* the file, for messages */
	FILE *log;
	char *argv[MAX_ARGS + 1];
	int argc;
	bool failed;
};

static void warn(struct xlate *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error(struct xlate *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct xlate *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(x->log, "flashpan: warning: %s: ", x->name);
	va_start(ap, fmt);
	vfprintf(x->log, fmt, ap);
	va_end(ap);
	fputc('\n', x->log);
}

static void error(struct xlate *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return; /* the first problem is the one to fix */
	x->failed = true;
	fprintf(x->log, "flashpan: %s: ", x->name);
	va_start(ap, fmt);
	vfprintf(x->log, fmt, ap);
	va_end(ap);
	fputc('\n', x->log);
}

static void push(struct xlate *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void push(struct xlate *x, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (x->argc == MAX_ARGS) {
		error(x, "too many devices");
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		error(x, "out of memory");
		return;
	}
	x->argv[x->argc++] = s;
}

/* Warn about every key of obj not in known (NULL-terminated). */
static void warn_unknown(struct xlate *x, json_t *obj, const char *where, const char *const *known)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		bool found = false;

		for (const char *const *k = known; *k; k++)
			found |= !strcmp(key, *k);
		if (!found)
			warn(x, "ignoring unknown or unsupported key '%s%s%s'", where, *where ? "." : "", key);
	}
}

/* A required or optional string member; NULL when absent (error when required). */
static const char *get_string(struct xlate *x, json_t *obj, const char *where, const char *key, bool required)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			error(x, "missing required key '%s.%s'", where, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		error(x, "'%s.%s' must be a string", where, key);
		return NULL;
	}
	return json_string_value(v);
}

static bool get_bool(struct xlate *x, json_t *obj, const char *where, const char *key, bool required)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required)
			error(x, "missing required key '%s.%s'", where, key);
		return false;
	}
	if (!json_is_boolean(v)) {
		error(x, "'%s.%s' must be true or false", where, key);
		return false;
	}
	return json_is_true(v);
}

static long long get_int(struct xlate *x, json_t *obj, const char *where, const char *key, long long lo,
			 long long hi)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		error(x, "missing required key '%s.%s'", where, key);
		return lo;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		error(x, "'%s.%s' must be a whole number from %lld to %lld", where, key, lo, hi);
		return lo;
	}
	return json_integer_value(v);
}

static json_t *get_object(struct xlate *x, json_t *root, const char *key, bool required)
{
	json_t *v = json_object_get(root, key);

	if (!v || json_is_null(v)) {
		if (required)
			error(x, "missing required key '%s'", key);
		return NULL;
	}
	if (!json_is_object(v)) {
		error(x, "'%s' must be an object", key);
		return NULL;
	}
	return v;
}

/* `flashpan run --disk` splits its value on ','. */
static bool no_comma(struct xlate *x, const char *what, const char *s)
{
	if (strchr(s, ',')) {
		error(x, "%s '%s': flashpan cannot take a comma in this value", what, s);
		return false;
	}
	return true;
}

static void boot_source(struct xlate *x, json_t *root, const char **boot_args)
{
	static const char *const known[] = { "kernel_image_path", "boot_args", "initrd_path", NULL };
	json_t *bs = get_object(x, root, "boot-source", true);
	const char *kernel, *initrd;

	if (!bs)
		return;
	warn_unknown(x, bs, "boot-source", known);
	kernel = get_string(x, bs, "boot-source", "kernel_image_path", true);
	initrd = get_string(x, bs, "boot-source", "initrd_path", false);
	*boot_args = get_string(x, bs, "boot-source", "boot_args", false);
	if (kernel)
		push(x, "--kernel"), push(x, "%s", kernel);
	if (initrd && *initrd)
		push(x, "--initrd"), push(x, "%s", initrd);
}

/* The root drive first (vda), then the others in the file's order. Returns whether a root exists. */
static bool drives(struct xlate *x, json_t *root, bool *root_ro)
{
	static const char *const known[] = { "drive_id", "path_on_host", "is_root_device", "is_read_only", NULL };
	json_t *arr = json_object_get(root, "drives"), *d;
	int root_index = -1;
	size_t i;

	if (!arr || json_is_null(arr))
		return false;
	if (!json_is_array(arr)) {
		error(x, "'drives' must be an array");
		return false;
	}
	json_array_foreach(arr, i, d) {
		if (!json_is_object(d)) {
			error(x, "drives[%zu] must be an object", i);
			return false;
		}
		warn_unknown(x, d, "drives[]", known);
		if (get_bool(x, d, "drives[]", "is_root_device", true)) {
			if (root_index >= 0)
				error(x, "drives[%zu] and drives[%d] are both is_root_device", i, root_index);
			root_index = (int)i;
		}
	}
	for (int pass = 0; pass < 2 && !x->failed; pass++) {
		json_array_foreach(arr, i, d) {
			const char *id, *path;
			bool ro;

			if ((pass == 0) != ((int)i == root_index))
				continue;
			id = get_string(x, d, "drives[]", "drive_id", true);
			path = get_string(x, d, "drives[]", "path_on_host", true);
			ro = get_bool(x, d, "drives[]", "is_read_only", false);
			if (!id || !path || !no_comma(x, "drives[].path_on_host", path))
				return false;
			if (pass == 0)
				*root_ro = ro;
			push(x, "--disk");
			/* The drive id is the serial the guest reads, when it fits (20 bytes). */
			if (*id && strlen(id) <= 20 && !strchr(id, ','))
				push(x, "%s%s,id=%s", path, ro ? ",ro" : "", id);
			else
				push(x, "%s%s", path, ro ? ",ro" : "");
		}
	}
	return root_index >= 0;
}

static void machine_config(struct xlate *x, json_t *root)
{
	static const char *const known[] = { "vcpu_count", "mem_size_mib", "huge_pages", "smt", NULL };
	json_t *mc = get_object(x, root, "machine-config", false);
	const char *huge;

	if (!mc)
		return; /* Firecracker's defaults are flashpan's: 1 vCPU, 128 MiB */
	warn_unknown(x, mc, "machine-config", known);
	push(x, "--cpus");
	push(x, "%lld", get_int(x, mc, "machine-config", "vcpu_count", 1, 64));
	push(x, "--mem");
	push(x, "%lld", get_int(x, mc, "machine-config", "mem_size_mib", 16, 1024 * 1024));
	if (get_bool(x, mc, "machine-config", "smt", false))
		warn(x, "machine-config.smt is not supported; each vCPU is its own core");
	huge = get_string(x, mc, "machine-config", "huge_pages", false);
	if (huge && !strcmp(huge, "2M"))
		push(x, "--hugepages");
	else if (huge && strcmp(huge, "None"))
		error(x, "machine-config.huge_pages must be \"None\" or \"2M\", not '%s'", huge);
}

static void network(struct xlate *x, json_t *root)
{
	static const char *const known[] = { "iface_id", "host_dev_name", "guest_mac", NULL };
	json_t *arr = json_object_get(root, "network-interfaces"), *n;
	const char *tap, *mac;

	if (!arr || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		error(x, "'network-interfaces' must be an array");
		return;
	}
	if (json_array_size(arr) == 0)
		return;
	if (json_array_size(arr) > 1) {
		error(x, "%zu network interfaces; flashpan has one", json_array_size(arr));
		return;
	}
	n = json_array_get(arr, 0);
	if (!json_is_object(n)) {
		error(x, "network-interfaces[0] must be an object");
		return;
	}
	warn_unknown(x, n, "network-interfaces[]", known);
	get_string(x, n, "network-interfaces[]", "iface_id", true);
	tap = get_string(x, n, "network-interfaces[]", "host_dev_name", true);
	mac = get_string(x, n, "network-interfaces[]", "guest_mac", false);
	if (!tap || !no_comma(x, "network-interfaces[].host_dev_name", tap) ||
	    (mac && !no_comma(x, "network-interfaces[].guest_mac", mac)))
		return;
	push(x, "--net");
	if (mac && *mac)
		push(x, "tap=%s,mac=%s", tap, mac);
	else
		push(x, "tap=%s", tap);
}

static void vsock(struct xlate *x, json_t *root)
{
	static const char *const known[] = { "guest_cid", "uds_path", "vsock_id", NULL };
	json_t *v = get_object(x, root, "vsock", false);
	const char *uds;
	long long cid;

	if (!v)
		return;
	warn_unknown(x, v, "vsock", known);
	cid = get_int(x, v, "vsock", "guest_cid", 3, 0xfffffffeLL);
	uds = get_string(x, v, "vsock", "uds_path", true);
	if (uds && no_comma(x, "vsock.uds_path", uds))
		push(x, "--vsock"), push(x, "cid=%lld,uds=%s", cid, uds);
}

int config_file_translate_json(const char *json, const char *name, const char *id, bool boot_timer,
			       FILE *log, struct config_file_args *out)
{
	static const char *const known[] = { "boot-source", "drives", "machine-config", "network-interfaces",
					     "vsock", NULL };
	struct xlate x = { .name = name, .log = log };
	const char *boot_args = NULL;
	bool has_root, root_ro = false;
	json_error_t jerr;
	json_t *root;

	*out = (struct config_file_args){ 0 };
	root = json_loads(json, 0, &jerr);
	if (!root) {
		fprintf(log, "flashpan: %s: invalid JSON at line %d, column %d: %s\n", name, jerr.line, jerr.column,
			jerr.text);
		return FP_EXIT_CONFIG;
	}
	if (!json_is_object(root)) {
		error(&x, "the top level must be a JSON object");
		goto out;
	}
	warn_unknown(&x, root, "", known);
	push(&x, "flashpan");
	push(&x, "run");
	boot_source(&x, root, &boot_args);
	has_root = drives(&x, root, &root_ro);
	machine_config(&x, root);
	network(&x, root);
	vsock(&x, root);
	push(&x, "--cmdline");
	push(&x, "%s%s%s", boot_args ? boot_args : FC_DEFAULT_BOOT_ARGS, has_root ? " root=/dev/vda " : "",
	     has_root ? (root_ro ? "ro" : "rw") : "");
	if (id)
		push(&x, "--id"), push(&x, "%s", id);
	if (boot_timer)
		push(&x, "--boot-timer");
out:
	json_decref(root);
	out->argc = x.argc;
	out->argv = calloc((size_t)x.argc + 1, sizeof(char *));
	if (!out->argv) {
		error(&x, "out of memory");
	} else {
		memcpy(out->argv, x.argv, (size_t)x.argc * sizeof(char *));
		x.argc = 0;
	}
	for (int i = 0; i < x.argc; i++)
		free(x.argv[i]);
	if (x.failed) {
		config_file_args_free(out);
		return FP_EXIT_CONFIG;
	}
	return 0;
}

static const char usage[] =
	"usage: flashpan --config-file FILE [--api-sock PATH] [--id ID] [--boot-timer]\n"
	"\n"
	"Boot the VM described by FILE, a Firecracker-style JSON configuration (the format\n"
	"sandbox runtimes write for their hypervisor), with `flashpan run`'s devices and exit\n"
	"statuses (see `flashpan run --help`). The serial console goes to stdout.\n"
	"\n"
	"  boot-source         kernel_image_path, boot_args, initrd_path\n"
	"  drives[]            drive_id, path_on_host, is_root_device, is_read_only; the root\n"
	"                      drive is vda (\"root=/dev/vda rw\" is appended to boot_args), the\n"
	"                      others follow in order\n"
	"  machine-config      vcpu_count, mem_size_mib, huge_pages (\"None\" or \"2M\")\n"
	"  network-interfaces  one interface: iface_id, host_dev_name (a TAP device), guest_mac\n"
	"  vsock               guest_cid, uds_path\n"
	"\n"
	"Unknown keys are ignored with a warning; a missing required key or a value of the\n"
	"wrong type exits 2.\n"
	"\n"
	"  --api-sock PATH     accepted for compatibility and IGNORED: flashpan has no API\n"
	"                      socket; nothing is created at PATH\n"
	"  --id ID             the VM's id (names the default MAC address)\n"
	"  --boot-timer        as in `flashpan run`\n"
	"  --no-api, --level L, --log-path P, --show-level, --show-log-origin, --no-seccomp,\n"
	"  --seccomp-filter F  accepted and ignored, with a warning\n";

bool config_file_mode(int argc, char **argv)
{
	return argc >= 2 && (!strcmp(argv[1], "--config-file") || !strncmp(argv[1], "--config-file=", 14) ||
			     !strcmp(argv[1], "--api-sock") || !strncmp(argv[1], "--api-sock=", 11) ||
			     !strcmp(argv[1], "--no-api"));
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096, n;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	for (;;) {
		if (!(p = realloc(buf, cap + 1)))
			break;
		buf = p;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		cap *= 2;
	}
	if (!p || ferror(f)) {
		int e = p ? EIO : ENOMEM;

		free(buf);
		fclose(f);
		errno = e;
		return NULL;
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

int config_file_translate(int argc, char **argv, struct config_file_args *out)
{
	enum { O_CONFIG = 256, O_API, O_ID, O_TIMER, O_IGN_ARG, O_IGN };
	static const struct option longopts[] = {
		{ "config-file", required_argument, NULL, O_CONFIG },
		{ "api-sock", required_argument, NULL, O_API },
		{ "id", required_argument, NULL, O_ID },
		{ "boot-timer", no_argument, NULL, O_TIMER },
		{ "level", required_argument, NULL, O_IGN_ARG },
		{ "log-path", required_argument, NULL, O_IGN_ARG },
		{ "seccomp-filter", required_argument, NULL, O_IGN_ARG },
		{ "no-api", no_argument, NULL, O_IGN },
		{ "show-level", no_argument, NULL, O_IGN },
		{ "show-log-origin", no_argument, NULL, O_IGN },
		{ "no-seccomp", no_argument, NULL, O_IGN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *file = NULL, *id = NULL;
	bool boot_timer = false;
	char *json;
	int c, idx, rc;

	*out = (struct config_file_args){ 0 };
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
		switch (c) {
		case O_CONFIG:
			file = optarg;
			break;
		case O_API:
			/* Accepted so the runtime's command line works; see the usage text. */
			break;
		case O_ID:
			id = optarg;
			break;
		case O_TIMER:
			boot_timer = true;
			break;
		case O_IGN_ARG:
		case O_IGN:
			fprintf(stderr, "flashpan: warning: --%s is not supported; ignored\n", longopts[idx].name);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "flashpan: option '%s' needs a value\nTry 'flashpan --config-file --help'.\n",
				argv[optind - 1]);
			return FP_EXIT_CONFIG;
		default:
			fprintf(stderr, "flashpan: unknown option '%s'\nTry 'flashpan --config-file --help'.\n",
				argv[optind - 1]);
			return FP_EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "flashpan: unexpected argument '%s'\n", argv[optind]);
		return FP_EXIT_CONFIG;
	}
	if (!file) {
		fprintf(stderr, "flashpan: --config-file FILE is required (flashpan has no API socket to configure "
				"it through)\n");
		return FP_EXIT_CONFIG;
	}
	json = read_all(file);
	if (!json) {
		fprintf(stderr, "flashpan: cannot read config file %s: %s\n", file, strerror(errno));
		return FP_EXIT_CONFIG;
	}
	rc = config_file_translate_json(json, file, id, boot_timer, stderr, out);
	free(json);
	return rc;
}

void config_file_args_free(struct config_file_args *a)
{
	for (int i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	*a = (struct config_file_args){ 0 };
}
