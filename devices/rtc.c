// SPDX-License-Identifier: MIT
#include "devices/rtc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTC_INDEX_PORT 0x70

/* MC146818 register indices (datasheet, "Address Map"). */
enum {
	RTC_SECONDS = 0x00,
	RTC_MINUTES = 0x02,
	RTC_HOURS = 0x04,
	RTC_DAY_OF_WEEK = 0x06,
	RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32, /* the PC convention (ACPI FADT default) */
};

#define RTC_REG_A_DIVIDER 0x26 /* 32.768 kHz time base, 1024 Hz rate; UIP (bit 7) clear */
#define RTC_REG_B_24H     0x02 /* 24-hour mode; DM (bit 2) clear: values in BCD */
#define RTC_REG_D_VRT     0x80 /* valid RAM and time */

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
};

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_read(struct rtc *rtc, uint8_t index)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (index) {
	case RTC_SECONDS:
		return bcd(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return bcd(tm.tm_min);
	case RTC_HOURS:
		return bcd(tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return bcd(tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return bcd(tm.tm_mday);
	case RTC_MONTH:
		return bcd(tm.tm_mon + 1);
	case RTC_YEAR:
		return bcd(tm.tm_year % 100);
	case RTC_CENTURY:
		return bcd((tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		return RTC_REG_A_DIVIDER;
	case RTC_REG_B:
		return RTC_REG_B_24H;
	case RTC_REG_C:
		return 0;
	case RTC_REG_D:
		return RTC_REG_D_VRT;
	default:
		return rtc->ram[index];
	}
}

static void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *rtc = opaque;

	pthread_mutex_lock(&rtc->lock);
	if (off == 0) {
		/* Bit 7 of the index port masks NMI on real hardware; we only keep the index. */
		if (is_write)
			rtc->index = data[0] & 0x7f;
		else
			memset(data, 0xff, len);
	} else if (is_write) {
		/* Clock and status registers are read-only here; CMOS RAM keeps what is written. */
		if (rtc->index > RTC_REG_D && rtc->index != RTC_CENTURY)
			rtc->ram[rtc->index] = data[0];
	} else {
		memset(data, 0, len);
		data[0] = rtc_read(rtc, rtc->index);
	}
	pthread_mutex_unlock(&rtc->lock);
}

struct rtc *rtc_create(struct vm *vm)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	pthread_mutex_init(&rtc->lock, NULL);
	if (bus_register(&vm->pio, RTC_INDEX_PORT, 2, rtc_io, rtc, "rtc") < 0) {
		fprintf(stderr, "flashpan: cannot register the CMOS RTC\n");
		rtc_destroy(rtc);
		return NULL;
	}
	return rtc;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}
