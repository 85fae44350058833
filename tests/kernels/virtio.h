/* SPDX-License-Identifier: MIT */
/*
 * A small polling virtio-mmio (version 2) driver for the test kernels
 * (virtio 1.2 §4.2 transport, §2.7 split virtqueues, §3.1 initialization).
 *
 * Devices come from the `virtio_mmio.device=<size>@<base>:<irq>` words of
 * the command line (flashpan and QEMU microvm with acpi=off both write them).
 * Everything is identity-mapped below 4 GiB, so a guest-physical address is
 * a pointer. Interrupts stay off: completions are found by polling the used
 * ring against a TSC deadline. Guest CPL0 code is emulated on kvm_pvm hosts
 * (~5M instructions/s), so the poll loops are short and every wait bounded.
 *
 * The structures are public on purpose: the hostile kernels write the rings
 * and registers directly to break the rules.
 */
#ifndef TK_VIRTIO_H
#define TK_VIRTIO_H

#include "lib.h"

/* MMIO register offsets (§4.2.2). Only 32-bit aligned accesses, except config. */
#define VIRTIO_MMIO_MAGIC_VALUE        0x000
#define VIRTIO_MMIO_VERSION            0x004
#define VIRTIO_MMIO_DEVICE_ID          0x008
#define VIRTIO_MMIO_VENDOR_ID          0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM          0x038
#define VIRTIO_MMIO_QUEUE_READY        0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc
#define VIRTIO_MMIO_CONFIG             0x100

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */

/* Device status (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

/* Transport feature bits (§6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device ids (§5). */
#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_VSOCK 19

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTIO_MAX_DEVS 16
#define VIRTQ_MAX 256 /* largest queue this driver sets up */

/* Rough TSC rate for deadlines; real rates are 2-4 GHz, so waits are 0.7-1.5x. */
#define VIRTIO_TSC_PER_MS 2600000ULL
#define VIRTIO_WAIT_MS    3000 /* default bound for a request to complete */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* [size], then avail_event */
};

struct virtio_dev {
	uintptr_t base;
	uint64_t size;      /* of the register window, from the command line */
	uint32_t irq;
	uint32_t version;   /* 2 expected; 1 is legacy and not driven here */
	uint32_t device_id; /* 0: an empty slot */
	uint32_t vendor_id;
	uint64_t device_features; /* offered, read by virtio_dev_begin */
	uint64_t features;        /* negotiated */
};

struct virtq {
	struct virtio_dev *dev;
	uint16_t index, size;
	volatile struct virtq_desc *desc;
	volatile struct virtq_avail *avail;
	volatile struct virtq_used *used;
	void *mem;          /* ring memory, kept across resets */
	uint16_t free_head, nr_free;
	uint16_t avail_idx; /* next avail->idx we publish */
	uint16_t last_used; /* next used entry we consume */
};

/* One buffer of a chain; device-readable ones come first (§2.7.4). */
struct virtq_buf {
	void *addr;
	uint32_t len;
};

enum virtq_wait_result {
	VIRTQ_WAIT_USED = 1,        /* a used entry is there to take */
	VIRTQ_WAIT_TIMEOUT = 0,
	VIRTQ_WAIT_NEEDS_RESET = -1, /* the device set DEVICE_NEEDS_RESET (or FAILED) */
};

/* lib.c provides it (gcc may emit calls to it anyway). */
void *memset(void *dst, int c, size_t n);

static inline void virtio_barrier(void) { __asm__ volatile("" ::: "memory"); }

static inline uint32_t virtio_read32(const struct virtio_dev *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->base + off);
}

static inline void virtio_write32(const struct virtio_dev *d, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(d->base + off) = v;
}

/*
 * EVENT_IDX notification suppression for drivers that poll (virtio 1.2 §2.7.10):
 * used_event sits after the avail ring, avail_event after the used ring.
 */
static inline volatile uint16_t *virtq_used_event(struct virtq *q)
{
	return (volatile uint16_t *)&q->avail->ring[q->size];
}

static inline volatile uint16_t *virtq_avail_event(struct virtq *q)
{
	return (volatile uint16_t *)&q->used->ring[q->size];
}

/* vring_need_event: did new_idx pass event since old_idx? */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * Publish avail->idx (the entries were written by the caller) and notify only
 * if the device asks for it: avail_event with EVENT_IDX, else used->flags
 * NO_NOTIFY (§2.7.13). *kicked_idx is the index at the previous call.
 * Returns whether it notified.
 */
