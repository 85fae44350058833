// SPDX-License-Identifier: MIT
/*
 * Kernel loaders: synthetic ELF vmlinux and bzImage images written to temp
 * files, loaded into a guest_mem, and the resulting guest memory checked
 * against the Linux boot protocol, the PVH start_info ABI and the MP spec.
 */
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/linux.h"
#include "boot/mptable.h"
#include "boot/pvh.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define KERNEL_PADDR 0x1000000ULL
#define KERNEL_VADDR 0xffffffff81000000ULL

struct fixture {
	struct guest_mem mem;
	char kernel[64], initrd[64];
	char err[256];
};

/* ---- synthetic images --------------------------------------------------- */

struct image {
	uint8_t *buf;
	size_t len;
};

/* Zero fields take the defaults of a good image (see make_elf). */
struct elf_spec {
	uint16_t machine, phnum;
	uint8_t elf_class;
	bool no_load, pvh_note;
	uint32_t pvh_entry;
	uint64_t paddr, filesz, memsz, entry, phoff;
	size_t cut; /* bytes dropped from the end of the file */
};

/* ELF header, two program headers (PT_LOAD, PT_NOTE), a PVH note, the segment. */
static struct image make_elf(const struct elf_spec *spec)
{
	const size_t ph_off = sizeof(Elf64_Ehdr), note_off = 0x100, seg_off = 0x1000;
	struct elf_spec s = *spec;
	struct image im;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;

	s.machine = s.machine ? s.machine : EM_X86_64;
	s.paddr = s.paddr ? s.paddr : KERNEL_PADDR;
	s.filesz = s.filesz ? s.filesz : 0x3000;
	s.memsz = s.memsz ? s.memsz : 0x5000;
	s.entry = s.entry ? s.entry : KERNEL_VADDR + 0x100;
	im.len = seg_off + s.filesz - s.cut;
	im.buf = calloc(1, seg_off + s.filesz);
	assert_non_null(im.buf);
	eh = (Elf64_Ehdr *)im.buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = s.elf_class ? s.elf_class : ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = s.machine;
	eh->e_entry = s.entry;
	eh->e_phoff = s.phoff ? s.phoff : ph_off;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = s.phnum ? s.phnum : 2;
	ph = (Elf64_Phdr *)(im.buf + ph_off);
	ph[0] = (Elf64_Phdr){ .p_type = s.no_load ? PT_NULL : PT_LOAD, .p_offset = seg_off,
			      .p_vaddr = KERNEL_VADDR, .p_paddr = s.paddr,
			      .p_filesz = s.filesz, .p_memsz = s.memsz };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = 0 };
	if (s.pvh_note) {
		/* An unrelated note first, then Xen's PHYS32_ENTRY as an 8-byte value. */
		uint32_t n1[] = { 4, 4, 3 }, n2[] = { 4, 8, XEN_ELFNOTE_PHYS32_ENTRY };
		uint64_t val = s.pvh_entry;
		uint8_t *p = im.buf + note_off;

		memcpy(p, n1, 12);
		memcpy(p + 12, "GNU", 4);
		memcpy(p + 20, n2, 12);
		memcpy(p + 32, "Xen", 4);
		memcpy(p + 36, &val, 8);
		ph[1].p_filesz = 44;
	}
	for (size_t i = 0; i < s.filesz; i++)
		im.buf[seg_off + i] = (uint8_t)(i * 7 + 1);
	return im;
}

/* Zero fields take the defaults of a good image (see make_bzimage). */
struct bz_spec {
	uint32_t magic;
	uint16_t version, xloadflags;
	uint8_t setup_sects;
	uint32_t cmdline_size, init_size;
	size_t pm_size, cut; /* cut: bytes dropped from the end of the file */
};

static struct image make_bzimage(const struct bz_spec *spec)
{
	struct bz_spec s = *spec;
	unsigned int sects = s.setup_sects ? s.setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	struct setup_header h = { 0 };
	struct image im;

