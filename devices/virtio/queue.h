/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side (virtio 1.2 §2.7).
 *
 * The driver (guest) owns the descriptor table and the available ring; the
 * device (us) owns the used ring. Every index and address read from guest
 * memory is validated here: a chain that leaves guest memory, loops, is
 * longer than the queue, nests indirect tables or puts a readable descriptor
 * after a writable one is reported as malformed, and the device then sets
 * DEVICE_NEEDS_RESET (the transport's job), never crashes or spins.
 */
#ifndef FLASHPAN_VIRTIO_QUEUE_H
#define FLASHPAN_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/mem.h"

#define VIRTQ_MAX_SIZE 1024 /* largest queue a device offers (QueueNumMax) */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq {
	/* Set by the driver through the transport before QueueReady. */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */

	/* Host views of the rings, valid while ready. */
	struct virtq_desc *desc;
	volatile uint16_t *avail;  /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;   /* flags, idx, then {u32 id, u32 len}[size], avail_event */
	const struct guest_mem *mem;

	uint16_t last_avail; /* next available-ring entry to take */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled_used; /* used->idx when we last interrupted */
	bool signalled_valid;
};

/*
 * One request: its head descriptor index and its buffers as host iovecs,
 * device-readable ones (out) first, then device-writable ones (in).
 */
struct virtq_chain {
	uint16_t head;
	uint16_t nr_out, nr_in;
	uint32_t out_len, in_len;
	struct iovec *iov;   /* caller's array */
	uint16_t iov_cap;
};

enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_ERR_RING = -1,      /* ring outside memory, bad size or alignment */
	VIRTQ_ERR_AVAIL_IDX = -2, /* more entries available than the queue holds */
	VIRTQ_ERR_HEAD = -3,      /* head index out of range */
	VIRTQ_ERR_DESC_MEM = -4,  /* a buffer outside guest memory */
	VIRTQ_ERR_LOOP = -5,      /* chain longer than the queue (a loop) */
	VIRTQ_ERR_INDIRECT = -6,  /* bad indirect table: nested, misaligned size, with NEXT, empty */
	VIRTQ_ERR_ORDER = -7,     /* readable descriptor after a writable one */
	VIRTQ_ERR_TOO_MANY = -8,  /* more buffers than the caller's iovec array */
	VIRTQ_ERR_LENGTH = -9,    /* chain over 4 GiB in total */
};

const char *virtq_strerror(int err);

/* Validate the rings the driver set and map them; VIRTQ_OK or VIRTQ_ERR_RING. */
int virtq_activate(struct virtq *q, const struct guest_mem *mem, bool event_idx);
/* Forget everything (device reset). */
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain: 1 with *chain filled, 0 if none is
 * available, or a negative virtq_error when the driver broke the rules.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);
/* Return a chain to the driver with `written` bytes in its writable buffers. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * interrupt (avail flags or used_event, §2.7.7 / §2.7.10). Call once after a
 * batch of pushes; it records that we signalled.
 */
bool virtq_needs_interrupt(struct virtq *q);
/*
 * With EVENT_IDX, ask for a notification at the next available entry. Returns
 * true if more entries arrived meanwhile (the caller must pop again).
 */
bool virtq_enable_notify(struct virtq *q);
/* Chains the driver has made available and we have not taken. */
uint16_t virtq_pending(const struct virtq *q);

#endif
