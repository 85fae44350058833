// SPDX-License-Identifier: MIT
/*
 * vsockbench: virtio-vsock throughput and connect latency with the data path
 * at CPL3 (bench/run.sh, section vsock, with bench/vsock/vsock_bench.c on
 * the host). On kvm_pvm hosts guest CPL0 code is emulated (~5M instr/s) and
 * CPL3 runs natively, so CPL0 only sets up: the device (vsock_drv.c), page
 * tables (4 GiB identity of 2 MiB pages, U/S=1: rings, buffers and the MMIO
 * window reachable from ring 3), a GDT with ring-3 segments and a TSS, an
 * int $0x80 gate of DPL 3; then iretq to ring 3 (IOPL 3, IF 0). The ring-3
 * loop polls the used rings and writes QueueNotify itself.
 * (blkbench.c has the same kind of ring-3 entry, but as static code inside
 * that kernel; there is nothing to link, so this one is its own.)
 *
 * Services, all host-initiated (CONNECT <port>):
 *   7000  sink: consume everything; after the host's SHUTDOWN(SEND), SHUTDOWN(SEND) back
 *   7001  source: send vsockbench.bytes (default 64 MiB) in 64 KiB packets, then SHUTDOWN(SEND)
 *   7002  accept only (connect latency); closed by the host
 *   7003  quit: back to ring 0 and reset
 * RX buffers: 16 of 64 KiB (+ header); buf_alloc 1 MiB per connection.
 * Prints "vsockbench: ready" (from ring 0) just before entering ring 3.
 */
#include "vsock_drv.h"

const char kernel_name[] = "vsockbench";

#define NRX    16
#define RXSIZE (VS_HDR_SIZE + 65536)
#define PKT    65536

