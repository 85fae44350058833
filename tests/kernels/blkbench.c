// SPDX-License-Identifier: MIT
/*
 * blkbench: virtio-blk throughput from a request loop at CPL3 (bench/run.sh,
 * section blk). On kvm_pvm hosts guest CPL0 code is emulated (~5M instr/s)
 * and CPL3 code runs natively, so the kernel only does the setup at CPL0:
 *
 *   - finds the first virtio-blk disk, negotiates VERSION_1 (+ EVENT_IDX
 *     unless blkbench.evt=0), one queue of 256 entries, DRIVER_OK;
 *   - builds its own page tables (4 GiB identity, 2 MiB pages, U/S=1: the
 *     kernel image, the virtqueue pool, the buffers and the MMIO window at
 *     0xd0000000 all user-accessible), its own GDT (user code/data at DPL 3,
 *     a 64-bit TSS whose RSP0 takes traps from ring 3) and an IDT gate of
 *     DPL 3 for int $0x80;
 *   - iretq to ring 3 with RFLAGS.IOPL=3 and IF=0 (polling; interrupts
 *     suppressed with used_event / NO_INTERRUPT). kvm_pvm does not give ring 3
 *     the I/O ports (IOPL reads back 0 there; an `in` from ring 3 is a #GP),
 *     so the user loop prints through int $0x80 (ring 0 kprintf; not inside a
 *     timed window). kvm_pvm may deliver that int as #UD (PLATFORM.md): a #UD
 *     from ring 3 on an `int $0x80` instruction is taken as the same call.
 *
 * The user loop runs each test: QD requests always in flight, each a chain
 * of three descriptors (header, data, status); it polls used->idx, refills,
 * and notifies (QueueNotify: an MMIO write from CPL3, i.e. an ioeventfd exit)
 * when the device asks for it (EVENT_IDX avail_event, or used->flags).
 * A test runs blkbench.warm ms of warm-up, then counts completions for
 * blkbench.ms ms of TSC time (rate from tsc_khz= on the command line; the
 * harness measures the host's TSC rate), then drains. Output per test:
 *   start <test>
 *   end <test> ops=<n> bytes=<b> cycles=<c> errors=<e> kicks=<k> tsc_khz=<f>
 * then "blkbench: done" (int $0x80 call 0 from ring 3: back to ring 0) and reset.
 *
 * Tests (blkbench.tests=a,b,..., default all):
 *   qd1   4 KiB random reads, queue depth 1     (random 4 KiB-aligned sectors)
 *   qd32  4 KiB random reads, queue depth 32
 *   seqr  1 MiB sequential reads, queue depth 4 (one 1 MiB data descriptor)
 *   seqw  1 MiB sequential writes, queue depth 4
 * Offsets wrap within the disk's capacity. Diagnostic, only when asked for:
 *   notify  QueueNotify writes with nothing new on the ring (the exit alone), 250 ms at most
 */
#include "blk_common.h"
#include "ring3.h"

const char kernel_name[] = "blkbench";

#define QSIZE      256
#define MAX_QD     64
#define SEQ_BS     (1024 * 1024)
#define SEQ_QD     4
#define RAND_BS    4096




static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct blk blk;


/* Data buffers: MAX_QD x 4 KiB for the random tests, SEQ_QD x 1 MiB for the sequential ones. */
static uint8_t rbuf[MAX_QD][RAND_BS] __attribute__((aligned(4096)));
static uint8_t sbuf[SEQ_QD][SEQ_BS] __attribute__((aligned(4096)));
static struct virtio_blk_req_hdr hdrs[MAX_QD] __attribute__((aligned(64)));
static volatile uint8_t statuses[MAX_QD];

/* Set at CPL0 from the command line, read by the user loop. */
static char tests[128];
static uint64_t tsc_khz = 2600000, run_ms = 2000, warm_ms = 200;
static bool event_idx;

/* ---- ring-3 request loop (everything from here to user_main runs at CPL3) ---- */