	s.pm_size = s.pm_size ? s.pm_size : 0x2000;
	im.len = setup + s.pm_size - s.cut;
	im.buf = calloc(1, setup + s.pm_size);
	assert_non_null(im.buf);
	h.setup_sects = s.setup_sects;
	h.boot_flag = LINUX_BOOT_FLAG;
	h.jump = 0x66eb; /* jmp to 0x202 + 0x66 = 0x268: header ends there, like 2.12+ kernels */
	h.header = s.magic ? s.magic : LINUX_HDRS_MAGIC;
	h.version = s.version ? s.version : 0x020f;
	h.loadflags = LINUX_LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = s.xloadflags ? s.xloadflags : LINUX_XLF_KERNEL_64;
	h.cmdline_size = s.cmdline_size ? s.cmdline_size : 255;
	h.pref_address = 0x1000000;
	h.init_size = s.init_size ? s.init_size : 0x400000;
	h.kernel_info_offset = 0x12345678; /* beyond the header's end: must not be copied */
	memcpy(im.buf + 0x1f1, &h, sizeof(h));
	for (size_t i = 0; i < s.pm_size; i++)
		im.buf[setup + i] = (uint8_t)(i * 13 + 5);
	return im;
}

/*
 * Overwrite, then cut to length: O_TRUNC to zero and rewrite makes ext4
 * (auto_da_alloc) flush at close, which costs milliseconds per file.
 */
static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

static void write_image(const char *path, struct image im)
{
	write_file(path, im.buf, im.len);
	free(im.buf);
}

static void sparse_file(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static int load(struct fixture *f, enum boot_protocol p, const char *cmdline,
		bool initrd, struct boot_info *bi)
{
	struct boot_config cfg = {
		.kernel_path = f->kernel, .initrd_path = initrd ? f->initrd : NULL,
		.cmdline = cmdline, .protocol = p, .nr_cpus = 2,
	};

	f->err[0] = '\0';
	return boot_load(&f->mem, &cfg, bi, f->err, sizeof(f->err));
}

static struct boot_params *zero_page(struct fixture *f)
{
	return guest_mem_ptr(&f->mem, BOOT_ZERO_PAGE_ADDR, sizeof(struct boot_params));
}

static void check_e820(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

/* ---- fixture ------------------------------------------------------------ */

static int setup_mem(void **state, uint64_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f || guest_mem_init(&f->mem, size, false))
		return -1;
	strcpy(f->kernel, "/tmp/flashpan-test-kernel-XXXXXX");
	strcpy(f->initrd, "/tmp/flashpan-test-initrd-XXXXXX");
	fd = mkstemp(f->kernel);
	if (fd < 0 || close(fd) || (fd = mkstemp(f->initrd)) < 0 || close(fd))
		return -1;
	*state = f;
	return 0;
}

static int setup_128m(void **state)
{
	return setup_mem(state, 128 * MIB);
}

static int setup_3g5(void **state)
{
	return setup_mem(state, 3 * GIB + 512 * MIB);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->kernel);
	unlink(f->initrd);
	guest_mem_free(&f->mem);
	free(f);
	return 0;
}

/* ---- ELF vmlinux -------------------------------------------------------- */

static void test_elf_loads_at_paddr(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { .filesz = 0x3000, .memsz = 0x5000 };
	struct boot_info bi;
	uint8_t *seg = guest_mem_ptr(&f->mem, KERNEL_PADDR, s.memsz);

	memset(seg, 0xaa, s.memsz); /* the bss part must come back zeroed */
	write_image(f->kernel, make_elf(&s));
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "console=ttyS0", false, &bi), 0);
	assert_int_equal(bi.protocol, BOOT_PROTO_LINUX);
	assert_int_equal(bi.entry, KERNEL_PADDR + 0x100); /* high e_entry translated */
	assert_int_equal(bi.boot_data, BOOT_ZERO_PAGE_ADDR);
	assert_int_equal(bi.kernel_start, KERNEL_PADDR);
	assert_int_equal(bi.kernel_end, KERNEL_PADDR + s.memsz);
	for (size_t i = 0; i < s.filesz; i++)
		assert_int_equal(seg[i], (uint8_t)(i * 7 + 1));
	for (size_t i = s.filesz; i < s.memsz; i++)
		assert_int_equal(seg[i], 0);
	assert_string_equal(boot_protocol_name(bi.protocol), "linux");
}

