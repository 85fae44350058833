// SPDX-License-Identifier: MIT
/*
 * Polling virtio-mmio driver for the test kernels. See virtio.h.
 */
#include "virtio.h"

/* ---- memory ---- */

#define POOL_SIZE (256 * 1024)
static uint8_t pool[POOL_SIZE] __attribute__((aligned(4096)));
static uint32_t pool_used;

void *virtio_alloc(uint32_t size)
{
	uint32_t n = (size + 4095) & ~4095u;
	void *p;

	if (n > POOL_SIZE - pool_used)
		return NULL;
	p = pool + pool_used;
	pool_used += n;
	memset(p, 0, n);
	return p;
}

/* Offsets inside a queue's memory: desc (16-aligned), avail (2), used (4) (§2.7). */
static uint32_t avail_off(uint16_t size)
{
	return 16u * size;
}

static uint32_t used_off(uint16_t size)
{
	return (avail_off(size) + 6 + 2u * size + 63) & ~63u;
}

uint32_t virtq_mem_size(uint16_t size)
{
	return used_off(size) + 6 + 8u * size;
}

/* ---- discovery ---- */

/* Parses a number (decimal or 0x hex) with an optional K/M/G suffix. */
static const char *parse_num(const char *p, uint64_t *out, bool suffix)
{
	uint64_t n = 0;
	unsigned int base = 10;
	const char *start;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (start = p;; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
			d = (*p | 0x20) - 'a' + 10;
		else
			break;
		n = n * base + d;
	}
	if (p == start)
		return NULL;
	if (suffix && (*p == 'K' || *p == 'k'))
		n <<= 10, p++;
	else if (suffix && (*p == 'M' || *p == 'm'))
		n <<= 20, p++;
	else if (suffix && (*p == 'G' || *p == 'g'))
		n <<= 30, p++;
	*out = n;
	return p;
}