struct run {
	const char *name;
	uint32_t type; /* VIRTIO_BLK_T_IN / _OUT */
	uint32_t bs;
	unsigned int qd;
	bool random;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint64_t next_off;

static uint64_t next_sector(const struct run *r)
{
	uint64_t spr = r->bs / SECTOR, slots = blk.capacity / spr, s;

	if (r->random)
		return (xorshift() % slots) * spr;
	s = next_off;
	next_off += spr;
	if (next_off + spr > slots * spr)
		next_off = 0;
	return s;
}

static void *slot_buf(const struct run *r, unsigned int k)
{
	return r->bs == SEQ_BS ? (void *)sbuf[k] : (void *)rbuf[k];
}

/* Slot k owns descriptors 3k..3k+2; refills only its header and the avail ring. */
static void slot_prepare(struct virtq *q, const struct run *r, unsigned int k)
{
	volatile struct virtq_desc *d = &q->desc[3 * k];
	uint16_t dflag = r->type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;

	d[0] = (struct virtq_desc){ (uintptr_t)&hdrs[k], sizeof(hdrs[k]), VIRTQ_DESC_F_NEXT, 3 * k + 1 };
	d[1] = (struct virtq_desc){ (uintptr_t)slot_buf(r, k), r->bs, dflag | VIRTQ_DESC_F_NEXT, 3 * k + 2 };
	d[2] = (struct virtq_desc){ (uintptr_t)&statuses[k], 1, VIRTQ_DESC_F_WRITE, 0 };
	hdrs[k] = (struct virtio_blk_req_hdr){ .type = r->type };
}

static inline void slot_submit(struct virtq *q, const struct run *r, unsigned int k)
{
	hdrs[k].sector = next_sector(r);
	statuses[k] = 0xff;
	q->avail->ring[q->avail_idx % q->size] = (uint16_t)(3 * k);
	q->avail_idx++;
}

static uint16_t kicked_idx;
static uint64_t kicks;

/* Calls into ring 0: int $0x80, RAX = call, RDI/RSI = arguments. */
enum { SYS_EXIT, SYS_START, SYS_END, SYS_ERROR };

struct result {
	const char *name;
	uint64_t ops, bytes, cycles, errors, kicks;
	unsigned int inflight;
	uint16_t used, avail;
};


static bool want(const char *name)
{
	size_t n = kstrlen(name);

	for (const char *p = tests; *p;) {
		const char *e = p;

		while (*e && *e != ',')
			e++;
		if ((size_t)(e - p) == n) {
			size_t i = 0;

			while (i < n && p[i] == name[i])
				i++;
			if (i == n)
				return true;
		}
		p = *e ? e + 1 : e;
	}
	return false;
}

static void run_test(const struct run *r)
{
	struct virtq *q = &blk.q;
	uint64_t per_ms = tsc_khz, t0, t_meas, t_end, t_stop = 0, last_progress;
	uint64_t ops = 0, errors = 0;
	unsigned int inflight = 0;
	bool measuring = false, stopping = false;

	kicks = 0;
	next_off = 0;
	for (unsigned int k = 0; k < r->qd; k++)
		slot_prepare(q, r, k);
	ring3_call(SYS_START, r->name);
	t0 = rdtsc();
	t_meas = t0 + warm_ms * per_ms;
	t_end = t_meas + run_ms * per_ms;
	for (unsigned int k = 0; k < r->qd; k++)
		slot_submit(q, r, k);
	inflight = r->qd;
	kicks += virtq_publish_kick(q, event_idx, &kicked_idx);
	last_progress = t0;
	for (;;) {
		uint16_t used = q->used->idx;
		uint64_t now;

		if (used == q->last_used) {
			now = rdtsc();
			if (now - last_progress > 5000 * per_ms) {
				struct result e = { .name = r->name, .inflight = inflight, .used = used,
						    .avail = q->avail_idx };

				ring3_call(SYS_ERROR, &e);
				break;
			}
			if (!measuring && now >= t_meas) {
				measuring = true;
				t_meas = now;
				kicks = 0;
			}
			if (measuring && !stopping && now >= t_end) {
				stopping = true;
				t_stop = now;
			}
			cpu_relax();
			continue;
		}
		virtio_barrier();
		now = rdtsc();
		last_progress = now;
		if (!measuring && now >= t_meas) {
			measuring = true;
			t_meas = now;
			kicks = 0;
		}
		if (measuring && !stopping && now >= t_end) {
			stopping = true;
			t_stop = now;
		}
		while (q->last_used != used) {
			uint32_t id = q->used->ring[q->last_used % q->size].id;
			unsigned int k = id / 3;

			q->last_used++;
			inflight--;
			if (k >= r->qd || statuses[k] != VIRTIO_BLK_S_OK) {
				errors++;
				if (k >= r->qd)
					continue;
			}
			if (measuring && !stopping)
				ops++;
			if (!stopping) {
				slot_submit(q, r, k);
				inflight++;
			}
		}
		/* Keep the device from interrupting (IF=0 anyway; saves the VMM the irqfd write). */
		*virtq_used_event(q) = (uint16_t)(q->last_used - 1);
		if (stopping) {
			if (!inflight)
				break;
			continue;
		}
		kicks += virtq_publish_kick(q, event_idx, &kicked_idx);
	}
	if (!t_stop)
		t_stop = rdtsc();
	struct result res = { .name = r->name, .ops = ops, .bytes = ops * r->bs, .cycles = t_stop - t_meas,
			      .errors = errors, .kicks = kicks };

	ring3_call(SYS_END, &res);
}

/* Diagnostic (not in the default set): QueueNotify writes with nothing new on the ring, i.e. the cost of the exit alone. */
static void run_notify(void)
{
	struct virtq *q = &blk.q;
	uint64_t t0, t1, n = 0, per_ms = tsc_khz;

	ring3_call(SYS_START, "notify");
	t0 = rdtsc();
	t1 = t0 + (run_ms < 250 ? run_ms : 250) * per_ms;
	do {
		virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
		n++;
	} while (rdtsc() < t1);
	struct result res = { .name = "notify", .ops = n, .cycles = rdtsc() - t0, .kicks = n };

	ring3_call(SYS_END, &res);
}

static const struct run runs[] = {
	{ "qd1", VIRTIO_BLK_T_IN, RAND_BS, 1, true },
	{ "qd32", VIRTIO_BLK_T_IN, RAND_BS, 32, true },
	{ "seqr", VIRTIO_BLK_T_IN, SEQ_BS, SEQ_QD, false },
	{ "seqw", VIRTIO_BLK_T_OUT, SEQ_BS, SEQ_QD, false },
};

static void __attribute__((noreturn)) user_main(void)
{
	/* The write test's data: not zeroes (written here, natively). */
	for (unsigned int k = 0; k < SEQ_QD; k++)
		for (uint32_t i = 0; i < SEQ_BS; i += 8)
			*(uint64_t *)&sbuf[k][i] = xorshift();
	for (unsigned int i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		if (want(runs[i].name))
			run_test(&runs[i]);
	if (want("notify"))
		run_notify();
	ring3_call(SYS_EXIT, NULL);
	for (;;)
		cpu_relax();
}

/* ---- CPL0 setup ---- */

static void on_syscall(struct trap_frame *f)
{
	const struct result *r = (const void *)f->rdi;

	switch (f->rax) {
	case SYS_START:
		kprintf("start %s\n", (const char *)f->rdi);
		break;
	case SYS_END:
		kprintf("end %s ops=%lu bytes=%lu cycles=%lu errors=%lu kicks=%lu tsc_khz=%lu\n", r->name, r->ops,
			r->bytes, r->cycles, r->errors, r->kicks, tsc_khz);
		break;
	case SYS_ERROR:
		kprintf("error %s: no completion for 5 s (%u in flight, used %u, avail %u)\n", r->name, r->inflight,
			r->used, r->avail);
		break;
	default:
		kprintf("blkbench: done; back in ring 0 by %s from cs=0x%lx\n",
			ring3_ud_seen() ? "#UD on int $0x80 (kvm_pvm)" : "int $0x80", f->cs);
		reset();
	}
}




void kmain(struct boot_info *bi)
{
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS), i;
	const char *t = cmdline_value(bi, "blkbench.tests");
	size_t len = 0;

	if (!t)
		t = "qd1,qd32,seqr,seqw";
	while (t[len] && t[len] != ' ' && len < sizeof(tests) - 1) {
		tests[len] = t[len];
		len++;
	}
	tests[len] = 0;
	tsc_khz = cmdline_uint(bi, "tsc_khz", tsc_khz);
	run_ms = cmdline_uint(bi, "blkbench.ms", run_ms);
	warm_ms = cmdline_uint(bi, "blkbench.warm", warm_ms);
	for (i = 0; i < n && devs[i].device_id != VIRTIO_ID_BLOCK; i++)
		;
	if (i == n) {
		kprintf("blkbench BAD: no virtio-blk disk (%d virtio devices)\n", n);
		return;
	}
	blk.qsize = QSIZE;
	if (cmdline_uint(bi, "blkbench.evt", 1))
		blk.extra_features = 1ULL << VIRTIO_F_EVENT_IDX;
	if (blk_open(&blk, &devs[i])) {
		kprintf("blkbench BAD: cannot open the disk\n");
		return;
	}
	event_idx = virtio_has(blk.dev, VIRTIO_F_EVENT_IDX);
	if (blk.q.size < 3 * 32 || blk.capacity < 2 * SEQ_BS / SECTOR) {
		kprintf("blkbench BAD: queue size %u or capacity %lu too small\n", blk.q.size, blk.capacity);
		return;
	}
	if (!event_idx)
		blk.q.avail->flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	kprintf("blkbench: disk at 0x%lx, features 0x%lx, queue %u, event_idx %d, capacity %lu sectors, tests %s;"
		" entering ring 3\n", blk.dev->base, blk.dev->features, blk.q.size, event_idx, blk.capacity, tests);
	ring3_setup(on_syscall);
	ring3_enter(user_main);
}
