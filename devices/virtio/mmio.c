// SPDX-License-Identifier: MIT
#include "devices/virtio/mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"

/* Register offsets (virtio 1.2 §4.2.2, "MMIO Device Register Layout"). */
enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x46504e48 /* "HNPF": flashpan */

static uint64_t offered_features(const struct virtio_dev *d)
{
	return d->ops->features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_INDIRECT_DESC) |
	       (1ULL << VIRTIO_F_EVENT_IDX);
}

bool virtio_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	return d->driver_features & (1ULL << bit);
}

bool virtio_running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void virtio_interrupt(struct virtio_dev *d, uint32_t why)
{
	uint64_t one = 1;

	d->interrupt_status |= why;
	if (write(d->irqfd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only on counter overflow: already pending. */
	}
}

void virtio_signal_used(struct virtio_dev *d, uint16_t q)
{
	if (virtq_needs_interrupt(&d->vq[q]))
		virtio_interrupt(d, VIRTIO_INT_USED);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_interrupt(d, VIRTIO_INT_CONFIG);
}

static void virtio_warn(struct virtio_dev *d, const char *what)
{
	if (d->warned)
		return;
	d->warned = true;
	fprintf(stderr, "flashpan: %s@0x%" PRIx64 ": %s (further guest errors on this device not logged)\n",
		d->ops->name, d->base, what);
}

void virtio_fail(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	virtio_warn(d, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* §2.1.2: a device that sets DEVICE_NEEDS_RESET sends a configuration change notification. */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_interrupt(d, VIRTIO_INT_CONFIG);
}

static void virtio_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i]);
	d->status = 0;
	d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
	d->driver_features = 0;
	d->interrupt_status = 0;
	/* d->warned stays set: a guest looping reset -> bad request must not flood the log. */
}

static void virtio_set_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t added = v & ~d->status;

	if (v == 0) {
		virtio_reset(d);
		return;
	}
	/* The driver cannot clear bits (only reset), nor set NEEDS_RESET itself. */
	v = (v | d->status) & ~VIRTIO_STATUS_NEEDS_RESET;
	v |= d->status & VIRTIO_STATUS_NEEDS_RESET;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		/* §3.1.1: accept only a subset of what we offer, and VERSION_1 is required. */
		if ((d->driver_features & ~offered_features(d)) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1)) {
			virtio_warn(d, "driver accepted features the device did not offer, or not VERSION_1");
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_warn(d, "DRIVER_OK without FEATURES_OK");
		v &= ~VIRTIO_STATUS_DRIVER_OK;
	}
	d->status = v;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && (v & VIRTIO_STATUS_DRIVER_OK) && d->ops->activate &&
	    d->ops->activate(d))
		virtio_fail(d, "device could not start");
}

static struct virtq *selected_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->nr_queues ? &d->vq[d->queue_sel] : NULL;
}

static void virtio_queue_ready(struct virtio_dev *d, struct virtq *q, uint32_t v)
{
	int err;

	if (!v) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	if (q->size > d->ops->queue_max) {
		virtio_fail(d, "queue size larger than QueueNumMax");
		return;
	}
	err = virtq_activate(q, &d->vm->mem, virtio_has_feature(d, VIRTIO_F_EVENT_IDX));
	if (err)
		virtio_fail(d, virtq_strerror(err));
}

static uint32_t virtio_reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtq *q = selected_queue(d);

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return d->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case REG_DEVICE_FEATURES:
		if (d->device_features_sel > 1)
			return 0;
		return (uint32_t)(offered_features(d) >> (32 * d->device_features_sel));
	case REG_QUEUE_NUM_MAX:
		return q ? d->ops->queue_max : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return d->interrupt_status;
	case REG_STATUS:
		return d->status;
	case REG_CONFIG_GENERATION:
		return d->config_generation;
	default:
		return 0;
	}
}