static void test_elf_zero_page_128m(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { 0 };
	struct boot_params *bp = zero_page(f);
	struct boot_info bi;

	write_image(f->kernel, make_elf(&s));
	assert_int_equal(load(f, BOOT_PROTO_LINUX, "console=ttyS0 quiet", false, &bi), 0);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.kernel_alignment, 0x1000000);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp->hdr.cmdline_size, 2047);
	assert_string_equal(guest_mem_ptr(&f->mem, BOOT_CMDLINE_ADDR, 1), "console=ttyS0 quiet");
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->e820_entries, 3);
	check_e820(&bp->e820_table[0], 0, BOOT_EBDA_START, 1);
	check_e820(&bp->e820_table[1], BOOT_EBDA_START, 0x100000 - BOOT_EBDA_START, 2);
	check_e820(&bp->e820_table[2], 0x100000, 127 * MIB, 1);
}

static void test_e820_above_4g(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { 0 };
	struct boot_params *bp = zero_page(f);
	struct boot_info bi;

	write_image(f->kernel, make_elf(&s));
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "", false, &bi), 0);
	assert_int_equal(bp->e820_entries, 4);
	check_e820(&bp->e820_table[2], 0x100000, 3 * GIB - MIB, 1);
	check_e820(&bp->e820_table[3], 4 * GIB, 512 * MIB, 1);
}

static void test_initrd_placed_high(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { 0 };
	struct boot_params *bp = zero_page(f);
	size_t len = 3 * MIB + 123;
	uint8_t *data = malloc(len);
	struct boot_info bi;

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	write_file(f->initrd, data, len);
	write_image(f->kernel, make_elf(&s));
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "x", true, &bi), 0);
	assert_int_equal(bi.initrd_size, len);
	assert_int_equal(bi.initrd_start % 4096, 0);
	assert_true(bi.initrd_start + len <= 128 * MIB);
	assert_true(bi.initrd_start + len > 128 * MIB - 4096); /* as high as possible */
	assert_true(bi.initrd_start >= bi.kernel_end);
	assert_int_equal(bp->hdr.ramdisk_image, bi.initrd_start);
	assert_int_equal(bp->hdr.ramdisk_size, len);
	assert_memory_equal(guest_mem_ptr(&f->mem, bi.initrd_start, len), data, len);
	free(data);

	/* An empty initrd file means no initrd. */
	write_file(f->initrd, "", 0);
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "x", true, &bi), 0);
	assert_int_equal(bi.initrd_size, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
}

/* ---- bzImage ------------------------------------------------------------ */

static void test_bzimage_loads(void **state)
{
	struct fixture *f = *state;
	struct bz_spec s = { .init_size = 0x400000, .pm_size = 0x2000 };
	struct boot_params *bp = zero_page(f);
	struct boot_info bi;
	const uint8_t *pm = guest_mem_ptr(&f->mem, 0x100000, s.pm_size);

	write_file(f->initrd, "initrd!", 7);
	write_image(f->kernel, make_bzimage(&s));
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "root=/dev/vda", true, &bi), 0);
	assert_int_equal(bi.protocol, BOOT_PROTO_LINUX);
	assert_int_equal(bi.entry, 0x100200);
	assert_int_equal(bi.kernel_start, 0x100000);
	assert_int_equal(bi.kernel_end, 0x1000000 + s.init_size); /* pref_address + init_size */
	for (size_t i = 0; i < s.pm_size; i++)
		assert_int_equal(pm[i], (uint8_t)(i * 13 + 5));
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags, LINUX_LOADED_HIGH | LINUX_CAN_USE_HEAP);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp->hdr.ramdisk_image, bi.initrd_start);
	assert_int_equal(bp->hdr.ramdisk_size, 7);
	assert_int_equal(bp->hdr.kernel_info_offset, 0); /* past the header's end */
	assert_int_equal(bp->e820_entries, 3);
}

/* ---- refusals ----------------------------------------------------------- */

#define REFUSE(f, proto, cmdline, initrd, needle) do {					\
	struct boot_info bi_;								\
	if (load(f, proto, cmdline, initrd, &bi_) >= 0)					\
		fail_msg("loaded, expected a refusal with \"%s\"", needle);		\
	if (!strstr((f)->err, needle))							\
		fail_msg("expected \"%s\" in \"%s\"", needle, (f)->err);		\
	assert_null(strchr((f)->err, '\n'));						\
} while (0)

struct refusal {
	struct elf_spec elf;
	struct bz_spec bz; /* used when bz.magic is set */
	enum boot_protocol proto;
	const char *cmdline, *needle;
};

