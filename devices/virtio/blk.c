// SPDX-License-Identifier: MIT
#include "devices/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/blk_image.h"
#include "devices/virtio/blk_req.h"

/* Feature bits (virtio 1.2 §5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define BLK_QUEUE_MAX 256
/* Data buffers per request we accept (seg_max); the header and status may take two more. */
#define BLK_SEG_MAX   126
#define BLK_IOV_MAX   (BLK_SEG_MAX + 2)

/* §5.2.4 struct virtio_blk_config, up to the write-zeroes fields. */
struct blk_config_space {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct blk_config_space) == 60, "virtio_blk_config layout");

/* A request from the time it is popped until its status is pushed (or it is found stale). */
struct blk_op {
	struct blk *blk;
	struct blk_op *next_free;
	uint32_t gen;           /* blk->gen when popped */
	uint16_t queue;
	struct blk_req req;
	uint64_t offset;        /* next file byte for IN/OUT */
	uint16_t next_range;    /* DISCARD/WRITE_ZEROES: ranges are done one after another */
	uint32_t written;       /* bytes for the used ring, status byte included */
	struct virtq_chain chain;
	struct iovec iov[BLK_IOV_MAX];
};

struct blk {
	struct virtio_dev vdev;
	struct virtio_dev_ops ops;
	struct blk_config_space cfg_space;
	struct blk_limits lim;
	char id[BLK_ID_BYTES];
	char *path;
	int fd;

	struct io_uring ring;
	bool ring_ok;
	int efd;                 /* completion eventfd, registered with the ring */
	unsigned int in_flight;  /* io_uring operations not yet reaped */
	uint32_t gen;            /* bumped by every driver reset */
	struct blk_op *free_ops;
	uint8_t *busy;           /* [queue * VIRTQ_MAX_SIZE + head]: head in flight (a reuse is a driver bug) */
	uint32_t signal_mask;    /* queues with used entries not yet signalled */
};

int blk_open(const struct blk_config *cfg, struct blk **out)
{
	struct blk *b = calloc(1, sizeof(*b));
	struct blk_image img;
	int err;

	if (!b)
		return -ENOMEM;
	b->efd = -1;
	b->fd = -1;
	b->path = strdup(cfg->path);
	err = blk_image_open(cfg, &img);
	if (err) {
		blk_destroy(b);
		return err;
	}
	b->fd = img.fd;
	b->lim.read_only = cfg->read_only;
	b->lim.capacity = img.capacity;
	b->lim.discard = img.can_punch;
	b->lim.write_zeroes = img.can_zero_range;
	memcpy(b->id, img.id, sizeof(b->id));
	*out = b;
	return 0;
}

/* ---- requests ---- */

static struct blk_op *op_get(struct blk *b)
{
	struct blk_op *op = b->free_ops;

	if (op) {
		b->free_ops = op->next_free;
		return op;
	}
	op = malloc(sizeof(*op));
	if (op)
		op->blk = b;
	return op;
}

static void op_put(struct blk *b, struct blk_op *op)
{
	op->next_free = b->free_ops;
	b->free_ops = op;
}

/* Give the request back to the driver with `status`, unless a reset made it stale. */
static void op_finish(struct blk *b, struct blk_op *op, uint8_t status)
{
	struct virtq *q = &b->vdev.vq[op->queue];

	if (op->gen == b->gen) {
		b->busy[op->queue * VIRTQ_MAX_SIZE + op->chain.head] = 0;
		if (q->ready) {
			*op->req.status = status;
			virtq_push(q, op->chain.head, op->written + 1);
			b->signal_mask |= 1u << op->queue;
		}
	}
	op_put(b, op);
}

/* An SQE, submitting what is queued when the submission ring is full. */
static struct io_uring_sqe *get_sqe(struct blk *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe && io_uring_submit(&b->ring) >= 0)
		sqe = io_uring_get_sqe(&b->ring);
	return sqe;
}