static void virtio_reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *q = selected_queue(d);
	bool queue_setup = !(d->status & VIRTIO_STATUS_DRIVER_OK) || !q || !q->ready;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		d->device_features_sel = v;
		return;
	case REG_DRIVER_FEATURES_SEL:
		d->driver_features_sel = v;
		return;
	case REG_DRIVER_FEATURES:
		/* Features are frozen once FEATURES_OK is set (§3.1.1). */
		if (d->driver_features_sel > 1 || (d->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		d->driver_features &= ~(0xffffffffULL << (32 * d->driver_features_sel));
		d->driver_features |= (uint64_t)v << (32 * d->driver_features_sel);
		return;
	case REG_QUEUE_SEL:
		d->queue_sel = v;
		return;
	case REG_INTERRUPT_ACK:
		d->interrupt_status &= ~v;
		return;
	case REG_STATUS:
		virtio_set_status(d, v);
		return;
	case REG_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; reaching here means a bad queue index. */
		return;
	}
	if (!q)
		return;
	if (off == REG_QUEUE_READY) {
		virtio_queue_ready(d, q, v);
		return;
	}
	/* Queue addresses and size may change only while the queue is not ready. */
	if (!queue_setup || q->ready)
		return;
	switch (off) {
	case REG_QUEUE_NUM:
		q->size = v > 0xffff ? 0 : (uint16_t)v; /* checked at QueueReady */
		break;
	case REG_QUEUE_DESC_LOW:
		q->desc_gpa = (q->desc_gpa & ~0xffffffffULL) | v;
		break;
	case REG_QUEUE_DESC_HIGH:
		q->desc_gpa = (q->desc_gpa & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	case REG_QUEUE_DRIVER_LOW:
		q->avail_gpa = (q->avail_gpa & ~0xffffffffULL) | v;
		break;
	case REG_QUEUE_DRIVER_HIGH:
		q->avail_gpa = (q->avail_gpa & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	case REG_QUEUE_DEVICE_LOW:
		q->used_gpa = (q->used_gpa & ~0xffffffffULL) | v;
		break;
	case REG_QUEUE_DEVICE_HIGH:
		q->used_gpa = (q->used_gpa & 0xffffffffULL) | ((uint64_t)v << 32);
		break;
	}
}

static void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (off >= REG_CONFIG) {
		uint64_t coff = off - REG_CONFIG;

		if (coff >= d->ops->config_size || len > d->ops->config_size - coff) {
			if (!is_write)
				memset(data, 0, len);
		} else if (is_write) {
			if (d->ops->config_write)
				d->ops->config_write(d, (uint32_t)coff, data, len);
		} else {
			memset(data, 0, len);
			if (d->ops->config_read)
				d->ops->config_read(d, (uint32_t)coff, data, len);
		}
	} else if (len != 4 || (off & 3)) {
		/* §4.2.2.2: control registers are 32-bit, aligned. Anything else is ignored. */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		uint32_t v;

		memcpy(&v, data, 4);
		virtio_reg_write(d, off, v);
	} else {
		uint32_t v = virtio_reg_read(d, off);

		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Event loop: the guest wrote a queue index to QueueNotify (an ioeventfd per queue). */
static void virtio_ioeventfd_ready(void *opaque, uint32_t events)
{
	struct virtio_notifier *n = opaque;
	struct virtio_dev *d = n->dev;
	uint64_t cnt;

	if (read(d->ioeventfd[n->queue], &cnt, sizeof(cnt)) < 0)
		return;
	pthread_mutex_lock(&d->lock);
	if (!virtio_running(d) || !d->vq[n->queue].ready) {
		if (!(d->status & VIRTIO_STATUS_NEEDS_RESET))
			virtio_warn(d, "queue notification before DRIVER_OK or for a queue not ready; ignored");
	} else if (d->ops->notify) {
		d->ops->notify(d, n->queue);
	}
	pthread_mutex_unlock(&d->lock);
}

static int kvm_ioeventfd(struct virtio_dev *d, uint16_t q, bool assign)
{
	struct kvm_ioeventfd ev = {
		.datamatch = q,
		.addr = d->base + REG_QUEUE_NOTIFY,
		.len = 4,
		.fd = d->ioeventfd[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &ev) < 0 ? -errno : 0;
}

static int kvm_irqfd(struct virtio_dev *d, bool assign)
{
	struct kvm_irqfd irq = { .fd = d->irqfd, .gsi = d->gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	return ioctl(d->vm->vm_fd, KVM_IRQFD, &irq) < 0 ? -errno : 0;
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *d)
{
	int n = vm->nr_virtio_devs, err;

	d->vm = vm;
	d->irqfd = -1;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		d->ioeventfd[i] = -1;
	if (n >= VIRTIO_MMIO_MAX_DEVICES) {
		fprintf(stderr, "flashpan: at most %d virtio devices\n", VIRTIO_MMIO_MAX_DEVICES);
		return -ENOSPC;
	}
	if (d->ops->nr_queues == 0 || d->ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    d->ops->queue_max > VIRTQ_MAX_SIZE || (d->ops->queue_max & (d->ops->queue_max - 1)))
		return -EINVAL;
	pthread_mutex_init(&d->lock, NULL);
	d->base = VIRTIO_MMIO_BASE + (uint64_t)n * VIRTIO_MMIO_SIZE;
	d->gsi = VIRTIO_MMIO_GSI_BASE + n;
	d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irqfd < 0 || (err = kvm_irqfd(d, true))) {
		err = d->irqfd < 0 ? -errno : err;
		fprintf(stderr, "flashpan: %s: KVM_IRQFD: %s\n", d->ops->name, strerror(-err));
		return err;
	}
	for (uint16_t q = 0; q < d->ops->nr_queues; q++) {
		d->notifier[q] = (struct virtio_notifier){ .dev = d, .queue = q };
		d->ioeventfd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->ioeventfd[q] < 0)
			return -errno;
		err = kvm_ioeventfd(d, q, true);
		if (!err)
			err = loop_add(&vm->loop, d->ioeventfd[q], EPOLLIN, virtio_ioeventfd_ready, &d->notifier[q]);
		if (err) {
			fprintf(stderr, "flashpan: %s: queue %u notification: %s\n", d->ops->name, q, strerror(-err));
			return err;
		}
	}
	err = bus_register(&vm->mmio, d->base, VIRTIO_MMIO_SIZE, virtio_mmio_io, d, d->ops->name);
	if (err)
		return err;
	vm->virtio_devs[vm->nr_virtio_devs++] = d;
	return 0;
}

void virtio_mmio_remove(struct virtio_dev *d)
{
	for (uint16_t q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (d->ioeventfd[q] < 0)
			continue;
		loop_del(&d->vm->loop, d->ioeventfd[q]);
		kvm_ioeventfd(d, q, false);
		close(d->ioeventfd[q]);
		d->ioeventfd[q] = -1;
	}
	if (d->irqfd >= 0) {
		kvm_irqfd(d, false);
		close(d->irqfd);
		d->irqfd = -1;
	}
}

int virtio_mmio_cmdline(const struct virtio_dev *d, char *buf, size_t len)
{
	return snprintf(buf, len, "virtio_mmio.device=4K@0x%" PRIx64 ":%u", d->base, d->gsi);
}