#define SEL_UDATA 0x20
#define SEL_UCODE 0x28
#define SEL_TSS   0x30

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct vs vs;
static uint8_t rxmem[NRX][RXSIZE] __attribute__((aligned(4096)));
static uint8_t src[PKT] __attribute__((aligned(4096)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t gdt64[8] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kstack[16384] __attribute__((aligned(16)));
static uint8_t ustack[65536] __attribute__((aligned(16)));
static uint64_t src_bytes = 64 << 20;

/* ---- ring 3 ---- */

static inline void sys(uint64_t nr)
{
	__asm__ volatile("int $0x80" : "+a"(nr) : : "memory");
}

static uint64_t sent[VS_MAX_CONNS];

static void serve(struct vs *v, struct vs_conn *c)
{
	const uint8_t *p;
	uint32_t n;
	int i = (int)(c - v->conns);

	while ((n = vs_recv_peek(v, c, &p)))
		vs_consume(v, c, n); /* 7000: the sink (and anything sent to the others) */
	if (c->state == VS_CLOSED || c->peer_shut == (VS_SHUT_RCV | VS_SHUT_SEND)) {
		if (!c->rst)
			vs_send_ctl(v, c, VS_OP_RST, 0);
		vs_free(v, c);
		return;
	}
	if (c->state != VS_ESTABLISHED)
		return;
	if (c->lport == 7000 && vs_rx_done(c) && !(c->shut_sent & VS_SHUT_SEND))
		vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
	if (c->lport == 7001 && !(c->shut_sent & VS_SHUT_SEND)) {
		bool queued = false;

		for (;;) {
			uint32_t cr = vs_credit(c), k = PKT;

			if (sent[i] >= src_bytes)
				break;
			if (src_bytes - sent[i] < k)
				k = (uint32_t)(src_bytes - sent[i]);
			if (cr < k) {
				if (!cr && !c->credit_requested && !queued) {
					c->credit_requested = true;
					vs_send_ctl(v, c, VS_OP_CREDIT_REQUEST, 0);
				}
				break;
			}
			if (vs_send_pkt(v, c, src, k))
				break;
			sent[i] += k;
			queued = true;
		}
		if (queued)
			vs_kick_tx(v);
		if (sent[i] >= src_bytes)
			vs_send_ctl(v, c, VS_OP_SHUTDOWN, VS_SHUT_SEND);
	}
}

static void __attribute__((noreturn, used)) user_main(void)
{
	struct vs *v = &vs;

	for (uint32_t i = 0; i < PKT; i++)
		src[i] = (uint8_t)(i * 7);
	for (;;) {
		struct vs_conn *c;

		vs_poll(v);
		while ((c = vs_accept(v))) {
			sent[c - v->conns] = 0;
			if (c->lport == 7003)
				sys(0);
		}
		for (int i = 0; i < VS_MAX_CONNS; i++)
			if (v->conns[i].state != VS_FREE)
				serve(v, &v->conns[i]);
		cpu_relax();
	}
}

/* ---- ring 0 ---- */

static void on_syscall(struct trap_frame *f)
{
	kprintf("vsockbench: quit; tx kicks %lu\n", vs.kicks);
	reset();
}

/* kvm_pvm may deliver int $0x80 from ring 3 as #UD (PLATFORM.md): take it as the call. */
static void on_ud(struct trap_frame *f)
{
	const uint8_t *ip = (const uint8_t *)f->rip;

	if ((f->cs & 3) == 3 && ip[0] == 0xcd && ip[1] == 0x80)
		on_syscall(f);
	kprintf("vsockbench BAD: #UD at %lx\n", f->rip);
	reset();
}

static void setup_ring3(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gd, id;
	uint64_t cr4, t = (uint64_t)(uintptr_t)&tss;
	struct idt_entry {
		uint16_t off_lo, sel;
		uint8_t ist, type;
		uint16_t off_mid;
		uint32_t off_hi, zero;
	} *idt;

	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | 0x87; /* P W U PS */
		pdpt[i] = (uint64_t)(uintptr_t)pd[i] | 7;
	}
	pml4[0] = (uint64_t)(uintptr_t)pdpt | 7;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 &= ~((1ULL << 20) | (1ULL << 21)); /* no SMEP/SMAP: ring 0 traps run on user pages */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");
	gdt64[0] = 0;
	gdt64[1] = 0x00cf9b000000ffffULL;
	gdt64[2] = 0x00af9b000000ffffULL;
	gdt64[3] = 0x00cf93000000ffffULL;
	gdt64[4] = 0x00cff3000000ffffULL; /* user data */
	gdt64[5] = 0x00affb000000ffffULL; /* user code64 */
	tss.rsp[0] = (uint64_t)(uintptr_t)(kstack + sizeof(kstack));
	tss.iomap_base = sizeof(tss);
	gdt64[6] = (sizeof(tss) - 1) | (t & 0xffffff) << 16 | 0x89ULL << 40 | ((t >> 24) & 0xff) << 56;
	gdt64[7] = t >> 32;
	gd.limit = sizeof(gdt64) - 1;
	gd.base = (uint64_t)(uintptr_t)gdt64;
	__asm__ volatile("lgdt %0" : : "m"(gd));
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS));
	__asm__ volatile("sidt %0" : "=m"(id));
	idt = (struct idt_entry *)id.base;
	idt[0x80].type = 0xee;
	trap_set_handler(0x80, on_syscall);
	trap_set_handler(6, on_ud);
}

void kmain(struct boot_info *bi)
{
	int r = vs_open(&vs, bi, devs, &rxmem[0][0], NRX, RXSIZE);
	uint64_t sp = (uint64_t)(uintptr_t)(ustack + sizeof(ustack) - 8);

	if (r) {
		kprintf("vsockbench BAD: no usable virtio-vsock device (step %d)\n", -r);
		reset();
	}
	src_bytes = cmdline_uint(bi, "vsockbench.bytes", src_bytes);
	vs.buf_alloc = NRX * 65536;
	vs.max_pkt = PKT;
	vs.rx.avail->flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: polling */
	vs.tx.avail->flags = 1;
	for (uint32_t p = 7000; p <= 7003; p++)
		vs_listen(&vs, p);
	setup_ring3();
	kprintf("vsockbench: ready, cid %lu, source %lu bytes; entering ring 3\n", vs.cid, src_bytes);
	__asm__ volatile("pushq %0\n\t"
			 "pushq %1\n\t"
			 "pushq $0x3002\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "iretq"
			 :
			 : "i"(SEL_UDATA | 3), "r"(sp), "i"(SEL_UCODE | 3), "r"((uint64_t)(uintptr_t)user_main)
			 : "memory");
	__builtin_unreachable();
}