/* Queue the next io_uring operation of `op`. false: none could be queued. */
static bool op_queue(struct blk *b, struct blk_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(b);
	struct blk_req *r = &op->req;
	const struct blk_range *g;
	int mode;

	if (!sqe)
		return false;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, b->fd, r->data, r->nr_data, op->offset);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, b->fd, r->data, r->nr_data, op->offset);
		break;
	case VIRTIO_BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	default: /* DISCARD, WRITE_ZEROES: one range per operation */
		g = &r->range[op->next_range];
		mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
		/* WRITE_ZEROES keeps the blocks allocated unless the driver allowed unmapping. */
		if (r->type == VIRTIO_BLK_T_WRITE_ZEROES && !((g->flags & VIRTIO_BLK_WZ_F_UNMAP) && b->lim.discard))
			mode = FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE;
		io_uring_prep_fallocate(sqe, b->fd, mode, g->sector << BLK_SECTOR_SHIFT,
					(uint64_t)g->nr_sectors << BLK_SECTOR_SHIFT);
		break;
	}
	io_uring_sqe_set_data(sqe, op);
	b->in_flight++;
	return true;
}

/* Start `op`, or answer it at once when no I/O is needed. */
static void op_start(struct blk *b, struct blk_op *op, int status)
{
	struct blk_req *r = &op->req;

	op->written = 0;
	if (status == VIRTIO_BLK_S_OK) {
		switch (r->type) {
		case VIRTIO_BLK_T_GET_ID:
			op->written = (uint32_t)blk_iov_from_buf(r->data, r->nr_data, b->id, sizeof(b->id));
			op_finish(b, op, VIRTIO_BLK_S_OK);
			return;
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_OUT:
			if (!r->data_len) {
				op_finish(b, op, VIRTIO_BLK_S_OK);
				return;
			}
			op->offset = r->sector << BLK_SECTOR_SHIFT;
			break;
		case VIRTIO_BLK_T_FLUSH:
			if (b->lim.read_only) { /* nothing of ours to make durable */
				op_finish(b, op, VIRTIO_BLK_S_OK);
				return;
			}
			break;
		}
		op->next_range = 0;
		if (op_queue(b, op))
			return;
		status = VIRTIO_BLK_S_IOERR; /* io_uring refused more work */
	}
	op_finish(b, op, (uint8_t)status);
}

/* One io_uring completion for `op`: go on with it, or answer it. */
static void op_complete(struct blk *b, struct blk_op *op, int res)
{
	struct blk_req *r = &op->req;

	b->in_flight--;
	if (op->gen != b->gen) {
		/* Stale: the driver reset the device. The buffers were still mapped; drop it. */
		op_put(b, op);
		return;
	}
	if (res < 0) {
		op_finish(b, op, VIRTIO_BLK_S_IOERR); /* EIO, ENOSPC, ...: this request only */
		return;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->type == VIRTIO_BLK_T_IN)
			op->written += (uint32_t)res;
		if ((uint64_t)res < r->data_len) {
			/* Short transfer: go on with the rest; none at all would loop for ever. */
			if (res == 0) {
				op_finish(b, op, VIRTIO_BLK_S_IOERR);
				return;
			}
			blk_iov_advance(&r->data, &r->nr_data, (uint64_t)res);
			r->data_len -= (uint64_t)res;
			op->offset += (uint64_t)res;
			if (!op_queue(b, op))
				op_finish(b, op, VIRTIO_BLK_S_IOERR);
			return;
		}
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (++op->next_range < r->nr_ranges) {
			if (!op_queue(b, op))
				op_finish(b, op, VIRTIO_BLK_S_IOERR);
			return;
		}
		break;
	}
	op_finish(b, op, VIRTIO_BLK_S_OK);
}

/* Interrupt once per queue that got used entries since the last call. */
static void signal_queues(struct blk *b)
{
	for (uint16_t q = 0; b->signal_mask; q++) {
		if (b->signal_mask & (1u << q)) {
			b->signal_mask &= ~(1u << q);
			virtio_signal_used(&b->vdev, q);
		}
	}
}

