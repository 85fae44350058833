// SPDX-License-Identifier: MIT
/* Guest memory layout and the one bounds-checked translation every device uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vmm/mem.h"

static void test_small_guest_one_region(void **state)
{
	struct guest_mem m;

	assert_int_equal(guest_mem_init(&m, 128ULL << 20, false), 0);
	assert_int_equal(m.nr_regions, 1);
	assert_int_equal(guest_mem_low_end(&m), 128ULL << 20);
	assert_ptr_equal(guest_mem_ptr(&m, 0, 1), m.base);
	assert_non_null(guest_mem_ptr(&m, (128ULL << 20) - 4, 4));
	assert_null(guest_mem_ptr(&m, (128ULL << 20) - 4, 5));
	assert_null(guest_mem_ptr(&m, 128ULL << 20, 1));
	/* Lengths and addresses chosen to overflow a naive gpa + len check. */
	assert_null(guest_mem_ptr(&m, 16, UINT64_MAX));
	assert_null(guest_mem_ptr(&m, UINT64_MAX, 2));
	assert_null(guest_mem_ptr(&m, UINT64_MAX - 8, 16));
	guest_mem_free(&m);
}

static void test_large_guest_splits_around_hole(void **state)
{
	struct guest_mem m;
	uint8_t *below, *above;

	assert_int_equal(guest_mem_init(&m, 4ULL << 30, false), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(guest_mem_low_end(&m), MEM_HOLE_START);
	assert_int_equal(m.region[1].gpa, MEM_HOLE_END);
	assert_int_equal(m.region[1].size, (4ULL << 30) - MEM_HOLE_START);
	below = guest_mem_ptr(&m, MEM_HOLE_START - 1, 1);
	above = guest_mem_ptr(&m, MEM_HOLE_END, 1);
	assert_non_null(below);
	assert_ptr_equal(above, below + 1); /* one mapping, contiguous on the host */
	/* The hole itself and a range straddling it are not RAM. */
	assert_null(guest_mem_ptr(&m, MEM_HOLE_START, 1));
	assert_null(guest_mem_ptr(&m, 0xfee00000ULL, 4));
	assert_null(guest_mem_ptr(&m, MEM_HOLE_START - 2, 4));
	assert_null(guest_mem_ptr(&m, MEM_HOLE_END + m.region[1].size - 1, 2));
	guest_mem_free(&m);
}

static void test_bad_sizes(void **state)
{
	struct guest_mem m;

	assert_int_not_equal(guest_mem_init(&m, 0, false), 0);
	assert_int_not_equal(guest_mem_init(&m, (1ULL << 20) + 4096, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_guest_one_region),
		cmocka_unit_test(test_large_guest_splits_around_hole),
		cmocka_unit_test(test_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
