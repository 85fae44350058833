// SPDX-License-Identifier: MIT
/*
 * Common code for the test kernels. See lib.h. Guest CPL0 code is emulated
 * instruction by instruction on some hosts (kvm_pvm), so everything here is
 * short: no console init, one LSR poll per byte, no clearing of memory the
 * loader already zeroed.
 */
#include "lib.h"

enum { BOOT_LINUX = 0, BOOT_PVH = 1 };

/* Linux zero page offsets (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_E820_ENTRIES      0x1e8
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c
#define BP_CMD_LINE_PTR      0x228
#define BP_E820_TABLE        0x2d0
#define BP_E820_MAX          128

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
#define HVM_START_MAGIC 0x336ec578

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

extern char isr_stubs[];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static trap_fn handlers[256];
static struct boot_info boot_info;
static volatile uint32_t console_locked;

/* ---- console ---- */

void putc_raw(char c)
{
	/* THR empty (LSR bit 5); bounded so a missing UART cannot hang us. */
	for (int i = 0; i < 1000 && !(inb(COM1_PORT + 5) & 0x20); i++)
		cpu_relax();
	outb(COM1_PORT, (uint8_t)c);
}

void puts_raw(const char *s)
{
	while (*s) {
		if (*s == '\n')
			putc_raw('\r');
		putc_raw(*s++);
	}
}

void console_lock(void)
{
	while (__atomic_exchange_n(&console_locked, 1, __ATOMIC_ACQUIRE))
		while (console_locked)
			cpu_relax();
}

void console_unlock(void)
{
	__atomic_store_n(&console_locked, 0, __ATOMIC_RELEASE);
}

static void put_uint(uint64_t v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n < width--)
		putc_raw(pad);
	while (n)
		putc_raw(buf[--n]);
}

static void vkprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			if (*fmt == '\n')
				putc_raw('\r');
			putc_raw(*fmt);
			continue;
		}
		char pad = ' ';
		int width = 0, lng = 0;

		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);

			puts_raw(s ? s : "(null)");
			break;
		}
		case 'c':
			putc_raw((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			if (v < 0) {
				putc_raw('-');
				v = -v;
			}
			put_uint((uint64_t)v, 10, width, pad);
			break;
		}
		case 'u':
			put_uint(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			put_uint(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad);
			break;
		case 'p':
			puts_raw("0x");
			put_uint((uint64_t)va_arg(ap, void *), 16, width, pad);
			break;
		case '%':
			putc_raw('%');
			break;
		default:
			putc_raw('?');
			break;
		}
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_lock();
	vkprintf(fmt, ap);
	console_unlock();
	va_end(ap);
}

/* ---- strings and command line ---- */