/* Each malformed image is refused with a one-line message naming the problem. */
static void test_image_refusals(void **state)
{
	static const uint32_t hdrs = LINUX_HDRS_MAGIC;
	const struct refusal cases[] = {
		{ .elf.machine = EM_386, .needle = "ELF machine 3 is not x86_64" },
		{ .elf.elf_class = ELFCLASS32, .needle = "is not ELF64" },
		{ .elf.paddr = 512 * MIB, .needle =
		  "segment 0 [0x20000000-0x20005000) lies outside guest RAM (128 MiB)" },
		{ .elf.paddr = UINT64_MAX - 0x1000, .needle = "outside guest RAM" }, /* wraps */
		{ .elf.paddr = 0x8000, .needle = "overlaps the boot structures below 1 MiB" },
		{ .elf.memsz = 0x1000, .needle = "p_filesz 0x3000 > p_memsz 0x1000" },
		{ .elf.cut = 0x800, .needle = "segment 0 file range" },
		{ .elf.phnum = 0xffff, .needle = "program headers (at most 64" },
		{ .elf.phoff = UINT64_MAX - 8, .needle = "program headers" },
		{ .elf.no_load = true, .needle = "no PT_LOAD" },
		{ .elf.entry = 0x400000, .needle = "not inside a loaded segment" },
		{ .elf.entry = 0x400000, .proto = BOOT_PROTO_LINUX, .needle = "not inside a loaded segment" },
		{ .proto = BOOT_PROTO_PVH, .needle = "XEN_ELFNOTE_PHYS32_ENTRY (type 18)" },
		{ .bz.magic = 0x58726448 /* HdrX */, .needle = "neither an ELF vmlinux" },
		{ .bz = { .magic = hdrs, .version = 0x020b }, .needle = "boot protocol 2.11 is too old" },
		{ .bz = { .magic = hdrs, .xloadflags = 0x2 }, .needle = "no 64-bit entry point" },
		{ .bz = { .magic = hdrs, .init_size = 200 * MIB }, .needle = "init_size 200 MiB" },
		{ .bz = { .magic = hdrs, .setup_sects = 60, .cut = 0x2000 }, .needle = "bzImage truncated" },
		{ .bz = { .magic = hdrs, .cmdline_size = 10 }, .cmdline = "console=ttyS0",
		  .needle = "command line is 13 bytes but this kernel accepts at most 10" },
		{ .bz = { .magic = hdrs }, .proto = BOOT_PROTO_PVH, .needle = "is a bzImage" },
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];

		write_image(f->kernel, c->bz.magic ? make_bzimage(&c->bz) : make_elf(&c->elf));
		REFUSE(f, c->proto, c->cmdline ? c->cmdline : "", false, c->needle);
	}
}

/* Files that are no kernel at all. */
static void test_file_refusals(void **state)
{
	struct fixture *f = *state;
	char saved[64];

	write_file(f->kernel, "", 0);
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "is empty");
	write_file(f->kernel, "\x7f" "ELF\x02\x01\x01", 7);
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "ELF header truncated");
	write_file(f->kernel, "just some text, not a kernel at all\n", 36);
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "neither an ELF vmlinux");
	sparse_file(f->kernel, 10 * GIB); /* refused by size, never read */
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "is larger than guest RAM");

	memcpy(saved, f->kernel, sizeof(saved));
	strcat(f->kernel, ".missing");
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "cannot open");
	strcpy(f->kernel, "/tmp");
	REFUSE(f, BOOT_PROTO_AUTO, "", false, "is not a regular file");
	memcpy(f->kernel, saved, sizeof(saved));
}

static void test_cmdline_and_initrd_refusals(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { 0 };
	char *longline = malloc(3001);
	struct boot_info bi;

	memset(longline, 'a', 3000);
	longline[3000] = '\0';
	write_image(f->kernel, make_elf(&s));
	REFUSE(f, BOOT_PROTO_AUTO, longline, false,
	       "command line is 3000 bytes but this kernel accepts at most 2047");
	free(longline);

	sparse_file(f->initrd, 200 * MIB);
	REFUSE(f, BOOT_PROTO_AUTO, "", true,
	       "initrd (200 MiB) does not fit in guest RAM below 0x8000000 after the kernel");

	/* A kernel whose bss reaches 120 MiB leaves no room for a 16 MiB initrd. */
	s.memsz = 120 * MIB - KERNEL_PADDR;
	write_image(f->kernel, make_elf(&s));
	sparse_file(f->initrd, 16 * MIB);
	REFUSE(f, BOOT_PROTO_AUTO, "", true, "initrd (16 MiB) does not fit");
	sparse_file(f->initrd, 7 * MIB); /* but 7 MiB does */
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "", true, &bi), 0);
	assert_true(bi.initrd_start >= 120 * MIB);
}

