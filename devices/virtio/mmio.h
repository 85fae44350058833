/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 §4.2.2).
 *
 * Each device gets a 4 KiB register window in the MMIO hole and its own GSI,
 * declared to a Linux guest as `virtio_mmio.device=4K@<base>:<gsi>`. Register
 * reads and writes run on the vCPU thread that trapped them; QueueNotify is a
 * KVM_IOEVENTFD per queue and never exits to user space, and interrupts go out
 * through a KVM_IRQFD, so queue work happens on the event loop thread. One
 * mutex per device orders the two.
 */
#ifndef FLASHPAN_VIRTIO_MMIO_H
#define FLASHPAN_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/queue.h"
#include "vmm/kvm.h"

#define VIRTIO_MAX_QUEUES 16
#define VIRTIO_MMIO_MAX_DEVICES VM_MAX_VIRTIO_DEVS

/* Feature bits (virtio 1.2 §6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE  1
#define VIRTIO_STATUS_DRIVER       2
#define VIRTIO_STATUS_DRIVER_OK    4
#define VIRTIO_STATUS_FEATURES_OK  8
#define VIRTIO_STATUS_NEEDS_RESET  64
#define VIRTIO_STATUS_FAILED       128

#define VIRTIO_INT_USED   1
#define VIRTIO_INT_CONFIG 2

struct virtio_dev;

/* What an ioeventfd callback needs: which device, which queue. */
struct virtio_notifier {
	struct virtio_dev *dev;
	uint16_t queue;
};

struct virtio_dev_ops {
	const char *name;       /* "virtio-blk" */
	uint32_t device_id;     /* §5: 2 block, 1 net, 19 vsock */
	uint64_t features;      /* device features; VERSION_1, INDIRECT_DESC, EVENT_IDX are added */
	uint16_t nr_queues;
	uint16_t queue_max;     /* QueueNumMax, a power of 2 <= VIRTQ_MAX_SIZE */
	uint32_t config_size;
	/* vCPU thread, device lock held. `off` + `len` lie inside config_size. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* Event loop, device lock held: the driver notified queue `q` (ready, DRIVER_OK). */
	void (*notify)(struct virtio_dev *d, uint16_t q);
	/* vCPU thread, lock held: DRIVER_OK was set. Non-zero fails the device. */
	int (*activate)(struct virtio_dev *d);
	/* vCPU thread, lock held: the driver reset the device; drop every request. */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_dev {
	struct vm *vm;
	const struct virtio_dev_ops *ops;
	void *priv;
	pthread_mutex_t lock;
	uint64_t base;
	uint32_t gsi;
	int irqfd;
	int ioeventfd[VIRTIO_MAX_QUEUES];
	struct virtio_notifier notifier[VIRTIO_MAX_QUEUES];

	/* Transport registers (§4.2.2). */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq vq[VIRTIO_MAX_QUEUES];

	bool warned; /* one log line per device for guest mistakes */
};

/*
 * Give `d` (ops and priv set by the caller) the next MMIO window and GSI,
 * its irqfd and ioeventfds. Returns 0 or -errno after printing why.
 */
int virtio_mmio_add(struct vm *vm, struct virtio_dev *d);
/* Unregister the eventfds from KVM and the loop; close them. */
void virtio_mmio_remove(struct virtio_dev *d);
/* The `virtio_mmio.device=` word for the kernel command line. */
int virtio_mmio_cmdline(const struct virtio_dev *d, char *buf, size_t len);

/* Whether the driver accepted feature `bit`. */
bool virtio_has_feature(const struct virtio_dev *d, unsigned int bit);
/* After pushing used buffers to queue q: interrupt if the driver wants one. Lock held. */
void virtio_signal_used(struct virtio_dev *d, uint16_t q);
/* The device configuration changed. Lock held. */
void virtio_config_changed(struct virtio_dev *d);
/*
 * The driver broke the rules (or the device cannot go on): set
 * DEVICE_NEEDS_RESET, tell the driver, log the reason once. Lock held.
 */
void virtio_fail(struct virtio_dev *d, const char *why);
/* Whether queues may be processed: DRIVER_OK and not failed. */
bool virtio_running(const struct virtio_dev *d);

#endif
