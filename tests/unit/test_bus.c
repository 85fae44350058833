// SPDX-License-Identifier: MIT
/* The PIO/MMIO bus: sorted, non-overlapping ranges found by binary search. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bus.h"

struct probe {
	uint64_t last_off;
	uint32_t calls;
	uint8_t value;
};

static void probe_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct probe *p = opaque;

	p->last_off = off;
	p->calls++;
	if (is_write)
		p->value = data[0];
	else
		memset(data, p->value, len);
}

static void test_dispatch_by_offset(void **state)
{
	struct bus bus = { 0 };
	struct probe a = { .value = 0xaa }, b = { .value = 0xbb };
	uint8_t d[4];

	assert_int_equal(bus_register(&bus, 0x3f8, 8, probe_io, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x60, 5, probe_io, &b, "b"), 0);
	assert_true(bus_access(&bus, 0x3fd, d, 1, false));
	assert_int_equal(a.last_off, 5);
	assert_int_equal(d[0], 0xaa);
	assert_true(bus_access(&bus, 0x64, d, 1, false));
	assert_int_equal(b.last_off, 4);
	assert_int_equal(d[0], 0xbb);
	d[0] = 0x42;
	assert_true(bus_access(&bus, 0x3f8, d, 1, true));
	assert_int_equal(a.value, 0x42);
	bus_free(&bus);
}

static void test_unclaimed_reads_all_ones(void **state)
{
	struct bus bus = { 0 };
	struct probe a = { 0 };
	uint8_t d[4] = { 0 };

	assert_int_equal(bus_register(&bus, 0x100, 0x10, probe_io, &a, "a"), 0);
	assert_false(bus_access(&bus, 0xff, d, 4, false));
	assert_memory_equal(d, "\xff\xff\xff\xff", 4);
	assert_false(bus_access(&bus, 0x110, d, 1, true));
	assert_int_equal(a.calls, 0);
	bus_free(&bus);
}

static void test_overlaps_refused(void **state)
{
	struct bus bus = { 0 };
	struct probe a = { 0 };

	assert_int_equal(bus_register(&bus, 0x1000, 0x1000, probe_io, &a, "a"), 0);
	assert_int_equal(bus_register(&bus, 0x1fff, 1, probe_io, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x800, 0x801, probe_io, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x0, 0x10000, probe_io, &a, "x"), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x2000, 0, probe_io, &a, "x"), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, probe_io, &a, "x"), -EINVAL);
	/* Adjacent on both sides is fine. */
	assert_int_equal(bus_register(&bus, 0x800, 0x800, probe_io, &a, "b"), 0);
	assert_int_equal(bus_register(&bus, 0x2000, 0x10, probe_io, &a, "c"), 0);
	assert_int_equal(bus.nr, 3);
	bus_free(&bus);
}

/* Many devices registered in scrambled order are all found at both ends of their range. */
static void test_many_ranges_sorted(void **state)
{
	struct bus bus = { 0 };
	struct probe p[200];

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 200; i++) {
		int k = (i * 73) % 200;

		assert_int_equal(bus_register(&bus, 0xd0000000ULL + k * 0x1000ULL, 0x1000, probe_io, &p[k], "v"), 0);
	}
	for (int i = 1; i < bus.nr; i++)
		assert_true(bus.ranges[i - 1].base < bus.ranges[i].base);
	for (int k = 0; k < 200; k++) {
		const struct bus_range *r = bus_find(&bus, 0xd0000000ULL + k * 0x1000ULL + 0xfff);

		assert_non_null(r);
		assert_ptr_equal(r->opaque, &p[k]);
		assert_ptr_equal(bus_find(&bus, 0xd0000000ULL + k * 0x1000ULL)->opaque, &p[k]);
	}
	assert_null(bus_find(&bus, 0xd0000000ULL + 200 * 0x1000ULL));
	assert_null(bus_find(&bus, 0xcfffffffULL));
	bus_free(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_by_offset),
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_overlaps_refused),
		cmocka_unit_test(test_many_ranges_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
