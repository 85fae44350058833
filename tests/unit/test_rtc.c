// SPDX-License-Identifier: MIT
/* The CMOS RTC as a guest sees it through ports 0x70/0x71. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "devices/rtc.h"

static uint8_t cmos_read(struct vm *vm, uint8_t index)
{
	uint8_t d = index;

	bus_access(&vm->pio, 0x70, &d, 1, true);
	bus_access(&vm->pio, 0x71, &d, 1, false);
	return d;
}

static void cmos_write(struct vm *vm, uint8_t index, uint8_t value)
{
	bus_access(&vm->pio, 0x70, &index, 1, true);
	bus_access(&vm->pio, 0x71, &value, 1, true);
}

static int from_bcd(uint8_t v)
{
	assert_true((v & 0xf) <= 9 && (v >> 4) <= 9);
	return (v >> 4) * 10 + (v & 0xf);
}

static void test_time_is_host_utc_in_bcd(void **state)
{
	struct vm vm;
	struct rtc *rtc;
	time_t before = time(NULL), guest, after;
	struct tm tm = { 0 };

	memset(&vm, 0, sizeof(vm));
	rtc = rtc_create(&vm);
	assert_non_null(rtc);
	assert_int_equal(cmos_read(&vm, 0x0b), 0x02);        /* 24 h, BCD */
	assert_int_equal(cmos_read(&vm, 0x0a) & 0x80, 0);   /* no update in progress */
	assert_int_equal(cmos_read(&vm, 0x0d), 0x80);        /* valid */
	/* Read until two passes agree, as a guest does, so a second boundary cannot split a read. */
	for (time_t prev = -1;; prev = guest) {
		tm.tm_year = from_bcd(cmos_read(&vm, 0x32)) * 100 + from_bcd(cmos_read(&vm, 0x09)) - 1900;
		tm.tm_mon = from_bcd(cmos_read(&vm, 0x08)) - 1;
		tm.tm_mday = from_bcd(cmos_read(&vm, 0x07));
		tm.tm_hour = from_bcd(cmos_read(&vm, 0x04));
		tm.tm_min = from_bcd(cmos_read(&vm, 0x02));
		tm.tm_sec = from_bcd(cmos_read(&vm, 0x00));
		guest = timegm(&tm);
		if (guest == prev)
			break;
	}
	after = time(NULL);
	assert_true(guest >= before - 1 && guest <= after + 1);
	rtc_destroy(rtc);
	bus_free(&vm.pio);
}

static void test_ram_kept_clock_read_only(void **state)
{
	struct vm vm;
	struct rtc *rtc;
	uint8_t before;

	memset(&vm, 0, sizeof(vm));
	rtc = rtc_create(&vm);
	cmos_write(&vm, 0x20, 0x5a);
	assert_int_equal(cmos_read(&vm, 0x20), 0x5a);
	/* The NMI-mask bit of the index port does not change which byte is read. */
	assert_int_equal(cmos_read(&vm, 0xa0), 0x5a);
	before = cmos_read(&vm, 0x0b);
	cmos_write(&vm, 0x0b, 0x86);
	assert_int_equal(cmos_read(&vm, 0x0b), before);
	rtc_destroy(rtc);
	bus_free(&vm.pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_is_host_utc_in_bcd),
		cmocka_unit_test(test_ram_kept_clock_read_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
