// SPDX-License-Identifier: MIT
#include "devices/virtio/queue.h"

#include <stdatomic.h>
#include <string.h>

/* Ring layouts (virtio 1.2 §2.7.6 and §2.7.8), in 16-bit words. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   1
#define AVAIL_RING  2
#define USED_FLAGS  0
#define USED_IDX    1
#define USED_RING   2 /* 16-bit word where the {id, len} elements start */

const char *virtq_strerror(int err)
{
	switch (err) {
	case VIRTQ_ERR_RING:
		return "queue rings outside guest memory, misaligned, or a bad queue size";
	case VIRTQ_ERR_AVAIL_IDX:
		return "available index ran more than a queue size ahead";
	case VIRTQ_ERR_HEAD:
		return "descriptor index out of range";
	case VIRTQ_ERR_DESC_MEM:
		return "descriptor buffer outside guest memory";
	case VIRTQ_ERR_LOOP:
		return "descriptor chain longer than the queue (loop)";
	case VIRTQ_ERR_INDIRECT:
		return "malformed indirect descriptor table";
	case VIRTQ_ERR_ORDER:
		return "device-readable descriptor after a device-writable one";
	case VIRTQ_ERR_TOO_MANY:
		return "descriptor chain has too many buffers";
	case VIRTQ_ERR_LENGTH:
		return "descriptor chain longer than 4 GiB";
	default:
		return "no error";
	}
}

static uint16_t load16(volatile uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store16(volatile uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

int virtq_activate(struct virtq *q, const struct guest_mem *mem, bool event_idx)
{
	uint64_t n = q->size;

	/* §2.7: queue size a power of 2, at most 32768; alignment 16 / 2 / 4 (§2.7.2). */
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) || (q->desc_gpa & 15) || (q->avail_gpa & 1) ||
	    (q->used_gpa & 3))
		return VIRTQ_ERR_RING;
	q->desc = guest_mem_ptr(mem, q->desc_gpa, 16 * n);
	q->avail = guest_mem_ptr(mem, q->avail_gpa, 6 + 2 * n);
	q->used = guest_mem_ptr(mem, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL;
		q->avail = q->used = NULL;
		return VIRTQ_ERR_RING;
	}
	q->mem = mem;
	q->event_idx = event_idx;
	q->last_avail = 0;
	q->used_idx = load16(&q->used[USED_IDX]);
	q->signalled_valid = false;
	q->ready = true;
	return VIRTQ_OK;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

uint16_t virtq_pending(const struct virtq *q)
{
	if (!q->ready)
		return 0;
	return (uint16_t)(load16(&q->avail[AVAIL_IDX]) - q->last_avail);
}

static int chain_add(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (!writable && c->nr_in)
		return VIRTQ_ERR_ORDER;
	if (c->nr_out + c->nr_in >= c->iov_cap)
		return VIRTQ_ERR_TOO_MANY;
	if ((uint64_t)c->out_len + c->in_len + d->len > UINT32_MAX)
		return VIRTQ_ERR_LENGTH;
	/* A zero-length buffer is legal and touches nothing. */
	p = d->len ? guest_mem_ptr(q->mem, d->addr, d->len) : NULL;
	if (d->len && !p)
		return VIRTQ_ERR_DESC_MEM;
	c->iov[c->nr_out + c->nr_in] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	if (writable) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return VIRTQ_OK;
}

/* Walk an indirect table (§2.7.5.3): no nesting, at most VIRTQ_MAX_SIZE entries, no loops. */
static int walk_indirect(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *ind)
{
	const struct virtq_desc *table;
	uint32_t n = ind->len / sizeof(struct virtq_desc);
	uint32_t i = 0, steps = 0;
	int err;

	if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) || n > VIRTQ_MAX_SIZE ||
	    (ind->flags & VIRTQ_DESC_F_NEXT))
		return VIRTQ_ERR_INDIRECT;
	table = guest_mem_ptr(q->mem, ind->addr, ind->len);
	if (!table)
		return VIRTQ_ERR_DESC_MEM;
	for (;;) {
		struct virtq_desc d;

		memcpy(&d, &table[i], sizeof(d)); /* one read: the guest may change it under us */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return VIRTQ_ERR_INDIRECT;
		err = chain_add(q, c, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_OK;
		if (++steps >= n)
			return VIRTQ_ERR_LOOP;
		i = d.next;
		if (i >= n)
			return VIRTQ_ERR_HEAD;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t avail_idx, head, i;
	uint32_t steps = 0;
	int err;

	if (!q->ready)
		return 0;
	avail_idx = load16(&q->avail[AVAIL_IDX]);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return VIRTQ_ERR_AVAIL_IDX;
	/* The ring entry is read after the index (acquire in load16). */
	head = load16(&q->avail[AVAIL_RING + q->last_avail % q->size]);
	q->last_avail++;
	if (head >= q->size)
		return VIRTQ_ERR_HEAD;
	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (i = head;;) {
		struct virtq_desc d;

		memcpy(&d, &q->desc[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* An indirect descriptor is the whole chain (§2.7.5.3.1). */
			if (c->nr_out + c->nr_in)
				return VIRTQ_ERR_INDIRECT;
			err = walk_indirect(q, c, &d);
			return err ? err : 1;
		}
		err = chain_add(q, c, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (++steps >= q->size)
			return VIRTQ_ERR_LOOP;
		i = d.next;
		if (i >= q->size)
			return VIRTQ_ERR_HEAD;
	}
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	volatile uint32_t *elem = (volatile uint32_t *)&q->used[USED_RING] + 2 * (q->used_idx % q->size);

	elem[0] = head;
	elem[1] = written;
	q->used_idx++;
	/* The element must be visible before the index that publishes it. */
	store16(&q->used[USED_IDX], q->used_idx);
}

/* vring_need_event (§2.7.10): did new_idx pass event_idx since old_idx? */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_needs_interrupt(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_valid;

	if (!q->ready)
		return false;
	/* Order our used-index store before reading the driver's suppression fields. */
	atomic_thread_fence(memory_order_seq_cst);
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(load16(&q->avail[AVAIL_FLAGS]) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return need_event(load16(&q->avail[AVAIL_RING + q->size]), now, old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	if (q->event_idx)
		store16(&q->used[USED_RING + 4 * q->size], q->last_avail); /* avail_event */
	atomic_thread_fence(memory_order_seq_cst);
	return load16(&q->avail[AVAIL_IDX]) != q->last_avail;
}
