/* SPDX-License-Identifier: MIT */
/*
 * A read-only MC146818 CMOS real-time clock (index port 0x70, data port 0x71):
 * the host's UTC time in BCD, 24-hour mode, never "update in progress". A
 * guest without kvmclock (the pvm-safe profile) reads its wall clock here.
 * The other CMOS bytes are plain storage. No alarm or periodic interrupt.
 */
#ifndef FLASHPAN_RTC_H
#define FLASHPAN_RTC_H

#include "vmm/kvm.h"

struct rtc;

struct rtc *rtc_create(struct vm *vm);
void rtc_destroy(struct rtc *rtc);

#endif
