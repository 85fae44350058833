/* SPDX-License-Identifier: MIT */
/*
 * The small library every test kernel links: port I/O, COM1 output and a
 * printf subset, boot information from either boot protocol, the IDT, and
 * the ways out (i8042 reset, flashpan's poweroff port, pvpanic).
 */
#ifndef TK_LIB_H
#define TK_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same values as boot/layout.h (kept here: kernels are freestanding). */
#define COM1_PORT        0x3f8
#define I8042_CMD        0x64
#define BOOT_TIMER_PORT  0x440
#define BOOT_TIMER_MAGIC 123
#define POWEROFF_PORT    0x441
#define PANIC_PORT       0x505
#define LAPIC_BASE       0xfee00000UL

#define MEM_MAX 64

struct mem_region {
	uint64_t addr, size;
	uint32_t type; /* e820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
};

struct boot_info {
	const char *protocol;   /* "linux" or "pvh" */
	const char *cmdline;    /* never NULL */
	int nr_mem;
	struct mem_region mem[MEM_MAX];
	uint64_t initrd_addr, initrd_size;
};

/* Each kernel defines these. */
extern const char kernel_name[];
void kmain(struct boot_info *bi);

/* Register state saved by isr_common (entry.S), lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*trap_fn)(struct trap_frame *f);

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* sti's one-instruction interrupt shadow makes "sti; hlt" race-free. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

/* Console (COM1). kprintf: %s %c %d %u %x %p %%, l/ll, width, '0' flag. */
void putc_raw(char c);
void puts_raw(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_lock(void);
void console_unlock(void);

/* Command line: value of key=... (up to the next space) or NULL. */
const char *cmdline_value(const struct boot_info *bi, const char *key);
uint64_t cmdline_uint(const struct boot_info *bi, const char *key, uint64_t dflt);

size_t kstrlen(const char *s);
void *kmemcpy(void *dst, const void *src, size_t n);

/* IDT: every vector goes to trap_dispatch, which calls the registered handler. */
void idt_init(void);
void idt_load(void);
void trap_set_handler(int vector, trap_fn fn);

/* Ways out. None returns. */
void __attribute__((noreturn)) reset(void);
void __attribute__((noreturn)) poweroff(void);
void __attribute__((noreturn)) halt_forever(void);

#endif