/* ---- PVH ---------------------------------------------------------------- */

static void test_pvh_start_info(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { .pvh_note = true, .pvh_entry = KERNEL_PADDR + 0x40 };
	struct hvm_start_info *si = guest_mem_ptr(&f->mem, BOOT_PVH_INFO_ADDR, sizeof(*si));
	struct hvm_memmap_table_entry *mm;
	struct hvm_modlist_entry *mod;
	struct boot_info bi;

	write_file(f->initrd, "module", 6);
	write_image(f->kernel, make_elf(&s));

	/* AUTO keeps the 64-bit entry when e_entry is usable, note or not. */
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "a=b", true, &bi), 0);
	assert_int_equal(bi.protocol, BOOT_PROTO_LINUX);

	assert_int_equal(load(f, BOOT_PROTO_PVH, "a=b", true, &bi), 0);
	assert_int_equal(bi.protocol, BOOT_PROTO_PVH);
	assert_int_equal(bi.entry, KERNEL_PADDR + 0x40);
	assert_int_equal(bi.boot_data, BOOT_PVH_INFO_ADDR);
	assert_int_equal(si->magic, 0x336ec578);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->rsdp_paddr, 0);
	assert_int_equal(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	assert_string_equal(guest_mem_ptr(&f->mem, si->cmdline_paddr, 1), "a=b");
	assert_int_equal(si->memmap_paddr, BOOT_PVH_MEMMAP_ADDR);
	assert_int_equal(si->memmap_entries, 3);
	mm = guest_mem_ptr(&f->mem, si->memmap_paddr, 3 * sizeof(*mm));
	assert_int_equal(mm[0].type, 1);
	assert_int_equal(mm[1].addr, BOOT_EBDA_START);
	assert_int_equal(mm[1].type, 2);
	assert_int_equal(mm[2].addr + mm[2].size, 128 * MIB);
	assert_int_equal(si->nr_modules, 1);
	assert_int_equal(si->modlist_paddr, BOOT_PVH_MODLIST_ADDR);
	mod = guest_mem_ptr(&f->mem, si->modlist_paddr, sizeof(*mod));
	assert_int_equal(mod->paddr, bi.initrd_start);
	assert_int_equal(mod->size, 6);
	assert_memory_equal(guest_mem_ptr(&f->mem, mod->paddr, 6), "module", 6);

	/* AUTO falls back to PVH when e_entry is unusable but the note is there. */
	s.entry = 0x400000;
	write_image(f->kernel, make_elf(&s));
	assert_int_equal(load(f, BOOT_PROTO_AUTO, "", false, &bi), 0);
	assert_int_equal(bi.protocol, BOOT_PROTO_PVH);
	assert_int_equal(si->nr_modules, 0);
}