/* Pop every available chain of queue q. false: the driver broke the queue. */
static bool blk_pop_queue(struct blk *b, uint16_t q)
{
	struct virtio_dev *d = &b->vdev;
	struct virtq *vq = &d->vq[q];
	unsigned int budget = vq->size;

	if (!vq->ready)
		return true;
	do {
		for (;;) {
			struct blk_op *op;
			int ret, status;

			/*
			 * A guest that refills the ring as fast as we answer (GET_ID, bad
			 * requests) must not hold the event loop: come back after the
			 * other events, through our own ioeventfd.
			 */
			if (!budget--) {
				uint64_t one = 1;

				if (d->ioeventfd[q] >= 0 && write(d->ioeventfd[q], &one, sizeof(one)) < 0) {
					/* Only fails when already signalled: a pass is pending. */
				}
				return true;
			}
			op = op_get(b);

			if (!op) {
				virtio_fail(d, "out of memory for block requests");
				return false;
			}
			op->chain = (struct virtq_chain){ .iov = op->iov, .iov_cap = BLK_IOV_MAX };
			ret = virtq_pop(vq, &op->chain);
			if (ret <= 0) {
				op_put(b, op);
				if (ret == 0)
					break;
				virtio_fail(d, virtq_strerror(ret));
				return false;
			}
			if (b->busy[q * VIRTQ_MAX_SIZE + op->chain.head]) {
				op_put(b, op);
				virtio_fail(d, "descriptor chain made available again while in flight");
				return false;
			}
			status = blk_req_parse(&op->chain, &b->lim, &op->req);
			if (status == BLK_REQ_NO_STATUS) {
				op_put(b, op);
				virtio_fail(d, "block request without a writable status byte");
				return false;
			}
			op->gen = b->gen;
			op->queue = q;
			b->busy[q * VIRTQ_MAX_SIZE + op->chain.head] = 1;
			op_start(b, op, status);
		}
		/* §2.7.10: re-arm the notification, then look again for what raced with it. */
	} while (virtq_enable_notify(vq));
	return true;
}

/* Event loop, lock held: a queue was notified. Take work from all queues, submit once. */
static void blk_notify(struct virtio_dev *d, uint16_t first)
{
	struct blk *b = d->priv;

	for (uint16_t i = 0; i < d->ops->nr_queues; i++) {
		if (!blk_pop_queue(b, (uint16_t)((first + i) % d->ops->nr_queues)))
			break;
	}
	io_uring_submit(&b->ring);
	signal_queues(b);
}

/* Reap what has completed. Lock held. */
static void blk_reap(struct blk *b)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	io_uring_for_each_cqe(&b->ring, head, cqe) {
		op_complete(b, io_uring_cqe_get_data(cqe), cqe->res);
		n++;
	}
	io_uring_cq_advance(&b->ring, n);
	io_uring_submit(&b->ring); /* continuations of short transfers and multi-range requests */
	if (virtio_running(&b->vdev))
		signal_queues(b);
	b->signal_mask = 0;
}