int virtio_find_devices(const struct boot_info *bi, struct virtio_dev *devs, int max)
{
	static const char key[] = "virtio_mmio.device=";
	const char *p = bi->cmdline;
	int n = 0;

	while (*p && n < max) {
		uint64_t size, base, irq;
		const char *w;
		size_t i = 0;

		while (*p == ' ')
			p++;
		w = p;
		while (*p && *p != ' ')
			p++;
		while (key[i] && w[i] == key[i])
			i++;
		if (key[i])
			continue;
		/* <size>@<base>:<irq>[:<id>] (Linux's virtio_mmio_cmdline_devices). */
		w = parse_num(w + i, &size, true);
		if (!w || *w != '@' || !(w = parse_num(w + 1, &base, false)) || *w != ':' ||
		    !parse_num(w + 1, &irq, false) || base >= (1ULL << 32) || size < 0x100) {
			kprintf("virtio: cannot parse a virtio_mmio.device word\n");
			continue;
		}
		struct virtio_dev *d = &devs[n];

		*d = (struct virtio_dev){ .base = base, .size = size, .irq = (uint32_t)irq };
		if (virtio_read32(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC) {
			kprintf("virtio: no virtio magic at 0x%lx\n", base);
			continue;
		}
		d->version = virtio_read32(d, VIRTIO_MMIO_VERSION);
		d->device_id = virtio_read32(d, VIRTIO_MMIO_DEVICE_ID);
		d->vendor_id = virtio_read32(d, VIRTIO_MMIO_VENDOR_ID);
		n++;
	}
	return n;
}

const char *virtio_id_name(uint32_t device_id)
{
	switch (device_id) {
	case 0:
		return "empty";
	case VIRTIO_ID_NET:
		return "virtio-net";
	case VIRTIO_ID_BLOCK:
		return "virtio-blk";
	case VIRTIO_ID_VSOCK:
		return "virtio-vsock";
	default:
		return "other";
	}
}

/* ---- status and features (§3.1.1) ---- */

int virtio_reset(struct virtio_dev *d)
{
	virtio_write32(d, VIRTIO_MMIO_STATUS, 0);
	/* §4.2.3.1: the reset is done when Status reads back 0. */
	for (int i = 0; i < 1000; i++) {
		if (virtio_status(d) == 0)
			return 0;
		cpu_relax();
	}
	return -1;
}

static void set_status(struct virtio_dev *d, uint32_t bits)
{
	virtio_write32(d, VIRTIO_MMIO_STATUS, virtio_status(d) | bits);
}

int virtio_dev_begin(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t offered;

	if (virtio_read32(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
	    virtio_read32(d, VIRTIO_MMIO_VERSION) != 2)
		return -1;
	if (virtio_reset(d))
		return -1;
	set_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(d, VIRTIO_STATUS_DRIVER);
	virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	virtio_write32(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= virtio_read32(d, VIRTIO_MMIO_DEVICE_FEATURES);
	d->device_features = offered;
	d->features = offered & (wanted | (1ULL << VIRTIO_F_VERSION_1));
	virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_write32(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	set_status(d, VIRTIO_STATUS_FEATURES_OK);
	if (!virtio_has(d, VIRTIO_F_VERSION_1) || !(virtio_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		set_status(d, VIRTIO_STATUS_FAILED);
		return -2;
	}
	return 0;
}

int virtio_dev_ready(struct virtio_dev *d)
{
	set_status(d, VIRTIO_STATUS_DRIVER_OK);
	return (virtio_status(d) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
			       VIRTIO_STATUS_DRIVER_OK ? 0 : -1;
}

/* ---- configuration space ---- */

/*
 * §4.2.2.2 / §2.5.1: retry while ConfigGeneration changes under us. Bytes
 * one at a time: every width is legal for the device-specific region, and
 * the kernels only read a few fields.
 */
void virtio_config_read(const struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *b = buf;
	uint32_t gen;
	int tries = 0;

	do {
		gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
		for (uint32_t i = 0; i < len; i++)
			b[i] = *(volatile uint8_t *)(d->base + VIRTIO_MMIO_CONFIG + off + i);
	} while (gen != virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION) && ++tries < 100);
}

uint8_t virtio_config8(const struct virtio_dev *d, uint32_t off)
{
	return *(volatile uint8_t *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint16_t virtio_config16(const struct virtio_dev *d, uint32_t off)
{
	return *(volatile uint16_t *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

uint32_t virtio_config32(const struct virtio_dev *d, uint32_t off)
{
	return *(volatile uint32_t *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

/* A 64-bit field is two 32-bit reads (§4.2.2.2), so it needs the generation check. */
uint64_t virtio_config64(const struct virtio_dev *d, uint32_t off)
{
	uint32_t gen, lo, hi;
	int tries = 0;

	do {
		gen = virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = virtio_config32(d, off);
		hi = virtio_config32(d, off + 4);
	} while (gen != virtio_read32(d, VIRTIO_MMIO_CONFIG_GENERATION) && ++tries < 100);
	return (uint64_t)hi << 32 | lo;
}

/* ---- virtqueues ---- */

void virtq_init_rings(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t size)
{
	uint8_t *m;

	if (!q->mem)
		q->mem = virtio_alloc(virtq_mem_size(VIRTQ_MAX));
	m = q->mem;
	memset(m, 0, virtq_mem_size(size));
	q->dev = d;
	q->index = index;
	q->size = size;
	q->desc = (volatile struct virtq_desc *)m;
	q->avail = (volatile struct virtq_avail *)(m + avail_off(size));
	q->used = (volatile struct virtq_used *)(m + used_off(size));
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = i + 1;
	q->free_head = 0;
	q->nr_free = size;
	q->avail_idx = 0;
	q->last_used = 0;
}

uint32_t virtq_program(struct virtq *q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct virtio_dev *d = q->dev;

	virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, q->index);
	virtio_write32(d, VIRTIO_MMIO_QUEUE_NUM, num);
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	virtio_write32(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	virtio_barrier();
	virtio_write32(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return virtio_read32(d, VIRTIO_MMIO_QUEUE_READY);
}

int virtq_setup(struct virtq *q, struct virtio_dev *d, uint16_t index, uint16_t size)
{
	uint32_t max;

	virtio_write32(d, VIRTIO_MMIO_QUEUE_SEL, index);
	/* §4.2.3.2: the queue must not be in use, and must exist (QueueNumMax != 0). */
	if (virtio_read32(d, VIRTIO_MMIO_QUEUE_READY))
		return -1;
	max = virtio_read32(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0)
		return -1;
	if (size > max)
		size = (uint16_t)max;
	if (size > VIRTQ_MAX)
		size = VIRTQ_MAX;
	virtq_init_rings(q, d, index, size);
	if (!q->mem)
		return -1;
	return virtq_program(q, size, (uintptr_t)q->desc, (uintptr_t)q->avail, (uintptr_t)q->used) == 1 ? 0
													   : -1;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int nr_out, unsigned int nr_in)
{
	unsigned int n = nr_out + nr_in;
	uint16_t head = q->free_head, i = head, last = head;

	if (n == 0 || n > q->nr_free)
		return -1;
	for (unsigned int k = 0; k < n; k++) {
		volatile struct virtq_desc *dsc = &q->desc[i];

		dsc->addr = (uintptr_t)bufs[k].addr;
		dsc->len = bufs[k].len;
		dsc->flags = (k >= nr_out ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
		last = i;
		i = dsc->next;
	}
	q->free_head = i;
	q->nr_free -= n;
	q->desc[last].next = 0;
	virtq_publish(q, head);
	return head;
}

void virtq_publish(struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->size] = head;
	/* §2.7.13: the ring entry before the index that makes it visible. */
	virtio_barrier();
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
}

void virtq_kick(struct virtq *q)
{
	/* The index store before the notification (§2.7.13.3.1); x86 keeps store order. */
	virtio_barrier();
	virtio_write32(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

enum virtq_wait_result virtq_wait(struct virtq *q, uint32_t ms)
{
	uint64_t deadline = virtio_deadline(ms);

	for (uint32_t spins = 0;; spins++) {
		if (q->used->idx != q->last_used)
			return VIRTQ_WAIT_USED;
		/* A register read is a VM exit: look at Status only now and then. */
		if ((spins & 255) == 255) {
			if (virtio_status(q->dev) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED))
				return q->used->idx != q->last_used ? VIRTQ_WAIT_USED : VIRTQ_WAIT_NEEDS_RESET;
			if (virtio_expired(deadline))
				return VIRTQ_WAIT_TIMEOUT;
		}
		cpu_relax();
	}
}

int virtq_get_used(struct virtq *q, uint32_t *len)
{
	uint16_t head, i;
	uint32_t l;

	if (q->used->idx == q->last_used)
		return -1;
	/* The entry is read after the index that published it. */
	virtio_barrier();
	head = (uint16_t)q->used->ring[q->last_used % q->size].id;
	l = q->used->ring[q->last_used % q->size].len;
	q->last_used++;
	if (len)
		*len = l;
	if (head >= q->size)
		return -1;
	/* Give the chain back to the free list (bounded: a device could corrupt nothing here). */
	for (i = head; q->desc[i].flags & VIRTQ_DESC_F_NEXT && q->nr_free < q->size; i = q->desc[i].next)
		q->nr_free++;
	q->nr_free++;
	q->desc[i].next = q->free_head;
	q->free_head = head;
	return head;
}

int virtq_submit(struct virtq *q, const struct virtq_buf *bufs, unsigned int nr_out, unsigned int nr_in,
		 uint32_t *len, uint32_t ms)
{
	enum virtq_wait_result w;

	if (virtq_add(q, bufs, nr_out, nr_in) < 0)
		return VIRTQ_SUBMIT_FULL;
	virtq_kick(q);
	w = virtq_wait(q, ms);
	if (w == VIRTQ_WAIT_TIMEOUT)
		return VIRTQ_SUBMIT_TIMEOUT;
	if (w == VIRTQ_WAIT_NEEDS_RESET)
		return VIRTQ_SUBMIT_NEEDS_RESET;
	return virtq_get_used(q, len);
}