/* ---- MP table ----------------------------------------------------------- */

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void check_mptable(struct fixture *f, int nr_cpus)
{
	struct mpf_intel *mpf = guest_mem_ptr(&f->mem, BOOT_MPTABLE_ADDR, sizeof(*mpf));
	int n[MP_LINTSRC + 1] = { 0 };
	const uint8_t *p, *end;
	struct mpc_table *mpc;

	assert_int_equal(mptable_write(&f->mem, nr_cpus, f->err, sizeof(f->err)), 0);
	assert_memory_equal(mpf->signature, "_MP_", 4);
	assert_int_equal(mpf->length, 1);
	assert_int_equal(sum((uint8_t *)mpf, 16), 0);
	mpc = guest_mem_ptr(&f->mem, mpf->physptr, sizeof(*mpc));
	assert_non_null(mpc);
	assert_memory_equal(mpc->signature, "PCMP", 4);
	assert_int_equal(mpc->lapic, LAPIC_ADDR);
	assert_int_equal(sum((uint8_t *)mpc, mpc->length), 0);
	assert_true(mpf->physptr + mpc->length <= 0x100000);
	assert_int_equal(mptable_size(nr_cpus), 16 + mpc->length);

	p = (uint8_t *)(mpc + 1);
	end = (uint8_t *)mpc + mpc->length;
	for (int i = 0; i < mpc->oemcount; p += p[0] == MP_PROCESSOR ? 20 : 8, i++) {
		const struct mpc_cpu *c = (const void *)p;
		const struct mpc_ioapic *io = (const void *)p;
		const struct mpc_intsrc *s = (const void *)p;

		assert_true(p < end && p[0] <= MP_LINTSRC);
		switch (p[0]) {
		case MP_PROCESSOR:
			assert_int_equal(c->apicid, n[MP_PROCESSOR]);
			assert_int_equal(c->cpuflag, MP_CPU_ENABLED | (c->apicid == 0 ? MP_CPU_BSP : 0));
			break;
		case MP_BUS:
			assert_memory_equal(((const struct mpc_bus *)p)->bustype, "ISA   ", 6);
			break;
		case MP_IOAPIC:
			assert_int_equal(io->apicid, nr_cpus);
			assert_int_equal(io->apicaddr, IOAPIC_ADDR);
			break;
		case MP_INTSRC: /* ISA IRQ n -> IOAPIC pin n */
			assert_int_equal(s->srcbusirq, n[MP_INTSRC]);
			assert_int_equal(s->dstirq, n[MP_INTSRC]);
			assert_int_equal(s->dstapic, nr_cpus);
			break;
		case MP_LINTSRC: /* LINT0 ExtINT, LINT1 NMI */
			assert_int_equal(s->irqtype, n[MP_LINTSRC] ? MP_IRQ_NMI : MP_IRQ_EXTINT);
			assert_int_equal(s->dstirq, n[MP_LINTSRC]);
			break;
		}
		n[p[0]]++;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(n[MP_PROCESSOR], nr_cpus);
	assert_int_equal(n[MP_BUS], 1);
	assert_int_equal(n[MP_IOAPIC], 1);
	assert_int_equal(n[MP_INTSRC], MPTABLE_ISA_IRQS);
	assert_int_equal(n[MP_LINTSRC], 2);
}

static void test_mptable(void **state)
{
	struct fixture *f = *state;

	check_mptable(f, 1);
	check_mptable(f, 4);
	check_mptable(f, 64);
	assert_true(mptable_write(&f->mem, 0, f->err, sizeof(f->err)) < 0);
	assert_non_null(strstr(f->err, "supports 1 to 64"));
	assert_true(mptable_write(&f->mem, 65, f->err, sizeof(f->err)) < 0);
}

/* ---- robustness: corrupted images never crash the loader ---------------- */

static void test_corrupt_images_never_crash(void **state)
{
	struct fixture *f = *state;
	struct elf_spec es = { 0 };
	struct bz_spec bs = { 0 };
	struct image base[2];
	struct boot_info bi;

	es.pvh_note = true;
	es.pvh_entry = KERNEL_PADDR;
	base[0] = make_elf(&es);
	base[1] = make_bzimage(&bs);
	srand(12345);
	for (int iter = 0; iter < 3000; iter++) {
		struct image *b = &base[iter & 1];
		uint8_t *copy = malloc(b->len);
		size_t len = b->len, limit = (iter & 2) ? 0x300 : 0x80;

		memcpy(copy, b->buf, len);
		for (int n = rand() % 8 + 1; n > 0; n--)
			copy[(size_t)rand() % (len < limit ? len : limit)] = (uint8_t)rand();
		if (iter % 7 == 0)
			len = (size_t)rand() % len;
		write_file(f->kernel, copy, len);
		free(copy);
		if (load(f, (enum boot_protocol)(iter % 3), "c", false, &bi) != 0)
			assert_true(f->err[0] != '\0');
	}
	free(base[0].buf);
	free(base[1].buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_elf_loads_at_paddr, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_elf_zero_page_128m, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_e820_above_4g, setup_3g5, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_placed_high, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_loads, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_image_refusals, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_file_refusals, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_and_initrd_refusals, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_start_info, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_mptable, setup_128m, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_images_never_crash, setup_128m, teardown),
	};

	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
