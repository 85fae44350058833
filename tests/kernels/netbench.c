// SPDX-License-Identifier: MIT
/*
 * netbench: virtio-net frame rates from a loop at CPL3 (bench/run.sh, section net). On kvm_pvm
 * hosts guest CPL0 code is emulated (~5M instr/s) and CPL3 code runs natively, so the kernel
 * only does the setup at CPL0, like blkbench (tests/kernels/blkbench.c; its ring-3 entry is
 * static inside that file, so the same few steps are written out again here):
 *
 *   - finds the first virtio-net device, negotiates VERSION_1 (+ EVENT_IDX unless
 *     netbench.evt=0; no mergeable buffers: each frame in one buffer, 12-byte header), the
 *     receive and transmit queues of 256 entries, DRIVER_OK;
 *   - own page tables (4 GiB identity, 2 MiB pages, U/S=1: kernel image, rings, buffers and the
 *     MMIO window all user-accessible), a GDT with user code/data at DPL 3 and a TSS, an IDT gate
 *     of DPL 3 for int $0x80 (a #UD on `int $0x80` from ring 3, as kvm_pvm may deliver it, is
 *     taken as the same call);
 *   - iretq to ring 3 with IOPL=3 and IF=0 (polling; interrupts suppressed with used_event).
 *
 * One test per boot (netbench.test=tx|rx, netbench.size=FRAME bytes, Ethernet header included,
 * 14..1514):
 *   tx  the transmit ring kept full of frames (each one descriptor: 12-byte header + frame, to
 *       02:00:00:00:00:01, ethertype 0x88b5); completions polled on the used ring, descriptors
 *       refilled and the device notified when EVENT_IDX's avail_event asks for it.
 *   rx  256 receive buffers of 12 + 1514 bytes always posted; completions polled and reposted.
 *       A frame whose length is not netbench.size counts as an error (frames of another size
 *       on a TAP, e.g. the host's own IPv6 chatter, are not counted as frames).
 * netbench.warm ms of warm-up, then frames are counted for netbench.ms ms of TSC time (rate
 * from tsc_khz= on the command line). Output:
 *   start <test>
 *   end <test> frames=<n> bytes=<b> cycles=<c> errors=<e> kicks=<k> tsc_khz=<f>
 *   netbench: done
 * and an i8042 reset. "error <test>: ..." when nothing completed for 5 s.
 */
#include "virtio.h"
#include "ring3.h"

const char kernel_name[] = "netbench";

#define QSIZE     256
#define HDR_LEN   12
#define FRAME_MAX 1514
#define BUF_LEN   (HDR_LEN + FRAME_MAX)
#define ETHERTYPE 0x88b5




static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct virtio_dev *dev;
static struct virtq rxq, txq;


static uint8_t bufs[QSIZE][BUF_LEN + 6] __attribute__((aligned(64)));

/* Set at CPL0 from the command line, read by the user loop. */
static uint64_t tsc_khz = 2600000, run_ms = 1000, warm_ms = 200, frame_size = 64;
static bool event_idx, test_rx;
static uint8_t mac[6];

/* ---- ring-3 loop (everything from here to user_main runs at CPL3) ---- */


static uint64_t kicks;

/* Calls into ring 0: int $0x80, RAX = call, RDI = argument. */
enum { SYS_EXIT, SYS_START, SYS_END, SYS_ERROR };

struct result {
	const char *name;
	uint64_t frames, bytes, cycles, errors, kicks;
	uint16_t used, avail;
};


