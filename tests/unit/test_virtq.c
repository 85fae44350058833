// SPDX-License-Identifier: MIT
/* The split virtqueue against rings a (hostile) driver builds in guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/queue.h"

#define QSZ 8
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define BUF_GPA   0x10000
#define IND_GPA   0x20000

struct rig {
	struct guest_mem mem;
	struct virtq q;
	struct virtq_desc *desc;
	uint16_t *avail;
	struct iovec iov[64];
	struct virtq_chain c;
};

static int setup(void **state)
{
	static struct rig r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(guest_mem_init(&r.mem, 16ULL << 20, false), 0);
	r.q.size = QSZ;
	r.q.desc_gpa = DESC_GPA;
	r.q.avail_gpa = AVAIL_GPA;
	r.q.used_gpa = USED_GPA;
	assert_int_equal(virtq_activate(&r.q, &r.mem, false), VIRTQ_OK);
	r.desc = guest_mem_ptr(&r.mem, DESC_GPA, 16 * QSZ);
	r.avail = guest_mem_ptr(&r.mem, AVAIL_GPA, 6 + 2 * QSZ);
	r.c.iov = r.iov;
	r.c.iov_cap = 64;
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;

	guest_mem_free(&r->mem);
	return 0;
}

static void make_available(struct rig *r, uint16_t head)
{
	r->avail[2 + r->avail[1] % QSZ] = head;
	r->avail[1]++;
}

static void set_desc(struct rig *r, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	r->desc[i] = (struct virtq_desc){ addr, len, flags, next };
}

static void test_chain_read_then_write(void **state)
{
	struct rig *r = *state;
	uint32_t *used;

	set_desc(r, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	set_desc(r, 3, BUF_GPA + 512, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set_desc(r, 5, BUF_GPA + 1024, 1, VIRTQ_DESC_F_WRITE, 0);
	make_available(r, 0);
	assert_int_equal(virtq_pending(&r->q), 1);
	assert_int_equal(virtq_pop(&r->q, &r->c), 1);
	assert_int_equal(r->c.head, 0);
	assert_int_equal(r->c.nr_out, 1);
	assert_int_equal(r->c.nr_in, 2);
	assert_int_equal(r->c.out_len, 16);
	assert_int_equal(r->c.in_len, 513);
	assert_ptr_equal(r->iov[1].iov_base, guest_mem_ptr(&r->mem, BUF_GPA + 512, 1));
	assert_int_equal(virtq_pop(&r->q, &r->c), 0);
	virtq_push(&r->q, 0, 513);
	used = guest_mem_ptr(&r->mem, USED_GPA, 6 + 8 * QSZ);
	assert_int_equal(((uint16_t *)used)[1], 1);  /* used idx */
	assert_int_equal(used[1], 0);                /* id */
	assert_int_equal(used[2], 513);              /* len */
	assert_true(virtq_needs_interrupt(&r->q));
	r->avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&r->q, 0, 0);
	assert_false(virtq_needs_interrupt(&r->q));
}

static void test_buffer_outside_memory(void **state)
{
	struct rig *r = *state;

	set_desc(r, 0, (16ULL << 20) - 8, 16, 0, 0);
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_DESC_MEM);
	set_desc(r, 1, UINT64_MAX - 4, 16, 0, 0);
	make_available(r, 1);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_DESC_MEM);
}

static void test_loop_and_bad_next(void **state)
{
	struct rig *r = *state;

	set_desc(r, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(r, 1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_LOOP);
	set_desc(r, 2, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, QSZ);
	make_available(r, 2);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_HEAD);
	make_available(r, QSZ + 3);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_HEAD);
}

static void test_order_and_too_many(void **state)
{
	struct rig *r = *state;

	set_desc(r, 0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(r, 1, BUF_GPA, 1, 0, 0);
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_ORDER);
	r->c.iov_cap = 1;
	set_desc(r, 2, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 3);
	set_desc(r, 3, BUF_GPA, 1, 0, 0);
	make_available(r, 2);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_TOO_MANY);
}

static void test_indirect(void **state)
{
	struct rig *r = *state;
	struct virtq_desc *t = guest_mem_ptr(&r->mem, IND_GPA, 16 * 4);

	t[0] = (struct virtq_desc){ BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ BUF_GPA + 16, 100, VIRTQ_DESC_F_WRITE, 0 };
	set_desc(r, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), 1);
	assert_int_equal(r->c.nr_out, 1);
	assert_int_equal(r->c.in_len, 100);

	/* An indirect table inside an indirect table. */
	t[1] = (struct virtq_desc){ IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0 };
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_INDIRECT);

	/* A loop inside the table. */
	t[0] = (struct virtq_desc){ BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0 };
	make_available(r, 0);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_LOOP);

	/* Size not a multiple of 16, INDIRECT together with NEXT, table outside memory. */
	set_desc(r, 1, IND_GPA, 20, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(r, 1);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_INDIRECT);
	set_desc(r, 2, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 3);
	make_available(r, 2);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_INDIRECT);
	set_desc(r, 3, 15ULL << 30, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_available(r, 3);
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_DESC_MEM);
}

static void test_avail_index_runs_ahead(void **state)
{
	struct rig *r = *state;

	r->avail[1] = QSZ + 1;
	assert_int_equal(virtq_pop(&r->q, &r->c), VIRTQ_ERR_AVAIL_IDX);
}

static void test_bad_rings_refused(void **state)
{
	struct rig *r = *state;
	struct virtq q = { .size = 6, .desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA };

	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING); /* not a power of 2 */
	q.size = 0;
	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING);
	q.size = 2048;
	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING);
	q.size = 8;
	q.used_gpa = (16ULL << 20) - 8; /* used ring runs off the end of RAM */
	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING);
	q.used_gpa = USED_GPA + 2;      /* misaligned */
	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING);
	q.used_gpa = USED_GPA;
	q.desc_gpa = 0xfee00000;        /* MMIO, not RAM */
	assert_int_equal(virtq_activate(&q, &r->mem, false), VIRTQ_ERR_RING);
	assert_false(q.ready);
	assert_int_equal(virtq_pop(&q, &r->c), 0);
}

static void test_event_idx(void **state)
{
	struct rig *r = *state;
	struct virtq *q = &r->q;
	uint16_t *used_event = &r->avail[2 + QSZ];

	virtq_reset(q);
	q->size = QSZ;
	q->desc_gpa = DESC_GPA;
	q->avail_gpa = AVAIL_GPA;
	q->used_gpa = USED_GPA;
	r->avail[1] = 0;
	assert_int_equal(virtq_activate(q, &r->mem, true), VIRTQ_OK);
	set_desc(r, 0, BUF_GPA, 1, 0, 0);
	for (int i = 0; i < 3; i++)
		make_available(r, 0);
	/*
	 * The driver asks to hear when used idx passes 2 (used_event = 2): the
	 * first interrupt is always sent, the second suppressed, the third sent.
	 */
	*used_event = 2;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(q, &r->c), 1);
		virtq_push(q, 0, 0);
		assert_int_equal(virtq_needs_interrupt(q), i != 1);
	}
	/* Asking for the next notification publishes avail_event and reports nothing pending. */
	assert_false(virtq_enable_notify(q));
	assert_int_equal(((uint16_t *)guest_mem_ptr(&r->mem, USED_GPA, 6 + 8 * QSZ))[2 + 4 * QSZ], 3);
	make_available(r, 0);
	assert_true(virtq_enable_notify(q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_read_then_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_and_bad_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_runs_ahead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rings_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
