// SPDX-License-Identifier: MIT
/*
 * boot_load(): open the kernel, tell a bzImage from an ELF vmlinux, choose
 * the entry protocol, and place the kernel, command line, initrd, boot
 * information and MP table in guest memory.
 *
 * Guest-physical layout (boot/layout.h): boot structures below 1 MiB, the
 * kernel from 1 MiB (bzImage) or its segments' addresses (vmlinux, usually
 * 16 MiB), the initrd page-aligned as high as the kernel allows in low RAM.
 */
#include "boot/boot.h"
#include "boot/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/linux.h"
#include "boot/mptable.h"
#include "boot/pvh.h"

#define MIB (UINT64_C(1) << 20)
#define BOOT_PAGE_SIZE 4096ULL

const char *boot_protocol_name(enum boot_protocol p)
{
	switch (p) {
	case BOOT_PROTO_AUTO:
		return "auto";
	case BOOT_PROTO_LINUX:
		return "linux";
	case BOOT_PROTO_PVH:
		return "pvh";
	}
	return "unknown";
}

int kernel_file_read(const struct kernel_file *f, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	if (off > f->size || len > f->size - off)
		return -EIO;
	while (len) {
		size_t chunk = len > (1U << 30) ? (1U << 30) : (size_t)len;
		ssize_t n = pread(f->fd, p, chunk, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int open_file(const char *what, const char *path, struct kernel_file *f,
		     char *err, size_t errlen)
{
	struct stat st;

	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: cannot open %s: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(f->fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", what, path);
		close(f->fd);
		f->fd = -1;
		return -EINVAL;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

/*
 * Load the ELF's segments and pick its entry. AUTO means the 64-bit Linux
 * entry; only when e_entry lies in no loaded segment does AUTO fall back to a
 * PVH note, if there is one.
 */
static int load_elf(struct guest_mem *mem, const struct kernel_file *f, enum boot_protocol want,
		    struct linux_kernel *k, struct boot_info *out, char *err, size_t errlen)
{
	struct elf_notes notes;
	int ret;

	ret = linux_load_elf(mem, f, k, err, errlen);
	if (!ret)
		ret = elf_read_notes(f, &notes, err, errlen);
	if (ret)
		return ret;
	out->linux_image = notes.linux_note;
	if (want == BOOT_PROTO_LINUX || (want == BOOT_PROTO_AUTO && k->entry64_ok)) {
		if (!k->entry64_ok) {
			snprintf(err, errlen, "kernel: entry point 0x%" PRIx64 " is not inside a loaded segment",
				 k->entry64);
			return -ENOEXEC;
		}
		out->protocol = BOOT_PROTO_LINUX;
		out->entry = k->entry64;
		return 0;
	}
	if (!notes.has_pvh_entry) {
		if (want == BOOT_PROTO_PVH)
			snprintf(err, errlen, "kernel: boot protocol pvh needs an XEN_ELFNOTE_PHYS32_ENTRY "
				 "(type 18) note and this ELF has none");
		else
			snprintf(err, errlen, "kernel: entry point 0x%" PRIx64 " is not inside a loaded segment "
				 "and there is no PVH note", k->entry64);
		return -ENOEXEC;
	}
	if (notes.pvh_entry < k->start || notes.pvh_entry >= k->end) {
		snprintf(err, errlen, "kernel: PVH entry 0x%x is outside the loaded kernel [0x%" PRIx64
			 "-0x%" PRIx64 ")", notes.pvh_entry, k->start, k->end);
		return -ENOEXEC;
	}
	out->protocol = BOOT_PROTO_PVH;
	out->entry = notes.pvh_entry;
	return 0;
}

static int load_kernel(struct guest_mem *mem, const struct boot_config *cfg,
		       struct linux_kernel *k, struct boot_info *out, char *err, size_t errlen)
{
	static const uint8_t elf_magic[4] = { 0x7f, 'E', 'L', 'F' };
	struct kernel_file f;
	uint8_t magic[4] = { 0 };
	uint32_t hdrs = 0;
	int ret;

	ret = open_file("kernel", cfg->kernel_path, &f, err, errlen);
	if (ret)
		return ret;
	if (f.size == 0) {
		snprintf(err, errlen, "kernel: %s is empty", cfg->kernel_path);
		ret = -ENOEXEC;
		goto out;
	}
	if (f.size > mem->size) {
		snprintf(err, errlen, "kernel: %s (%" PRIu64 " MiB) is larger than guest RAM (%" PRIu64 " MiB)",
			 cfg->kernel_path, f.size / MIB, mem->size / MIB);
		ret = -EFBIG;
		goto out;
	}
	kernel_file_read(&f, 0, magic, f.size < 4 ? f.size : 4);
	if (f.size >= 0x206)
		kernel_file_read(&f, 0x202, &hdrs, 4);

	if (!memcmp(magic, elf_magic, 4)) {
		ret = load_elf(mem, &f, cfg->protocol, k, out, err, errlen);
	} else if (hdrs == LINUX_HDRS_MAGIC) {
		if (cfg->protocol == BOOT_PROTO_PVH) {
			snprintf(err, errlen, "kernel: %s is a bzImage; boot protocol pvh needs an ELF vmlinux "
				 "with a PVH note", cfg->kernel_path);
			ret = -ENOEXEC;
			goto out;
		}
		ret = linux_load_bzimage(mem, &f, k, err, errlen);
		out->linux_image = true;
		out->protocol = BOOT_PROTO_LINUX;
		out->entry = k->entry64;
	} else {
		snprintf(err, errlen, "kernel: %s is neither an ELF vmlinux (no \\x7fELF) nor a bzImage "
			 "(no \"HdrS\" at 0x202)", cfg->kernel_path);
		ret = -ENOEXEC;
	}
out:
	close(f.fd);
	return ret;
}

/* The command line at BOOT_CMDLINE_ADDR, NUL-terminated. */
static int place_cmdline(struct guest_mem *mem, const char *cmdline, const struct linux_kernel *k,
			 char *err, size_t errlen)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	uint64_t max = k->cmdline_max;
	char *dst;

	if (max > BOOT_CMDLINE_MAX - 1)
		max = BOOT_CMDLINE_MAX - 1;
	if (len > max) {
		snprintf(err, errlen, "kernel: command line is %zu bytes but this kernel accepts at most %" PRIu64,
			 len, max);
		return -E2BIG;
	}
	dst = guest_mem_ptr(mem, BOOT_CMDLINE_ADDR, len + 1);
	if (!dst) {
		snprintf(err, errlen, "boot: command line area is outside guest RAM");
		return -EFAULT;
	}
	memcpy(dst, cmdline ? cmdline : "", len);
	dst[len] = '\0';
	return 0;
}

/*
 * The initrd goes page-aligned as high as it can below min(initrd_addr_max,
 * end of low RAM) and above the kernel (boot.rst, "initrd_addr_max"). An
 * empty file is the same as no initrd.
 */
static int place_initrd(struct guest_mem *mem, const char *path, const struct linux_kernel *k,
			struct boot_info *out, char *err, size_t errlen)
{
	uint64_t top = guest_mem_low_end(mem), bottom, start;
	struct kernel_file f;
	int ret;

	if (!path)
		return 0;
	ret = open_file("initrd", path, &f, err, errlen);
	if (ret)
		return ret;
	if (f.size == 0)
		goto out;
	if (k->initrd_addr_max < top - 1)
		top = k->initrd_addr_max + 1;
	bottom = (k->end + BOOT_PAGE_SIZE - 1) & ~(BOOT_PAGE_SIZE - 1);
	if (bottom >= top || f.size > top - bottom) {
		snprintf(err, errlen, "initrd (%" PRIu64 " MiB) does not fit in guest RAM below 0x%" PRIx64
			 " after the kernel (which ends at 0x%" PRIx64 ")",
			 (f.size + MIB - 1) / MIB, top, k->end);
		ret = -EFBIG;
		goto out;
	}
	start = (top - f.size) & ~(BOOT_PAGE_SIZE - 1);
	if (kernel_file_read(&f, 0, guest_mem_ptr(mem, start, f.size), f.size)) {
		snprintf(err, errlen, "initrd: cannot read %s", path);
		ret = -EIO;
		goto out;
	}
	out->initrd_start = start;
	out->initrd_size = f.size;
out:
	close(f.fd);
	return ret;
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg,
	      struct boot_info *out, char *err, size_t errlen)
{
	struct linux_kernel k;
	struct cmdline cl;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!cfg->kernel_path) {
		snprintf(err, errlen, "kernel: no kernel image given");
		return -EINVAL;
	}
	ret = load_kernel(mem, cfg, &k, out, err, errlen);
	if (ret)
		return ret;
	out->kernel_start = k.start;
	out->kernel_end = k.end;

	ret = cmdline_init(&cl, cfg->cmdline);
	/* The CPU profile's words are for Linux only, and only once. */
	if (!ret && out->linux_image && cfg->linux_cmdline_extra && !cmdline_has(&cl, "clearcpuid="))
		ret = cmdline_append(&cl, "%s", cfg->linux_cmdline_extra);
	if (ret) {
		cmdline_free(&cl);
		snprintf(err, errlen, "boot: out of memory");
		return ret;
	}
	ret = place_cmdline(mem, cl.buf, &k, err, errlen);
	cmdline_free(&cl);
	if (!ret)
		ret = place_initrd(mem, cfg->initrd_path, &k, out, err, errlen);
	if (ret)
		return ret;

	if (out->protocol == BOOT_PROTO_PVH) {
		ret = pvh_write_start_info(mem, BOOT_CMDLINE_ADDR, out->initrd_start,
					   out->initrd_size, err, errlen);
		out->boot_data = BOOT_PVH_INFO_ADDR;
	} else {
		ret = linux_write_zero_page(mem, &k, BOOT_CMDLINE_ADDR, out->initrd_start,
					    out->initrd_size, err, errlen);
		out->boot_data = BOOT_ZERO_PAGE_ADDR;
	}
	if (ret)
		return ret;
	return mptable_write(mem, cfg->nr_cpus, err, errlen);
}