static void blk_on_completion(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	uint64_t cnt;

	if (read(b->efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	blk_reap(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

void blk_drain(struct blk *b)
{
	pthread_mutex_lock(&b->vdev.lock);
	while (b->in_flight) {
		int ret;

		/*
		 * Submit anything a failed io_uring_submit left queued, then sleep
		 * without the lock: vCPU threads may still take it for registers.
		 */
		pthread_mutex_unlock(&b->vdev.lock);
		ret = io_uring_submit_and_wait(&b->ring, 1);
		pthread_mutex_lock(&b->vdev.lock);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "flashpan: %s: io_uring: %s; %u requests abandoned\n", b->path,
				strerror(-ret), b->in_flight);
			break;
		}
		blk_reap(b);
	}
	pthread_mutex_unlock(&b->vdev.lock);
}

/* vCPU thread, lock held: the driver reset the device. In-flight requests become stale. */
static void blk_reset(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	b->gen++;
	memset(b->busy, 0, (size_t)VIRTIO_MAX_QUEUES * VIRTQ_MAX_SIZE);
	b->signal_mask = 0;
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct blk *b = d->priv;

	memcpy(data, (const uint8_t *)&b->cfg_space + off, len);
}

/* What the device offers, decided once the queue count is known. */
static void blk_setup_features(struct blk *b, unsigned int nr_queues)
{
	struct blk_config_space *c = &b->cfg_space;
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);

	c->capacity = htole64(b->lim.capacity);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(BLK_SECTOR_SIZE);
	c->num_queues = htole16((uint16_t)nr_queues);
	if (b->lim.read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (nr_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	if (b->lim.discard) {
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
		c->max_discard_sectors = htole32(BLK_MAX_RANGE_SECTORS);
		c->max_discard_seg = htole32(BLK_MAX_RANGES);
		c->discard_sector_alignment = htole32(4096 / BLK_SECTOR_SIZE);
	}
	if (b->lim.write_zeroes) {
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
		c->max_write_zeroes_sectors = htole32(BLK_MAX_RANGE_SECTORS);
		c->max_write_zeroes_seg = htole32(BLK_MAX_RANGES);
		c->write_zeroes_may_unmap = b->lim.discard;
	}
	b->ops = (struct virtio_dev_ops){
		.name = "virtio-blk",
		.device_id = 2,
		.features = f,
		.nr_queues = (uint16_t)nr_queues,
		.queue_max = BLK_QUEUE_MAX,
		.config_size = sizeof(*c),
		.config_read = blk_config_read,
		.notify = blk_notify,
		.reset = blk_reset,
	};
}

int blk_start(struct vm *vm, struct blk *b, unsigned int nr_queues)
{
	struct io_uring_params p = { .flags = IORING_SETUP_CQSIZE };
	int err;

	if (nr_queues < 1)
		nr_queues = 1;
	if (nr_queues > VIRTIO_MAX_QUEUES)
		nr_queues = VIRTIO_MAX_QUEUES;
	blk_setup_features(b, nr_queues);
	b->vdev.vm = vm;
	b->vdev.ops = &b->ops;
	b->vdev.priv = b;
	b->vdev.irqfd = -1;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		b->vdev.ioeventfd[i] = -1;
	pthread_mutex_init(&b->vdev.lock, NULL);
	b->busy = calloc(VIRTIO_MAX_QUEUES, VIRTQ_MAX_SIZE);
	if (!b->busy)
		return -ENOMEM;
	/* Room for a completion per request of every queue (each has one operation in flight). */
	p.cq_entries = 2 * nr_queues * BLK_QUEUE_MAX;
	err = io_uring_queue_init_params(BLK_QUEUE_MAX, &b->ring, &p);
	if (err < 0) {
		fprintf(stderr, "flashpan: --disk %s: io_uring: %s\n", b->path, strerror(-err));
		return err;
	}
	b->ring_ok = true;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0)
		return -errno;
	err = io_uring_register_eventfd(&b->ring, b->efd);
	if (!err)
		err = loop_add(&vm->loop, b->efd, EPOLLIN, blk_on_completion, b);
	if (err) {
		fprintf(stderr, "flashpan: --disk %s: completion eventfd: %s\n", b->path, strerror(-err));
		return err;
	}
	return 0;
}

int blk_attach(struct vm *vm, struct blk *b, unsigned int nr_queues)
{
	int err = blk_start(vm, b, nr_queues);

	return err ? err : virtio_mmio_add(vm, &b->vdev);
}

struct virtio_dev *blk_virtio_dev(struct blk *b)
{
	return &b->vdev;
}

void blk_destroy(struct blk *b)
{
	if (!b)
		return;
	if (b->ring_ok) {
		/* Guest memory and the file must outlive every operation the kernel still has. */
		blk_drain(b);
		io_uring_queue_exit(&b->ring);
	}
	if (b->vdev.vm)
		virtio_mmio_remove(&b->vdev);
	if (b->efd >= 0) {
		if (b->vdev.vm)
			loop_del(&b->vdev.vm->loop, b->efd);
		close(b->efd);
	}
	while (b->free_ops) {
		struct blk_op *op = b->free_ops;

		b->free_ops = op->next_free;
		free(op);
	}
	if (b->fd >= 0)
		close(b->fd); /* also drops the flock */
	free(b->busy);
	free(b->path);
	free(b);
}