static void run_test(void)
{
	struct virtq *q = test_rx ? &rxq : &txq;
	const char *name = test_rx ? "rx" : "tx";
	uint64_t per_ms = tsc_khz, t0, t_meas, t_end, last_progress, now;
	uint64_t frames = 0, bytes = 0, errors = 0;
	uint16_t kicked_idx = 0;
	bool measuring = false;

	/* Every descriptor i is buffer i; the avail ring only carries ids. */
	for (unsigned int i = 0; i < q->size; i++) {
		uint8_t *b = bufs[i];

		if (test_rx) {
			q->desc[i] = (struct virtq_desc){ (uintptr_t)b, BUF_LEN, VIRTQ_DESC_F_WRITE, 0 };
		} else {
			for (unsigned int k = 0; k < HDR_LEN; k++)
				b[k] = 0;
			uint8_t *f = b + HDR_LEN;
			for (unsigned int k = 0; k < frame_size; k++)
				f[k] = (uint8_t)(i + k);
			f[0] = 0x02, f[1] = f[2] = f[3] = f[4] = 0, f[5] = 1;
			for (int k = 0; k < 6; k++)
				f[6 + k] = mac[k];
			f[12] = ETHERTYPE >> 8;
			f[13] = ETHERTYPE & 0xff;
			q->desc[i] = (struct virtq_desc){ (uintptr_t)b, HDR_LEN + (uint32_t)frame_size, 0, 0 };
		}
		q->avail->ring[i] = (uint16_t)i;
	}
	/* No interrupts: used_event kept behind (EVENT_IDX) or NO_INTERRUPT. */
	*virtq_used_event(q) = (uint16_t)(q->last_used - 1);
	ring3_call(SYS_START, name);
	t0 = rdtsc();
	t_meas = t0 + warm_ms * per_ms;
	t_end = t_meas + run_ms * per_ms;
	q->avail_idx = (uint16_t)(q->avail_idx + q->size);
	kicks += virtq_publish_kick(q, event_idx, &kicked_idx);
	last_progress = t0;
	for (;;) {
		uint16_t used = q->used->idx;

		now = rdtsc();
		if (!measuring && now >= t_meas) {
			measuring = true;
			t_meas = now;
			frames = bytes = errors = 0;
			kicks = 0;
		}
		if (measuring && now >= t_end)
			break;
		if (used == q->last_used) {
			if (now - last_progress > 5000 * per_ms) {
				struct result e = { .name = name, .used = used, .avail = q->avail_idx };

				ring3_call(SYS_ERROR, &e);
				break;
			}
			/* The device may wait for a kick that a stale avail_event hid (both sides idle). */
			cpu_relax();
			continue;
		}
		virtio_barrier();
		last_progress = now;
		while (q->last_used != used) {
			volatile struct virtq_used_elem *e = &q->used->ring[q->last_used % q->size];
			uint32_t id = e->id, len = e->len;

			q->last_used++;
			if (id >= q->size) {
				errors++;
				continue;
			}
			if (test_rx) {
				if (len != HDR_LEN + frame_size) {
					errors++;
				} else {
					frames++;
					bytes += frame_size;
				}
			} else {
				frames++;
				bytes += frame_size;
			}
			q->avail->ring[q->avail_idx % q->size] = (uint16_t)id;
			q->avail_idx++;
		}
		*virtq_used_event(q) = (uint16_t)(q->last_used - 1);
		kicks += virtq_publish_kick(q, event_idx, &kicked_idx);
	}
	struct result res = { .name = name, .frames = frames, .bytes = bytes, .cycles = now - t_meas,
			      .errors = errors, .kicks = kicks };

	ring3_call(SYS_END, &res);
}

static void __attribute__((noreturn)) user_main(void)
{
	run_test();
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
		kprintf("end %s frames=%lu bytes=%lu cycles=%lu errors=%lu kicks=%lu tsc_khz=%lu size=%lu\n", r->name,
			r->frames, r->bytes, r->cycles, r->errors, r->kicks, tsc_khz, frame_size);
		break;
	case SYS_ERROR:
		kprintf("error %s: nothing completed for 5 s (used %u, avail %u)\n", r->name, r->used, r->avail);
		break;
	default:
		kprintf("netbench: done; back in ring 0 by %s from cs=0x%lx\n",
			ring3_ud_seen() ? "#UD on int $0x80 (kvm_pvm)" : "int $0x80", f->cs);
		reset();
	}
}




void kmain(struct boot_info *bi)
{
	uint64_t want = 1ULL << 5 /* VIRTIO_NET_F_MAC */;
	const char *t = cmdline_value(bi, "netbench.test");
	int n = virtio_find_devices(bi, devs, VIRTIO_MAX_DEVS);

	for (int i = 0; i < n && !dev; i++)
		if (devs[i].device_id == VIRTIO_ID_NET)
			dev = &devs[i];
	if (!dev) {
		kprintf("netbench BAD: no virtio-net device (%d virtio devices)\n", n);
		return;
	}
	test_rx = t && t[0] == 'r' && t[1] == 'x';
	tsc_khz = cmdline_uint(bi, "tsc_khz", tsc_khz);
	run_ms = cmdline_uint(bi, "netbench.ms", run_ms);
	warm_ms = cmdline_uint(bi, "netbench.warm", warm_ms);
	frame_size = cmdline_uint(bi, "netbench.size", frame_size);
	if (frame_size < 14 || frame_size > FRAME_MAX) {
		kprintf("netbench BAD: netbench.size=%lu (14..%u)\n", frame_size, FRAME_MAX);
		return;
	}
	if (cmdline_uint(bi, "netbench.evt", 1))
		want |= 1ULL << VIRTIO_F_EVENT_IDX;
	if (virtio_dev_begin(dev, want)) {
		kprintf("netbench BAD: feature negotiation failed\n");
		return;
	}
	virtio_config_read(dev, 0, mac, 6);
	if (virtq_setup(&rxq, dev, 0, QSIZE) || virtq_setup(&txq, dev, 1, QSIZE) || virtio_dev_ready(dev)) {
		kprintf("netbench BAD: queue setup failed (status %x)\n", virtio_status(dev));
		return;
	}
	if (rxq.size != QSIZE || txq.size != QSIZE) {
		kprintf("netbench BAD: queue sizes %u/%u, want %u\n", rxq.size, txq.size, QSIZE);
		return;
	}
	event_idx = virtio_has(dev, VIRTIO_F_EVENT_IDX);
	if (!event_idx) {
		rxq.avail->flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
		txq.avail->flags = 1;
	}
	kprintf("netbench: net at 0x%lx, features 0x%lx, queues %u, event_idx %d, test %s, %lu-byte frames;"
		" entering ring 3\n", dev->base, dev->features, QSIZE, event_idx, test_rx ? "rx" : "tx", frame_size);
	ring3_setup(on_syscall);
	ring3_enter(user_main);
}