static inline bool virtq_publish_kick(struct virtq *q, bool event_idx, uint16_t *kicked_idx)
{
	bool kick;

	virtio_barrier();
	q->avail->idx = q->avail_idx;
	__asm__ volatile("mfence" ::: "memory"); /* the idx store before reading the device's state */
	if (event_idx)
		kick = virtq_need_event(*virtq_avail_event(q), q->avail_idx, *kicked_idx);
	else
		kick = !(q->used->flags & 1 /* VIRTQ_USED_F_NO_NOTIFY */);
	*kicked_idx = q->avail_idx;
	if (kick)
		virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
	return kick;
}

static inline uint32_t virtio_status(const struct virtio_dev *d)
{
	return virtio_read32(d, VIRTIO_MMIO_STATUS);
}

static inline bool virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return d->features & (1ULL << bit);
}

/* Deadline `ms` milliseconds from now, for virtio_expired(). */
static inline uint64_t virtio_deadline(uint32_t ms)
{
	return rdtsc() + ms * VIRTIO_TSC_PER_MS;
}

static inline bool virtio_expired(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

/*
 * Finds the devices the command line declares, in its order, and reads their
 * identity registers. Words whose window has no virtio magic are skipped.
 * Returns how many were filled.
 */
int virtio_find_devices(const struct boot_info *bi, struct virtio_dev *devs, int max);
/* "virtio-blk", "virtio-net", ... or "id N". */
const char *virtio_id_name(uint32_t device_id);

/* Writes 0 to Status and waits (bounded) until it reads back 0 (§4.2.3.1). */
int virtio_reset(struct virtio_dev *d);
/*
 * §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, accept `wanted` & offered
 * (VERSION_1 always), FEATURES_OK, and check the device kept it. Returns 0,
 * -1 if this is no version-2 virtio device, -2 if FEATURES_OK was refused.
 */
int virtio_dev_begin(struct virtio_dev *d, uint64_t wanted);
/* §3.1.1 step 8: DRIVER_OK. Returns 0, or -1 if the device did not keep it. */
int virtio_dev_ready(struct virtio_dev *d);

/* Configuration space (§4.2.2.2), read under ConfigGeneration. */
uint8_t virtio_config8(const struct virtio_dev *d, uint32_t off);
uint16_t virtio_config16(const struct virtio_dev *d, uint32_t off);
uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off);
uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off);
void virtio_config_read(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len);

/* Ring memory for a queue of `size` entries: desc, avail, used (§2.7). */
uint32_t virtq_mem_size(uint16_t size);
/* 4 KiB-aligned zeroed memory from a static pool, never freed; NULL if exhausted. */
void *virtio_alloc(uint32_t size);

/*
 * Queue `index` with `size` entries (clamped to QueueNumMax and VIRTQ_MAX):
 * zeroes the rings, writes QueueNum, the ring addresses and QueueReady, and
 * checks QueueReady reads back 1. Ring memory is taken from the pool on the
 * first call and reused afterwards. Returns 0 or -1.
 */
int virtq_setup(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t size);
/* The same, but only the ring layout and free list: no register writes. */
void virtq_init_rings(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t size);
/* Writes QueueNum, the three ring addresses and QueueReady=1; returns QueueReady. */
uint32_t virtq_program(struct virtq *q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used);

/*
 * Puts a chain of nr_out device-readable then nr_in device-writable buffers
 * on the available ring (not notified yet). Returns the head, or -1 if there
 * are not enough free descriptors.
 */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int nr_out, unsigned int nr_in);
/* Publishes a head already in the descriptor table (avail ring + idx). */
void virtq_publish(struct virtq *q, uint16_t head);
/* QueueNotify, after the ring writes are visible. */
void virtq_kick(struct virtq *q);
/* Polls until a used entry, DEVICE_NEEDS_RESET, or `ms` milliseconds. */
enum virtq_wait_result virtq_wait(struct virtq *q, uint32_t ms);
/* Takes the next used entry: returns its head (chain freed) and *len, or -1. */
int virtq_get_used(struct virtq *q, uint32_t *len);
/* add + kick + wait + get_used: the head, or one of these. */
enum {
	VIRTQ_SUBMIT_TIMEOUT = -1,
	VIRTQ_SUBMIT_NEEDS_RESET = -2,
	VIRTQ_SUBMIT_FULL = -3,
};
int virtq_submit(struct virtq *q, const struct virtq_buf *bufs, unsigned int nr_out, unsigned int nr_in,
		 uint32_t *len, uint32_t ms);

#endif