size_t kstrlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void *kmemcpy(void *dst, const void *src, size_t n)
{
	char *d = dst;
	const char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

/* gcc may emit calls to these even when freestanding. */
void *memcpy(void *dst, const void *src, size_t n)
{
	return kmemcpy(dst, src, n);
}

void *memset(void *dst, int c, size_t n)
{
	char *d = dst;

	while (n--)
		*d++ = (char)c;
	return dst;
}

const char *cmdline_value(const struct boot_info *bi, const char *key)
{
	size_t klen = kstrlen(key);
	const char *p = bi->cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		size_t i = 0;

		while (i < klen && w[i] == key[i])
			i++;
		if (i == klen && w[i] == '=')
			return w + klen + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

uint64_t cmdline_uint(const struct boot_info *bi, const char *key, uint64_t dflt)
{
	const char *v = cmdline_value(bi, key);
	uint64_t n = 0;
	unsigned base = 10;

	if (!v || !*v || *v == ' ')
		return dflt;
	if (v[0] == '0' && v[1] == 'x') {
		base = 16;
		v += 2;
	}
	for (;; v++) {
		unsigned d;

		if (*v >= '0' && *v <= '9')
			d = *v - '0';
		else if (base == 16 && *v >= 'a' && *v <= 'f')
			d = *v - 'a' + 10;
		else if (base == 16 && *v >= 'A' && *v <= 'F')
			d = *v - 'A' + 10;
		else
			break;
		n = n * base + d;
	}
	return n;
}

/* ---- boot information ---- */

static void parse_linux(struct boot_info *bi, const uint8_t *bp)
{
	uint64_t cmd = *(const uint32_t *)(bp + BP_CMD_LINE_PTR) |
		       (uint64_t)*(const uint32_t *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
	unsigned n = bp[BP_E820_ENTRIES];

	bi->protocol = "linux";
	bi->cmdline = cmd ? (const char *)cmd : "";
	if (n > BP_E820_MAX)
		n = BP_E820_MAX;
	for (unsigned i = 0; i < n && bi->nr_mem < MEM_MAX; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + 20 * i;
		struct mem_region *m = &bi->mem[bi->nr_mem++];

		m->addr = *(const uint64_t *)e;
		m->size = *(const uint64_t *)(e + 8);
		m->type = *(const uint32_t *)(e + 16);
	}
	bi->initrd_addr = *(const uint32_t *)(bp + BP_RAMDISK_IMAGE) |
			  (uint64_t)*(const uint32_t *)(bp + BP_EXT_RAMDISK_IMAGE) << 32;
	bi->initrd_size = *(const uint32_t *)(bp + BP_RAMDISK_SIZE) |
			  (uint64_t)*(const uint32_t *)(bp + BP_EXT_RAMDISK_SIZE) << 32;
}

static void parse_pvh(struct boot_info *bi, const struct hvm_start_info *si)
{
	bi->protocol = "pvh";
	bi->cmdline = "";
	if (si->magic != HVM_START_MAGIC) {
		kprintf("pvh: bad start_info magic %x at %p\n", si->magic, si);
		return;
	}
	if (si->cmdline_paddr)
		bi->cmdline = (const char *)si->cmdline_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries && bi->nr_mem < MEM_MAX; i++) {
			bi->mem[bi->nr_mem].addr = e[i].addr;
			bi->mem[bi->nr_mem].size = e[i].size;
			bi->mem[bi->nr_mem].type = e[i].type;
			bi->nr_mem++;
		}
	}
	if (si->nr_modules && si->modlist_paddr) {
		const struct hvm_modlist_entry *m = (const void *)si->modlist_paddr;

		bi->initrd_addr = m->paddr;
		bi->initrd_size = m->size;
	}
}

/* Called from entry.S with our GDT loaded and a stack. */
void kmain_common(int protocol, uint64_t boot_data)
{
	struct boot_info *bi = &boot_info;

	/* First serial output, as early as possible (benchmarks time it). */
	kprintf("%s: start (protocol: %s)\n", kernel_name,
		protocol == BOOT_PVH ? "pvh" : "linux");
	if (protocol == BOOT_PVH)
		parse_pvh(bi, (const struct hvm_start_info *)boot_data);
	else
		parse_linux(bi, (const uint8_t *)boot_data);
	idt_init();
	kmain(bi);
	reset();
}

/* ---- IDT ---- */

void trap_set_handler(int vector, trap_fn fn)
{
	handlers[vector & 0xff] = fn;
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("lidt %0" : : "m"(d));
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)isr_stubs + 16 * v;

		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = 0x10;
		idt[v].ist = 0;
		idt[v].type = 0x8e; /* present, DPL0, 64-bit interrupt gate */
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
		idt[v].zero = 0;
	}
	idt_load();
}

void trap_dispatch(struct trap_frame *f)
{
	trap_fn fn = handlers[f->vector & 0xff];
	uint64_t cr2;

	if (fn) {
		fn(f);
		return;
	}
	if (f->vector >= 32) {
		kprintf("unexpected interrupt %lu\n", f->vector);
		return;
	}
	/* An exception nobody expected: say so, report a panic, get out. */
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	console_locked = 0;
	kprintf("unexpected exception %lu err=%lx rip=%lx cs=%lx rflags=%lx cr2=%lx\n",
		f->vector, f->error, f->rip, f->cs, f->rflags, cr2);
	outb(PANIC_PORT, 1);
	reset();
}

/* ---- ways out ---- */

void reset(void)
{
	cli();
	outb(I8042_CMD, 0xfe);
	/*
	 * Still here after ~0.1 s (no i8042): a triple fault resets any PC.
	 * The wait keeps a VMM that stops the vCPU a little late from seeing
	 * the triple fault instead of the reset.
	 */
	uint64_t t0 = rdtsc();

	for (uint32_t i = 0; i < 1000000 && rdtsc() - t0 < (1ULL << 28); i++)
		cpu_relax();
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) none = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" : : "m"(none));
	halt_forever();
}

void poweroff(void)
{
	outb(POWEROFF_PORT, 0);
	reset();
}
